//! The PostgreSQL sink against a real PostgreSQL: each test starts its own throwaway cluster
//! from the installed server binaries (`LocalCluster`) and fails — never skips — without them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_model::{EventKind, RawFrame};
use guildflow_store::postgres::{
    self, LocalCluster, Partitioning, PostgresSink, PostgresSinkTask, SinkConfig, TaskConfig,
    WalCatchUp,
};
use guildflow_store::row::kind_from_str;
use guildflow_store::wal::{FsyncPolicy, Wal, WalConfig};
use guildflow_store::EventRow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;

fn cluster() -> LocalCluster {
    LocalCluster::start().unwrap_or_else(|e| {
        panic!("these tests need a PostgreSQL server they start themselves and could not: {e}")
    })
}

async fn client(cluster: &LocalCluster) -> Client {
    let (client, _driver) = postgres::connect(&cluster.url()).await.unwrap();
    client
}

async fn migrated(cluster: &LocalCluster) -> Client {
    let client = client(cluster).await;
    postgres::migrate(&client).await.unwrap();
    client
}

fn config(cluster: &LocalCluster) -> SinkConfig {
    SinkConfig::new(cluster.url())
}

/// A gateway frame as the shards hand it off; `to_row` below decodes it.
fn frame(i: u64, at: i64) -> RawFrame {
    RawFrame {
        shard: (i % 4) as u32,
        at,
        text: format!(
            r#"{{"op":0,"s":{i},"t":"MESSAGE_CREATE","d":{{"id":"{}","channel_id":"{}","guild_id":"{}","author":{{"id":"{}","username":"member{}"}},"content":"message number {i} — ünïcödé ✓","timestamp":"2026-01-01T00:00:00+00:00"}}}}"#,
            1_300_000_000_000_000_000 + i,
            1_200_000_000_000_000_000 + i % 50,
            1_100_000_000_000_000_000 + i % 7,
            1_000_000_000_000_000_000 + i % 500,
            i % 500
        ),
    }
}

/// The test's decoder: what the binary's `decode_frame` + `EventRow::new` do for real.
fn to_row(lsn: u64, raw: &RawFrame) -> Option<EventRow> {
    let v: serde_json::Value = serde_json::from_str(&raw.text).ok()?;
    let d = &v["d"];
    let id = |x: &serde_json::Value| x.as_str().and_then(|s| s.parse::<u64>().ok());
    Some(EventRow {
        lsn,
        ts: raw.at,
        shard: raw.shard,
        seq: v["s"].as_u64()?,
        session: Some("session-a".into()),
        kind: EventKind::MessageCreate,
        guild_id: id(&d["guild_id"]),
        channel_id: id(&d["channel_id"]),
        user_id: id(&d["author"]["id"]),
        message_id: id(&d["id"]),
        bot: false,
        frame: raw.text.clone(),
    })
}

fn rows(lsns: std::ops::Range<u64>) -> Vec<EventRow> {
    lsns.map(|i| to_row(i, &frame(i, T0 + i as i64)).unwrap())
        .collect()
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

async fn stored_next_lsn(client: &Client, sink: &str) -> i64 {
    client
        .query_one(
            "SELECT next_lsn FROM sink_progress WHERE sink = $1",
            &[&sink],
        )
        .await
        .unwrap()
        .get(0)
}

/// A temporary directory removed on drop, failed test or not.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("guildflow-pgtest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn migrating_twice_is_a_no_op_and_concurrent_migrations_serialize() {
    let cluster = cluster();
    let client = client(&cluster).await;
    let first = postgres::migrate(&client).await.unwrap();
    assert_eq!(first.applied, vec![1, 2, 3, 4]);
    assert_eq!(first.partitioning, Partitioning::Native);
    let second = postgres::migrate(&client).await.unwrap();
    assert!(second.applied.is_empty(), "{second:?}");
    assert_eq!(second.already_applied, vec![1, 2, 3, 4]);
    assert_eq!(
        count(&client, "SELECT count(*) FROM schema_migrations").await,
        4
    );
    for table in [
        "events",
        "sink_progress",
        "member_stats",
        "metrics_snapshots",
        "guild_settings",
        "automod_rules",
        "moderation_logs",
        "warnings",
        "audit_logs",
        "api_tokens",
        "sessions",
        "guild_grants",
        "stats_opt_outs",
    ] {
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await
            .unwrap()
            .get(0);
        assert!(exists, "table {table} missing");
    }
    for index in ["events_guild_ts", "events_kind_ts", "events_user_ts"] {
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&index])
            .await
            .unwrap()
            .get(0);
        assert!(exists, "index {index} missing");
    }

    // Four processes migrating a fresh database at once: exactly one applies each file.
    client.batch_execute("CREATE DATABASE race").await.unwrap();
    let url = cluster.url_for("race");
    let reports = futures_util::future::join_all((0..4).map(|_| postgres::migrate_url(&url))).await;
    let mut applied: Vec<i32> = Vec::new();
    for report in reports {
        applied.extend(report.unwrap().applied);
    }
    applied.sort();
    assert_eq!(applied, vec![1, 2, 3, 4]);

    // An applied migration edited afterwards is refused, not re-run or ignored.
    client
        .execute(
            "UPDATE schema_migrations SET checksum = 1 WHERE version = 2",
            &[],
        )
        .await
        .unwrap();
    let err = postgres::migrate(&client).await.unwrap_err();
    assert!(
        matches!(
            err,
            postgres::PostgresSinkError::MigrationChanged { version: 2, .. }
        ),
        "{err}"
    );
}

