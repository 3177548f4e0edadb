//! The device reports of `POST /sim/burst`: a deterministic sequence (by seed) of channels
//! and the scalar fields (booleans and numbers) that change in each, with new values that
//! really differ from the current ones. Pure functions over the home; the hook in
//! `hooks` applies them and pushes the events.

use serde_json::{json, Map, Value};

use super::synth::SplitMix64;

/// Channel fields that identify or link rather than report: never changed by a burst.
const STRUCTURAL: &[&str] = &["index", "groupIndex", "deviceId", "functionalChannelType"];

/// One device report: `fields` of channel `channel` of device `device` take these values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Report {
    pub device: String,
    pub channel: String,
    pub fields: Map<String, Value>,
}

/// The generator of one burst.
pub(crate) struct Burst {
    rng: SplitMix64,
    changes: usize,
    /// (device id, channel key) of every channel with at least `changes` scalar fields,
    /// in the home's order.
    candidates: Vec<(String, String)>,
}

impl Burst {
    /// A burst over the channels of `home` that have at least `changes` (≥ 1) scalar
    /// fields; None when no channel has that many.
    pub fn new(home: &Value, seed: u64, changes: usize) -> Option<Burst> {
        let changes = changes.max(1);
        let mut candidates = Vec::new();
        for (id, device) in home.get("devices")?.as_object()? {
            let Some(channels) = device.get("functionalChannels").and_then(Value::as_object) else {
                continue;
            };
            for (key, ch) in channels {
                if ch
                    .as_object()
                    .is_some_and(|c| scalar_fields(c).len() >= changes)
                {
                    candidates.push((id.clone(), key.clone()));
                }
            }
        }
        (!candidates.is_empty()).then(|| Burst {
            rng: SplitMix64::new(seed),
            changes,
            candidates,
        })
    }

    /// The next report, with new values computed from the channel as it is in `home` now.
    pub fn next(&mut self, home: &Value) -> Report {
        loop {
            let (device, channel) = &self.candidates[self.rng.below(self.candidates.len())];
            let Some(ch) = home["devices"][device]["functionalChannels"][channel].as_object()
            else {
                // Removed since the burst started (a concurrent hook): pick another.
                continue;
            };
            let mut names = scalar_fields(ch);
            if names.len() < self.changes {
                continue;
            }
            // k distinct fields: a partial Fisher-Yates shuffle.
            let mut fields = Map::new();
            for i in 0..self.changes {
                let j = i + self.rng.below(names.len() - i);
                names.swap(i, j);
                let name = names[i];
                fields.insert(name.to_string(), other_value(&ch[name], &mut self.rng));
            }
            return Report {
                device: device.clone(),
                channel: channel.clone(),
                fields,
            };
        }
    }
}

/// Names of the fields a report may change: booleans and numbers that fit an i64 or f64.
fn scalar_fields(ch: &Map<String, Value>) -> Vec<&str> {
    ch.iter()
        .filter(|(k, v)| {
            !STRUCTURAL.contains(&k.as_str())
                && match v {
                    Value::Bool(_) => true,
                    Value::Number(n) => n.is_f64() || n.is_i64(),
                    _ => false,
                }
        })
        .map(|(k, _)| k.as_str())
        .collect()
}

/// A plausible new value of the same kind, never equal to `v`: a boolean flips, a
/// fraction (0..1) takes another hundredth, an integer moves by 1 to 10 %, any other
/// number by up to 10 % (at least 0.1).
fn other_value(v: &Value, rng: &mut SplitMix64) -> Value {
    match v {
        Value::Bool(b) => json!(!b),
        Value::Number(n) if n.is_i64() => {
            let x = n.as_i64().unwrap_or(0);
            let spread = (x.unsigned_abs() / 10).max(1) as usize;
            let step = 1 + rng.below(spread) as i64;
            let step = if rng.chance(0.5) { step } else { -step };
            json!(x.saturating_add(step))
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            let new = if (0.0..=1.0).contains(&x) {
                let y = (rng.unit() * 100.0).round() / 100.0;
                if y != x {
                    y
                } else if x >= 0.5 {
                    ((x - 0.01) * 100.0).round() / 100.0
                } else {
                    ((x + 0.01) * 100.0).round() / 100.0
                }
            } else {
                let spread = (x.abs() * 0.1).max(0.1);
                let step = ((rng.unit() * spread * 10.0).round() / 10.0).max(0.1);
                let step = if rng.chance(0.5) { step } else { -step };
                ((x + step) * 10.0).round() / 10.0
            };
            json!(new)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_values_always_differ() {
        let mut rng = SplitMix64::new(4);
        for v in [
            json!(true),
            json!(false),
            json!(0),
            json!(-91),
            json!(1_000_000),
            json!(0.0),
            json!(0.5),
            json!(1.0),
            json!(21.5),
            json!(-3.2),
        ] {
            for _ in 0..200 {
                let w = other_value(&v, &mut rng);
                assert_ne!(w, v);
                assert_eq!(w.is_boolean(), v.is_boolean());
                if v.as_f64()
                    .is_some_and(|x| (0.0..=1.0).contains(&x) && v.is_f64())
                {
                    assert!((0.0..=1.0).contains(&w.as_f64().unwrap()), "{v} -> {w}");
                }
            }
        }
    }

    #[test]
    fn picks_k_distinct_changing_fields_by_seed() {
        let home = json!({"devices": {
            "d1": {"functionalChannels": {
                "0": {"index": 0, "functionalChannelType": "X", "unreach": false, "label": ""},
                "1": {"index": 1, "on": true, "dimLevel": 0.5, "power": 12, "label": "x"}
            }},
            "d2": {"functionalChannels": {"1": {"index": 1, "lowBat": false}}}
        }});
        let mut a = Burst::new(&home, 9, 2).unwrap();
        let mut b = Burst::new(&home, 9, 2).unwrap();
        for _ in 0..20 {
            let r = a.next(&home);
            assert_eq!(r, b.next(&home));
            assert_eq!((r.device.as_str(), r.channel.as_str()), ("d1", "1"));
            assert_eq!(r.fields.len(), 2);
            for (k, v) in &r.fields {
                assert_ne!(&home["devices"]["d1"]["functionalChannels"]["1"][k], v);
            }
        }
        assert!(Burst::new(&home, 1, 4).is_none());
    }
}
