//! [`PostgresJournal`]: the admin plane kept in PostgreSQL's admin tables (migrations 0003 and
//! 0004) instead of the data directory's `admin.jsonl`, so psql and Grafana users see settings,
//! rules, warnings, the moderation and audit logs and opt-outs as proper rows.
//!
//! The [`Journal`] trait is synchronous (the plane calls it under its lock, from blocking
//! threads and at start), so the journal owns one OS thread running a current-thread tokio
//! runtime and one `tokio_postgres::Client`; `append` and `load` send it a request over a std
//! channel and block on the reply. Every write is idempotent (upserts by our ids, `ON CONFLICT
//! DO NOTHING`), so the one retry after a broken connection cannot apply a change twice even if
//! the first attempt committed before the connection broke.
//!
//! Mapping (docs/POSTGRES.md, "The admin plane in PostgreSQL"):
//! - `Settings` → upsert `guild_settings` (`version` + 1, `updated_at`, `updated_by`);
//! - `Automod` → in one transaction, the guild's `automod_rules` rows become the rules (deleted,
//!   updated or inserted with our ids; `priority` is the rule's position), and
//!   `guild_settings.automod_escalation` the escalation steps (a row created only for them has
//!   `version` 0: settings never saved);
//! - `Warning` → insert `warnings`; `WarningRevoked` → `revoked_at`, `revoked_by`;
//! - `Moderation` → upsert `moderation_logs` by id (`done` is stored as `succeeded`);
//! - `Audit` → insert `audit_logs` (`target` `kind:id` split into `target_type`, `target_id`);
//! - `OptOut` → insert into or delete from `stats_opt_outs`.

use crate::error::AdminError;
use crate::journal::{Change, Journal};
use crate::records::{rfc3339, ActionSource, ActionStatus, AuditEntry, ModerationEntry, Warning};
use crate::settings::GuildConfig;
use guildflow_dataflow::automod::{AutomodConfig, AutomodRule};
use guildflow_model::{ChannelId, GuildId, MessageId, RoleId, UserId};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_postgres::types::FromSql;
use tokio_postgres::{Client, IsolationLevel, NoTls, Row};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one append may take before the connection is taken as broken.
const APPEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long reading every table back at start may take (a long moderation log is large).
const LOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// The columns the journal writes that a database migrated to 0004 has; checked at open so a
/// database that was never migrated fails with a clear message rather than at the first change.
const REQUIRED_COLUMNS: &[(&str, &str)] = &[
    ("guild_settings", "automod_escalation"),
    ("automod_rules", "exempt_channels"),
    ("moderation_logs", "source"),
    ("moderation_logs", "rule_name"),
    ("moderation_logs", "fired_rule_id"),
    ("warnings", "revoked_by"),
    ("audit_logs", "target_type"),
    ("stats_opt_outs", "user_id"),
];

/// The admin plane's journal in PostgreSQL. Open it with [`PostgresJournal::open`]; the
/// tables must have been migrated (`guildflow migrate --postgres URL`).
pub struct PostgresJournal {
    requests: Mutex<Option<mpsc::Sender<Request>>>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresJournal").finish_non_exhaustive()
    }
}

enum Op {
    Append(Box<Change>),
    Load,
}

enum Reply {
    Appended,
    Loaded(Vec<Change>),
}

struct Request {
    op: Op,
    reply: mpsc::SyncSender<Result<Reply, AdminError>>,
}

impl PostgresJournal {
    /// Connects to `url` (a `postgres://` URL or `key=value` string, without TLS, as the
    /// PostgreSQL sink) on the journal's own thread and checks that the admin tables exist.
    pub fn open(url: &str) -> Result<PostgresJournal, AdminError> {
        let (requests, receiver) = mpsc::channel();
        let (ready, started) = mpsc::sync_channel(1);
        let url = url.to_owned();
        let worker = std::thread::Builder::new()
            .name("admin-postgres".into())
            .spawn(move || serve(url, receiver, ready))?;
        match started.recv() {
            Ok(Ok(())) => Ok(PostgresJournal {
                requests: Mutex::new(Some(requests)),
                worker: Some(worker),
            }),
            Ok(Err(error)) => {
                let _ = worker.join();
                Err(error)
            }
            Err(_) => {
                let _ = worker.join();
                Err(gone())
            }
        }
    }

