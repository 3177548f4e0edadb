//! Every writable state of the fixture trees, written like a user: each valid value
//! becomes exactly the control call recorded in the fixture's golden file
//! (tests/golden/writes.json for the 2023 home, writes-2026.json for the project's 2026
//! home; reviewed files: regenerate with `UPDATE_GOLDEN=1 cargo test --test writes` and
//! read the diff), and every bad value is refused with nothing sent.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::{fast_options, fixture, Harness};
use iobroker_hmip::adapter::AdapterOptions;
use iobroker_hmip::cloud::CurrentState;
use iobroker_hmip::iobroker::IobObject;
use iobroker_hmip::store::Store;
use iobroker_hmip::tree::{self, WriteAction};
use serde_json::{json, Value};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/writes.json");
const GOLDEN_2026: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/writes-2026.json");

/// A valid value for a writable state that differs from its current value.
fn valid_value(o: &IobObject, current: Option<&Value>) -> Value {
    let c = &o.common;
    let field = o.id.rsplit('.').next().unwrap();
    match c["type"].as_str().unwrap() {
        "boolean" if c["role"].as_str().unwrap().starts_with("button") => json!(true),
        "boolean" => json!(!current.and_then(Value::as_bool).unwrap_or(false)),
        "number" => {
            let (min, max) = (
                c.get("min").and_then(Value::as_f64),
                c.get("max").and_then(Value::as_f64),
            );
            let cur = current.and_then(Value::as_f64);
            let v = match (min, max) {
                (Some(a), Some(b)) => {
                    let mid = ((a + b) / 2.0).round();
                    if cur == Some(mid) {
                        mid + 1.0
                    } else {
                        mid
                    }
                }
                (Some(a), None) => a + 1.0,
                (None, Some(b)) => b - 1.0,
                (None, None) => cur.map_or(1.0, |x| (x + 1.0).round()),
            };
            // An indexed enum takes one of its numbers: the next one, else the first
            // that differs from the current value.
            let v = match c.get("states").and_then(Value::as_object) {
                Some(states) if !states.contains_key(&v.to_string()) => states
                    .keys()
                    .filter_map(|k| k.parse::<f64>().ok())
                    .find(|k| Some(*k) != cur)
                    .unwrap_or(v),
                _ => v,
            };
            if v.fract() == 0.0 {
                json!(v as i64)
            } else {
                json!(v)
            }
        }
        "string" => match c.get("states").and_then(Value::as_object) {
            Some(states) => {
                let key = states
                    .keys()
                    .find(|k| Some(k.as_str()) != current.and_then(Value::as_str))
                    .unwrap();
                json!(key)
            }
            None if field.to_lowercase().contains("timezone") => json!("Europe/Paris"),
            // The alarm's on-time: text holding seconds, as in ioBroker.hmip.
            None if field == "setOnTime" => json!("180"),
            None if field.to_lowercase().contains("time") => json!("2030_01_31 12:30"),
            None if field.to_lowercase().contains("pin") => json!("1234"),
            None if field.to_lowercase().contains("duration") => json!("60"),
            None => json!("test"),
        },
        other => panic!("{}: writable state of type {other}", o.id),
    }
}

/// Values a writable state must refuse.
fn bad_values(o: &IobObject) -> Vec<Value> {
    let c = &o.common;
    match c["type"].as_str().unwrap() {
        "boolean" => vec![json!("yes")],
        "number" => {
            let mut v = vec![json!("12")];
            if let Some(max) = c.get("max").and_then(Value::as_f64) {
                v.push(json!(max + 1.0));
            }
            v
        }
        "string" if c.get("states").is_some() => vec![json!("NO_SUCH_STATE"), json!(1)],
        _ => vec![json!(1)],
    }
}

/// The writable states of the fixture tree, by id, with the value each gets.
fn plan(model: &CurrentState) -> Vec<(IobObject, Value)> {
    let snap = tree::snapshot("hmip.0", model);
    let current: HashMap<&str, &Value> = snap
        .values
        .iter()
        .map(|v| (v.id.as_str(), &v.val))
        .collect();
    let mut out: Vec<(IobObject, Value)> = snap
        .objects
        .iter()
        .filter(|o| o.obj_type == "state" && o.common.get("write") == Some(&json!(true)))
        .map(|o| {
            (
                o.clone(),
                valid_value(o, current.get(o.id.as_str()).copied()),
            )
        })
        .collect();
    // Parameters first (a vacation's temperature before the vacation), as a user would.
    let is_param = |o: &IobObject, v: &Value| {
        matches!(
            tree::write_to_call("hmip.0", model, &o.id, v, &|_| None),
            Ok(WriteAction::Local | WriteAction::Secret(_))
        )
    };
    out.sort_by_cached_key(|(o, v)| (!is_param(o, v), o.id.clone()));
    out
}

