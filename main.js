'use strict';
// The ioBroker launcher of iobroker-hmip.
//
// js-controller only starts adapters by fork()ing a Node main file, as
// `node main.js --instance N --loglevel L`, with an IPC channel to the controller. The
// adapter itself is the native binary, found by `findBinary()` below (the env variable
// IOBROKER_HMIP_BIN overrides it). This launcher runs `iobroker-hmip run <its own
// arguments>`, adding `--iobroker <root>/iobroker-data/iobroker.json` when the adapter sits
// in an ioBroker root's node_modules, unless the arguments or IOBROKER_DATA_DIR say
// otherwise. How it runs the binary: see runBinary at the end.
// No dependencies: plain Node >= 20.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const KILL_AFTER_MS = 2000;

// The platform packages tools/dist packs, one per platform npm tells apart by os, cpu and
// libc (their package.json says which); npm installs the one matching this machine.
const PLATFORM_PACKAGES = {
    'linux-x64-glibc': 'iobroker-hmip-linux-x64-gnu',
    'linux-arm64-glibc': 'iobroker-hmip-linux-arm64-gnu',
    'linux-arm-glibc': 'iobroker-hmip-linux-arm-gnueabihf',
};

/** This machine as the platform packages name it: `linux-arm64 glibc`, `linux-x64 musl`, … */
function platform() {
    let libc = '';
    if (process.platform === 'linux') {
        // Node reports the glibc it runs on; no glibc version means musl (Alpine). The
        // report's network part is slow and not needed.
        process.report.excludeNetwork = true;
        const header = process.report.getReport().header;
        libc = header.glibcVersionRuntime ? 'glibc' : 'musl';
    }
    const os = `${process.platform}-${process.arch}`;
    return { key: libc ? `${os}-${libc}` : os, label: libc ? `${os} ${libc}` : os };
}

/**
 * The binary to run, first found of: $IOBROKER_HMIP_BIN; `bin/iobroker-hmip` beside this
 * file (tools/install-into-iobroker puts it there); the platform package's
 * `bin/iobroker-hmip`; a development checkout's target/release, then target/debug build.
 * Null when there is none.
 */
function findBinary() {
    if (process.env.IOBROKER_HMIP_BIN) {
        return process.env.IOBROKER_HMIP_BIN;
    }
    const beside = path.join(__dirname, 'bin', 'iobroker-hmip');
    if (fs.existsSync(beside)) {
        return beside;
    }
    const candidates = [];
    const pkg = PLATFORM_PACKAGES[platform().key];
    if (pkg) {
        try {
            const manifest = require.resolve(`${pkg}/package.json`, { paths: [__dirname] });
            candidates.push(path.join(path.dirname(manifest), 'bin', 'iobroker-hmip'));
        } catch {
            // Not installed (another platform, or installed without optional dependencies).
        }
    }
    candidates.push(path.join(__dirname, 'target', 'release', 'iobroker-hmip'));
    candidates.push(path.join(__dirname, 'target', 'debug', 'iobroker-hmip'));
    return candidates.find(file => fs.existsSync(file)) ?? null;
}

const bin = findBinary();
if (!bin) {
    const plat = platform();
    const pkg = PLATFORM_PACKAGES[plat.key];
    process.stderr.write(
        `iobroker-hmip launcher: no binary for ${plat.label}${pkg ? ` (the package ${pkg} is not installed)` : ''}: ` +
            'build it from source (`cargo build --release`, then set IOBROKER_HMIP_BIN to target/release/iobroker-hmip, ' +
            'or run tools/install-into-iobroker from a checkout)\n',
    );
    process.exit(1);
}
const args = ['run', ...process.argv.slice(2)];

// The databases' settings: js-controller's own rule for a production install is
// <root>/iobroker-data/iobroker.json, the root being two levels above node_modules/iobroker.hmip.
if (!args.includes('--iobroker') && !process.env.IOBROKER_DATA_DIR) {
    const config = path.join(__dirname, '..', '..', 'iobroker-data', 'iobroker.json');
    if (fs.existsSync(config)) {
        args.push('--iobroker', config);
    }
}

runBinary(bin, args);

// ---------------------------------------------------------------------------------------
// Running the binary.

/**
 * Where Node has `process.execve` (22.15 / 23.11 on), the binary replaces this Node process:
 * the launcher's ~42 MiB of RSS are gone, and the process js-controller forked (its pid,
 * its stdout and its stderr pipe, which the controller logs) IS the binary, so the
 * controller's SIGTERM/SIGKILL reach it directly and its exit is the `exit` event the
 * controller restarts on. The IPC channel to the controller is close-on-exec: it closes at
 * the execve (js-controller 7 never sends on it nor reacts to its `disconnect`). The binary
 * then watches its parent, the controller, with PR_SET_PDEATHSIG. Elsewhere, or with
 * IOBROKER_HMIP_LAUNCHER=child (to compare), the binary runs as a child of this process.
 */
function runBinary(bin, args) {
    if (typeof process.execve === 'function' && process.env.IOBROKER_HMIP_LAUNCHER !== 'child') {
        try {
            fs.accessSync(bin, fs.constants.X_OK);
            process.execve(bin, [bin, ...args], process.env);
        } catch (err) {
            // Only reached when the binary could not be started at all.
            process.stderr.write(`iobroker-hmip launcher: cannot start ${bin}: ${err.message}\n`);
            process.exit(1);
        }
    }
    runChild(bin, args);
}

/**
 * The binary as a child process, for Node without `process.execve`:
 * - stdout and stderr inherited (the controller logs the binary's stderr); stdin is a pipe
 *   this launcher never writes to, so it reaches EOF when the launcher is gone, even
 *   SIGKILLed (js-controller kills it `stopTimeout` ms after asking the instance to stop):
 *   the binary watches it, besides PR_SET_PDEATHSIG, to never outlive the launcher;
 * - SIGTERM and SIGINT forwarded to the binary;
 * - the binary stopped (SIGTERM, then SIGKILL after 2 s) when the IPC channel to the
 *   controller closes, i.e. the controller went away;
 * - exits with the binary's exit code, or dies of the signal that ended it.
 */
function runChild(bin, args) {
    const child = spawn(bin, args, { stdio: ['pipe', 'inherit', 'inherit'] });

    let killTimer = null;

    // Ask the binary to stop; if it is still there after KILL_AFTER_MS, kill it.
    function stopChild(signal) {
        if (child.exitCode !== null || child.signalCode !== null) {
            return;
        }
        child.kill(signal);
        if (!killTimer) {
            killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
        }
    }

    process.on('SIGTERM', () => stopChild('SIGTERM'));
    process.on('SIGINT', () => stopChild('SIGINT'));
    // The controller closed the IPC channel (it stopped or crashed): no one will stop us.
    process.on('disconnect', () => stopChild('SIGTERM'));

    child.on('error', err => {
        // The binary could not be started at all (missing, not executable, ...).
        process.stderr.write(`iobroker-hmip launcher: cannot start ${bin}: ${err.message}\n`);
        process.exit(1);
    });

    child.on('exit', (code, signal) => {
        clearTimeout(killTimer);
        if (signal) {
            // Die of the same signal, so the controller sees how the adapter ended.
            process.removeAllListeners(signal);
            process.kill(process.pid, signal);
            // Signals that do not end a Node process by default land here.
            setTimeout(() => process.exit(1), 100).unref();
            return;
        }
        process.exit(code ?? 1);
    });
}
