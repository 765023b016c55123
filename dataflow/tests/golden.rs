//! Golden tests: small fixed captures (`tests/golden/*.jsonl`, SPEC §1 format) decoded with the
//! shards' `CaptureReader` + `Ingest`, run through the dataflow with 1 and 2 workers (the two
//! outputs must be identical), rendered to pretty JSON (every metric × period leaderboard top
//! 20, guild stats, day series, the stats of a few members) and compared with
//! `tests/golden/*.expected.json`.
//!
//! - `GOLDEN_UPDATE=1 cargo test -p guildflow-dataflow --test golden` rewrites the expected
//!   files instead of comparing (review the diff before committing it).
//! - `workload_*.jsonl` were written by `guildflow_shards::workload::write_capture` with the
//!   configs of `WORKLOADS`; `cargo test -p guildflow-dataflow --test golden -- --ignored`
//!   writes them again (they are fixtures: a generator change must not change the goldens).
//! - `voice_midnight.jsonl` is hand-written: voice across UTC and Paris midnights, an AFK
//!   channel, a bot in voice, a flagged bot reaction, a webhook and a bot message, the XP
//!   cooldown, a duplicated capture line, a resume replay of already-seen seqs, a repeated
//!   message id under a new seq (55 min later: the library remembers ids for an hour), a member leaving while in voice, a heartbeat ACK (op 11) and a
//!   malformed line. `hand_written_capture_numbers` checks its key numbers by hand, so its
//!   golden file is not only a snapshot of whatever the library printed.
//!
//! Every capture is also checked against the reference model of `reference_model/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "reference_model/mod.rs"]
mod reference_model;

use guildflow_dataflow::keys::SeriesMetric;
use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_dataflow::settings::GuildSettings;
use guildflow_dataflow::state::Published;
use guildflow_model::{Bucket, Event, EventBody, Metric, Period};
use guildflow_shards::capture::CaptureReader;
use guildflow_shards::ingest::Ingest;
use guildflow_shards::workload::{write_capture, WorkloadConfig};
use reference_model::{World, Zone};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Frames per pushed batch (captures are in time order, so batches are too).
const BATCH: usize = 64;

/// The Paris guild of `voice_midnight.jsonl`.
const PARIS_GUILD: u64 = 222_222_222_222_222_202;

/// A fixture: its file stem and the guilds to configure with a timezone before its frames.
struct Fixture {
    name: &'static str,
    zones: &'static [(u64, &'static str)],
}

const FIXTURES: [Fixture; 3] = [
    Fixture {
        name: "workload_one_shard",
        zones: &[],
    },
    Fixture {
        name: "workload_two_shards",
        zones: &[],
    },
    Fixture {
        name: "voice_midnight",
        zones: &[(PARIS_GUILD, "Europe/Paris")],
    },
];

fn dir() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/golden")
}

/// The configs of the generated captures (name, config, dispatch lines after the READYs and
/// GUILD_CREATEs).
fn workloads() -> Vec<(&'static str, WorkloadConfig, u64)> {
    vec![
        (
            "workload_one_shard",
            WorkloadConfig {
                seed: 7,
                guilds: 3,
                total_shards: 1,
                // 2026-01-31T23:45Z: crosses the UTC midnight and month end.
                start_ms: 1_769_903_100_000,
                event_rate: 0.1,
                max_members_per_guild: 12,
            },
            200,
        ),
        (
            "workload_two_shards",
            WorkloadConfig {
                seed: 11,
                guilds: 5,
                total_shards: 2,
                // 2026-01-04T23:30Z, a Sunday: crosses into the ISO week of Monday 01-05.
                start_ms: 1_767_569_400_000,
                event_rate: 0.05,
                max_members_per_guild: 15,
            },
            300,
        ),
    ]
}

/// Writes the generated captures again.
#[test]
#[ignore = "rewrites the generated fixtures"]
fn regenerate_workload_captures() {
    for (name, cfg, events) in workloads() {
        let mut out = Vec::new();
        write_capture(&cfg, events, &mut out).unwrap();
        std::fs::write(dir().join(format!("{name}.jsonl")), out).unwrap();
    }
}

/// The decoded events of a capture, in file order, and the number of lines that did not decode
/// to an event (non-dispatch frames, ignored types, malformed lines).
fn decode(name: &str) -> (Vec<Event>, usize) {
    let bytes = std::fs::read(dir().join(format!("{name}.jsonl"))).unwrap();
    let ingest = Ingest::default();
    let mut reader = CaptureReader::new(&bytes[..]);
    let mut events = Vec::new();
    let mut skipped = 0;
    while let Some(item) = reader.next_item().unwrap() {
        match ingest.capture_item(item) {
            Some(event) => events.push(event),
            None => skipped += 1,
        }
    }
    (events, skipped)
}

fn batches(events: &[Event]) -> Vec<Vec<Event>> {
    events.chunks(BATCH).map(<[Event]>::to_vec).collect()
}

struct Run {
    events: u64,
    duplicates: u64,
    rendered: Value,
    views: reference_model::Views,
}

