//! Server-side sessions, API tokens and pending logins, in memory. Every secret is stored as
//! its SHA-256: the cookie or token itself is shown once and never kept. Revocations are
//! broadcast so open websockets re-check their credential at once.

use super::crypto::{self, SecretHash};
use super::AuthError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// Prefix of API tokens, so they are recognisable in logs, secret scanners and headers.
pub const TOKEN_PREFIX: &str = "gf_";

/// Pending logins kept at most: each costs a little memory, and `/auth/login` is
/// unauthenticated.
const MAX_PENDING: usize = 10_000;
/// Sessions kept at most (expired ones are swept first).
const MAX_SESSIONS: usize = 1_000_000;

/// A logged-in browser.
#[derive(Clone, Debug)]
pub(crate) struct SessionRecord {
    pub user: u64,
    pub username: String,
    /// The CSRF token bound to this session (sent back in `X-CSRF-Token`).
    pub csrf: String,
    pub expires: Instant,
}

/// An API token, as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// Public identifier, for listing and revoking (not a credential).
    pub id: String,
    /// Whose access the token carries.
    #[serde(serialize_with = "as_string")]
    pub user: u64,
    /// Guilds the token may touch (each also needs the user's own access).
    #[serde(serialize_with = "ids_as_strings")]
    pub guilds: Vec<u64>,
    /// The owner's label.
    pub name: String,
    /// Creation time, Unix ms.
    pub created_at: i64,
}

fn as_string<S: serde::Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

fn ids_as_strings<S: serde::Serializer>(ids: &[u64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(u64::to_string))
}

/// An OAuth authorization in flight: `state` → PKCE verifier.
struct Pending {
    verifier: String,
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<SecretHash, SessionRecord>,
    tokens: HashMap<SecretHash, TokenInfo>,
    pending: HashMap<SecretHash, Pending>,
}

/// Sessions, API tokens and pending logins; shared (clones see the same state).
#[derive(Clone)]
pub struct AuthStore {
    inner: Arc<Mutex<Inner>>,
    /// User ids whose credentials were revoked: live sessions re-check theirs.
    revoked: broadcast::Sender<u64>,
}

impl std::fmt::Debug for AuthStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthStore").finish_non_exhaustive()
    }
}

