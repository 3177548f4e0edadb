'use strict';
// hmip.0's lines in ioBroker's log file, as a Node adapter's are (issue 12): a js-controller
// 7.2.3 root with iobroker.json's default `log` section (file transport `log/iobroker`,
// `.log`), the instance started with the simulator:
//   1. at the instance's level (info), an instance line is in `<root>/log/iobroker.<today>.log`
//      (the controller's own dated file) in the controller's exact line format: the same
//      timestamp shape and coloured level as the controller's own info lines, then
//      `hmip.0 (<the binary's pid>) <message>`; a debug line of the instance is not there;
//   2. with the instance's log level set to debug (common.loglevel), its debug lines are.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
    prepareInstall, createRoot, waitFor, installHmip, startSim, binaryPids, pidAlive, HMIP_ROOT,
    SIM_SGTIN: SGTIN, SIM_TOKEN,
} = require('./iob');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');
// A switch actuator of the fixture: a user write to it logs `user write queued` at debug.
const SWITCH_ON = 'hmip.0.devices.3014F7110000000000000008.channels.1.on';

const INSTALL_TIMEOUT = 10 * 60000;
const TEST_TIMEOUT = 3 * 60000;

// js-controller's line: local `YYYY-MM-DD HH:MM:SS.mmm`, two spaces, `- `, the level in
// winston's ANSI colour, `: `, the message (an adapter's starts `<namespace> (<pid>) `).
const LINE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3}) {2}- (\x1b\[\d+m)(error|warn|info|debug|silly)\x1b\[39m: (.*)$/;

/** The controller's file of today (local date, as winston-daily-rotate-file names it). */
function todaysFile(iob) {
    const d = new Date();
    const date = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    return path.join(iob.root, 'log', `iobroker.${date}.log`);
}

/** The file's lines, raw (ANSI codes kept), parsed; lines not in the format have `m` null. */
function fileLines(file) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    return text.split('\n').filter(Boolean).map(raw => ({ raw, m: LINE.exec(raw) }));
}

/** Lines of hmip.0 written by process pid: `{level, message, m}`. */
function instanceLines(file, pid) {
    const prefix = `hmip.0 (${pid}) `;
    return fileLines(file).filter(l => l.m && l.m[10].startsWith(prefix))
        .map(l => ({ level: l.m[9], message: l.m[10].slice(prefix.length), m: l.m }));
}

async function waitForBinary(iob, { not = [] } = {}) {
    return waitFor(() => {
        const pids = binaryPids(iob).filter(p => !not.includes(p) && pidAlive(p));
        return pids.length === 1 ? pids[0] : null;
    }, { timeoutMs: 60000, intervalMs: 100, what: 'the hmip binary to run' });
}

/** A user write to the switch, and its ack from the instance (the cloud confirmed it). */
async function userWrite(iob) {
    const before = await iob.getState(SWITCH_ON);
    await iob.setState(SWITCH_ON, !before.val, { ack: false, from: 'system.adapter.javascript.0' });
    await iob.waitForState(SWITCH_ON, s => s.ack === true && s.val === !before.val, { timeoutMs: 20000 });
}

describe('hmip.0 logs into ioBroker\'s log file', () => {
    let iob;
    let sim;

    before(async () => {
        await prepareInstall(HMIP_ROOT);
        iob = await createRoot({ dbType: 'jsonl', ...HMIP_ROOT });
        await iob.start();
        await installHmip(iob, BIN);
        sim = await startSim(BIN, ['--fixture', FIXTURE]);
        await iob.setNative('hmip.0', { accessPointSgtin: SGTIN, authToken: SIM_TOKEN, lookupUrl: sim.lookupUrl });
    }, { timeout: INSTALL_TIMEOUT });

    after(async () => {
        if (iob) await iob.dispose();
        if (sim) sim.stop();
    });

    test('an instance line in the controller\'s dated file and format, at the instance\'s level', { timeout: TEST_TIMEOUT }, async () => {
        const file = todaysFile(iob);
        await iob.iob('start', 'hmip.0');
        await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ack === true, { timeoutMs: 60000 });
        const pid = await waitForBinary(iob);

        // The controller's own info line about this instance, in the same file.
        const started = fileLines(file).find(l => / - .*info.*: host\.e2e instance system\.adapter\.hmip\.0 .*started with pid \d+$/.test(l.raw));
        assert.ok(started, `the controller's "started with pid" line in ${file}`);
        assert.ok(started.m, `the controller's line matches ${LINE}: ${JSON.stringify(started.raw)}`);

        const ours = await waitFor(() => instanceLines(file, pid).find(l => l.message.startsWith('ioBroker databases from ')),
            { timeoutMs: 10000, what: `hmip.0 (${pid})'s "ioBroker databases from" line in ${file}` });
        assert.equal(ours.level, 'info');
        assert.equal(ours.m[8], started.m[8], 'the same colour for info as the controller\'s');
        // Local time, as the controller's: within a minute of now (and not before the controller's line).
        const [, y, mo, d, h, mi, s, ms] = ours.m.map(Number);
        const at = new Date(y, mo - 1, d, h, mi, s, ms).getTime();
        assert.ok(Math.abs(Date.now() - at) < 60000, `the line's time ${ours.m[0].slice(0, 23)} is local and recent`);
        const [, y2, mo2, d2, h2, mi2, s2, ms2] = started.m.map(Number);
        assert.ok(at >= new Date(y2, mo2 - 1, d2, h2, mi2, s2, ms2).getTime(), 'written after the controller started the instance');
        // Every line of the instance is whole and in the format (no interleaving with the controller's).
        const bad = fileLines(file).filter(l => l.raw.includes(`hmip.0 (${pid})`) && !l.m);
        assert.deepEqual(bad.map(l => l.raw), []);

        // Level info: a user write's debug line is not written (the ack is the marker: the
        // line would be logged before the write reaches the cloud).
        await userWrite(iob);
        const levels = new Set(instanceLines(file, pid).map(l => l.level));
        assert.ok(!levels.has('debug') && !levels.has('silly'), `only info and above at level info: ${[...levels]}`);
        assert.ok(!instanceLines(file, pid).some(l => l.message.startsWith('user write queued')));

        // Level debug (common.loglevel, as admin sets it): the controller restarts the instance
        // with --loglevel debug, and the same write's debug line is in the file.
        const obj = await iob.getObject('system.adapter.hmip.0');
        obj.common.loglevel = 'debug';
        const t = Date.now();
        await iob.setObject('system.adapter.hmip.0', obj);
        const pid2 = await waitForBinary(iob, { not: [pid] });
        await waitFor(() => instanceLines(file, pid2).find(l => l.message.startsWith('ioBroker databases from ')),
            { timeoutMs: 20000, what: `hmip.0 (${pid2})'s first line` });
        await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ts >= t, { timeoutMs: 30000 });
        await userWrite(iob);
        const queued = await waitFor(() => instanceLines(file, pid2).find(l => l.message.startsWith('user write queued')),
            { timeoutMs: 10000, what: `hmip.0 (${pid2})'s debug line "user write queued"` });
        assert.equal(queued.level, 'debug');
        assert.match(queued.m[8], /^\x1b\[34m$/, 'debug in winston\'s blue');
    });
});
