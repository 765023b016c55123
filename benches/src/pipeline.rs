//! Pipeline bench: events through the dataflow (every view), stage by stage, with 1 and 2
//! workers; and latency from an event's arrival to the published state containing it, at
//! offered loads.
//!
//! Stages on the same corpus in the same run: `decode` (raw frames -> events), `dataflow`
//! (events -> published views), `decode+dataflow` (frames decoded batch by batch on the pushing
//! thread while the dataflow runs, as `replay` does), and `hashmap baseline` (the same engine
//! and read side in one thread, a hash map in place of timely/differential: issue 6's baseline
//! b). Latency: a feeder pushes events stamped
//! with wall-clock `at` at the offered rate in 1 ms batches; a watcher records, per batch, the
//! time until the published watermark covers it (the moment an API read or a websocket
//! subscriber sees the change).

use crate::corpus::{decode_all, frames};
use crate::report::{median, proc_status_bytes, write_json, Machine};
use clap::Args;
use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_model::Event;
use guildflow_shards::RawFrame;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Arguments of the pipeline bench.
#[derive(Debug, Args, Clone)]
pub struct PipelineArgs {
    /// Events in the throughput corpus.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Runs per throughput configuration.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Seconds per offered load in the latency bench.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Short mode: 200k events, 1 run, 3 s per load, loads 1k/10k/100k.
    #[arg(long)]
    pub quick: bool,
}

#[derive(Debug, Serialize)]
struct StageResult {
    stage: String,
    workers: usize,
    runs_events_per_sec: Vec<f64>,
    median_events_per_sec: f64,
}

#[derive(Debug, Serialize)]
struct LatencyResult {
    offered_per_sec: u64,
    achieved_per_sec: f64,
    batches: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct PipelineReport {
    bench: &'static str,
    machine: Machine,
    events: usize,
    stages: Vec<StageResult>,
    latency: Vec<LatencyResult>,
    peak_rss_bytes: Option<u64>,
    active_members: usize,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn run_dataflow(events: Vec<Event>, workers: usize) -> anyhow::Result<(f64, usize)> {
    let mut iter = events.into_iter();
    let batches = std::iter::from_fn(|| {
        let batch: Vec<Event> = iter.by_ref().take(BATCH).collect();
        (!batch.is_empty()).then_some(batch)
    });
    run_dataflow_batches(batches, workers)
}

/// Events per push: what `replay` pushes into the dataflow at once (`REPLAY_BATCH` in the
/// binary's `pipeline`, which this crate does not link).
pub(crate) const BATCH: usize = 4096;

/// Raw frames decoded batch by batch on the pushing thread while the workers and the applier
/// run, the way `replay` and the live drain feed the dataflow (decoding is not a separate pass
/// before it). Returns events per second and members with state.
pub(crate) fn run_decode_dataflow(
    frames: &[RawFrame],
    workers: usize,
) -> anyhow::Result<(f64, usize)> {
    run_dataflow_batches(frames.chunks(BATCH).map(decode_all), workers)
}

/// Pushes `batches` into a fresh dataflow and waits until everything is applied; the clock
/// includes whatever producing the batches costs.
fn run_dataflow_batches(
    batches: impl Iterator<Item = Vec<Event>>,
    workers: usize,
) -> anyhow::Result<(f64, usize)> {
    let started = Instant::now();
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers,
        ..DataflowConfig::default()
    })?;
    let mut n = 0usize;
    for batch in batches {
        n += batch.len();
        dataflow.push(batch);
    }
    let state = dataflow.finish()?;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let members = state.read().member_count_tracked();
    Ok((rate, members))
}

