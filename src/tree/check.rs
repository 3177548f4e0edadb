//! Cloud values of another kind than their row expects (`shutterLevel: "closed"`, `on: {}`),
//! found so that the adapter can say so once per cause. The tree shows such a value as
//! null ([`super::table::FieldRow::state_value`]): a state never holds a value of another
//! type than its object declares.

use crate::cloud::lenient::kind;
use serde_json::Value;

use crate::cloud::fields::FieldsRef;

use super::table::{self, FieldRow, Scale, CHANNEL_ROWS, GROUP_ROWS, HOME_ROWS};
use super::HOME_SECTION;
use crate::cloud::{Device, Group, Home};

/// One field whose value does not fit its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What makes two mismatches the same cause: the owner type, the field and the kind
    /// of the value (not the device), so a cause is reported once.
    pub cause: String,
    /// For the log: where, what came and what was expected.
    pub message: String,
}

/// The channel fields of a device that do not fit their rows.
pub fn device(d: &Device) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (key, ch) in &d.channels {
        let owner = || format!("device {} channel {key} ({})", d.id, ch.channel_type);
        fields(&mut out, &owner, CHANNEL_ROWS, &ch.channel_type, &ch.fields);
    }
    out
}

/// The fields of a group that do not fit their rows.
pub fn group(g: &Group) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let owner = || format!("group {} ({})", g.id, g.group_type);
    fields(&mut out, &owner, GROUP_ROWS, &g.group_type, &g.fields);
    out
}

/// The fields of the home, its sections and functional homes that do not fit their rows.
pub fn home(h: &Home) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let owner = || format!("home {}", h.id);
    for (field, v) in &h.fields {
        match (field.as_str(), v) {
            ("functionalHomes", Value::Object(fhs)) => {
                for (solution, fh) in fhs {
                    if let Value::Object(f) = fh {
                        let owner = || format!("{} functional home {solution}", owner());
                        fields(&mut out, &owner, HOME_ROWS, solution, f);
                    }
                }
            }
            (_, Value::Object(f)) => {
                let owner = || format!("{} {field}", owner());
                fields(&mut out, &owner, HOME_ROWS, field, f)
            }
            _ => check(&mut out, &owner, HOME_ROWS, HOME_SECTION, field, v),
        }
    }
    out
}

/// `owner` names the channel, group or section; it is built only for a mismatch (this
/// runs on every event).
fn fields<'f>(
    out: &mut Vec<Mismatch>,
    owner: &dyn Fn() -> String,
    rows: &'static [FieldRow],
    type_name: &str,
    fields: impl Into<FieldsRef<'f>>,
) {
    let fields: FieldsRef<'f> = fields.into();
    for (field, v) in fields {
        check(out, owner, rows, type_name, field, &v.json());
    }
}

/// Push a mismatch when `field`'s value does not fit its row (fields without a row have
/// an inferred type and always fit).
fn check(
    out: &mut Vec<Mismatch>,
    owner: &dyn Fn() -> String,
    rows: &'static [FieldRow],
    type_name: &str,
    field: &str,
    v: &Value,
) {
    let Some(row) = table::find(rows, type_name, field) else {
        return;
    };
    // Enums and flags come as strings; everything else as the row's own type.
    let expected = match row.scale {
        Scale::Index(_) | Scale::Flag(_) => "string",
        _ => row.value_type,
    };
    let fits = match (expected, v) {
        (_, Value::Null) => true,
        ("string", v) => v.is_string(),
        _ => row.fits(v),
    };
    if fits {
        return;
    }
    let kind = kind(v);
    let mut shown = v.to_string();
    if shown.chars().count() > 40 {
        shown = format!("{}…", shown.chars().take(40).collect::<String>());
    }
    out.push(Mismatch {
        cause: format!("{type_name}.{field} as {kind}"),
        message: format!(
            "{}: the cloud sent {field} as {kind} ({shown}), expected a {expected}; \
             its state shows null (logged once per type and field)",
            owner()
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_of_the_wrong_kind_are_found_and_read_as_null() {
        let d: Device = serde_json::from_value(json!({"id": "D", "type": "X", "functionalChannels": {
            "1": {"functionalChannelType": "SHUTTER_CHANNEL", "shutterLevel": "closed", "label": "ok"},
            "2": {"functionalChannelType": "SWITCH_CHANNEL", "on": {"x": 1}},
            "3": {"functionalChannelType": "SHUTTER_CONTACT_CHANNEL", "windowState": 2},
            "4": {"functionalChannelType": "SWITCH_CHANNEL", "on": true}}}))
        .unwrap();
        let found = device(&d);
        let causes: Vec<&str> = found.iter().map(|m| m.cause.as_str()).collect();
        assert_eq!(
            causes,
            [
                "SHUTTER_CHANNEL.shutterLevel as a string",
                "SWITCH_CHANNEL.on as an object",
                "SHUTTER_CONTACT_CHANNEL.windowState as a number"
            ]
        );
        assert!(found[0]
            .message
            .contains("device D channel 1 (SHUTTER_CHANNEL)"));
        assert!(found[0].message.contains("\"closed\""));
        let snap = super::super::device("hmip.0", &d, &Default::default());
        for field in ["1.shutterLevel", "2.on", "3.windowState"] {
            let id = format!("hmip.0.devices.D.channels.{field}");
            let v = snap.values.iter().find(|v| v.id == id).unwrap();
            assert_eq!(v.val, Value::Null, "{id}");
        }
        let g: Group = serde_json::from_value(
            json!({"id": "G", "type": "HEATING", "setPointTemperature": "hot", "label": "g"}),
        )
        .unwrap();
        assert_eq!(group(&g).len(), 1);
        let h: Home = serde_json::from_value(json!({"id": "H", "connected": "yes",
            "weather": {"temperature": [20]},
            "functionalHomes": {"SECURITY_AND_ALARM": {"alarmActive": 1}}}))
        .unwrap();
        let causes: Vec<String> = home(&h).into_iter().map(|m| m.cause).collect();
        assert_eq!(
            causes,
            [
                "home.connected as a string",
                "weather.temperature as an array",
                "SECURITY_AND_ALARM.alarmActive as a number"
            ]
        );
    }
}
