'use strict';
// The instance's config page in the real admin 7.8.20, driven in Debian's headless Chromium
// through playwright-core: a user opens hmip.0's settings, types the SGTIN and PIN of the
// (simulated) access point, presses "Create token", is told to press the blue button, and
// ends with the token fields filled and saved. A full-page screenshot is kept in
// tests/e2e/artifacts/admin-config.png (admin-config-failure.png when the test fails).
//
// The simulated cloud runs with `--button manual`: the test presses the blue button itself
// (POST /sim/button) once it has seen the hint on the page, so the hint cannot come and go
// unseen. The browser never leaves 127.0.0.1: every other request is aborted.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { chromium } = require('playwright-core');
const { prepareInstall, createRoot, decryptValue, waitFor, installHmip } = require('./iob');

const INSTALL_TIMEOUT = 10 * 60000; // a cold cache: js-controller + admin installed once
const TEST_TIMEOUT = 3 * 60000;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
    '--no-first-run', '--disable-component-update', '--disable-sync',
];
const ARTIFACTS = path.join(__dirname, 'artifacts');
const SCREENSHOT = path.join(ARTIFACTS, 'admin-config.png');
const FAILURE_SCREENSHOT = path.join(ARTIFACTS, 'admin-config-failure.png');

const SGTIN = '3014-F711-A000-0000-0000-0001'; // the simulator's default access point
const PIN = '1234';
const HINT = 'press the blue button on the access point'; // PairingProgress::WaitingForButton
const DONE = 'paired successfully'; // PairingProgress::Done

