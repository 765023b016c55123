//! Authentication and authorization against the real simulator: the OAuth2 code flow with
//! PKCE end to end (302s followed by hand: the warp test client for our routes, a raw HTTP
//! client for the simulator), session cookie attributes, rotation and logout, the BOLA matrix
//! (a user of guild A on every guild-B route), API token scope, CSRF, the websocket Origin
//! rule, and access revoked by a role change or a logout (open websockets close).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{dataflow, eventually, fixture_sql, fixture_store, message, FixtureStore};
use guildflow_admin::{AdminPlane, DataflowControl, FileJournal};
use guildflow_api::{routes, ApiContext, AuthConfig, AuthStore, PermissionDirectory};
use guildflow_model::{Event, EventBody, GuildId, MemberInfo, UserId};
use guildflow_queries::SqlLimits;
use guildflow_shards::decode::decode_dispatch;
use guildflow_shards::simulator::{FeedConfig, SimulatorConfig, SimulatorHandle};
use guildflow_shards::workload::WorkloadConfig;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use warp::filters::BoxedFilter;
use warp::http::Response as HttpResponse;
use warp::reply::Response;

/// What the warp test client answers.
type Reply = HttpResponse<bytes::Bytes>;

const ORIGIN: &str = "http://gf.test";
const T0: i64 = 1_769_983_200_000;

struct World {
    sim: SimulatorHandle,
    a: u64,
    b: u64,
    /// Administers A (not its owner), not B.
    admin: u64,
    directory: PermissionDirectory,
    store: AuthStore,
    api: BoxedFilter<(Response,)>,
    _parquet: FixtureStore,
}

