//! Object counts of a home's tree, from its JSON alone: shared by the adapter tests and
//! the tree's unit tests (which include this file by path).

use serde_json::Value;

/// How many device, channel and folder objects the tree of a home has, counted from its
/// JSON: a device per device, group and client and one for the home; a channel per
/// functional channel, an info channel per device and client, the instance's info, one per
/// nested object of the home and per functional home; a folder per device's channels and
/// per group's info, the four top folders and `functionalHomes`, and an `events` folder
/// (ioBroker.hmip's event states) per channel of `event_types` and per device with a
/// channel of `code_types` (key pads).
pub fn expected_counts(
    home: &Value,
    event_types: &[&str],
    code_types: &[&str],
) -> (usize, usize, usize) {
    let len = |k: &str| home[k].as_object().map_or(0, |m| m.len());
    let channels: usize = home["devices"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["functionalChannels"].as_object().unwrap().len())
        .sum();
    let channel_types = |d: &Value| -> Vec<String> {
        d["functionalChannels"]
            .as_object()
            .unwrap()
            .values()
            .map(|c| {
                c["functionalChannelType"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    let devices = home["devices"].as_object().unwrap().values();
    let event_folders: usize = devices
        .clone()
        .map(|d| {
            let types = channel_types(d);
            let events = types.iter().filter(|t| event_types.contains(&t.as_str()));
            events.count() + usize::from(types.iter().any(|t| code_types.contains(&t.as_str())))
        })
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
        4 + len("devices") + 1 + len("groups") + event_folders,
    )
}
