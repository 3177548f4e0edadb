'use strict';
// The ioBroker packaging: what js-controller and admin read, checked offline.
// - io-package.json and admin/jsonConfig.json against copies of ioBroker's schemas
//   (tests/e2e/schemas/), with ajv 8 and the repository checker's options;
// - every text of io-package.json and of the admin page in ioBroker's eleven languages;
// - ioBroker's repository checker (./repochecker.js, offline) with no error and no warning
//   about io-package.json or the admin page;
// - the secrets encrypted and protected, the instance objects the admin page shows;
// - package.json as js-controller needs it;
// - main.js, the launcher js-controller forks, run for real against a fake binary: the
//   arguments it passes, SIGTERM forwarded, the binary stopped when the controller goes
//   away (IPC channel closed), SIGKILL when the binary ignores SIGTERM, exit codes; where
//   it finds the binary (IOBROKER_HMIP_BIN, bin/ beside it, the platform package, a
//   checkout's target/release then target/debug) and the one line when there is none.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Ajv = require('ajv');
const { runRepochecker, aboutPackageOrAdmin, checkerLanguages } = require('./repochecker');

const ROOT = path.resolve(__dirname, '..', '..');
const read = file => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));
const SECRETS = ['authToken', 'clientAuthToken', 'clientId', 'pin', 'hcuAuthToken', 'hcuActivationKey', 'secrets'];
// ioBroker.hmip's native keys (users' configs carry over) and ours.
const NATIVE = ['accessPointSgtin', 'pin', 'deviceName', 'deviceId', 'authToken', 'clientAuthToken', 'clientId', 'lookupUrl', 'valuesAsIoBrokerHmip'];
// The local HCU's (issue 13): the choice, address, ports, token, client id, pinned
// certificate, and the single-use activation key (a form field admin never saves).
const HCU_NATIVE = ['connection', 'hcuHost', 'hcuAuthPort', 'hcuWebsocketPort', 'hcuAuthToken', 'hcuClientId', 'hcuFingerprint', 'hcuActivationKey'];
// Secret parameters the adapter keeps (a lock's PIN, issue 15): never a field of the form.
const KEPT_NATIVE = ['secrets'];

