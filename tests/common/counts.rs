//! Object counts of a home's tree, from its JSON alone: shared by the adapter tests and
//! the tree's unit tests (which include this file by path).

use serde_json::Value;

/// How many device, channel and folder objects the tree of a home has, counted from its
/// JSON: a device per device, group and client and one for the home; a channel per
/// functional channel, an info channel per device and client, the instance's info, one per
/// nested object of the home and per functional home; a folder per device's channels and
/// per group's info, the four top folders and `functionalHomes`.
pub fn expected_counts(home: &Value) -> (usize, usize, usize) {
    let len = |k: &str| home[k].as_object().map_or(0, |m| m.len());
    let channels: usize = home["devices"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["functionalChannels"].as_object().unwrap().len())
        .sum();
    let h = home["home"].as_object().unwrap();
    let nested = h
        .iter()
        .filter(|(k, v)| v.is_object() && *k != "functionalHomes")
        .count();
    let functional = h["functionalHomes"].as_object().map_or(0, |m| m.len());
    (
        len("devices") + len("groups") + len("clients") + 1,
        channels + len("devices") + len("clients") + 1 + nested + functional,
        4 + len("devices") + 1 + len("groups"),
    )
}
