//! HmIP model -> ioBroker objects and states, and state writes -> control calls.
//!
//! Pure functions over the [`crate::cloud::model`] and the [`table`]: no I/O, no async.
//! Ids follow ioBroker.hmip so that scripts and views carry over:
//!
//! ```text
//! <ns>.devices.<id>                      device   (name: the device's label)
//! <ns>.devices.<id>.info.<field>         state    type, modelType, label, firmwareVersion, updateState, …
//! <ns>.devices.<id>.channels.<n>         channel  (name: the channel's label)
//! <ns>.devices.<id>.channels.<n>.<field> state    every field the cloud sends
//! <ns>.groups.<id>.<field>               state    (+ info.label, info.type)
//! <ns>.homes.<id>.<field>                state    (+ weather.*, functionalHomes.<solution>.*, …)
//! <ns>.clients.<id>.info.<field>         state
//! <ns>.info.connection                   state    is the cloud connected
//! ```
//! Every level of an id exists as an object (folders where ioBroker.hmip had none), so
//! the repository checker finds no missing parent.

pub mod alarm;
pub mod catalog;
pub mod check;
pub mod convention;
pub mod doc;
pub mod events;
pub mod ids;
pub mod rows;
pub mod table;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use crate::cloud::fields::{Fields, FieldsRef};
use crate::cloud::model::{Channel, Client, CurrentState, Device, Group, Home};
use crate::cloud::ControlCall;
use crate::compact::Val;
use crate::iobroker::IobObject;
use catalog::{Cloud, Owner};
use std::borrow::Cow;
use table::{FieldRow, Kind, CHANNEL_ROWS, GROUP_ROWS, HOME_ROWS};

pub use convention::Convention;
pub use table::SECRET_MASK;

/// One state value the tree wants in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeValue {
    /// Full state id.
    pub id: String,
    /// The value in ioBroker's scale.
    pub val: Value,
}

/// The objects and values of a whole home.
#[derive(Debug, Default, Clone)]
pub struct TreeSnapshot {
    /// Every object, parents before children.
    pub objects: Vec<IobObject>,
    /// Every state value.
    pub values: Vec<TreeValue>,
    /// Build no objects (the event path, for a device whose objects are unchanged).
    values_only: bool,
    /// The value convention of the values and objects.
    convention: Convention,
}

impl TreeSnapshot {
    fn new(convention: Convention) -> TreeSnapshot {
        TreeSnapshot {
            convention,
            ..TreeSnapshot::default()
        }
    }

    fn values_only(convention: Convention) -> TreeSnapshot {
        TreeSnapshot {
            values_only: true,
            convention,
            ..TreeSnapshot::default()
        }
    }

    /// Append another part's objects and values.
    pub fn extend(&mut self, other: TreeSnapshot) {
        self.objects.extend(other.objects);
        self.values.extend(other.values);
    }

    /// Add an object, built only if objects are wanted.
    fn push_object(&mut self, build: impl FnOnce() -> IobObject) {
        if !self.values_only {
            self.objects.push(build());
        }
    }

    fn extend_objects(&mut self, build: impl FnOnce() -> Vec<IobObject>) {
        if !self.values_only {
            self.objects.extend(build());
        }
    }
}

/// Why a state write cannot become a control call. Messages are for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// The id does not name a state of this tree.
    #[error("{0} is not a state of this adapter")]
    UnknownId(String),
    /// The device, channel or group is not (or no longer) in the home.
    #[error("{0} is not in the home (removed?)")]
    UnknownTarget(String),
    /// The state is read-only.
    #[error("{0} is read-only")]
    NotWritable(String),
    /// The value does not fit the state.
    #[error("{id}: {reason}")]
    BadValue {
        /// The state id.
        id: String,
        /// What is wrong with the value.
        reason: String,
    },
}

/// The objects every instance has regardless of the home: the top-level folders and
/// `info.connection`.
pub fn instance_objects(ns: &str) -> Vec<IobObject> {
    vec![
        folder(&format!("{ns}.devices"), "Devices"),
        folder(&format!("{ns}.groups"), "Groups"),
        folder(&format!("{ns}.homes"), "Homes"),
        folder(&format!("{ns}.clients"), "Clients"),
        object(
            &format!("{ns}.info"),
            "channel",
            json!({"name": "Information"}),
        ),
        state_object(
            &format!("{ns}.info.connection"),
            json!({"name": "Connected to the Homematic IP cloud", "type": "boolean", "role": "indicator.connected", "read": true, "write": false, "def": false}),
        ),
    ]
}

/// The whole tree of a home: instance objects, home, devices, groups, clients.
pub fn snapshot(ns: &str, state: &CurrentState) -> TreeSnapshot {
    snapshot_in(Convention::Own, ns, state)
}

/// [`snapshot`] in a value convention.
pub fn snapshot_in(conv: Convention, ns: &str, state: &CurrentState) -> TreeSnapshot {
    let mut out = TreeSnapshot::new(conv);
    for part in snapshot_parts_in(conv, ns, state) {
        out.extend(part);
    }
    out
}

