//! The live rig of the latency and websocket benches: guildflow's ingestion path as
//! `guildflow run` wires it (bounded frame queue → decode → DurableStore → dataflow, a
//! checkpoint every 100 ms) with the real warp API served over TCP, and websocket subscribers
//! that are real tokio-tungstenite clients.
//!
//! Latency is measured with probes: every `PROBE_EVERY` the feeder slips a MESSAGE_CREATE of
//! one probe member into the offered load, in a guild of its own (so the member is first on
//! its board from the first probe and each probe changes the subscribed top list). A
//! subscriber's latency for probe k is the time from the probe's arrival in the queue to the
//! first leaderboard frame showing the probe member at ≥ k messages: decode, store, dataflow,
//! publication, the room's 50 ms coalescing and the socket are all inside it.

use crate::corpus::{decode, is_session_start, SHARDS};
use crate::report::micros_histogram;
use futures_util::{SinkExt, StreamExt};
use guildflow_api::{ApiConfig, ApiContext};
use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_dataflow::state::StatsState;
use guildflow_shards::workload::DISCORD_EPOCH_MS;
use guildflow_shards::RawFrame;
use guildflow_store::durable::{DurableStore, FlushPolicy, StoreConfig};
use guildflow_store::parquet::ParquetConfig;
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

/// A guild no generated world has: the probe member's board moves only with probes.
pub const PROBE_GUILD: u64 = 1_100_000_000_000_000_001;
const PROBE_USER: u64 = 1_100_000_000_000_000_002;
const PROBE_CHANNEL: u64 = 1_100_000_000_000_000_003;
/// The probes' own shard id, so their sequence numbers never collide with the mix's.
const PROBE_SHARD: u32 = 999;
const PROBE_EVERY: Duration = Duration::from_millis(5);

/// Frames the queue between feeder and pipeline holds, as `guildflow run`'s (65 536).
const QUEUE_FRAMES: usize = 65_536;
/// Frames the pipeline takes from the queue at once, as `drain_live`.
const DRAIN: usize = 1024;
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn elapsed_us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Arrival time of every probe so far (probe k at index k - 1).
#[derive(Default)]
struct Probes {
    sent: RwLock<Vec<(Instant, i64)>>,
}

/// What one offered load measured.
pub struct LoadOutcome {
    pub offered_per_sec: u64,
    pub achieved_per_sec: f64,
    pub frames: u64,
    pub probes: u64,
    /// Arrival → leaderboard frame at a websocket subscriber (all subscribers merged).
    pub ws: Histogram<u64>,
    /// Subscribers that saw every probe by the end.
    pub complete_subscribers: usize,
    /// Leaderboard frames received (all subscribers).
    pub ws_frames: u64,
    /// Arrival → covered by a log sync (per frame).
    pub durable: Histogram<u64>,
    /// Arrival → published state's watermark covers the probe (what a REST read sees).
    pub visible: Histogram<u64>,
}

/// Runs guildflow's live path at `rate` frames/s for `duration` with `subscribers` websocket
/// clients on the probe guild's room.
pub fn run_load(
    corpus: &[RawFrame],
    rate: u64,
    duration: Duration,
    subscribers: usize,
) -> anyhow::Result<LoadOutcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = std::env::temp_dir().join(format!("guildflow-bench-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = DurableStore::open(
        &dir,
        StoreConfig {
            parquet: ParquetConfig {
                retention_days: None,
                ..ParquetConfig::default()
            },
            flush: FlushPolicy::default(),
            postgres: None,
            decode: Arc::new(decode),
            snapshot_every: None,
        },
    )?;
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })?;
    let state = dataflow.state();
    let (start, mix): (Vec<&RawFrame>, Vec<&RawFrame>) =
        corpus.iter().partition(|f| is_session_start(f));
    // The session start (READY, GUILD_CREATEs) goes in untimed, as a shard's first seconds.
    let at = now_ms();
    let first: Vec<_> = start
        .iter()
        .map(|f| {
            let f = RawFrame { at, ..(*f).clone() };
            let e = decode(&f);
            (f, e)
        })
        .collect();
    dataflow.push(store.admit(first)?);
    store.checkpoint(true)?;

    let probes = Arc::new(Probes::default());
    let (addr, stop_server, server) = runtime.block_on(serve(state.clone()))?;
    let clients = runtime.block_on(connect_all(addr, subscribers))?;
    let seen_frames = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let client_tasks: Vec<_> = clients
        .into_iter()
        .map(|c| runtime.spawn(follow(c, probes.clone(), done.clone(), seen_frames.clone())))
        .collect();
    let visible = spawn_visibility_watcher(state.clone(), probes.clone(), done.clone());

    let (tx, rx) = sync_channel::<(Instant, Vec<RawFrame>)>(QUEUE_FRAMES / 256);
    let feeder = {
        let mix: Vec<RawFrame> = mix.into_iter().cloned().collect();
        let probes = probes.clone();
        std::thread::spawn(move || feed(&mix, rate, duration, &tx, &probes))
    };
    let (durable, pipeline_error) = match pipeline(&rx, &mut store, &mut dataflow) {
        Ok(h) => (h, None),
        Err(e) => (micros_histogram()?, Some(e)),
    };
    let (frames, elapsed) = feeder
        .join()
        .map_err(|_| anyhow::anyhow!("feeder panicked"))??;
    if let Some(e) = pipeline_error {
        return Err(e);
    }
    // The last probes become visible once the watermark passes them.
    dataflow.advance_to(now_ms() + 1000);
    let total_probes = probes.sent.read().map_or(0, |s| s.len()) as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ws = micros_histogram()?;
    let mut complete = 0;
    done.store(true, Ordering::Release);
    for task in client_tasks {
        let (hist, last) = runtime.block_on(async {
            tokio::time::timeout_at(deadline.into(), task)
                .await
                .map_err(|_| anyhow::anyhow!("a subscriber did not finish"))?
                .map_err(|e| anyhow::anyhow!("subscriber task: {e}"))?
        })?;
        ws.add(&hist)?;
        if last >= total_probes {
            complete += 1;
        }
    }
    let visible = visible
        .join()
        .map_err(|_| anyhow::anyhow!("watcher panicked"))??;
    let _ = stop_server.send(());
    runtime.block_on(server)??;
    dataflow.finish()?;
    store.flush()?;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(LoadOutcome {
        offered_per_sec: rate,
        achieved_per_sec: frames as f64 / elapsed,
        frames,
        probes: total_probes,
        ws,
        complete_subscribers: complete,
        ws_frames: seen_frames.load(Ordering::Relaxed),
        durable,
        visible,
    })
}

