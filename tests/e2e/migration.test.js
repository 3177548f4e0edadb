'use strict';
// Moving from ioBroker.hmip: the setting "values as ioBroker.hmip" under a real
// js-controller 7.2.3 (jsonl databases), two instances of the fixture's simulator home:
//   1. hmip.0 starts over objects as ioBroker.hmip 3.2.0 left them (a few of its tree of
//      the same fixture, with its commons and an old value): the setting turns on in the
//      instance's native, the log says so once and how to change it, `shutterLevel` shows
//      ioBroker.hmip's value (cloud 0.0 = 0, where this adapter shows 100 % open) and
//      `windowState` the cloud's string; a write of ioBroker.hmip's 75 sends 0.75;
//   2. hmip.1, a fresh install on the same controller and home: the setting stays off, no
//      such log line, the blind that hmip.0 moved to 0.75 at 25 (% open) and `windowState` 2.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { prepareInstall, createRoot, waitFor, installHmip, startSim, HMIP_ROOT, SIM_SGTIN: SGTIN, SIM_TOKEN } = require('./iob');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');

// A DIN-rail blind actuator of the fixture (channel 1: shutterLevel 0.0, open) and a
// window contact (channel 1: windowState OPEN).
const BLIND = '3014F7110000000000022311';
const CONTACT = '3014F7110000000000000000';
const LEFT_LINE = /objects that ioBroker\.hmip left under hmip\.(\d)\.devices: "Values as ioBroker\.hmip" is now on.*untick it in the instance settings/;

const INSTALL_TIMEOUT = 10 * 60000;
const TEST_TIMEOUT = 3 * 60000;

/** Objects as ioBroker.hmip 3.2.0 created them for the fixture (its tree, ids relative to hmip.N). */
function leftByIoBrokerHmip(ns) {
    const state = common => ({ type: 'state', common: { read: true, write: false, ...common }, native: {} });
    return {
        [`${ns}.devices.${BLIND}`]: { type: 'device', common: { name: 'Jalousieaktor' }, native: {} },
        [`${ns}.devices.${BLIND}.channels.1`]: { type: 'channel', common: { name: 'Channel 1' }, native: {} },
        [`${ns}.devices.${BLIND}.channels.1.shutterLevel`]: {
            type: 'state',
            common: { name: 'shutterLevel', type: 'number', role: 'level.blind', min: 0, max: 100, read: true, write: true },
            native: { parameter: 'shutterlevel', id: BLIND, channel: '1' },
        },
        [`${ns}.devices.${BLIND}.info.type`]: state({ name: 'type', type: 'string', role: 'text' }),
        [`${ns}.devices.${CONTACT}`]: { type: 'device', common: { name: 'Fenster' }, native: {} },
        [`${ns}.devices.${CONTACT}.channels.1`]: { type: 'channel', common: { name: 'Channel 1' }, native: {} },
        [`${ns}.devices.${CONTACT}.channels.1.windowState`]: state({ name: 'windowState', type: 'string', role: 'sensor.window' }),
        [`${ns}.info.connection`]: state({ name: 'connection', type: 'boolean', role: 'indicator.connected' }),
    };
}

/** The last 40 lines of the root's log appended to a failure. */
async function withLogs(iob, fn) {
    try {
        return await fn();
    } catch (err) {
        const tail = iob.logs().split('\n').filter(l => l.trim()).slice(-40).join('\n');
        err.message += `\n--- ${iob.root}/log, last 40 lines\n${tail}`;
        throw err;
    }
}

