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
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use warp::filters::BoxedFilter;
use warp::reply::Response;

type Api = BoxedFilter<(Response,)>;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = std::fs::read_to_string(common::crate_dir().join("openapi.json")).unwrap();
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
    if status == 204 {
        // No content: none documented, none sent.
        assert!(
            response.get("content").is_none(),
            "{what}: 204 with content"
        );
        assert!(content_type.is_empty() && body == "", "{what}: {body}");
    } else if status != 101 {
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
            for (media, content) in operation["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if let Some(schema) = content.get("schema") {
                    unsupported_keywords(
                        schema,
                        &format!("{method} {path} body {media}"),
                        &mut out,
                    );
                }
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

/// A concrete path of a template (guild `g`, user `u`, rule and warning 1).
fn concrete(template: &str, guild: u64, user: u64) -> String {
    template
        .replace("{guild}", &guild.to_string())
        .replace("{user}", &user.to_string())
        .replace("{rule}", "1")
        .replace("{warning}", "1")
}

/// Whether a route template is one of the admin plane's (503 `admin_unavailable` without it).
fn is_admin(template: &str) -> bool {
    let doc = document();
    doc["paths"][template]
        .as_object()
        .unwrap()
        .values()
        .any(|op| op["tags"].as_array().unwrap().iter().any(|t| t == "admin"))
}

/// A method the path of `template` does not answer.
fn other_method(template: &str) -> &'static str {
    ["PUT", "GET", "POST", "DELETE", "PATCH"]
        .into_iter()
        .find(|m| !ROUTES.contains(&(*m, template)))
        .unwrap()
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
            // Admin writes are JSON, even without a body (else 415).
            "PATCH" | "PUT" => with_method(method).header("content-type", "application/json"),
            _ => with_method(method),
        };
        let (status, body) = probe(&api, request, method, &path).await;
        assert!(
            status != 405 && !(status == 404 && body["error"]["code"] == "not_found"),
            "{method} {path}: {status} {body}"
        );
        if is_admin(template) {
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (503, Some("admin_unavailable")),
                "{method} {path} without an admin plane"
            );
        }
        let other = other_method(template);
        let (status, body) = probe(&api, with_method(other), other, &path).await;
        assert_eq!(status, 405, "{other} {path}: {body}");
    }
    let (status, body) = probe(&api, with_method("GET"), "GET", "/api/guilds").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["guilds"].as_array().unwrap().len(),
        state.read().guilds().len()
    );
    let (status, _) = probe(&api, with_method("GET"), "GET", "/api/nothing").await;
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
    rust_files(&common::crate_dir().join("src"), &mut files);
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
    let queries =
        std::fs::read_to_string(common::crate_dir().join("../queries/src/error.rs")).unwrap();
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
    // The admin plane's codes (`AdminError::Invalid { code: "…" }`), answered by the admin
    // routes; the executor's are start-up errors, never an API answer.
    let mut admin_files = Vec::new();
    rust_files(&common::crate_dir().join("../admin/src"), &mut admin_files);
    let mut admin_codes = BTreeSet::new();
    for file in admin_files.iter().filter(|f| !f.ends_with("executor.rs")) {
        let source = std::fs::read_to_string(file).unwrap();
        admin_codes.extend(
            source
                .split("code: \"")
                .skip(1)
                .map(|rest| rest[..rest.find('"').unwrap()].to_owned()),
        );
    }
    assert!(admin_codes.len() >= 3, "{admin_codes:?}");
    let admin_documented: BTreeSet<String> = operations(doc)
        .iter()
        .filter(|(_, path)| is_admin(path))
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
    for code in &admin_codes {
        assert!(
            http.contains(code) && admin_documented.contains(code),
            "the admin plane's code {code} is not documented on the admin routes"
        );
    }
    emitted.extend(admin_codes);
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

/// The admin routes over a real admin plane (journaled in a temp dir, attached to a running
/// dataflow), as the fixture's server.
fn admin_api(name: &str) -> (Api, common::AdminFixture) {
    let admin = common::admin_fixture(&format!("openapi-{name}"));
    let (state, _) = fixture();
    let api = routes(
        ApiContext::new(state.clone())
            .with_admin(admin.plane.clone())
            .without_client_limits(),
    );
    (api, admin)
}

/// The request body schema of `method` on the route of `path`, if it documents one.
fn request_schema(method: &str, path: &str) -> Option<Value> {
    let template = template_of(path.split('?').next().unwrap())?;
    document()["paths"][&template][method.to_ascii_lowercase()]["requestBody"]["content"]
        ["application/json"]
        .get("schema")
        .cloned()
}

