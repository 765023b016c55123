//! Throughput bench (issue 6, item 2): raw gateway frames of the generated mix through decode,
//! dataflow (every view) and the DurableStore (log + Parquet), stage by stage with 1 and 2
//! workers, each stage in a child process for an honest peak RSS; and the three baselines on
//! the same frames in the same run: (a) the original roadmap's PostgreSQL design, (b) the
//! hand-written hash-map aggregator, (c) pure JSON parsing.

use crate::report::{median, print_table, rate, ratio, write_json, Machine};
use crate::roadmap_baseline;
use crate::stage::{StageKind, StageOutcome, RESULT_PREFIX};
use clap::Args;
use serde::Serialize;
use std::process::Command;

/// Arguments of the throughput bench.
#[derive(Debug, Args, Clone)]
pub struct ThroughputArgs {
    /// Dispatch events in the corpus.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Runs per stage (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Seconds per run of baseline (a) (the roadmap design on PostgreSQL).
    #[arg(long, default_value_t = 20)]
    pub roadmap_seconds: u64,
    /// Short mode: 50k events, 1 run, 3 s per baseline (a) run.
    #[arg(long)]
    pub quick: bool,
}

impl ThroughputArgs {
    pub fn preset(quick: bool) -> ThroughputArgs {
        ThroughputArgs {
            events: 1_000_000,
            runs: 3,
            roadmap_seconds: 20,
            quick,
        }
    }
}

#[derive(Debug, Serialize)]
struct RoadmapResult {
    connections: usize,
    seconds: u64,
    events_per_sec: Option<f64>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct ThroughputReport {
    bench: &'static str,
    machine: Machine,
    events: u64,
    runs: usize,
    stages: Vec<StageRow>,
    roadmap: Vec<RoadmapResult>,
}

#[derive(Debug, Serialize)]
struct StageRow {
    label: &'static str,
    median_events_per_sec: f64,
    outcome: StageOutcome,
}

const STAGES: [(&str, StageKind, usize); 7] = [
    (
        "(c) pure JSON parse (serde_json::Value)",
        StageKind::Json,
        1,
    ),
    ("decode only (lean decoder)", StageKind::Decode, 1),
    ("(b) decode + hash-map aggregator", StageKind::Hashmap, 1),
    ("decode + dataflow", StageKind::Dataflow, 1),
    ("decode + dataflow", StageKind::Dataflow, 2),
    (
        "decode + dataflow + store (log, Parquet)",
        StageKind::Store,
        1,
    ),
    (
        "decode + dataflow + store (log, Parquet)",
        StageKind::Store,
        2,
    ),
];

pub fn run(args: &ThroughputArgs) -> anyhow::Result<()> {
    let (events, runs, roadmap_seconds) = if args.quick {
        (args.events.min(50_000), 1, args.roadmap_seconds.min(3))
    } else {
        (args.events, args.runs.max(1), args.roadmap_seconds)
    };
    println!(
        "throughput bench: {events} dispatches, {runs} run(s) per stage, one process per stage"
    );
    let mut stages = Vec::new();
    for (label, kind, workers) in STAGES {
        let outcome = run_child(kind, workers, events, runs)?;
        let med = median(&outcome.runs_events_per_sec);
        println!("  {label} ({workers} worker(s)): {} events/s", rate(med));
        stages.push(StageRow {
            label,
            median_events_per_sec: med,
            outcome,
        });
    }
    let roadmap = run_roadmap(roadmap_seconds)?;
    print(&stages, &roadmap);
    let report = ThroughputReport {
        bench: "throughput",
        machine: Machine::read(),
        events,
        runs,
        stages,
        roadmap,
    };
    let path = write_json("throughput", &report)?;
    println!("(JSON in {})", path.display());
    Ok(())
}

fn run_child(
    kind: StageKind,
    workers: usize,
    events: u64,
    runs: usize,
) -> anyhow::Result<StageOutcome> {
    let kind_name = serde_json::to_value(kind)?
        .as_str()
        .map(str::to_lowercase)
        .unwrap_or_default();
    let output = Command::new(std::env::current_exe()?)
        .args(["stage", "--kind", &kind_name])
        .args(["--workers", &workers.to_string()])
        .args(["--events", &events.to_string()])
        .args(["--runs", &runs.to_string()])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(RESULT_PREFIX))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "stage {kind_name} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    Ok(serde_json::from_str(line)?)
}

