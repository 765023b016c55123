//! Who is asking (session cookie or bearer token) and whether they may touch the guild in the
//! path. Runs before routing, on every path under `/api/guilds/`, so no guild route (present
//! or future) can forget the check.

use super::crypto::{self, SecretHash};
use super::store::TOKEN_PREFIX;
use super::{AuthConfig, CSRF_HEADER, SESSION_COOKIE};
use crate::models::error::Problem;
use crate::models::ids::parse_id;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use warp::http::header::{AUTHORIZATION, COOKIE, ORIGIN};
use warp::http::{HeaderMap, Method, StatusCode};

/// How a request proved who it is.
#[derive(Clone, Debug)]
pub(crate) enum Credential {
    /// A browser session; state-changing requests also need its CSRF token.
    Session { hash: SecretHash, csrf: String },
    /// An API token limited to `scope`.
    Token { hash: SecretHash, scope: Vec<u64> },
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub user: u64,
    /// The Discord username (sessions only: a token does not carry one).
    pub username: Option<String>,
    pub credential: Credential,
}

impl Principal {
    pub fn is_session(&self) -> bool {
        matches!(self.credential, Credential::Session { .. })
    }
}

fn unauthorized(message: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The 403 of every guild the caller may not act on. The same answer whether or not the
/// guild exists, so it reveals nothing about other guilds.
fn forbidden() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "you do not administer this guild, or your token does not cover it",
    )
}

/// The value of cookie `name` in a `Cookie` header.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Percent-decodes one path segment, so it is compared the way a router that decodes would
/// see it (invalid escapes stay as they are).
fn decode_segment(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'%'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The guild segment and what follows it, when `path` is under `/api/guilds/`. Empty
/// segments are skipped and segments decoded, so `//` or `%67uilds` cannot route around it.
fn guild_path(path: &str) -> Option<(String, Option<String>)> {
    let mut segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment);
    if segments.next()? != "api" || segments.next()? != "guilds" {
        return None;
    }
    // `/api/guilds` itself (the list) authenticates in its handler.
    let guild = segments.next()?;
    Some((guild, segments.next()))
}

impl AuthConfig {
    /// The caller of a request: a bearer token when there is an `Authorization` header (a
    /// cookie is then ignored), else the session cookie.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Problem> {
        if let Some(value) = headers.get(AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| t.starts_with(TOKEN_PREFIX))
                .ok_or_else(|| unauthorized("Authorization must be `Bearer gf_…`"))?;
            let info = self
                .store
                .token(token)
                .ok_or_else(|| unauthorized("unknown or revoked API token"))?;
            return Ok(Principal {
                user: info.user,
                username: None,
                credential: Credential::Token {
                    hash: crypto::hash(token),
                    scope: info.guilds,
                },
            });
        }
        let id = cookie(headers, SESSION_COOKIE).ok_or_else(|| {
            unauthorized("log in at /auth/login, or send an API token as `Authorization: Bearer`")
        })?;
        let session = self
            .store
            .session(id)
            .ok_or_else(|| unauthorized("the session expired or was revoked: log in again"))?;
        Ok(Principal {
            user: session.user,
            username: Some(session.username),
            credential: Credential::Session {
                hash: crypto::hash(id),
                csrf: session.csrf,
            },
        })
    }

    /// Whether `principal` may act on `guild`: the user administers it and, for a token, the
    /// token's scope includes it.
    pub(crate) fn authorize(&self, principal: &Principal, guild: u64) -> Result<(), Problem> {
        if let Credential::Token { scope, .. } = &principal.credential {
            if !scope.contains(&guild) {
                return Err(forbidden());
            }
        }
        if self.directory.can_administer(principal.user, guild) {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        headers
            .get(ORIGIN)
            .and_then(|o| o.to_str().ok())
            .is_some_and(|o| self.allowed_origins.iter().any(|a| a == o))
    }

    /// The guilds `principal` may act on, ascending (a token's scope narrows them).
    pub(crate) fn visible_guilds(&self, principal: &Principal) -> Vec<u64> {
        let mut guilds = self.directory.administered_by(principal.user);
        if let Credential::Token { scope, .. } = &principal.credential {
            guilds.retain(|g| scope.contains(g));
        }
        guilds
    }

    /// CSRF defence of a state-changing request: with a session, an allowed `Origin` and the
    /// session's token in `X-CSRF-Token`. Bearer tokens are exempt (a browser never attaches
    /// them on its own).
    pub(crate) fn check_csrf(
        &self,
        principal: &Principal,
        headers: &HeaderMap,
    ) -> Result<(), Problem> {
        let Credential::Session { csrf, .. } = &principal.credential else {
            return Ok(());
        };
        let sent = headers.get(CSRF_HEADER).map(|v| v.as_bytes());
        if self.origin_allowed(headers)
            && sent.is_some_and(|s| crypto::constant_time_eq(s, csrf.as_bytes()))
        {
            Ok(())
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "state-changing requests with a session need an allowed Origin and the \
                 X-CSRF-Token from /api/me",
            ))
        }
    }

    /// The websocket's Origin rule: a browser (it always sends `Origin`) must come from an
    /// allowed origin; a session without `Origin` is refused too, as only browsers hold
    /// sessions. Scripts with tokens may omit it.
    fn check_ws_origin(&self, principal: &Principal, headers: &HeaderMap) -> Result<(), Problem> {
        let ok = if headers.contains_key(ORIGIN) {
            self.origin_allowed(headers)
        } else {
            !principal.is_session()
        };
        if ok {
            Ok(())
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "websocket connections are only accepted from the configured origins",
            ))
        }
    }

    /// The check of every request, before routing: nothing outside `/api/guilds/` (those
    /// routes are public or authenticate themselves); under it, a caller (401), a
    /// well-formed guild id (400), access to it (403), CSRF on anything but GET/HEAD (403)
    /// and the websocket Origin rule on `live` (403).
    pub(crate) fn guard(
        &self,
        path: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<(), Problem> {
        let Some((guild, rest)) = guild_path(path) else {
            return Ok(());
        };
        let principal = self.authenticate(headers)?;
        // Refused here rather than passed on: a router that decodes differently must never
        // see an id this check did not.
        let guild = parse_id("guild", &guild)?;
        self.authorize(&principal, guild)?;
        if !(method == Method::GET || method == Method::HEAD) {
            self.check_csrf(&principal, headers)?;
        }
        if rest.as_deref() == Some("live") {
            self.check_ws_origin(&principal, headers)?;
        }
        Ok(())
    }
}

