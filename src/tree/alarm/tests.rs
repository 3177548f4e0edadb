//! The pure parts of the alarm: the panel kind, every mode read from the zones of each
//! kind, every write's call and body, and the interpretation of a blocked arming.

use super::problems::{self, Problem};
use super::*;

pub(super) const NS: &str = "hmip.0";

/// A home with two security zones labelled `a` and `b` (active as given: None leaves the
/// field out, as the request-based panel does for a disarmed zone), an open window in
/// zone `b` and a closed one in both.
pub(super) fn home(a: (&str, Option<bool>), b: (&str, Option<bool>), mode: &str) -> CurrentState {
    let zone = |id: &str, (label, active): (&str, Option<bool>), channels: Value| {
        let mut g =
            json!({"id": id, "type": "SECURITY_ZONE", "label": label, "channels": channels});
        if let Some(a) = active {
            g["active"] = json!(a);
        }
        g
    };
    let open = json!({"deviceId": "W-OPEN", "channelIndex": 1});
    let closed = json!({"deviceId": "W-CLOSED", "channelIndex": 1});
    let contact = |id: &str, label: &str, state: &str| {
        json!({"id": id, "type": "SHUTTER_CONTACT", "label": label, "functionalChannels": {
            "1": {"functionalChannelType": "SHUTTER_CONTACT_CHANNEL", "index": 1, "windowState": state}}})
    };
    serde_json::from_value(json!({
        "home": {"id": "H", "functionalHomes": {"SECURITY_AND_ALARM": {
            "solution": "SECURITY_AND_ALARM", "securityZoneActivationMode": mode,
            "securityZones": {a.0: "za", b.0: "zb"}}}},
        "devices": {
            "W-OPEN": contact("W-OPEN", "Fenster Bad", "OPEN"),
            "W-CLOSED": contact("W-CLOSED", "Haustür", "CLOSED"),
        },
        "groups": {
            "za": zone("za", a, json!([closed])),
            "zb": zone("zb", b, json!([open, closed])),
        },
        "clients": {}
    }))
    .unwrap()
}

pub(super) fn classic(internal: bool, external: bool) -> CurrentState {
    home(
        ("INTERNAL", Some(internal)),
        ("EXTERNAL", Some(external)),
        "ACTIVATION_WITH_DEVICE_IGNORELIST",
    )
}

/// A request-based home: ABSENCE holds the closed contact, PRESENCE the open one and the
/// closed one.
pub(super) fn request_based(absence: bool, presence: bool) -> CurrentState {
    let active = |on: bool| on.then_some(true);
    home(
        ("ABSENCE", active(absence)),
        ("PRESENCE", active(presence)),
        "ACTIVATION_REQUEST_BASED",
    )
}

pub(super) fn read(state: &CurrentState) -> Vec<(String, Value)> {
    values(NS, state)
        .into_iter()
        .map(|v| (v.id.rsplit('.').next().unwrap().to_string(), v.val))
        .collect()
}

fn expect(mode: &str, words: &str, internal: bool, external: bool) -> Vec<(String, Value)> {
    vec![
        (FIELD.into(), json!(mode)),
        (ARMED_MODE.into(), json!(words)),
        (INTERNAL_ARMED.into(), json!(internal)),
        (EXTERNAL_ARMED.into(), json!(external)),
        // No alarm went off in these homes.
        (EVENT_DEVICE_ID.into(), Value::Null),
        (EVENT_DEVICE_LABEL.into(), Value::Null),
        (EVENT_TRIGGER_ID.into(), Value::Null),
    ]
}

pub(super) fn write_of(
    state: &CurrentState,
    field: &str,
    val: &str,
) -> Result<ControlCall, String> {
    write(state, field, &json!(val), &|_| None).expect("a writable alarm state")
}

#[test]
fn the_panel_kind_comes_from_the_zone_labels() {
    assert_eq!(panel(&classic(false, false)), Some(Panel::Classic));
    assert_eq!(
        panel(&request_based(false, false)),
        Some(Panel::RequestBased)
    );
    // The labels win over the activation mode; without zones the mode decides.
    let mut s = classic(false, false);
    s.home.fields["functionalHomes"]["SECURITY_AND_ALARM"]["securityZoneActivationMode"] =
        json!("ACTIVATION_REQUEST_BASED");
    assert_eq!(panel(&s), Some(Panel::Classic));
    s.groups.clear();
    assert_eq!(panel(&s), Some(Panel::RequestBased));
    s.home.fields.remove("functionalHomes");
    assert_eq!(panel(&s), None);
    assert!(
        values(NS, &s).is_empty(),
        "no alarm states without the solution"
    );
}