    fn call(&self, op: Op) -> Result<Reply, AdminError> {
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
            requests
                .as_ref()
                .ok_or_else(gone)?
                .send(Request { op, reply })
                .map_err(|_| gone())?;
        }
        answer.recv().map_err(|_| gone())?
    }
}

impl Journal for PostgresJournal {
    fn append(&self, change: &Change) -> Result<(), AdminError> {
        match self.call(Op::Append(Box::new(change.clone())))? {
            Reply::Appended => Ok(()),
            Reply::Loaded(_) => Err(AdminError::Storage(
                "admin journal: unexpected reply".into(),
            )),
        }
    }

    fn load(&self) -> Result<Vec<Change>, AdminError> {
        match self.call(Op::Load)? {
            Reply::Loaded(changes) => Ok(changes),
            Reply::Appended => Err(AdminError::Storage(
                "admin journal: unexpected reply".into(),
            )),
        }
    }
}

impl Drop for PostgresJournal {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has answered what was sent.
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                tracing::warn!("the admin journal's PostgreSQL thread panicked");
            }
        }
    }
}

fn gone() -> AdminError {
    AdminError::Storage("the admin journal's PostgreSQL thread has stopped".into())
}

/// The journal's thread: a current-thread runtime and a connection, one request at a time.
fn serve(
    url: String,
    requests: mpsc::Receiver<Request>,
    ready: mpsc::SyncSender<Result<(), AdminError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(AdminError::Storage(format!(
                "cannot start the admin journal's runtime: {e}"
            ))));
            return;
        }
    };
    let mut link = Link { url, client: None };
    let started = runtime.block_on(link.start());
    let ok = started.is_ok();
    let _ = ready.send(started);
    if !ok {
        return;
    }
    while let Ok(request) = requests.recv() {
        let result = runtime.block_on(link.run(&request.op));
        let _ = request.reply.send(result);
    }
}

/// Why an operation failed: the database (maybe a broken connection), or our data.
enum Failure {
    Db(tokio_postgres::Error),
    Other(AdminError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Db(e)
    }
}

fn invalid_data(message: String) -> Failure {
    Failure::Other(AdminError::Storage(message))
}

/// A PostgreSQL error with the server's message, code and detail when there is one.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => e.to_string(),
    }
}

fn db_error(e: &tokio_postgres::Error) -> AdminError {
    AdminError::Storage(format!("PostgreSQL: {}", describe(e)))
}

/// Whether `e` means the connection is unusable (rather than a refused statement).
fn broken(e: &tokio_postgres::Error, client: &Client) -> bool {
    if client.is_closed() || e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        // 08: connection exception; 57P: operator intervention (shutdown, crash, restart).
        let code = code.code();
        return code.starts_with("08") || code.starts_with("57P");
    }
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

async fn connect(url: &str) -> Result<Client, AdminError> {
    let (client, connection) =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(url, NoTls))
            .await
            .map_err(|_| {
                AdminError::Storage(format!(
                    "cannot connect to PostgreSQL within {}s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| {
                AdminError::Storage(format!("cannot connect to PostgreSQL: {}", describe(&e)))
            })?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "admin journal connection ended");
        }
    });
    // `append` must be durable when it returns: never with asynchronous commit.
    let setting = client
        .query_one("SHOW synchronous_commit", &[])
        .await
        .and_then(|row| row.try_get::<_, String>(0))
        .map_err(|e| db_error(&e))?;
    if setting == "off" {
        client
            .batch_execute("SET synchronous_commit = on")
            .await
            .map_err(|e| db_error(&e))?;
    }
    Ok(client)
}

/// The connection of the journal's thread, reconnected when broken.
struct Link {
    url: String,
    client: Option<Client>,
}

impl Link {
    async fn start(&mut self) -> Result<(), AdminError> {
        let client = connect(&self.url).await?;
        check_schema(&client).await?;
        self.client = Some(client);
        Ok(())
    }

