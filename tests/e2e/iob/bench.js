'use strict';
// What the startup benchmarks share (bench-startup.js, bench-sidebyside.js): the instance's
// enable switch, counting what a root holds, and medians.

/** The instance both benchmarks start and stop. */
const INSTANCE = 'system.adapter.hmip.0';

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

/** Median, min and max of numbers. */
function stats(values) {
    const s = [...values].sort((a, b) => a - b);
    const mid = s.length >> 1;
    const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    return { median, min: s[0], max: s[s.length - 1] };
}

module.exports = { INSTANCE, countKeys, missingObjects, setEnabled, stats };