#[test]
fn every_mode_reads_from_the_classic_zones() {
    assert_eq!(
        read(&classic(false, false)),
        expect("disarmed", "OFF", false, false)
    );
    assert_eq!(
        read(&classic(false, true)),
        expect("perimeter", "EXTERNAL", false, true)
    );
    assert_eq!(
        read(&classic(true, true)),
        expect("full", "INTERNAL_AND_EXTERNAL", true, true)
    );
    assert_eq!(
        read(&classic(true, false)),
        expect("internal", "INTERNAL", true, false)
    );
    assert_eq!(
        values(NS, &classic(false, false))[0].id,
        "hmip.0.homes.H.functionalHomes.securityAndAlarm.alarmMode"
    );
}

#[test]
fn every_mode_reads_from_the_request_based_zones() {
    // A zone without `active` is not armed.
    assert_eq!(
        read(&request_based(false, false)),
        expect("disarmed", "OFF", false, false)
    );
    assert_eq!(
        read(&request_based(false, true)),
        expect("perimeter", "PRESENCE", false, true)
    );
    assert_eq!(
        read(&request_based(true, false)),
        expect("full", "ABSENCE", true, true)
    );
    // Both at once should not happen; the stronger one wins.
    assert_eq!(
        read(&request_based(true, true)),
        expect("full", "ABSENCE", true, true)
    );
    // An explicit `active: false` reads like a missing one.
    let s = home(
        ("ABSENCE", Some(false)),
        ("PRESENCE", Some(false)),
        "ACTIVATION_REQUEST_BASED",
    );
    assert_eq!(read(&s)[0].1, json!("disarmed"));
}

#[test]
fn every_mode_writes_the_call_of_its_panel() {
    let c = classic(false, false);
    for (mode, internal, external) in [
        ("disarmed", false, false),
        ("perimeter", false, true),
        ("full", true, true),
        ("internal", true, false),
    ] {
        assert_eq!(
            write_of(&c, FIELD, mode).unwrap(),
            ControlCall {
                path: "home/security/setZonesActivation".into(),
                body: json!({"zonesActivation": {"INTERNAL": internal, "EXTERNAL": external}}),
            },
            "{mode}"
        );
    }
    let r = request_based(false, false);
    for (mode, presence, absence) in [
        ("disarmed", false, false),
        ("perimeter", true, false),
        ("full", false, true),
    ] {
        assert_eq!(
            write_of(&r, FIELD, mode).unwrap(),
            ControlCall {
                path: "home/security/setExtendedZonesActivation".into(),
                body: json!({"zonesActivation": {"PRESENCE": presence, "ABSENCE": absence}, "ignoreLowBat": true}),
            },
            "{mode}"
        );
    }
    let e = write_of(&r, FIELD, "internal").unwrap_err();
    assert!(e.contains("no internal-only mode"), "{e}");
    assert!(write_of(&r, FIELD, "armed").is_err());
    assert!(
        write(&r, PROBLEMS, &json!("x"), &|_| None).is_none(),
        "read-only"
    );
    assert!(
        write(&r, ARMED_MODE, &json!("OFF"), &|_| None).is_none(),
        "read-only"
    );
}

#[test]
fn the_old_call_never_goes_to_a_request_based_panel() {
    let r = request_based(true, false);
    for (field, vals) in [
        (FIELD, MODES),
        (ACTIVATE, ZONE_WORDS),
        (ARM_ANYWAY, ARM_MODES),
    ] {
        for v in vals {
            if let Ok(call) = write_of(&r, field, v) {
                assert_ne!(call.path, "home/security/setZonesActivation", "{field} {v}");
                let zones = call.body["zonesActivation"].as_object().unwrap();
                assert!(
                    zones.keys().all(|k| k == "PRESENCE" || k == "ABSENCE"),
                    "{field} {v}: {zones:?}"
                );
            }
        }
    }
}