async fn partitions(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'events'::regclass ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn native_partitions_are_created_for_the_data_and_dropped_by_retention() {
    let cluster = cluster();
    let client = migrated(&cluster).await;
    assert!(partitions(&client).await.is_empty());

    // Rows on three distinct days get exactly those days' partitions.
    let mut sink = PostgresSink::connect(config(&cluster)).await.unwrap();
    let mut batch = rows(0..3);
    batch[1].ts = T0 + DAY + 5;
    batch[2].ts = T0 + 10 * DAY;
    sink.write(&batch).await.unwrap();
    assert_eq!(
        partitions(&client).await,
        vec!["events_p20260101", "events_p20260102", "events_p20260111"]
    );

    // Today's neighbourhood, as the task's maintenance creates it; retention keeps 30 days.
    let today = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        / DAY) as i32;
    let created = postgres::ensure_partitions(&client, today - 40, today + 2)
        .await
        .unwrap();
    assert_eq!(created, 43);
    assert_eq!(
        postgres::ensure_partitions(&client, today - 40, today + 2)
            .await
            .unwrap(),
        0
    );
    let recent = rows(10..12)
        .into_iter()
        .map(|mut r| {
            r.ts = i64::from(today) * DAY + 1000;
            r
        })
        .collect::<Vec<_>>();
    sink.write(&recent).await.unwrap();

    let dropped = postgres::run_retention(&client, 30).await.unwrap();
    // today-40 .. today-31 (10 days) plus the three 2026-01 days written above.
    assert_eq!(dropped, 13, "{:?}", partitions(&client).await);
    let left = partitions(&client).await;
    assert_eq!(left.len(), 43 - 10);
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 2);

    // The sink forgets dropped partitions: an old row arriving later gets its day back.
    let late = vec![EventRow {
        ts: T0 + 2 * DAY,
        ..rows(20..21).remove(0)
    }];
    sink.maintain(3, Some(30)).await.unwrap();
    sink.write(&late).await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 3);
}

