//! Synthetic homes of any size, for benchmarks: a `getCurrentState` answer with exactly N
//! devices, built from the device types of a base home (the 150-device fixture, or the demo
//! home), deterministic by seed.
//!
//! - Devices cycle through the base's device types (the k-th device of a type takes the
//!   type's k-th example, round robin), so with at least as many devices as types every type
//!   appears. Ids are fresh SGTIN-like `3014F711A0` + a 14-digit counter, labels
//!   `<label> #n`; channel values are randomised but plausible for their type (booleans
//!   flipped, fractions in 0..1 redrawn, other numbers jittered by up to ±10 %).
//! - Groups scale with the devices (base groups × devices / base devices, rounded), with
//!   fresh UUID-like ids; every channel's `groups` names existing groups, and every group's
//!   `channels` lists exactly the channels that name it.
//! - About 1 % of the devices have an unknown type (`SYNTHETIC_UNKNOWN_DEVICE_k`), about 1 %
//!   of the channels (never channel 0) an unknown channel type
//!   (`SYNTHETIC_UNKNOWN_CHANNEL_k`), and some devices, channels and groups carry unknown
//!   extra fields of every JSON kind (number, string, bool, null, array, object).
//! - The home object and the clients are the base's; the home's references to groups and
//!   devices point at the first synthetic copy of each, where there is one.
//!
//! The random numbers come from a small SplitMix64 of our own, so a seed gives the same
//! bytes whatever the versions of our dependencies.

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

/// The prefix of synthetic device ids; 10 hex digits, followed by a 14-digit counter.
pub const DEVICE_ID_PREFIX: &str = "3014F711A0";

/// Device type of the synthetic devices of unknown type: `SYNTHETIC_UNKNOWN_DEVICE_<k>`.
pub const UNKNOWN_DEVICE_PREFIX: &str = "SYNTHETIC_UNKNOWN_DEVICE_";

/// Channel type of the synthetic channels of unknown type: `SYNTHETIC_UNKNOWN_CHANNEL_<k>`.
pub const UNKNOWN_CHANNEL_PREFIX: &str = "SYNTHETIC_UNKNOWN_CHANNEL_";

/// Channel fields that identify or link rather than report: never randomised.
const STRUCTURAL: &[&str] = &[
    "deviceId",
    "functionalChannelType",
    "groups",
    "index",
    "groupIndex",
    "label",
    "channelRole",
];

/// One in this many channels (after channel 0) gets an unknown channel type.
const UNKNOWN_CHANNEL_EVERY: usize = 100;
/// One in this many devices, channels and groups gets an unknown extra field.
const EXTRA_DEVICE_EVERY: usize = 23;
const EXTRA_CHANNEL_EVERY: usize = 37;
const EXTRA_GROUP_EVERY: usize = 11;

/// SplitMix64: tiny, fast, good enough for test data, and ours, so it never changes.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0; the tiny modulo bias does not matter here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// A synthetic home with exactly `devices` devices built from `base` (a `getCurrentState`
/// answer with at least one device); same base and seed, same bytes.
///
/// # Panics
/// When `base` has no devices to copy (see [`try_synthetic_home`]).
pub fn synthetic_home(fixture: &Value, devices: usize, seed: u64) -> Value {
    try_synthetic_home(fixture, devices, seed).expect("a base home with devices")
}

