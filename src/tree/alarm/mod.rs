//! The alarm system of a home: its mode read from the two security zones, and writes that
//! arm or disarm it, for both alarm panels eQ-3 runs (protocol notes §9).
//!
//! The **classic** panel has two additive zones labelled `INTERNAL` and `EXTERNAL`, armed
//! with `setZonesActivation`. The **request-based** panel (from July 2026) has two exclusive
//! modes labelled `PRESENCE` and `ABSENCE`, armed with `setExtendedZonesActivation`, which
//! answers with the sensors that block arming ([`problems`]); the old call answers 400 there.
//! The panel kind comes from the zones' labels, as every public client decides it;
//! `securityZoneActivationMode` `ACTIVATION_REQUEST_BASED` confirms it.
//!
//! `alarmMode` speaks the app's words, the same on both panels:
//!
//! | mode | classic zones active | request-based zone active | the app calls it |
//! |---|---|---|---|
//! | `disarmed` | none | none | Unscharf |
//! | `perimeter` | EXTERNAL | PRESENCE | Hüllschutz |
//! | `full` | INTERNAL and EXTERNAL | ABSENCE | Vollschutz |
//! | `internal` | INTERNAL only | (none: refused) | (not offered by the app; shown when set elsewhere) |
//!
//! Beside it, ioBroker.hmip 3.1.1's four states with its semantics, for migrated scripts:
//! `securityZonesArmedMode` (the zones in the panel's own words), `activateSecurityZones`
//! (write-only, any of those words in any case), `internalZoneArmed` and
//! `externalZoneArmed` (the classic pair on either panel: ABSENCE reads as both, PRESENCE as
//! external only).
//!
//! ioBroker.hmip 3.x's other states of the solution are here too: the last alarm's device
//! and trigger ([`values`]), its buttons and the alarm group's settings ([`commands`]), and
//! the security journal ([`journal`]), which the answer of its read fills.

pub mod commands;
pub mod journal;
pub mod problems;

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::rows::{ACOUSTIC_SIGNALS, OPTICAL_SIGNALS};
use super::table::FieldRow;
use super::{ids, TreeValue};
use crate::cloud::{ControlCall, CurrentState};

/// The solution the alarm states belong to, under `homes.<id>.functionalHomes.securityAndAlarm`.
pub const SOLUTION: &str = "SECURITY_AND_ALARM";

/// The mode state's field name.
pub const FIELD: &str = "alarmMode";
/// "Arm anyway": named after `alarmMode` (it takes the same words and sits beside it in
/// every sorted list) and after the app's and Home Assistant's "arm anyway", so a user who
/// reads `alarmActivationProblems` finds the way past them next to the mode.
pub const ARM_ANYWAY: &str = "alarmModeArmAnyway";
/// What blocked the last arming (JSON), empty (`[]`) after a successful one.
pub const PROBLEMS: &str = "alarmActivationProblems";
/// ioBroker.hmip's armed zones in the panel's words.
pub const ARMED_MODE: &str = "securityZonesArmedMode";
/// ioBroker.hmip's write-only arming command.
pub const ACTIVATE: &str = "activateSecurityZones";
/// ioBroker.hmip's classic pair.
pub const INTERNAL_ARMED: &str = "internalZoneArmed";
/// ioBroker.hmip's classic pair.
pub const EXTERNAL_ARMED: &str = "externalZoneArmed";

/// The device that triggered the last alarm (`alarmEventDeviceChannel.deviceId`).
pub const EVENT_DEVICE_ID: &str = "alarmEventDeviceId";
/// That device's label.
pub const EVENT_DEVICE_LABEL: &str = "alarmEventDeviceLabel";
/// The cloud's `alarmEventTriggerId`.
pub const EVENT_TRIGGER_ID: &str = "alarmEventTriggerId";

/// The modes of `alarmMode`, as the state's `states` map.
pub const MODES: &[&str] = &["disarmed", "perimeter", "full", "internal"];
/// The modes "arm anyway" arms (disarming is never blocked).
pub const ARM_MODES: &[&str] = &["perimeter", "full"];
/// ioBroker.hmip's zone words, in its order: the request-based panel's, then the classic's.
pub const ZONE_WORDS: &[&str] = &[
    "OFF",
    "PRESENCE",
    "ABSENCE",
    "INTERNAL",
    "EXTERNAL",
    "INTERNAL_AND_EXTERNAL",
];

