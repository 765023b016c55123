//! Per-client rate limits on every `/api/` route (not only the store queries): the default
//! budget, 429 JSON with `Retry-After`, the `/64` grouping of IPv6, websocket connection
//! attempts, the monitoring exemption and the `/metrics` count of refused requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_api::{routes, ApiConfig, ApiContext, RateLimit};
use guildflow_dataflow::state::StatsState;
use serde_json::Value;
use std::net::SocketAddr;
use warp::filters::BoxedFilter;
use warp::reply::Response;

type Api = BoxedFilter<(Response,)>;

fn api(client: Option<RateLimit>, connects: Option<RateLimit>) -> Api {
    routes(ApiContext::new(StatsState::new()).with_config(ApiConfig {
        client_rate: client,
        ws_connect_rate: connects,
        ..ApiConfig::default()
    }))
}

/// `burst` requests, refilled too slowly to matter within a test.
fn only(burst: f64) -> Option<RateLimit> {
    Some(RateLimit {
        per_second: 0.001,
        burst,
    })
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

type Reply = warp::http::Response<warp::hyper::body::Bytes>;

async fn get(api: &Api, from: &str, path: &str) -> Reply {
    warp::test::request()
        .path(path)
        .remote_addr(addr(from))
        .reply(api)
        .await
}

async fn status(api: &Api, from: &str, path: &str) -> u16 {
    get(api, from, path).await.status().as_u16()
}

#[tokio::test]
async fn the_default_budget_is_a_burst_of_100_then_429_with_retry_after() {
    let api = routes(ApiContext::new(StatsState::new()));
    for i in 0..100 {
        // 404 unknown_guild: refused or not, every /api/ request counts.
        assert_eq!(
            status(&api, "10.0.0.1:1", "/api/guilds/1/stats").await,
            404,
            "{i}"
        );
    }
    // The bucket refills at 50/s while the burst is sent: on a slow machine a few more
    // requests may pass before the first 429.
    let mut refilled = 0;
    let response = loop {
        let response = warp::test::request()
            .path("/api/guilds/1/leaderboard")
            .remote_addr(addr("10.0.0.1:2"))
            .reply(&api)
            .await;
        if response.status() == 429 {
            break response;
        }
        refilled += 1;
        assert!(
            refilled < 20,
            "no 429 after the burst: {}",
            response.status()
        );
    };
    assert_eq!(response.headers().get("retry-after").unwrap(), "1");
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("requests"));
    // Another address has its own budget; monitoring is never limited.
    assert_eq!(status(&api, "10.0.0.2:1", "/api/guilds/1/stats").await, 404);
    for _ in 0..200 {
        assert_eq!(status(&api, "10.0.0.1:1", "/health").await, 200);
        assert_eq!(status(&api, "10.0.0.1:1", "/metrics").await, 200);
    }
    // Refused requests are counted per route and status.
    let metrics = get(&api, "10.0.0.1:1", "/metrics").await;
    let text = String::from_utf8(metrics.body().to_vec()).unwrap();
    assert!(
        text.contains("guildflow_http_requests_total{route=\"leaderboard\",status=\"429\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn ipv6_clients_share_a_budget_per_64() {
    let api = api(only(2.0), None);
    assert_eq!(
        status(&api, "[2001:db8:1:2::1]:1", "/api/guilds/1/stats").await,
        404
    );
    assert_eq!(
        status(&api, "[2001:db8:1:2::ffff]:1", "/api/guilds/1/stats").await,
        404
    );
    assert_eq!(
        status(&api, "[2001:db8:1:2:3::9]:1", "/api/guilds/1/stats").await,
        429
    );
    assert_eq!(
        status(&api, "[2001:db8:1:3::1]:1", "/api/guilds/1/stats").await,
        404
    );
    // An IPv4-mapped address is its IPv4 address.
    assert_eq!(status(&api, "10.9.9.9:1", "/api/guilds/1/stats").await, 404);
    assert_eq!(
        status(&api, "[::ffff:10.9.9.9]:1", "/api/guilds/1/stats").await,
        404
    );
    assert_eq!(status(&api, "10.9.9.9:2", "/api/guilds/1/stats").await, 429);
}

#[tokio::test]
async fn every_api_route_is_limited_including_no_route_and_sql() {
    let api = api(only(1.0), None);
    let cases = [
        "/api/guilds/1/leaderboard",
        "/api/guilds/1/members/2/stats",
        "/api/guilds/1/live",
        "/api/openapi.json",
        "/api/nothing",
    ];
    for (i, path) in cases.iter().enumerate() {
        let from = format!("10.0.1.{i}:1");
        assert_ne!(status(&api, &from, path).await, 429, "{path}");
        assert_eq!(status(&api, &from, path).await, 429, "{path}");
    }
    let sql = |from: &str| {
        warp::test::request()
            .method("POST")
            .path("/api/guilds/1/sql")
            .remote_addr(addr(from))
            .json(&serde_json::json!({"sql": "SELECT 1"}))
    };
    assert_eq!(sql("10.0.2.1:1").reply(&api).await.status(), 503);
    assert_eq!(sql("10.0.2.1:1").reply(&api).await.status(), 429);
}

#[tokio::test]
async fn websocket_connection_attempts_have_their_own_budget() {
    let api = api(only(100.0), only(2.0));
    let path = "/api/guilds/81384788765712384/live";
    // `warp::test::ws` connects over loopback TCP: its peer is 127.0.0.1.
    for _ in 0..2 {
        warp::test::ws()
            .path(path)
            .handshake(api.clone())
            .await
            .expect("within the budget");
    }
    let refused = warp::test::ws().path(path).handshake(api.clone()).await;
    assert!(
        refused.is_err(),
        "a third attempt is refused before the upgrade"
    );
    let response = get(&api, "127.0.0.1:9", path).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("websocket connection attempts"));
    // Plain REST reads of the same client still pass; another address may still try.
    assert_eq!(
        status(&api, "127.0.0.1:9", "/api/guilds/1/stats").await,
        404
    );
    assert_eq!(
        status(&api, "10.0.3.2:1", path).await,
        400,
        "websocket_required"
    );
    assert_eq!(status(&api, "10.0.3.2:1", path).await, 400);
    assert_eq!(status(&api, "10.0.3.2:1", path).await, 429);
}

#[tokio::test]
async fn limits_can_be_lifted_for_benchmarks() {
    let api = routes(ApiContext::new(StatsState::new()).without_client_limits());
    for _ in 0..300 {
        assert_eq!(status(&api, "10.0.4.1:1", "/api/guilds/1/stats").await, 404);
    }
}
