//! The API's guard (Host, Origin, token) and secret parameters.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::*;
use crate::adapter::secret_params::SecretParams;
use crate::iobroker::IobObject;
use crate::store::embedded::EmbeddedStore;

const ON: &str = "hmip.0.devices.A.channels.1.on";
const PIN_ID: &str = "hmip.0.devices.A.channels.1.pin";
/// A PIN no id, value or message contains.
const PIN: &str = "97531864";

fn state_object(id: &str, common: Value, native: Value) -> IobObject {
    IobObject {
        id: id.into(),
        obj_type: "state".into(),
        common: common.as_object().cloned().unwrap(),
        native: native.as_object().cloned().unwrap_or_default(),
        extra: Map::new(),
    }
}

struct Api {
    store: Arc<EmbeddedStore>,
    secrets: Arc<SecretParams>,
    base: String,
    port: u16,
}

async fn api(opts: WebOptions) -> Api {
    let store = Arc::new(EmbeddedStore::in_memory());
    store
        .set_objects(vec![
            state_object(
                ON,
                json!({"type": "boolean", "role": "switch", "read": true, "write": true}),
                json!({}),
            ),
            state_object(
                PIN_ID,
                json!({"type": "string", "role": "state", "read": true, "write": true}),
                json!({"secret": true}),
            ),
        ])
        .await
        .unwrap();
    let secrets = opts.secrets.clone().unwrap_or_else(SecretParams::in_memory);
    let opts = WebOptions {
        secrets: Some(secrets.clone()),
        ..opts
    };
    let dyn_store: Arc<dyn Store> = store.clone();
    let (addr, _handle) = serve_with(dyn_store, "127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    Api {
        store,
        secrets,
        base: format!("http://{addr}"),
        port: addr.port(),
    }
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn put(base: &str, id: &str, val: Value) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .put(format!("{base}/api/v1/state/{id}"))
        .header("content-type", "application/json")
        .body(json!({ "val": val }).to_string())
}

#[tokio::test]
async fn a_foreign_host_is_refused_and_changes_nothing() {
    let a = api(WebOptions::default()).await;
    let client = reqwest::Client::new();
    // DNS rebinding: the page's own name, now pointing at 127.0.0.1.
    let evil = format!("evil.example:{}", a.port);
    let (s, body) = send(
        client
            .get(format!("{}/api/v1/states", a.base))
            .header("host", &evil),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("own address"));
    let (s, _) = send(put(&a.base, ON, json!(true)).header("host", &evil)).await;
    assert_eq!(s, 403);
    let (s, _) = send(
        client
            .get(format!("{}/api/v1/events", a.base))
            .header("host", &evil),
    )
    .await;
    assert_eq!(s, 403);
    // The same port on another name, or another port, is foreign as well.
    let (s, _) = send(
        client
            .get(format!("{}/", a.base))
            .header("host", "localhost:1"),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        a.store.get_state(ON).await.unwrap(),
        None,
        "nothing written"
    );
    assert_eq!(a.store.write_count(), 0);

    // Its own names: the address, localhost, an IPv6 literal, with the port.
    for host in [
        format!("127.0.0.1:{}", a.port),
        format!("localhost:{}", a.port),
        format!("LOCALHOST.:{}", a.port),
        format!("[::1]:{}", a.port),
    ] {
        let (s, _) = send(
            client
                .get(format!("{}/api/v1/states", a.base))
                .header("host", &host),
        )
        .await;
        assert_eq!(s, 200, "{host}");
    }
}

