//! `guildflow`: the command-line edge. Parses arguments, wires shards (live or simulated) or a
//! capture into the pipeline, and reports. Everything it runs lives in the library crates.

mod admin;
mod cli;
mod commands;
mod console;
mod durable;
mod pipeline;
mod serving;
mod snapshots;
mod tokens;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    init_tracing(cli.log.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("guildflow")
        .build()?;
    runtime.block_on(commands::run(cli.command))
}

fn init_tracing(filter: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = filter
        .map(EnvFilter::new)
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info,twilight_gateway=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
