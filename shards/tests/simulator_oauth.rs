//! The simulator's OAuth2 authorization-code flow with PKCE, and `/users/@me*` computed from
//! the seeded world: the good flow, state echo, wrong/missing verifier, replayed and expired
//! codes, client authentication, refresh rotation, revocation, and per-guild permissions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_shards::simulator::{
    pkce_challenge, FeedConfig, SimulatorConfig, SimulatorHandle, ALL_PERMISSIONS,
};
use guildflow_shards::workload::WorkloadConfig;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The query pairs of the Location header.
    fn location_params(&self) -> Vec<(String, String)> {
        let location = self.header("location").expect("a Location header");
        let query = location.split_once('?').expect("a query").1;
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
async fn request(
    sim: &SimulatorHandle,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(sim.addr()).await.unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        sim.addr(),
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("reply in time")
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn start(configure: impl FnOnce(&mut SimulatorConfig)) -> SimulatorHandle {
    let mut config = SimulatorConfig::local(1);
    config.feed = Some(FeedConfig {
        workload: WorkloadConfig {
            guilds: 40,
            ..WorkloadConfig::default()
        },
        rate: Some(1.0),
        limit_per_shard: Some(0),
    });
    configure(&mut config);
    SimulatorHandle::start(config).await.unwrap()
}

/// `/oauth2/authorize` with PKCE for `login_as` (None: the default user); the redirect reply.
async fn authorize(sim: &SimulatorHandle, login_as: Option<u64>, extra: &[(&str, &str)]) -> Reply {
    let (client_id, _) = sim.oauth_client();
    let challenge = pkce_challenge(VERIFIER);
    let login = login_as.map(|u| u.to_string());
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "identify guilds"),
        ("state", "st4te"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(login) = &login {
        pairs.push(("login_as", login));
    }
    // Extra pairs replace the defaults of the same name.
    pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    pairs.extend_from_slice(extra);
    request(
        sim,
        "GET",
        &format!("/oauth2/authorize?{}", form(&pairs)),
        &[],
        "",
    )
    .await
}

async fn code_for(sim: &SimulatorHandle, login_as: Option<u64>) -> String {
    let reply = authorize(sim, login_as, &[]).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    let params = reply.location_params();
    assert!(params.contains(&("state".into(), "st4te".into())));
    params
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v)
        .expect("a code")
}

async fn exchange(sim: &SimulatorHandle, code: &str, verifier: Option<&str>) -> Reply {
    let (client_id, secret) = sim.oauth_client();
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    if let Some(v) = verifier {
        pairs.push(("code_verifier", v));
    }
    let ct = ("Content-Type", "application/x-www-form-urlencoded");
    request(sim, "POST", "/api/v10/oauth2/token", &[ct], &form(&pairs)).await
}

async fn get_bearer(sim: &SimulatorHandle, path: &str, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    request(sim, "GET", path, &[("Authorization", &auth)], "").await
}

fn bits(guild: &Value) -> u64 {
    guild["permissions"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn good_flow_gives_the_user_and_their_guilds_with_permissions() {
    let sim = start(|_| {}).await;
    let guild = sim.guilds_with_roles_mix()[0];
    let owner = sim.owner_of(guild).unwrap();
    let code = code_for(&sim, Some(owner)).await;
    let reply = exchange(&sim, &code, Some(VERIFIER)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let tokens = reply.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "identify guilds");
    assert_eq!(tokens["expires_in"], 604_800);
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].as_str().is_some());

    let me = get_bearer(&sim, "/api/v10/users/@me", access).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["id"], owner.to_string());
    assert!(me.json()["username"].as_str().is_some());

    let guilds = get_bearer(&sim, "/api/v10/users/@me/guilds", access).await;
    assert_eq!(guilds.status, 200);
    assert!(guilds.header("x-ratelimit-limit").is_some());
    let list = guilds.json();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"].as_str().and_then(|s| s.parse::<u64>().ok()) == Some(guild))
        .expect("the owned guild is listed");
    assert_eq!(entry["owner"], true);
    assert_eq!(bits(entry), ALL_PERMISSIONS);
    assert!(entry["name"].as_str().is_some());
    assert_eq!(list.as_array().unwrap().len(), sim.user_guilds(owner).len());
}