#[tokio::test]
async fn a_configured_name_is_the_apis_own() {
    let a = api(WebOptions {
        hosts: vec!["nas.local".into()],
        ..WebOptions::default()
    })
    .await;
    let client = reqwest::Client::new();
    let host = format!("NAS.local:{}", a.port);
    let (s, _) = send(
        client
            .get(format!("{}/api/v1/states", a.base))
            .header("host", &host),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(
        put(&a.base, ON, json!(true))
            .header("host", &host)
            .header("origin", format!("http://nas.local:{}", a.port)),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_cross_origin_write_is_refused_and_changes_nothing() {
    let a = api(WebOptions::default()).await;
    let (s, body) =
        send(put(&a.base, ON, json!(true)).header("origin", "http://evil.example")).await;
    assert_eq!(s, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("another origin"));
    // Another port of the same host is another origin too.
    let (s, _) = send(put(&a.base, ON, json!(true)).header("origin", "http://127.0.0.1:1")).await;
    assert_eq!(s, 403);
    let (s, _) = send(put(&a.base, PIN_ID, json!(PIN)).header("origin", "null")).await;
    assert_eq!(s, 403);
    assert_eq!(a.store.get_state(ON).await.unwrap(), None);
    assert_eq!(a.secrets.get(PIN_ID), None);
    assert_eq!(a.store.write_count(), 0);

    // An https origin of another host is foreign too.
    let (s, _) = send(put(&a.base, ON, json!(true)).header("origin", "https://evil.example")).await;
    assert_eq!(s, 403);
    // The page's own origin (also behind a proxy that terminates TLS), and a client that
    // sends none (curl), may write.
    let own_tls = a.base.replace("http://", "https://");
    let (s, _) = send(put(&a.base, ON, json!(true)).header("origin", own_tls)).await;
    assert_eq!(s, 200);
    let (s, _) = send(put(&a.base, ON, json!(true)).header("origin", a.base.clone())).await;
    assert_eq!(s, 200);
    let (s, _) = send(put(&a.base, ON, json!(false))).await;
    assert_eq!(s, 200);
    assert_eq!(
        a.store.get_state(ON).await.unwrap().unwrap().val,
        json!(false)
    );
}

#[tokio::test]
async fn where_the_token_is_required_nothing_but_the_page_goes_without_it() {
    let a = api(WebOptions {
        token: Some("t0ken-of-this-api".into()),
        require_token: true,
        ..WebOptions::default()
    })
    .await;
    let client = reqwest::Client::new();
    for (what, auth) in [
        ("none", None),
        ("wrong", Some("Bearer t0ken-of-this-apX")),
        ("short", Some("Bearer t0ken")),
        ("not bearer", Some("Basic t0ken-of-this-api")),
    ] {
        let mut get = client.get(format!("{}/api/v1/states", a.base));
        let mut write = put(&a.base, ON, json!(true));
        if let Some(h) = auth {
            get = get.header("authorization", h);
            write = write.header("authorization", h);
        }
        let (s, body) = send(get).await;
        assert_eq!(s, 401, "{what}");
        assert!(!body.to_string().contains("t0ken-of-this-api"));
        assert_eq!(send(write).await.0, 401, "{what}");
    }
    assert_eq!(a.store.write_count(), 0);
    let page = client.get(format!("{}/", a.base)).send().await.unwrap();
    assert_eq!(
        page.status().as_u16(),
        200,
        "the page asks for the token itself"
    );
    let bearer = "Bearer t0ken-of-this-api";
    let (s, _) = send(
        client
            .get(format!("{}/api/v1/states", a.base))
            .header("authorization", bearer),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(put(&a.base, ON, json!(true)).header("authorization", bearer)).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn an_address_off_loopback_without_a_token_is_refused_at_start() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory());
    // Refused before anything is bound: the address is never opened.
    let err = serve_with(store, "0.0.0.0:0".parse().unwrap(), WebOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("without a token") && err.contains("httpToken"),
        "{err}"
    );
}

#[test]
fn host_headers_are_split_into_name_and_port() {
    assert_eq!(guard::split_host("a.b:80"), ("a.b", Some(Some(80))));
    assert_eq!(guard::split_host("a.b"), ("a.b", None));
    assert_eq!(guard::split_host("[::1]:8089"), ("::1", Some(Some(8089))));
    assert_eq!(guard::split_host("[::1]"), ("::1", None));
    assert_eq!(guard::split_host("a.b:x"), ("a.b", Some(None)));
    assert_eq!(guard::split_host("::1"), ("::1", None));
}

#[tokio::test]
async fn a_written_pin_goes_to_the_keeper_and_readers_see_only_the_mask() {
    let a = api(WebOptions::default()).await;
    let mut events = a.store.subscribe(crate::store::Subscription {
        pattern: "*".into(),
        only_unacked: false,
    });
    let (s, body) = send(put(&a.base, PIN_ID, json!(PIN))).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["val"], crate::tree::SECRET_MASK);
    assert_eq!(a.secrets.get(PIN_ID).as_deref(), Some(PIN));
    let seen = events.recv().await.unwrap();
    assert_eq!(seen.state.unwrap().val, json!(crate::tree::SECRET_MASK));
    // The mask written back keeps the PIN; "" forgets it.
    send(put(&a.base, PIN_ID, json!(crate::tree::SECRET_MASK))).await;
    assert_eq!(a.secrets.get(PIN_ID).as_deref(), Some(PIN));
    let (s, body) = send(put(&a.base, PIN_ID, json!(1234))).await;
    assert_eq!(s, 400, "a PIN is a string");
    assert!(
        !body.to_string().contains("1234"),
        "the value is not echoed: {body}"
    );
    assert_eq!(a.secrets.get(PIN_ID).as_deref(), Some(PIN));
    let all = a.store.states("*").await.unwrap();
    assert!(!serde_json::to_string(&all).unwrap().contains(PIN));
    send(put(&a.base, PIN_ID, json!(""))).await;
    assert_eq!(a.secrets.get(PIN_ID), None);
    assert_eq!(
        a.store.get_state(PIN_ID).await.unwrap().unwrap().val,
        json!("")
    );
}

/// A client that leaves the event stream gives its subscription back at once, without
/// waiting for the next change to notice.
#[tokio::test]
async fn a_client_that_leaves_the_event_stream_is_unsubscribed_at_once() {
    let a = api(WebOptions::default()).await;
    let r = reqwest::get(format!("{}/api/v1/events", a.base))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let until = |want: usize| {
        let store = a.store.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while store.subscriber_count() != want {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} subscribers",
                    store.subscriber_count()
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };
    until(1).await;
    drop(r);
    until(0).await;
}
