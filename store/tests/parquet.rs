//! The Parquet store: layout, commit protocol, crash leftovers, idempotent retries,
//! compaction, retention, schema evolution, and the readers' consistent view.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use guildflow_model::EventKind;
use guildflow_store::parquet::{
    day_of, FileEntry, Manifest, ParquetConfig, ParquetStore, ParquetStoreError, MANIFEST_FILE,
    MS_PER_DAY,
};
use guildflow_store::EventRow;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 2026-01-01T00:00:00Z.
const DAY0: i64 = 1_767_225_600_000;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guildflow-parquet-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn row(lsn: u64, ts: i64, guild: Option<u64>) -> EventRow {
    EventRow {
        lsn,
        ts,
        shard: (lsn % 4) as u32,
        seq: lsn + 1,
        session: Some(Box::from("s1")),
        kind: if guild.is_some() {
            EventKind::MessageCreate
        } else {
            EventKind::Ready
        },
        guild_id: guild,
        channel_id: guild.map(|g| g * 10 + lsn % 3),
        user_id: Some(1000 + lsn % 17),
        message_id: guild.map(|_| 1_000_000 + lsn),
        bot: lsn.is_multiple_of(11),
        frame: format!(
            r#"{{"op":0,"s":{},"t":"MESSAGE_CREATE","d":{{"content":"hello {lsn}"}}}}"#,
            lsn + 1
        ),
    }
}

/// `n` rows from `first_lsn`, 10 s apart from `start_ms`, over guilds 1..=6 and some without.
fn rows(first_lsn: u64, n: u64, start_ms: i64) -> Vec<EventRow> {
    (first_lsn..first_lsn + n)
        .map(|lsn| {
            let guild = (lsn % 7 != 0).then_some(lsn % 7);
            row(lsn, start_ms + (lsn - first_lsn) as i64 * 10_000, guild)
        })
        .collect()
}

fn config() -> ParquetConfig {
    ParquetConfig {
        guild_buckets: 4,
        ..ParquetConfig::default()
    }
}

fn all_rows(store: &ParquetStore) -> Vec<EventRow> {
    store
        .read_rows_after(None)
        .flat_map(|chunk| chunk.unwrap())
        .collect()
}

fn files_on_disk(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap();
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

fn listed(manifest: &Manifest) -> BTreeSet<String> {
    manifest.files.iter().map(|f| f.path.clone()).collect()
}

fn read_file_rows(path: &Path) -> Vec<EventRow> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    reader
        .flat_map(|b| guildflow_store::parquet::batch_to_rows(&b.unwrap()).unwrap())
        .collect()
}

