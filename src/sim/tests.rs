//! The simulator driven over the network, as the cloud client and the tests will use it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::*;
use crate::cloud::identity::client_auth;

pub(super) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The shared fixtures live next to the repository (see the design notes).
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home.json");
const UNKNOWN_TYPES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/unknown_types.json"
);

pub(super) fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A client of one simulator, sending the cloud's headers.
pub(super) struct Api {
    http: reqwest::Client,
    base: String,
    sgtin: String,
}

impl Api {
    pub(super) fn new(h: &SimHandle) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: h.url(),
            sgtin: DEFAULT_SGTIN.to_string(),
        }
    }

    /// `POST /hmip/{path}` with the default token.
    pub(super) async fn call(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call_with(path, body, Some(DEFAULT_AUTH_TOKEN), &[])
            .await
    }

    pub(super) async fn call_with(
        &self,
        path: &str,
        body: Value,
        token: Option<&str>,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}/hmip/{path}", self.base))
            .header("VERSION", "12")
            .header("CLIENTAUTH", client_auth(&self.sgtin))
            .header("ACCESSPOINT-ID", &self.sgtin)
            .json(&body);
        if let Some(token) = token {
            req = req.header("AUTHTOKEN", token);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A hook under `/sim/`.
    pub(super) async fn hook(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .request(method, format!("{}/sim/{path}", self.base))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub(super) async fn sim_post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self
            .hook(reqwest::Method::POST, path, &body.to_string())
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {v}");
        v
    }

    pub(super) async fn sim_get(&self, path: &str) -> Value {
        self.hook(reqwest::Method::GET, path, "").await.1
    }
}

pub(super) async fn ws_connect(h: &SimHandle, token: &str) -> Result<Ws, tungstenite::Error> {
    let mut req = h.ws_url().into_client_request().unwrap();
    let headers = req.headers_mut();
    headers.insert("AUTHTOKEN", token.parse().unwrap());
    headers.insert("CLIENTAUTH", client_auth(DEFAULT_SGTIN).parse().unwrap());
    headers.insert("ACCESSPOINT-ID", DEFAULT_SGTIN.parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// The next data frame as JSON (text or binary), within a few seconds.
pub(super) async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a websocket message in time")
            .expect("the websocket still open")
            .unwrap();
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Binary(b) => return serde_json::from_slice(&b).unwrap(),
            _ => continue,
        }
    }
}

/// True when the server closes the websocket within a few seconds.
pub(super) async fn closed(ws: &mut Ws) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return false,
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

fn event_types(msg: &Value) -> Vec<String> {
    msg["events"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["pushEventType"].as_str().unwrap().to_string())
        .collect()
}

/// Id of the first device of a model in a home.
pub(super) fn device_of(home: &Value, model: &str) -> String {
    home["devices"]
        .as_object()
        .unwrap()
        .values()
        .find(|d| d["modelType"] == model)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn group_named(home: &Value, kind: &str, label: &str) -> String {
    home["groups"]
        .as_object()
        .unwrap()
        .values()
        .find(|g| g["type"] == kind && g["label"] == label)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn lookup_answers_known_sgtin_and_418_otherwise() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let http = reqwest::Client::new();
    let lookup = |body: String| http.post(h.lookup_url()).body(body).send();

    let body = crate::cloud::client_characteristics("3014-f711-a000-0000-0000-0001").to_string();
    let resp = lookup(body).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["urlREST"], h.url());
    assert_eq!(v["urlWebSocket"], h.ws_url());
    assert_eq!(v["apiVersion"], "12");

    let other = crate::cloud::client_characteristics("3014F711A000000000000002").to_string();
    assert_eq!(
        lookup(other).await.unwrap().status(),
        StatusCode::IM_A_TEAPOT
    );
    assert_eq!(
        lookup("not json".into()).await.unwrap().status(),
        StatusCode::IM_A_TEAPOT
    );
    assert_eq!(
        lookup(json!({"id": "3014"}).to_string())
            .await
            .unwrap()
            .status(),
        StatusCode::IM_A_TEAPOT
    );
    h.shutdown().await;
}

