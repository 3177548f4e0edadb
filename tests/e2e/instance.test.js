'use strict';
// iobroker-hmip as the real instance hmip.0 of js-controller 7.2.3, once with the
// controller's own jsonl databases and once with both databases in Debian's redis-server.
// The same checks for both:
//   1. installed, configured (SGTIN, token, lookup URL of a simulator serving
//      tests/fixtures/home.json) and started: alive (written with a TTL), info.connection,
//      the whole object tree (the same ids and types as `iobroker-hmip tree` prints) and a
//      value for every state of a fixture channel field;
//   2. a user's write (ack false through the states database) becomes the cloud's control
//      call and comes back acked from system.adapter.hmip.0;
//   3. `iob stop` ends the binary within 2 s; a SIGKILLed launcher takes the binary along;
//   4. the databases go away and come back (jsonl: the controller restarts; redis: redis-server
//      restarts under the running controller): the adapter is connected again, a value
//      changed in the cloud meanwhile reaches the states database, no other state of
//      hmip.0 was rewritten (its `ts` did not move), and a user write made afterwards
//      reaches the cloud and comes back acked (the subscription was renewed);
//   4b. (redis) the adapter's pub/sub connection is cut (CLIENT KILL) in the same
//      transaction that writes a user command: the command's announcement reaches no one,
//      yet the adapter executes it after it resubscribes (it looks for unacked states);
//   5. pairing through the messagebox exactly as admin's "Create token" sends it: wrong PIN,
//      right PIN, the blue-button hint in info.pairing, the tokens saved encrypted.
// One root per database type, both at once; the checks of a root in order, each leaving the
// instance running. On a failure the last 40 lines of the root's log are in the message.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const {
    prepareInstall, createRoot, decryptValue, waitFor, sleep, installHmip, startSim, HMIP_ROOT,
    binaryPids, pidAlive, parentPid, SIM_SGTIN: SGTIN, SIM_TOKEN,
} = require('./iob');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');
const INSTANCE = 'system.adapter.hmip.0';
// A switch actuator with power measurement in the fixture: channel 1 has `on` (writable,
// setSwitchState) and `currentPowerConsumption` (read-only, W, no scaling).
const SWITCH = '3014F7110000000000000008';
const SWITCH_CH = `hmip.0.devices.${SWITCH}.channels.1`;

const INSTALL_TIMEOUT = 10 * 60000;
const TEST_TIMEOUT = 3 * 60000;

// ---------------------------------------------------------------------------------------
// Processes of a root's adapter.

function cmdline(pid) {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/** Waits until exactly one binary of the root runs (other than `not`) and returns its pid. */
async function waitForBinary(iob, { not = [], timeoutMs = 30000 } = {}) {
    return waitFor(() => {
        const pids = binaryPids(iob).filter(p => !not.includes(p) && pidAlive(p));
        return pids.length === 1 ? pids[0] : null;
    }, { timeoutMs, intervalMs: 100, what: `the hmip binary of ${iob.root} to run` });
}


// ---------------------------------------------------------------------------------------
// Reading the databases in bulk.

async function mget(client, keys) {
    const out = [];
    for (let i = 0; i < keys.length; i += 500) {
        out.push(...(await client.call('mget', ...keys.slice(i, i + 500))));
    }
    return out;
}

/** Every object under hmip.0. in the objects database: id -> object. */
async function instanceObjects(iob) {
    const c = await iob.connect('objects');
    try {
        const keys = (await c.keys('cfg.o.hmip.0.*')).sort();
        const values = await mget(c, keys);
        const out = new Map();
        keys.forEach((k, i) => { if (values[i] != null) out.set(k.slice('cfg.o.'.length), JSON.parse(values[i])); });
        return out;
    } finally {
        c.close();
    }
}

/** The states of ids: id -> state or null. */
async function statesOf(iob, ids) {
    const c = await iob.connect('states');
    try {
        const values = await mget(c, ids.map(id => `io.${id}`));
        return new Map(ids.map((id, i) => [id, values[i] == null ? null : JSON.parse(values[i])]));
    } finally {
        c.close();
    }
}

function countByType(objects) {
    const out = {};
    for (const o of objects) out[o.type] = (out[o.type] || 0) + 1;
    return out;
}

// ---------------------------------------------------------------------------------------
// The adapter's own dump of the fixture's tree, and the fixture.

let treeCache = null;
function fixtureTree() {
    if (!treeCache) {
        const json = execFileSync(BIN, ['tree', '--fixture', FIXTURE], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
        treeCache = JSON.parse(json);
    }
    return treeCache;
}
const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));

