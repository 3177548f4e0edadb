//! The mapping table: one row per (channel or group type, field) that deserves more than
//! the generic treatment — a role ioBroker's type-detector understands, a unit, a range,
//! a scale, and for writable fields the control call.
//!
//! A row is read in both directions: cloud value -> state ([`FieldRow::state_value`]) and
//! state write -> control call ([`FieldRow::cloud_value`] and [`Control`]). Fields that no
//! row names still become states, with a type inferred from their value and a neutral
//! role. The rows themselves live in [`super::rows`], one module per kind of owner.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::catalog::{self, Owner};

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
    /// A cloud enum string shown as its position in the list, with `common.states`
    /// `{0: name, 1: name, …}`: type-detector wants numbers for `value.window`
    /// (0 CLOSED, 1 TILTED, 2 OPEN) and `level.mode.thermostat`. Writes take the number
    /// or the name.
    Index(&'static [&'static str]),
    /// A cloud enum string shown as a boolean (a derived flag such as `windowOpen`),
    /// and a written boolean sent as one of two enum values.
    Flag(&'static Flag),
    /// ioBroker.hmip's levels: cloud 0..1 shown as 0..100 in the cloud's direction
    /// (a shutter 0 = open); a written value above 1 is a percentage, one up to 1 already
    /// the cloud's fraction (so 1 means fully closed, not 1 %).
    HmipLevel,
    /// Rounded to 2 decimals (rain counters, which the cloud sends with float drift).
    Rounded,
    /// Written values rounded to 0.5 (ioBroker.hmip's set-point `step`).
    HalfSteps,
    /// True when the cloud enum has this value, false for any other, null included
    /// (ioBroker.hmip's `windowOpen`).
    Equals(&'static str),
    /// A member of a cloud object (`channelIndex` of `alarmEventDeviceChannel`).
    Member(&'static str),
    /// A cloud enum string shown as its position counted from 1, with `common.states`
    /// `{1: name, …}` (ioBroker.hmip's `setLockState`). Writes take the number or the name.
    Index1(&'static [&'static str]),
}

/// The enum values a [`Scale::Flag`] reads as true or false, and what a write sends.
#[derive(Debug, PartialEq, Eq)]
pub struct Flag {
    /// Cloud values read as true.
    pub on: &'static [&'static str],
    /// Cloud values read as false; any other value reads as null (unknown).
    pub off: &'static [&'static str],
    /// The cloud values a write of false and of true sends.
    pub send: [&'static str; 2],
}

impl Scale {
    /// Cloud number -> state number (numeric scales; others pass the value through).
    pub fn to_state(self, cloud: f64) -> f64 {
        match self {
            Scale::Percent => round(cloud * 100.0),
            // Float noise only: ioBroker.hmip shows every decimal the cloud sends.
            Scale::HmipLevel => round_to(cloud * 100.0, 1e6),
            Scale::OpenPercent => round((1.0 - cloud) * 100.0),
            Scale::Rounded => round(cloud),
            _ => cloud,
        }
    }

    /// State number -> cloud number (numeric scales; others pass the value through).
    pub fn to_cloud(self, state: f64) -> f64 {
        match self {
            Scale::Percent => round4(state / 100.0),
            Scale::OpenPercent => round4(1.0 - state / 100.0),
            Scale::HmipLevel if state > 1.0 => round_to(state / 100.0, 1e8),
            Scale::HalfSteps => round_to(state, 2.0),
            _ => state,
        }
    }
}

/// Round a percentage to 2 decimals: 0.285 * 100 must read 28.5, not 28.499999999999996.
fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Round to the precision `1 / scale`.
fn round_to(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

/// Cloud levels carry at most 4 decimals.
fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// A whole number as an integer JSON value, so 50.0 is stored as 50.
pub fn json_number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
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
    /// Constant body fields (`isHighToLow` of `setNotificationSoundType`).
    pub fixed: &'static [(&'static str, bool)],
    /// A device row whose call goes to a group of the channel instead: the group type.
    /// The body is then `{groupId}` of the group in the channel's `groups` list that has
    /// this type, plus the value (a thermostat's set point goes through its `HEATING`
    /// group; the cloud has no device call for it).
    pub via_group: Option<&'static str>,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct FieldRow {
    /// Channel types (device rows), group types (group rows) or home sections (home rows)
    /// the row applies to; empty = every type.
    pub types: &'static [&'static str],
    /// The last segment of the state id: the cloud's field name, or for a derived row
    /// the name of the derived state.
    pub field: &'static str,
    /// A derived row reads this cloud field instead of `field` (`windowOpen` from
    /// `windowState`), for states ioBroker.hmip had or type-detector needs as booleans.
    pub source: Option<&'static str>,
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
    /// What a parameter that the user never wrote sends (a lock without a PIN takes "").
    pub default: Option<&'static str>,
    /// A parameter that is a secret (a lock's PIN): the adapter keeps its value where the
    /// tokens are and the state shows only whether it is set ([`SECRET_MASK`] or "").
    pub secret: bool,
}

