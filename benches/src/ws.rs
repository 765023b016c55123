//! Websocket fan-out bench (issue 6, item 5): N real subscribers (tokio-tungstenite over TCP)
//! on one guild room while guildflow ingests the mix at a given rate; delivery latency of
//! leaderboard frames from event arrival to each subscriber (probe method: `live.rs`).

use crate::live::run_load;
use crate::report::{ms, print_table, rate, write_json, Machine, Percentiles};
use clap::Args;
use serde::Serialize;
use std::time::Duration;

/// Arguments of the websocket fan-out bench.
#[derive(Debug, Args, Clone)]
pub struct WsArgs {
    /// Subscriber counts, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,100,1000")]
    pub subscribers: Vec<usize>,
    /// Events/s ingested meanwhile.
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// Seconds per run.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Short mode: 100 subscribers, 3 s.
    #[arg(long)]
    pub quick: bool,
}

impl WsArgs {
    pub fn preset(quick: bool) -> WsArgs {
        WsArgs {
            subscribers: vec![1, 100, 1000],
            rate: 10_000,
            seconds: 20,
            quick,
        }
    }
}

#[derive(Debug, Serialize)]
struct FanoutRow {
    subscribers: usize,
    complete_subscribers: usize,
    achieved_per_sec: f64,
    probes: u64,
    frames_received: u64,
    delivery: Percentiles,
}

#[derive(Debug, Serialize)]
struct WsReport {
    bench: &'static str,
    machine: Machine,
    rate: u64,
    seconds: u64,
    runs: Vec<FanoutRow>,
}

pub fn run(args: &WsArgs) -> anyhow::Result<()> {
    let (subscribers, seconds) = if args.quick {
        (vec![100], args.seconds.min(3))
    } else {
        (args.subscribers.clone(), args.seconds)
    };
    let corpus = crate::corpus::frames(100_000)?;
    println!(
        "ws bench: {} events/s for {seconds} s per run, subscribers {subscribers:?}",
        rate(args.rate as f64)
    );
    let mut rows = Vec::new();
    for n in subscribers {
        let o = run_load(&corpus, args.rate, Duration::from_secs(seconds), n)?;
        rows.push(FanoutRow {
            subscribers: n,
            complete_subscribers: o.complete_subscribers,
            achieved_per_sec: o.achieved_per_sec,
            probes: o.probes,
            frames_received: o.ws_frames,
            delivery: Percentiles::of_micros(&o.ws),
        });
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.subscribers.to_string(),
                rate(r.achieved_per_sec),
                ms(r.delivery.p50_ms),
                ms(r.delivery.p99_ms),
                ms(r.delivery.max_ms),
                rate(r.frames_received as f64),
                format!("{}/{}", r.complete_subscribers, r.subscribers),
            ]
        })
        .collect();
    print_table(
        "Websocket fan-out: event → leaderboard frame at each subscriber (ms)",
        &[
            "subscribers",
            "events/s",
            "p50",
            "p99",
            "max",
            "frames received",
            "saw every probe",
        ],
        &table,
    );
    let report = WsReport {
        bench: "ws",
        machine: Machine::read(),
        rate: args.rate,
        seconds,
        runs: rows,
    };
    let path = write_json("ws", &report)?;
    println!("(JSON in {})", path.display());
    Ok(())
}
