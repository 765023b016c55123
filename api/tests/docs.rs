//! docs/MONITORING.md and docs/grafana-dashboard.json stay in sync with `/metrics`: every
//! exposed family is documented, and every family the dashboard queries is exposed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_api::{routes, ApiContext, PipelineMetrics};
use guildflow_dataflow::state::StatsState;
use guildflow_shards::registry::ShardRegistry;
use std::collections::BTreeSet;
use std::path::PathBuf;

mod common;

fn docs() -> PathBuf {
    common::crate_dir().join("../docs")
}

/// `guildflow_*` identifiers in `text`.
fn names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("guildflow_"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn monitoring_docs_and_dashboard_match_the_exposition() {
    let metrics = PipelineMetrics::new();
    metrics.set_sink_lag("parquet", 1, 1.0);
    let registry = ShardRegistry::new();
    registry
        .register(0)
        .update(|s| s.heartbeat_latency_ms = Some(1.0));
    let api = routes(
        ApiContext::new(StatsState::new())
            .with_metrics(metrics)
            .with_registry(registry),
    );
    let response = warp::test::request().path("/metrics").reply(&api).await;
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    let families: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    let documented = names(&std::fs::read_to_string(docs().join("MONITORING.md")).unwrap());
    for family in &families {
        assert!(
            documented.contains(family),
            "{family} is not in docs/MONITORING.md"
        );
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(docs().join("grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut queried = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queried.extend(names(target["expr"].as_str().unwrap()));
        }
    }
    assert!(!queried.is_empty());
    for name in queried {
        let family = name.strip_suffix("_bucket").unwrap_or(&name).to_owned();
        assert!(
            families.contains(&family),
            "the dashboard queries {name}, which is not exposed"
        );
    }
}