const SECTION: &[&str] = &[SOLUTION];
const CLASSIC_PATH: &str = "home/security/setZonesActivation";
const EXTENDED_PATH: &str = "home/security/setExtendedZonesActivation";
const IGNORE_LIST_PATH: &str = "home/security/setExtendedZonesActivationWithIgnoreList";

/// The alarm states' rows: objects for every home with the security solution. Their
/// values and calls come from this module, not from the generic table.
pub static ROWS: &[FieldRow] = &[
    FieldRow::new(SECTION, FIELD, "text", "string")
        .states(MODES)
        .write_as(CLASSIC_PATH, "zonesActivation"),
    // Write-only like ioBroker.hmip's commands: the mode it arms shows on `alarmMode`.
    FieldRow::command(
        SECTION,
        ARM_ANYWAY,
        "text",
        "string",
        IGNORE_LIST_PATH,
        "zonesActivation",
    )
    .states(ARM_MODES),
    FieldRow::new(SECTION, PROBLEMS, "json", "string"),
    FieldRow::new(SECTION, ARMED_MODE, "text", "string").states(ZONE_WORDS),
    FieldRow::command(
        SECTION,
        ACTIVATE,
        "text",
        "string",
        CLASSIC_PATH,
        "zonesActivation",
    )
    .states(ZONE_WORDS),
    // ioBroker.hmip's role and flags (read-only indicators).
    FieldRow::new(SECTION, INTERNAL_ARMED, "indicator", "boolean"),
    FieldRow::new(SECTION, EXTERNAL_ARMED, "indicator", "boolean"),
    // The last alarm's device and trigger, as ioBroker.hmip 3.x reads them from the
    // security solution (null until the cloud names one).
    FieldRow::new(SECTION, EVENT_DEVICE_ID, "text", "string"),
    FieldRow::new(SECTION, EVENT_DEVICE_LABEL, "text", "string"),
    FieldRow::new(SECTION, EVENT_TRIGGER_ID, "text", "string"),
    // The security journal (`journal`): a button and what its answer fills.
    FieldRow::button(SECTION, journal::READ, journal::PATH),
    FieldRow::new(SECTION, journal::JOURNAL, "json", "string"),
    FieldRow::new(SECTION, journal::TIMESTAMP, "value.time", "number"),
    FieldRow::new(SECTION, journal::EVENT_TYPE, "text", "string"),
    FieldRow::new(SECTION, journal::LABEL, "text", "string"),
    // ioBroker.hmip's buttons (`commands`): the path shown is the classic panel's; the
    // call follows the panel kind.
    FieldRow::button(SECTION, "setSecurityZonesActivationNone", CLASSIC_PATH),
    FieldRow::button(SECTION, "setSecurityZonesActivationInternal", CLASSIC_PATH),
    FieldRow::button(SECTION, "setSecurityZonesActivationExternal", CLASSIC_PATH),
    FieldRow::button(
        SECTION,
        "setSecurityZonesActivationInternalAndExternal",
        CLASSIC_PATH,
    ),
    FieldRow::button(SECTION, "setZonesSilentAlarmNone", commands::SILENT_PATH),
    FieldRow::button(
        SECTION,
        "setZonesSilentAlarmInternal",
        commands::SILENT_PATH,
    ),
    FieldRow::button(
        SECTION,
        "setZonesSilentAlarmExternal",
        commands::SILENT_PATH,
    ),
    FieldRow::button(
        SECTION,
        "setZonesSilentAlarmInternalAndExternal",
        commands::SILENT_PATH,
    ),
    // The alarm group's settings and tests (`commands`). Readable and writable text as in
    // ioBroker.hmip 3.x; the cloud reports no value for them, so they show what was
    // written last.
    FieldRow::new(SECTION, "setOnTime", "text", "string")
        .write_as("group/switching/alarm/setOnTime", "onTime"),
    FieldRow::new(SECTION, "setSignalAcoustic", "text", "string")
        .states(ACOUSTIC_SIGNALS)
        .write_as("group/switching/alarm/setSignalAcoustic", "signalAcoustic"),
    FieldRow::new(SECTION, "setSignalOptical", "text", "string")
        .states(OPTICAL_SIGNALS)
        .write_as("group/switching/alarm/setSignalOptical", "signalOptical"),
    FieldRow::new(SECTION, "testSignalAcoustic", "text", "string")
        .states(ACOUSTIC_SIGNALS)
        .write_as("group/switching/alarm/testSignalAcoustic", "signalAcoustic"),
    FieldRow::new(SECTION, "testSignalOptical", "text", "string")
        .states(OPTICAL_SIGNALS)
        .write_as("group/switching/alarm/testSignalOptical", "signalOptical"),
];

