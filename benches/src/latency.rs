//! Latency bench (issue 6, item 3): at offered loads of 1k (the original roadmap's target),
//! 10k, 100k and 300k events/s, the p50/p95/p99/p99.9 of
//! - event received → leaderboard change at a real websocket subscriber (warp over TCP),
//! - event received → durable (a log sync covers it),
//! - event received → visible in the published state (what a REST read sees).
//!
//! The rig and the probe method: `live.rs`.

use crate::live::run_load;
use crate::report::{ms, print_table, rate, write_json, Machine, Percentiles};
use clap::Args;
use serde::Serialize;
use std::time::Duration;

/// Arguments of the latency bench.
#[derive(Debug, Args, Clone)]
pub struct LatencyArgs {
    /// Seconds per offered load.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Offered loads, events/s.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,10000,100000,300000"
    )]
    pub loads: Vec<u64>,
    /// Dispatches in the corpus the feeder cycles through.
    #[arg(long, default_value_t = 300_000)]
    pub events: u64,
    /// Short mode: 2 s per load, 50k-dispatch corpus.
    #[arg(long)]
    pub quick: bool,
}

impl LatencyArgs {
    pub fn preset(quick: bool) -> LatencyArgs {
        LatencyArgs {
            seconds: 60,
            loads: vec![1_000, 10_000, 100_000, 300_000],
            events: 300_000,
            quick,
        }
    }
}

#[derive(Debug, Serialize)]
struct LoadRow {
    offered_per_sec: u64,
    achieved_per_sec: f64,
    frames: u64,
    probes: u64,
    ws_frames: u64,
    complete_subscribers: usize,
    websocket: Percentiles,
    durable: Percentiles,
    visible: Percentiles,
}

#[derive(Debug, Serialize)]
struct LatencyReport {
    bench: &'static str,
    machine: Machine,
    seconds: u64,
    corpus_events: u64,
    loads: Vec<LoadRow>,
}

pub fn run(args: &LatencyArgs) -> anyhow::Result<()> {
    let (seconds, events) = if args.quick {
        (args.seconds.min(2), args.events.min(50_000))
    } else {
        (args.seconds, args.events)
    };
    let corpus = crate::corpus::frames(events)?;
    println!(
        "latency bench: {} s per load, loads {:?}, 1 worker, corpus of {events} dispatches cycled",
        seconds, args.loads
    );
    let mut rows = Vec::new();
    for &load in &args.loads {
        let o = run_load(&corpus, load, Duration::from_secs(seconds), 1)?;
        let row = LoadRow {
            offered_per_sec: o.offered_per_sec,
            achieved_per_sec: o.achieved_per_sec,
            frames: o.frames,
            probes: o.probes,
            ws_frames: o.ws_frames,
            complete_subscribers: o.complete_subscribers,
            websocket: Percentiles::of_micros(&o.ws),
            durable: Percentiles::of_micros(&o.durable),
            visible: Percentiles::of_micros(&o.visible),
        };
        println!(
            "  offered {}/s achieved {}/s: websocket p99 {} ms, durable p99 {} ms",
            rate(load as f64),
            rate(row.achieved_per_sec),
            ms(row.websocket.p99_ms),
            ms(row.durable.p99_ms)
        );
        rows.push(row);
    }
    let mut table = Vec::new();
    for r in &rows {
        for (what, p) in [
            ("websocket frame", &r.websocket),
            ("durable (log synced)", &r.durable),
            ("published state", &r.visible),
        ] {
            table.push(vec![
                rate(r.offered_per_sec as f64),
                rate(r.achieved_per_sec),
                what.to_owned(),
                ms(p.p50_ms),
                ms(p.p95_ms),
                ms(p.p99_ms),
                ms(p.p999_ms),
                ms(p.max_ms),
                rate(p.samples as f64),
            ]);
        }
    }
    print_table(
        "Event received → ... (ms; websocket includes the room's 50 ms coalescing)",
        &[
            "offered/s",
            "achieved/s",
            "until",
            "p50",
            "p95",
            "p99",
            "p99.9",
            "max",
            "samples",
        ],
        &table,
    );
    let incomplete: Vec<_> = rows
        .iter()
        .filter(|r| r.complete_subscribers == 0)
        .map(|r| r.offered_per_sec)
        .collect();
    if !incomplete.is_empty() {
        println!("(the subscriber did not see every probe at loads {incomplete:?})");
    }
    let report = LatencyReport {
        bench: "latency",
        machine: Machine::read(),
        seconds,
        corpus_events: events,
        loads: rows,
    };
    let path = write_json("latency", &report)?;
    println!("(JSON in {})", path.display());
    Ok(())
}