#[tokio::test]
async fn get_current_state_serves_fixtures_unchanged() {
    for path in [FIXTURE, UNKNOWN_TYPES] {
        let cfg = SimConfig::with_fixture_file(path, local()).unwrap();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let h = start(cfg).await.unwrap();
        let api = Api::new(&h);
        let (status, state) = api
            .call(
                "home/getCurrentState",
                crate::cloud::client_characteristics(DEFAULT_SGTIN),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(state, expected, "{path} served changed");
        assert!(
            api.sim_get("calls").await.as_array().unwrap().is_empty(),
            "getCurrentState is not a control call"
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn control_call_changes_home_and_pushes_device_changed() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let lamp = device_of(&h.home(), "HmIP-PS");
    let before = h.home()["devices"][&lamp]["lastStatusUpdate"]
        .as_i64()
        .unwrap();
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();

    let (status, answer) = api
        .call(
            "device/control/setSwitchState",
            json!({"deviceId": lamp, "channelIndex": 1, "on": true}),
        )
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!({})));

    let msg = next_json(&mut ws).await;
    assert_eq!(event_types(&msg), ["DEVICE_CHANGED"]);
    let pushed = &msg["events"]["0"]["device"];
    assert_eq!(pushed["functionalChannels"]["1"]["on"], true);
    let home = api.sim_get("home").await;
    assert_eq!(
        &home["devices"][&lamp], pushed,
        "the push carries the full device as now in the home"
    );
    assert!(pushed["lastStatusUpdate"].as_i64().unwrap() > before);
    h.shutdown().await;
}

#[tokio::test]
async fn set_slats_level_sets_both_levels() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let blind = device_of(&h.home(), "HmIP-BBL");
    let body =
        json!({"deviceId": blind, "channelIndex": 1, "slatsLevel": 0.25, "shutterLevel": 0.75});
    assert_eq!(
        api.call("device/control/setSlatsLevel", body).await.0,
        StatusCode::OK
    );
    let ch = &h.home()["devices"][&blind]["functionalChannels"]["1"];
    assert_eq!(
        (ch["slatsLevel"].as_f64(), ch["shutterLevel"].as_f64()),
        (Some(0.25), Some(0.75))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn heating_set_point_updates_group_and_member_thermostats() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let group = group_named(&h.home(), "HEATING", "Wohnzimmer");
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();

    let body = json!({"groupId": group, "setPointTemperature": 23.5});
    assert_eq!(
        api.call("group/heating/setSetPointTemperature", body)
            .await
            .0,
        StatusCode::OK
    );

    let home = h.home();
    assert_eq!(home["groups"][&group]["setPointTemperature"], 23.5);
    let mut members = 0;
    for device in home["devices"].as_object().unwrap().values() {
        for ch in device["functionalChannels"].as_object().unwrap().values() {
            let in_group = ch["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == &json!(group));
            if in_group && ch.get("setPointTemperature").is_some() {
                assert_eq!(ch["setPointTemperature"], 23.5, "{}", device["label"]);
                members += 1;
            }
        }
    }
    assert_eq!(
        members, 2,
        "radiator and wall thermostat of the living room"
    );
    let msg = next_json(&mut ws).await;
    assert_eq!(
        event_types(&msg),
        ["GROUP_CHANGED", "DEVICE_CHANGED", "DEVICE_CHANGED"]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn zones_activation_arms_the_named_zones_of_the_classic_panel() {
    let h = start(SimConfig::with_fixture_file(FIXTURE, local()).unwrap())
        .await
        .unwrap();
    let api = Api::new(&h);
    let zones = h.home()["home"]["functionalHomes"]["SECURITY_AND_ALARM"]["securityZones"].clone();
    let (internal, external) = (
        zones["INTERNAL"].as_str().unwrap(),
        zones["EXTERNAL"].as_str().unwrap(),
    );
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();

    // The classic panel does not ask its sensors (the fixture's EXTERNAL zone reports an
    // open window).
    let body = json!({"zonesActivation": {"INTERNAL": false, "EXTERNAL": true}});
    assert_eq!(
        api.call("home/security/setZonesActivation", body).await,
        (StatusCode::OK, json!({}))
    );
    let home = h.home();
    assert_eq!(
        (
            &home["groups"][internal]["active"],
            &home["groups"][external]["active"]
        ),
        (&json!(false), &json!(true))
    );
    assert_eq!(
        event_types(&next_json(&mut ws).await),
        ["GROUP_CHANGED", "GROUP_CHANGED", "HOME_CHANGED"]
    );

    let body = json!({"zonesActivation": {"INTERNAL": true, "EXTERNAL": true}});
    api.call("home/security/setZonesActivation", body).await;
    assert_eq!(h.home()["groups"][internal]["active"], true);
    h.shutdown().await;
}

#[tokio::test]
async fn the_request_based_demo_panel_refuses_old_labels_and_lists_open_windows() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let before = h.home();
    let security = &before["home"]["functionalHomes"]["SECURITY_AND_ALARM"];
    assert_eq!(
        security["securityZoneActivationMode"],
        "ACTIVATION_REQUEST_BASED"
    );
    let presence = security["securityZones"]["PRESENCE"].as_str().unwrap();
    assert_eq!(before["groups"][presence]["label"], "PRESENCE");
    assert!(before["groups"][presence].get("active").is_none());

    let old = json!({"zonesActivation": {"INTERNAL": false, "EXTERNAL": true}});
    assert_eq!(
        api.call("home/security/setZonesActivation", old).await.0,
        StatusCode::BAD_REQUEST
    );
    let body =
        json!({"zonesActivation": {"PRESENCE": true, "ABSENCE": false}, "ignoreLowBat": true});
    let (status, answer) = api
        .call("home/security/setExtendedZonesActivation", body)
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed = answer["channelActivationProblems"].as_object().unwrap();
    assert!(!listed.is_empty(), "{answer}");
    for (key, reasons) in listed {
        let (device, channel) = key.split_once(':').unwrap();
        let window = &before["devices"][device]["functionalChannels"][channel]["windowState"];
        assert!(window == "OPEN" || window == "TILTED", "{key}: {window}");
        assert_eq!(reasons, &json!(["WINDOW_NOT_CLOSED"]));
    }
    assert_eq!(h.home(), before, "nothing armed");
    h.shutdown().await;
}

#[tokio::test]
async fn errors_are_answered_like_the_cloud() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let lamp = device_of(&h.home(), "HmIP-PS");
    let on = |id: &str, ch: u32| json!({"deviceId": id, "channelIndex": ch, "on": true});

    let e = api
        .call(
            "device/control/setSwitchState",
            on("3014F711A0000000DEADBEEF", 1),
        )
        .await;
    assert_eq!(
        e,
        (
            StatusCode::NOT_FOUND,
            json!({"errorCode": "INVALID_DEVICE"})
        )
    );
    let e = api
        .call("device/control/setSwitchState", on(&lamp, 9))
        .await;
    assert_eq!(
        e,
        (
            StatusCode::NOT_FOUND,
            json!({"errorCode": "INVALID_CHANNEL"})
        )
    );
    let e = api
        .call(
            "group/switching/setState",
            json!({"groupId": "nope", "on": true}),
        )
        .await;
    assert_eq!(
        e,
        (StatusCode::NOT_FOUND, json!({"errorCode": "INVALID_GROUP"}))
    );
    let e = api
        .call("device/control/doTheImpossible", on(&lamp, 1))
        .await;
    assert_eq!(
        e,
        (
            StatusCode::NOT_FOUND,
            json!({"errorCode": "UNKNOWN_REQUEST"})
        )
    );

    let e = api
        .call_with("home/getCurrentState", json!({}), Some("WRONG"), &[])
        .await;
    assert_eq!(
        e,
        (
            StatusCode::FORBIDDEN,
            json!({"errorCode": "INVALID_AUTH_TOKEN"})
        )
    );
    let e = api
        .call_with("home/getCurrentState", json!({}), None, &[])
        .await;
    assert_eq!(
        e,
        (
            StatusCode::FORBIDDEN,
            json!({"errorCode": "INVALID_AUTH_TOKEN"})
        )
    );
    let wrong_ap = Api {
        sgtin: "3014F711A000000000000002".into(),
        ..Api::new(&h)
    };
    let e = wrong_ap.call("home/getCurrentState", json!({})).await;
    assert_eq!(
        e,
        (
            StatusCode::FORBIDDEN,
            json!({"errorCode": "INVALID_AUTHORIZATION"})
        )
    );

    match ws_connect(&h, "WRONG").await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), StatusCode::FORBIDDEN),
        other => panic!("websocket with a wrong token: {:?}", other.map(|_| ())),
    }
    h.shutdown().await;
}

