//! A restart restores the views from the snapshot a clean stop wrote and resumes the gateway
//! sessions from the stored progress: two `guildflow run`s against one simulator leave in the
//! write-ahead log one READY per shard and every sequence number exactly once, in order, across
//! the restart, and end where one pass over the stored frames does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_model::RawFrame;
use guildflow_store::parquet::{ParquetConfig, ParquetStore};
use guildflow_store::wal::{Wal, WalConfig};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn guildflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guildflow"))
}

/// Every stored frame of a data directory in log order: Parquet rows, then the log's tail.
fn stored_frames(data: &Path) -> Vec<RawFrame> {
    let store = ParquetStore::open(&data.join("events"), ParquetConfig::default()).unwrap();
    let mut frames: Vec<RawFrame> = store
        .read_rows_after(None)
        .flat_map(|chunk| chunk.unwrap())
        .map(|row| row.raw_frame())
        .collect();
    let after = store.flushed_lsn().map_or(0, |l| l + 1);
    let mut wal = Wal::open(&data.join("wal"), WalConfig::default()).unwrap();
    frames.extend(wal.read_from(after).unwrap().into_iter().map(|(_, f)| f));
    frames
}

/// A child process killed when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_restart_resumes_every_shard_without_gap_or_repeat() {
    let dir = std::env::temp_dir().join(format!("guildflow-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut simulator = KillOnDrop(
        guildflow()
            .args([
                "simulate", "--shards", "2", "--guilds", "30", "--rate", "1000", "--token", "t",
            ])
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = simulator.0.stderr.take().unwrap();
    assert!(BufReader::new(stderr)
        .lines()
        .any(|l| l.map(|l| l.contains("listening")).unwrap_or(false)));
    let run = |seconds: &str| {
        let out = guildflow()
            .args([
                "run",
                "--shards",
                "2",
                "--token",
                "t",
                "--duration",
                seconds,
            ])
            .arg("--gateway-url")
            .arg(format!("ws://127.0.0.1:{port}"))
            .arg("--data")
            .arg(&dir)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--dump")
            .arg(dir.join("live.json"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    // Discord's identify pacing holds the second shard 5 s: run long enough for both.
    run("7");
    let progress: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("progress.json")).unwrap()).unwrap();
    for shard in ["0", "1"] {
        assert!(
            progress["shards"][shard]["sequence"].as_u64().unwrap() > 10,
            "{progress}"
        );
    }
    assert!(
        stored_frames(&dir).len() > 20,
        "the first run stored frames"
    );
    let second = run("3");
    assert!(second.contains("resuming from stored progress"), "{second}");
    // The views start from everything stored, not from zero: the first run stopped cleanly
    // and wrote a snapshot of them, so nothing is replayed.
    assert!(
        second.contains("restored the views from the snapshot of the first "),
        "{second}"
    );
    let rebuilt = second
        .lines()
        .find_map(|l| l.split_once("rebuilt the views from "))
        .map(|(_, rest)| {
            let n: Vec<usize> = rest.split(' ').filter_map(|w| w.parse().ok()).collect();
            n[0] + n[1]
        });
    assert_eq!(rebuilt, Some(0), "{second}");
    drop(simulator);

    let frames = stored_frames(&dir);
    let mut last: HashMap<u32, u64> = HashMap::new();
    let mut readies: HashMap<u32, usize> = HashMap::new();
    let mut resumed = 0;
    for frame in &frames {
        let v: serde_json::Value = serde_json::from_str(&frame.text).unwrap();
        let seq = v["s"].as_u64().unwrap();
        match v["t"].as_str() {
            Some("READY") => *readies.entry(frame.shard).or_default() += 1,
            Some("RESUMED") => resumed += 1,
            _ => {}
        }
        if let Some(prev) = last.insert(frame.shard, seq) {
            assert_eq!(
                seq,
                prev + 1,
                "shard {} jumped from {prev} to {seq}",
                frame.shard
            );
        }
    }
    assert_eq!(readies.get(&0), Some(&1));
    assert_eq!(readies.get(&1), Some(&1));
    assert_eq!(resumed, 2, "both shards resumed");

    // The restarted run ends exactly where one pass over the same frames does.
    let capture = dir.join("stored.jsonl");
    let file = std::fs::File::create(&capture).unwrap();
    let mut writer = guildflow_shards::capture::CaptureWriter::new(file);
    for frame in &frames {
        writer.write(frame).unwrap();
    }
    writer.flush().unwrap();
    drop(writer);
    let out = guildflow()
        .arg("replay")
        .arg(&capture)
        .arg("--dump")
        .arg(dir.join("replayed.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
    };
    let (live, replayed) = (read("live.json"), read("replayed.json"));
    assert!(live.as_object().is_some_and(|o| !o.is_empty()));
    assert_eq!(
        live, replayed,
        "the restarted run and one pass over its frames differ"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
