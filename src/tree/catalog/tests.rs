//! The catalog against the committed type lists, the table rows and the fixtures.

use std::collections::{BTreeSet, HashSet};

use super::*;
use crate::tree::table::{CHANNEL_ROWS, GROUP_ROWS};

/// The names under `[section]` of a committed list (the first word of each line;
/// `#` starts a comment).
fn section(list: &str, name: &str) -> BTreeSet<String> {
    let mut inside = false;
    let mut out = BTreeSet::new();
    for line in list.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = s == name;
        } else if inside && !line.is_empty() {
            out.insert(line.split_whitespace().next().unwrap().to_string());
        }
    }
    out
}

const PY: &str = include_str!("homematicip-2.19.1.txt");
const IOB: &str = include_str!("iobroker.hmip-3.2.0.txt");
const EXTRAS: &str = include_str!("extras.txt");

fn names(rows: &[TypeRow]) -> BTreeSet<String> {
    rows.iter().map(|r| r.name.to_string()).collect()
}

fn diff(what: &str, catalog: &BTreeSet<String>, lists: &BTreeSet<String>) {
    let missing: Vec<_> = lists.difference(catalog).collect();
    let unlisted: Vec<_> = catalog.difference(lists).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "{what}: listed but no catalog row: {missing:?}; catalog rows no list names \
         (add them to extras.txt with their source): {unlisted:?}"
    );
}

#[test]
fn catalog_matches_the_committed_lists() {
    let py_devices = section(PY, "DeviceType");
    let py_channels = section(PY, "FunctionalChannelType");
    let py_groups = section(PY, "GroupType");
    // The library's own counts, so that a truncated list does not pass.
    assert_eq!(
        (py_devices.len(), py_channels.len(), py_groups.len()),
        (179, 138, 55)
    );
    let iob: BTreeSet<String> = section(IOB, "CHANNEL_STATES")
        .into_iter()
        .chain(section(IOB, "STATELESS_CHANNELS"))
        .collect();
    assert_eq!(iob.len(), 113);

    let devices: BTreeSet<String> = DEVICE_TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(devices.len(), DEVICE_TYPES.len(), "a device type twice");
    let listed = |py: BTreeSet<String>, extras: &str| -> BTreeSet<String> {
        py.into_iter().chain(section(EXTRAS, extras)).collect()
    };
    diff("device types", &devices, &listed(py_devices, "DeviceType"));
    let channels: BTreeSet<String> = listed(py_channels, "FunctionalChannelType")
        .into_iter()
        .chain(iob)
        .collect();
    diff("channel types", &names(CHANNEL_TYPES), &channels);
    diff(
        "group types",
        &names(GROUP_TYPES),
        &listed(py_groups, "GroupType"),
    );
    assert_eq!(names(CHANNEL_TYPES).len(), CHANNEL_TYPES.len());
    assert_eq!(names(GROUP_TYPES).len(), GROUP_TYPES.len());
}

#[test]
fn every_row_names_a_type_the_catalog_knows() {
    for r in CHANNEL_ROWS {
        for t in r.types {
            assert!(
                is_known_channel_type(t),
                "channel row {} names {t}, which the catalog does not know (misspelt?)",
                r.field
            );
        }
        if let Some(g) = r.control.and_then(|c| c.via_group) {
            assert!(is_known_group_type(g), "{}: group type {g}", r.field);
        }
    }
    for r in GROUP_ROWS {
        for t in r.types {
            assert!(
                is_known_group_type(t),
                "group row {} names {t}, which the catalog does not know (misspelt?)",
                r.field
            );
        }
    }
    for t in crate::tree::events::EVENT_CHANNEL_TYPES {
        assert!(is_known_channel_type(t), "event channel type {t}");
    }
}

