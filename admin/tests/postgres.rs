//! The admin plane stored in PostgreSQL (`PostgresJournal`) against a real server: each test
//! starts its own throwaway cluster from the installed binaries (`LocalCluster`) and fails —
//! never skips — without them. Every kind of change survives a reopen from the database, lands
//! in the admin tables as psql sees them, and gives the same state as the file journal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_admin::{
    ActionStatus, AdminPlane, Admission, AuditEntry, DataflowControl, FileJournal, Journal,
    ModerationEntry, ModerationFilter, Page, PageRequest, PostgresJournal, SettingsPatch, Warning,
};
use guildflow_dataflow::automod::{
    ActionKind, AutomodAction, AutomodConfig, EscalationStep, Evidence,
};
use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_model::{ChannelId, GuildId, MessageId, UserId};
use guildflow_store::postgres::{self, LocalCluster};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres::types::FromSql;
use tokio_postgres::Client;

const GUILD: u64 = 1_000_000_000_000_001;
const OTHER: u64 = 1_000_000_000_000_002;

fn cluster() -> LocalCluster {
    LocalCluster::start().unwrap_or_else(|e| {
        panic!("these tests need a PostgreSQL server they start themselves and could not: {e}")
    })
}

/// A client for the test's own SQL (what a psql user sees), on its own small runtime.
struct Psql {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Psql {
    fn connect(url: &str) -> Psql {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (client, _driver) = runtime.block_on(postgres::connect(url)).unwrap();
        Psql { runtime, client }
    }

    fn migrate(&self) {
        let report = self
            .runtime
            .block_on(postgres::migrate(&self.client))
            .unwrap();
        assert!(report.applied.contains(&4), "{report:?}");
    }