/// [`synthetic_home`], with an error instead of a panic for a base without devices.
pub fn try_synthetic_home(base: &Value, devices: usize, seed: u64) -> anyhow::Result<Value> {
    let empty = Map::new();
    let objects = |key: &str| base.get(key).and_then(Value::as_object).unwrap_or(&empty);
    let base_devices: Vec<&Value> = objects("devices").values().collect();
    anyhow::ensure!(
        !base_devices.is_empty() || devices == 0,
        "the base home has no devices to copy"
    );
    let base_groups: Vec<&Value> = objects("groups").values().collect();
    let mut b = Builder {
        rng: SplitMix64::new(seed),
        group_index: objects("groups")
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect(),
        base_group_count: base_groups.len(),
        group_count: (base_groups.len() * devices + base_devices.len() / 2)
            / base_devices.len().max(1),
        first_copy: IndexMap::new(),
        channels_seen: 0,
        unknown_channels: 0,
    };

    // Types in order of first appearance, each with its examples.
    let mut types: IndexMap<&str, Vec<usize>> = IndexMap::new();
    for (i, d) in base_devices.iter().enumerate() {
        let t = d.get("type").and_then(Value::as_str).unwrap_or("");
        types.entry(t).or_default().push(i);
    }

    // ~1 % unknown devices, spread evenly.
    let unknown = devices.div_ceil(100);
    let unknown_at: Vec<usize> = (0..unknown)
        .map(|k| (2 * k + 1) * devices / (2 * unknown))
        .collect();

    let mut out_devices = Map::new();
    let mut cycle = 0usize;
    for i in 0..devices {
        let (template, round, unknown_k) = match unknown_at.iter().position(|&p| p == i) {
            Some(k) => (b.rng.below(base_devices.len()), k, Some(k)),
            None => {
                let (_, examples) = types
                    .get_index(cycle % types.len())
                    .expect("at least one type");
                let round = cycle / types.len();
                cycle += 1;
                (examples[round % examples.len()], round, None)
            }
        };
        let device = b.device(i, base_devices[template], round, unknown_k);
        let id = device_id(i);
        let old_id = str_field(base_devices[template], "id").to_string();
        b.first_copy.entry(old_id).or_insert_with(|| id.clone());
        out_devices.insert(id, device);
    }

    let mut out_groups = Map::new();
    for j in 0..b.group_count {
        let template = base_groups[j % b.base_group_count];
        out_groups.insert(group_id(j), b.group(j, template));
    }
    // Every group's channels: exactly the channels that name it, in device order.
    for (device_id, device) in &out_devices {
        let Some(channels) = device.get("functionalChannels").and_then(Value::as_object) else {
            continue;
        };
        for (key, ch) in channels {
            for gid in ch
                .get("groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if let Some(Value::Array(members)) =
                    out_groups.get_mut(gid).and_then(|g| g.get_mut("channels"))
                {
                    let index: Value = key.parse::<u64>().map_or_else(|_| json!(key), |n| json!(n));
                    members.push(json!({"channelIndex": index, "deviceId": device_id}));
                }
            }
        }
    }

    // The base's top level in its order, devices and groups replaced.
    let mut out = Map::new();
    let top = base.as_object().cloned().unwrap_or_default();
    for (k, v) in top {
        let v = match k.as_str() {
            "devices" => Value::Object(std::mem::take(&mut out_devices)),
            "groups" => Value::Object(std::mem::take(&mut out_groups)),
            "home" => b.home(v),
            _ => v,
        };
        out.insert(k, v);
    }
    for (k, v) in [("devices", out_devices), ("groups", out_groups)] {
        if !out.contains_key(k) {
            out.insert(k.to_string(), Value::Object(v));
        }
    }
    Ok(Value::Object(out))
}

/// The id of the i-th synthetic device (from 0): `3014F711A0` + 14 digits, 24 in all.
pub fn device_id(i: usize) -> String {
    format!("{DEVICE_ID_PREFIX}{:014}", i + 1)
}

