//! The simulated alarm panel: arming calls of both panel kinds (protocol notes §9).
//!
//! - The **classic** panel (zones labelled `INTERNAL` and `EXTERNAL`) arms what
//!   `setZonesActivation` names, as it always did, without asking its sensors.
//! - The **request-based** panel (zones labelled `PRESENCE` and `ABSENCE`) answers the old
//!   labels with 400. `setExtendedZonesActivation` arms only when no window or door contact
//!   of a zone to arm is open or tilted; otherwise it answers 200 with the blocking channels
//!   in `channelActivationProblems` and arms nothing. `…WithIgnoreList` arms unless a
//!   channel it does not list blocks. `setZonesActivation` with the new labels arms too,
//!   but when blocked it answers 200 and silently arms nothing, as the cloud does.
//!   A disarmed zone of this panel has no `active` field.
//!
//! `setZonesSilentAlarm {zonesSilentAlarm: {<label>: bool}}` sets the named zones'
//! `silent` and pushes `GROUP_CHANGED` for each, then `HOME_CHANGED`; a label the panel has
//! not (the classic labels on a request-based panel) is refused with 400, as the arming
//! call refuses them (no public capture says more).
//!
//! An arming pushes `GROUP_CHANGED` for every zone it names (disarmed ones first, so that a
//! client never sees both exclusive modes armed at once), then `HOME_CHANGED`; a blocked one
//! pushes nothing.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::control::{group_changed, home_changed, CallError, Outcome};

/// The security zone groups of the home: (label, group id). A zone without a label is
/// known by its key in `securityZones`.
fn zones(state: &Value) -> Vec<(String, String)> {
    let named = &state["home"]["functionalHomes"]["SECURITY_AND_ALARM"]["securityZones"];
    state["groups"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, g)| g["type"] == "SECURITY_ZONE")
        .filter_map(|(id, g)| {
            let label = g["label"].as_str().or_else(|| {
                named
                    .as_object()?
                    .iter()
                    .find(|(_, v)| v.as_str() == Some(id.as_str()))
                    .map(|(k, _)| k.as_str())
            })?;
            Some((label.to_string(), id.clone()))
        })
        .collect()
}

/// Is this the request-based panel (its zones are labelled PRESENCE and ABSENCE)?
fn request_based(zones: &[(String, String)]) -> bool {
    zones.iter().any(|(l, _)| l == "PRESENCE" || l == "ABSENCE")
}

/// The channels of the zones to arm whose window or door contact is open or tilted:
/// `"<deviceId>:<channel>"` -> reasons, less those `ignored`.
fn blocking(state: &Value, zone_ids: &[&str], ignored: &[(String, u64)]) -> Map<String, Value> {
    let mut out = Map::new();
    for gid in zone_ids {
        for m in state["groups"][*gid]["channels"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (Some(device), Some(index)) = (m["deviceId"].as_str(), m["channelIndex"].as_u64())
            else {
                continue;
            };
            if ignored.iter().any(|(d, i)| d == device && *i == index) {
                continue;
            }
            let window =
                &state["devices"][device]["functionalChannels"][index.to_string()]["windowState"];
            if window == "OPEN" || window == "TILTED" {
                out.insert(format!("{device}:{index}"), json!(["WINDOW_NOT_CLOSED"]));
            }
        }
    }
    out
}

/// `ignorableDeviceChannels` of the body as (deviceId, channelIndex).
fn ignorable(body: &Map<String, Value>) -> Vec<(String, u64)> {
    body.get("ignorableDeviceChannels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c["deviceId"].as_str()?.to_string(),
                c["channelIndex"].as_u64()?,
            ))
        })
        .collect()
}