function validate(schemaFile, data) {
    const ajv = new Ajv({ allErrors: true, strictTypes: false, strictSchema: false });
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, 'schemas', schemaFile), 'utf8'));
    const check = ajv.compile(schema);
    const ok = check(data);
    return ok ? [] : check.errors.map(e => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

// Every component of a jsonConfig, with its key, depth first.
function components(node, out = []) {
    for (const [key, item] of Object.entries(node.items || {})) {
        out.push({ key, item });
        components(item, out);
    }
    return out;
}

// ioBroker's languages: admin shows each, the repository checker wants every text in each.
const LANGUAGES = ['en', 'de', 'ru', 'pt', 'nl', 'fr', 'it', 'es', 'pl', 'uk', 'zh-cn'];

// Every translation object ({ en: ..., ... }) in a JSON tree, with its path.
function translations(node, where = '', out = []) {
    if (!node || typeof node !== 'object') return out;
    if (!Array.isArray(node) && typeof node.en === 'string') {
        out.push({ where, text: node });
        return out;
    }
    for (const [key, value] of Object.entries(node)) translations(value, `${where}/${key}`, out);
    return out;
}

// The languages a translation object lacks (absent or blank).
const missingLanguages = text => LANGUAGES.filter(lang => typeof text[lang] !== 'string' || !text[lang].trim());

// The attributes admin translates through the i18n files.
const TRANSLATED = ['label', 'text', 'help', 'placeholder', 'tooltip', 'validatorErrorText'];

describe('io-package.json', () => {
    const io = read('io-package.json');

    test('is valid against the io-package schema', () => {
        assert.deepEqual(validate('io-package.schema.json', io), []);
    });

    test('describes the hmip daemon', () => {
        const c = io.common;
        const cargoVersion = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8').match(/^version = "(.+)"$/m)[1];
        assert.equal(c.name, 'hmip');
        assert.equal(c.version, cargoVersion);
        assert.ok(c.news[cargoVersion], 'news for the current version');
        assert.equal(c.platform, 'Javascript/Node.js');
        assert.equal(c.mode, 'daemon');
        assert.equal(c.messagebox, true);
        assert.deepEqual(c.adminUI, { config: 'json' });
        assert.equal(c.connectionType, 'cloud');
        assert.equal(c.dataSource, 'push');
        assert.equal(c.compact, false);
        assert.equal(c.licenseInformation.license, 'MIT');
        assert.deepEqual(c.globalDependencies, [{ admin: '>=7.6.20' }], "the admin page needs admin (the checker's minimum)");
        const icon = fs.readFileSync(path.join(ROOT, 'admin', c.icon));
        assert.equal(icon.subarray(1, 4).toString(), 'PNG');
        assert.deepEqual([icon.readUInt32BE(16), icon.readUInt32BE(20)], [128, 128], 'a 128x128 icon');
    });

    test("every text in ioBroker's eleven languages", () => {
        const texts = translations(io);
        const where = texts.map(t => t.where);
        for (const field of ['/common/titleLang', '/common/desc', `/common/news/${io.common.version}`]) {
            assert.ok(where.includes(field), `${field} is a translated text`);
        }
        for (const o of io.instanceObjects) {
            assert.ok(typeof o.common.name === 'object', `${o._id}: its name is translated`);
        }
        const missing = texts.flatMap(({ where, text }) => missingLanguages(text).map(lang => `${where} in ${lang}`));
        assert.deepEqual(missing, []);
    });

    test('native holds the config keys with their defaults', () => {
        assert.deepEqual(Object.keys(io.native).sort(), [...NATIVE, ...HCU_NATIVE, ...KEPT_NATIVE].sort());
        assert.equal(io.native.deviceName, 'ioBroker');
        assert.equal(io.native.connection, 'cloud', 'the cloud unless the user chooses the HCU (an ioBroker.hmip config too)');
        assert.deepEqual([io.native.hcuAuthPort, io.native.hcuWebsocketPort], [6969, 9001]);
        assert.equal(io.native.lookupUrl, '', 'empty = the real cloud');
        assert.equal(io.native.valuesAsIoBrokerHmip, false, 'values as ioBroker.hmip: off for a new install');
    });

    test('the secrets are encrypted and protected', () => {
        for (const list of ['encryptedNative', 'protectedNative']) {
            for (const secret of SECRETS) {
                assert.ok(io[list].includes(secret), `${list} has ${secret}`);
            }
            for (const key of io[list]) {
                assert.ok(key in io.native, `${list} names the native key ${key}`);
            }
        }
    });

    test('instance objects: info, info.connection, info.pairing', () => {
        const byId = Object.fromEntries(io.instanceObjects.map(o => [o._id, o]));
        assert.equal(byId.info.type, 'channel');
        assert.equal(byId['info.connection'].type, 'state');
        assert.deepEqual(pick(byId['info.connection'].common, ['type', 'role', 'read', 'write', 'def']), {
            type: 'boolean',
            role: 'indicator.connected',
            read: true,
            write: false,
            def: false,
        });
        assert.equal(byId['info.pairing'].type, 'state');
        assert.equal(byId['info.pairing'].common.type, 'string');
        assert.equal(byId['info.pairing'].common.role, 'text');
    });
});

function pick(obj, keys) {
    return Object.fromEntries(keys.filter(k => k in obj).map(k => [k, obj[k]]));
}

describe('admin/jsonConfig.json', () => {
    const config = read('admin/jsonConfig.json');
    const io = read('io-package.json');
    const all = components(config);
    const byKey = Object.fromEntries(all.map(({ key, item }) => [key, item]));

    test('is valid against the jsonConfig schema', () => {
        assert.deepEqual(validate('jsonConfig.schema.json', config), []);
    });

    test("every text in ioBroker's eleven languages, every i18n key in every language", () => {
        assert.equal(config.i18n, true);
        const dicts = Object.fromEntries(
            LANGUAGES.map(lang => {
                const file = path.join(ROOT, 'admin', 'i18n', `${lang}.json`);
                assert.ok(fs.existsSync(file), `admin/i18n/${lang}.json exists`);
                return [lang, read(`admin/i18n/${lang}.json`)];
            }),
        );
        const missing = [];
        for (const lang of LANGUAGES) {
            for (const key of Object.keys(dicts.en)) {
                if (typeof dicts[lang][key] !== 'string' || !dicts[lang][key].trim()) missing.push(`key "${key}" in ${lang}`);
            }
            for (const key of Object.keys(dicts[lang])) {
                if (!(key in dicts.en)) missing.push(`key "${key}" of ${lang} not in en`);
            }
        }
        for (const { key, item } of all) {
            for (const attr of TRANSLATED) {
                const text = item[attr];
                if (typeof text !== 'string') continue;
                for (const lang of LANGUAGES) {
                    if (!dicts[lang][text]) missing.push(`${key}.${attr} "${text}" in ${lang}`);
                }
            }
        }
        assert.deepEqual(missing, []);
    });

    test('a field for every native key but the HCU token and the kept PINs; the tokens read-only and masked', () => {
        for (const key of Object.keys(io.native).filter(k => k !== 'hcuAuthToken' && !KEPT_NATIVE.includes(k))) {
            assert.ok(byKey[key], `a field for ${key}`);
        }
        // The HCU's token and the kept PINs are never shown, not even read-only.
        assert.equal(byKey.hcuAuthToken, undefined, 'no field shows hcuAuthToken');
        assert.equal(byKey.secrets, undefined, 'no field shows the kept PINs');
        // The cloud's tokens: masked, without the button that shows them (screenshots).
        for (const key of ['authToken', 'clientAuthToken']) {
            assert.equal(byKey[key].type, 'password', `${key} is masked`);
            assert.notEqual(byKey[key].visible, true, `${key} has no button that shows it`);
        }
        assert.equal(byKey.pin.type, 'password');
        // The activation key works once: typed, sent to the instance, never saved.
        assert.equal(byKey.hcuActivationKey.type, 'password');
        assert.equal(byKey.hcuActivationKey.doNotSave, true);
        for (const key of ['authToken', 'clientAuthToken', 'clientId', 'deviceId', 'hcuClientId', 'hcuFingerprint']) {
            assert.ok(byKey[key].readOnly || byKey[key].disabled, `${key} is read-only`);
        }
    });

    test('the connection choice shows the cloud fields or the HCU fields', () => {
        const select = byKey.connection;
        assert.equal(select.type, 'select');
        assert.deepEqual(select.options.map(o => o.value), ['cloud', 'hcu']);
        // admin evaluates `hidden` with the form's data.
        const hidden = (item, data) => typeof item.hidden === 'string' && new Function('data', `return ${item.hidden};`)(data);
        const shown = data => all.filter(({ item }) => !hidden(item, data)).map(({ key }) => key);
        const cloudOnly = ['accessPointSgtin', 'pin', 'deviceName', 'authToken', 'clientAuthToken', 'clientId', 'deviceId', 'lookupUrl'];
        const hcuOnly = ['hcuHost', 'hcuActivationKey', 'hcuAuthPort', 'hcuWebsocketPort', 'hcuClientId', 'hcuFingerprint'];
        // An ioBroker.hmip config has no `connection`: the cloud's fields.
        for (const data of [{ connection: 'cloud' }, {}]) {
            const keys = shown(data);
            assert.deepEqual(cloudOnly.filter(k => !keys.includes(k)), [], `cloud fields shown for ${JSON.stringify(data)}`);
            assert.deepEqual(hcuOnly.filter(k => keys.includes(k)), [], `HCU fields hidden for ${JSON.stringify(data)}`);
        }
        const keys = shown({ connection: 'hcu' });
        assert.deepEqual(hcuOnly.filter(k => !keys.includes(k)), [], 'HCU fields shown');
        assert.deepEqual(cloudOnly.filter(k => keys.includes(k)), [], 'cloud fields hidden');
        // One "Create token" and one pairing progress for either choice.
        for (const data of [{ connection: 'cloud' }, { connection: 'hcu' }]) {
            const visible = all.filter(({ item }) => !hidden(item, data)).map(c => c.item);
            assert.equal(visible.filter(i => i.type === 'sendTo').length, 1, `one button for ${data.connection}`);
            assert.equal(visible.filter(i => i.type === 'state' && i.oid === 'info.pairing').length, 1, `one progress for ${data.connection}`);
        }
    });

    test('"Create token" sends SGTIN, PIN and device name from the form', () => {
        const sendTo = byKey._requestToken;
        assert.equal(sendTo.type, 'sendTo');
        assert.equal(sendTo.command, 'requestToken');
        assert.equal(sendTo.useNative, true);
        assert.equal(sendTo.showProcess, true);
        assert.ok(sendTo.timeout >= 5 * 60 * 1000, 'the user has 5 minutes to press the button');
        // admin fills ${data.x} from the form, then parses the result as JSON
        const data = { accessPointSgtin: '3014-F711-A000-0000-0000-0001', pin: '1234', deviceName: 'ioBroker' };
        const sent = JSON.parse(sendTo.jsonData.replace(/\$\{data\.(\w+)\}/g, (_, k) => data[k]));
        assert.deepEqual(sent, data);
    });

    test('"Create token" of the HCU choice sends address, activation key and ports from the form', () => {
        const sendTo = byKey._hcuRequestToken;
        assert.equal(sendTo.type, 'sendTo');
        assert.equal(sendTo.command, 'requestToken');
        assert.equal(sendTo.useNative, true);
        assert.equal(sendTo.showProcess, true);
        assert.ok(sendTo.timeout >= 60 * 1000, 'each pairing step may take its 15 s');
        const data = { hcuHost: 'hcu1-0001.local', hcuActivationKey: 'ABCDEF', hcuAuthPort: 6969, hcuWebsocketPort: 9001 };
        const sent = JSON.parse(sendTo.jsonData.replace(/\$\{data\.(\w+)\}/g, (_, k) => data[k]));
        // The instance reads the ports as numbers or strings (pairing.rs).
        assert.deepEqual(sent, { connection: 'hcu', hcuHost: 'hcu1-0001.local', hcuActivationKey: 'ABCDEF', hcuAuthPort: '6969', hcuWebsocketPort: '9001' });
    });

    test('the pairing progress is the live state info.pairing', () => {
        const states = all.map(c => c.item).filter(i => i.type === 'state');
        assert.ok(states.length >= 1);
        for (const state of states) {
            assert.equal(state.oid, 'info.pairing');
            assert.ok(io.instanceObjects.some(o => o._id === state.oid), 'an instance object');
        }
    });
});

describe("ioBroker's repository checker", () => {
    test('wants the eleven languages this test checks', () => {
        assert.deepEqual(checkerLanguages(), LANGUAGES);
    });

    test('no error and no warning about io-package.json or the admin page', async () => {
        const { errors, warnings } = await runRepochecker();
        // [S…] entries are the checker's suggestions, neither errors nor warnings.
        const findings = [...errors, ...warnings].filter(m => !m.startsWith('[S') && aboutPackageOrAdmin(m));
        assert.deepEqual(findings, []);
    });
});

describe('package.json', () => {
    const pkg = read('package.json');
    test('names the launcher, ships the adapter, needs nothing', () => {
        assert.equal(pkg.name, 'iobroker.hmip');
        assert.equal(pkg.version, read('io-package.json').common.version);
        assert.equal(pkg.main, 'main.js');
        assert.equal(pkg.license, 'MIT');
        assert.ok(pkg.engines.node.startsWith('>='));
        for (const f of ['main.js', 'io-package.json', 'admin/', 'bin/']) {
            assert.ok(pkg.files.includes(f), `files has ${f}`);
        }
        for (const deps of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
            assert.equal(pkg[deps], undefined, `no ${deps}`);
        }
    });
});

// ---- main.js against a fake binary ------------------------------------------------------

// The fake records its arguments, then sleeps. On TERM it notes it and exits 0, unless
// FAKE_STUBBORN is set (then it ignores TERM). FAKE_EXIT=N makes it exit N at once.
// FAKE_STDIN makes it read stdin to its end, note EOF and exit.
const FAKE = `#!/bin/sh
dir=$(dirname "$0")
printf '%s\\n' "$*" > "$dir/args.tmp" && mv "$dir/args.tmp" "$dir/args"
[ -n "$FAKE_EXIT" ] && exit "$FAKE_EXIT"
if [ -n "$FAKE_STUBBORN" ]; then
    trap 'echo TERM >> "$dir/signals"' TERM
else
    trap 'echo TERM >> "$dir/signals"; exit 0' TERM
fi
echo $$ > "$dir/pid.tmp" && mv "$dir/pid.tmp" "$dir/pid"
if [ -n "$FAKE_STDIN" ]; then
    cat >/dev/null
    echo EOF >> "$dir/signals"
    exit 0
fi
while :; do sleep 0.05; done
`;

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function waitFor(what, fn, timeoutMs = 5000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const value = fn();
        if (value) return value;
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(20);
    }
}

