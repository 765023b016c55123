//! The write-ahead log's fault model (after vector's disk buffer `known_errors.rs`): a torn
//! tail is truncated, a bad CRC is rejected, later valid records are kept, segments roll and
//! are removed once stored elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_model::RawFrame;
use guildflow_store::wal::{FsyncPolicy, Wal, WalConfig};
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guildflow-wal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn frame(i: u64) -> RawFrame {
    RawFrame {
        shard: (i % 3) as u32,
        at: 1_767_225_600_000 + i as i64,
        text: format!("{{\"op\":0,\"s\":{i},\"t\":\"MESSAGE_CREATE\",\"d\":{{}}}}"),
    }
}

fn segment_files(dir: &PathBuf) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn appended_frames_survive_a_reopen_in_order() {
    let dir = dir("reopen");
    let frames: Vec<RawFrame> = (0..100).map(frame).collect();
    {
        let mut wal = Wal::open(&dir, WalConfig::default()).unwrap();
        assert_eq!(wal.append(&frames[..60]).unwrap(), 0);
        assert_eq!(wal.append(&frames[60..]).unwrap(), 60);
    }
    let mut wal = Wal::open(&dir, WalConfig::default()).unwrap();
    assert_eq!(wal.recovery().records, 100);
    assert_eq!(wal.next_lsn(), 100);
    let read = wal.read_from(0).unwrap();
    assert_eq!(read.len(), 100);
    for (i, (lsn, f)) in read.iter().enumerate() {
        assert_eq!(*lsn, i as u64);
        assert_eq!(f, &frames[i]);
    }
    assert_eq!(wal.read_from(95).unwrap().len(), 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_torn_tail_is_truncated_and_appending_goes_on() {
    let dir = dir("torn");
    {
        let mut wal = Wal::open(&dir, WalConfig::default()).unwrap();
        wal.append(&(0..10).map(frame).collect::<Vec<_>>()).unwrap();
    }
    // A crash in the middle of a write: a header announcing 100 bytes, 10 of them written.
    let path = segment_files(&dir).pop().unwrap();
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&100u32.to_le_bytes()).unwrap();
    file.write_all(&[7u8; 14]).unwrap();
    drop(file);
    let mut wal = Wal::open(&dir, WalConfig::default()).unwrap();
    assert_eq!(wal.recovery().records, 10);
    assert_eq!(wal.recovery().truncated_bytes, 18);
    assert_eq!(wal.append(&[frame(10)]).unwrap(), 10);
    let read = wal.read_from(0).unwrap();
    assert_eq!(read.len(), 11);
    assert_eq!(read[10].1, frame(10));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_crc_is_rejected_and_later_records_are_kept() {
    let dir = dir("crc");
    {
        let mut wal = Wal::open(&dir, WalConfig::default()).unwrap();
        wal.append(&(0..10).map(frame).collect::<Vec<_>>()).unwrap();
    }
    // Flip a byte inside the payload of record 5 (all records have the same length here).
    let path = segment_files(&dir).pop().unwrap();
    let record_len = std::fs::metadata(&path).unwrap().len() / 10;
    let mut file = OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(5 * record_len + 20)).unwrap();
    file.write_all(b"X").unwrap();
    drop(file);
    let mut wal = Wal::open(&dir, WalConfig::default()).unwrap();
    assert_eq!(wal.recovery().records, 9);
    assert_eq!(wal.recovery().corrupt, 1);
    assert_eq!(wal.next_lsn(), 10, "a skipped record keeps its LSN");
    let lsns: Vec<u64> = wal.read_from(0).unwrap().iter().map(|(l, _)| *l).collect();
    assert_eq!(lsns, vec![0, 1, 2, 3, 4, 6, 7, 8, 9]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn segments_roll_and_are_removed_once_stored_elsewhere() {
    let dir = dir("roll");
    let config = WalConfig {
        fsync: FsyncPolicy::Interval(Duration::from_millis(5)),
        segment_bytes: 1024,
    };
    let mut wal = Wal::open(&dir, config).unwrap();
    for i in 0..200 {
        wal.append(&[frame(i)]).unwrap();
    }
    let files = segment_files(&dir);
    assert!(files.len() > 5, "{} segments", files.len());
    assert_eq!(
        wal.read_from(150).unwrap().first().map(|(l, _)| *l),
        Some(150)
    );
    let removed = wal.truncate_before(150).unwrap();
    assert!(removed > 0);
    assert_eq!(wal.read_from(150).unwrap().len(), 50);
    drop(wal);
    let mut wal = Wal::open(&dir, config).unwrap();
    assert_eq!(wal.next_lsn(), 200);
    assert_eq!(wal.read_from(150).unwrap().len(), 50);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn never_fsync_still_keeps_frames_across_a_clean_reopen() {
    let dir = dir("never");
    let config = WalConfig {
        fsync: FsyncPolicy::Never,
        ..WalConfig::default()
    };
    {
        let mut wal = Wal::open(&dir, config).unwrap();
        wal.append(&(0..5).map(frame).collect::<Vec<_>>()).unwrap();
    }
    let mut wal = Wal::open(&dir, config).unwrap();
    assert_eq!(wal.read_from(0).unwrap().len(), 5);
    let _ = std::fs::remove_dir_all(&dir);
}