    /// Runs `op`; on a broken connection (or no answer in time) reconnects once
    /// and runs it again. A refused statement is not retried.
    async fn run(&mut self, op: &Op) -> Result<Reply, AdminError> {
        let mut reconnected = false;
        loop {
            let mut client = match self.client.take() {
                Some(client) if !client.is_closed() => client,
                _ => {
                    reconnected = true;
                    connect(&self.url).await?
                }
            };
            let limit = match op {
                Op::Append(_) => APPEND_TIMEOUT,
                Op::Load => LOAD_TIMEOUT,
            };
            let error = match tokio::time::timeout(limit, perform(&mut client, op)).await {
                Ok(Ok(reply)) => {
                    self.client = Some(client);
                    return Ok(reply);
                }
                Ok(Err(Failure::Other(error))) => {
                    self.client = Some(client);
                    return Err(error);
                }
                Ok(Err(Failure::Db(e))) if !broken(&e, &client) => {
                    self.client = Some(client);
                    return Err(db_error(&e));
                }
                Ok(Err(Failure::Db(e))) => db_error(&e),
                Err(_) => AdminError::Storage(format!(
                    "PostgreSQL did not answer within {}s",
                    limit.as_secs()
                )),
            };
            // Dropping the client closes the connection: an open transaction is rolled back.
            drop(client);
            if reconnected {
                return Err(error);
            }
            tracing::warn!(%error, "admin journal: the PostgreSQL connection broke; reconnecting");
        }
    }
}

async fn check_schema(client: &Client) -> Result<(), AdminError> {
    let tables: Vec<&str> = REQUIRED_COLUMNS.iter().map(|(t, _)| *t).collect();
    let columns: Vec<&str> = REQUIRED_COLUMNS.iter().map(|(_, c)| *c).collect();
    let rows = client
        .query(
            "SELECT r.t || '.' || r.c FROM unnest($1::text[], $2::text[]) AS r(t, c)
             WHERE NOT EXISTS (
                 SELECT 1 FROM information_schema.columns i
                 WHERE i.table_schema = ANY (current_schemas(false))
                   AND i.table_name = r.t AND i.column_name = r.c)",
            &[&tables, &columns],
        )
        .await
        .map_err(|e| db_error(&e))?;
    let missing = rows
        .iter()
        .map(|row| row.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| db_error(&e))?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Storage(format!(
            "the PostgreSQL database lacks the admin plane's tables (missing {}): apply the \
             migrations with `guildflow migrate --postgres URL` (or `--migrate`) first",
            missing.join(", ")
        )))
    }
}

async fn perform(client: &mut Client, op: &Op) -> Result<Reply, Failure> {
    match op {
        Op::Append(change) => {
            append(client, change).await?;
            Ok(Reply::Appended)
        }
        Op::Load => Ok(Reply::Loaded(load(client).await?)),
    }
}

// ---- conversions -------------------------------------------------------------------------

/// A Discord id or one of ours as a bigint.
fn big(value: u64, what: &str) -> Result<i64, Failure> {
    i64::try_from(value).map_err(|_| invalid_data(format!("{what} {value} exceeds bigint")))
}

fn big_opt(value: Option<u64>, what: &str) -> Result<Option<i64>, Failure> {
    value.map(|v| big(v, what)).transpose()
}

fn unsigned(value: i64, what: &str) -> Result<u64, Failure> {
    u64::try_from(value).map_err(|_| invalid_data(format!("stored {what} {value} is negative")))
}

fn unsigned_opt(value: Option<i64>, what: &str) -> Result<Option<u64>, Failure> {
    value.map(|v| unsigned(v, what)).transpose()
}

fn time_of_ms(ms: i64) -> Result<SystemTime, Failure> {
    let time = if ms >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_millis(ms.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_millis(ms.unsigned_abs()))
    };
    time.ok_or_else(|| invalid_data(format!("time {ms} ms is out of range")))
}

fn time_of_rfc3339(text: &str) -> Result<SystemTime, Failure> {
    let ms = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| invalid_data(format!("time {text:?}: {e}")))?
        .timestamp_millis();
    time_of_ms(ms)
}

fn ms_of_time(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis())
            .map(|ms| -ms)
            .unwrap_or(i64::MIN),
    }
}

/// PostgreSQL text cannot hold NUL; it becomes U+FFFD.
fn text(value: &str) -> String {
    value.replace('\0', "\u{FFFD}")
}

fn scrub(value: Value) -> Value {
    match value {
        Value::String(s) if s.contains('\0') => Value::String(text(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(scrub).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (text(&k), scrub(v))).collect())
        }
        other => other,
    }
}

/// `value`'s serde JSON for a jsonb column (bound as text, cast in SQL).
fn json<T: Serialize>(value: &T) -> Result<String, Failure> {
    let value = serde_json::to_value(value).map_err(|e| invalid_data(e.to_string()))?;
    Ok(scrub(value).to_string())
}

