//! Profiling driver (not a bench; the bench harness is `guildflow-benches pipeline`): generates
//! the bench's corpus, then pushes it through the dataflow `runs` times and prints the rate.
//!
//! `cargo run --release -p guildflow-dataflow --example profile -- [events] [workers] [runs] [batch]`
//!
//! State size: `LEAK_STATE=1 heaptrack .../profile 1000000 1 1`, then `heaptrack_print` reports
//! the final read side (kept alive at exit) as "memory leaked"; `LEAK_STATE=live` exits with
//! the whole dataflow alive instead (engine, arrangements and read side).
//!
//! Latency: `PACED=100000 ... -- 300000 1 SECONDS`; with `LAT_DUMP=file` it also writes each
//! batch's `at` and latency, to find when the tail happens.

use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_model::Event;
use guildflow_shards::capture::{CaptureItem, CaptureReader};
use guildflow_shards::decode::{decode_frame, Decoded};
use guildflow_shards::workload::{write_capture, WorkloadConfig};
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numeric argument"))
        .collect();
    let events = args.first().copied().unwrap_or(200_000);
    let workers = args.get(1).copied().unwrap_or(1) as usize;
    let runs = args.get(2).copied().unwrap_or(3);
    let batch = args.get(3).copied().unwrap_or(4096) as usize;
    let cfg = WorkloadConfig {
        guilds: 2000,
        total_shards: 4,
        ..WorkloadConfig::default()
    };
    let mut capture = Vec::new();
    write_capture(&cfg, events, &mut capture).expect("generate");
    let mut reader = CaptureReader::new(&capture[..]);
    let mut corpus: Vec<Event> = Vec::new();
    while let Some(item) = reader.next_item().expect("read") {
        if let CaptureItem::Frame { frame, .. } = item {
            if let Ok(Decoded::Event(e)) = decode_frame(&frame.text, frame.shard, frame.at) {
                corpus.push(e);
            }
        }
    }
    drop(reader);
    drop(capture);
    if let Some(rate) = std::env::var("PACED")
        .ok()
        .and_then(|r| r.parse::<u64>().ok())
    {
        paced(&corpus, rate, runs);
        return;
    }
    for _ in 0..runs {
        let started = Instant::now();
        let mut dataflow = Dataflow::start(DataflowConfig {
            workers,
            ..DataflowConfig::default()
        })
        .expect("start");
        for chunk in corpus.chunks(batch) {
            dataflow.push(chunk.to_vec());
        }
        let pushed = started.elapsed().as_secs_f64();
        if std::env::var("LEAK_STATE").as_deref() == Ok("live") {
            // For `heaptrack`: exit with the dataflow running and everything applied, so the
            // engine's and differential's state count too ("memory leaked").
            let last = corpus.iter().map(|e| e.at).max().unwrap_or(0);
            let state = dataflow.state();
            while state.watermark().is_none_or(|w| w < last) {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
            println!(
                "{} members; exiting with the dataflow alive",
                state.read().member_count_tracked()
            );
            drop(corpus);
            std::process::exit(0);
        }
        let state = dataflow.finish().expect("finish");
        let secs = started.elapsed().as_secs_f64();
        let members = state.read().member_count_tracked();
        println!(
            "{} events, {} workers: {:.0} ev/s ({} members; push {:.3} s, total {:.3} s)",
            corpus.len(),
            workers,
            corpus.len() as f64 / secs,
            members,
            pushed,
            secs
        );
        if std::env::var_os("LEAK_STATE").is_some() {
            // For `heaptrack`: the state is what stays allocated at exit ("memory leaked").
            std::mem::forget(state);
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The bench's latency mode: `rate` events/s in 1 ms batches stamped with the wall clock for
/// `seconds`; prints percentiles of batch -> visible watermark.
fn paced(corpus: &[Event], rate: u64, seconds: u64) {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers: 1,
        ..DataflowConfig::default()
    })
    .expect("start");
    let state = dataflow.state();
    let pending: Arc<Mutex<VecDeque<(i64, Instant)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let pending = Arc::clone(&pending);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut lat = Vec::new();
            let mut ats: Vec<i64> = Vec::new();
            loop {
                let watermark = state.watermark();
                let mut queue = pending.lock().expect("lock");
                while let Some(&(at, sent)) = queue.front() {
                    if watermark.is_some_and(|w| w >= at) {
                        lat.push(sent.elapsed().as_secs_f64() * 1000.0);
                        ats.push(at);
                        queue.pop_front();
                    } else {
                        break;
                    }
                }
                let empty = queue.is_empty();
                drop(queue);
                if done.load(Ordering::Acquire) && empty {
                    // `LAT_DUMP=file`: one line per batch, `at latency_ms`, to see when the
                    // tail happens (a periodic spike shows as a pattern in `at`).
                    if let Ok(path) = std::env::var("LAT_DUMP") {
                        let lines: String = ats
                            .iter()
                            .zip(&lat)
                            .map(|(at, ms)| format!("{at} {ms:.3}\n"))
                            .collect();
                        std::fs::write(path, lines).expect("LAT_DUMP file");
                    }
                    return lat;
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        })
    };
    let started = Instant::now();
    let mut sent = 0u64;
    let mut source = corpus.iter().cycle();
    let mut last_at = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        if due > sent {
            let n = (due - sent).min(rate.max(1000));
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
            pending.lock().expect("lock").push_back((at, now));
            sent += n;
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    dataflow.advance_to(now_ms() + 1000);
    done.store(true, Ordering::Release);
    let mut lat = watcher.join().expect("watcher");
    dataflow.finish().expect("finish");
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "paced {rate}/s for {seconds} s: p50 {:.2} ms p95 {:.2} p99 {:.2} max {:.2}",
        q(0.5),
        q(0.95),
        q(0.99),
        q(1.0)
    );
}
