//! Every REST route in process (`warp::test`), with every bad-input case: statuses, JSON error
//! bodies, headers, limits, `/health` readiness and the `/metrics` exposition.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture_state, guilds_by_activity};
use guildflow_api::{routes, ApiContext, PipelineMetrics, Readiness};
use guildflow_dataflow::state::StatsState;
use guildflow_model::EventKind;
use guildflow_shards::registry::{ShardPhase, ShardRegistry};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// The fixture state (built once: it takes a dataflow run) and its busiest guild.
fn fixture() -> &'static (StatsState, u64) {
    static FIXTURE: OnceLock<(StatsState, u64)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let state = fixture_state();
        let busy = guilds_by_activity(&state)[0];
        (state, busy)
    })
}

fn api() -> (BoxedFilter<(Response,)>, u64) {
    let (state, busy) = fixture();
    (routes(ApiContext::new(state.clone())), *busy)
}

async fn get(filter: &BoxedFilter<(Response,)>, path: &str) -> (u16, Value, warp::http::HeaderMap) {
    let response = warp::test::request().path(path).reply(filter).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (status, body, headers)
}

async fn error_code(filter: &BoxedFilter<(Response,)>, path: &str) -> (u16, String) {
    let (status, body, headers) = get(filter, path).await;
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/json",
        "{path}"
    );
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{path}: {body}"));
    assert!(body["error"]["message"].is_string(), "{path}: {body}");
    (status, code.to_owned())
}

#[tokio::test]
async fn leaderboard_pages_follow_the_spec() {
    let (api, guild) = api();
    let (status, all, headers) = get(
        &api,
        &format!("/api/guilds/{guild}/leaderboard?metric=score&period=all&per_page=100"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert!(headers.get("x-guildflow-watermark").is_some());
    let keys: Vec<&str> = all
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 7, "exactly the SPEC fields: {keys:?}");
    assert_eq!(all["guild_id"], Value::String(guild.to_string()));
    let entries = all["entries"].as_array().unwrap();
    assert_eq!(entries.len() as u64, all["total"].as_u64().unwrap());
    // value desc, then user id ascending (numeric); ranks 1-based and dense by position.
    for (i, pair) in entries.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        let (va, vb) = (a["value"].as_i64().unwrap(), b["value"].as_i64().unwrap());
        let (ua, ub): (u64, u64) = (
            a["user_id"].as_str().unwrap().parse().unwrap(),
            b["user_id"].as_str().unwrap().parse().unwrap(),
        );
        assert!(va > vb || (va == vb && ua < ub), "order at {i}");
        assert_eq!(a["rank"].as_u64().unwrap(), i as u64 + 1);
        assert!(vb > 0, "zero values are not listed");
    }
    // Page 2 of size 3 is entries 4..=6 of the whole board.
    let (_, page2, _) = get(
        &api,
        &format!("/api/guilds/{guild}/leaderboard?metric=score&period=all&page=2&per_page=3"),
    )
    .await;
    assert_eq!(page2["entries"].as_array().unwrap()[..], entries[3..6]);
    assert_eq!(
        (page2["page"].as_u64(), page2["per_page"].as_u64()),
        (Some(2), Some(3))
    );
    // Defaults: score, all, page 1, 50 per page.
    let (_, defaults, _) = get(&api, &format!("/api/guilds/{guild}/leaderboard")).await;
    assert_eq!(
        (
            defaults["metric"].as_str(),
            defaults["period"].as_str(),
            defaults["page"].as_u64(),
            defaults["per_page"].as_u64()
        ),
        (Some("score"), Some("all"), Some(1), Some(50))
    );
}

#[tokio::test]
async fn leaderboard_rejects_bad_parameters_with_400() {
    let (api, guild) = api();
    let base = format!("/api/guilds/{guild}/leaderboard");
    for (query, code) in [
        ("metric=karma", "invalid_metric"),
        ("metric=", "invalid_metric"),
        ("metric=SCORE", "invalid_metric"),
        ("period=year", "invalid_period"),
        ("page=0", "invalid_page"),
        ("page=-1", "invalid_page"),
        ("page=abc", "invalid_page"),
        ("page=99999999999999999999999", "invalid_page"),
        ("per_page=0", "invalid_per_page"),
        ("per_page=101", "invalid_per_page"),
        ("per_page=1.5", "invalid_per_page"),
        ("format=xml", "invalid_format"),
    ] {
        assert_eq!(
            error_code(&api, &format!("{base}?{query}")).await,
            (400, code.to_owned()),
            "{query}"
        );
    }
    // Boundaries are fine.
    for query in ["per_page=1", "per_page=100", "page=1000000"] {
        assert_eq!(
            get(&api, &format!("{base}?{query}")).await.0,
            200,
            "{query}"
        );
    }
}