/// What a websocket session over `guild` needs to notice that its access ended; None when
/// the request carries no valid credential (the guard refused it already).
pub(crate) fn live_access(
    auth: &Arc<AuthConfig>,
    headers: &HeaderMap,
    guild: u64,
) -> Option<LiveAccess> {
    let principal = auth.authenticate(headers).ok()?;
    Some(LiveAccess {
        auth: Arc::clone(auth),
        revocations: auth.store.revocations(),
        principal,
        guild,
        next_check: tokio::time::Instant::now() + RECHECK,
    })
}

/// How often an open websocket re-checks its access (role changes, expiry), on top of the
/// immediate check at each revocation.
const RECHECK: Duration = Duration::from_secs(2);

/// A websocket's authorization, re-checked while it is open.
pub(crate) struct LiveAccess {
    auth: Arc<AuthConfig>,
    revocations: broadcast::Receiver<u64>,
    principal: Principal,
    guild: u64,
    next_check: tokio::time::Instant,
}

impl LiveAccess {
    fn still_allowed(&self) -> bool {
        self.auth.store.is_valid(&self.principal.credential)
            && self.auth.authorize(&self.principal, self.guild).is_ok()
    }

    /// Resolves once the credential is revoked or expired, or the user lost the guild.
    /// Cancel-safe: the session polls it in a `select!` that restarts it at every frame, so
    /// the periodic check keeps an absolute deadline instead of a fresh timer.
    pub async fn lost(&mut self) {
        loop {
            let check = tokio::select! {
                notice = self.revocations.recv() => match notice {
                    Ok(user) => user == self.principal.user,
                    // Missed notices: one of them may have been ours.
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    // Cannot happen while the store (which this holds) lives; the timer
                    // still covers it.
                    Err(broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep_until(self.next_check).await;
                        false
                    }
                },
                () = tokio::time::sleep_until(self.next_check) => {
                    self.next_check = tokio::time::Instant::now() + RECHECK;
                    true
                }
            };
            if check && !self.still_allowed() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guild_paths_cannot_be_disguised() {
        let g = guild_path;
        assert_eq!(
            g("/api/guilds/12/stats"),
            Some(("12".into(), Some("stats".into())))
        );
        assert_eq!(
            g("//api//guilds//12/live"),
            Some(("12".into(), Some("live".into())))
        );
        assert_eq!(g("/api/%67uilds/%31%32"), Some(("12".into(), None)));
        assert_eq!(g("/api/guilds"), None);
        assert_eq!(g("/api/me"), None);
        assert_eq!(g("/health"), None);
    }

    #[test]
    fn cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "a=1; gf_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, "gf_session"), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