/// A nullable jsonb column: SQL NULL for JSON null.
fn json_opt(value: &Value) -> Result<Option<String>, Failure> {
    match value {
        Value::Null => Ok(None),
        other => json(other).map(Some),
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|e| invalid_data(format!("stored {what}: {e}")))
}

fn col<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> Result<T, Failure> {
    row.try_get(index).map_err(Failure::Db)
}

const fn status_name(status: ActionStatus) -> &'static str {
    match status {
        ActionStatus::Pending => "pending",
        ActionStatus::Done => "succeeded",
        ActionStatus::Failed => "failed",
    }
}

fn status_of(name: &str) -> Result<ActionStatus, Failure> {
    match name {
        "pending" => Ok(ActionStatus::Pending),
        "succeeded" => Ok(ActionStatus::Done),
        "failed" => Ok(ActionStatus::Failed),
        other => Err(invalid_data(format!("unknown moderation status {other:?}"))),
    }
}

const fn source_name(source: ActionSource) -> &'static str {
    match source {
        ActionSource::Automod => "automod",
        ActionSource::Manual => "manual",
    }
}

fn source_of(name: &str) -> Result<ActionSource, Failure> {
    match name {
        "automod" => Ok(ActionSource::Automod),
        "manual" => Ok(ActionSource::Manual),
        other => Err(invalid_data(format!("unknown moderation source {other:?}"))),
    }
}

// ---- writing ----------------------------------------------------------------------------

const UPSERT_SETTINGS: &str = "
INSERT INTO guild_settings (guild_id, timezone, language, modules, stats_exclusions, xp,
                            level_rewards, leaderboard_public, version, updated_at, updated_by)
VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6::text::jsonb, $7::text::jsonb, $8, 1,
        $9, $10)
ON CONFLICT (guild_id) DO UPDATE SET
    timezone = EXCLUDED.timezone,
    language = EXCLUDED.language,
    modules = EXCLUDED.modules,
    stats_exclusions = EXCLUDED.stats_exclusions,
    xp = EXCLUDED.xp,
    level_rewards = EXCLUDED.level_rewards,
    leaderboard_public = EXCLUDED.leaderboard_public,
    version = guild_settings.version + 1,
    updated_at = EXCLUDED.updated_at,
    updated_by = EXCLUDED.updated_by";

const DELETE_OTHER_RULES: &str =
    "DELETE FROM automod_rules WHERE guild_id = $1 AND NOT (id = ANY ($2::bigint[]))";

const UPSERT_RULE: &str = "
INSERT INTO automod_rules (id, guild_id, name, enabled, trigger, actions, exempt_roles,
                           exempt_channels, priority)
OVERRIDING SYSTEM VALUE
VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7, $8, $9)
ON CONFLICT (id) DO UPDATE SET
    guild_id = EXCLUDED.guild_id,
    name = EXCLUDED.name,
    enabled = EXCLUDED.enabled,
    trigger = EXCLUDED.trigger,
    actions = EXCLUDED.actions,
    exempt_roles = EXCLUDED.exempt_roles,
    exempt_channels = EXCLUDED.exempt_channels,
    priority = EXCLUDED.priority,
    version = automod_rules.version + 1,
    updated_at = now()
WHERE (automod_rules.guild_id, automod_rules.name, automod_rules.enabled, automod_rules.trigger,
       automod_rules.actions, automod_rules.exempt_roles, automod_rules.exempt_channels,
       automod_rules.priority)
      IS DISTINCT FROM
      (EXCLUDED.guild_id, EXCLUDED.name, EXCLUDED.enabled, EXCLUDED.trigger, EXCLUDED.actions,
       EXCLUDED.exempt_roles, EXCLUDED.exempt_channels, EXCLUDED.priority)";

/// A row created only for the escalation has version 0: the settings were never saved.
const UPSERT_ESCALATION: &str = "
INSERT INTO guild_settings (guild_id, automod_escalation, version)
VALUES ($1, $2::text::jsonb, 0)
ON CONFLICT (guild_id) DO UPDATE SET automod_escalation = EXCLUDED.automod_escalation";

const INSERT_WARNING: &str = "
INSERT INTO warnings (id, guild_id, user_id, moderator_id, reason, created_at)
OVERRIDING SYSTEM VALUE
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO NOTHING";