#[test]
fn like_names_a_known_type_without_cycles_and_fields_are_unique() {
    for (owner, rows) in [(Owner::Channel, CHANNEL_TYPES), (Owner::Group, GROUP_TYPES)] {
        for row in rows {
            let r = lookup(owner, row.name).unwrap();
            if let Some(l) = row.like {
                assert!(lookup(owner, l).is_some(), "{}: like {l}", row.name);
                assert_eq!(r.like.first(), Some(&l));
            }
            assert!(!r.like.contains(&row.name), "{}: like cycle", row.name);
            let mut seen = HashSet::new();
            for f in row.fields.iter().flat_map(|g| g.iter()) {
                assert!(seen.insert(f.name), "{}: {} twice", row.name, f.name);
            }
        }
    }
}

#[test]
fn a_type_like_another_takes_its_rows_and_fields() {
    use crate::tree::table;
    // WALL_MOUNTED_THERMOSTAT_CHANNEL is one catalog row, like the PRO channel.
    let new = "WALL_MOUNTED_THERMOSTAT_CHANNEL";
    let row = CHANNEL_TYPES.iter().find(|r| r.name == new).unwrap();
    assert_eq!(row.like, Some("WALL_MOUNTED_THERMOSTAT_PRO_CHANNEL"));
    let set_point = table::find(CHANNEL_ROWS, new, "setPointTemperature").unwrap();
    assert_eq!(set_point.role, "level.temperature");
    assert!(set_point.control.is_some());
    let r = lookup(Owner::Channel, new).unwrap();
    assert_eq!(r.kind_of("setPointTemperature"), Some(Cloud::Number));
    assert_eq!(r.kind_of("display"), Some(Cloud::Text));
    // Generic rows still apply, and a type like nothing has no like rows.
    assert_eq!(
        table::find(CHANNEL_ROWS, new, "lowBat").unwrap().role,
        "indicator.maintenance.lowbat"
    );
    assert!(table::find(CHANNEL_ROWS, "SWITCH_CHANNEL", "setPointTemperature").is_none());
    // Actions and parameters too: a dimmer like the multi-mode input dimmer.
    let local: Vec<&str> = table::local_rows(CHANNEL_ROWS, "UNIVERSAL_DIMMING_CHANNEL")
        .iter()
        .map(|r| r.field)
        .collect();
    for f in ["controlOnTime", "controlRampTime", "setDimLevelWithTime"] {
        assert!(local.contains(&f), "{f}: {local:?}");
    }
}

#[test]
fn fixture_types_are_known_and_unknown_ones_are_not() {
    for raw in [
        include_str!("../../../tests/fixtures/home.json"),
        include_str!("../../sim/demo_home.json"),
    ] {
        let home: crate::cloud::CurrentState = serde_json::from_str(raw).unwrap();
        for d in home.devices.values() {
            assert!(is_known_device_type(&d.device_type), "{}", d.device_type);
            for ch in d.channels.values() {
                assert!(
                    is_known_channel_type(&ch.channel_type),
                    "{}",
                    ch.channel_type
                );
            }
        }
        for g in home.groups.values() {
            assert!(is_known_group_type(&g.group_type), "{}", g.group_type);
        }
    }
    let unknown: crate::cloud::CurrentState =
        serde_json::from_str(include_str!("../../../tests/fixtures/unknown_types.json")).unwrap();
    let d = &unknown.devices["3014F7110000000000000050"];
    assert!(!is_known_channel_type(&d.channels["0"].channel_type));
    assert!(!is_known_device_type("DUMMY_DEVICE"));
    assert!(!is_known_group_type("DUMMY_GROUP"));
}

#[test]
fn defined_kinds_match_the_fixture_values() {
    // A declared kind that the cloud contradicts would type a state wrongly until the
    // first value arrives.
    let home: crate::cloud::CurrentState =
        serde_json::from_str(include_str!("../../../tests/fixtures/home.json")).unwrap();
    for d in home.devices.values() {
        for ch in d.channels.values() {
            let r = lookup(Owner::Channel, &ch.channel_type).unwrap();
            for (k, v) in &ch.fields {
                if let Some(kind) = r.kind_of(k) {
                    assert!(
                        kind.fits(&v.to_value()),
                        "{} {k}: {kind:?} vs {v}",
                        ch.channel_type
                    );
                }
            }
        }
    }
}
