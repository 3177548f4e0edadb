//! The cloud client against small mock clouds on 127.0.0.1: lookup, pairing, the REST
//! client's rate limit and latches, and the websocket event stream's recovery.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use iobroker_hmip::cloud::lookup::lookup;
use iobroker_hmip::cloud::pairing::{pair, PairingProgress, PairingRequest};
use iobroker_hmip::cloud::rest::{http_client, RestClient};
use iobroker_hmip::cloud::stream::{CloudConfig, HmipCloud};
use iobroker_hmip::cloud::{
    ClientOptions, CloudError, CloudEvent, ControlCall, PushEvent, Transport,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

const SGTIN: &str = "3014F711A000000000000001";
const TOKEN: &str = "SECRET-AUTH-TOKEN-0001";

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Short timings so that every scenario runs in well under a second.
fn fast() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(2),
        bucket_capacity: 100,
        bucket_refill: Duration::from_millis(10),
        queue_limit: 100,
        throttle_backoff: Duration::from_millis(100),
        throttle_backoff_max: Duration::from_millis(400),
        ping_interval: Duration::from_millis(40),
        dead_timeout: Duration::from_millis(200),
        reconnect_min: Duration::from_millis(20),
        reconnect_max: Duration::from_millis(80),
        lookup_after_failures: 3,
    }
}

fn rest_client(base: &str, options: ClientOptions) -> RestClient {
    RestClient::new(http_client(&options).unwrap(), base, SGTIN, TOKEN, options).unwrap()
}

// ---------------------------------------------------------------- lookup

#[tokio::test]
async fn lookup_rewrites_the_websocket_scheme_and_sends_the_identity() {
    let seen: Arc<Mutex<Option<(HeaderMap, Value)>>> = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        "/getHost",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            *s.lock().unwrap() = Some((headers, body));
            async {
                Json(json!({"urlREST": "https://rest.example:6969/",
                    "urlWebSocket": "https://ws.example:8888", "apiVersion": "12"}))
            }
        }),
    );
    let base = serve(router).await;
    let ep = lookup(
        &reqwest::Client::new(),
        &format!("{base}/getHost"),
        "3014-f711-a000-0000-0000-0001",
    )
    .await
    .unwrap();
    assert_eq!(ep.websocket_url, "wss://ws.example:8888");
    assert_eq!(ep.rest_url, "https://rest.example:6969");
    assert_eq!(ep.api_version.as_deref(), Some("12"));
    let (headers, body) = seen.lock().unwrap().take().unwrap();
    assert_eq!(body["id"], SGTIN);
    assert_eq!(body["clientCharacteristics"]["apiVersion"], "12");
    assert_eq!(headers["version"], "12");
    assert_eq!(headers["accesspoint-id"], SGTIN);
    assert_eq!(headers["clientauth"].len(), 128);
    assert!(headers.get("authtoken").is_none());
}

