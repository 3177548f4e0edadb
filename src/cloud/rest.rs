//! The REST control client: `POST {urlREST}/hmip/{path}` with the HmIP headers, behind a
//! client-side token bucket, a pause after HTTP 429 and a latch after a revoked token.
//!
//! eQ-3 blocks a public IP for about an hour when a client sends too much, so this client
//! limits itself before the cloud has to, and never retries on its own.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::identity::{client_auth, normalize_sgtin};
use super::{ClientOptions, CloudError};

/// The API version the headers and the clientCharacteristics announce.
pub(crate) const API_VERSION: &str = "12";

/// Build the `reqwest` client used for the cloud: rustls with the webpki roots, always
/// verifying certificates (there is deliberately no way to turn that off).
pub fn http_client(options: &ClientOptions) -> Result<reqwest::Client, CloudError> {
    reqwest::Client::builder()
        .timeout(options.request_timeout)
        .connect_timeout(options.request_timeout)
        .user_agent(concat!("iobroker-hmip/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CloudError::Config(format!("cannot build the HTTP client: {e}")))
}

/// A header value holding a secret: marked sensitive so that `Debug` of a request or header
/// map never shows it.
pub(crate) fn secret_header(name: &str, value: &str) -> Result<HeaderValue, CloudError> {
    let mut v = HeaderValue::from_str(value.trim()).map_err(|_| {
        CloudError::Config(format!(
            "the {name} contains characters not allowed in an HTTP header"
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The headers of every HmIP request (§1): content type, accept, VERSION, CLIENTAUTH,
/// ACCESSPOINT-ID and, after pairing, AUTHTOKEN.
pub(crate) fn hmip_headers(sgtin: &str, auth_token: Option<&str>) -> Result<HeaderMap, CloudError> {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(ACCEPT, HeaderValue::from_static("application/json"));
    h.insert(
        HeaderName::from_static("version"),
        HeaderValue::from_static(API_VERSION),
    );
    h.insert(
        HeaderName::from_static("clientauth"),
        secret_header("client auth token", &client_auth(sgtin))?,
    );
    h.insert(
        HeaderName::from_static("accesspoint-id"),
        HeaderValue::from_str(sgtin).map_err(|_| CloudError::BadSgtin(0))?,
    );
    if let Some(token) = auth_token {
        h.insert(
            HeaderName::from_static("authtoken"),
            secret_header("auth token", token)?,
        );
    }
    Ok(h)
}

/// Send one POST and read the answer: Ok(JSON or Null for an empty body) on 2xx, the mapped
/// [`CloudError`] otherwise. Shared by the lookup, pairing and the control client.
pub(crate) async fn post(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    headers: HeaderMap,
    body: &Value,
    timeout: Duration,
) -> Result<(u16, Value), CloudError> {
    let resp = http
        .post(url)
        .headers(headers)
        .json(body)
        .send()
        .await
        .map_err(|e| CloudError::from_reqwest(&e, path, timeout))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| CloudError::from_reqwest(&e, path, timeout))?;
    if !(200..300).contains(&status) {
        return Err(CloudError::from_status(status, &text, path));
    }
    if text.trim().is_empty() {
        return Ok((status, Value::Null));
    }
    serde_json::from_str(&text)
        .map(|v| (status, v))
        .map_err(|e| CloudError::BadResponse(format!("{path}: answer is not JSON: {e}")))
}

/// The token bucket: `tokens` refilled at one per `refill` up to `capacity`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The pause after 429s.
#[derive(Debug)]
struct Throttle {
    paused_until: Option<Instant>,
    next_backoff: Duration,
}

struct Inner {
    http: reqwest::Client,
    sgtin: String,
    /// Prebuilt headers; the secrets in them are marked sensitive.
    headers: HeaderMap,
    rest_url: RwLock<String>,
    options: ClientOptions,
    /// FIFO gate: tokio's mutex is fair, so waiting calls leave in the order they came.
    bucket: tokio::sync::Mutex<Bucket>,
    waiting: AtomicUsize,
    throttle: Mutex<Throttle>,
    sent: AtomicU64,
    /// Latched errorCode once the token was revoked; watchers (the event stream) wake on it.
    revoked: watch::Sender<Option<String>>,
}

/// The HmIP REST control client. Cheap to clone; clones share the rate limit and latches.
///
/// - Token bucket: `bucket_capacity` calls at once, then one per `bucket_refill`; at most
///   `queue_limit` calls wait for a token, more are refused with [`CloudError::QueueFull`].
/// - HTTP 429: the call fails with [`CloudError::Throttled`] and the whole client pauses:
///   until the pause ends every call is refused with `Throttled` without being sent. The
///   pause starts at `throttle_backoff`, doubles on every further 429 up to
///   `throttle_backoff_max`, and resets after a successful call.
/// - HTTP 403 `INVALID_AUTH_TOKEN`/`INVALID_AUTHORIZATION`: [`CloudError::AuthRevoked`], and
///   from then on every call is refused at once without being sent.
#[derive(Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("sgtin", &self.inner.sgtin)
            .field("rest_url", &self.rest_url())
            .field("auth_token", &"<redacted>")
            .field("requests_sent", &self.requests_sent())
            .finish()
    }
}

/// Decrements the waiting count however the wait ends (also when the caller is cancelled).
struct WaitSlot<'a>(&'a AtomicUsize);

impl Drop for WaitSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RestClient {
    /// A client for the REST endpoint `rest_url` (the lookup's `urlREST`) of access point
    /// `sgtin`, authenticated with `auth_token`.
    pub fn new(
        http: reqwest::Client,
        rest_url: &str,
        sgtin: &str,
        auth_token: &str,
        options: ClientOptions,
    ) -> Result<RestClient, CloudError> {
        let sgtin = normalize_sgtin(sgtin)?;
        let headers = hmip_headers(&sgtin, Some(auth_token))?;
        let capacity = f64::from(options.bucket_capacity.max(1));
        let (revoked, _) = watch::channel(None);
        Ok(RestClient {
            inner: Arc::new(Inner {
                http,
                headers,
                rest_url: RwLock::new(rest_url.trim_end_matches('/').to_string()),
                bucket: tokio::sync::Mutex::new(Bucket {
                    tokens: capacity,
                    last: Instant::now(),
                }),
                waiting: AtomicUsize::new(0),
                throttle: Mutex::new(Throttle {
                    paused_until: None,
                    next_backoff: options.throttle_backoff,
                }),
                sent: AtomicU64::new(0),
                revoked,
                sgtin,
                options,
            }),
        })
    }

    /// `POST {urlREST}/hmip/{path}` with `body`, rate limited. Returns the answer's JSON
    /// (`Null` when the cloud answers 200 with an empty body, as most control calls do).
    pub async fn call(&self, path: &str, body: &Value) -> Result<Value, CloudError> {
        let path = path.trim_start_matches('/');
        self.check_latches()?;
        self.acquire().await?;
        let url = format!("{}/hmip/{path}", self.rest_url());
        self.inner.sent.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(path, "cloud request");
        let result = post(
            &self.inner.http,
            &url,
            path,
            self.inner.headers.clone(),
            body,
            self.inner.options.request_timeout,
        )
        .await;
        match &result {
            Ok(_) => {
                let mut t = self.inner.throttle.lock().unwrap();
                t.next_backoff = self.inner.options.throttle_backoff;
            }
            Err(CloudError::Throttled) => self.start_pause(),
            Err(CloudError::AuthRevoked { code }) => self.mark_revoked(code),
            Err(e) => tracing::debug!(path, error = %e, "cloud request failed"),
        }
        result.map(|(_, v)| v)
    }

    /// How many requests actually left this client (for tests and diagnostics).
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::SeqCst)
    }

    /// The errorCode if the token was revoked (the client then refuses every call).
    pub fn revoked(&self) -> Option<String> {
        self.inner.revoked.borrow().clone()
    }

    /// A receiver that changes to `Some(code)` once the token is revoked.
    pub fn watch_revoked(&self) -> watch::Receiver<Option<String>> {
        self.inner.revoked.subscribe()
    }

    /// Is the client paused after a 429, and until when?
    pub fn throttled_until(&self) -> Option<Instant> {
        let t = self.inner.throttle.lock().unwrap();
        t.paused_until.filter(|u| *u > Instant::now())
    }

    /// The current REST base URL.
    pub fn rest_url(&self) -> String {
        self.inner.rest_url.read().unwrap().clone()
    }

    /// Switch to another REST host (after a repeated lookup moved this client).
    pub fn set_rest_url(&self, url: &str) {
        *self.inner.rest_url.write().unwrap() = url.trim_end_matches('/').to_string();
    }

    /// The normalised SGTIN this client talks to.
    pub fn sgtin(&self) -> &str {
        &self.inner.sgtin
    }

    /// Latch the revocation (also used by the event stream when the websocket upgrade is
    /// refused with 403), waking every watcher.
    pub(crate) fn mark_revoked(&self, code: &str) {
        let first = self.inner.revoked.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(code.to_string());
                true
            } else {
                false
            }
        });
        if first {
            // The consumer reports it to the user (once); here it is only a trace.
            tracing::debug!(code, "the cloud revoked the access token");
        }
    }

    fn check_latches(&self) -> Result<(), CloudError> {
        if let Some(code) = self.revoked() {
            return Err(CloudError::AuthRevoked { code });
        }
        if self.throttled_until().is_some() {
            return Err(CloudError::Throttled);
        }
        Ok(())
    }

    fn start_pause(&self) {
        let mut t = self.inner.throttle.lock().unwrap();
        let now = Instant::now();
        // Several calls in flight may all see the same 429: count it once.
        if t.paused_until.is_some_and(|u| u > now) {
            return;
        }
        let pause = t.next_backoff;
        t.paused_until = Some(now + pause);
        t.next_backoff = (pause * 2).min(self.inner.options.throttle_backoff_max);
        tracing::warn!(
            ?pause,
            "the cloud throttles this client (HTTP 429); pausing all requests"
        );
    }

    /// Wait for a token of the bucket, in arrival order, refusing when too many wait.
    async fn acquire(&self) -> Result<(), CloudError> {
        let inner = &self.inner;
        if inner.waiting.fetch_add(1, Ordering::SeqCst) >= inner.options.queue_limit {
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(CloudError::QueueFull);
        }
        let _slot = WaitSlot(&inner.waiting);
        let mut bucket = inner.bucket.lock().await;
        let capacity = f64::from(inner.options.bucket_capacity.max(1));
        let refill = inner.options.bucket_refill.max(Duration::from_micros(1));
        loop {
            // A 429 or a revocation while this call waited: refuse it unsent.
            self.check_latches()?;
            let now = Instant::now();
            let earned = now.duration_since(bucket.last).as_secs_f64() / refill.as_secs_f64();
            bucket.tokens = (bucket.tokens + earned).min(capacity);
            bucket.last = now;
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                return Ok(());
            }
            let missing = 1.0 - bucket.tokens;
            tokio::time::sleep(refill.mul_f64(missing)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_complete_and_secrets_sensitive() {
        let h = hmip_headers("3014F711A000000000000001", Some("TOPSECRET")).unwrap();
        assert_eq!(h["version"], "12");
        assert_eq!(h["accesspoint-id"], "3014F711A000000000000001");
        assert!(h["authtoken"].is_sensitive());
        assert!(h["clientauth"].is_sensitive());
        let dbg = format!("{h:?}");
        assert!(!dbg.contains("TOPSECRET"), "{dbg}");
        assert!(hmip_headers("3014F711A000000000000001", Some("bad\ntoken")).is_err());
    }

    #[test]
    fn debug_redacts_the_token() {
        let c = RestClient::new(
            reqwest::Client::new(),
            "http://127.0.0.1:1/",
            "3014F711A000000000000001",
            "TOPSECRET",
            ClientOptions::default(),
        )
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("TOPSECRET"), "{dbg}");
        assert_eq!(c.rest_url(), "http://127.0.0.1:1");
    }

    fn client(options: ClientOptions) -> RestClient {
        RestClient::new(
            reqwest::Client::new(),
            "http://127.0.0.1:1/",
            "3014F711A000000000000001",
            "T",
            options,
        )
        .unwrap()
    }

    /// On tokio's paused clock, so the counts are exact whatever the machine's speed: a
    /// burst of the bucket's capacity at once, then one call per refill, in arrival order.
    #[tokio::test(start_paused = true)]
    async fn the_bucket_lets_a_burst_through_then_one_call_per_refill() {
        let c = client(ClientOptions {
            bucket_capacity: 3,
            bucket_refill: Duration::from_millis(100),
            ..ClientOptions::default()
        });
        let started = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (c, order) = (c.clone(), order.clone());
                tokio::spawn(async move {
                    c.acquire().await.unwrap();
                    order.lock().unwrap().push((i, started.elapsed()));
                })
            })
            .collect();
        let passed = || order.lock().unwrap().len();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(passed(), 3, "the burst is the bucket's capacity");
        for n in 4..=8 {
            // The n-th call passes at (n - 3) refills.
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(passed(), n, "at {:?}", started.elapsed());
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(
            order.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>()
        );
        assert_eq!(order[7].1, Duration::from_millis(500));
    }

    /// A 429 pauses the client: every call is refused unsent until the pause ends; pauses
    /// double up to the maximum (a success resetting them: tests/cloud_client.rs).
    #[tokio::test(start_paused = true)]
    async fn a_pause_after_429_refuses_calls_and_doubles_up_to_its_maximum() {
        let c = client(ClientOptions {
            throttle_backoff: Duration::from_millis(100),
            throttle_backoff_max: Duration::from_millis(400),
            ..ClientOptions::default()
        });
        for pause in [100u64, 200, 400, 400] {
            c.start_pause();
            let until = c.throttled_until().unwrap();
            assert_eq!(until - Instant::now(), Duration::from_millis(pause));
            // A second 429 of the same moment counts once.
            c.start_pause();
            assert_eq!(c.throttled_until(), Some(until));
            let refused = c.call("x", &serde_json::json!({})).await;
            assert!(matches!(refused, Err(CloudError::Throttled)), "{refused:?}");
            tokio::time::sleep(Duration::from_millis(pause)).await;
            assert_eq!(c.throttled_until(), None);
        }
        assert_eq!(c.requests_sent(), 0, "nothing was sent while paused");
    }
}
