//! What blocks arming a request-based panel: read from the answer of
//! `setExtendedZonesActivation`, shown in `alarmActivationProblems` and one log line, and
//! the channels "arm anyway" asks the cloud to ignore.
//!
//! The answer is `{"activationProblems": [...], "channelActivationProblems":
//! {"<deviceId>:<channel>": ["WINDOW_NOT_CLOSED", …]}}`; anything in it means nothing was
//! armed (the call still answers 200).

use serde_json::{json, Map, Value};

use super::{state_id, ARM_ANYWAY, PROBLEMS};
use crate::cloud::{ControlCall, CurrentState};
use crate::compact::Val;
use crate::tree::TreeValue;

/// One thing that blocked arming: a channel of a device with its reasons, or (without a
/// device) a reason the cloud gave for the whole home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The device, if the reason names one.
    pub device_id: Option<String>,
    /// Its channel.
    pub channel: Option<u32>,
    /// The device's label, if the home knows the device.
    pub label: Option<String>,
    /// The cloud's reasons, e.g. `WINDOW_NOT_CLOSED`.
    pub reasons: Vec<String>,
}

/// Reasons as strings, whatever shape the cloud sent (a list, one value, objects).
fn reasons(v: &Value) -> Vec<String> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter(|r| !r.is_null())
        .map(|r| r.as_str().map_or_else(|| r.to_string(), str::to_string))
        .collect()
}

/// The problems an arming call's answer reports; empty = armed (or arming).
pub fn parse(state: &CurrentState, answer: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    let general = reasons(answer.get("activationProblems").unwrap_or(&Value::Null));
    if !general.is_empty() {
        out.push(Problem {
            device_id: None,
            channel: None,
            label: None,
            reasons: general,
        });
    }
    if let Some(channels) = answer
        .get("channelActivationProblems")
        .and_then(Value::as_object)
    {
        for (key, why) in channels {
            let (device, channel) = key.split_once(':').unwrap_or((key, ""));
            let why = reasons(why);
            if why.is_empty() {
                continue;
            }
            out.push(Problem {
                device_id: Some(device.to_string()),
                channel: channel.parse().ok(),
                label: state.devices.get(device).and_then(|d| d.label.clone()),
                reasons: why,
            });
        }
    }
    out
}

/// `alarmActivationProblems`: the problems as JSON (`[]` when there are none), each
/// `{deviceId, channelIndex, label, reasons}`.
pub fn state_value(ns: &str, state: &CurrentState, problems: &[Problem]) -> TreeValue {
    let list: Vec<Value> = problems
        .iter()
        .map(|p| {
            let mut m = Map::new();
            if let Some(d) = &p.device_id {
                m.insert("deviceId".into(), json!(d));
            }
            if let Some(c) = p.channel {
                m.insert("channelIndex".into(), json!(c));
            }
            if let Some(l) = &p.label {
                m.insert("label".into(), json!(l));
            }
            m.insert("reasons".into(), json!(p.reasons));
            Value::Object(m)
        })
        .collect();
    TreeValue {
        id: state_id(ns, state, PROBLEMS),
        val: json!(Value::Array(list).to_string()),
    }
}

/// The `alarmMode` word an arming call asked for.
pub fn requested_mode(call: &ControlCall) -> &'static str {
    let z = &call.body["zonesActivation"];
    let on = |k: &str| z[k] == json!(true);
    if on("ABSENCE") {
        return "full";
    }
    if on("PRESENCE") {
        return "perimeter";
    }
    match (on("INTERNAL"), on("EXTERNAL")) {
        (true, true) => "full",
        (true, false) => "internal",
        (false, true) => "perimeter",
        (false, false) => "disarmed",
    }
}

/// The one log line for a blocked arming: each device by label and id, with its reasons.
pub fn message(call: &ControlCall, problems: &[Problem]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|p| {
            let why = p.reasons.join(", ");
            match (&p.device_id, p.channel) {
                (Some(id), ch) => {
                    let label = p.label.as_deref().unwrap_or("unknown device");
                    let ch = ch.map(|c| format!(" channel {c}")).unwrap_or_default();
                    format!("{label} ({id}{ch}): {why}")
                }
                (None, _) => format!("the home: {why}"),
            }
        })
        .collect();
    format!(
        "alarm not armed ({} requested), nothing was armed: {}; close or fix them, or write {ARM_ANYWAY} to arm anyway",
        requested_mode(call),
        parts.join("; ")
    )
}

/// The channels "arm anyway" names in `ignorableDeviceChannels`: those listed in
/// `alarmActivationProblems` (`last`, the last blocked attempt, which the user saw); when it
/// lists none, the window and door contacts of the zones to arm that are open or tilted now
/// (what the cloud would block on).
pub fn ignorable_channels(
    state: &CurrentState,
    last: Option<&Value>,
    internal: bool,
    external: bool,
) -> Vec<Value> {
    fn add(out: &mut Vec<Value>, device: &str, channel: u64) {
        let v = json!({"deviceId": device, "channelIndex": channel});
        if !out.contains(&v) {
            out.push(v);
        }
    }
    let mut out: Vec<Value> = Vec::new();
    let listed: Vec<Value> = last
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .and_then(|v: Value| v.as_array().cloned())
        .unwrap_or_default();
    for p in &listed {
        if let (Some(d), Some(c)) = (
            p.get("deviceId").and_then(Value::as_str),
            p.get("channelIndex").and_then(Value::as_u64),
        ) {
            add(&mut out, d, c);
        }
    }
    if !out.is_empty() {
        return out;
    }
    let label = if internal {
        "ABSENCE"
    } else if external {
        "PRESENCE"
    } else {
        return out;
    };
    for g in state.groups.values() {
        if g.group_type != "SECURITY_ZONE" || g.label.as_deref() != Some(label) {
            continue;
        }
        for m in g
            .fields
            .get("channels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(d), Some(c)) = (
                m.get("deviceId").and_then(Value::as_str),
                m.get("channelIndex").and_then(Value::as_u64),
            ) else {
                continue;
            };
            let open = state
                .devices
                .get(d)
                .and_then(|dev| dev.channels.get(&c.to_string()))
                .and_then(|ch| ch.fields.get("windowState"))
                .and_then(Val::as_str)
                .is_some_and(|w| w == "OPEN" || w == "TILTED");
            if open {
                add(&mut out, d, c);
            }
        }
    }
    out
}
