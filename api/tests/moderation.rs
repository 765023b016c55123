//! Automod end to end with every real part: the simulator's gateway feeds real twilight shards,
//! the frames are decoded into the dataflow, a rule created through the API fires on spam the
//! simulator sends, the executor's timeout reaches the simulator's REST route through
//! twilight-http, the moderation log has the entry with its evidence, and the guild's
//! websocket room hears of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use futures_util::StreamExt;
use guildflow_admin::{ActionExecutor, AdminPlane, DataflowControl, ExecutorConfig, FileJournal};
use guildflow_api::{bind, routes, serve_listener, ApiContext};
use guildflow_dataflow::state::StateEvent;
use guildflow_shards::decode::DecodeCounters;
use guildflow_shards::gateway::{GatewayConfig, IdentifyQueue, ShardSet};
use guildflow_shards::ingest::Ingest;
use guildflow_shards::registry::ShardRegistry;
use guildflow_shards::simulator::{FeedConfig, RestRoute, SimulatorConfig, SimulatorHandle};
use guildflow_shards::workload::WorkloadConfig;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

fn message_create(guild: u64, channel: u64, user: u64, id: u64, content: &str) -> String {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "guild_id": guild.to_string(),
        "author": {"id": user.to_string(), "username": "spammer", "discriminator": "0", "avatar": null},
        "member": {"roles": [], "joined_at": "2025-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false},
        "content": content,
        "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spam_fires_a_rule_whose_timeout_reaches_discord_the_log_and_the_websocket() {
    // The simulator: one shard, a world of guilds, no random traffic.
    let mut config = SimulatorConfig::local(1);
    config.feed = Some(FeedConfig {
        workload: WorkloadConfig {
            guilds: 10,
            ..WorkloadConfig::default()
        },
        rate: Some(1.0),
        limit_per_shard: Some(0),
    });
    let sim = SimulatorHandle::start(config).await.unwrap();
    let guild = sim.guilds_with_roles_mix()[0];
    let spammer = sim.non_admin_member_of(guild).unwrap();
    let d: Value =
        serde_json::from_str(&sim.world().unwrap().guild_create(guild).unwrap()).unwrap();
    let channel: u64 = d["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 0)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // The pipeline: real shards -> decode -> dataflow; the admin plane and its executor.
    let control = DataflowControl::new(common::dataflow());
    let state = control.lock().as_ref().unwrap().state();
    let dir = std::env::temp_dir().join(format!("gf-moderation-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let plane = AdminPlane::open(Box::new(FileJournal::open(&dir).unwrap())).unwrap();
    plane.attach(Arc::new(control.clone())).unwrap();
    let http = ActionExecutor::client("test-token", &sim.api_base()).unwrap();
    let executor = ActionExecutor::start(plane.clone(), Arc::new(http), ExecutorConfig::default());
    let submit = executor.clone();
    let _listening = state.listen(move |event| {
        if let StateEvent::Automod(action) = event {
            submit.submit(action.clone());
        }
    });
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let registry = ShardRegistry::new();
    let shards = ShardSet::start(
        GatewayConfig {
            token: "test-token".into(),
            total_shards: 1,
            shard_ids: 0..=0,
            intents: GatewayConfig::default_intents(),
            gateway_url: Some(sim.url()),
            queue: IdentifyQueue::Immediate,
            overflow_capacity: 1024,
            resume: HashMap::new(),
        },
        registry.clone(),
        tx,
    )
    .unwrap();
    let feeder = control.clone();
    let pipeline = tokio::spawn(async move {
        let ingest = Ingest::new(Arc::new(DecodeCounters::default()));
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, 256).await > 0 {
            let events: Vec<_> = batch
                .drain(..)
                .filter_map(|f| ingest.frame(&f, None))
                .collect();
            if let Some(dataflow) = feeder.lock().as_mut() {
                dataflow.push(events);
            }
        }
    });
    common::eventually("the guild's GUILD_CREATE", || state.read().has_guild(guild)).await;

    // The API: REST through warp's test client, the websocket over real TCP.
    let ctx = ApiContext::new(state.clone())
        .with_admin(plane.clone())
        .without_client_limits();
    let api = routes(ctx.clone());
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(listener, ctx, async {
        let _ = stopped.await;
    }));
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{addr}/api/guilds/{guild}/live"), stream)
            .await
            .unwrap();

    let created = warp::test::request()
        .method("POST")
        .path(&format!("/api/guilds/{guild}/automod/rules"))
        .json(&json!({
            "name": "anti-flood",
            "trigger": {"type": "message_rate", "max_messages": 3, "per_seconds": 10},
            "actions": [{"type": "timeout", "seconds": 300}]
        }))
        .reply(&api)
        .await;
    assert_eq!(created.status(), 201, "{:?}", created.body());
    let rule: Value = serde_json::from_slice(created.body()).unwrap();

    // Spam: five messages in a second from one member.
    for i in 0..5u64 {
        sim.push_dispatch(
            0,
            "MESSAGE_CREATE",
            message_create(
                guild,
                channel,
                spammer,
                1_500_000_000_000_000_000 + i,
                "BUY NOW",
            ),
        );
    }

    // The websocket room hears the finished entry.
    let deadline = Instant::now() + Duration::from_secs(20);
    let frame = loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(remaining, ws.next())
            .await
            .expect("a moderation frame within 20 s")
            .expect("an open socket")
            .unwrap();
        if let Message::Text(text) = message {
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["type"] == "moderation" {
                break v;
            }
        }
    };
    let entry = &frame["entry"];
    assert_eq!(entry["action"], "timeout");
    assert_eq!(entry["status"], "done", "{entry}");
    assert_eq!(entry["user_id"], spammer.to_string());
    assert_eq!(entry["rule_id"], rule["id"]);
    assert_eq!(entry["evidence"]["trigger"], "message_rate");

    // The simulator received exactly one timeout of the spammer (one burst, one offence).
    let timeouts: Vec<_> = sim
        .rest_actions()
        .into_iter()
        .filter(|a| a.route == RestRoute::ModifyMember)
        .collect();
    assert_eq!(timeouts.len(), 1, "{timeouts:?}");
    assert_eq!(timeouts[0].ids[..2], [guild, spammer]);
    assert!(timeouts[0].body.as_ref().unwrap()["communication_disabled_until"].is_string());

    // The moderation log has it, filterable, and as CSV.
    let logs = warp::test::request()
        .path(&format!(
            "/api/guilds/{guild}/moderation/logs?user_id={spammer}&action=timeout"
        ))
        .reply(&api)
        .await;
    assert_eq!(logs.status(), 200);
    let logs: Value = serde_json::from_slice(logs.body()).unwrap();
    assert_eq!(logs["entries"].as_array().unwrap().len(), 1, "{logs}");
    assert_eq!(logs["entries"][0]["id"], entry["id"]);
    let csv = warp::test::request()
        .path(&format!("/api/guilds/{guild}/moderation/logs?format=csv"))
        .reply(&api)
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = String::from_utf8(csv.body().to_vec()).unwrap();
    assert!(
        text.contains(&format!(",{spammer},timeout,300,automod,")),
        "{text}"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    shards.stop().await;
    pipeline.abort();
    plane.detach();
    drop(executor);
    control.take().unwrap().finish().unwrap();
    sim.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
