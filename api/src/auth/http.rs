//! A minimal HTTP/1.1 client for the OAuth token exchange and `/users/@me`: one request per
//! connection, plain TCP for `http://` (the simulator, a local proxy) and rustls with the
//! webpki roots for `https://` (Discord). hyper is already in the tree through warp; a
//! full client crate would add a second TLS stack for two requests per login.

use super::AuthError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Largest response body read (token and user objects are a few hundred bytes).
const MAX_BODY: usize = 256 * 1024;

/// A response: status and body.
pub(crate) struct HttpReply {
    pub status: u16,
    pub body: Bytes,
}

/// The parts of an absolute `http(s)://host[:port]/path?query` URL a request needs.
struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query.
    path: String,
}

fn parse(url: &str) -> Result<Target, AuthError> {
    let bad = || AuthError::Config(format!("not an absolute http(s) URL: {url}"));
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => (host, port.parse().map_err(|_| bad())?),
        _ => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    Ok(Target {
        tls,
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, AuthError> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| AuthError::Config(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::clone(CONFIG.get_or_init(|| Arc::new(config))))
}

/// Sends one request (`body` with `content_type` when given) and reads the reply, all within
/// `timeout`.
pub(crate) async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&'static str, String)>,
    timeout: Duration,
) -> Result<HttpReply, AuthError> {
    tokio::time::timeout(timeout, send_inner(method, url, headers, body))
        .await
        .map_err(|_| AuthError::Upstream(format!("{url}: timed out")))?
}

async fn send_inner(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&'static str, String)>,
) -> Result<HttpReply, AuthError> {
    let target = parse(url)?;
    let upstream = |e: &dyn std::fmt::Display| AuthError::Upstream(format!("{url}: {e}"));
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| upstream(&e))?;
    let host_header = if (target.tls && target.port == 443) || (!target.tls && target.port == 80) {
        target.host.clone()
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut request = Request::builder()
        .method(method)
        .uri(&target.path)
        .header("host", host_header)
        .header(
            "user-agent",
            "guildflow (https://github.com/guildflow, 0.1)",
        )
        .header("accept", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let payload = match body {
        Some((content_type, text)) => {
            request = request.header("content-type", content_type);
            Bytes::from(text)
        }
        None => Bytes::new(),
    };
    let request = request.body(Full::new(payload)).map_err(|e| upstream(&e))?;
    if target.tls {
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| upstream(&e))?;
        let stream = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, tcp)
            .await
            .map_err(|e| upstream(&e))?;
        exchange(stream, request, url).await
    } else {
        exchange(tcp, request, url).await
    }
}

async fn exchange<S>(
    stream: S,
    request: Request<Full<Bytes>>,
    url: &str,
) -> Result<HttpReply, AuthError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let upstream = |e: &dyn std::fmt::Display| AuthError::Upstream(format!("{url}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| upstream(&e))?;
    // The connection task ends with the response (one request per connection).
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| upstream(&e))?;
    let status = response.status().as_u16();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| upstream(&e))?
        .to_bytes();
    Ok(HttpReply { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse("https://discord.com/api/v10/oauth2/token").unwrap();
        assert!(t.tls);
        assert_eq!((t.host.as_str(), t.port), ("discord.com", 443));
        assert_eq!(t.path, "/api/v10/oauth2/token");
        let t = parse("http://127.0.0.1:8765").unwrap();
        assert_eq!((t.port, t.path.as_str()), (8765, "/"));
        assert!(parse("ftp://x").is_err());
        assert!(parse("http://user@host/").is_err());
    }
}
