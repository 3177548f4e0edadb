'use strict';
// The admin page's local choice (issue 13) in the real admin 7.8.20, driven in Debian's
// headless Chromium through playwright-core, against `iobroker-hmip sim --hcu`: a user
// opens hmip.0's settings, chooses "HCU in the local network", types the HCU's address,
// its two ports and the activation key, presses "Create token", sees "paired with the HCU"
// and saves. The instance object then holds the choice, the pinned fingerprint and the
// token encrypted (never the activation key), the page shows no token, and the instance
// connects over the HCU's Connect API alone: the simulated cloud sees no request. A key
// used a second time gets the clear error and changes nothing. A full-page screenshot is
// kept in tests/e2e/artifacts/admin-hcu.png, the page after the refused key in
// admin-hcu-used-key.png (admin-hcu-failure.png when the test fails).
//
// The browser never leaves 127.0.0.1: every other request is aborted.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { chromium } = require('playwright-core');
const { prepareInstall, createRoot, decryptValue, waitFor, installHmip } = require('./iob');

const INSTALL_TIMEOUT = 10 * 60000; // a cold cache: js-controller + admin installed once
const TEST_TIMEOUT = 4 * 60000;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
    '--no-first-run', '--disable-component-update', '--disable-sync',
];
const ARTIFACTS = path.join(__dirname, 'artifacts');
const SCREENSHOT = path.join(ARTIFACTS, 'admin-hcu.png');
const USED_KEY_SCREENSHOT = path.join(ARTIFACTS, 'admin-hcu-used-key.png');
const FAILURE_SCREENSHOT = path.join(ARTIFACTS, 'admin-hcu-failure.png');

const CLOUD_CHOICE = 'cloud (access point or HCU)';
const HCU_CHOICE = 'HCU in the local network';
const DONE = 'paired with the HCU'; // HcuPairingProgress::Done
const KEY_REFUSED = 'the HCU refused the activation key'; // HcuPairingError::KeyRefused
// The sim's token that works without pairing (sim::DEFAULT_HCU_AUTH_TOKEN): pairing must make a new one.
const SIM_DEFAULT_HCU_TOKEN = '5E1F0C0DE0000000000000000000000000000000000000000000000000000001';

/**
 * `iobroker-hmip sim --hcu` on free loopback ports; resolves, once it has printed them,
 * with the cloud's URL, the HCU's two addresses, the activation key and the fingerprint.
 */
