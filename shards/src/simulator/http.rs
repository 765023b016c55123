//! Plain HTTP on the gateway's port: a connection whose first request targets `/api/` or
//! `/oauth2/` is served by hyper (REST and OAuth2), any other goes to the websocket gateway.
//! One port keeps the simulator a single "discord.com" for clients, like Discord's own edge.

use super::{oauth, rest, Shared};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Request bodies above this are refused (Discord's own JSON limit is far lower for these
/// routes).
const MAX_BODY: usize = 1 << 20;
/// Path prefixes served as HTTP.
const HTTP_PREFIXES: [&[u8]; 2] = [b"/api/", b"/oauth2/"];

/// The simulator's HTTP response type.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// A request with its body read.
pub(crate) struct HttpRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpRequest {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query string's pairs, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The body's `application/x-www-form-urlencoded` pairs.
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }
}

/// Whether the connection's first request is plain HTTP for the REST/OAuth side. Peeks, so
/// the websocket handshake still reads the whole request.
pub(crate) async fn is_http(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 32];
    // A request line split across segments is rare; poll briefly rather than buffer it.
    for _ in 0..500 {
        let n = match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if let Some(decision) = classify(&buf[..n]) {
            return decision;
        }
        if n == buf.len() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}

/// `Some(true)` for HTTP, `Some(false)` for the gateway, None when more bytes are needed.
fn classify(head: &[u8]) -> Option<bool> {
    let space = head.iter().position(|&b| b == b' ')?;
    let path = &head[space + 1..];
    let mut undecided = false;
    for prefix in HTTP_PREFIXES {
        if path.starts_with(prefix) {
            return Some(true);
        }
        if prefix.starts_with(path) {
            undecided = true;
        }
    }
    if undecided {
        None
    } else {
        Some(false)
    }
}

/// Serves HTTP/1.1 on `stream` until the client closes it or the simulator stops.
pub(crate) async fn serve(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(req, shared).await) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "simulator http connection ended");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> HttpResponse {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return discord_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                40005,
                "Request entity too large",
            )
        }
    };
    let req = HttpRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
    };
    // Discord serves OAuth2 both at the site root and under /api (versioned or not).
    let path = req.path.as_str();
    let unprefixed = path
        .strip_prefix("/api/v10")
        .or_else(|| path.strip_prefix("/api"))
        .unwrap_or(path);
    if unprefixed.starts_with("/oauth2/") {
        return oauth::handle(&shared, &req, unprefixed);
    }
    if let Some(rest_path) = path.strip_prefix("/api/v10") {
        return rest::handle(&shared, &req, rest_path);
    }
    discord_error(StatusCode::NOT_FOUND, 0, "404: Not Found")
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: String) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// An empty 204.
pub(crate) fn no_content() -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// Discord's REST error body: `{"message":..,"code":..}`.
pub(crate) fn discord_error(status: StatusCode, code: u32, message: &str) -> HttpResponse {
    json(
        status,
        serde_json::json!({ "message": message, "code": code }).to_string(),
    )
}

/// An OAuth2 error body (RFC 6749 §5.2), never cached.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut resp = json(
        status,
        serde_json::json!({ "error": error, "error_description": description }).to_string(),
    );
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A 302 to `location`.
pub(crate) fn redirect(location: &str) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::FOUND;
    match HeaderValue::from_str(location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
            resp
        }
        Err(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri is not a valid header value",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn classifies_request_lines() {
        assert_eq!(classify(b"GET /?v=10&encoding=json HTTP/1.1"), Some(false));
        assert_eq!(classify(b"GET /resume?v=10 HTTP/1.1"), Some(false));
        assert_eq!(classify(b"DELETE /api/v10/channels"), Some(true));
        assert_eq!(classify(b"POST /oauth2/token HTTP/1.1"), Some(true));
        assert_eq!(classify(b"GET /oau"), None);
        assert_eq!(classify(b"GET"), None);
    }
}
