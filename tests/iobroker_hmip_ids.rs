//! A user moving from ioBroker.hmip 3.2.0 keeps the state ids that scripts and views use:
//! the share of the 8,271 state ids ioBroker.hmip creates for the 2023 fixture
//! (tests/fixtures/iobroker.hmip-3.2.0-state-ids.txt) that exist in our tree of it.

use std::collections::{BTreeMap, HashSet};

use iobroker_hmip::cloud::CurrentState;
use iobroker_hmip::tree;

/// The lowest share (per mille) of ioBroker.hmip's state ids our tree must have (the issue
/// asks for 95 %; 8,267 of 8,271 are there). Raise it
/// as ids are added; never lower it.
const AT_LEAST_PER_MILLE: usize = 999;

/// ioBroker.hmip's state ids, relative to the instance.
fn reference_ids() -> Vec<String> {
    include_str!("fixtures/iobroker.hmip-3.2.0-state-ids.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| {
            let (parent, leaves) = l.split_once(": ").expect("parent: leaves");
            leaves
                .split(' ')
                .map(move |leaf| format!("{parent}.{leaf}"))
        })
        .collect()
}

#[test]
fn most_iobroker_hmip_state_ids_exist() {
    let home: CurrentState = serde_json::from_str(include_str!("fixtures/home.json")).unwrap();
    let snap = tree::snapshot("hmip.0", &home);
    let ours: HashSet<&str> = snap
        .objects
        .iter()
        .filter(|o| o.obj_type == "state")
        .filter_map(|o| o.id.strip_prefix("hmip.0."))
        .collect();
    let reference = reference_ids();
    assert_eq!(reference.len(), 8271);
    let missing: Vec<&String> = reference
        .iter()
        .filter(|id| !ours.contains(id.as_str()))
        .collect();
    let present = reference.len() - missing.len();
    // What is missing, by last segment(s), most frequent first.
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for id in &missing {
        let name = match id.find(".events.") {
            Some(i) => id[i + 1..].to_string(),
            None => id.rsplit('.').next().unwrap().to_string(),
        };
        *by_name.entry(name).or_default() += 1;
    }
    let mut by_count: Vec<_> = by_name.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let figure = format!(
        "{present} of {} ioBroker.hmip 3.2.0 state ids exist ({:.1} %); missing: {by_count:?}",
        reference.len(),
        present as f64 * 100.0 / reference.len() as f64
    );
    println!("{figure}");
    assert!(
        present * 1000 >= reference.len() * AT_LEAST_PER_MILLE,
        "{figure}"
    );
}
