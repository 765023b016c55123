//! Starting the dataflow and feeding it.
//!
//! Worker threads (or processes over TCP, timely's cluster mode) each run the graph of
//! [`crate::graph`]; this process's feeder de-duplicates frames, hands batches round-robin to
//! its local workers (the graph exchanges them by guild), and advances every local input to
//! the batch's event time so the frontier tracks the watermark. An applier thread turns the
//! workers' output into the published [`StatsState`].

use crate::checkpoint::{self, CheckpointError, CheckpointRef, FeederPart, CHECKPOINT_VERSION};
use crate::engine::dedup::FrameDedup;
use crate::engine::EngineConfig;
use crate::graph::{self, Input};
use crate::settings::GuildSettings;
use crate::state::StatsState;
use guildflow_model::Event;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use thiserror::Error;
use timely::communication::Config as CommunicationConfig;
use timely::execute::execute;
use timely::{Config, WorkerConfig};

/// Errors of the dataflow runtime.
#[derive(Debug, Error)]
pub enum DataflowError {
    /// Timely could not start (bad cluster addresses, ports in use, ...).
    #[error("cannot start dataflow workers: {0}")]
    Start(String),
    /// A worker thread panicked.
    #[error("a dataflow worker failed: {0}")]
    Worker(String),
    /// Bad configuration.
    #[error("invalid dataflow configuration: {0}")]
    Config(String),
    /// Taking or restoring a snapshot failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// How long a snapshot may take to be cut or restored before giving up.
const CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(300);

/// Several processes of one timely cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// This process's index.
    pub process: usize,
    /// `host:port` of every process, in index order (a hostfile's lines).
    pub addresses: Vec<String>,
}

/// How to run the dataflow.
#[derive(Clone, Debug, Default)]
pub struct DataflowConfig {
    /// Worker threads in this process (at least 1).
    pub workers: usize,
    /// Cluster mode; None for a single process.
    pub cluster: Option<Cluster>,
    /// Engine tuning.
    pub engine: EngineConfig,
}

enum Command {
    /// Inputs with their dataflow times (non-decreasing), then the time to advance to.
    Batch(Vec<(u64, Input)>, u64),
    Advance(u64),
}

/// Dataflow times are event times rounded down to this many milliseconds: events of one
/// quantum travel in one message and are ordered by the engine itself.
const TIME_QUANTUM_MS: u64 = 16;

/// Merge work (in updates) differential's arrangements do each time a worker is scheduled with
/// nothing else to do, until the arrangement is one batch. `count_total` seeks every changed
/// key in every batch of its arrangement; at steady load a new small batch comes every
/// millisecond, and without idle merging the arrangement held a dozen batches, so seeks were
/// most of the worker's time. Measured at 100k events/s (profile driver, `PACED`, 15 s, three
/// alternated runs): p50 0.77–1.20 ms → 0.34–0.42 ms, p99 8.5–16.2 ms → 4.2–6.6 ms, the same
/// CPU; bulk throughput unchanged. 100–1,000 did equally; 10,000 or more did worse.
const IDLE_MERGE_EFFORT: isize = 1_000;

fn time_of(at: i64) -> u64 {
    let at = u64::try_from(at).unwrap_or(0);
    at - at % TIME_QUANTUM_MS
}

/// A running dataflow.
pub struct Dataflow {
    feeds: Vec<Sender<Command>>,
    guards: Option<timely::communication::WorkerGuards<()>>,
    applier: Option<JoinHandle<()>>,
    state: StatsState,
    dedup: FrameDedup,
    max_at: Arc<AtomicI64>,
    events: u64,
    epoch: u64,
    next: usize,
    /// Workers in the whole cluster (the watermark goes to each).
    peers: u64,
    /// Several processes: no snapshots.
    clustered: bool,
}

