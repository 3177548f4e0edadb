//! ioBroker.hmip 3.x's other alarm states: their rows, the last alarm's device, the
//! journal's newest entry, and the call of every button and alarm-group command on each
//! panel kind.

use serde_json::{json, Value};

use super::tests::{classic, read, request_based, NS};
use super::*;

/// `home` as JSON, changed by `f`, read back.
fn changed(state: &CurrentState, f: impl FnOnce(&mut Value)) -> CurrentState {
    let mut v = serde_json::to_value(state).unwrap();
    f(&mut v);
    serde_json::from_value(v).unwrap()
}

/// The home with the alarm group (`securitySwitchingGroups.ALARM`) of the fixture.
fn with_alarm_group(state: &CurrentState) -> CurrentState {
    changed(state, |v| {
        v["home"]["functionalHomes"]["SECURITY_AND_ALARM"]["securitySwitchingGroups"] =
            json!({"ALARM": "ga", "SIREN": "gs"});
        v["groups"]["ga"] =
            json!({"id": "ga", "type": "ALARM_SWITCHING", "label": "ALARM", "onTime": 7200.0});
        v["groups"]["gs"] = json!({"id": "gs", "type": "ALARM_SWITCHING", "label": "SIREN"});
    })
}

fn press(state: &CurrentState, field: &str) -> Result<ControlCall, String> {
    write(state, field, &json!(true), &|_| None).expect("a button")
}

#[test]
fn the_new_rows_match_iobroker_hmip_3_2_0() {
    // ioBroker.hmip 3.2.0's objects (reference tree): type, role, read, write, states.
    let button = ("boolean", "button", false, true);
    let text = ("string", "text", true, false);
    let setting = ("string", "text", true, true);
    let mut expected = vec![
        (EVENT_DEVICE_ID, text),
        (EVENT_DEVICE_LABEL, text),
        (EVENT_TRIGGER_ID, text),
        (journal::READ, button),
        (journal::JOURNAL, ("string", "json", true, false)),
        (journal::TIMESTAMP, ("number", "value.time", true, false)),
        (journal::EVENT_TYPE, text),
        (journal::LABEL, text),
    ];
    for (field, _, _) in commands::ACTIVATION_BUTTONS
        .iter()
        .chain(commands::SILENT_BUTTONS)
    {
        expected.push((field, button));
    }
    for (field, _, _) in commands::GROUP_COMMANDS {
        expected.push((field, setting));
    }
    assert_eq!(expected.len(), 21);
    for (field, (ty, role, read, write)) in expected {
        let r = row(field).unwrap_or_else(|| panic!("no row {field}"));
        assert_eq!(
            (r.value_type, r.role, r.readable(), r.writable()),
            (ty, role, read, write),
            "{field}"
        );
    }
    assert_eq!(row("setOnTime").unwrap().states, &[] as &[&str]);
    assert_eq!(row("setSignalAcoustic").unwrap().states.len(), 18);
    assert_eq!(row("testSignalAcoustic").unwrap().states.len(), 18);
    assert_eq!(row("setSignalOptical").unwrap().states.len(), 8);
    assert_eq!(row("testSignalOptical").unwrap().states.len(), 8);
}

#[test]
fn the_last_alarm_names_its_device_and_trigger() {
    let field = |s: &CurrentState, f: &str| {
        read(s)
            .into_iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v)
            .unwrap()
    };
    let s = changed(&classic(true, true), |v| {
        let sec = &mut v["home"]["functionalHomes"]["SECURITY_AND_ALARM"];
        sec["alarmEventDeviceChannel"] = json!({"deviceId": "W-OPEN", "channelIndex": 1});
        sec["alarmEventTriggerId"] = json!("T-1");
    });
    assert_eq!(field(&s, EVENT_DEVICE_ID), json!("W-OPEN"));
    assert_eq!(field(&s, EVENT_DEVICE_LABEL), json!("Fenster Bad"));
    assert_eq!(field(&s, EVENT_TRIGGER_ID), json!("T-1"));
    // A device the home no longer has: its id, no label.
    let gone = changed(&s, |v| {
        v["home"]["functionalHomes"]["SECURITY_AND_ALARM"]["alarmEventDeviceChannel"]["deviceId"] =
            json!("GONE")
    });
    assert_eq!(field(&gone, EVENT_DEVICE_ID), json!("GONE"));
    assert_eq!(field(&gone, EVENT_DEVICE_LABEL), Value::Null);
    // The trigger field is shown by this module only, not a second time by the table.
    let snap = crate::tree::home(NS, &s.home);
    let trigger = state_id(NS, &s, EVENT_TRIGGER_ID);
    assert_eq!(snap.objects.iter().filter(|o| o.id == trigger).count(), 1);
    assert!(snap.values.iter().all(|v| v.id != trigger));
}