/// What each write amounts to, computed by the pure mapping in write order (parameters
/// written earlier are sent along by later calls, as the adapter does).
fn expected(model: &CurrentState, plan: &[(IobObject, Value)]) -> BTreeMap<String, Value> {
    let mut params: HashMap<String, Value> = HashMap::new();
    let mut out = BTreeMap::new();
    for (o, val) in plan {
        let lookup = |id: &str| params.get(id).cloned();
        let entry = match tree::write_to_call("hmip.0", model, &o.id, val, &lookup) {
            Ok(WriteAction::Call(c)) => json!({"val": val, "path": c.path, "body": c.body}),
            Ok(WriteAction::Local) => {
                params.insert(o.id.clone(), val.clone());
                json!({"val": val, "local": true})
            }
            // A PIN is sent along like a parameter; its state shows only the mask.
            Ok(WriteAction::Secret(kept)) => {
                params.insert(o.id.clone(), json!(kept.unwrap_or_default()));
                json!({"val": tree::SECRET_MASK, "local": true})
            }
            Err(e) => panic!("{}: the valid value {val} was refused: {e}", o.id),
        };
        out.insert(o.id.clone(), entry);
    }
    out
}

async fn every_writable_state_sends_exactly_its_control_call() {
    writes_match_golden("home.json", GOLDEN, 100).await;
}

async fn every_writable_state_of_the_2026_home_sends_exactly_its_control_call() {
    writes_match_golden("home-2026.json", GOLDEN_2026, 100).await;
}

/// Map `fixture`, write each writable state, and check the calls against `golden` (at
/// least `min_states` of them, so that an empty plan cannot pass).
async fn writes_match_golden(fixture_name: &str, golden_path: &str, min_states: usize) {
    let home = fixture(fixture_name);
    let model: CurrentState = serde_json::from_value(home.clone()).unwrap();
    let plan = plan(&model);
    let expected = expected(&model, &plan);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(
            golden_path,
            serde_json::to_string_pretty(&expected).unwrap() + "\n",
        )
        .unwrap();
    }
    let golden: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(golden_path).unwrap()).unwrap();
    assert_eq!(
        golden.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the writable states changed: regenerate the golden file and review it"
    );
    for (id, want) in &golden {
        assert_eq!(
            &expected[id], want,
            "{id}: the mapping no longer matches the reviewed golden file"
        );
    }
    assert!(
        golden.len() > min_states,
        "{fixture_name}: only {} writable states",
        golden.len()
    );

    // End to end. All writes land within one debounce window, so every call is built from
    // the fixture as it was (values sent along don't move under the test's feet).
    let mut options = fast_options();
    options.bucket_capacity = 1000;
    options.bucket_refill = Duration::from_millis(1);
    options.queue_limit = 5000;
    let opts = AdapterOptions {
        namespace: "hmip.0".into(),
        write_debounce: Duration::from_secs(3),
        confirm_timeout: Duration::from_secs(30),
        ..AdapterOptions::default()
    };
    let h = Harness::start_full(home, options, opts).await;

    // Bad values first: refused by the HTTP API (400) and, written straight into the
    // store as ioBroker would deliver them, refused by the adapter. Nothing is sent.
    let mut store_writes = Vec::new();
    for (o, _) in &plan {
        for bad in bad_values(o) {
            let r = h.put(&o.id, bad.clone()).await;
            assert_eq!(r.status(), 400, "{} accepted {bad} through the API", o.id);
            store_writes.push((
                o.id.clone(),
                common::written(bad, false, "system.adapter.test.0"),
            ));
        }
    }
    h.store.set_states(store_writes).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        h.calls().await,
        Vec::<Value>::new(),
        "bad values reached the cloud"
    );

    for (o, val) in &plan {
        let r = h.put(&o.id, val.clone()).await;
        assert_eq!(r.status(), 200, "{}: {}", o.id, r.text().await.unwrap());
    }
    let want: Vec<Value> = golden
        .values()
        .filter(|e| e.get("path").is_some())
        .map(|e| json!({"path": e["path"], "body": e["body"]}))
        .collect();
    // 1,167 calls one after another: allow for a loaded machine.
    common::wait_until_within(Duration::from_secs(90), || async {
        h.calls().await.len() >= want.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut got: Vec<Value> = h
        .calls()
        .await
        .into_iter()
        .map(|c| json!({"path": c["path"], "body": c["body"]}))
        .collect();
    let mut want = want;
    let key = |v: &Value| v.to_string();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got.len(), want.len(), "calls recorded by the simulator");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    // Parameters are acknowledged by the adapter and sent nowhere.
    for (id, e) in &golden {
        if e.get("local").is_some() {
            h.wait_state(id, |s| s["val"] == e["val"] && s["ack"] == json!(true))
                .await;
        }
    }
    h.stop().await.unwrap();
}

crate::over_both_transports!(
    every_writable_state_sends_exactly_its_control_call,
    every_writable_state_of_the_2026_home_sends_exactly_its_control_call,
);
