'use strict';
// Our adapter in a root: laid out as tools/install-into-iobroker does (package.json,
// io-package.json, main.js, admin/, bin/iobroker-hmip), but with the binary the e2e run has
// just built (debug) instead of a release build, which would cost minutes in CI.

const fs = require('node:fs');
const path = require('node:path');

/** The project's checkout. */
const PROJECT = path.resolve(__dirname, '..', '..', '..');

/** Copies the adapter package and `bin` into the root, then `iob add hmip` (stopped). */
async function installHmip(iob, bin) {
    const dest = path.join(iob.root, 'node_modules', 'iobroker.hmip');
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(path.join(dest, 'bin'), { recursive: true });
    for (const f of ['package.json', 'io-package.json', 'main.js', 'README.md', 'LICENSE']) {
        fs.copyFileSync(path.join(PROJECT, f), path.join(dest, f));
    }
    fs.cpSync(path.join(PROJECT, 'admin'), path.join(dest, 'admin'), { recursive: true });
    fs.copyFileSync(bin, path.join(dest, 'bin', 'iobroker-hmip'));
    fs.chmodSync(path.join(dest, 'bin', 'iobroker-hmip'), 0o755);
    await iob.iob('add', 'hmip', '--enabled', 'false');
}

module.exports = { installHmip };