async fn world(name: &str, configure: impl FnOnce(&mut AuthConfig)) -> World {
    let mut config = SimulatorConfig::local(1);
    config.feed = Some(FeedConfig {
        workload: WorkloadConfig {
            guilds: 40,
            ..WorkloadConfig::default()
        },
        rate: Some(1.0),
        limit_per_shard: Some(0),
    });
    let sim = SimulatorHandle::start(config).await.unwrap();
    let ids = sim.guilds_with_roles_mix();
    let (a, b) = (ids[0], ids[1]);
    let admin = sim.admin_of(a).unwrap();

    // The directory sees the world's GUILD_CREATEs, as the pipeline would hand them over.
    let directory = PermissionDirectory::new();
    let gateway = sim.world().unwrap();
    for guild in gateway.guild_ids() {
        let d = gateway.guild_create(guild).unwrap();
        let body = decode_dispatch("GUILD_CREATE", &d).unwrap().unwrap();
        directory.observe(&Event {
            at: T0,
            shard: 0,
            seq: 0,
            body,
        });
    }
    assert!(directory.can_administer(admin, a));
    assert!(!directory.can_administer(admin, b), "pick another pair");

    // Both guilds have statistics; `admin` is a counted member of A.
    let mut df = dataflow();
    df.push(vec![
        message(a, admin, 1_000_001, T0, 1),
        message(b, admin + 1, 1_000_002, T0 + 1, 2),
    ]);
    let state = df.finish().unwrap();

    let parquet = fixture_store(name);
    let sql = fixture_sql(&parquet, SqlLimits::default());
    let (client_id, secret) = sim.oauth_client();
    let mut auth = AuthConfig::with_endpoints(
        &client_id,
        &secret,
        &format!("{ORIGIN}/auth/callback"),
        &sim.oauth_authorize_url(),
        &sim.api_base(),
    )
    .with_directory(directory.clone());
    configure(&mut auth);
    let store = auth.store.clone();
    // The admin plane, over a dataflow of its own (its configuration goes nowhere read here).
    let admin_dir = std::env::temp_dir().join(format!("gf-{name}-admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&admin_dir);
    let plane = AdminPlane::open(Box::new(FileJournal::open(&admin_dir).unwrap())).unwrap();
    plane
        .attach(Arc::new(DataflowControl::new(dataflow())))
        .unwrap();
    let api = routes(
        ApiContext::new(state)
            .with_sql(sql)
            .with_auth(auth)
            .with_admin(plane)
            .without_client_limits(),
    );
    World {
        sim,
        a,
        b,
        admin,
        directory,
        store,
        api,
        _parquet: parquet,
    }
}

/// A GET to the simulator on a fresh connection: (status, Location).
async fn sim_get(sim: &SimulatorHandle, url: &str) -> (u16, Option<String>) {
    let target = url.strip_prefix(&sim.http_url()).expect("a simulator URL");
    let mut stream = TcpStream::connect(sim.addr()).await.unwrap();
    let head = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        sim.addr()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let location = head
        .lines()
        .filter_map(|l| l.split_once(": "))
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.to_owned());
    (status, location)
}

fn header(response: &Reply, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn json(response: &Reply) -> Value {
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

fn code(response: &Reply) -> String {
    json(response)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `/auth/login` → the simulator's authorize → our callback (sent with `cookie`, if any):
/// the callback's path and query, and its answer.
async fn authorize_as(w: &World, user: u64, cookie: Option<&str>) -> (String, Reply) {
    w.sim.set_login_user(Some(user));
    let start = warp::test::request()
        .path("/auth/login")
        .reply(&w.api)
        .await;
    assert_eq!(start.status(), 302);
    let location = header(&start, "location").unwrap();
    assert!(
        location.starts_with(&w.sim.oauth_authorize_url()),
        "{location}"
    );
    assert!(location.contains("code_challenge_method=S256"));
    assert!(location.contains("state="));
    let (status, back) = sim_get(&w.sim, &location).await;
    assert_eq!(status, 302);
    let back = back.unwrap();
    let callback = back
        .strip_prefix(ORIGIN)
        .expect("back to our redirect")
        .to_owned();
    let mut request = warp::test::request().path(&callback);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let done = request.reply(&w.api).await;
    (callback, done)
}

fn session_cookie(done: &Reply) -> String {
    let set = header(done, "set-cookie").unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn me(w: &World, cookie: &str) -> Reply {
    warp::test::request()
        .path("/api/me")
        .header("cookie", cookie)
        .reply(&w.api)
        .await
}

/// Logs `user` in through the simulator; returns (cookie header value, CSRF token).
async fn login(w: &World, user: u64) -> (String, String) {
    let (_, done) = authorize_as(w, user, None).await;
    assert_eq!(done.status(), 302, "{:?}", done.body());
    assert_eq!(header(&done, "location").as_deref(), Some("/"));
    let cookie = session_cookie(&done);
    let me = me(w, &cookie).await;
    assert_eq!(me.status(), 200);
    let csrf = json(&me)["csrf_token"].as_str().unwrap().to_owned();
    (cookie, csrf)
}

/// Every guild route of `guild` for a caller sending `auth` headers: (path, status), 101 for
/// an upgraded websocket.
async fn matrix(w: &World, guild: u64, auth: &[(&str, &str)]) -> Vec<(String, u16)> {
    let mut answers = Vec::new();
    let member = w.admin;
    for path in [
        format!("/api/guilds/{guild}/leaderboard"),
        format!("/api/guilds/{guild}/leaderboard?format=csv"),
        format!("/api/guilds/{guild}/leaderboard?period=7d&at=2026-02-02T00:00:00Z"),
        format!("/api/guilds/{guild}/members/{member}/stats"),
        format!("/api/guilds/{guild}/stats"),
    ] {
        let mut request = warp::test::request().path(&path);
        for (k, v) in auth {
            request = request.header(*k, *v);
        }
        answers.push((path, request.reply(&w.api).await.status().as_u16()));
    }
    let path = format!("/api/guilds/{guild}/sql");
    let mut request = warp::test::request()
        .method("POST")
        .path(&path)
        .header("content-type", "application/json")
        .body(r#"{"sql":"SELECT count(*) AS n FROM events"}"#);
    for (k, v) in auth {
        request = request.header(*k, *v);
    }
    answers.push((path, request.reply(&w.api).await.status().as_u16()));
    // The admin plane's routes, reads and writes.
    for (method, path, body) in [
        ("GET", format!("/api/guilds/{guild}/settings"), ""),
        (
            "PATCH",
            format!("/api/guilds/{guild}/settings"),
            r#"{"language":"fr"}"#,
        ),
        ("GET", format!("/api/guilds/{guild}/automod/rules"), ""),
        (
            "POST",
            format!("/api/guilds/{guild}/automod/rules/test"),
            r#"{"rule":{"name":"caps","trigger":{"type":"caps","max_ratio_percent":70}},"messages":[{"content":"HELLO THERE"}]}"#,
        ),
        ("GET", format!("/api/guilds/{guild}/automod/presets"), ""),
        ("GET", format!("/api/guilds/{guild}/warnings"), ""),
        (
            "POST",
            format!("/api/guilds/{guild}/warnings"),
            r#"{"user_id":"42","reason":"test"}"#,
        ),
        ("GET", format!("/api/guilds/{guild}/moderation/logs"), ""),
        (
            "GET",
            format!("/api/guilds/{guild}/moderation/logs?format=csv"),
            "",
        ),
        ("GET", format!("/api/guilds/{guild}/audit/logs"), ""),
        (
            "PUT",
            format!("/api/guilds/{guild}/members/{member}/opt-out"),
            "",
        ),
        ("GET", format!("/api/guilds/{guild}/opt-outs"), ""),
    ] {
        let mut request = warp::test::request()
            .method(method)
            .path(&path)
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in auth {
            request = request.header(*k, *v);
        }
        answers.push((
            format!("{method} {path}"),
            request.reply(&w.api).await.status().as_u16(),
        ));
    }
    let path = format!("/api/guilds/{guild}/live");
    let mut ws = warp::test::ws().path(&path);
    for (k, v) in auth {
        ws = ws.header(*k, *v);
    }
    let upgraded = ws.handshake(w.api.clone()).await;
    answers.push((path, if upgraded.is_ok() { 101 } else { 0 }));
    answers
}

/// Every answer is `ok` (200 meaning any success: 201 Created and 204 No Content too), the
/// websocket's `ws`.
fn expect_all(answers: &[(String, u16)], ok: u16, ws: u16) {
    for (path, status) in answers {
        if path.ends_with("/live") {
            assert_eq!(*status, ws, "{path}");
        } else if ok == 200 {
            assert!((200..300).contains(status), "{path}: {status}");
        } else {
            assert_eq!(*status, ok, "{path}");
        }
    }
}

#[tokio::test]
async fn login_with_pkce_sets_a_session_cookie_rotates_and_logout_revokes_it() {
    let w = world("auth-login", |_| {}).await;
    let (callback, done) = authorize_as(&w, w.admin, None).await;
    assert_eq!(done.status(), 302);
    let set = header(&done, "set-cookie").unwrap();
    assert!(set.starts_with("gf_session="), "{set}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    let cookie = session_cookie(&done);
    assert!(
        cookie.len() >= "gf_session=".len() + 43,
        "256-bit id: {cookie}"
    );

    // The state is single use: the same callback again is refused; so is a forged one.
    let replay = warp::test::request().path(&callback).reply(&w.api).await;
    assert_eq!(
        (replay.status().as_u16(), code(&replay).as_str()),
        (400, "login_failed")
    );
    let forged = warp::test::request()
        .path("/auth/callback?code=x&state=forged")
        .reply(&w.api)
        .await;
    assert_eq!(code(&forged), "login_failed");

    let answer = me(&w, &cookie).await;
    assert_eq!(answer.status(), 200);
    let body = json(&answer);
    assert_eq!(body["user"]["id"], w.admin.to_string());
    assert_eq!(body["credential"], "session");
    let guilds: Vec<String> = body["guilds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_owned())
        .collect();
    assert!(guilds.contains(&w.a.to_string()));
    assert!(!guilds.contains(&w.b.to_string()));
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();

    // A second login rotates: a new id and CSRF token; the id the browser sent is revoked.
    let (_, again) = authorize_as(&w, w.admin, Some(&cookie)).await;
    let rotated = session_cookie(&again);
    assert_ne!(rotated, cookie);
    assert_eq!(me(&w, &cookie).await.status(), 401);
    let csrf_rotated = json(&me(&w, &rotated).await)["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(csrf_rotated, csrf);

    // Logout is CSRF-protected; then the session is gone.
    let logout = |origin: &'static str, token: String| {
        warp::test::request()
            .method("POST")
            .path("/auth/logout")
            .header("cookie", &rotated)
            .header("origin", origin)
            .header("x-csrf-token", token)
    };
    let cross = logout("http://evil.test", csrf_rotated.clone())
        .reply(&w.api)
        .await;
    assert_eq!(
        (cross.status().as_u16(), code(&cross).as_str()),
        (403, "csrf_failed")
    );
    let out = logout(ORIGIN, csrf_rotated.clone()).reply(&w.api).await;
    assert_eq!(out.status(), 204);
    assert!(header(&out, "set-cookie").unwrap().contains("Max-Age=0"));
    let after = warp::test::request()
        .path(&format!("/api/guilds/{}/stats", w.a))
        .header("cookie", &rotated)
        .reply(&w.api)
        .await;
    assert_eq!(
        (after.status().as_u16(), code(&after).as_str()),
        (401, "unauthorized")
    );
}

#[tokio::test]
async fn secure_cookies_add_secure() {
    let w = world("auth-secure", |auth| auth.secure_cookies = true).await;
    let (_, done) = authorize_as(&w, w.admin, None).await;
    assert!(header(&done, "set-cookie").unwrap().contains("; Secure"));
}

#[tokio::test]
async fn bola_matrix_a_user_of_a_gets_403_on_every_route_of_b() {
    let w = world("auth-bola", |_| {}).await;
    let (cookie, csrf) = login(&w, w.admin).await;
    let session = [
        ("cookie", cookie.as_str()),
        ("origin", ORIGIN),
        ("x-csrf-token", csrf.as_str()),
    ];
    // Every route of B: 403 (the websocket does not upgrade); every route of A works.
    expect_all(&matrix(&w, w.b, &session).await, 403, 0);
    expect_all(&matrix(&w, w.a, &session).await, 200, 101);
    // Nobody: 401 everywhere, on A and B alike.
    for guild in [w.a, w.b] {
        expect_all(&matrix(&w, guild, &[]).await, 401, 0);
    }
    // A guild nobody has heard of answers like B: no existence oracle.
    let unknown = warp::test::request()
        .path("/api/guilds/123456789/stats")
        .header("cookie", &cookie)
        .reply(&w.api)
        .await;
    assert_eq!(
        (unknown.status().as_u16(), code(&unknown).as_str()),
        (403, "forbidden")
    );
    // Disguised paths (empty segments, percent-encoding) are checked as well.
    let b = w.b.to_string();
    let encoded: String = b.chars().map(|c| format!("%{:02X}", c as u32)).collect();
    for path in [
        format!("//api//guilds//{b}/stats"),
        format!("/api/guilds/{encoded}/stats"),
        format!("/api/%67uilds/{b}/stats"),
    ] {
        let r = warp::test::request()
            .path(&path)
            .header("cookie", &cookie)
            .reply(&w.api)
            .await;
        assert_ne!(r.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn api_tokens_are_scoped_to_guilds_and_revocable() {
    let w = world("auth-token", |_| {}).await;
    let token = w.store.create_token(w.admin, vec![w.a], "ci").unwrap();
    assert!(token.starts_with("gf_"));
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    // No CSRF for bearer tokens: a browser never attaches them by itself.
    expect_all(&matrix(&w, w.a, &auth).await, 200, 101);
    expect_all(&matrix(&w, w.b, &auth).await, 403, 0);
    // A token scoped to B gives nothing: not A (scope), not B (the user's own access).
    let other = format!(
        "Bearer {}",
        w.store.create_token(w.admin, vec![w.b], "wrong").unwrap()
    );
    for guild in [w.a, w.b] {
        let r = warp::test::request()
            .path(&format!("/api/guilds/{guild}/stats"))
            .header("authorization", &other)
            .reply(&w.api)
            .await;
        assert_eq!(r.status(), 403);
    }
    let answer = warp::test::request()
        .path("/api/me")
        .header("authorization", &bearer)
        .reply(&w.api)
        .await;
    assert_eq!(
        json(&answer)["guilds"],
        serde_json::json!([w.a.to_string()])
    );
    assert_eq!(json(&answer)["credential"], "token");

    let listed = w.store.list_tokens(Some(w.admin));
    assert_eq!(listed.len(), 2);
    let id = listed.iter().find(|t| t.name == "ci").unwrap().id.clone();
    assert!(
        !token.contains(&id),
        "the public id is not part of the secret"
    );
    assert!(w.store.revoke_token(&id));
    let r = warp::test::request()
        .path(&format!("/api/guilds/{}/stats", w.a))
        .header("authorization", &bearer)
        .reply(&w.api)
        .await;
    assert_eq!(r.status(), 401);
    let basic = warp::test::request()
        .path(&format!("/api/guilds/{}/stats", w.a))
        .header("authorization", "Basic abc")
        .reply(&w.api)
        .await;
    assert_eq!(basic.status(), 401);
}

#[tokio::test]
async fn csrf_and_websocket_origins() {
    let w = world("auth-csrf", |_| {}).await;
    let (cookie, csrf) = login(&w, w.admin).await;
    let sql = |origin: Option<&str>, token: Option<&str>| {
        let mut r = warp::test::request()
            .method("POST")
            .path(&format!("/api/guilds/{}/sql", w.a))
            .header("cookie", &cookie)
            .header("content-type", "application/json")
            .body(r#"{"sql":"SELECT 1 AS one"}"#);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(t) = token {
            r = r.header("x-csrf-token", t);
        }
        r
    };
    let cross = sql(Some("http://evil.test"), Some(&csrf))
        .reply(&w.api)
        .await;
    assert_eq!(
        (cross.status().as_u16(), code(&cross).as_str()),
        (403, "csrf_failed")
    );
    assert_eq!(sql(Some(ORIGIN), None).reply(&w.api).await.status(), 403);
    assert_eq!(
        sql(Some(ORIGIN), Some("nope")).reply(&w.api).await.status(),
        403
    );
    assert_eq!(sql(None, Some(&csrf)).reply(&w.api).await.status(), 403);
    assert_eq!(
        sql(Some(ORIGIN), Some(&csrf)).reply(&w.api).await.status(),
        200
    );

    let live = format!("/api/guilds/{}/live", w.a);
    let evil = warp::test::request()
        .path(&live)
        .header("cookie", &cookie)
        .header("origin", "http://evil.test")
        .reply(&w.api)
        .await;
    assert_eq!(
        (evil.status().as_u16(), code(&evil).as_str()),
        (403, "origin_not_allowed")
    );
    let bare = warp::test::request()
        .path(&live)
        .header("cookie", &cookie)
        .reply(&w.api)
        .await;
    assert_eq!(bare.status(), 403, "a session without Origin");
    let ok = warp::test::request()
        .path(&live)
        .header("cookie", &cookie)
        .header("origin", ORIGIN)
        .reply(&w.api)
        .await;
    assert_eq!(
        code(&ok),
        "websocket_required",
        "authorized, reaches the route"
    );
}

#[tokio::test]
async fn a_role_change_revokes_access_and_closes_the_websocket() {
    let w = world("auth-roles", |_| {}).await;
    let (cookie, _) = login(&w, w.admin).await;
    let stats = format!("/api/guilds/{}/stats", w.a);
    let get = || warp::test::request().path(&stats).header("cookie", &cookie);
    assert_eq!(get().reply(&w.api).await.status(), 200);
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{}/live", w.a))
        .header("cookie", &cookie)
        .header("origin", ORIGIN)
        .handshake(w.api.clone())
        .await
        .unwrap();

    // The gateway says the admin lost their roles.
    w.directory.observe(&Event {
        at: T0 + 10,
        shard: 0,
        seq: 3,
        body: EventBody::MemberUpdate(MemberInfo {
            guild: GuildId(w.a),
            user: UserId(w.admin),
            bot: false,
            roles: Box::new([]),
            joined_at: None,
            name: None,
        }),
    });
    assert_eq!(get().reply(&w.api).await.status(), 403);
    tokio::time::timeout(Duration::from_secs(10), client.recv_closed())
        .await
        .expect("the websocket closes within the recheck interval")
        .unwrap();
}

#[tokio::test]
async fn logout_closes_the_sessions_websockets() {
    let w = world("auth-logout-ws", |_| {}).await;
    let (cookie, csrf) = login(&w, w.admin).await;
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{}/live", w.a))
        .header("cookie", &cookie)
        .header("origin", ORIGIN)
        .handshake(w.api.clone())
        .await
        .unwrap();
    let out = warp::test::request()
        .method("POST")
        .path("/auth/logout")
        .header("cookie", &cookie)
        .header("origin", ORIGIN)
        .header("x-csrf-token", &csrf)
        .reply(&w.api)
        .await;
    assert_eq!(out.status(), 204);
    tokio::time::timeout(Duration::from_secs(1), client.recv_closed())
        .await
        .expect("closed at the revocation, not at the next periodic check")
        .unwrap();
}

#[tokio::test]
async fn without_auth_nothing_changes() {
    let mut df = dataflow();
    df.push(vec![message(42, 7, 1_000_001, T0, 1)]);
    let state = df.state();
    eventually("the message", || state.watermark().is_some()).await;
    let api = routes(ApiContext::new(state));
    let open = warp::test::request()
        .path("/api/guilds/42/stats")
        .reply(&api)
        .await;
    assert_eq!(open.status(), 200);
    for path in ["/auth/login", "/api/me"] {
        assert_eq!(
            warp::test::request().path(path).reply(&api).await.status(),
            404
        );
    }
}