/// [`snapshot`] in parts (the instance objects, the home, each device, group and client,
/// then the alarm mode), so that a consumer can store a large home part by part instead
/// of holding all its objects at once.
pub fn snapshot_parts<'a>(
    ns: &'a str,
    state: &'a CurrentState,
) -> impl Iterator<Item = TreeSnapshot> + 'a {
    snapshot_parts_in(Convention::Own, ns, state)
}

/// [`snapshot_parts`] in a value convention.
pub fn snapshot_parts_in<'a>(
    conv: Convention,
    ns: &'a str,
    state: &'a CurrentState,
) -> impl Iterator<Item = TreeSnapshot> + 'a {
    let instance = std::iter::once_with(move || TreeSnapshot {
        objects: instance_objects(ns),
        ..TreeSnapshot::default()
    });
    let alarm = std::iter::once_with(move || TreeSnapshot {
        values: alarm::values(ns, state),
        ..TreeSnapshot::default()
    });
    instance
        .chain(std::iter::once_with(move || home_in(conv, ns, &state.home)))
        .chain(
            state
                .devices
                .values()
                .map(move |d| device_in(conv, ns, d, &state.groups)),
        )
        .chain(state.groups.values().map(move |g| group_in(conv, ns, g)))
        .chain(state.clients.values().map(move |c| client(ns, c)))
        .chain(alarm)
}

/// The objects and values of one device.
/// `groups` are the home's groups: a row that writes through a group of the channel (a
/// thermostat's set point) is writable only when the channel belongs to such a group.
pub fn device(ns: &str, d: &Device, groups: &IndexMap<String, Group>) -> TreeSnapshot {
    device_in(Convention::Own, ns, d, groups)
}

/// [`device`] in a value convention.
pub fn device_in(
    conv: Convention,
    ns: &str,
    d: &Device,
    groups: &IndexMap<String, Group>,
) -> TreeSnapshot {
    device_into(TreeSnapshot::new(conv), ns, d, None, groups)
}

/// Which fields of a device are new since its previous version: what a values-only pass
/// over the device ([`device_changes`], [`device_changes_by`]) writes.
pub trait Changes {
    /// Whether the device-level field `field` changed.
    fn device_field(&self, field: &str) -> bool;
    /// Whether any field of the channel `key` may have changed.
    fn channel(&self, key: &str) -> bool;
    /// Whether the field `field` of the channel `key` changed.
    fn channel_field(&self, key: &str, field: &str) -> bool;
}

/// The changes between two versions of a device, field by field.
struct Against<'a> {
    new: &'a Device,
    old: &'a Device,
}

impl Changes for Against<'_> {
    fn device_field(&self, field: &str) -> bool {
        self.old.fields.get(field) != self.new.fields.get(field)
    }
    fn channel(&self, _key: &str) -> bool {
        true
    }
    fn channel_field(&self, key: &str, field: &str) -> bool {
        let new = self.new.channels.get(key).and_then(|c| c.fields.get(field));
        self.old
            .channels
            .get(key)
            .is_none_or(|o| o.fields.get(field) != new)
    }
}

/// The fields a device report changed, as [`crate::cloud::DeviceReport::apply_to`]
/// lists them.
impl Changes for Vec<crate::cloud::report::FieldChange<'_>> {
    fn device_field(&self, field: &str) -> bool {
        self.iter().any(|c| c.channel.is_none() && c.field == field)
    }
    fn channel(&self, key: &str) -> bool {
        self.iter().any(|c| c.channel == Some(key))
    }
    fn channel_field(&self, key: &str, field: &str) -> bool {
        self.iter()
            .any(|c| c.channel == Some(key) && c.field == field)
    }
}

/// The values of a device report that differ from the device's previous version `old`,
/// and no objects: the event path, when [`same_objects`] says the objects stay as they
/// are.
pub fn device_changes(
    ns: &str,
    d: &Device,
    old: &Device,
    groups: &IndexMap<String, Group>,
) -> TreeSnapshot {
    device_changes_in(Convention::Own, ns, d, old, groups)
}

/// [`device_changes`] in a value convention.
pub fn device_changes_in(
    conv: Convention,
    ns: &str,
    d: &Device,
    old: &Device,
    groups: &IndexMap<String, Group>,
) -> TreeSnapshot {
    device_changes_by(conv, ns, d, &Against { new: d, old }, groups)
}

/// The values of the fields of `d` that `changes` names, and no objects: the event path
/// when a report was applied to the model field by field (its objects stay as they are).
pub fn device_changes_by(
    conv: Convention,
    ns: &str,
    d: &Device,
    changes: &dyn Changes,
    groups: &IndexMap<String, Group>,
) -> TreeSnapshot {
    device_into(
        TreeSnapshot::values_only(conv),
        ns,
        d,
        Some(changes),
        groups,
    )
}