describe('moving from ioBroker.hmip under js-controller 7.2.3', { concurrency: 1 }, () => {
    let iob;
    let sim;
    // Log lines as admin's log view gets them live (an instance's stderr reaches the
    // controller's log only when it exits, and the restart below kills it).
    const logLines = [];
    let logClient;

    before(async () => {
        await prepareInstall(HMIP_ROOT);
        iob = await createRoot({ dbType: 'jsonl', ...HMIP_ROOT });
        await iob.start();
        await installHmip(iob, BIN);
        await iob.iob('add', 'hmip', '--enabled', 'false');
        sim = await startSim(BIN, ['--fixture', FIXTURE]);
        logClient = await iob.connect('states');
        await logClient.psubscribe('log.system.adapter.e2e.0', (_p, _ch, msg) => logLines.push(JSON.parse(msg).message));
        await iob.setState('system.adapter.e2e.0.logging', true, { ack: true, from: 'system.adapter.e2e.0' });
    }, { timeout: INSTALL_TIMEOUT });

    after(async () => {
        if (logClient) logClient.close();
        if (iob) await iob.dispose();
        if (sim) sim.stop();
    });

    /** Configures and starts hmip.N; resolves once it is connected. */
    async function startInstance(n) {
        await iob.setNative(`hmip.${n}`, { accessPointSgtin: SGTIN, authToken: SIM_TOKEN, lookupUrl: sim.lookupUrl });
        await iob.iob('start', `hmip.${n}`);
        await iob.waitForState(`hmip.${n}.info.connection`, s => s.val === true && s.ack === true, { timeoutMs: 60000 });
    }

    test('a first start over ioBroker.hmip\'s objects turns the setting on and shows its values', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
        const installed = await iob.getObject('system.adapter.hmip.0');
        assert.equal(installed.native.valuesAsIoBrokerHmip, false, 'off for a new install (io-package native)');
        for (const [id, obj] of Object.entries(leftByIoBrokerHmip('hmip.0'))) await iob.setObject(id, obj);
        const shutter = `hmip.0.devices.${BLIND}.channels.1.shutterLevel`;
        await iob.setState(shutter, 55, { ack: true, from: 'system.adapter.hmip.0' });
        const t0 = Date.now();

        await startInstance(0);
        // The setting, recorded in the instance's native (js-controller restarts the
        // instance with it), and the log line that says so.
        await waitFor(async () => (await iob.getObject('system.adapter.hmip.0')).native.valuesAsIoBrokerHmip === true,
            { timeoutMs: 30000, what: 'native.valuesAsIoBrokerHmip true' });
        await waitFor(() => logLines.find(l => LEFT_LINE.test(l)), { timeoutMs: 30000, what: 'the log line that says so' });
        // ioBroker.hmip's values: the open blind at 0 (not 100), the window as text.
        const st = await iob.waitForState(shutter, s => s.ack === true && s.ts >= t0 && s.val !== 55, { timeoutMs: 60000 });
        assert.equal(st.val, 0);
        assert.equal(st.from, 'system.adapter.hmip.0');
        const win = await iob.waitForState(`hmip.0.devices.${CONTACT}.channels.1.windowState`, s => s.ack === true && s.ts >= t0, { timeoutMs: 30000 });
        assert.equal(win.val, 'OPEN');
        const obj = await iob.getObject(`hmip.0.devices.${CONTACT}.channels.1.windowState`);
        assert.equal(obj.common.type, 'string');
        // The running instance (after its restart) takes ioBroker.hmip's values: 75 = 0.75.
        await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ack === true, { timeoutMs: 60000 });
        await sim.clearCalls();
        await iob.setState(shutter, 75, { ack: false, from: 'system.adapter.javascript.0' });
        const call = await waitFor(async () => (await sim.calls()).find(c => /setShutterLevel$/.test(c.path)),
            { timeoutMs: 20000, what: 'the setShutterLevel call at the simulator' });
        const body = typeof call.body === 'string' ? JSON.parse(call.body) : call.body;
        assert.deepEqual(body, { deviceId: BLIND, channelIndex: 1, shutterLevel: 0.75 });
        await iob.waitForState(shutter, s => s.ack === true && s.val === 75, { timeoutMs: 20000 });
        // The decision was taken once: one log line, from hmip.0's first run.
        const lines = logLines.filter(l => LEFT_LINE.test(l));
        assert.equal(lines.length, 1, lines.join('\n'));
        assert.match(lines[0], /^hmip\.0 /);
    }));

    test('a fresh install keeps its own values', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
        await startInstance(1);
        const shutter = await iob.waitForState(`hmip.1.devices.${BLIND}.channels.1.shutterLevel`, s => s.ack === true, { timeoutMs: 30000 });
        // hmip.0 moved the blind to 0.75 (its 75): here, 100 % = open, that is 25 %.
        assert.equal(shutter.val, 25, 'the same blind in this adapter\'s convention');
        const win = await iob.waitForState(`hmip.1.devices.${CONTACT}.channels.1.windowState`, s => s.ack === true, { timeoutMs: 30000 });
        assert.equal(win.val, 2);
        assert.equal((await iob.getObject('system.adapter.hmip.1')).native.valuesAsIoBrokerHmip, false);
        // hmip.1 logged (it is connected), but not that line.
        assert.ok(logLines.some(l => l.startsWith('hmip.1 ')), 'hmip.1 logs reach the subscriber');
        const lines = logLines.filter(l => LEFT_LINE.test(l));
        assert.deepEqual(lines.map(l => LEFT_LINE.exec(l)[1]), ['0'], 'only hmip.0 started over ioBroker.hmip\'s objects');
    }));
});