/// Baseline (a) with 1 and 8 connections on a throwaway cluster. A machine without the
/// PostgreSQL binaries reports it unavailable rather than failing the bench.
fn run_roadmap(seconds: u64) -> anyhow::Result<Vec<RoadmapResult>> {
    // Far more events than the design gets through in `seconds`, so the clock bounds it.
    let events = crate::corpus::decode_all(&crate::corpus::frames(200_000)?);
    let cluster = guildflow_store::postgres::LocalCluster::start();
    let mut out = Vec::new();
    for connections in [1, 8] {
        let result = match &cluster {
            Ok(cluster) => roadmap_baseline::run(&cluster.url(), &events, connections, seconds),
            Err(e) => Err(anyhow::anyhow!("no PostgreSQL cluster: {e}")),
        };
        match result {
            Ok(r) => {
                println!(
                    "  (a) roadmap design, {connections} connection(s): {} events/s",
                    rate(r)
                );
                out.push(RoadmapResult {
                    connections,
                    seconds,
                    events_per_sec: Some(r),
                    error: None,
                });
            }
            Err(e) => out.push(RoadmapResult {
                connections,
                seconds,
                events_per_sec: None,
                error: Some(format!("{e:#}")),
            }),
        }
    }
    Ok(out)
}

fn print(stages: &[StageRow], roadmap: &[RoadmapResult]) {
    let find = |kind: StageKind, workers: usize| {
        stages
            .iter()
            .find(|s| s.outcome.kind == kind && s.outcome.workers == workers)
            .map(|s| s.median_events_per_sec)
    };
    let b = find(StageKind::Hashmap, 1);
    let rows: Vec<Vec<String>> = stages
        .iter()
        .map(|s| {
            let o = &s.outcome;
            let mb = |v: Option<u64>| v.map_or("n/a".into(), |b| format!("{:.0}", b as f64 / 1e6));
            let per_member = match (o.retained_rss_bytes, o.corpus_rss_bytes) {
                (Some(r), Some(c)) if o.active_members > 0 && o.kind == StageKind::Dataflow => {
                    format!(
                        "{:.0}",
                        r.saturating_sub(c) as f64 / o.active_members as f64
                    )
                }
                _ => "–".into(),
            };
            vec![
                s.label.to_owned(),
                o.workers.to_string(),
                rate(s.median_events_per_sec),
                ratio(s.median_events_per_sec, b),
                mb(o.peak_rss_bytes),
                mb(o.corpus_rss_bytes),
                if o.active_members > 0 {
                    rate(o.active_members as f64)
                } else {
                    "–".into()
                },
                per_member,
            ]
        })
        .collect();
    print_table(
        "Throughput by stage (median events/s; RSS of the stage's own process)",
        &[
            "stage",
            "workers",
            "events/s",
            "vs (b)",
            "peak RSS MB",
            "corpus RSS MB",
            "members",
            "state bytes/member (RSS growth)",
        ],
        &rows,
    );
    let c = find(StageKind::Json, 1);
    let mut rows = Vec::new();
    for workers in [1, 2] {
        let Some(full) = find(StageKind::Store, workers) else {
            continue;
        };
        let mut row = vec![
            format!("decode + dataflow + store, {workers} worker(s)"),
            rate(full),
        ];
        for r in roadmap {
            row.push(ratio(full, r.events_per_sec));
        }
        row.push(ratio(full, b));
        row.push(ratio(full, c));
        rows.push(row);
    }
    let a = |i: usize| {
        roadmap.get(i).map_or("n/a".to_owned(), |r| {
            r.events_per_sec.map_or_else(
                || format!("unavailable: {}", r.error.as_deref().unwrap_or("")),
                rate,
            )
        })
    };
    println!(
        "\nbaselines: (a) roadmap design 1 conn {} events/s, 8 conn {} events/s; (b) {} events/s; (c) {} events/s",
        a(0),
        a(1),
        b.map_or("n/a".into(), rate),
        c.map_or("n/a".into(), rate)
    );
    print_table(
        "guildflow's full ingestion path as a multiple of each baseline",
        &[
            "guildflow",
            "events/s",
            "× (a) 1 conn",
            "× (a) 8 conn",
            "× (b) hash map",
            "× (c) JSON parse",
        ],
        &rows,
    );
}