/// Sends `body` (JSON text, valid or not) with `method` to `path` and checks the answer
/// against the document; a body the document's request schema refuses must be refused (4xx)
/// and a body the server accepts (2xx) must fit that schema.
async fn admin_call(api: &Api, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut request = with_method(method);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    } else if matches!(method, "POST" | "PATCH" | "PUT") {
        // Admin writes are JSON even without a body.
        request = request.header("content-type", "application/json");
    }
    let (status, answer) = probe(api, request, method, path).await;
    if let (Some(body), Some(schema)) = (body, request_schema(method, path)) {
        let fits = serde_json::from_str::<Value>(body)
            .is_ok_and(|v| Validator::new(document()).errors(&schema, &v).is_empty());
        if (200..300).contains(&status) {
            assert!(
                fits,
                "{method} {path}: accepted a body the document refuses: {body}"
            );
        } else if !fits && status != 404 {
            assert!(
                (400..500).contains(&status),
                "{method} {path}: {status} for a body the document refuses"
            );
        }
    }
    (status, answer)
}

/// `admin_call` that must answer `expected` (and, for errors, `code`).
async fn expect(
    api: &Api,
    seen: &mut BTreeSet<(String, String)>,
    (method, path, body): (&str, &str, Option<&str>),
    expected: u16,
    code: Option<&str>,
) -> Value {
    let (status, answer) = admin_call(api, method, path, body).await;
    assert_eq!(status, expected, "{method} {path}: {answer}");
    if let Some(code) = code {
        assert_eq!(answer["error"]["code"], code, "{method} {path}");
    }
    if (200..300).contains(&status) {
        let template = template_of(path.split('?').next().unwrap()).unwrap();
        seen.insert((method.to_owned(), template));
    }
    answer
}

