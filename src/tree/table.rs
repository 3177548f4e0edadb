//! The mapping table: one row per (channel or group type, field) that deserves more than
//! the generic treatment — a role ioBroker's type-detector understands, a unit, a range,
//! a scale, and for writable fields the control call.
//!
//! A row is read in both directions: cloud value -> state (`Scale::to_state`) and state
//! write -> control call (`Scale::to_cloud` and [`Control`]). Fields that no row names
//! still become states, with a type inferred from their value and a neutral role.

/// How a cloud value maps to the state value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// The value as the cloud sends it.
    Identity,
    /// Cloud 0..1 -> 0..100 %.
    Percent,
    /// Cloud 0..1 with 0 = open, 1 = closed -> 0..100 % with 100 = fully open, which is
    /// ioBroker's convention for `level.blind` / `level.tilt` (VIS, iot/Alexa, material).
    OpenPercent,
}

impl Scale {
    /// Cloud value -> state value.
    pub fn to_state(self, cloud: f64) -> f64 {
        match self {
            Scale::Identity => cloud,
            Scale::Percent => round(cloud * 100.0),
            Scale::OpenPercent => round((1.0 - cloud) * 100.0),
        }
    }

    /// State value -> cloud value.
    pub fn to_cloud(self, state: f64) -> f64 {
        match self {
            Scale::Identity => state,
            Scale::Percent => round4(state / 100.0),
            Scale::OpenPercent => round4(1.0 - state / 100.0),
        }
    }
}

/// Round a percentage to 2 decimals: 0.285 * 100 must read 28.5, not 28.499999999999996.
fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Cloud levels carry at most 4 decimals.
fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Where a control call goes and what its body carries besides the written field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// Path below `/hmip/`.
    pub path: &'static str,
    /// The body key that carries the written value (usually the field name).
    pub key: &'static str,
    /// Current values of the same channel or group sent along unchanged, in cloud scale
    /// (e.g. `shutterLevel` with `setSlatsLevel`, or the shutter moves).
    pub along: &'static [&'static str],
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct FieldRow {
    /// Channel types (device rows) or group types (group rows) the row applies to; empty =
    /// every type.
    pub types: &'static [&'static str],
    /// The cloud's field name, which is also the last segment of the state id.
    pub field: &'static str,
    /// ioBroker role.
    pub role: &'static str,
    /// ioBroker `common.type`.
    pub value_type: &'static str,
    /// Unit, if any.
    pub unit: Option<&'static str>,
    /// Range of the state value.
    pub min: Option<f64>,
    /// Range of the state value.
    pub max: Option<f64>,
    /// How the cloud value maps to the state.
    pub scale: Scale,
    /// The control call when writable.
    pub control: Option<Control>,
}

/// A read-only row with defaults, to be refined with struct update syntax.
const fn ro(
    types: &'static [&'static str],
    field: &'static str,
    role: &'static str,
    value_type: &'static str,
) -> FieldRow {
    FieldRow {
        types,
        field,
        role,
        value_type,
        unit: None,
        min: None,
        max: None,
        scale: Scale::Identity,
        control: None,
    }
}

const fn ctl(path: &'static str, key: &'static str) -> Option<Control> {
    Some(Control {
        path,
        key,
        along: &[],
    })
}

/// Channel types that switch something on and off through `setSwitchState`.
const SWITCHES: &[&str] = &[
    "SWITCH_CHANNEL",
    "SWITCH_MEASURING_CHANNEL",
    "MULTI_MODE_INPUT_SWITCH_CHANNEL",
    "DIMMER_CHANNEL",
    "MULTI_MODE_INPUT_DIMMER_CHANNEL",
    "UNIVERSAL_LIGHT_CHANNEL",
    "UNIVERSAL_LIGHT_GROUP_CHANNEL",
    "EXTERNAL_UNIVERSAL_LIGHT_CHANNEL",
    "NOTIFICATION_LIGHT_CHANNEL",
    "BACKLIGHT_CHANNEL",
];
const DIMMERS: &[&str] = &[
    "DIMMER_CHANNEL",
    "MULTI_MODE_INPUT_DIMMER_CHANNEL",
    "UNIVERSAL_LIGHT_CHANNEL",
    "UNIVERSAL_LIGHT_GROUP_CHANNEL",
    "EXTERNAL_UNIVERSAL_LIGHT_CHANNEL",
    "NOTIFICATION_LIGHT_CHANNEL",
    "BACKLIGHT_CHANNEL",
];
const SHUTTERS: &[&str] = &[
    "SHUTTER_CHANNEL",
    "BLIND_CHANNEL",
    "MULTI_MODE_INPUT_BLIND_CHANNEL",
];
const BLINDS: &[&str] = &["BLIND_CHANNEL", "MULTI_MODE_INPUT_BLIND_CHANNEL"];
const THERMOSTATS: &[&str] = &[
    "HEATING_THERMOSTAT_CHANNEL",
    "WALL_MOUNTED_THERMOSTAT_PRO_CHANNEL",
    "WALL_MOUNTED_THERMOSTAT_WITH_CARBON_CHANNEL",
    "ANALOG_ROOM_CONTROL_CHANNEL",
];

const PCT: Option<&str> = Some("%");
const CELSIUS: Option<&str> = Some("°C");

