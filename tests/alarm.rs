//! Both alarm panels against the simulator: the 2023 fixture has the classic one
//! (`INTERNAL`/`EXTERNAL`), the demo home the request-based one (`ABSENCE`/`PRESENCE`).
//! Every mode is read from the zones, every write sends the call of its panel kind (the old
//! call never reaches a request-based panel), an open window blocks arming with one log
//! line, `alarmActivationProblems` and the real mode shown again, "arm anyway" arms past
//! it, and ioBroker.hmip 3.1.1's four zone states read and write as there. ioBroker.hmip
//! 3.x's other commands: the journal (read by the button and on the cloud's
//! `SECURITY_JOURNAL_CHANGED`, its newest entry shown), the zone-activation buttons (the
//! call of each panel), the silent-alarm buttons and the alarm group's settings and tests.

mod common;

use common::{capture_logs, fixture, written, Harness};
use iobroker_hmip::sim;
use iobroker_hmip::store::Store;
use serde_json::{json, Value};

const SECURITY: &str = "functionalHomes.securityAndAlarm";

/// The id of a state of the security functional home.
fn sid(home: &Value, field: &str) -> String {
    format!(
        "hmip.0.homes.{}.{SECURITY}.{field}",
        home["home"]["id"].as_str().unwrap()
    )
}

/// The zone group of a label.
fn zone(home: &Value, label: &str) -> Value {
    home["groups"]
        .as_object()
        .unwrap()
        .values()
        .find(|g| g["type"] == "SECURITY_ZONE" && g["label"] == label)
        .unwrap_or_else(|| panic!("no {label} zone"))
        .clone()
}

/// Push the zones as the cloud reports them (`None`: no `active` field), one message.
async fn push_zones(h: &Harness, zones: &[(&str, Option<bool>)]) {
    let home = h.sim.home();
    let mut events = serde_json::Map::new();
    for (i, (label, active)) in zones.iter().enumerate() {
        let mut g = zone(&home, label);
        let o = g.as_object_mut().unwrap();
        match active {
            Some(a) => o.insert("active".into(), json!(a)),
            None => o.remove("active"),
        };
        events.insert(
            i.to_string(),
            json!({"pushEventType": "GROUP_CHANGED", "group": g}),
        );
    }
    let r = h.sim_post("/sim/push", json!({ "events": events })).await;
    assert!(r.status().is_success());
}

/// Wait until the four readable alarm states show (alarmMode, securityZonesArmedMode,
/// internalZoneArmed, externalZoneArmed), acknowledged.
async fn wait_read(h: &Harness, home: &Value, want: (&str, &str, bool, bool)) {
    for (field, val) in [
        ("alarmMode", json!(want.0)),
        ("securityZonesArmedMode", json!(want.1)),
        ("internalZoneArmed", json!(want.2)),
        ("externalZoneArmed", json!(want.3)),
    ] {
        h.wait_state(&sid(home, field), |s| s["val"] == val && s["ack"] == true)
            .await;
    }
}

