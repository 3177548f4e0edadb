'use strict';
// store::redis against a real Redis: Debian's redis-server, started here on a free port on
// 127.0.0.1 with the ioBroker meta keys js-controller would have set, and supervised: when
// it exits it is started again a second later (empty, as `--save ""` makes it) and the keys
// are set again. The checks themselves are the Rust test `real_redis` in
// tests/redis_store.rs (ignored by `cargo test`), run here with HMIP_TEST_REDIS_PORT; it
// writes, reads and subscribes, then shuts Redis down once, writes meanwhile and shows that
// those writes arrive and subscriptions work after the restart.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const META = [
    ['meta.states.protocolVersion', '4'],
    ['meta.objects.protocolVersion', '4'],
    ['meta.objects.features.useSets', '1'],
];

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

/** One command on a fresh connection; resolves with the raw reply (simple replies only). */
function command(port, args) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        let reply = '';
        sock.on('error', reject);
        sock.on('data', d => {
            reply += d;
            if (reply.endsWith('\r\n')) {
                sock.end();
                resolve(reply);
            }
        });
        const parts = args.map(a => `$${Buffer.byteLength(a)}\r\n${a}\r\n`);
        sock.write(`*${args.length}\r\n${parts.join('')}`);
    });
}

async function waitListening(port, ms = 10000) {
    const deadline = Date.now() + ms;
    for (;;) {
        try {
            await command(port, ['get', 'x']);
            return;
        } catch (e) {
            if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}: ${e.message}`);
            await new Promise(r => setTimeout(r, 50));
        }
    }
}

async function seed(port) {
    for (const [key, value] of META) {
        const reply = await command(port, ['set', key, value]);
        assert.equal(reply, '+OK\r\n', `set ${key}`);
    }
}

/** redis-server, started again (after a second) whenever it exits until stop(). */
class Redis {
    constructor(port, dir) {
        this.port = port;
        this.dir = dir;
        this.restarts = 0;
        this.stopping = false;
        this.log = fs.openSync(path.join(dir, 'redis.log'), 'a');
    }

    async start() {
        this.proc = spawn('redis-server', [
            '--bind', '127.0.0.1', '--port', String(this.port),
            '--save', '', '--appendonly', 'no', '--dir', this.dir,
        ], { stdio: ['ignore', this.log, this.log] });
        this.proc.on('exit', () => {
            if (this.stopping) return;
            this.restarts += 1;
            setTimeout(() => {
                this.start().catch(e => { this.failure = e; });
            }, 1000);
        });
        await waitListening(this.port);
        await seed(this.port);
    }

    stop() {
        this.stopping = true;
        if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGTERM');
    }
}

function run(cmd, args, env) {
    return new Promise(resolve => {
        const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', d => { out += d; });
        child.stderr.on('data', d => { out += d; });
        child.on('close', code => resolve({ code, out }));
    });
}

let redis;
let dir;

before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-redis-'));
    redis = new Redis(await freePort(), dir);
    await redis.start();
});

after(() => {
    if (redis) redis.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('store::redis against a real redis-server, across a restart', { timeout: 15 * 60 * 1000 }, async () => {
    const env = { ...process.env, HMIP_TEST_REDIS_PORT: String(redis.port), RUST_LOG: 'iobroker_hmip=info' };
    const { code, out } = await run('cargo', [
        'test', '--quiet', '--test', 'redis_store', '--',
        '--ignored', '--exact', 'real_redis', '--nocapture',
    ], env);
    assert.equal(code, 0, `cargo test real_redis failed:\n${out}`);
    assert.match(out, /real redis: all checks passed/);
    assert.match(out, /test result: ok\. 1 passed/);
    assert.equal(redis.failure, undefined, `restarting redis-server failed: ${redis.failure}`);
    assert.equal(redis.restarts, 1, 'the test shut redis-server down exactly once');
});