/// The id of the j-th synthetic group (from 0), UUID-like.
pub fn group_id(j: usize) -> String {
    format!("5EED0000-0000-4000-8000-{:012X}", j + 1)
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

struct Builder {
    rng: SplitMix64,
    /// Base group id -> its position in the base.
    group_index: IndexMap<String, usize>,
    base_group_count: usize,
    /// How many groups the synthetic home has.
    group_count: usize,
    /// Base device id -> the id of its first synthetic copy.
    first_copy: IndexMap<String, String>,
    /// Channels after channel 0 so far, and how many of them got an unknown type.
    channels_seen: usize,
    unknown_channels: usize,
}

impl Builder {
    /// How many copies of base group `t` the synthetic home has.
    fn copies(&self, t: usize) -> usize {
        self.group_count / self.base_group_count
            + usize::from(t < self.group_count % self.base_group_count)
    }

    /// The synthetic copy `copy` (modulo the copies there are) of base group `old`.
    fn group_copy(&self, old: &str, copy: usize) -> Option<String> {
        let t = *self.group_index.get(old)?;
        let n = self.copies(t);
        (n > 0).then(|| group_id(t + (copy % n) * self.base_group_count))
    }

    fn device(
        &mut self,
        i: usize,
        template: &Value,
        round: usize,
        unknown: Option<usize>,
    ) -> Value {
        let mut d = template.clone();
        let old_id = str_field(template, "id").to_string();
        let id = device_id(i);
        replace_strings(&mut d, &old_id, &id);
        let Some(obj) = d.as_object_mut() else {
            return json!({"id": id, "type": "", "functionalChannels": {}});
        };
        obj.insert("id".into(), json!(id));
        let label = template
            .get("label")
            .and_then(Value::as_str)
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| str_field(template, "type"));
        obj.insert("label".into(), json!(format!("{label} #{}", i + 1)));
        if let Some(k) = unknown {
            obj.insert("type".into(), json!(format!("{UNKNOWN_DEVICE_PREFIX}{k}")));
        }
        if let Some(ts) = obj.get("lastStatusUpdate").and_then(Value::as_i64) {
            let back = self.rng.below(86_400_000) as i64;
            obj.insert("lastStatusUpdate".into(), json!(ts - back));
        }
        if i % EXTRA_DEVICE_EVERY == 4 {
            let (k, v) = self.extra(i / EXTRA_DEVICE_EVERY);
            obj.insert(k, v);
        }
        if let Some(Value::Object(channels)) = obj.get_mut("functionalChannels") {
            for (key, ch) in channels.iter_mut() {
                if let Value::Object(ch) = ch {
                    self.channel(key, ch, round, &id);
                }
            }
        }
        d
    }

    fn channel(&mut self, key: &str, ch: &mut Map<String, Value>, round: usize, id: &str) {
        // Some base channels name another device id than their device's: make them agree.
        if ch.contains_key("deviceId") {
            ch.insert("deviceId".into(), json!(id));
        }
        if let Some(Value::Array(groups)) = ch.get("groups") {
            let mapped: Vec<Value> = groups
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|g| self.group_copy(g, round))
                .map(Value::String)
                .collect();
            ch.insert("groups".into(), Value::Array(mapped));
        }
        for (field, v) in ch.iter_mut() {
            if !STRUCTURAL.contains(&field.as_str()) {
                self.randomise(v);
            }
        }
        if key == "0" {
            return;
        }
        let n = self.channels_seen;
        self.channels_seen += 1;
        if n % UNKNOWN_CHANNEL_EVERY == UNKNOWN_CHANNEL_EVERY / 2 {
            let k = self.unknown_channels;
            self.unknown_channels += 1;
            ch.insert(
                "functionalChannelType".into(),
                json!(format!("{UNKNOWN_CHANNEL_PREFIX}{k}")),
            );
        }
        if n % EXTRA_CHANNEL_EVERY == 5 {
            let (k, v) = self.extra(n / EXTRA_CHANNEL_EVERY);
            ch.insert(k, v);
        }
    }

    /// A plausible other value of the same kind.
    fn randomise(&mut self, v: &mut Value) {
        match v {
            Value::Bool(b) if self.rng.chance(0.5) => *b = !*b,
            Value::Number(n) => {
                if n.is_f64() {
                    let x = n.as_f64().unwrap_or(0.0);
                    let new = if (0.0..=1.0).contains(&x) {
                        (self.rng.unit() * 100.0).round() / 100.0
                    } else {
                        let jitter = 1.0 + (self.rng.unit() - 0.5) * 0.2;
                        (x * jitter * 10.0).round() / 10.0
                    };
                    *v = json!(new);
                } else if let Some(x) = n.as_i64() {
                    let spread = (x.unsigned_abs() / 10) as usize;
                    if spread > 0 {
                        let delta = self.rng.below(2 * spread + 1) as i64 - spread as i64;
                        *v = json!(x + delta);
                    }
                }
            }
            _ => {}
        }
    }

    /// An unknown extra field; `k` picks its JSON kind, in turn.
    fn extra(&mut self, k: usize) -> (String, Value) {
        let n = self.rng.below(1000);
        let (kind, v) = match k % 6 {
            0 => ("Number", json!(n as f64 / 10.0)),
            1 => ("String", json!(format!("synthetic-{n}"))),
            2 => ("Bool", json!(n % 2 == 0)),
            3 => ("Null", Value::Null),
            4 => ("Array", json!([n, format!("v{n}"), n % 3 == 0])),
            _ => (
                "Object",
                json!({"nested": {"value": n, "ok": n % 2 == 1}, "list": [1, 2, 3]}),
            ),
        };
        (format!("syntheticExtra{kind}"), v)
    }

    fn group(&mut self, j: usize, template: &Value) -> Value {
        let copy = j / self.base_group_count;
        let mut g = template.clone();
        self.remap_ids(&mut g, copy);
        let Some(obj) = g.as_object_mut() else {
            return json!({"id": group_id(j), "type": "", "channels": []});
        };
        obj.insert("id".into(), json!(group_id(j)));
        let label = template
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or_else(|| str_field(template, "type"));
        obj.insert("label".into(), json!(format!("{label} #{}", copy + 1)));
        if obj.contains_key("channels") {
            obj.insert("channels".into(), json!([]));
        }
        // A meta group the base does not have (the fixture names one) stays unnamed.
        if let Some(Value::String(meta)) = template.get("metaGroupId") {
            if !self.group_index.contains_key(meta) {
                obj.insert("metaGroupId".into(), Value::Null);
            }
        }
        if j % EXTRA_GROUP_EVERY == 3 {
            let (k, v) = self.extra(j / EXTRA_GROUP_EVERY);
            obj.insert(k, v);
        }
        g
    }

    /// The base home, its group and device references pointing at the first synthetic
    /// copies (left as they are where there is none).
    fn home(&self, mut home: Value) -> Value {
        self.remap_home(&mut home);
        home
    }

    fn remap_home(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(new) = self
                    .group_copy(s, 0)
                    .or_else(|| self.first_copy.get(s.as_str()).cloned())
                {
                    *s = new;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|x| self.remap_home(x)),
            Value::Object(map) => map.values_mut().for_each(|x| self.remap_home(x)),
            _ => {}
        }
    }

    /// In a group copy: base group ids -> the same copy of that group (dropped from arrays,
    /// null elsewhere, when the synthetic home has none); base device ids -> their first
    /// synthetic copy.
    fn remap_ids(&self, v: &mut Value, copy: usize) {
        match v {
            Value::Array(items) => {
                items.retain(|x| {
                    !x.as_str().is_some_and(|s| {
                        self.group_index.contains_key(s) && self.group_copy(s, copy).is_none()
                    })
                });
                items.iter_mut().for_each(|x| self.remap_ids(x, copy));
            }
            Value::Object(map) => map.values_mut().for_each(|x| self.remap_ids(x, copy)),
            Value::String(s) => {
                if self.group_index.contains_key(s.as_str()) {
                    *v = self.group_copy(s, copy).map_or(Value::Null, Value::String);
                } else if let Some(new) = self.first_copy.get(s.as_str()) {
                    *s = new.clone();
                }
            }
            _ => {}
        }
    }
}

