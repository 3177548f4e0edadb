'use strict';
// What the startup benchmarks share (bench-startup.js, bench-sidebyside.js): the instance's
// enable switch, counting what a root holds, and medians.

/** The instance both benchmarks start and stop, and its connection state. */
const INSTANCE = 'system.adapter.hmip.0';
const CONNECTION = 'hmip.0.info.connection';

/** Number of keys matching `pattern` in the root's `db` ('states' or 'objects'). */
async function countKeys(iob, db, pattern) {
    const c = await iob.connect(db);
    try {
        return (await c.keys(pattern)).length;
    } finally {
        c.close();
    }
}

/** How many of `ids` have no object under hmip.0 in the root. */
async function missingObjects(iob, ids) {
    const c = await iob.connect('objects');
    try {
        const have = new Set((await c.keys('cfg.o.hmip.0.*')).map(k => k.slice('cfg.o.'.length)));
        return [...ids].filter(id => !have.has(id)).length;
    } finally {
        c.close();
    }
}

/** Set hmip.0's common.enabled as `iob start`/`stop` do; returns when (epoch ms). */
async function setEnabled(iob, enabled) {
    const cur = await iob.getObject(INSTANCE);
    cur.common.enabled = enabled;
    const at = Date.now();
    await iob.setObject(INSTANCE, { ...cur, ts: at, from: `${iob.hostId}.cli` });
    return at;
}

/**
 * info.connection, subscribed on a connection of its own (the jsonl server honours one
 * pattern per connection): `wait(val, since)` resolves with the first such state written
 * at or after `since` (its ts, as the adapter stamped it).
 */
async function watchConnection(iob, defaultTimeoutMs = 60000) {
    const c = await iob.connect('states');
    const seen = [];
    const waiters = [];
    await c.psubscribe(`io.${CONNECTION}`, (_p, _ch, msg) => {
        const s = msg && msg !== 'null' ? JSON.parse(msg) : null;
        if (!s) return;
        seen.push(s);
        for (const w of waiters.splice(0)) w();
    });
    return {
        async wait(val, since, timeoutMs = defaultTimeoutMs) {
            const deadline = Date.now() + timeoutMs;
            for (;;) {
                const s = seen.find(x => x.val === val && x.ts >= since);
                if (s) return s;
                if (Date.now() > deadline) throw new Error(`${CONNECTION} not ${val} within ${timeoutMs} ms`);
                await new Promise(resolve => { waiters.push(resolve); setTimeout(resolve, 50); });
            }
        },
        close: () => c.close(),
    };
}

/** Median, min and max of numbers. */
function stats(values) {
    const s = [...values].sort((a, b) => a - b);
    const mid = s.length >> 1;
    const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    return { median, min: s[0], max: s[s.length - 1] };
}

module.exports = { INSTANCE, countKeys, missingObjects, setEnabled, watchConnection, stats };