/// What the state of a secret parameter shows while a value is kept. Written back, it
/// keeps the kept value (a form that writes back what it shows changes nothing).
pub const SECRET_MASK: &str = "****";

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
            source: None,
            role,
            value_type,
            unit: None,
            min: None,
            max: None,
            states: &[],
            scale: Scale::Identity,
            kind: Kind::Value,
            control: None,
            default: None,
            secret: false,
        }
    }

    /// A read-only boolean derived from the cloud enum field `source` (see [`Scale::Flag`]).
    pub const fn flag(
        types: &'static [&'static str],
        field: &'static str,
        source: &'static str,
        role: &'static str,
        flag: &'static Flag,
    ) -> FieldRow {
        let mut r = FieldRow::new(types, field, role, "boolean");
        r.source = Some(source);
        r.scale = Scale::Flag(flag);
        r
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

    /// An enum shown as the position of its value in `names` (see [`Scale::Index`]).
    pub const fn indexed(mut self, names: &'static [&'static str]) -> FieldRow {
        self.states = names;
        self.scale = Scale::Index(names);
        self
    }

    /// What an unset parameter sends.
    pub const fn default(mut self, value: &'static str) -> FieldRow {
        self.default = Some(value);
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
            fixed: &[],
            via_group: None,
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

    /// Send these constant fields along.
    pub const fn fixed(mut self, fixed: &'static [(&'static str, bool)]) -> FieldRow {
        if let Some(c) = &mut self.control {
            c.fixed = fixed;
        }
        self
    }

    /// Address the channel's group of `group_type` instead of the device.
    pub const fn via_group(mut self, group_type: &'static str) -> FieldRow {
        if let Some(c) = &mut self.control {
            c.via_group = Some(group_type);
        }
        self
    }

    /// A write-only button that calls `path` with no value. Role `button` unless
    /// [`FieldRow::role`] says more (`button.stop.blind`).
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
            fixed: &[],
            via_group: None,
        });
        r
    }

    /// With another role.
    pub const fn role(mut self, role: &'static str) -> FieldRow {
        self.role = role;
        self
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

    /// A secret parameter (see [`FieldRow::secret`]).
    pub const fn secret(mut self) -> FieldRow {
        self.secret = true;
        self
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

    /// The cloud field the state's value comes from.
    pub fn cloud_field(&self) -> &'static str {
        self.source.unwrap_or(self.field)
    }

    /// `common.states`: `{name: name}` for a string enum, `{index: name}` for an indexed
    /// one, `{false: …, true: …}` is left out (booleans need none).
    pub fn common_states(&self) -> Option<Map<String, Value>> {
        if self.states.is_empty() {
            return None;
        }
        Some(match self.scale {
            Scale::Index(names) => names
                .iter()
                .enumerate()
                .map(|(i, n)| (i.to_string(), json!(n)))
                .collect(),
            Scale::Index1(names) => names
                .iter()
                .enumerate()
                .map(|(i, n)| ((i + 1).to_string(), json!(n)))
                .collect(),
            _ => self
                .states
                .iter()
                .map(|s| (s.to_string(), json!(s)))
                .collect(),
        })
    }

    /// The state value of a cloud value under this row. A value that does not fit the
    /// row's type (an enum string the table does not know yet, a string or an object
    /// where a number belongs) reads as null rather than as a value of the wrong type.
    pub fn state_value(&self, cloud: &Value) -> Value {
        let val = self.scaled(cloud);
        if self.fits(&val) {
            val
        } else {
            Value::Null
        }
    }

    /// Is `val` of the kind the row's `common.type` declares (null always is)?
    pub fn fits(&self, val: &Value) -> bool {
        match (self.value_type, val) {
            (_, Value::Null) => true,
            ("boolean", v) => v.is_boolean(),
            ("number", v) => v.is_number(),
            ("string", v) => v.is_string(),
            _ => true,
        }
    }

    /// A cloud value in the state's scale, of whatever kind it is.
    fn scaled(&self, cloud: &Value) -> Value {
        match (self.scale, cloud) {
            (Scale::Equals(on), v) => json!(v.as_str() == Some(on)),
            (Scale::Member(key), Value::Object(o)) => o.get(key).cloned().unwrap_or(Value::Null),
            (Scale::Member(_), _) => Value::Null,
            (_, Value::Null) => Value::Null,
            (Scale::Index(names), Value::String(s)) => names
                .iter()
                .position(|n| n == s)
                .map_or(Value::Null, |i| json!(i)),
            (Scale::Flag(f), Value::String(s)) if f.on.contains(&s.as_str()) => json!(true),
            (Scale::Flag(f), Value::String(s)) if f.off.contains(&s.as_str()) => json!(false),
            (Scale::Index1(names), Value::String(s)) => names
                .iter()
                .position(|n| n == s)
                .map_or(Value::Null, |i| json!(i + 1)),
            (Scale::Index(_) | Scale::Index1(_) | Scale::Flag(_), _) => Value::Null,
            (scale, Value::Number(n)) if scale != Scale::Identity => {
                json_number(scale.to_state(n.as_f64().unwrap_or_default()))
            }
            _ => cloud.clone(),
        }
    }

    /// Validate a written state value against the row's type, range and states, and
    /// convert it to the cloud's scale. The error says what is wrong, for the user.
    pub fn cloud_value(&self, val: &Value) -> Result<Value, String> {
        match (self.value_type, self.scale) {
            ("boolean", scale) => {
                let b = val
                    .as_bool()
                    .ok_or_else(|| format!("expected true or false, got {val}"))?;
                Ok(match scale {
                    Scale::Flag(f) => json!(f.send[usize::from(b)]),
                    _ => json!(b),
                })
            }
            ("number", Scale::Index(names)) => match val {
                Value::String(s) if names.contains(&s.as_str()) => Ok(val.clone()),
                _ => val
                    .as_u64()
                    .and_then(|i| names.get(i as usize))
                    .map(|n| json!(n))
                    .ok_or_else(|| format!("{val} is not one of {}", self.states_list())),
            },
            ("number", Scale::Index1(names)) => match val {
                Value::String(s) if names.contains(&s.as_str()) => Ok(val.clone()),
                _ => val
                    .as_u64()
                    .and_then(|i| names.get((i as usize).checked_sub(1)?))
                    .map(|n| json!(n))
                    .ok_or_else(|| format!("{val} is not one of {}", self.states_list())),
            },
            ("number", scale) => {
                let n = val
                    .as_f64()
                    .ok_or_else(|| format!("expected a number, got {val}"))?;
                if let Some(min) = self.min.filter(|m| n < *m) {
                    return Err(format!("value {n} is below min {min}"));
                }
                if let Some(max) = self.max.filter(|m| n > *m) {
                    return Err(format!("value {n} is above max {max}"));
                }
                Ok(json_number(scale.to_cloud(n)))
            }
            ("string", _) => match val {
                Value::String(s) if self.states.is_empty() || self.states.contains(&s.as_str()) => {
                    Ok(val.clone())
                }
                Value::String(s) => {
                    Err(format!("\"{s}\" is not one of {}", self.states.join(", ")))
                }
                other => Err(format!("expected a string, got {other}")),
            },
            _ => Ok(val.clone()),
        }
    }

    fn states_list(&self) -> String {
        let first = usize::from(matches!(self.scale, Scale::Index1(_)));
        self.states
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{} ({s})", i + first))
            .collect::<Vec<_>>()
            .join(", ")
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

pub use super::rows::{CHANNEL_ROWS, GROUP_ROWS, HOME_ROWS};

/// The action and parameter rows of a type: states created whether or not the cloud
/// sends such a field.
pub fn local_rows(rows: &'static [FieldRow], type_name: &str) -> Vec<&'static FieldRow> {
    let like = like_of(rows, type_name);
    for_type(
        rows.iter().filter(|r| r.kind != Kind::Value),
        type_name,
        like,
    )
}

/// The derived rows of a type: states read from another cloud field of the same
/// channel, group or section.
pub fn derived_rows<'a>(
    rows: &'static [FieldRow],
    type_name: &'a str,
) -> impl Iterator<Item = &'static FieldRow> + 'a {
    // Indexed tables keep their derived rows apart; small ones are scanned.
    let (derived, scan): (&'static [&'static FieldRow], &'static [FieldRow]) = match index(rows) {
        Some(ix) => (&ix.derived, &[]),
        None => (&[], rows),
    };
    let all = derived
        .iter()
        .copied()
        .chain(scan.iter().filter(|r| r.source.is_some()));
    let like = like_of(rows, type_name);
    // A type like another (rare) takes the other's rows where it has none of its own.
    let picked = if like.is_empty() {
        Vec::new()
    } else {
        for_type(all.clone(), type_name, like)
    };
    let plain = like.is_empty();
    all.filter(move |r| plain && (r.types.is_empty() || r.types.contains(&type_name)))
        .chain(picked)
}

/// Find the row for a field of a channel or group type: the type's own, else that of
/// the type it is like (in the catalog), else the row for every type.
pub fn find(rows: &'static [FieldRow], type_name: &str, field: &str) -> Option<&'static FieldRow> {
    match index(rows) {
        Some(ix) => first_for_type(rows, ix.by_field.get(field)?.iter().copied(), type_name),
        None => first_for_type(rows, rows.iter().filter(|r| r.field == field), type_name),
    }
}

/// Of the rows of `rows` naming one field (in table order), the first for `type_name`,
/// else the first for the nearest type it is like, else the first for every type.
fn first_for_type(
    rows: &'static [FieldRow],
    named: impl Iterator<Item = &'static FieldRow> + Clone,
    type_name: &str,
) -> Option<&'static FieldRow> {
    let own = |t: &str| named.clone().find(|r| r.types.contains(&t));
    own(type_name)
        .or_else(|| {
            // The catalog is asked only when some row names a type (rarely on the event path).
            if named.clone().all(|r| r.types.is_empty()) {
                return None;
            }
            like_of(rows, type_name).iter().find_map(|l| own(l))
        })
        .or_else(|| named.clone().find(|r| r.types.is_empty()))
}

/// The types whose rows apply to `type_name` after its own (the catalog's `like`).
fn like_of(rows: &'static [FieldRow], type_name: &str) -> &'static [&'static str] {
    let owner = if std::ptr::eq(rows, CHANNEL_ROWS) {
        Owner::Channel
    } else if std::ptr::eq(rows, GROUP_ROWS) {
        Owner::Group
    } else {
        return &[];
    };
    catalog::lookup(owner, type_name).map_or(&[], |r| r.like.as_slice())
}

/// Of `rows`, those that apply to `type_name`: for each field the type's own row, else
/// the row of the nearest type it is like, else the row for every type.
fn for_type(
    rows: impl Iterator<Item = &'static FieldRow>,
    type_name: &str,
    like: &[&str],
) -> Vec<&'static FieldRow> {
    let rank = |r: &FieldRow| -> Option<usize> {
        if r.types.contains(&type_name) {
            Some(0)
        } else if let Some(i) = like.iter().position(|l| r.types.contains(l)) {
            Some(i + 1)
        } else {
            r.types.is_empty().then_some(usize::MAX)
        }
    };
    let ranked: Vec<(usize, &'static FieldRow)> =
        rows.filter_map(|r| rank(r).map(|k| (k, r))).collect();
    ranked
        .iter()
        .filter(|(k, r)| !ranked.iter().any(|(ko, o)| o.field == r.field && ko < k))
        .map(|(_, r)| *r)
        .collect()
}

/// A table's rows by field name (in table order) and its derived rows, built once: `find`
/// runs for every field of every event, and would otherwise scan a few hundred rows each
/// time.
struct RowIndex {
    by_field: HashMap<&'static str, Vec<&'static FieldRow>>,
    derived: Vec<&'static FieldRow>,
}

impl RowIndex {
    fn new(rows: &'static [FieldRow]) -> RowIndex {
        let mut by_field: HashMap<&'static str, Vec<&'static FieldRow>> = HashMap::new();
        for r in rows {
            by_field.entry(r.field).or_default().push(r);
        }
        RowIndex {
            by_field,
            derived: rows.iter().filter(|r| r.source.is_some()).collect(),
        }
    }
}

/// The index of one of the three big tables; small tables are scanned.
fn index(rows: &'static [FieldRow]) -> Option<&'static RowIndex> {
    static INDEXES: [OnceLock<RowIndex>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = [CHANNEL_ROWS, GROUP_ROWS, HOME_ROWS]
        .iter()
        .position(|t| std::ptr::eq(*t, rows))?;
    Some(INDEXES[i].get_or_init(|| RowIndex::new(rows)))
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
