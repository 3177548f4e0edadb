//! Control endpoints: how a call changes the simulated home and which events it pushes.
//!
//! Pure functions over the raw home JSON, so they are tested without a server. Each known
//! endpoint has its explicit effects (e.g. `setLockState` writes `targetLockState` into
//! `lockState`); on top of that, any body field whose name exists on the target (channel,
//! group or home) is written there, so the many configuration calls behave plausibly
//! without a rule each.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::time::cloud_datetime;

/// Every control path the simulator accepts: the protocol's (§7).
const KNOWN: &[&str] = crate::cloud::CONTROL_PATHS;

/// Body fields that address the target rather than change it, or must never be stored.
const ADDRESSING: &[&str] = &[
    "deviceId",
    "channelIndex",
    "groupId",
    "authorizationPin",
    "ruleId",
];

/// An error answer: HTTP status and the cloud's `errorCode`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallError {
    pub status: StatusCode,
    pub code: &'static str,
}

impl CallError {
    fn new(status: StatusCode, code: &'static str) -> Self {
        CallError { status, code }
    }
}

/// What a successful call answers and pushes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    /// The response body (`{}` for nearly every call).
    pub answer: Value,
    /// Push events, each `{"pushEventType": ..., ...}`, sent as one message.
    pub events: Vec<Value>,
}

/// Apply the control call `path` (below `/hmip/`) with `body` to `state` at time `now_ms`.
pub(crate) fn apply(
    state: &mut Value,
    path: &str,
    body: &Value,
    now_ms: i64,
) -> Result<Outcome, CallError> {
    if !KNOWN.contains(&path) {
        return Err(CallError::new(StatusCode::NOT_FOUND, "UNKNOWN_REQUEST"));
    }
    let body = body.as_object().cloned().unwrap_or_default();
    if let Some(outcome) = super::manage::apply(state, path, &body, now_ms) {
        return outcome;
    }
    let (area, op) = path.split_once('/').unwrap_or((path, ""));
    match area {
        "device" => device_call(state, op, &body, now_ms),
        "group" => group_call(state, op, &body, now_ms),
        "home" => home_call(state, op, &body, now_ms),
        _ => rule_call(state, &body),
    }
}

/// The push event for a changed device.
pub(crate) fn device_changed(device: &Value) -> Value {
    json!({"pushEventType": "DEVICE_CHANGED", "device": device})
}

/// The push event for a changed group.
pub(crate) fn group_changed(group: &Value) -> Value {
    json!({"pushEventType": "GROUP_CHANGED", "group": group})
}

/// The push event for a changed home.
pub(crate) fn home_changed(state: &Value) -> Value {
    json!({"pushEventType": "HOME_CHANGED", "home": state["home"]})
}

fn ok(events: Vec<Value>) -> Result<Outcome, CallError> {
    Ok(Outcome {
        answer: json!({}),
        events,
    })
}

/// Copy `body[from]` to `target[to]` when the body has it (explicit effects, written even
/// when the target lacks the field).
fn copy(target: &mut Map<String, Value>, body: &Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = body.get(from) {
        target.insert(to.to_string(), v.clone());
    }
}