/// Whether two versions of a device map to the same objects: the same type, label,
/// channels (keys, types, labels, group memberships) and fields of the same JSON kinds
/// in the same order. Objects never depend on a value otherwise (a row's common is
/// static, an unknown field's type is its value's kind), which `tests::same_objects_*`
/// checks over every device of the fixture.
pub fn same_objects(a: &Device, b: &Device) -> bool {
    fn same_fields(a: &Fields, b: &Fields, by_value: &[&str]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|((ka, va), (kb, vb))| {
                ka == kb && va.kind() == vb.kind() && (!by_value.contains(&ka) || va == vb)
            })
    }
    a.device_type == b.device_type
        && a.label == b.label
        && same_fields(&a.fields, &b.fields, &[])
        && a.channels.len() == b.channels.len()
        && a.channels
            .iter()
            .zip(&b.channels)
            .all(|((ka, ca), (kb, cb))| {
                ka == kb
                    && ca.channel_type == cb.channel_type
                    && same_fields(&ca.fields, &cb.fields, &["label", "groups"])
            })
}

/// The JSON kind of a value (null, boolean, number, string, array, object as 0 to 5):
/// what an unknown field's object depends on.
pub fn json_kind(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// [`device`] into `out`; with `changes` (values only), only the fields it names.
fn device_into(
    mut out: TreeSnapshot,
    ns: &str,
    d: &Device,
    old: Option<&dyn Changes>,
    groups: &IndexMap<String, Group>,
) -> TreeSnapshot {
    let base = ids::device(ns, &d.id);
    let label = || d.label.clone().unwrap_or_else(|| d.id.clone());
    // Device-level facts under info: the ioBroker.hmip five first, then every other scalar.
    let info = device_with_info(&mut out, &base, &label(), "channel", "Device information");
    if old.is_none() {
        // Type and label are part of the objects: unchanged when `old` is given.
        push_field(
            &mut out,
            &info,
            "type",
            &Value::String(d.device_type.clone()),
            None,
        );
        push_field(&mut out, &info, "label", &Value::String(label()), None);
    }
    for (k, v) in &d.fields {
        if old.is_none_or(|o| o.device_field(k)) {
            let kind = catalog::DEVICE_INFO.iter().find(|f| f.name == k);
            push_mapped(
                &mut out,
                &info,
                k,
                &v.to_value(),
                None,
                kind.map(|f| f.kind),
            );
        }
    }
    if old.is_none() {
        // ioBroker.hmip's device facts exist on every device, null where the cloud sends
        // none (an EXTERNAL device has no update state).
        for f in catalog::DEVICE_INFO {
            if !d.fields.contains_key(f.name) {
                push_mapped(&mut out, &info, f.name, &Value::Null, None, Some(f.kind));
            }
        }
    }
    let channels = format!("{base}.channels");
    out.push_object(|| folder(&channels, "Channels"));
    for (key, ch) in &d.channels {
        if old.is_none_or(|o| o.channel(key)) {
            channel(&mut out, &channels, key, ch, old, groups);
        }
    }
    let key_pad = |c: &Channel| events::HMIP_CODE_CHANNEL_TYPES.contains(&c.channel_type.as_str());
    if d.channels.values().any(key_pad) {
        out.extend_objects(|| hmip_event_objects(&base, events::HMIP_CODE_STATES));
    }
    out
}

/// A channel's objects and values into `out`; with `old` (values only), only the fields
/// it names.
fn channel(
    out: &mut TreeSnapshot,
    channels_id: &str,
    key: &str,
    ch: &Channel,
    old: Option<&dyn Changes>,
    groups: &IndexMap<String, Group>,
) {
    let id = format!("{channels_id}.{}", ids::segment(key));
    out.push_object(|| {
        let name = ch
            .fields
            .get("label")
            .and_then(Val::as_str)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} {key}", ch.channel_type));
        object(&id, "channel", json!({"name": name}))
    });
    if old.is_none() {
        push_field(
            out,
            &id,
            "functionalChannelType",
            &Value::String(ch.channel_type.clone()),
            None,
        );
    }
    // The group types this channel belongs to, for rows that write through a group.
    // The channel's group list, read from its compact text once, and only when a row
    // writes through a group.
    let group_ids = std::cell::OnceCell::new();
    let member_of = |group_type: &str| {
        group_ids
            .get_or_init(|| ch.fields.value("groups"))
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .any(|gid| groups.get(gid).is_some_and(|g| g.group_type == group_type))
            })
    };
    let changed = |field: &str| old.is_none_or(|o| o.channel_field(key, field));
    push_fields_with(
        out,
        &id,
        CHANNEL_ROWS,
        &ch.channel_type,
        &ch.fields,
        catalog::lookup(Owner::Channel, &ch.channel_type),
        &member_of,
        &changed,
    );
    if events::EVENT_CHANNEL_TYPES.contains(&ch.channel_type.as_str()) {
        out.extend_objects(|| event_objects(&id));
    }
    if events::HMIP_EVENT_CHANNEL_TYPES.contains(&ch.channel_type.as_str()) {
        out.extend_objects(|| hmip_event_objects(&id, events::HMIP_CHANNEL_EVENTS));
    }
}

/// The objects a channel event writes to: the channel's event states (which a channel of
/// a type not known for events gets on its first event) and ioBroker.hmip's
/// `events.<type>`.
pub fn channel_event_objects(ns: &str, ev: &crate::cloud::ChannelEvent) -> Vec<IobObject> {
    let channel = events::channel_id(ns, ev);
    let mut out = event_objects(&channel);
    out.extend(hmip_event_objects(&channel, &[&ev.event_type]));
    out
}

