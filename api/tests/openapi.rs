//! `api/openapi.json` stays true to the server: it describes exactly the route tree's routes
//! (`filters::ROUTES`, each probed), every golden response and every probed response (status,
//! content type, body schema, error code) is what the document says, the websocket frames
//! match its protocol schemas, and every error code the handlers can emit is documented.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "openapi/schema.rs"]
mod schema;

use common::{fixture_state, guilds_by_activity, tests_dir};
use guildflow_api::filters::ROUTES;
use guildflow_api::metrics::Route;
use guildflow_api::{routes, ApiConfig, ApiContext, RateLimit, Readiness};
use guildflow_dataflow::state::StatsState;
use schema::{unsupported_keywords, Validator};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use warp::filters::BoxedFilter;
use warp::reply::Response;

type Api = BoxedFilter<(Response,)>;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = std::fs::read_to_string(crate_dir().join("openapi.json")).unwrap();
        serde_json::from_str(&text).expect("openapi.json is JSON")
    })
}

fn fixture() -> &'static (StatsState, u64) {
    static FIXTURE: OnceLock<(StatsState, u64)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let state = fixture_state();
        let busy = guilds_by_activity(&state)[0];
        (state, busy)
    })
}

/// (METHOD, path template) of every documented operation.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    out
}

/// The path parameters of `path` when it fits `template` (`{name}` matches one segment).
fn fit(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (t, p) in t.iter().zip(&p) {
        match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(name) => {
                params.insert(name.to_owned(), (*p).to_owned());
            }
            None if t == p => {}
            None => return None,
        }
    }
    Some(params)
}

/// The template of a concrete path, among the documented ones.
fn template_of(path: &str) -> Option<String> {
    document()["paths"]
        .as_object()
        .unwrap()
        .keys()
        .find(|t| fit(t, path).is_some())
        .cloned()
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex))
                if std::str::from_utf8(hex).is_ok_and(|h| u8::from_str_radix(h, 16).is_ok()) =>
            {
                let hex = std::str::from_utf8(hex).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks one exchange against the document: the operation documents `status`, the media type
/// (and the body's schema), an error's code among the response's `x-error-codes`, and on a
/// 2xx the request's parameters against their schemas.
fn check_exchange(method: &str, target: &str, status: u16, content_type: &str, body: &Value) {
    let doc = document();
    let validator = Validator::new(doc);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let what = format!("{method} {target} → {status}");
    let Some(template) = template_of(path) else {
        // No route: the generic 404.
        assert_eq!(status, 404, "{what}: undocumented path");
        let errors = validator.errors(&doc["components"]["schemas"]["Error"], body);
        assert!(errors.is_empty(), "{what}: {errors:?}");
        assert_eq!(body["error"]["code"], "not_found", "{what}");
        return;
    };
    let item = &doc["paths"][&template];
    let mut operation = &item[method.to_ascii_lowercase()];
    if status == 405 && operation.is_null() {
        // Another method on a documented path: its operations document the 405.
        operation = item.as_object().unwrap().values().next().unwrap();
    }
    assert!(
        operation.is_object(),
        "{what}: {method} {template} is not documented"
    );
    let response = &operation["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{what}: status not documented for {template}"
    );
    let media = content_type.split(';').next().unwrap().trim();
    if status != 101 {
        let content = &response["content"][media];
        assert!(content.is_object(), "{what}: {media} not documented");
        if let Some(schema) = content.get("schema") {
            let errors = validator.errors(schema, body);
            assert!(errors.is_empty(), "{what}: {errors:#?}");
        }
    }
    if status >= 400 {
        if let Some(codes) = response.get("x-error-codes") {
            let code = body["error"]["code"].as_str().unwrap();
            assert!(
                codes.as_array().unwrap().iter().any(|c| c == code),
                "{what}: code {code} not in the response's x-error-codes {codes}"
            );
        }
    }
    if (200..300).contains(&status) {
        let parameters = parameters(operation);
        for (name, value) in fit(&template, path).unwrap() {
            let schema = &parameters[&("path".to_owned(), name.clone())];
            let errors = validator.errors(schema, &Value::String(value));
            assert!(
                errors.is_empty(),
                "{what}: path parameter {name}: {errors:?}"
            );
        }
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (percent_decode(name), percent_decode(value));
            // Unknown parameters are ignored by the server, as documented.
            let Some(schema) = parameters.get(&("query".to_owned(), name.clone())) else {
                continue;
            };
            let value = if schema["type"] == "integer" {
                Value::from(value.parse::<i64>().unwrap())
            } else {
                Value::String(value)
            };
            let errors = validator.errors(schema, &value);
            assert!(errors.is_empty(), "{what}: {name}: {errors:?}");
        }
    }
}

