//! Golden JSON of every REST endpoint over a fixed capture (`fixtures/capture.jsonl`, written
//! by the workload generator with `common::fixture_config`, run through a one-worker
//! dataflow).
//!
//! - `GOLDEN_UPDATE=1 cargo test -p guildflow-api --test golden` rewrites `golden/*.json`
//!   instead of comparing (review the diff before committing it).
//! - `cargo test -p guildflow-api --test golden -- --ignored` writes the capture again (it is
//!   a fixture: a generator change must not change the goldens).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    admin_fixture, fixture_config, fixture_sql, fixture_state, fixture_store, guilds_by_activity,
    tests_dir, FIXTURE_EVENTS,
};
use guildflow_api::{routes, ApiContext};
use guildflow_model::{Metric, Period};
use guildflow_queries::SqlLimits;
use serde_json::{json, Value};

#[test]
#[ignore = "rewrites the fixture capture"]
fn regenerate_fixture_capture() {
    let mut out = Vec::new();
    guildflow_shards::workload::write_capture(&fixture_config(), FIXTURE_EVENTS, &mut out).unwrap();
    std::fs::write(tests_dir().join("fixtures/capture.jsonl"), out).unwrap();
}

/// One recorded exchange: the request line, the status, the content type and the body (JSON
/// parsed, anything else as text).
async fn exchange(
    filter: &warp::filters::BoxedFilter<(warp::reply::Response,)>,
    path: &str,
    accept: Option<&str>,
) -> Value {
    let mut request = warp::test::request().path(path);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.reply(filter).await;
    let mut record = record(&response, format!("GET {path}"));
    // Store windows say which span they covered.
    for name in ["x-guildflow-window-from", "x-guildflow-window-to"] {
        if let Some(value) = response.headers().get(name) {
            record[name] = Value::String(value.to_str().unwrap().to_owned());
        }
    }
    record
}

/// One `POST /sql` exchange, recorded like [`exchange`].
async fn sql_exchange(
    filter: &warp::filters::BoxedFilter<(warp::reply::Response,)>,
    guild: u64,
    sql: &str,
) -> Value {
    let path = format!("/api/guilds/{guild}/sql");
    let response = warp::test::request()
        .method("POST")
        .path(&path)
        .json(&json!({ "sql": sql }))
        .reply(filter)
        .await;
    let mut record = record(&response, format!("POST {path}"));
    record["request_body"] = json!({ "sql": sql });
    record
}

/// One exchange with a JSON body (`POST`, `PATCH`, ...), recorded like [`exchange`].
async fn json_exchange(
    filter: &warp::filters::BoxedFilter<(warp::reply::Response,)>,
    method: &str,
    path: &str,
    body: &Value,
) -> Value {
    let response = warp::test::request()
        .method(method)
        .path(path)
        .json(body)
        .reply(filter)
        .await;
    let mut record = record(&response, format!("{method} {path}"));
    record["request_body"] = body.clone();
    record
}

fn record(response: &warp::http::Response<warp::hyper::body::Bytes>, request: String) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    let body = if content_type.starts_with("application/json") {
        serde_json::from_str(&text).unwrap()
    } else {
        Value::String(text)
    };
    json!({
        "request": request,
        "status": response.status().as_u16(),
        "content_type": content_type,
        "body": body,
    })
}

fn check(name: &str, actual: &Value) {
    let path = tests_dir().join("golden").join(format!("{name}.json"));
    let rendered = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::write(&path, rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with GOLDEN_UPDATE=1", path.display()));
    assert_eq!(
        rendered,
        expected,
        "{name} differs from {} (GOLDEN_UPDATE=1 rewrites it)",
        path.display()
    );
}

#[tokio::test]
async fn rest_endpoints_match_their_golden_files() {
    let state = fixture_state();
    let guilds = guilds_by_activity(&state);
    assert!(guilds.len() >= 2, "the fixture has several guilds");
    let (busy, quiet) = (guilds[0], guilds[guilds.len() - 1]);
    let top = {
        let published = state.read();
        let top: Vec<u64> = published
            .leaderboard(busy, Metric::Score, Period::All, 0, 2)
            .entries
            .iter()
            .map(|e| e.user_id.get())
            .collect();
        top
    };
    assert_eq!(top.len(), 2, "the busiest guild has two ranked members");
    let filter = routes(ApiContext::new(state));

    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "leaderboard_score_all",
            format!("/api/guilds/{busy}/leaderboard?metric=score&period=all&per_page=5"),
            None,
        ),
        (
            "leaderboard_messages_day_page2",
            format!("/api/guilds/{busy}/leaderboard?metric=messages&period=day&page=2&per_page=3"),
            None,
        ),
        (
            "leaderboard_voice_week",
            format!("/api/guilds/{busy}/leaderboard?metric=voice&period=week"),
            None,
        ),
        (
            "leaderboard_reactions_month",
            format!("/api/guilds/{busy}/leaderboard?metric=reactions&period=month&per_page=10"),
            None,
        ),
        (
            "leaderboard_xp_all_quiet_guild",
            format!("/api/guilds/{quiet}/leaderboard?metric=xp&period=all"),
            None,
        ),
        (
            "leaderboard_past_the_end",
            format!("/api/guilds/{busy}/leaderboard?page=1000&per_page=100"),
            None,
        ),
        (
            "leaderboard_csv_export",
            format!("/api/guilds/{busy}/leaderboard?metric=score&period=all&format=csv"),
            None,
        ),
        (
            "leaderboard_csv_by_accept_page",
            format!("/api/guilds/{busy}/leaderboard?metric=messages&per_page=3"),
            Some("text/csv"),
        ),
        (
            "member_stats_first",
            format!("/api/guilds/{busy}/members/{}/stats", top[0]),
            None,
        ),
        (
            "member_stats_second",
            format!("/api/guilds/{busy}/members/{}/stats", top[1]),
            None,
        ),
        (
            "guild_stats_busy",
            format!("/api/guilds/{busy}/stats"),
            None,
        ),
        (
            "guild_stats_quiet",
            format!("/api/guilds/{quiet}/stats"),
            None,
        ),
        (
            "error_bad_metric",
            format!("/api/guilds/{busy}/leaderboard?metric=karma"),
            None,
        ),
        (
            "error_per_page_101",
            format!("/api/guilds/{busy}/leaderboard?per_page=101"),
            None,
        ),
        (
            "error_unknown_guild",
            "/api/guilds/1/stats".to_owned(),
            None,
        ),
        (
            "error_unknown_member",
            format!("/api/guilds/{busy}/members/2/stats"),
            None,
        ),
        (
            "error_invalid_user_id",
            format!("/api/guilds/{busy}/members/me/stats"),
            None,
        ),
        ("error_no_route", "/api/nothing".to_owned(), None),
        ("guilds", "/api/guilds".to_owned(), None),
    ];
    for (name, path, accept) in cases {
        check(name, &exchange(&filter, &path, accept).await);
    }
}