/// Rows for device channel fields. The first row whose types contain the channel type
/// wins; a row with no types applies to every channel type.
pub static CHANNEL_ROWS: &[FieldRow] = &[
    // Maintenance fields of channel 0, on every device type.
    ro(&[], "lowBat", "indicator.maintenance.lowbat", "boolean"),
    ro(&[], "unreach", "indicator.maintenance.unreach", "boolean"),
    ro(&[], "rssiDeviceValue", "value.rssi", "number"),
    ro(&[], "rssiPeerValue", "value.rssi", "number"),
    ro(&[], "sabotage", "indicator.maintenance.alarm", "boolean"),
    ro(&[], "dutyCycle", "indicator.maintenance", "boolean"),
    ro(&[], "configPending", "indicator.maintenance", "boolean"),
    // Switches and lights.
    FieldRow {
        control: ctl("device/control/setSwitchState", "on"),
        ..ro(SWITCHES, "on", "switch", "boolean")
    },
    FieldRow {
        unit: PCT,
        min: Some(0.0),
        max: Some(100.0),
        scale: Scale::Percent,
        control: ctl("device/control/setDimLevel", "dimLevel"),
        ..ro(DIMMERS, "dimLevel", "level.dimmer", "number")
    },
    // Shutters and blinds: 100 % = fully open, ioBroker's convention for level.blind.
    FieldRow {
        unit: PCT,
        min: Some(0.0),
        max: Some(100.0),
        scale: Scale::OpenPercent,
        control: ctl("device/control/setShutterLevel", "shutterLevel"),
        ..ro(SHUTTERS, "shutterLevel", "level.blind", "number")
    },
    FieldRow {
        unit: PCT,
        min: Some(0.0),
        max: Some(100.0),
        scale: Scale::OpenPercent,
        control: Some(Control {
            path: "device/control/setSlatsLevel",
            key: "slatsLevel",
            along: &["shutterLevel"],
        }),
        ..ro(BLINDS, "slatsLevel", "level.tilt", "number")
    },
    // Thermostats.
    FieldRow {
        unit: CELSIUS,
        min: Some(5.0),
        max: Some(30.0),
        ..ro(
            THERMOSTATS,
            "setPointTemperature",
            "value.temperature",
            "number",
        )
    },
    FieldRow {
        unit: CELSIUS,
        ..ro(&[], "actualTemperature", "value.temperature", "number")
    },
    FieldRow {
        unit: CELSIUS,
        ..ro(&[], "valveActualTemperature", "value.temperature", "number")
    },
    FieldRow {
        unit: PCT,
        min: Some(0.0),
        max: Some(100.0),
        ..ro(&[], "humidity", "value.humidity", "number")
    },
    FieldRow {
        unit: PCT,
        min: Some(0.0),
        max: Some(100.0),
        scale: Scale::Percent,
        ..ro(&[], "valvePosition", "value.valve", "number")
    },
];

/// Rows for group fields.
pub static GROUP_ROWS: &[FieldRow] = &[
    FieldRow {
        unit: CELSIUS,
        min: Some(5.0),
        max: Some(30.0),
        control: ctl(
            "group/heating/setSetPointTemperature",
            "setPointTemperature",
        ),
        ..ro(
            &["HEATING"],
            "setPointTemperature",
            "level.temperature",
            "number",
        )
    },
    FieldRow {
        unit: CELSIUS,
        ..ro(
            &["HEATING"],
            "actualTemperature",
            "value.temperature",
            "number",
        )
    },
    FieldRow {
        unit: PCT,
        min: Some(0.0),
        max: Some(100.0),
        ..ro(&["HEATING"], "humidity", "value.humidity", "number")
    },
];

/// Find the row for a field of a channel or group type.
pub fn find(rows: &'static [FieldRow], type_name: &str, field: &str) -> Option<&'static FieldRow> {
    rows.iter()
        .filter(|r| r.field == field)
        .find(|r| r.types.contains(&type_name))
        .or_else(|| rows.iter().find(|r| r.field == field && r.types.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_trip() {
        for s in [Scale::Identity, Scale::Percent, Scale::OpenPercent] {
            for v in [0.0, 0.285, 0.5, 1.0] {
                assert!((s.to_cloud(s.to_state(v)) - v).abs() < 1e-9, "{s:?} {v}");
            }
        }
        assert_eq!(
            Scale::OpenPercent.to_state(1.0),
            0.0,
            "closed shutter reads 0 %"
        );
        assert_eq!(
            Scale::OpenPercent.to_state(0.0),
            100.0,
            "open shutter reads 100 %"
        );
        assert_eq!(Scale::Percent.to_state(0.285), 28.5);
    }

    #[test]
    fn specific_rows_win_over_generic_ones() {
        assert_eq!(
            find(CHANNEL_ROWS, "BLIND_CHANNEL", "slatsLevel")
                .unwrap()
                .role,
            "level.tilt"
        );
        assert_eq!(
            find(CHANNEL_ROWS, "ANY", "lowBat").unwrap().role,
            "indicator.maintenance.lowbat"
        );
        assert!(find(CHANNEL_ROWS, "SHUTTER_CONTACT_CHANNEL", "on").is_none());
    }
}
