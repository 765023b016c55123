//! The real twilight-http client against the simulator's Discord REST routes: delete message,
//! timeout, kick, ban, role add/remove, gateway/bot, Discord-style 404s and 401s, rate-limit
//! headers, a 429 that twilight's ratelimiter waits out and retries, injected failures, and
//! the action log with audit-log reasons.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_shards::simulator::{
    FeedConfig, RateLimit, RestRoute, SimulatorConfig, SimulatorHandle,
};
use guildflow_shards::workload::WorkloadConfig;
use serde_json::Value;
use std::time::{Duration, Instant};
use twilight_http::api_error::ApiError;
use twilight_http::error::ErrorType;
use twilight_http::request::AuditLogReason;
use twilight_http::Client;
use twilight_model::id::Id;
use twilight_model::util::Timestamp;

async fn start() -> SimulatorHandle {
    let mut config = SimulatorConfig::local(2);
    config.feed = Some(FeedConfig {
        workload: WorkloadConfig {
            guilds: 30,
            ..WorkloadConfig::default()
        },
        rate: Some(1.0),
        limit_per_shard: Some(0),
    });
    SimulatorHandle::start(config).await.unwrap()
}

fn client(sim: &SimulatorHandle, token: &str) -> Client {
    Client::builder()
        .token(token.to_owned())
        .proxy(sim.rest_proxy_host(), true)
        .timeout(Duration::from_secs(10))
        .build()
}

/// A guild with a non-admin member, its first text channel and an assignable role.
struct Target {
    guild: u64,
    user: u64,
    channel: u64,
    role: u64,
}

fn target(sim: &SimulatorHandle, nth: usize) -> Target {
    let guild = sim.guilds_with_roles_mix()[nth];
    let d: Value =
        serde_json::from_str(&sim.world().unwrap().guild_create(guild).unwrap()).unwrap();
    let channel = d["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 0)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let role = d["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Moderator")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    Target {
        guild,
        user: sim.non_admin_member_of(guild).unwrap(),
        channel,
        role,
    }
}

fn api_code(error: &twilight_http::Error) -> (u16, u64) {
    match error.kind() {
        ErrorType::Response {
            error: ApiError::General(general),
            status,
            ..
        } => (status.get(), general.code),
        other => panic!("not an API error: {other:?}"),
    }
}

#[tokio::test]
async fn moderation_actions_are_served_and_logged() {
    let sim = start().await;
    let http = client(&sim, "test-token");
    let t = target(&sim, 0);

    http.delete_message(Id::new(t.channel), Id::new(42))
        .reason("spam burst")
        .await
        .unwrap();
    let until = Timestamp::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 600,
    )
    .unwrap();
    let member = http
        .update_guild_member(Id::new(t.guild), Id::new(t.user))
        .communication_disabled_until(Some(until))
        .reason("automod: caps")
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(member.user.id.get(), t.user);
    assert_eq!(member.communication_disabled_until, Some(until));

    http.add_guild_member_role(Id::new(t.guild), Id::new(t.user), Id::new(t.role))
        .await
        .unwrap();
    assert!(sim
        .user_guilds(t.user)
        .iter()
        .any(|g| g.id == t.guild && g.administers()));
    http.remove_guild_member_role(Id::new(t.guild), Id::new(t.user), Id::new(t.role))
        .await
        .unwrap();
    http.remove_guild_member(Id::new(t.guild), Id::new(t.user))
        .reason("warnings: 3 strikes")
        .await
        .unwrap();
    assert!(!sim.user_guilds(t.user).iter().any(|g| g.id == t.guild));
    http.create_ban(Id::new(t.guild), Id::new(t.user))
        .delete_message_seconds(3600)
        .reason("raid")
        .await
        .unwrap();

    let actions = sim.rest_actions();
    let routes: Vec<RestRoute> = actions.iter().map(|a| a.route).collect();
    assert_eq!(
        routes,
        [
            RestRoute::DeleteMessage,
            RestRoute::ModifyMember,
            RestRoute::AddMemberRole,
            RestRoute::RemoveMemberRole,
            RestRoute::RemoveMember,
            RestRoute::CreateBan,
        ]
    );
    assert_eq!(actions[0].reason.as_deref(), Some("spam burst"));
    assert_eq!(actions[0].ids, [t.channel, 42, 0]);
    assert_eq!(actions[1].method, "PATCH");
    assert_eq!(actions[1].reason.as_deref(), Some("automod: caps"));
    let body = actions[1].body.as_ref().unwrap();
    assert!(body["communication_disabled_until"].is_string());
    assert_eq!(actions[4].reason.as_deref(), Some("warnings: 3 strikes"));
    assert_eq!(
        actions[5].body.as_ref().unwrap()["delete_message_seconds"],
        3600
    );
    assert_eq!(
        actions[5].path,
        format!("/guilds/{}/bans/{}", t.guild, t.user)
    );

    let waited = sim
        .wait_for_rest_action(|a| a.route == RestRoute::CreateBan, Duration::from_secs(1))
        .await;
    assert!(waited.is_some());
}

