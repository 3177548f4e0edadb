//! The simulated HCU under the cloud's fault hooks and its own: refused tokens, malformed
//! messages, `/sim/fail`, drop, revoke, silence, bursts and stalled handshakes.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

use super::tests::*;
use crate::hcu::PLUGIN_ID;
use crate::sim::tests::{closed, device_of, next_json, Api};
use crate::sim::DEFAULT_HCU_AUTH_TOKEN;

#[tokio::test]
async fn faults_act_on_the_local_api() {
    let (h, ep) = start_hcu(Duration::from_secs(30)).await;
    let api = Api::new(&h);
    let lamp = device_of(&h.home(), "HmIP-PS");
    assert_eq!(
        http_status(hcu_ws(ep.ws_addr, ep.fingerprint, "00BAD", PLUGIN_ID, true).await),
        401
    );
    let mut ws = default_ws(&ep).await;
    next_of(&mut ws, "PLUGIN_STATE_REQUEST").await;

    // Malformed messages answer ERROR_RESPONSE with what came.
    ws.send(Message::Text("no json {".into())).await.unwrap();
    let err = next_of(&mut ws, "ERROR_RESPONSE").await;
    assert_eq!(err["body"]["originalMessage"], "no json {");
    assert_eq!(err["body"]["error"]["code"], "INVALID_MESSAGE");
    ws.send(Message::Text(json!({"body": {}}).to_string().into()))
        .await
        .unwrap();
    assert_eq!(
        next_of(&mut ws, "ERROR_RESPONSE").await["body"]["originalMessage"],
        json!({"body": {}})
    );
    let odd = json!({"id": "x1", "type": "NO_SUCH_TYPE", "body": {}});
    ws.send(Message::Text(odd.to_string().into()))
        .await
        .unwrap();
    let err = next_of(&mut ws, "ERROR_RESPONSE").await;
    assert_eq!(
        (err["id"].as_str(), &err["body"]["originalMessage"]),
        (Some("x1"), &odd)
    );

    // /sim/fail with a status applies to a matching control path, once.
    api.sim_post(
        "fail",
        json!({"count": 1, "status": 503, "path": "device/control"}),
    )
    .await;
    let on = json!({"deviceId": lamp, "channelIndex": 1, "on": true});
    let failed = request(&mut ws, "/hmip/device/control/setSwitchState", on.clone()).await;
    assert_eq!(failed["code"], 503);
    assert_eq!(
        request(&mut ws, "/hmip/device/control/setSwitchState", on).await,
        json!({"code": 200})
    );
    // ... and to upgrades with path ws.
    api.sim_post("fail", json!({"count": 1, "status": 502, "path": "ws"}))
        .await;
    assert_eq!(
        http_status(
            hcu_ws(
                ep.ws_addr,
                ep.fingerprint,
                DEFAULT_HCU_AUTH_TOKEN,
                PLUGIN_ID,
                true
            )
            .await
        ),
        502
    );

    // A raw frame of /sim/push goes out unchanged.
    api.sim_post("push", json!("raw")).await;
    assert_eq!(next_json(&mut ws).await, json!("raw"));

    // A delay of /sim/fail holds the answer back, then serves the call.
    api.sim_post(
        "fail",
        json!({"count": 1, "delayMs": 300, "path": "device/control"}),
    )
    .await;
    let started = std::time::Instant::now();
    let off = json!({"deviceId": lamp, "channelIndex": 1, "on": false});
    let reply = request(&mut ws, "/hmip/device/control/setSwitchState", off).await;
    assert_eq!(reply, json!({"code": 200}));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        h.home()["devices"][&lamp]["functionalChannels"]["1"]["on"],
        false
    );

    // Drop closes the HCU's websockets; the client reconnects.
    assert_eq!(api.sim_post("drop", json!({})).await["dropped"], 1);
    assert!(closed(&mut ws).await);
    let mut ws = default_ws(&ep).await;
    next_of(&mut ws, "PLUGIN_STATE_REQUEST").await;
    // Revoke closes them and refuses the token; unrevoke restores the default token.
    api.sim_post("revoke", json!({})).await;
    assert!(closed(&mut ws).await);
    assert_eq!(
        http_status(
            hcu_ws(
                ep.ws_addr,
                ep.fingerprint,
                DEFAULT_HCU_AUTH_TOKEN,
                PLUGIN_ID,
                true
            )
            .await
        ),
        401
    );
    api.sim_post("unrevoke", json!({})).await;
    let mut ws = default_ws(&ep).await;
    next_of(&mut ws, "PLUGIN_STATE_REQUEST").await;

    let stats = api.sim_get("stats").await;
    assert_eq!(stats["hcu"]["errorResponses"], 3, "{stats}");
    assert_eq!(stats["requests"], 0, "{stats}");
    assert_eq!(
        (stats["failed"].as_u64(), stats["delayed"].as_u64()),
        (Some(0), Some(0))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn silence_burst_and_stalled_handshakes() {
    let (h, ep) = start_hcu(Duration::from_secs(30)).await;
    let api = Api::new(&h);
    let contact = device_of(&h.home(), "HmIP-SWDO");

    // A client that opens TCP and never starts its handshake holds up nobody.
    let mut stalled = tokio::net::TcpStream::connect(ep.ws_addr).await.unwrap();
    stalled.write_all(b"\x16").await.unwrap();
    let mut ws = tokio::time::timeout(Duration::from_secs(5), default_ws(&ep))
        .await
        .expect("accepted beside a stalled handshake");
    next_of(&mut ws, "PLUGIN_STATE_REQUEST").await;

    // Silent: no pong, events lost; talking again: the pong, then new events only.
    api.sim_post("silence", json!({"on": true})).await;
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let path = format!("device/{contact}/channel/1");
    api.sim_post(&path, json!({"windowState": "OPEN"})).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), ws.next())
            .await
            .is_err(),
        "a silent HCU websocket sent something"
    );
    api.sim_post("silence", json!({"on": false})).await;
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert_eq!(pong.unwrap().unwrap(), Message::Pong(b"hi".to_vec().into()));
    api.sim_post(&path, json!({"windowState": "CLOSED"})).await;
    let event = next_of(&mut ws, "HMIP_SYSTEM_EVENT").await;
    let device = &event["body"]["eventTransaction"]["events"]["0"]["device"];
    assert_eq!(device["functionalChannels"]["1"]["windowState"], "CLOSED");

    // A burst waits for the HCU's writer too and every report arrives, in order.
    let (status, answer) = api
        .hook(reqwest::Method::POST, "burst", r#"{"count": 300}"#)
        .await;
    assert_eq!((status, &answer["sent"]), (StatusCode::OK, &json!(300)));
    let mut last = json!(null);
    for _ in 0..300 {
        let event = next_of(&mut ws, "HMIP_SYSTEM_EVENT").await;
        last =
            event["body"]["eventTransaction"]["events"]["0"]["device"]["lastStatusUpdate"].clone();
    }
    assert_eq!(last, answer["last"]["lastStatusUpdate"]);
    h.shutdown().await;
}
