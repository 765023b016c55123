//! The dataflow end to end on a generated capture: every view fills, one and two workers agree.

#![allow(clippy::unwrap_used)]

use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_model::{Event, Metric, Period};
use guildflow_shards::capture::CaptureReader;
use guildflow_shards::ingest::Ingest;
use guildflow_shards::workload::{write_capture, WorkloadConfig};

fn events(n: u64) -> Vec<Event> {
    let cfg = WorkloadConfig {
        guilds: 30,
        total_shards: 2,
        max_members_per_guild: 300,
        ..WorkloadConfig::default()
    };
    let mut capture = Vec::new();
    write_capture(&cfg, n, &mut capture).unwrap();
    let ingest = Ingest::default();
    let mut reader = CaptureReader::new(&capture[..]);
    let mut out = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        out.extend(ingest.capture_item(item));
    }
    out
}

fn run(workers: usize, events: &[Event]) -> Vec<(u64, Vec<(u64, i64)>)> {
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers,
        ..DataflowConfig::default()
    })
    .unwrap();
    for chunk in events.chunks(500) {
        dataflow.push(chunk.to_vec());
    }
    let state = dataflow.finish().unwrap();
    let published = state.read();
    let mut boards = Vec::new();
    for guild in published.guilds() {
        let page = published.leaderboard(guild, Metric::Score, Period::All, 0, 1000);
        boards.push((
            guild,
            page.entries
                .iter()
                .map(|e| (e.user_id.get(), e.value))
                .collect(),
        ));
    }
    boards
}

#[test]
fn one_and_two_workers_agree() {
    let events = events(20_000);
    let one = run(1, &events);
    assert!(
        one.iter().any(|(_, entries)| !entries.is_empty()),
        "{one:?}"
    );
    let two = run(2, &events);
    assert_eq!(one, two);
}

/// A counted message `i` of member 42 at `at` (its id carries `at`, as Discord's do).
fn message(guild: u64, i: u64, at: i64) -> Event {
    use guildflow_model::{ChannelId, EventBody, GuildId, MessageCreate, MessageId, UserId};
    Event {
        at,
        shard: 0,
        seq: i + 1,
        body: EventBody::MessageCreate(Box::new(MessageCreate {
            guild: Some(GuildId(guild)),
            channel: ChannelId(7),
            message: MessageId((((at - 1_420_070_400_000) as u64) << 22) + i),
            author: UserId(42),
            author_bot: false,
            webhook: false,
            author_roles: Box::new([]),
            content: format!("hello {i}").into(),
            mention_users: 0,
            mention_roles: 0,
            mention_everyone: false,
            attachments: 0,
            embeds: 0,
        })),
    }
}

/// A dataflow of `workers` workers with the `anti-spam` preset on `guild`.
fn start_with_anti_spam(guild: u64, workers: usize) -> Dataflow {
    use guildflow_dataflow::automod::AutomodConfig;
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers,
        ..DataflowConfig::default()
    })
    .unwrap();
    let rule = AutomodConfig::preset("anti-spam").unwrap();
    dataflow
        .configure_automod(
            guild,
            AutomodConfig {
                rules: vec![rule],
                escalation: vec![],
            },
        )
        .unwrap();
    dataflow
}

#[test]
fn automod_fires_through_the_dataflow() {
    use guildflow_dataflow::automod::ActionKind;
    use guildflow_model::{GuildId, UserId};

    let guild = 81_384_788_765_712_384u64;
    let mut dataflow = start_with_anti_spam(guild, 2);
    let start = 1_767_225_600_000i64;
    let events: Vec<Event> = (0..10u64)
        .map(|i| message(guild, i, start + i as i64 * 200))
        .collect();
    dataflow.push(events);
    let state = dataflow.finish().unwrap();
    let published = state.read();
    let actions: Vec<_> = published.automod_actions.iter().collect();
    assert!(
        !actions.is_empty(),
        "6 messages in 5 s break the anti-spam preset"
    );
    assert!(actions
        .iter()
        .all(|a| a.guild == GuildId(guild) && a.user == UserId(42)));
    assert!(actions.iter().any(|a| a.action == ActionKind::Delete));
    // Counting is unaffected by automod.
    let page = published.leaderboard(guild, Metric::Messages, Period::All, 0, 10);
    assert_eq!(page.entries[0].value, 10);
}

