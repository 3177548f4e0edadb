//! The simulated HCU driven over TLS as the adapter will drive it: pinned certificate,
//! pairing over HTTPS, the Connect API websocket over WSS.

use std::time::Duration;

use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::Connector;

use crate::hcu::pin::client_config;
use crate::hcu::{Fingerprint, PLUGIN_ID};
use crate::sim::tests::{device_of, local, next_json, ws_connect, Api, Ws};
use crate::sim::{
    start, HcuEndpoints, HcuSimConfig, SimConfig, SimHandle, DEFAULT_AUTH_TOKEN,
    DEFAULT_HCU_AUTH_TOKEN, HCU_ACTIVATION_KEY,
};

pub(super) async fn start_hcu(interval: Duration) -> (SimHandle, HcuEndpoints) {
    let cfg = SimConfig {
        hcu: Some(HcuSimConfig {
            plugin_state_interval: interval,
            ..HcuSimConfig::default()
        }),
        ..SimConfig::demo(local())
    };
    let h = start(cfg).await.unwrap();
    let ep = h.hcu().expect("the HCU is served");
    (h, ep)
}

/// An HTTPS client that trusts exactly the certificate `pin`.
pub(super) fn https(pin: Fingerprint) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls((*client_config(pin).0).clone())
        .build()
        .unwrap()
}

/// `POST https://auth_addr/hmip/auth/{call}` (with `VERSION: 12` when `version`).
pub(super) async fn auth(
    ep: &HcuEndpoints,
    call: &str,
    body: Value,
    version: bool,
) -> (StatusCode, Value) {
    let mut req = https(ep.fingerprint)
        .post(format!("https://{}/hmip/auth/{call}", ep.auth_addr))
        .json(&body);
    if version {
        req = req.header("VERSION", "12");
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(super) fn request_body(key: &str) -> Value {
    json!({"activationKey": key, "pluginId": PLUGIN_ID, "friendlyName": {"de": "Test DE", "en": "Test"}})
}

/// Open the Connect API websocket, pinned to `pin`.
pub(super) async fn hcu_ws(
    ws_addr: std::net::SocketAddr,
    pin: Fingerprint,
    token: &str,
    plugin_id: &str,
    events: bool,
) -> Result<Ws, tungstenite::Error> {
    let mut req = format!("wss://{ws_addr}/").into_client_request().unwrap();
    let headers = req.headers_mut();
    headers.insert("authtoken", token.parse().unwrap());
    headers.insert("plugin-id", plugin_id.parse().unwrap());
    if events {
        headers.insert("hmip-system-events", "true".parse().unwrap());
    }
    let connector = Connector::Rustls(client_config(pin).0);
    tokio_tungstenite::connect_async_tls_with_config(req, None, false, Some(connector))
        .await
        .map(|(ws, _)| ws)
}

pub(super) async fn default_ws(ep: &HcuEndpoints) -> Ws {
    hcu_ws(
        ep.ws_addr,
        ep.fingerprint,
        DEFAULT_HCU_AUTH_TOKEN,
        PLUGIN_ID,
        true,
    )
    .await
    .unwrap()
}

/// The next message of type `kind`, skipping others.
pub(super) async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    for _ in 0..50 {
        let msg = next_json(ws).await;
        if msg["type"] == kind {
            return msg;
        }
    }
    panic!("no {kind} message");
}

/// Send a message of ours and return the reply of that id.
pub(super) async fn request(ws: &mut Ws, path: &str, body: Value) -> Value {
    request_all(ws, path, body).await.0
}

/// Send a message of ours and return the reply of that id and the messages before it.
pub(super) async fn request_all(ws: &mut Ws, path: &str, body: Value) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    let id = uuid::Uuid::new_v4().to_string();
    let msg = json!({"id": id, "pluginId": PLUGIN_ID, "type": "HMIP_SYSTEM_REQUEST", "body": {"path": path, "body": body}});
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
    for _ in 0..50 {
        let reply = next_json(ws).await;
        if reply["id"] == id.as_str() {
            assert_eq!(reply["type"], "HMIP_SYSTEM_RESPONSE", "{reply}");
            assert_eq!(reply["pluginId"], PLUGIN_ID);
            return (reply["body"].clone(), before);
        }
        before.push(reply);
    }
    panic!("no reply to {path}");
}