/// Apply an arming call `op` (below `home/`) to the home.
pub(crate) fn zones_call(
    state: &mut Value,
    op: &str,
    body: &Map<String, Value>,
    now_ms: i64,
) -> Result<Outcome, CallError> {
    let zones = zones(state);
    let new_panel = request_based(&zones);
    let mut changes = named_zones(body, "zonesActivation", &zones)?;
    if new_panel {
        let ignored = if op == "security/setExtendedZonesActivationWithIgnoreList" {
            ignorable(body)
        } else {
            Vec::new()
        };
        let to_arm: Vec<&str> = changes
            .iter()
            .filter(|(_, on)| *on)
            .map(|(id, _)| id.as_str())
            .collect();
        let problems = blocking(state, &to_arm, &ignored);
        if !problems.is_empty() {
            let answer = if op == "security/setZonesActivation" {
                json!({})
            } else {
                json!({"activationProblems": [], "channelActivationProblems": problems})
            };
            return Ok(Outcome {
                answer,
                events: Vec::new(),
            });
        }
    }
    changes.sort_by_key(|(_, on)| *on);
    let mut events = Vec::new();
    for (id, on) in changes {
        let Some(group) = state["groups"][&id].as_object_mut() else {
            continue;
        };
        if on || !new_panel {
            group.insert("active".into(), json!(on));
        } else {
            group.remove("active");
        }
        group.insert("lastStatusUpdate".into(), json!(now_ms));
        events.push(group_changed(&Value::Object(group.clone())));
    }
    events.push(home_changed(state));
    let answer = if op == "security/setZonesActivation" {
        json!({})
    } else {
        json!({"activationProblems": [], "channelActivationProblems": {}})
    };
    Ok(Outcome { answer, events })
}

/// The zones a call's `key` map names, as (group id, flag): every label must be a zone of
/// the panel (a label it has not is refused as `UNKNOWN_GROUP`: the cloud's error body is
/// not public; the HCU's local API names it so), every flag a boolean.
fn named_zones(
    body: &Map<String, Value>,
    key: &str,
    zones: &[(String, String)],
) -> Result<Vec<(String, bool)>, CallError> {
    let bad = |code| CallError {
        status: StatusCode::BAD_REQUEST,
        code,
    };
    let wanted = body
        .get(key)
        .and_then(Value::as_object)
        .ok_or(bad("INVALID_REQUEST"))?;
    wanted
        .iter()
        .map(|(label, flag)| {
            let id = zones
                .iter()
                .find(|(l, _)| l == label)
                .map(|(_, id)| id.clone())
                .ok_or(bad("UNKNOWN_GROUP"))?;
            Ok((id, flag.as_bool().ok_or(bad("INVALID_REQUEST"))?))
        })
        .collect()
}