#[tokio::test]
async fn pairing_requires_the_pin() {
    let cfg = SimConfig {
        pin: Some("1234".into()),
        ..SimConfig::demo(local())
    };
    let h = start(cfg).await.unwrap();
    let api = Api::new(&h);
    let body = json!({"deviceId": uuid::Uuid::new_v4().to_string(), "deviceName": "test", "sgtin": DEFAULT_SGTIN});
    let invalid_pin = (StatusCode::FORBIDDEN, json!({"errorCode": "INVALID_PIN"}));
    assert_eq!(
        api.call_with("auth/connectionRequest", body.clone(), None, &[])
            .await,
        invalid_pin
    );
    assert_eq!(
        api.call_with(
            "auth/connectionRequest",
            body.clone(),
            None,
            &[("PIN", "9999")]
        )
        .await,
        invalid_pin
    );
    assert_eq!(
        api.call_with("auth/connectionRequest", body, None, &[("PIN", "1234")])
            .await
            .0,
        StatusCode::OK
    );
    h.shutdown().await;
}

#[tokio::test]
async fn manual_button_pairing_flow() {
    let cfg = SimConfig {
        button: Button::Manual,
        ..SimConfig::demo(local())
    };
    let h = start(cfg).await.unwrap();
    let api = Api::new(&h);
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();
    let device_id = uuid::Uuid::new_v4().to_string();
    let id = json!({"deviceId": device_id});
    let auth = |path: &'static str, body: Value| {
        let api = &api;
        async move { api.call_with(path, body, None, &[]).await }
    };

    let request = json!({"deviceId": device_id, "deviceName": "ioBroker", "sgtin": DEFAULT_SGTIN});
    assert_eq!(
        auth("auth/connectionRequest", request).await.0,
        StatusCode::OK
    );
    let ack = json!({"deviceId": device_id, "accessPointId": DEFAULT_SGTIN});
    assert_eq!(
        auth("auth/isRequestAcknowledged", ack.clone()).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        auth("auth/requestAuthToken", id.clone()).await.0,
        StatusCode::BAD_REQUEST
    );
    // Without a press, nothing changes by itself (Manual).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        auth("auth/isRequestAcknowledged", ack.clone()).await.0,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(
        api.sim_post("button", json!({})).await,
        json!({"acknowledged": 1})
    );
    assert_eq!(
        auth("auth/isRequestAcknowledged", ack).await.0,
        StatusCode::OK
    );
    let (status, v) = auth("auth/requestAuthToken", id).await;
    assert_eq!(status, StatusCode::OK);
    let token = v["authToken"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);

    // Not valid before it is confirmed.
    let state = |t: String| {
        let api = &api;
        async move {
            api.call_with("home/getCurrentState", json!({}), Some(&t), &[])
                .await
                .0
        }
    };
    assert_eq!(state(token.clone()).await, StatusCode::FORBIDDEN);
    let (status, v) = auth(
        "auth/confirmAuthToken",
        json!({"deviceId": device_id, "authToken": token}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let client_id = v["clientId"].as_str().unwrap().to_string();
    assert_eq!(state(token.clone()).await, StatusCode::OK);

    let (_, home) = api
        .call_with("home/getCurrentState", json!({}), Some(&token), &[])
        .await;
    assert_eq!(home["clients"][&client_id]["label"], "ioBroker");
    let msg = next_json(&mut ws).await;
    assert_eq!(event_types(&msg), ["CLIENT_ADDED"]);
    assert_eq!(msg["events"]["0"]["client"]["id"], client_id.as_str());
    h.shutdown().await;
}

#[tokio::test]
async fn auto_button_acknowledges_after_about_a_second() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let device_id = uuid::Uuid::new_v4().to_string();
    let request = json!({"deviceId": device_id, "deviceName": "auto", "sgtin": DEFAULT_SGTIN});
    assert_eq!(
        api.call_with("auth/connectionRequest", request, None, &[])
            .await
            .0,
        StatusCode::OK
    );
    let ack = json!({"deviceId": device_id});
    assert_eq!(
        api.call_with("auth/isRequestAcknowledged", ack.clone(), None, &[])
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let mut acknowledged = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if api
            .call_with("auth/isRequestAcknowledged", ack.clone(), None, &[])
            .await
            .0
            == StatusCode::OK
        {
            acknowledged = true;
            break;
        }
    }
    assert!(
        acknowledged,
        "the automatic button was not pressed within 3 s"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn throttle_answers_429_exactly_n_times() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    api.sim_post("throttle", json!({"count": 3})).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(api.call("home/getCurrentState", json!({})).await.0.as_u16());
    }
    assert_eq!(statuses, [429, 429, 429, 200, 200]);
    let stats = api.sim_get("stats").await;
    assert_eq!(
        (stats["requests"].as_u64(), stats["throttled"].as_u64()),
        (Some(5), Some(3))
    );

    // Websocket upgrades are throttled too.
    api.sim_post("throttle", json!({"count": 1})).await;
    match ws_connect(&h, DEFAULT_AUTH_TOKEN).await {
        Err(tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS)
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    assert!(ws_connect(&h, DEFAULT_AUTH_TOKEN).await.is_ok());
    h.shutdown().await;
}

#[tokio::test]
async fn throttle_for_a_time_answers_429_until_it_ends() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    api.sim_post("throttle", json!({"forMs": 300})).await;
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 429);
    assert!(matches!(
        ws_connect(&h, DEFAULT_AUTH_TOKEN).await,
        Err(tungstenite::Error::Http(r)) if r.status() == StatusCode::TOO_MANY_REQUESTS
    ));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 200);
    let stats = api.sim_get("stats").await;
    assert_eq!(stats["throttled"], 2);
    assert_eq!(
        (stats["requests"].as_u64(), stats["upgrades"].as_u64()),
        (Some(2), Some(1))
    );
    // Every request and upgrade has its time, oldest first.
    let times: Vec<i64> = serde_json::from_value(stats["requestTimes"].clone()).unwrap();
    assert_eq!(times.len(), 3);
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]) && times[2] - times[0] >= 300,
        "{times:?}"
    );
    assert_eq!(
        api.hook(reqwest::Method::POST, "throttle", "{}").await.0,
        400
    );
    h.shutdown().await;
}