const REVOKE_WARNING: &str =
    "UPDATE warnings SET revoked_at = $3, revoked_by = $4 WHERE guild_id = $1 AND id = $2";

/// `rule_id` is the foreign key: NULL when the rule no longer exists (ON DELETE SET NULL does
/// the same later); `fired_rule_id` keeps the id either way.
const UPSERT_MODERATION: &str = "
INSERT INTO moderation_logs (id, guild_id, created_at, target_user_id, channel_id, message_id,
                             action, duration_seconds, source, rule_id, fired_rule_id,
                             rule_name, evidence, reason, moderator_id, status, error, attempts,
                             completed_at)
OVERRIDING SYSTEM VALUE
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
        (SELECT r.id FROM automod_rules r WHERE r.id = $10::bigint), $10::bigint,
        $11, $12::text::jsonb, $13, $14, $15::text, $16, $17,
        CASE WHEN $15::text = 'pending' THEN NULL ELSE now() END)
ON CONFLICT (id) DO UPDATE SET
    guild_id = EXCLUDED.guild_id,
    created_at = EXCLUDED.created_at,
    target_user_id = EXCLUDED.target_user_id,
    channel_id = EXCLUDED.channel_id,
    message_id = EXCLUDED.message_id,
    action = EXCLUDED.action,
    duration_seconds = EXCLUDED.duration_seconds,
    source = EXCLUDED.source,
    rule_id = EXCLUDED.rule_id,
    fired_rule_id = EXCLUDED.fired_rule_id,
    rule_name = EXCLUDED.rule_name,
    evidence = EXCLUDED.evidence,
    reason = EXCLUDED.reason,
    moderator_id = EXCLUDED.moderator_id,
    status = EXCLUDED.status,
    error = EXCLUDED.error,
    attempts = EXCLUDED.attempts,
    completed_at = CASE WHEN EXCLUDED.status = 'pending' THEN NULL
                        ELSE COALESCE(moderation_logs.completed_at, now()) END";

const INSERT_AUDIT: &str = "
INSERT INTO audit_logs (id, guild_id, created_at, actor_user_id, action, target_type, target_id,
                        before, after)
OVERRIDING SYSTEM VALUE
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9::text::jsonb)
ON CONFLICT (id) DO NOTHING";

const INSERT_OPT_OUT: &str = "
INSERT INTO stats_opt_outs (guild_id, user_id) VALUES ($1, $2)
ON CONFLICT (guild_id, user_id) DO NOTHING";

const DELETE_OPT_OUT: &str = "DELETE FROM stats_opt_outs WHERE guild_id = $1 AND user_id = $2";