/// Baseline (b) of issue 6: the same views from the same engine, accumulated in a hash map in a
/// single pass and applied to the same read side, without timely or differential: the
/// practical upper bound of this design on one core.
pub(crate) fn run_hashmap_baseline(events: Vec<Event>) -> f64 {
    use guildflow_dataflow::engine::dedup::FrameDedup;
    use guildflow_dataflow::engine::{Engine, EngineConfig};
    use guildflow_dataflow::graph::Change;
    use guildflow_dataflow::keys::ViewKey;
    use guildflow_dataflow::state::StatsState;
    let n = events.len();
    let started = Instant::now();
    let mut engine = Engine::new(EngineConfig::default());
    let mut dedup = FrameDedup::default();
    let state = StatsState::new();
    let mut totals: foldhash::HashMap<ViewKey, i64> = foldhash::HashMap::default();
    let flush = |engine: &mut Engine, totals: &mut foldhash::HashMap<ViewKey, i64>| {
        let mut changes = Vec::new();
        let deltas: Vec<(ViewKey, i64)> = engine.deltas().drain().collect();
        for (key, amount) in deltas {
            let total = totals.entry(key).or_insert(0);
            *total += amount;
            let now = *total;
            changes.push(Change {
                key,
                total: now,
                delta: amount,
            });
        }
        let _ = engine.take_signals();
        state.apply_changes(changes, engine.watermark());
    };
    for chunk in events.chunks(4096) {
        let mut batch: Vec<Event> = chunk.iter().filter(|e| dedup.admit(e)).cloned().collect();
        engine.apply_batch(&mut batch);
        flush(&mut engine, &mut totals);
    }
    let watermark = engine.watermark();
    engine.advance_to(watermark);
    flush(&mut engine, &mut totals);
    n as f64 / started.elapsed().as_secs_f64()
}

pub fn run(args: &PipelineArgs) -> anyhow::Result<()> {
    let (events, runs, seconds, loads): (u64, usize, u64, Vec<u64>) = if args.quick {
        (200_000, 1, 3, vec![1_000, 10_000, 100_000])
    } else {
        (
            args.events,
            args.runs.max(1),
            args.seconds,
            vec![1_000, 10_000, 100_000, 300_000],
        )
    };
    let raw = frames(events)?;
    println!(
        "pipeline bench: {} frames; {} run(s) per stage",
        raw.len(),
        runs
    );
    let mut stages = Vec::new();
    let mut active_members = 0;
    // Stage: decode only.
    let mut rates = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let decoded = decode_all(&raw);
        rates.push(decoded.len() as f64 / started.elapsed().as_secs_f64());
    }
    stages.push(StageResult {
        stage: "decode".into(),
        workers: 0,
        median_events_per_sec: median(&rates),
        runs_events_per_sec: rates,
    });
    let decoded = decode_all(&raw);
    let mut rates = Vec::new();
    for _ in 0..runs {
        rates.push(run_hashmap_baseline(decoded.clone()));
    }
    stages.push(StageResult {
        stage: "hashmap baseline".into(),
        workers: 1,
        median_events_per_sec: median(&rates),
        runs_events_per_sec: rates,
    });
    for workers in [1usize, 2] {
        let mut rates = Vec::new();
        for _ in 0..runs {
            let (rate, members) = run_dataflow(decoded.clone(), workers)?;
            active_members = members;
            rates.push(rate);
        }
        stages.push(StageResult {
            stage: "dataflow".into(),
            workers,
            median_events_per_sec: median(&rates),
            runs_events_per_sec: rates,
        });
        let mut rates = Vec::new();
        for _ in 0..runs {
            rates.push(run_decode_dataflow(&raw, workers)?.0);
        }
        stages.push(StageResult {
            stage: "decode+dataflow".into(),
            workers,
            median_events_per_sec: median(&rates),
            runs_events_per_sec: rates,
        });
    }
    let baseline = stages
        .iter()
        .find(|s| s.stage == "hashmap baseline")
        .map_or(1.0, |s| s.median_events_per_sec);
    println!(
        "{:<18} {:>8} {:>14} {:>16}",
        "stage", "workers", "events/s", "vs baseline (b)"
    );
    for s in &stages {
        println!(
            "{:<18} {:>8} {:>14.0} {:>15.2}x",
            s.stage,
            s.workers,
            s.median_events_per_sec,
            s.median_events_per_sec / baseline
        );
    }
    let mut latency = Vec::new();
    for load in loads {
        let result = latency_at(&decoded, load, Duration::from_secs(seconds))?;
        println!(
            "offered {:>7}/s achieved {:>9.0}/s  event -> visible p50 {:>7.2} ms  p95 {:>7.2}  p99 {:>7.2}  p99.9 {:>7.2}  max {:>7.2}",
            result.offered_per_sec, result.achieved_per_sec, result.p50_ms, result.p95_ms, result.p99_ms, result.p999_ms, result.max_ms
        );
        latency.push(result);
    }
    let report = PipelineReport {
        bench: "pipeline",
        machine: Machine::read(),
        events: decoded.len(),
        stages,
        latency,
        peak_rss_bytes: proc_status_bytes("VmHWM"),
        active_members,
    };
    if let Some(rss) = report.peak_rss_bytes {
        println!(
            "peak RSS {:.1} MB; {} members with state",
            rss as f64 / 1e6,
            active_members
        );
    }
    let path = write_json("pipeline", &report)?;
    println!("(JSON in {})", path.display());
    Ok(())
}