#[tokio::test]
async fn fail_answers_a_status_or_delays_the_next_n_requests() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    api.sim_post("fail", json!({"count": 2, "status": 502}))
        .await;
    assert!(matches!(
        ws_connect(&h, DEFAULT_AUTH_TOKEN).await,
        Err(tungstenite::Error::Http(r)) if r.status() == StatusCode::BAD_GATEWAY
    ));
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 502);
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 200);

    // Only the named path counts.
    api.sim_post(
        "fail",
        json!({"count": 1, "status": 500, "path": "home/getCurrentState"}),
    )
    .await;
    assert!(ws_connect(&h, DEFAULT_AUTH_TOKEN).await.is_ok());
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 500);

    api.sim_post("fail", json!({"count": 1, "delayMs": 300}))
        .await;
    let t = std::time::Instant::now();
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = std::time::Instant::now();
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 200);
    assert!(t.elapsed() < Duration::from_millis(300));
    let stats = api.sim_get("stats").await;
    assert_eq!(
        (stats["failed"].as_u64(), stats["delayed"].as_u64()),
        (Some(3), Some(1))
    );
    // Neither both nor none of status and delay.
    let both = r#"{"count": 1, "status": 500, "delayMs": 5}"#;
    assert_eq!(api.hook(reqwest::Method::POST, "fail", both).await.0, 400);
    assert_eq!(
        api.hook(reqwest::Method::POST, "fail", r#"{"count": 1}"#)
            .await
            .0,
        400
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_silent_websocket_answers_no_ping_and_loses_events() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let contact = device_of(&h.home(), "HmIP-SWDO");
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();
    api.sim_post("silence", json!({"on": true})).await;
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let path = format!("device/{contact}/channel/1");
    api.sim_post(&path, json!({"windowState": "OPEN"})).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), ws.next())
            .await
            .is_err(),
        "a silent websocket sent something"
    );
    // A new connection is silent too.
    let mut ws2 = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();
    api.sim_post(&path, json!({"windowState": "TILTED"})).await;
    assert!(tokio::time::timeout(Duration::from_millis(300), ws2.next())
        .await
        .is_err());
    api.sim_post("silence", json!({"on": false})).await;
    // Talking again: the pending ping is answered, the lost event stays lost, new ones come.
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert_eq!(pong.unwrap().unwrap(), Message::Pong(b"hi".to_vec().into()));
    api.sim_post(&path, json!({"windowState": "CLOSED"})).await;
    let msg = next_json(&mut ws).await;
    assert_eq!(
        msg["events"]["0"]["device"]["functionalChannels"]["1"]["windowState"],
        "CLOSED"
    );
    assert_eq!(
        api.hook(reqwest::Method::POST, "silence", "{}").await.0,
        400
    );
    h.shutdown().await;
}