function startSim(bin) {
    const child = spawn(bin, ['sim', '--hcu', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const printed = () => {
        const url = /(?:^|\s)listening on (http:\/\/\S+)/m.exec(output);
        const hcu = /hcu listening on https:\/\/(\S+) \(websocket wss:\/\/([^)\s]+)\)/.exec(output);
        const key = /hcu activation key (\S+)/.exec(output);
        const fp = /hcu certificate fingerprint (\S+)/.exec(output);
        if (!url || !hcu || !key || !fp) return null;
        return { url: url[1].replace(/\/$/, ''), auth: hcu[1], websocket: hcu[2], key: key[1], fingerprint: fp[1] };
    };
    const ready = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the simulator did not print its addresses within 15 s:\n${output}`)), 15000);
        const onData = d => {
            output += d;
            const p = printed();
            if (p) {
                clearTimeout(timer);
                resolve(p);
            }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', code => {
            clearTimeout(timer);
            reject(new Error(`the simulator exited (${code}) before it listened:\n${output}`));
        });
    });
    return {
        ready,
        output: () => output,
        stop: () => new Promise(resolve => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
                clearTimeout(kill);
                resolve();
            });
            child.kill('SIGTERM');
        }),
    };
}

/** `GET URL` of the simulator's hooks, as JSON. */
async function simGet(url) {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    assert.equal(res.status, 200, `GET ${url}: ${res.status} ${text}`);
    return JSON.parse(text);
}

/** Values of many keys of a database (RESP `mget`, in slices). */
async function mget(client, keys) {
    const out = [];
    for (let i = 0; i < keys.length; i += 500) out.push(...(await client.call('mget', ...keys.slice(i, i + 500))));
    return out;
}

/** The port of `HOST:PORT`. */
const portOf = addr => Number(/:(\d+)$/.exec(addr)[1]);

/** The input labelled `label` in the form (MUI links <label for> to <input id>). */
function field(page, label) {
    return page.getByLabel(label, { exact: true });
}

/** Every value and text the page renders: the HTML and the inputs' current values. */
async function renderedText(page) {
    const html = await page.content();
    const values = await page.locator('input, textarea').evaluateAll(els => els.map(e => e.value));
    return `${html}\n${values.join('\n')}`;
}

/** Where the flow stands, for a failure message: page, pairing state, stored settings. */
async function diagnose(root, page, replies) {
    const lines = [];
    const pairing = await root.getState('hmip.0.info.pairing');
    lines.push(`hmip.0.info.pairing = ${JSON.stringify(pairing && pairing.val)}`);
    const connection = await root.getState('hmip.0.info.connection');
    lines.push(`hmip.0.info.connection = ${JSON.stringify(connection && connection.val)}`);
    const obj = await root.getObject('system.adapter.hmip.0');
    const native = (obj && obj.native) || {};
    lines.push(`stored: connection ${JSON.stringify(native.connection)}, hcuHost ${JSON.stringify(native.hcuHost)}, ports ${native.hcuAuthPort}/${native.hcuWebsocketPort}, ` +
        `${['hcuAuthToken', 'hcuClientId', 'hcuFingerprint', 'hcuActivationKey'].map(k => `${k} ${native[k] ? 'set' : 'empty'}`).join(', ')}`);
    const form = [];
    for (const label of ['HCU address', 'HCU client ID', 'Certificate fingerprint (SHA-256), pinned at pairing']) {
        const f = field(page, label);
        form.push(`${label} ${(await f.count()) ? JSON.stringify(await f.inputValue({ timeout: 1000 })) : 'missing'}`);
    }
    lines.push(`form: ${form.join(', ')}`);
    lines.push(`dialogs open: ${await page.getByRole('dialog').count()}`);
    lines.push(`requestToken replies published to admin: ${replies.length}${replies.length ? ` (${replies.map(r => Object.keys(r.message || {}).join('+')).join(', ')})` : ''}`);
    return lines.join('\n');
}

describe('admin 7.8.20: the HCU in the local network, paired on the config page of hmip.0 in headless Chromium', () => {
    let root;
    let sim;
    let hcu; // what the simulator printed
    let context;
    let userDataDir;
    const replies = []; // requestToken replies published to admin
    const pairingTexts = []; // every value of hmip.0.info.pairing
    const bin = process.env.HMIP_BIN;

    before(async () => {
        assert.ok(bin, 'HMIP_BIN is not set: run these checks through tests/e2e/run, which builds the binary');
        assert.ok(fs.existsSync(bin), `HMIP_BIN=${bin} does not exist`);
        assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (tests/e2e/run does)`);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        for (const f of [SCREENSHOT, USED_KEY_SCREENSHOT, FAILURE_SCREENSHOT]) fs.rmSync(f, { force: true });
        await prepareInstall({ withAdmin: true });

        sim = startSim(bin);
        hcu = await sim.ready;

        root = await createRoot({ dbType: 'jsonl', withAdmin: true });
        await root.start(); // controller and admin.0
        // No first-run wizard; the page in English whatever the machine's locale.
        const config = await root.getObject('system.config');
        config.common.licenseConfirmed = true;
        config.common.language = 'en';
        await root.setObject('system.config', config);

        const states = await root.connect('states');
        await states.psubscribe('messagebox.system.adapter.admin.*', (pattern, channel, message) => {
            try {
                const msg = JSON.parse(message);
                if (msg.command === 'requestToken') replies.push(msg);
            } catch { /* not JSON: not ours */ }
        });
        await states.psubscribe('io.hmip.0.info.pairing', (pattern, channel, message) => {
            try {
                const s = JSON.parse(message);
                if (s && typeof s.val === 'string') pairingTexts.push(s.val);
            } catch { /* a deletion */ }
        });

        await installHmip(root, bin);
        // io-package's defaults (the cloud choice, unpaired); the cloud, were it ever asked,
        // is the simulator's, so the request counter below sees any cloud request at all.
        await root.setNative('hmip.0', { lookupUrl: `${hcu.url}/getHost` });
        await root.iob('start', 'hmip.0'); // sendTo only reaches a running instance
        await root.waitForState('system.adapter.hmip.0.alive', s => s.val === true, { timeoutMs: 30000 });

        userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-e2e-chromium-'));
        context = await chromium.launchPersistentContext(userDataDir, {
            executablePath: CHROMIUM,
            headless: true,
            args: CHROMIUM_ARGS,
            viewport: { width: 1400, height: 1200 },
            locale: 'en-US',
            serviceWorkers: 'block',
        });
        // Offline: only this machine's admin (and nothing it links to on the internet).
        await context.route(url => url.hostname !== '127.0.0.1', r => r.abort('internetdisconnected'));
    }, { timeout: INSTALL_TIMEOUT });

    after(async () => {
        if (context) await context.close().catch(() => {});
        if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
        if (root) await root.dispose();
        if (sim) await sim.stop();
    });

    test('choose the HCU, type address, ports and activation key, "Create token": paired, saved, the token encrypted and never shown, connected without the cloud; a used key is refused and changes nothing', { timeout: TEST_TIMEOUT }, async () => {
        const page = context.pages()[0] || (await context.newPage());
        const pageErrors = [];
        page.on('pageerror', e => pageErrors.push(e.message));
        try {
            await page.goto(`${root.adminUrl}/#tab-instances/config/system.adapter.hmip.0`);
            await page.getByText('Instance settings:').first().waitFor({ timeout: 30000 });
            // The cloud is the default choice: its fields, none of the HCU's.
            const choice = page.getByRole('combobox').filter({ hasText: CLOUD_CHOICE });
            await choice.waitFor({ timeout: 30000 });
            assert.equal(await page.getByRole('dialog').count(), 0, 'a dialog covers the config page');
            await field(page, 'Access point SGTIN').waitFor();
            assert.equal(await field(page, 'HCU address').count(), 0, 'no HCU field for the cloud choice');

            // The user chooses the HCU: its fields replace the cloud's.
            await choice.click();
            await page.getByRole('option', { name: HCU_CHOICE, exact: true }).click();
            const host = field(page, 'HCU address');
            await host.waitFor({ timeout: 15000 });
            await field(page, 'Access point SGTIN').waitFor({ state: 'detached', timeout: 15000 });
            for (const label of ['PIN', 'Auth token', 'Client auth token', 'Lookup URL']) {
                assert.equal(await field(page, label).count(), 0, `"${label}" hidden for the HCU choice`);
            }
            assert.equal(await host.getAttribute('placeholder'), 'hcu1-XXXX.local');
            assert.equal(await field(page, 'HCU pairing port').inputValue(), '6969', 'the default pairing port');
            assert.equal(await field(page, 'HCU websocket port').inputValue(), '9001', 'the default websocket port');
            assert.equal(await field(page, 'Activation key').getAttribute('type'), 'password');

            await host.fill('127.0.0.1');
            await field(page, 'HCU pairing port').fill(String(portOf(hcu.auth)));
            await field(page, 'HCU websocket port').fill(String(portOf(hcu.websocket)));
            await field(page, 'Activation key').fill(hcu.key);
            const createToken = page.getByRole('button', { name: 'Create token', exact: true });
            assert.equal(await createToken.count(), 1, 'one "Create token" button: the HCU\'s');
            await createToken.click();

            // The progress is the `state` component showing hmip.0.info.pairing.
            await page.getByText(DONE, { exact: true }).waitFor({ state: 'visible', timeout: 60000 });
            assert.equal((await root.getState('hmip.0.info.pairing')).val, DONE);
            // One step named the certificate's fingerprint, the one the simulator serves.
            assert.ok(pairingTexts.some(t => t.includes(hcu.fingerprint) && /SHA-256/.test(t)),
                `a progress text names the fingerprint ${hcu.fingerprint}: ${JSON.stringify(pairingTexts)}`);
            await waitFor(() => replies.length, { timeoutMs: 15000, what: 'the reply to requestToken published to admin' });
            assert.equal(replies.length, 1, 'one reply to requestToken');
            assert.equal(replies[0].message.saveConfig, true);
            assert.equal(replies[0].message.native.connection, 'hcu');

            // The form shows the client id and the fingerprint.
            const fingerprintField = field(page, 'Certificate fingerprint (SHA-256), pinned at pairing');
            await waitFor(async () => (await fingerprintField.inputValue()) === hcu.fingerprint,
                { timeoutMs: 15000, what: 'the fingerprint in the form' });
            const clientId = await field(page, 'HCU client ID').inputValue();
            assert.ok(clientId, 'the client id in the form');

            // saveConfig: true → admin asks "Save configuration?"; the user saves.
            const confirm = page.getByRole('dialog').filter({ hasText: 'Save configuration?' });
            await confirm.waitFor({ state: 'visible', timeout: 15000 });
            await confirm.getByRole('button', { name: 'Save', exact: true }).click();
            await confirm.waitFor({ state: 'hidden', timeout: 15000 });

            // Stored in the instance object: the choice, the address and typed ports, the
            // pinned fingerprint, the token encrypted; the activation key not at all.
            const secret = await root.secret();
            await waitFor(async () => {
                const native = (await root.getObject('system.adapter.hmip.0')).native;
                return Number(native.hcuWebsocketPort) === portOf(hcu.websocket);
            }, { timeoutMs: 15000, what: "admin's save of the config (the typed websocket port stored)" });
            const native = (await root.getObject('system.adapter.hmip.0')).native;
            assert.equal(native.connection, 'hcu');
            assert.equal(native.hcuHost, '127.0.0.1');
            assert.equal(Number(native.hcuAuthPort), portOf(hcu.auth));
            assert.equal(native.hcuFingerprint, hcu.fingerprint);
            assert.equal(native.hcuClientId, clientId);
            assert.match(native.hcuAuthToken, /^\$\/aes-192-cbc:/, 'hcuAuthToken stored encrypted');
            const token = decryptValue(secret, native.hcuAuthToken);
            assert.match(token, /^[0-9A-F]{64}$/i, 'a Connect API token');
            assert.notEqual(token.toUpperCase(), SIM_DEFAULT_HCU_TOKEN, 'a new token from the pairing');
            assert.ok(!native.hcuActivationKey, `no activation key stored: ${JSON.stringify(native.hcuActivationKey)}`);
            assert.ok(!JSON.stringify(native).includes(hcu.key), 'the activation key is nowhere in the instance object');

            // The page shows no token (neither the HCU's nor any field for it).
            assert.ok(!(await renderedText(page)).toUpperCase().includes(token.toUpperCase()), 'the token is not on the page');

            // The instance, restarted with the saved settings, connects over the HCU's
            // Connect API: connected, the home's states written, and not one cloud request.
            await root.waitForState('hmip.0.info.connection', s => s.val === true && s.ack === true, { timeoutMs: 60000 });
            const stats = await simGet(`${hcu.url}/sim/stats`);
            assert.equal(stats.requests, 0, `no request reached the simulated cloud: ${JSON.stringify(stats)}`);
            assert.equal(stats.upgrades, 0, `no websocket upgrade at the simulated cloud: ${JSON.stringify(stats)}`);
            assert.ok(stats.hcu && stats.hcu.requests > 0, `the HCU's websocket served requests: ${JSON.stringify(stats.hcu)}`);

            const home = await simGet(`${hcu.url}/sim/home`);
            const devices = Object.values(home.devices || {});
            assert.ok(devices.length > 0, 'the simulated home has devices');
            const objects = await root.connect('objects');
            const states = await root.connect('states');
            // Every device of the simulated home as a device object…
            const deviceIds = devices.map(d => `cfg.o.hmip.0.devices.${d.id}`);
            await waitFor(async () => (await mget(objects, deviceIds)).every(Boolean),
                { timeoutMs: 30000, what: "a device object for every device of the simulated home" });
            // …and every field of its channel 0 that is a state with its value, acked, from the instance.
            const candidates = devices.flatMap(d => Object.keys((d.functionalChannels || {})['0'] || {})
                .map(f => `hmip.0.devices.${d.id}.channels.0.${f}`));
            const found = await mget(objects, candidates.map(id => `cfg.o.${id}`));
            const ids = candidates.filter((id, i) => found[i] && JSON.parse(found[i]).type === 'state');
            assert.ok(ids.length >= devices.length, `${ids.length} channel-0 states for ${devices.length} devices`);
            const noValue = async () => {
                const values = await mget(states, ids.map(id => `io.${id}`));
                return ids.filter((id, i) => {
                    const st = values[i] && JSON.parse(values[i]);
                    return !st || !('val' in st) || st.ack !== true || st.from !== 'system.adapter.hmip.0';
                });
            };
            await waitFor(async () => (await noValue()).length === 0,
                { timeoutMs: 30000, what: "a value for every channel-0 state of the simulated home's devices" }).catch(() => {});
            assert.deepEqual((await noValue()).slice(0, 10), [], 'channel-0 states without the instance\'s value');
            const after = await simGet(`${hcu.url}/sim/stats`);
            assert.deepEqual([after.requests, after.upgrades], [0, 0], 'still no cloud request');

            await page.screenshot({ path: SCREENSHOT, fullPage: true });

            // The same activation key again: the HCU refuses it; the page says so clearly and
            // the config stays as it is.
            const before = JSON.stringify((await root.getObject('system.adapter.hmip.0')).native);
            replies.length = 0;
            await field(page, 'Activation key').fill(hcu.key);
            await page.getByRole('button', { name: 'Create token', exact: true }).click();
            const refused = page.getByText(`pairing failed: ${KEY_REFUSED}`, { exact: false });
            await refused.first().waitFor({ state: 'visible', timeout: 60000 });
            await waitFor(() => replies.length, { timeoutMs: 15000, what: 'the reply to the second requestToken' });
            assert.equal(replies.length, 1);
            assert.match(replies[0].message.error, new RegExp(`^${KEY_REFUSED}.*generate a new one`), 'the reply is the clear error');
            assert.equal(replies[0].message.native, undefined, 'no settings in the reply');
            // admin shows the error in a dialog; the user closes it.
            const errorDialog = page.getByRole('dialog').filter({ hasText: KEY_REFUSED });
            await errorDialog.waitFor({ state: 'visible', timeout: 15000 });
            assert.match(await errorDialog.innerText(), /generate a new one in HCUweb's developer mode/);
            assert.equal(await page.getByRole('dialog').filter({ hasText: 'Save configuration?' }).count(), 0, 'nothing to save');
            await errorDialog.getByRole('button', { name: 'OK' }).click();
            await errorDialog.waitFor({ state: 'hidden', timeout: 15000 });
            await page.screenshot({ path: USED_KEY_SCREENSHOT, fullPage: true });
            assert.equal(JSON.stringify((await root.getObject('system.adapter.hmip.0')).native), before, 'the config unchanged');
            assert.equal((await root.getState('hmip.0.info.connection')).val, true, 'still connected');

            // No token and no activation key in the controller's log.
            const log = root.logs({ sinceStart: true });
            assert.ok(!log.includes(token), 'the token is not in the log');
            assert.ok(!new RegExp(`\\b${hcu.key}\\b`).test(log), 'the activation key is not in the log');
            assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
        } catch (err) {
            await page.screenshot({ path: FAILURE_SCREENSHOT, fullPage: true }).catch(() => {});
            const diag = await diagnose(root, page, replies).catch(e => `(diagnosis failed: ${e.message})`);
            const log = root.logs({ sinceStart: true }).split('\n').filter(l => /hmip|admin\.0/.test(l)).slice(-40).join('\n');
            throw new Error(`${err.message}\n--- screenshot: ${FAILURE_SCREENSHOT}\n--- state\n${diag}\n--- pairing texts\n${pairingTexts.join('\n')}\n--- controller log (hmip, admin)\n${log}\n--- simulator\n${sim.output().slice(-2000)}`, { cause: err });
        }
    });
});
