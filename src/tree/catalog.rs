//! The catalog of types: every device, functional channel and group type the mapping
//! knows, and for each channel type the fields it defines. It answers three questions:
//!
//! - Is a type known? (the adapter logs an unknown one once, so that users report it);
//! - Which states does a channel have from the start? Every field its type defines, with
//!   a null value until the device reports one, as ioBroker.hmip does;
//! - Which rows apply to a new type that behaves like a known one? Its `like` type's rows
//!   ([`super::table::find`] falls back to them), so such a type is one catalog row.
//!
//! The lists follow the committed type lists beside this file (`homematicip-2.19.1.txt`,
//! `iobroker.hmip-3.2.0.txt`, and `extras.txt` for types neither names); a test fails
//! when they disagree, another when a table row names a type the catalog lacks.

mod channels;
mod devices;
mod groups;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use channels::CHANNEL_TYPES;
pub use devices::{DEVICE_INFO, DEVICE_TYPES};
pub use groups::GROUP_TYPES;

/// The JSON kind of a field's cloud value: the `common.type` of its state when no row
/// names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// true / false: `boolean`, role `indicator`.
    Bool,
    /// A number: `number`, role `value`.
    Number,
    /// A string (mostly an enum): `string`, role `text`.
    Text,
    /// An object or array, stored as JSON text: `string`, role `json`.
    Json,
}

impl Cloud {
    /// `common.type` and the neutral role of a field of this kind.
    pub const fn type_and_role(self) -> (&'static str, &'static str) {
        match self {
            Cloud::Bool => ("boolean", "indicator"),
            Cloud::Number => ("number", "value"),
            Cloud::Text => ("string", "text"),
            Cloud::Json => ("string", "json"),
        }
    }

    /// Does a cloud value have this kind? (null does: a field with no value yet.)
    pub fn fits(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        matches!(
            (self, v),
            (_, V::Null)
                | (Cloud::Bool, V::Bool(_))
                | (Cloud::Number, V::Number(_))
                | (Cloud::Text, V::String(_))
                | (Cloud::Json, V::Array(_) | V::Object(_))
        )
    }
}

/// A field a type defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The cloud's field name (the last segment of the state id).
    pub name: &'static str,
    /// The kind of value the cloud sends for it.
    pub kind: Cloud,
}

/// A boolean field.
pub const fn b(name: &'static str) -> Field {
    Field {
        name,
        kind: Cloud::Bool,
    }
}

/// A number field.
pub const fn n(name: &'static str) -> Field {
    Field {
        name,
        kind: Cloud::Number,
    }
}

/// A string field.
pub const fn s(name: &'static str) -> Field {
    Field {
        name,
        kind: Cloud::Text,
    }
}

/// An object or array field.
pub const fn j(name: &'static str) -> Field {
    Field {
        name,
        kind: Cloud::Json,
    }
}

/// One channel or group type.
#[derive(Debug)]
pub struct TypeRow {
    /// The cloud's type name (`functionalChannelType`, group `type`).
    pub name: &'static str,
    /// A known type this one behaves like: its rows apply where this type has none of its
    /// own, and its fields are defined here too.
    pub like: Option<&'static str>,
    /// The fields the type defines, in groups (a shared base, then its own).
    pub fields: &'static [&'static [Field]],
}

/// Which catalog a type name is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Device channels (`functionalChannelType`).
    Channel,
    /// Groups (`type`).
    Group,
}

/// A type's defined fields (its own, then those of its `like` chain, each name once)
/// and the `like` chain resolved, built once per type.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The types whose rows apply after the type's own, nearest first.
    pub like: Vec<&'static str>,
    /// Every field the type defines, by name.
    pub fields: Vec<Field>,
    by_name: HashMap<&'static str, Cloud>,
}

impl Resolved {
    /// The kind of a defined field.
    pub fn kind_of(&self, field: &str) -> Option<Cloud> {
        self.by_name.get(field).copied()
    }
}

struct Index {
    channels: HashMap<&'static str, Resolved>,
    groups: HashMap<&'static str, Resolved>,
    devices: std::collections::HashSet<&'static str>,
}

fn resolve(rows: &'static [TypeRow]) -> HashMap<&'static str, Resolved> {
    let by_name: HashMap<&str, &TypeRow> = rows.iter().map(|r| (r.name, r)).collect();
    rows.iter()
        .map(|row| {
            let mut r = Resolved::default();
            let mut at = Some(row);
            // A like chain longer than the catalog is a cycle: stop there (a test forbids it).
            for _ in 0..=rows.len() {
                let Some(t) = at else { break };
                if t.name != row.name {
                    r.like.push(t.name);
                }
                for f in t.fields.iter().flat_map(|g| g.iter()) {
                    if !r.by_name.contains_key(f.name) {
                        r.by_name.insert(f.name, f.kind);
                        r.fields.push(*f);
                    }
                }
                at = t.like.and_then(|l| by_name.get(l).copied());
            }
            (row.name, r)
        })
        .collect()
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| Index {
        channels: resolve(CHANNEL_TYPES),
        groups: resolve(GROUP_TYPES),
        devices: DEVICE_TYPES.iter().copied().collect(),
    })
}

/// The resolved catalog entry of a channel or group type; None for an unknown type.
pub fn lookup(owner: Owner, type_name: &str) -> Option<&'static Resolved> {
    let ix = index();
    match owner {
        Owner::Channel => ix.channels.get(type_name),
        Owner::Group => ix.groups.get(type_name),
    }
}

/// Is this a known device type?
pub fn is_known_device_type(t: &str) -> bool {
    index().devices.contains(t)
}

/// Is this a known functional channel type?
pub fn is_known_channel_type(t: &str) -> bool {
    index().channels.contains_key(t)
}

/// Is this a known group type?
pub fn is_known_group_type(t: &str) -> bool {
    index().groups.contains_key(t)
}

#[cfg(test)]
mod tests;