#[tokio::test]
async fn unknown_ids_get_discord_errors() {
    let sim = start().await;
    let http = client(&sim, "test-token");
    let t = target(&sim, 0);
    let stranger = sim
        .member_of_a_not_b(sim.guilds_with_roles_mix()[1], t.guild)
        .unwrap();

    let err = http
        .remove_guild_member(Id::new(t.guild), Id::new(stranger))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (404, 10007));
    let err = http
        .remove_guild_member(Id::new(12345), Id::new(t.user))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (404, 10004));
    let err = http
        .delete_message(Id::new(99), Id::new(1))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (404, 10003));
    http.delete_message(Id::new(t.channel), Id::new(7))
        .await
        .unwrap();
    let err = http
        .delete_message(Id::new(t.channel), Id::new(7))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (404, 10008));
    let err = http
        .add_guild_member_role(Id::new(t.guild), Id::new(t.user), Id::new(5))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (404, 10011));
    assert_eq!(sim.rest_actions().len(), 1);
}

#[tokio::test]
async fn bad_bot_token_is_unauthorized() {
    let sim = start().await;
    let http = client(&sim, "wrong-token");
    let t = target(&sim, 0);
    let err = http
        .remove_guild_member(Id::new(t.guild), Id::new(t.user))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorType::Response { status, .. } if status.get() == 401)
            || matches!(err.kind(), ErrorType::Unauthorized),
        "{err:?}"
    );
    assert!(sim.rest_actions().is_empty());
}

#[tokio::test]
async fn gateway_bot_points_at_the_simulator() {
    let sim = start().await;
    let http = client(&sim, "test-token");
    let info = http
        .gateway()
        .authed()
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(info.url, sim.url());
    assert_eq!(info.shards, 2);
    assert_eq!(info.session_start_limit.max_concurrency, 1);
}

#[tokio::test]
async fn a_429_is_waited_out_and_retried_by_twilight() {
    let sim = start().await;
    let t = target(&sim, 0);
    sim.set_rate_limit(
        RestRoute::DeleteMessage,
        RateLimit {
            limit: 2,
            window: Duration::from_millis(800),
        },
    );
    // Another process of the bot drains the channel's bucket; this client cannot know.
    let other = client(&sim, "test-token");
    for message in [1, 2] {
        other
            .delete_message(Id::new(t.channel), Id::new(message))
            .await
            .unwrap();
    }
    let http = client(&sim, "test-token");
    let started = Instant::now();
    http.delete_message(Id::new(t.channel), Id::new(3))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let stats = sim.rest_stats();
    assert!(stats.rate_limited >= 1, "{stats:?}");
    assert_eq!(sim.rest_actions().len(), 3);
}

#[tokio::test]
async fn twilight_paces_itself_from_the_headers() {
    let sim = start().await;
    let t = target(&sim, 0);
    sim.set_rate_limit(
        RestRoute::DeleteMessage,
        RateLimit {
            limit: 2,
            window: Duration::from_millis(400),
        },
    );
    let http = client(&sim, "test-token");
    let started = Instant::now();
    for message in 1..=5 {
        http.delete_message(Id::new(t.channel), Id::new(message))
            .await
            .unwrap();
    }
    // Five requests at two per 400 ms need at least two waits.
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sim.rest_actions().len(), 5);
}

#[tokio::test]
async fn injected_failures_surface_then_clear() {
    let sim = start().await;
    let t = target(&sim, 0);
    sim.inject_rest_failure(RestRoute::RemoveMember, 503, 1);
    let http = client(&sim, "test-token");
    let err = http
        .remove_guild_member(Id::new(t.guild), Id::new(t.user))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorType::Response { status, .. } if status.get() == 503));
    assert!(sim.rest_actions().is_empty());
    http.remove_guild_member(Id::new(t.guild), Id::new(t.user))
        .await
        .unwrap();
    assert_eq!(sim.rest_stats().injected_failures, 1);
}

#[tokio::test]
async fn every_response_carries_rate_limit_headers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = start().await;
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let req = format!(
        "GET /api/v10/gateway/bot HTTP/1.1\r\nHost: {}\r\nAuthorization: Bot test-token\r\nConnection: close\r\n\r\n",
        sim.addr()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let lower = raw.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{raw}");
    for h in [
        "x-ratelimit-limit: 50",
        "x-ratelimit-remaining: 49",
        "x-ratelimit-reset:",
        "x-ratelimit-reset-after:",
        "x-ratelimit-bucket:",
    ] {
        assert!(lower.contains(h), "missing {h} in {raw}");
    }
}

#[tokio::test]
async fn accepted_actions_echo_on_the_gateway() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let sim = start().await;
    let t = target(&sim, 0);
    let shard = ((t.guild >> 22) % 2) as u32;
    let stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let url = format!("{}/?v=10&encoding=json", sim.url());
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let identify = serde_json::json!({"op": 2, "d": {"token": "test-token", "intents": 0,
        "shard": [shard, 2], "properties": {}}});
    ws.send(Message::text(identify.to_string())).await.unwrap();
    client(&sim, "test-token")
        .remove_guild_member(Id::new(t.guild), Id::new(t.user))
        .await
        .unwrap();
    let wanted = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(text) = msg else { continue };
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["t"] == "GUILD_MEMBER_REMOVE" {
                return Some(v["d"].clone());
            }
        }
        None
    })
    .await
    .unwrap()
    .expect("GUILD_MEMBER_REMOVE");
    assert_eq!(wanted["guild_id"], t.guild.to_string());
    assert_eq!(wanted["user"]["id"], t.user.to_string());
}
