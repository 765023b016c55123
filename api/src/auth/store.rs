//! Server-side sessions, API tokens and pending logins. Every secret is stored as its
//! SHA-256: the cookie or token itself is shown once and never kept. Revocations are
//! broadcast so open websockets re-check their credential at once.
//!
//! [`AuthStore::new`] keeps everything in memory. [`AuthStore::open`] also keeps tokens and
//! sessions under `DATA/auth/` (pending logins stay in memory: they live minutes), so a
//! restart logs nobody out:
//!
//! - `tokens.json`: per API token the SHA-256 of its secret (hex), id, user, name, guild
//!   scope, creation, last use (to the minute, written at most once a minute), expiry and
//!   revocation. `guildflow token` (another process) changes it too: every change is a
//!   read-modify-write under an advisory lock on `tokens.lock`, and an open store re-reads
//!   the file when it changed (checked every second, and on an unknown token at most once a
//!   second); a token revoked there is revoked here, websockets included.
//! - `sessions.json`: per session the SHA-256 of its id, user, username, creation and
//!   expiry; expired sessions are dropped at load. The CSRF token is not stored: it is
//!   derived from the session id (HMAC-SHA256, `crypto::csrf_token`).
//!
//! Both are written whole: a temporary file (mode 0600), fsync, rename, fsync of the
//! directory (mode 0700). A file that does not parse is an error, never guessed around.

use super::crypto::{self, SecretHash};
use super::AuthError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// Prefix of API tokens, so they are recognisable in logs, secret scanners and headers.
pub const TOKEN_PREFIX: &str = "gf_";

/// Pending logins kept at most: each costs a little memory, and `/auth/login` is
/// unauthenticated.
const MAX_PENDING: usize = 10_000;
/// Sessions kept at most (expired ones are swept first).
const MAX_SESSIONS: usize = 1_000_000;

/// The persistent store's folder inside a data directory.
pub const AUTH_DIR: &str = "auth";
const TOKENS_FILE: &str = "tokens.json";
const SESSIONS_FILE: &str = "sessions.json";
const LOCK_FILE: &str = "tokens.lock";
/// The files' `version`.
const FORMAT_VERSION: u32 = 1;
/// A token's `last_used_at` moves at most once a minute...
const LAST_USED_STEP_MS: i64 = 60_000;
/// ... and is written to `tokens.json` at most once a minute.
const FLUSH_EVERY: Duration = Duration::from_secs(60);
/// How often an open store looks at `tokens.json` for changes made by other processes.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// A logged-in browser, as the guard sees it.
#[derive(Clone, Debug)]
pub(crate) struct SessionRecord {
    pub user: u64,
    pub username: String,
    /// The CSRF token bound to this session (sent back in `X-CSRF-Token`), derived from the
    /// session id.
    pub csrf: String,
}

/// A session as kept (and persisted): no secret, no CSRF token.
#[derive(Clone, Debug)]
struct StoredSession {
    user: u64,
    username: String,
    created_at: i64,
    expires_at: i64,
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
    /// When it last authenticated a request, Unix ms, to the minute (None: never).
    pub last_used_at: Option<i64>,
    /// When it stops working, Unix ms (None: never).
    pub expires_at: Option<i64>,
    /// Revoked tokens stay listed but never authenticate again.
    pub revoked: bool,
}

impl TokenInfo {
    /// Whether the token authenticates at `now` (Unix ms): not revoked, not expired.
    pub fn is_active(&self, now: i64) -> bool {
        !self.revoked && self.expires_at.is_none_or(|at| at > now)
    }
}

fn as_string<S: serde::Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

fn ids_as_strings<S: serde::Serializer>(ids: &[u64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(u64::to_string))
}

/// What a new API token is for.
#[derive(Clone, Debug)]
pub struct NewToken {
    /// Whose access it carries.
    pub user: u64,
    /// The guilds it may touch.
    pub guilds: Vec<u64>,
    /// A label for listings.
    pub name: String,
    /// When it stops working, Unix ms (None: never).
    pub expires_at: Option<i64>,
}

/// An OAuth authorization in flight: `state` → PKCE verifier.
struct Pending {
    verifier: String,
    expires: Instant,
}

type TokenMap = HashMap<SecretHash, TokenInfo>;

#[derive(Default)]
struct Inner {
    sessions: HashMap<SecretHash, StoredSession>,
    tokens: TokenMap,
    pending: HashMap<SecretHash, Pending>,
    /// Tokens whose `last_used_at` moved since it was last written.
    used: HashSet<SecretHash>,
}

