//! The real twilight shard against the Discord simulator, for every fault the gateway can
//! throw: op 7, op 9 (both), zombie connections, TCP drops, each close-code class, a dead
//! resume URL, resume with replay, resume from a caller-given sequence, and backpressure.
//! Every test asserts that each session's sequence numbers arrive exactly once and in order.

use guildflow_shards::gateway::{GatewayConfig, IdentifyQueue, ResumePoint, ShardExit, ShardSet};
use guildflow_shards::registry::{ShardPhase, ShardRegistry};
use guildflow_shards::simulator::{Fault, FeedConfig, SimulatorConfig, SimulatorHandle};
use guildflow_shards::workload::WorkloadConfig;
use guildflow_shards::RawFrame;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};
use twilight_model::gateway::event::GatewayEventDeserializer;

const WAIT: Duration = Duration::from_secs(20);

struct Harness {
    sim: SimulatorHandle,
    shards: Option<ShardSet>,
    registry: ShardRegistry,
    frames: mpsc::Receiver<RawFrame>,
    log: SequenceLog,
}

/// Sequences seen, per session, in arrival order (frames of several shards interleave).
#[derive(Default, Debug)]
struct SequenceLog {
    sessions: Vec<(String, Vec<u64>)>,
    shard_of_session: Vec<u32>,
    types: HashMap<String, u64>,
}

impl SequenceLog {
    fn push(&mut self, frame: &RawFrame) {
        let (op, seq, t) = GatewayEventDeserializer::from_json(&frame.text)
            .expect("frame has an opcode")
            .into_parts();
        assert_eq!(op, 0, "only dispatches are handed off");
        let seq = seq.expect("dispatch has a sequence");
        let t = t.expect("dispatch has a type").into_owned();
        if t == "READY" {
            let v: serde_json::Value = serde_json::from_str(&frame.text).expect("READY is JSON");
            let id = v["d"]["session_id"]
                .as_str()
                .expect("session_id")
                .to_owned();
            self.sessions.push((id, Vec::new()));
            self.shard_of_session.push(frame.shard);
        }
        let index = self
            .shard_of_session
            .iter()
            .rposition(|s| *s == frame.shard)
            .expect("READY comes first");
        self.sessions[index].1.push(seq);
        *self.types.entry(t).or_default() += 1;
    }

    /// Every session's sequences are exactly 1..=n, each once, in order.
    fn assert_contiguous(&self) {
        for (id, seqs) in &self.sessions {
            for (i, seq) in seqs.iter().enumerate() {
                assert_eq!(
                    *seq,
                    i as u64 + 1,
                    "session {id}: got {seq} at position {i}: {seqs:?}"
                );
            }
        }
    }

    fn last_seq(&self) -> u64 {
        self.sessions
            .last()
            .and_then(|(_, s)| s.last().copied())
            .unwrap_or(0)
    }

    fn count(&self, t: &str) -> u64 {
        self.types.get(t).copied().unwrap_or(0)
    }
}

fn feed(rate: Option<f64>, limit: Option<u64>) -> FeedConfig {
    FeedConfig {
        workload: WorkloadConfig {
            guilds: 6,
            max_members_per_guild: 50,
            ..WorkloadConfig::default()
        },
        rate,
        limit_per_shard: limit,
    }
}

fn sim_config(total: u32) -> SimulatorConfig {
    let mut config = SimulatorConfig::local(total);
    config.heartbeat_interval = Duration::from_millis(500);
    config.feed = Some(feed(Some(400.0), None));
    config
}

fn gateway_config(sim: &SimulatorHandle, total: u32) -> GatewayConfig {
    GatewayConfig {
        token: "test-token".into(),
        total_shards: total,
        shard_ids: 0..=total - 1,
        intents: GatewayConfig::default_intents(),
        gateway_url: Some(sim.url()),
        queue: IdentifyQueue::Immediate,
        overflow_capacity: 1024,
        resume: HashMap::new(),
    }
}

impl Harness {
    async fn start(sim: SimulatorConfig) -> Harness {
        let total = sim.total_shards;
        let sim = SimulatorHandle::start(sim).await.expect("simulator starts");
        let config = gateway_config(&sim, total);
        Harness::with_gateway(sim, config, 4096)
    }

    fn with_gateway(sim: SimulatorHandle, config: GatewayConfig, queue: usize) -> Harness {
        let registry = ShardRegistry::new();
        let (tx, frames) = mpsc::channel(queue);
        let shards = ShardSet::start(config, registry.clone(), tx).expect("shards start");
        Harness {
            sim,
            shards: Some(shards),
            registry,
            frames,
            log: SequenceLog::default(),
        }
    }