#[tokio::test]
async fn store_endpoints_match_their_golden_files() {
    let state = fixture_state();
    let busy = guilds_by_activity(&state)[0];
    let store = fixture_store("golden");
    let filter = routes(ApiContext::new(state).with_sql(fixture_sql(&store, SqlLimits::default())));
    let sql_cases = [
        (
            "sql_messages_per_member",
            "SELECT user_id, count(DISTINCT message_id) AS messages, min(ts) AS first \
             FROM events WHERE kind = 'message_create' AND NOT bot \
             GROUP BY user_id ORDER BY messages DESC, user_id LIMIT 5",
        ),
        ("sql_error_not_read_only", "DROP TABLE events"),
    ];
    for (name, sql) in sql_cases {
        check(name, &sql_exchange(&filter, busy, sql).await);
    }
    let window_cases = [
        (
            "leaderboard_window_score_1h",
            format!("/api/guilds/{busy}/leaderboard?metric=score&period=1h&per_page=5"),
        ),
        (
            "leaderboard_window_messages_day_at",
            format!("/api/guilds/{busy}/leaderboard?metric=messages&period=day&at=2026-02-01T23:00:00Z&per_page=5"),
        ),
    ];
    for (name, path) in window_cases {
        check(name, &exchange(&filter, &path, None).await);
    }
}

/// The admin routes' deterministic answers (a fresh admin plane: defaults, presets, a dry run),
/// and the 503 of a server without the plane. Nothing here carries a time or a journal id.
#[tokio::test]
async fn admin_endpoints_match_their_golden_files() {
    let state = fixture_state();
    let busy = guilds_by_activity(&state)[0];
    let admin = admin_fixture("golden");
    let plain = routes(ApiContext::new(state.clone()));
    let filter = routes(ApiContext::new(state).with_admin(admin.plane.clone()));
    let gets = [
        (
            "admin_settings_default",
            format!("/api/guilds/{busy}/settings"),
        ),
        (
            "admin_automod_presets",
            format!("/api/guilds/{busy}/automod/presets"),
        ),
        (
            "admin_automod_rules_empty",
            format!("/api/guilds/{busy}/automod/rules"),
        ),
        (
            "admin_opt_out_default",
            format!("/api/guilds/{busy}/members/2/opt-out"),
        ),
        (
            "error_admin_unknown_rule",
            format!("/api/guilds/{busy}/automod/rules/99"),
        ),
        (
            "error_admin_bad_limit",
            format!("/api/guilds/{busy}/moderation/logs?limit=0"),
        ),
    ];
    for (name, path) in gets {
        check(name, &exchange(&filter, &path, None).await);
    }
    let test = json!({
        "rule": {
            "name": "caps",
            "trigger": {"type": "caps", "max_ratio_percent": 70},
            "actions": [{"type": "delete"}, {"type": "timeout", "seconds": 60}]
        },
        "messages": [
            {"content": "hello there friends"},
            {"content": "THIS IS ALL CAPS SHOUTING"},
            {"content": "OK"}
        ]
    });
    let path = format!("/api/guilds/{busy}/automod/rules/test");
    check(
        "admin_rule_test",
        &json_exchange(&filter, "POST", &path, &test).await,
    );
    let path = format!("/api/guilds/{busy}/settings");
    check(
        "error_admin_invalid_settings",
        &json_exchange(&filter, "PATCH", &path, &json!({"language": "xx"})).await,
    );
    check(
        "error_admin_unavailable",
        &exchange(&plain, &path, None).await,
    );
}