/// The current time, Unix ms.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data: a panic elsewhere mid-update leaves it usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn token_id(digest: &SecretHash) -> String {
    // Derived from the hash: listing never needs the secret.
    crypto::to_hex(&digest[..8])
}

/// A fresh token: (secret, its hash, its listing).
fn mint(spec: NewToken) -> Result<(String, SecretHash, TokenInfo), AuthError> {
    let secret = format!("{TOKEN_PREFIX}{}", crypto::random_secret()?);
    let digest = crypto::hash(&secret);
    let info = TokenInfo {
        id: token_id(&digest),
        user: spec.user,
        guilds: spec.guilds,
        name: spec.name,
        created_at: now_ms(),
        last_used_at: None,
        expires_at: spec.expires_at,
        revoked: false,
    };
    Ok((secret, digest, info))
}

/// Marks the active-or-expired, unrevoked token `id` revoked; its user.
fn revoke_in(tokens: &mut TokenMap, id: &str) -> Option<u64> {
    tokens
        .values_mut()
        .find(|t| t.id == id && !t.revoked)
        .map(|t| {
            t.revoked = true;
            t.user
        })
}

fn sorted(tokens: impl Iterator<Item = TokenInfo>, user: Option<u64>) -> Vec<TokenInfo> {
    let mut list: Vec<TokenInfo> = tokens
        .filter(|t| user.is_none_or(|u| t.user == u))
        .collect();
    list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    list
}

// ---------------------------------------------------------------------------------------
// Files

#[derive(Serialize, Deserialize)]
struct TokensDoc {
    version: u32,
    tokens: Vec<TokenEntry>,
}

/// One line of `tokens.json`. Ids are strings (Discord ids exceed JSON's safe integers).
#[derive(Serialize, Deserialize)]
struct TokenEntry {
    /// SHA-256 of the secret, hex: the only trace of the secret.
    sha256: String,
    id: String,
    user: String,
    name: String,
    guilds: Vec<String>,
    created_at: i64,
    #[serde(default)]
    last_used_at: Option<i64>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    revoked: bool,
}

#[derive(Serialize, Deserialize)]
struct SessionsDoc {
    version: u32,
    sessions: Vec<SessionEntry>,
}

/// One line of `sessions.json`.
#[derive(Serialize, Deserialize)]
struct SessionEntry {
    /// SHA-256 of the session id (the cookie), hex.
    sha256: String,
    user: String,
    username: String,
    created_at: i64,
    expires_at: i64,
}

fn storage(path: &Path, error: &dyn std::fmt::Display) -> AuthError {
    AuthError::Storage {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

fn corrupt(path: &Path, message: impl Into<String>) -> AuthError {
    AuthError::Corrupt {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn parse_id(path: &Path, what: &str, text: &str) -> Result<u64, AuthError> {
    text.parse()
        .map_err(|_| corrupt(path, format!("bad {what} {text:?}")))
}

fn parse_hash(path: &Path, hex: &str) -> Result<SecretHash, AuthError> {
    crypto::hash_from_hex(hex).ok_or_else(|| corrupt(path, format!("bad sha256 {hex:?}")))
}

/// The folder (0700), created when absent.
fn ensure_dir(dir: &Path) -> Result<(), AuthError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| storage(dir, &e))
}

/// `path` parsed, None when it does not exist.
fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, AuthError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(storage(path, &e)),
    };
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "readable by others: it will be rewritten with mode 0600");
        }
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| corrupt(path, e.to_string()))
}

/// Replaces `path` with `value` as a whole: temporary file (0600), fsync, rename, fsync of
/// the directory. A crash leaves the old file or the new one, never a mix.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), AuthError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| storage(path, &e))?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "auth".into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = replace_file(&tmp, path, dir, &bytes);
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        storage(path, &e)
    })
}

fn replace_file(tmp: &Path, path: &Path, dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(tmp)?;
    // `mode` applies only at creation (and under the umask): make sure.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)?;
    File::open(dir)?.sync_all()
}

/// What a file was when last read or written, to notice another process replacing it (the
/// inode changes at every rename).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Signature {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn signature(path: &Path) -> Option<Signature> {
    fs::metadata(path).ok().map(|m| Signature {
        modified: m.modified().ok(),
        len: m.len(),
        inode: m.ino(),
    })
}

/// A data directory's `auth/tokens.json`, shared by processes: the CLI's
/// `guildflow token create|list|revoke` and a running server's [`AuthStore`]. Changes are
/// read-modify-writes under an advisory lock (`auth/tokens.lock`); reads need no lock (the
/// file is replaced whole). Touches nothing else of the data directory, so it works while a
/// server holds the directory's store.
#[derive(Clone, Debug)]
pub struct TokenFile {
    dir: PathBuf,
}