#[tokio::test]
async fn lookup_418_says_the_sgtin_is_unknown() {
    let router = Router::new().route("/getHost", post(|| async { StatusCode::IM_A_TEAPOT }));
    let base = serve(router).await;
    let err = lookup(&reqwest::Client::new(), &format!("{base}/getHost"), SGTIN)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CloudError::UnknownAccessPoint { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not know"), "{err}");
}

// ---------------------------------------------------------------- pairing

#[derive(Default)]
struct PairMock {
    base: OnceLock<String>,
    /// Answer INVALID_PIN unless the PIN header is this.
    pin: Option<String>,
    /// Answer 400 this many times before 200; usize::MAX = never pressed.
    not_pressed: usize,
    polls: AtomicUsize,
    device_id: Mutex<Option<String>>,
}

fn pair_router(m: Arc<PairMock>) -> Router {
    Router::new()
        .route(
            "/getHost",
            post(|State(m): State<Arc<PairMock>>| async move {
                let base = m.base.get().unwrap();
                Json(json!({"urlREST": base, "urlWebSocket": base}))
            }),
        )
        .route(
            "/hmip/auth/connectionRequest",
            post(
                |State(m): State<Arc<PairMock>>, h: HeaderMap, Json(b): Json<Value>| async move {
                    assert!(h.get("authtoken").is_none());
                    let pin = h.get("pin").map(|v| v.to_str().unwrap().to_string());
                    if m.pin.is_some() && pin != m.pin {
                        return (
                            StatusCode::FORBIDDEN,
                            Json(json!({"errorCode": "INVALID_PIN"})),
                        );
                    }
                    assert_eq!(b["sgtin"], SGTIN);
                    assert_eq!(b["deviceName"], "ioBroker");
                    let id = b["deviceId"].as_str().unwrap().to_string();
                    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
                    *m.device_id.lock().unwrap() = Some(id);
                    (StatusCode::OK, Json(Value::Null))
                },
            ),
        )
        .route(
            "/hmip/auth/isRequestAcknowledged",
            post(
                |State(m): State<Arc<PairMock>>, Json(b): Json<Value>| async move {
                    assert_eq!(b["accessPointId"], SGTIN);
                    assert_eq!(
                        b["deviceId"].as_str(),
                        m.device_id.lock().unwrap().as_deref()
                    );
                    let n = m.polls.fetch_add(1, Ordering::SeqCst);
                    if n < m.not_pressed {
                        StatusCode::BAD_REQUEST
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .route(
            "/hmip/auth/requestAuthToken",
            post(|| async { Json(json!({"authToken": TOKEN})) }),
        )
        .route(
            "/hmip/auth/confirmAuthToken",
            post(|Json(b): Json<Value>| async move {
                assert_eq!(b["authToken"], TOKEN);
                Json(json!({"clientId": "client-1"}))
            }),
        )
        .with_state(m)
}

async fn run_pairing(
    m: PairMock,
    pin: Option<&str>,
    timeout_ms: u64,
) -> (
    Result<iobroker_hmip::cloud::pairing::Credentials, CloudError>,
    Vec<PairingProgress>,
    Arc<PairMock>,
) {
    let m = Arc::new(m);
    let base = serve(pair_router(m.clone())).await;
    m.base.set(base.clone()).unwrap();
    let mut req = PairingRequest::new(
        "3014-F711-A000-0000-0000-0001",
        pin.map(str::to_string),
        "ioBroker",
        format!("{base}/getHost"),
    );
    req.timeout = Duration::from_millis(timeout_ms);
    req.poll_interval = Duration::from_millis(50);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let result = pair(&req, tx).await;
    let mut progress = Vec::new();
    while let Ok(p) = rx.try_recv() {
        progress.push(p);
    }
    (result, progress, m)
}

#[tokio::test]
async fn pairing_succeeds_after_the_button_is_pressed() {
    let mock = PairMock {
        pin: Some("1234".into()),
        not_pressed: 2,
        ..Default::default()
    };
    let (result, progress, m) = run_pairing(mock, Some("1234"), 5_000).await;
    let creds = result.unwrap();
    assert_eq!(creds.sgtin, SGTIN);
    assert_eq!(creds.auth_token, TOKEN);
    assert_eq!(creds.client_id, "client-1");
    assert_eq!(creds.client_auth_token.len(), 128);
    assert_eq!(Some(creds.device_id.clone()), *m.device_id.lock().unwrap());
    // 400, 400, then 200: three polls.
    assert_eq!(m.polls.load(Ordering::SeqCst), 3);
    assert_eq!(
        progress,
        vec![
            PairingProgress::Requesting,
            PairingProgress::WaitingForButton,
            PairingProgress::Confirming,
            PairingProgress::Done
        ]
    );
    assert!(!format!("{creds:?}").contains(TOKEN));
}

#[tokio::test]
async fn pairing_with_a_wrong_pin_fails_clearly() {
    let mock = PairMock {
        pin: Some("1234".into()),
        ..Default::default()
    };
    let (result, progress, m) = run_pairing(mock, Some("9999"), 5_000).await;
    assert!(matches!(result, Err(CloudError::InvalidPin)), "{result:?}");
    assert_eq!(m.polls.load(Ordering::SeqCst), 0);
    match progress.last() {
        Some(PairingProgress::Failed(reason)) => assert!(reason.contains("PIN"), "{reason}"),
        other => panic!("last progress {other:?}"),
    }
    assert!(!format!("{progress:?}").contains("9999"));
}

#[tokio::test]
async fn pairing_gives_up_when_the_button_is_never_pressed() {
    let mock = PairMock {
        not_pressed: usize::MAX,
        ..Default::default()
    };
    let started = Instant::now();
    let (result, progress, m) = run_pairing(mock, None, 300).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(CloudError::PairingTimeout(_))),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_millis(1_500), "{elapsed:?}");
    assert!(
        m.polls.load(Ordering::SeqCst) >= 3,
        "polled {}",
        m.polls.load(Ordering::SeqCst)
    );
    assert!(matches!(progress.last(), Some(PairingProgress::Failed(_))));
    assert!(!progress.contains(&PairingProgress::Done));
}

// ---------------------------------------------------------------- REST client

/// A REST mock answering every call with `status` and `body`, counting what arrives.
async fn rest_mock(status: Arc<Mutex<(StatusCode, Value)>>, hits: Arc<AtomicUsize>) -> String {
    let router = Router::new().route(
        "/hmip/{*path}",
        post(move |h: HeaderMap| {
            let status = status.clone();
            let hits = hits.clone();
            async move {
                assert_eq!(h["authtoken"], TOKEN);
                assert_eq!(h["version"], "12");
                hits.fetch_add(1, Ordering::SeqCst);
                let (s, b) = status.lock().unwrap().clone();
                (s, Json(b))
            }
        }),
    );
    serve(router).await
}

#[tokio::test]
async fn token_bucket_sends_a_burst_then_paces() {
    let hits = Arc::new(AtomicUsize::new(0));
    let base = rest_mock(
        Arc::new(Mutex::new((StatusCode::OK, json!({})))),
        hits.clone(),
    )
    .await;
    let opts = ClientOptions {
        bucket_capacity: 3,
        bucket_refill: Duration::from_millis(100),
        ..fast()
    };
    let client = rest_client(&base, opts);
    let started = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move {
                c.call("device/control/setSwitchState", &json!({"i": i}))
                    .await
            })
        })
        .collect();
    // The exact counts at each refill are src/cloud/rest.rs' test on tokio's paused clock;
    // here, over HTTP on the wall clock, what holds at any speed of the machine: all arrive,
    // and 5 calls beyond the burst needed 5 refills at least.
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 8);
}