async fn append(client: &mut Client, change: &Change) -> Result<(), Failure> {
    match change {
        Change::Settings {
            guild,
            config,
            at,
            by,
        } => {
            client
                .execute(
                    UPSERT_SETTINGS,
                    &[
                        &big(*guild, "guild id")?,
                        &text(&config.timezone),
                        &text(&config.language),
                        &json(&config.modules)?,
                        &json(&config.stats_exclusions)?,
                        &json(&config.xp)?,
                        &json(&config.level_rewards)?,
                        &config.leaderboard_public,
                        &time_of_ms(*at)?,
                        &big_opt(*by, "user id")?,
                    ],
                )
                .await?;
        }
        Change::Automod { guild, config } => {
            let guild = big(*guild, "guild id")?;
            let ids = config
                .rules
                .iter()
                .map(|r| big(r.id, "rule id"))
                .collect::<Result<Vec<_>, _>>()?;
            let tx = client.transaction().await?;
            tx.execute(DELETE_OTHER_RULES, &[&guild, &ids]).await?;
            for (position, (rule, id)) in config.rules.iter().zip(&ids).enumerate() {
                let roles = rule
                    .exempt_roles
                    .iter()
                    .map(|r| big(r.get(), "role id"))
                    .collect::<Result<Vec<_>, _>>()?;
                let channels = rule
                    .exempt_channels
                    .iter()
                    .map(|c| big(c.get(), "channel id"))
                    .collect::<Result<Vec<_>, _>>()?;
                let priority = i32::try_from(position)
                    .map_err(|_| invalid_data("too many automod rules".into()))?;
                tx.execute(
                    UPSERT_RULE,
                    &[
                        id,
                        &guild,
                        &text(&rule.name),
                        &rule.enabled,
                        &json(&rule.trigger)?,
                        &json(&rule.actions)?,
                        &roles,
                        &channels,
                        &priority,
                    ],
                )
                .await?;
            }
            tx.execute(UPSERT_ESCALATION, &[&guild, &json(&config.escalation)?])
                .await?;
            tx.commit().await?;
        }
        Change::Warning(w) => {
            client
                .execute(
                    INSERT_WARNING,
                    &[
                        &big(w.id, "warning id")?,
                        &big(w.guild_id.get(), "guild id")?,
                        &big(w.user_id.get(), "user id")?,
                        &big_opt(w.moderator_id.map(|m| m.get()), "user id")?,
                        &text(&w.reason),
                        &time_of_rfc3339(&w.created_at)?,
                    ],
                )
                .await?;
        }
        Change::WarningRevoked { guild, id, at, by } => {
            client
                .execute(
                    REVOKE_WARNING,
                    &[
                        &big(*guild, "guild id")?,
                        &big(*id, "warning id")?,
                        &time_of_ms(*at)?,
                        &big_opt(*by, "user id")?,
                    ],
                )
                .await?;
        }
        Change::Moderation(e) => {
            let seconds = e
                .seconds
                .map(|s| {
                    i32::try_from(s)
                        .map_err(|_| invalid_data(format!("timeout of {s} s exceeds integer")))
                })
                .transpose()?;
            let attempts = i32::try_from(e.attempts).unwrap_or(i32::MAX);
            let evidence = e.evidence.as_ref().map(json).transpose()?;
            client
                .execute(
                    UPSERT_MODERATION,
                    &[
                        &big(e.id, "moderation id")?,
                        &big(e.guild_id.get(), "guild id")?,
                        &time_of_rfc3339(&e.at)?,
                        &big(e.user_id.get(), "user id")?,
                        &big_opt(e.channel_id.map(|c| c.get()), "channel id")?,
                        &big_opt(e.message_id.map(|m| m.get()), "message id")?,
                        &text(&e.action),
                        &seconds,
                        &source_name(e.source),
                        &big_opt(e.rule_id, "rule id")?,
                        &e.rule_name.as_deref().map(text),
                        &evidence,
                        &e.reason.as_deref().map(text),
                        &big_opt(e.moderator_id.map(|m| m.get()), "user id")?,
                        &status_name(e.status),
                        &e.error.as_deref().map(text),
                        &attempts,
                    ],
                )
                .await?;
        }
        Change::Audit(a) => {
            let (kind, id) = match a.target.split_once(':') {
                Some((kind, id)) => (kind, Some(text(id))),
                None => (a.target.as_str(), None),
            };
            client
                .execute(
                    INSERT_AUDIT,
                    &[
                        &big(a.id, "audit id")?,
                        &big(a.guild_id.get(), "guild id")?,
                        &time_of_rfc3339(&a.at)?,
                        &big_opt(a.actor_id.map(|u| u.get()), "user id")?,
                        &text(&a.action),
                        &text(kind),
                        &id,
                        &json_opt(&a.before)?,
                        &json_opt(&a.after)?,
                    ],
                )
                .await?;
        }
        Change::MemberErased { guild, user } => {
            let (g, u) = (big(*guild, "guild id")?, big(*user, "user id")?);
            client.execute(DELETE_MEMBER_WARNINGS, &[&g, &u]).await?;
            client.execute(DELETE_MEMBER_MODERATION, &[&g, &u]).await?;
        }
        Change::OptOut {
            guild,
            user,
            opted_out,
        } => {
            let sql = if *opted_out {
                INSERT_OPT_OUT
            } else {
                DELETE_OPT_OUT
            };
            client
                .execute(sql, &[&big(*guild, "guild id")?, &big(*user, "user id")?])
                .await?;
        }
    }
    Ok(())
}

const DELETE_MEMBER_WARNINGS: &str = "DELETE FROM warnings WHERE guild_id = $1 AND user_id = $2";
const DELETE_MEMBER_MODERATION: &str =
    "DELETE FROM moderation_logs WHERE guild_id = $1 AND target_user_id = $2";

// ---- loading ----------------------------------------------------------------------------

const SELECT_SETTINGS: &str = "
SELECT guild_id, timezone, language, modules::text, stats_exclusions::text, xp::text,
       level_rewards::text, leaderboard_public, updated_at, updated_by
FROM guild_settings WHERE version > 0 ORDER BY guild_id";

