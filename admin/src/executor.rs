//! [`ActionExecutor`]: carries out automod actions through Discord's REST API with the real
//! twilight-http client (its rate limiter honours Discord's buckets and 429s), retries
//! transient failures a bounded number of times, and records every outcome in the moderation
//! log (which tells the websocket rooms).

use crate::moderation::Admission;
use crate::plane::AdminPlane;
use crate::records::{now_ms, ActionStatus};
use guildflow_dataflow::automod::{ActionKind, AutomodAction};
use guildflow_dataflow::state::LevelUp;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use twilight_http::error::ErrorType;
use twilight_http::request::AuditLogReason;
use twilight_http::Client;
use twilight_model::id::Id;
use twilight_model::util::Timestamp;

/// Tuning of the executor.
#[derive(Clone, Copy, Debug)]
pub struct ExecutorConfig {
    /// Actions waiting at most; beyond, new ones are logged as failed (never block the
    /// dataflow's read side).
    pub queue: usize,
    /// REST attempts per action (transport errors and 5xx are retried).
    pub attempts: u32,
    /// First retry delay, doubled each time.
    pub backoff: Duration,
    /// Actions decided longer ago than this are logged as skipped, not executed.
    pub stale_after: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            queue: 4096,
            attempts: 3,
            backoff: Duration::from_millis(250),
            stale_after: Duration::from_secs(600),
        }
    }
}

/// Counters of the executor, for `/metrics`.
#[derive(Debug, Default)]
pub struct ExecutorStats {
    /// Actions Discord accepted (or warnings recorded).
    pub done: AtomicU64,
    /// Actions that failed after the retries.
    pub failed: AtomicU64,
    /// Actions not executed (decided too long ago, or executed before a restart).
    pub skipped: AtomicU64,
    /// Actions dropped because the queue was full.
    pub dropped: AtomicU64,
}

/// Work for the executing task.
#[derive(Debug)]
enum Job {
    /// An automod action.
    Action(AutomodAction),
    /// A member reached a level: give the level's reward role, if any.
    LevelUp(LevelUp),
}

/// Hands automod actions and level rewards to a task that executes them in order.
#[derive(Clone, Debug)]
pub struct ActionExecutor {
    tx: mpsc::Sender<Job>,
    stats: Arc<ExecutorStats>,
}

impl ActionExecutor {
    /// Starts the executing task on the current tokio runtime.
    pub fn start(plane: AdminPlane, http: Arc<Client>, config: ExecutorConfig) -> ActionExecutor {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let stats = plane.executor_stats();
        tokio::spawn(run(plane, http, config, rx, Arc::clone(&stats)));
        ActionExecutor { tx, stats }
    }

    /// A twilight-http client for `token` against the REST base `rest_url`: Discord's
    /// (`https://discord.com/api/v10`) or any Discord-compatible server, such as guildflow's
    /// simulator (`http://127.0.0.1:PORT/api/v10`).
    pub fn client(token: &str, rest_url: &str) -> Result<Client, crate::AdminError> {
        let builder = Client::builder()
            .token(token.to_owned())
            .timeout(Duration::from_secs(10));
        let invalid = || crate::AdminError::Invalid {
            code: "invalid_rest_url",
            message: format!("REST base {rest_url:?} must be http(s)://HOST[:PORT]/api/v10"),
        };
        let (plain, rest) = if let Some(rest) = rest_url.strip_prefix("http://") {
            (true, rest)
        } else if let Some(rest) = rest_url.strip_prefix("https://") {
            (false, rest)
        } else {
            return Err(invalid());
        };
        let host = rest
            .trim_end_matches('/')
            .strip_suffix("/api/v10")
            .ok_or_else(invalid)?;
        if host.is_empty() || host.contains('/') {
            return Err(invalid());
        }
        Ok(if host == "discord.com" && !plain {
            builder.build()
        } else {
            builder.proxy(host.to_owned(), plain).build()
        })
    }

    /// Queues an action; never waits. A full queue drops it (counted and logged).
    pub fn submit(&self, action: AutomodAction) {
        self.queue(Job::Action(action));
    }

    /// Queues a level-up: the member gets the role the guild rewards that level with.
    pub fn submit_level_up(&self, level_up: LevelUp) {
        self.queue(Job::LevelUp(level_up));
    }

    fn queue(&self, job: Job) {
        if let Err(e) = self.tx.try_send(job) {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "automod job dropped: executor queue full");
        }
    }

    /// Counters.
    pub fn stats(&self) -> Arc<ExecutorStats> {
        Arc::clone(&self.stats)
    }
}