#[tokio::test]
async fn move_switches_the_lookup_to_a_second_host_and_back() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let lookup = || async {
        reqwest::Client::new()
            .post(h.lookup_url())
            .json(&json!({"id": DEFAULT_SGTIN}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();
    let moved = api.sim_post("move", json!({})).await;
    let rest = moved["rest"].as_str().unwrap().to_string();
    assert_ne!(rest, h.url());
    assert!(rest.starts_with("http://127.0.0.1:"), "{rest}");
    assert_eq!(
        moved["websocket"],
        format!("ws://{}/ws", &rest["http://".len()..])
    );
    assert_eq!(lookup().await["urlREST"], rest.as_str());
    assert!(closed(&mut ws).await, "the old host's websocket stays open");
    // The old host refuses, the new one serves.
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 503);
    assert!(matches!(
        ws_connect(&h, DEFAULT_AUTH_TOKEN).await,
        Err(tungstenite::Error::Http(r)) if r.status() == StatusCode::SERVICE_UNAVAILABLE
    ));
    let second = Api {
        base: rest.clone(),
        ..Api::new(&h)
    };
    assert_eq!(second.call("home/getCurrentState", json!({})).await.0, 200);
    // And back.
    let back = api.sim_post("move", json!({})).await;
    assert_eq!(back["rest"], h.url());
    assert_eq!(lookup().await["urlREST"], h.url());
    assert_eq!(api.call("home/getCurrentState", json!({})).await.0, 200);
    assert_eq!(second.call("home/getCurrentState", json!({})).await.0, 503);
    assert_eq!(api.sim_get("stats").await["movedAway"], 3);
    h.shutdown().await;
}

#[tokio::test]
async fn revoke_refuses_tokens_and_closes_websockets() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();
    api.sim_post("revoke", json!({})).await;
    assert!(closed(&mut ws).await, "websocket not closed on revoke");
    let e = api.call("home/getCurrentState", json!({})).await;
    assert_eq!(
        e,
        (
            StatusCode::FORBIDDEN,
            json!({"errorCode": "INVALID_AUTH_TOKEN"})
        )
    );
    assert!(ws_connect(&h, DEFAULT_AUTH_TOKEN).await.is_err());

    api.sim_post("unrevoke", json!({})).await;
    assert_eq!(
        api.call("home/getCurrentState", json!({})).await.0,
        StatusCode::OK
    );
    assert!(ws_connect(&h, DEFAULT_AUTH_TOKEN).await.is_ok());
    h.shutdown().await;
}