#[tokio::test]
async fn admins_and_plain_members_get_their_role_permissions() {
    let sim = start(|_| {}).await;
    let guild = sim.guilds_with_roles_mix()[0];
    for (user, admin) in [
        (sim.admin_of(guild).unwrap(), true),
        (sim.non_admin_member_of(guild).unwrap(), false),
    ] {
        let code = code_for(&sim, Some(user)).await;
        let tokens = exchange(&sim, &code, Some(VERIFIER)).await.json();
        let access = tokens["access_token"].as_str().unwrap();
        let list = get_bearer(&sim, "/api/v10/users/@me/guilds", access)
            .await
            .json();
        let entry = list
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"].as_str().and_then(|s| s.parse::<u64>().ok()) == Some(guild))
            .unwrap()
            .clone();
        assert_eq!(entry["owner"], false);
        assert_eq!(
            bits(&entry) & (0x8 | 0x20) != 0,
            admin,
            "user {user}: {entry}"
        );
    }
}

#[tokio::test]
async fn a_member_of_a_does_not_see_b() {
    let sim = start(|_| {}).await;
    let ids: Vec<u64> = sim.guilds_with_roles_mix();
    let (a, b) = (ids[0], ids[1]);
    let user = sim.member_of_a_not_b(a, b).unwrap();
    let code = code_for(&sim, Some(user)).await;
    let tokens = exchange(&sim, &code, Some(VERIFIER)).await.json();
    let list = get_bearer(
        &sim,
        "/api/v10/users/@me/guilds",
        tokens["access_token"].as_str().unwrap(),
    )
    .await
    .json();
    let listed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&a.to_string().as_str()));
    assert!(!listed.contains(&b.to_string().as_str()));
}