fn run(fixture: &Fixture, workers: usize, events: &[Event], world: &World) -> Run {
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers,
        ..DataflowConfig::default()
    })
    .unwrap();
    for (guild, zone) in fixture.zones {
        dataflow.configure(
            *guild,
            GuildSettings {
                timezone: zone.parse().unwrap(),
                ..GuildSettings::default()
            },
        );
    }
    for batch in batches(events) {
        dataflow.push(batch);
    }
    let (admitted, duplicates) = (dataflow.events(), dataflow.duplicates());
    let state = dataflow.finish().unwrap();
    let published = state.read();
    Run {
        events: admitted,
        duplicates,
        rendered: render(&published, world),
        views: reference_model::render::render(&published, world),
    }
}

fn leaderboard(p: &Published, guild: u64, metric: Metric, period: Period) -> Value {
    let page = p.leaderboard(guild, metric, period, 0, 20);
    json!({ "total": page.total, "entries": page.entries })
}

/// Members shown in full: the top 3 of score/all, then the leader of every other metric/all.
fn featured_members(p: &Published, guild: u64) -> Vec<u64> {
    let mut users: Vec<u64> = Vec::new();
    let mut push = |user: u64| {
        if !users.contains(&user) {
            users.push(user);
        }
    };
    for entry in p
        .leaderboard(guild, Metric::Score, Period::All, 0, 3)
        .entries
    {
        push(entry.user_id.get());
    }
    for metric in Metric::ALL {
        for entry in p.leaderboard(guild, metric, Period::All, 0, 1).entries {
            push(entry.user_id.get());
        }
    }
    users
}

fn render(p: &Published, world: &World) -> Value {
    let mut guilds = Map::new();
    for (_, guild, _) in &world.guilds {
        let guild = *guild;
        let mut boards = Map::new();
        for metric in Metric::ALL {
            for period in Period::ALL {
                boards.insert(
                    format!("{}/{}", metric.as_str(), period.as_str()),
                    leaderboard(p, guild, metric, period),
                );
            }
        }
        let mut series = Map::new();
        for metric in SeriesMetric::ALL {
            let points: Vec<Value> = p
                .series(guild, metric, Bucket::Day)
                .iter()
                .map(|point| json!([point.start, point.value]))
                .collect();
            series.insert(metric.as_str().to_owned(), Value::Array(points));
        }
        let mut members = Map::new();
        for user in featured_members(p, guild) {
            members.insert(
                user.to_string(),
                serde_json::to_value(p.member_stats(guild, user)).unwrap(),
            );
        }
        guilds.insert(
            guild.to_string(),
            json!({
                "leaderboards": boards,
                "stats": p.guild_stats(guild),
                "day_series": series,
                "members": members,
            }),
        );
    }
    json!({
        "watermark": p.watermark,
        "level_ups": p.level_ups(),
        "guilds": guilds,
    })
}

/// Guilds (in id order) and users of a capture, for rendering and for the model.
fn world(fixture: &Fixture, events: &[Event]) -> World {
    let mut guilds = BTreeSet::new();
    let mut users = BTreeSet::new();
    for event in events {
        if let Some(guild) = event.body.guild() {
            guilds.insert(guild.get());
        }
        match &event.body {
            EventBody::MessageCreate(m) => {
                users.insert(m.author.get());
            }
            EventBody::ReactionAdd(r) => {
                users.insert(r.user.get());
            }
            EventBody::VoiceState(v) => {
                users.insert(v.user.get());
            }
            EventBody::MemberAdd(m) => {
                users.insert(m.user.get());
            }
            EventBody::GuildCreate(g) => {
                users.extend(g.voice_states.iter().map(|v| v.user.get()));
            }
            _ => {}
        }
    }
    World {
        guilds: guilds
            .into_iter()
            .map(|g| {
                let zone = fixture
                    .zones
                    .iter()
                    .find(|(id, _)| *id == g)
                    .map_or(Zone::Utc, |(_, name)| Zone::Named(name.parse().unwrap()));
                (g.to_string(), g, zone)
            })
            .collect(),
        users: users.into_iter().collect(),
    }
}

/// The JSON paths where two documents differ (at most 20), with both values.
fn json_diff(expected: &Value, actual: &Value) -> String {
    fn walk(path: &str, e: &Value, a: &Value, out: &mut Vec<String>) {
        if out.len() >= 20 || e == a {
            return;
        }
        match (e, a) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for key in keys {
                    match (x.get(key), y.get(key)) {
                        (Some(v), Some(w)) => walk(&format!("{path}.{key}"), v, w, out),
                        (v, w) => out.push(format!(
                            "  {path}.{key}\n    expected: {}\n    actual:   {}",
                            v.map_or("(missing)".into(), Value::to_string),
                            w.map_or("(missing)".into(), Value::to_string)
                        )),
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    walk(&format!("{path}[{i}]"), v, w, out);
                }
            }
            _ => out.push(format!("  {path}\n    expected: {e}\n    actual:   {a}")),
        }
    }
    let mut out = Vec::new();
    walk("$", expected, actual, &mut out);
    if out.is_empty() {
        return "  (same JSON values, different text)".into();
    }
    out.join("\n")
}

