//! The admin routes in process over a real admin plane (journaled in a temp dir) and a real
//! dataflow: settings, automod rules (CRUD, presets, dry run, escalation), warnings, the
//! moderation and audit logs with their filters and pages, opt-outs, and every bad input:
//! bodies, ids, parameters, methods, sizes, and the 503 of a server without the plane.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use guildflow_admin::{AdminPlane, DataflowControl, FileJournal};
use guildflow_api::{routes, ApiContext};
use serde_json::{json, Value};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;

const GUILD: u64 = 81_384_788_765_712_384;

struct Admin {
    api: BoxedFilter<(Response,)>,
    plane: AdminPlane,
    dir: std::path::PathBuf,
}

impl Drop for Admin {
    fn drop(&mut self) {
        self.plane.detach();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn admin(name: &str) -> Admin {
    let dir = std::env::temp_dir().join(format!("gf-api-admin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let control = DataflowControl::new(common::dataflow());
    let state = control.lock().as_ref().unwrap().state();
    let plane = AdminPlane::open(Box::new(FileJournal::open(&dir).unwrap())).unwrap();
    plane.attach(Arc::new(control)).unwrap();
    let api = routes(
        ApiContext::new(state)
            .with_admin(plane.clone())
            .without_client_limits(),
    );
    Admin { api, plane, dir }
}

async fn call(
    api: &BoxedFilter<(Response,)>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = warp::test::request().method(method).path(path);
    if let Some(body) = body {
        request = request.json(&body);
    } else if method != "GET" && method != "DELETE" {
        request = request.header("content-type", "application/json");
    }
    let reply = request.reply(api).await;
    let status = reply.status().as_u16();
    let value = serde_json::from_slice(reply.body()).unwrap_or(Value::Null);
    (status, value)
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

fn path(rest: &str) -> String {
    format!("/api/guilds/{GUILD}/{rest}")
}

#[tokio::test]
async fn settings_read_patch_validate() {
    let a = admin("settings");
    let (status, v) = call(&a.api, "GET", &path("settings"), None).await;
    assert_eq!(status, 200);
    assert_eq!(v["guild_id"], GUILD.to_string());
    assert_eq!(v["timezone"], "UTC");
    assert_eq!(v["leaderboard_public"], false);
    assert_eq!(v["updated_at"], Value::Null);

    let (status, v) = call(
        &a.api,
        "PATCH",
        &path("settings"),
        Some(json!({"timezone": "America/New_York", "modules": {"levels": false}, "stats_exclusions": {"channels": ["5", "3", "5"], "roles": []}})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["timezone"], "America/New_York");
    assert_eq!(
        v["modules"],
        json!({"stats": true, "levels": false, "automod": true})
    );
    assert_eq!(v["stats_exclusions"]["channels"], json!(["3", "5"]));
    assert!(v["updated_at"].is_string());

    for (body, expected) in [
        (json!({"timezone": "Atlantis/Deep"}), "invalid_settings"),
        (json!({"xp": {"rate_percent": 100000}}), "invalid_settings"),
        (json!({"colour": "blue"}), "invalid_body"),
        (json!({"modules": {"stats": "yes"}}), "invalid_body"),
    ] {
        let (status, v) = call(&a.api, "PATCH", &path("settings"), Some(body.clone())).await;
        assert_eq!((status, code(&v)), (400, expected), "{body}");
    }
    let (status, v) = call(&a.api, "PUT", &path("settings"), Some(json!({}))).await;
    assert_eq!((status, code(&v)), (405, "method_not_allowed"));
    // Nothing of the refused changes stuck.
    let (_, v) = call(&a.api, "GET", &path("settings"), None).await;
    assert_eq!(v["timezone"], "America/New_York");
    assert_eq!(v["xp"]["rate_percent"], 100);
}

#[tokio::test]
async fn automod_rules_crud_presets_test_and_escalation() {
    let a = admin("rules");
    let (status, v) = call(&a.api, "GET", &path("automod/presets"), None).await;
    assert_eq!(status, 200);
    let presets = v["presets"].as_array().unwrap();
    assert_eq!(presets.len(), 4);
    // A preset posts as it is (without its id).
    let mut preset = presets[0]["rule"].clone();
    preset.as_object_mut().unwrap().remove("id");
    let (status, created) = call(&a.api, "POST", &path("automod/rules"), Some(preset)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().unwrap();

    let (status, v) = call(
        &a.api,
        "PATCH",
        &path(&format!("automod/rules/{id}")),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!((status, &v["enabled"]), (200, &json!(false)));
    let (status, v) = call(&a.api, "GET", &path(&format!("automod/rules/{id}")), None).await;
    assert_eq!((status, &v["enabled"]), (200, &json!(false)));
    let (status, v) = call(&a.api, "GET", &path("automod/rules"), None).await;
    assert_eq!(status, 200);
    assert_eq!(v["rules"].as_array().unwrap().len(), 1);

    let (status, v) = call(
        &a.api,
        "POST",
        &path("automod/rules"),
        Some(json!({"name": "bad regex", "trigger": {"type": "regex", "patterns": ["(unclosed"]}, "actions": [{"type": "delete"}]})),
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_rule"), "{v}");

    let (status, v) = call(
        &a.api,
        "POST",
        &path("automod/rules/test"),
        Some(json!({"rule": {"name": "words", "trigger": {"type": "banned_words", "words": ["spoiler*"]}}, "messages": [{"content": "no spoilers please"}, {"content": "all fine"}]})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["results"][0]["fired"], true);
    assert_eq!(v["results"][0]["evidence"]["matched"], "spoilers");
    assert_eq!(v["results"][1]["fired"], false);

    let (status, v) = call(
        &a.api,
        "PUT",
        &path("automod/escalation"),
        Some(json!([{"warnings": 3, "within_seconds": 3600, "action": {"type": "timeout", "seconds": 600}}])),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v[0]["warnings"], 3);
    let (status, v) = call(
        &a.api,
        "PUT",
        &path("automod/escalation"),
        Some(json!([{"warnings": 0, "within_seconds": 1, "action": {"type": "kick"}}])),
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_rule"), "{v}");

    let (status, _) = call(
        &a.api,
        "DELETE",
        &path(&format!("automod/rules/{id}")),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, v) = call(
        &a.api,
        "DELETE",
        &path(&format!("automod/rules/{id}")),
        None,
    )
    .await;
    assert_eq!((status, code(&v)), (404, "unknown_rule"));
    let (status, v) = call(&a.api, "GET", &path("automod/rules/abc"), None).await;
    assert_eq!((status, code(&v)), (400, "invalid_id"));
}

#[tokio::test]
async fn warnings_logs_pages_filters_and_audit() {
    let a = admin("warnings");
    for i in 0..5u64 {
        let (status, v) = call(
            &a.api,
            "POST",
            &path("warnings"),
            Some(json!({"user_id": (100 + i % 2).to_string(), "reason": format!("reason {i}")})),
        )
        .await;
        assert_eq!(status, 201, "{v}");
    }
    let (status, v) = call(
        &a.api,
        "POST",
        &path("warnings"),
        Some(json!({"user_id": "abc"})),
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_id"));
    let (status, v) = call(
        &a.api,
        "POST",
        &path("warnings"),
        Some(json!({"user_id": "1", "reason": "x".repeat(600)})),
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_warning"));

    let (_, v) = call(&a.api, "GET", &path("warnings?user_id=100"), None).await;
    let mine = v["warnings"].as_array().unwrap();
    assert_eq!(mine.len(), 3);
    assert!(mine.iter().all(|w| w["user_id"] == "100"));
    // Newest first, two per page, three pages.
    let (_, first) = call(&a.api, "GET", &path("moderation/logs?limit=2"), None).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, second) = call(
        &a.api,
        "GET",
        &path(&format!("moderation/logs?limit=2&cursor={cursor}")),
        None,
    )
    .await;
    let cursor = second["next_cursor"].as_str().unwrap().to_owned();
    let (_, third) = call(
        &a.api,
        "GET",
        &path(&format!("moderation/logs?limit=2&cursor={cursor}")),
        None,
    )
    .await;
    assert_eq!(third["next_cursor"], Value::Null);
    let ids: Vec<u64> = [&first, &second, &third]
        .iter()
        .flat_map(|p| {
            p["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let (_, manual) = call(
        &a.api,
        "GET",
        &path("moderation/logs?source=manual&action=warn&user_id=101"),
        None,
    )
    .await;
    assert_eq!(manual["entries"].as_array().unwrap().len(), 2);
    for bad in [
        "limit=0",
        "limit=501",
        "cursor=x",
        "action=nuke",
        "source=robot",
        "from=yesterday",
        "colour=red",
    ] {
        let (status, v) = call(
            &a.api,
            "GET",
            &path(&format!("moderation/logs?{bad}")),
            None,
        )
        .await;
        assert_eq!((status, code(&v)), (400, "invalid_parameter"), "{bad}");
    }

    let wid = mine[0]["id"].as_u64().unwrap();
    let (status, _) = call(&a.api, "DELETE", &path(&format!("warnings/{wid}")), None).await;
    assert_eq!(status, 204);
    let (status, v) = call(&a.api, "DELETE", &path(&format!("warnings/{wid}")), None).await;
    assert_eq!((status, code(&v)), (404, "unknown_warning"));

    let (_, audit) = call(&a.api, "GET", &path("audit/logs?limit=500"), None).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "warning.create").count(),
        5
    );
    assert_eq!(actions[0], "warning.delete");
}

#[tokio::test]
async fn opt_outs_bodies_and_the_guild_list() {
    let a = admin("optout");
    let (status, _) = call(&a.api, "PUT", &path("members/777/opt-out"), None).await;
    assert_eq!(status, 204);
    let (_, v) = call(&a.api, "GET", &path("members/777/opt-out"), None).await;
    assert_eq!(v, json!({"user_id": "777", "opted_out": true}));
    let (_, v) = call(&a.api, "GET", &path("opt-outs"), None).await;
    assert_eq!(v["members"], json!(["777"]));
    let (status, _) = call(&a.api, "DELETE", &path("members/777/opt-out"), None).await;
    assert_eq!(status, 204);
    let (_, v) = call(&a.api, "GET", &path("opt-outs"), None).await;
    assert_eq!(v["members"], json!([]));
    let (status, v) = call(&a.api, "PUT", &path("members/0x1/opt-out"), None).await;
    assert_eq!((status, code(&v)), (400, "invalid_id"));

    // Bodies: not JSON, too large, chunked.
    let reply = warp::test::request()
        .method("PATCH")
        .path(&path("settings"))
        .header("content-type", "text/plain")
        .body("{\"timezone\":\"UTC\"}")
        .reply(&a.api)
        .await;
    assert_eq!(reply.status(), 415, "a cross-site form's type is refused");
    let reply = warp::test::request()
        .method("PATCH")
        .path(&path("settings"))
        .header("content-type", "application/json")
        .body("{not json")
        .reply(&a.api)
        .await;
    assert_eq!(reply.status(), 400);
    let reply = warp::test::request()
        .method("POST")
        .path(&path("automod/rules"))
        .header("content-type", "application/json")
        .body(vec![b' '; 300 * 1024])
        .reply(&a.api)
        .await;
    assert_eq!(reply.status(), 413);

    // The guild list (no authentication: every guild with statistics).
    let (status, v) = call(&a.api, "GET", "/api/guilds", None).await;
    assert_eq!(status, 200);
    assert!(v["guilds"].is_array());
}

#[tokio::test]
async fn without_an_admin_plane_the_routes_answer_503() {
    let api = routes(ApiContext::new(common::dataflow().state()).without_client_limits());
    let (status, v) = call(&api, "GET", &path("settings"), None).await;
    assert_eq!((status, code(&v)), (503, "admin_unavailable"));
    // Other routes are untouched.
    let (status, _) = call(&api, "GET", "/health", None).await;
    assert_ne!(status, 404);
}

#[tokio::test]
async fn names_of_members_and_channels_come_from_the_guild_state() {
    let frame: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::crate_dir().join("../shards/tests/payloads/guild_create.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let d = frame["d"].to_string();
    let guild = frame["d"]["id"].as_str().unwrap().to_owned();
    let body = guildflow_shards::decode::decode_dispatch("GUILD_CREATE", &d)
        .unwrap()
        .unwrap();
    let directory = guildflow_api::PermissionDirectory::new();
    directory.observe(&guildflow_model::Event {
        at: 0,
        shard: 0,
        seq: 1,
        body,
    });
    let api = routes(
        ApiContext::new(common::dataflow().state())
            .with_directory(directory)
            .without_client_limits(),
    );
    let channel = frame["d"]["channels"][0]["id"].as_str().unwrap().to_owned();
    let channel_name = frame["d"]["channels"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, v) = call(
        &api,
        "GET",
        &format!("/api/guilds/{guild}/names?users=80351110224678912,1009876543210987654,42&channels={channel}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["users"]["80351110224678912"], "NOT API SUPPORT");
    assert_eq!(v["users"]["1009876543210987654"], "guildflow");
    assert!(v["users"].get("42").is_none());
    assert_eq!(v["channels"][&channel], channel_name);
    let (status, v) = call(
        &api,
        "GET",
        &format!("/api/guilds/{guild}/names?users=x"),
        None,
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_id"));
    let many: Vec<String> = (1..=501).map(|i| i.to_string()).collect();
    let (status, v) = call(
        &api,
        "GET",
        &format!("/api/guilds/{guild}/names?users={}", many.join(",")),
        None,
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_parameter"));
}
