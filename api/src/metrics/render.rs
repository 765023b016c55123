//! The `/metrics` text (Prometheus exposition format 0.0.4).

use super::server::ServerMetrics;
use crate::context::ApiContext;
use guildflow_model::EventKind;
use guildflow_shards::decode::DecodeReason;
use guildflow_shards::registry::ShardPhase;
use std::fmt::Write;

/// A label value escaped per the exposition format (sink names come from callers).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Renders every metric: the pipeline's, the decoder's, the shards', the state's and the
/// server's own.
pub fn render(ctx: &ApiContext, server: &ServerMetrics) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let pipeline = &ctx.metrics;

    header(
        &mut out,
        "guildflow_events_processed_total",
        "counter",
        "Events handed to the dataflow, by event type.",
    );
    for kind in EventKind::ALL {
        let _ = writeln!(
            out,
            "guildflow_events_processed_total{{type=\"{}\"}} {}",
            kind.as_str(),
            pipeline.processed(kind)
        );
    }
    header(
        &mut out,
        "guildflow_event_processing_duration_seconds",
        "histogram",
        "Time to decode and hand off one event, by event type.",
    );
    for kind in EventKind::ALL {
        if let Some(histogram) = pipeline.duration_histogram(kind) {
            histogram.render(
                &mut out,
                "guildflow_event_processing_duration_seconds",
                &format!("type=\"{}\"", kind.as_str()),
            );
        }
    }

    header(
        &mut out,
        "guildflow_decode_errors_total",
        "counter",
        "Gateway frames or capture lines that failed to decode, by reason.",
    );
    for reason in DecodeReason::ALL {
        let _ = writeln!(
            out,
            "guildflow_decode_errors_total{{reason=\"{}\"}} {}",
            reason.as_str(),
            ctx.decode.errors(reason)
        );
    }
    header(
        &mut out,
        "guildflow_decoded_events_total",
        "counter",
        "Gateway frames decoded into events.",
    );
    let _ = writeln!(
        out,
        "guildflow_decoded_events_total {}",
        ctx.decode.events_total()
    );
    header(
        &mut out,
        "guildflow_ignored_dispatches_total",
        "counter",
        "Dispatches of event types guildflow does not use.",
    );
    let _ = writeln!(
        out,
        "guildflow_ignored_dispatches_total {}",
        ctx.decode.ignored()
    );

    let shards = ctx
        .registry
        .as_ref()
        .map(|registry| registry.snapshot())
        .unwrap_or_default();
    header(
        &mut out,
        "guildflow_active_shards",
        "gauge",
        "Shards of this process whose gateway session is ready.",
    );
    let active = shards
        .iter()
        .filter(|s| s.phase == ShardPhase::Ready)
        .count();
    let _ = writeln!(out, "guildflow_active_shards {active}");
    header(
        &mut out,
        "guildflow_shards",
        "gauge",
        "Shards of this process.",
    );
    let _ = writeln!(out, "guildflow_shards {}", shards.len());
    header(
        &mut out,
        "guildflow_shard_heartbeat_latency_seconds",
        "gauge",
        "Last gateway heartbeat round trip, by shard.",
    );
    for shard in &shards {
        if let Some(ms) = shard.heartbeat_latency_ms {
            let _ = writeln!(
                out,
                "guildflow_shard_heartbeat_latency_seconds{{shard=\"{}\"}} {}",
                shard.id,
                ms / 1000.0
            );
        }
    }
    header(
        &mut out,
        "guildflow_shard_events_total",
        "counter",
        "Dispatches handed downstream, by shard.",
    );
    for shard in &shards {
        let _ = writeln!(
            out,
            "guildflow_shard_events_total{{shard=\"{}\"}} {}",
            shard.id, shard.events
        );
    }

    let watermark = ctx.state.watermark();
    header(
        &mut out,
        "guildflow_watermark_seconds",
        "gauge",
        "Largest event time whose effects are all published (Unix seconds).",
    );
    if let Some(w) = watermark {
        let _ = writeln!(out, "guildflow_watermark_seconds {}", w as f64 / 1000.0);
    }
    header(
        &mut out,
        "guildflow_dataflow_lag_seconds",
        "gauge",
        "Wall clock minus the published watermark.",
    );
    if let Some(w) = watermark {
        let lag = (now_ms() - w) as f64 / 1000.0;
        let _ = writeln!(out, "guildflow_dataflow_lag_seconds {lag}");
    }

    let sinks = pipeline.sink_lags();
    header(
        &mut out,
        "guildflow_sink_lag_rows",
        "gauge",
        "Rows accepted but not yet durable in a sink.",
    );
    for (sink, lag) in &sinks {
        let _ = writeln!(
            out,
            "guildflow_sink_lag_rows{{sink=\"{}\"}} {}",
            escape(sink),
            lag.rows
        );
    }
    header(
        &mut out,
        "guildflow_sink_lag_seconds",
        "gauge",
        "Age of the oldest row not yet durable in a sink.",
    );
    for (sink, lag) in &sinks {
        let _ = writeln!(
            out,
            "guildflow_sink_lag_seconds{{sink=\"{}\"}} {}",
            escape(sink),
            lag.seconds
        );
    }

    header(
        &mut out,
        "guildflow_ready",
        "gauge",
        "1 once the process serves (a replay has processed its whole file), else 0.",
    );
    let _ = writeln!(
        out,
        "guildflow_ready {}",
        u8::from(ctx.readiness.is_ready())
    );

    if let Some(admin) = &ctx.admin {
        let stats = admin.executor_stats();
        header(
            &mut out,
            "guildflow_automod_actions_total",
            "counter",
            "Automod actions and level rewards by outcome: done (Discord accepted it), failed (refused, or still failing after the retries), skipped (decided too long ago, or executed before a restart), dropped (the executor's queue was full).",
        );
        for (outcome, counter) in [
            ("done", &stats.done),
            ("failed", &stats.failed),
            ("skipped", &stats.skipped),
            ("dropped", &stats.dropped),
        ] {
            let _ = writeln!(
                out,
                "guildflow_automod_actions_total{{outcome=\"{outcome}\"}} {}",
                counter.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
    }

    server.render(&mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_label_values() {
        assert_eq!(super::escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