#[tokio::test]
async fn default_login_is_configurable() {
    let sim = start(|_| {}).await;
    let guild = sim.guilds_with_roles_mix()[0];
    let admin = sim.admin_of(guild).unwrap();
    sim.set_login_user(Some(admin));
    let code = code_for(&sim, None).await;
    let tokens = exchange(&sim, &code, Some(VERIFIER)).await.json();
    let me = get_bearer(
        &sim,
        "/api/v10/users/@me",
        tokens["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(me.json()["id"], admin.to_string());
}

#[tokio::test]
async fn wrong_or_missing_verifier_is_refused_and_burns_the_code() {
    let sim = start(|_| {}).await;
    let code = code_for(&sim, None).await;
    let wrong = "x".repeat(43);
    let reply = exchange(&sim, &code, Some(&wrong)).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_grant");
    // Single use: even the right verifier cannot redeem it now.
    assert_eq!(exchange(&sim, &code, Some(VERIFIER)).await.status, 400);

    let code = code_for(&sim, None).await;
    let reply = exchange(&sim, &code, None).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_its_tokens() {
    let sim = start(|_| {}).await;
    let code = code_for(&sim, None).await;
    let tokens = exchange(&sim, &code, Some(VERIFIER)).await.json();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        get_bearer(&sim, "/api/v10/users/@me", access).await.status,
        200
    );
    let replay = exchange(&sim, &code, Some(VERIFIER)).await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json()["error"], "invalid_grant");
    let me = get_bearer(&sim, "/api/v10/users/@me", access).await;
    assert_eq!(me.status, 401);
    assert_eq!(me.json()["code"], 0);
}

#[tokio::test]
async fn expired_code_is_refused() {
    let sim = start(|c| c.oauth.code_ttl = Duration::from_millis(50)).await;
    let code = code_for(&sim, None).await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    let reply = exchange(&sim, &code, Some(VERIFIER)).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn client_credentials_are_checked_form_and_basic() {
    let sim = start(|_| {}).await;
    let (client_id, secret) = sim.oauth_client();
    let code = code_for(&sim, None).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("client_id", &client_id),
        ("client_secret", "wrong"),
        ("code_verifier", VERIFIER),
    ]);
    let reply = request(&sim, "POST", "/api/oauth2/token", &[], &body).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "invalid_client");

    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let code = code_for(&sim, None).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let auth = format!("Basic {basic}");
    let reply = request(
        &sim,
        "POST",
        "/api/oauth2/token",
        &[("Authorization", &auth)],
        &body,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn redirect_uri_must_match_the_authorization_request() {
    let sim = start(|_| {}).await;
    let (client_id, secret) = sim.oauth_client();
    let code = code_for(&sim, None).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "http://127.0.0.1:9/other"),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("code_verifier", VERIFIER),
    ]);
    let reply = request(&sim, "POST", "/oauth2/token", &[], &body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_rotates_and_revoke_kills_the_grant() {
    let sim = start(|_| {}).await;
    let (client_id, secret) = sim.oauth_client();
    let code = code_for(&sim, None).await;
    let first = exchange(&sim, &code, Some(VERIFIER)).await.json();
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ("client_id", &client_id),
        ("client_secret", &secret),
    ]);
    let reply = request(&sim, "POST", "/api/v10/oauth2/token", &[], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let second = reply.json();
    assert_ne!(second["access_token"], first["access_token"]);
    let old = get_bearer(
        &sim,
        "/api/v10/users/@me",
        first["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(old.status, 401);
    // The old refresh token died with the rotation.
    let again = request(&sim, "POST", "/api/v10/oauth2/token", &[], &body).await;
    assert_eq!(again.json()["error"], "invalid_grant");

    let access = second["access_token"].as_str().unwrap();
    assert_eq!(
        get_bearer(&sim, "/api/v10/users/@me", access).await.status,
        200
    );
    let body = form(&[
        ("token", access),
        ("token_type_hint", "access_token"),
        ("client_id", &client_id),
        ("client_secret", &secret),
    ]);
    let reply = request(&sim, "POST", "/api/v10/oauth2/token/revoke", &[], &body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        get_bearer(&sim, "/api/v10/users/@me", access).await.status,
        401
    );
}

#[tokio::test]
async fn authorize_errors_redirect_with_state_or_are_shown() {
    let sim = start(|_| {}).await;
    let denied = authorize(&sim, None, &[("deny", "1")]).await;
    assert_eq!(denied.status, 302);
    let params = denied.location_params();
    assert!(params.contains(&("error".into(), "access_denied".into())));
    assert!(params.contains(&("state".into(), "st4te".into())));

    let plain = request(
        &sim,
        "GET",
        &format!(
            "/oauth2/authorize?{}",
            form(&[
                ("response_type", "code"),
                ("client_id", &sim.oauth_client().0),
                ("redirect_uri", REDIRECT),
                ("scope", "identify"),
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ])
        ),
        &[],
        "",
    )
    .await;
    assert_eq!(plain.status, 302);
    assert!(plain
        .location_params()
        .contains(&("error".into(), "invalid_request".into())));

    let unknown_client = request(
        &sim,
        "GET",
        &format!(
            "/oauth2/authorize?{}",
            form(&[
                ("response_type", "code"),
                ("client_id", "1"),
                ("redirect_uri", REDIRECT),
                ("scope", "identify")
            ])
        ),
        &[],
        "",
    )
    .await;
    assert_eq!(unknown_client.status, 400);
    assert!(unknown_client.header("location").is_none());

    let bad_scope = authorize(&sim, None, &[("scope", "identify admin")]).await;
    assert!(bad_scope
        .location_params()
        .iter()
        .any(|(k, _)| k == "error"));
}

#[tokio::test]
async fn guilds_scope_is_required_for_guild_list() {
    let sim = start(|_| {}).await;
    let (client_id, _) = sim.oauth_client();
    let challenge = pkce_challenge(VERIFIER);
    let query = form(&[
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "identify"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let reply = request(&sim, "GET", &format!("/oauth2/authorize?{query}"), &[], "").await;
    let code = reply
        .location_params()
        .into_iter()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1;
    let tokens = exchange(&sim, &code, Some(VERIFIER)).await.json();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        get_bearer(&sim, "/api/v10/users/@me", access).await.status,
        200
    );
    assert_eq!(
        get_bearer(&sim, "/api/v10/users/@me/guilds", access)
            .await
            .status,
        401
    );
}
