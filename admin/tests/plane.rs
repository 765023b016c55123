//! The admin plane over a real dataflow: changes survive a restart (journal reload), settings,
//! exclusions and opt-outs change what the dataflow counts from then on, automod rules and
//! manual warnings make the dataflow decide actions, and an action is logged once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_admin::{
    AdminPlane, Admission, DataflowControl, FileJournal, ModerationFilter, PageRequest,
    SettingsPatch,
};
use guildflow_dataflow::automod::{ActionKind, AutomodAction};
use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_dataflow::state::{StateEvent, StatsState};
use guildflow_model::{
    ChannelId, Event, EventBody, GuildId, MessageCreate, MessageId, Metric, Period, RoleId, UserId,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GUILD: u64 = 1_000_000_000_000_001;
const T0: i64 = 1_769_983_200_000;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gf-admin-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
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

fn open(dir: &Path, control: &DataflowControl) -> AdminPlane {
    let plane = AdminPlane::open(Box::new(FileJournal::open(dir).unwrap())).unwrap();
    plane.attach(Arc::new(control.clone())).unwrap();
    plane
}

fn message(user: u64, channel: u64, id: u64, at: i64, content: &str, roles: &[u64]) -> Event {
    Event {
        at,
        shard: 0,
        seq: id,
        body: EventBody::MessageCreate(Box::new(MessageCreate {
            guild: Some(GuildId(GUILD)),
            channel: ChannelId(channel),
            message: MessageId(id),
            author: UserId(user),
            author_bot: false,
            webhook: false,
            author_roles: roles.iter().map(|r| RoleId(*r)).collect(),
            content: content.into(),
            mention_users: 0,
            mention_roles: 0,
            mention_everyone: false,
            attachments: 0,
            embeds: 0,
        })),
    }
}

fn push(control: &DataflowControl, events: Vec<Event>) {
    control.lock().as_mut().unwrap().push(events);
}

fn finish(control: &DataflowControl) -> StatsState {
    control.take().unwrap().finish().unwrap()
}

fn messages_of(state: &StatsState, user: u64) -> i64 {
    let published = state.read();
    published
        .leaderboard(GUILD, Metric::Messages, Period::All, 0, 100)
        .entries
        .iter()
        .find(|e| e.user_id.get() == user)
        .map_or(0, |e| e.value)
}

fn patch(value: serde_json::Value) -> SettingsPatch {
    serde_json::from_value(value).unwrap()
}

#[test]
fn exclusions_and_opt_outs_change_what_is_counted() {
    let dir = temp_dir("exclusions");
    let control = start();
    let plane = open(&dir, &control);
    // Counted before any setting.
    push(&control, vec![message(11, 500, 1, T0, "hi", &[])]);
    plane
        .update_settings(
            GUILD,
            Some(7),
            patch(json!({"stats_exclusions": {"channels": ["600"], "roles": ["900"]}})),
        )
        .unwrap();
    plane.set_opt_out(GUILD, Some(7), 13, true).unwrap();
    push(
        &control,
        vec![
            message(11, 500, 2, T0 + 1_000, "counted", &[]),
            message(11, 600, 3, T0 + 2_000, "excluded channel", &[]),
            message(12, 500, 4, T0 + 3_000, "excluded role", &[900]),
            message(13, 500, 5, T0 + 4_000, "opted out", &[]),
            message(14, 500, 6, T0 + 5_000, "counted", &[]),
        ],
    );
    plane.detach();
    let state = finish(&control);
    assert_eq!(messages_of(&state, 11), 2);
    assert_eq!(messages_of(&state, 12), 0);
    assert_eq!(messages_of(&state, 13), 0);
    assert_eq!(messages_of(&state, 14), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_change_survives_a_restart() {
    let dir = temp_dir("restart");
    let control = start();
    let plane = open(&dir, &control);
    let settings = plane
        .update_settings(
            GUILD,
            Some(7),
            patch(json!({"timezone": "Europe/Paris", "xp": {"curve": "mee6"}, "level_rewards": [{"level": 5, "role_id": "42"}]})),
        )
        .unwrap();
    let rule = plane
        .create_rule(
            GUILD,
            Some(7),
            json!({"name": "no caps", "trigger": {"type": "caps", "max_ratio_percent": 70}, "actions": [{"type": "delete"}]}),
        )
        .unwrap();
    let other = plane
        .create_rule(
            GUILD,
            Some(7),
            json!({"name": "links", "trigger": {"type": "links", "mode": {"type": "block_all"}}, "actions": [{"type": "warn"}]}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    plane
        .update_rule(GUILD, Some(8), rule.id, json!({"enabled": false}))
        .unwrap();
    plane.delete_rule(GUILD, Some(8), other.id).unwrap();
    let warning = plane.add_warning(GUILD, Some(7), 55, "rude").unwrap();
    let kept = plane.add_warning(GUILD, Some(7), 56, "spam").unwrap();
    plane.revoke_warning(GUILD, Some(7), warning.id).unwrap();
    plane.set_opt_out(GUILD, Some(7), 77, true).unwrap();

    let before = (
        serde_json::to_value(plane.settings(GUILD)).unwrap(),
        plane.automod(GUILD),
        plane.warnings(GUILD, None, PageRequest::default()),
        plane.moderation_log(GUILD, &ModerationFilter::default(), PageRequest::default()),
        plane.audit_log(GUILD, PageRequest::default()),
        plane.opted_out(GUILD),
    );
    assert_eq!(before.2.entries, vec![kept.clone()]);
    assert!(!before.1.rules[0].enabled);
    assert_eq!(before.1.rules.len(), 1);
    let actions: Vec<&str> = before.4.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "member.opt_out",
            "warning.delete",
            "warning.create",
            "warning.create",
            "automod.rule.delete",
            "automod.rule.update",
            "automod.rule.create",
            "automod.rule.create",
            "settings.update"
        ]
    );
    assert_eq!(before.4.entries[4].actor_id, Some(UserId(8)));
    assert_eq!(settings.config.timezone, "Europe/Paris");
    drop(plane);

    let again = open(&dir, &control);
    let after = (
        serde_json::to_value(again.settings(GUILD)).unwrap(),
        again.automod(GUILD),
        again.warnings(GUILD, None, PageRequest::default()),
        again.moderation_log(GUILD, &ModerationFilter::default(), PageRequest::default()),
        again.audit_log(GUILD, PageRequest::default()),
        again.opted_out(GUILD),
    );
    assert_eq!(before, after);
    // Ids continue after the reload.
    let next = again.add_warning(GUILD, None, 55, "again").unwrap();
    assert!(next.id > before.4.entries[0].id);
    again.detach();
    finish(&control);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_changes_are_refused_and_change_nothing() {
    let dir = temp_dir("invalid");
    let control = start();
    let plane = open(&dir, &control);
    for bad in [
        json!({"name": "x", "trigger": {"type": "regex", "patterns": ["(a"]}, "actions": [{"type": "delete"}]}),
        json!({"name": "", "trigger": {"type": "caps", "max_ratio_percent": 70}, "actions": [{"type": "delete"}]}),
        json!({"name": "x", "trigger": {"type": "caps", "max_ratio_percent": 70}, "actions": []}),
        json!({"id": 5, "name": "x", "trigger": {"type": "caps", "max_ratio_percent": 70}, "actions": [{"type": "delete"}]}),
        json!({"name": "x", "trigger": {"type": "teleport"}, "actions": [{"type": "delete"}]}),
        json!(["not", "an", "object"]),
    ] {
        let err = plane.create_rule(GUILD, None, bad.clone()).unwrap_err();
        assert!(
            matches!(
                err,
                guildflow_admin::AdminError::Invalid {
                    code: "invalid_rule",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
    let rule = json!({"name": "dup", "trigger": {"type": "caps", "max_ratio_percent": 70}, "actions": [{"type": "delete"}]});
    plane.create_rule(GUILD, None, rule.clone()).unwrap();
    assert!(
        plane.create_rule(GUILD, None, rule).is_err(),
        "duplicate name"
    );
    assert!(plane
        .update_settings(GUILD, None, patch(json!({"timezone": "Nowhere/Land"})))
        .is_err());
    assert!(plane.update_rule(GUILD, None, 999_999, json!({})).is_err());
    assert_eq!(plane.automod(GUILD).rules.len(), 1);
    assert_eq!(plane.settings(GUILD).config.timezone, "UTC");
    plane.detach();
    finish(&control);
    let _ = std::fs::remove_dir_all(&dir);
}

fn action(message: u64, at: i64) -> AutomodAction {
    AutomodAction {
        guild: GuildId(GUILD),
        user: UserId(5),
        channel: ChannelId(500),
        message: Some(MessageId(message)),
        at,
        rule_id: Some(1),
        rule_name: "flood".into(),
        action: ActionKind::Timeout { seconds: 60 },
        evidence: guildflow_dataflow::automod::Evidence {
            trigger: "message_rate".into(),
            detail: "6 messages in 5 s".into(),
            matched: None,
            content_excerpt: "spam".into(),
        },
    }
}

#[test]
fn an_action_is_logged_once_even_across_a_restart_and_history_is_not_acted_on() {
    let dir = temp_dir("once");
    let control = start();
    let plane = open(&dir, &control);
    let now = guildflow_admin::now_ms();
    let Admission::Execute(entry) = plane.admit_action(&action(9, now), now, 600_000).unwrap()
    else {
        panic!("a new action executes");
    };
    assert!(matches!(
        plane.admit_action(&action(9, now), now, 600_000).unwrap(),
        Admission::Seen
    ));
    assert!(matches!(
        plane
            .admit_action(&action(10, now - 3_600_000), now, 600_000)
            .unwrap(),
        Admission::Stale
    ));
    plane
        .finish_action(*entry, guildflow_admin::ActionStatus::Done, None, 1)
        .unwrap();
    drop(plane);
    let again = open(&dir, &control);
    assert!(matches!(
        again.admit_action(&action(9, now), now, 600_000).unwrap(),
        Admission::Seen
    ));
    let log = again.moderation_log(GUILD, &ModerationFilter::default(), PageRequest::default());
    assert_eq!(log.entries.len(), 1);
    assert_eq!(log.entries[0].status, guildflow_admin::ActionStatus::Done);
    again.detach();
    finish(&control);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rules_and_manual_warnings_make_the_dataflow_decide_actions() {
    let dir = temp_dir("decide");
    let control = start();
    let plane = open(&dir, &control);
    let state = control.lock().as_ref().unwrap().state();
    let heard: Arc<Mutex<Vec<AutomodAction>>> = Arc::default();
    let sink = Arc::clone(&heard);
    let _listening = state.listen(move |event| {
        if let StateEvent::Automod(action) = event {
            sink.lock().unwrap().push(action.clone());
        }
    });
    plane
        .create_rule(
            GUILD,
            Some(7),
            json!({"name": "words", "trigger": {"type": "banned_words", "words": ["forbidden"]}, "actions": [{"type": "delete"}]}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    plane
        .set_escalation(
            GUILD,
            Some(7),
            serde_json::from_value(
                json!([{"warnings": 2, "within_seconds": 600, "action": {"type": "kick"}}]),
            )
            .unwrap(),
        )
        .unwrap();
    let now = guildflow_admin::now_ms();
    push(
        &control,
        vec![
            message(21, 500, 31, now, "this is forbidden talk", &[]),
            message(22, 500, 32, now + 1, "fine", &[]),
        ],
    );
    plane.add_warning(GUILD, Some(7), 23, "first").unwrap();
    plane.add_warning(GUILD, Some(7), 23, "second").unwrap();
    // Later events move the frontier past the warnings.
    push(
        &control,
        vec![message(22, 500, 33, now + 2_000, "fine", &[])],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = heard.lock().unwrap().clone();
        let deleted = got
            .iter()
            .any(|a| a.user == UserId(21) && a.action == ActionKind::Delete);
        let kicked = got
            .iter()
            .any(|a| a.user == UserId(23) && a.action == ActionKind::Kick && a.rule_id.is_none());
        if deleted && kicked {
            assert!(!got.iter().any(|a| a.user == UserId(22)), "{got:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "heard only {got:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    plane.detach();
    finish(&control);
    let _ = std::fs::remove_dir_all(&dir);
}