#[test]
fn keys_retiring_from_differential_leave_the_views_intact() {
    let guild = 81_384_788_765_712_384u64;
    let day = 86_400_000i64;
    let start = 1_767_225_600_000i64;
    let message = |i: u64, at: i64| message(guild, i, at);
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })
    .unwrap();
    // Day 0, then day 4: day 0's keys retire from differential (after 2 days) in between.
    dataflow.push(vec![message(0, start + 1000)]);
    dataflow.push(vec![message(1, start + 4 * day + 1000)]);
    let state = dataflow.finish().unwrap();
    let published = state.read();
    let all = published.leaderboard(guild, Metric::Messages, Period::All, 0, 10);
    assert_eq!(all.entries[0].value, 2);
    let today = published.leaderboard(guild, Metric::Messages, Period::Day, 0, 10);
    assert_eq!(today.entries[0].value, 1);
    let stats = published.guild_stats(guild);
    let daily: i64 = stats.messages_daily.iter().map(|p| p.value).sum();
    assert_eq!(daily, 2, "{:?}", stats.messages_daily);
    let member = published.member_stats(guild, 42);
    assert_eq!(member.daily.iter().map(|(_, d)| d[0]).sum::<i64>(), 2);
}

/// A backlog processed in one activation can hold both a key's growth and its retirement
/// (its bucket older than the retention at the frontier): they must not share a time, or
/// count_total nets them and the views never see the growth.
#[test]
fn a_backlog_spanning_the_retention_keeps_every_count() {
    let guild = 81_384_788_765_712_384u64;
    let (hour, day) = (3_600_000i64, 86_400_000i64);
    let start = 1_767_225_600_000i64;
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })
    .unwrap();
    let state = dataflow.state();
    let applied = |at: i64| {
        let waited = std::time::Instant::now();
        while state.watermark() < Some(at) {
            assert!(waited.elapsed().as_secs() < 120, "a batch never applied");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    // Day 0: the member's day key is born, due to retire at day 2 00:00.
    dataflow.push(vec![message(guild, 0, start + 10 * hour)]);
    applied(start + 10 * hour);
    // One push, so one activation: day 0 grows again while the frontier passes day 2 04:00,
    // where the key's retirement falls due.
    dataflow.push(vec![
        message(guild, 1, start + 11 * hour),
        message(guild, 2, start + 2 * day + 4 * hour),
    ]);
    applied(start + 2 * day + 4 * hour);
    let state = dataflow.finish().unwrap();
    let published = state.read();
    let all = published.leaderboard(guild, Metric::Messages, Period::All, 0, 10);
    assert_eq!(all.entries[0].value, 3);
    let member = published.member_stats(guild, 42);
    let daily: Vec<i64> = member
        .daily
        .iter()
        .map(|(_, d)| d[0])
        .filter(|m| *m > 0)
        .collect();
    assert_eq!(daily, vec![2, 1]);
}

/// Automod windows are part of a snapshot: a burst cut in two by a restart still fires, at the
/// same message as without the restart.
#[test]
fn automod_windows_survive_a_snapshot() {
    let guild = 81_384_788_765_712_384u64;
    let start_with_rules = |workers| start_with_anti_spam(guild, workers);
    let start = 1_767_225_600_000i64;
    let events: Vec<Event> = (0..10u64)
        .map(|i| message(guild, i, start + i as i64 * 200))
        .collect();
    let actions_of = |state: &guildflow_dataflow::state::StatsState| {
        let published = state.read();
        published
            .automod_actions
            .iter()
            .map(|a| serde_json::to_string(a).unwrap())
            .collect::<Vec<_>>()
    };

    let mut whole = start_with_rules(1);
    whole.push(events.clone());
    let expected = actions_of(&whole.finish().unwrap());
    assert!(!expected.is_empty());

    let mut first = start_with_rules(1);
    first.push(events[..4].to_vec());
    let snapshot = first.checkpoint().unwrap();
    let before = actions_of(&first.finish().unwrap());
    let mut second = start_with_rules(2);
    second.restore(&snapshot).unwrap();
    assert_eq!(
        actions_of(&second.state()),
        before,
        "the published actions are restored"
    );
    second.push(events[4..].to_vec());
    assert_eq!(actions_of(&second.finish().unwrap()), expected);
}

#[test]
fn a_snapshot_is_refused_by_a_fed_dataflow_and_garbage_is_an_error() {
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })
    .unwrap();
    let snapshot = dataflow.checkpoint().unwrap();
    assert!(dataflow.restore(b"not a snapshot").is_err());
    let mut other = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })
    .unwrap();
    other.push(vec![message(5, 0, 1_767_225_600_000)]);
    assert!(other.restore(&snapshot).is_err(), "events were fed already");
    let mut truncated = snapshot.clone();
    truncated.truncate(snapshot.len() / 2);
    let mut fresh = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })
    .unwrap();
    assert!(fresh.restore(&truncated).is_err());
    assert!(fresh.restore(&snapshot).is_ok());
}