/// ioBroker.hmip's event states below a channel or device: the `events` folder and one
/// read-only indicator per name.
pub fn hmip_event_objects(parent: &str, names: &[&str]) -> Vec<IobObject> {
    let base = format!("{parent}.{}", events::EVENTS);
    std::iter::once(folder(&base, "Events"))
        .chain(names.iter().filter(|n| events::is_event_name(n)).map(|n| {
            state_object(
                &format!("{base}.{n}"),
                row_common(n, &events::HMIP_EVENT_ROW),
            )
        }))
        .collect()
}

/// The event state objects of a channel (button presses, door bell, last event); they
/// get values only when events arrive.
pub fn event_objects(channel_id: &str) -> Vec<IobObject> {
    objects_of_rows(channel_id, events::EVENT_ROWS)
}

/// The key-pad code state objects under a device's `info` channel, and ioBroker.hmip's
/// `events.codeIndex` and `events.<code_state>`.
pub fn code_objects(ns: &str, device_id: &str, code_state: &str) -> Vec<IobObject> {
    let device = ids::device(ns, device_id);
    let mut out = objects_of_rows(&format!("{device}.info"), events::CODE_ROWS);
    out.extend(hmip_event_objects(&device, &[code_state]));
    out.push(state_object(
        &format!("{device}.{}.codeIndex", events::EVENTS),
        row_common("codeIndex", &events::HMIP_CODE_INDEX_ROW),
    ));
    out
}

fn objects_of_rows(parent: &str, rows: &[FieldRow]) -> Vec<IobObject> {
    rows.iter()
        .map(|r| state_object(&format!("{parent}.{}", r.field), row_common(r.field, r)))
        .collect()
}

/// The objects and values of one group.
pub fn group(ns: &str, g: &Group) -> TreeSnapshot {
    group_in(Convention::Own, ns, g)
}

/// [`group`] in a value convention.
pub fn group_in(conv: Convention, ns: &str, g: &Group) -> TreeSnapshot {
    let base = ids::group(ns, &g.id);
    let label = g.label.clone().unwrap_or_else(|| g.id.clone());
    // A folder, not a channel: the group's own states sit on the device object, and
    // consumers run type-detector on devices without channels (a HEATING group is a
    // thermostat, a SWITCHING group a socket).
    let mut out = TreeSnapshot::new(conv);
    let info = device_with_info(&mut out, &base, &label, "folder", "Group information");
    push_field(
        &mut out,
        &info,
        "type",
        &Value::String(g.group_type.clone()),
        None,
    );
    push_field(&mut out, &info, "label", &Value::String(label), None);
    let fields = alarm::zone_fields(g);
    push_fields_with(
        &mut out,
        &base,
        GROUP_ROWS,
        &g.group_type,
        &*fields,
        catalog::lookup(Owner::Group, &g.group_type),
        &|_| true,
        &|_| true,
    );
    out
}

/// A device object named by its label, with its `info` child (a channel or a folder):
/// the head of every device, group and client. Returns the info id.
fn device_with_info(
    out: &mut TreeSnapshot,
    base: &str,
    label: &str,
    info_type: &str,
    info_name: &str,
) -> String {
    out.push_object(|| object(base, "device", json!({ "name": label })));
    let info = format!("{base}.info");
    out.push_object(|| object(&info, info_type, json!({ "name": info_name })));
    info
}

/// The objects and values of one client.
pub fn client(ns: &str, c: &Client) -> TreeSnapshot {
    let base = ids::client(ns, &c.id);
    let label = c.label.clone().unwrap_or_else(|| c.id.clone());
    let mut out = TreeSnapshot::default();
    let info = device_with_info(&mut out, &base, &label, "channel", "Client information");
    push_field(&mut out, &info, "label", &Value::String(label), None);
    for (field, v) in &c.fields {
        push_field(&mut out, &info, field, v, None);
    }
    out
}

/// The objects and values of the home: its scalar fields, and one channel per nested
/// object (`weather`, `location`, …); functional homes under `functionalHomes.<solution>`
/// with ioBroker.hmip's camel-case names (`securityAndAlarm`, …).
pub fn home(ns: &str, h: &Home) -> TreeSnapshot {
    home_in(Convention::Own, ns, h)
}