#[tokio::test]
async fn admin_routes_answer_as_documented_over_a_real_admin_plane() {
    let (_, busy) = fixture();
    let (api, admin) = admin_api("routes");
    let g = |rest: &str| format!("/api/guilds/{busy}/{rest}");
    let mut seen = BTreeSet::new();
    let api = &api;
    let s = &mut seen;

    // Settings: defaults, a patch touching every field, refusals.
    let settings = expect(api, s, ("GET", &g("settings"), None), 200, None).await;
    assert_eq!(settings["guild_id"], busy.to_string());
    assert_eq!(settings["updated_at"], Value::Null);
    let patch = r#"{"modules":{"levels":false},"timezone":"Europe/Paris","language":"fr",
        "stats_exclusions":{"channels":["5","5"],"roles":[]},"xp":{"curve":"mee6"},
        "level_rewards":[{"level":5,"role_id":"7"}],"leaderboard_public":true}"#;
    let patched = expect(api, s, ("PATCH", &g("settings"), Some(patch)), 200, None).await;
    assert_eq!(patched["stats_exclusions"]["channels"], json!(["5"]));
    assert!(patched["updated_at"].is_string(), "{patched}");
    expect(api, s, ("PATCH", &g("settings"), Some("{}")), 200, None).await;
    for (body, code) in [
        ("not json", "invalid_body"),
        (r#"{"colour":"red"}"#, "invalid_body"),
        (r#"{"language":"xx"}"#, "invalid_settings"),
        (r#"{"timezone":"Mars/Olympus"}"#, "invalid_settings"),
        (r#"{"xp":{"rate_percent":5000}}"#, "invalid_settings"),
    ] {
        expect(
            api,
            s,
            ("PATCH", &g("settings"), Some(body)),
            400,
            Some(code),
        )
        .await;
    }

    // Presets, a rule from one, a rule of our own, the dry run, escalation.
    let presets = expect(api, s, ("GET", &g("automod/presets"), None), 200, None).await;
    let mut preset = presets["presets"][0]["rule"].clone();
    preset.as_object_mut().unwrap().remove("id");
    let from_preset = preset.to_string();
    expect(
        api,
        s,
        ("POST", &g("automod/rules"), Some(&from_preset)),
        201,
        None,
    )
    .await;
    let caps = r#"{"name":"caps","trigger":{"type":"caps","max_ratio_percent":70},
        "actions":[{"type":"delete"},{"type":"timeout","seconds":60}],"exempt_roles":["9"]}"#;
    let rule = expect(api, s, ("POST", &g("automod/rules"), Some(caps)), 201, None).await;
    let id = rule["id"].as_u64().unwrap();
    let rule_path = g(&format!("automod/rules/{id}"));
    let config = expect(api, s, ("GET", &g("automod/rules"), None), 200, None).await;
    assert_eq!(config["rules"].as_array().unwrap().len(), 2);
    let fetched = expect(api, s, ("GET", &rule_path, None), 200, None).await;
    assert_eq!(fetched, rule);
    let disabled = r#"{"enabled":false}"#;
    let changed = expect(api, s, ("PATCH", &rule_path, Some(disabled)), 200, None).await;
    assert_eq!(changed["enabled"], false);
    for (body, code) in [
        ("[1]", "invalid_body"),
        (
            r#"{"id":5,"name":"x","trigger":{"type":"caps","max_ratio_percent":70},"actions":[{"type":"delete"}]}"#,
            "invalid_rule",
        ),
        (
            r#"{"name":"re","trigger":{"type":"regex","patterns":["("]},"actions":[{"type":"delete"}]}"#,
            "invalid_rule",
        ),
        (caps, "invalid_rule"),
    ] {
        let (status, answer) = admin_call(api, "POST", &g("automod/rules"), Some(body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        if body != "[1]" {
            assert_eq!(answer["error"]["code"], code, "{body}");
        }
    }
    expect(
        api,
        s,
        ("PATCH", &rule_path, Some(r#"{"id":3}"#)),
        400,
        Some("invalid_rule"),
    )
    .await;
    let unknown_rule = g("automod/rules/999999");
    expect(
        api,
        s,
        ("GET", &unknown_rule, None),
        404,
        Some("unknown_rule"),
    )
    .await;
    expect(
        api,
        s,
        ("PATCH", &unknown_rule, Some("{}")),
        404,
        Some("unknown_rule"),
    )
    .await;
    expect(
        api,
        s,
        ("GET", &g("automod/rules/x"), None),
        400,
        Some("invalid_id"),
    )
    .await;
    expect(
        api,
        s,
        ("GET", &g("automod/rules/0"), None),
        400,
        Some("invalid_id"),
    )
    .await;
    let test = r#"{"rule":{"name":"caps","trigger":{"type":"caps","max_ratio_percent":70}},
        "messages":[{"content":"hello there friends"},{"content":"THIS IS ALL CAPS SHOUTING"}]}"#;
    let tested = expect(
        api,
        s,
        ("POST", &g("automod/rules/test"), Some(test)),
        200,
        None,
    )
    .await;
    assert_eq!(tested["results"][0]["fired"], false);
    assert_eq!(tested["results"][1]["fired"], true, "{tested}");
    let bad_test = r#"{"rule":{"name":"caps","trigger":{"type":"caps","max_ratio_percent":700}},"messages":[]}"#;
    let test_path = g("automod/rules/test");
    expect(
        api,
        s,
        ("POST", &test_path, Some(bad_test)),
        400,
        Some("invalid_rule"),
    )
    .await;
    expect(
        api,
        s,
        ("POST", &test_path, Some("{}")),
        400,
        Some("invalid_body"),
    )
    .await;
    let steps = expect(api, s, ("GET", &g("automod/escalation"), None), 200, None).await;
    assert_eq!(steps, json!([]));
    let escalation =
        r#"[{"warnings":3,"within_seconds":86400,"action":{"type":"timeout","seconds":600}}]"#;
    let esc = g("automod/escalation");
    let after = expect(api, s, ("PUT", &esc, Some(escalation)), 200, None).await;
    assert_eq!(after[0]["warnings"], 3, "{after}");
    let bad_step = r#"[{"warnings":0,"within_seconds":60,"action":{"type":"ban"}}]"#;
    expect(
        api,
        s,
        ("PUT", &esc, Some(bad_step)),
        400,
        Some("invalid_rule"),
    )
    .await;
    let warn_step = r#"[{"warnings":2,"within_seconds":60,"action":{"type":"warn"}}]"#;
    expect(
        api,
        s,
        ("PUT", &esc, Some(warn_step)),
        400,
        Some("invalid_rule"),
    )
    .await;
    expect(
        api,
        s,
        ("PUT", &esc, Some(r#"{"steps":[]}"#)),
        400,
        Some("invalid_body"),
    )
    .await;

    // Warnings: two, listed, paged, filtered; refusals.
    let w = g("warnings");
    let first = expect(
        api,
        s,
        ("POST", &w, Some(r#"{"user_id":"2","reason":"spam"}"#)),
        201,
        None,
    )
    .await;
    expect(api, s, ("POST", &w, Some(r#"{"user_id":"3"}"#)), 201, None).await;
    let listed = expect(api, s, ("GET", &w, None), 200, None).await;
    assert_eq!(listed["warnings"].as_array().unwrap().len(), 2);
    let page = expect(api, s, ("GET", &format!("{w}?limit=1"), None), 200, None).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next = format!("{w}?limit=1&cursor={cursor}");
    let last = expect(api, s, ("GET", &next, None), 200, None).await;
    assert_eq!(last["next_cursor"], Value::Null);
    assert_eq!(last["warnings"][0], first);
    let only = expect(api, s, ("GET", &format!("{w}?user_id=3"), None), 200, None).await;
    assert_eq!(only["warnings"].as_array().unwrap().len(), 1);
    for (body, code) in [
        (r#"{"user_id":"0"}"#, "invalid_id"),
        (r#"{"user_id":2}"#, "invalid_body"),
        (r#"{"user_id":"2","note":"x"}"#, "invalid_body"),
    ] {
        expect(api, s, ("POST", &w, Some(body)), 400, Some(code)).await;
    }
    let long = json!({ "user_id": "2", "reason": "x".repeat(600) }).to_string();
    expect(
        api,
        s,
        ("POST", &w, Some(&long)),
        400,
        Some("invalid_warning"),
    )
    .await;
    for (query, code) in [
        ("limit=0", "invalid_parameter"),
        ("limit=501", "invalid_parameter"),
        ("cursor=abc", "invalid_parameter"),
        ("format=csv", "invalid_parameter"),
        ("user_id=abc", "invalid_id"),
    ] {
        expect(
            api,
            s,
            ("GET", &format!("{w}?{query}"), None),
            400,
            Some(code),
        )
        .await;
    }

    // The moderation log (JSON, filters, CSV) and the audit log.
    let logs = g("moderation/logs");
    let log = expect(api, s, ("GET", &logs, None), 200, None).await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 2, "{log}");
    assert_eq!(log["entries"][0]["action"], "warn");
    let filtered = format!(
        "{logs}?user_id=2&action=warn&source=manual&from=2000-01-01T00:00:00Z&to=4102444800000&limit=10"
    );
    let some = expect(api, s, ("GET", &filtered, None), 200, None).await;
    assert_eq!(some["entries"].as_array().unwrap().len(), 1, "{some}");
    let csv = expect(
        api,
        s,
        ("GET", &format!("{logs}?format=csv"), None),
        200,
        None,
    )
    .await;
    assert!(
        csv.as_str().unwrap().starts_with("id,at,user_id,action,"),
        "{csv}"
    );
    let by_accept = api_reply(api, with_method("GET").header("accept", "text/csv"), &logs).await;
    assert_eq!(by_accept.0, 200);
    assert!(by_accept.1.starts_with("text/csv"), "{by_accept:?}");
    for query in [
        "action=mute",
        "source=bot",
        "from=yesterday",
        "format=xml",
        "page=2",
    ] {
        let path = format!("{logs}?{query}");
        expect(api, s, ("GET", &path, None), 400, Some("invalid_parameter")).await;
    }
    let audit = expect(api, s, ("GET", &g("audit/logs?limit=500"), None), 200, None).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["settings.update", "automod.rule.create", "warning.create"] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    let bad_cursor = g("audit/logs?cursor=x");
    expect(
        api,
        s,
        ("GET", &bad_cursor, None),
        400,
        Some("invalid_parameter"),
    )
    .await;

    // Withdrawing a warning, opt-outs, deleting a rule.
    let warning = g(&format!("warnings/{}", first["id"]));
    expect(api, s, ("DELETE", &warning, None), 204, None).await;
    expect(
        api,
        s,
        ("DELETE", &warning, None),
        404,
        Some("unknown_warning"),
    )
    .await;
    expect(
        api,
        s,
        ("DELETE", &g("warnings/x"), None),
        400,
        Some("invalid_id"),
    )
    .await;
    let opt_out = g("members/2/opt-out");
    expect(api, s, ("PUT", &opt_out, None), 204, None).await;
    expect(api, s, ("PUT", &opt_out, None), 204, None).await;
    let state = expect(api, s, ("GET", &opt_out, None), 200, None).await;
    assert_eq!(state, json!({"user_id": "2", "opted_out": true}));
    let all = expect(api, s, ("GET", &g("opt-outs"), None), 200, None).await;
    assert_eq!(all, json!({"members": ["2"]}));
    expect(api, s, ("DELETE", &opt_out, None), 204, None).await;
    // Erasing: refused without a store's owner; with one (a stub here), its report.
    let erase = g("members/3/erase");
    expect(
        api,
        s,
        ("POST", &erase, None),
        503,
        Some("erase_unavailable"),
    )
    .await;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<guildflow_admin::EraseRequest>(1);
    admin.plane.set_eraser(tx);
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            let _ = request
                .reply
                .send(Ok(json!({ "parquet_rows": 0, "resumed": false })));
        }
    });
    let erased = expect(api, s, ("POST", &erase, None), 200, None).await;
    assert_eq!(erased["erased"]["parquet_rows"], 0, "{erased}");
    expect(api, s, ("DELETE", &g("members/3/opt-out"), None), 204, None).await;
    let bad_user = g("members/me/opt-out");
    expect(api, s, ("GET", &bad_user, None), 400, Some("invalid_id")).await;
    expect(api, s, ("DELETE", &rule_path, None), 204, None).await;
    expect(
        api,
        s,
        ("DELETE", &rule_path, None),
        404,
        Some("unknown_rule"),
    )
    .await;

    // Methods, sizes, a bad guild.
    for (method, path) in [
        ("PUT", g("settings")),
        ("GET", g("automod/rules/test")),
        ("POST", g("automod/presets")),
        ("PATCH", g("warnings/1")),
        ("POST", g("opt-outs")),
        ("HEAD", g("audit/logs")),
    ] {
        let code = Some("method_not_allowed");
        expect(api, s, (method, &path, None), 405, code).await;
    }
    let big = with_method("PATCH").header("content-length", "300000");
    let (status, _) = probe(api, big, "PATCH", &g("settings")).await;
    assert_eq!(status, 413);
    let roomy = json!({ "timezone": "UTC", "pad": "x".repeat(20_000) }).to_string();
    let (status, answer) = admin_call(api, "PATCH", &g("settings"), Some(&roomy)).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("invalid_body"))
    );
    let bad_guild = "/api/guilds/007/settings";
    expect(api, s, ("GET", bad_guild, None), 400, Some("invalid_id")).await;

    // Every admin operation answered 2xx at least once.
    for (method, template) in ROUTES {
        if is_admin(template) {
            let key = (method.to_owned(), template.to_owned());
            assert!(
                s.contains(&key),
                "{method} {template} was never answered 2xx"
            );
        }
    }

    // A stopping pipeline refuses changes, still serves reads.
    admin.plane.detach();
    let code = Some("pipeline_stopped");
    expect(api, s, ("PATCH", &g("settings"), Some("{}")), 503, code).await;
    expect(api, s, ("PUT", &opt_out, None), 503, code).await;
    expect(api, s, ("GET", &g("settings"), None), 200, None).await;
}

/// (status, content type, body text) of a request.
async fn api_reply(
    api: &Api,
    request: warp::test::RequestBuilder,
    path: &str,
) -> (u16, String, String) {
    let response = request.path(path).reply(api).await;
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(response.body()).into_owned();
    (response.status().as_u16(), content_type, body)
}

#[tokio::test]
async fn moderation_frames_follow_the_documented_protocol() {
    let (_, busy) = fixture();
    let (api, _admin) = admin_api("frames");
    let doc = document();
    let validator = Validator::new(doc);
    let frames = &doc["paths"]["/api/guilds/{guild}/live"]["get"]["x-websocket"]["serverFrames"];
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{busy}/live"))
        .handshake(api.clone())
        .await
        .expect("upgraded");
    // Once the snapshot arrives, the session is in its room.
    client
        .send_text(r#"{"subscribe":{"metric":"score","period":"all","limit":1}}"#)
        .await;
    let path = format!("/api/guilds/{busy}/warnings");
    let mut warned = false;
    let frame = loop {
        let received = tokio::time::timeout(std::time::Duration::from_secs(10), client.recv())
            .await
            .unwrap()
            .unwrap();
        let frame: Value = serde_json::from_str(received.to_str().unwrap()).unwrap();
        let errors = validator.errors(frames, &frame);
        assert!(errors.is_empty(), "{frame}: {errors:?}");
        if frame["type"] == "leaderboard" && !warned {
            let body = r#"{"user_id":"2","reason":"spam"}"#;
            let (status, _) = admin_call(&api, "POST", &path, Some(body)).await;
            assert_eq!(status, 201);
            warned = true;
        }
        if frame["type"] == "moderation" {
            break frame;
        }
    };
    assert_eq!(frame["entry"]["action"], "warn");
    assert_eq!(frame["entry"]["guild_id"], busy.to_string());
}
