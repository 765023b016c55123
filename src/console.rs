//! Live counters on the terminal: events/s by type, decode errors, shard states.

use guildflow_dataflow::state::StatsState;
use guildflow_model::EventKind;
use guildflow_shards::decode::{DecodeCounters, DecodeReason};
use guildflow_shards::registry::ShardRegistry;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Prints a report every `every` until the task is aborted.
pub async fn report(
    counters: Arc<DecodeCounters>,
    registry: Option<ShardRegistry>,
    state: Option<StatsState>,
    every: Duration,
) {
    let mut last_total = counters.events_total();
    let mut last_kinds: Vec<u64> = EventKind::ALL.iter().map(|k| counters.events(*k)).collect();
    let mut last = Instant::now();
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let secs = last.elapsed().as_secs_f64().max(1e-9);
        last = Instant::now();
        let total = counters.events_total();
        let mut line = format!(
            "events {total} ({:.0}/s)",
            (total - last_total) as f64 / secs
        );
        last_total = total;
        let mut rates: Vec<(f64, EventKind)> = EventKind::ALL
            .iter()
            .zip(last_kinds.iter_mut())
            .map(|(kind, prev)| {
                let now = counters.events(*kind);
                let rate = (now - *prev) as f64 / secs;
                *prev = now;
                (rate, *kind)
            })
            .filter(|(rate, _)| *rate > 0.0)
            .collect();
        rates.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (rate, kind) in rates.iter().take(6) {
            let _ = write!(line, " {}={rate:.0}/s", kind.as_str());
        }
        let errors = counters.errors_total();
        if errors > 0 {
            let _ = write!(line, " | decode errors {errors}:");
            for reason in DecodeReason::ALL {
                let n = counters.errors(reason);
                if n > 0 {
                    let _ = write!(line, " {}={n}", reason.as_str());
                }
            }
        }
        if let Some(watermark) = state.as_ref().and_then(StatsState::watermark) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let _ = write!(line, " | views as of watermark, lag {} ms", now - watermark);
        }
        if let Some(registry) = &registry {
            let _ = write!(line, " | shards");
            for shard in registry.snapshot() {
                let _ = write!(line, " {}:{:?}", shard.id, shard.phase);
                if let Some(ms) = shard.heartbeat_latency_ms {
                    let _ = write!(line, "({ms:.1}ms)");
                }
            }
        }
        eprintln!("{line}");
    }
}
