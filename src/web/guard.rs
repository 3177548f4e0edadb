//! Who may use the HTTP API: its own `Host` only (no DNS rebinding), writes from its own
//! origin only, and the token where one is required (see [`super::WebOptions`]).

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::{error, Shared};

/// Refuse what a page on another site could send: a foreign `Host` (DNS rebinding), a
/// write from another origin, and without the token where one is required.
pub(super) async fn guard(State(s): State<Shared>, req: Request, next: Next) -> Response {
    match s.refusal(&req) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

impl Shared {
    /// Why `req` is refused, as the answer; None when it may go on.
    fn refusal(&self, req: &Request) -> Option<Response> {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        // HTTP/2 names the host in the URI's authority instead.
        let host = header(header::HOST).or_else(|| req.uri().authority().map(|a| a.as_str()));
        let Some(host) = host.filter(|h| self.host_allowed(h)) else {
            return Some(error(
                StatusCode::FORBIDDEN,
                "this API answers only to its own address (localhost, an IP address, or a name in httpHosts)",
            ));
        };
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            // Browsers send Origin with every write; a client without one is not a page.
            // https: the API behind a reverse proxy that terminates TLS.
            if let Some(origin) = header(header::ORIGIN) {
                let own = origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    .is_some_and(|o| o.eq_ignore_ascii_case(host));
                if !own {
                    return Some(error(
                        StatusCode::FORBIDDEN,
                        "a write from another origin is refused",
                    ));
                }
            }
        }
        if self.opts.require_token && req.uri().path() != "/" {
            let given = header(header::AUTHORIZATION).and_then(|a| a.strip_prefix("Bearer "));
            let token = self.opts.token.as_deref().unwrap_or_default();
            if !given.is_some_and(|g| same_secret(g, token)) {
                return Some(error(
                    StatusCode::UNAUTHORIZED,
                    "this API needs its token: Authorization: Bearer <httpToken of the config file>",
                ));
            }
        }
        None
    }

    /// Whether `host` (a `Host` header: name or address, with an optional port) is this
    /// API's own.
    fn host_allowed(&self, host: &str) -> bool {
        let (name, port) = split_host(host);
        let port_ok = match port {
            Some(p) => self.port == 0 || p == Some(self.port),
            None => self.port == 0 || self.port == 80,
        };
        let name = name.trim_end_matches('.');
        port_ok
            && (name.parse::<std::net::IpAddr>().is_ok()
                || name.eq_ignore_ascii_case("localhost")
                || self.opts.hosts.iter().any(|h| h.eq_ignore_ascii_case(name)))
    }
}

/// A `Host` header as (name, port): `[::1]:80` gives `::1`; a port that is not a number
/// gives `Some(None)`, which matches no port.
pub(super) fn split_host(host: &str) -> (&str, Option<Option<u16>>) {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((addr, "")) => (addr, None),
            Some((addr, port)) => (
                addr,
                Some(port.strip_prefix(':').and_then(|p| p.parse().ok())),
            ),
            None => (host, Some(None)),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, Some(port.parse().ok())),
        _ => (host, None),
    }
}

/// Compare a given token with ours in time that does not depend on where they differ.
fn same_secret(given: &str, ours: &str) -> bool {
    let (a, b) = (given.as_bytes(), ours.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}