/** The pids that hold the other end of process pid's stdin, a socket pair as Node's spawn
 * makes it (`ss`: each Unix socket's inode and its peer's). */
function stdinPeers(pid) {
    const link = fs.readlinkSync(`/proc/${pid}/fd/0`);
    const inode = /^socket:\[(\d+)\]$/.exec(link);
    if (!inode) throw new Error(`stdin of ${pid} is ${link}, not a socket`);
    // u_str ESTAB 0 0 * <inode> * <peer inode> users:(("name",pid=N,fd=M),...)
    const sockets = execFileSync('ss', ['-xpnaH'], { encoding: 'utf8' }).split('\n').map(l => l.trim().split(/\s+/));
    const own = sockets.find(f => f[5] === inode[1]);
    if (!own) throw new Error(`socket ${inode[1]} (stdin of ${pid}) not listed by ss`);
    const peer = sockets.find(f => f[5] === own[7]);
    return peer ? [...peer.slice(8).join(' ').matchAll(/pid=(\d+)/g)].map(m => Number(m[1])) : [];
}

// A process that exited but was not yet reaped (a zombie) counts as gone.
function alive(pid) {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch (e) {
        if (e.code === 'ENOENT') return false;
        try {
            process.kill(pid, 0);
            return true;
        } catch {
            return false;
        }
    }
}