#[test]
fn rows_round_trip_in_lsn_order_across_days_and_reopen() {
    let dir = dir("round-trip");
    let mut store = ParquetStore::open(&dir, config()).unwrap();
    // 20 000 rows at 10 s spacing span about 2.3 days, starting just before a midnight.
    let mut input = rows(0, 20_000, DAY0 - 3_600_000);
    // A row received before midnight logged after one received after it: lsn order must win.
    input[400].ts = DAY0 + 5;
    input[401].ts = DAY0 - 5;
    let info = store.write(input[..12_000].to_vec(), 11_999).unwrap();
    assert_eq!(info.rows, 12_000);
    assert_eq!(info.flushed_lsn, Some(11_999));
    store.write(input[12_000..].to_vec(), 20_010).unwrap();
    assert_eq!(store.flushed_lsn(), Some(20_010));
    assert_eq!(all_rows(&store), input);
    drop(store);
    let store = ParquetStore::open(&dir, config()).unwrap();
    assert_eq!(store.open_report().leftovers_removed, 0);
    assert_eq!(store.flushed_lsn(), Some(20_010));
    assert_eq!(store.manifest().total_rows(), 20_000);
    assert_eq!(all_rows(&store), input);
    let after: Vec<EventRow> = store
        .read_rows_after(Some(15_000))
        .flat_map(|c| c.unwrap())
        .collect();
    assert_eq!(after, input[15_001..].to_vec());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn files_are_partitioned_by_day_and_bucket_and_sorted_by_guild_time_lsn() {
    let dir = dir("layout");
    let mut store = ParquetStore::open(&dir, config()).unwrap();
    let input = rows(0, 20_000, DAY0);
    store.write(input.clone(), 19_999).unwrap();
    let manifest = store.manifest();
    // Days 2026-01-01..03, buckets 0..=3 plus none.
    let days: BTreeSet<&str> = manifest.files.iter().map(|f| f.day.as_str()).collect();
    assert_eq!(
        days,
        BTreeSet::from(["2026-01-01", "2026-01-02", "2026-01-03"])
    );
    assert_eq!(manifest.files.len(), 3 * 5);
    assert_eq!(files_on_disk(&dir).len(), manifest.files.len() + 1);
    for f in &manifest.files {
        let bucket = match f.bucket {
            Some(b) => format!("bucket={b:02}"),
            None => "bucket=none".into(),
        };
        let prefix = format!(
            "day={}/{bucket}/part-{:020}-{:020}.parquet",
            f.day, f.min_lsn, f.max_lsn
        );
        assert_eq!(f.path, prefix);
        let rows = read_file_rows(&f.path_in(&dir));
        assert_eq!(rows.len() as u64, f.rows);
        assert_eq!(f.bytes, fs::metadata(f.path_in(&dir)).unwrap().len());
        let keys: Vec<_> = rows.iter().map(|r| (r.guild_id, r.ts, r.lsn)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{} is not sorted", f.path);
        for r in &rows {
            assert_eq!(r.guild_id.map(|g| (g % 4) as u32), f.bucket);
            assert_eq!(guildflow_store::parquet::day_string(day_of(r.ts)), f.day);
            assert!(f.min_ts <= r.ts && r.ts <= f.max_ts);
            assert!(f.min_lsn <= r.lsn && r.lsn <= f.max_lsn);
        }
        assert_eq!(f.min_guild, rows.iter().filter_map(|r| r.guild_id).min());
        assert_eq!(f.max_guild, rows.iter().filter_map(|r| r.guild_id).max());
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_one_guild_one_day_query_opens_one_file() {
    let dir = dir("pruning");
    let mut store = ParquetStore::open(&dir, config()).unwrap();
    store.write(rows(0, 20_000, DAY0), 19_999).unwrap();
    let snapshot = store.reader().snapshot();
    let day1 = DAY0 + MS_PER_DAY;
    let files = snapshot
        .manifest
        .files_for(Some(5), Some(day1), Some(day1 + MS_PER_DAY));
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].day, "2026-01-02");
    assert_eq!(files[0].bucket, Some(1));
    let rows_of_guild: Vec<EventRow> = snapshot
        .read_file(files[0])
        .unwrap()
        .into_iter()
        .filter(|r| r.guild_id == Some(5))
        .collect();
    let expected: Vec<EventRow> = rows(0, 20_000, DAY0)
        .into_iter()
        .filter(|r| r.guild_id == Some(5) && r.ts >= day1 && r.ts < day1 + MS_PER_DAY)
        .collect();
    assert_eq!(rows_of_guild.len(), expected.len());
    // A guild of bucket 1 outside its file's guild range is pruned too.
    assert!(snapshot.manifest.files_for(Some(9), None, None).is_empty());
    // Every guild, one day: the five bucket files of that day.
    assert_eq!(
        snapshot
            .paths_for(None, Some(day1), Some(day1 + MS_PER_DAY))
            .len(),
        5
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn crash_leftovers_are_invisible_and_removed_on_open() {
    let dir = dir("leftovers");
    let mut store = ParquetStore::open(&dir, config()).unwrap();
    let input = rows(0, 1_000, DAY0);
    store.write(input.clone(), 999).unwrap();
    let committed = store.manifest();
    let some_file = committed.files[0].path_in(&dir);
    let part_dir = some_file.parent().unwrap().to_path_buf();
    // A file renamed into place whose manifest commit never happened, a half-written temp
    // file, a temp manifest, and a whole partition that was never committed.
    fs::copy(
        &some_file,
        part_dir.join("part-00000000000000005000-00000000000000005001.parquet"),
    )
    .unwrap();
    fs::write(
        part_dir.join("part-00000000000000006000-00000000000000006001.parquet.tmp"),
        b"PAR1 half",
    )
    .unwrap();
    fs::write(dir.join(format!("{MANIFEST_FILE}.tmp")), b"{\"version\":").unwrap();
    fs::create_dir_all(dir.join("day=2030-01-01/bucket=02")).unwrap();
    fs::copy(
        &some_file,
        dir.join("day=2030-01-01/bucket=02/part-00000000000000007000-00000000000000007000.parquet"),
    )
    .unwrap();
    // Something that is not ours stays.
    fs::write(dir.join("README.txt"), b"notes").unwrap();

    // The live reader only sees committed files.
    let snapshot = store.reader().snapshot();
    assert_eq!(listed(&snapshot.manifest), listed(&committed));
    assert_eq!(all_rows(&store), input);
    drop(snapshot);
    drop(store);

    let store = ParquetStore::open(&dir, config()).unwrap();
    assert_eq!(store.open_report().leftovers_removed, 4);
    assert!(store.open_report().missing_files.is_empty());
    let mut expected = listed(&committed);
    expected.insert(MANIFEST_FILE.into());
    expected.insert("README.txt".into());
    assert_eq!(files_on_disk(&dir), expected);
    assert!(!dir.join("day=2030-01-01").exists());
    assert_eq!(all_rows(&store), input);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_retried_write_stores_nothing_twice() {
    let dir = dir("idempotent");
    let mut store = ParquetStore::open(&dir, config()).unwrap();
    let input = rows(0, 3_000, DAY0);
    store.write(input[..1_000].to_vec(), 999).unwrap();
    let manifest_after_first = fs::read(dir.join(MANIFEST_FILE)).unwrap();

    // The second write reaches the disk, then the process "crashes" before its manifest
    // commit: put the previous manifest back.
    store.write(input[1_000..2_000].to_vec(), 1_999).unwrap();
    drop(store);
    fs::write(dir.join(MANIFEST_FILE), &manifest_after_first).unwrap();

    let mut store = ParquetStore::open(&dir, config()).unwrap();
    assert!(store.open_report().leftovers_removed > 0);
    assert_eq!(store.flushed_lsn(), Some(999));
    // The restart replays the log from a point before what was committed.
    let info = store.write(input[500..2_000].to_vec(), 1_999).unwrap();
    assert_eq!(info.skipped_rows, 500);
    assert_eq!(info.rows, 1_000);
    // A retry of an already committed write commits nothing.
    let info = store.write(input[1_000..2_000].to_vec(), 1_999).unwrap();
    assert_eq!(
        (info.rows, info.skipped_rows, info.committed),
        (0, 1_000, false)
    );
    store.write(input[2_000..].to_vec(), 2_999).unwrap();
    let stored = all_rows(&store);
    assert_eq!(stored, input);
    assert_eq!(store.manifest().total_rows(), 3_000);
    // Rows past the commit point are refused.
    assert!(matches!(
        store.write(rows(3_000, 10, DAY0), 3_005),
        Err(ParquetStoreError::LsnPastCommit {
            lsn: 3_006,
            through_lsn: 3_005
        })
    ));
    // A write without rows still advances the commit point (log records without a row).
    let info = store.write(Vec::new(), 3_100).unwrap();
    assert!(info.committed);
    assert_eq!(store.flushed_lsn(), Some(3_100));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn compaction_merges_small_files_and_keeps_every_row_in_order() {
    let dir = dir("compaction");
    let mut store = ParquetStore::open(
        &dir,
        ParquetConfig {
            compact_below_rows: 1_000,
            ..config()
        },
    )
    .unwrap();
    // 40 flushes of 50 rows, all on 2026-01-01: 40 files in each of the 5 buckets' partitions.
    let input = rows(0, 2_000, DAY0);
    for chunk in input.chunks(50) {
        let through = chunk.last().unwrap().lsn;
        store.write(chunk.to_vec(), through).unwrap();
    }
    let before = store.manifest();
    assert_eq!(before.files.len(), 200);
    let held = store.reader().snapshot();

    let report = store.compact().unwrap();
    assert_eq!(report.partitions, 5);
    assert_eq!(report.files_merged, 200);
    assert_eq!(report.files_written, 5);
    assert_eq!(report.rows, 2_000);
    assert!(report.bytes_after < report.bytes_before);
    let after = store.manifest();
    assert_eq!(after.files.len(), 5);
    assert_eq!(after.total_rows(), 2_000);
    assert_eq!(after.flushed_lsn, before.flushed_lsn);
    assert_eq!(all_rows(&store), input);
    for f in &after.files {
        let keys: Vec<_> = read_file_rows(&f.path_in(&dir))
            .iter()
            .map(|r| (r.guild_id, r.ts, r.lsn))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]));
    }
    // A snapshot taken before still reads its files...
    let old: Vec<EventRow> = held.rows_after(None).flat_map(|c| c.unwrap()).collect();
    assert_eq!(old, input);
    assert_eq!(files_on_disk(&dir).len(), 200 + 5 + 1);
    // ...which go once it (and every other handle on the old manifest) is dropped.
    drop(held);
    drop(before);
    assert_eq!(store.collect_garbage(), 200);
    let mut expected = listed(&after);
    expected.insert(MANIFEST_FILE.into());
    assert_eq!(files_on_disk(&dir), expected);
    // Nothing left to merge.
    assert_eq!(store.compact().unwrap().files_merged, 0);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn compaction_caps_merged_files_and_leaves_large_files_alone() {
    let dir = dir("compaction-cap");
    let mut store = ParquetStore::open(
        &dir,
        ParquetConfig {
            guild_buckets: 1,
            compact_below_rows: 100,
            compact_max_rows: 250,
            ..ParquetConfig::default()
        },
    )
    .unwrap();
    let only_guild = |mut r: EventRow| {
        r.guild_id = Some(3);
        r
    };
    let input: Vec<EventRow> = rows(0, 1_500, DAY0).into_iter().map(only_guild).collect();
    // 10 files of 60 rows, a large one of 300, then 10 more of 60.
    let mut at = 0;
    for size in [60; 10].into_iter().chain([300]).chain([60; 10]) {
        store
            .write(input[at..at + size].to_vec(), (at + size - 1) as u64)
            .unwrap();
        at += size;
    }
    let report = store.compact().unwrap();
    // Each run of ten 60-row files becomes files of at most 4 (240 rows): 4 + 4 + 2, twice.
    assert_eq!(report.files_written, 6);
    let sizes: Vec<u64> = store.manifest().files.iter().map(|f| f.rows).collect();
    assert_eq!(sizes, vec![240, 240, 120, 300, 240, 240, 120]);
    assert_eq!(all_rows(&store), input);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn retention_drops_whole_old_days_only() {
    let dir = dir("retention");
    let mut store = ParquetStore::open(
        &dir,
        ParquetConfig {
            retention_days: Some(30),
            ..config()
        },
    )
    .unwrap();
    // One row an hour for 40 days.
    let input: Vec<EventRow> = (0..40 * 24)
        .map(|i| row(i, DAY0 + i as i64 * 3_600_000, Some(1 + i % 5)))
        .collect();
    store.write(input.clone(), 959).unwrap();
    let now = DAY0 + 40 * MS_PER_DAY + 12 * 3_600_000; // 2026-02-10 12:00
    let report = store.apply_retention(now).unwrap();
    // Kept: the days whose end is within 30 days of now, 2026-01-11 .. 2026-02-09.
    assert_eq!(report.days_dropped, 10);
    assert_eq!(report.rows_dropped, 10 * 24);
    let kept = store.manifest();
    let days: BTreeSet<&str> = kept.files.iter().map(|f| f.day.as_str()).collect();
    assert_eq!(days.len(), 30);
    assert_eq!(days.first(), Some(&"2026-01-11"));
    assert_eq!(kept.flushed_lsn, Some(959));
    assert!(!dir.join("day=2026-01-10").exists());
    assert!(dir.join("day=2026-01-11").exists());
    assert_eq!(all_rows(&store), input[240..].to_vec());
    assert_eq!(store.apply_retention(now).unwrap().days_dropped, 0);
    // Retention off keeps everything.
    let mut keep_all = ParquetStore::open(
        &dir,
        ParquetConfig {
            retention_days: None,
            ..config()
        },
    )
    .unwrap();
    assert_eq!(
        keep_all
            .apply_retention(now + 365 * MS_PER_DAY)
            .unwrap()
            .files_dropped,
        0
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A file of an older schema: no `user_id`, no `session`, `bot` and `message_id` yet.
fn write_old_schema_file(path: &Path, rows: &[EventRow]) {
    let old = Arc::new(Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("guild_id", DataType::UInt64, true),
        Field::new("kind", DataType::Utf8, false),
        Field::new("channel_id", DataType::UInt64, true),
        Field::new("shard", DataType::UInt32, false),
        Field::new("seq", DataType::UInt64, false),
        Field::new("lsn", DataType::UInt64, false),
        Field::new("frame", DataType::Utf8, false),
        Field::new("bot", DataType::Boolean, false),
        Field::new("message_id", DataType::UInt64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.ts))
                .with_timezone("UTC"),
        ),
        Arc::new(rows.iter().map(|r| r.guild_id).collect::<UInt64Array>()),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.kind.as_str()),
        )),
        Arc::new(rows.iter().map(|r| r.channel_id).collect::<UInt64Array>()),
        Arc::new(arrow::array::UInt32Array::from_iter_values(
            rows.iter().map(|r| r.shard),
        )),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.seq))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.lsn))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.frame.as_str()),
        )),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.bot))
                .collect::<arrow::array::BooleanArray>(),
        ),
        Arc::new(rows.iter().map(|r| r.message_id).collect::<UInt64Array>()),
    ];
    let batch = RecordBatch::try_new(old.clone(), columns).unwrap();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), old, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn a_file_written_before_a_column_existed_reads_it_as_null() {
    let dir = dir("evolution");
    // Guild 8 is bucket 0 of 4; the rows are in (guild, ts, lsn) order already.
    let old_rows: Vec<EventRow> = (0..100).map(|i| row(i, DAY0 + i as i64, Some(8))).collect();
    let rel = "day=2026-01-01/bucket=00/part-00000000000000000000-00000000000000000099.parquet";
    write_old_schema_file(&dir.join(rel), &old_rows);
    let mut manifest = Manifest::empty(4);
    manifest.flushed_lsn = Some(99);
    manifest.files.push(FileEntry {
        path: rel.into(),
        day: "2026-01-01".into(),
        bucket: Some(0),
        rows: 100,
        bytes: fs::metadata(dir.join(rel)).unwrap().len(),
        min_ts: DAY0,
        max_ts: DAY0 + 99,
        min_guild: Some(8),
        max_guild: Some(8),
        min_lsn: 0,
        max_lsn: 99,
    });
    fs::write(
        dir.join(MANIFEST_FILE),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();

    let mut store = ParquetStore::open(&dir, config()).unwrap();
    assert_eq!(store.open_report().leftovers_removed, 0);
    let new_rows = rows(100, 100, DAY0 + 1_000);
    store.write(new_rows.clone(), 199).unwrap();
    let stored = all_rows(&store);
    assert_eq!(stored.len(), 200);
    for (got, want) in stored.iter().zip(&old_rows) {
        let mut want = want.clone();
        want.user_id = None;
        want.session = None;
        assert_eq!(got, &want);
    }
    assert_eq!(stored[100..], new_rows[..]);
    // Compaction rewrites the old file in today's schema.
    let compacted = ParquetStore::open(
        &dir,
        ParquetConfig {
            compact_below_rows: 1_000,
            ..config()
        },
    )
    .unwrap()
    .compact()
    .unwrap();
    assert_eq!(compacted.files_merged, 2);
    let store = ParquetStore::open(&dir, config()).unwrap();
    assert_eq!(all_rows(&store), stored);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_or_foreign_file_is_reported_not_panicked_on() {
    let dir = dir("corrupt");
    let mut store = ParquetStore::open(&dir, config()).unwrap();
    store.write(rows(0, 500, DAY0), 499).unwrap();
    let manifest = store.manifest();
    let victim = manifest.files[1].path_in(&dir);
    let bytes = fs::read(&victim).unwrap();
    fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let results: Vec<_> = store.read_rows_after(None).collect();
    let err = results.into_iter().find_map(Result::err).expect("an error");
    assert!(matches!(err, ParquetStoreError::Parquet { ref path, .. } if *path == victim));
    assert!(err.to_string().contains(&manifest.files[1].path));

    // A valid Parquet file that is not an events file: `kind` is a number.
    let schema = Arc::new(Schema::new(vec![Field::new(
        "kind",
        DataType::Int64,
        false,
    )]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))]).unwrap();
    let mut writer = ArrowWriter::try_new(File::create(&victim).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let err = store
        .reader()
        .snapshot()
        .read_file(&manifest.files[1])
        .unwrap_err();
    assert!(matches!(err, ParquetStoreError::Schema(_)), "{err}");

    // A manifest that is not JSON stops the open (it would otherwise delete every file).
    drop(store);
    fs::write(dir.join(MANIFEST_FILE), b"garbage").unwrap();
    assert!(matches!(
        ParquetStore::open(&dir, config()),
        Err(ParquetStoreError::Manifest { .. })
    ));
    assert!(victim.exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn snapshots_see_every_accepted_row_exactly_once() {
    let dir = dir("tail");
    let mut store = ParquetStore::open(&dir, config()).unwrap();
    let reader = store.reader();
    let input = rows(0, 5_000, DAY0);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checker = {
        let reader = reader.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut checked = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || checked == 0 {
                let snap = reader.snapshot();
                // Committed rows are exactly 0..=flushed; the tail continues right after.
                let committed = snap.manifest.total_rows();
                assert_eq!(committed, snap.manifest.flushed_lsn.map_or(0, |f| f + 1));
                for (i, r) in snap.tail.iter().enumerate() {
                    assert_eq!(r.lsn, committed + i as u64);
                }
                checked += 1;
            }
            checked
        })
    };
    for chunk in input.chunks(250) {
        store.push_tail(chunk);
        let snap = reader.snapshot();
        assert_eq!(
            snap.tail.last().map(|r| r.lsn),
            Some(chunk.last().unwrap().lsn)
        );
        if chunk[0].lsn % 1_000 == 750 {
            let through = chunk.last().unwrap().lsn;
            let pending: Vec<EventRow> = input
                .iter()
                .filter(|r| store.flushed_lsn().is_none_or(|f| r.lsn > f) && r.lsn <= through)
                .cloned()
                .collect();
            store.write(pending, through).unwrap();
            assert_eq!(store.tail_len(), 0);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(checker.join().unwrap() > 0);
    let snap = reader.snapshot();
    assert_eq!(snap.manifest.total_rows() + snap.tail.len() as u64, 5_000);
    // Rows already committed are not pushed into the tail again.
    store.push_tail(&input[..100]);
    assert_eq!(store.tail_len(), 0);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn row_groups_follow_the_configured_size_and_files_declare_their_sort_order() {
    let dir = dir("row-groups");
    let mut store = ParquetStore::open(
        &dir,
        ParquetConfig {
            guild_buckets: 1,
            row_group_rows: 1_000,
            ..ParquetConfig::default()
        },
    )
    .unwrap();
    let input: Vec<EventRow> = (0..2_500)
        .map(|i| row(i, DAY0 + i as i64, Some(4)))
        .collect();
    store.write(input, 2_499).unwrap();
    let manifest = store.manifest();
    assert_eq!(manifest.files.len(), 1);
    let builder = ParquetRecordBatchReaderBuilder::try_new(
        File::open(manifest.files[0].path_in(&dir)).unwrap(),
    )
    .unwrap();
    let meta = builder.metadata();
    let sizes: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(sizes, vec![1_000, 1_000, 500]);
    let sorting = meta.row_groups()[0].sorting_columns().unwrap();
    let names: Vec<&str> = sorting
        .iter()
        .map(|c| {
            builder
                .schema()
                .field(c.column_idx as usize)
                .name()
                .as_str()
        })
        .collect();
    assert_eq!(names, ["guild_id", "ts", "lsn"]);
    let guild = meta.row_groups()[0].column(1);
    assert!(guild.statistics().is_some());
    assert!(guild.column_index_offset().is_some(), "page index written");
    let _ = fs::remove_dir_all(&dir);
}

/// Measurement, not a check: bytes per event on disk and write rate for a capture
/// (`guildflow generate FILE --events 100000`), flushed in batches as `run` would, then
/// compacted. Run with
/// `GUILDFLOW_CAPTURE=FILE cargo test --release -p guildflow-store --test parquet -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_bytes_per_event_of_a_capture() {
    use std::io::BufRead;
    use std::time::Instant;
    let Ok(capture) = std::env::var("GUILDFLOW_CAPTURE") else {
        eprintln!("GUILDFLOW_CAPTURE is not set");
        return;
    };
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        shard: u32,
        at: i64,
        #[serde(borrow)]
        frame: &'a serde_json::value::RawValue,
    }
    let id = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
    let mut input = Vec::new();
    let mut text_bytes = 0;
    let reader = std::io::BufReader::new(File::open(&capture).unwrap());
    for (lsn, line) in reader.lines().enumerate() {
        let line = line.unwrap();
        let parsed: Line = serde_json::from_str(&line).unwrap();
        let frame: serde_json::Value = serde_json::from_str(parsed.frame.get()).unwrap();
        let d = &frame["d"];
        let kind = match frame["t"].as_str().unwrap_or("") {
            "READY" => EventKind::Ready,
            "GUILD_CREATE" => EventKind::GuildCreate,
            "GUILD_UPDATE" => EventKind::GuildUpdate,
            "MESSAGE_CREATE" => EventKind::MessageCreate,
            "MESSAGE_UPDATE" => EventKind::MessageUpdate,
            "MESSAGE_DELETE" => EventKind::MessageDelete,
            "MESSAGE_REACTION_ADD" => EventKind::ReactionAdd,
            "MESSAGE_REACTION_REMOVE" => EventKind::ReactionRemove,
            "VOICE_STATE_UPDATE" => EventKind::VoiceState,
            "GUILD_MEMBER_ADD" => EventKind::MemberAdd,
            "GUILD_MEMBER_UPDATE" => EventKind::MemberUpdate,
            "GUILD_MEMBER_REMOVE" => EventKind::MemberRemove,
            "CHANNEL_CREATE" => EventKind::ChannelCreate,
            "CHANNEL_UPDATE" => EventKind::ChannelUpdate,
            "CHANNEL_DELETE" => EventKind::ChannelDelete,
            "GUILD_ROLE_CREATE" => EventKind::RoleCreate,
            "GUILD_ROLE_UPDATE" => EventKind::RoleUpdate,
            "GUILD_ROLE_DELETE" => EventKind::RoleDelete,
            _ => continue,
        };
        text_bytes += parsed.frame.get().len();
        let user = id(&d["author"]["id"])
            .or_else(|| id(&d["user_id"]))
            .or_else(|| id(&d["user"]["id"]));
        input.push(EventRow {
            lsn: lsn as u64,
            ts: parsed.at,
            shard: parsed.shard,
            seq: frame["s"].as_u64().unwrap_or(0),
            session: Some(Box::from("12a8e7738cac46422b7088914b1ae98b")),
            kind,
            guild_id: id(&d["guild_id"])
                .or_else(|| id(&d["id"]).filter(|_| kind == EventKind::GuildCreate)),
            channel_id: id(&d["channel_id"]),
            user_id: user,
            message_id: id(&d["message_id"])
                .or_else(|| id(&d["id"]).filter(|_| kind == EventKind::MessageCreate)),
            bot: d["author"]["bot"].as_bool().unwrap_or(false),
            frame: parsed.frame.get().to_owned(),
        });
    }
    let events = input.len() as f64;
    let steady: Vec<u64> = input
        .iter()
        .filter(|r| !matches!(r.kind, EventKind::GuildCreate | EventKind::Ready))
        .map(|r| r.lsn)
        .collect();
    let report = |label: &str, store: &ParquetStore| {
        let m = store.manifest();
        eprintln!(
            "{label}: {} files, {} rows, {} bytes, {:.1} bytes/event",
            m.files.len(),
            m.total_rows(),
            m.total_bytes(),
            m.total_bytes() as f64 / events
        );
        let mut by_column = std::collections::BTreeMap::<String, i64>::new();
        for f in &m.files {
            let builder = ParquetRecordBatchReaderBuilder::try_new(
                File::open(f.path_in(store.dir())).unwrap(),
            )
            .unwrap();
            for group in builder.metadata().row_groups() {
                for col in group.columns() {
                    *by_column.entry(col.column_path().string()).or_default() +=
                        col.compressed_size();
                }
            }
        }
        let line: Vec<String> = by_column
            .iter()
            .map(|(c, b)| format!("{c} {:.1}", *b as f64 / events))
            .collect();
        eprintln!("    bytes/event by column: {}", line.join(", "));
    };
    eprintln!(
        "{} events, {:.0} bytes/event of frame text",
        input.len(),
        text_bytes as f64 / events
    );
    for (flush_rows, zstd_level) in [(10_000, 3), (usize::MAX, 3), (usize::MAX, 9)] {
        let dir = dir(&format!("measure-{flush_rows}-{zstd_level}"));
        let mut store = ParquetStore::open(
            &dir,
            ParquetConfig {
                zstd_level,
                ..ParquetConfig::default()
            },
        )
        .unwrap();
        let started = Instant::now();
        for chunk in input.chunks(flush_rows.min(input.len())) {
            store
                .write(chunk.to_vec(), chunk.last().unwrap().lsn)
                .unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "flush every {} rows, zstd {zstd_level}: {:.0} events/s written",
            flush_rows.min(input.len()),
            events / secs
        );
        report("  written", &store);
        let started = Instant::now();
        store.compact().unwrap();
        eprintln!("  compacted in {:.2} s", started.elapsed().as_secs_f64());
        report("  compacted", &store);
        let started = Instant::now();
        let n: usize = store.read_rows_after(None).map(|c| c.unwrap().len()).sum();
        eprintln!(
            "  read back {n} rows in lsn order: {:.0} events/s",
            n as f64 / started.elapsed().as_secs_f64()
        );
        let _ = fs::remove_dir_all(&dir);
    }
    // The steady state: without READY and the (large, once per guild) GUILD_CREATEs.
    let dir = dir("measure-steady");
    let mut store = ParquetStore::open(&dir, ParquetConfig::default()).unwrap();
    let rows: Vec<EventRow> = input
        .iter()
        .filter(|r| steady.contains(&r.lsn))
        .cloned()
        .collect();
    let text: usize = rows.iter().map(|r| r.frame.len()).sum();
    store
        .write(rows.clone(), input.last().unwrap().lsn)
        .unwrap();
    let m = store.manifest();
    eprintln!(
        "steady mix: {} events, {:.0} bytes/event of frame text, {:.1} bytes/event on disk",
        rows.len(),
        text as f64 / rows.len() as f64,
        m.total_bytes() as f64 / rows.len() as f64
    );
    let _ = fs::remove_dir_all(&dir);
}
