//! The authentication routes (mounted only with `ApiContext::with_auth`): `GET /auth/login`,
//! `GET /auth/callback`, `POST /auth/logout`, `GET /api/me`; and the guard filter in front
//! of every other route.

use super::guard::{cookie, Credential, Principal};
use super::{AuthConfig, AuthError, SESSION_COOKIE};
use crate::handlers::errors::Refusal;
use crate::handlers::{json_response, problem_response};
use crate::models::error::Problem;
use serde::Serialize;
use std::sync::Arc;
use warp::filters::path::FullPath;
use warp::filters::BoxedFilter;
use warp::http::header::{HeaderValue, LOCATION, SET_COOKIE};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;
use warp::Filter;

// The `/auth/*` routes exist only with authentication on, so they are not in the OpenAPI
// document (which describes the default route tree); their codes are listed in docs/API.md.
/// A login that cannot complete: bad or reused `state`, Discord's `error`, a refused code.
const LOGIN_FAILED: &str = "login_failed";
/// Discord could not be reached or answered garbage; or too many logins at once.
const LOGIN_UNAVAILABLE: &str = "login_unavailable";

/// The check in front of every route (see [`AuthConfig::guard`]).
pub(crate) fn guard(
    auth: Arc<AuthConfig>,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::path::full()
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and_then(move |path: FullPath, method: Method, headers: HeaderMap| {
            let verdict = auth.guard(path.as_str(), &method, &headers);
            async move { verdict.map_err(|problem| warp::reject::custom(Refusal(problem))) }
        })
        .untuple_one()
}

/// The authentication routes.
pub(crate) fn routes(auth: Arc<AuthConfig>) -> BoxedFilter<(Response,)> {
    let with_auth = {
        let auth = Arc::clone(&auth);
        warp::any().map(move || Arc::clone(&auth))
    };
    let login = warp::path!("auth" / "login")
        .and(warp::get())
        .and(with_auth.clone())
        .map(|auth: Arc<AuthConfig>| login(&auth));
    let callback = warp::path!("auth" / "callback")
        .and(warp::get())
        .and(warp::query::<Vec<(String, String)>>())
        .and(warp::header::headers_cloned())
        .and(with_auth.clone())
        .then(
            |params: Vec<(String, String)>, headers: HeaderMap, auth: Arc<AuthConfig>| async move {
                callback(&auth, &params, &headers)
                    .await
                    .unwrap_or_else(|problem| problem_response(&problem))
            },
        );
    let logout = warp::path!("auth" / "logout")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(with_auth.clone())
        .map(|headers: HeaderMap, auth: Arc<AuthConfig>| {
            logout(&auth, &headers).unwrap_or_else(|problem| problem_response(&problem))
        });
    let me = warp::path!("api" / "me")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(with_auth)
        .map(|headers: HeaderMap, auth: Arc<AuthConfig>| {
            me(&auth, &headers).unwrap_or_else(|problem| problem_response(&problem))
        });
    login
        .or(callback)
        .unify()
        .or(logout)
        .unify()
        .or(me)
        .unify()
        .boxed()
}

fn redirect(location: &str) -> Response {
    let mut response = Response::new(String::new().into());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

fn unavailable(error: &AuthError) -> Problem {
    tracing::warn!(%error, "login failed on our side or Discord's");
    let status = match error {
        AuthError::TooManyLogins | AuthError::TooManySessions => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    Problem::new(
        status,
        LOGIN_UNAVAILABLE,
        "Discord login is unavailable; retry later",
    )
}

fn login_failed(message: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, LOGIN_FAILED, message)
}

fn login(auth: &AuthConfig) -> Response {
    match auth.authorize_redirect() {
        Ok(url) => redirect(&url),
        Err(error) => problem_response(&unavailable(&error)),
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn callback(
    auth: &AuthConfig,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    // The state is consumed first, whatever else is wrong: it is single use.
    let verifier = param(params, "state")
        .and_then(|state| auth.store.finish_login(state))
        .ok_or_else(|| {
            login_failed("unknown, expired or already used login state: log in again")
        })?;
    if let Some(error) = param(params, "error") {
        tracing::info!(error, "Discord refused the authorization");
        return Err(login_failed("the authorization was refused on Discord"));
    }
    let code = param(params, "code").ok_or_else(|| login_failed("no authorization code"))?;
    let user = match auth.complete_login(code, &verifier).await {
        Ok(user) => user,
        Err(AuthError::CodeRefused(why)) => {
            tracing::info!(%why, "authorization code refused");
            return Err(login_failed(
                "Discord refused the authorization code: log in again",
            ));
        }
        Err(error) => return Err(unavailable(&error)),
    };
    let session = auth
        .store
        .create_session(
            user.id,
            user.username,
            auth.session_ttl,
            cookie(headers, SESSION_COOKIE),
        )
        .map_err(|e| unavailable(&e))?;
    let mut response = redirect(&auth.after_login);
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        auth.session_ttl.as_secs(),
        if auth.secure_cookies { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

fn logout(auth: &AuthConfig, headers: &HeaderMap) -> Result<Response, Problem> {
    let principal = auth.authenticate(headers)?;
    if !principal.is_session() {
        return Err(Problem::bad_request(
            "bad_request",
            "logout ends browser sessions; API tokens are revoked by their owner",
        ));
    }
    auth.check_csrf(&principal, headers)?;
    if let Some(id) = cookie(headers, SESSION_COOKIE) {
        auth.store.revoke_session(id);
    }
    let mut response = Response::new(String::new().into());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let clear = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if auth.secure_cookies { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// The body of `GET /api/me`.
#[derive(Serialize)]
struct Me {
    user: MeUser,
    /// `session` or `token`.
    credential: &'static str,
    /// The value for `X-CSRF-Token` (sessions only).
    csrf_token: Option<String>,
    /// Guilds this credential may act on, ascending.
    guilds: Vec<String>,
}

#[derive(Serialize)]
struct MeUser {
    id: String,
    username: Option<String>,
}

fn me(auth: &AuthConfig, headers: &HeaderMap) -> Result<Response, Problem> {
    let principal: Principal = auth.authenticate(headers)?;
    let mut guilds = auth.directory.administered_by(principal.user);
    let (credential, csrf_token) = match &principal.credential {
        Credential::Session { csrf, .. } => ("session", Some(csrf.clone())),
        Credential::Token { scope, .. } => {
            guilds.retain(|g| scope.contains(g));
            ("token", None)
        }
    };
    Ok(json_response(
        StatusCode::OK,
        &Me {
            user: MeUser {
                id: principal.user.to_string(),
                username: principal.username,
            },
            credential,
            csrf_token,
            guilds: guilds.iter().map(u64::to_string).collect(),
        },
    ))
}