/// The row of an alarm state, by field name.
pub fn row(field: &str) -> Option<&'static FieldRow> {
    ROWS.iter().find(|r| r.field == field)
}

/// What the write column of docs/states.md says for an alarm state (None: read-only).
pub fn doc_write(field: &str) -> Option<&'static str> {
    Some(match field {
        FIELD | ACTIVATE => "classic: `home/security/setZonesActivation` {zonesActivation: {INTERNAL, EXTERNAL}}; request-based: `home/security/setExtendedZonesActivation` {zonesActivation: {PRESENCE, ABSENCE}, ignoreLowBat: true}",
        ARM_ANYWAY => "classic: `home/security/setZonesActivation`; request-based: `home/security/setExtendedZonesActivationWithIgnoreList` {zonesActivation, ignorableDeviceChannels, ignoreLowBat: true}",
        journal::READ => "`home/security/getSecurityJournal`; the answer fills `securityJournal*`",
        _ => return commands::doc_write(field),
    })
}

/// The two alarm panels eQ-3 runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Additive zones `INTERNAL` and `EXTERNAL`, armed with `setZonesActivation`.
    Classic,
    /// Exclusive modes `PRESENCE` and `ABSENCE`, armed with `setExtendedZonesActivation`.
    RequestBased,
}

/// The home's security zone groups: (label, group).
fn zones(state: &CurrentState) -> impl Iterator<Item = (&str, &crate::cloud::Group)> {
    state
        .groups
        .values()
        .filter(|g| g.group_type == "SECURITY_ZONE")
        .map(|g| (g.label.as_deref().unwrap_or_default(), g))
}

/// The security functional home, if the home has the solution.
fn security_home(state: &CurrentState) -> Option<&Value> {
    state.home.fields.get("functionalHomes")?.get(SOLUTION)
}

/// The panel kind of a home: from its zones' labels, else from the activation mode;
/// None without the security solution.
pub fn panel(state: &CurrentState) -> Option<Panel> {
    let security = security_home(state)?;
    let labels: Vec<&str> = zones(state).map(|(l, _)| l).collect();
    Some(
        if labels.iter().any(|l| matches!(*l, "ABSENCE" | "PRESENCE")) {
            Panel::RequestBased
        } else if labels.iter().any(|l| matches!(*l, "INTERNAL" | "EXTERNAL")) {
            Panel::Classic
        } else if security
            .get("securityZoneActivationMode")
            .and_then(Value::as_str)
            == Some("ACTIVATION_REQUEST_BASED")
        {
            Panel::RequestBased
        } else {
            Panel::Classic
        },
    )
}

/// Is the zone labelled `label` armed? A zone without `active` is not (the request-based
/// panel leaves the field out of a disarmed zone).
fn zone_active(state: &CurrentState, label: &str) -> bool {
    zones(state).any(|(l, g)| l == label && g.fields.get("active") == Some(&json!(true)))
}

/// What is armed, as the classic pair (internal, external) on either panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armed {
    /// The panel kind.
    pub panel: Panel,
    /// The inside is watched: classic INTERNAL, request-based ABSENCE.
    pub internal: bool,
    /// The outer shell is watched: classic EXTERNAL, request-based ABSENCE or PRESENCE.
    pub external: bool,
}

