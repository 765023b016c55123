//! Command-line arguments (SPEC §6).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// guildflow: live Discord server statistics, leaderboards and automod.
#[derive(Debug, Parser)]
#[command(name = "guildflow", version, about)]
pub struct Cli {
    /// Log filter (tracing EnvFilter syntax); default `info`, or RUST_LOG.
    #[arg(long, global = true)]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Production: connect real shards and process their events.
    Run(RunArgs),
    /// Everything on one machine: a simulated Discord gateway, real shards connected to it,
    /// the pipeline, with live counters.
    Demo(DemoArgs),
    /// Feed a capture through the same pipeline as live shards.
    Replay(ReplayArgs),
    /// Write what live shards receive in the capture format.
    Record(RecordArgs),
    /// Write a generated capture (seeded workload) to a file.
    Generate(GenerateArgs),
    /// Run the Discord simulator alone, for `run`/`record` to connect to.
    Simulate(SimulateArgs),
    /// Apply the SQL migrations (`migrations/`) to a PostgreSQL database.
    Migrate(MigrateArgs),
    /// Remove a member's raw events of one guild from the store (and PostgreSQL); their
    /// aggregates go with them at the next start. Run it while guildflow is stopped.
    Erase(EraseArgs),
    /// Create, list or revoke API tokens of a data directory (works while a server runs on it).
    Token(crate::tokens::TokenArgs),
}

#[derive(Debug, Args)]
pub struct EraseArgs {
    /// Guild id.
    #[arg(long)]
    pub guild: u64,
    /// The member's user id.
    #[arg(long)]
    pub user: u64,
    /// Data directory.
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
    /// Also erase from this PostgreSQL database.
    #[arg(long, env = "GUILDFLOW_POSTGRES")]
    pub postgres: Option<String>,
}

/// Where raw events are kept.
#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// Optional PostgreSQL/TimescaleDB sink (`postgres://...` or `host=... user=...`).
    #[arg(long, env = "GUILDFLOW_POSTGRES")]
    pub postgres: Option<String>,
    /// Apply the migrations to --postgres before starting.
    #[arg(long, requires = "postgres")]
    pub migrate: bool,
    /// Days of raw events kept in Parquet (0 keeps them forever); aggregates stay.
    #[arg(long, default_value_t = 30)]
    pub retention_days: u32,
    /// Seconds between snapshots of the views (a restart replays only the events after the
    /// latest; one is also written at a clean stop); 0: only at a clean stop.
    #[arg(long, default_value_t = 300)]
    pub snapshot_every: u64,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The database (`postgres://...` or `host=... user=...`).
    #[arg(long, env = "GUILDFLOW_POSTGRES")]
    pub postgres: String,
}

/// Where and how to connect shards.
#[derive(Debug, Args, Clone)]
pub struct ShardArgs {
    /// Bot token.
    #[arg(long, env = "DISCORD_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Total shards of the bot.
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// Shards this process runs, `A-B` or `A` (default: all).
    #[arg(long)]
    pub shard_ids: Option<String>,
    /// Gateway base URL (default Discord's); any gateway v10 server works.
    #[arg(long)]
    pub gateway_url: Option<String>,
    /// REST base URL: where automod actions go (delete, timeout, kick, ban), Discord's or a
    /// Discord-compatible server such as `guildflow simulate` (`http://HOST:PORT/api/v10`).
    #[arg(long, default_value = "https://discord.com/api/v10")]
    pub rest_url: String,
    /// Identify max_concurrency, from GET /gateway/bot.
    #[arg(long, default_value_t = 1)]
    pub max_concurrency: u16,
    /// Session starts left today, from GET /gateway/bot.
    #[arg(long, default_value_t = 1000)]
    pub session_budget: u32,
}

/// Dataflow workers and cluster.
#[derive(Debug, Args, Clone)]
pub struct DataflowArgs {
    /// Dataflow worker threads in this process.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// This process's index in a cluster (with --hostfile).
    #[arg(long, requires = "hostfile")]
    pub process: Option<usize>,
    /// File with one `host:port` per cluster process, in index order.
    #[arg(long, requires = "process")]
    pub hostfile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub shards: ShardArgs,
    #[command(flatten)]
    pub dataflow: DataflowArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// API listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Discord application id for the dashboard's login (OAuth2); without it the API is open.
    #[arg(long, env = "DISCORD_CLIENT_ID")]
    pub discord_client_id: Option<String>,
    /// Discord application secret.
    #[arg(long, env = "DISCORD_CLIENT_SECRET", hide_env_values = true)]
    pub discord_client_secret: Option<String>,
    /// Public base URL of the API (the OAuth2 redirect is `<url>/auth/callback`).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Data directory (write-ahead log, Parquet files, shard progress).
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Write every leaderboard as JSON here when stopping.
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub dataflow: DataflowArgs,
    /// Simulated shards.
    #[arg(long, default_value_t = 4)]
    pub shards: u32,
    /// Simulated guilds.
    #[arg(long, default_value_t = 2000)]
    pub guilds: u32,
    /// Offered events per second over all shards.
    #[arg(long, default_value_t = 5000.0)]
    pub rate: f64,
    /// Workload seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// API listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Data directory. The demo's traffic is new every run, so a directory a previous demo
    /// wrote is emptied first; one holding anything else is refused.
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture file (`-` for standard input).
    pub file: PathBuf,
    /// Pacing: `max` (default) or `1x` to keep the capture's timing.
    #[arg(long, default_value = "max")]
    pub speed: String,
    /// Only frames of these shards, `A-B` (a cluster process replays its own shards).
    #[arg(long)]
    pub shard_ids: Option<String>,
    /// Write every leaderboard (guild × metric × period, all entries) as JSON here at the end.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub dataflow: DataflowArgs,
    /// Data directory to store the replayed frames in, after what it already holds (frames
    /// it holds are not counted twice). Without it, and without --serve, nothing is stored.
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Keep serving the API after the file is processed (`/health` is 503 until then);
    /// stores under --data, ./data by default.
    #[arg(long)]
    pub serve: bool,
    /// API listen address (with --serve).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub shards: ShardArgs,
    /// Output capture file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output capture file.
    pub out: PathBuf,
    /// Dispatch events to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Guilds.
    #[arg(long, default_value_t = 2000)]
    pub guilds: u32,
    /// Shards.
    #[arg(long, default_value_t = 4)]
    pub shards: u32,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Events per second of event time (spacing of `at`).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: SocketAddr,
    /// Accepted token.
    #[arg(long, default_value = "demo-token")]
    pub token: String,
    /// Total shards.
    #[arg(long, default_value_t = 4)]
    pub shards: u32,
    /// Guilds.
    #[arg(long, default_value_t = 2000)]
    pub guilds: u32,
    /// Offered events per second over all shards (0: as fast as clients read).
    #[arg(long, default_value_t = 5000.0)]
    pub rate: f64,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}