/// (in, name) → schema of an operation's parameters, `$ref`s resolved.
fn parameters(operation: &Value) -> BTreeMap<(String, String), Value> {
    let validator = Validator::new(document());
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| match p.get("$ref").and_then(Value::as_str) {
            Some(r) => validator.resolve(r).unwrap(),
            None => p,
        })
        .map(|p| {
            (
                (
                    p["in"].as_str().unwrap().to_owned(),
                    p["name"].as_str().unwrap().to_owned(),
                ),
                p["schema"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_served_document_is_the_file() {
    let api = routes(ApiContext::new(StatsState::new()));
    let response = warp::test::request()
        .path("/api/openapi.json")
        .reply(&api)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    let served: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(&served, document());
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1."));
    check_exchange("GET", "/api/openapi.json", 200, "application/json", &served);
}

#[test]
fn the_document_describes_exactly_the_route_tree() {
    let documented = operations(document());
    let tree: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        documented, tree,
        "openapi.json paths and filters::ROUTES differ"
    );
    // Every metrics route label (but the catch-all and the finer window label) is a route.
    for route in Route::ALL {
        if matches!(route, Route::Other | Route::LeaderboardWindow) {
            continue;
        }
        assert!(
            ROUTES.iter().any(|(_, p)| Route::classify(p) == route),
            "route label {} has no entry in ROUTES",
            route.as_str()
        );
    }
}

#[test]
fn every_schema_uses_only_checked_keywords() {
    let doc = document();
    let mut out = Vec::new();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        unsupported_keywords(schema, name, &mut out);
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (_, p) in parameters(operation) {
                unsupported_keywords(&p, &format!("{method} {path} parameter"), &mut out);
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    if let Some(schema) = content.get("schema") {
                        unsupported_keywords(schema, &format!("{path} {status} {media}"), &mut out);
                    }
                }
            }
        }
    }
    assert!(
        out.is_empty(),
        "keywords the test validator skips: {out:#?}"
    );
}

fn with_method(method: &str) -> warp::test::RequestBuilder {
    warp::test::request().method(method)
}

/// Requests `path` with `method` and checks the answer against the document; returns it.
async fn probe(
    api: &Api,
    request: warp::test::RequestBuilder,
    method: &str,
    path: &str,
) -> (u16, Value) {
    let response = request.path(path).reply(api).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = if content_type.starts_with("application/json") {
        serde_json::from_slice(response.body()).unwrap()
    } else {
        Value::String(String::from_utf8_lossy(response.body()).into_owned())
    };
    check_exchange(method, path, status, &content_type, &body);
    if status == 429 {
        assert!(response.headers().get("retry-after").is_some(), "{path}");
    }
    (status, body)
}

/// A concrete path of a template (guild `g`, user `u`).
fn concrete(template: &str, guild: u64, user: u64) -> String {
    template
        .replace("{guild}", &guild.to_string())
        .replace("{user}", &user.to_string())
}

