'use strict';
// Our adapter in a root: laid out as tools/install-into-iobroker does (package.json,
// io-package.json, main.js, admin/, bin/iobroker-hmip), but with the binary the e2e run has
// just built (debug) instead of a release build, which would cost minutes in CI.

const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { killGroup, liveGroups } = require('./util');

/** The simulator's default access point and auth token (`sim::DEFAULT_SGTIN`, `DEFAULT_AUTH_TOKEN`). */
const SIM_SGTIN = '3014F711A000000000000001';
const SIM_TOKEN = 'SIMULATOR-TOKEN-0000000000000000';

/** The project's checkout. */
const PROJECT = path.resolve(__dirname, '..', '..', '..');

/** Copies the adapter package and `bin` into the root, then `iob add hmip` (stopped). */
// The root hmip runs in: io-package.json's globalDependencies name admin, so js-controller
// adds and starts hmip.N only where an admin instance exists (a real ioBroker always has
// one). admin is installed and admin.0 registered, disabled; nothing starts it.
const HMIP_ROOT = { withAdmin: true, adminStarted: false };

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


/**
 * `BIN sim --listen 127.0.0.1:0 ARGS…` as a detached child: resolves once it listens, with
 * its URLs, an HTTP helper for its hooks and `stop()`.
 */
async function startSim(bin, args = []) {
    const child = spawn(bin, ['sim', '--listen', '127.0.0.1:0', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    liveGroups.add(child.pid);
    child.once('exit', () => liveGroups.delete(child.pid));
    let out = '';
    child.stderr.on('data', d => { out += d; });
    const url = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the simulator did not start: ${out}`)), 15000);
        let buf = '';
        child.stdout.on('data', d => {
            buf += d;
            const m = /listening on (\S+)/.exec(buf);
            if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
        });
        child.once('exit', code => { clearTimeout(timer); reject(new Error(`the simulator exited (${code}): ${out}`)); });
    });
    const http = async (method, p, body, { timeoutMs = 5000 } = {}) => {
        const res = await fetch(`${url}${p}`, {
            method, body: body === undefined ? undefined : JSON.stringify(body),
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
        return text ? JSON.parse(text) : null;
    };
    return {
        url,
        lookupUrl: `${url}/getHost`,
        http,
        calls: () => http('GET', '/sim/calls'),
        clearCalls: () => http('DELETE', '/sim/calls'),
        stats: () => http('GET', '/sim/stats'),
        setChannel: (device, index, fields) => http('POST', `/sim/device/${device}/channel/${index}`, fields),
        stop() { killGroup(child.pid, 'SIGKILL'); },
    };
}

/** Pids of the hmip binary installed in this root (`<root>/node_modules/iobroker.hmip/bin/iobroker-hmip run …`). */
function binaryPids(iob) {
    const bin = path.join(iob.root, 'node_modules', 'iobroker.hmip', 'bin', 'iobroker-hmip');
    let out = '';
    try {
        out = execFileSync('pgrep', ['-f', `^${bin} run`], { encoding: 'utf8' });
    } catch (err) {
        if (err.status !== 1) throw err; // 1: nothing matched
    }
    return out.split('\n').filter(Boolean).map(Number);
}

module.exports = { HMIP_ROOT, installHmip, startSim, binaryPids, SIM_SGTIN, SIM_TOKEN };
