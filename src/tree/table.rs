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

/// What kind of state a row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A field the cloud sends; its value comes from the cloud.
    Value,
    /// A command the cloud offers but does not report (`stop`, `resetEnergyCounter`,
    /// `activateAbsencePermanent`): a write-only state created for every channel, group
    /// or section of the row's types, whether or not the cloud sends such a field.
    Action,
    /// A local parameter that other commands send along (a lock's PIN, an on-time): the
    /// user writes it, the adapter keeps and acknowledges it; it is never sent alone.
    Param,
}

/// Where a control call goes and what its body carries besides the ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// Path below `/hmip/`.
    pub path: &'static str,
    /// The body key that carries the written value; None when the call takes no value
    /// (a button such as `stop`).
    pub key: Option<&'static str>,
    /// Current cloud values of the same channel, group or section sent along unchanged,
    /// in cloud scale (e.g. `shutterLevel` with `setSlatsLevel`, or the shutter moves).
    pub along: &'static [&'static str],
    /// Local parameters of the same channel, group or section sent along:
    /// (body key, parameter field).
    pub params: &'static [(&'static str, &'static str)],
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct FieldRow {
    /// Channel types (device rows), group types (group rows) or home sections (home rows)
    /// the row applies to; empty = every type.
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
    /// The values an enum may take (`common.states`); empty = not an enum.
    pub states: &'static [&'static str],
    /// How the cloud value maps to the state.
    pub scale: Scale,
    /// Cloud value, action or local parameter.
    pub kind: Kind,
    /// The control call when writable.
    pub control: Option<Control>,
}

impl FieldRow {
    /// A read-only cloud value.
    pub const fn new(
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
            states: &[],
            scale: Scale::Identity,
            kind: Kind::Value,
            control: None,
        }
    }

    /// With a unit.
    pub const fn unit(mut self, unit: &'static str) -> FieldRow {
        self.unit = Some(unit);
        self
    }

    /// With a range (of the state value, after scaling).
    pub const fn range(mut self, min: f64, max: f64) -> FieldRow {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    /// Cloud 0..1 shown as 0..100 %.
    pub const fn percent(mut self) -> FieldRow {
        self.scale = Scale::Percent;
        self.unit = Some("%");
        self.min = Some(0.0);
        self.max = Some(100.0);
        self
    }

    /// Cloud 0..1 (0 = open, 1 = closed) shown as 0..100 % open.
    pub const fn open_percent(self) -> FieldRow {
        let mut r = self.percent();
        r.scale = Scale::OpenPercent;
        r
    }

    /// An enum: the values it may take.
    pub const fn states(mut self, states: &'static [&'static str]) -> FieldRow {
        self.states = states;
        self
    }

    /// Writable through `path`, the value under the field's own name.
    pub const fn write(self, path: &'static str) -> FieldRow {
        let key = self.field;
        self.write_as(path, key)
    }

    /// Writable through `path`, the value under `key`.
    pub const fn write_as(mut self, path: &'static str, key: &'static str) -> FieldRow {
        self.control = Some(Control {
            path,
            key: Some(key),
            along: &[],
            params: &[],
        });
        self
    }

    /// Send these current cloud fields along with the written value.
    pub const fn along(mut self, along: &'static [&'static str]) -> FieldRow {
        if let Some(c) = &mut self.control {
            c.along = along;
        }
        self
    }

    /// Send these local parameters along: (body key, parameter field).
    pub const fn params(mut self, params: &'static [(&'static str, &'static str)]) -> FieldRow {
        if let Some(c) = &mut self.control {
            c.params = params;
        }
        self
    }

    /// A write-only button that calls `path` with no value.
    pub const fn button(
        types: &'static [&'static str],
        field: &'static str,
        path: &'static str,
    ) -> FieldRow {
        let mut r = FieldRow::new(types, field, "button", "boolean");
        r.kind = Kind::Action;
        r.control = Some(Control {
            path,
            key: None,
            along: &[],
            params: &[],
        });
        r
    }

    /// A write-only command that sends the written value under `key`.
    pub const fn command(
        types: &'static [&'static str],
        field: &'static str,
        role: &'static str,
        value_type: &'static str,
        path: &'static str,
        key: &'static str,
    ) -> FieldRow {
        let mut r = FieldRow::new(types, field, role, value_type).write_as(path, key);
        r.kind = Kind::Action;
        r
    }

    /// A local parameter, kept by the adapter and sent along by other commands.
    pub const fn param(
        types: &'static [&'static str],
        field: &'static str,
        role: &'static str,
        value_type: &'static str,
    ) -> FieldRow {
        let mut r = FieldRow::new(types, field, role, value_type);
        r.kind = Kind::Param;
        r
    }

    /// Can a user write the state?
    pub const fn writable(&self) -> bool {
        self.control.is_some() || matches!(self.kind, Kind::Param)
    }

    /// Can a user read the state? Actions are write-only (the cloud reports no value),
    /// and so is every `button*` role (ioBroker's role rules).
    pub const fn readable(&self) -> bool {
        !matches!(self.kind, Kind::Action) && !is_button_role(self.role)
    }
}