function parentOf(pid) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('main.js, the launcher', () => {
    let tmp;
    const started = []; // pids this test started, killed at the end if still there

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-launcher-'));
    });
    after(() => {
        for (const pid of started) {
            if (alive(pid)) process.kill(pid, 'SIGKILL');
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    // A fresh directory with the fake binary and a copy of main.js at `rel` (so its
    // surroundings are known: no ioBroker root above it unless a test makes one).
    function setup(name, rel = path.join('adapter', 'main.js')) {
        const dir = path.join(tmp, name);
        const fakeDir = path.join(dir, 'fake');
        fs.mkdirSync(fakeDir, { recursive: true });
        fs.writeFileSync(path.join(fakeDir, 'iobroker-hmip'), FAKE, { mode: 0o755 });
        const main = path.join(dir, rel);
        fs.mkdirSync(path.dirname(main), { recursive: true });
        fs.copyFileSync(path.join(ROOT, 'main.js'), main);
        const env = { ...process.env, IOBROKER_HMIP_BIN: path.join(fakeDir, 'iobroker-hmip') };
        // These check the child-process launcher, also where the Node running them has
        // process.execve (execve.test.js checks that way).
        env.IOBROKER_HMIP_LAUNCHER = 'child';
        delete env.IOBROKER_DATA_DIR;
        delete env.FAKE_EXIT;
        delete env.FAKE_STUBBORN;
        const file = f => path.join(fakeDir, f);
        const text = f => (fs.existsSync(file(f)) ? fs.readFileSync(file(f), 'utf8') : '');
        return { dir, main, env, text };
    }

    // Fork the launcher as js-controller does: --instance N --loglevel L, an IPC channel,
    // stdout ignored, stderr piped.
    function launch(main, env, args = ['--instance', '3', '--loglevel', 'debug']) {
        const child = fork(main, args, { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
        started.push(child.pid);
        let stderr = '';
        child.stderr.on('data', d => (stderr += d));
        const exited = new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('the launcher did not exit within 10 s')), 10000);
            child.on('exit', (code, signal) => {
                clearTimeout(timer);
                resolve({ code, signal, stderr });
            });
        });
        exited.catch(() => {}); // awaited by the tests; no unhandled rejection meanwhile
        return { child, exited };
    }

    async function fakePid(text) {
        const pid = Number(await waitFor('the fake binary to start', () => text('pid').trim()));
        started.push(pid);
        return pid;
    }

    test('runs `run --instance 3 --loglevel debug`; SIGTERM reaches the binary and ends the launcher', async () => {
        const { main, env, text } = setup('sigterm');
        const { child, exited } = launch(main, env);
        const pid = await fakePid(text);
        assert.equal(text('args'), 'run --instance 3 --loglevel debug\n');
        assert.equal(parentOf(pid), child.pid, 'the launcher is the parent of the binary');
        child.kill('SIGTERM');
        const { code, signal } = await exited;
        assert.equal(text('signals'), 'TERM\n', 'the binary got SIGTERM');
        assert.deepEqual({ code, signal }, { code: 0, signal: null }, "the launcher exits with the binary's code");
        assert.equal(alive(pid), false);
    });

    test('the IPC channel closes: the binary is stopped and the launcher exits', async () => {
        const { main, env, text } = setup('disconnect');
        const { child, exited } = launch(main, env);
        const pid = await fakePid(text);
        const t0 = Date.now();
        child.disconnect();
        await waitFor('the binary to be gone', () => !alive(pid), 3000);
        assert.equal(text('signals'), 'TERM\n');
        const { code } = await exited;
        assert.equal(code, 0);
        assert.ok(Date.now() - t0 < 3000);
    });

    test('the controller is killed: the binary is gone within 3 s', async () => {
        const { main, env, text } = setup('parent-killed');
        // A stand-in controller that forks the launcher and is then SIGKILLed.
        const controller = spawn(
            process.execPath,
            [
                '-e',
                `require('node:child_process').fork(${JSON.stringify(main)}, ['--instance', '0', '--loglevel', 'info'],
                    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }); setInterval(() => {}, 1000);`,
            ],
            { env, stdio: 'ignore' },
        );
        started.push(controller.pid);
        const pid = await fakePid(text);
        const launcher = parentOf(pid);
        started.push(launcher);
        assert.equal(parentOf(launcher), controller.pid);
        controller.kill('SIGKILL');
        await waitFor('the binary to be gone', () => !alive(pid), 3000);
        await waitFor('the launcher to be gone', () => !alive(launcher), 3000);
        assert.equal(text('signals'), 'TERM\n');
    });

    test('a binary that ignores SIGTERM is killed after about 2 s', async () => {
        const { main, env, text } = setup('stubborn');
        const { child, exited } = launch(main, { ...env, FAKE_STUBBORN: '1' });
        const pid = await fakePid(text);
        const t0 = Date.now();
        child.kill('SIGTERM');
        const { signal } = await exited;
        const took = Date.now() - t0;
        assert.equal(text('signals'), 'TERM\n');
        assert.equal(alive(pid), false);
        assert.equal(signal, 'SIGKILL', 'the launcher dies of the signal that ended the binary');
        assert.ok(took >= 1500 && took < 4000, `killed after ${took} ms`);
    });

    test("the launcher is SIGKILLed (js-controller's stop timeout): the binary's stdin reaches EOF", async () => {
        const { main, env, text } = setup('stdin');
        const { child, exited } = launch(main, { ...env, FAKE_STDIN: '1' });
        const pid = await fakePid(text);
        // Nothing but the launcher holds the other end of the binary's stdin: it stays open
        // while the launcher runs, and its end is closed with it.
        assert.deepEqual(stdinPeers(pid), [child.pid], 'the launcher alone holds the other end of stdin');
        assert.equal(text('signals'), '', 'no EOF while the launcher runs');
        child.kill('SIGKILL');
        assert.equal((await exited).signal, 'SIGKILL');
        await waitFor('the binary to see EOF on stdin', () => text('signals') === 'EOF\n', 3000);
        await waitFor('the binary to be gone', () => !alive(pid), 3000);
    });

    test("the binary's exit code is the launcher's; more arguments are passed through", async () => {
        const { main, env, text } = setup('exit-code');
        const { exited } = launch(main, { ...env, FAKE_EXIT: '7' }, ['--instance', '1', '--loglevel', 'warn', '--debug']);
        const { code } = await exited;
        assert.equal(code, 7);
        assert.equal(text('args'), 'run --instance 1 --loglevel warn --debug\n');
    });

    test('inside an ioBroker root it names <root>/iobroker-data/iobroker.json, unless IOBROKER_DATA_DIR is set', async () => {
        const { dir, main, env, text } = setup('in-root', path.join('node_modules', 'iobroker.hmip', 'main.js'));
        const config = path.join(dir, 'iobroker-data', 'iobroker.json');
        fs.mkdirSync(path.dirname(config));
        fs.writeFileSync(config, '{}');
        assert.equal((await launch(main, { ...env, FAKE_EXIT: '0' }).exited).code, 0);
        assert.equal(text('args'), `run --instance 3 --loglevel debug --iobroker ${config}\n`);
        assert.equal((await launch(main, { ...env, FAKE_EXIT: '0', IOBROKER_DATA_DIR: '/elsewhere' }).exited).code, 0);
        assert.equal(text('args'), 'run --instance 3 --loglevel debug\n');
    });

    test('a missing binary: one clear line on stderr, exit code 1', async () => {
        const { main, env } = setup('missing');
        const { code, stderr } = await launch(main, { ...env, IOBROKER_HMIP_BIN: path.join(tmp, 'nope') }).exited;
        assert.equal(code, 1);
        assert.match(stderr, /cannot start .*nope/);
    });

    // ---- where the launcher finds the binary (IOBROKER_HMIP_BIN unset) ----

    // The platform package npm installs on this machine (tools/dist's names).
    const PLATFORM_PACKAGE = { x64: 'iobroker-hmip-linux-x64-gnu', arm64: 'iobroker-hmip-linux-arm64-gnu', arm: 'iobroker-hmip-linux-arm-gnueabihf' }[process.arch];

    // An adapter folder <dir>/node_modules/iobroker.hmip/main.js and no binary anywhere;
    // `place(rel)` puts a fake binary at <dir>/rel, `ran(rel)` is the arguments it ran with.
    function lookup(name) {
        const dir = path.join(tmp, name);
        const adapter = path.join(dir, 'node_modules', 'iobroker.hmip');
        fs.mkdirSync(adapter, { recursive: true });
        const main = path.join(adapter, 'main.js');
        fs.copyFileSync(path.join(ROOT, 'main.js'), main);
        const env = { ...process.env, FAKE_EXIT: '0' };
        delete env.IOBROKER_HMIP_BIN;
        delete env.IOBROKER_DATA_DIR;
        const place = rel => {
            const file = path.join(dir, rel);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, FAKE, { mode: 0o755 });
        };
        const ran = rel => {
            const args = path.join(dir, path.dirname(rel), 'args');
            return fs.existsSync(args) ? fs.readFileSync(args, 'utf8') : null;
        };
        return { dir, main, env, place, ran };
    }

    test("the platform package's binary, found from the adapter's folder", async () => {
        assert.ok(process.platform === 'linux' && PLATFORM_PACKAGE, `tools/dist packs no package for ${process.platform}-${process.arch}`);
        const { dir, main, env, place, ran } = lookup('platform-package');
        const pkgBin = path.join('node_modules', PLATFORM_PACKAGE, 'bin', 'iobroker-hmip');
        place(pkgBin);
        fs.writeFileSync(path.join(dir, 'node_modules', PLATFORM_PACKAGE, 'package.json'), JSON.stringify({ name: PLATFORM_PACKAGE, version: '0.1.0' }));
        const { code, stderr } = await launch(main, env).exited;
        assert.equal(code, 0, stderr);
        assert.equal(ran(pkgBin), 'run --instance 3 --loglevel debug\n');
    });

    test('bin/iobroker-hmip beside main.js (tools/install-into-iobroker) comes before the platform package', async () => {
        const { dir, main, env, place, ran } = lookup('bin-beside');
        const beside = path.join('node_modules', 'iobroker.hmip', 'bin', 'iobroker-hmip');
        place(beside);
        if (PLATFORM_PACKAGE) {
            place(path.join('node_modules', PLATFORM_PACKAGE, 'bin', 'iobroker-hmip'));
            fs.writeFileSync(path.join(dir, 'node_modules', PLATFORM_PACKAGE, 'package.json'), JSON.stringify({ name: PLATFORM_PACKAGE, version: '0.1.0' }));
        }
        assert.equal((await launch(main, env).exited).code, 0);
        assert.equal(ran(beside), 'run --instance 3 --loglevel debug\n');
        if (PLATFORM_PACKAGE) assert.equal(ran(path.join('node_modules', PLATFORM_PACKAGE, 'bin', 'iobroker-hmip')), null);
    });

    test("a development checkout: target/release's binary, else target/debug's", async () => {
        const { main, env, place, ran } = lookup('checkout');
        const debug = path.join('node_modules', 'iobroker.hmip', 'target', 'debug', 'iobroker-hmip');
        const release = path.join('node_modules', 'iobroker.hmip', 'target', 'release', 'iobroker-hmip');
        place(debug);
        assert.equal((await launch(main, env).exited).code, 0);
        assert.equal(ran(debug), 'run --instance 3 --loglevel debug\n', 'only a debug build: that one');
        place(release);
        assert.equal((await launch(main, env, ['--instance', '4', '--loglevel', 'info']).exited).code, 0);
        assert.equal(ran(release), 'run --instance 4 --loglevel info\n', 'the release build first');
        assert.equal(ran(debug), 'run --instance 3 --loglevel debug\n', 'the debug build did not run again');
    });

    test('IOBROKER_HMIP_BIN overrides every other place', async () => {
        const { dir, main, env, place, ran } = lookup('override');
        place(path.join('node_modules', 'iobroker.hmip', 'bin', 'iobroker-hmip'));
        place(path.join('node_modules', 'iobroker.hmip', 'target', 'release', 'iobroker-hmip'));
        place(path.join('elsewhere', 'iobroker-hmip'));
        assert.equal((await launch(main, { ...env, IOBROKER_HMIP_BIN: path.join(dir, 'elsewhere', 'iobroker-hmip') }).exited).code, 0);
        assert.equal(ran(path.join('elsewhere', 'iobroker-hmip')), 'run --instance 3 --loglevel debug\n');
        assert.equal(ran(path.join('node_modules', 'iobroker.hmip', 'bin', 'iobroker-hmip')), null);
        assert.equal(ran(path.join('node_modules', 'iobroker.hmip', 'target', 'release', 'iobroker-hmip')), null);
    });

    test('no binary for the platform: one line naming the platform and how to build, exit code 1, no stack trace', async () => {
        const { main, env } = lookup('none');
        const { code, signal, stderr } = await launch(main, env).exited;
        assert.deepEqual({ code, signal }, { code: 1, signal: null });
        const lines = stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, `one line:\n${stderr}`);
        const glibc = process.report.getReport().header.glibcVersionRuntime ? ' glibc' : ' musl';
        assert.ok(lines[0].includes(`no binary for ${process.platform}-${process.arch}${process.platform === 'linux' ? glibc : ''}`), lines[0]);
        assert.match(lines[0], /cargo build --release/);
        assert.match(lines[0], /IOBROKER_HMIP_BIN/);
        assert.match(lines[0], /tools\/install-into-iobroker/);
        assert.doesNotMatch(stderr, /Error|\n\s+at /, 'no Node error or stack trace');
    });
});
