//! The lookup: which REST and websocket host serves an access point (§2).

use std::time::Duration;

use serde_json::Value;

use super::identity::normalize_sgtin;
use super::rest::{hmip_headers, post};
use super::{client_characteristics, CloudError};

/// The lookup is one small request; bound it even if the caller's HTTP client has no timeout.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the cloud serves one access point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `urlREST`, without a trailing slash; calls go to `{rest_url}/hmip/{path}`.
    pub rest_url: String,
    /// `urlWebSocket`, always `ws://` or `wss://`.
    pub websocket_url: String,
    /// The `apiVersion` the lookup reported, if any.
    pub api_version: Option<String>,
}

/// Ask the lookup service at `lookup_url` for the endpoints of access point `sgtin`
/// (printed form accepted; it is normalised first).
///
/// HTTP 418 means the lookup does not know the SGTIN: [`CloudError::UnknownAccessPoint`].
pub async fn lookup(
    http: &reqwest::Client,
    lookup_url: &str,
    sgtin: &str,
) -> Result<Endpoints, CloudError> {
    let sgtin = normalize_sgtin(sgtin)?;
    let headers = hmip_headers(&sgtin, None)?;
    let answer = tokio::time::timeout(
        LOOKUP_TIMEOUT,
        post(
            http,
            lookup_url,
            "getHost",
            headers,
            &client_characteristics(&sgtin),
            LOOKUP_TIMEOUT,
        ),
    )
    .await
    .unwrap_or_else(|_| {
        Err(CloudError::Timeout {
            path: "getHost".into(),
            timeout: LOOKUP_TIMEOUT,
        })
    });
    let (_, body) = match answer {
        Err(CloudError::Http { status: 418, .. }) => {
            return Err(CloudError::UnknownAccessPoint { sgtin })
        }
        other => other?,
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    let rest_url = field("urlREST")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| CloudError::BadResponse("lookup answer has no urlREST".into()))?;
    let websocket_url = field("urlWebSocket")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| CloudError::BadResponse("lookup answer has no urlWebSocket".into()))?;
    let api_version = body.get("apiVersion").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let endpoints = Endpoints {
        rest_url: rest_url.trim_end_matches('/').to_string(),
        websocket_url: websocket_scheme(&websocket_url),
        api_version,
    };
    tracing::info!(
        rest = %endpoints.rest_url,
        websocket = %endpoints.websocket_url,
        "cloud lookup done"
    );
    Ok(endpoints)
}

/// The lookup sometimes names the websocket with an `http(s)` scheme; tungstenite wants
/// `ws(s)`.
pub(crate) fn websocket_scheme(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        format!("wss://{}", &url["https://".len()..])
    } else if lower.starts_with("http://") {
        format!("ws://{}", &url["http://".len()..])
    } else {
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_scheme_rewrite() {
        assert_eq!(
            websocket_scheme("https://ws.example:8888"),
            "wss://ws.example:8888"
        );
        assert_eq!(websocket_scheme("HTTP://h/x"), "ws://h/x");
        assert_eq!(websocket_scheme("wss://h"), "wss://h");
    }
}
