//! `guildflow-benches`: the bench harness. Each bench measures guildflow and its baselines on
//! the same generated events in the same run, prints a table of medians and ratios, and writes
//! every run as JSON under `bench-results/` (ignored by git).
//!
//! Benches so far: `decode` (raw gateway JSON -> normalized events: the lean decoder against
//! twilight-model and against pure JSON parsing) and `pipeline` (decode + dataflow throughput
//! by stage, event -> visible latency at offered loads).

mod decode;
mod pipeline;
mod report;

use clap::{Parser, Subcommand};

/// The guildflow bench harness.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Decode rate of the generated mix: lean decoder vs twilight-model vs pure JSON parsing.
    Decode(decode::DecodeArgs),
    /// Decode + dataflow throughput by stage (1 and 2 workers) and event -> visible latency.
    Pipeline(pipeline::PipelineArgs),
    /// Every bench.
    All {
        /// Short runs (under a minute in all).
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().bench {
        Bench::Decode(args) => decode::run(&args),
        Bench::Pipeline(args) => pipeline::run(&args),
        Bench::All { quick } => {
            decode::run(&decode::DecodeArgs::preset(quick))?;
            pipeline::run(&pipeline::PipelineArgs::preset(quick))
        }
    }
}