/// [`home`] in a value convention.
pub fn home_in(conv: Convention, ns: &str, h: &Home) -> TreeSnapshot {
    let base = ids::home(ns, &h.id);
    let mut out = TreeSnapshot::new(conv);
    out.objects
        .push(object(&base, "device", json!({"name": "Home"})));
    for (field, v) in &h.fields {
        match (field.as_str(), v) {
            ("functionalHomes", Value::Object(fhs)) => {
                let fh_base = format!("{base}.functionalHomes");
                out.objects.push(folder(&fh_base, "Functional homes"));
                for (solution, fh) in fhs {
                    let id = format!("{fh_base}.{}", ids::solution_segment(solution));
                    out.objects
                        .push(object(&id, "channel", json!({"name": solution})));
                    match fh {
                        // A field the alarm module shows itself (`alarmEventTriggerId`)
                        // gets its object and value there only.
                        Value::Object(fields) if solution == alarm::SOLUTION => {
                            let fields: Map<String, Value> = fields
                                .iter()
                                .filter(|(f, _)| alarm::row(f).is_none())
                                .map(|(f, v)| (f.clone(), v.clone()))
                                .collect();
                            push_fields(&mut out, &id, HOME_ROWS, solution, &fields);
                        }
                        Value::Object(fields) => {
                            push_fields(&mut out, &id, HOME_ROWS, solution, fields)
                        }
                        _ => {}
                    }
                    if solution == alarm::SOLUTION {
                        out.objects.extend(objects_of_rows(&id, alarm::ROWS));
                    }
                }
            }
            (_, Value::Object(fields)) => {
                let id = format!("{base}.{}", ids::segment(field));
                out.objects
                    .push(object(&id, "channel", json!({"name": field})));
                push_fields(&mut out, &id, HOME_ROWS, field, fields);
            }
            _ => push_field(
                &mut out,
                &base,
                field,
                v,
                table::find(HOME_ROWS, HOME_SECTION, field),
            ),
        }
    }
    push_local_rows(&mut out, &base, HOME_ROWS, HOME_SECTION, &h.fields);
    out
}

/// The section name of the home's own (top-level) fields in [`HOME_ROWS`].
pub const HOME_SECTION: &str = "home";

/// The states of a home section: every field the cloud sends, under its row where one
/// names it, plus the actions and parameters of the section.
fn push_fields<'f>(
    out: &mut TreeSnapshot,
    parent: &str,
    rows: &'static [FieldRow],
    type_name: &str,
    fields: impl Into<FieldsRef<'f>>,
) {
    let fields: FieldsRef<'f> = fields.into();
    push_fields_with(
        out,
        parent,
        rows,
        type_name,
        fields,
        None,
        &|_| true,
        &|_| true,
    )
}

/// The states of a channel, group or home section: every field the cloud sends, under
/// its row where one names it, else as the catalog entry `defined` declares it; every
/// other field the type defines, with a null value until the cloud sends one; and the
/// actions and parameters of the type. `member_of(group type)` tells whether a row that
/// writes through a group of that type can: if not, its state is read-only. In a
/// values-only snapshot, fields for which `changed(field)` is false are left out.
#[allow(clippy::too_many_arguments)]
fn push_fields_with<'f>(
    out: &mut TreeSnapshot,
    parent: &str,
    rows: &'static [FieldRow],
    type_name: &str,
    fields: impl Into<FieldsRef<'f>>,
    defined: Option<&catalog::Resolved>,
    member_of: &dyn Fn(&str) -> bool,
    changed: &dyn Fn(&str) -> bool,
) {
    let fields: FieldsRef<'f> = fields.into();
    let values_only = out.values_only;
    let convention = out.convention;
    // The row of a field under the instance's value convention.
    let row_of =
        |field: &str| convention.row(rows, type_name, field, table::find(rows, type_name, field));
    let push = |out: &mut TreeSnapshot, field: &str, v: &Value, row: Option<&FieldRow>| {
        let kind = defined.and_then(|d| d.kind_of(field));
        push_mapped(out, parent, field, v, row, kind);
        let writable_through_group = row
            .and_then(|r| r.control)
            .and_then(|c| c.via_group)
            .is_none_or(member_of);
        if !writable_through_group && !out.values_only {
            read_only(out.objects.last_mut().expect("just pushed"));
        }
    };
    for (field, v) in fields {
        if values_only && !changed(field) {
            continue;
        }
        push(out, field, &v.json(), row_of(field).as_ref());
    }
    // Derived states (`windowOpen` from `windowState`), unless the cloud sends a field
    // of that name itself.
    for row in table::derived_rows(rows, type_name) {
        if values_only && !changed(row.cloud_field()) {
            continue;
        }
        if let (Some(v), false) = (
            fields.get(row.cloud_field()),
            fields.contains_key(row.field),
        ) {
            let row = convention
                .row(rows, type_name, row.field, Some(row))
                .unwrap_or(*row);
            push_field(out, parent, row.field, &v, Some(&row));
        }
    }
    if values_only {
        // A defined field the cloud sends in neither version has no value to change; one
        // it sends in only one of them changes the objects (see `same_objects`).
        return;
    }
    // The fields the type defines and the cloud did not send (yet): as ioBroker.hmip,
    // their states exist from the start, with no value.
    for f in defined.map_or(&[][..], |d| d.fields.as_slice()) {
        if fields.contains_key(f.name) {
            continue;
        }
        let row = row_of(f.name);
        match row.as_ref() {
            // Actions and parameters: made below.
            Some(r) if r.kind != Kind::Value => continue,
            // Derived from a field that was sent: made above.
            Some(r) if r.source.is_some() && fields.contains_key(r.cloud_field()) => continue,
            _ => {
                push(out, f.name, &Value::Null, row.as_ref());
                // A field the cloud does not send is no feature of this device (a report
                // carries every field of a channel): nothing a write could change.
                if row.as_ref().is_some_and(FieldRow::writable) {
                    read_only(out.objects.last_mut().expect("just pushed"));
                }
            }
        }
    }
    push_local_rows(out, parent, rows, type_name, fields);
}