type Server = tokio::task::JoinHandle<Result<(), guildflow_api::ApiError>>;

async fn serve(
    state: StatsState,
) -> anyhow::Result<(SocketAddr, tokio::sync::oneshot::Sender<()>, Server)> {
    let listener = guildflow_api::bind("127.0.0.1:0".parse()?).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(guildflow_api::serve_listener(
        listener,
        // The per-address limits would refuse one address opening hundreds of sockets.
        ApiContext::new(state).with_config(ApiConfig {
            client_rate: None,
            ws_connect_rate: None,
            ..ApiConfig::default()
        }),
        async move {
            let _ = stopped.await;
        },
    ));
    Ok((addr, stop, server))
}

type Client = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connects and subscribes `n` clients; each has had its first (snapshot) frame.
async fn connect_all(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let url = format!("ws://{addr}/api/guilds/{PROBE_GUILD}/live");
        let (mut client, _) = tokio_tungstenite::client_async(url, stream).await?;
        client
            .send(Message::text(
                r#"{"subscribe":{"metric":"messages","period":"day","limit":1}}"#,
            ))
            .await?;
        tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .map_err(|_| anyhow::anyhow!("no snapshot frame within 10 s"))?;
        clients.push(client);
    }
    Ok(clients)
}

/// The probe member's value in a leaderboard frame.
fn probe_value(text: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v.get("type")?.as_str()? != "leaderboard" {
        return None;
    }
    v.get("entries")?.as_array()?.iter().find_map(|e| {
        let user = e.get("user_id")?;
        let is_probe = user
            .as_str()
            .map(|s| s == PROBE_USER.to_string())
            .or_else(|| user.as_u64().map(|u| u == PROBE_USER))?;
        if is_probe {
            e.get("value")?.as_u64()
        } else {
            None
        }
    })
}

/// Reads a subscriber's frames; returns its histogram and the last probe it saw.
async fn follow(
    mut client: Client,
    probes: Arc<Probes>,
    done: Arc<AtomicBool>,
    frames: Arc<AtomicU64>,
) -> anyhow::Result<(Histogram<u64>, u64)> {
    let mut hist = micros_histogram()?;
    let mut seen = 0u64;
    let mut done_at: Option<Instant> = None;
    loop {
        let total = probes.sent.read().map_or(0, |s| s.len()) as u64;
        if done.load(Ordering::Acquire) {
            // A subscriber that misses the last probes gives up after a while; the caller
            // counts it as incomplete.
            let since = *done_at.get_or_insert_with(Instant::now);
            if seen >= total || since.elapsed() > Duration::from_secs(10) {
                break;
            }
        }
        let next = tokio::time::timeout(Duration::from_millis(200), client.next()).await;
        let message = match next {
            Err(_) => continue,
            Ok(None) => break,
            Ok(Some(m)) => m?,
        };
        let Message::Text(text) = message else {
            continue;
        };
        let Some(value) = probe_value(&text) else {
            continue;
        };
        frames.fetch_add(1, Ordering::Relaxed);
        if value > seen {
            let sent = probes
                .sent
                .read()
                .map_err(|_| anyhow::anyhow!("poisoned"))?;
            let until = value.min(sent.len() as u64);
            for k in seen..until {
                hist.saturating_record(elapsed_us(sent[k as usize].0));
            }
            seen = until;
        }
    }
    let _ = client.close(None).await;
    Ok((hist, seen))
}

