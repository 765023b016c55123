//! Discord's OAuth2 authorization-code flow with PKCE (S256): `/oauth2/authorize` (auto-approved
//! as a simulated user), `/oauth2/token` (code and refresh_token grants) and
//! `/oauth2/token/revoke`, plus the bearer-token lookup of `/users/@me*`.
//!
//! Strictness is on purpose, so client bugs surface in tests: codes are single-use (a replay
//! also revokes the tokens the code gave, RFC 6749 §4.1.2), a verifier without a challenge or
//! a challenge without a verifier is refused, and client credentials are always required.

use super::http::{json, oauth_error, redirect, HttpRequest, HttpResponse};
use super::Shared;
use crate::workload::BOT_USER_ID;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hyper::header::{HeaderValue, CACHE_CONTROL};
use hyper::{Method, StatusCode};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Scopes the simulator grants; others get `invalid_scope`.
const KNOWN_SCOPES: [&str; 6] = [
    "identify",
    "guilds",
    "email",
    "guilds.members.read",
    "connections",
    "applications.commands",
];

/// The OAuth2 application the simulator knows.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// Client id (Discord's application id).
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Registered redirect URIs, matched exactly. Empty accepts any `http://` or `https://`
    /// URI, because tests bind their callback server to a random port.
    pub redirect_uris: Vec<String>,
    /// Who `/oauth2/authorize` logs in when the request has no `login_as`; None means the
    /// owner of the world's first guild (see also [`super::SimulatorHandle::set_login_user`]).
    pub default_user: Option<u64>,
    /// Lifetime of an authorization code (Discord: 10 minutes).
    pub code_ttl: Duration,
    /// Lifetime of an access token, `expires_in` (Discord: 7 days).
    pub token_ttl: Duration,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            client_id: BOT_USER_ID.to_string(),
            client_secret: "test-client-secret".into(),
            redirect_uris: Vec::new(),
            default_user: None,
            code_ttl: Duration::from_secs(600),
            token_ttl: Duration::from_secs(7 * 86_400),
        }
    }
}

/// The owner of a bearer token.
#[derive(Clone, Debug)]
pub(crate) struct Bearer {
    pub user: u64,
    pub scopes: Vec<String>,
}

struct Code {
    client_id: String,
    redirect_uri: String,
    user: u64,
    scopes: Vec<String>,
    challenge: Option<String>,
    expires: Instant,
}

struct Grant {
    user: u64,
    scopes: Vec<String>,
    client_id: String,
    access: String,
    refresh: String,
    access_expires: Instant,
}

struct Inner {
    rng: SmallRng,
    login_user: Option<u64>,
    codes: HashMap<String, Code>,
    /// Exchanged codes and the grant each gave, to revoke it on a replay.
    used_codes: HashMap<String, Option<u64>>,
    grants: HashMap<u64, Grant>,
    access: HashMap<String, u64>,
    refresh: HashMap<String, u64>,
    next_grant: u64,
}

/// Codes and tokens.
pub(crate) struct OAuthState {
    config: OAuthConfig,
    inner: Mutex<Inner>,
}

impl OAuthState {
    pub fn new(config: OAuthConfig) -> Self {
        // A simulator's tokens need to differ between runs, not to resist attackers.
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        OAuthState {
            inner: Mutex::new(Inner {
                rng: SmallRng::seed_from_u64(seed ^ 0x006f_6175_7468),
                login_user: config.default_user,
                codes: HashMap::new(),
                used_codes: HashMap::new(),
                grants: HashMap::new(),
                access: HashMap::new(),
                refresh: HashMap::new(),
                next_grant: 1,
            }),
            config,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    pub fn set_login_user(&self, user: Option<u64>) {
        self.lock().login_user = user;
    }

    /// The user and scopes of a live access token.
    pub fn bearer(&self, token: &str) -> Option<Bearer> {
        let inner = self.lock();
        let grant = inner.grants.get(inner.access.get(token)?)?;
        (Instant::now() < grant.access_expires).then(|| Bearer {
            user: grant.user,
            scopes: grant.scopes.clone(),
        })
    }

    /// Revokes every token of `user` (a simulated "deauthorize app").
    pub fn revoke_user(&self, user: u64) {
        let mut inner = self.lock();
        let ids: Vec<u64> = inner
            .grants
            .iter()
            .filter(|(_, g)| g.user == user)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            inner.revoke(id);
        }
    }
}

impl Inner {
    fn token(&mut self) -> String {
        (0..30)
            .map(|_| char::from(self.rng.sample(rand::distr::Alphanumeric)))
            .collect()
    }