#[tokio::test]
async fn control_calls_are_recorded_and_cleared() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let dimmer = device_of(&h.home(), "HmIP-BDT");
    let body = json!({"deviceId": dimmer, "channelIndex": 1, "dimLevel": 0.7});
    api.call("device/control/setDimLevel", body.clone()).await;
    api.call("home/getCurrentState", json!({})).await;
    api.call("device/control/noSuchCall", json!({})).await;

    let calls = api.sim_get("calls").await;
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0]["path"], "device/control/setDimLevel");
    assert_eq!(calls[0]["body"], body);
    assert!(calls[0]["ts"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(calls[1]["path"], "device/control/noSuchCall");
    assert_eq!(
        h.home()["devices"][&dimmer]["functionalChannels"]["1"]["dimLevel"],
        0.7
    );

    let (status, _) = api.hook(reqwest::Method::DELETE, "calls", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.sim_get("calls").await, json!([]));
    h.shutdown().await;
}

#[tokio::test]
async fn hooks_change_channels_push_raw_and_drop_sockets() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let api = Api::new(&h);
    let contact = device_of(&h.home(), "HmIP-SWDO");
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();

    let device = api
        .sim_post(
            &format!("device/{contact}/channel/1"),
            json!({"windowState": "OPEN"}),
        )
        .await;
    assert_eq!(device["functionalChannels"]["1"]["windowState"], "OPEN");
    let msg = next_json(&mut ws).await;
    assert_eq!(msg["events"]["0"]["device"], device);
    let (status, _) = api
        .hook(reqwest::Method::POST, "device/nope/channel/1", "{}")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .hook(
            reqwest::Method::POST,
            &format!("device/{contact}/channel/7"),
            "{}",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let raw = r#"{"events":{"0":{"pushEventType":"SECURITY_JOURNAL_CHANGED"}}}"#;
    let (status, _) = api.hook(reqwest::Method::POST, "push", raw).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::Text(raw.into()));
    api.hook(reqwest::Method::POST, "push?binary=true", raw)
        .await;
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Binary(raw.as_bytes().to_vec().into())
    );

    // Pings are answered.
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));

    // The pong left after the three pushed frames: they are counted.
    let stats = api.sim_get("stats").await;
    assert_eq!(
        (
            stats["wsConnects"].as_u64(),
            stats["wsOpen"].as_u64(),
            stats["wsFramesSent"].as_u64()
        ),
        (Some(1), Some(1), Some(3))
    );
    assert_eq!(api.sim_post("drop", json!({})).await, json!({"dropped": 1}));
    assert!(closed(&mut ws).await);
    drop(ws);
    let mut open = 1;
    for _ in 0..50 {
        open = api.sim_get("stats").await["wsOpen"].as_u64().unwrap();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(open, 0);
    h.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_websockets_and_frees_the_port() {
    let h = start(SimConfig::demo(local())).await.unwrap();
    let addr = h.addr();
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();
    tokio::time::timeout(Duration::from_secs(6), h.shutdown())
        .await
        .expect("shutdown in time");
    assert!(closed(&mut ws).await);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}

#[tokio::test]
async fn refuses_to_listen_beyond_loopback() {
    let cfg = SimConfig::demo("0.0.0.0:0".parse().unwrap());
    assert!(start(cfg).await.is_err());
}

#[test]
fn demo_home_is_a_rich_valid_home() {
    let home = demo_home();
    let state: crate::cloud::CurrentState = serde_json::from_value(home.clone()).unwrap();
    assert!(state.devices.len() >= 25, "{} devices", state.devices.len());
    assert_eq!(
        serde_json::to_value(&state).unwrap(),
        home,
        "the typed model keeps every field"
    );
    assert!(
        state.devices.contains_key(DEFAULT_SGTIN),
        "the access point itself is a device"
    );
    for name in [
        "SECURITY_AND_ALARM",
        "INDOOR_CLIMATE",
        "LIGHT_AND_SHADOW",
        "WEATHER_AND_ENVIRONMENT",
        "ACCESS_CONTROL",
        "ENERGY",
    ] {
        assert!(
            state.home.fields["functionalHomes"].get(name).is_some(),
            "functional home {name}"
        );
    }
    for (id, device) in &state.devices {
        assert!(
            crate::cloud::identity::normalize_sgtin(id).ok().as_deref() == Some(id.as_str()),
            "{id} is not an SGTIN"
        );
        let zero = &device.channels["0"];
        for field in [
            "lowBat",
            "unreach",
            "rssiDeviceValue",
            "dutyCycle",
            "configPending",
        ] {
            assert!(
                zero.fields.contains_key(field),
                "{id} channel 0 lacks {field}"
            );
        }
        for channel in device.channels.values() {
            for group in channel.fields["groups"]
                .to_value()
                .as_array()
                .unwrap()
                .clone()
            {
                assert!(
                    state.groups.contains_key(group.as_str().unwrap()),
                    "{id} names a missing group"
                );
            }
        }
    }
    // The request-based alarm panel a user meets today.
    let zones = &state.home.fields["functionalHomes"]["SECURITY_AND_ALARM"]["securityZones"];
    for zone in ["ABSENCE", "PRESENCE"] {
        assert_eq!(
            state.groups[zones[zone].as_str().unwrap()].group_type,
            "SECURITY_ZONE"
        );
    }
    assert!(!state.clients.is_empty());
}

#[test]
fn fixture_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"devices\": {}}").unwrap();
    let err = SimConfig::with_fixture_file(&path, local()).unwrap_err();
    assert!(format!("{err:#}").contains("broken.json"), "{err:#}");
}

