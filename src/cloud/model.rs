//! The typed HmIP model of a `getCurrentState` answer.
//!
//! Only what the rest of the program must reason about is typed (ids, types, labels, the
//! channel map); every other field lands in a `fields` map in the cloud's own order, so
//! that nothing the cloud sends is lost and a re-serialised model equals its input.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The whole home as `home/getCurrentState` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentState {
    /// The home: functional homes, weather, location, connection, ...
    pub home: Home,
    /// Devices keyed by id.
    #[serde(default)]
    pub devices: IndexMap<String, Device>,
    /// Groups keyed by id.
    #[serde(default)]
    pub groups: IndexMap<String, Group>,
    /// Clients (apps, this adapter) keyed by id.
    #[serde(default)]
    pub clients: IndexMap<String, Client>,
    /// Top-level fields this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The home object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Home {
    /// The home id (a UUID).
    pub id: String,
    /// Every other field: `functionalHomes`, `weather`, `location`, `connected`, ...
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// A device with its functional channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// The device id (its SGTIN).
    pub id: String,
    /// The device type, e.g. `PLUGABLE_SWITCH_MEASURING`; unknown types are kept as they are.
    #[serde(rename = "type", default)]
    pub device_type: String,
    /// The user's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Channels keyed by their index as a string (`"0"` is the maintenance channel).
    #[serde(rename = "functionalChannels", default)]
    pub channels: IndexMap<String, Channel>,
    /// Every other field: `modelType`, `firmwareVersion`, `updateState`, ...
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// A functional channel of a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// e.g. `SWITCH_CHANNEL`, `SHUTTER_CHANNEL`; unknown types are kept as they are.
    #[serde(rename = "functionalChannelType", default)]
    pub channel_type: String,
    /// Every other field, type-specific ones included (`on`, `shutterLevel`, `label`, ...).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// A group (heating, switching, security zone, meta group, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The group id (a UUID).
    pub id: String,
    /// e.g. `HEATING`, `SECURITY_ZONE`.
    #[serde(rename = "type", default)]
    pub group_type: String,
    /// The user's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// A client paired with the access point (an app, this adapter, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// The client id.
    pub id: String,
    /// The client's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Device {
    /// A top-level field that is not typed, e.g. `firmwareVersion`.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
}

impl Home {
    /// `connected: false` means the access point lost its cloud link.
    pub fn connected(&self) -> Option<bool> {
        self.fields.get("connected").and_then(Value::as_bool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let raw = serde_json::json!({
            "home": {"id": "h", "newHomeField": {"x": 1}},
            "devices": {"d": {"id": "d", "type": "BRAND_NEW", "label": "L", "futureField": [1,2],
                "functionalChannels": {"0": {"functionalChannelType": "NEW_CHANNEL", "index": 0, "zz": true}}}},
            "groups": {}, "clients": {}, "topLevelNew": 5
        });
        let model: CurrentState = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(model.devices["d"].device_type, "BRAND_NEW");
        assert_eq!(
            model.devices["d"].channels["0"].fields["zz"],
            Value::Bool(true)
        );
        assert_eq!(serde_json::to_value(&model).unwrap(), raw);
    }
}