/** The simulated cloud (`iobroker-hmip sim`) on a free port; resolves when it listens. */
function startSim(bin) {
    const child = spawn(bin, ['sim', '--listen', '127.0.0.1:0', '--pin', PIN, '--button', 'manual'], {
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the simulator did not start within 15 s:\n${output}`)), 15000);
        const onData = d => {
            output += d;
            const m = /listening on (http:\/\/\S+)/.exec(output);
            if (m) {
                clearTimeout(timer);
                resolve(m[1]);
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
        child,
        url,
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


/** The input labelled `label` in the form (MUI links <label for> to <input id>). */
function field(page, label) {
    return page.getByLabel(label, { exact: true });
}

/** Where the flow stands, for a failure message: page, pairing state, stored tokens. */
async function diagnose(root, page, replies) {
    const lines = [];
    const pairing = await root.getState('hmip.0.info.pairing');
    lines.push(`hmip.0.info.pairing = ${JSON.stringify(pairing && pairing.val)}`);
    const obj = await root.getObject('system.adapter.hmip.0');
    const native = (obj && obj.native) || {};
    lines.push(`stored: ${['authToken', 'clientAuthToken', 'clientId', 'deviceId', 'pin'].map(k => `${k} ${native[k] ? 'set' : 'empty'}`).join(', ')}`);
    const form = [];
    for (const label of ['Access point SGTIN', 'Auth token', 'Client ID', 'Device ID']) {
        const f = field(page, label);
        form.push(`${label} ${(await f.count()) ? JSON.stringify(await f.inputValue({ timeout: 1000 })) : 'missing'}`);
    }
    lines.push(`form: ${form.join(', ')}`);
    const spinning = await page.getByRole('button', { name: 'Create token', exact: true }).getByRole('progressbar').count();
    lines.push(`"Create token" ${spinning ? 'still waiting for the reply to its sendTo' : 'not waiting'}; dialogs open: ${await page.getByRole('dialog').count()}`);
    lines.push(`requestToken replies published to admin: ${replies.length}${replies.length ? ` (${replies.map(r => Object.keys(r.message || {}).join('+')).join(', ')})` : ''}`);
    if (pairing && pairing.val === DONE && native.authToken && spinning && !replies.length) {
        lines.push('→ the adapter paired and stored the tokens, but admin never got the reply to requestToken');
    }
    return lines.join('\n');
}

describe('admin 7.8.20: the config page of hmip.0 in headless Chromium', () => {
    let root;
    let sim;
    let simUrl;
    let context;
    let userDataDir;
    const replies = []; // requestToken replies published to admin
    const bin = process.env.HMIP_BIN;

    before(async () => {
        assert.ok(bin, 'HMIP_BIN is not set: run these checks through tests/e2e/run, which builds the binary');
        assert.ok(fs.existsSync(bin), `HMIP_BIN=${bin} does not exist`);
        assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (tests/e2e/run does)`);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        for (const f of [SCREENSHOT, FAILURE_SCREENSHOT]) fs.rmSync(f, { force: true });
        await prepareInstall({ withAdmin: true });

        sim = startSim(bin);
        simUrl = await sim.url;

        root = await createRoot({ dbType: 'jsonl', withAdmin: true });
        await root.start(); // controller and admin.0
        // No first-run wizard (admin shows it while the license is not confirmed); the page
        // in English whatever the machine's locale.
        const config = await root.getObject('system.config');
        config.common.licenseConfirmed = true;
        config.common.language = 'en';
        await root.setObject('system.config', config);

        // The replies to admin's sendTo, as the adapter publishes them on admin's messagebox.
        const states = await root.connect('states');
        await states.psubscribe('messagebox.system.adapter.admin.*', (pattern, channel, message) => {
            try {
                const msg = JSON.parse(message);
                if (msg.command === 'requestToken') replies.push(msg);
            } catch { /* not JSON: not ours */ }
        });

        await installHmip(root, bin);
        // The cloud is the simulator; the SGTIN and PIN stay empty: the user types them.
        await root.setNative('hmip.0', { lookupUrl: `${simUrl}/getHost` });
        await root.iob('start', 'hmip.0'); // sendTo only reaches a running instance
        await root.waitForState('system.adapter.hmip.0.alive', s => s.val === true, { timeoutMs: 30000 });

        userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmip-e2e-chromium-'));
        context = await chromium.launchPersistentContext(userDataDir, {
            executablePath: CHROMIUM,
            headless: true,
            args: CHROMIUM_ARGS,
            viewport: { width: 1400, height: 1000 },
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

    test('fill SGTIN and PIN, "Create token", the blue-button hint, the token fields filled and saved', { timeout: TEST_TIMEOUT }, async () => {
        const page = context.pages()[0] || (await context.newPage());
        const pageErrors = [];
        page.on('pageerror', e => pageErrors.push(e.message));
        try {
            // admin 7's route to an instance's settings: #tab-instances/config/<instance object id>.
            await page.goto(`${root.adminUrl}/#tab-instances/config/system.adapter.hmip.0`);
            const sgtin = field(page, 'Access point SGTIN');
            await sgtin.waitFor({ timeout: 30000 });
            await page.getByText('Instance settings:').first().waitFor();
            // No dialog (wizard, news, …) covers the form.
            assert.equal(await page.getByRole('dialog').count(), 0, 'a dialog covers the config page');
            // The form shows the config set beforehand.
            assert.equal(await field(page, 'Lookup URL').inputValue(), `${simUrl}/getHost`);
            assert.equal(await field(page, 'Auth token').inputValue(), '');

            await sgtin.fill(SGTIN);
            await field(page, 'PIN').fill(PIN);
            await page.getByRole('button', { name: 'Create token', exact: true }).click();

            // The hint is the value of the `state` component showing hmip.0.info.pairing (the
            // intro text mentions the blue button too: match the whole element's text).
            const hint = page.getByText(HINT, { exact: true });
            await hint.waitFor({ state: 'visible', timeout: 30000 });
            assert.equal((await root.getState('hmip.0.info.pairing')).val, HINT);

            // The user presses the blue button.
            const res = await fetch(`${simUrl}/sim/button`, {
                method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
            });
            const body = await res.text();
            assert.equal(res.status, 200, `POST /sim/button: ${res.status} ${body}`);
            assert.deepEqual(JSON.parse(body), { acknowledged: 1 }, 'the button acknowledged the one pending pairing');

            await page.getByText(DONE, { exact: true }).waitFor({ state: 'visible', timeout: 30000 });
            // admin applies the reply's native to the form.
            await waitFor(() => replies.length, { timeoutMs: 15000, what: 'the reply to requestToken published to admin' });
            assert.equal(replies.length, 1, 'one reply to requestToken');
            assert.equal(replies[0].message.saveConfig, true);
            const idFields = ['Client ID', 'Device ID'];
            await waitFor(async () => {
                for (const label of idFields) if (!(await field(page, label).inputValue())) return false;
                return true;
            }, { timeoutMs: 30000, what: 'the id fields of the form to be filled' });
            const form = {};
            for (const label of idFields) form[label] = await field(page, label).inputValue();
            assert.match(form['Client ID'], /^[0-9a-f-]{36}$/i);
            // The tokens are password fields: masked, with no button that shows them.
            for (const label of ['Auth token', 'Client auth token']) {
                assert.equal(await field(page, label).getAttribute('type'), 'password', label);
            }
            assert.equal(await sgtin.inputValue(), '3014F711A000000000000001', 'the SGTIN as the adapter normalised it');

            // saveConfig: true → admin asks "Save configuration?"; the user saves.
            const confirm = page.getByRole('dialog').filter({ hasText: 'Save configuration?' });
            await confirm.waitFor({ state: 'visible', timeout: 15000 });
            await confirm.getByRole('button', { name: 'Save', exact: true }).click();
            await confirm.waitFor({ state: 'hidden', timeout: 15000 });

            // Stored in the instance object, encrypted, equal to what the form shows.
            const secret = await root.secret();
            await waitFor(async () => {
                const native = (await root.getObject('system.adapter.hmip.0')).native;
                return native.pin && decryptValue(secret, native.pin) === PIN ? native : null;
            }, { timeoutMs: 15000, what: "admin's save of the config (the PIN stored)" });
            const native = (await root.getObject('system.adapter.hmip.0')).native;
            assert.match(native.authToken, /^\$\/aes-192-cbc:/, 'authToken stored encrypted');
            const tokens = [decryptValue(secret, native.authToken), decryptValue(secret, native.clientAuthToken)];
            assert.match(tokens[0], /^[0-9A-F]{16,}$/i);
            assert.match(tokens[1], /^[0-9A-F]{16,}$/i);
            assert.equal(decryptValue(secret, native.clientId), form['Client ID']);
            assert.equal(native.deviceId, form['Device ID']);
            assert.equal(native.accessPointSgtin, '3014F711A000000000000001');
            assert.equal((await root.getState('hmip.0.info.pairing')).val, DONE);
            // Still the filled form after the save.
            assert.equal(await field(page, 'Client ID').inputValue(), form['Client ID']);
            // Users post screenshots of this page: no token may be readable on it, neither
            // as text nor in a field that shows its value (a password field shows dots).
            const shown = await page.evaluate(() => ({
                text: document.body.innerText,
                fields: [...document.querySelectorAll('input, textarea')].map(i => ({ type: i.type, value: i.value })),
            }));
            for (const token of tokens) {
                assert.ok(!shown.text.includes(token), 'a token is readable in the page text');
                for (const f of shown.fields) {
                    if (f.value.includes(token)) assert.equal(f.type, 'password', 'a token in a readable field');
                }
            }
            assert.deepEqual(pageErrors, [], 'uncaught errors in the page');

            await page.screenshot({ path: SCREENSHOT, fullPage: true });
        } catch (err) {
            await page.screenshot({ path: FAILURE_SCREENSHOT, fullPage: true }).catch(() => {});
            const diag = await diagnose(root, page, replies).catch(e => `(diagnosis failed: ${e.message})`);
            const log = root.logs({ sinceStart: true }).split('\n').filter(l => /hmip|admin\.0/.test(l)).slice(-40).join('\n');
            throw new Error(`${err.message}\n--- screenshot: ${FAILURE_SCREENSHOT}\n--- state\n${diag}\n--- controller log (hmip, admin)\n${log}\n--- simulator\n${sim.output().slice(-2000)}`, { cause: err });
        }
    });
});
