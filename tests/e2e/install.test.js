'use strict';
// Installing the adapter as a user without a Rust toolchain does (issue 12): a fresh ioBroker
// root (js-controller 7.2.3 from npm, admin installed as hmip's global dependency wants)
// gets the adapter from the tarballs tools/dist packed into dist/, with npm alone:
// - no cargo on the PATH that npm, js-controller and the instance see (asserted: `cargo`
//   is not found there, and the running instance's environment says the same), no
//   IOBROKER_HMIP_BIN, nothing in the root that leads to a build directory;
// - `npm install --save-optional <adapter> <every platform package>`: npm installs the x64
//   package and skips the others (os/cpu/libc), offline;
// - `iob add hmip`, the instance starts the platform package's binary and connects to the
//   simulator with the whole fixture tree.
// tests/e2e/run runs tools/dist (x64 only) first when dist/ is missing or stale.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { prepareInstall, createRoot, waitFor, startSim, HMIP_ROOT, run, pidAlive, SIM_SGTIN, SIM_TOKEN } = require('./iob');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
// The simulator (the test's cloud) and the tree dump come from the checkout's debug build;
// the instance never sees it.
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');
const X64 = 'iobroker-hmip-linux-x64-gnu';
// The platforms tools/dist packs: package name -> npm cpu.
const OTHERS = { 'iobroker-hmip-linux-arm64-gnu': 'arm64', 'iobroker-hmip-linux-arm-gnueabihf': 'arm' };

// Every process this test starts (npm, js-controller, the instance) gets a PATH without the
// Rust toolchain, and no IOBROKER_HMIP_BIN: the harness passes process.env on. A PATH
// folder holding a Rust tool (Debian's /usr/bin has cargo and rustc) is replaced by a
// folder of links to its other programs.
const RUST_TOOL = /^(cargo|rustc|rustdoc|rustup|rust-gdb|rust-lldb|rustfmt|clippy-driver)(-.*)?$/;
const CARGO_PATH = process.env.PATH;
const SHADOWS = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-install-path-'));
process.env.PATH = CARGO_PATH.split(':').filter(Boolean).map((dir, i) => {
    let names;
    try {
        names = fs.readdirSync(dir);
    } catch {
        return dir;
    }
    if (!names.some(n => RUST_TOOL.test(n))) return dir;
    const shadow = path.join(SHADOWS, String(i));
    fs.mkdirSync(shadow);
    for (const n of names) {
        if (!RUST_TOOL.test(n)) fs.symlinkSync(path.join(dir, n), path.join(shadow, n));
    }
    return shadow;
}).join(':');
delete process.env.IOBROKER_HMIP_BIN;
delete process.env.CARGO_TARGET_DIR;

const tarball = name => path.join(DIST, `${name}-${VERSION}.tgz`);

/** A tiny stand-in platform package for `cpu` (same name scheme), packed into dir. */
function packStandIn(dir, name, cpu) {
    const pkg = path.join(dir, name);
    fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'bin', 'iobroker-hmip'), '#!/bin/sh\necho stand-in >&2\nexit 1\n', { mode: 0o755 });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({
        name, version: VERSION, license: 'MIT', os: ['linux'], cpu: [cpu], libc: ['glibc'], files: ['bin/'],
    }));
    execFileSync('npm', ['pack', '--quiet', '--pack-destination', dir], { cwd: pkg, stdio: 'ignore' });
    return path.join(dir, `${name}-${VERSION}.tgz`);
}

/** Every file and folder below dir, as paths relative to it. */
function walk(dir, rel = '') {
    const out = [];
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const r = path.join(rel, e.name);
        out.push({ rel: r, link: e.isSymbolicLink() });
        if (e.isDirectory()) out.push(...walk(dir, r));
    }
    return out;
}