#[tokio::test]
async fn every_documented_route_answers_its_method_and_only_it() {
    let (state, busy) = fixture();
    let api = routes(ApiContext::new(state.clone()));
    for (method, template) in ROUTES {
        let path = concrete(template, *busy, 2);
        let request = match method {
            "POST" => with_method("POST")
                .header("content-type", "application/json")
                .body(r#"{"sql":"SELECT 1"}"#),
            _ => with_method(method),
        };
        let (status, body) = probe(&api, request, method, &path).await;
        assert!(
            status != 405 && !(status == 404 && body["error"]["code"] == "not_found"),
            "{method} {path}: {status} {body}"
        );
        let other = if method == "GET" { "PUT" } else { "GET" };
        let (status, body) = probe(&api, with_method(other), other, &path).await;
        assert_eq!(status, 405, "{other} {path}: {body}");
    }
    let (status, _) = probe(&api, with_method("GET"), "GET", "/api/guilds").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn error_responses_are_documented_per_route() {
    let (state, busy) = fixture();
    let api = routes(ApiContext::new(state.clone()));
    let lb = format!("/api/guilds/{busy}/leaderboard");
    let gets = [
        format!("{lb}?metric=karma"),
        format!("{lb}?period=year"),
        format!("{lb}?page=0"),
        format!("{lb}?per_page=101"),
        format!("{lb}?format=xml"),
        format!("{lb}?at=yesterday"),
        format!("{lb}?to=2026-01-01T00:00:00Z"),
        format!("{lb}?metric=xp&period=7d"),
        format!("{lb}?period=7d"),
        format!("{lb}?metric=messages&period=day&format=csv&per_page=3"),
        format!("{lb}?%ZZ"),
        "/api/guilds/1/leaderboard".to_owned(),
        "/api/guilds/007/leaderboard".to_owned(),
        format!("/api/guilds/{busy}/members/me/stats"),
        format!("/api/guilds/{busy}/members/2/stats"),
        "/api/guilds/1/members/2/stats".to_owned(),
        "/api/guilds/x/stats".to_owned(),
        "/api/guilds/1/stats".to_owned(),
        "/api/guilds/x/live".to_owned(),
        "/api/guilds/1/live".to_owned(),
        "/health".to_owned(),
        "/metrics".to_owned(),
        "/nothing".to_owned(),
    ];
    for path in &gets {
        probe(&api, with_method("GET"), "GET", path).await;
    }
    // Bodies: too large, chunked.
    for path in [lb.clone(), "/health".to_owned()] {
        let request = with_method("GET").header("content-length", "100000");
        let (status, _) = probe(&api, request, "GET", &path).await;
        assert_eq!(status, 413);
    }
    let sql = format!("/api/guilds/{busy}/sql");
    let json = |body: &'static str| {
        with_method("POST")
            .header("content-type", "application/json")
            .body(body)
    };
    for (request, expected) in [
        (json(r#"{"sql":"SELECT 1"}"#), 503),
        (
            json(r#"{"sql":"SELECT 1"}"#).header("content-length", "1000000"),
            413,
        ),
    ] {
        let (status, body) = probe(&api, request, "POST", &sql).await;
        assert_eq!(status, expected, "{body}");
    }
    // The body and format checks come after the store's presence.
    let store = common::fixture_store("openapi");
    let with_store = routes(ApiContext::new(state.clone()).with_sql(common::fixture_sql(
        &store,
        guildflow_queries::SqlLimits::default(),
    )));
    for (request, expected) in [
        (json("not json"), 400),
        (json(r#"{"sql":"DROP TABLE events"}"#), 400),
        (with_method("POST").body(r#"{"sql":"SELECT 1"}"#), 415),
        (
            json(r#"{"sql":"SELECT 1"}"#).header("accept", "image/png"),
            406,
        ),
        (
            json(r#"{"sql":"SELECT 1"}"#).header("accept", "text/csv"),
            200,
        ),
        (
            json(r#"{"sql":"SELECT 1"}"#).header("accept", "application/vnd.apache.arrow.stream"),
            200,
        ),
    ] {
        let (status, body) = probe(&with_store, request, "POST", &sql).await;
        assert_eq!(status, expected, "{body}");
    }
    let windows = [
        format!("{lb}?period=7d&per_page=3"),
        format!("{lb}?from=2026-02-01T00:00:00Z&to=2026-02-03T00:00:00Z"),
        format!("{lb}?period=all&at=2026-02-01T23:00:00Z&format=csv"),
    ];
    for path in &windows {
        let (status, body) = probe(&with_store, with_method("GET"), "GET", path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    probe(&api, json("{}"), "POST", "/api/guilds/0/sql").await;

    // Readiness, client cap.
    let starting = routes(ApiContext::new(state.clone()).with_readiness(Readiness::pending()));
    let (status, _) = probe(&starting, with_method("GET"), "GET", "/health").await;
    assert_eq!(status, 503);
    let full = routes(ApiContext::new(state.clone()).with_config(ApiConfig {
        ws_max_clients: 0,
        ..ApiConfig::default()
    }));
    let upgrade = with_method("GET")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    let (status, _) = probe(&full, upgrade, "GET", &format!("/api/guilds/{busy}/live")).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn rate_limited_answers_are_documented_and_monitoring_is_exempt() {
    let (state, busy) = fixture();
    let api = routes(ApiContext::new(state.clone()).with_config(ApiConfig {
        client_rate: Some(RateLimit {
            per_second: 0.001,
            burst: 1.0,
        }),
        ..ApiConfig::default()
    }));
    for (i, (method, template)) in ROUTES.iter().enumerate() {
        let path = concrete(template, *busy, 2);
        let address = format!("10.1.0.{i}:4000").parse().unwrap();
        let mut statuses = Vec::new();
        for _ in 0..2 {
            let request = with_method(method)
                .remote_addr(address)
                .header("content-type", "application/json")
                .body(r#"{"sql":"SELECT 1"}"#);
            statuses.push(probe(&api, request, method, &path).await.0);
        }
        let exempt = matches!(*template, "/health" | "/metrics");
        assert_eq!(statuses[1] == 429, !exempt, "{method} {path}: {statuses:?}");
    }
}

#[tokio::test]
async fn websocket_frames_follow_the_documented_protocol() {
    let (state, busy) = fixture();
    let api = routes(ApiContext::new(state.clone()));
    let doc = document();
    let validator = Validator::new(doc);
    let protocol = &doc["paths"]["/api/guilds/{guild}/live"]["get"]["x-websocket"];
    let frames = &protocol["serverFrames"];
    let messages = &protocol["clientMessages"];
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{busy}/live"))
        .handshake(api)
        .await
        .expect("upgraded");
    for (message, kind) in [
        (
            r#"{"subscribe":{"metric":"score","period":"all","limit":3}}"#,
            "leaderboard",
        ),
        (
            r#"{"subscribe":{"metric":"score","period":"all","limit":0}}"#,
            "error",
        ),
        ("not json", "error"),
    ] {
        let parsed: Value = serde_json::from_str(message).unwrap_or(Value::Null);
        let valid = validator.errors(messages, &parsed).is_empty();
        assert_eq!(valid, message.contains("limit\":3"), "{message}");
        client.send_text(message).await;
        let frame = loop {
            let received = tokio::time::timeout(std::time::Duration::from_secs(10), client.recv())
                .await
                .unwrap()
                .unwrap();
            let frame: Value = serde_json::from_str(received.to_str().unwrap()).unwrap();
            if frame["type"] == kind {
                break frame;
            }
        };
        let errors = validator.errors(frames, &frame);
        assert!(errors.is_empty(), "{frame}: {errors:?}");
    }
}

#[test]
fn golden_responses_match_the_document() {
    let mut checked = 0;
    for entry in std::fs::read_dir(tests_dir().join("golden")).unwrap() {
        let path = entry.unwrap().path();
        let golden: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let request = golden["request"].as_str().unwrap();
        let (method, target) = request.split_once(' ').unwrap();
        check_exchange(
            method,
            target,
            u16::try_from(golden["status"].as_u64().unwrap()).unwrap(),
            golden["content_type"].as_str().unwrap(),
            &golden["body"],
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} golden files");
}

/// String literals passed as the code of a `Problem` in `source`.
fn problem_codes(source: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (constructor, skip_status) in [
        ("Problem::new(", true),
        ("Problem::bad_request(", false),
        ("Problem::not_found(", false),
    ] {
        for (start, _) in source.match_indices(constructor) {
            let mut rest = &source[start + constructor.len()..];
            if skip_status {
                rest = &rest[rest.find(',').unwrap() + 1..];
            }
            if let Some(literal) = rest.trim_start().strip_prefix('"') {
                codes.insert(literal[..literal.find('"').unwrap()].to_owned());
            }
        }
    }
    if source.contains("Problem::rate_limited(") {
        codes.insert("rate_limited".to_owned());
    }
    codes
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn enum_of(schema: &Value) -> BTreeSet<String> {
    schema["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_error_code_the_handlers_emit_is_documented() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let http = enum_of(&schemas["Error"]["properties"]["error"]["properties"]["code"]);
    let ws = enum_of(&schemas["WsErrorFrame"]["properties"]["error"]["properties"]["code"]);
    let mut files = Vec::new();
    rust_files(&crate_dir().join("src"), &mut files);
    let mut emitted = BTreeSet::new();
    // Every snake_case string literal: some codes are picked into a variable first.
    let mut literals = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        literals.extend(
            source
                .split('"')
                .skip(1)
                .step_by(2)
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                .map(str::to_owned),
        );
        // Only the session and its protocol answer in websocket error frames.
        let frames = file.ends_with("live/protocol.rs") || file.ends_with("live/session.rs");
        for code in problem_codes(&source) {
            let documented = if frames { &ws } else { &http };
            assert!(
                documented.contains(&code),
                "{} emits {code:?}, not in the document's {} codes",
                file.display(),
                if frames { "websocket" } else { "HTTP" }
            );
            emitted.insert(code);
        }
    }
    // The query layer's codes (SqlError::code), answered by `/sql` and store windows.
    let queries = std::fs::read_to_string(crate_dir().join("../queries/src/error.rs")).unwrap();
    let sql_codes: BTreeSet<String> = queries
        .lines()
        .filter(|l| l.trim_start().starts_with("SqlError::"))
        .filter_map(|l| l.split("=> \"").nth(1))
        .map(|rest| rest.trim_end_matches(['"', ',']).to_owned())
        .collect();
    assert!(sql_codes.len() >= 10, "{sql_codes:?}");
    let sql_responses = &doc["paths"]["/api/guilds/{guild}/sql"]["post"]["responses"];
    let sql_documented: BTreeSet<String> = sql_responses
        .as_object()
        .unwrap()
        .values()
        .flat_map(|r| r["x-error-codes"].as_array().into_iter().flatten())
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    for code in &sql_codes {
        assert!(
            sql_documented.contains(code),
            "SqlError code {code} is not documented for /sql"
        );
    }
    emitted.extend(sql_codes);
    assert!(emitted.len() > 20, "the scan found only {emitted:?}");
    // And nothing documented is stale: every HTTP code is emitted and carried by a response.
    let listed: BTreeSet<String> = operations(doc)
        .iter()
        .flat_map(|(method, path)| {
            let responses = &doc["paths"][path][method.to_ascii_lowercase()]["responses"];
            responses
                .as_object()
                .unwrap()
                .values()
                .flat_map(|r| r["x-error-codes"].as_array().into_iter().flatten())
                .map(|c| c.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for code in &http {
        assert!(
            emitted.contains(code) || literals.contains(code),
            "documented code {code} appears nowhere in api/src or the query layer's codes"
        );
        assert!(
            listed.contains(code) || code == "not_found",
            "documented code {code} is in no response's x-error-codes"
        );
        assert!(
            listed.iter().all(|c| http.contains(c)),
            "x-error-codes outside the enum"
        );
    }
}