impl Armed {
    /// What a home's zones say now; None without the security solution.
    pub fn of(state: &CurrentState) -> Option<Armed> {
        let panel = panel(state)?;
        let (internal, external) = match panel {
            Panel::Classic => (
                zone_active(state, "INTERNAL"),
                zone_active(state, "EXTERNAL"),
            ),
            Panel::RequestBased => {
                let away = zone_active(state, "ABSENCE");
                (away, away || zone_active(state, "PRESENCE"))
            }
        };
        Some(Armed {
            panel,
            internal,
            external,
        })
    }

    /// The `alarmMode` word.
    pub fn mode(self) -> &'static str {
        match (self.internal, self.external) {
            (false, false) => "disarmed",
            (false, true) => "perimeter",
            (true, true) => "full",
            (true, false) => "internal",
        }
    }

    /// ioBroker.hmip's `securityZonesArmedMode`: the zones in the panel's own words.
    pub fn zone_words(self) -> &'static str {
        match (self.panel, self.internal, self.external) {
            (_, false, false) => "OFF",
            (Panel::RequestBased, true, _) => "ABSENCE",
            (Panel::RequestBased, false, true) => "PRESENCE",
            (Panel::Classic, true, true) => "INTERNAL_AND_EXTERNAL",
            (Panel::Classic, true, false) => "INTERNAL",
            (Panel::Classic, false, true) => "EXTERNAL",
        }
    }
}

/// A group's fields as its states show them: a security zone that leaves `active` out (a
/// disarmed zone of the request-based panel) shows `active: false`; without it, the
/// zone's `active` state kept showing `true` after a disarming.
pub fn zone_fields(g: &crate::cloud::Group) -> Cow<'_, Map<String, Value>> {
    if g.group_type != "SECURITY_ZONE" || g.fields.contains_key("active") {
        return Cow::Borrowed(&g.fields);
    }
    let mut fields = g.fields.clone();
    fields.insert("active".into(), json!(false));
    Cow::Owned(fields)
}

/// The full id of an alarm state of the home.
pub fn state_id(ns: &str, state: &CurrentState, field: &str) -> String {
    format!(
        "{}.functionalHomes.{}.{field}",
        ids::home(ns, &state.home.id),
        ids::solution_segment(SOLUTION)
    )
}

/// The values the zones give: `alarmMode` and ioBroker.hmip's three readable states;
/// empty without the security solution.
pub fn values(ns: &str, state: &CurrentState) -> Vec<TreeValue> {
    let Some(armed) = Armed::of(state) else {
        return Vec::new();
    };
    let value = |field: &str, val: Value| TreeValue {
        id: state_id(ns, state, field),
        val,
    };
    // The last alarm's device, as ioBroker.hmip 3.x names it (null when none is known).
    let security = security_home(state);
    let field = |f: &str| security.and_then(|s| s.get(f)).filter(|v| !v.is_null());
    let device_id = field("alarmEventDeviceChannel")
        .and_then(|c| c.get("deviceId"))
        .and_then(Value::as_str);
    let label = device_id
        .and_then(|d| state.devices.get(d))
        .and_then(|d| d.label.as_deref());
    vec![
        value(FIELD, json!(armed.mode())),
        value(ARMED_MODE, json!(armed.zone_words())),
        value(INTERNAL_ARMED, json!(armed.internal)),
        value(EXTERNAL_ARMED, json!(armed.external)),
        value(EVENT_DEVICE_ID, json!(device_id)),
        value(EVENT_DEVICE_LABEL, json!(label)),
        value(
            EVENT_TRIGGER_ID,
            field("alarmEventTriggerId").cloned().unwrap_or(Value::Null),
        ),
    ]
}

/// The classic pair (internal, external) an `alarmMode` word asks for.
fn mode_pair(mode: &str) -> Option<(bool, bool)> {
    Some(match mode {
        "disarmed" => (false, false),
        "perimeter" => (false, true),
        "full" => (true, true),
        "internal" => (true, false),
        _ => return None,
    })
}

/// The classic pair one of ioBroker.hmip's zone words asks for (as ioBroker.hmip maps them:
/// PRESENCE is the outer shell, ABSENCE both).
fn zone_words_pair(words: &str) -> Option<(bool, bool)> {
    Some(match words {
        "OFF" => (false, false),
        "PRESENCE" | "EXTERNAL" => (false, true),
        "ABSENCE" | "INTERNAL_AND_EXTERNAL" => (true, true),
        "INTERNAL" => (true, false),
        _ => return None,
    })
}