fn latency_at(corpus: &[Event], rate: u64, duration: Duration) -> anyhow::Result<LatencyResult> {
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })?;
    let state = dataflow.state();
    let pending: Arc<Mutex<std::collections::VecDeque<(i64, Instant)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let pending = Arc::clone(&pending);
        let done = Arc::clone(&done);
        std::thread::spawn(move || -> anyhow::Result<Histogram<u64>> {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            loop {
                let watermark = state.watermark();
                let mut queue = pending.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                while let Some(&(at, sent)) = queue.front() {
                    if watermark.is_some_and(|w| w >= at) {
                        hist.saturating_record(sent.elapsed().as_micros().max(1) as u64);
                        queue.pop_front();
                    } else {
                        break;
                    }
                }
                let empty = queue.is_empty();
                let oldest = queue.front().copied();
                drop(queue);
                if done.load(Ordering::Acquire) {
                    if empty {
                        return Ok(hist);
                    }
                    if let Some((at, sent)) = oldest {
                        if sent.elapsed() > Duration::from_secs(10) {
                            anyhow::bail!(
                                "batch at {at} never became visible (watermark {watermark:?})"
                            );
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        })
    };
    let started = Instant::now();
    let mut sent = 0u64;
    let mut source = corpus.iter().cycle();
    let mut batches = 0u64;
    let mut last_at = 0i64;
    while started.elapsed() < duration {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        if due > sent {
            let n = (due - sent).min(rate.max(1000));
            // `at` is the wall clock, strictly increasing so every batch has its own watermark.
            let at = now_ms().max(last_at + 1);
            last_at = at;
            let batch: Vec<Event> = source
                .by_ref()
                .take(n as usize)
                .enumerate()
                .map(|(i, e)| {
                    let mut e = e.clone();
                    e.at = at;
                    e.seq = sent + i as u64 + 1;
                    e.shard = 99;
                    e
                })
                .collect();
            let now = Instant::now();
            dataflow.push(batch);
            pending
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .push_back((at, now));
            sent += n;
            batches += 1;
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Let the last batches become visible, then close.
    dataflow.advance_to(now_ms() + 1000);
    done.store(true, Ordering::Release);
    let hist = watcher
        .join()
        .map_err(|_| anyhow::anyhow!("watcher panicked"))??;
    dataflow.finish()?;
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok(LatencyResult {
        offered_per_sec: rate,
        achieved_per_sec: sent as f64 / elapsed,
        batches,
        p50_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: hist.max() as f64 / 1000.0,
    })
}