#[tokio::test]
async fn a_full_queue_refuses_calls() {
    let hits = Arc::new(AtomicUsize::new(0));
    let base = rest_mock(
        Arc::new(Mutex::new((StatusCode::OK, json!({})))),
        hits.clone(),
    )
    .await;
    let opts = ClientOptions {
        bucket_capacity: 1,
        bucket_refill: Duration::from_secs(10),
        queue_limit: 2,
        ..fast()
    };
    let client = rest_client(&base, opts);
    client.call("x", &json!({})).await.unwrap();
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.call("x", &json!({})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = client.call("x", &json!({})).await.unwrap_err();
    assert!(matches!(err, CloudError::QueueFull), "{err:?}");
    for w in waiting {
        w.abort();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn throttling_pauses_the_whole_client_with_growing_backoff() {
    let hits = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(Mutex::new((StatusCode::TOO_MANY_REQUESTS, json!({}))));
    let base = rest_mock(answer.clone(), hits.clone()).await;
    let client = rest_client(&base, fast());
    // Hammer it for 600 ms.
    let until = Instant::now() + Duration::from_millis(600);
    let mut attempts = 0;
    while Instant::now() < until {
        let err = client.call("x", &json!({})).await.unwrap_err();
        assert!(matches!(err, CloudError::Throttled), "{err:?}");
        attempts += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Pauses of 100, 200, 400 ms leave room for at most 4 requests in 600 ms, however
    // fast the loop runs (the pauses' exact lengths: src/cloud/rest.rs, paused clock).
    let sent = hits.load(Ordering::SeqCst);
    assert!(attempts > sent, "{attempts} attempts, {sent} sent");
    assert!(
        (1..=4).contains(&sent),
        "requests reaching the cloud while throttled: {sent}"
    );
    assert_eq!(client.requests_sent() as usize, sent);

    // Once the cloud answers again, a success resets the backoff to its start.
    *answer.lock().unwrap() = (StatusCode::OK, json!({}));
    while client.throttled_until().is_some() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.call("x", &json!({})).await.unwrap();
    *answer.lock().unwrap() = (StatusCode::TOO_MANY_REQUESTS, json!({}));
    let _ = client.call("x", &json!({})).await;
    let pause = client.throttled_until().unwrap() - Instant::now();
    assert!(pause <= Duration::from_millis(100), "{pause:?}");
}

#[tokio::test]
async fn a_revoked_token_latches_and_nothing_more_is_sent() {
    let hits = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(Mutex::new((
        StatusCode::FORBIDDEN,
        json!({"errorCode": "INVALID_AUTH_TOKEN"}),
    )));
    let base = rest_mock(answer, hits.clone()).await;
    let client = rest_client(&base, fast());
    for _ in 0..10 {
        let err = client
            .call("device/control/setSwitchState", &json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CloudError::AuthRevoked { code } if code == "INVALID_AUTH_TOKEN"),
            "{err:?}"
        );
        assert!(!err.to_string().contains(TOKEN));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(client.requests_sent(), 1);
    assert_eq!(client.revoked().as_deref(), Some("INVALID_AUTH_TOKEN"));
}

// ---------------------------------------------------------------- websocket stream

#[derive(Clone, Copy, PartialEq, Debug)]
enum WsMode {
    /// A text frame, a malformed frame, a binary frame, then stay open (answering pings).
    Frames,
    /// Accept, then never read nor write: no pongs.
    Silent,
    /// Accept and read (so pings get their pongs) but send nothing.
    Quiet,
    /// One event, then close.
    DropAfterEvent,
    /// Refuse the upgrade with 403.
    Forbidden,
}

struct CloudMock {
    base: OnceLock<String>,
    mode: WsMode,
    /// The first lookup names a websocket that fails (HTTP 500); later ones a good one and
    /// a REST host under /moved.
    move_after_lookup: bool,
    lookups: AtomicUsize,
    snapshots: AtomicUsize,
    ws_headers: Mutex<Vec<HeaderMap>>,
}

fn cloud_mock(mode: WsMode, move_after_lookup: bool) -> Arc<CloudMock> {
    Arc::new(CloudMock {
        base: OnceLock::new(),
        mode,
        move_after_lookup,
        lookups: AtomicUsize::new(0),
        snapshots: AtomicUsize::new(0),
        ws_headers: Mutex::default(),
    })
}

fn device_message(id: &str) -> String {
    json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED",
        "device": {"id": id, "type": "X", "functionalChannels": {}}}}})
    .to_string()
}

