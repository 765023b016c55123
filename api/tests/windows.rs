//! Leaderboards over past periods and rolling windows (`period=7d`, `at=`, `from`/`to`), in
//! process over a real `GuildSql` on the fixture store, cross-checked against ad hoc SQL
//! over the same window and against the live boards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture_sql, fixture_state, fixture_store, guilds_by_activity};
use guildflow_api::{routes, ApiConfig, ApiContext};
use guildflow_dataflow::state::StatsState;
use guildflow_queries::SqlLimits;
use serde_json::{json, Value};
use std::sync::OnceLock;
use warp::filters::BoxedFilter;
use warp::reply::Response;

type Api = BoxedFilter<(Response,)>;

fn state() -> &'static StatsState {
    static STATE: OnceLock<StatsState> = OnceLock::new();
    STATE.get_or_init(fixture_state)
}

/// No rate limit in the way of the many queries here.
fn api(name: &str) -> (Api, common::FixtureStore) {
    let store = fixture_store(name);
    let sql = fixture_sql(&store, SqlLimits::default());
    let config = ApiConfig {
        sql_ip_burst: 10_000.0,
        sql_guild_burst: 10_000.0,
        ..ApiConfig::default()
    };
    let ctx = ApiContext::new(state().clone())
        .with_config(config)
        .with_sql(sql);
    (routes(ctx), store)
}

struct Answer {
    status: u16,
    body: Value,
    window: Option<(i64, i64)>,
}

async fn get(api: &Api, path: &str) -> Answer {
    let response = warp::test::request().path(path).reply(api).await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().parse::<i64>().unwrap())
    };
    Answer {
        status: response.status().as_u16(),
        window: header("x-guildflow-window-from").zip(header("x-guildflow-window-to")),
        body: serde_json::from_slice(response.body()).unwrap_or(Value::Null),
    }
}

async fn sql(api: &Api, guild: u64, sql: &str) -> Value {
    let response = warp::test::request()
        .method("POST")
        .path(&format!("/api/guilds/{guild}/sql"))
        .json(&json!({ "sql": sql }))
        .reply(api)
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    serde_json::from_slice(response.body()).unwrap()
}

/// `(user_id, value)` of a leaderboard body, in order.
fn pairs(board: &Value) -> Vec<(String, i64)> {
    board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["user_id"].as_str().unwrap().to_owned(),
                e["value"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Counted messages per member over `[from, to)`, written from SPEC §3 in SQL, in the
/// leaderboard's order.
async fn messages_by_sql(api: &Api, guild: u64, from: i64, to: i64) -> Vec<(String, i64)> {
    let answer = sql(
        api,
        guild,
        &format!(
            "SELECT user_id, count(DISTINCT message_id) AS n FROM events \
             WHERE kind = 'message_create' AND NOT bot \
             AND ts >= to_timestamp_millis({from}) AND ts < to_timestamp_millis({to}) \
             GROUP BY user_id ORDER BY n DESC, user_id"
        ),
    )
    .await;
    let mut rows: Vec<(String, i64)> = answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_i64().unwrap()))
        .collect();
    // user_id is numeric: order ties as numbers, as the leaderboard does.
    rows.sort_by(|a, b| {
        b.1.cmp(&a.1).then(
            a.0.parse::<u64>()
                .unwrap()
                .cmp(&b.0.parse::<u64>().unwrap()),
        )
    });
    rows
}

#[tokio::test]
async fn a_rolling_window_equals_sql_over_the_same_window() {
    let (api, _store) = api("rolling");
    let watermark = state().watermark().unwrap();
    for guild in guilds_by_activity(state()) {
        for period in ["7d", "1h", "30m", "2w"] {
            let path = format!(
                "/api/guilds/{guild}/leaderboard?metric=messages&period={period}&per_page=100"
            );
            let board = get(&api, &path).await;
            assert_eq!(board.status, 200, "{path}: {}", board.body);
            assert_eq!(board.body["period"], period);
            let (from, to) = board.window.unwrap();
            assert_eq!(to, watermark + 1, "windows end at the watermark, inclusive");
            if period == "1h" {
                assert_eq!(from, watermark - 3_600_000 + 1);
            }
            let expected = messages_by_sql(&api, guild, from, to).await;
            assert_eq!(pairs(&board.body), expected, "{path}");
            assert_eq!(board.body["total"], expected.len(), "{path}");
        }
    }
}

#[tokio::test]
async fn all_at_the_watermark_equals_the_live_boards() {
    let (api, _store) = api("all_at");
    let watermark = state().watermark().unwrap();
    let at = chrono::DateTime::from_timestamp_millis(watermark)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for guild in guilds_by_activity(state()) {
        for metric in ["messages", "reactions", "voice", "score"] {
            let live = get(
                &api,
                &format!("/api/guilds/{guild}/leaderboard?metric={metric}&per_page=100"),
            )
            .await;
            let past = get(
                &api,
                &format!("/api/guilds/{guild}/leaderboard?metric={metric}&per_page=100&period=all&at={at}"),
            )
            .await;
            assert_eq!(past.status, 200, "{}", past.body);
            assert_eq!(past.window, Some((0, watermark + 1)));
            assert_eq!(live.window, None);
            assert_eq!(past.body, live.body, "{guild} {metric}");
        }
    }
}