impl Default for AuthStore {
    fn default() -> Self {
        AuthStore {
            inner: Arc::default(),
            revoked: broadcast::channel(256).0,
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl AuthStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    // Plain maps: a panic elsewhere mid-update leaves them usable.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates an API token for `user` limited to `guild_scope`; returns the secret, which
    /// is shown once (only its hash is kept).
    pub fn create_token(
        &self,
        user: u64,
        guild_scope: Vec<u64>,
        name: &str,
    ) -> Result<String, AuthError> {
        let secret = format!("{TOKEN_PREFIX}{}", crypto::random_secret()?);
        // The public id is derived from the hash: listing never needs the secret.
        let digest = crypto::hash(&secret);
        let id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let info = TokenInfo {
            id,
            user,
            guilds: guild_scope,
            name: name.to_owned(),
            created_at: now_ms(),
        };
        self.lock().tokens.insert(digest, info);
        Ok(secret)
    }

    /// The tokens of `user` (None: everyone's), oldest first.
    pub fn list_tokens(&self, user: Option<u64>) -> Vec<TokenInfo> {
        let mut list: Vec<TokenInfo> = self
            .lock()
            .tokens
            .values()
            .filter(|t| user.is_none_or(|u| t.user == u))
            .cloned()
            .collect();
        list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        list
    }

    /// Revokes the token with public id `id`; false when there is none. Its websockets close.
    pub fn revoke_token(&self, id: &str) -> bool {
        let removed = {
            let mut inner = self.lock();
            let key = inner
                .tokens
                .iter()
                .find(|(_, t)| t.id == id)
                .map(|(k, t)| (*k, t.user));
            key.map(|(k, user)| {
                inner.tokens.remove(&k);
                user
            })
        };
        if let Some(user) = removed {
            let _ = self.revoked.send(user);
        }
        removed.is_some()
    }

    /// The token whose secret is `secret`.
    pub(crate) fn token(&self, secret: &str) -> Option<TokenInfo> {
        self.lock().tokens.get(&crypto::hash(secret)).cloned()
    }

    /// Starts a login: a fresh `state` bound to a fresh PKCE verifier for `ttl`. Returns
    /// (state, verifier).
    pub(crate) fn begin_login(&self, ttl: Duration) -> Result<(String, String), AuthError> {
        let state = crypto::random_secret()?;
        let verifier = crypto::random_secret()?;
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.pending.len() >= MAX_PENDING {
            inner.pending.retain(|_, p| p.expires > now);
            if inner.pending.len() >= MAX_PENDING {
                return Err(AuthError::TooManyLogins);
            }
        }
        inner.pending.insert(
            crypto::hash(&state),
            Pending {
                verifier: verifier.clone(),
                expires: now + ttl,
            },
        );
        Ok((state, verifier))
    }

    /// Consumes `state` (single use, even when expired): its verifier, if it was issued here
    /// and has not expired.
    pub(crate) fn finish_login(&self, state: &str) -> Option<String> {
        let pending = self.lock().pending.remove(&crypto::hash(state))?;
        (pending.expires > Instant::now()).then_some(pending.verifier)
    }

    /// Creates a session for `user`; returns its id (the cookie value). `replaces`, the
    /// session the browser had before, is revoked: ids rotate at every login.
    pub(crate) fn create_session(
        &self,
        user: u64,
        username: String,
        ttl: Duration,
        replaces: Option<&str>,
    ) -> Result<String, AuthError> {
        let id = crypto::random_secret()?;
        let csrf = crypto::random_secret()?;
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(old) = replaces {
            inner.sessions.remove(&crypto::hash(old));
        }
        if inner.sessions.len() >= MAX_SESSIONS {
            inner.sessions.retain(|_, s| s.expires > now);
            if inner.sessions.len() >= MAX_SESSIONS {
                return Err(AuthError::TooManySessions);
            }
        }
        inner.sessions.insert(
            crypto::hash(&id),
            SessionRecord {
                user,
                username,
                csrf,
                expires: now + ttl,
            },
        );
        Ok(id)
    }

    /// The live session whose id is `id` (an expired one is removed).
    pub(crate) fn session(&self, id: &str) -> Option<SessionRecord> {
        let key = crypto::hash(id);
        let mut inner = self.lock();
        let record = inner.sessions.get(&key)?;
        if record.expires <= Instant::now() {
            inner.sessions.remove(&key);
            return None;
        }
        Some(record.clone())
    }

    /// Revokes the session `id`; its user's websockets re-check their credentials.
    pub(crate) fn revoke_session(&self, id: &str) -> Option<u64> {
        let user = self
            .lock()
            .sessions
            .remove(&crypto::hash(id))
            .map(|s| s.user);
        if let Some(user) = user {
            let _ = self.revoked.send(user);
        }
        user
    }

    /// Whether a credential (by its hash) is still valid.
    pub(crate) fn is_valid(&self, credential: &super::guard::Credential) -> bool {
        let inner = self.lock();
        match credential {
            super::guard::Credential::Session { hash, .. } => inner
                .sessions
                .get(hash)
                .is_some_and(|s| s.expires > Instant::now()),
            super::guard::Credential::Token { hash, .. } => inner.tokens.contains_key(hash),
        }
    }

    /// Revocation notices (user ids).
    pub(crate) fn revocations(&self) -> broadcast::Receiver<u64> {
        self.revoked.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_listed_and_revoked() {
        let store = AuthStore::new();
        let secret = store.create_token(7, vec![1, 2], "ci").unwrap();
        assert!(secret.starts_with(TOKEN_PREFIX));
        let listed = store.list_tokens(Some(7));
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].guilds, vec![1, 2]);
        assert!(store.list_tokens(Some(8)).is_empty());
        assert_eq!(store.token(&secret).map(|t| t.user), Some(7));
        assert!(store.token("gf_nope").is_none());
        assert!(store.revoke_token(&listed[0].id));
        assert!(store.token(&secret).is_none());
        assert!(!store.revoke_token(&listed[0].id));
    }

    #[test]
    fn login_state_is_single_use_and_expires() {
        let store = AuthStore::new();
        let (state, verifier) = store.begin_login(Duration::from_secs(60)).unwrap();
        assert_eq!(store.finish_login(&state), Some(verifier));
        assert_eq!(store.finish_login(&state), None);
        let (state, _) = store.begin_login(Duration::ZERO).unwrap();
        assert_eq!(store.finish_login(&state), None);
    }

    #[test]
    fn sessions_rotate_and_expire() {
        let store = AuthStore::new();
        let first = store
            .create_session(1, "u".into(), Duration::from_secs(60), None)
            .unwrap();
        let second = store
            .create_session(1, "u".into(), Duration::from_secs(60), Some(&first))
            .unwrap();
        assert!(store.session(&first).is_none());
        assert_eq!(store.session(&second).map(|s| s.user), Some(1));
        assert_eq!(store.revoke_session(&second), Some(1));
        assert!(store.session(&second).is_none());
        let gone = store
            .create_session(1, "u".into(), Duration::ZERO, None)
            .unwrap();
        assert!(store.session(&gone).is_none());
    }
}