const SELECT_ESCALATION: &str = "
SELECT guild_id, automod_escalation::text FROM guild_settings
WHERE automod_escalation <> '[]'::jsonb ORDER BY guild_id";

const SELECT_RULES: &str = "
SELECT id, guild_id, name, enabled, trigger::text, actions::text, exempt_roles, exempt_channels
FROM automod_rules ORDER BY guild_id, priority, id";

const SELECT_WARNINGS: &str = "
SELECT id, guild_id, user_id, moderator_id, reason, created_at, revoked_at, revoked_by
FROM warnings ORDER BY id";

const SELECT_MODERATION: &str = "
SELECT id, guild_id, created_at, target_user_id, channel_id, message_id, action,
       duration_seconds, source, COALESCE(fired_rule_id, rule_id), rule_name, evidence::text,
       reason, moderator_id, status, error, attempts
FROM moderation_logs ORDER BY id";

/// Rows without a guild are not the admin plane's (API tokens, grants).
const SELECT_AUDIT: &str = "
SELECT id, guild_id, created_at, actor_user_id, action, target_type, target_id, before::text,
       after::text
FROM audit_logs WHERE guild_id IS NOT NULL ORDER BY id";

const SELECT_OPT_OUTS: &str =
    "SELECT guild_id, user_id FROM stats_opt_outs ORDER BY guild_id, user_id";

