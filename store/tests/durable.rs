//! `DurableStore` across restarts: a snapshot is restored and only the rows stored after it are
//! replayed, its frame ledger still refuses frames stored before it, and it keeps what the
//! raw events' retention has dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_model::{Event, EventBody, GuildId, RawFrame, UserId};
use guildflow_store::durable::{DurableStore, FlushPolicy, StoreConfig};
use guildflow_store::parquet::ParquetConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z: in the past, so retention (capped by the wall clock) applies.
const BASE: i64 = 1_767_225_600_000;
const GUILD: u64 = 81_384_788_765_712_384;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gf-durable-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A GUILD_MEMBER_REMOVE of user `seq` with sequence `seq`, received at `at`.
fn frame(seq: u64, at: i64) -> RawFrame {
    RawFrame {
        shard: 0,
        at,
        text: format!(
            r#"{{"op":0,"s":{seq},"t":"GUILD_MEMBER_REMOVE","d":{{"guild_id":"{GUILD}","user":{{"id":"{seq}"}}}}}}"#
        ),
    }
}

fn decode(frame: &RawFrame) -> Option<Event> {
    let v: serde_json::Value = serde_json::from_str(&frame.text).ok()?;
    Some(Event {
        at: frame.at,
        shard: frame.shard,
        seq: v["s"].as_u64()?,
        body: EventBody::MemberRemove {
            guild: GuildId(v["d"]["guild_id"].as_str()?.parse().ok()?),
            user: UserId(v["d"]["user"]["id"].as_str()?.parse().ok()?),
        },
    })
}

fn open(data: &Path) -> DurableStore {
    DurableStore::open(
        data,
        StoreConfig {
            parquet: ParquetConfig {
                retention_days: Some(1),
                ..ParquetConfig::default()
            },
            flush: FlushPolicy {
                interval: Duration::from_millis(10),
                rows: 1,
                maintenance: Duration::ZERO,
            },
            postgres: None,
            decode: Arc::new(decode),
            snapshot_every: None,
        },
    )
    .unwrap()
}

fn admit(store: &mut DurableStore, frames: Vec<RawFrame>) -> Vec<u64> {
    let decoded = frames
        .into_iter()
        .map(|f| {
            let event = decode(&f);
            (f, event)
        })
        .collect();
    store
        .admit(decoded)
        .unwrap()
        .into_iter()
        .map(|e| e.seq)
        .collect()
}

/// Rebuilds with `accept` as the answer to the snapshot; (payload seen, snapshot, delivered seqs).
fn rebuild(store: &mut DurableStore, accept: bool) -> (Option<Vec<u8>>, Option<u64>, Vec<u64>) {
    let mut payload = None;
    let mut delivered = Vec::new();
    let report = store
        .rebuild(
            |p| {
                payload = Some(p.to_vec());
                Ok(accept)
            },
            |event| delivered.push(event.seq),
        )
        .unwrap();
    (payload, report.snapshot, delivered)
}

fn stored_days(store: &DurableStore) -> Vec<String> {
    let mut days: Vec<String> = store
        .reader()
        .snapshot()
        .manifest
        .files
        .iter()
        .map(|f| f.path.split('/').next().unwrap_or_default().to_owned())
        .collect();
    days.dedup();
    days
}

#[test]
fn a_restart_restores_the_snapshot_and_replays_only_later_rows_even_after_retention() {
    let data = dir("snapshot");
    let mut store = open(&data);
    assert_eq!(
        rebuild(&mut store, true),
        (None, None, vec![]),
        "nothing yet"
    );
    // Four days of 100 frames, then a snapshot of "the views".
    let mut seq = 0;
    for day in 0..4 {
        let frames = (0..100)
            .map(|i| {
                seq += 1;
                frame(seq, BASE + day * DAY + i)
            })
            .collect();
        assert_eq!(admit(&mut store, frames).len(), 100);
    }
    assert_eq!(
        store
            .save_snapshot(b"views of 400 events".to_vec(), false)
            .unwrap(),
        Some(400)
    );
    // A fifth day after it.
    let later: Vec<RawFrame> = (401..=450)
        .map(|s| frame(s, BASE + 4 * DAY + s as i64))
        .collect();
    assert_eq!(admit(&mut store, later).len(), 50);
    store.flush().unwrap();
    // Retention (1 day, as of the newest event) drops the first three days of raw events.
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored_days(&store).len() > 2 {
        assert!(
            Instant::now() < deadline,
            "retention never ran: {:?}",
            stored_days(&store)
        );
        store.checkpoint(true).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(store);

    // Restart: the snapshot, then only the fifth day.
    let mut store = open(&data);
    let (payload, snapshot, delivered) = rebuild(&mut store, true);
    assert_eq!(payload.as_deref(), Some(&b"views of 400 events"[..]));
    assert_eq!(snapshot, Some(400));
    assert_eq!(delivered, (401..=450).collect::<Vec<_>>());
    // The snapshot's ledger knows frames before it, though their rows are gone.
    assert!(admit(&mut store, vec![frame(10, BASE + 10)]).is_empty());
    assert!(admit(&mut store, vec![frame(420, BASE + 4 * DAY + 420)]).is_empty());
    assert_eq!(store.repeats(), 2);
    drop(store);

    // A caller that cannot use the snapshot gets every row still stored: the dropped days'
    // events are gone, which is why the snapshot matters.
    let mut store = open(&data);
    let (payload, snapshot, delivered) = rebuild(&mut store, false);
    assert!(payload.is_some());
    assert_eq!(snapshot, None);
    assert_eq!(delivered, (301..=450).collect::<Vec<_>>());
    drop(store);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn an_erasure_removes_the_snapshots_and_stops_new_ones() {
    let data = dir("erase");
    let mut store = open(&data);
    rebuild(&mut store, true);
    admit(
        &mut store,
        (1..=10).map(|s| frame(s, BASE + s as i64)).collect(),
    );
    assert_eq!(
        store.save_snapshot(b"views".to_vec(), true).unwrap(),
        Some(10)
    );
    assert!(data.join("snapshots").read_dir().unwrap().next().is_some());
    let report = store.erase_member(GUILD, 3).unwrap();
    assert_eq!(report.snapshots_removed, 1);
    assert!(data.join("snapshots").read_dir().unwrap().next().is_none());
    assert_eq!(
        store
            .save_snapshot(b"views with member 3".to_vec(), true)
            .unwrap(),
        None
    );
    assert!(!store.snapshot_due() && !store.snapshots_enabled());
    drop(store);
    let mut store = open(&data);
    let (payload, snapshot, delivered) = rebuild(&mut store, true);
    assert_eq!((payload, snapshot), (None, None));
    assert_eq!(
        delivered.len(),
        9,
        "member 3's event is gone: {delivered:?}"
    );
    assert!(store.snapshots_enabled());
    drop(store);
    let _ = std::fs::remove_dir_all(&data);
}
