'use strict';
// Startup of hmip.0 as a real js-controller 7.2.3 instance on its jsonl databases, measured.
// Not a test (no *.test.js: tests/e2e/run does not pick it up); run it with
// `tests/e2e/bench-startup` (builds the release binary) or
//
//   HMIP_BIN=target/release/iobroker-hmip node tests/e2e/bench-startup.js [--runs 5]
//
// Each run uses a fresh ioBroker root (tests/e2e/iob: js-controller 7.2.3 from the cache,
// jsonl databases on free ports), installs the adapter as tools/install-into-iobroker lays
// it out, configures hmip.0 for a simulator serving tests/fixtures/home.json (one simulator
// for all runs), and then:
//   cold: enables hmip.0 (common.enabled = true in the objects database, as `iob start`
//         does) with none of its objects in the database yet, until info.connection is
//         true, and checks that the whole tree (the ids of `iobroker-hmip tree`) is there;
//   warm: disables it (the binary ends), enables it again, with the tree in place.
// Times come from the clocks of the processes involved: the enable is stamped here,
// js-controller's spawn of main.js and main.js's spawn of the binary from /proc (10 ms
// resolution), the connection from the ts of the info.connection state the adapter writes.
// Prints each run, then median, min and max, the object count and the memory of the
// binary and of its Node launcher 1 s after connecting, and the CPU time the binary and
// js-controller (whose process serves the jsonl databases) spent until the connection.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const {
    JSC_VERSION, prepareInstall, createRoot, waitFor, sleep, installHmip, startSim, binaryPids, HMIP_ROOT,
    procStat, pidAlive, parentPid, SIM_SGTIN: SGTIN, SIM_TOKEN,
} = require('./iob');
const {
    INSTANCE, countKeys, missingObjects, setEnabled, watchConnection, stats,
} = require('./iob/bench');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');

function parseArgs() {
    const args = process.argv.slice(2);
    const opts = { runs: 5 };
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '--runs') opts.runs = Math.max(1, Number(args[++i]) || 0);
        else if (args[i] === '-h' || args[i] === '--help') {
            console.log('usage: node tests/e2e/bench-startup.js [--runs 5]   (HMIP_BIN: the binary)');
            process.exit(0);
        } else throw new Error(`unknown argument ${args[i]}`);
    }
    return opts;
}

// ---------------------------------------------------------------------------------------
// Processes: their start in wall-clock ms, their memory.

const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** When a process started, in epoch ms (from its start time in ticks after boot). */
function startedAt(pid) {
    const ticks = Number(procStat(pid)[19]); // field 22
    const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Date.now() - (uptime - ticks / HZ) * 1000;
}

/** utime + stime of a process, in ms. */
function cpuMs(pid) {
    const f = procStat(pid);
    return ((Number(f[11]) + Number(f[12])) / HZ) * 1000; // fields 14, 15
}

/** A process's resident size, or one part of it (`RssAnon`: its heap and stacks; `RssFile`:
 * the pages of its binary and libraries it has mapped), in MiB. */
function rssMiB(pid, field = 'VmRSS') {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
}

/** The running hmip binary of a root, or null. */
function binaryPid(iob) {
    return binaryPids(iob).find(pidAlive) || null;
}

// ---------------------------------------------------------------------------------------
// The simulator, the tree.

