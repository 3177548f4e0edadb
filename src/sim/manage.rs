//! Calls that manage the simulated home rather than switch something in it: delete a
//! device, group or client, label a group or rule, create a switching profile, read or
//! store a heating profile, set the time zone, the PIN, the non-cooling rooms; and the
//! reads (`getProfile`, `getSimpleRule`, `getOAuthOTK`, `isUpdateApplicable`) that answer
//! without changing anything. homematicip 2.19.1 and ioBroker.hmip 3.x send them.
//!
//! [`apply`] answers the calls it owns and leaves every other one to `control`, which
//! handles the many calls whose effect is "write these body fields".

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::control::{device_changed, group_changed, home_changed, CallError, Outcome};

/// The outcome of a call this module owns, or None for any other call.
pub(crate) fn apply(
    state: &mut Value,
    path: &str,
    body: &Map<String, Value>,
    now_ms: i64,
) -> Option<Result<Outcome, CallError>> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    Some(match path {
        "device/deleteDevice" => remove(
            state,
            "devices",
            s("deviceId"),
            "DEVICE_REMOVED",
            "INVALID_DEVICE",
        ),
        "client/deleteClient" => {
            let id = s("clientId");
            if let (Some(id), Some(list)) = (
                &id,
                state["home"]
                    .get_mut("clients")
                    .and_then(Value::as_array_mut),
            ) {
                list.retain(|c| c.as_str() != Some(id.as_str()));
            }
            remove(state, "clients", id, "CLIENT_REMOVED", "INVALID_CLIENT")
        }
        "group/deleteGroup" => remove(
            state,
            "groups",
            s("groupId"),
            "GROUP_REMOVED",
            "INVALID_GROUP",
        ),
        "device/isUpdateApplicable" => {
            device(state, s("deviceId")).map(|_| answer(json!({}), vec![]))
        }
        // The update starts: the app shows it as being transferred.
        "device/authorizeUpdate" => device(state, s("deviceId")).map(|d| {
            d.insert("updateState".into(), json!("TRANSFERING_UPDATE"));
            d.insert("lastStatusUpdate".into(), json!(now_ms));
            answer(json!({}), vec![device_changed(&Value::Object(d.clone()))])
        }),
        "group/heating/getProfile" => group(state, s("groupId")).map(|g| {
            let profile = body
                .get("profileIndex")
                .and_then(Value::as_str)
                .and_then(|i| g.get("profiles")?.get(i))
                .cloned()
                .unwrap_or_else(|| json!({}));
            answer(profile, vec![])
        }),
        "group/heating/updateProfile" => group(state, s("groupId")).and_then(|g| {
            let index = body
                .get("profileIndex")
                .and_then(Value::as_str)
                .ok_or(bad_request())?;
            let profile = g
                .get_mut("profiles")
                .and_then(|p| p.get_mut(index))
                .and_then(Value::as_object_mut)
                .ok_or(bad_request())?;
            if let Some(Value::Object(new)) = body.get("profile") {
                profile.extend(new.clone());
            }
            g.insert("lastStatusUpdate".into(), json!(now_ms));
            Ok(answer(
                json!({}),
                vec![group_changed(&Value::Object(g.clone()))],
            ))
        }),
        "group/switching/profile/getProfile" => group(state, s("groupId")).map(|g| {
            answer(
                json!({"profileId": g.get("profileId").cloned().unwrap_or(Value::Null)}),
                vec![],
            )
        }),
        "group/switching/profile/createSwitchingProfileGroup" => {
            let id = uuid::Uuid::new_v4().to_string();
            let g = json!({
                "id": id,
                "homeId": state["home"]["id"],
                "type": "SWITCHING_PROFILE",
                "label": s("label").unwrap_or_default(),
                "channels": [],
                "on": null,
                "dimLevel": null,
                "profileId": null,
                "profileMode": "AUTOMATIC",
                "lastStatusUpdate": now_ms,
                "unreach": false,
                "metaGroupId": null,
            });
            state["groups"][&id] = g.clone();
            Ok(answer(
                json!({"groupId": id}),
                vec![json!({"pushEventType": "GROUP_ADDED", "group": g})],
            ))
        }
        // Every HEATING group listed ignores cooling; every other one takes part again.
        "home/heating/setNonCoolingGroups" => {
            let listed: Vec<String> = body
                .get("nonCoolingGroups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            let mut events = Vec::new();
            for (id, g) in state["groups"].as_object_mut().into_iter().flatten() {
                let Some(g) = g.as_object_mut().filter(|g| g["type"] == "HEATING") else {
                    continue;
                };
                let ignored = json!(listed.contains(id));
                if g.get("coolingIgnored") != Some(&ignored) {
                    g.insert("coolingIgnored".into(), ignored);
                    g.insert("lastStatusUpdate".into(), json!(now_ms));
                    events.push(group_changed(&Value::Object(g.clone())));
                }
            }
            Ok(answer(json!({}), events))
        }
        "home/setTimezone" => {
            state["home"]["timeZoneId"] = body.get("timezoneId").cloned().unwrap_or(Value::Null);
            Ok(answer(json!({}), vec![home_changed(state)]))
        }
        // The PIN itself is never kept (nor logged): only that one is set.
        "home/setPin" => {
            let set = s("pin").is_some_and(|p| !p.is_empty());
            state["home"]["pinAssigned"] = json!(set);
            Ok(answer(json!({}), vec![home_changed(state)]))
        }
        "home/getOAuthOTK" => Ok(answer(
            json!({
                "authToken": uuid::Uuid::new_v4().simple().to_string().to_uppercase(),
                "expirationTimestamp": now_ms + 300_000,
            }),
            vec![],
        )),
        // Inclusion waits for a device the simulator never has: nothing changes.
        "home/startInclusionModeForDevice" => Ok(answer(json!({}), vec![])),
        "rule/getSimpleRule" => {
            rule(state, s("ruleId")).map(|r| answer(Value::Object(r.clone()), vec![]))
        }
        "rule/setRuleLabel" => match rule(state, s("ruleId")) {
            Ok(r) => {
                r.insert(
                    "label".into(),
                    body.get("label").cloned().unwrap_or(Value::Null),
                );
                Ok(answer(json!({}), vec![home_changed(state)]))
            }
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

fn answer(answer: Value, events: Vec<Value>) -> Outcome {
    Outcome { answer, events }
}

fn not_found(code: &'static str) -> CallError {
    CallError {
        status: StatusCode::NOT_FOUND,
        code,
    }
}

fn bad_request() -> CallError {
    CallError {
        status: StatusCode::BAD_REQUEST,
        code: "INVALID_REQUEST",
    }
}

fn entry<'a>(
    state: &'a mut Value,
    collection: &str,
    id: Option<String>,
    code: &'static str,
) -> Result<&'a mut Map<String, Value>, CallError> {
    id.and_then(|id| state.get_mut(collection)?.get_mut(&id)?.as_object_mut())
        .ok_or(not_found(code))
}

fn device(state: &mut Value, id: Option<String>) -> Result<&mut Map<String, Value>, CallError> {
    entry(state, "devices", id, "INVALID_DEVICE")
}

fn group(state: &mut Value, id: Option<String>) -> Result<&mut Map<String, Value>, CallError> {
    entry(state, "groups", id, "INVALID_GROUP")
}

fn rule(state: &mut Value, id: Option<String>) -> Result<&mut Map<String, Value>, CallError> {
    id.and_then(|id| {
        state["home"]
            .get_mut("ruleMetaDatas")?
            .get_mut(&id)?
            .as_object_mut()
    })
    .ok_or(not_found("INVALID_RULE"))
}

/// Remove an entry of `collection` and push its removal as the cloud does (`{id}`).
fn remove(
    state: &mut Value,
    collection: &str,
    id: Option<String>,
    event: &str,
    code: &'static str,
) -> Result<Outcome, CallError> {
    let id = id.ok_or(not_found(code))?;
    state
        .get_mut(collection)
        .and_then(Value::as_object_mut)
        .and_then(|c| c.shift_remove(&id))
        .ok_or(not_found(code))?;
    Ok(answer(
        json!({}),
        vec![json!({"pushEventType": event, "id": id})],
    ))
}