#[tokio::test]
async fn copy_round_trips_every_column() {
    let cluster = cluster();
    let client = migrated(&cluster).await;
    let big = format!(
        r#"{{"op":0,"s":9,"t":"GUILD_CREATE","d":{{"blob":"{}"}}}}"#,
        "x".repeat(3 << 20)
    );
    let input = vec![
        EventRow {
            lsn: 0,
            ts: T0,
            shard: 0,
            seq: 1,
            session: None,
            kind: EventKind::Ready,
            guild_id: None,
            channel_id: None,
            user_id: None,
            message_id: None,
            bot: false,
            frame: r#"{"op":0,"s":1,"t":"READY","d":{}}"#.into(),
        },
        EventRow {
            lsn: 1,
            ts: T0 + 1,
            shard: 3,
            seq: u64::try_from(i64::MAX).unwrap(),
            session: Some("sessión-🦀".into()),
            kind: EventKind::MessageCreate,
            guild_id: Some(i64::MAX as u64),
            channel_id: Some(1),
            user_id: Some(1_000_000_000_000_000_001),
            message_id: Some(0),
            bot: true,
            frame: r#"{"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"content":"日本語 ✓ \"quoted\" \\ emoji 🎉 \u0000-escaped"}}"#.into(),
        },
        EventRow {
            lsn: 7,
            ts: T0 + 999,
            shard: 1,
            seq: 3,
            session: Some("s".into()),
            kind: EventKind::VoiceState,
            guild_id: Some(5),
            channel_id: None,
            user_id: Some(6),
            message_id: None,
            bot: false,
            frame: "not even json: the frame is stored as received".into(),
        },
        EventRow {
            lsn: 8,
            ts: T0 + 1000,
            shard: 2,
            seq: 4,
            session: Some("s".into()),
            kind: EventKind::GuildCreate,
            guild_id: Some(5),
            channel_id: None,
            user_id: None,
            message_id: None,
            bot: false,
            frame: big,
        },
    ];
    let mut sink = PostgresSink::connect(config(&cluster)).await.unwrap();
    let report = sink.write_range(&input, 10).await.unwrap();
    assert_eq!(report.inserted, 4);
    assert_eq!(report.next_lsn, 10);
    let out: Vec<EventRow> = client
        .query(
            "SELECT lsn, (extract(epoch FROM ts) * 1000)::bigint, shard, seq, session, kind,
                    guild_id, channel_id, user_id, message_id, bot, frame
             FROM events ORDER BY lsn",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| EventRow {
            lsn: r.get::<_, i64>(0) as u64,
            ts: r.get(1),
            shard: r.get::<_, i32>(2) as u32,
            seq: r.get::<_, i64>(3) as u64,
            session: r.get::<_, Option<String>>(4).map(Into::into),
            kind: kind_from_str(r.get(5)).unwrap(),
            guild_id: r.get::<_, Option<i64>>(6).map(|v| v as u64),
            channel_id: r.get::<_, Option<i64>>(7).map(|v| v as u64),
            user_id: r.get::<_, Option<i64>>(8).map(|v| v as u64),
            message_id: r.get::<_, Option<i64>>(9).map(|v| v as u64),
            bot: r.get(10),
            frame: r.get(11),
        })
        .collect();
    assert_eq!(out, input);
    // The timestamp is the instant itself, not shifted by a session time zone.
    let iso: String = client
        .query_one(
            "SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') FROM events WHERE lsn = 7",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(iso, "2026-01-01 00:00:00.999");
    // Frames that are JSON can be queried as JSON.
    let t: String = client
        .query_one("SELECT frame::jsonb ->> 't' FROM events WHERE lsn = 0", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(t, "READY");
    // Not all of them: jsonb cannot hold the \u0000 escape JSON allows, one more reason the
    // column is text.
    assert!(client
        .query_one("SELECT frame::jsonb FROM events WHERE lsn = 1", &[])
        .await
        .is_err());
}

#[tokio::test]
async fn retrying_a_batch_inserts_nothing_new_and_progress_equals_data() {
    let cluster = cluster();
    let client = migrated(&cluster).await;
    let mut sink = PostgresSink::connect(config(&cluster)).await.unwrap();
    let batch = rows(0..1000);
    assert_eq!(sink.write(&batch).await.unwrap(), 1000);
    // The same sink skips what it knows is stored.
    let again = sink.write_range(&batch, 1000).await.unwrap();
    assert_eq!((again.inserted, again.next_lsn), (0, 1000));
    // A sink that lost its position (another name) relies on the unique key instead.
    let mut other = PostgresSink::connect(SinkConfig {
        name: "other".into(),
        batch_rows: 128,
        ..config(&cluster)
    })
    .await
    .unwrap();
    let retry = other.write_range(&batch, 1000).await.unwrap();
    assert_eq!((retry.inserted, retry.duplicates), (0, 1000));
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 1000);

    // Progress is exactly the data: records below next_lsn, trailing row-less ones included.
    let more = rows(1000..1500);
    let report = sink.write_range(&more, 1600).await.unwrap();
    assert_eq!(report.next_lsn, 1600);
    assert_eq!(stored_next_lsn(&client, "events").await, 1600);
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 1500);
    assert_eq!(
        count(
            &client,
            "SELECT count(DISTINCT lsn) FROM events WHERE lsn < 1600"
        )
        .await,
        1500
    );
    // A new connection resumes there.
    let resumed = PostgresSink::connect(config(&cluster)).await.unwrap();
    assert_eq!(resumed.next_lsn(), 1600);
    assert_eq!(resumed.last_ts(), Some(T0 + 1499));
}

