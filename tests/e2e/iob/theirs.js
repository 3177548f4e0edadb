'use strict';
// ioBroker.hmip, the JavaScript adapter ours replaces, in a root of its own for side-by-side
// measurements (tests/e2e/bench-startup --with-ioBroker.hmip). None of its code is in this
// repository: npm installs the published package into the e2e cache, and the benchmark
// patches that installed copy at run time (patchTheirsLookup, measurement only).
//
//   const dir = await prepareTheirs();            // <cache>/jsc-7.2.3-iobroker.hmip-3.2.0
//   patchTheirsLookup(dir);                       // its lookup URL from HMIP_BENCH_LOOKUP_URL
//   process.env.HMIP_BENCH_LOOKUP_URL = sim.lookupUrl; // before start: the controller's environment
//   const iob = await createRoot({ install: dir, node: await prepareNode(22) });
//   await iob.start(); await addAdminElsewhere(iob);
//   await iob.iob('add', 'hmip', '--enabled', 'false');
//   await iob.setNative('hmip.0', theirsNative(SIM_SGTIN, SIM_TOKEN));
//
// The root has no admin installed: 3.2.0's io-package names admin >= 8.0.0 as a global
// dependency (on any host), which the cached admin 7.8.20 does not meet, and js-controller
// refuses to start an instance whose dependencies no instance object meets. addAdminElsewhere
// registers admin.0 as an instance of version 8.0.0 on another host (`e2e-elsewhere`, which
// does not run): enough for the check, and as in a multihost system whose admin runs on
// another machine. It needs Node >= 22 (engines), so its controller runs on
// iob/prepareNode(22).

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { JSC_VERSION, STAMP, cacheBase, withLock, prepareInstall } = require('./controller');
const { run } = require('./util');

const THEIRS_VERSION = '3.2.0';
const THEIRS_PKG = `iobroker.hmip@${THEIRS_VERSION}`;
/** The environment variable the patched lookup reads (set in the controller's environment). */
const LOOKUP_ENV = 'HMIP_BENCH_LOOKUP_URL';

const theirsDir = () => path.join(cacheBase(), `jsc-${JSC_VERSION}-iobroker.hmip-${THEIRS_VERSION}`);

function isReady(dir) {
    try {
        return JSON.parse(fs.readFileSync(path.join(dir, STAMP), 'utf8')).theirs === THEIRS_PKG;
    } catch {
        return false;
    }
}

/**
 * The install directory for ioBroker.hmip's roots: a copy of prepareInstall()'s js-controller
 * install (no admin) with iobroker.hmip 3.2.0 npm-installed into it, once. Returns its path.
 */
async function prepareTheirs({ log = msg => process.stderr.write(`iob: ${msg}\n`) } = {}) {
    const dir = theirsDir();
    if (isReady(dir)) return dir;
    const base = await prepareInstall({ withAdmin: false, log });
    return withLock(`${dir}.lock`, `the ${THEIRS_PKG} install`, async () => {
        if (isReady(dir)) return dir;
        const t0 = Date.now();
        const partial = `${dir}.partial-${process.pid}`;
        fs.rmSync(partial, { recursive: true, force: true });
        fs.rmSync(dir, { recursive: true, force: true });
        try {
            // A real copy, not hard links: npm rewrites files of the tree it installs into.
            await run('cp', ['-a', base, partial], { timeoutMs: 300000 });
            fs.rmSync(path.join(partial, STAMP), { force: true });
            log(`npm install ${THEIRS_PKG} into ${partial} (once)`);
            await run('npm', ['install', THEIRS_PKG, '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
                cwd: partial, env: { ...process.env, npm_config_update_notifier: 'false' }, timeoutMs: 10 * 60000,
            });
            fs.writeFileSync(path.join(partial, STAMP), `${JSON.stringify({
                jsController: JSC_VERSION, theirs: THEIRS_PKG, created: new Date().toISOString(),
            }, null, 2)}\n`);
            fs.renameSync(partial, dir);
        } catch (err) {
            fs.rmSync(partial, { recursive: true, force: true });
            throw err;
        }
        log(`${dir} ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return dir;
    });
}

/**
 * MEASUREMENT ONLY: ioBroker.hmip's cloud lookup URL is a string literal in
 * api/hmCloudAPI.js (getHomematicHosts). This rewrites the INSTALLED copy in the cache (never
 * anything in this repository) so that the literal becomes
 * `(process.env.HMIP_BENCH_LOOKUP_URL || <the literal>)`: with the variable set (the
 * benchmark sets it to the simulator's lookup), it asks our simulator; without it, it
 * behaves as published. Idempotent; throws if the literal is not found.
 */
function patchTheirsLookup(dir) {
    const file = path.join(dir, 'node_modules', 'iobroker.hmip', 'api', 'hmCloudAPI.js');
    const src = fs.readFileSync(file, 'utf8');
    if (src.includes(`process.env.${LOOKUP_ENV}`)) return file;
    // The one string literal that is an https URL ending in /getHost.
    const re = /(['"`])https:\/\/[^'"`\s]+\/getHost\1/g;
    const hits = src.match(re) || [];
    if (hits.length !== 1) throw new Error(`patchTheirsLookup: expected one https …/getHost literal in ${file}, found ${hits.length}`);
    // Written in place (same inode): roots hard-link the cache's node_modules.
    fs.writeFileSync(file, src.replace(re, lit => `(process.env.${LOOKUP_ENV} || ${lit})`));
    return file;
}

/** CLIENTAUTH for an SGTIN as eQ-3's clients compute it (cloud::identity::client_auth). */
function clientAuthFor(sgtin) {
    return crypto.createHash('sha512').update(`${sgtin}jiLpVitHvWnIGD1yo7MA`).digest('hex').toUpperCase();
}

/**
 * ioBroker.hmip's native config for an access point it is already paired with: what its
 * _ready() needs to connect without pairing (accessPointSgtin, authToken, clientAuthToken,
 * clientId) and a deviceId (without one it writes a new one into its instance object and
 * returns, so js-controller restarts it).
 */
function theirsNative(sgtin, authToken) {
    return {
        accessPointSgtin: sgtin,
        authToken,
        clientAuthToken: clientAuthFor(sgtin),
        clientId: 'e2e-bench-client',
        deviceId: '00000000-0000-4000-8000-00000000e2e0',
        deviceName: 'iobroker',
    };
}

/**
 * system.adapter.admin.0 as an instance of admin 8.0.0 on host `e2e-elsewhere` (disabled):
 * meets ioBroker.hmip 3.2.0's global dependency on admin >= 8.0.0 without an admin here.
 */
async function addAdminElsewhere(iob) {
    const id = 'system.adapter.admin.0';
    if (await iob.getObject(id)) throw new Error(`addAdminElsewhere: ${id} exists already`);
    await iob.setObject(id, {
        _id: id, type: 'instance',
        common: { name: 'admin', version: '8.0.0', host: `${iob.hostname}-elsewhere`, enabled: false, mode: 'daemon', title: 'Admin (elsewhere)' },
        native: {}, from: `${iob.hostId}.cli`, ts: Date.now(),
    });
}

module.exports = { THEIRS_VERSION, addAdminElsewhere, THEIRS_LOOKUP_ENV: LOOKUP_ENV, prepareTheirs, patchTheirsLookup, theirsNative };