impl TokenFile {
    /// The token file of data directory `data`; nothing is read or created yet.
    pub fn new(data: &Path) -> Self {
        TokenFile {
            dir: data.join(AUTH_DIR),
        }
    }

    /// `DATA/auth/tokens.json`.
    pub fn path(&self) -> PathBuf {
        self.dir.join(TOKENS_FILE)
    }

    /// The tokens on disk and the file's signature (taken first: a change after it is seen
    /// at the next check).
    fn read(&self) -> Result<(TokenMap, Option<Signature>), AuthError> {
        let path = self.path();
        let seen = signature(&path);
        let Some(doc) = read_json::<TokensDoc>(&path)? else {
            return Ok((TokenMap::new(), seen));
        };
        if doc.version != FORMAT_VERSION {
            return Err(corrupt(
                &path,
                format!("unknown format version {}", doc.version),
            ));
        }
        let mut tokens = TokenMap::with_capacity(doc.tokens.len());
        for entry in doc.tokens {
            let digest = parse_hash(&path, &entry.sha256)?;
            let guilds = entry
                .guilds
                .iter()
                .map(|g| parse_id(&path, "guild", g))
                .collect::<Result<_, _>>()?;
            let info = TokenInfo {
                id: token_id(&digest),
                user: parse_id(&path, "user", &entry.user)?,
                guilds,
                name: entry.name,
                created_at: entry.created_at,
                last_used_at: entry.last_used_at,
                expires_at: entry.expires_at,
                revoked: entry.revoked,
            };
            if info.id != entry.id {
                return Err(corrupt(
                    &path,
                    format!("token id {:?} does not match its hash", entry.id),
                ));
            }
            tokens.insert(digest, info);
        }
        Ok((tokens, seen))
    }

    fn encode(tokens: &TokenMap) -> TokensDoc {
        let mut entries: Vec<(&SecretHash, &TokenInfo)> = tokens.iter().collect();
        entries.sort_by(|(_, a), (_, b)| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        TokensDoc {
            version: FORMAT_VERSION,
            tokens: entries
                .into_iter()
                .map(|(digest, t)| TokenEntry {
                    sha256: crypto::to_hex(digest),
                    id: t.id.clone(),
                    user: t.user.to_string(),
                    name: t.name.clone(),
                    guilds: t.guilds.iter().map(u64::to_string).collect(),
                    created_at: t.created_at,
                    last_used_at: t.last_used_at,
                    expires_at: t.expires_at,
                    revoked: t.revoked,
                })
                .collect(),
        }
    }

    /// Applies `change` to the tokens on disk under the lock, writing them back when it
    /// returns true. Returns its answer, the tokens now on disk and the file's signature.
    fn update(
        &self,
        change: impl FnOnce(&mut TokenMap) -> bool,
    ) -> Result<(bool, TokenMap, Option<Signature>), AuthError> {
        ensure_dir(&self.dir)?;
        let lock_path = self.dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| storage(&lock_path, &e))?;
        lock.lock().map_err(|e| storage(&lock_path, &e))?;
        let (mut tokens, seen) = self.read()?;
        if !change(&mut tokens) {
            return Ok((false, tokens, seen));
        }
        let path = self.path();
        write_json(&path, &Self::encode(&tokens))?;
        let seen = signature(&path);
        // Released when `lock` closes.
        drop(lock);
        Ok((true, tokens, seen))
    }

    /// Every token (of `user`, or everyone's), oldest first, revoked and expired ones
    /// included.
    pub fn list(&self, user: Option<u64>) -> Result<Vec<TokenInfo>, AuthError> {
        let (tokens, _) = self.read()?;
        Ok(sorted(tokens.into_values(), user))
    }

    /// Creates a token; returns its secret, to show once (only its hash is written), and
    /// its listing.
    pub fn create(&self, spec: NewToken) -> Result<(String, TokenInfo), AuthError> {
        let (secret, digest, info) = mint(spec)?;
        let listed = info.clone();
        self.update(move |tokens| {
            tokens.insert(digest, info);
            true
        })?;
        Ok((secret, listed))
    }

    /// Revokes the token with public id `id`; false when no unrevoked token has this id.
    pub fn revoke(&self, id: &str) -> Result<bool, AuthError> {
        let (revoked, _, _) = self.update(|tokens| revoke_in(tokens, id).is_some())?;
        Ok(revoked)
    }
}