/// Action and parameter states have no cloud value: only their objects.
fn push_local_rows<'f>(
    out: &mut TreeSnapshot,
    parent: &str,
    rows: &'static [FieldRow],
    type_name: &str,
    fields: impl Into<FieldsRef<'f>>,
) {
    let fields: FieldsRef<'f> = fields.into();
    for row in table::local_rows(rows, type_name) {
        if !fields.contains_key(row.field) {
            let id = format!("{parent}.{}", row.field);
            let row = out
                .convention
                .row(rows, type_name, row.field, Some(row))
                .unwrap_or(*row);
            let mut o = state_object(&id, row_common(row.field, &row));
            if row.secret {
                o.native.insert(SECRET_NATIVE_KEY.into(), Value::Bool(true));
            }
            out.objects.push(o);
        }
    }
}

/// One field as a state object and its value. Nested objects and arrays become a JSON
/// string (role `json`), so nothing the cloud sends is dropped.
fn push_field(
    out: &mut TreeSnapshot,
    parent: &str,
    field: &str,
    v: &Value,
    row: Option<&FieldRow>,
) {
    push_mapped(out, parent, field, v, row, None)
}

/// [`push_field`], where `defined` is the kind the catalog declares for a field no row
/// names: its object then is the same whether or not the cloud sent a value. A value of
/// another kind is shown as it is, typed by its own kind.
fn push_mapped(
    out: &mut TreeSnapshot,
    parent: &str,
    field: &str,
    v: &Value,
    row: Option<&FieldRow>,
    defined: Option<Cloud>,
) {
    let id = format!("{parent}.{}", ids::segment(field));
    let val = match row {
        Some(r) => r.state_value(v),
        None => inferred_value(v),
    };
    let defined = defined.filter(|k| k.fits(v));
    out.push_object(|| {
        let common = match (row, defined) {
            (Some(r), _) => row_common(field, r),
            (None, Some(kind)) => defined_common(field, kind),
            (None, None) => inferred_common(field, v),
        };
        state_object(&id, common)
    });
    out.values.push(TreeValue { id, val });
}

/// Make a state read-only: no write, and a `level.*` role (a set point) becomes the
/// matching `value.*` role (a reading; `text` for a string such as `level.effect`, which
/// has no reading role), a `switch*` role an `indicator`, as ioBroker's role rules require.
fn read_only(o: &mut IobObject) {
    o.common.insert("write".into(), Value::Bool(false));
    let text = o.common.get("type").and_then(Value::as_str) == Some("string");
    let role = match o.common.get("role").and_then(Value::as_str) {
        Some(r) if r.starts_with("level.") && text => "text".to_string(),
        Some(r) if r.starts_with("level.") => format!("value.{}", &r["level.".len()..]),
        Some(r) if r == "switch" || r.starts_with("switch.") => "indicator".to_string(),
        _ => return,
    };
    o.common.insert("role".into(), Value::String(role));
}

fn row_common(field: &str, r: &FieldRow) -> Value {
    let mut c = json!({"name": field, "type": r.value_type, "role": r.role, "read": r.readable(), "write": r.writable()});
    if let Some(u) = r.unit {
        c["unit"] = json!(u);
    }
    if let Some(m) = r.min {
        c["min"] = json!(m);
    }
    if let Some(m) = r.max {
        c["max"] = json!(m);
    }
    if let Some(states) = r.common_states() {
        c["states"] = Value::Object(states);
    }
    c
}

/// The common of a field no row names that the catalog declares: its type, a neutral role.
fn defined_common(field: &str, kind: Cloud) -> Value {
    let (ty, role) = kind.type_and_role();
    // The cloud's times are milliseconds since 1970, ioBroker's `value.time`.
    let role = match kind {
        Cloud::Number if field.ends_with("Timestamp") => "value.time",
        _ => role,
    };
    json!({"name": field, "type": ty, "role": role, "read": true, "write": false})
}

/// The common of a field no row names: type from the value's kind, a neutral role.
fn inferred_common(field: &str, v: &Value) -> Value {
    let (ty, role) = match v {
        Value::Bool(_) => ("boolean", "indicator"),
        Value::Number(_) => ("number", "value"),
        Value::String(_) => ("string", "text"),
        Value::Null => ("mixed", "state"),
        Value::Array(_) | Value::Object(_) => ("string", "json"),
    };
    json!({"name": field, "type": ty, "role": role, "read": true, "write": false})
}

/// The state value of a field no row names: nested objects and arrays as JSON text.
fn inferred_value(v: &Value) -> Value {
    match v {
        Value::Array(_) | Value::Object(_) => Value::String(v.to_string()),
        _ => v.clone(),
    }
}

fn object(id: &str, obj_type: &str, common: Value) -> IobObject {
    IobObject {
        id: id.to_string(),
        obj_type: obj_type.to_string(),
        common: match common {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        native: Map::new(),
        extra: Map::new(),
    }
}

fn folder(id: &str, name: &str) -> IobObject {
    object(id, "folder", json!({"name": name}))
}

fn state_object(id: &str, common: Value) -> IobObject {
    object(id, "state", common)
}

/// What a user's write of a state amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteAction {
    /// Send this control call.
    Call(ControlCall),
    /// A local parameter: keep and acknowledge the value, send nothing.
    Local,
    /// A secret parameter (a lock's PIN): keep this value where the tokens are ("" forgets
    /// it), or None when [`SECRET_MASK`] was written back (keep what is kept); the state
    /// is acknowledged as [`SECRET_MASK`] or "", never with the value.
    Secret(Option<String>),
}

