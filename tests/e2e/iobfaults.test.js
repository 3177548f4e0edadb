'use strict';
// Faults on the ioBroker side that instance.test.js does not cover: the instance started
// (as main.js starts it: `iobroker-hmip run --instance 0`, here with `--iobroker` pointing
// at the root's iobroker.json) while its database, Debian's redis-server, is not
// listening. It must wait: keep running, log that it waits for the databases, retry with a
// growing delay and not spin; once Redis is up it connects, writes its tree and reports
// connected. No controller runs in this root (nothing else would start or stop the
// instance); the databases are set up by `setup first`.
// The other faults (Redis or js-controller restarted, a lost announcement of a user write)
// are steps of instance.test.js.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const {
    prepareInstall, createRoot, waitFor, installHmip, startSim, killGroup, liveGroups, HMIP_ROOT,
    SIM_SGTIN: SGTIN, SIM_TOKEN,
} = require('./iob');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');
const INSTANCE = 'system.adapter.hmip.0';

/** CPU time (user + system) of a process so far, in seconds. */
function cpuSeconds(pid) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime 15.
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

describe('hmip.0 started while its database (redis-server) is not listening', () => {
    let iob;
    let sim;
    let child = null;
    let out = '';
    const timings = {};

    before(async () => {
        await prepareInstall(HMIP_ROOT);
        iob = await createRoot({ dbType: 'redis', ...HMIP_ROOT });
        await installHmip(iob, BIN);
        sim = await startSim(BIN, ['--fixture', FIXTURE]);
        await iob.setNative('hmip.0', { accessPointSgtin: SGTIN, authToken: SIM_TOKEN, lookupUrl: sim.lookupUrl });
    }, { timeout: 10 * 60000 });

    after(async () => {
        if (child && child.exitCode === null) killGroup(child.pid, 'SIGKILL');
        if (iob) await iob.dispose();
        if (sim) sim.stop();
        process.stderr.write(`iobfaults.test timings (ms): ${JSON.stringify(timings)}\n`);
    });

    test('waits for the database with backoff, then connects and writes its tree', { timeout: 3 * 60000 }, async () => {
        const bin = path.join(iob.root, 'node_modules', 'iobroker.hmip', 'bin', 'iobroker-hmip');
        const waiting = () => [...out.matchAll(/waiting for ioBroker's databases: .*retrying in (\S+)/g)].map(m => m[1]);
        let tUp;
        try {
            await iob.redis.restart({
                whileDown: async () => {
                    child = spawn(bin, ['run', '--instance', '0', '--iobroker', iob.configFile], {
                        stdio: ['ignore', 'pipe', 'pipe'], detached: true,
                    });
                    liveGroups.add(child.pid);
                    child.once('exit', () => liveGroups.delete(child.pid));
                    child.stdout.on('data', d => { out += d; });
                    child.stderr.on('data', d => { out += d; });
                    const t0 = Date.now();
                    // Three attempts: after about 1 s, then 2 s (the third says it waits about 4 s).
                    await waitFor(() => waiting().length >= 3, {
                        timeoutMs: 30000, intervalMs: 100, what: 'three "waiting for ioBroker\'s databases" lines',
                    });
                    timings.threeAttempts = Date.now() - t0;
                    assert.equal(child.exitCode, null, `the instance exited while waiting:\n${out}`);
                    // The delay grows (1 s, 2 s, 4 s, each wait jittered to between half and
                    // all of it) rather than hammering the port.
                    const seconds = d => d.endsWith('ms') ? parseFloat(d) / 1000 : parseFloat(d);
                    const waits = waiting().slice(0, 3).map(seconds);
                    [1, 2, 4].forEach((delay, i) => {
                        assert.ok(waits[i] >= delay / 2 - 0.001 && waits[i] <= delay + 0.001, `wait ${i + 1}: ${waits[i]} s for a delay of ${delay} s\n${out}`);
                    });
                    assert.ok(Date.now() - t0 >= 1500, 'the first three attempts took at least 0.5 s + 1 s');
                    // Not spinning: next to no CPU over the whole third wait (2–4 s), from its
                    // line to the next attempt's.
                    const cpu0 = cpuSeconds(child.pid);
                    const w0 = Date.now();
                    await waitFor(() => waiting().length >= 4, {
                        timeoutMs: 30000, intervalMs: 100, what: 'the fourth "waiting for ioBroker\'s databases" line',
                    });
                    const cpu = cpuSeconds(child.pid) - cpu0;
                    timings.thirdWait = Date.now() - w0;
                    timings.cpuOverThirdWait = cpu;
                    assert.ok(cpu < 0.5, `${cpu} s of CPU in ${Date.now() - w0} ms of waiting`);
                    assert.equal(child.exitCode, null, `the instance exited while waiting:\n${out}`);
                    // It says what it waits for: the states database's address (no secret in it).
                    assert.match(out, new RegExp(`ioBroker states database at 127\\.0\\.0\\.1:${iob.redis.port}`));
                },
            });
            tUp = Date.now();
            // Redis is back: the next attempt (at most the last announced delay) connects.
            await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ack === true, { timeoutMs: 60000 });
            timings.connectedAfterDbUp = Date.now() - tUp;
            assert.equal(child.exitCode, null, 'the same process connected');
            const alive = await iob.waitForState(`${INSTANCE}.alive`, s => s.val === true, { timeoutMs: 20000 });
            assert.equal(alive.from, INSTANCE);
            // Its tree: the fixture's devices and their states.
            const c = await iob.connect('objects');
            let devices;
            try {
                devices = await c.keys('cfg.o.hmip.0.devices.*');
            } finally {
                c.close();
            }
            assert.ok(devices.length > 9000, `${devices.length} objects under hmip.0.devices`);
            const s = await iob.getState('hmip.0.devices.3014F7110000000000000008.channels.1.on');
            assert.equal(s && s.ack, true, `a device state written: ${JSON.stringify(s)}`);
            // Waiting is no error: nothing above a warning was logged.
            assert.doesNotMatch(out, /\bERROR\b/, out);
        } catch (err) {
            err.message += `\n--- instance output\n${out.slice(-3000)}`;
            throw err;
        }
        // A clean stop.
        child.kill('SIGTERM');
        await waitFor(() => child.exitCode !== null, { timeoutMs: 10000, intervalMs: 50, what: 'the instance to stop on SIGTERM' });
        assert.equal(child.exitCode, 0, out);
    });
});