async fn run(
    plane: AdminPlane,
    http: Arc<Client>,
    config: ExecutorConfig,
    mut rx: mpsc::Receiver<Job>,
    stats: Arc<ExecutorStats>,
) {
    let stale_ms = i64::try_from(config.stale_after.as_millis()).unwrap_or(i64::MAX);
    while let Some(job) = rx.recv().await {
        let action = match job {
            Job::Action(action) => action,
            Job::LevelUp(level_up) => {
                if now_ms() - level_up.at <= stale_ms {
                    reward(&plane, &http, &level_up).await;
                }
                continue;
            }
        };
        let admitted = {
            let plane = plane.clone();
            let action = action.clone();
            tokio::task::spawn_blocking(move || plane.admit_action(&action, now_ms(), stale_ms))
                .await
        };
        let entry = match admitted {
            Ok(Ok(Admission::Execute(entry))) => entry,
            Ok(Ok(Admission::Seen | Admission::Stale)) => {
                stats.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "automod action could not be logged; not executed");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "automod logging task failed");
                continue;
            }
        };
        let (status, error, attempts) = execute(&http, &action, &config).await;
        match status {
            ActionStatus::Done => stats.done.fetch_add(1, Ordering::Relaxed),
            _ => stats.failed.fetch_add(1, Ordering::Relaxed),
        };
        if let Some(error) = &error {
            tracing::warn!(
                guild = %action.guild,
                user = %action.user,
                action = action.action.name(),
                attempts,
                error = %error,
                "automod action failed"
            );
        }
        let plane = plane.clone();
        let finished = tokio::task::spawn_blocking(move || {
            plane.finish_action(*entry, status, error, attempts)
        })
        .await;
        if let Ok(Err(e)) = finished {
            tracing::error!(error = %e, "automod action outcome could not be logged");
        }
    }
}

/// Runs one action with bounded retries: (status, error, attempts).
async fn execute(
    http: &Client,
    action: &AutomodAction,
    config: &ExecutorConfig,
) -> (ActionStatus, Option<String>, u32) {
    if action.action == ActionKind::Warn {
        // A warning is guildflow's own record (made when the action was admitted).
        return (ActionStatus::Done, None, 0);
    }
    let mut delay = config.backoff;
    let attempts = config.attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        match call(http, action).await {
            Ok(()) => return (ActionStatus::Done, None, attempt),
            Err(Failure::Permanent(e)) => return (ActionStatus::Failed, Some(e), attempt),
            Err(Failure::Transient(e)) => last = e,
        }
        if attempt < attempts {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    (ActionStatus::Failed, Some(last), attempts)
}

enum Failure {
    /// Discord refused it (4xx): retrying would not help.
    Permanent(String),
    /// Transport error, timeout or 5xx.
    Transient(String),
}

fn classify(error: twilight_http::Error) -> Failure {
    match error.kind() {
        ErrorType::Response { status, .. } if status.is_client_error() => {
            Failure::Permanent(format!("Discord answered {}: {error}", status.get()))
        }
        _ => Failure::Transient(error.to_string()),
    }
}

/// The audit-log reason Discord shows: the rule and what it saw, at most 512 characters.
fn reason(action: &AutomodAction) -> String {
    let text = format!(
        "guildflow automod: {} ({})",
        action.rule_name, action.evidence.detail
    );
    text.chars().take(512).collect()
}

async fn call(http: &Client, action: &AutomodAction) -> Result<(), Failure> {
    let bad_id = || Failure::Permanent("an id of the action is 0".into());
    let guild = Id::new_checked(action.guild.get()).ok_or_else(bad_id)?;
    let user = Id::new_checked(action.user.get()).ok_or_else(bad_id)?;
    let reason = reason(action);
    let result = match &action.action {
        ActionKind::Warn => return Ok(()),
        ActionKind::Delete => {
            let channel = Id::new_checked(action.channel.get()).ok_or_else(bad_id)?;
            let message = action
                .message
                .and_then(|m| Id::new_checked(m.get()))
                .ok_or_else(|| Failure::Permanent("no message to delete".into()))?;
            http.delete_message(channel, message)
                .reason(&reason)
                .await
                .map(|_| ())
        }
        ActionKind::Timeout { seconds } => {
            let until = now_ms() / 1000 + i64::try_from(*seconds).unwrap_or(0);
            let until = Timestamp::from_secs(until)
                .map_err(|e| Failure::Permanent(format!("timeout end: {e}")))?;
            http.update_guild_member(guild, user)
                .communication_disabled_until(Some(until))
                .reason(&reason)
                .await
                .map(|_| ())
        }
        ActionKind::Kick => http
            .remove_guild_member(guild, user)
            .reason(&reason)
            .await
            .map(|_| ()),
        ActionKind::Ban => http
            .create_ban(guild, user)
            .reason(&reason)
            .await
            .map(|_| ()),
    };
    result.map_err(classify)
}

/// Gives the role `level_up`'s guild rewards its level with (Discord's add-role is
/// idempotent), and audits the outcome.
async fn reward(plane: &AdminPlane, http: &Client, level_up: &LevelUp) {
    let lookup = {
        let plane = plane.clone();
        let (guild, level) = (level_up.guild, level_up.level);
        tokio::task::spawn_blocking(move || plane.level_reward(guild, level)).await
    };
    let Ok(Some(role)) = lookup else {
        return;
    };
    let (Some(guild), Some(user), Some(role_id)) = (
        Id::new_checked(level_up.guild),
        Id::new_checked(level_up.user),
        Id::new_checked(role.get()),
    ) else {
        return;
    };
    let reason = format!("guildflow: level {} reward", level_up.level);
    let outcome = http
        .add_guild_member_role(guild, user, role_id)
        .reason(&reason)
        .await;
    let error = outcome.err().map(|e| e.to_string());
    if let Some(error) = &error {
        tracing::warn!(guild = level_up.guild, user = level_up.user, %error, "level reward failed");
    }
    let plane = plane.clone();
    let level_up = level_up.clone();
    let _ =
        tokio::task::spawn_blocking(move || plane.audit_reward(&level_up, role, error.as_deref()))
            .await;
}
