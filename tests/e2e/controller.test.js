'use strict';
// The harness in tests/e2e/iob against a real js-controller 7.2.3: a root with its own
// jsonl databases, one on Debian's redis-server, and a local stand-in adapter installed,
// started and stopped as an instance. The first run installs js-controller into the cache
// (about a minute); later runs start from the cache.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { prepareInstall, createRoot, startRedis, RespClient, isListening, waitFor } = require('./iob');

const INSTALL_TIMEOUT = 10 * 60000; // a cold cache on a fresh CI machine
const TEST_TIMEOUT = 3 * 60000;

/** Checks a started root: host alive, both database ports answer lowercase commands through resp.js. */
async function checkAlive(root) {
    const states = await RespClient.connect(root.ports.states);
    try {
        const alive = JSON.parse(await states.get(`io.${root.hostId}.alive`));
        assert.equal(alive.val, true, `${root.hostId}.alive`);
        assert.equal(alive.ack, true);
        assert.equal(alive.from, root.hostId);
    } finally {
        states.close();
    }
    const objects = await RespClient.connect(root.ports.objects);
    try {
        const host = JSON.parse(await objects.get(`cfg.o.${root.hostId}`));
        assert.equal(host.type, 'host');
        assert.equal(host.common.installedVersion, '7.2.3');
        const config = JSON.parse(await objects.get('cfg.o.system.config'));
        assert.equal(config.common.diag, 'none', 'no statistics are sent from a test root');
        assert.match(config.native.secret, /^[0-9a-f]{48}$/);
    } finally {
        objects.close();
    }
}

async function checkStops(root, ports) {
    await root.stop();
    assert.equal(root.running, false);
    for (const port of ports) assert.equal(await isListening(port), false, `port ${port} closed after stop`);
    assert.match(root.logs({ sinceStart: true }), /terminated/);
}

/** A minimal adapter package: a Node main.js that stays up until it is told to go. */
function writeStubAdapter(dir) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
        name: 'iobroker.e2estub', version: '0.0.1', description: 'e2e stand-in adapter', main: 'main.js', license: 'MIT',
    }, null, 2));
    fs.writeFileSync(path.join(dir, 'io-package.json'), JSON.stringify({
        common: {
            name: 'e2estub', version: '0.0.1', title: 'e2e stub', titleLang: { en: 'e2e stub' },
            desc: { en: 'e2e stand-in adapter' }, platform: 'Javascript/Node.js', mode: 'daemon',
            type: 'utility', license: 'MIT', loglevel: 'info', enabled: true, compact: false,
            connectionType: 'local', dataSource: 'push', tier: 3,
        },
        native: { greeting: 'hello' },
        encryptedNative: ['secretThing'],
        protectedNative: ['secretThing'],
        objects: [],
        instanceObjects: [],
    }, null, 2));
    // stdout of an instance is discarded, stderr lines go to the controller log.
    fs.writeFileSync(path.join(dir, 'main.js'), [
        "'use strict';",
        "process.stderr.write(`e2estub running as pid ${process.pid} with ${process.argv.slice(2).join(' ')}\\n`);",
        'const keep = setInterval(() => {}, 1000);',
        "for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { clearInterval(keep); process.exit(0); });",
        "process.on('disconnect', () => process.exit(0));",
        '',
    ].join('\n'));
}

function pidAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

