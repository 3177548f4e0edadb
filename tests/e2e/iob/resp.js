'use strict';
// A small RESP2 client over `net` for the tests: talks to a real Redis and to
// js-controller's Redis-protocol simulator (the jsonl databases), which refuses
// uppercase command names, so every command is sent in lowercase.
//
//   const c = await RespClient.connect(port);
//   await c.set('io.x', '{"val":1}'); await c.get('io.x');     // replies as JS values
//   await c.psubscribe('io.hmip.0.*', (pattern, channel, message) => { ... });
//   c.close();
//
// Replies: simple string / bulk string -> string (null for a nil bulk), integer -> number,
// array -> array, error reply -> the promise rejects with an Error. One pattern per
// psubscribe (the simulator honours only the first). After a (p)subscribe the connection
// only takes further (p)subscribe/(p)unsubscribe commands, as with Redis.

const net = require('node:net');

class RespError extends Error {}

/** Parses one reply from buf at pos: returns [value, nextPos], or undefined when incomplete. */
function parse(buf, pos) {
    if (pos >= buf.length) return undefined;
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const type = String.fromCharCode(buf[pos]);
    const line = buf.toString('utf8', pos + 1, eol);
    const next = eol + 2;
    switch (type) {
        case '+': return [line, next];
        case '-': return [new RespError(line), next];
        case ':': return [Number(line), next];
        case '$': {
            const len = Number(line);
            if (len < 0) return [null, next];
            if (buf.length < next + len + 2) return undefined;
            return [buf.toString('utf8', next, next + len), next + len + 2];
        }
        case '*': {
            const n = Number(line);
            if (n < 0) return [null, next];
            const items = [];
            let p = next;
            for (let i = 0; i < n; i++) {
                const r = parse(buf, p);
                if (!r) return undefined;
                items.push(r[0]);
                p = r[1];
            }
            return [items, p];
        }
        default:
            throw new RespError(`unexpected RESP type byte ${JSON.stringify(type)}`);
    }
}

function encode(args) {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) {
        const s = Buffer.isBuffer(a) ? a : Buffer.from(typeof a === 'string' ? a : String(a));
        parts.push(`$${s.length}\r\n`, s, '\r\n');
    }
    return Buffer.concat(parts.map(p => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
}

class RespClient {
    constructor(socket) {
        this.socket = socket;
        this.buf = Buffer.alloc(0);
        this.pending = []; // {resolve, reject} in command order
        this.handlers = []; // {pattern|channel, fn} for pushed messages
        this.subscribed = false;
        this.closed = false;
        socket.on('data', d => this._onData(d));
        socket.on('error', err => this._failAll(err));
        socket.on('close', () => {
            this.closed = true;
            this._failAll(new RespError('connection closed'));
        });
    }

    /** Connects to host:port (default 127.0.0.1); rejects after timeoutMs. */
    static connect(port, host = '127.0.0.1', timeoutMs = 5000) {
        return new Promise((resolve, reject) => {
            const socket = net.connect({ port, host });
            const timer = setTimeout(() => { socket.destroy(); reject(new RespError(`connect ${host}:${port} timed out`)); }, timeoutMs);
            socket.once('connect', () => { clearTimeout(timer); socket.setNoDelay(true); resolve(new RespClient(socket)); });
            socket.once('error', err => { clearTimeout(timer); reject(err); });
        });
    }

    _failAll(err) {
        const pending = this.pending;
        this.pending = [];
        for (const p of pending) p.reject(err);
    }

    _onData(data) {
        this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
        let pos = 0;
        for (;;) {
            let r;
            try {
                r = parse(this.buf, pos);
            } catch (err) {
                this.socket.destroy(err);
                return;
            }
            if (!r) break;
            pos = r[1];
            this._onReply(r[0]);
        }
        this.buf = this.buf.subarray(pos);
    }

    _onReply(value) {
        if (this.subscribed && Array.isArray(value) && (value[0] === 'pmessage' || value[0] === 'message')) {
            const [kind, a, b, c] = value;
            for (const h of this.handlers) {
                if (kind === 'pmessage' && h.kind === 'pmessage') h.fn(a, b, c);
                if (kind === 'message' && h.kind === 'message' && h.name === a) h.fn(a, b);
            }
            return;
        }
        const p = this.pending.shift();
        if (!p) return; // an unsolicited reply: ignore
        if (value instanceof RespError) p.reject(value);
        else p.resolve(value);
    }

    /** Sends one command (name lowercased) and resolves with its reply. */
    call(name, ...args) {
        return this.callExact(String(name).toLowerCase(), ...args);
    }

    /** Sends the arguments exactly as given (no lowercasing) and resolves with the reply. */
    callExact(...args) {
        if (this.closed) return Promise.reject(new RespError('connection closed'));
        return new Promise((resolve, reject) => {
            this.pending.push({ resolve, reject });
            this.socket.write(encode(args));
        });
    }

    get(key) { return this.call('get', key); }
    set(key, value) { return this.call('set', key, typeof value === 'string' ? value : JSON.stringify(value)); }
    del(key) { return this.call('del', key); }
    keys(pattern) { return this.call('keys', pattern); }
    publish(channel, message) { return this.call('publish', channel, typeof message === 'string' ? message : JSON.stringify(message)); }

    /** Subscribes to one pattern; fn(pattern, channel, message) gets every pmessage. */
    async psubscribe(pattern, fn) {
        this.subscribed = true;
        this.handlers.push({ kind: 'pmessage', name: pattern, fn });
        return this.call('psubscribe', pattern);
    }

    /** Subscribes to one channel; fn(channel, message) gets its messages. */
    async subscribe(channel, fn) {
        this.subscribed = true;
        this.handlers.push({ kind: 'message', name: channel, fn });
        return this.call('subscribe', channel);
    }

    /** A state as JSON (`io.<id>` on the states database), or null. */
    async getState(id) {
        const raw = await this.get(`io.${id}`);
        return raw == null ? null : JSON.parse(raw);
    }

    /** An object as JSON (`cfg.o.<id>` on the objects database), or null. */
    async getObject(id) {
        const raw = await this.get(`cfg.o.${id}`);
        return raw == null ? null : JSON.parse(raw);
    }

    close() {
        this.closed = true;
        this.socket.end();
        this.socket.destroy();
    }
}

module.exports = { RespClient, RespError, connect: RespClient.connect, parse, encode };