/// The channel fields that differ between two versions of a device.
fn changed_fields(before: &Value, after: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, ch) in after["functionalChannels"].as_object().unwrap() {
        for (field, v) in ch.as_object().unwrap() {
            if &before["functionalChannels"][key][field] != v {
                out.push((key.clone(), field.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn burst_pushes_n_reports_in_order_each_changing_k_fields() {
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    let mut cfg = SimConfig::demo(local());
    cfg.home = fixture.clone();
    let h = start(cfg).await.unwrap();
    let api = Api::new(&h);
    let mut ws = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();

    // More than the broadcast channel holds (1024): the burst waits for the writer.
    // The client reads while the burst runs, as the adapter does.
    let n = 1500;
    let url = format!("{}/sim/burst", h.url());
    let burst = tokio::spawn(async move {
        let resp = reqwest::Client::new()
            .post(url)
            .json(&json!({"count": n, "seed": 7, "changes": 2}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json::<Value>().await.unwrap()
    });
    // The fixture files one device under another key than its id.
    let key_of: HashMap<String, String> = fixture["devices"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, d)| (d["id"].as_str().unwrap().to_string(), k.clone()))
        .collect();
    let mut home = fixture;
    let mut sequence = Vec::new();
    for i in 0..n {
        let msg = next_json(&mut ws).await;
        let events = msg["events"].as_object().unwrap();
        assert_eq!(events.len(), 1, "one event per message");
        assert_eq!(events["0"]["pushEventType"], "DEVICE_CHANGED");
        let device = &events["0"]["device"];
        let id = key_of[device["id"].as_str().unwrap()].clone();
        let before = &home["devices"][&id];
        let changed = changed_fields(before, device);
        assert_eq!(changed.len(), 2, "report {i}: {changed:?}");
        assert_eq!(changed[0].0, changed[1].0, "one channel");
        assert!(
            device["lastStatusUpdate"].as_i64() > before["lastStatusUpdate"].as_i64(),
            "report {i}: lastStatusUpdate bumped"
        );
        sequence.push((id.clone(), changed));
        home["devices"][&id] = device.clone();
    }
    let answer = burst.await.unwrap();
    assert_eq!(answer["sent"], n);
    let last = &home["devices"][&sequence.last().unwrap().0];
    assert_eq!(
        answer["last"],
        json!({"deviceId": last["id"], "lastStatusUpdate": last["lastStatusUpdate"]})
    );
    // The simulated home is what the reports made of it.
    assert_eq!(api.sim_get("home").await, home);
    assert_eq!(h.home(), home);

    // Another simulator with the same home and seed reports the same channels and fields.
    let mut cfg = SimConfig::demo(local());
    cfg.home = serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    let h2 = start(cfg).await.unwrap();
    let mut ws2 = ws_connect(&h2, DEFAULT_AUTH_TOKEN).await.unwrap();
    let answer2 = Api::new(&h2)
        .sim_post("burst", json!({"count": 50, "seed": 7, "changes": 2}))
        .await;
    assert_eq!(answer2["sent"], 50);
    let mut home2: Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    for (i, want) in sequence.iter().take(50).enumerate() {
        let msg = next_json(&mut ws2).await;
        let device = &msg["events"]["0"]["device"];
        let id = key_of[device["id"].as_str().unwrap()].as_str();
        assert_eq!(
            (
                id.to_string(),
                changed_fields(&home2["devices"][id], device)
            ),
            *want,
            "report {i}"
        );
        home2["devices"][id] = device.clone();
    }

    // Without a listener the burst still changes the home; bad requests are refused.
    drop(ws2);
    let api2 = Api::new(&h2);
    let a = api2.sim_post("burst", json!({"count": 10})).await;
    assert_eq!(a["sent"], 10);
    assert_eq!(
        api2.sim_post("burst", json!({"count": 0})).await,
        json!({"sent": 0, "last": null})
    );
    let (status, _) = api2.hook(reqwest::Method::POST, "burst", "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api2
        .hook(
            reqwest::Method::POST,
            "burst",
            r#"{"count": 1, "changes": 1000}"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    h.shutdown().await;
    h2.shutdown().await;
}