/// Polls the published watermark: a probe is visible once the watermark reaches its time.
fn spawn_visibility_watcher(
    state: StatsState,
    probes: Arc<Probes>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<anyhow::Result<Histogram<u64>>> {
    std::thread::spawn(move || {
        let mut hist = micros_histogram()?;
        let mut next = 0usize;
        let mut idle_since = None;
        loop {
            let watermark = state.watermark();
            let sent = probes
                .sent
                .read()
                .map_err(|_| anyhow::anyhow!("poisoned"))?;
            while let Some(&(arrived, at)) = sent.get(next) {
                if watermark.is_some_and(|w| w >= at) {
                    hist.saturating_record(elapsed_us(arrived));
                    next += 1;
                } else {
                    break;
                }
            }
            let all = next >= sent.len();
            drop(sent);
            if done.load(Ordering::Acquire) {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if all || since.elapsed() > Duration::from_secs(15) {
                    return Ok(hist);
                }
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    })
}

/// A MESSAGE_CREATE of the probe member.
fn probe_frame(k: u64, at: i64) -> RawFrame {
    let id = (((at - DISCORD_EPOCH_MS).max(0) as u64) << 22) | (k & 0x3F_FFFF);
    RawFrame {
        shard: PROBE_SHARD,
        at,
        text: format!(
            r#"{{"op":0,"s":{k},"t":"MESSAGE_CREATE","d":{{"id":"{id}","channel_id":"{PROBE_CHANNEL}","guild_id":"{PROBE_GUILD}","author":{{"id":"{PROBE_USER}","username":"probe"}},"content":"probe {k}","mentions":[],"mention_roles":[],"attachments":[],"embeds":[]}}}}"#
        ),
    }
}

/// Offers the mix at `rate` frames/s in 1 ms batches (probes included in the count); the
/// receive time `at` is the wall clock, strictly increasing per batch. The corpus is cycled
/// with the shard ids moved on each pass, so every frame is new to the store's ledger.
/// Returns the frames offered and the seconds it took.
fn feed(
    mix: &[RawFrame],
    rate: u64,
    duration: Duration,
    tx: &std::sync::mpsc::SyncSender<(Instant, Vec<RawFrame>)>,
    probes: &Probes,
) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut sent = 0u64;
    let mut next = 0usize;
    let mut pass = 0u32;
    let mut last_at = 0i64;
    let mut next_probe = started;
    let mut probe_k = 0u64;
    while started.elapsed() < duration {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        if due <= sent {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        let n = (due - sent).min(DRAIN as u64 * 4) as usize;
        let at = now_ms().max(last_at + 1);
        last_at = at;
        let arrived = Instant::now();
        let mut batch = Vec::with_capacity(n + 1);
        if arrived >= next_probe {
            next_probe += PROBE_EVERY;
            probe_k += 1;
            probes
                .sent
                .write()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .push((arrived, at));
            batch.push(probe_frame(probe_k, at));
        }
        while batch.len() < n {
            let f = &mix[next];
            batch.push(RawFrame {
                shard: f.shard + SHARDS * (pass + 1),
                at,
                text: f.text.clone(),
            });
            next += 1;
            if next == mix.len() {
                next = 0;
                pass += 1;
            }
        }
        sent += batch.len() as u64;
        // Blocks when the queue is full: the pipeline is the bottleneck (shards would buffer
        // and then pause); the achieved rate shows it.
        tx.send((arrived, batch))?;
    }
    Ok((sent, started.elapsed().as_secs_f64()))
}

/// `drain_live`: up to `DRAIN` queued frames at a time, decoded, stored, pushed into the
/// dataflow; the log synced every 100 ms, which is when the frames become durable.
fn pipeline(
    rx: &Receiver<(Instant, Vec<RawFrame>)>,
    store: &mut DurableStore,
    dataflow: &mut Dataflow,
) -> anyhow::Result<Histogram<u64>> {
    let mut durable = micros_histogram()?;
    let mut unsynced: VecDeque<(Instant, u64)> = VecDeque::new();
    let mut last_sync = Instant::now();
    let mut open = true;
    while open || !unsynced.is_empty() {
        let mut frames = Vec::with_capacity(DRAIN);
        match rx.recv_timeout(Duration::from_millis(10)) {
            Ok((arrived, batch)) => {
                unsynced.push_back((arrived, batch.len() as u64));
                frames.extend(batch);
                while frames.len() < DRAIN {
                    match rx.try_recv() {
                        Ok((arrived, batch)) => {
                            unsynced.push_back((arrived, batch.len() as u64));
                            frames.extend(batch);
                        }
                        Err(_) => break,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        if !frames.is_empty() {
            let decoded = frames
                .into_iter()
                .map(|f| {
                    let e = decode(&f);
                    (f, e)
                })
                .collect();
            dataflow.push(store.admit(decoded)?);
        }
        if last_sync.elapsed() >= CHECKPOINT_EVERY || !open {
            store.checkpoint(true)?;
            last_sync = Instant::now();
            for (arrived, n) in unsynced.drain(..) {
                durable.saturating_record_n(elapsed_us(arrived), n);
            }
        }
    }
    Ok(durable)
}
