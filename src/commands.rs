//! One function per subcommand.

use crate::admin::{open_admin, start_executor};
use crate::cli::{
    Command, DataflowArgs, DemoArgs, EraseArgs, GenerateArgs, MigrateArgs, RecordArgs, ReplayArgs,
    RunArgs, ShardArgs, SimulateArgs,
};
use crate::console;
use crate::durable::{open_store, prepare_demo_dir};
use crate::pipeline::{self, DataflowSink, EventSink, FRAME_QUEUE};
use crate::serving::{ApiServer, BoundApi};
use anyhow::{bail, Context};
use guildflow_api::{
    ApiContext, AuthConfig, AuthStore, PermissionDirectory, PipelineMetrics, Readiness,
};
use guildflow_dataflow::runtime::{Cluster, Dataflow, DataflowConfig};
use guildflow_dataflow::state::StatsState;
use guildflow_model::{Metric, Period};
use guildflow_shards::capture::{CaptureReader, CaptureWriter};
use guildflow_shards::decode::DecodeCounters;
use guildflow_shards::gateway::{GatewayConfig, IdentifyQueue, ResumePoint, ShardSet};
use guildflow_shards::ingest::Ingest;
use guildflow_shards::registry::ShardRegistry;
use guildflow_shards::simulator::{FeedConfig, SimulatorConfig, SimulatorHandle};
use guildflow_shards::workload::{write_capture, WorkloadConfig};
use guildflow_shards::RawFrame;
use guildflow_store::durable::DurableStore;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => run_live(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Replay(args) => replay(args).await,
        Command::Record(args) => record(args).await,
        Command::Generate(args) => generate(args),
        Command::Simulate(args) => simulate(args).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Erase(args) => erase(args).await,
        Command::Token(args) => crate::tokens::run(args),
    }
}

fn parse_shard_ids(
    spec: Option<&str>,
    total: u32,
) -> anyhow::Result<std::ops::RangeInclusive<u32>> {
    if total == 0 {
        bail!("--shards must be at least 1");
    }
    let Some(spec) = spec else {
        return Ok(0..=total - 1);
    };
    let range = parse_range(spec)?;
    if range.is_empty() || *range.end() >= total {
        bail!("--shard-ids {spec} must lie within 0-{}", total - 1);
    }
    Ok(range)
}

/// `A-B` or `A`, as shard ids.
fn parse_range(spec: &str) -> anyhow::Result<std::ops::RangeInclusive<u32>> {
    let (a, b) = spec.split_once('-').unwrap_or((spec, spec));
    let bound = |s: &str| -> anyhow::Result<u32> {
        s.trim()
            .parse()
            .with_context(|| format!("bad --shard-ids {spec:?}"))
    };
    Ok(bound(a)?..=bound(b)?)
}

fn gateway_config(args: &ShardArgs, queue: IdentifyQueue) -> anyhow::Result<GatewayConfig> {
    Ok(GatewayConfig {
        token: args.token.clone(),
        total_shards: args.shards,
        shard_ids: parse_shard_ids(args.shard_ids.as_deref(), args.shards)?,
        intents: GatewayConfig::default_intents(),
        gateway_url: args.gateway_url.clone(),
        queue,
        overflow_capacity: 16_384,
        resume: HashMap::new(),
    })
}

fn discord_queue(args: &ShardArgs) -> IdentifyQueue {
    IdentifyQueue::discord(
        args.max_concurrency,
        args.session_budget,
        args.session_budget.max(1000),
        Duration::from_secs(24 * 3600),
    )
}