    fn revoke(&mut self, grant: u64) {
        if let Some(g) = self.grants.remove(&grant) {
            self.access.remove(&g.access);
            self.refresh.remove(&g.refresh);
        }
    }

    fn issue(&mut self, user: u64, scopes: Vec<String>, client_id: String, ttl: Duration) -> u64 {
        let id = self.next_grant;
        self.next_grant += 1;
        let access = self.token();
        let refresh = self.token();
        self.access.insert(access.clone(), id);
        self.refresh.insert(refresh.clone(), id);
        self.grants.insert(
            id,
            Grant {
                user,
                scopes,
                client_id,
                access,
                refresh,
                access_expires: Instant::now() + ttl,
            },
        );
        id
    }
}

/// Serves `/oauth2/*` (`path` without any `/api` prefix).
pub(crate) fn handle(shared: &Shared, req: &HttpRequest, path: &str) -> HttpResponse {
    let oauth = &shared.oauth;
    match (&req.method, path) {
        (&Method::GET, "/oauth2/authorize") => authorize(shared, req),
        (&Method::POST, "/oauth2/token") => token(oauth, req),
        (&Method::POST, "/oauth2/token/revoke") => revoke(oauth, req),
        (_, "/oauth2/authorize" | "/oauth2/token" | "/oauth2/token/revoke") => oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "method not allowed",
        ),
        _ => super::http::discord_error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn redirect_allowed(config: &OAuthConfig, uri: &str) -> bool {
    if config.redirect_uris.is_empty() {
        (uri.starts_with("http://") || uri.starts_with("https://")) && !uri.contains('#')
    } else {
        config.redirect_uris.iter().any(|r| r == uri)
    }
}

/// `redirect_uri` with `pairs` appended to its query.
fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{}", query.finish())
}

fn authorize(shared: &Shared, req: &HttpRequest) -> HttpResponse {
    let oauth = &shared.oauth;
    let q = req.query_pairs();
    // Client and redirect URI errors are shown, never redirected (RFC 6749 §4.1.2.1).
    if param(&q, "client_id") != Some(oauth.config.client_id.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Unknown client_id",
        );
    }
    let Some(redirect_uri) =
        param(&q, "redirect_uri").filter(|u| redirect_allowed(&oauth.config, u))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid \"redirect_uri\" in request.",
        );
    };
    let state = param(&q, "state");
    let fail = |error: &str| {
        let mut pairs = vec![("error", error)];
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        redirect(&with_query(redirect_uri, &pairs))
    };
    if param(&q, "response_type") != Some("code") {
        return fail("unsupported_response_type");
    }
    let scopes: Vec<String> = param(&q, "scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return fail("invalid_scope");
    }
    let challenge = param(&q, "code_challenge");
    match (challenge, param(&q, "code_challenge_method")) {
        (None, None) => {}
        (Some(c), Some("S256")) if c.len() == 43 => {}
        _ => return fail("invalid_request"),
    }
    if param(&q, "deny").is_some_and(|d| d == "1" || d == "true") {
        return fail("access_denied");
    }
    let mut inner = oauth.lock();
    let user = match param(&q, "login_as") {
        Some(id) => match id.parse::<u64>() {
            Ok(id) if id != 0 => id,
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "login_as is not a user id",
                )
            }
        },
        None => match inner.login_user.or_else(|| shared.directory.default_user()) {
            Some(user) => user,
            None => return fail("access_denied"),
        },
    };
    let code = inner.token();
    inner.codes.insert(
        code.clone(),
        Code {
            client_id: oauth.config.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            user,
            scopes,
            challenge: challenge.map(str::to_owned),
            expires: Instant::now() + oauth.config.code_ttl,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    redirect(&with_query(redirect_uri, &pairs))
}

/// The client id, when the request authenticates as the configured client (HTTP Basic or
/// form fields, as Discord accepts both).
fn client_authenticated(
    config: &OAuthConfig,
    req: &HttpRequest,
    form: &[(String, String)],
) -> bool {
    let basic = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let (id, secret) = match &basic {
        Some(pair) => match pair.split_once(':') {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (None, None),
        },
        None => (param(form, "client_id"), param(form, "client_secret")),
    };
    id == Some(config.client_id.as_str()) && secret == Some(config.client_secret.as_str())
}

/// BASE64URL(SHA-256(verifier)) without padding (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn token(oauth: &OAuthState, req: &HttpRequest) -> HttpResponse {
    let form = req.form_pairs();
    if !client_authenticated(&oauth.config, req, &form) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let ttl = oauth.config.token_ttl;
    let client_id = oauth.config.client_id.clone();
    let mut inner = oauth.lock();
    let grant = match param(&form, "grant_type") {
        Some("authorization_code") => {
            let Some(code_text) = param(&form, "code") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "missing code");
            };
            if let Some(given) = inner.used_codes.get(code_text).copied() {
                if let Some(grant) = given {
                    inner.revoke(grant);
                }
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code already used",
                );
            }
            let Some(code) = inner.codes.remove(code_text) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"code\" in request.",
                );
            };
            inner.used_codes.insert(code_text.to_owned(), None);
            if Instant::now() >= code.expires {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "code expired");
            }
            if code.client_id != client_id
                || param(&form, "redirect_uri") != Some(code.redirect_uri.as_str())
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri does not match the authorization request",
                );
            }
            let verified = match (&code.challenge, param(&form, "code_verifier")) {
                (None, None) => true,
                (Some(challenge), Some(v)) => {
                    verifier_well_formed(v) && pkce_challenge(v) == *challenge
                }
                _ => false,
            };
            if !verified {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE code_verifier does not match code_challenge",
                );
            }
            let id = inner.issue(code.user, code.scopes, client_id, ttl);
            inner.used_codes.insert(code_text.to_owned(), Some(id));
            id
        }
        Some("refresh_token") => {
            let Some(old) =
                param(&form, "refresh_token").and_then(|r| inner.refresh.get(r).copied())
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"refresh_token\" in request.",
                );
            };
            let Some(previous) = inner.grants.get(&old) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh_token revoked",
                );
            };
            let (user, scopes, old_client) = (
                previous.user,
                previous.scopes.clone(),
                previous.client_id.clone(),
            );
            // Rotation: the old pair dies with the refresh.
            inner.revoke(old);
            inner.issue(user, scopes, old_client, ttl)
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )
        }
    };
    let Some(g) = inner.grants.get(&grant) else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "grant vanished",
        );
    };
    let body = serde_json::json!({
        "access_token": g.access,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "refresh_token": g.refresh,
        "scope": g.scopes.join(" "),
    });
    let mut resp = json(StatusCode::OK, body.to_string());
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn revoke(oauth: &OAuthState, req: &HttpRequest) -> HttpResponse {
    let form = req.form_pairs();
    if !client_authenticated(&oauth.config, req, &form) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let Some(token) = param(&form, "token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "missing token");
    };
    let mut inner = oauth.lock();
    let grant = inner
        .access
        .get(token)
        .or_else(|| inner.refresh.get(token))
        .copied();
    // Unknown tokens still get 200 (RFC 7009 §2.2).
    if let Some(grant) = grant {
        inner.revoke(grant);
    }
    json(StatusCode::OK, "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn redirect_query_is_appended() {
        assert_eq!(
            with_query("http://a/cb?x=1", &[("code", "c d"), ("state", "s")]),
            "http://a/cb?x=1&code=c+d&state=s"
        );
    }
}