#[test]
fn the_journal_shows_its_newest_entry() {
    let s = classic(false, false);
    let answer: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/security_journal.json"
    ))
    .unwrap();
    let shown = |answer: &Value| -> Vec<(String, Value)> {
        journal::values(NS, &s, &journal::call(), answer)
            .unwrap()
            .into_iter()
            .map(|v| (v.id.rsplit('.').next().unwrap().to_string(), v.val))
            .collect()
    };
    // Eight entries of one time: the first of them, as ioBroker.hmip picks it.
    assert_eq!(
        shown(&answer),
        vec![
            (
                journal::JOURNAL.into(),
                json!(answer["entries"].to_string())
            ),
            (journal::TIMESTAMP.into(), json!(1543777807110_i64)),
            (journal::EVENT_TYPE.into(), json!("ACTIVATION_CHANGED")),
            (journal::LABEL.into(), json!("Alarmanlage aus")),
        ]
    );
    // A later entry wins wherever it stands.
    let mut later = answer.clone();
    later["entries"].as_array_mut().unwrap().push(
        json!({"eventTimestamp": 1543777900000_i64, "eventType": "SABOTAGE", "label": "Tür"}),
    );
    assert_eq!(shown(&later)[2].1, json!("SABOTAGE"));
    assert_eq!(shown(&later)[3].1, json!("Tür"));
    // An empty journal: no newest entry.
    assert_eq!(
        shown(&json!({"entries": []}))[1..],
        [
            (journal::TIMESTAMP.into(), Value::Null),
            (journal::EVENT_TYPE.into(), Value::Null),
            (journal::LABEL.into(), Value::Null),
        ]
    );
    // Not the journal call, or no entries: nothing to show.
    let other = ControlCall {
        path: "home/security/setZonesActivation".into(),
        body: json!({}),
    };
    assert!(journal::values(NS, &s, &other, &answer).is_none());
    assert!(journal::values(NS, &s, &journal::call(), &json!({})).is_none());
    // The button sends the read.
    assert_eq!(press(&s, journal::READ).unwrap(), journal::call());
    assert!(write(&s, journal::READ, &json!(false), &|_| None)
        .unwrap()
        .is_err());
}

#[test]
fn the_zone_activation_buttons_send_the_call_of_their_panel() {
    let c = classic(false, false);
    let r = request_based(false, false);
    for (field, i, e) in commands::ACTIVATION_BUTTONS {
        assert_eq!(
            press(&c, field).unwrap(),
            ControlCall {
                path: "home/security/setZonesActivation".into(),
                body: json!({"zonesActivation": {"INTERNAL": i, "EXTERNAL": e}}),
            },
            "{field}"
        );
        // ABSENCE is the request-based panel's only mode with the inside watched.
        let (presence, absence) = (*e && !*i, *i);
        assert_eq!(
            press(&r, field).unwrap(),
            ControlCall {
                path: "home/security/setExtendedZonesActivation".into(),
                body: json!({"zonesActivation": {"PRESENCE": presence, "ABSENCE": absence}, "ignoreLowBat": true}),
            },
            "{field}"
        );
        assert!(write(&r, field, &json!(false), &|_| None).unwrap().is_err());
    }
}

#[test]
fn the_silent_alarm_buttons_send_iobroker_hmips_body_on_either_panel() {
    for s in [classic(false, false), request_based(false, false)] {
        for (field, i, e) in commands::SILENT_BUTTONS {
            assert_eq!(
                press(&s, field).unwrap(),
                ControlCall {
                    path: "home/security/setZonesSilentAlarm".into(),
                    body: json!({"zonesSilentAlarm": {"INTERNAL": i, "EXTERNAL": e}}),
                },
                "{field}"
            );
        }
    }
}

#[test]
fn the_siren_settings_go_to_the_alarm_group() {
    for s in [classic(false, false), request_based(false, false)] {
        let s = with_alarm_group(&s);
        let call = |field: &str, val: Value| write(&s, field, &val, &|_| None).unwrap();
        assert_eq!(
            call("setOnTime", json!(" 180 ")).unwrap(),
            ControlCall {
                path: "group/switching/alarm/setOnTime".into(),
                body: json!({"groupId": "ga", "onTime": 180.0}),
            }
        );
        assert!(call("setOnTime", json!("soon")).is_err());
        assert!(call("setOnTime", json!("-1")).is_err());
        assert!(call("setOnTime", json!(180)).is_err(), "a text state");
        for (field, path, key, val) in [
            (
                "setSignalAcoustic",
                "group/switching/alarm/setSignalAcoustic",
                "signalAcoustic",
                "FREQUENCY_FALLING",
            ),
            (
                "testSignalAcoustic",
                "group/switching/alarm/testSignalAcoustic",
                "signalAcoustic",
                "LOW_BATTERY",
            ),
            (
                "setSignalOptical",
                "group/switching/alarm/setSignalOptical",
                "signalOptical",
                "BLINKING_BOTH_REPEATING",
            ),
            (
                "testSignalOptical",
                "group/switching/alarm/testSignalOptical",
                "signalOptical",
                "CONFIRMATION_SIGNAL_1",
            ),
        ] {
            assert_eq!(
                call(field, json!(val)).unwrap(),
                ControlCall {
                    path: path.into(),
                    body: json!({"groupId": "ga", key: val}),
                },
                "{field}"
            );
            assert!(call(field, json!("LOUD")).is_err(), "{field}");
        }
    }
    // Without the alarm group there is nothing to address.
    let e = write(
        &classic(false, false),
        "setSignalAcoustic",
        &json!("EVENT"),
        &|_| None,
    )
    .unwrap()
    .unwrap_err();
    assert!(e.contains("securitySwitchingGroups.ALARM"), "{e}");
}