fn read_sessions(
    path: &Path,
    now: i64,
) -> Result<(HashMap<SecretHash, StoredSession>, usize), AuthError> {
    let Some(doc) = read_json::<SessionsDoc>(path)? else {
        return Ok((HashMap::new(), 0));
    };
    if doc.version != FORMAT_VERSION {
        return Err(corrupt(
            path,
            format!("unknown format version {}", doc.version),
        ));
    }
    let mut sessions = HashMap::with_capacity(doc.sessions.len());
    let mut expired = 0;
    for entry in doc.sessions {
        let digest = parse_hash(path, &entry.sha256)?;
        let user = parse_id(path, "user", &entry.user)?;
        if entry.expires_at <= now {
            expired += 1;
            continue;
        }
        sessions.insert(
            digest,
            StoredSession {
                user,
                username: entry.username,
                created_at: entry.created_at,
                expires_at: entry.expires_at,
            },
        );
    }
    Ok((sessions, expired))
}

/// The persistent half of a store opened on a data directory.
struct Files {
    tokens: TokenFile,
    sessions: PathBuf,
    /// Orders token-file reads and writes with their installation in memory.
    disk: Mutex<Disk>,
    /// Orders session-file writes (snapshot and write together).
    session_writes: Mutex<()>,
}

struct Disk {
    /// `tokens.json` as last read or written here.
    seen: Option<Signature>,
    /// Last look at it.
    checked: Option<Instant>,
    /// Last write of `last_used_at`.
    flushed: Option<Instant>,
}

// ---------------------------------------------------------------------------------------
// The store

struct Shared {
    inner: Mutex<Inner>,
    /// User ids whose credentials were revoked: live sessions re-check theirs.
    revoked: broadcast::Sender<u64>,
    files: Option<Files>,
}

/// Sessions, API tokens and pending logins; shared (clones see the same state). In memory
/// ([`AuthStore::new`]) or kept in a data directory ([`AuthStore::open`]).
#[derive(Clone)]
pub struct AuthStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AuthStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthStore")
            .field(
                "dir",
                &self.shared.files.as_ref().map(|f| f.tokens.dir.clone()),
            )
            .finish_non_exhaustive()
    }
}

impl Default for AuthStore {
    fn default() -> Self {
        AuthStore {
            shared: Arc::new(Shared {
                inner: Mutex::default(),
                revoked: broadcast::channel(256).0,
                files: None,
            }),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last minute of token use, best effort.
        self.flush_last_used(true);
    }
}

impl Shared {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    fn notify(&self, users: impl IntoIterator<Item = u64>) {
        let mut seen = HashSet::new();
        for user in users {
            if seen.insert(user) {
                let _ = self.revoked.send(user);
            }
        }
    }

    /// Replaces the tokens in memory with `tokens` (just read or written), keeping uses not
    /// written yet; the users of tokens that stopped working are notified.
    fn install(&self, mut tokens: TokenMap) {
        let now = now_ms();
        let lost: Vec<u64> = {
            let mut inner = self.inner();
            let Inner {
                tokens: current,
                used,
                ..
            } = &mut *inner;
            for key in used.iter() {
                if let (Some(new), Some(old)) = (tokens.get_mut(key), current.get(key)) {
                    new.last_used_at = new.last_used_at.max(old.last_used_at);
                }
            }
            used.retain(|key| tokens.contains_key(key));
            let lost = current
                .iter()
                .filter(|(key, t)| {
                    t.is_active(now) && !tokens.get(*key).is_some_and(|n| n.is_active(now))
                })
                .map(|(_, t)| t.user)
                .collect();
            *current = tokens;
            lost
        };
        self.notify(lost);
    }

    /// Re-reads `tokens.json` when another process replaced it. Looks at most once per
    /// [`RELOAD_EVERY`] unless `force`. True when the tokens were re-read.
    fn reload_tokens(&self, force: bool) -> bool {
        let Some(files) = &self.files else {
            return false;
        };
        let mut disk = lock(&files.disk);
        if !force && disk.checked.is_some_and(|at| at.elapsed() < RELOAD_EVERY) {
            return false;
        }
        disk.checked = Some(Instant::now());
        let now_seen = signature(&files.tokens.path());
        if now_seen == disk.seen {
            return false;
        }
        match files.tokens.read() {
            Ok((tokens, seen)) => {
                disk.seen = seen;
                self.install(tokens);
            }
            Err(error) => {
                // Fail closed: a file that cannot be read may hold revocations.
                tracing::error!(%error, "cannot re-read the API tokens: every token is refused until the file is fixed");
                disk.seen = now_seen;
                self.install(TokenMap::new());
            }
        }
        true
    }