    fn one<T: for<'a> FromSql<'a>>(&self, sql: &str) -> T {
        self.runtime
            .block_on(self.client.query_one(sql, &[]))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }
}

fn start() -> DataflowControl {
    DataflowControl::new(
        Dataflow::start(DataflowConfig {
            workers: 1,
            ..DataflowConfig::default()
        })
        .unwrap(),
    )
}

fn open(journal: Box<dyn Journal>, control: &DataflowControl) -> AdminPlane {
    let plane = AdminPlane::open(journal).unwrap();
    plane.attach(Arc::new(control.clone())).unwrap();
    plane
}

fn open_pg(url: &str, control: &DataflowControl) -> AdminPlane {
    open(Box::new(PostgresJournal::open(url).unwrap()), control)
}

fn patch(value: serde_json::Value) -> SettingsPatch {
    serde_json::from_value(value).unwrap()
}

fn action(rule: Option<u64>, name: &str, message: u64, kind: ActionKind, at: i64) -> AutomodAction {
    AutomodAction {
        guild: GuildId(GUILD),
        user: UserId(5),
        channel: ChannelId(500),
        message: rule.map(|_| MessageId(message)),
        at,
        rule_id: rule,
        rule_name: name.into(),
        action: kind,
        evidence: Evidence {
            trigger: "message_rate".into(),
            detail: "6 messages in 5 s".into(),
            matched: Some("spam".into()),
            content_excerpt: "spam spam ünïcödé".into(),
        },
    }
}

fn admit(plane: &AdminPlane, action: &AutomodAction, now: i64) -> ModerationEntry {
    match plane.admit_action(action, now, 600_000).unwrap() {
        Admission::Execute(entry) => *entry,
        other => panic!("a new action executes, not {other:?}"),
    }
}

/// Ids of what the scenario made, for the SQL checks.
struct Made {
    kept_rule: u64,
    deleted_rule: u64,
    revoked_warning: u64,
    flood_entry: u64,
}

/// Changes of every kind, on two guilds.
fn scenario(plane: &AdminPlane) -> Made {
    plane
        .update_settings(
            GUILD,
            Some(7),
            patch(json!({
                "timezone": "Europe/Paris",
                "language": "fr",
                "modules": {"levels": false},
                "xp": {"curve": "mee6", "rate_percent": 150},
                "stats_exclusions": {"channels": ["600"], "roles": ["900", "901"]},
                "level_rewards": [{"level": 5, "role_id": "42"}],
                "leaderboard_public": true
            })),
        )
        .unwrap();
    plane
        .update_settings(
            GUILD,
            Some(8),
            patch(json!({"xp": {"cooldown_seconds": 30}})),
        )
        .unwrap();
    let kept = plane
        .create_rule(
            GUILD,
            Some(7),
            json!({"name": "no caps", "trigger": {"type": "caps", "max_ratio_percent": 70},
                   "actions": [{"type": "delete"}, {"type": "timeout", "seconds": 300}],
                   "exempt_roles": ["900"], "exempt_channels": ["601", "602"]}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let flood = plane
        .create_rule(
            GUILD,
            Some(7),
            json!({"name": "flood", "trigger": {"type": "message_rate", "max_messages": 5, "per_seconds": 5},
                   "actions": [{"type": "timeout", "seconds": 60}, {"type": "warn"}]}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    plane
        .update_rule(
            GUILD,
            Some(8),
            kept.id,
            json!({"enabled": false, "name": "no shouting"}),
        )
        .unwrap();
    let steps: Vec<EscalationStep> = serde_json::from_value(json!([
        {"warnings": 3, "within_seconds": 86_400, "action": {"type": "timeout", "seconds": 600}},
        {"warnings": 5, "within_seconds": 604_800, "action": {"type": "ban"}}
    ]))
    .unwrap();
    plane.set_escalation(GUILD, Some(7), steps).unwrap();
    // Escalation alone on a guild whose settings were never saved.
    let other_steps: Vec<EscalationStep> = serde_json::from_value(json!([
        {"warnings": 2, "within_seconds": 600, "action": {"type": "kick"}}
    ]))
    .unwrap();
    plane.set_escalation(OTHER, None, other_steps).unwrap();

    let revoked = plane.add_warning(GUILD, Some(7), 55, "rude").unwrap();
    plane.add_warning(GUILD, Some(7), 56, "spam").unwrap();
    plane.add_warning(OTHER, None, 57, "").unwrap();
    plane.revoke_warning(GUILD, Some(9), revoked.id).unwrap();

    // Automod actions of the flood rule: done, failed, a warn (which adds a warning) left
    // pending, and an escalation; then the rule is deleted (its log entries keep its id).
    let now = guildflow_admin::now_ms();
    let timeout = admit(
        plane,
        &action(
            Some(flood.id),
            "flood",
            9,
            ActionKind::Timeout { seconds: 60 },
            now - 5,
        ),
        now,
    );
    let warn = admit(
        plane,
        &action(Some(flood.id), "flood", 9, ActionKind::Warn, now - 5),
        now,
    );
    let escalation = admit(
        plane,
        &action(None, "escalation", 0, ActionKind::Kick, now - 3),
        now,
    );
    plane
        .finish_action(timeout.clone(), ActionStatus::Done, None, 1)
        .unwrap();
    plane
        .finish_action(
            escalation,
            ActionStatus::Failed,
            Some("403 Missing Permissions".into()),
            3,
        )
        .unwrap();
    assert_eq!(warn.status, ActionStatus::Pending);
    plane.delete_rule(GUILD, Some(8), flood.id).unwrap();

    plane.set_opt_out(GUILD, Some(7), 77, true).unwrap();
    plane.set_opt_out(GUILD, Some(7), 78, true).unwrap();
    plane.set_opt_out(GUILD, Some(7), 78, false).unwrap();
    plane.set_opt_out(OTHER, None, 79, true).unwrap();
    Made {
        kept_rule: kept.id,
        deleted_rule: flood.id,
        revoked_warning: revoked.id,
        flood_entry: timeout.id,
    }
}

/// Everything the plane shows of both guilds.
#[derive(Debug, PartialEq)]
struct Snapshot {
    settings: Vec<serde_json::Value>,
    automod: Vec<AutomodConfig>,
    warnings: Vec<Page<Warning>>,
    moderation: Vec<Page<ModerationEntry>>,
    audit: Vec<Page<AuditEntry>>,
    opted_out: Vec<Vec<UserId>>,
}

/// What a snapshot becomes once the plane is reopened: actions left pending were interrupted
/// before Discord answered, and are marked failed.
fn reopened(mut s: Snapshot) -> Snapshot {
    for page in &mut s.moderation {
        for e in &mut page.entries {
            if e.status == guildflow_admin::ActionStatus::Pending {
                e.status = guildflow_admin::ActionStatus::Failed;
                e.error = Some("interrupted by a restart before Discord answered".into());
            }
        }
    }
    s
}

fn snapshot(plane: &AdminPlane) -> Snapshot {
    let all = PageRequest {
        limit: 500,
        cursor: None,
    };
    let guilds = [GUILD, OTHER];
    Snapshot {
        settings: guilds
            .iter()
            .map(|g| serde_json::to_value(plane.settings(*g)).unwrap())
            .collect(),
        automod: guilds.iter().map(|g| plane.automod(*g)).collect(),
        warnings: guilds
            .iter()
            .map(|g| plane.warnings(*g, None, all))
            .collect(),
        moderation: guilds
            .iter()
            .map(|g| plane.moderation_log(*g, &ModerationFilter::default(), all))
            .collect(),
        audit: guilds.iter().map(|g| plane.audit_log(*g, all)).collect(),
        opted_out: guilds.iter().map(|g| plane.opted_out(*g)).collect(),
    }
}

/// The snapshot without wall-clock times (two runs of the scenario differ only there).
fn timeless(mut s: Snapshot) -> Snapshot {
    for settings in &mut s.settings {
        if !settings["updated_at"].is_null() {
            settings["updated_at"] = json!("t");
        }
    }
    for page in &mut s.warnings {
        page.entries.iter_mut().for_each(|w| w.created_at.clear());
    }
    for page in &mut s.moderation {
        page.entries.iter_mut().for_each(|e| e.at.clear());
    }
    for page in &mut s.audit {
        for e in &mut page.entries {
            e.at.clear();
            // Moderation entries inside the audit carry their time too.
            if let Some(at) = e.after.get_mut("at") {
                *at = json!("t");
            }
            if let Some(at) = e.after.get_mut("created_at") {
                *at = json!("t");
            }
            if let Some(at) = e.before.get_mut("created_at") {
                *at = json!("t");
            }
        }
    }
    s
}

#[test]
fn every_change_survives_a_reopen_from_the_tables() {
    let cluster = cluster();
    let psql = Psql::connect(&cluster.url());
    psql.migrate();
    let control = start();
    let plane = open_pg(&cluster.url(), &control);
    let made = scenario(&plane);
    let before = reopened(snapshot(&plane));
    // The scenario did what it says.
    assert_eq!(before.automod[0].rules.len(), 1);
    assert_eq!(before.automod[0].rules[0].name, "no shouting");
    assert_eq!(before.automod[0].escalation.len(), 2);
    assert_eq!(before.automod[1].escalation.len(), 1);
    assert_eq!(
        before.warnings[0].entries.len(),
        2,
        "one revoked, one automod warning"
    );
    assert_eq!(before.moderation[0].entries.len(), 5);
    assert_eq!(before.opted_out[0], vec![UserId(77)]);
    assert!(before.settings[1]["updated_at"].is_null());
    drop(plane);

    let again = open_pg(&cluster.url(), &control);
    let after = snapshot(&again);
    assert_eq!(before, after);
    // Ids continue after the largest stored one.
    let largest = after.audit[0].entries[0]
        .id
        .max(after.audit[1].entries[0].id);
    let next = again.add_warning(GUILD, None, 55, "again").unwrap();
    assert!(next.id > largest, "{} <= {largest}", next.id);
    // An action logged before the reopen is not executed again.
    let flood = after.moderation[0]
        .entries
        .iter()
        .find(|e| e.id == made.flood_entry)
        .unwrap();
    assert_eq!(flood.rule_id, Some(made.deleted_rule));
    let at = chrono::DateTime::parse_from_rfc3339(&flood.at)
        .unwrap()
        .timestamp_millis();
    assert!(matches!(
        again
            .admit_action(
                &action(
                    Some(made.deleted_rule),
                    "flood",
                    9,
                    ActionKind::Timeout { seconds: 60 },
                    at
                ),
                at,
                600_000
            )
            .unwrap(),
        Admission::Seen
    ));

    // What psql users see.
    let g = GUILD as i64;
    let q = |sql: &str| sql.replace("$G", &g.to_string());
    assert_eq!(
        psql.one::<String>(&q(
            "SELECT timezone FROM guild_settings WHERE guild_id = $G"
        )),
        "Europe/Paris"
    );
    assert_eq!(
        psql.one::<String>(&q(
            "SELECT language FROM guild_settings WHERE guild_id = $G"
        )),
        "fr"
    );
    assert_eq!(
        psql.one::<i64>(&q("SELECT version FROM guild_settings WHERE guild_id = $G")),
        2
    );
    assert_eq!(
        psql.one::<Option<i64>>(&q(
            "SELECT updated_by FROM guild_settings WHERE guild_id = $G"
        )),
        Some(8)
    );
    assert!(psql.one::<bool>(&q(
        "SELECT leaderboard_public AND modules ->> 'levels' = 'false'
                AND (xp ->> 'cooldown_seconds')::int = 30 AND xp ->> 'curve' = 'mee6'
                AND level_rewards -> 0 ->> 'level' = '5'
         FROM guild_settings WHERE guild_id = $G"
    )));
    assert_eq!(
        psql.one::<i64>(&format!(
            "SELECT version FROM guild_settings WHERE guild_id = {OTHER}"
        )),
        0,
        "a row only for the escalation: settings never saved"
    );
    assert_eq!(
        psql.one::<i64>(&q(
            "SELECT jsonb_array_length(automod_escalation)::bigint FROM guild_settings WHERE guild_id = $G"
        )),
        2
    );
    assert_eq!(
        psql.one::<String>(&q(
            "SELECT string_agg(name, ',') FROM automod_rules WHERE guild_id = $G"
        )),
        "no shouting"
    );
    assert_eq!(
        psql.one::<i64>(&q("SELECT id FROM automod_rules WHERE guild_id = $G")),
        made.kept_rule as i64
    );
    assert!(psql.one::<bool>(&q(
        "SELECT NOT enabled AND trigger ->> 'type' = 'caps' AND jsonb_array_length(actions) = 2
                AND exempt_roles = '{900}' AND exempt_channels = '{601,602}'
         FROM automod_rules WHERE guild_id = $G"
    )));
    assert_eq!(
        psql.one::<i64>(&q(
            "SELECT count(*) FROM warnings WHERE guild_id = $G AND revoked_at IS NULL"
        )),
        3
    );
    assert_eq!(
        psql.one::<Option<i64>>(&format!(
            "SELECT revoked_by FROM warnings WHERE id = {}",
            made.revoked_warning
        )),
        Some(9)
    );
    // The deleted rule's entries: the foreign key is NULL, the id and name are kept.
    assert!(psql.one::<bool>(&format!(
        "SELECT rule_id IS NULL AND fired_rule_id = {} AND rule_name = 'flood'
                AND status = 'succeeded' AND attempts = 1 AND completed_at IS NOT NULL
                AND action = 'timeout' AND duration_seconds = 60 AND source = 'automod'
                AND evidence ->> 'trigger' = 'message_rate'
         FROM moderation_logs WHERE id = {}",
        made.deleted_rule, made.flood_entry
    )));
    assert_eq!(
        psql.one::<String>(&q(
            "SELECT string_agg(status || ':' || action, ',' ORDER BY id) FROM moderation_logs
             WHERE guild_id = $G"
        )),
        "succeeded:warn,succeeded:warn,succeeded:timeout,failed:warn,failed:kick,succeeded:warn"
    );
    assert_eq!(
        psql.one::<String>(&q(
            "SELECT error FROM moderation_logs WHERE guild_id = $G AND status = 'failed' AND action = 'kick'"
        )),
        "403 Missing Permissions"
    );
    assert!(psql.one::<bool>(&q(
        "SELECT evidence IS NULL AND moderator_id = 7 AND source = 'manual' AND reason = 'rude'
         FROM moderation_logs WHERE guild_id = $G ORDER BY id LIMIT 1"
    )));
    assert_eq!(
        psql.one::<String>(&format!(
            "SELECT target_type || '/' || target_id || '/' || action FROM audit_logs
             WHERE target_type = 'rule' AND target_id = '{}' AND after IS NULL",
            made.deleted_rule
        )),
        format!("rule/{}/automod.rule.delete", made.deleted_rule)
    );
    assert_eq!(
        psql.one::<String>(&q("SELECT after ->> 'timezone' FROM audit_logs
             WHERE guild_id = $G AND action = 'settings.update' ORDER BY id LIMIT 1")),
        "Europe/Paris"
    );
    assert_eq!(
        psql.one::<String>(
            "SELECT string_agg(guild_id || ':' || user_id, ',' ORDER BY guild_id, user_id)
             FROM stats_opt_outs"
        ),
        format!("{GUILD}:77,{OTHER}:79")
    );
    again.detach();
    control.take().unwrap().finish().unwrap();
}

#[test]
fn the_file_and_postgres_journals_give_the_same_state() {
    let cluster = cluster();
    let psql = Psql::connect(&cluster.url());
    psql.migrate();
    let dir = TempDir::new("same");

    let control = start();
    let file = open(Box::new(FileJournal::open(&dir.0).unwrap()), &control);
    scenario(&file);
    let from_file = reopened(snapshot(&file));
    drop(file);
    let file = open(Box::new(FileJournal::open(&dir.0).unwrap()), &control);
    assert_eq!(snapshot(&file), from_file, "the file journal reloads");
    file.detach();
    control.take().unwrap().finish().unwrap();

    let control = start();
    let pg = open_pg(&cluster.url(), &control);
    scenario(&pg);
    let from_pg = reopened(snapshot(&pg));
    drop(pg);
    let pg = open_pg(&cluster.url(), &control);
    assert_eq!(snapshot(&pg), from_pg, "the PostgreSQL journal reloads");
    assert_eq!(timeless(from_pg), timeless(from_file));
    pg.detach();
    control.take().unwrap().finish().unwrap();
}

#[test]
fn an_unmigrated_database_is_refused_with_a_clear_error() {
    let cluster = cluster();
    let err = PostgresJournal::open(&cluster.url())
        .unwrap_err()
        .to_string();
    assert!(err.contains("guildflow migrate"), "{err}");
    assert!(err.contains("guild_settings.automod_escalation"), "{err}");
}

#[test]
fn a_restarted_server_is_reconnected_and_a_stopped_one_refuses_the_change() {
    let mut cluster = cluster();
    Psql::connect(&cluster.url()).migrate();
    let control = start();
    let plane = open_pg(&cluster.url(), &control);
    plane
        .update_settings(GUILD, Some(7), patch(json!({"timezone": "Asia/Tokyo"})))
        .unwrap();
    cluster.stop().unwrap();
    cluster.start_server().unwrap();
    // The old connection is gone; the append reconnects once and succeeds.
    plane
        .add_warning(GUILD, Some(7), 55, "after restart")
        .unwrap();
    cluster.stop().unwrap();
    let err = plane
        .update_settings(GUILD, Some(7), patch(json!({"language": "de"})))
        .unwrap_err();
    assert!(
        matches!(err, guildflow_admin::AdminError::Storage(_)),
        "{err}"
    );
    // Nothing was applied.
    assert_eq!(plane.settings(GUILD).config.language, "en");
    cluster.start_server().unwrap();
    plane
        .update_settings(GUILD, Some(7), patch(json!({"language": "de"})))
        .unwrap();
    let before = reopened(snapshot(&plane));
    drop(plane);
    let again = open_pg(&cluster.url(), &control);
    assert_eq!(snapshot(&again), before);
    assert_eq!(before.warnings[0].entries.len(), 1);
    again.detach();
    control.take().unwrap().finish().unwrap();
}

/// A temporary directory removed on drop, failed test or not.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "guildflow-admin-pgtest-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
