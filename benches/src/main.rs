//! `guildflow-benches`: the bench harness. Each bench measures guildflow and its baselines on
//! the same generated events in the same run, prints a table of medians and ratios, and writes
//! every run as JSON under `bench-results/` (ignored by git).
//!
//! Benches: `throughput` (decode → dataflow → store by stage, baselines (a) roadmap design on
//! PostgreSQL, (b) hash-map aggregator, (c) pure JSON parse), `latency` (event → websocket
//! subscriber and event → durable at offered loads), `sink` (PostgreSQL COPY, Parquet),
//! `query` (GuildSql against DuckDB on the same Parquet), `ws` (fan-out), and the earlier
//! `decode` (lean decoder against twilight-model) and `pipeline` (dataflow alone).

mod corpus;
mod decode;
mod duckdb_peer;
mod latency;
mod live;
mod pipeline;
mod query;
mod report;
mod roadmap_baseline;
mod sink;
mod stage;
mod throughput;
mod ws;

use clap::{Parser, Subcommand};
use std::time::Instant;

/// The guildflow bench harness.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Events/s through decode, dataflow and store by stage, against baselines (a), (b), (c).
    Throughput(throughput::ThroughputArgs),
    /// Event → websocket subscriber, → durable, → published, at offered loads.
    Latency(latency::LatencyArgs),
    /// PostgreSQL binary COPY and Parquet write rows/s.
    Sink(sink::SinkArgs),
    /// Canned and ad hoc queries over stored events, against DuckDB.
    Query(query::QueryArgs),
    /// Websocket fan-out: N subscribers of one guild room.
    Ws(ws::WsArgs),
    /// Decode rate of the generated mix: lean decoder vs twilight-model vs pure JSON parsing.
    Decode(decode::DecodeArgs),
    /// Dataflow alone by stage and event -> published latency (issue 3's bench).
    Pipeline(pipeline::PipelineArgs),
    /// Every bench but `pipeline` (superseded by throughput and latency).
    All {
        /// Short runs (under a minute in all).
        #[arg(long)]
        quick: bool,
    },
    /// One throughput stage in its own process (started by `throughput`).
    #[command(hide = true)]
    Stage(stage::StageArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().bench {
        Bench::Throughput(args) => throughput::run(&args),
        Bench::Latency(args) => latency::run(&args),
        Bench::Sink(args) => sink::run(&args),
        Bench::Query(args) => query::run(&args),
        Bench::Ws(args) => ws::run(&args),
        Bench::Decode(args) => decode::run(&args),
        Bench::Pipeline(args) => pipeline::run(&args),
        Bench::Stage(args) => stage::run(&args),
        Bench::All { quick } => {
            let started = Instant::now();
            let mut timings = Vec::new();
            let mut step = |name: &'static str, r: anyhow::Result<()>| -> anyhow::Result<()> {
                timings.push((name, started.elapsed().as_secs_f64()));
                r
            };
            step("decode", decode::run(&decode::DecodeArgs::preset(quick)))?;
            step(
                "throughput",
                throughput::run(&throughput::ThroughputArgs::preset(quick)),
            )?;
            step(
                "latency",
                latency::run(&latency::LatencyArgs::preset(quick)),
            )?;
            step("sink", sink::run(&sink::SinkArgs::preset(quick)))?;
            step("query", query::run(&query::QueryArgs::preset(quick)))?;
            step("ws", ws::run(&ws::WsArgs::preset(quick)))?;
            let mut last = 0.0;
            let parts: Vec<String> = timings
                .iter()
                .map(|(name, at)| {
                    let s = format!("{name} {:.1} s", at - last);
                    last = *at;
                    s
                })
                .collect();
            println!(
                "\nall{}: {:.1} s ({})",
                if quick { " --quick" } else { "" },
                started.elapsed().as_secs_f64(),
                parts.join(", ")
            );
            Ok(())
        }
    }
}
