'use strict';
// A throwaway Debian `redis-server` on a free port of 127.0.0.1, in memory only (no RDB
// snapshots, no AOF), for ioBroker's databases in the "real Redis" setup.
//
//   const redis = await startRedis();          // { port, host, dir, stop(), logs() }
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
    const out = fs.openSync(logFile, 'a');
    const child = spawn(bin, [
        '--bind', '127.0.0.1', '--port', String(port), '--protected-mode', 'yes',
        '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no',
    ], { stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    liveGroups.add(child.pid);
    let exited = false;
    child.once('exit', () => { exited = true; liveGroups.delete(child.pid); });

    const logs = () => fs.readFileSync(logFile, 'utf8');
    try {
        await waitFor(async () => {
            if (exited) throw new Error(`redis-server exited: ${logs().slice(-2000)}`);
            const c = await RespClient.connect(port, '127.0.0.1', 1000);
            try {
                return (await c.call('ping')) === 'PONG';
            } finally {
                c.close();
            }
        }, { timeoutMs, intervalMs: 100, what: `redis-server on 127.0.0.1:${port}` });
    } catch (err) {
        killGroup(child.pid, 'SIGKILL');
        throw new Error(`${err.message}\n--- redis log\n${logs().slice(-2000)}`);
    }

    return {
        port,
        host: '127.0.0.1',
        dir,
        pid: child.pid,
        logs,
        /** Stops redis (SIGTERM, SIGKILL after timeoutMs) and removes its directory. */
        async stop({ timeoutMs: stopMs = 5000 } = {}) {
            if (!exited) {
                killGroup(child.pid, 'SIGTERM');
                if (!(await waitExit(child, stopMs))) {
                    killGroup(child.pid, 'SIGKILL');
                    await waitExit(child, 5000);
                }
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

module.exports = { startRedis };