/// The tables as the changes that rebuild them: settings, automod per guild, warnings (a
/// revoked one followed by its revocation), moderation and audit entries in id order, opt-outs.
/// One repeatable-read snapshot, so a concurrent writer cannot tear it.
async fn load(client: &mut Client) -> Result<Vec<Change>, Failure> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let mut changes = Vec::new();

    for row in tx.query(SELECT_SETTINGS, &[]).await? {
        let config = GuildConfig {
            timezone: col(&row, 1)?,
            language: col(&row, 2)?,
            modules: parse(&col::<String>(&row, 3)?, "modules")?,
            stats_exclusions: parse(&col::<String>(&row, 4)?, "stats_exclusions")?,
            xp: parse(&col::<String>(&row, 5)?, "xp")?,
            level_rewards: parse(&col::<String>(&row, 6)?, "level_rewards")?,
            leaderboard_public: col(&row, 7)?,
        };
        changes.push(Change::Settings {
            guild: unsigned(col(&row, 0)?, "guild id")?,
            config,
            at: ms_of_time(col(&row, 8)?),
            by: unsigned_opt(col(&row, 9)?, "user id")?,
        });
    }

    let mut automod: BTreeMap<u64, AutomodConfig> = BTreeMap::new();
    for row in tx.query(SELECT_ESCALATION, &[]).await? {
        let guild = unsigned(col(&row, 0)?, "guild id")?;
        automod.entry(guild).or_default().escalation =
            parse(&col::<String>(&row, 1)?, "automod_escalation")?;
    }
    for row in tx.query(SELECT_RULES, &[]).await? {
        let guild = unsigned(col(&row, 1)?, "guild id")?;
        let roles: Vec<i64> = col(&row, 6)?;
        let channels: Vec<i64> = col(&row, 7)?;
        let rule = AutomodRule {
            id: unsigned(col(&row, 0)?, "rule id")?,
            name: col(&row, 2)?,
            enabled: col(&row, 3)?,
            trigger: parse(&col::<String>(&row, 4)?, "trigger")?,
            actions: parse(&col::<String>(&row, 5)?, "actions")?,
            exempt_roles: roles
                .into_iter()
                .map(|r| unsigned(r, "role id").map(RoleId))
                .collect::<Result<_, _>>()?,
            exempt_channels: channels
                .into_iter()
                .map(|c| unsigned(c, "channel id").map(ChannelId))
                .collect::<Result<_, _>>()?,
        };
        automod.entry(guild).or_default().rules.push(rule);
    }
    changes.extend(
        automod
            .into_iter()
            .map(|(guild, config)| Change::Automod { guild, config }),
    );

    for row in tx.query(SELECT_WARNINGS, &[]).await? {
        let warning = Warning {
            id: unsigned(col(&row, 0)?, "warning id")?,
            guild_id: GuildId(unsigned(col(&row, 1)?, "guild id")?),
            user_id: UserId(unsigned(col(&row, 2)?, "user id")?),
            moderator_id: unsigned_opt(col(&row, 3)?, "user id")?.map(UserId),
            reason: col(&row, 4)?,
            created_at: rfc3339(ms_of_time(col(&row, 5)?)),
        };
        let revoked: Option<SystemTime> = col(&row, 6)?;
        let revoked_by = unsigned_opt(col(&row, 7)?, "user id")?;
        let (guild, id) = (warning.guild_id.get(), warning.id);
        changes.push(Change::Warning(warning));
        if let Some(at) = revoked {
            changes.push(Change::WarningRevoked {
                guild,
                id,
                at: ms_of_time(at),
                by: revoked_by,
            });
        }
    }

    for row in tx.query(SELECT_MODERATION, &[]).await? {
        let evidence: Option<String> = col(&row, 11)?;
        let seconds: Option<i32> = col(&row, 7)?;
        let attempts: i32 = col(&row, 16)?;
        changes.push(Change::Moderation(ModerationEntry {
            id: unsigned(col(&row, 0)?, "moderation id")?,
            guild_id: GuildId(unsigned(col(&row, 1)?, "guild id")?),
            at: rfc3339(ms_of_time(col(&row, 2)?)),
            user_id: UserId(unsigned(col(&row, 3)?, "user id")?),
            channel_id: unsigned_opt(col(&row, 4)?, "channel id")?.map(ChannelId),
            message_id: unsigned_opt(col(&row, 5)?, "message id")?.map(MessageId),
            action: col(&row, 6)?,
            seconds: unsigned_opt(seconds.map(i64::from), "duration_seconds")?,
            source: source_of(&col::<String>(&row, 8)?)?,
            rule_id: unsigned_opt(col(&row, 9)?, "rule id")?,
            rule_name: col(&row, 10)?,
            evidence: evidence
                .as_deref()
                .map(|e| parse(e, "evidence"))
                .transpose()?,
            reason: col(&row, 12)?,
            moderator_id: unsigned_opt(col(&row, 13)?, "user id")?.map(UserId),
            status: status_of(&col::<String>(&row, 14)?)?,
            error: col(&row, 15)?,
            attempts: u32::try_from(attempts).unwrap_or(0),
        }));
    }

    for row in tx.query(SELECT_AUDIT, &[]).await? {
        let kind: String = col(&row, 5)?;
        let id: Option<String> = col(&row, 6)?;
        let before: Option<String> = col(&row, 7)?;
        let after: Option<String> = col(&row, 8)?;
        changes.push(Change::Audit(AuditEntry {
            id: unsigned(col(&row, 0)?, "audit id")?,
            guild_id: GuildId(unsigned(col(&row, 1)?, "guild id")?),
            at: rfc3339(ms_of_time(col(&row, 2)?)),
            actor_id: unsigned_opt(col(&row, 3)?, "user id")?.map(UserId),
            action: col(&row, 4)?,
            target: match id {
                Some(id) => format!("{kind}:{id}"),
                None => kind,
            },
            before: before
                .as_deref()
                .map(|b| parse(b, "audit before"))
                .transpose()?
                .unwrap_or(Value::Null),
            after: after
                .as_deref()
                .map(|a| parse(a, "audit after"))
                .transpose()?
                .unwrap_or(Value::Null),
        }));
    }

    for row in tx.query(SELECT_OPT_OUTS, &[]).await? {
        changes.push(Change::OptOut {
            guild: unsigned(col(&row, 0)?, "guild id")?,
            user: unsigned(col(&row, 1)?, "user id")?,
            opted_out: true,
        });
    }
    tx.commit().await?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_system_time() {
        for ms in [0, 1, 1_769_983_200_123, -1_234] {
            let time = time_of_ms(ms).ok().expect("in range");
            assert_eq!(ms_of_time(time), ms);
        }
        let time = time_of_rfc3339("2026-02-01T22:00:00.123Z")
            .ok()
            .expect("valid");
        assert_eq!(rfc3339(ms_of_time(time)), "2026-02-01T22:00:00.123Z");
    }

    #[test]
    fn nul_characters_are_replaced_for_postgres() {
        let value = serde_json::json!({"a\u{0}": ["x\u{0}y", 1, null], "b": "ok"});
        let scrubbed = json(&value).ok().expect("serializes");
        assert!(!scrubbed.contains("\\u0000"), "{scrubbed}");
        assert_eq!(text("a\0b"), "a\u{FFFD}b");
    }
}