/// The window and door contacts of the demo's PRESENCE zone that are open or tilted:
/// (device id, label).
fn open_contacts(home: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for m in zone(home, "PRESENCE")["channels"].as_array().unwrap() {
        let d = &home["devices"][m["deviceId"].as_str().unwrap()];
        let w = &d["functionalChannels"][m["channelIndex"].to_string()]["windowState"];
        if w == "OPEN" || w == "TILTED" {
            out.push((
                d["id"].as_str().unwrap().to_string(),
                d["label"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// Close every open contact of the demo (as a user would before arming).
async fn close_windows(h: &Harness) {
    for (device, _) in open_contacts(&h.sim.home()) {
        let r = h
            .sim_post(
                &format!("/sim/device/{device}/channel/1"),
                json!({"windowState": "CLOSED"}),
            )
            .await;
        assert!(r.status().is_success());
    }
}

/// Write like a user, wait for the acknowledged result, and return the calls it sent.
async fn write_and_wait(h: &Harness, id: &str, val: Value, then: (&str, Value)) -> Vec<Value> {
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    let r = h.put(id, val.clone()).await;
    assert_eq!(r.status(), 200, "{id} = {val}");
    h.wait_state(then.0, |s| s["val"] == then.1 && s["ack"] == true)
        .await;
    h.calls()
        .await
        .into_iter()
        .map(|c| json!({"path": c["path"], "body": c["body"]}))
        .collect()
}

async fn every_mode_reads_from_the_classic_zones() {
    let home = fixture("home.json");
    let h = Harness::start(home.clone()).await;
    wait_read(&h, &home, ("disarmed", "OFF", false, false)).await;
    for (internal, external, want) in [
        (false, true, ("perimeter", "EXTERNAL", false, true)),
        (true, true, ("full", "INTERNAL_AND_EXTERNAL", true, true)),
        (true, false, ("internal", "INTERNAL", true, false)),
        (false, false, ("disarmed", "OFF", false, false)),
    ] {
        push_zones(
            &h,
            &[("INTERNAL", Some(internal)), ("EXTERNAL", Some(external))],
        )
        .await;
        wait_read(&h, &home, want).await;
    }
    h.stop().await.unwrap();
}

async fn every_mode_reads_from_the_request_based_zones() {
    let home = sim::demo_home();
    let h = Harness::start(home.clone()).await;
    // The demo's zones have no `active` field: not armed.
    assert!(zone(&home, "ABSENCE").get("active").is_none());
    wait_read(&h, &home, ("disarmed", "OFF", false, false)).await;
    for (absence, presence, want) in [
        (None, Some(true), ("perimeter", "PRESENCE", false, true)),
        (Some(true), None, ("full", "ABSENCE", true, true)),
        (Some(false), Some(false), ("disarmed", "OFF", false, false)),
        (None, Some(true), ("perimeter", "PRESENCE", false, true)),
        (None, None, ("disarmed", "OFF", false, false)),
    ] {
        push_zones(&h, &[("ABSENCE", absence), ("PRESENCE", presence)]).await;
        wait_read(&h, &home, want).await;
        // The zone groups' own `active` states follow, a missing field as false.
        for (label, active) in [("ABSENCE", absence), ("PRESENCE", presence)] {
            let id = format!(
                "hmip.0.groups.{}.active",
                zone(&home, label)["id"].as_str().unwrap()
            );
            let want = json!(active.unwrap_or(false));
            h.wait_state(&id, |s| s["val"] == want).await;
        }
    }
    h.stop().await.unwrap();
}

async fn every_mode_written_sends_the_call_of_the_classic_panel() {
    let home = fixture("home.json");
    let h = Harness::start(home.clone()).await;
    let id = sid(&home, "alarmMode");
    for (mode, internal, external) in [
        ("perimeter", false, true),
        ("full", true, true),
        ("internal", true, false),
        ("disarmed", false, false),
    ] {
        let calls = write_and_wait(&h, &id, json!(mode), (&id, json!(mode))).await;
        assert_eq!(
            calls,
            [json!({
                "path": "home/security/setZonesActivation",
                "body": {"zonesActivation": {"INTERNAL": internal, "EXTERNAL": external}}
            })],
            "{mode}"
        );
    }
    h.stop().await.unwrap();
}

async fn every_mode_written_sends_the_call_of_the_request_based_panel() {
    let home = sim::demo_home();
    let h = Harness::start(home.clone()).await;
    close_windows(&h).await;
    let id = sid(&home, "alarmMode");
    let mut all = Vec::new();
    for (mode, presence, absence, words) in [
        ("perimeter", true, false, "PRESENCE"),
        ("full", false, true, "ABSENCE"),
        ("perimeter", true, false, "PRESENCE"),
        ("disarmed", false, false, "OFF"),
    ] {
        let calls = write_and_wait(&h, &id, json!(mode), (&id, json!(mode))).await;
        assert_eq!(
            calls,
            [json!({
                "path": "home/security/setExtendedZonesActivation",
                "body": {"zonesActivation": {"PRESENCE": presence, "ABSENCE": absence}, "ignoreLowBat": true}
            })],
            "{mode}"
        );
        // The simulator armed it (the zones changed and were pushed).
        h.wait_state(&sid(&home, "securityZonesArmedMode"), |s| s["val"] == words)
            .await;
        h.wait_state(&sid(&home, "alarmActivationProblems"), |s| s["val"] == "[]")
            .await;
        all.extend(calls);
    }
    // The request-based panel has no internal-only mode: refused, nothing sent, the
    // real mode shown again.
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    assert_eq!(h.put(&id, json!("internal")).await.status(), 200);
    h.wait_state(&id, |s| s["val"] == "disarmed" && s["ack"] == true)
        .await;
    assert!(h.calls().await.is_empty());
    assert!(
        all.iter()
            .all(|c| c["path"] != "home/security/setZonesActivation"),
        "the old call reached a request-based panel: {all:?}"
    );
    h.stop().await.unwrap();
}

async fn an_open_window_blocks_arming_and_arm_anyway_arms_past_it() {
    let _log = common::log_lock().await;
    let logs = capture_logs("info");
    let home = sim::demo_home();
    let open = open_contacts(&home);
    assert!(!open.is_empty(), "the demo has an open window");
    let h = Harness::start(home.clone()).await;
    let (mode, problems, anyway) = (
        sid(&home, "alarmMode"),
        sid(&home, "alarmActivationProblems"),
        sid(&home, "alarmModeArmAnyway"),
    );
    h.wait_state(&mode, |s| s["val"] == "disarmed").await;
    let mark = logs.mark();

    // Blocked: nothing armed, the real mode acknowledged again, the problems listed.
    let calls = write_and_wait(&h, &mode, json!("perimeter"), (&mode, json!("disarmed"))).await;
    assert_eq!(
        calls,
        [json!({
            "path": "home/security/setExtendedZonesActivation",
            "body": {"zonesActivation": {"PRESENCE": true, "ABSENCE": false}, "ignoreLowBat": true}
        })]
    );
    let listed = h
        .wait_state(&problems, |s| s["val"] != "[]" && !s["val"].is_null())
        .await;
    assert_eq!(listed["ack"], true);
    let listed: Value = serde_json::from_str(listed["val"].as_str().unwrap()).unwrap();
    let mut named: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["reasons"], json!(["WINDOW_NOT_CLOSED"]), "{p}");
            assert_eq!(p["channelIndex"], 1);
            (
                p["deviceId"].as_str().unwrap().to_string(),
                p["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    named.sort();
    let mut want = open.clone();
    want.sort();
    assert_eq!(named, want);
    assert_eq!(
        h.state(&sid(&home, "securityZonesArmedMode"))
            .await
            .unwrap()["val"],
        "OFF"
    );
    // One log line, naming each window by label and id, with the reason.
    let text = logs.since(mark);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("alarm not armed"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains("WARN"), "{}", lines[0]);
    for (id, label) in &open {
        assert!(
            lines[0].contains(&format!("{label} ({id} channel 1): WINDOW_NOT_CLOSED")),
            "{}",
            lines[0]
        );
    }

    // Arm anyway: the ignore-list call with the channels that blocked, and armed.
    let calls = write_and_wait(&h, &anyway, json!("perimeter"), (&mode, json!("perimeter"))).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0]["path"],
        "home/security/setExtendedZonesActivationWithIgnoreList"
    );
    let body = &calls[0]["body"];
    assert_eq!(
        (&body["zonesActivation"], &body["ignoreLowBat"]),
        (&json!({"PRESENCE": true, "ABSENCE": false}), &json!(true))
    );
    let mut ignored: Vec<(String, u64)> = body["ignorableDeviceChannels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["deviceId"].as_str().unwrap().to_string(),
                c["channelIndex"].as_u64().unwrap(),
            )
        })
        .collect();
    ignored.sort();
    assert_eq!(
        ignored,
        want.iter()
            .map(|(id, _)| (id.clone(), 1))
            .collect::<Vec<_>>()
    );
    h.wait_state(&sid(&home, "securityZonesArmedMode"), |s| {
        s["val"] == "PRESENCE"
    })
    .await;
    // A successful arming empties the problems; the command is acknowledged as written.
    h.wait_state(&problems, |s| s["val"] == "[]" && s["ack"] == true)
        .await;
    h.wait_state(&anyway, |s| s["val"] == "perimeter" && s["ack"] == true)
        .await;
    assert_eq!(
        logs.since(mark)
            .lines()
            .filter(|l| l.contains("alarm not armed"))
            .count(),
        1
    );
    h.stop().await.unwrap();
}

/// ioBroker.hmip's `activateSecurityZones`, written as a script would (any case, into the
/// store, ack false).
async fn activate(h: &Harness, home: &Value, words: &str) {
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    h.store
        .set_states(vec![(
            sid(home, "activateSecurityZones"),
            written(json!(words), false, "system.adapter.javascript.0"),
        )])
        .await
        .unwrap();
}

async fn iobroker_hmip_zone_states_read_and_write_as_in_3_1_1() {
    // Their objects: ioBroker.hmip 3.2.0's ids, types and flags.
    let home = fixture("home.json");
    let h = Harness::start(home.clone()).await;
    wait_read(&h, &home, ("disarmed", "OFF", false, false)).await;
    let objects: Value = h
        .http
        .get(format!(
            "{}/api/v1/objects?pattern=hmip.0.homes.*.{SECURITY}.*",
            h.api
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (field, ty, read, write) in [
        ("securityZonesArmedMode", "string", true, false),
        ("activateSecurityZones", "string", false, true),
        ("internalZoneArmed", "boolean", true, false),
        ("externalZoneArmed", "boolean", true, false),
    ] {
        let c = &objects[sid(&home, field)]["common"];
        assert_eq!(
            (&c["type"], &c["read"], &c["write"]),
            (&json!(ty), &json!(read), &json!(write)),
            "{field}"
        );
    }
    let words = [
        "ABSENCE",
        "EXTERNAL",
        "INTERNAL",
        "INTERNAL_AND_EXTERNAL",
        "OFF",
        "PRESENCE",
    ];
    for field in ["securityZonesArmedMode", "activateSecurityZones"] {
        let mut keys: Vec<&str> = objects[sid(&home, field)]["common"]["states"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, words, "{field}");
    }

    // Classic panel: the six words in any case, each the classic pair it names.
    for (words, internal, external, shown) in [
        ("internal_and_external", true, true, "INTERNAL_AND_EXTERNAL"),
        (" Off ", false, false, "OFF"),
        ("presence", false, true, "EXTERNAL"),
        ("ABSENCE", true, true, "INTERNAL_AND_EXTERNAL"),
        ("Internal", true, false, "INTERNAL"),
        ("external", false, true, "EXTERNAL"),
    ] {
        activate(&h, &home, words).await;
        wait_read(
            &h,
            &home,
            (
                match (internal, external) {
                    (true, true) => "full",
                    (true, false) => "internal",
                    (false, true) => "perimeter",
                    _ => "disarmed",
                },
                shown,
                internal,
                external,
            ),
        )
        .await;
        let calls = h.calls().await;
        assert_eq!(calls.len(), 1, "{words}: {calls:?}");
        assert_eq!(
            (&calls[0]["path"], &calls[0]["body"]),
            (
                &json!("home/security/setZonesActivation"),
                &json!({"zonesActivation": {"INTERNAL": internal, "EXTERNAL": external}})
            ),
            "{words}"
        );
    }
    // A word it does not know is refused and sends nothing: the disarming written to
    // alarmMode after it is the only call.
    activate(&h, &home, "ARMED").await;
    let id = sid(&home, "alarmMode");
    assert_eq!(h.put(&id, json!("disarmed")).await.status(), 200);
    h.wait_state(&id, |s| s["val"] == "disarmed" && s["ack"] == true)
        .await;
    let calls = h.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0]["body"],
        json!({"zonesActivation": {"INTERNAL": false, "EXTERNAL": false}})
    );
    h.stop().await.unwrap();

    // Request-based panel: PRESENCE and ABSENCE; the classic words map onto them.
    let home = sim::demo_home();
    let h = Harness::start(home.clone()).await;
    close_windows(&h).await;
    for (words, presence, absence, want) in [
        (
            "presence",
            true,
            false,
            ("perimeter", "PRESENCE", false, true),
        ),
        ("Absence", false, true, ("full", "ABSENCE", true, true)),
        ("OFF", false, false, ("disarmed", "OFF", false, false)),
        ("internal", false, true, ("full", "ABSENCE", true, true)),
        (
            "EXTERNAL",
            true,
            false,
            ("perimeter", "PRESENCE", false, true),
        ),
    ] {
        activate(&h, &home, words).await;
        wait_read(&h, &home, want).await;
        let calls = h.calls().await;
        assert_eq!(calls.len(), 1, "{words}: {calls:?}");
        assert_eq!(
            (&calls[0]["path"], &calls[0]["body"]),
            (
                &json!("home/security/setExtendedZonesActivation"),
                &json!({"zonesActivation": {"PRESENCE": presence, "ABSENCE": absence}, "ignoreLowBat": true})
            ),
            "{words}"
        );
    }
    h.stop().await.unwrap();
}

/// Press a button like a user and wait until it is acknowledged; the calls it sent.
async fn press(h: &Harness, id: &str) -> Vec<Value> {
    write_and_wait(h, id, json!(true), (id, json!(true))).await
}

async fn the_journal_shows_its_newest_entry_after_a_read() {
    let home = fixture("home.json");
    let h = Harness::start(home.clone()).await;
    let (read, journal, ts, kind, label) = (
        sid(&home, "readSecurityJournal"),
        sid(&home, "securityJournal"),
        sid(&home, "securityJournalEventTimestamp"),
        sid(&home, "securityJournalEventType"),
        sid(&home, "securityJournalLabel"),
    );
    h.wait_state(&sid(&home, "alarmMode"), |s| s["ack"] == true)
        .await;
    // An empty journal: the button reads it, nothing is newest.
    let calls = press(&h, &read).await;
    assert_eq!(
        calls,
        [json!({"path": "home/security/getSecurityJournal", "body": {}})]
    );
    h.wait_state(&journal, |s| s["val"] == "[]" && s["ack"] == true)
        .await;
    for id in [&ts, &kind, &label] {
        assert_eq!(h.state(id).await.unwrap()["val"], Value::Null, "{id}");
    }
    // The access point logs the real journal's entries (eight of one time) and the cloud
    // says so: the adapter reads it, as ioBroker.hmip does, and shows the first newest.
    let real = fixture("security_journal.json");
    let r = h.sim_post("/sim/journal", real.clone()).await;
    assert!(r.status().is_success());
    h.wait_state(&kind, |s| {
        s["val"] == "ACTIVATION_CHANGED" && s["ack"] == true
    })
    .await;
    assert_eq!(h.state(&ts).await.unwrap()["val"], json!(1543777807110_i64));
    assert_eq!(h.state(&label).await.unwrap()["val"], "Alarmanlage aus");
    let shown = h.state(&journal).await.unwrap()["val"].clone();
    let shown: Value = serde_json::from_str(shown.as_str().unwrap()).unwrap();
    assert_eq!(shown, real["entries"]);
    // A newer entry: the button shows it.
    let newer = json!({"eventTimestamp": 1543777900000_i64, "eventType": "SABOTAGE", "label": "Fenster (Bad)"});
    let r = h
        .sim_post("/sim/journal", json!({ "entries": [newer] }))
        .await;
    assert!(r.status().is_success());
    h.wait_state(&kind, |s| s["val"] == "SABOTAGE").await;
    let calls = press(&h, &read).await;
    assert_eq!(
        calls,
        [json!({"path": "home/security/getSecurityJournal", "body": {}})]
    );
    assert_eq!(h.state(&label).await.unwrap()["val"], "Fenster (Bad)");
    assert_eq!(h.state(&ts).await.unwrap()["val"], json!(1543777900000_i64));
    h.stop().await.unwrap();
}

async fn the_zone_activation_buttons_arm_each_panel_with_its_call() {
    let buttons = [
        ("setSecurityZonesActivationExternal", false, true),
        ("setSecurityZonesActivationInternalAndExternal", true, true),
        ("setSecurityZonesActivationInternal", true, false),
        ("setSecurityZonesActivationNone", false, false),
    ];
    // Classic: the old call, the zones as the button names them.
    let home = fixture("home.json");
    let h = Harness::start(home.clone()).await;
    for ((field, i, e), words) in
        buttons
            .iter()
            .zip(["EXTERNAL", "INTERNAL_AND_EXTERNAL", "INTERNAL", "OFF"])
    {
        let calls = press(&h, &sid(&home, field)).await;
        assert_eq!(
            calls,
            [json!({"path": "home/security/setZonesActivation",
                    "body": {"zonesActivation": {"INTERNAL": i, "EXTERNAL": e}}})],
            "{field}"
        );
        h.wait_state(&sid(&home, "securityZonesArmedMode"), |s| s["val"] == words)
            .await;
    }
    h.stop().await.unwrap();

    // Request-based: the extended call; the inside watched is ABSENCE.
    let home = sim::demo_home();
    let h = Harness::start(home.clone()).await;
    close_windows(&h).await;
    for ((field, i, e), words) in buttons
        .iter()
        .zip(["PRESENCE", "ABSENCE", "ABSENCE", "OFF"])
    {
        let calls = press(&h, &sid(&home, field)).await;
        assert_eq!(
            calls,
            [json!({"path": "home/security/setExtendedZonesActivation",
                    "body": {"zonesActivation": {"PRESENCE": *e && !*i, "ABSENCE": i}, "ignoreLowBat": true}})],
            "{field}"
        );
        h.wait_state(&sid(&home, "securityZonesArmedMode"), |s| s["val"] == words)
            .await;
    }
    h.stop().await.unwrap();
}

async fn the_silent_alarm_buttons_send_iobroker_hmips_call() {
    let _log = common::log_lock().await;
    let buttons = [
        ("setZonesSilentAlarmNone", false, false),
        ("setZonesSilentAlarmInternal", true, false),
        ("setZonesSilentAlarmExternal", false, true),
        ("setZonesSilentAlarmInternalAndExternal", true, true),
    ];
    let body = |i: bool, e: bool| {
        json!({"path": "home/security/setZonesSilentAlarm",
               "body": {"zonesSilentAlarm": {"INTERNAL": i, "EXTERNAL": e}}})
    };
    // Classic: the zones' `silent` follows.
    let home = fixture("home.json");
    let h = Harness::start(home.clone()).await;
    let silent = |label: &str| {
        format!(
            "hmip.0.groups.{}.silent",
            zone(&home, label)["id"].as_str().unwrap()
        )
    };
    for (field, i, e) in buttons {
        let calls = press(&h, &sid(&home, field)).await;
        assert_eq!(calls, [body(i, e)], "{field}");
        h.wait_state(&silent("INTERNAL"), |s| s["val"] == i).await;
        h.wait_state(&silent("EXTERNAL"), |s| s["val"] == e).await;
    }
    h.stop().await.unwrap();

    // Request-based: the same body, as ioBroker.hmip sends it; the simulated panel knows
    // no INTERNAL or EXTERNAL zone and refuses it, and the adapter says so.
    let logs = capture_logs("info");
    let mark = logs.mark();
    let home = sim::demo_home();
    let h = Harness::start(home.clone()).await;
    h.wait_state(&sid(&home, "alarmMode"), |s| s["ack"] == true)
        .await;
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    let id = sid(&home, "setZonesSilentAlarmInternal");
    assert_eq!(h.put(&id, json!(true)).await.status(), 200);
    let failed = format!("control call home/security/setZonesSilentAlarm for {id} failed");
    common::wait_until(|| {
        let text = logs.since(mark);
        let failed = failed.clone();
        async move { text.contains(&failed) }
    })
    .await;
    let calls: Vec<Value> = h
        .calls()
        .await
        .into_iter()
        .map(|c| json!({"path": c["path"], "body": c["body"]}))
        .collect();
    assert_eq!(calls, [body(true, false)]);
    assert_eq!(h.state(&id).await.unwrap()["ack"], false, "not done");
    h.stop().await.unwrap();
}

async fn the_siren_settings_reach_the_alarm_group_on_both_panels() {
    for home in [fixture("home.json"), sim::demo_home()] {
        let group = home["home"]["functionalHomes"]["SECURITY_AND_ALARM"]
            ["securitySwitchingGroups"]["ALARM"]
            .as_str()
            .unwrap()
            .to_string();
        let h = Harness::start(home.clone()).await;
        let gid = |f: &str| format!("hmip.0.groups.{group}.{f}");
        h.wait_state(&gid("signalAcoustic"), |s| s["ack"] == true)
            .await;
        for (field, val, path, key, cloud) in [
            (
                "setOnTime",
                json!("180"),
                "setOnTime",
                "onTime",
                json!(180.0),
            ),
            (
                "setSignalAcoustic",
                json!("FREQUENCY_FALLING"),
                "setSignalAcoustic",
                "signalAcoustic",
                json!("FREQUENCY_FALLING"),
            ),
            (
                "setSignalOptical",
                json!("BLINKING_BOTH_REPEATING"),
                "setSignalOptical",
                "signalOptical",
                json!("BLINKING_BOTH_REPEATING"),
            ),
            (
                "testSignalAcoustic",
                json!("LOW_BATTERY"),
                "testSignalAcoustic",
                "signalAcoustic",
                json!("LOW_BATTERY"),
            ),
            (
                "testSignalOptical",
                json!("CONFIRMATION_SIGNAL_1"),
                "testSignalOptical",
                "signalOptical",
                json!("CONFIRMATION_SIGNAL_1"),
            ),
        ] {
            let id = sid(&home, field);
            let calls = write_and_wait(&h, &id, val.clone(), (&id, val.clone())).await;
            assert_eq!(
                calls,
                [json!({"path": format!("group/switching/alarm/{path}"),
                        "body": {"groupId": group, key: cloud}})],
                "{field}"
            );
        }
        // The settings reached the group; the tests changed none of them.
        h.wait_state(&gid("onTime"), |s| s["val"].as_f64() == Some(180.0))
            .await;
        h.wait_state(&gid("signalAcoustic"), |s| s["val"] == "FREQUENCY_FALLING")
            .await;
        h.wait_state(&gid("signalOptical"), |s| {
            s["val"] == "BLINKING_BOTH_REPEATING"
        })
        .await;
        h.stop().await.unwrap();
    }
}

crate::over_both_transports!(
    every_mode_reads_from_the_classic_zones,
    every_mode_reads_from_the_request_based_zones,
    every_mode_written_sends_the_call_of_the_classic_panel,
    every_mode_written_sends_the_call_of_the_request_based_panel,
    an_open_window_blocks_arming_and_arm_anyway_arms_past_it,
    iobroker_hmip_zone_states_read_and_write_as_in_3_1_1,
    the_journal_shows_its_newest_entry_after_a_read,
    the_zone_activation_buttons_arm_each_panel_with_its_call,
    the_silent_alarm_buttons_send_iobroker_hmips_call,
    the_siren_settings_reach_the_alarm_group_on_both_panels,
);