/// Live shards into the pipeline until Ctrl-C, a duration, or every shard ending.
async fn live(
    mut config: GatewayConfig,
    dataflow: Dataflow,
    record: Option<CaptureWriter<Box<dyn Write + Send>>>,
    duration: Option<u64>,
    mut store: Option<DurableStore>,
    services: LiveServices,
) -> anyhow::Result<StatsState> {
    let LiveServices {
        listen,
        login,
        admin,
    } = services;
    if let Some(store) = &store {
        // Each shard resumes its stored session; the gateway replays what was not stored.
        for (shard, p) in &store.progress().shards {
            tracing::info!(shard, session = %p.session_id, seq = p.sequence, "resuming from stored progress");
            config.resume.insert(
                *shard,
                ResumePoint {
                    session_id: p.session_id.clone(),
                    sequence: p.sequence,
                    resume_url: p.resume_url.clone(),
                },
            );
        }
    }
    let state = dataflow.state();
    let directory = PermissionDirectory::new();
    let mut sink = DataflowSink::new(dataflow).with_directory(directory.clone());
    let registry = ShardRegistry::new();
    let counters = Arc::new(DecodeCounters::default());
    // Settings and rules first, so the rebuild already follows them.
    let plane = match &admin {
        Some(setup) => Some(open_admin(
            &setup.data,
            setup.postgres.as_deref(),
            &sink.shared(),
        )?),
        None => None,
    };
    if let Some(store) = store.as_mut() {
        // The views are rebuilt from every stored frame before the shards resume after them.
        rebuild(store, &mut sink)?;
    }
    // Actions of the rebuilt history are stale: the executor acts on live traffic only.
    let executor = match (&admin, &plane) {
        (Some(setup), Some(plane)) => Some(start_executor(
            plane,
            &state,
            &setup.token,
            &setup.rest_url,
        )?),
        _ => None,
    };
    let metrics = PipelineMetrics::new();
    let api = match listen {
        Some(listen) => {
            let bound = BoundApi::bind(listen).await?;
            let mut ctx = api_context(state.clone(), store.as_ref())?
                .with_directory(directory.clone())
                .with_registry(registry.clone())
                .with_decode_counters(Arc::clone(&counters))
                .with_metrics(metrics.clone());
            if let Some(plane) = &plane {
                ctx = ctx.with_admin(plane.clone());
            }
            match login {
                Some(login) => {
                    let auth = login.config(bound.addr, directory.clone())?;
                    ctx = ctx.with_auth(auth);
                }
                None => tracing::warn!(
                    "the API has no login configured (--discord-client-id): anyone who reaches {} reads every guild",
                    bound.addr
                ),
            }
            let server = bound.serve(ctx);
            eprintln!("API and dashboard at http://{}/", server.addr);
            Some(server)
        }
        None => None,
    };
    let (tx, rx) = mpsc::channel(FRAME_QUEUE);
    let shards = ShardSet::start(config, registry.clone(), tx)?;
    // The admin plane's erase route is served by the pipeline, which owns the store.
    let erasures = match (&plane, &store) {
        (Some(plane), Some(_)) => {
            let (tx, requests) = mpsc::channel(16);
            plane.set_eraser(tx);
            Some(pipeline::Erasures {
                requests,
                postgres: admin.as_ref().and_then(|a| a.postgres.clone()),
            })
        }
        _ => None,
    };
    let drain = tokio::spawn(pipeline::drain_live(
        rx,
        Ingest::new(Arc::clone(&counters)),
        sink,
        record,
        store,
        metrics,
        erasures,
    ));
    let report = tokio::spawn(console::report(
        Arc::clone(&counters),
        Some(registry.clone()),
        Some(state.clone()),
        Duration::from_secs(1),
    ));
    let stop = async {
        match duration {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(stop);
    let exits = tokio::select! {
        _ = &mut stop => shards.stop().await,
        () = wait_all(&registry) => shards.join().await,
    };
    report.abort();
    let (sink, store) = drain.await??;
    if let Some(api) = api {
        api.stop().await?;
    }
    if let Some(store) = store {
        if let Some(status) = store.close(Duration::from_secs(5)).await? {
            tracing::info!(?status, "PostgreSQL sink stopped");
        }
    }
    for (id, exit) in exits {
        tracing::info!(shard = id, ?exit, "shard ended");
    }
    if let Some(plane) = &plane {
        plane.detach();
    }
    drop(executor);
    let dataflow = sink.into_inner()?;
    let duplicates = dataflow.duplicates();
    let state = tokio::task::spawn_blocking(move || dataflow.finish()).await??;
    eprintln!(
        "processed {} events, {} decode errors, {} duplicate frames dropped",
        counters.events_total(),
        counters.errors_total(),
        duplicates
    );
    print_top(&state);
    Ok(state)
}

/// Starts the dataflow as the arguments say (threads, or a cluster process).
fn start_dataflow(args: &DataflowArgs) -> anyhow::Result<Dataflow> {
    let cluster = match (&args.process, &args.hostfile) {
        (Some(process), Some(hostfile)) => {
            let text = std::fs::read_to_string(hostfile)
                .with_context(|| format!("cannot read hostfile {}", hostfile.display()))?;
            let addresses: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            Some(Cluster {
                process: *process,
                addresses,
            })
        }
        _ => None,
    };
    Ok(Dataflow::start(DataflowConfig {
        workers: args.workers.max(1),
        cluster,
        ..DataflowConfig::default()
    })?)
}

/// The score leaderboard (all time) of the busiest guild.
fn print_top(state: &StatsState) {
    let published = state.read();
    let busiest = published.guilds().into_iter().max_by_key(|g| {
        published
            .leaderboard(*g, Metric::Score, Period::All, 0, 1)
            .total
    });
    eprintln!(
        "{} guilds, {} members with state",
        published.guilds().len(),
        published.member_count_tracked()
    );
    let Some(guild) = busiest else { return };
    let page = published.leaderboard(guild, Metric::Score, Period::All, 0, 5);
    eprintln!(
        "top score (all time) of guild {guild}, {} members ranked, watermark {:?}:",
        page.total, page.watermark
    );
    for entry in page.entries {
        eprintln!("  #{} {} {}", entry.rank, entry.user_id, entry.value);
    }
}

/// Resolves when every shard has ended by itself (fatal closes).
async fn wait_all(registry: &ShardRegistry) {
    use guildflow_shards::registry::ShardPhase;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let shards = registry.snapshot();
        if !shards.is_empty() && shards.iter().all(|s| s.phase == ShardPhase::Fatal) {
            return;
        }
    }
}

/// What a live command serves besides the pipeline.
#[derive(Default)]
struct LiveServices {
    /// API address.
    listen: Option<std::net::SocketAddr>,
    /// Login (authentication on).
    login: Option<LoginSetup>,
    /// Admin plane and automod actions.
    admin: Option<AdminSetup>,
}

/// The admin plane of a live command: its journal's data directory, and the bot token and
/// REST base its actions use.
pub struct AdminSetup {
    data: std::path::PathBuf,
    /// The PostgreSQL database of `--postgres`: the admin plane is stored there.
    postgres: Option<String>,
    token: String,
    rest_url: String,
}

/// Where users log in: Discord's OAuth2 (run) or the simulator's (demo).
pub struct LoginSetup {
    client_id: String,
    client_secret: String,
    /// Authorize URL and API base; None for Discord's own.
    endpoints: Option<(String, String)>,
    /// The public base URL of the API (the redirect); None for the bound address.
    public_url: Option<String>,
    /// Print an API token for this (user, guild), for scripts (demo).
    demo_token: Option<(u64, u64)>,
    /// Data directory whose `auth/` keeps sessions and API tokens (`guildflow token`).
    data: std::path::PathBuf,
}

impl LoginSetup {
    fn config(
        self,
        addr: std::net::SocketAddr,
        directory: PermissionDirectory,
    ) -> anyhow::Result<AuthConfig> {
        let base = self
            .public_url
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_owned();
        let redirect = format!("{base}/auth/callback");
        let auth = match &self.endpoints {
            Some((authorize, api)) => AuthConfig::with_endpoints(
                &self.client_id,
                &self.client_secret,
                &redirect,
                authorize,
                api,
            ),
            None => AuthConfig::discord(&self.client_id, &self.client_secret, &redirect),
        }
        .with_directory(directory)
        .with_store(AuthStore::open(&self.data).with_context(|| {
            format!(
                "cannot open the sessions and API tokens of {}",
                self.data.display()
            )
        })?);
        eprintln!("log in at {base}/auth/login");
        if let Some((user, guild)) = self.demo_token {
            let token = auth.store.create_token(user, vec![guild], "demo")?;
            eprintln!(
                "API token of guild {guild}'s owner (user {user}): curl -H 'Authorization: Bearer {token}' {base}/api/guilds/{guild}/leaderboard"
            );
        }
        Ok(auth)
    }
}

/// The API's view of this process: the views, and the stored events for SQL when there is a
/// store.
fn api_context(state: StatsState, store: Option<&DurableStore>) -> anyhow::Result<ApiContext> {
    let mut ctx = ApiContext::new(state);
    if let Some(store) = store {
        let sql = guildflow_queries::GuildSql::new(
            store.reader(),
            guildflow_queries::SqlLimits::default(),
        )?;
        ctx = ctx.with_sql(sql);
    }
    Ok(ctx)
}

/// Restores the latest snapshot and feeds every event stored after it to `sink` (every
/// stored event without one): the views restart where they stopped.
fn rebuild(store: &mut DurableStore, sink: &mut DataflowSink) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut restored_in = None;
    let report = tokio::task::block_in_place(|| {
        // The store calls `restore` once, before any `deliver`.
        let shared = std::cell::RefCell::new(&mut *sink);
        store.rebuild(
            |payload| {
                let at = Instant::now();
                let restored = shared.borrow_mut().restore(payload);
                restored_in = Some(at.elapsed());
                restored
            },
            |event| shared.borrow_mut().accept(event),
        )
    })?;
    sink.flush();
    if let (Some(next_lsn), Some(took)) = (report.snapshot, restored_in) {
        eprintln!(
            "restored the views from the snapshot of the first {next_lsn} log records in {:.2}s",
            took.as_secs_f64()
        );
    }
    if report.parquet_rows + report.log_records > 0 || report.snapshot.is_some() {
        eprintln!(
            "rebuilt the views from {} stored rows and {} log records in {:.2}s",
            report.parquet_rows,
            report.log_records,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

async fn erase(args: EraseArgs) -> anyhow::Result<()> {
    // The store first: a PostgreSQL sink catching up from the log could otherwise bring the
    // rows back.
    let data = args.data.clone();
    let report = tokio::task::spawn_blocking(move || {
        guildflow_store::erase::erase_member(&data, args.guild, args.user)
    })
    .await??;
    eprintln!(
        "erased member {} of guild {} from {}: {} Parquet rows ({} files rewritten), {} log records",
        args.user,
        args.guild,
        args.data.display(),
        report.parquet_rows,
        report.files_rewritten,
        report.log_records
    );
    if let Some(url) = &args.postgres {
        let erased =
            guildflow_store::erase::erase_member_postgres(url, args.guild, args.user).await?;
        eprintln!("erased {} PostgreSQL rows ({erased:?})", erased.total());
    }
    eprintln!("their aggregates are gone once guildflow restarts on this directory");
    Ok(())
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let report = guildflow_store::postgres::migrate_url(&args.postgres).await?;
    eprintln!("{report:?}");
    Ok(())
}

async fn run_live(args: RunArgs) -> anyhow::Result<()> {
    let queue = discord_queue(&args.shards);
    let config = gateway_config(&args.shards, queue)?;
    let dataflow = start_dataflow(&args.dataflow)?;
    let store = open_store(&args.data, &args.store).await?;
    let login = match (&args.discord_client_id, &args.discord_client_secret) {
        (Some(id), Some(secret)) => Some(LoginSetup {
            client_id: id.clone(),
            client_secret: secret.clone(),
            endpoints: None,
            public_url: args.public_url.clone(),
            demo_token: None,
            data: args.data.clone(),
        }),
        (None, None) => None,
        _ => bail!("--discord-client-id and --discord-client-secret go together"),
    };
    let state = live(
        config,
        dataflow,
        None,
        args.duration,
        Some(store),
        LiveServices {
            listen: Some(args.listen),
            login,
            admin: Some(AdminSetup {
                data: args.data.clone(),
                postgres: args.store.postgres.clone(),
                token: args.shards.token.clone(),
                rest_url: args.shards.rest_url.clone(),
            }),
        },
    )
    .await?;
    if let Some(path) = &args.dump {
        std::fs::write(path, dump(&state)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn record(args: RecordArgs) -> anyhow::Result<()> {
    let file =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let writer: Box<dyn Write + Send> = Box::new(BufWriter::with_capacity(1 << 20, file));
    let queue = discord_queue(&args.shards);
    let config = gateway_config(&args.shards, queue)?;
    let dataflow = start_dataflow(&DataflowArgs {
        workers: 1,
        process: None,
        hostfile: None,
    })?;
    live(
        config,
        dataflow,
        Some(CaptureWriter::new(writer)),
        args.duration,
        None,
        LiveServices::default(),
    )
    .await?;
    eprintln!("capture written to {}", args.out.display());
    Ok(())
}

fn workload(seed: u64, guilds: u32, shards: u32, rate: f64) -> WorkloadConfig {
    WorkloadConfig {
        seed,
        guilds,
        total_shards: shards,
        event_rate: rate,
        ..WorkloadConfig::default()
    }
}

async fn start_simulator(
    listen: std::net::SocketAddr,
    token: &str,
    shards: u32,
    workload: WorkloadConfig,
    rate: Option<f64>,
) -> anyhow::Result<SimulatorHandle> {
    let mut config = SimulatorConfig::local(shards);
    config.listen = listen;
    config.token = token.to_owned();
    config.heartbeat_interval = Duration::from_millis(41_250);
    config.feed = Some(FeedConfig {
        workload,
        rate,
        limit_per_shard: None,
    });
    Ok(SimulatorHandle::start(config).await?)
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let token = "demo-token";
    let sim = start_simulator(
        "127.0.0.1:0".parse()?,
        token,
        args.shards,
        workload(args.seed, args.guilds, args.shards, args.rate.max(1.0)),
        Some(args.rate),
    )
    .await?;
    eprintln!(
        "guildflow demo: simulated Discord gateway at {} ({} shards, {} guilds, {} events/s offered)",
        sim.url(),
        args.shards,
        args.guilds,
        args.rate
    );
    eprintln!("shards connect with the real twilight client; counters below every second (Ctrl-C to stop)");
    prepare_demo_dir(&args.data)?;
    crate::tokens::clear_demo_auth(&args.data)?;
    let store = open_store(
        &args.data,
        &crate::cli::StoreArgs {
            postgres: None,
            migrate: false,
            retention_days: 30,
            snapshot_every: 300,
        },
    )
    .await?;
    eprintln!("raw events stored under {}", args.data.display());
    let config = GatewayConfig {
        token: token.into(),
        total_shards: args.shards,
        shard_ids: 0..=args.shards.saturating_sub(1),
        intents: GatewayConfig::default_intents(),
        gateway_url: Some(sim.url()),
        queue: IdentifyQueue::Immediate,
        overflow_capacity: 16_384,
        resume: HashMap::new(),
    };
    let dataflow = start_dataflow(&args.dataflow)?;
    // Logins go to the simulator's OAuth2, as the owner of a guild (its default user).
    let (client_id, client_secret) = sim.oauth_client();
    let guild = sim.guilds_with_roles_mix().into_iter().next();
    let login = LoginSetup {
        client_id,
        client_secret,
        endpoints: Some((sim.oauth_authorize_url(), sim.api_base())),
        public_url: None,
        demo_token: guild.and_then(|g| sim.owner_of(g).map(|owner| (owner, g))),
        data: args.data.clone(),
    };
    let result = live(
        config,
        dataflow,
        None,
        args.duration,
        Some(store),
        LiveServices {
            listen: Some(args.listen),
            login: Some(login),
            admin: Some(AdminSetup {
                data: args.data.clone(),
                postgres: None,
                token: token.to_owned(),
                rest_url: sim.api_base(),
            }),
        },
    )
    .await;
    sim.shutdown();
    result.map(|_| ())
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let rate = (args.rate > 0.0).then_some(args.rate);
    let sim = start_simulator(
        args.listen,
        &args.token,
        args.shards,
        workload(args.seed, args.guilds, args.shards, args.rate.max(1.0)),
        rate,
    )
    .await?;
    eprintln!(
        "Discord simulator listening at {} (token {:?}, {} shards): guildflow run --gateway-url {} --token {} --shards {}",
        sim.url(), args.token, args.shards, sim.url(), args.token, args.shards
    );
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown();
    Ok(())
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let file =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let started = Instant::now();
    let cfg = workload(args.seed, args.guilds, args.shards, args.rate);
    let lines = write_capture(&cfg, args.events, &mut out)?;
    out.flush()?;
    eprintln!(
        "wrote {lines} lines to {} in {:.1}s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let paced = match args.speed.as_str() {
        "max" => false,
        "1x" => true,
        other => bail!("--speed must be `max` or `1x`, not {other:?}"),
    };
    let data = args
        .data
        .clone()
        .or_else(|| args.serve.then(|| std::path::PathBuf::from("./data")));
    let (input, size): (Box<dyn Read + Send>, Option<u64>) = if args.file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let shards = args.shard_ids.as_deref().map(parse_range).transpose()?;
    let counters = Arc::new(DecodeCounters::default());
    let ingest = Ingest::new(Arc::clone(&counters));
    let dataflow = start_dataflow(&args.dataflow)?;
    let state = dataflow.state();
    // Names of members and channels for the API (`/names`), when it serves.
    let directory = PermissionDirectory::new();
    let mut inner = if args.serve {
        DataflowSink::new(dataflow).with_directory(directory.clone())
    } else {
        DataflowSink::new(dataflow)
    };
    let store = match &data {
        Some(dir) => {
            let mut store = open_store(dir, &args.store).await?;
            // What the directory holds first; frames of the capture it already holds are then
            // recognised and counted once.
            rebuild(&mut store, &mut inner)?;
            Some(store)
        }
        None => None,
    };
    let readiness = Readiness::pending();
    let api = if args.serve {
        let ctx = api_context(state.clone(), store.as_ref())?
            .with_decode_counters(Arc::clone(&counters))
            .with_readiness(readiness.clone())
            .with_directory(directory.clone());
        let server = ApiServer::start(args.listen, ctx).await?;
        eprintln!(
            "API at http://{}/ (/health answers 503 until the file is processed)",
            server.addr
        );
        Some(server)
    } else {
        None
    };
    let sink = ReplaySink {
        shards,
        store,
        pending: Vec::new(),
        inner,
    };
    let (summary, sink) =
        tokio::task::spawn_blocking(move || replay_blocking(input, size, paced, ingest, sink))
            .await??;
    if let Some(store) = sink.store {
        let repeats = store.repeats();
        if let Some(status) = store.close(Duration::from_secs(30)).await? {
            eprintln!("PostgreSQL sink: {status:?}");
        }
        eprintln!("{repeats} frames were already stored and skipped");
    }
    let dataflow = sink.inner.into_inner()?;
    let duplicates = dataflow.duplicates();
    let started = Instant::now();
    let state = tokio::task::spawn_blocking(move || dataflow.finish()).await??;
    eprintln!(
        "{summary}; {duplicates} duplicate frames dropped; dataflow drained in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    print_top(&state);
    if let Some(path) = &args.dump {
        std::fs::write(path, dump(&state)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("leaderboards written to {}", path.display());
    }
    if let Some(api) = api {
        readiness.mark_ready();
        eprintln!("replay done; serving until Ctrl-C");
        let _ = tokio::signal::ctrl_c().await;
        api.stop().await?;
    }
    Ok(())
}

/// Where replayed frames go: only those of some shards (a cluster process replays its own),
/// into the store when there is one (which drops frames it already holds), then the dataflow.
struct ReplaySink {
    shards: Option<std::ops::RangeInclusive<u32>>,
    store: Option<DurableStore>,
    pending: Vec<(RawFrame, Option<guildflow_model::Event>)>,
    inner: DataflowSink,
}

impl ReplaySink {
    fn accept(
        &mut self,
        frame: RawFrame,
        event: Option<guildflow_model::Event>,
    ) -> anyhow::Result<()> {
        if !self
            .shards
            .as_ref()
            .is_none_or(|r| r.contains(&frame.shard))
        {
            return Ok(());
        }
        if self.store.is_some() {
            self.pending.push((frame, event));
            if self.pending.len() >= pipeline::REPLAY_BATCH {
                self.flush()?;
            }
        } else if let Some(event) = event {
            self.inner.accept(event);
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if let Some(store) = self.store.as_mut() {
            for event in store.admit(std::mem::take(&mut self.pending))? {
                self.inner.accept(event);
            }
            store.checkpoint(false)?;
        }
        self.inner.flush();
        if let Some(store) = self.store.as_mut() {
            pipeline::save_snapshot(store, &mut self.inner, false);
        }
        Ok(())
    }

    /// After the last frame: everything to Parquet, and a snapshot, so the next start replays
    /// nothing of this capture.
    fn finish(&mut self) -> anyhow::Result<()> {
        self.flush()?;
        if let Some(store) = self.store.as_mut() {
            store.flush()?;
            pipeline::save_snapshot(store, &mut self.inner, true);
        }
        Ok(())
    }
}

/// Every leaderboard as JSON: `{guild: {"metric/period": [[user, value], ...]}}`, sorted.
fn dump(state: &StatsState) -> anyhow::Result<String> {
    let published = state.read();
    let mut out = std::collections::BTreeMap::new();
    for guild in published.guilds() {
        let mut boards = std::collections::BTreeMap::new();
        for metric in Metric::ALL {
            for period in Period::ALL {
                let page = published.leaderboard(guild, metric, period, 0, usize::MAX);
                if page.total > 0 {
                    let entries: Vec<(String, i64)> = page
                        .entries
                        .into_iter()
                        .map(|e| (e.user_id.to_string(), e.value))
                        .collect();
                    boards.insert(format!("{metric}/{period}"), entries);
                }
            }
        }
        out.insert(guild.to_string(), boards);
    }
    Ok(serde_json::to_string_pretty(&out)?)
}

/// Reads the capture on a blocking thread (file I/O and decoding are CPU work).
fn replay_blocking(
    input: Box<dyn Read + Send>,
    size: Option<u64>,
    paced: bool,
    ingest: Ingest,
    mut sink: ReplaySink,
) -> anyhow::Result<(String, ReplaySink)> {
    let mut reader = CaptureReader::new(BufReader::with_capacity(1 << 20, input));
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut last_report = Instant::now();
    let mut first_at: Option<i64> = None;
    let mut frames = 0u64;
    while let Some(item) = reader.next_item()? {
        if paced {
            if let guildflow_shards::capture::CaptureItem::Frame { frame, .. } = &item {
                let first = *first_at.get_or_insert(frame.at);
                let due = Duration::from_millis(u64::try_from(frame.at - first).unwrap_or(0));
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        }
        frames += 1;
        match item {
            guildflow_shards::capture::CaptureItem::Frame { line, frame } => {
                let event = ingest.frame(&frame, Some(line));
                sink.accept(frame, event)?;
            }
            bad => {
                ingest.capture_item(bad);
            }
        }
        if frames.is_multiple_of(4096) && last_report.elapsed() >= Duration::from_millis(500) {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            let pct = size.map_or(String::new(), |s| {
                format!(
                    " {:5.1}%",
                    100.0 * reader.bytes_read() as f64 / s.max(1) as f64
                )
            });
            let line = format!(
                "replay{pct} {frames} lines, {:.0} events/s, {:.1} MB/s",
                frames as f64 / secs,
                reader.bytes_read() as f64 / secs / 1e6
            );
            if tty {
                eprint!("\r{line}   ");
            } else {
                eprintln!("{line}");
            }
        }
    }
    sink.finish()?;
    if tty {
        eprintln!();
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let counters = ingest.counters();
    let summary = format!(
        "replayed {frames} lines in {secs:.2}s: {:.0} lines/s, {:.1} MB/s; {} events, {} ignored, {} decode errors",
        frames as f64 / secs,
        reader.bytes_read() as f64 / secs / 1e6,
        counters.events_total(),
        counters.ignored(),
        counters.errors_total()
    );
    Ok((summary, sink))
}