/// `button` or `button.*`: write-only roles in ioBroker's role rules.
const fn is_button_role(role: &str) -> bool {
    let (r, b) = (role.as_bytes(), b"button");
    if r.len() < b.len() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if r[i] != b[i] {
            return false;
        }
        i += 1;
    }
    r.len() == b.len() || r[b.len()] == b'.'
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

const BOOL: &str = "boolean";
const NUM: &str = "number";

/// Rows for device channel fields. The first row whose types contain the channel type
/// wins; a row with no types applies to every channel type.
pub static CHANNEL_ROWS: &[FieldRow] = &[
    // Maintenance fields of channel 0, on every device type.
    FieldRow::new(&[], "lowBat", "indicator.maintenance.lowbat", BOOL),
    FieldRow::new(&[], "unreach", "indicator.maintenance.unreach", BOOL),
    FieldRow::new(&[], "rssiDeviceValue", "value.rssi", NUM).unit("dBm"),
    FieldRow::new(&[], "rssiPeerValue", "value.rssi", NUM).unit("dBm"),
    FieldRow::new(&[], "sabotage", "indicator.maintenance.alarm", BOOL),
    FieldRow::new(&[], "dutyCycle", "indicator.maintenance", BOOL),
    FieldRow::new(&[], "configPending", "indicator.maintenance", BOOL),
    // Switches and lights.
    FieldRow::new(SWITCHES, "on", "switch", BOOL).write("device/control/setSwitchState"),
    FieldRow::new(DIMMERS, "dimLevel", "level.dimmer", NUM)
        .percent()
        .write("device/control/setDimLevel"),
    // Shutters and blinds: 100 % = fully open, ioBroker's convention for level.blind.
    FieldRow::new(SHUTTERS, "shutterLevel", "level.blind", NUM)
        .open_percent()
        .write("device/control/setShutterLevel"),
    FieldRow::new(BLINDS, "slatsLevel", "level.tilt", NUM)
        .open_percent()
        .write("device/control/setSlatsLevel")
        .along(&["shutterLevel"]),
    FieldRow::button(SHUTTERS, "stop", "device/control/stop"),
    // Thermostats.
    FieldRow::new(THERMOSTATS, "setPointTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "actualTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "valveActualTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "humidity", "value.humidity", NUM)
        .unit("%")
        .range(0.0, 100.0),
    FieldRow::new(&[], "valvePosition", "value.valve", NUM).percent(),
];

/// Rows for group fields.
pub static GROUP_ROWS: &[FieldRow] = &[
    FieldRow::new(
        &["HEATING"],
        "setPointTemperature",
        "level.temperature",
        NUM,
    )
    .unit("°C")
    .range(5.0, 30.0)
    .write("group/heating/setSetPointTemperature"),
    FieldRow::new(&["HEATING"], "actualTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&["HEATING"], "humidity", "value.humidity", NUM)
        .unit("%")
        .range(0.0, 100.0),
];

/// Rows for the home: `types` name the section — `home` for the home's own fields,
/// `weather`, `location`, … for its nested objects, and the solution
/// (`INDOOR_CLIMATE`, `SECURITY_AND_ALARM`, …) for a functional home.
pub static HOME_ROWS: &[FieldRow] = &[
    FieldRow::new(&["weather"], "temperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&["weather"], "humidity", "value.humidity", NUM)
        .unit("%")
        .range(0.0, 100.0),
];

/// The action and parameter rows of a type: states created whether or not the cloud
/// sends such a field.
pub fn local_rows<'a>(
    rows: &'static [FieldRow],
    type_name: &'a str,
) -> impl Iterator<Item = &'static FieldRow> + 'a {
    rows.iter().filter(move |r| {
        r.kind != Kind::Value && (r.types.is_empty() || r.types.contains(&type_name))
    })
}

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