    /// Writes the `last_used_at` that moved, at most once per [`FLUSH_EVERY`] unless
    /// `force`.
    fn flush_last_used(&self, force: bool) {
        let Some(files) = &self.files else {
            return;
        };
        let mut disk = lock(&files.disk);
        if !force && disk.flushed.is_some_and(|at| at.elapsed() < FLUSH_EVERY) {
            return;
        }
        let used: HashMap<SecretHash, i64> = {
            let mut inner = self.inner();
            let used = std::mem::take(&mut inner.used);
            used.into_iter()
                .filter_map(|key| {
                    let at = inner.tokens.get(&key)?.last_used_at?;
                    Some((key, at))
                })
                .collect()
        };
        if used.is_empty() {
            return;
        }
        disk.flushed = Some(Instant::now());
        let written = files.tokens.update(|tokens| {
            let mut changed = false;
            for (key, at) in &used {
                if let Some(t) = tokens.get_mut(key) {
                    if t.last_used_at < Some(*at) {
                        t.last_used_at = Some(*at);
                        changed = true;
                    }
                }
            }
            changed
        });
        match written {
            Ok((_, tokens, seen)) => {
                disk.seen = seen;
                self.install(tokens);
            }
            Err(error) => {
                tracing::warn!(%error, "cannot record when API tokens were last used");
                self.inner().used.extend(used.into_keys());
            }
        }
    }

