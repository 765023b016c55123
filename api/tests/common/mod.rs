//! Helpers shared by the API's integration tests: the fixture capture run through the
//! dataflow, synthetic events, and request shortcuts.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_dataflow::state::StatsState;
use guildflow_model::{
    ChannelId, Event, EventBody, GuildId, MessageCreate, MessageId, Metric, Period, UserId,
};
use guildflow_queries::{GuildSql, SqlLimits};
use guildflow_shards::capture::{CaptureItem, CaptureReader};
use guildflow_shards::ingest::Ingest;
use guildflow_shards::workload::WorkloadConfig;
use guildflow_store::parquet::{ParquetConfig, ParquetStore};
use guildflow_store::EventRow;
use std::path::PathBuf;
use std::time::Duration;

/// This crate's directory, read at run time: cargo sets `CARGO_MANIFEST_DIR` when it runs a
/// test, so a test binary reused from another checkout sharing the target dir reads this
/// checkout's files (the compile-time value is the fallback).
pub fn crate_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
        .into()
}

/// `tests/` of this crate.
pub fn tests_dir() -> PathBuf {
    crate_dir().join("tests")
}

/// The fixture capture's workload: 3 guilds, one shard, across a UTC midnight.
pub fn fixture_config() -> WorkloadConfig {
    WorkloadConfig {
        seed: 21,
        guilds: 3,
        total_shards: 1,
        // 2026-02-01T22:00Z, a Sunday: crosses into Monday 02-02 (new day and ISO week).
        start_ms: 1_769_983_200_000,
        event_rate: 0.025,
        max_members_per_guild: 25,
    }
}

/// Dispatch lines of the fixture after its READY and GUILD_CREATEs.
pub const FIXTURE_EVENTS: u64 = 300;

/// The fixture's decoded events, in file order.
pub fn fixture_events() -> Vec<Event> {
    let bytes = std::fs::read(tests_dir().join("fixtures/capture.jsonl")).unwrap();
    let ingest = Ingest::default();
    let mut reader = CaptureReader::new(&bytes[..]);
    let mut events = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        if let Some(event) = ingest.capture_item(item) {
            events.push(event);
        }
    }
    events
}

/// The fixture's stored rows, as the binary stores them: one per decoded frame, its capture
/// line number as lsn. Also returns the last line (the `through_lsn` of the commit).
pub fn fixture_rows() -> (Vec<EventRow>, u64) {
    let bytes = std::fs::read(tests_dir().join("fixtures/capture.jsonl")).unwrap();
    let ingest = Ingest::default();
    let mut reader = CaptureReader::new(&bytes[..]);
    let (mut rows, mut last) = (Vec::new(), 0);
    while let Some(item) = reader.next_item().unwrap() {
        if let CaptureItem::Frame { line, frame } = item {
            last = line;
            if let Some(event) = ingest.frame(&frame, Some(line)) {
                rows.push(EventRow::new(line, &frame, &event, None));
            }
        }
    }
    (rows, last)
}

/// A Parquet store holding the whole fixture, in a fresh directory named after `name`
/// (removed when the returned guard drops).
pub struct FixtureStore {
    /// The writer (kept alive: its reader shares its state).
    pub store: ParquetStore,
    /// Its directory.
    pub dir: PathBuf,
}

impl Drop for FixtureStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The fixture committed to a Parquet store.
pub fn fixture_store(name: &str) -> FixtureStore {
    let dir = std::env::temp_dir().join(format!("guildflow-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = ParquetConfig {
        retention_days: None,
        ..ParquetConfig::default()
    };
    let mut store = ParquetStore::open(&dir, config).unwrap();
    let (rows, last) = fixture_rows();
    store.write(rows, last).unwrap();
    FixtureStore { store, dir }
}

/// The query service over `store` with `limits`.
pub fn fixture_sql(store: &FixtureStore, limits: SqlLimits) -> GuildSql {
    GuildSql::new(store.store.reader(), limits).unwrap()
}

/// The fixture run through a one-worker dataflow to the end.
pub fn fixture_state() -> StatsState {
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })
    .unwrap();
    for batch in fixture_events().chunks(64) {
        dataflow.push(batch.to_vec());
    }
    dataflow.finish().unwrap()
}

/// Guilds of a state, busiest first (most members on the all-time score board), then by id.
pub fn guilds_by_activity(state: &StatsState) -> Vec<u64> {
    let published = state.read();
    let mut guilds = published.guilds();
    guilds.sort_by_key(|&g| {
        let total = published
            .leaderboard(g, Metric::Score, Period::All, 0, 1)
            .total;
        (std::cmp::Reverse(total), g)
    });
    guilds
}

/// A counted message.
pub fn message(guild: u64, user: u64, id: u64, at: i64, seq: u64) -> Event {
    Event {
        at,
        shard: 0,
        seq,
        body: EventBody::MessageCreate(Box::new(MessageCreate {
            guild: Some(GuildId(guild)),
            channel: ChannelId(guild + 1),
            message: MessageId(id),
            author: UserId(user),
            author_bot: false,
            webhook: false,
            author_roles: Box::new([]),
            content: "hello".into(),
            mention_users: 0,
            mention_roles: 0,
            mention_everyone: false,
            attachments: 0,
            embeds: 0,
        })),
    }
}

/// A running one-worker dataflow.
pub fn dataflow() -> Dataflow {
    Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })
    .unwrap()
}

/// Polls `check` every 10 ms for up to 10 s.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// An admin plane journaled in a fresh temp directory named after `name`, attached to a
/// running one-worker dataflow (detached, and the directory removed, on drop).
pub struct AdminFixture {
    /// The plane (cheap to clone into an `ApiContext`).
    pub plane: guildflow_admin::AdminPlane,
    /// Its journal's directory.
    pub dir: PathBuf,
}

impl Drop for AdminFixture {
    fn drop(&mut self) {
        self.plane.detach();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh admin plane over a running dataflow (see [`AdminFixture`]).
pub fn admin_fixture(name: &str) -> AdminFixture {
    let dir =
        std::env::temp_dir().join(format!("guildflow-api-admin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let journal = guildflow_admin::FileJournal::open(&dir).unwrap();
    let plane = guildflow_admin::AdminPlane::open(Box::new(journal)).unwrap();
    let control = guildflow_admin::DataflowControl::new(dataflow());
    plane.attach(std::sync::Arc::new(control)).unwrap();
    AdminFixture { plane, dir }
}