// ---------------------------------------------------------------------------------------

/** Runs fn; a failure gets the last 40 lines of the root's log (and the controller's output) appended. */
async function withLogs(iob, fn) {
    try {
        return await fn();
    } catch (err) {
        let tail = '';
        try {
            tail = iob.logs().split('\n').filter(l => l.trim()).slice(-40).join('\n');
        } catch (e) {
            tail = `(no log: ${e.message})`;
        }
        const out = iob.controllerOutput().trim();
        err.message += `\n--- ${iob.root}/log, last 40 lines\n${tail}` +
            (out ? `\n--- controller output (last 2000 chars)\n${out.slice(-2000)}` : '');
        throw err;
    }
}

/** Every state under hmip.0. in the states database: id -> state. */
async function instanceStates(iob) {
    const c = await iob.connect('states');
    try {
        const keys = (await c.keys('io.hmip.0.*')).sort();
        const values = await mget(c, keys);
        const out = new Map();
        keys.forEach((k, i) => { if (values[i] != null) out.set(k.slice('io.'.length), JSON.parse(values[i])); });
        return out;
    } finally {
        c.close();
    }
}

/**
 * States of `before` that were written again (their `ts` moved) although their value did
 * not change, other than the ids in `allowed`; and states that disappeared.
 */
function rewrittenUnchanged(before, after, allowed = new Set()) {
    const rewritten = [];
    const gone = [];
    for (const [id, b] of before) {
        const a = after.get(id);
        if (!a) { gone.push(id); continue; }
        if (a.ts !== b.ts && JSON.stringify(a.val) === JSON.stringify(b.val) && a.q === b.q && a.ack === b.ack && !allowed.has(id)) {
            rewritten.push(id);
        }
    }
    return { rewritten, gone };
}

/**
 * A user's write of `val` to the switch (ack false through the states database): the
 * setSwitchState call reaches the simulator once and the state comes back acked.
 * `write(id, state)` writes it (default: the harness's setState).
 */
async function switchWriteRoundTrip(iob, sim, { write, timeoutMs = 10000 } = {}) {
    const id = `${SWITCH_CH}.on`;
    const before = await iob.getState(id);
    assert.equal(before.ack, true, `${id} acked before the write: ${JSON.stringify(before)}`);
    const want = !before.val;
    await sim.clearCalls();
    if (write) {
        const now = Date.now();
        await write(id, { val: want, ack: false, ts: now, lc: now, from: 'system.adapter.javascript.0', q: 0, user: 'system.user.admin' });
    } else {
        await iob.setState(id, want, { ack: false, from: 'system.adapter.javascript.0' });
    }
    const call = await waitFor(async () => (await sim.calls()).find(c => /setSwitchState$/.test(c.path)),
        { timeoutMs, what: 'the setSwitchState call at the simulator' });
    assert.deepEqual(callBody(call), { channelIndex: 1, deviceId: SWITCH, on: want });
    const acked = await iob.waitForState(id, s => s.ack === true && s.val === want, { timeoutMs });
    assert.equal(acked.from, INSTANCE);
    return { id, want };
}

/** The body of a control call the simulator recorded (text or JSON). */
const callBody = call => (typeof call.body === 'string' ? JSON.parse(call.body) : call.body);

/** Local ports of the established TCP connections of process pid to 127.0.0.1:port. */
function connectionsOf(pid, port) {
    const out = execFileSync('ss', ['-tnpH', 'state', 'established', `dport = :${port}`], { encoding: 'utf8' });
    return out.split('\n').filter(l => l.includes(`pid=${pid},`))
        .map(l => Number(/\S+:(\d+)\s+\S+:\d+/.exec(l)[1]));
}

