'use strict';
// A throwaway Debian `redis-server` on a free port of 127.0.0.1, in memory only (no RDB
// snapshots, no AOF), for ioBroker's databases in the "real Redis" setup.
//
//   const redis = await startRedis();          // { port, host, dir, pid, running, stop(), restart(), logs() }
//   ...; await redis.stop();

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { freePort, waitFor, waitExit, killGroup, liveGroups } = require('./util');
const { RespClient } = require('./resp');

const REDIS_BIN = process.env.HMIP_E2E_REDIS_SERVER || 'redis-server';

/** Starts redis-server; options: port (default: a free one), bin. Fails clearly when it is not installed. */
async function startRedis({ port, bin = REDIS_BIN, timeoutMs = 15000 } = {}) {
    const which = spawnSync('sh', ['-c', `command -v ${bin}`]);
    if (which.status !== 0) {
        throw new Error(`${bin} not found: install Debian's redis-server (tests/e2e/run does so with apt-get)`);
    }
    port = port || (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-e2e-redis-'));
    const logFile = path.join(dir, 'redis.log');
    const logs = () => fs.readFileSync(logFile, 'utf8');
    let child = null;
    let exited = true;

    // Starts redis-server on port with dir as its working directory (a dump.rdb there, written
    // by restart(), is loaded) and waits until it answers PING.
    async function launch() {
        const out = fs.openSync(logFile, 'a');
        const c = spawn(bin, [
            '--bind', '127.0.0.1', '--port', String(port), '--protected-mode', 'yes',
            '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no',
        ], { stdio: ['ignore', out, out], detached: true });
        fs.closeSync(out);
        child = c;
        exited = false;
        liveGroups.add(c.pid);
        c.once('exit', () => { if (child === c) exited = true; liveGroups.delete(c.pid); });
        try {
            await waitFor(async () => {
                if (exited) throw new Error(`redis-server exited: ${logs().slice(-2000)}`);
                const rc = await RespClient.connect(port, '127.0.0.1', 1000);
                try {
                    return (await rc.call('ping')) === 'PONG';
                } finally {
                    rc.close();
                }
            }, { timeoutMs, intervalMs: 100, what: `redis-server on 127.0.0.1:${port}` });
        } catch (err) {
            killGroup(c.pid, 'SIGKILL');
            throw new Error(`${err.message}\n--- redis log\n${logs().slice(-2000)}`);
        }
    }

    async function halt(stopMs) {
        if (exited) return;
        killGroup(child.pid, 'SIGTERM');
        if (!(await waitExit(child, stopMs))) {
            killGroup(child.pid, 'SIGKILL');
            await waitExit(child, 5000);
        }
    }

    try {
        await launch();
    } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
    }

    const handle = {
        port,
        host: '127.0.0.1',
        dir,
        pid: child.pid,
        logs,
        get running() { return !exited; },
        /** Stops redis (SIGTERM, SIGKILL after timeoutMs) and removes its directory. */
        async stop({ timeoutMs: stopMs = 5000 } = {}) {
            await halt(stopMs);
            fs.rmSync(dir, { recursive: true, force: true });
        },
        /**
         * A real restart on the same port that keeps the data: SAVE (a dump.rdb in dir, which
         * the new server loads), stop, `whileDown()` (awaited, if given), start again. Every
         * client's connection is cut, as when Redis restarts in production.
         */
        async restart({ whileDown, timeoutMs: stopMs = 5000 } = {}) {
            const c = await RespClient.connect(port, '127.0.0.1', 2000);
            try {
                await c.call('save');
            } finally {
                c.close();
            }
            await halt(stopMs);
            if (whileDown) await whileDown();
            await launch();
            handle.pid = child.pid;
        },
    };
    return handle;
}

module.exports = { startRedis };