#[tokio::test]
async fn past_periods_and_ranges() {
    let (api, _store) = api("past");
    let guild = guilds_by_activity(state())[0];
    // The fixture runs 2026-02-01T22:00Z to 02-02T01:24Z: a day at 23:00 on Feb 1 holds its
    // first two hours only.
    let day = get(
        &api,
        &format!("/api/guilds/{guild}/leaderboard?metric=messages&per_page=100&period=day&at=2026-02-01T23:00:00Z"),
    )
    .await;
    let feb1 = 1_769_904_000_000;
    let feb2 = feb1 + 86_400_000;
    assert_eq!(day.window, Some((feb1, feb2)));
    assert_eq!(day.body["period"], "day");
    assert_eq!(
        pairs(&day.body),
        messages_by_sql(&api, guild, feb1, feb2).await
    );
    // The same span as from/to.
    let range = get(
        &api,
        &format!("/api/guilds/{guild}/leaderboard?metric=messages&per_page=100&from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z"),
    )
    .await;
    assert_eq!(range.body["period"], "custom");
    assert_eq!(range.window, day.window);
    assert_eq!(range.body["entries"], day.body["entries"]);
    // Today at the watermark equals the live day board (UTC guild).
    let watermark = state().watermark().unwrap();
    // `Z`, not `+00:00`: a `+` in a query string is a space.
    let at = chrono::DateTime::from_timestamp_millis(watermark)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let today = get(
        &api,
        &format!("/api/guilds/{guild}/leaderboard?metric=score&period=day&at={at}"),
    )
    .await;
    let live = get(
        &api,
        &format!("/api/guilds/{guild}/leaderboard?metric=score&period=day"),
    )
    .await;
    assert_eq!(today.body, live.body);
    // A window before any event is empty, not an error.
    let empty = get(
        &api,
        &format!("/api/guilds/{guild}/leaderboard?period=week&at=2025-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!((empty.status, empty.body["total"].clone()), (200, json!(0)));
    // CSV: one page.
    let response = warp::test::request()
        .path(&format!(
            "/api/guilds/{guild}/leaderboard?period=3m&per_page=2"
        ))
        .header("accept", "text/csv")
        .reply(&api)
        .await;
    assert_eq!(response.status(), 200);
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.starts_with("rank,user_id,value\n1,"));
}

#[tokio::test]
async fn bad_windows_are_400s() {
    let (api, _store) = api("bad");
    let guild = guilds_by_activity(state())[0];
    let cases = [
        ("period=year", "invalid_period"),
        ("period=0d", "invalid_period"),
        ("period=7", "invalid_period"),
        ("period=3661d", "invalid_period"),
        ("period=7d&at=yesterday", "invalid_at"),
        ("at=2026-02-01", "invalid_at"),
        ("from=2026-02-01", "invalid_window"),
        ("to=2026-02-01T00:00:00Z", "invalid_window"),
        (
            "from=2026-02-02T00:00:00Z&to=2026-02-01T00:00:00Z",
            "invalid_window",
        ),
        ("from=2026-02-01T00:00:00Z&period=7d", "invalid_window"),
        ("from=2030-01-01T00:00:00Z", "invalid_window"),
        (
            "from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "invalid_window",
        ),
        ("metric=xp&period=7d", "unsupported_metric"),
        (
            "metric=xp&period=all&at=2026-02-01T23:00:00Z",
            "unsupported_metric",
        ),
        ("period=7d&per_page=101", "invalid_per_page"),
    ];
    for (query, expected) in cases {
        let answer = get(&api, &format!("/api/guilds/{guild}/leaderboard?{query}")).await;
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str()),
            (400, Some(expected)),
            "{query}: {}",
            answer.body
        );
    }
    let unknown = get(&api, "/api/guilds/1/leaderboard?period=7d").await;
    assert_eq!(unknown.status, 404);
    // Store windows have their own latency series, apart from the live reads (parameter
    // errors answered before any store work count as the leaderboard route; the two
    // invalid_window cases above, the 404 and the 200 below are windows).
    let _ = get(&api, &format!("/api/guilds/{guild}/leaderboard?period=7d")).await;
    let _ = get(&api, &format!("/api/guilds/{guild}/leaderboard?period=day")).await;
    let metrics = warp::test::request().path("/metrics").reply(&api).await;
    let text = String::from_utf8(metrics.body().to_vec()).unwrap();
    for line in [
        "guildflow_http_request_duration_seconds_count{route=\"leaderboard_window\"} 4",
        "guildflow_http_requests_total{route=\"leaderboard_window\",status=\"200\"} 1",
        "guildflow_http_requests_total{route=\"leaderboard_window\",status=\"404\"} 1",
        "guildflow_http_requests_total{route=\"leaderboard\",status=\"200\"} 1",
    ] {
        assert!(text.contains(line), "missing {line} in {text}");
    }
    // Without a store, windows are 503 and live periods unaffected.
    let plain = routes(ApiContext::new(state().clone()));
    let answer = get(
        &plain,
        &format!("/api/guilds/{guild}/leaderboard?period=7d"),
    )
    .await;
    assert_eq!(
        (answer.status, answer.body["error"]["code"].as_str()),
        (503, Some("sql_unavailable"))
    );
    let live = get(
        &plain,
        &format!("/api/guilds/{guild}/leaderboard?period=week"),
    )
    .await;
    assert_eq!(live.status, 200);
}
