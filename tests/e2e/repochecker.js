'use strict';
// ioBroker's repository checker (@iobroker/repochecker) run offline on this checkout: its
// io-package.json checks (M1000) and its code checks (M5000, which holds the admin page's
// jsonConfig (M5500) and i18n (M5600) checks), in the checker's own LOCAL mode. Nothing
// leaves the machine: the two schemas it would download are the copies in ./schemas, any
// other download fails (the checker then reports what it could not fetch).
//
//   node tests/e2e/repochecker.js        # prints every error and warning, exit 1 if any
//                                        # concerns io-package.json or the admin page

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const lib = name => require(`@iobroker/repochecker/lib/${name}`);

// The findings that are about io-package.json or the admin page: the checker's code
// ranges 1000-1999 (io-package.json), 5500-5699 (jsonConfig and i18n), and those of the
// 5000 range that name admin/ or the jsonConfig.
function aboutPackageOrAdmin(message) {
    const code = Number((message.match(/^\[[EWS](\d{4})\]/) || [])[1]);
    if (code >= 1000 && code < 2000) return true;
    if (code >= 5500 && code < 5700) return true;
    return code >= 5000 && code < 6000 && /admin|jsonConfig|i18n/i.test(message);
}

/** Runs the checks; resolves to { errors, warnings } (the checker's message strings). */
async function runRepochecker() {
    const common = lib('common.js');
    const config = lib('config.js');
    const schemaFile = {
        [config.schemaUrls['io-package']]: 'io-package.schema.json',
        [config.schemaUrls.jsonConfig]: 'jsonConfig.schema.json',
    };
    common.downloadURL = async (url, binary) => {
        const file = schemaFile[url];
        if (!file) return ''; // offline: the checker reports a download it could not make
        return fs.readFileSync(path.join(__dirname, 'schemas', file), binary ? null : 'utf8');
    };
    common.setLocal(true);
    const cwd = process.cwd();
    process.chdir(ROOT); // LOCAL mode reads the files relative to the working directory
    // The checker prints its progress on stdout; keep it out of the test's output.
    const log = console.log;
    console.log = () => {};
    try {
        const context = { checks: [], warnings: [], errors: [] };
        config.initConfig(context);
        context.repository = 'iobroker-hmip/ioBroker.hmip';
        context.githubUrl = `https://raw.githubusercontent.com/${context.repository}/main`;
        context.githubUrlOriginal = `https://github.com/${context.repository}`;
        context.lastCommitSha = 'local';
        // package.json has no (dev)dependencies: the launcher needs none. The checker's code
        // checks assume both lists (its package.json checks, 0000-0999, say so first).
        context.packageJson = { dependencies: {}, devDependencies: {}, ...JSON.parse(fs.readFileSync('package.json', 'utf8')) };
        context.ioPackageJson = JSON.parse(fs.readFileSync('io-package.json', 'utf8'));
        context.adapterName = context.packageJson.name.replace(/^iobroker\./, '');
        context.filesList = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
            .split('\n')
            .filter(Boolean)
            .map(f => `/${f}`);
        await config.updateConfig(context);
        await lib('M1000_IOPackageJson.js').checkIOPackageJson(context);
        await lib('M5000_Code.js').checkCode(context);
        return { errors: context.errors, warnings: context.warnings };
    } finally {
        console.log = log;
        process.chdir(cwd);
    }
}

/** The languages the checker wants every text in. */
function checkerLanguages() {
    const context = { checks: [], warnings: [], errors: [] };
    const log = console.log;
    console.log = () => {};
    try {
        lib('config.js').initConfig(context);
    } finally {
        console.log = log;
    }
    return context.cfg.allowedLanguages;
}

module.exports = { runRepochecker, aboutPackageOrAdmin, checkerLanguages };

if (require.main === module) {
    runRepochecker().then(({ errors, warnings }) => {
        let ours = 0;
        for (const m of [...errors, ...warnings]) {
            const mine = aboutPackageOrAdmin(m) && !m.startsWith('[S');
            if (mine) ours++;
            console.log(`${mine ? '*' : ' '} ${m}`);
        }
        console.log(`errors=${errors.length} warnings=${warnings.length} about io-package/admin=${ours}`);
        process.exitCode = ours ? 1 : 0;
    });
}