fn golden(fixture: &Fixture) {
    let (events, _) = decode(fixture.name);
    let world = world(fixture, &events);
    let one = run(fixture, 1, &events, &world);
    let two = run(fixture, 2, &events, &world);
    let text = |r: &Run| {
        let mut doc = serde_json::to_string_pretty(&json!({
            "capture": format!("{}.jsonl", fixture.name),
            "events_admitted": r.events,
            "frames_dropped_as_duplicates": r.duplicates,
            "views": r.rendered,
        }))
        .unwrap();
        doc.push('\n');
        doc
    };
    let (one_text, two_text) = (text(&one), text(&two));
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap();
    assert!(
        one_text == two_text,
        "{}: 1 and 2 workers disagree (expected = 1 worker, actual = 2 workers)\n{}",
        fixture.name,
        json_diff(&parse(&one_text), &parse(&two_text))
    );
    let path = dir().join(format!("{}.expected.json", fixture.name));
    if std::env::var("GOLDEN_UPDATE").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &one_text).unwrap();
    } else {
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with GOLDEN_UPDATE=1 to create it",
                path.display()
            )
        });
        assert!(
            expected == one_text,
            "{}: output differs from {} (GOLDEN_UPDATE=1 rewrites it)\n{}",
            fixture.name,
            path.display(),
            serde_json::from_str::<Value>(&expected).map_or_else(
                |e| format!("  unreadable: {e}"),
                |e| json_diff(&e, &parse(&one_text))
            )
        );
    }
    let reference = reference_model::views(&world, &batches(&events));
    if let Some(d) = reference_model::render::diff(&reference, &one.views) {
        panic!(
            "{}: the dataflow disagrees with the reference model\n{d}",
            fixture.name
        );
    }
}

#[test]
fn workload_one_shard() {
    golden(&FIXTURES[0]);
}

#[test]
fn workload_two_shards() {
    golden(&FIXTURES[1]);
}

#[test]
fn voice_midnight() {
    golden(&FIXTURES[2]);
}

/// The hand-written capture's key numbers, computed by hand from its lines.
#[test]
fn hand_written_capture_numbers() {
    let fixture = &FIXTURES[2];
    let (events, skipped) = decode(fixture.name);
    let world = world(fixture, &events);
    let run = run(fixture, 1, &events, &world);
    // The heartbeat ACK and the malformed line decode to nothing.
    assert_eq!(skipped, 2);
    // One duplicated line and two replayed frames.
    assert_eq!(run.duplicates, 3);
    let v = |key: &str| run.views.get(key).cloned().unwrap_or_default();
    let g = "222222222222222201";
    let (u1, u2, u3, u4) = (
        "333333333333333301",
        "333333333333333302",
        "333333333333333303",
        "333333333333333304",
    );
    // u1: V1 from 22:40:00.100, V2 at 23:30, leaves at 00:05: 5099.9 s, 300 s of them today
    // (Feb 1 UTC); one message at 23:59:30 (its replay at 00:00:30 is a repeated seq).
    assert_eq!(
        v(&format!("{g} member {u1} all")),
        "messages=1 reactions=0 voice_seconds=5099 score=169 xp=20"
    );
    assert_eq!(
        v(&format!("{g} member {u1} day")),
        "messages=0 reactions=0 voice_seconds=300 score=10 xp=0"
    );
    // u2: three messages on Jan 31 (XP for the first and third, 70 s apart), the id repeated
    // at 23:35 ignored; then V1 from 00:45 to the watermark 01:00: 15 min today.
    assert_eq!(
        v(&format!("{g} member {u2} day")),
        "messages=0 reactions=0 voice_seconds=900 score=30 xp=0"
    );
    assert_eq!(
        v(&format!("{g} member {u2} month")),
        "messages=0 reactions=0 voice_seconds=900 score=30 xp=0"
    );
    assert_eq!(
        v(&format!("{g} member {u2} all")),
        "messages=3 reactions=0 voice_seconds=900 score=33 xp=41"
    );
    // u3: AFK from 22:50 until removed at 00:20: no voice; one reaction on Jan 31.
    assert_eq!(
        v(&format!("{g} member {u3} all")),
        "messages=0 reactions=1 voice_seconds=0 score=1 xp=0"
    );
    // u4 joined at 00:20 and wrote at 01:00.
    assert_eq!(
        v(&format!("{g} member {u4} day")),
        "messages=1 reactions=0 voice_seconds=0 score=1 xp=16"
    );
    // Member count: 5 from GUILD_CREATE, +1 (u4), -1 (u3).
    assert!(v(&format!("{g} stats")).starts_with("member_count=Some(5) messages_today=1 "));
    // Paris guild: u2 in V2 from 22:40:00.200 to 00:30; Paris midnight is 23:00Z.
    let p = PARIS_GUILD.to_string();
    assert_eq!(
        v(&format!("{p} member {u2} day")),
        "messages=1 reactions=0 voice_seconds=5400 score=181 xp=23"
    );
    assert_eq!(
        v(&format!("{p} member {u2} all")),
        "messages=1 reactions=0 voice_seconds=6599 score=219 xp=23"
    );
}