async fn ws_session(mut socket: WebSocket, mode: WsMode) {
    match mode {
        WsMode::Frames => {
            let _ = socket
                .send(Message::Text(device_message("D-text").into()))
                .await;
            let _ = socket.send(Message::Text("{garbage".into())).await;
            let home = json!({"events": {"0": {"pushEventType": "HOME_CHANGED",
                "home": {"id": "H", "connected": false}}}});
            let _ = socket
                .send(Message::Binary(home.to_string().into_bytes().into()))
                .await;
            while let Some(Ok(_)) = socket.recv().await {}
        }
        WsMode::Silent => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(socket);
        }
        WsMode::Quiet => while let Some(Ok(_)) = socket.recv().await {},
        WsMode::DropAfterEvent => {
            let _ = socket
                .send(Message::Text(device_message("D-drop").into()))
                .await;
            let _ = socket.send(Message::Close(None)).await;
        }
        WsMode::Forbidden => unreachable!(),
    }
}

async fn start_cloud(m: Arc<CloudMock>) -> String {
    async fn snapshot(State(m): State<Arc<CloudMock>>, Json(b): Json<Value>) -> Json<Value> {
        assert_eq!(b["id"], SGTIN);
        assert!(b["clientCharacteristics"].is_object());
        let n = m.snapshots.fetch_add(1, Ordering::SeqCst) + 1;
        Json(
            json!({"home": {"id": "H", "label": format!("snapshot-{n}")},
            "devices": {}, "groups": {}, "clients": {}}),
        )
    }
    let router = Router::new()
        .route(
            "/getHost",
            post(|State(m): State<Arc<CloudMock>>| async move {
                let n = m.lookups.fetch_add(1, Ordering::SeqCst);
                let base = m.base.get().unwrap();
                let ws = base.clone(); // http:// on purpose: the client must rewrite it.
                Json(match (m.move_after_lookup, n) {
                    (false, _) => json!({"urlREST": base, "urlWebSocket": format!("{ws}/ws")}),
                    (true, 0) => json!({"urlREST": format!("{base}/old"), "urlWebSocket": format!("{ws}/badws")}),
                    (true, _) => json!({"urlREST": format!("{base}/moved"), "urlWebSocket": format!("{ws}/ws")}),
                })
            }),
        )
        .route("/hmip/home/getCurrentState", post(snapshot))
        .route("/moved/hmip/home/getCurrentState", post(snapshot))
        .route(
            "/hmip/revoke-me",
            post(|| async {
                (
                    StatusCode::FORBIDDEN,
                    Json(json!({"errorCode": "INVALID_AUTHORIZATION"})),
                )
            }),
        )
        .route("/badws", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route(
            "/ws",
            get(|State(m): State<Arc<CloudMock>>, h: HeaderMap, up: WebSocketUpgrade| async move {
                m.ws_headers.lock().unwrap().push(h);
                let mode = m.mode;
                if mode == WsMode::Forbidden {
                    return (StatusCode::FORBIDDEN, Json(json!({"errorCode": "INVALID_AUTH_TOKEN"})))
                        .into_response();
                }
                let r: Response = up.on_upgrade(move |s| ws_session(s, mode));
                r
            }),
        )
        .with_state(m.clone());
    let base = serve(router).await;
    m.base.set(base.clone()).unwrap();
    base
}

async fn connect(m: &Arc<CloudMock>, options: ClientOptions) -> Arc<HmipCloud> {
    let base = start_cloud(m.clone()).await;
    let cfg = CloudConfig {
        sgtin: SGTIN.into(),
        auth_token: TOKEN.into(),
        lookup_url: format!("{base}/getHost"),
        options,
    };
    Arc::new(HmipCloud::connect(cfg).await.unwrap())
}

fn start_events(
    cloud: &Arc<HmipCloud>,
) -> (mpsc::Receiver<CloudEvent>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    let c = cloud.clone();
    (rx, tokio::spawn(async move { c.run_events(tx).await }))
}

async fn next(rx: &mut mpsc::Receiver<CloudEvent>) -> CloudEvent {
    tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .expect("no cloud event within 3 s")
        .expect("event stream ended")
}

fn snapshot_label(ev: &CloudEvent) -> String {
    match ev {
        CloudEvent::Snapshot(s) => s.home.fields["label"].as_str().unwrap().to_string(),
        other => panic!("expected a snapshot, got {other:?}"),
    }
}

#[tokio::test]
async fn text_and_binary_frames_both_deliver_events() {
    let m = cloud_mock(WsMode::Frames, false);
    let cloud = connect(&m, fast()).await;
    let (mut rx, task) = start_events(&cloud);
    assert!(matches!(next(&mut rx).await, CloudEvent::Connected));
    assert_eq!(snapshot_label(&next(&mut rx).await), "snapshot-1");
    match next(&mut rx).await {
        CloudEvent::Events(ev) => assert!(
            matches!(&ev[..], [PushEvent::DeviceChanged(d)] if d.id == "D-text"),
            "{ev:?}"
        ),
        other => panic!("{other:?}"),
    }
    // The malformed frame in between is skipped, the binary one still arrives.
    match next(&mut rx).await {
        CloudEvent::Events(ev) => assert!(
            matches!(&ev[..], [PushEvent::HomeChanged(h)] if h.connected() == Some(false)),
            "{ev:?}"
        ),
        other => panic!("{other:?}"),
    }
    let headers = m.ws_headers.lock().unwrap()[0].clone();
    assert_eq!(headers["authtoken"], TOKEN);
    assert_eq!(headers["accesspoint-id"], SGTIN);
    assert_eq!(headers["clientauth"].len(), 128);
    // Closing the receiver stops the stream.
    drop(rx);
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("run_events did not stop")
        .unwrap();
}

#[tokio::test]
async fn a_silent_server_is_detected_dead_within_the_timeout() {
    let m = cloud_mock(WsMode::Silent, false);
    let cloud = connect(&m, fast()).await;
    let (mut rx, _task) = start_events(&cloud);
    assert!(matches!(next(&mut rx).await, CloudEvent::Connected));
    next(&mut rx).await; // snapshot
    let up = Instant::now();
    match next(&mut rx).await {
        CloudEvent::Disconnected { reason } => assert!(reason.contains("dead"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let took = up.elapsed();
    // dead_timeout is 200 ms.
    assert!(
        took >= Duration::from_millis(180) && took < Duration::from_millis(600),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_quiet_server_that_answers_pings_stays_connected() {
    let m = cloud_mock(WsMode::Quiet, false);
    let cloud = connect(&m, fast()).await;
    let (mut rx, _task) = start_events(&cloud);
    assert!(matches!(next(&mut rx).await, CloudEvent::Connected));
    next(&mut rx).await; // snapshot
                         // Three dead_timeouts without a message: the pongs keep it alive.
    let r = tokio::time::timeout(Duration::from_millis(600), rx.recv()).await;
    assert!(r.is_err(), "unexpected event {r:?}");
}

#[tokio::test]
async fn a_dropped_connection_reconnects_with_a_fresh_snapshot() {
    let m = cloud_mock(WsMode::DropAfterEvent, false);
    let cloud = connect(&m, fast()).await;
    let (mut rx, _task) = start_events(&cloud);
    assert!(matches!(next(&mut rx).await, CloudEvent::Connected));
    assert_eq!(snapshot_label(&next(&mut rx).await), "snapshot-1");
    assert!(matches!(next(&mut rx).await, CloudEvent::Events(_)));
    assert!(matches!(
        next(&mut rx).await,
        CloudEvent::Disconnected { .. }
    ));
    assert!(matches!(next(&mut rx).await, CloudEvent::Connected));
    assert_eq!(snapshot_label(&next(&mut rx).await), "snapshot-2");
    assert_eq!(m.lookups.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_lookup_is_repeated_after_three_failed_connects() {
    let m = cloud_mock(WsMode::Quiet, true);
    let cloud = connect(&m, fast()).await;
    let (mut rx, _task) = start_events(&cloud);
    for i in 0..3 {
        match next(&mut rx).await {
            CloudEvent::Disconnected { reason } => assert!(reason.contains("500"), "{reason}"),
            other => panic!("connect {i}: {other:?}"),
        }
    }
    assert!(matches!(next(&mut rx).await, CloudEvent::Connected));
    // The snapshot is only served on the new REST host: REST followed the lookup.
    assert_eq!(snapshot_label(&next(&mut rx).await), "snapshot-1");
    assert_eq!(m.lookups.load(Ordering::SeqCst), 2);
    assert!(cloud.endpoints().rest_url.ends_with("/moved"));
    assert!(cloud.endpoints().websocket_url.starts_with("ws://"));
}

#[tokio::test]
async fn a_403_on_the_upgrade_reports_auth_revoked_and_stops() {
    let m = cloud_mock(WsMode::Forbidden, false);
    let cloud = connect(&m, fast()).await;
    let (mut rx, task) = start_events(&cloud);
    match next(&mut rx).await {
        CloudEvent::AuthRevoked { code } => assert_eq!(code, "INVALID_AUTH_TOKEN"),
        other => panic!("{other:?}"),
    }
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("run_events did not stop")
        .unwrap();
    assert_eq!(
        m.ws_headers.lock().unwrap().len(),
        1,
        "no retry after a revoked token"
    );
    // The REST side refuses too, without sending.
    let sent = cloud.rest().requests_sent();
    assert!(matches!(
        cloud.current_state().await,
        Err(CloudError::AuthRevoked { .. })
    ));
    assert_eq!(cloud.rest().requests_sent(), sent);
}

#[tokio::test]
async fn a_token_revoked_on_the_rest_side_stops_the_stream() {
    let m = cloud_mock(WsMode::Quiet, false);
    let cloud = connect(&m, fast()).await;
    let (mut rx, task) = start_events(&cloud);
    assert!(matches!(next(&mut rx).await, CloudEvent::Connected));
    next(&mut rx).await; // snapshot
    let call = ControlCall {
        path: "revoke-me".into(),
        body: json!({}),
    };
    let err = cloud.control(&call).await.unwrap_err();
    assert!(matches!(err, CloudError::AuthRevoked { .. }), "{err:?}");
    match next(&mut rx).await {
        CloudEvent::AuthRevoked { code } => assert_eq!(code, "INVALID_AUTHORIZATION"),
        other => panic!("{other:?}"),
    }
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("run_events did not stop")
        .unwrap();
    assert_eq!(m.ws_headers.lock().unwrap().len(), 1, "no reconnect");
}