/** Rejects when promise has not settled within ms (a database that stopped answering). */
function within(ms, promise, what) {
    let timer;
    return Promise.race([
        promise,
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
    ]).finally(() => clearTimeout(timer));
}

/** Records every change of a state (psubscribe on the states database): `seen` holds them, null for a deletion. */
async function watchState(iob, id) {
    const c = await iob.connect('states');
    const seen = [];
    await c.psubscribe(`io.${id}`, (_p, _ch, msg) => { seen.push(msg === null || msg === 'null' ? null : JSON.parse(msg)); });
    return { seen, close: () => c.close() };
}

// The two database types side by side (each root has its own ports, simulator and
// processes); the checks of one root in order.
describe('hmip.0 as a js-controller 7.2.3 instance', { concurrency: true }, () => {
    for (const dbType of ['jsonl', 'redis']) {
        describe(`${dbType} databases`, { concurrency: 1 }, () => {
            let iob;
            let sim;
            let pinSim;
            const timings = {};

            before(async () => {
                await prepareInstall(HMIP_ROOT);
                fixtureTree();
                const t0 = Date.now();
                iob = await createRoot({ dbType, ...HMIP_ROOT });
                await iob.start();
                timings.rootAndController = Date.now() - t0;
                await installHmip(iob, BIN);
                sim = await startSim(BIN, ['--fixture', FIXTURE]);
                await iob.setNative('hmip.0', { accessPointSgtin: SGTIN, authToken: SIM_TOKEN, lookupUrl: sim.lookupUrl });
                timings.setup = Date.now() - t0;
            }, { timeout: INSTALL_TIMEOUT });

            after(async () => {
                if (iob) await iob.dispose();
                if (sim) sim.stop();
                if (pinSim) pinSim.stop();
                process.stderr.write(`instance.test ${dbType} timings (ms): ${JSON.stringify(timings)}\n`);
            });

            test('started: alive with a TTL, connected, the whole fixture tree in both databases', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
                const t0 = Date.now();
                await iob.iob('start', 'hmip.0');
                await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ack === true, { timeoutMs: 60000 });
                timings.connected = Date.now() - t0;

                const alive = await iob.waitForState(`${INSTANCE}.alive`, s => s.val === true, { timeoutMs: 20000 });
                assert.equal(alive.ack, true);
                assert.equal(alive.from, INSTANCE);
                if (dbType === 'redis') {
                    const c = await iob.connect('states');
                    try {
                        const ttl = await c.call('ttl', `io.${INSTANCE}.alive`);
                        assert.ok(ttl > 0 && ttl <= 30, `alive expires: ttl ${ttl} s`);
                        const connTtl = await c.call('ttl', `io.${INSTANCE}.connected`);
                        assert.ok(connTtl > 0 && connTtl <= 30, `connected expires: ttl ${connTtl} s`);
                    } finally {
                        c.close();
                    }
                } else {
                    // js-controller's jsonl states server has no TTL command: a state written with
                    // `setex` carries "expire": true and is dropped by a timer (and at the next start).
                    assert.equal(alive.expire, true, `alive is written with setex: ${JSON.stringify(alive)}`);
                    const connected = await iob.getState(`${INSTANCE}.connected`);
                    assert.equal(connected && connected.expire, true, `connected is written with setex: ${JSON.stringify(connected)}`);
                }

                // The object tree: the same ids, of the same types, as the adapter's own dump.
                const tree = fixtureTree();
                const extra = new Set(['hmip.0.info.pairing']); // instance mode only (io-package instanceObjects)
                let objects;
                await waitFor(async () => {
                    objects = await instanceObjects(iob);
                    return objects.size >= Object.keys(tree).length + extra.size;
                }, { timeoutMs: 60000, what: 'the whole object tree in the objects database' }).catch(() => {});
                timings.tree = Date.now() - t0;
                const missing = Object.keys(tree).filter(id => !objects.has(id));
                assert.deepEqual(missing.slice(0, 20), [], `${missing.length} objects of the tree are missing`);
                const unexpected = [...objects.keys()].filter(id => !(id in tree) && !extra.has(id));
                assert.deepEqual(unexpected.slice(0, 20), [], `${unexpected.length} objects that the tree does not have`);
                const wrongType = Object.keys(tree).filter(id => objects.get(id).type !== tree[id].type);
                assert.deepEqual(wrongType.slice(0, 20), [], 'objects of another type than in the tree');
                assert.deepEqual(countByType([...objects.values()].filter(o => o._id in tree)), countByType(Object.values(tree)));
                assert.equal(objects.get('hmip.0.info.pairing').type, 'state');

                // Every device of the fixture, with every channel.
                const fieldStates = [];
                for (const dev of Object.values(fixture.devices)) {
                    const devId = `hmip.0.devices.${dev.id}`;
                    assert.equal(objects.get(devId)?.type, 'device', devId);
                    for (const [n, ch] of Object.entries(dev.functionalChannels)) {
                        const chId = `${devId}.channels.${n}`;
                        assert.equal(objects.get(chId)?.type, 'channel', chId);
                        for (const [field, val] of Object.entries(ch)) {
                            const o = objects.get(`${chId}.${field}`);
                            if (o && o.type === 'state') fieldStates.push({ id: o._id, val, common: o.common });
                        }
                    }
                }
                assert.ok(fieldStates.length > 9000, `${fieldStates.length} channel field states`);

                // Every state of a fixture channel field has its value, acked, from the instance.
                let states;
                await waitFor(async () => {
                    states = await statesOf(iob, fieldStates.map(f => f.id));
                    return [...states.values()].every(Boolean);
                }, { timeoutMs: 30000, what: 'a value for every channel field state' }).catch(() => {});
                const noValue = fieldStates.filter(f => !states.get(f.id) || !('val' in states.get(f.id)));
                assert.deepEqual(noValue.slice(0, 20).map(f => f.id), [], `${noValue.length} of ${fieldStates.length} field states have no value`);
                const notAcked = fieldStates.filter(f => states.get(f.id).ack !== true || states.get(f.id).from !== INSTANCE);
                assert.deepEqual(notAcked.slice(0, 5).map(f => [f.id, states.get(f.id)]), []);
                // Booleans and numbers pass through unscaled where the fixture and the state agree on the type.
                const differs = fieldStates.filter(f => typeof f.val === 'boolean' && f.common.type === 'boolean' &&
                    states.get(f.id).val !== f.val);
                assert.deepEqual(differs.slice(0, 10).map(f => [f.id, f.val, states.get(f.id).val]), [], 'boolean fields as in the fixture');
                const sw = states.get(`${SWITCH_CH}.currentPowerConsumption`);
                assert.equal(sw.val, fixture.devices[SWITCH].functionalChannels['1'].currentPowerConsumption);
                timings.check1 = Date.now() - t0;
            }));

            test('a user write (ack false through the states database) reaches the cloud and comes back acked', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
                const id = `${SWITCH_CH}.on`;
                const before = await iob.getState(id);
                assert.equal(before.ack, true);
                const want = !before.val;
                await sim.clearCalls();
                const t0 = Date.now();
                await iob.setState(id, want, { ack: false, from: 'system.adapter.javascript.0' });
                const call = await waitFor(async () => (await sim.calls()).find(c => /setSwitchState$/.test(c.path)),
                    { timeoutMs: 10000, what: 'the setSwitchState call at the simulator' });
                assert.match(call.path, /(^|\/)device\/control\/setSwitchState$/);
                const body = typeof call.body === 'string' ? JSON.parse(call.body) : call.body;
                assert.deepEqual(body, { channelIndex: 1, deviceId: SWITCH, on: want });
                const acked = await iob.waitForState(id, s => s.ack === true && s.val === want, { timeoutMs: 10000 });
                assert.equal(acked.from, INSTANCE);
                timings.writeRoundTrip = Date.now() - t0;
                assert.equal((await sim.calls()).filter(c => /setSwitchState$/.test(c.path)).length, 1, 'one control call');
            }));

            test('iob stop ends the binary within 2 s; a SIGKILLed launcher takes the binary along', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
                const pid = await waitForBinary(iob);
                const launcher = parentPid(pid);
                assert.match(cmdline(launcher).join(' '), /iobroker\.hmip\/main\.js --instance 0/, 'the binary is main.js\'s child');

                // `iob stop` sets common.enabled false (the CLI itself needs about 2 s to start and
                // connect); the controller then writes sigKill -1. Measured from the object change.
                const watcher = await iob.connect('objects');
                // When the object said enabled false: its ts (written by the CLI), or when it
                // was seen so if it carries none.
                const disabledSince = async () => {
                    const o = await watcher.getObject(INSTANCE);
                    if (!o || o.common.enabled !== false) return null;
                    return typeof o.ts === 'number' ? Math.min(o.ts, Date.now()) : Date.now();
                };
                let disabledAt = null;
                let gone = null;
                const poll = (async () => {
                    while (gone === null) {
                        if (disabledAt === null) disabledAt = await disabledSince();
                        if (!pidAlive(pid)) gone = Date.now();
                        await sleep(20);
                    }
                })().catch(() => {});
                const t0 = Date.now();
                await iob.iob('stop', 'hmip.0');
                const tCli = Date.now();
                await Promise.race([poll, sleep(10000)]);
                if (gone === null) gone = Infinity;
                // The binary can end between one look at the object and the next (it stops
                // within milliseconds): look once more.
                if (disabledAt === null) disabledAt = await disabledSince();
                watcher.close();
                assert.ok(disabledAt, 'iob stop set common.enabled false');
                timings.stop = { cli: tCli - t0, goneAfterDisabled: gone - disabledAt };
                assert.ok(gone - disabledAt <= 2000, `binary gone ${gone - disabledAt} ms after iob stop disabled the instance (limit 2000)`);
                await waitFor(() => !pidAlive(launcher), { timeoutMs: 5000, intervalMs: 50, what: `launcher ${launcher} to end` });
                const alive = await iob.getState(`${INSTANCE}.alive`);
                assert.ok(alive === null || alive.val === false, `alive false or expired: ${JSON.stringify(alive)}`);
                assert.equal((await iob.getObject(INSTANCE)).common.enabled, false);
                // Stopped cleanly: the controller saw exit code 0, and the adapter wrote connection false.
                await iob.waitForLog(/instance system\.adapter\.hmip\.0 terminated with code 0/, { timeoutMs: 5000 });
                assert.equal((await iob.getState('hmip.0.info.connection')).val, false);

                // Again, then the launcher SIGKILLed (as js-controller does after stopTimeout).
                const t1 = Date.now();
                await iob.iob('start', 'hmip.0');
                const pid2 = await waitForBinary(iob, { not: [pid] });
                await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ts >= t1, { timeoutMs: 60000 });
                const launcher2 = parentPid(pid2);
                assert.match(cmdline(launcher2).join(' '), /main\.js --instance 0/);
                const tk = Date.now();
                process.kill(launcher2, 'SIGKILL');
                await waitFor(() => !pidAlive(pid2), { timeoutMs: 3000, intervalMs: 50, what: `binary ${pid2} to end within 3 s of its launcher's SIGKILL` });
                timings.orphanGone = Date.now() - tk;

                // Leave it running for the next checks (js-controller would restart the killed
                // instance only after a delay: stop and start it instead).
                await iob.iob('stop', 'hmip.0');
                const t2 = Date.now();
                await iob.iob('start', 'hmip.0');
                await waitForBinary(iob, { not: [pid, pid2] });
                await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ts >= t2, { timeoutMs: 60000 });
            }));

            test(dbType === 'jsonl'
                ? 'js-controller restarted: the adapter is connected again, a value changed meanwhile arrives, nothing unchanged is rewritten, a write afterwards is executed'
                : 'redis-server restarted under the running controller: the adapter reconnects, a value changed meanwhile arrives, nothing unchanged is rewritten, a write afterwards is executed',
            { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
                const id = `${SWITCH_CH}.currentPowerConsumption`;
                const old = (await iob.getState(id)).val;
                const want = Math.round((Number(old) || 0) * 10 + 4711) / 10;
                const pidBefore = await waitForBinary(iob);
                const statesBefore = await instanceStates(iob);
                assert.ok(statesBefore.size > 9000, `${statesBefore.size} states under hmip.0`);
                const t0 = Date.now();
                if (dbType === 'jsonl') {
                    await iob.stop();
                    timings.controllerStop = Date.now() - t0;
                    assert.equal(binaryPids(iob).filter(pidAlive).length, 0, 'the instance ended with the controller');
                    await sim.setChannel(SWITCH, 1, { currentPowerConsumption: want });
                    await iob.start();
                } else {
                    await iob.redis.restart({
                        whileDown: async () => {
                            // The adapter gets the change while its database is away: Redis comes
                            // back once the simulator has written the event to the websocket.
                            const { wsFramesSent: sent } = await sim.stats();
                            await sim.setChannel(SWITCH, 1, { currentPowerConsumption: want });
                            await waitFor(async () => (await sim.stats()).wsFramesSent > sent,
                                { timeoutMs: 10000, what: 'the event written to the adapter\'s websocket' });
                        },
                    });
                }
                const tUp = Date.now();
                timings.dbDown = tUp - t0;
                const s = await iob.waitForState(id, st => st.val === want, { timeoutMs: 60000 });
                assert.equal(s.ack, true);
                assert.equal(s.from, INSTANCE);
                timings.valueAfterDbUp = Date.now() - tUp;
                // jsonl: the stopped adapter wrote false, so true is new; redis: restored from the dump.
                await iob.waitForState('hmip.0.info.connection', st => st.val === true && st.ack === true &&
                    (dbType === 'redis' || st.ts >= t0), { timeoutMs: 30000 });
                // alive written again after the databases came back (every 15 s).
                await iob.waitForState(`${INSTANCE}.alive`, st => st.val === true && st.ts >= tUp, { timeoutMs: 30000 });
                timings.aliveAfterDbUp = Date.now() - tUp;
                const pidAfter = await waitForBinary(iob);
                timings.instanceRestartedByDbLoss = pidAfter !== pidBefore;
                if (dbType === 'redis') {
                    assert.equal(pidAfter, pidBefore, 'the same binary reconnected (js-controller did not restart it)');
                }

                // Nothing that did not change was written again (the snapshot after the new
                // start, the queue after the reconnect): every state keeps its ts, except the
                // value changed meanwhile (and, jsonl, info.connection: the stopped adapter wrote
                // false). Read after alive was written again, so a late rewrite shows too.
                const statesAfter = await instanceStates(iob);
                const allowed = new Set(dbType === 'jsonl' ? ['hmip.0.info.connection'] : []);
                const { rewritten, gone } = rewrittenUnchanged(statesBefore, statesAfter, allowed);
                assert.deepEqual(gone.slice(0, 10), [], `${gone.length} states of hmip.0 are gone after the restart`);
                assert.deepEqual(rewritten.slice(0, 10), [], `${rewritten.length} unchanged states of hmip.0 were written again`);
                assert.notEqual(statesAfter.get(id).ts, statesBefore.get(id).ts, 'the changed value was written');
                timings.statesCompared = statesBefore.size;

                // The store subscription is back: a user's write reaches the cloud, comes back acked.
                const tw = Date.now();
                await switchWriteRoundTrip(iob, sim);
                timings.writeAfterDbUp = Date.now() - tw;
            }));

            if (dbType === 'redis') {
                test('a user write whose announcement was lost (pub/sub connection cut) is executed after the resubscribe', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
                    const pid = await waitForBinary(iob);
                    const c = await iob.connect('states');
                    try {
                        // The adapter's pub/sub connection: one of its connections to Redis, with patterns.
                        const ports = connectionsOf(pid, iob.redis.port);
                        assert.ok(ports.length >= 2, `the adapter's connections to redis: ${ports}`);
                        const clients = String(await c.call('client', 'list')).split('\n')
                            .filter(l => ports.some(p => l.includes(` addr=127.0.0.1:${p} `)));
                        const pubsub = clients.filter(l => /\bpsub=[1-9]/.test(l));
                        assert.equal(pubsub.length, 1, `one pub/sub connection of the adapter: ${clients.join('\n')}`);
                        const addr = /\baddr=(\S+)/.exec(pubsub[0])[1];
                        const t0 = Date.now();
                        // One transaction: the connection is gone before the write is published,
                        // so no subscriber of the adapter hears it; Redis itself stays up.
                        const lost = await switchWriteRoundTrip(iob, sim, {
                            timeoutMs: 20000,
                            write: async (id, st) => {
                                const json = JSON.stringify(st);
                                assert.equal(await c.call('multi'), 'OK');
                                await c.call('client', 'kill', 'addr', addr);
                                await c.call('set', `io.${id}`, json);
                                await c.call('publish', `io.${id}`, json);
                                const res = await c.call('exec');
                                // exec: [clients killed, set, subscribers that heard the publish].
                                assert.equal(res[0], 1, `client kill: ${JSON.stringify(res)}`);
                                assert.equal(res[2], 0, `no subscriber heard the write: ${JSON.stringify(res)}`);
                            },
                        });
                        timings.lostWriteExecuted = Date.now() - t0;
                        // Reconnected, the same process; exactly one control call.
                        assert.equal(await waitForBinary(iob), pid);
                        const again = connectionsOf(pid, iob.redis.port);
                        assert.ok(!again.includes(Number(addr.split(':')[1])), 'a new pub/sub connection');
                        // A marker write through the new subscription, the other way: once its call
                        // is at the simulator, a second execution of the lost write (from the replay
                        // or a late announcement) would be there before it.
                        const on = x => callBody(x).on;
                        await iob.setState(lost.id, !lost.want, { ack: false, from: 'system.adapter.javascript.0' });
                        const calls = await waitFor(async () => {
                            const cs = (await sim.calls()).filter(x => /setSwitchState$/.test(x.path));
                            return cs.some(x => on(x) === !lost.want) ? cs : null;
                        }, { timeoutMs: 10000, what: 'the marker write at the simulator' });
                        assert.deepEqual(calls.map(on), [lost.want, !lost.want], 'the lost write executed once, then the marker');
                        await iob.waitForState(lost.id, st => st.ack === true && st.val === !lost.want, { timeoutMs: 10000 });
                    } finally {
                        c.close();
                    }
                }));
            }

            test('pairing through the messagebox as admin sends it: wrong PIN, then the tokens', { timeout: TEST_TIMEOUT }, () => withLogs(iob, async () => {
                pinSim = await startSim(BIN, ['--pin', '1234', '--button', 'auto']);
                const pidBefore = await waitForBinary(iob);
                // An instance with the SGTIN but no token: js-controller restarts it for the new config.
                await within(10000, iob.setNative('hmip.0', { authToken: '', clientAuthToken: '', clientId: '', deviceId: '', lookupUrl: pinSim.lookupUrl }), 'setNative');
                await waitForBinary(iob, { not: [pidBefore], timeoutMs: 30000 });

                const replies = [];
                const admin = await iob.connect('states');
                await admin.psubscribe('messagebox.system.adapter.admin.0', (_p, _ch, msg) => replies.push(JSON.parse(msg)));
                const pairing = await watchState(iob, 'hmip.0.info.pairing');
                const publisher = await iob.connect('states');
                const send = (id, command, message) => {
                    const msg = {
                        command, message, from: 'system.adapter.admin.0',
                        callback: { message, id, ack: false, time: Date.now() }, _id: id,
                    };
                    return within(5000, publisher.publish(`messagebox.${INSTANCE}`, JSON.stringify(msg)), `publish of message ${id}`);
                };
                const reply = id => waitFor(() => replies.find(r => r.callback && r.callback.id === id),
                    { timeoutMs: 30000, intervalMs: 100, what: `the reply to message ${id} on admin's messagebox` }).catch(err => {
                    err.message += ` (replies seen: ${JSON.stringify(replies.map(r => r.callback && r.callback.id))}; ` +
                        `info.pairing: ${JSON.stringify(pairing.seen.map(st => st && st.val))})`;
                    throw err;
                });

                // The new instance listens once it answers: an unknown command, until a reply comes.
                let probe = 100;
                await waitFor(async () => {
                    probe++;
                    await send(probe, 'e2eProbe', {});
                    await sleep(300);
                    return replies.some(r => r.callback && r.callback.id === probe);
                }, { timeoutMs: 30000, intervalMs: 0, what: 'the restarted instance to answer on its messagebox' });
                const probeReply = replies.find(r => r.callback.id === probe);
                assert.match(probeReply.message.error, /unknown command/);

                const form = pin => ({ accessPointSgtin: SGTIN, pin, deviceName: 'ioBroker' });
                await send(6, 'requestToken', form('1111'));
                const wrong = await reply(6);
                assert.equal(wrong.callback.ack, true);
                assert.equal(wrong.from, INSTANCE);
                assert.match(String(wrong.message.error), /PIN/i, `wrong PIN: ${JSON.stringify(wrong.message)}`);
                assert.equal(wrong.message.native, undefined);

                const t0 = Date.now();
                // Saving the tokens makes js-controller restart the instance at once: the reply
                // must reach admin all the same (admin puts the tokens into its form from it).
                await send(7, 'requestToken', form('1234'));
                const ok = await reply(7);
                timings.pairing = Date.now() - t0;
                assert.equal(ok.callback.id, 7);
                assert.equal(ok.callback.ack, true);
                assert.equal(ok.command, 'requestToken');
                assert.equal(ok.from, INSTANCE);
                assert.equal(ok.message.error, undefined, JSON.stringify(ok.message));
                assert.equal(ok.message.saveConfig, true);
                const native = ok.message.native;
                assert.equal(native.accessPointSgtin, SGTIN);
                assert.ok(native.authToken && native.authToken.length >= 16, `authToken ${native.authToken}`);
                assert.notEqual(native.authToken, SIM_TOKEN);
                for (const k of ['clientAuthToken', 'clientId', 'deviceId']) assert.ok(native[k], `${k} in the reply`);

                assert.ok(pairing.seen.some(s => s && /press the blue button/.test(s.val)),
                    `info.pairing showed the blue-button hint: ${JSON.stringify(pairing.seen.map(s => s && s.val))}`);
                pairing.close();

                // The tokens are in the instance object, encrypted with the system secret. The
                // reply can reach admin before the object is written, and the object already
                // holds an encrypted empty token from setNative above: wait for the new one.
                const secret = await iob.secret();
                let lastSeen;
                const obj = await waitFor(async () => {
                    const o = await iob.getObject(INSTANCE);
                    lastSeen = o.native.authToken;
                    return /^\$\/aes-192-cbc:[0-9a-f]{32}:[0-9a-f]+$/.test(lastSeen || '') &&
                        decryptValue(secret, lastSeen) === native.authToken ? o : null;
                }, { timeoutMs: 10000, what: `${INSTANCE} native.authToken, encrypted, the token of the reply` }).catch(err => {
                    err.message += ` (last seen: ${lastSeen && /^\$\/aes/.test(lastSeen) ? `encrypted, ${decryptValue(secret, lastSeen).length} characters` : JSON.stringify(lastSeen)})`;
                    throw err;
                });
                for (const k of ['clientAuthToken', 'clientId']) {
                    assert.equal(decryptValue(secret, obj.native[k]), native[k], k);
                }
                assert.equal(obj.native.deviceId, native.deviceId);

                // js-controller restarts the instance for the new tokens: it connects to the paired cloud.
                await iob.waitForState('hmip.0.info.connection', s => s.val === true && s.ts >= t0, { timeoutMs: 60000 });
            }));
        });
    }
});