impl Dataflow {
    /// Starts the workers and the applier.
    pub fn start(config: DataflowConfig) -> Result<Dataflow, DataflowError> {
        let workers = config.workers.max(1);
        let communication = match &config.cluster {
            None if workers == 1 => CommunicationConfig::Thread,
            None => CommunicationConfig::Process(workers),
            Some(cluster) => {
                if cluster.process >= cluster.addresses.len() {
                    return Err(DataflowError::Config(format!(
                        "process index {} outside the {} addresses",
                        cluster.process,
                        cluster.addresses.len()
                    )));
                }
                CommunicationConfig::Cluster {
                    threads: workers,
                    process: cluster.process,
                    addresses: cluster.addresses.clone(),
                    report: false,
                    zerocopy: false,
                }
            }
        };
        let state = StatsState::new();
        let applied = state.clone();
        let (out_tx, out_rx) = channel();
        let mut feeds = Vec::with_capacity(workers);
        let mut receivers = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = channel();
            feeds.push(tx);
            receivers.push(Some(rx));
        }
        let receivers: Arc<Mutex<Vec<Option<Receiver<Command>>>>> = Arc::new(Mutex::new(receivers));
        let out_tx = Mutex::new(out_tx);
        let engine = config.engine;
        let guards = execute(
            Config {
                communication,
                worker: {
                    let mut worker = WorkerConfig::default();
                    differential_dataflow::configure(
                        &mut worker,
                        &differential_dataflow::Config::default()
                            .idle_merge_effort(Some(IDLE_MERGE_EFFORT)),
                    );
                    worker
                },
            },
            move |worker| {
                let local = worker.index() % workers;
                let commands = receivers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_mut(local)
                    .and_then(Option::take);
                let output = out_tx
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let (mut input, probe) = graph::build(worker, engine, output, applied.clone());
                if let Some(commands) = commands {
                    'feed: loop {
                        loop {
                            match commands.try_recv() {
                                Ok(Command::Batch(items, to)) => {
                                    for (time, item) in items {
                                        if time > *input.time() {
                                            input.advance_to(time);
                                        }
                                        input.send(item);
                                    }
                                    if to > *input.time() {
                                        input.advance_to(to);
                                    }
                                }
                                Ok(Command::Advance(to)) => {
                                    if to > *input.time() {
                                        input.advance_to(to);
                                    }
                                }
                                Err(TryRecvError::Empty) => break,
                                Err(TryRecvError::Disconnected) => break 'feed,
                            }
                        }
                        worker.step_or_park(Some(Duration::from_millis(1)));
                    }
                }
                drop(input);
                while !probe.done() {
                    worker.step_or_park(Some(Duration::from_millis(1)));
                }
                while worker.step_or_park(Some(Duration::from_millis(1))) {}
            },
        )
        .map_err(DataflowError::Start)?;
        let max_at = Arc::new(AtomicI64::new(i64::MIN));
        let applier_state = state.clone();
        let applier_max = Arc::clone(&max_at);
        let applier = std::thread::Builder::new()
            .name("guildflow-applier".into())
            .spawn(move || {
                applier_state
                    .run_applier(out_rx, workers, move || applier_max.load(Ordering::Acquire));
            })
            .map_err(|e| DataflowError::Start(e.to_string()))?;
        Ok(Dataflow {
            feeds,
            guards: Some(guards),
            applier: Some(applier),
            state,
            dedup: FrameDedup::default(),
            max_at,
            events: 0,
            epoch: 0,
            next: 0,
            peers: (workers * config.cluster.as_ref().map_or(1, |c| c.addresses.len())) as u64,
            clustered: config.cluster.is_some(),
        })
    }

    /// The published state.
    pub fn state(&self) -> StatsState {
        self.state.clone()
    }

    /// Events admitted (after de-duplication).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Frames dropped as (shard, session, seq) repeats.
    pub fn duplicates(&self) -> u64 {
        self.dedup.dropped()
    }

    /// Feeds a batch of events.
    pub fn push(&mut self, events: Vec<Event>) {
        let mut max_at = self.max_at.load(Ordering::Acquire);
        let peers = self.peers.max(1);
        let mut admitted = Vec::with_capacity(events.len());
        for event in events {
            if !self.dedup.admit(&event) {
                continue;
            }
            max_at = max_at.max(event.at);
            // Late events (before the frontier) are processed at the frontier.
            let time = time_of(event.at).max(self.epoch);
            let route = graph::route_of(event.body.guild().map_or(0, |g| g.get())) % peers;
            admitted.push((time, route, event));
        }
        self.events += admitted.len() as u64;
        // Stable: arrival order is kept within a group.
        admitted.sort_by_key(|(time, route, _)| (*time, *route));
        let mut items: Vec<(u64, Input)> = Vec::new();
        for (time, route, event) in admitted {
            match items.last_mut() {
                Some((t, Input::Events { route: r, events })) if *t == time && *r == route => {
                    events.push(event);
                }
                _ => items.push((
                    time,
                    Input::Events {
                        route,
                        events: vec![event],
                    },
                )),
            }
        }
        if let Some(&(time, _)) = items.last() {
            for route in 0..self.peers {
                items.push((time, Input::Watermark { at: max_at, route }));
            }
        }
        // Everything up to the batch's last quantum is in, and every time used by this batch
        // (late events go at the current epoch) is closed: the frontier moves past both, so
        // nothing waits for a later batch to become visible.
        let last_used = items.last().map_or(0, |(time, _)| time + 1);
        let to = self
            .epoch
            .max(time_of(max_at) + TIME_QUANTUM_MS)
            .max(last_used);
        self.max_at.store(max_at, Ordering::Release);
        self.send(items, to);
    }

    /// Applies new settings to a guild, in order with the events.
    pub fn configure(&mut self, guild: u64, settings: GuildSettings) {
        self.state.set_settings(guild, settings.clone());
        let to = self.epoch;
        self.send(vec![(to, Input::Settings { guild, settings })], to);
    }

    /// Applies new automod rules to a guild, in order with the events.
    pub fn configure_automod(
        &mut self,
        guild: u64,
        config: crate::automod::AutomodConfig,
    ) -> Result<(), crate::automod::AutomodError> {
        config.compile()?;
        let to = self.epoch;
        self.send(vec![(to, Input::Automod { guild, config })], to);
        Ok(())
    }

    /// Feeds a manual warning of `user` (admin API) at `at`, for warning escalation: the
    /// actions it causes come out as automod actions.
    pub fn warn(&mut self, guild: u64, user: u64, channel: u64, at: i64) {
        let to = self.epoch.max(time_of(at));
        self.send(
            vec![(
                to,
                Input::Warning {
                    guild,
                    user,
                    channel,
                    at,
                },
            )],
            to,
        );
    }

    /// Moves the frontier to `at` without events (idle inputs), so reads progress.
    pub fn advance_to(&mut self, at: i64) {
        let to = time_of(at);
        if to > self.epoch {
            self.epoch = to;
            for feed in &self.feeds {
                let _ = feed.send(Command::Advance(to));
            }
        }
    }

    /// Whether [`Dataflow::checkpoint`] can work: not in cluster mode.
    pub fn supports_snapshots(&self) -> bool {
        !self.clustered
    }

    /// Cuts a snapshot of everything fed so far (see [`crate::checkpoint`]): waits until the
    /// workers have processed every input and the read side has applied it, so call it
    /// between batches. The bytes restore with [`Dataflow::restore`].
    pub fn checkpoint(&mut self) -> Result<Vec<u8>, DataflowError> {
        if self.clustered {
            return Err(CheckpointError::Cluster.into());
        }
        let time = self.epoch;
        let _ = self.state.take_parts();
        let items = (0..self.peers)
            .map(|route| (time, Input::Checkpoint { route }))
            .collect();
        self.send(items, time + 1);
        self.wait_applied(time)?;
        let mut parts = self.state.take_parts();
        // Every worker answered before its frontier passed `time`.
        if parts.len() != self.feeds.len() {
            return Err(CheckpointError::Incomplete {
                answered: parts.len(),
                workers: self.feeds.len(),
            }
            .into());
        }
        let mut guilds: Vec<_> = parts.iter_mut().flat_map(|p| p.guilds.drain(..)).collect();
        let published = self.state.read();
        let max_at = self.max_at.load(Ordering::Acquire);
        checkpoint::add_lasting_keys(&mut guilds, &published, max_at);
        let bytes = checkpoint::encode(&CheckpointRef {
            feeder: FeederPart {
                version: CHECKPOINT_VERSION,
                time,
                epoch: self.epoch,
                max_at,
                events: self.events,
                dedup: &self.dedup,
            },
            guilds: &guilds,
            published: &published,
        })?;
        Ok(bytes)
    }

    /// Restores a snapshot of [`Dataflow::checkpoint`] into this dataflow, which must not have
    /// been fed events yet (settings and rules may be configured before). Returns when the
    /// restored state is published.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), DataflowError> {
        if self.clustered {
            return Err(CheckpointError::Cluster.into());
        }
        if self.events > 0 {
            return Err(CheckpointError::NotFresh.into());
        }
        let saved = checkpoint::decode(bytes)?;
        let time = saved.feeder.time.max(self.epoch);
        self.dedup = saved.feeder.dedup;
        self.events = saved.feeder.events;
        self.max_at.store(saved.feeder.max_at, Ordering::Release);
        self.state.restore(saved.published, time + 1);
        let mut items: Vec<(u64, Input)> = saved
            .guilds
            .into_iter()
            .map(|part| (time, Input::Restore(Box::new(part))))
            .collect();
        for route in 0..self.peers {
            items.push((
                time,
                Input::Watermark {
                    at: saved.feeder.max_at,
                    route,
                },
            ));
        }
        self.send(items, saved.feeder.epoch.max(time + 1));
        self.wait_applied(time)
    }

    /// Waits until the read side has applied every time up to `time`.
    fn wait_applied(&self, time: u64) -> Result<(), DataflowError> {
        let started = std::time::Instant::now();
        while self.state.complete() <= time {
            if started.elapsed() > CHECKPOINT_TIMEOUT {
                return Err(CheckpointError::Timeout(CHECKPOINT_TIMEOUT.as_secs()).into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    fn send(&mut self, items: Vec<(u64, Input)>, to: u64) {
        self.epoch = self.epoch.max(to);
        let target = self.next % self.feeds.len();
        self.next = self.next.wrapping_add(1);
        let mut items = Some(items);
        for (i, feed) in self.feeds.iter().enumerate() {
            let command = match (i == target, items.take_if(|_| i == target)) {
                (true, Some(items)) => Command::Batch(items, to),
                _ => Command::Advance(to),
            };
            let _ = feed.send(command);
        }
    }

    /// Closes the input, waits for every worker to finish and for the state to be published,
    /// and returns the state.
    pub fn finish(mut self) -> Result<StatsState, DataflowError> {
        self.feeds.clear();
        if let Some(guards) = self.guards.take() {
            for result in guards.join() {
                result.map_err(DataflowError::Worker)?;
            }
        }
        if let Some(applier) = self.applier.take() {
            applier
                .join()
                .map_err(|_| DataflowError::Worker("applier panicked".into()))?;
        }
        Ok(self.state.clone())
    }
}