/// The key of `native` that marks the object of a secret parameter, so that a writer
/// (the HTTP API) hands its value to the adapter's keeper instead of the store.
pub const SECRET_NATIVE_KEY: &str = "secret";

/// Whether `obj` is the state of a secret parameter (a lock's PIN).
pub fn is_secret(obj: &IobObject) -> bool {
    obj.native.get(SECRET_NATIVE_KEY) == Some(&Value::Bool(true))
}

/// Turn a user's write of `val` to the state `id` into what makes it happen, validated
/// against the row's type, range and states. `state` is the current home, for values
/// sent along (a blind's current shutter level); `param` reads a local parameter state
/// by full id (a lock's PIN).
pub fn write_to_call(
    ns: &str,
    state: &CurrentState,
    id: &str,
    val: &Value,
    param: &dyn Fn(&str) -> Option<Value>,
) -> Result<WriteAction, WriteError> {
    write_to_call_in(Convention::Own, ns, state, id, val, param)
}

/// [`write_to_call`] in a value convention: the written value is understood in it.
pub fn write_to_call_in(
    conv: Convention,
    ns: &str,
    state: &CurrentState,
    id: &str,
    val: &Value,
    param: &dyn Fn(&str) -> Option<Value>,
) -> Result<WriteAction, WriteError> {
    let unknown = || WriteError::UnknownId(id.to_string());
    let rel = id
        .strip_prefix(ns)
        .and_then(|r| r.strip_prefix('.'))
        .ok_or_else(unknown)?;
    let target = resolve(state, ids::parse(rel).ok_or_else(unknown)?, id)?;
    let in_rows = |rows: &'static [FieldRow]| std::ptr::eq(target.rows, rows);
    // The alarm states are derived from the zone groups, not fields, and their call depends
    // on the panel kind: their own small module.
    if in_rows(HOME_ROWS) && target.type_name == alarm::SOLUTION {
        let parent = &id[..id.rfind('.').unwrap_or(0)];
        let sibling = |field: &str| param(&format!("{parent}.{field}"));
        if let Some(call) = alarm::write(state, target.field, val, &sibling) {
            return call
                .map(WriteAction::Call)
                .map_err(|reason| WriteError::BadValue {
                    id: id.to_string(),
                    reason,
                });
        }
    }
    let row = table::find(target.rows, target.type_name, target.field);
    let row = conv
        .row(target.rows, target.type_name, target.field, row)
        .or_else(|| {
            in_rows(CHANNEL_ROWS)
                .then(|| table::find(events::EVENT_ROWS, "", target.field).copied())
                .flatten()
        })
        .ok_or_else(|| WriteError::NotWritable(id.to_string()))?;
    let row = &row;
    if row.kind == Kind::Param && row.secret {
        // Never echo the value in a refusal: it would reach the log.
        return match val {
            Value::String(s) if s == SECRET_MASK => Ok(WriteAction::Secret(None)),
            Value::String(s) => Ok(WriteAction::Secret(Some(s.clone()))),
            Value::Number(n) => Ok(WriteAction::Secret(Some(n.to_string()))),
            _ => Err(WriteError::BadValue {
                id: id.to_string(),
                reason: "a PIN is written as a string".into(),
            }),
        };
    }
    if row.kind == Kind::Param {
        cloud_value(id, row, val)?;
        return Ok(WriteAction::Local);
    }
    let control = row
        .control
        .ok_or_else(|| WriteError::NotWritable(id.to_string()))?;
    let mut body = match control.via_group {
        Some(group_type) => group_of_channel(state, &target, group_type, id)?,
        None => target.ids.clone(),
    };
    match control.key {
        Some(key) => {
            body.insert(key.into(), cloud_value(id, row, val)?);
        }
        None if *val == Value::Bool(true) => {}
        None => {
            return Err(WriteError::BadValue {
                id: id.to_string(),
                reason: format!("a button is pressed by writing true, got {val}"),
            })
        }
    }
    for along in control.along {
        body.insert(
            (*along).into(),
            target
                .fields
                .and_then(|f| f.get(along))
                .map_or(Value::Null, Cow::into_owned),
        );
    }
    let parent = &id[..id.rfind('.').unwrap_or(0)];
    for (key, field) in control.params {
        // An unset parameter sends its row's default; without one the write is refused,
        // since the cloud rejects a null (an on-time, a vacation temperature). A 0 where
        // the row starts above it is unset too: ioBroker.hmip's "no time" (its states
        // hold 0 after a move).
        let row = table::find(target.rows, target.type_name, field);
        let default = row.and_then(|r| r.default).map(Value::from);
        // A secret's state shows only the mask: that is never its value.
        let unset = |v: &Value| {
            v.is_null()
                || (v.as_f64() == Some(0.0) && row.and_then(|r| r.min).is_some_and(|m| m > 0.0))
                || (row.is_some_and(|r| r.secret) && v.as_str() == Some(SECRET_MASK))
        };
        let v = param(&format!("{parent}.{field}"))
            .filter(|v| !unset(v))
            .or(default)
            .ok_or_else(|| WriteError::BadValue {
                id: id.to_string(),
                reason: format!("write {parent}.{field} first"),
            })?;
        body.insert((*key).into(), v);
    }
    for (key, v) in control.fixed {
        body.insert((*key).into(), Value::Bool(*v));
    }
    let mut call = ControlCall {
        path: control.path.to_string(),
        body: Value::Object(body),
    };
    conv.timed_dim(&mut call, &|field| param(&format!("{parent}.{field}")));
    Ok(WriteAction::Call(call))
}

