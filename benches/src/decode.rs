//! Decode bench: how fast raw gateway frames of the generated mix become events.
//!
//! Variants, on the same frames in the same run:
//! - `lean` — guildflow's decoder (envelope, then only the fields we keep);
//! - `twilight_model` — twilight-model's full gateway models (what `next_event` would do);
//! - `json_value` — parsing into `serde_json::Value`, the pure-JSON baseline;
//! - `json_skip` — serde_json validating and skipping everything (`IgnoredAny`), the limit.

use crate::report::{median, write_json, Machine};
use clap::Args;
use guildflow_shards::decode::{decode_frame, twilight::decode_frame_twilight};
use guildflow_shards::workload::WorkloadConfig;
use guildflow_shards::RawFrame;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Instant;

/// Arguments of the decode bench.
#[derive(Debug, Args, Clone)]
pub struct DecodeArgs {
    /// Dispatch events in the corpus.
    #[arg(long, default_value_t = 500_000)]
    pub events: u64,
    /// Guilds in the generated world.
    #[arg(long, default_value_t = 2000)]
    pub guilds: u32,
    /// Timed runs per variant (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Short mode: 50k events, 2 runs.
    #[arg(long)]
    pub quick: bool,
}

impl DecodeArgs {
    pub fn preset(quick: bool) -> DecodeArgs {
        DecodeArgs {
            events: 500_000,
            guilds: 2000,
            runs: 5,
            quick,
        }
    }
}

#[derive(Debug, Serialize)]
struct VariantResult {
    variant: &'static str,
    runs_events_per_sec: Vec<f64>,
    median_events_per_sec: f64,
    median_mb_per_sec: f64,
    failures: u64,
    latency_ns_p50: u64,
    latency_ns_p99: u64,
    latency_ns_p999: u64,
}

#[derive(Debug, Serialize)]
struct DecodeReport {
    bench: &'static str,
    machine: Machine,
    events: usize,
    bytes: usize,
    guilds: u32,
    runs: usize,
    variants: Vec<VariantResult>,
}

type Variant = (&'static str, fn(&RawFrame) -> bool);

const VARIANTS: [Variant; 4] = [
    ("lean", |f| decode_frame(&f.text, f.shard, f.at).is_ok()),
    ("twilight_model", |f| decode_frame_twilight(&f.text).is_ok()),
    ("json_value", |f| {
        serde_json::from_str::<serde_json::Value>(&f.text).is_ok()
    }),
    ("json_skip", |f| {
        serde_json::from_str::<serde::de::IgnoredAny>(&f.text).is_ok()
    }),
];

pub fn run(args: &DecodeArgs) -> anyhow::Result<()> {
    let (events, runs) = if args.quick {
        (args.events.min(50_000), args.runs.min(2))
    } else {
        (args.events, args.runs.max(1))
    };
    let frames = corpus(events, args.guilds)?;
    let bytes: usize = frames.iter().map(|f| f.text.len()).sum();
    println!(
        "decode bench: {} frames, {:.1} MB, {} runs per variant",
        frames.len(),
        bytes as f64 / 1e6,
        runs
    );
    let mut results = Vec::new();
    for (name, decode) in VARIANTS {
        let mut rates = Vec::with_capacity(runs);
        let mut failures = 0;
        for _ in 0..runs {
            let started = Instant::now();
            failures = frames.iter().filter(|f| !decode(f)).count() as u64;
            rates.push(frames.len() as f64 / started.elapsed().as_secs_f64());
        }
        let mut latency = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
        for frame in &frames {
            let started = Instant::now();
            let ok = decode(std::hint::black_box(frame));
            let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            std::hint::black_box(ok);
            latency.saturating_record(ns.max(1));
        }
        let med = median(&rates);
        results.push(VariantResult {
            variant: name,
            median_events_per_sec: med,
            median_mb_per_sec: med * bytes as f64 / frames.len().max(1) as f64 / 1e6,
            runs_events_per_sec: rates,
            failures,
            latency_ns_p50: latency.value_at_quantile(0.5),
            latency_ns_p99: latency.value_at_quantile(0.99),
            latency_ns_p999: latency.value_at_quantile(0.999),
        });
    }
    let lean = results.first().map_or(1.0, |r| r.median_events_per_sec);
    println!(
        "{:<16} {:>14} {:>10} {:>12} {:>9} {:>9} {:>9} {:>9}",
        "variant", "events/s", "MB/s", "lean ratio", "p50 ns", "p99 ns", "p99.9 ns", "failed"
    );
    for r in &results {
        println!(
            "{:<16} {:>14.0} {:>10.1} {:>11.2}x {:>9} {:>9} {:>9} {:>9}",
            r.variant,
            r.median_events_per_sec,
            r.median_mb_per_sec,
            lean / r.median_events_per_sec.max(1e-9),
            r.latency_ns_p50,
            r.latency_ns_p99,
            r.latency_ns_p999,
            r.failures
        );
    }
    let report = DecodeReport {
        bench: "decode",
        machine: Machine::read(),
        events: frames.len(),
        bytes,
        guilds: args.guilds,
        runs,
        variants: results,
    };
    let path = write_json("decode", &report)?;
    println!(
        "(lean ratio: how many times faster lean is; JSON in {})",
        path.display()
    );
    Ok(())
}

/// The generated mix, as the frames a shard would receive.
fn corpus(events: u64, guilds: u32) -> anyhow::Result<Vec<RawFrame>> {
    let cfg = WorkloadConfig {
        guilds,
        ..crate::corpus::config(1000.0)
    };
    crate::corpus::frames_of(&cfg, events)
}