/// Write every non-addressing body field whose name the target already has.
fn merge_existing(target: &mut Map<String, Value>, body: &Map<String, Value>) {
    for (k, v) in body {
        if !ADDRESSING.contains(&k.as_str()) && target.contains_key(k) {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// Parse `channelIndex`, given as a number or (leniently) a string.
fn channel_index(body: &Map<String, Value>) -> Option<String> {
    match body.get("channelIndex")? {
        Value::Number(n) => n.as_u64().map(|i| i.to_string()),
        Value::String(s) => s.parse::<u64>().ok().map(|i| i.to_string()),
        _ => None,
    }
}

/// Look up a device by the body's `deviceId`.
pub(crate) fn device_mut<'a>(state: &'a mut Value, id: &str) -> Option<&'a mut Map<String, Value>> {
    state.get_mut("devices")?.get_mut(id)?.as_object_mut()
}

fn device_call(
    state: &mut Value,
    op: &str,
    body: &Map<String, Value>,
    now_ms: i64,
) -> Result<Outcome, CallError> {
    let invalid_device = CallError::new(StatusCode::NOT_FOUND, "INVALID_DEVICE");
    let id = body
        .get("deviceId")
        .and_then(Value::as_str)
        .ok_or(invalid_device.clone())?;
    let device = device_mut(state, id).ok_or(invalid_device)?;
    if op == "setDeviceLabel" {
        copy(device, body, "label", "label");
    } else {
        let invalid_channel = CallError::new(StatusCode::NOT_FOUND, "INVALID_CHANNEL");
        let index = channel_index(body).ok_or(invalid_channel.clone())?;
        let channel = device
            .get_mut("functionalChannels")
            .and_then(|c| c.get_mut(&index))
            .and_then(Value::as_object_mut)
            .ok_or(invalid_channel)?;
        device_effects(channel, op.rsplit('/').next().unwrap_or(op), body);
        merge_existing(channel, body);
        // The authorized call addresses the access authorization channel; the door it
        // holds released is the device's door switch channel.
        if op.ends_with("setDoorLockActiveWithAuthorization") {
            for ch in device
                .get_mut("functionalChannels")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flat_map(|c| c.values_mut())
                .filter_map(Value::as_object_mut)
                .filter(|c| c.contains_key("doorLockActive"))
            {
                copy(ch, body, "doorLockActive", "doorLockActive");
            }
        }
    }
    device.insert("lastStatusUpdate".into(), json!(now_ms));
    ok(vec![device_changed(&Value::Object(device.clone()))])
}

/// The explicit effect of a device call on its channel.
fn device_effects(ch: &mut Map<String, Value>, op: &str, body: &Map<String, Value>) {
    let fields: &[(&str, &str)] = match op {
        "setSwitchState" => &[("on", "on")],
        "setDimLevel" | "setDimLevelWithTime" => &[("dimLevel", "dimLevel")],
        "setSimpleRGBColorDimLevel" | "setSimpleRGBColorDimLevelWithTime" => &[
            ("simpleRGBColorState", "simpleRGBColorState"),
            ("dimLevel", "dimLevel"),
        ],
        "setHueSaturationDimLevel" | "setHueSaturationDimLevelWithTime" => &[
            ("hue", "hue"),
            ("saturationLevel", "saturationLevel"),
            ("dimLevel", "dimLevel"),
        ],
        "setColorTemperatureDimLevel" | "setColorTemperatureDimLevelWithTime" => &[
            ("colorTemperature", "colorTemperature"),
            ("dimLevel", "dimLevel"),
        ],
        "setOpticalSignal" | "setOpticalSignalWithTime" => &[
            ("opticalSignalBehaviour", "opticalSignalBehaviour"),
            ("simpleRGBColorState", "simpleRGBColorState"),
            ("dimLevel", "dimLevel"),
        ],
        "setShutterLevel" => &[("shutterLevel", "shutterLevel")],
        "setSlatsLevel" => &[
            ("slatsLevel", "slatsLevel"),
            ("shutterLevel", "shutterLevel"),
        ],
        "setPrimaryShadingLevel" => &[("primaryShadingLevel", "primaryShadingLevel")],
        "setSecondaryShadingLevel" => &[
            ("primaryShadingLevel", "primaryShadingLevel"),
            ("secondaryShadingLevel", "secondaryShadingLevel"),
        ],
        "setLockState" => &[("targetLockState", "lockState")],
        "setMotionDetectionActive" => &[("motionDetectionActive", "motionDetectionActive")],
        "setOperationLock" => &[("operationLock", "operationLockActive")],
        "setWateringSwitchState" | "setWateringSwitchStateWithTime" => {
            &[("wateringActive", "wateringActive")]
        }
        "startLightScene" => &[("id", "lightSceneId"), ("dimLevel", "dimLevel")],
        "setVentilationLevel" => &[("ventilationLevel", "ventilationLevel")],
        "setVentilationState" => &[("ventilationState", "ventilationState")],
        "setWaterSupplyState" => &[("waterSupplyState", "waterSupplyState")],
        "setSoundFileVolumeLevel" => &[("soundFile", "soundFile"), ("volumeLevel", "volumeLevel")],
        "setClimateControlDisplay" => &[("display", "display")],
        // The authorized variant's door is another channel (see `device_call`).
        "setDoorLockActive" => &[("doorLockActive", "doorLockActive")],
        _ => &[],
    };
    for (from, to) in fields {
        copy(ch, body, from, to);
    }
    match op {
        // A light with an `on` state is on exactly when its level is above zero.
        "setDimLevel"
        | "setDimLevelWithTime"
        | "setColorTemperatureDimLevel"
        | "setColorTemperatureDimLevelWithTime"
        | "setHueSaturationDimLevel"
        | "setHueSaturationDimLevelWithTime"
        | "setSimpleRGBColorDimLevel"
        | "setSimpleRGBColorDimLevelWithTime"
        | "startLightScene"
            if ch.contains_key("on") =>
        {
            if let Some(level) = body.get("dimLevel").and_then(Value::as_f64) {
                ch.insert("on".into(), json!(level > 0.0));
            }
        }
        // The simulated shutters arrive at once, so they are never `processing`.
        "stop"
        | "setShutterLevel"
        | "setSlatsLevel"
        | "setPrimaryShadingLevel"
        | "setSecondaryShadingLevel"
            if ch.contains_key("processing") =>
        {
            ch.insert("processing".into(), json!(false));
        }
        "toggleWateringState" => {
            let on = ch
                .get("wateringActive")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            ch.insert("wateringActive".into(), json!(!on));
        }
        "resetEnergyCounter" if ch.contains_key("energyCounter") => {
            ch.insert("energyCounter".into(), json!(0.0));
        }
        "resetWaterVolume" if ch.contains_key("waterVolume") => {
            ch.insert("waterVolume".into(), json!(0.0));
        }
        _ => {}
    }
}

fn group_call(
    state: &mut Value,
    op: &str,
    body: &Map<String, Value>,
    now_ms: i64,
) -> Result<Outcome, CallError> {
    let invalid_group = CallError::new(StatusCode::NOT_FOUND, "INVALID_GROUP");
    let id = body
        .get("groupId")
        .and_then(Value::as_str)
        .ok_or(invalid_group.clone())?
        .to_string();
    let group = state
        .get_mut("groups")
        .and_then(|g| g.get_mut(&id))
        .and_then(Value::as_object_mut)
        .ok_or(invalid_group)?;
    // A siren test sounds the signal once: it changes no setting, so nothing is pushed
    // (merging its body would overwrite the group's signal setting).
    if matches!(
        op,
        "switching/alarm/testSignalAcoustic" | "switching/alarm/testSignalOptical"
    ) {
        return ok(Vec::new());
    }
    // (body field, group field) written on the group; member channels get the fields listed
    // in `to_members` where they have them.
    let (fields, to_members): (&[(&str, &str)], &[&str]) = match op {
        "heating/setSetPointTemperature" => (
            &[("setPointTemperature", "setPointTemperature")],
            &["setPointTemperature"],
        ),
        "heating/setBoost" => (&[("boost", "boostMode")], &[]),
        "heating/setBoostDuration" => (&[("boostDuration", "boostDuration")], &[]),
        "heating/setControlMode" => (&[("controlMode", "controlMode")], &[]),
        "heating/setActiveProfile" => (&[("profileIndex", "activeProfile")], &[]),
        "switching/setState" => (&[("on", "on")], &["on"]),
        "switching/setShutterLevel" => (&[("shutterLevel", "shutterLevel")], &["shutterLevel"]),
        "switching/setSlatsLevel" => (
            &[
                ("slatsLevel", "slatsLevel"),
                ("shutterLevel", "shutterLevel"),
            ],
            &["slatsLevel", "shutterLevel"],
        ),
        "switching/alarm/setOnTime" | "switching/linked/setOnTime" => {
            (&[("onTime", "onTime")], &[])
        }
        "switching/alarm/setSignalAcoustic" => (&[("signalAcoustic", "signalAcoustic")], &[]),
        "switching/alarm/setSignalOptical" => (&[("signalOptical", "signalOptical")], &[]),
        // Hot water and shutter profiles take their mode through a heating path.
        "heating/setProfileMode" => (&[("profileMode", "profileMode")], &[]),
        // A switching profile's mode reaches the channels it names.
        "switching/profile/setProfileMode" => (
            &[("profileMode", "profileMode"), ("channels", "channels")],
            &["profileMode"],
        ),
        "switching/profile/setGroupChannels" => (&[("channels", "channels")], &[]),
        "setGroupLabel" => (&[("label", "label")], &[]),
        _ => (&[], &[]),
    };
    for (from, to) in fields {
        copy(group, body, from, to);
    }
    if op == "switching/stop" && group.contains_key("processing") {
        group.insert("processing".into(), json!(false));
    }
    merge_existing(group, body);
    group.insert("lastStatusUpdate".into(), json!(now_ms));
    let mut events = vec![group_changed(&Value::Object(group.clone()))];

    let member_fields: Vec<(&str, Value)> = to_members
        .iter()
        .filter_map(|f| body.get(*f).map(|v| (*f, v.clone())))
        .collect();
    if !member_fields.is_empty() {
        for device_id in update_members(state, &id, &member_fields, now_ms) {
            events.push(device_changed(&state["devices"][&device_id]));
        }
    }
    ok(events)
}

/// Write `fields` into every channel that belongs to group `group_id` (listed in the group's
/// `channels` or naming the group in its own `groups`) and already has the field. Returns
/// the ids of the devices changed, in the home's order.
fn update_members(
    state: &mut Value,
    group_id: &str,
    fields: &[(&str, Value)],
    now_ms: i64,
) -> Vec<String> {
    let listed: Vec<(String, String)> = state["groups"][group_id]["channels"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter_map(|m| {
                    let device = m.get("deviceId")?.as_str()?.to_string();
                    let index = m.get("channelIndex")?.as_u64()?.to_string();
                    Some((device, index))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut changed = Vec::new();
    let Some(devices) = state.get_mut("devices").and_then(Value::as_object_mut) else {
        return changed;
    };
    for (device_id, device) in devices.iter_mut() {
        let Some(device) = device.as_object_mut() else {
            continue;
        };
        let mut touched = false;
        if let Some(channels) = device
            .get_mut("functionalChannels")
            .and_then(Value::as_object_mut)
        {
            for (index, channel) in channels.iter_mut() {
                let Some(channel) = channel.as_object_mut() else {
                    continue;
                };
                let in_group = channel
                    .get("groups")
                    .and_then(Value::as_array)
                    .is_some_and(|g| g.iter().any(|g| g.as_str() == Some(group_id)))
                    || listed.iter().any(|(d, i)| d == device_id && i == index);
                if !in_group {
                    continue;
                }
                for (field, value) in fields {
                    if channel.contains_key(*field) {
                        channel.insert((*field).to_string(), value.clone());
                        touched = true;
                    }
                }
            }
        }
        if touched {
            device.insert("lastStatusUpdate".into(), json!(now_ms));
            changed.push(device_id.clone());
        }
    }
    changed
}

fn home_call(
    state: &mut Value,
    op: &str,
    body: &Map<String, Value>,
    now_ms: i64,
) -> Result<Outcome, CallError> {
    let mut events = Vec::new();
    match op {
        "security/getSecurityJournal" => {
            // A read: nothing changes, nothing is pushed. The entries are kept beside the
            // home; the server answers them.
            return Ok(Outcome {
                answer: json!({"entries": []}),
                events,
            });
        }
        "security/setZonesActivation"
        | "security/setExtendedZonesActivation"
        | "security/setExtendedZonesActivationWithIgnoreList" => {
            return super::alarm::zones_call(state, op, body, now_ms);
        }
        "security/setZonesSilentAlarm" => {
            return super::alarm::silent_call(state, body, now_ms);
        }
        "heating/activateAbsenceWithPeriod" => {
            set_absence(
                state,
                "PERIOD",
                body.get("endTime").cloned().unwrap_or(Value::Null),
            );
        }
        "heating/activateAbsenceWithDuration" => {
            let minutes = body.get("duration").and_then(Value::as_i64).unwrap_or(0);
            set_absence(
                state,
                "PERIOD",
                json!(cloud_datetime(now_ms + minutes * 60_000)),
            );
        }
        "heating/activateAbsencePermanent" => set_absence(state, "PERMANENT", Value::Null),
        "heating/activateVacation" => {
            set_absence(
                state,
                "VACATION",
                body.get("endTime").cloned().unwrap_or(Value::Null),
            );
        }
        "heating/deactivateAbsence" | "heating/deactivateVacation" => {
            set_absence(state, "NOT_ABSENT", Value::Null)
        }
        "heating/setCooling" => {
            if let (Some(v), Some(climate)) = (
                body.get("cooling"),
                functional_home(state, "INDOOR_CLIMATE"),
            ) {
                climate.insert("coolingEnabled".into(), v.clone());
            }
        }
        "setLocation" => {
            if let Some(location) = state["home"]
                .get_mut("location")
                .and_then(Value::as_object_mut)
            {
                for k in ["city", "latitude", "longitude"] {
                    copy(location, body, k, k);
                }
            }
        }
        _ => {}
    }
    // Other home calls name fields of the home or of a functional home.
    if let Some(home) = state.get_mut("home").and_then(Value::as_object_mut) {
        merge_existing(home, body);
        if let Some(fhs) = home
            .get_mut("functionalHomes")
            .and_then(Value::as_object_mut)
        {
            for fh in fhs.values_mut().filter_map(Value::as_object_mut) {
                merge_existing(fh, body);
            }
        }
    }
    events.push(home_changed(state));
    ok(events)
}

fn functional_home<'a>(state: &'a mut Value, name: &str) -> Option<&'a mut Map<String, Value>> {
    state
        .get_mut("home")?
        .get_mut("functionalHomes")?
        .get_mut(name)?
        .as_object_mut()
}

fn set_absence(state: &mut Value, kind: &str, end: Value) {
    if let Some(climate) = functional_home(state, "INDOOR_CLIMATE") {
        climate.insert("absenceType".into(), json!(kind));
        climate.insert("absenceEndTime".into(), end);
    }
}

fn rule_call(state: &mut Value, body: &Map<String, Value>) -> Result<Outcome, CallError> {
    let rule_id = body
        .get("ruleId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(rule) = state["home"]
        .get_mut("ruleMetaDatas")
        .and_then(|r| r.get_mut(&rule_id))
        .and_then(Value::as_object_mut)
    {
        copy(rule, body, "enabled", "active");
    }
    ok(vec![home_changed(state)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> Value {
        json!({
            "home": {"id": "h", "functionalHomes": {
                "INDOOR_CLIMATE": {"absenceType": "NOT_ABSENT", "absenceEndTime": null, "coolingEnabled": false},
                "SECURITY_AND_ALARM": {"securityZones": {"INTERNAL": "zi", "EXTERNAL": "ze"}}}},
            "devices": {
                "d1": {"id": "d1", "lastStatusUpdate": 1, "functionalChannels": {
                    "0": {"functionalChannelType": "DEVICE_OPERATIONLOCK", "operationLockActive": false},
                    "1": {"functionalChannelType": "HEATING_THERMOSTAT_CHANNEL", "groups": ["g"], "setPointTemperature": 20.0, "futureField": "x"}}},
                "d2": {"id": "d2", "lastStatusUpdate": 1, "functionalChannels": {
                    "1": {"functionalChannelType": "DOOR_LOCK_CHANNEL", "groups": ["g"], "lockState": "LOCKED"}}}
            },
            "groups": {
                "g": {"id": "g", "type": "HEATING", "setPointTemperature": 20.0, "boostMode": false, "channels": []},
                "zi": {"id": "zi", "type": "SECURITY_ZONE", "active": false},
                "ze": {"id": "ze", "type": "SECURITY_ZONE", "active": false}
            },
            "clients": {}
        })
    }

    #[test]
    fn lock_state_takes_the_target_and_keeps_unknown_fields() {
        let mut h = home();
        let body = json!({"deviceId": "d2", "channelIndex": 1, "targetLockState": "OPEN", "authorizationPin": "1234"});
        let out = apply(&mut h, "device/control/setLockState", &body, 99).unwrap();
        let ch = &h["devices"]["d2"]["functionalChannels"]["1"];
        assert_eq!(ch["lockState"], "OPEN");
        assert!(
            ch.get("authorizationPin").is_none(),
            "a PIN must never be stored"
        );
        assert_eq!(h["devices"]["d2"]["lastStatusUpdate"], 99);
        assert_eq!(out.events[0]["device"], h["devices"]["d2"]);
    }

    #[test]
    fn set_point_reaches_only_member_channels_that_have_it() {
        let mut h = home();
        let body = json!({"groupId": "g", "setPointTemperature": 22.5});
        let out = apply(&mut h, "group/heating/setSetPointTemperature", &body, 5).unwrap();
        assert_eq!(h["groups"]["g"]["setPointTemperature"], 22.5);
        assert_eq!(
            h["devices"]["d1"]["functionalChannels"]["1"]["setPointTemperature"],
            22.5
        );
        assert_eq!(
            h["devices"]["d1"]["functionalChannels"]["1"]["futureField"],
            "x"
        );
        assert!(h["devices"]["d2"]["functionalChannels"]["1"]
            .get("setPointTemperature")
            .is_none());
        let kinds: Vec<_> = out
            .events
            .iter()
            .map(|e| e["pushEventType"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["GROUP_CHANGED", "DEVICE_CHANGED"]);
    }

    #[test]
    fn errors_name_what_is_missing() {
        let mut h = home();
        let e = apply(
            &mut h,
            "device/control/setSwitchState",
            &json!({"deviceId": "x", "channelIndex": 1}),
            0,
        );
        assert_eq!(e.unwrap_err().code, "INVALID_DEVICE");
        let e = apply(
            &mut h,
            "device/control/setSwitchState",
            &json!({"deviceId": "d1", "channelIndex": 7}),
            0,
        );
        assert_eq!(e.unwrap_err().code, "INVALID_CHANNEL");
        let e = apply(
            &mut h,
            "group/heating/setBoost",
            &json!({"groupId": "nope", "boost": true}),
            0,
        );
        assert_eq!(e.unwrap_err().code, "INVALID_GROUP");
        let e = apply(&mut h, "device/control/selfDestruct", &json!({}), 0).unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::NOT_FOUND, "UNKNOWN_REQUEST")
        );
        assert_eq!(h, home(), "failed calls change nothing");
    }

    #[test]
    fn absence_and_operation_lock() {
        let mut h = home();
        apply(
            &mut h,
            "home/heating/activateAbsenceWithDuration",
            &json!({"duration": 60}),
            0,
        )
        .unwrap();
        let climate = &h["home"]["functionalHomes"]["INDOOR_CLIMATE"];
        assert_eq!(
            (
                climate["absenceType"].as_str(),
                climate["absenceEndTime"].as_str()
            ),
            (Some("PERIOD"), Some("1970_01_01 01:00"))
        );
        let body = json!({"deviceId": "d1", "channelIndex": 0, "operationLock": true});
        apply(&mut h, "device/configuration/setOperationLock", &body, 0).unwrap();
        assert_eq!(
            h["devices"]["d1"]["functionalChannels"]["0"]["operationLockActive"],
            true
        );
    }
}
