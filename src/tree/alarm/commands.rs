//! ioBroker.hmip 3.x's other commands on the security solution, for migrated scripts:
//!
//! - `setSecurityZonesActivation{None,Internal,External,InternalAndExternal}`: buttons that
//!   arm the classic pair, with the call of the panel kind like `activateSecurityZones`
//!   (Internal arms ABSENCE on the request-based panel, which has no internal-only mode).
//! - `setZonesSilentAlarm{…}`: buttons, `home/security/setZonesSilentAlarm
//!   {zonesSilentAlarm: {INTERNAL, EXTERNAL}}` on either panel, the body ioBroker.hmip 3.x
//!   and homematicip 2.19.1 send (no public capture of the call on a request-based panel
//!   says it takes other labels).
//! - `setOnTime`, `setSignalAcoustic`, `setSignalOptical`, `testSignalAcoustic`,
//!   `testSignalOptical`: the `group/switching/alarm/*` calls of the home's alarm group
//!   (`securitySwitchingGroups.ALARM`, an `ALARM_SWITCHING` group). ioBroker.hmip 3.x names
//!   the security groups (`functionalGroups`) for the on-time and the whole
//!   `securitySwitchingGroups` object for the signals, so its calls go to groups of the
//!   wrong type or to none; the alarm group is the one those calls are made for.

use serde_json::{json, Value};

use super::{arm_call, panel};
use crate::cloud::{ControlCall, CurrentState};

/// The zone-activation buttons: (field, internal, external).
pub const ACTIVATION_BUTTONS: &[(&str, bool, bool)] = &[
    ("setSecurityZonesActivationNone", false, false),
    ("setSecurityZonesActivationInternal", true, false),
    ("setSecurityZonesActivationExternal", false, true),
    ("setSecurityZonesActivationInternalAndExternal", true, true),
];
/// The silent-alarm buttons: (field, internal, external).
pub const SILENT_BUTTONS: &[(&str, bool, bool)] = &[
    ("setZonesSilentAlarmNone", false, false),
    ("setZonesSilentAlarmInternal", true, false),
    ("setZonesSilentAlarmExternal", false, true),
    ("setZonesSilentAlarmInternalAndExternal", true, true),
];
/// The silent-alarm call.
pub const SILENT_PATH: &str = "home/security/setZonesSilentAlarm";

/// The alarm group commands: (field, path, body key).
pub const GROUP_COMMANDS: &[(&str, &str, &str)] = &[
    ("setOnTime", "group/switching/alarm/setOnTime", "onTime"),
    (
        "setSignalAcoustic",
        "group/switching/alarm/setSignalAcoustic",
        "signalAcoustic",
    ),
    (
        "setSignalOptical",
        "group/switching/alarm/setSignalOptical",
        "signalOptical",
    ),
    (
        "testSignalAcoustic",
        "group/switching/alarm/testSignalAcoustic",
        "signalAcoustic",
    ),
    (
        "testSignalOptical",
        "group/switching/alarm/testSignalOptical",
        "signalOptical",
    ),
];

/// The home's alarm group: `securitySwitchingGroups.ALARM`, if the home has that group
/// and it is an `ALARM_SWITCHING` group.
fn alarm_group(state: &CurrentState) -> Option<&str> {
    let id = state
        .home
        .fields
        .get("functionalHomes")?
        .get(super::SOLUTION)?
        .get("securitySwitchingGroups")?
        .get("ALARM")?
        .as_str()?;
    state
        .groups
        .get(id)
        .filter(|g| g.group_type == "ALARM_SWITCHING")
        .map(|g| g.id.as_str())
}

/// A button is pressed by writing true.
fn pressed(val: &Value) -> Result<(), String> {
    if *val == Value::Bool(true) {
        Ok(())
    } else {
        Err(format!("a button is pressed by writing true, got {val}"))
    }
}

/// The call of one of these commands; None when `field` is none of them. The home has the
/// security solution (the caller checked).
pub fn write(
    state: &CurrentState,
    field: &str,
    val: &Value,
) -> Option<Result<ControlCall, String>> {
    if let Some(&(_, i, e)) = ACTIVATION_BUTTONS.iter().find(|b| b.0 == field) {
        let panel = panel(state)?;
        return Some(pressed(val).map(|()| arm_call(panel, i, e)));
    }
    if let Some(&(_, i, e)) = SILENT_BUTTONS.iter().find(|b| b.0 == field) {
        return Some(pressed(val).map(|()| ControlCall {
            path: SILENT_PATH.into(),
            body: json!({"zonesSilentAlarm": {"INTERNAL": i, "EXTERNAL": e}}),
        }));
    }
    let &(_, path, key) = GROUP_COMMANDS.iter().find(|c| c.0 == field)?;
    let Some(group) = alarm_group(state) else {
        return Some(Err(
            "the home has no alarm switching group (securitySwitchingGroups.ALARM)".into(),
        ));
    };
    let value = if key == "onTime" {
        // A text state, as in ioBroker.hmip; the cloud takes seconds as a number.
        match on_time(val) {
            Some(s) => json!(s),
            None => {
                return Some(Err(format!(
                    "{val} is not a number of seconds (0 to 86400)"
                )))
            }
        }
    } else {
        let states = super::row(field).map(|r| r.states).unwrap_or_default();
        match val.as_str().filter(|s| states.contains(s)) {
            Some(s) => json!(s),
            None => return Some(Err(format!("{val} is not one of {}", states.join(", ")))),
        }
    };
    Some(Ok(ControlCall {
        path: path.into(),
        body: json!({"groupId": group, key: value}),
    }))
}

/// Seconds from the text written to `setOnTime` (a string state takes no number).
fn on_time(val: &Value) -> Option<f64> {
    let s = val.as_str()?.trim().parse::<f64>().ok()?;
    (s.is_finite() && (0.0..=86_400.0).contains(&s)).then_some(s)
}

/// What the write column of docs/states.md says for one of these commands.
pub fn doc_write(field: &str) -> Option<&'static str> {
    if ACTIVATION_BUTTONS.iter().any(|b| b.0 == field) {
        return Some("as `activateSecurityZones` with the button's zones (Internal arms ABSENCE on a request-based panel)");
    }
    if SILENT_BUTTONS.iter().any(|b| b.0 == field) {
        return Some(
            "`home/security/setZonesSilentAlarm` {zonesSilentAlarm: {INTERNAL, EXTERNAL}}",
        );
    }
    Some(match field {
        "setOnTime" => "`group/switching/alarm/setOnTime` {groupId: securitySwitchingGroups.ALARM, onTime: seconds}",
        "setSignalAcoustic" => "`group/switching/alarm/setSignalAcoustic` {groupId: securitySwitchingGroups.ALARM, signalAcoustic}",
        "setSignalOptical" => "`group/switching/alarm/setSignalOptical` {groupId: securitySwitchingGroups.ALARM, signalOptical}",
        "testSignalAcoustic" => "`group/switching/alarm/testSignalAcoustic` {groupId: securitySwitchingGroups.ALARM, signalAcoustic}",
        "testSignalOptical" => "`group/switching/alarm/testSignalOptical` {groupId: securitySwitchingGroups.ALARM, signalOptical}",
        _ => return None,
    })
}