#[test]
fn activate_security_zones_takes_the_six_words_in_any_case() {
    let classic_body =
        |i: bool, e: bool| json!({"zonesActivation": {"INTERNAL": i, "EXTERNAL": e}});
    let c = classic(false, false);
    for (word, i, e) in [
        ("OFF", false, false),
        ("presence", false, true),
        (" Absence ", true, true),
        ("internal", true, false),
        ("EXTERNAL", false, true),
        ("internal_and_external", true, true),
    ] {
        let call = write_of(&c, ACTIVATE, word).unwrap();
        assert_eq!(
            (call.path.as_str(), call.body),
            ("home/security/setZonesActivation", classic_body(i, e)),
            "{word}"
        );
    }
    let r = request_based(false, false);
    // ioBroker.hmip maps the classic words onto the exclusive modes: internal is away.
    for (word, presence, absence) in [
        ("off", false, false),
        ("PRESENCE", true, false),
        ("absence", false, true),
        ("INTERNAL", false, true),
        ("external", true, false),
        ("INTERNAL_AND_EXTERNAL", false, true),
    ] {
        let call = write_of(&r, ACTIVATE, word).unwrap();
        assert_eq!(
            call.path, "home/security/setExtendedZonesActivation",
            "{word}"
        );
        assert_eq!(
            call.body["zonesActivation"],
            json!({"PRESENCE": presence, "ABSENCE": absence}),
            "{word}"
        );
    }
    assert!(write_of(&r, ACTIVATE, "ARMED").is_err());
    assert!(write(&r, ACTIVATE, &json!(1), &|_| None).unwrap().is_err());
}

#[test]
fn arm_anyway_ignores_the_channels_that_blocked_the_last_attempt() {
    let r = request_based(false, false);
    let last = json!(
        r#"[{"deviceId":"W-X","channelIndex":2,"label":"X","reasons":["WINDOW_NOT_CLOSED"]}]"#
    );
    let param = |f: &str| (f == PROBLEMS).then(|| last.clone());
    let call = write(&r, ARM_ANYWAY, &json!("full"), &param)
        .unwrap()
        .unwrap();
    assert_eq!(
        (call.path.as_str(), call.body),
        (
            "home/security/setExtendedZonesActivationWithIgnoreList",
            json!({
                "zonesActivation": {"PRESENCE": false, "ABSENCE": true},
                "ignorableDeviceChannels": [{"deviceId": "W-X", "channelIndex": 2}],
                "ignoreLowBat": true,
            })
        )
    );
    // Without a last attempt: the contacts of the zone to arm that are open now.
    let call = write_of(&r, ARM_ANYWAY, "perimeter").unwrap();
    assert_eq!(
        call.body["ignorableDeviceChannels"],
        json!([{"deviceId": "W-OPEN", "channelIndex": 1}])
    );
    assert_eq!(
        call.body["zonesActivation"],
        json!({"PRESENCE": true, "ABSENCE": false})
    );
    let call = write_of(&r, ARM_ANYWAY, "full").unwrap();
    assert_eq!(
        call.body["ignorableDeviceChannels"],
        json!([]),
        "ABSENCE has none open"
    );
    assert!(write_of(&r, ARM_ANYWAY, "disarmed").is_err());
    // The classic panel arms without asking its sensors: the same call as alarmMode.
    let c = classic(false, false);
    assert_eq!(
        write_of(&c, ARM_ANYWAY, "full").unwrap(),
        write_of(&c, FIELD, "full").unwrap()
    );
}

