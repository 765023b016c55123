//! The dashboard's files: embedded at build time (`api/dashboard/`, see build.rs), or read
//! from `GUILDFLOW_DASHBOARD_DIR` when set, so the pages can be edited without a rebuild.

use warp::http::header::{HeaderValue, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use warp::http::StatusCode;
use warp::reply::Response;

/// (path under `dashboard/`, bytes).
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/dashboard.rs"));

/// Scripts, styles, images and connections only from this origin (websockets included);
/// no inline script, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Answers `GET /` and `GET /dashboard/{path}`.
pub(crate) fn file(path: &str) -> Response {
    let path = if path.is_empty() { "index.html" } else { path };
    match load(path) {
        Some(bytes) => {
            let mut response = Response::new(bytes.into());
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
            headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
            headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
            response
        }
        None => {
            let mut response = Response::new("not found".into());
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}

fn load(path: &str) -> Option<Vec<u8>> {
    // Paths come from the URL: only plain relative names, never `..` or absolute ones.
    if path
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.'))
    {
        return None;
    }
    if let Some(dir) = std::env::var_os("GUILDFLOW_DASHBOARD_DIR") {
        return std::fs::read(std::path::Path::new(&dir).join(path)).ok();
    }
    FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| bytes.to_vec())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_embedded_and_traversal_refused() {
        assert_eq!(file("").status(), StatusCode::OK);
        assert_eq!(file("index.html").status(), StatusCode::OK);
        assert_eq!(file("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        assert_eq!(file("a//b").status(), StatusCode::NOT_FOUND);
        assert_eq!(file("nope.js").status(), StatusCode::NOT_FOUND);
    }
}