/// Apply `setZonesSilentAlarm` to the home.
pub(crate) fn silent_call(
    state: &mut Value,
    body: &Map<String, Value>,
    now_ms: i64,
) -> Result<Outcome, CallError> {
    let changes = named_zones(body, "zonesSilentAlarm", &zones(state))?;
    let mut events = Vec::new();
    for (id, silent) in changes {
        let Some(group) = state["groups"][&id].as_object_mut() else {
            continue;
        };
        group.insert("silent".into(), json!(silent));
        group.insert("lastStatusUpdate".into(), json!(now_ms));
        events.push(group_changed(&Value::Object(group.clone())));
    }
    events.push(home_changed(state));
    Ok(Outcome {
        answer: json!({}),
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request-based home: PRESENCE watches an open window and a closed door, ABSENCE
    /// the door and a motion detector.
    fn home() -> Value {
        json!({
            "home": {"id": "h", "functionalHomes": {"SECURITY_AND_ALARM": {
                "securityZoneActivationMode": "ACTIVATION_REQUEST_BASED",
                "securityZones": {"PRESENCE": "zp", "ABSENCE": "za"}}}},
            "devices": {
                "win": {"id": "win", "functionalChannels": {"1": {"windowState": "OPEN"}}},
                "door": {"id": "door", "functionalChannels": {"1": {"windowState": "CLOSED"}}},
                "pir": {"id": "pir", "functionalChannels": {"1": {"motionDetected": false}}}
            },
            "groups": {
                "zp": {"id": "zp", "type": "SECURITY_ZONE", "label": "PRESENCE",
                       "channels": [{"deviceId": "win", "channelIndex": 1}, {"deviceId": "door", "channelIndex": 1}]},
                "za": {"id": "za", "type": "SECURITY_ZONE", "label": "ABSENCE",
                       "channels": [{"deviceId": "door", "channelIndex": 1}, {"deviceId": "pir", "channelIndex": 1}]}
            },
            "clients": {}
        })
    }

    fn call(h: &mut Value, op: &str, body: Value) -> Result<Outcome, CallError> {
        zones_call(h, op, body.as_object().unwrap(), 7)
    }

    fn kinds(o: &Outcome) -> Vec<&str> {
        o.events
            .iter()
            .map(|e| e["pushEventType"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn the_old_labels_are_refused_by_the_new_panel() {
        let mut h = home();
        let body = json!({"zonesActivation": {"INTERNAL": true, "EXTERNAL": true}});
        let e = call(&mut h, "security/setZonesActivation", body).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(h, home(), "nothing changed");
    }

    #[test]
    fn an_open_window_blocks_and_is_listed() {
        let mut h = home();
        let body =
            json!({"zonesActivation": {"PRESENCE": true, "ABSENCE": false}, "ignoreLowBat": true});
        let o = call(&mut h, "security/setExtendedZonesActivation", body.clone()).unwrap();
        assert_eq!(
            o.answer,
            json!({"activationProblems": [], "channelActivationProblems": {"win:1": ["WINDOW_NOT_CLOSED"]}})
        );
        assert!(o.events.is_empty());
        assert_eq!(h, home(), "nothing armed");
        // The old call with the new labels: 200, silently nothing.
        let o = call(&mut h, "security/setZonesActivation", body).unwrap();
        assert_eq!((o.answer, h.clone()), (json!({}), home()));
    }

    #[test]
    fn the_ignore_list_arms_past_the_listed_channels_only() {
        let mut h = home();
        let zones = json!({"PRESENCE": true, "ABSENCE": false});
        let body = json!({"zonesActivation": zones, "ignorableDeviceChannels": [{"deviceId": "door", "channelIndex": 1}], "ignoreLowBat": true});
        let o = call(
            &mut h,
            "security/setExtendedZonesActivationWithIgnoreList",
            body,
        )
        .unwrap();
        assert!(o.answer["channelActivationProblems"]["win:1"].is_array());
        assert_eq!(h, home());
        let body = json!({"zonesActivation": zones, "ignorableDeviceChannels": [{"deviceId": "win", "channelIndex": 1}], "ignoreLowBat": true});
        let o = call(
            &mut h,
            "security/setExtendedZonesActivationWithIgnoreList",
            body,
        )
        .unwrap();
        assert_eq!(o.answer["channelActivationProblems"], json!({}));
        assert_eq!(h["groups"]["zp"]["active"], true);
        assert!(
            h["groups"]["za"].get("active").is_none(),
            "disarmed: no field"
        );
        assert_eq!(
            kinds(&o),
            ["GROUP_CHANGED", "GROUP_CHANGED", "HOME_CHANGED"]
        );
        assert_eq!(o.events[0]["group"]["id"], "za", "the disarmed zone first");
    }

    #[test]
    fn arming_a_zone_without_open_contacts_switches_the_mode() {
        let mut h = home();
        h["groups"]["zp"]["active"] = json!(true);
        let body =
            json!({"zonesActivation": {"PRESENCE": false, "ABSENCE": true}, "ignoreLowBat": true});
        let o = call(&mut h, "security/setExtendedZonesActivation", body).unwrap();
        assert_eq!(o.answer["channelActivationProblems"], json!({}));
        assert_eq!(h["groups"]["za"]["active"], true);
        assert!(h["groups"]["zp"].get("active").is_none());
        assert_eq!(h["groups"]["za"]["lastStatusUpdate"], 7);
        assert_eq!(o.events[1]["group"]["id"], "za", "the armed zone last");
        // Disarming is never blocked.
        let body =
            json!({"zonesActivation": {"PRESENCE": false, "ABSENCE": false}, "ignoreLowBat": true});
        call(&mut h, "security/setExtendedZonesActivation", body).unwrap();
        assert!(h["groups"]["za"].get("active").is_none());
    }

    #[test]
    fn the_silent_alarm_takes_the_zones_the_panel_has() {
        let mut h = home();
        let body = json!({"zonesSilentAlarm": {"INTERNAL": true, "EXTERNAL": false}});
        let e = silent_call(&mut h, body.as_object().unwrap(), 7).unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "UNKNOWN_GROUP")
        );
        assert_eq!(h, home(), "nothing changed");
        let body = json!({"zonesSilentAlarm": {"PRESENCE": true, "ABSENCE": false}});
        let o = silent_call(&mut h, body.as_object().unwrap(), 7).unwrap();
        assert_eq!(
            (
                h["groups"]["zp"]["silent"].clone(),
                h["groups"]["za"]["silent"].clone()
            ),
            (json!(true), json!(false))
        );
        assert_eq!(
            kinds(&o),
            ["GROUP_CHANGED", "GROUP_CHANGED", "HOME_CHANGED"]
        );
    }
}