    /// Writes the live sessions, best effort: a failure is logged (a restart would then
    /// lose the newest sessions, or bring back one logged out since).
    fn persist_sessions(&self) {
        let Some(files) = &self.files else {
            return;
        };
        let _writing = lock(&files.session_writes);
        let now = now_ms();
        let mut sessions: Vec<SessionEntry> = self
            .inner()
            .sessions
            .iter()
            .filter(|(_, s)| s.expires_at > now)
            .map(|(digest, s)| SessionEntry {
                sha256: crypto::to_hex(digest),
                user: s.user.to_string(),
                username: s.username.clone(),
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.sha256).cmp(&(b.created_at, &b.sha256)));
        let doc = SessionsDoc {
            version: FORMAT_VERSION,
            sessions,
        };
        if let Err(error) = write_json(&files.sessions, &doc) {
            tracing::error!(%error, "cannot persist the sessions: a restart would lose the newest ones or bring back ones logged out since");
        }
    }
}

/// The watcher of an opened store: picks up token changes of other processes and writes
/// token use; ends when the store is dropped.
fn watch(shared: &Weak<Shared>) {
    loop {
        std::thread::sleep(RELOAD_EVERY);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.reload_tokens(false);
        shared.flush_last_used(false);
    }
}

impl AuthStore {
    /// An empty store in memory: a restart forgets everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store kept under `data/auth/` (created 0700 when absent): its tokens and live
    /// sessions are loaded (expired sessions dropped); a file that does not parse is an
    /// [`AuthError::Corrupt`]. A thread watches `tokens.json` for changes made by other
    /// processes (`guildflow token`) while the store lives.
    pub fn open(data: &Path) -> Result<Self, AuthError> {
        let tokens = TokenFile::new(data);
        ensure_dir(&tokens.dir)?;
        let (token_map, seen) = tokens.read()?;
        let sessions_path = tokens.dir.join(SESSIONS_FILE);
        let (sessions, expired) = read_sessions(&sessions_path, now_ms())?;
        let dir = tokens.dir.clone();
        let store = AuthStore {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    sessions,
                    tokens: token_map,
                    ..Inner::default()
                }),
                revoked: broadcast::channel(256).0,
                files: Some(Files {
                    tokens,
                    sessions: sessions_path,
                    disk: Mutex::new(Disk {
                        seen,
                        checked: None,
                        flushed: None,
                    }),
                    session_writes: Mutex::new(()),
                }),
            }),
        };
        if expired > 0 {
            store.shared.persist_sessions();
        }
        let weak = Arc::downgrade(&store.shared);
        std::thread::Builder::new()
            .name("guildflow-auth".into())
            .spawn(move || watch(&weak))
            .map_err(|e| storage(&dir, &format!("cannot start the token watcher: {e}")))?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.inner()
    }

    /// Creates an API token for `user` limited to `guild_scope`; returns the secret, which
    /// is shown once (only its hash is kept).
    pub fn create_token(
        &self,
        user: u64,
        guild_scope: Vec<u64>,
        name: &str,
    ) -> Result<String, AuthError> {
        self.create_token_with(NewToken {
            user,
            guilds: guild_scope,
            name: name.to_owned(),
            expires_at: None,
        })
        .map(|(secret, _)| secret)
    }

    /// Creates an API token as `spec` says; returns the secret (shown once: only its hash
    /// is kept) and its listing. Written to `tokens.json` first when the store is opened on a
    /// data directory.
    pub fn create_token_with(&self, spec: NewToken) -> Result<(String, TokenInfo), AuthError> {
        let Some(files) = &self.shared.files else {
            let (secret, digest, info) = mint(spec)?;
            self.lock().tokens.insert(digest, info.clone());
            return Ok((secret, info));
        };
        let mut disk = lock(&files.disk);
        let (secret, digest, info) = mint(spec)?;
        let listed = info.clone();
        let (_, tokens, seen) = files.tokens.update(move |tokens| {
            tokens.insert(digest, info);
            true
        })?;
        disk.seen = seen;
        self.shared.install(tokens);
        Ok((secret, listed))
    }

    /// The tokens of `user` (None: everyone's), oldest first, revoked and expired ones
    /// included.
    pub fn list_tokens(&self, user: Option<u64>) -> Vec<TokenInfo> {
        sorted(self.lock().tokens.values().cloned(), user)
    }

    /// Revokes the token with public id `id`; false when there is no unrevoked one. Its
    /// websockets close. A failure to write `tokens.json` is logged (the token is refused
    /// here all the same); [`AuthStore::try_revoke_token`] reports it.
    pub fn revoke_token(&self, id: &str) -> bool {
        self.try_revoke_token(id).unwrap_or_else(|error| {
            tracing::error!(%error, id, "the token is revoked in memory but could not be revoked on disk");
            true
        })
    }

    /// Revokes the token with public id `id`: Ok(false) when there is no unrevoked one; an
    /// error when `tokens.json` could not be written (the token is refused by this store all
    /// the same). Its websockets close.
    pub fn try_revoke_token(&self, id: &str) -> Result<bool, AuthError> {
        let Some(files) = &self.shared.files else {
            let user = revoke_in(&mut self.lock().tokens, id);
            self.shared.notify(user);
            return Ok(user.is_some());
        };
        let mut disk = lock(&files.disk);
        match files
            .tokens
            .update(|tokens| revoke_in(tokens, id).is_some())
        {
            Ok((revoked, tokens, seen)) => {
                disk.seen = seen;
                self.shared.install(tokens);
                Ok(revoked)
            }
            Err(error) => {
                let user = revoke_in(&mut self.lock().tokens, id);
                self.shared.notify(user);
                match user {
                    Some(_) => Err(error),
                    None => Ok(false),
                }
            }
        }
    }

    /// Writes the `last_used_at` of tokens used since the last write now (otherwise at
    /// most once a minute, and when the store is dropped).
    pub fn flush(&self) {
        self.shared.flush_last_used(true);
    }

    /// The active token whose secret is `secret`. Records its use (to the minute). An
    /// unknown secret makes an opened store look at `tokens.json` (at most once a second),
    /// for tokens the CLI just created.
    pub(crate) fn token(&self, secret: &str) -> Option<TokenInfo> {
        let key = crypto::hash(secret);
        if let Some(info) = self.active_token(&key) {
            return Some(info);
        }
        if self.shared.reload_tokens(false) {
            self.active_token(&key)
        } else {
            None
        }
    }

    fn active_token(&self, key: &SecretHash) -> Option<TokenInfo> {
        let now = now_ms();
        let mut inner = self.lock();
        let Inner { tokens, used, .. } = &mut *inner;
        let info = tokens.get_mut(key).filter(|t| t.is_active(now))?;
        if info
            .last_used_at
            .is_none_or(|at| now - at >= LAST_USED_STEP_MS)
        {
            info.last_used_at = Some(now);
            used.insert(*key);
        }
        Some(info.clone())
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
        let now = now_ms();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        {
            let mut inner = self.lock();
            if let Some(old) = replaces {
                inner.sessions.remove(&crypto::hash(old));
            }
            if inner.sessions.len() >= MAX_SESSIONS {
                inner.sessions.retain(|_, s| s.expires_at > now);
                if inner.sessions.len() >= MAX_SESSIONS {
                    return Err(AuthError::TooManySessions);
                }
            }
            inner.sessions.insert(
                crypto::hash(&id),
                StoredSession {
                    user,
                    username,
                    created_at: now,
                    expires_at: now.saturating_add(ttl_ms),
                },
            );
        }
        self.shared.persist_sessions();
        Ok(id)
    }

    /// The live session whose id is `id` (an expired one is removed), with its CSRF token.
    pub(crate) fn session(&self, id: &str) -> Option<SessionRecord> {
        let key = crypto::hash(id);
        let mut inner = self.lock();
        let record = inner.sessions.get(&key)?;
        if record.expires_at <= now_ms() {
            inner.sessions.remove(&key);
            return None;
        }
        Some(SessionRecord {
            user: record.user,
            username: record.username.clone(),
            csrf: crypto::csrf_token(id),
        })
    }

    /// Revokes the session `id`; its user's websockets re-check their credentials.
    pub(crate) fn revoke_session(&self, id: &str) -> Option<u64> {
        let user = self
            .lock()
            .sessions
            .remove(&crypto::hash(id))
            .map(|s| s.user);
        if user.is_some() {
            self.shared.persist_sessions();
        }
        self.shared.notify(user);
        user
    }

    /// Whether a credential (by its hash) is still valid.
    pub(crate) fn is_valid(&self, credential: &super::guard::Credential) -> bool {
        let now = now_ms();
        let inner = self.lock();
        match credential {
            super::guard::Credential::Session { hash, .. } => {
                inner.sessions.get(hash).is_some_and(|s| s.expires_at > now)
            }
            super::guard::Credential::Token { hash, .. } => {
                inner.tokens.get(hash).is_some_and(|t| t.is_active(now))
            }
        }
    }

    /// Revocation notices (user ids).
    pub(crate) fn revocations(&self) -> broadcast::Receiver<u64> {
        self.shared.revoked.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temp dir.
    fn temp_dir(name: &str) -> PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "guildflow-auth-{name}-{}-{nanos}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn spec(user: u64, guilds: Vec<u64>, name: &str) -> NewToken {
        NewToken {
            user,
            guilds,
            name: name.to_owned(),
            expires_at: None,
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

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
        assert!(store.list_tokens(Some(7))[0].revoked);
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

    #[test]
    fn expired_tokens_are_refused() {
        let store = AuthStore::new();
        let mut old = spec(1, vec![2], "old");
        old.expires_at = Some(now_ms() - 1);
        let (secret, info) = store.create_token_with(old).unwrap();
        assert!(!info.is_active(now_ms()));
        assert!(store.token(&secret).is_none());
        let mut later = spec(1, vec![2], "later");
        later.expires_at = Some(now_ms() + 60_000);
        let (secret, _) = store.create_token_with(later).unwrap();
        assert!(store.token(&secret).is_some());
    }

    #[test]
    fn tokens_and_sessions_survive_a_restart() {
        let dir = temp_dir("round-trip");
        let store = AuthStore::open(&dir).unwrap();
        let (secret, info) = store
            .create_token_with(NewToken {
                expires_at: Some(now_ms() + 3_600_000),
                ..spec(u64::MAX - 1, vec![10, 11], "ci")
            })
            .unwrap();
        let revoked = store.create_token(5, vec![10], "gone").unwrap();
        let revoked_id = store.list_tokens(Some(5))[0].id.clone();
        assert!(store.try_revoke_token(&revoked_id).unwrap());
        assert!(store.token(&secret).is_some());
        store.flush();
        let session = store
            .create_session(9, "nine".into(), Duration::from_secs(600), None)
            .unwrap();
        let csrf = store.session(&session).unwrap().csrf;
        let short = store
            .create_session(9, "nine".into(), Duration::from_millis(50), None)
            .unwrap();
        drop(store);
        std::thread::sleep(Duration::from_millis(100));

        let store = AuthStore::open(&dir).unwrap();
        let again = store.token(&secret).unwrap();
        assert_eq!(again.id, info.id);
        assert_eq!(again.user, u64::MAX - 1);
        assert_eq!(again.guilds, vec![10, 11]);
        assert_eq!(again.expires_at, info.expires_at);
        assert!(again.last_used_at.is_some(), "use is written on flush");
        assert!(store.token(&revoked).is_none());
        assert!(store.list_tokens(Some(5))[0].revoked);
        let record = store.session(&session).unwrap();
        assert_eq!((record.user, record.username.as_str()), (9, "nine"));
        assert_eq!(record.csrf, csrf, "the CSRF token is derived again");
        assert!(store.session(&short).is_none());
        assert_eq!(
            store.lock().sessions.len(),
            1,
            "expired sessions dropped at load"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_hold_hashes_only_with_mode_0600() {
        let dir = temp_dir("hashes");
        let store = AuthStore::open(&dir).unwrap();
        let secret = store.create_token(1, vec![2], "ci").unwrap();
        let session = store
            .create_session(1, "u".into(), Duration::from_secs(60), None)
            .unwrap();
        let csrf = store.session(&session).unwrap().csrf;
        let auth = dir.join(AUTH_DIR);
        let tokens = fs::read_to_string(auth.join(TOKENS_FILE)).unwrap();
        let sessions = fs::read_to_string(auth.join(SESSIONS_FILE)).unwrap();
        for text in [&tokens, &sessions] {
            for secret in [
                secret.as_str(),
                secret.trim_start_matches(TOKEN_PREFIX),
                session.as_str(),
                csrf.as_str(),
            ] {
                assert!(!text.contains(secret), "a secret in the files: {text}");
            }
        }
        assert!(tokens.contains(&crypto::to_hex(&crypto::hash(&secret))));
        assert!(sessions.contains(&crypto::to_hex(&crypto::hash(&session))));
        assert_eq!(mode(&auth.join(TOKENS_FILE)), 0o600);
        assert_eq!(mode(&auth.join(SESSIONS_FILE)), 0o600);
        assert_eq!(mode(&auth.join(LOCK_FILE)), 0o600);
        assert_eq!(mode(&auth), 0o700);
        let leftovers: Vec<_> = fs::read_dir(&auth)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn torn_or_corrupt_files_are_clear_errors() {
        let dir = temp_dir("corrupt");
        let store = AuthStore::open(&dir).unwrap();
        store.create_token(1, vec![2], "ci").unwrap();
        store
            .create_session(1, "u".into(), Duration::from_secs(60), None)
            .unwrap();
        drop(store);
        let auth = dir.join(AUTH_DIR);
        for file in [TOKENS_FILE, SESSIONS_FILE] {
            let path = auth.join(file);
            let good = fs::read(&path).unwrap();
            let broken: [Vec<u8>; 4] = [
                good[..good.len() / 2].to_vec(),
                Vec::new(),
                b"{\"version\":2,\"tokens\":[],\"sessions\":[]}".to_vec(),
                String::from_utf8_lossy(&good)
                    .replacen("\"sha256\": \"", "\"sha256\": \"zz", 1)
                    .into_bytes(),
            ];
            for bytes in broken {
                fs::write(&path, &bytes).unwrap();
                let error = AuthStore::open(&dir).unwrap_err();
                assert!(matches!(error, AuthError::Corrupt { .. }), "{error:?}");
                let message = error.to_string();
                assert!(
                    message.contains(file) && message.contains("corrupt"),
                    "{message}"
                );
            }
            fs::write(&path, &good).unwrap();
        }
        fs::write(auth.join(TOKENS_FILE), b"{").unwrap();
        assert!(TokenFile::new(&dir).list(None).is_err());
        assert!(TokenFile::new(&dir).revoke("00").is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn another_process_s_tokens_reach_an_open_store() {
        let dir = temp_dir("watch");
        let store = AuthStore::open(&dir).unwrap();
        let mut revocations = store.revocations();
        let cli = TokenFile::new(&dir);
        let (secret, info) = cli.create(spec(3, vec![4], "cli")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(3);
        while store.token(&secret).is_none() {
            assert!(Instant::now() < deadline, "the new token was never seen");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(cli.revoke(&info.id).unwrap());
        assert!(!cli.revoke(&info.id).unwrap());
        let deadline = Instant::now() + Duration::from_secs(3);
        while store.token(&secret).is_some() {
            assert!(Instant::now() < deadline, "the revocation was never seen");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its websockets are told at once.
        assert_eq!(revocations.try_recv().ok(), Some(3));
        assert!(cli.list(None).unwrap()[0].revoked);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = temp_dir("concurrent");
        let store = AuthStore::open(&dir).unwrap();
        let (secret, _) = store.create_token_with(spec(1, vec![1], "server")).unwrap();
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let cli = TokenFile::new(&dir);
                std::thread::spawn(move || {
                    for i in 0..10 {
                        cli.create(spec(w, vec![i], "cli")).unwrap();
                    }
                })
            })
            .collect();
        // The server writes use meanwhile.
        assert!(store.token(&secret).is_some());
        store.flush();
        for writer in writers {
            writer.join().unwrap();
        }
        let listed = TokenFile::new(&dir).list(None).unwrap();
        assert_eq!(listed.len(), 41);
        let server = listed.iter().find(|t| t.name == "server").unwrap();
        assert!(server.last_used_at.is_some());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn use_is_recorded_to_the_minute() {
        let store = AuthStore::new();
        let secret = store.create_token(1, vec![1], "ci").unwrap();
        let first = store.token(&secret).unwrap().last_used_at;
        assert!(first.is_some());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.token(&secret).unwrap().last_used_at, first);
    }
}