#[tokio::test]
async fn a_connection_killed_mid_write_loses_nothing_and_stores_nothing_twice() {
    let cluster = cluster();
    let admin = migrated(&cluster).await;
    let mut sink = PostgresSink::connect(SinkConfig {
        batch_rows: 1_000_000,
        batch_bytes: usize::MAX,
        ..config(&cluster)
    })
    .await
    .unwrap();
    sink.write(&rows(0..1000)).await.unwrap();
    let pid = sink.backend_pid().await.unwrap();

    // One large transaction, killed while the server works on it.
    let big = rows(1000..201_000);
    let killer = tokio::spawn(async move {
        for _ in 0..2000 {
            let busy: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'",
                    &[&pid],
                )
                .await
                .unwrap()
                .get(0);
            if busy > 0 {
                let killed: bool = admin
                    .query_one("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .unwrap()
                    .get(0);
                return (admin, killed);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        (admin, false)
    });
    let result = sink.write(&big).await;
    let (admin, killed) = killer.await.unwrap();
    assert!(killed, "never saw the sink's backend busy");
    assert!(
        result.is_err(),
        "the write survived its connection being killed"
    );
    drop(sink);

    // Nothing of the killed transaction is visible, and the position did not move.
    assert_eq!(count(&admin, "SELECT count(*) FROM events").await, 1000);
    assert_eq!(stored_next_lsn(&admin, "events").await, 1000);

    // Resuming from the stored position stores everything exactly once.
    let mut sink = PostgresSink::connect(config(&cluster)).await.unwrap();
    assert_eq!(sink.next_lsn(), 1000);
    let mut all = rows(0..1000);
    all.extend(big);
    assert_eq!(sink.write(&all).await.unwrap(), 201_000);
    assert_eq!(count(&admin, "SELECT count(*) FROM events").await, 201_000);
    assert_eq!(
        count(&admin, "SELECT count(DISTINCT lsn) FROM events").await,
        201_000
    );
}

#[tokio::test]
async fn rows_that_do_not_fit_are_counted_and_skipped() {
    let cluster = cluster();
    let client = migrated(&cluster).await;
    let mut sink = PostgresSink::connect(config(&cluster)).await.unwrap();
    let mut batch = rows(0..10);
    batch[2].guild_id = Some(u64::MAX);
    batch[4].user_id = Some(1 << 63);
    batch[6].message_id = Some(i64::MAX as u64 + 1);
    batch[8].frame = "nul \0 inside".into();
    let report = sink.write_range(&batch, 10).await.unwrap();
    assert_eq!((report.inserted, report.rejected), (6, 4));
    assert_eq!(sink.stats().rejected, 4);
    // Skipped for good: the position passes them instead of retrying them forever.
    assert_eq!(report.next_lsn, 10);
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 6);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM events WHERE lsn IN (2, 4, 6, 8)"
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_catches_up_from_the_log_after_an_outage_without_blocking_ingestion() {
    let cluster = Arc::new(Mutex::new(cluster()));
    let url = cluster.lock().unwrap().url();
    postgres::migrate_url(&url).await.unwrap();
    let dir = TempDir::new("outage");
    let wal = Arc::new(Mutex::new(
        Wal::open(
            &dir.0,
            WalConfig {
                fsync: FsyncPolicy::Never,
                ..WalConfig::default()
            },
        )
        .unwrap(),
    ));
    let task = PostgresSinkTask::spawn(
        TaskConfig {
            channel_capacity: 8,
            backoff_min: Duration::from_millis(20),
            backoff_max: Duration::from_millis(300),
            idle_check: Duration::from_millis(50),
            // The rows are dated 2026-01-01; retention would rightly drop them.
            retention_days: None,
            ..TaskConfig::new(SinkConfig {
                batch_rows: 2_000,
                ..SinkConfig::new(url.clone())
            })
        },
        WalCatchUp::new(Arc::clone(&wal), to_row),
    );
    let handle = task.handle();

    // Ingestion on its own thread, as in the binary: append to the log, then offer.
    const BATCHES: usize = 300;
    const PER_BATCH: u64 = 100;
    let progress = Arc::new(AtomicUsize::new(0));
    let feeder = {
        let wal = Arc::clone(&wal);
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            let mut next = 0u64;
            for b in 0..BATCHES {
                let frames: Vec<RawFrame> = (next..next + PER_BATCH)
                    .map(|i| frame(i, T0 + i as i64 * 10))
                    .collect();
                let first = wal.lock().unwrap().append(&frames).unwrap();
                let end = first + frames.len() as u64;
                let rows: Vec<EventRow> = frames
                    .iter()
                    .zip(first..)
                    .filter_map(|(f, lsn)| to_row(lsn, f))
                    .collect();
                let started = Instant::now();
                handle.offer(first..end, rows);
                slowest = slowest.max(started.elapsed());
                next = end;
                progress.store(b + 1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(4));
            }
            slowest
        })
    };
    let wait_for = |n: usize| {
        let progress = Arc::clone(&progress);
        async move {
            while progress.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };

    // A killed connection early on...
    wait_for(40).await;
    let (admin, _driver) = postgres::connect(&url).await.unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    drop(admin);
    // ...then PostgreSQL down for a good third of the run.
    wait_for(100).await;
    let c = Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || c.lock().unwrap().stop().unwrap())
        .await
        .unwrap();
    wait_for(220).await;
    let lag_in_outage = task.status().snapshot();
    let c = Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || c.lock().unwrap().start_server().unwrap())
        .await
        .unwrap();
    let slowest_offer = tokio::task::spawn_blocking(move || feeder.join().unwrap())
        .await
        .unwrap();

    let total = BATCHES as u64 * PER_BATCH;
    let deadline = Instant::now() + Duration::from_secs(60);
    while task.status().snapshot().stored_lsn < total {
        assert!(
            Instant::now() < deadline,
            "the sink did not catch up: {:?}",
            task.status().snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = task.shutdown(Duration::from_secs(10)).await;

    let (client, _driver) = postgres::connect(&url).await.unwrap();
    let gaps: Vec<(i64, i64)> = client
        .query(
            "SELECT min(g), max(g) FROM (SELECT g, g - row_number() OVER (ORDER BY g) AS grp
               FROM generate_series(0::bigint, $1::bigint - 1) g WHERE NOT EXISTS (SELECT 1 FROM events WHERE lsn = g)) x
             GROUP BY grp ORDER BY 1",
            &[&(total as i64)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        gaps.is_empty(),
        "log records missing from PostgreSQL: {gaps:?}; {status:?}"
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        total as i64
    );
    assert_eq!(
        count(&client, "SELECT count(DISTINCT lsn) FROM events").await,
        total as i64
    );
    assert_eq!(stored_next_lsn(&client, "events").await, total as i64);
    // Each stored row is the row of its log record.
    let wrong = count(
        &client,
        "SELECT count(*) FROM events WHERE seq <> lsn OR ts <> to_timestamp((1767225600000 + lsn * 10) / 1000.0)",
    )
    .await;
    assert_eq!(wrong, 0);

    assert!(
        slowest_offer < Duration::from_millis(20),
        "an offer took {slowest_offer:?}: ingestion waited on the sink"
    );
    assert!(status.errors > 0, "the outage went unnoticed: {status:?}");
    assert!(
        status.dropped_offers > 0,
        "the channel never filled: {status:?}"
    );
    assert!(status.catch_ups > 0, "{status:?}");
    assert!(
        lag_in_outage.lag_rows > 0 && lag_in_outage.lag_seconds > 0.0,
        "lag not reported during the outage: {lag_in_outage:?}"
    );
    assert_eq!((status.lag_rows, status.lag_seconds), (0, 0.0));
    assert!(status.connected);
}

/// Throughput of the write path; prints rows/s. Run it with
/// `cargo test -p guildflow-store --release --test postgres -- --ignored --nocapture copy_throughput`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn copy_throughput() {
    let cluster = cluster();
    let client = migrated(&cluster).await;
    let n = 200_000u64;
    let batch = rows(0..n);
    let bytes: usize = batch.iter().map(|r| r.frame.len()).sum();
    let mut sink = PostgresSink::connect(config(&cluster)).await.unwrap();
    // Partitions exist before timing, as the task's maintenance makes them.
    sink.write(&batch[..1]).await.unwrap();
    let started = Instant::now();
    sink.write(&batch).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        n as i64
    );
    println!(
        "COPY + merge of {n} rows ({} MB of frames) in {secs:.2} s: {:.0} rows/s",
        bytes / 1_000_000,
        n as f64 / secs
    );
}