#[test]
fn a_blocked_arming_names_each_device_and_reason() {
    let r = request_based(false, false);
    let answer = json!({
        "activationProblems": [],
        "channelActivationProblems": {
            "W-OPEN:1": ["WINDOW_NOT_CLOSED"],
            "GONE:3": ["SABOTAGE", "UNREACH"],
            "W-CLOSED:1": []
        }
    });
    let found = problems::parse(&r, &answer);
    assert_eq!(
        found,
        vec![
            Problem {
                device_id: Some("W-OPEN".into()),
                channel: Some(1),
                label: Some("Fenster Bad".into()),
                reasons: vec!["WINDOW_NOT_CLOSED".into()],
            },
            Problem {
                device_id: Some("GONE".into()),
                channel: Some(3),
                label: None,
                reasons: vec!["SABOTAGE".into(), "UNREACH".into()],
            },
        ]
    );
    let call = write_of(&r, FIELD, "perimeter").unwrap();
    let line = problems::message(&call, &found);
    assert!(!line.contains('\n'));
    for part in [
        "perimeter",
        "Fenster Bad (W-OPEN channel 1): WINDOW_NOT_CLOSED",
        "unknown device (GONE channel 3): SABOTAGE, UNREACH",
        ARM_ANYWAY,
    ] {
        assert!(line.contains(part), "{part} missing in: {line}");
    }
    let v = problems::state_value(NS, &r, &found);
    assert_eq!(
        v.id,
        "hmip.0.homes.H.functionalHomes.securityAndAlarm.alarmActivationProblems"
    );
    let listed: Value = serde_json::from_str(v.val.as_str().unwrap()).unwrap();
    assert_eq!(
        listed[0],
        json!({"deviceId": "W-OPEN", "channelIndex": 1, "label": "Fenster Bad", "reasons": ["WINDOW_NOT_CLOSED"]})
    );
    // What the state lists is what "arm anyway" ignores.
    let call = write(&r, ARM_ANYWAY, &json!("perimeter"), &|_| {
        Some(v.val.clone())
    })
    .unwrap()
    .unwrap();
    assert_eq!(
        call.body["ignorableDeviceChannels"],
        json!([{"deviceId": "W-OPEN", "channelIndex": 1}, {"deviceId": "GONE", "channelIndex": 3}])
    );
    // Nothing blocked: an empty list; a reason for the whole home counts too.
    for ok in [
        json!({}),
        json!({"activationProblems": [], "channelActivationProblems": {}}),
        json!(null),
    ] {
        assert!(problems::parse(&r, &ok).is_empty(), "{ok}");
    }
    assert_eq!(problems::state_value(NS, &r, &[]).val, json!("[]"));
    let home_wide = problems::parse(&r, &json!({"activationProblems": ["LOW_BATTERY"]}));
    assert_eq!(home_wide[0].reasons, ["LOW_BATTERY"]);
    assert!(problems::message(&call, &home_wide).contains("the home: LOW_BATTERY"));
    assert!(reports_problems(&call.path));
    assert!(!reports_problems("home/security/setZonesActivation"));
}

#[test]
fn the_rows_match_iobroker_hmip() {
    // ioBroker.hmip 3.2.0's objects (reference tree): type, role, read and write.
    for (field, ty, role, read, write) in [
        (ARMED_MODE, "string", "text", true, false),
        (ACTIVATE, "string", "text", false, true),
        (INTERNAL_ARMED, "boolean", "indicator", true, false),
        (EXTERNAL_ARMED, "boolean", "indicator", true, false),
    ] {
        let r = row(field).unwrap();
        assert_eq!(
            (r.value_type, r.role, r.readable(), r.writable()),
            (ty, role, read, write),
            "{field}"
        );
    }
    assert_eq!(row(ARMED_MODE).unwrap().states, ZONE_WORDS);
    assert_eq!(row(ACTIVATE).unwrap().states, ZONE_WORDS);
    let anyway = row(ARM_ANYWAY).unwrap();
    assert_eq!((anyway.readable(), anyway.writable()), (false, true));
    assert!(!row(PROBLEMS).unwrap().writable());
}

#[test]
fn a_zone_without_active_shows_active_false() {
    let r = request_based(false, true);
    let (absence, presence) = (&r.groups["za"], &r.groups["zb"]);
    assert_eq!(zone_fields(absence)["active"], json!(false));
    assert_eq!(zone_fields(presence)["active"], json!(true));
    let snap = crate::tree::group(NS, absence);
    let active = snap
        .values
        .iter()
        .find(|v| v.id == "hmip.0.groups.za.active")
        .expect("the zone's active state");
    assert_eq!(active.val, json!(false));
    // Other groups keep exactly what the cloud sent.
    let mut other = absence.clone();
    other.group_type = "HEATING".into();
    assert!(!zone_fields(&other).contains_key("active"));
}
