//! The typed HmIP model of a `getCurrentState` answer.
//!
//! Only what the rest of the program must reason about is typed (ids, types, labels, the
//! channel map); every other field lands in `fields` in the cloud's own order (compact
//! [`Fields`] for devices and channels, a JSON map for the rest), so that nothing the cloud
//! sends is lost and a re-serialised model equals its input.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fields::Fields;
use crate::compact::Val;

/// The whole home as `home/getCurrentState` answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Home {
    /// The home id (a UUID).
    pub id: String,
    /// Every other field: `functionalHomes`, `weather`, `location`, `connected`, ...
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// A device with its functional channels.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub fields: Fields,
}

/// A functional channel of a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Channel {
    /// e.g. `SWITCH_CHANNEL`, `SHUTTER_CHANNEL`; unknown types are kept as they are.
    #[serde(rename = "functionalChannelType", default)]
    pub channel_type: String,
    /// Every other field, type-specific ones included (`on`, `shutterLevel`, `label`, ...).
    #[serde(flatten)]
    pub fields: Fields,
}

/// A group (heating, switching, security zone, meta group, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

// Deserialisation by hand rather than derived with `#[serde(flatten)]`: flatten buffers
// every field into an intermediate tree and deserialises it again, which made parsing a
// device report the largest cost of the event path. The rules stay those of the derive:
// the typed keys are taken out (a missing `type` or label is empty / None, a missing id an
// error), every other key goes to `fields` in the cloud's order.

/// Visit a JSON object: `typed(key, map)` takes the value of a typed key and answers
/// true; every other key's value is kept in the returned map.
fn visit_object<'de, A: MapAccess<'de>, F: Untyped>(
    mut map: A,
    mut typed: impl FnMut(&str, &mut A) -> Result<bool, A::Error>,
) -> Result<F, A::Error> {
    let mut fields = F::default();
    while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
        if !typed(&key, &mut map)? {
            let v: Value = map.next_value()?;
            fields.put(key, v);
        }
    }
    fields.done();
    Ok(fields)
}

/// Where [`visit_object`] keeps the untyped fields: a JSON map, or compact [`Fields`].
trait Untyped: Default {
    fn put(&mut self, key: std::borrow::Cow<'_, str>, v: Value);
    fn done(&mut self) {}
}

impl Untyped for Map<String, Value> {
    fn put(&mut self, key: std::borrow::Cow<'_, str>, v: Value) {
        self.insert(key.into_owned(), v);
    }
}

impl Untyped for Fields {
    fn put(&mut self, key: std::borrow::Cow<'_, str>, v: Value) {
        self.insert(key, v);
    }
    fn done(&mut self) {
        self.shrink_to_fit();
    }
}

/// `Deserialize` for a model type through [`visit_object`]: `$build(map)` visits it.
macro_rules! deserialize_object {
    ($ty:ident, $what:literal, $build:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                        $build(map)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

fn required<T, E: de::Error>(v: Option<T>, field: &'static str) -> Result<T, E> {
    v.ok_or_else(|| E::missing_field(field))
}

deserialize_object!(CurrentState, "a getCurrentState answer", |map| {
    let (mut home, mut devices, mut groups, mut clients) = (None, None, None, None);
    let extra = visit_object(map, |k, m: &mut _| {
        match k {
            "home" => home = Some(MapAccess::next_value(m)?),
            "devices" => devices = Some(MapAccess::next_value(m)?),
            "groups" => groups = Some(MapAccess::next_value(m)?),
            "clients" => clients = Some(MapAccess::next_value(m)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(CurrentState {
        home: required(home, "home")?,
        devices: devices.unwrap_or_default(),
        groups: groups.unwrap_or_default(),
        clients: clients.unwrap_or_default(),
        extra,
    })
});

deserialize_object!(Home, "a home", |map| {
    let mut id = None;
    let fields = visit_object(map, |k, m: &mut _| {
        if k != "id" {
            return Ok(false);
        }
        id = Some(MapAccess::next_value(m)?);
        Ok(true)
    })?;
    Ok(Home {
        id: required(id, "id")?,
        fields,
    })
});

deserialize_object!(Device, "a device", |map| {
    let (mut id, mut device_type, mut label, mut channels) = (None, None, None, None);
    let fields = visit_object(map, |k, m: &mut _| {
        match k {
            "id" => id = Some(MapAccess::next_value(m)?),
            "type" => device_type = Some(MapAccess::next_value(m)?),
            "label" => label = Some(MapAccess::next_value(m)?),
            "functionalChannels" => channels = Some(MapAccess::next_value(m)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Device {
        id: required(id, "id")?,
        device_type: device_type.unwrap_or_default(),
        label: label.flatten(),
        channels: channels.unwrap_or_default(),
        fields,
    })
});

deserialize_object!(Channel, "a functional channel", |map| {
    let mut channel_type = None;
    let fields = visit_object(map, |k, m: &mut _| {
        if k != "functionalChannelType" {
            return Ok(false);
        }
        channel_type = Some(MapAccess::next_value(m)?);
        Ok(true)
    })?;
    Ok(Channel {
        channel_type: channel_type.unwrap_or_default(),
        fields,
    })
});

deserialize_object!(Group, "a group", |map| {
    let (mut id, mut group_type, mut label) = (None, None, None);
    let fields = visit_object(map, |k, m: &mut _| {
        match k {
            "id" => id = Some(MapAccess::next_value(m)?),
            "type" => group_type = Some(MapAccess::next_value(m)?),
            "label" => label = Some(MapAccess::next_value(m)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Group {
        id: required(id, "id")?,
        group_type: group_type.unwrap_or_default(),
        label: label.flatten(),
        fields,
    })
});

deserialize_object!(Client, "a client", |map| {
    let (mut id, mut label) = (None, None);
    let fields = visit_object(map, |k, m: &mut _| {
        match k {
            "id" => id = Some(MapAccess::next_value(m)?),
            "label" => label = Some(MapAccess::next_value(m)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Client {
        id: required(id, "id")?,
        label: label.flatten(),
        fields,
    })
});

impl Device {
    /// A top-level field that is not typed, e.g. `firmwareVersion`.
    pub fn field(&self, name: &str) -> Option<&Val> {
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