/// The `zonesActivation` body for the classic pair on a panel. The request-based modes
/// exclude each other: away (internal) is ABSENCE, the shell alone PRESENCE.
fn zones_activation(panel: Panel, internal: bool, external: bool) -> Value {
    match panel {
        Panel::Classic => json!({"INTERNAL": internal, "EXTERNAL": external}),
        Panel::RequestBased => json!({"PRESENCE": external && !internal, "ABSENCE": internal}),
    }
}

/// The call that arms the classic pair on a panel: the old call on the classic panel, the
/// extended one (which reports what blocks arming) on the request-based panel. A low
/// battery cannot be fixed at arming time, so it does not block (`ignoreLowBat`), as the
/// app, Home Assistant and ioBroker.hmip do.
pub(crate) fn arm_call(panel: Panel, internal: bool, external: bool) -> ControlCall {
    let zones = zones_activation(panel, internal, external);
    match panel {
        Panel::Classic => ControlCall {
            path: CLASSIC_PATH.into(),
            body: json!({ "zonesActivation": zones }),
        },
        Panel::RequestBased => ControlCall {
            path: EXTENDED_PATH.into(),
            body: json!({"zonesActivation": zones, "ignoreLowBat": true}),
        },
    }
}

/// A user's write of one of the alarm states, as the call that makes it happen: None when
/// `field` is not a writable alarm state; an error (for the user) for a value that does not
/// fit or a home without the security solution. `param(field)` reads another state of the
/// same section (the problems of the last attempt, for "arm anyway").
pub fn write(
    state: &CurrentState,
    field: &str,
    val: &Value,
    param: &dyn Fn(&str) -> Option<Value>,
) -> Option<Result<ControlCall, String>> {
    let own = matches!(field, FIELD | ARM_ANYWAY | ACTIVATE | journal::READ);
    if !own && !row(field).is_some_and(FieldRow::writable) {
        return None;
    }
    let Some(panel) = panel(state) else {
        return Some(Err("the home has no alarm system".into()));
    };
    if field == journal::READ {
        return Some(match val {
            Value::Bool(true) => Ok(journal::call()),
            _ => Err(format!("a button is pressed by writing true, got {val}")),
        });
    }
    if !own {
        return commands::write(state, field, val);
    }
    let text = val.as_str().unwrap_or_default();
    Some(match field {
        FIELD => match mode_pair(text) {
            Some((true, false)) if panel == Panel::RequestBased => Err(
                "the request-based alarm panel has no internal-only mode: write perimeter or full"
                    .into(),
            ),
            Some((i, e)) => Ok(arm_call(panel, i, e)),
            None => Err(format!("{val} is not one of {}", MODES.join(", "))),
        },
        // ioBroker.hmip takes any case and surrounding blanks.
        ACTIVATE => match zone_words_pair(&text.trim().to_uppercase()) {
            Some((i, e)) => Ok(arm_call(panel, i, e)),
            None => Err(format!("{val} is not one of {}", ZONE_WORDS.join(", "))),
        },
        _ => match mode_pair(text).filter(|_| ARM_MODES.contains(&text)) {
            // The classic panel arms without asking the sensors: its call is the same.
            Some((i, e)) if panel == Panel::Classic => Ok(arm_call(panel, i, e)),
            Some((i, e)) => {
                let last = param(PROBLEMS);
                let channels = problems::ignorable_channels(state, last.as_ref(), i, e);
                Ok(ControlCall {
                    path: IGNORE_LIST_PATH.into(),
                    body: json!({
                        "zonesActivation": zones_activation(panel, i, e),
                        "ignorableDeviceChannels": channels,
                        "ignoreLowBat": true,
                    }),
                })
            }
            None => Err(format!("{val} is not one of {}", ARM_MODES.join(", "))),
        },
    })
}

/// Does the answer of this call say what blocked arming (the request-based panel's calls)?
pub fn reports_problems(path: &str) -> bool {
    path == EXTENDED_PATH || path == IGNORE_LIST_PATH
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_commands;