function treeIds() {
    const json = execFileSync(BIN, ['tree', '--fixture', FIXTURE], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
    // io-package's instanceObjects add info.pairing (instance mode only).
    return new Set([...Object.keys(JSON.parse(json)), 'hmip.0.info.pairing']);
}

// ---------------------------------------------------------------------------------------
// One start: enable, wait for info.connection true (as the adapter stamped it).

async function measureStart(iob, conn, ids) {
    const controller = iob.child.pid; // node controller.js, which also serves the jsonl databases
    const controllerCpu0 = cpuMs(controller);
    const enabledAt = await setEnabled(iob, true);
    const state = await conn.wait(true, enabledAt);
    const connectedAt = state.ts;
    const controllerCpu = cpuMs(controller) - controllerCpu0;
    const bin = await waitFor(() => binaryPid(iob), { timeoutMs: 10000, intervalMs: 20, what: 'the binary' });
    const binaryCpu = cpuMs(bin);
    const launcher = parentPid(bin);
    const launcherAt = startedAt(launcher);
    const binaryAt = startedAt(bin);
    const missing = await missingObjects(iob, ids);
    let completeAt = connectedAt;
    if (missing > 0) {
        await waitFor(async () => (await missingObjects(iob, ids)) === 0, { timeoutMs: 60000, intervalMs: 20, what: 'the whole tree' });
        completeAt = Date.now();
    }
    await sleep(Math.max(0, connectedAt + 1000 - Date.now()));
    return {
        enableToConnected: connectedAt - enabledAt,
        enableToLauncher: launcherAt - enabledAt,
        launcherToBinary: binaryAt - launcherAt,
        binaryToConnected: connectedAt - binaryAt,
        missingAtConnected: missing,
        enableToComplete: completeAt - enabledAt,
        objects: await countKeys(iob, 'objects', 'cfg.o.hmip.0.*'),
        states: await countKeys(iob, 'states', 'io.hmip.0.*'),
        binaryCpu,
        controllerCpu,
        rssBinary: rssMiB(bin),
        rssBinaryAnon: rssMiB(bin, 'RssAnon'),
        rssBinaryFile: rssMiB(bin, 'RssFile'),
        rssLauncher: rssMiB(launcher),
        bin,
    };
}

async function stopInstance(iob, conn, bin) {
    const at = await setEnabled(iob, false);
    await conn.wait(false, at, 30000);
    await waitFor(() => !pidAlive(bin), { timeoutMs: 30000, intervalMs: 20, what: 'the binary to end' });
}

async function oneRun(n, sim, ids) {
    const iob = await createRoot({ dbType: 'jsonl', ...HMIP_ROOT });
    let conn;
    try {
        await iob.start();
        await installHmip(iob, BIN);
        await iob.setNative('hmip.0', { accessPointSgtin: SGTIN, authToken: SIM_TOKEN, lookupUrl: sim.lookupUrl });
        conn = await watchConnection(iob);
        const cold = await measureStart(iob, conn, ids);
        await stopInstance(iob, conn, cold.bin);
        const warm = await measureStart(iob, conn, ids);
        await stopInstance(iob, conn, warm.bin);
        return { cold, warm };
    } catch (err) {
        const tail = iob.logs().split('\n').filter(l => l.trim()).slice(-30).join('\n');
        err.message += `\n--- run ${n}: ${iob.root}/log, last 30 lines\n${tail}`;
        throw err;
    } finally {
        if (conn) conn.close();
        await iob.dispose();
    }
}

// ---------------------------------------------------------------------------------------

const fmtMs = v => `${Math.round(v)} ms`;
const fmtMiB = v => `${v.toFixed(1)} MiB`;

async function main() {
    const opts = parseArgs();
    if (!fs.existsSync(BIN)) throw new Error(`no binary at ${BIN} (cargo build --release, or set HMIP_BIN)`);
    const profile = /\/release\//.test(BIN) ? 'release' : /\/debug\//.test(BIN) ? 'debug (unoptimised)' : 'unknown build';
    await prepareInstall(HMIP_ROOT);
    const ids = treeIds();
    const sim = await startSim(BIN, ['--fixture', FIXTURE]);
    console.log(`## hmip.0 startup on js-controller ${JSC_VERSION}, jsonl databases\n`);
    console.log(`- binary: ${BIN} (${profile})`);
    console.log(`- home: tests/fixtures/home.json (150 devices); the tree: ${ids.size} objects under hmip.0`);
    console.log(`- ${opts.runs} runs, each on a fresh root: cold start (no hmip.0 objects yet), then a warm restart\n`);
    const runs = [];
    try {
        for (let i = 1; i <= opts.runs; i++) {
            const r = await oneRun(i, sim, ids);
            runs.push(r);
            const line = (k, x) => `${k}: enable → connected ${fmtMs(x.enableToConnected)} ` +
                `(enable → main.js ${fmtMs(x.enableToLauncher)}, main.js → binary ${fmtMs(x.launcherToBinary)}, ` +
                `binary → connected ${fmtMs(x.binaryToConnected)}; tree ${x.missingAtConnected ? `complete after ${fmtMs(x.enableToComplete)}` : 'complete'}), ` +
                `CPU until connected: binary ${fmtMs(x.binaryCpu)}, js-controller ${fmtMs(x.controllerCpu)}; ` +
                `${x.objects} objects, ${x.states} states, RSS binary ${fmtMiB(x.rssBinary)} ` +
                `(anonymous ${fmtMiB(x.rssBinaryAnon)}, file ${fmtMiB(x.rssBinaryFile)}) + main.js ${fmtMiB(x.rssLauncher)}`;
            console.log(`run ${i}/${opts.runs}\n  ${line('cold', r.cold)}\n  ${line('warm', r.warm)}`);
        }
    } finally {
        sim.stop();
    }
    console.log('\n| measure | median | min | max |\n|---|---|---|---|');
    const row = (name, pick, fmt = fmtMs) => {
        const s = stats(runs.map(pick));
        console.log(`| ${name} | ${fmt(s.median)} | ${fmt(s.min)} | ${fmt(s.max)} |`);
    };
    for (const kind of ['cold', 'warm']) {
        row(`${kind}: enable → info.connection true, tree complete`, r => r[kind].enableToComplete);
        row(`${kind}: enable → info.connection true`, r => r[kind].enableToConnected);
        row(`${kind}: enable → js-controller spawns main.js`, r => r[kind].enableToLauncher);
        row(`${kind}: main.js → binary spawned`, r => r[kind].launcherToBinary);
        row(`${kind}: binary spawned → info.connection true`, r => r[kind].binaryToConnected);
        row(`${kind}: CPU of the binary until connected`, r => r[kind].binaryCpu);
        row(`${kind}: CPU of js-controller (and its jsonl databases) meanwhile`, r => r[kind].controllerCpu);
        row(`${kind}: RSS of the binary 1 s after connected`, r => r[kind].rssBinary, fmtMiB);
        row(`${kind}: … of it anonymous (heap, stacks)`, r => r[kind].rssBinaryAnon, fmtMiB);
        row(`${kind}: … of it file-backed (binary, libraries)`, r => r[kind].rssBinaryFile, fmtMiB);
        row(`${kind}: RSS of main.js (Node launcher)`, r => r[kind].rssLauncher, fmtMiB);
    }
    const objects = stats(runs.map(r => r.cold.objects));
    const states = stats(runs.map(r => r.cold.states));
    console.log(`\nobjects under hmip.0: ${objects.median} (tree ${ids.size}); states: ${states.median}`);
}

main().then(() => process.exit(0), err => {
    console.error(`bench-startup: ${err.stack || err.message}`);
    process.exit(1);
});