describe('js-controller 7.2.3 run by the harness', () => {
    before(async () => {
        await prepareInstall({ withAdmin: false });
    }, { timeout: INSTALL_TIMEOUT });

    test('jsonl databases: the controller starts, its host is alive, the states port answers, it stops', { timeout: TEST_TIMEOUT }, async () => {
        const root = await createRoot({ dbType: 'jsonl' });
        try {
            assert.ok(fs.existsSync(path.join(root.root, 'iobroker-data', 'iobroker.json')));
            for (const p of [root.ports.states, root.ports.objects]) assert.notEqual(p, 9000, 'a free port, not the default');
            await root.start({ timeoutMs: 60000 });
            await checkAlive(root);
            // The jsonl simulator refuses uppercase command names, which is why resp.js lowercases.
            const raw = await RespClient.connect(root.ports.states);
            try {
                await assert.rejects(raw.callExact('GET', `io.${root.hostId}.alive`), /NOT SUPPORTED/);
                assert.ok(await raw.get(`io.${root.hostId}.alive`));
            } finally {
                raw.close();
            }
            // The iob CLI of the root talks to this controller.
            assert.match(await root.iob('object', 'get', 'system.config'), /"_id":\s*"system.config"/);
            await checkStops(root, [root.ports.states, root.ports.objects]);
        } finally {
            await root.dispose();
        }
        assert.equal(fs.existsSync(root.root), false, 'dispose deletes the root');
    });

    test('Debian redis-server as both databases: the controller starts, its host is alive, it stops', { timeout: TEST_TIMEOUT }, async () => {
        const redis = await startRedis();
        let root;
        try {
            root = await createRoot({ dbType: 'redis', redisPort: redis.port });
            assert.equal(root.ports.states, redis.port);
            await root.start({ timeoutMs: 60000 });
            await checkAlive(root);
            // It really is Redis: the keys of both databases side by side, and `ping`.
            const c = await RespClient.connect(redis.port);
            try {
                assert.equal(await c.call('ping'), 'PONG');
                assert.ok((await c.keys(`io.${root.hostId}.*`)).length > 5, 'host states in redis');
                assert.equal(await c.call('exists', 'cfg.o.system.config'), 1);
            } finally {
                c.close();
            }
            await checkStops(root, []);
            assert.equal(await isListening(redis.port), true, 'redis outlives the controller');
        } finally {
            if (root) await root.dispose();
            await redis.stop();
        }
        assert.equal(await isListening(redis.port), false, 'redis stopped');
    });

    test('a local adapter: addLocalAdapter, iob start/stop of its instance, setNative', { timeout: TEST_TIMEOUT }, async () => {
        const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-e2e-stub-'));
        writeStubAdapter(pkg);
        const root = await createRoot({ dbType: 'jsonl' });
        try {
            await root.start();
            assert.equal(await root.addLocalAdapter(pkg, { enabled: false }), 'e2estub');
            assert.ok(fs.existsSync(path.join(root.root, 'node_modules', 'iobroker.e2estub', 'main.js')));
            const id = 'system.adapter.e2estub.0';
            let obj = await root.getObject(id);
            assert.ok(obj, `${id} exists`);
            assert.equal(obj.type, 'instance');
            assert.equal(obj.common.enabled, false);
            assert.equal(obj.common.host, root.hostname);
            assert.equal(obj.native.greeting, 'hello');

            // Config as admin would save it: plain and encrypted fields.
            await root.setNative('e2estub.0', { greeting: 'hi', secretThing: 's3cret' });
            obj = await root.getObject(id);
            assert.equal(obj.native.greeting, 'hi');
            assert.match(obj.native.secretThing, /^\$\/aes-192-cbc:[0-9a-f]{32}:[0-9a-f]+$/);
            const { decryptValue } = require('./iob');
            assert.equal(decryptValue(await root.secret(), obj.native.secretThing), 's3cret');

            await root.iob('start', 'e2estub.0');
            assert.equal((await root.getObject(id)).common.enabled, true);
            // `instance system.adapter.e2estub.0 in version "0.0.1" started with pid 1234`
            const started = await root.waitForLog(/instance system\.adapter\.e2estub\.0 .*started with pid \d+/);
            const pid = Number(/pid (\d+)/.exec(started)[1]);
            assert.ok(pidAlive(pid), `instance process ${pid} runs`);

            await root.iob('stop', 'e2estub.0');
            assert.equal((await root.getObject(id)).common.enabled, false);
            await root.waitForLog(/instance system\.adapter\.e2estub\.0 terminated/);
            await waitFor(() => !pidAlive(pid), { timeoutMs: 10000, what: `instance process ${pid} to end` });
            // The controller forked main.js with --instance 0; it logs an instance's stderr
            // (as errors, "Caught by controller") only once the instance has ended.
            assert.match(root.logs({ sinceStart: true }), new RegExp(`e2estub running as pid ${pid} with --instance 0 --loglevel info`));
        } finally {
            await root.dispose();
            fs.rmSync(pkg, { recursive: true, force: true });
        }
    });
});
