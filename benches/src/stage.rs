//! One throughput stage in a process of its own (`guildflow-benches stage ...`, started by the
//! throughput bench), so that its peak RSS (VmHWM) is the stage's and not the sum of every
//! stage run before it in the same process.
//!
//! Every stage starts from the same raw frames and includes decoding, except `json` (the pure
//! JSON parse, baseline (c)); the corpus is generated before the clock starts and its resident
//! size is reported separately so the state's growth can be told apart from the input.

use crate::corpus::{self, decode};
use crate::pipeline::{run_decode_dataflow, run_hashmap_baseline, BATCH};
use crate::report::proc_status_bytes;
use clap::{Args, ValueEnum};
use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_shards::RawFrame;
use guildflow_store::durable::{DurableStore, FlushPolicy, StoreConfig};
use guildflow_store::parquet::ParquetConfig;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Marks the child's result line on stdout.
pub const RESULT_PREFIX: &str = "STAGE_RESULT ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum StageKind {
    /// serde_json::Value of every frame: baseline (c), the JSON limit.
    Json,
    /// The lean decoder: raw frames -> events.
    Decode,
    /// Decode + the hand-written hash-map aggregator: baseline (b).
    Hashmap,
    /// Decode + dataflow (every view, published read side), decoding batch by batch while
    /// the dataflow runs.
    Dataflow,
    /// Decode + DurableStore (log + Parquet) + dataflow: the whole ingestion path.
    Store,
}

/// Arguments of the hidden `stage` subcommand.
#[derive(Debug, Args, Clone)]
pub struct StageArgs {
    #[arg(long, value_enum)]
    pub kind: StageKind,
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    #[arg(long)]
    pub events: u64,
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
}

/// What a stage process reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageOutcome {
    pub kind: StageKind,
    pub workers: usize,
    pub frames: usize,
    pub events: usize,
    pub runs_events_per_sec: Vec<f64>,
    /// RSS once the corpus is generated, before the first run.
    pub corpus_rss_bytes: Option<u64>,
    /// VmHWM at the end of the process.
    pub peak_rss_bytes: Option<u64>,
    /// RSS right after the last run with its state still alive.
    pub retained_rss_bytes: Option<u64>,
    /// Members with state after a run (dataflow stages).
    pub active_members: usize,
}

pub fn run(args: &StageArgs) -> anyhow::Result<()> {
    let frames = corpus::frames(args.events)?;
    let events = frames.iter().filter(|f| decode(f).is_some()).count();
    // Generating the corpus peaks above what it keeps (the capture text and the frames);
    // the kernel resets VmHWM to the current RSS on "5" to clear_refs, so the peak reported
    // is the stage's own.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let corpus_rss = proc_status_bytes("VmRSS");
    let mut outcome = StageOutcome {
        kind: args.kind,
        workers: args.workers,
        frames: frames.len(),
        events,
        runs_events_per_sec: Vec::new(),
        corpus_rss_bytes: corpus_rss,
        peak_rss_bytes: None,
        retained_rss_bytes: None,
        active_members: 0,
    };
    for run in 0..args.runs.max(1) {
        // Runs that consume frames get a copy made before the clock starts.
        let input = matches!(args.kind, StageKind::Store).then(|| frames.clone());
        let started = Instant::now();
        let members = match args.kind {
            StageKind::Json => {
                let ok = frames
                    .iter()
                    .filter(|f| serde_json::from_str::<serde_json::Value>(&f.text).is_ok())
                    .count();
                std::hint::black_box(ok);
                0
            }
            StageKind::Decode => {
                std::hint::black_box(corpus::decode_all(&frames).len());
                0
            }
            StageKind::Hashmap => {
                run_hashmap_baseline(corpus::decode_all(&frames));
                0
            }
            StageKind::Dataflow => run_decode_dataflow(&frames, args.workers)?.1,
            StageKind::Store => {
                run_store(input.unwrap_or_default(), args.workers, run, &mut outcome)?
            }
        };
        outcome
            .runs_events_per_sec
            .push(events as f64 / started.elapsed().as_secs_f64());
        outcome.active_members = members;
        if outcome.retained_rss_bytes.is_none() && matches!(args.kind, StageKind::Dataflow) {
            outcome.retained_rss_bytes = proc_status_bytes("VmRSS");
        }
    }
    outcome.peak_rss_bytes = proc_status_bytes("VmHWM");
    println!("{RESULT_PREFIX}{}", serde_json::to_string(&outcome)?);
    Ok(())
}

/// The ingestion path of `guildflow replay --data`: frames decoded, stored (log, then Parquet
/// via the flusher), the kept events pushed into the dataflow; the clock stops once the
/// dataflow is finished and every row is in a committed Parquet file.
fn run_store(
    frames: Vec<RawFrame>,
    workers: usize,
    run: usize,
    outcome: &mut StageOutcome,
) -> anyhow::Result<usize> {
    let dir = std::env::temp_dir().join(format!(
        "guildflow-bench-store-{}-{run}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let config = StoreConfig {
        parquet: ParquetConfig {
            retention_days: None,
            ..ParquetConfig::default()
        },
        flush: FlushPolicy::default(),
        postgres: None,
        decode: Arc::new(decode),
        snapshot_every: None,
    };
    let mut store = DurableStore::open(&dir, config)?;
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers,
        ..DataflowConfig::default()
    })?;
    let mut frames = frames.into_iter();
    loop {
        let batch: Vec<_> = frames
            .by_ref()
            .take(BATCH)
            .map(|f| {
                let event = decode(&f);
                (f, event)
            })
            .collect();
        if batch.is_empty() {
            break;
        }
        let events = store.admit(batch)?;
        dataflow.push(events);
        store.checkpoint(false)?;
    }
    store.flush()?;
    let state = dataflow.finish()?;
    let members = state.read().member_count_tracked();
    if outcome.retained_rss_bytes.is_none() {
        outcome.retained_rss_bytes = proc_status_bytes("VmRSS");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(members)
}
