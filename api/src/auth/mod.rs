//! Opt-in authentication and authorization (`ApiContext::with_auth`; docs/SECURITY.md).
//!
//! - Browsers log in with Discord's OAuth2 code flow with `state` and PKCE S256
//!   (`/auth/login`, `/auth/callback`) and get a server-side session in the `gf_session`
//!   cookie; `POST /auth/logout` ends it.
//! - Scripts send `Authorization: Bearer gf_…` API tokens ([`AuthStore::create_token`], or
//!   `guildflow token create` through [`TokenFile`]), scoped to guilds.
//! - [`AuthStore::open`] keeps tokens and sessions (hashes only) under `DATA/auth/`, so a
//!   restart logs nobody out; a running server picks up tokens created or revoked by the CLI.
//! - Every route under `/api/guilds/{guild}/` needs one of them and a user who administers
//!   the guild ([`PermissionDirectory::can_administer`], fed by the gateway events).
//! - State-changing requests made with a session need an allowed `Origin` and the session's
//!   CSRF token; websocket upgrades need an allowed `Origin`.

mod crypto;
pub mod directory;
mod guard;
mod http;
mod oauth;
pub(crate) mod routes;
pub mod store;

pub use directory::{DirectoryState, PermissionDirectory};
pub use store::{AuthStore, NewToken, TokenFile, TokenInfo, TOKEN_PREFIX};

pub(crate) use guard::{live_access, LiveAccess};

use std::time::Duration;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gf_session";
/// The header carrying the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why an authentication step failed on our side or Discord's.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The OS random source failed (no secret can be made safely).
    #[error("random source: {0}")]
    Random(String),
    /// A configured endpoint is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// Discord (or the simulator) could not be reached or answered garbage.
    #[error("upstream: {0}")]
    Upstream(String),
    /// Discord refused the authorization code (expired, replayed, wrong verifier).
    #[error("the authorization code was refused: {0}")]
    CodeRefused(String),
    /// Too many logins in flight.
    #[error("too many logins in progress")]
    TooManyLogins,
    /// The session table is full of live sessions.
    #[error("too many sessions")]
    TooManySessions,
    /// A file of the persistent store (`DATA/auth/`) could not be read or written.
    #[error("{}: {message}", path.display())]
    Storage {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What failed.
        message: String,
    },
    /// A file of the persistent store does not parse: torn, truncated or edited by hand.
    /// Nothing is guessed: fix or remove the file (removing `tokens.json` forgets every API
    /// token; removing `sessions.json` logs everyone out).
    #[error(
        "{} is corrupt ({message}); fix it or remove it (removing tokens.json forgets every \
         API token, removing sessions.json logs everyone out)",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// The parse error.
        message: String,
    },
}

/// Authentication settings and state. Build with [`AuthConfig::discord`] (or
/// [`AuthConfig::with_endpoints`] for the simulator), then pass to
/// `ApiContext::with_auth`. Cheap to clone: the directory and store are shared handles.
#[derive(Clone)]
pub struct AuthConfig {
    /// The OAuth2 application's client id.
    pub client_id: String,
    /// The OAuth2 application's secret (never logged).
    pub client_secret: String,
    /// Where browsers are sent to authorize (`https://discord.com/oauth2/authorize`).
    pub authorize_url: String,
    /// The token endpoint (`https://discord.com/api/v10/oauth2/token`).
    pub token_url: String,
    /// The REST base for `/users/@me` (`https://discord.com/api/v10`).
    pub api_base: String,
    /// This server's callback, exactly as registered with Discord
    /// (`https://stats.example.com/auth/callback`).
    pub redirect_uri: String,
    /// OAuth2 scopes asked for; `identify` is all authorization needs (guild access comes from
    /// the gateway, not from the user's token).
    pub scopes: String,
    /// Origins (`scheme://host[:port]`) allowed to make state-changing requests with a session
    /// and to open websockets.
    pub allowed_origins: Vec<String>,
    /// Adds `Secure` to the session cookie: set it whenever clients reach the server over
    /// TLS (behind a proxy included).
    pub secure_cookies: bool,
    /// Session lifetime from login.
    pub session_ttl: Duration,
    /// Time a browser has to come back from Discord with its `state`.
    pub login_ttl: Duration,
    /// Limit of each call to Discord.
    pub upstream_timeout: Duration,
    /// Where the browser lands after login.
    pub after_login: String,
    /// Who administers what (feed it every gateway event).
    pub directory: PermissionDirectory,
    /// Sessions, API tokens and logins in flight.
    pub store: AuthStore,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("client_id", &self.client_id)
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("api_base", &self.api_base)
            .field("redirect_uri", &self.redirect_uri)
            .field("allowed_origins", &self.allowed_origins)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// Real Discord endpoints, for the application `client_id`/`client_secret` whose
    /// registered redirect is `redirect_uri`. Secure cookies when the redirect is `https`;
    /// the redirect's origin is the one allowed origin.
    pub fn discord(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self::with_endpoints(
            client_id,
            client_secret,
            redirect_uri,
            "https://discord.com/oauth2/authorize",
            "https://discord.com/api/v10",
        )
    }

    /// Other endpoints (the simulator: `sim.oauth_authorize_url()`, `sim.api_base()`); the
    /// token endpoint is `{api_base}/oauth2/token`.
    pub fn with_endpoints(
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        authorize_url: &str,
        api_base: &str,
    ) -> Self {
        let api_base = api_base.trim_end_matches('/').to_owned();
        AuthConfig {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            authorize_url: authorize_url.to_owned(),
            token_url: format!("{api_base}/oauth2/token"),
            api_base,
            redirect_uri: redirect_uri.to_owned(),
            scopes: "identify".to_owned(),
            allowed_origins: origin_of(redirect_uri).into_iter().collect(),
            secure_cookies: redirect_uri.starts_with("https://"),
            session_ttl: Duration::from_secs(12 * 3600),
            login_ttl: Duration::from_secs(600),
            upstream_timeout: Duration::from_secs(10),
            after_login: "/".to_owned(),
            directory: PermissionDirectory::new(),
            store: AuthStore::new(),
        }
    }

    /// With this directory (shared with the pipeline that feeds it).
    pub fn with_directory(mut self, directory: PermissionDirectory) -> Self {
        self.directory = directory;
        self
    }

    /// With this store (shared with whatever creates tokens).
    pub fn with_store(mut self, store: AuthStore) -> Self {
        self.store = store;
        self
    }
}

/// `scheme://host[:port]` of an absolute URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://a.example:8443/auth/callback?x").as_deref(),
            Some("https://a.example:8443")
        );
        assert_eq!(origin_of("nope"), None);
        let config = AuthConfig::discord("1", "s", "https://a.example/auth/callback");
        assert!(config.secure_cookies);
        assert_eq!(config.allowed_origins, vec!["https://a.example".to_owned()]);
        assert!(!format!("{config:?}").contains("\"s\""));
    }
}
