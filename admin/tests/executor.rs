//! The action executor with the real twilight-http client against the simulator's Discord
//! REST routes: each action reaches Discord once with an audit-log reason, refusals are not
//! retried, transient failures are retried a bounded number of times, level rewards give
//! their role, and every outcome lands in the moderation (or audit) log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_admin::{
    ActionExecutor, ActionStatus, AdminPlane, DataflowControl, ExecutorConfig, FileJournal,
    ModerationEntry, ModerationFilter, PageRequest,
};
use guildflow_dataflow::automod::{ActionKind, AutomodAction, Evidence};
use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_dataflow::state::LevelUp;
use guildflow_model::{ChannelId, GuildId, MessageId, UserId};
use guildflow_shards::simulator::{FeedConfig, RestRoute, SimulatorConfig, SimulatorHandle};
use guildflow_shards::workload::WorkloadConfig;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Setup {
    sim: SimulatorHandle,
    plane: AdminPlane,
    executor: ActionExecutor,
    control: DataflowControl,
    guild: u64,
    user: u64,
    channel: u64,
    role: u64,
    dir: std::path::PathBuf,
}

async fn setup(name: &str) -> Setup {
    let mut config = SimulatorConfig::local(1);
    config.feed = Some(FeedConfig {
        workload: WorkloadConfig {
            guilds: 20,
            ..WorkloadConfig::default()
        },
        rate: Some(1.0),
        limit_per_shard: Some(0),
    });
    let sim = SimulatorHandle::start(config).await.unwrap();
    let guild = sim.guilds_with_roles_mix()[0];
    let d: Value =
        serde_json::from_str(&sim.world().unwrap().guild_create(guild).unwrap()).unwrap();
    let id = |v: &Value| v["id"].as_str().unwrap().parse::<u64>().unwrap();
    let channel = id(d["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 0)
        .unwrap());
    let role = id(d["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Moderator")
        .unwrap());
    let dir = std::env::temp_dir().join(format!("gf-exec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let control = DataflowControl::new(
        Dataflow::start(DataflowConfig {
            workers: 1,
            ..DataflowConfig::default()
        })
        .unwrap(),
    );
    let plane = AdminPlane::open(Box::new(FileJournal::open(&dir).unwrap())).unwrap();
    plane.attach(Arc::new(control.clone())).unwrap();
    let http = ActionExecutor::client("test-token", &sim.api_base()).unwrap();
    let executor = ActionExecutor::start(
        plane.clone(),
        Arc::new(http),
        ExecutorConfig {
            backoff: Duration::from_millis(10),
            ..ExecutorConfig::default()
        },
    );
    Setup {
        user: sim.non_admin_member_of(guild).unwrap(),
        sim,
        plane,
        executor,
        control,
        guild,
        channel,
        role,
        dir,
    }
}

impl Setup {
    fn action(&self, user: u64, message: u64, kind: ActionKind) -> AutomodAction {
        AutomodAction {
            guild: GuildId(self.guild),
            user: UserId(user),
            channel: ChannelId(self.channel),
            message: Some(MessageId(message)),
            at: guildflow_admin::now_ms(),
            rule_id: Some(1),
            rule_name: "flood".into(),
            action: kind,
            evidence: Evidence {
                trigger: "message_rate".into(),
                detail: "6 messages in 5 s (limit 5)".into(),
                matched: None,
                content_excerpt: "buy now".into(),
            },
        }
    }

    /// Waits for the log entry of `message` to be final.
    async fn outcome(&self, message: u64) -> ModerationEntry {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.plane.moderation_log(
                self.guild,
                &ModerationFilter::default(),
                PageRequest::default(),
            );
            if let Some(entry) = log.entries.into_iter().find(|e| {
                e.message_id == Some(MessageId(message)) && e.status != ActionStatus::Pending
            }) {
                return entry;
            }
            assert!(
                Instant::now() < deadline,
                "no outcome for message {message}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn finish(self) {
        self.plane.detach();
        self.control.take().unwrap().finish().unwrap();
        self.sim.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn actions_reach_discord_once_with_their_reason() {
    let s = setup("once").await;
    s.executor
        .submit(s.action(s.user, 101, ActionKind::Timeout { seconds: 600 }));
    // The same decision again (a rebuilt history, a duplicate signal): executed once.
    s.executor
        .submit(s.action(s.user, 101, ActionKind::Timeout { seconds: 600 }));
    s.executor.submit(s.action(s.user, 102, ActionKind::Delete));
    let timeout = s.outcome(101).await;
    let delete = s.outcome(102).await;
    assert_eq!(timeout.status, ActionStatus::Done, "{timeout:?}");
    assert_eq!(
        (timeout.action.as_str(), timeout.seconds),
        ("timeout", Some(600))
    );
    assert_eq!(delete.status, ActionStatus::Done, "{delete:?}");
    let rest = s.sim.rest_actions();
    let timeouts: Vec<_> = rest
        .iter()
        .filter(|a| a.route == RestRoute::ModifyMember)
        .collect();
    assert_eq!(timeouts.len(), 1, "{rest:?}");
    assert_eq!(timeouts[0].ids[..2], [s.guild, s.user]);
    assert!(timeouts[0].body.as_ref().unwrap()["communication_disabled_until"].is_string());
    assert!(timeouts[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("guildflow automod: flood"));
    let deletes: Vec<_> = rest
        .iter()
        .filter(|a| a.route == RestRoute::DeleteMessage)
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].ids[..2], [s.channel, 102]);
    s.finish();
}

#[tokio::test]
async fn refusals_fail_at_once_and_transient_errors_are_retried_within_bounds() {
    let s = setup("retry").await;
    // Not a member: Discord's 404 is final.
    s.executor
        .submit(s.action(424_242_424_242, 201, ActionKind::Kick));
    let refused = s.outcome(201).await;
    assert_eq!(refused.status, ActionStatus::Failed);
    assert_eq!(refused.attempts, 1);
    assert!(
        refused.error.as_deref().unwrap().contains("404"),
        "{refused:?}"
    );

    // Two 500s, then success: three attempts.
    s.sim.inject_rest_failure(RestRoute::ModifyMember, 500, 2);
    s.executor
        .submit(s.action(s.user, 202, ActionKind::Timeout { seconds: 60 }));
    let recovered = s.outcome(202).await;
    assert_eq!(
        (recovered.status, recovered.attempts),
        (ActionStatus::Done, 3),
        "{recovered:?}"
    );

    // Failing for longer than the retries: failed after three attempts.
    s.sim.inject_rest_failure(RestRoute::ModifyMember, 503, 10);
    s.executor
        .submit(s.action(s.user, 203, ActionKind::Timeout { seconds: 60 }));
    let failed = s.outcome(203).await;
    assert_eq!((failed.status, failed.attempts), (ActionStatus::Failed, 3));
    s.finish();
}

#[tokio::test]
async fn level_rewards_give_their_role() {
    let s = setup("reward").await;
    s.plane
        .update_settings(
            s.guild,
            Some(1),
            serde_json::from_value(
                json!({"level_rewards": [{"level": 5, "role_id": s.role.to_string()}]}),
            )
            .unwrap(),
        )
        .unwrap();
    let level_up = |level| LevelUp {
        guild: s.guild,
        user: s.user,
        level,
        xp: 2_500,
        at: guildflow_admin::now_ms(),
    };
    s.executor.submit_level_up(level_up(4));
    s.executor.submit_level_up(level_up(5));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s
        .plane
        .audit_log(s.guild, PageRequest::default())
        .entries
        .iter()
        .any(|e| e.action == "level.reward")
    {
        assert!(Instant::now() < deadline, "no reward audited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let adds: Vec<_> = s
        .sim
        .rest_actions()
        .into_iter()
        .filter(|a| a.route == RestRoute::AddMemberRole)
        .collect();
    assert_eq!(adds.len(), 1);
    assert_eq!(adds[0].ids, [s.guild, s.user, s.role]);
    s.finish();
}
