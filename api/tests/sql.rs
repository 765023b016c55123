//! `POST /api/guilds/{guild}/sql` in process, over a real `GuildSql` on a Parquet store
//! holding the fixture capture: isolation, content negotiation, rejected statements, body
//! limits, rate limits, timeouts and the route's metrics label.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture_rows, fixture_sql, fixture_state, fixture_store, guilds_by_activity};
use guildflow_api::{routes, ApiConfig, ApiContext};
use guildflow_dataflow::state::StatsState;
use guildflow_queries::SqlLimits;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use warp::filters::BoxedFilter;
use warp::reply::Response;

type Api = BoxedFilter<(Response,)>;
/// What `warp::test` hands back.
type Reply = warp::http::Response<warp::hyper::body::Bytes>;

fn state() -> &'static StatsState {
    static STATE: OnceLock<StatsState> = OnceLock::new();
    STATE.get_or_init(fixture_state)
}

fn busy() -> u64 {
    guilds_by_activity(state())[0]
}

/// An API over the fixture state and store; the store guard must outlive the API.
fn api(name: &str, config: ApiConfig, limits: SqlLimits) -> (Api, common::FixtureStore) {
    let store = fixture_store(name);
    let sql = fixture_sql(&store, limits);
    let ctx = ApiContext::new(state().clone())
        .with_config(config)
        .with_sql(sql);
    (routes(ctx), store)
}

/// Rate limits out of the way (they have their own test).
fn default_api(name: &str) -> (Api, common::FixtureStore) {
    let config = ApiConfig {
        sql_ip_burst: 1000.0,
        sql_guild_burst: 1000.0,
        ..ApiConfig::default()
    };
    api(name, config, SqlLimits::default())
}

fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, last], 40000))
}

async fn post(api: &Api, guild: u64, sql: &str, accept: Option<&str>) -> Reply {
    let mut request = warp::test::request()
        .method("POST")
        .path(&format!("/api/guilds/{guild}/sql"))
        .remote_addr(addr(1))
        .json(&json!({ "sql": sql }));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.reply(api).await
}