describe('installed from the dist/ tarballs with npm alone, no Rust toolchain', { timeout: 15 * 60000 }, () => {
    let iob;
    let sim;
    let tmp;
    const platformTarballs = [];
    const standIns = [];

    before(async () => {
        for (const name of ['iobroker.hmip', X64]) {
            assert.ok(fs.existsSync(tarball(name)), `${tarball(name)} is missing: run tools/dist (tests/e2e/run does when dist/ is stale)`);
        }
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-install-'));
        platformTarballs.push(tarball(X64));
        // The arm packages need tools/cross (tools/dist --all); CI packs x64 only. To still
        // show npm skipping a package of another platform, a missing one is replaced by a
        // tiny stand-in of the same name, cpu and version.
        for (const [name, cpu] of Object.entries(OTHERS)) {
            if (fs.existsSync(tarball(name))) {
                platformTarballs.push(tarball(name));
            } else {
                platformTarballs.push(packStandIn(tmp, name, cpu));
                standIns.push(name);
            }
        }
        await prepareInstall(HMIP_ROOT);
        iob = await createRoot({ dbType: 'jsonl', ...HMIP_ROOT });
        // The root's node_modules is hard-linked to the harness's cache: npm rewrites its
        // hidden lock file in place, so that one becomes the root's own copy first.
        const hidden = path.join(iob.root, 'node_modules', '.package-lock.json');
        if (fs.existsSync(hidden)) {
            const text = fs.readFileSync(hidden);
            fs.unlinkSync(hidden);
            fs.writeFileSync(hidden, text);
        }
        sim = await startSim(BIN, ['--fixture', FIXTURE]);
    }, { timeout: 10 * 60000 });

    after(async () => {
        if (iob) await iob.dispose();
        if (sim) sim.stop();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        fs.rmSync(SHADOWS, { recursive: true, force: true });
    });

    test('cargo is not on the PATH npm and js-controller get', () => {
        assert.ok(spawnSync('sh', ['-c', 'command -v cargo'], { env: { PATH: CARGO_PATH } }).status === 0,
            'cargo is on the original PATH (else this check proves nothing)');
        for (const tool of ['cargo', 'rustup', 'rustc', 'cargo-nextest']) {
            const r = spawnSync('sh', ['-c', `command -v ${tool}`], { env: process.env, encoding: 'utf8' });
            assert.notEqual(r.status, 0, `${tool} found at ${r.stdout.trim()}`);
        }
        for (const tool of ['node', 'npm']) {
            assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`], { env: process.env }).status, 0, `${tool} is on the PATH`);
        }
    });

    test('npm installs the adapter and the x64 platform package, and skips the other platforms', async () => {
        await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--save-optional', tarball('iobroker.hmip'), ...platformTarballs], {
            cwd: iob.root, env: { ...process.env, npm_config_update_notifier: 'false' }, timeoutMs: 180000,
        });
        const nm = path.join(iob.root, 'node_modules');
        const adapter = path.join(nm, 'iobroker.hmip');
        const pkg = JSON.parse(fs.readFileSync(path.join(adapter, 'package.json'), 'utf8'));
        assert.equal(pkg.version, VERSION);
        assert.deepEqual(Object.keys(pkg.optionalDependencies).sort(), [X64, ...Object.keys(OTHERS)].sort());
        assert.ok(Object.values(pkg.optionalDependencies).every(v => v === VERSION), 'platform packages at the same version');
        const x64 = JSON.parse(fs.readFileSync(path.join(nm, X64, 'package.json'), 'utf8'));
        assert.deepEqual({ os: x64.os, cpu: x64.cpu, libc: x64.libc, version: x64.version }, { os: ['linux'], cpu: ['x64'], libc: ['glibc'], version: VERSION });
        const bin = path.join(nm, X64, 'bin', 'iobroker-hmip');
        assert.ok(fs.statSync(bin).mode & 0o111, 'the binary is executable');
        assert.match(execFileSync(bin, ['--version'], { encoding: 'utf8' }), new RegExp(VERSION.replace(/\./g, '\\.')));
        for (const name of Object.keys(OTHERS)) {
            assert.equal(fs.existsSync(path.join(nm, name)), false, `npm skipped ${name}${standIns.includes(name) ? ' (stand-in)' : ''}`);
        }
        // The adapter carries no binary and no build directory; nothing in it links out.
        const files = walk(adapter);
        assert.deepEqual(files.filter(f => f.link).map(f => f.rel), [], 'no symbolic links in the adapter');
        assert.deepEqual(files.filter(f => /^(bin|target)(\/|$)/.test(f.rel)).map(f => f.rel), [], 'no bin/ or target/ in the adapter');
        assert.deepEqual(walk(path.join(nm, X64)).filter(f => f.link), [], `no symbolic links in ${X64}`);
        assert.equal(fs.realpathSync(adapter), adapter, 'the adapter is a folder of the root, not a link to the checkout');
    });

    test('`iob add hmip`: the instance runs the platform package\'s binary and connects with the whole fixture tree', { timeout: 5 * 60000 }, async () => {
        assert.ok(fs.existsSync(path.join(iob.root, 'node_modules', X64)), 'npm installed the adapter (previous test)');
        await iob.start();
        await iob.iob('add', 'hmip', '--enabled', 'false');
        await iob.setNative('hmip.0', { accessPointSgtin: SIM_SGTIN, authToken: SIM_TOKEN, lookupUrl: sim.lookupUrl });
        await iob.iob('start', 'hmip.0');
        try {
            await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ack === true, { timeoutMs: 60000 });
        } catch (err) {
            err.message += `\n--- log\n${iob.logs().split('\n').slice(-30).join('\n')}`;
            throw err;
        }

        // The running binary is the platform package's, its environment without cargo.
        const bin = path.join(iob.root, 'node_modules', X64, 'bin', 'iobroker-hmip');
        const pid = await waitFor(() => {
            const r = spawnSync('pgrep', ['-f', `^${bin} run`], { encoding: 'utf8' });
            const pids = r.stdout.split('\n').filter(Boolean).map(Number).filter(pidAlive);
            return pids.length === 1 ? pids[0] : null;
        }, { timeoutMs: 10000, what: `the instance running ${bin}` });
        assert.equal(fs.realpathSync(`/proc/${pid}/exe`), bin);
        const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        const envPath = environ.find(v => v.startsWith('PATH='))?.slice(5) ?? '';
        assert.ok(envPath.split(':').every(dir => !fs.existsSync(path.join(dir, 'cargo'))), `no cargo on the instance's PATH ${envPath}`);
        assert.ok(!environ.some(v => v.startsWith('IOBROKER_HMIP_BIN=')), 'no IOBROKER_HMIP_BIN');

        // The whole tree: the same ids, of the same types, as the adapter's own dump.
        const tree = JSON.parse(execFileSync(BIN, ['tree', '--fixture', FIXTURE], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }));
        const want = Object.keys(tree).length + 1; // + info.pairing (instance mode only)
        const objects = new Map();
        await waitFor(async () => {
            const c = await iob.connect('objects');
            try {
                const keys = await c.keys('cfg.o.hmip.0.*');
                for (let i = 0; i < keys.length; i += 500) {
                    const values = await c.call('mget', ...keys.slice(i, i + 500));
                    keys.slice(i, i + 500).forEach((k, j) => { if (values[j]) objects.set(k.slice(6), JSON.parse(values[j]).type); });
                }
            } finally {
                c.close();
            }
            return objects.size >= want;
        }, { timeoutMs: 60000, what: 'the whole object tree' }).catch(() => {});
        const missing = Object.keys(tree).filter(id => objects.get(id) !== tree[id].type);
        assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${Object.keys(tree).length} objects missing or of another type`);
        assert.equal(objects.size, want, 'no object beyond the tree and info.pairing');
    });
});
