//! Errors of the cloud layer. Their messages never contain a token, PIN or header value.

use std::time::Duration;

/// What went wrong talking to the HmIP cloud.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CloudError {
    /// 403 INVALID_AUTH_TOKEN / INVALID_AUTHORIZATION: the token was revoked. Never retried.
    #[error("the cloud rejected the access token ({code}): pair again to get a new one")]
    AuthRevoked {
        /// The cloud's errorCode.
        code: String,
    },
    /// 429: eQ-3 throttles this client.
    #[error("the cloud throttles this client (HTTP 429); backing off")]
    Throttled,
    /// The client's own request queue is full (the rate limit would be exceeded).
    #[error("too many requests queued for the cloud; request refused")]
    QueueFull,
    /// Any other HTTP error answer.
    #[error("cloud answered HTTP {status} to {path}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Http {
        /// HTTP status code.
        status: u16,
        /// The errorCode of the error body, if any.
        code: Option<String>,
        /// The request path (never headers).
        path: String,
    },
    /// The HCU answered a request with a code other than 200.
    #[error("the HCU answered {code} to {path}{}{}", error_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(), hcu_hint(error_code.as_deref()))]
    HcuRefused {
        /// The answer's code (modelled on HTTP).
        code: u16,
        /// The errorCode of the answer's body, if any.
        error_code: Option<String>,
        /// The request path.
        path: String,
    },
    /// The other end refused this client for good; the text says what to do.
    #[error("{0}")]
    Refused(String),
    /// The request did not complete in time.
    #[error("request to {path} timed out after {timeout:?}")]
    Timeout {
        /// The request path.
        path: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// Connecting or transferring failed.
    #[error("network error talking to the cloud: {0}")]
    Network(String),
    /// The answer could not be understood.
    #[error("unexpected answer from the cloud: {0}")]
    BadResponse(String),
    /// Pairing: the PIN was wrong.
    #[error(
        "the access point refused the PIN (INVALID_PIN): check the PIN set in the Homematic IP app"
    )]
    InvalidPin,
    /// Pairing: HCU assignment locked.
    #[error("the access point is locked for new clients (ASSIGNMENT_LOCKED): press the button on the HCU first, then try again")]
    AssignmentLocked,
    /// Pairing: the blue button was not pressed in time.
    #[error("the blue button on the access point was not pressed within {0:?}; start pairing again and press it while the LED blinks")]
    PairingTimeout(Duration),
    /// Lookup: HTTP 418, the lookup service does not know this access point.
    #[error("the cloud lookup does not know the access point {sgtin} (HTTP 418): check the SGTIN printed on the access point")]
    UnknownAccessPoint {
        /// The normalised SGTIN (an identifier printed on the device, not a secret).
        sgtin: String,
    },
    /// Local configuration that cannot be used (e.g. a token with characters not allowed in
    /// an HTTP header). The message never repeats the offending value.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The SGTIN is not 24 hex digits.
    #[error("the SGTIN must be 24 hexadecimal characters (like 3014-F711-A000-0000-0000-0000), got {0} hex digits")]
    BadSgtin(usize),
}

/// What the user can do about an HCU error code, if anything is known.
fn hcu_hint(code: Option<&str>) -> &'static str {
    match code {
        // Users' report (firmware 1.6.16 on): lock calls need an access profile.
        Some("CLIENT_INVALID_AUTHORIZATION") => {
            ": give the ioBroker client an access profile for this device in the Homematic IP app"
        }
        _ => "",
    }
}

impl CloudError {
    /// Map an HTTP error answer to an error: 403 with an auth code means revoked, 429 throttled.
    pub fn from_status(status: u16, body: &str, path: &str) -> CloudError {
        let code = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.get("errorCode")
                    .and_then(|c| c.as_str())
                    .map(str::to_string)
            });
        match (status, code.as_deref()) {
            (429, _) => CloudError::Throttled,
            (_, Some("INVALID_AUTH_TOKEN")) | (_, Some("INVALID_AUTHORIZATION"))
                if status == 403 || status == 401 =>
            {
                CloudError::AuthRevoked {
                    code: code.unwrap_or_default(),
                }
            }
            (_, Some("INVALID_PIN")) => CloudError::InvalidPin,
            (_, Some("ASSIGNMENT_LOCKED")) => CloudError::AssignmentLocked,
            _ => CloudError::Http {
                status,
                code,
                path: path.to_string(),
            },
        }
    }

    /// Map a failed HTTP exchange of `reqwest`. Its message names the URL (no secret: tokens
    /// travel in headers only) but never a header.
    pub fn from_reqwest(e: &reqwest::Error, path: &str, timeout: Duration) -> CloudError {
        if e.is_timeout() {
            return CloudError::Timeout {
                path: path.to_string(),
                timeout,
            };
        }
        // reqwest's own Display is terse ("error sending request"); the cause says why.
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        CloudError::Network(msg)
    }

    /// Is this error worth retrying later (network, throttling, 5xx)?
    pub fn is_transient(&self) -> bool {
        match self {
            CloudError::Throttled
            | CloudError::Timeout { .. }
            | CloudError::Network(_)
            | CloudError::QueueFull => true,
            CloudError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