    /// Reads frames until `done` holds, failing after [`WAIT`].
    async fn until(&mut self, what: &str, mut done: impl FnMut(&Harness) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; log {:?}",
                self.log
                    .sessions
                    .iter()
                    .map(|(id, s)| (id, s.len()))
                    .collect::<Vec<_>>()
            );
            if let Ok(Some(frame)) =
                timeout(left.min(Duration::from_millis(100)), self.frames.recv()).await
            {
                self.log.push(&frame);
            }
        }
    }

    /// Waits for the first READY and some traffic.
    async fn streaming(&mut self, shard: u32) {
        self.until("READY and traffic", |h| h.log.last_seq() > 20)
            .await;
        let sim = self.sim.clone();
        self.until("simulator registration", move |_| sim.is_connected(shard))
            .await;
    }

    async fn more_traffic(&mut self, n: u64) {
        let target = self.log.last_seq() + n;
        self.until("more traffic", |h| h.log.last_seq() >= target)
            .await;
    }

    async fn stop(mut self) -> Vec<(u32, ShardExit)> {
        let exits = match self.shards.take() {
            Some(shards) => shards.stop().await,
            None => Vec::new(),
        };
        self.sim.shutdown();
        exits
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifies_streams_and_reports_state() {
    let mut h = Harness::start(sim_config(2)).await;
    h.until("both shards streaming", |h| {
        h.registry.active() == 2 && h.log.count("MESSAGE_CREATE") > 20
    })
    .await;
    // Heartbeats are answered and measured (interval 500 ms).
    let registry = h.registry.clone();
    h.until("heartbeat latency", move |_| {
        registry
            .snapshot()
            .iter()
            .all(|s| s.heartbeat_latency_ms.is_some())
    })
    .await;
    let snapshot = h.registry.snapshot();
    assert_eq!(snapshot.len(), 2);
    for shard in &snapshot {
        assert_eq!(shard.phase, ShardPhase::Ready);
        assert_eq!(shard.identifies, 1);
        assert!(shard.session_id.is_some());
        assert!(shard.events > 0);
    }
    let world = h.sim.world().expect("feed has a world");
    let guilds: u64 = snapshot.iter().map(|s| s.guilds).sum();
    assert_eq!(
        guilds,
        world.guild_ids().len() as u64,
        "one GUILD_CREATE per guild"
    );
    assert_eq!(h.log.count("GUILD_CREATE"), guilds);
    h.log.assert_contiguous();
    h.stop().await;
}

async fn resumes_after(fault: Fault) {
    let mut h = Harness::start(sim_config(1)).await;
    h.streaming(0).await;
    h.sim.inject(0, fault).expect("shard connected");
    let sim = h.sim.clone();
    h.until("resume", move |_| sim.counters(0).resumes == 1)
        .await;
    h.more_traffic(50).await;
    assert_eq!(
        h.sim.counters(0).identifies,
        1,
        "{fault:?} must resume, not re-identify"
    );
    assert_eq!(h.log.sessions.len(), 1);
    assert_eq!(h.log.count("RESUMED"), 1);
    h.log.assert_contiguous();
    h.stop().await;
}

async fn reidentifies_after(fault: Fault) {
    let mut h = Harness::start(sim_config(1)).await;
    h.streaming(0).await;
    h.sim.inject(0, fault).expect("shard connected");
    h.until("a second session", |h| {
        h.log.sessions.len() == 2 && h.log.last_seq() > 20
    })
    .await;
    assert_eq!(
        h.sim.counters(0).identifies,
        2,
        "{fault:?} must start a new session"
    );
    h.log.assert_contiguous();
    assert_eq!(h.registry.snapshot()[0].identifies, 2);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op7_reconnect_resumes() {
    resumes_after(Fault::Reconnect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op9_resumable_resumes() {
    resumes_after(Fault::InvalidSession { resumable: true }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op9_not_resumable_reidentifies() {
    reidentifies_after(Fault::InvalidSession { resumable: false }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zombie_connection_is_detected_and_resumed() {
    resumes_after(Fault::Zombie).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_drop_resumes_and_replays_missed_dispatches() {
    let mut h = Harness::start(sim_config(1)).await;
    h.streaming(0).await;
    let sent_before = h.sim.counters(0).dispatches_sent;
    h.sim
        .inject(0, Fault::DropTcp { unsent: 40 })
        .expect("shard connected");
    let sim = h.sim.clone();
    h.until("resume", move |_| sim.counters(0).resumes == 1)
        .await;
    // The 40 dispatches logged but never sent before the drop are replayed.
    h.until("replayed dispatches", |h| {
        h.log.last_seq() >= sent_before + 40
    })
    .await;
    h.more_traffic(20).await;
    assert_eq!(h.sim.counters(0).identifies, 1);
    h.log.assert_contiguous();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumable_close_codes_resume() {
    for code in [4000, 4001, 4002, 4003, 4005, 4008] {
        resumes_after(Fault::Close { code }).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_ending_close_codes_reidentify() {
    // 4007 (invalid seq) and 4009 (session timed out) end the session server-side: the
    // client's RESUME is refused with op 9 and it identifies anew.
    for code in [4007, 4009] {
        reidentifies_after(Fault::Close { code }).await;
    }
}

async fn assert_fatal(mut h: Harness, code: u16) {
    let registry = h.registry.clone();
    h.until("fatal close", move |_| {
        registry
            .snapshot()
            .iter()
            .all(|s| s.phase == ShardPhase::Fatal)
    })
    .await;
    let connections = h.sim.counters(0).connections;
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        h.sim.counters(0).connections,
        connections,
        "no reconnect after {code}"
    );
    let snapshot = h.registry.snapshot();
    let error = snapshot[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains(&code.to_string()),
        "last error {error:?} names {code}"
    );
    let shards = h.shards.take().expect("running");
    let exits = timeout(WAIT, shards.join())
        .await
        .expect("shard tasks end by themselves");
    assert!(
        matches!(&exits[0].1, ShardExit::Fatal(reason) if reason.contains(&code.to_string())),
        "{exits:?}"
    );
    h.sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fatal_close_codes_stop_without_reconnecting() {
    for code in [4004, 4010, 4011, 4012, 4013, 4014] {
        let mut h = Harness::start(sim_config(1)).await;
        h.streaming(0).await;
        h.sim
            .inject(0, Fault::Close { code })
            .expect("shard connected");
        assert_fatal(h, code).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_fatal_conditions_are_reported() {
    // Wrong token: 4004.
    let sim = SimulatorHandle::start(sim_config(1))
        .await
        .expect("simulator");
    let mut config = gateway_config(&sim, 1);
    config.token = "wrong".into();
    assert_fatal(Harness::with_gateway(sim, config, 64), 4004).await;
    // Privileged intent not enabled for the application: 4014.
    let mut cfg = sim_config(1);
    cfg.disallowed_intents = GatewayConfig::default_intents().bits();
    let sim = SimulatorHandle::start(cfg).await.expect("simulator");
    let config = gateway_config(&sim, 1);
    assert_fatal(Harness::with_gateway(sim, config, 64), 4014).await;
    // Shard count the gateway does not accept: 4010.
    let sim = SimulatorHandle::start(sim_config(2))
        .await
        .expect("simulator");
    let config = gateway_config(&sim, 1);
    assert_fatal(Harness::with_gateway(sim, config, 64), 4010).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_resume_url_falls_back_to_identify() {
    let mut h = Harness::start(sim_config(1)).await;
    h.streaming(0).await;
    h.sim.refuse_resume_url(true);
    h.sim
        .inject(0, Fault::DropTcp { unsent: 0 })
        .expect("shard connected");
    h.until("a new session", |h| {
        h.log.sessions.len() == 2 && h.log.last_seq() > 20
    })
    .await;
    assert_eq!(h.sim.counters(0).identifies, 2);
    assert_eq!(h.sim.counters(0).resumes, 0);
    h.log.assert_contiguous();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_a_sequence_given_by_the_caller() {
    let mut h = Harness::start(sim_config(1)).await;
    h.streaming(0).await;
    h.more_traffic(100).await;
    let session = h.log.sessions[0].0.clone();
    let seen = h.log.last_seq();
    let sim = h.sim.clone();
    let exits = h.shards.take().expect("running").stop().await;
    let ShardExit::Stopped(Some(point)) = &exits[0].1 else {
        panic!("stop yields a resume point: {exits:?}");
    };
    assert_eq!(point.session_id, session);
    assert!(point.sequence >= seen);
    // The caller has only stored up to `durable`: twilight's own sequence ran ahead of it.
    let durable = seen - 60;
    let mut config = gateway_config(&sim, 1);
    config.resume.insert(
        0,
        ResumePoint {
            session_id: session.clone(),
            sequence: durable,
            resume_url: point.resume_url.clone(),
        },
    );
    let mut again = Harness::with_gateway(sim, config, 4096);
    // What the caller already has; the replay must continue it exactly.
    again
        .log
        .sessions
        .push((session.clone(), (1..=durable).collect()));
    again.log.shard_of_session.push(0);
    again
        .until("resumed replay", |h| {
            h.log.count("RESUMED") == 1 && h.log.last_seq() > seen + 20
        })
        .await;
    assert_eq!(again.sim.counters(0).resumes, 1);
    assert_eq!(again.sim.counters(0).identifies, 1);
    assert_eq!(again.log.sessions.len(), 1);
    again.log.assert_contiguous();
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sustained_backpressure_pauses_then_resumes_without_loss() {
    let mut cfg = SimulatorConfig::local(1);
    cfg.heartbeat_interval = Duration::from_millis(500);
    cfg.feed = Some(feed(None, Some(20_000)));
    let sim = SimulatorHandle::start(cfg).await.expect("simulator");
    let mut config = gateway_config(&sim, 1);
    config.overflow_capacity = 256;
    let mut h = Harness::with_gateway(sim, config, 64);
    // Downstream stalls while the simulator sends as fast as it can.
    sleep(Duration::from_millis(1500)).await;
    let registry = h.registry.clone();
    // READY, the GUILD_CREATEs, 20k generated dispatches and one RESUMED per pause.
    h.until("every dispatch", |h| {
        h.log.last_seq() >= 1 + h.log.count("GUILD_CREATE") + 20_000 + h.log.count("RESUMED")
    })
    .await;
    let snapshot = registry.snapshot();
    assert!(
        snapshot[0].pauses >= 1,
        "the stall paused the shard: {snapshot:?}"
    );
    assert_eq!(h.log.sessions.len(), 1, "pausing resumes the same session");
    h.log.assert_contiguous();
    h.stop().await;
}