pub(super) fn http_status(result: Result<Ws, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("not an HTTP refusal: {e}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

#[tokio::test]
async fn pairing_with_activation_keys() {
    let (h, ep) = start_hcu(Duration::from_secs(30)).await;
    let api = Api::new(&h);

    let (status, body) = auth(
        &ep,
        "requestConnectApiAuthToken",
        request_body(HCU_ACTIVATION_KEY),
        false,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"errorCode": "INVALID_REQUEST"})
        )
    );
    let no_name = json!({"activationKey": HCU_ACTIVATION_KEY, "pluginId": PLUGIN_ID});
    assert_eq!(
        auth(&ep, "requestConnectApiAuthToken", no_name, true)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (status, body) = auth(
        &ep,
        "requestConnectApiAuthToken",
        request_body("WRONG1"),
        true,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"errorCode": "INVALID_ACTIVATION_KEY"})
        )
    );

    let (status, body) = auth(
        &ep,
        "requestConnectApiAuthToken",
        request_body(HCU_ACTIVATION_KEY),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = body["authToken"].as_str().unwrap().to_string();
    assert!(
        token.len() == 64
            && token
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    // Not valid before it is confirmed.
    assert_eq!(
        http_status(hcu_ws(ep.ws_addr, ep.fingerprint, &token, PLUGIN_ID, false).await),
        401
    );
    let (status, _) = auth(
        &ep,
        "confirmConnectApiAuthToken",
        json!({"activationKey": "OTHER1", "authToken": token}),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = auth(
        &ep,
        "confirmConnectApiAuthToken",
        json!({"activationKey": HCU_ACTIVATION_KEY, "authToken": "F00"}),
        true,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"errorCode": "INVALID_AUTH_TOKEN"})
        )
    );
    // Both APIs see the new client.
    let mut cloud = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();
    let mut events = default_ws(&ep).await;
    let (status, body) = auth(
        &ep,
        "confirmConnectApiAuthToken",
        json!({"activationKey": HCU_ACTIVATION_KEY, "authToken": token}),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let client_id = body["clientId"].as_str().unwrap();
    let client = &h.home()["clients"][client_id];
    assert_eq!(
        (&client["label"], &client["clientType"]),
        (&json!("Test DE"), &json!("APP"))
    );
    assert_eq!(
        next_json(&mut cloud).await["events"]["0"]["client"],
        *client
    );
    let added = next_of(&mut events, "HMIP_SYSTEM_EVENT").await;
    let added = &added["body"]["eventTransaction"]["events"]["0"];
    assert_eq!(
        (&added["pushEventType"], &added["client"]),
        (&json!("CLIENT_ADDED"), client)
    );

    // The key is used up.
    let (status, body) = auth(
        &ep,
        "requestConnectApiAuthToken",
        request_body(HCU_ACTIVATION_KEY),
        true,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"errorCode": "INVALID_ACTIVATION_KEY"})
        )
    );
    // The token works for its plugin id only.
    let mut ws = hcu_ws(ep.ws_addr, ep.fingerprint, &token, PLUGIN_ID, false)
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "PLUGIN_STATE_REQUEST");
    assert_eq!(
        http_status(hcu_ws(ep.ws_addr, ep.fingerprint, &token, "de.other.plugin", false).await),
        401
    );

    // A fresh key from the hook pairs too.
    let key = api.sim_post("hcu/activation-key", json!({})).await["activationKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(key.len() == 6 && key != HCU_ACTIVATION_KEY);
    let (status, body) = auth(&ep, "requestConnectApiAuthToken", request_body(&key), true).await;
    assert_eq!(status, StatusCode::OK);
    let confirm = json!({"activationKey": key, "authToken": body["authToken"]});
    assert_eq!(
        auth(&ep, "confirmConnectApiAuthToken", confirm, true)
            .await
            .0,
        StatusCode::OK
    );

    let stats = api.sim_get("stats").await;
    assert_eq!(stats["hcu"]["authRequests"], 10, "{stats}");
    assert_eq!(stats["requests"], 0, "{stats}");
    h.shutdown().await;
}

