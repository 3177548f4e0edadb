//! The alarm mode of a home: one state that reads the two security zones and writes
//! `setZonesActivation`, in the words of the Homematic IP app.
//!
//! | mode | zones active | the app calls it |
//! |---|---|---|
//! | `disarmed` | none | Unscharf |
//! | `perimeter` | EXTERNAL | Hüllschutz |
//! | `full` | INTERNAL and EXTERNAL | Vollschutz |
//! | `internal` | INTERNAL only | (not offered by the app; shown when set elsewhere) |

use serde_json::{json, Value};

use super::table::FieldRow;
use super::{ids, TreeValue};
use crate::cloud::{ControlCall, CurrentState};

/// The state's field name, under `homes.<id>.functionalHomes.securityAndAlarm`.
pub const FIELD: &str = "alarmMode";

/// The solution the state belongs to.
pub const SOLUTION: &str = "SECURITY_AND_ALARM";

/// The modes, as the state's `states` map.
pub const MODES: &[&str] = &["disarmed", "perimeter", "full", "internal"];

/// The state's row: a readable, writable enum.
pub static ROW: FieldRow = FieldRow::new(&[SOLUTION], FIELD, "text", "string")
    .states(MODES)
    .write_as("home/security/setZonesActivation", "zonesActivation");

/// The mode for the zones' activation (INTERNAL, EXTERNAL).
fn mode(internal: bool, external: bool) -> &'static str {
    match (internal, external) {
        (false, false) => "disarmed",
        (false, true) => "perimeter",
        (true, true) => "full",
        (true, false) => "internal",
    }
}

/// The current alarm mode of the home, read from the security zone groups that
/// `functionalHomes.SECURITY_AND_ALARM.securityZones` names; None without that solution.
pub fn value(ns: &str, state: &CurrentState) -> Option<TreeValue> {
    let zones = state
        .home
        .fields
        .get("functionalHomes")?
        .get(SOLUTION)?
        .get("securityZones")?;
    let active = |zone: &str| {
        zones
            .get(zone)
            .and_then(Value::as_str)
            .and_then(|gid| state.groups.get(gid))
            .and_then(|g| g.fields.get("active"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let id = format!(
        "{}.functionalHomes.{}.{FIELD}",
        ids::home(ns, &state.home.id),
        ids::solution_segment(SOLUTION)
    );
    Some(TreeValue {
        id,
        val: json!(mode(active("INTERNAL"), active("EXTERNAL"))),
    })
}

/// The call that sets a mode; None for a value that is not a mode.
pub fn call(val: &Value) -> Option<ControlCall> {
    let (internal, external) = match val.as_str()? {
        "disarmed" => (false, false),
        "perimeter" => (false, true),
        "full" => (true, true),
        "internal" => (true, false),
        _ => return None,
    };
    Some(ControlCall {
        path: "home/security/setZonesActivation".into(),
        body: json!({"zonesActivation": {"INTERNAL": internal, "EXTERNAL": external}}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_the_zones() {
        for m in MODES {
            let c = call(&json!(m)).unwrap();
            let z = &c.body["zonesActivation"];
            assert_eq!(
                mode(z["INTERNAL"] == json!(true), z["EXTERNAL"] == json!(true)),
                *m
            );
        }
        assert_eq!(
            call(&json!("perimeter")).unwrap().body,
            json!({"zonesActivation": {"INTERNAL": false, "EXTERNAL": true}})
        );
        assert!(call(&json!("armed")).is_none());
    }
}