/// Replace every string equal to `from` by `to`, anywhere in `v`.
fn replace_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_string(),
        Value::Array(items) => items.iter_mut().for_each(|x| replace_strings(x, from, to)),
        Value::Object(map) => map.values_mut().for_each(|x| replace_strings(x, from, to)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::cloud::CurrentState;

    fn fixture() -> Value {
        serde_json::from_str(include_str!("../../tests/fixtures/home.json")).unwrap()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_values() {
        let f = fixture();
        let a = serde_json::to_string(&synthetic_home(&f, 400, 7)).unwrap();
        let b = serde_json::to_string(&synthetic_home(&f, 400, 7)).unwrap();
        let c = serde_json::to_string(&synthetic_home(&f, 400, 8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn splitmix_is_fixed() {
        // The reference values of SplitMix64 for seed 1234567: the generator never changes.
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn counts_ids_and_every_type() {
        let f = fixture();
        let types: HashSet<&str> = f["devices"]
            .as_object()
            .unwrap()
            .values()
            .map(|d| d["type"].as_str().unwrap())
            .collect();
        for n in [1, 10, 150, 1000] {
            let h = synthetic_home(&f, n, 1);
            let devices = h["devices"].as_object().unwrap();
            assert_eq!(devices.len(), n);
            let groups = h["groups"].as_object().unwrap();
            assert_eq!(groups.len(), (45 * n + 75) / 150, "{n} devices");
            for (id, d) in devices {
                assert_eq!(d["id"], json!(id));
                assert_eq!(id.len(), 24, "{id}");
                assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
                assert!(
                    d["label"].as_str().unwrap().contains(" #"),
                    "{}",
                    d["label"]
                );
                for ch in d["functionalChannels"].as_object().unwrap().values() {
                    if let Some(dev) = ch.get("deviceId") {
                        assert_eq!(dev, &json!(id));
                    }
                }
            }
            for (id, g) in groups {
                assert_eq!(g["id"], json!(id));
            }
            // Fresh ids: none of the base's.
            for id in devices.keys() {
                assert!(f["devices"].get(id).is_none());
            }
            for id in groups.keys() {
                assert!(f["groups"].get(id).is_none());
            }
            assert_eq!(h["clients"], f["clients"]);
            if n >= 150 {
                let got: HashSet<&str> = devices
                    .values()
                    .map(|d| d["type"].as_str().unwrap())
                    .collect();
                for t in &types {
                    assert!(got.contains(t), "{n} devices: type {t} missing");
                }
            }
        }
    }

    #[test]
    fn unknown_types_and_extra_fields_are_mixed_in() {
        let h = synthetic_home(&fixture(), 1000, 3);
        let devices = h["devices"].as_object().unwrap();
        let unknown = devices
            .values()
            .filter(|d| {
                d["type"]
                    .as_str()
                    .unwrap()
                    .starts_with(UNKNOWN_DEVICE_PREFIX)
            })
            .count();
        assert_eq!(unknown, 10);
        let channels: Vec<&Value> = devices
            .values()
            .flat_map(|d| d["functionalChannels"].as_object().unwrap().values())
            .collect();
        let unknown_ch = channels
            .iter()
            .filter(|c| {
                c["functionalChannelType"]
                    .as_str()
                    .unwrap()
                    .starts_with(UNKNOWN_CHANNEL_PREFIX)
            })
            .count();
        assert!(
            unknown_ch * 100 >= channels.len() / 2 && unknown_ch * 100 <= channels.len() * 2,
            "{unknown_ch} of {} channels",
            channels.len()
        );
        let mut kinds = HashSet::new();
        let mut scan = |m: &Map<String, Value>| {
            for (k, v) in m {
                if k.starts_with("syntheticExtra") {
                    kinds.insert(match v {
                        Value::Null => "null",
                        Value::Bool(_) => "bool",
                        Value::Number(_) => "number",
                        Value::String(_) => "string",
                        Value::Array(_) => "array",
                        Value::Object(_) => "object",
                    });
                }
            }
        };
        for d in devices.values() {
            scan(d.as_object().unwrap());
        }
        for c in &channels {
            scan(c.as_object().unwrap());
        }
        for g in h["groups"].as_object().unwrap().values() {
            scan(g.as_object().unwrap());
        }
        assert_eq!(kinds.len(), 6, "{kinds:?}");
    }

    #[test]
    fn values_are_randomised_within_their_kind() {
        let f = fixture();
        let h = synthetic_home(&f, 150, 5);
        let (mut flipped, mut bools, mut levels) = (0, 0, 0);
        for d in h["devices"].as_object().unwrap().values() {
            for ch in d["functionalChannels"].as_object().unwrap().values() {
                for (k, v) in ch.as_object().unwrap() {
                    if k == "dimLevel" || k == "shutterLevel" {
                        let x = v.as_f64().unwrap_or(0.0);
                        assert!((0.0..=1.0).contains(&x), "{k} {v}");
                        levels += 1;
                    }
                }
            }
        }
        // The same device and channel in the base and in the first synthetic copy.
        let base = f["devices"].as_object().unwrap();
        for d in h["devices"].as_object().unwrap().values() {
            let label = d["label"].as_str().unwrap();
            let Some(orig) = base.values().find(|b| {
                b["type"] == d["type"]
                    && label.starts_with(&format!("{} #", b["label"].as_str().unwrap()))
            }) else {
                continue;
            };
            for (key, ch) in d["functionalChannels"].as_object().unwrap() {
                for (field, v) in ch.as_object().unwrap() {
                    let o = &orig["functionalChannels"][key][field];
                    if let (Value::Bool(a), Value::Bool(b)) = (v, o) {
                        bools += 1;
                        flipped += usize::from(a != b);
                    }
                }
            }
        }
        assert!(levels > 20, "{levels} levels");
        assert!(
            flipped * 4 > bools && flipped * 4 < bools * 3,
            "{flipped} of {bools} booleans flipped"
        );
    }

    #[test]
    fn group_references_are_consistent() {
        for n in [10, 150, 1000] {
            let h = synthetic_home(&fixture(), n, 2);
            let devices = h["devices"].as_object().unwrap();
            let groups = h["groups"].as_object().unwrap();
            let mut named = HashSet::new();
            for (id, d) in devices {
                for (key, ch) in d["functionalChannels"].as_object().unwrap() {
                    for g in ch["groups"].as_array().into_iter().flatten() {
                        let g = g.as_str().unwrap();
                        let group = groups.get(g).unwrap_or_else(|| panic!("{id} names {g}"));
                        let member =
                            json!({"channelIndex": key.parse::<u64>().unwrap(), "deviceId": id});
                        assert!(
                            group["channels"].as_array().unwrap().contains(&member),
                            "{g} does not list {id}/{key}"
                        );
                        named.insert((g.to_string(), id.clone(), key.clone()));
                    }
                }
            }
            let mut listed = 0;
            for (gid, g) in groups {
                for m in g["channels"].as_array().unwrap() {
                    let (dev, idx) = (
                        m["deviceId"].as_str().unwrap(),
                        m["channelIndex"].to_string(),
                    );
                    assert!(
                        named.contains(&(gid.clone(), dev.to_string(), idx.clone())),
                        "{gid} lists {dev}/{idx}, which does not name it"
                    );
                    listed += 1;
                }
                if let Some(meta) = g.get("metaGroupId").and_then(Value::as_str) {
                    assert!(groups.contains_key(meta), "{gid}: metaGroupId {meta}");
                }
            }
            assert_eq!(listed, named.len());
            if n >= 150 {
                assert!(listed > n, "{listed} memberships for {n} devices");
                let zones = &h["home"]["functionalHomes"]["SECURITY_AND_ALARM"]["securityZones"];
                for zone in ["INTERNAL", "EXTERNAL"] {
                    let gid = zones[zone].as_str().unwrap();
                    assert_eq!(groups[gid]["type"], "SECURITY_ZONE");
                }
            }
        }
    }

    #[test]
    fn parses_and_maps_unknown_types() {
        let h = synthetic_home(&fixture(), 300, 9);
        let state: CurrentState = serde_json::from_value(h.clone()).unwrap();
        assert_eq!(state.devices.len(), 300);
        let snap = crate::tree::snapshot("hmip.0", &state);
        let ids: HashSet<&str> = snap.objects.iter().map(|o| o.id.as_str()).collect();
        let mut unknown_devices = 0;
        let mut unknown_channels = 0;
        for d in state.devices.values() {
            let base = format!("hmip.0.devices.{}", d.id);
            assert!(ids.contains(base.as_str()), "{base}");
            if d.device_type.starts_with(UNKNOWN_DEVICE_PREFIX) {
                unknown_devices += 1;
                assert!(ids.contains(format!("{base}.info.type").as_str()));
                let ty = snap
                    .values
                    .iter()
                    .find(|v| v.id == format!("{base}.info.type"))
                    .unwrap();
                assert_eq!(ty.val, json!(d.device_type));
            }
            for (key, ch) in &d.channels {
                if ch.channel_type.starts_with(UNKNOWN_CHANNEL_PREFIX) {
                    unknown_channels += 1;
                    let chid = format!("{base}.channels.{key}");
                    assert!(ids.contains(chid.as_str()), "{chid}");
                    for field in ch.fields.keys() {
                        assert!(
                            ids.contains(format!("{chid}.{field}").as_str()),
                            "{chid}.{field}"
                        );
                    }
                }
            }
        }
        assert_eq!(unknown_devices, 3);
        assert!(unknown_channels >= 5, "{unknown_channels}");
    }
}