#[tokio::test]
async fn ids_are_validated_before_they_are_looked_up() {
    let (api, guild) = api();
    for path in [
        "/api/guilds/abc/leaderboard".to_owned(),
        "/api/guilds/-1/stats".to_owned(),
        "/api/guilds/0/stats".to_owned(),
        "/api/guilds/007/stats".to_owned(),
        "/api/guilds/%2B5/stats".to_owned(),
        "/api/guilds/18446744073709551616/stats".to_owned(),
        format!("/api/guilds/{guild}/members/x1/stats"),
        format!("/api/guilds/{guild}/members/1.0/stats"),
        "/api/guilds/abc/live".to_owned(),
    ] {
        assert_eq!(
            error_code(&api, &path).await,
            (400, "invalid_id".to_owned()),
            "{path}"
        );
    }
    for (path, code) in [
        ("/api/guilds/1/leaderboard".to_owned(), "unknown_guild"),
        ("/api/guilds/1/stats".to_owned(), "unknown_guild"),
        ("/api/guilds/1/members/2/stats".to_owned(), "unknown_guild"),
        (
            format!("/api/guilds/{guild}/members/2/stats"),
            "unknown_member",
        ),
        ("/api/nothing".to_owned(), "not_found"),
        (
            format!("/api/guilds/{guild}/leaderboard/extra"),
            "not_found",
        ),
    ] {
        assert_eq!(
            error_code(&api, &path).await,
            (404, code.to_owned()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn member_and_guild_stats() {
    let (api, guild) = api();
    let (_, board, _) = get(&api, &format!("/api/guilds/{guild}/leaderboard?per_page=1")).await;
    let user = board["entries"][0]["user_id"].as_str().unwrap().to_owned();
    let (status, member, _) = get(&api, &format!("/api/guilds/{guild}/members/{user}/stats")).await;
    assert_eq!(status, 200);
    assert_eq!(member["user_id"], Value::String(user));
    assert_eq!(member["ranks"]["score"], 1);
    assert_eq!(
        member["periods"]["all"]["score"],
        board["entries"][0]["value"]
    );
    assert_eq!(member["daily"].as_array().unwrap().len(), 30);
    for key in ["day", "week", "month", "all"] {
        for field in ["messages", "reactions", "voice_seconds", "score", "xp"] {
            assert!(member["periods"][key][field].is_i64(), "{key}.{field}");
        }
    }
    let (status, stats, _) = get(&api, &format!("/api/guilds/{guild}/stats")).await;
    assert_eq!(status, 200);
    assert_eq!(stats["guild_id"], Value::String(guild.to_string()));
    for series in ["messages", "voice_seconds", "reactions"] {
        assert_eq!(stats["daily"][series].as_array().unwrap().len(), 30);
    }
    assert!(stats["member_count"].is_i64());
    assert!(
        stats["active_members"]["30d"].as_u64().unwrap()
            >= stats["active_members"]["1d"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn csv_export_by_format_or_accept() {
    let (api, guild) = api();
    let (_, json, _) = get(
        &api,
        &format!("/api/guilds/{guild}/leaderboard?metric=messages&per_page=100"),
    )
    .await;
    let response = warp::test::request()
        .path(&format!(
            "/api/guilds/{guild}/leaderboard?metric=messages&format=csv"
        ))
        .reply(&api)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "rank,user_id,value");
    // The unpaged export is the whole board.
    assert_eq!(lines.len() - 1, json["total"].as_u64().unwrap() as usize);
    let first = &json["entries"][0];
    assert_eq!(
        lines[1],
        format!(
            "1,{},{}",
            first["user_id"].as_str().unwrap(),
            first["value"]
        )
    );
    let response = warp::test::request()
        .path(&format!(
            "/api/guilds/{guild}/leaderboard?metric=messages&per_page=2"
        ))
        .header("accept", "text/csv")
        .reply(&api)
        .await;
    assert_eq!(
        String::from_utf8(response.body().to_vec())
            .unwrap()
            .lines()
            .count(),
        3
    );
    // format=json wins over Accept.
    let response = warp::test::request()
        .path(&format!("/api/guilds/{guild}/leaderboard?format=json"))
        .header("accept", "text/csv")
        .reply(&api)
        .await;
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn bodies_methods_and_query_strings() {
    let (api, guild) = api();
    let path = format!("/api/guilds/{guild}/stats");
    let response = warp::test::request()
        .path(&path)
        .body(vec![b'x'; 1 << 20])
        .reply(&api)
        .await;
    assert_eq!(response.status(), 413);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    let response = warp::test::request()
        .path(&path)
        .header("transfer-encoding", "chunked")
        .reply(&api)
        .await;
    assert_eq!(response.status(), 413);
    // A small body on a GET is harmless.
    let response = warp::test::request()
        .path(&path)
        .body("{}")
        .reply(&api)
        .await;
    assert_eq!(response.status(), 200);
    for method in ["POST", "PUT", "DELETE"] {
        let response = warp::test::request()
            .method(method)
            .path(&path)
            .reply(&api)
            .await;
        assert_eq!(response.status(), 405, "{method}");
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
    let response = warp::test::request()
        .path(&format!("/api/guilds/{guild}/leaderboard?metric=%ZZ"))
        .reply(&api)
        .await;
    assert_eq!(
        response.status().as_u16() / 100,
        4,
        "never a 5xx for bad input"
    );
    // The websocket route without an upgrade.
    assert_eq!(
        error_code(&api, &format!("/api/guilds/{guild}/live")).await,
        (400, "websocket_required".to_owned())
    );
}

#[tokio::test]
async fn health_is_503_until_ready_and_lists_shards() {
    let (state, _) = fixture();
    let readiness = Readiness::pending();
    let registry = ShardRegistry::new();
    registry.register(0).update(|s| {
        s.phase = ShardPhase::Ready;
        s.heartbeat_latency_ms = Some(41.5);
    });
    registry
        .register(1)
        .update(|s| s.phase = ShardPhase::Resuming);
    let served = routes(
        ApiContext::new(state.clone())
            .with_readiness(readiness.clone())
            .with_registry(registry),
    );
    let (status, body, _) = get(&served, "/health").await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "starting");
    readiness.mark_ready();
    let (status, body, _) = get(&served, "/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "degraded", "shard 1 is resuming");
    assert_eq!(body["watermark"], serde_json::json!(state.watermark()));
    assert!(body["events_processed"].is_u64());
    let shards = body["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[0]["phase"], "ready");
    assert_eq!(shards[1]["phase"], "resuming");
    assert!(shards[0].get("session_id").is_none());

    // Without a registry (replay): no shard list, plain ok.
    let (replay, _) = api();
    let (status, body, _) = get(&replay, "/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    assert!(body.get("shards").is_none());
}

#[tokio::test]
async fn metrics_expose_every_family() {
    let (state, guild) = fixture();
    let metrics = PipelineMetrics::new();
    metrics.record_event(EventKind::MessageCreate, Duration::from_micros(30));
    metrics.record_events(EventKind::VoiceState, 4, Duration::from_micros(3));
    metrics.set_sink_lag("parquet", 1200, 0.75);
    let registry = ShardRegistry::new();
    registry.register(3).update(|s| {
        s.phase = ShardPhase::Ready;
        s.heartbeat_latency_ms = Some(42.0);
    });
    let api = routes(
        ApiContext::new(state.clone())
            .with_metrics(metrics)
            .with_registry(registry),
    );
    // One timed request of a known route first.
    let _ = get(&api, &format!("/api/guilds/{guild}/stats")).await;
    let response = warp::test::request().path("/metrics").reply(&api).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    for line in [
        "guildflow_events_processed_total{type=\"message_create\"} 1",
        "guildflow_events_processed_total{type=\"voice_state\"} 4",
        "guildflow_event_processing_duration_seconds_bucket{type=\"message_create\",le=\"0.00005\"} 1",
        "guildflow_event_processing_duration_seconds_count{type=\"voice_state\"} 4",
        "guildflow_decode_errors_total{reason=\"invalid_json\"} 0",
        "guildflow_active_shards 1",
        "guildflow_shard_heartbeat_latency_seconds{shard=\"3\"} 0.042",
        "guildflow_sink_lag_rows{sink=\"parquet\"} 1200",
        "guildflow_sink_lag_seconds{sink=\"parquet\"} 0.75",
        "guildflow_http_request_duration_seconds_count{route=\"guild_stats\"} 1",
        "guildflow_http_requests_total{route=\"guild_stats\",status=\"200\"} 1",
        "guildflow_websocket_clients 0",
        "guildflow_ready 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("guildflow_dataflow_lag_seconds "));
    // Every sample line is `name{labels} value` with a numeric value, every family typed.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let family = name.split('{').next().unwrap();
        let base = family
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            text.contains(&format!("# TYPE {family} "))
                || text.contains(&format!("# TYPE {base} histogram")),
            "{family} has no TYPE"
        );
    }
}