/// `{groupId}` of the group of `group_type` that the written channel belongs to.
fn group_of_channel(
    state: &CurrentState,
    target: &Target<'_>,
    group_type: &str,
    id: &str,
) -> Result<Map<String, Value>, WriteError> {
    let group_ids = target.fields.and_then(|f| f.get("groups"));
    let group = group_ids
        .as_deref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|g| {
            state
                .groups
                .get(*g)
                .is_some_and(|g| g.group_type == group_type)
        })
        .ok_or_else(|| WriteError::UnknownTarget(format!("the {group_type} group of {id}")))?;
    let mut ids = Map::new();
    ids.insert("groupId".into(), json!(group));
    Ok(ids)
}

/// What a written id addresses in the home.
struct Target<'a> {
    rows: &'static [FieldRow],
    type_name: &'a str,
    field: &'a str,
    /// The ids the control call's body starts with.
    ids: Map<String, Value>,
    /// The current cloud fields beside the written one.
    fields: Option<FieldsRef<'a>>,
}

fn resolve<'a>(
    state: &'a CurrentState,
    parsed: ids::Parsed<'a>,
    id: &str,
) -> Result<Target<'a>, WriteError> {
    let gone = |what: String| WriteError::UnknownTarget(what);
    Ok(match parsed {
        ids::Parsed::ChannelField {
            device,
            channel,
            field,
        } => {
            // By key, or by id where a map key differs from the id it holds.
            let d = state
                .devices
                .get(device)
                .or_else(|| {
                    state
                        .devices
                        .values()
                        .find(|d| ids::segment(&d.id) == device)
                })
                .ok_or_else(|| gone(format!("device {device}")))?;
            // By key, or by its escaped form (a key with characters ids may not have).
            let (key, ch) = d
                .channels
                .get_key_value(channel)
                .or_else(|| d.channels.iter().find(|(k, _)| ids::segment(k) == channel))
                .ok_or_else(|| gone(format!("channel {channel} of device {device}")))?;
            let index: u32 = key.parse().map_err(|_| WriteError::BadValue {
                id: id.to_string(),
                reason: format!("the cloud addresses channels by number, not as {key:?}"),
            })?;
            let mut ids = Map::new();
            ids.insert("deviceId".into(), json!(d.id));
            ids.insert("channelIndex".into(), json!(index));
            Target {
                rows: CHANNEL_ROWS,
                type_name: &ch.channel_type,
                field,
                ids,
                fields: Some((&ch.fields).into()),
            }
        }
        ids::Parsed::GroupField { group, field } => {
            let g = state
                .groups
                .get(group)
                .or_else(|| state.groups.values().find(|g| ids::segment(&g.id) == group))
                .ok_or_else(|| gone(format!("group {group}")))?;
            let mut ids = Map::new();
            ids.insert("groupId".into(), json!(g.id));
            Target {
                rows: GROUP_ROWS,
                type_name: &g.group_type,
                field,
                ids,
                fields: Some((&g.fields).into()),
            }
        }
        ids::Parsed::HomeField {
            home,
            section,
            functional,
            field,
        } => {
            if ids::segment(&state.home.id) != home {
                return Err(gone(format!("home {home}")));
            }
            let (type_name, fields): (&str, Option<FieldsRef<'_>>) = match (section, functional) {
                (None, None) => (HOME_SECTION, Some((&state.home.fields).into())),
                (Some(s), _) => (
                    s,
                    state
                        .home
                        .fields
                        .get(s)
                        .and_then(Value::as_object)
                        .map(Into::into),
                ),
                (None, Some(camel)) => state
                    .home
                    .fields
                    .get("functionalHomes")
                    .and_then(Value::as_object)
                    .and_then(|fhs| {
                        fhs.iter()
                            .find(|(sol, _)| ids::solution_segment(sol) == camel)
                    })
                    .map(|(sol, fh)| (sol.as_str(), fh.as_object().map(Into::into)))
                    .ok_or_else(|| gone(format!("functional home {camel}")))?,
            };
            Target {
                rows: HOME_ROWS,
                type_name,
                field,
                ids: Map::new(),
                fields,
            }
        }
        ids::Parsed::Other => return Err(WriteError::NotWritable(id.to_string())),
    })
}

/// Validate a written state value against the row and convert it to the cloud's scale.
fn cloud_value(id: &str, row: &FieldRow, val: &Value) -> Result<Value, WriteError> {
    row.cloud_value(val).map_err(|reason| WriteError::BadValue {
        id: id.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests;