fn body(response: &Reply) -> Value {
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

fn code(response: &Reply) -> (u16, String) {
    let body = body(response);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json",
        "{body}"
    );
    assert!(body["error"]["message"].is_string(), "{body}");
    (
        response.status().as_u16(),
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_query_sees_only_its_guilds_rows() {
    let (api, _store) = default_api("isolation");
    let guild = busy();
    let stored = fixture_rows()
        .0
        .iter()
        .filter(|r| r.guild_id == Some(guild))
        .count();
    let response = post(
        &api,
        guild,
        "SELECT guild_id, count(*) AS n FROM events GROUP BY guild_id",
        None,
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    assert_eq!(
        body(&response),
        json!({"columns": ["guild_id", "n"], "rows": [[guild.to_string(), stored]], "truncated": false})
    );
    // Asking for the other guilds explicitly finds nothing.
    let response = post(
        &api,
        guild,
        &format!("SELECT * FROM events WHERE guild_id <> {guild} OR true UNION ALL SELECT * FROM events WHERE guild_id <> {guild}"),
        None,
    )
    .await;
    let rows = body(&response)["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), stored, "OR true returns the guild's rows only");
    // A guild without rows answers an empty result, not a 404: the store may know guilds
    // the live views do not.
    let response = post(&api, 1, "SELECT count(*) AS n FROM events", None).await;
    assert_eq!(
        body(&response),
        json!({"columns": ["n"], "rows": [[0]], "truncated": false})
    );
}

#[tokio::test]
async fn csv_and_arrow_by_accept() {
    let (api, _store) = default_api("formats");
    let guild = busy();
    let sql = "SELECT user_id, count(DISTINCT message_id) AS messages FROM events \
               WHERE kind = 'message_create' AND NOT bot GROUP BY user_id \
               ORDER BY messages DESC, user_id LIMIT 3";
    let json = body(&post(&api, guild, sql, None).await);
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);

    let csv = post(&api, guild, sql, Some("text/csv")).await;
    assert_eq!(csv.status(), 200);
    assert_eq!(
        csv.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(csv.headers().get("x-guildflow-truncated").unwrap(), "false");
    assert!(csv
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = String::from_utf8(csv.body().to_vec()).unwrap();
    let mut expected = String::from("user_id,messages\n");
    for row in rows {
        expected.push_str(&format!("{},{}\n", row[0].as_str().unwrap(), row[1]));
    }
    assert_eq!(text, expected);

    let arrow = post(
        &api,
        guild,
        sql,
        Some("application/vnd.apache.arrow.stream, application/json;q=0.5"),
    )
    .await;
    assert_eq!(arrow.status(), 200);
    assert_eq!(
        arrow.headers().get("content-type").unwrap(),
        "application/vnd.apache.arrow.stream"
    );
    let reader = arrow::ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(arrow.body().to_vec()),
        None,
    )
    .unwrap();
    let schema = reader.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["user_id", "messages"]);
    let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);

    let refused = post(&api, guild, sql, Some("application/xml")).await;
    assert_eq!(code(&refused), (406, "not_acceptable".to_owned()));
}

#[tokio::test]
async fn anything_but_one_read_is_a_400_with_its_code() {
    let (api, _store) = default_api("rejected");
    let guild = busy();
    let cases = [
        ("CREATE TABLE t (a INT)", "not_read_only"),
        (
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
            "not_read_only",
        ),
        ("DROP TABLE events", "not_read_only"),
        ("INSERT INTO events SELECT * FROM events", "not_read_only"),
        (
            "COPY (SELECT * FROM events) TO '/tmp/out.csv'",
            "not_read_only",
        ),
        ("SET datafusion.execution.batch_size = 1", "not_read_only"),
        ("SELECT 1; SELECT 2", "multiple_statements"),
        ("", "empty"),
        ("EXPLAIN SELECT * FROM events", "explain_not_allowed"),
        ("SELECT * FROM 'file:///etc/passwd'", "forbidden_table"),
        ("SELECT * FROM information_schema.tables", "forbidden_table"),
        ("SELEC 1", "parse"),
        ("SELECT nope FROM events", "plan"),
    ];
    for (sql, expected) in cases {
        let response = post(&api, guild, sql, None).await;
        assert_eq!(code(&response), (400, expected.to_owned()), "{sql}");
    }
}

#[tokio::test]
async fn bodies_are_bounded_and_checked() {
    let (api, _store) = default_api("bodies");
    let guild = busy();
    // 1 MB of SQL: refused from its Content-Length, before the body is read.
    let huge = format!("SELECT 1 {}", " ".repeat(1024 * 1024));
    let response = post(&api, guild, &huge, None).await;
    assert_eq!(code(&response), (413, "payload_too_large".to_owned()));
    // Within the route's body limit, over the SQL text limit.
    let large = format!("SELECT 1 {}", " ".repeat(100 * 1024));
    let response = post(&api, guild, &large, None).await;
    assert_eq!(code(&response), (400, "sql_too_large".to_owned()));
    // The general 16 KiB limit does not apply here, and still does elsewhere.
    let medium = format!("SELECT 1 AS one {}", " ".repeat(20 * 1024));
    assert_eq!(post(&api, guild, &medium, None).await.status(), 200);
    let response = warp::test::request()
        .path(&format!("/api/guilds/{guild}/stats"))
        .body(vec![b'x'; 20 * 1024])
        .reply(&api)
        .await;
    assert_eq!(code(&response), (413, "payload_too_large".to_owned()));

    let request = || {
        warp::test::request()
            .method("POST")
            .path(&format!("/api/guilds/{guild}/sql"))
    };
    let chunked = request()
        .header("transfer-encoding", "chunked")
        .header("content-type", "application/json")
        .reply(&api)
        .await;
    assert_eq!(code(&chunked), (413, "payload_too_large".to_owned()));
    let form = request()
        .header("content-type", "application/x-www-form-urlencoded")
        .body("sql=SELECT+1")
        .reply(&api)
        .await;
    assert_eq!(code(&form), (415, "unsupported_media_type".to_owned()));
    let bad = request()
        .header("content-type", "application/json")
        .body(r#"{"query":"SELECT 1"}"#)
        .reply(&api)
        .await;
    assert_eq!(code(&bad), (400, "invalid_body".to_owned()));
    let get = warp::test::request()
        .path(&format!("/api/guilds/{guild}/sql"))
        .reply(&api)
        .await;
    assert_eq!(code(&get), (405, "method_not_allowed".to_owned()));
    let bad_id = warp::test::request()
        .method("POST")
        .path("/api/guilds/abc/sql")
        .json(&json!({"sql": "SELECT 1"}))
        .reply(&api)
        .await;
    assert_eq!(code(&bad_id), (400, "invalid_id".to_owned()));
}

#[tokio::test]
async fn without_a_store_the_route_is_503() {
    let api = routes(ApiContext::new(state().clone()));
    let response = post(&api, busy(), "SELECT 1", None).await;
    assert_eq!(code(&response), (503, "sql_unavailable".to_owned()));
}

#[tokio::test]
async fn rate_limits_are_per_address_and_per_guild() {
    let config = ApiConfig {
        sql_ip_per_second: 0.01,
        sql_ip_burst: 2.0,
        sql_guild_per_second: 0.01,
        sql_guild_burst: 3.0,
        ..ApiConfig::default()
    };
    let (api, _store) = api("ratelimit", config, SqlLimits::default());
    let guild = busy();
    let from = |last: u8| {
        warp::test::request()
            .method("POST")
            .path(&format!("/api/guilds/{guild}/sql"))
            .remote_addr(addr(last))
            .json(&json!({"sql": "SELECT 1 AS one"}))
    };
    assert_eq!(from(1).reply(&api).await.status(), 200);
    assert_eq!(from(1).reply(&api).await.status(), 200);
    let limited = from(1).reply(&api).await;
    assert_eq!(code(&limited), (429, "rate_limited".to_owned()));
    let retry: u64 = limited
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=100).contains(&retry), "{retry}");
    // Another address has its own budget, but the guild's (3) is now spent.
    assert_eq!(from(2).reply(&api).await.status(), 200);
    let guild_limited = from(3).reply(&api).await;
    assert_eq!(code(&guild_limited), (429, "rate_limited".to_owned()));
    assert!(body(&guild_limited)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("guild"));
    // Windowed leaderboards draw on the same budget; live ones do not.
    let window = warp::test::request()
        .path(&format!("/api/guilds/{guild}/leaderboard?period=7d"))
        .remote_addr(addr(4))
        .reply(&api)
        .await;
    assert_eq!(code(&window), (429, "rate_limited".to_owned()));
    let live = warp::test::request()
        .path(&format!("/api/guilds/{guild}/leaderboard?period=day"))
        .remote_addr(addr(4))
        .reply(&api)
        .await;
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn a_timeout_is_a_504_and_the_route_has_its_metrics_label() {
    let limits = SqlLimits {
        timeout: Duration::from_millis(1),
        ..SqlLimits::default()
    };
    let (api, _store) = api("timeout", ApiConfig::default(), limits);
    let response = post(
        &api,
        busy(),
        "SELECT count(*) FROM generate_series(1, 10000000000)",
        None,
    )
    .await;
    assert_eq!(code(&response), (504, "timeout".to_owned()));
    let metrics = warp::test::request().path("/metrics").reply(&api).await;
    let text = String::from_utf8(metrics.body().to_vec()).unwrap();
    for line in [
        "guildflow_http_request_duration_seconds_count{route=\"sql\"} 1",
        "guildflow_http_requests_total{route=\"sql\",status=\"504\"} 1",
    ] {
        assert!(text.contains(line), "missing {line}");
    }
}
