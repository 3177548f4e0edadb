'use strict';
// Small helpers shared by the harness: free ports, waiting, child processes.

const fs = require('node:fs');
const net = require('node:net');
const { spawn } = require('node:child_process');

/**
 * `count` distinct free TCP ports on 127.0.0.1: all are held open until every one is
 * found, so the same port is never handed out twice in one call.
 */
async function freePorts(count) {
    const servers = [];
    try {
        for (let i = 0; i < count; i++) {
            const server = net.createServer();
            await new Promise((resolve, reject) => {
                server.once('error', reject);
                server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, resolve);
            });
            servers.push(server);
        }
        return servers.map(s => s.address().port);
    } finally {
        await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))));
    }
}

async function freePort() {
    return (await freePorts(1))[0];
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/**
 * Polls fn until it returns a truthy value (which is returned); fn may be async and may
 * throw (counts as not yet). Rejects after timeoutMs with `what` and the last error.
 */
async function waitFor(fn, { timeoutMs = 30000, intervalMs = 250, what = 'condition' } = {}) {
    const deadline = Date.now() + timeoutMs;
    let lastError;
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
        } catch (err) {
            lastError = err;
        }
        if (Date.now() >= deadline) {
            const why = lastError ? ` (last error: ${lastError.message})` : '';
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
        }
        await sleep(intervalMs);
    }
}

/** Can something connect to 127.0.0.1:port right now? */
function isListening(port, host = '127.0.0.1') {
    return new Promise(resolve => {
        const s = net.connect({ port, host });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
    });
}

/**
 * Runs a command to completion: resolves {stdout, stderr, code}; rejects when it exits
 * non-zero (unless allowFail) or runs longer than timeoutMs, with the output in the message.
 */
function run(cmd, args, { cwd, env, timeoutMs = 300000, allowFail = false } = {}) {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd, env: env || process.env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', d => (stdout += d));
        child.stderr.on('data', d => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('error', err => { clearTimeout(timer); reject(err); });
        child.once('close', (code, signal) => {
            clearTimeout(timer);
            const result = { stdout, stderr, code };
            if ((code === 0 || allowFail) && !signal) return resolve(result);
            const how = signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, timeout ${timeoutMs} ms?` : ''})` : `exited with ${code}`;
            const err = new Error(`${cmd} ${args.join(' ')} ${how}\n--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}`);
            Object.assign(err, result);
            reject(err);
        });
    });
}

/** Resolves true once the child has exited, false if it is still running after ms. */
function waitExit(child, ms) {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
    return new Promise(resolve => {
        const timer = setTimeout(() => { child.off('exit', onExit); resolve(false); }, ms);
        function onExit() { clearTimeout(timer); resolve(true); }
        child.once('exit', onExit);
    });
}

/** The fields of /proc/PID/stat after the command name: [0] is the state (field 3). */
function procStat(pid) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Whether a process runs; a zombie (exited, not yet reaped) counts as gone. */
function pidAlive(pid) {
    try {
        return procStat(pid)[0] !== 'Z';
    } catch {
        return false;
    }
}

function parentPid(pid) {
    return Number(procStat(pid)[1]);
}

/** pid and every process below it (children, their children, ...), from /proc. */
function processTree(pid) {
    const children = new Map();
    for (const name of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
            const ppid = parentPid(Number(name));
            if (!children.has(ppid)) children.set(ppid, []);
            children.get(ppid).push(Number(name));
        } catch { /* ended meanwhile */ }
    }
    const tree = [];
    for (const queue = [pid]; queue.length;) {
        const p = queue.shift();
        tree.push(p);
        queue.push(...(children.get(p) || []));
    }
    return tree;
}

/** Resident memory of a process (VmRSS), in MiB; 0 for one that has ended. */
function rssMiB(pid) {
    try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) / 1024 : 0;
    } catch {
        return 0;
    }
}

/** Sends a signal to a whole process group (a detached child and what it started); ignores "no such process". */
function killGroup(pid, signal) {
    try {
        process.kill(-pid, signal);
    } catch (err) {
        if (err.code !== 'ESRCH') throw err;
    }
}

// Children started detached (own process group) are killed with their group when the test
// process exits without having stopped them, so no controller or redis outlives a test run.
const liveGroups = new Set();
process.once('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
});

module.exports = {
    freePorts, freePort, sleep, waitFor, isListening, run, waitExit, killGroup, liveGroups,
    procStat, pidAlive, parentPid, processTree, rssMiB,
};
