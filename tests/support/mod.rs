//! Helpers of the fault tests: the binary as a child process (stderr captured while it runs,
//! so a kill never loses what it said), temp directories, a seeded generator, and the stored
//! frames and rows of a data directory read back through the store's own code.

#![allow(dead_code)]

use guildflow_model::RawFrame;
use guildflow_shards::capture::{CaptureItem, CaptureReader};
use guildflow_shards::decode::DecodeCounters;
use guildflow_shards::ingest::Ingest;
use guildflow_store::parquet::{Manifest, ParquetConfig, ParquetStore};
use guildflow_store::progress::Progress;
use guildflow_store::wal::{Wal, WalConfig};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub fn guildflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guildflow"))
}

/// A directory of its own for one test, removed when dropped (also when the test fails).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("guildflow-faults-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// splitmix64: a few seeded draws, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The seed of a test: `GUILDFLOW_FAULT_SEED` when set (to reproduce a failure), else
/// `default`. Printed either way.
pub fn seed(default: u64) -> u64 {
    let seed = std::env::var("GUILDFLOW_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("seed {seed} (GUILDFLOW_FAULT_SEED={seed} reproduces the kill points)");
    seed
}

/// `guildflow generate`: a seeded capture.
pub fn generate(path: &Path, events: u32, guilds: u32, shards: u32, seed: u64) {
    let out = guildflow()
        .arg("generate")
        .arg(path)
        .args(["--events", &events.to_string()])
        .args(["--guilds", &guilds.to_string()])
        .args(["--shards", &shards.to_string()])
        .args(["--seed", &seed.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` to its end; asserts it succeeded; returns its stderr.
pub fn run_ok(cmd: &mut Command) -> String {
    let started = Instant::now();
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    eprintln!(
        "{:?} took {:.1}s",
        cmd.get_args().next().unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    stderr
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ingest() -> Ingest {
    Ingest::new(Arc::new(DecodeCounters::default()))
}

/// The frames of a capture that decode to an event: what a replay accepts and stores as rows
/// (malformed lines, control frames and dispatch types guildflow does not use are not events).
pub fn count_events(capture: &Path) -> u64 {
    let ingest = ingest();
    let file = std::fs::File::open(capture).unwrap();
    let mut reader = CaptureReader::new(BufReader::with_capacity(1 << 20, file));
    let mut events = 0;
    while let Some(item) = reader.next_item().unwrap() {
        if let CaptureItem::Frame { frame, .. } = item {
            if ingest.frame(&frame, None).is_some() {
                events += 1;
            }
        }
    }
    events
}

/// The `N` of a replay's summary `...; N events, I ignored, E decode errors`.
pub fn summary_events(stderr: &str) -> u64 {
    stderr
        .lines()
        .find(|l| l.starts_with("replayed "))
        .and_then(|l| l.split("; ").nth(1))
        .and_then(|part| {
            part.strip_suffix(" events")
                .or(part.split(" events,").next())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no replay summary in: {stderr}"))
}

/// `rebuilt the views from X stored rows and Y log records`: X + Y, None when the line is
/// absent (nothing was stored).
pub fn rebuilt(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .find_map(|l| l.split_once("rebuilt the views from "))
        .map(|(_, rest)| {
            let n: Vec<u64> = rest.split(' ').filter_map(|w| w.parse().ok()).collect();
            n[0] + n[1]
        })
}

/// `N frames were already stored and skipped`.
pub fn skipped(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .find_map(|l| l.strip_suffix(" frames were already stored and skipped"))
        .and_then(|n| n.trim().parse().ok())
}

/// Bytes of the write-ahead log's segments.
pub fn wal_bytes(data: &Path) -> u64 {
    std::fs::read_dir(data.join("wal"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// One stored frame with its gateway sequence number (None for frames without one).
pub struct StoredFrame {
    pub lsn: u64,
    pub frame: RawFrame,
    pub seq: Option<u64>,
    pub dispatch: Option<String>,
    /// Whether the frame decodes to an event (a row).
    pub event: bool,
}

/// What a data directory holds, read the way a restart reads it.
pub struct Stored {
    /// Every stored frame in log order: Parquet rows, then the log's tail.
    pub frames: Vec<StoredFrame>,
    /// Rows in Parquet files.
    pub parquet_rows: u64,
    /// Log records after Parquet's `flushed_lsn` (frames only).
    pub tail_records: u64,
    /// The first lsn of the log tail (`flushed_lsn + 1`).
    pub tail_from: u64,
}

impl Stored {
    /// Stored rows: Parquet rows plus the tail records that decode to events.
    pub fn rows(&self) -> u64 {
        self.frames.iter().filter(|f| f.event).count() as u64
    }
}

fn parquet_config() -> ParquetConfig {
    ParquetConfig {
        retention_days: None,
        ..ParquetConfig::default()
    }
}

/// A frame's sequence number and dispatch type (`s`, `t`).
fn envelope(text: &str) -> (Option<u64>, Option<String>) {
    let v: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let seq = v.as_ref().and_then(|v| v["s"].as_u64());
    let t = v.as_ref().and_then(|v| v["t"].as_str().map(str::to_owned));
    (seq, t)
}

/// Every stored frame: all Parquet rows (every row is read, so a corrupt file fails here),
/// then the log from `flushed_lsn + 1`. Opening the store removes a crash's leftovers and
/// truncates a torn log tail, as a restart does.
pub fn stored(data: &Path) -> Stored {
    let store = ParquetStore::open(&data.join("events"), parquet_config()).unwrap();
    assert!(
        store.open_report().missing_files.is_empty(),
        "the manifest lists missing files: {:?}",
        store.open_report()
    );
    let mut frames = Vec::new();
    let mut lsns = HashSet::new();
    for chunk in store.read_rows_after(None) {
        for row in chunk.unwrap() {
            assert!(lsns.insert(row.lsn), "lsn {} stored twice", row.lsn);
            let frame = row.raw_frame();
            let (seq, dispatch) = envelope(&frame.text);
            assert_eq!(
                seq,
                Some(row.seq),
                "row {} has another seq than its frame",
                row.lsn
            );
            frames.push(StoredFrame {
                lsn: row.lsn,
                frame,
                seq,
                dispatch,
                event: true,
            });
        }
    }
    let parquet_rows = frames.len() as u64;
    let manifest_rows: u64 = store.manifest().files.iter().map(|f| f.rows).sum();
    assert_eq!(
        parquet_rows, manifest_rows,
        "rows read != rows the manifest lists"
    );
    let after = store.flushed_lsn().map_or(0, |l| l + 1);
    let mut wal = Wal::open(&data.join("wal"), WalConfig::default()).unwrap();
    let ingest = ingest();
    let tail = wal.read_from(after).unwrap();
    let tail_records = tail.len() as u64;
    for (lsn, frame) in tail {
        assert!(
            lsns.insert(lsn),
            "lsn {lsn} both in Parquet and in the log tail"
        );
        let (seq, dispatch) = envelope(&frame.text);
        let event = ingest.frame(&frame, None).is_some();
        frames.push(StoredFrame {
            lsn,
            frame,
            seq,
            dispatch,
            event,
        });
    }
    Stored {
        frames,
        parquet_rows,
        tail_records,
        tail_from: after,
    }
}

/// Cheap count of what a data directory holds (manifest rows + log tail frames), for the
/// checks between kills; also checks that the manifest and `progress.json` load and that the
/// log recovers without a corrupt record (a kill may only tear its last record).
pub fn stored_count(data: &Path) -> u64 {
    let events = data.join("events");
    let manifest = Manifest::load(&events)
        .unwrap_or_else(|e| panic!("the manifest does not load: {e}"))
        .unwrap_or_else(|| Manifest::empty(16));
    Progress::load(&data.join("progress.json"))
        .unwrap_or_else(|e| panic!("progress.json does not load: {e}"));
    let rows: u64 = manifest.files.iter().map(|f| f.rows).sum();
    let after = manifest.flushed_lsn.map_or(0, |l| l + 1);
    let mut wal = Wal::open(&data.join("wal"), WalConfig::default()).unwrap();
    assert_eq!(wal.recovery().corrupt, 0, "{:?}", wal.recovery());
    rows + wal.read_from(after).unwrap().len() as u64
}

/// `progress.json` loads, and never claims a frame the store does not hold: each shard's
/// durable sequence is at most the highest sequence stored for it.
pub fn check_progress(data: &Path, stored: &Stored) -> Progress {
    let progress = Progress::load(&data.join("progress.json"))
        .unwrap_or_else(|e| panic!("progress.json does not load: {e}"));
    let mut highest: BTreeMap<u32, u64> = BTreeMap::new();
    for f in &stored.frames {
        if let Some(seq) = f.seq {
            let h = highest.entry(f.frame.shard).or_default();
            *h = (*h).max(seq);
        }
    }
    for (shard, p) in &progress.shards {
        let stored_seq = highest.get(shard).copied().unwrap_or(0);
        assert!(
            p.sequence <= stored_seq,
            "progress claims shard {shard} seq {} durable but the store holds up to {stored_seq}",
            p.sequence
        );
    }
    progress
}

/// A child whose stderr is read on a thread as it runs.
pub struct Running {
    pub child: Child,
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Running {
    pub fn spawn(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Running {
            child,
            stderr,
            reader: Some(reader),
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits until stderr contains `needle` (true) or the child ends or `timeout` passes.
    pub fn wait_for_stderr(&mut self, timeout: Duration, needle: &str) -> bool {
        let stderr = self.stderr.clone();
        self.wait_for(timeout, || stderr.lock().unwrap().contains(needle))
    }

    /// Polls `ready` every 10 ms until it holds (true) or the child ends or `timeout` passes
    /// (false).
    pub fn wait_for(&mut self, timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if ready() {
                return true;
            }
            if !self.running() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// SIGKILL (`Child::kill`), then reaps it; returns what it wrote to stderr.
    pub fn kill(mut self) -> String {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{status}"
        );
        self.finish()
    }

    /// Waits for the end (at most `timeout`, then kills and fails).
    pub fn wait(mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.finish());
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("still running after {timeout:?}: {}", self.finish());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.stderr()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes the stored frames, in log order, as a capture.
pub fn write_capture(path: &Path, stored: &Stored) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = guildflow_shards::capture::CaptureWriter::new(file);
    for f in &stored.frames {
        writer.write(&f.frame).unwrap();
    }
    writer.flush().unwrap();
}

/// Per shard, the stored sequence numbers have no gap and no repeat.
pub fn assert_sequences_contiguous(stored: &Stored) {
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    for f in &stored.frames {
        let Some(seq) = f.seq else { continue };
        if let Some(prev) = last.insert(f.frame.shard, seq) {
            assert_eq!(
                seq,
                prev + 1,
                "shard {} jumped from {prev} to {seq} ({:?})",
                f.frame.shard,
                f.dispatch
            );
        }
    }
}