#[tokio::test]
async fn the_websocket_serves_the_home_and_shares_changes_with_the_cloud() {
    let (h, ep) = start_hcu(Duration::from_secs(30)).await;
    let api = Api::new(&h);
    let lamp = device_of(&h.home(), "HmIP-PS");
    let mut ws = default_ws(&ep).await;

    let greeting = next_json(&mut ws).await;
    assert_eq!(
        (greeting["type"].as_str(), &greeting["body"]),
        (Some("PLUGIN_STATE_REQUEST"), &json!({}))
    );
    let ready = json!({"id": greeting["id"], "pluginId": PLUGIN_ID, "type": "PLUGIN_STATE_RESPONSE", "body": {"pluginReadinessStatus": "READY"}});
    ws.send(Message::Text(ready.to_string().into()))
        .await
        .unwrap();

    let state = request(&mut ws, "/hmip/home/getSystemState", json!({})).await;
    assert_eq!(
        state,
        json!({"code": 200, "body": api.sim_get("home").await})
    );
    let home = request(&mut ws, "/hmip/home/getState", json!({})).await;
    assert_eq!(home, json!({"code": 200, "body": h.home()["home"]}));

    let on = json!({"deviceId": lamp, "channelIndex": 1, "on": true});
    let (reply, before) =
        request_all(&mut ws, "/hmip/device/control/setSwitchState", on.clone()).await;
    assert_eq!(reply, json!({"code": 200}));
    assert_eq!(
        h.home()["devices"][&lamp]["functionalChannels"]["1"]["on"],
        true
    );
    let calls = api.sim_get("calls").await;
    assert_eq!(calls[0]["path"], "device/control/setSwitchState");
    assert_eq!(calls[0]["body"], on);
    // Pushed under the lock before the answer leaves, as the cloud pushes before answering.
    let event = before
        .iter()
        .find(|m| m["type"] == "HMIP_SYSTEM_EVENT")
        .expect("the call's DEVICE_CHANGED");
    let tx = &event["body"]["eventTransaction"];
    assert_eq!(tx["accessPointId"], crate::sim::DEFAULT_SGTIN);
    assert_eq!(tx["origin"], json!({"originType": "DEVICE"}));
    assert_eq!(tx["events"]["0"]["pushEventType"], "DEVICE_CHANGED");
    assert_eq!(tx["events"]["0"]["device"], h.home()["devices"][&lamp]);

    // An error of the cloud's control handling is the response's code.
    let bad = request(
        &mut ws,
        "/hmip/device/control/setSwitchState",
        json!({"deviceId": lamp, "channelIndex": 9, "on": true}),
    )
    .await;
    assert_eq!(
        bad,
        json!({"code": 404, "body": {"errorCode": "INVALID_CHANNEL"}})
    );
    let outside = request(&mut ws, "/other/path", json!({})).await;
    assert_eq!(
        outside,
        json!({"code": 404, "body": {"errorCode": "INVALID_REQUEST"}})
    );

    // The cloud saw nothing of it; the HCU counted all.
    let stats = api.sim_get("stats").await;
    assert_eq!(
        (stats["requests"].as_u64(), stats["upgrades"].as_u64()),
        (Some(0), Some(0)),
        "{stats}"
    );
    assert_eq!(stats["requestTimes"], json!([]));
    let hcu = &stats["hcu"];
    assert_eq!(hcu["requests"], 5, "{stats}");
    assert_eq!(
        (
            hcu["upgrades"].as_u64(),
            hcu["wsConnects"].as_u64(),
            hcu["wsOpen"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        (
            hcu["pluginState"].as_str(),
            hcu["pluginStateResponses"].as_u64()
        ),
        (Some("READY"), Some(1))
    );

    // A change through the HCU reaches the cloud's websocket, one through the cloud the HCU's.
    let mut cloud = ws_connect(&h, DEFAULT_AUTH_TOKEN).await.unwrap();
    let off = json!({"deviceId": lamp, "channelIndex": 1, "on": false});
    let (reply, before) = request_all(&mut ws, "/hmip/device/control/setSwitchState", off).await;
    assert_eq!(reply, json!({"code": 200}));
    let on_of = |event: &Value| {
        event["body"]["eventTransaction"]["events"]["0"]["device"]["functionalChannels"]["1"]["on"]
            .clone()
    };
    assert_eq!(before.iter().map(on_of).collect::<Vec<_>>(), [json!(false)]);
    let pushed = next_json(&mut cloud).await;
    assert_eq!(
        pushed["events"]["0"]["device"]["functionalChannels"]["1"]["on"],
        false
    );
    let (status, _) = api
        .call(
            "device/control/setSwitchState",
            json!({"deviceId": lamp, "channelIndex": 1, "on": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let event = next_of(&mut ws, "HMIP_SYSTEM_EVENT").await;
    assert_eq!(on_of(&event), json!(true));
    h.shutdown().await;
}

#[tokio::test]
async fn periodic_plugin_state_requests_bring_a_device_without_channels() {
    let (h, ep) = start_hcu(Duration::from_millis(200)).await;
    let mut ws = default_ws(&ep).await;
    next_of(&mut ws, "PLUGIN_STATE_REQUEST").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        next_of(&mut ws, "PLUGIN_STATE_REQUEST").await;
        let event = next_of(&mut ws, "HMIP_SYSTEM_EVENT").await;
        let e = &event["body"]["eventTransaction"]["events"]["0"];
        assert_eq!(e["pushEventType"], "DEVICE_CHANGED");
        let device = e["device"].as_object().unwrap();
        assert!(!device.contains_key("functionalChannels"), "{e}");
        let id = device["id"].as_str().unwrap().to_string();
        let mut full = h.home()["devices"][&id].as_object().unwrap().clone();
        assert!(full.remove("functionalChannels").is_some());
        assert_eq!(device, &full, "otherwise the device as it is");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "round robin over the devices");
    // The home keeps its channels.
    assert!(h.home()["devices"][&ids[0]]["functionalChannels"].is_object());
    h.shutdown().await;
}

#[tokio::test]
async fn expose_and_certificate_rotation() {
    let (h, ep) = start_hcu(Duration::from_secs(30)).await;
    let api = Api::new(&h);
    assert_eq!(
        api.sim_post("hcu/expose", json!({"on": false})).await,
        json!({"on": false})
    );
    let refused = tokio::net::TcpStream::connect(ep.ws_addr)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // The pairing port stays.
    assert_eq!(
        auth(
            &ep,
            "requestConnectApiAuthToken",
            request_body("NOKEY1"),
            true
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    api.sim_post("hcu/expose", json!({"on": true})).await;
    let mut ws = default_ws(&ep).await;
    next_of(&mut ws, "PLUGIN_STATE_REQUEST").await;

    let fp = api.sim_post("hcu/certificate", json!({})).await["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let new: Fingerprint = fp.parse().unwrap();
    assert_ne!(new, ep.fingerprint);
    assert_eq!(h.hcu().unwrap().fingerprint, new);
    // A client pinned to the old certificate fails its handshake, on both ports.
    match hcu_ws(
        ep.ws_addr,
        ep.fingerprint,
        DEFAULT_HCU_AUTH_TOKEN,
        PLUGIN_ID,
        true,
    )
    .await
    {
        Err(tungstenite::Error::Http(_)) | Ok(_) => panic!("the old pin was accepted"),
        Err(_) => {}
    }
    let old = https(ep.fingerprint)
        .post(format!(
            "https://{}/hmip/auth/requestConnectApiAuthToken",
            ep.auth_addr
        ))
        .send()
        .await;
    assert!(old.is_err());
    let mut ws = hcu_ws(ep.ws_addr, new, DEFAULT_HCU_AUTH_TOKEN, PLUGIN_ID, true)
        .await
        .unwrap();
    next_of(&mut ws, "PLUGIN_STATE_REQUEST").await;
    h.shutdown().await;
}
