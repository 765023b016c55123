//! The live websocket in process (`warp::test::ws`) against a running dataflow: snapshot then
//! updates, coalescing, level-up activity, malformed and oversized messages, rate limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{dataflow, eventually, message};
use guildflow_api::{routes, ApiConfig, ApiContext};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warp::test::WsClient;

const GUILD: u64 = 81_384_788_765_712_384;
const ALICE: u64 = 100_000_000_000_000_001;
const BOB: u64 = 100_000_000_000_000_002;
const T0: i64 = 1_770_000_000_000;

async fn recv_json(client: &mut WsClient) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(10), client.recv())
        .await
        .expect("a frame within 10 s")
        .expect("an open socket");
    serde_json::from_str(message.to_str().expect("a text frame")).unwrap()
}

/// Frames until one satisfies `pred` (leaderboard frames may come for intermediate states).
async fn recv_until(client: &mut WsClient, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = recv_json(client).await;
        if pred(&frame) {
            return frame;
        }
    }
}

fn users(frame: &Value) -> Vec<(String, i64)> {
    frame["entries"]
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

#[tokio::test]
async fn snapshot_then_a_frame_per_change() {
    let mut df = dataflow();
    df.push(vec![message(GUILD, ALICE, 1_000_001, T0, 1)]);
    let state = df.state();
    eventually("the first message", || state.watermark().is_some()).await;
    let api = routes(ApiContext::new(state.clone()));
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{GUILD}/live"))
        .handshake(api)
        .await
        .unwrap();
    client
        .send_text(
            json!({"subscribe": {"metric": "messages", "period": "all", "limit": 10}}).to_string(),
        )
        .await;
    let snapshot = recv_json(&mut client).await;
    assert_eq!(snapshot["type"], "leaderboard");
    assert_eq!(snapshot["metric"], "messages");
    assert_eq!(snapshot["period"], "all");
    assert!(snapshot["watermark"].is_i64());
    assert_eq!(users(&snapshot), vec![(ALICE.to_string(), 1)]);
    let keys: Vec<&String> = snapshot.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.len(),
        5,
        "type, metric, period, watermark, entries: {keys:?}"
    );

    // Bob overtakes Alice: the next frame shows it.
    df.push(vec![
        message(GUILD, BOB, 1_000_002, T0 + 1_000, 2),
        message(GUILD, BOB, 1_000_003, T0 + 2_000, 3),
    ]);
    let frame = recv_until(&mut client, |f| users(f).len() == 2 && users(f)[0].1 == 2).await;
    assert_eq!(
        users(&frame),
        vec![(BOB.to_string(), 2), (ALICE.to_string(), 1)]
    );
    assert_eq!(frame["entries"][0]["rank"], 1);
    assert!(frame["watermark"].as_i64().unwrap() >= T0 + 2_000);

    // A change outside the subscribed board sends nothing; limit 1 only sees the top.
    client
        .send_text(
            json!({"subscribe": {"metric": "messages", "period": "all", "limit": 1}}).to_string(),
        )
        .await;
    let top = recv_json(&mut client).await;
    assert_eq!(users(&top), vec![(BOB.to_string(), 2)]);
    df.push(vec![message(GUILD, BOB + 1, 1_000_004, T0 + 3_000, 4)]);
    let quiet = tokio::time::timeout(Duration::from_millis(400), client.recv()).await;
    assert!(
        quiet.is_err(),
        "a third member with 1 does not change the top 1: {quiet:?}"
    );
    drop(df);
}

#[tokio::test]
async fn bursts_are_coalesced() {
    let mut df = dataflow();
    df.push(vec![message(GUILD, ALICE, 2_000_000, T0, 1)]);
    let state = df.state();
    eventually("the first message", || state.watermark().is_some()).await;
    let config = ApiConfig {
        ws_coalesce: Duration::from_millis(100),
        ..ApiConfig::default()
    };
    let api = routes(ApiContext::new(state.clone()).with_config(config));
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{GUILD}/live"))
        .handshake(api)
        .await
        .unwrap();
    client
        .send_text(r#"{"subscribe":{"metric":"messages","period":"all","limit":100}}"#)
        .await;
    recv_json(&mut client).await;
    // 40 changes as fast as the dataflow takes them.
    for i in 1..=40u64 {
        df.push(vec![message(
            GUILD,
            ALICE + i,
            2_000_000 + i,
            T0 + i as i64 * 1_000,
            1 + i,
        )]);
    }
    let mut arrivals = Vec::new();
    loop {
        let frame = recv_json(&mut client).await;
        arrivals.push(Instant::now());
        if users(&frame).len() == 41 {
            break;
        }
    }
    assert!(
        arrivals.len() < 40,
        "{} frames for 40 changes",
        arrivals.len()
    );
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(60), "frames {gap:?} apart");
    }
}

#[tokio::test]
async fn level_ups_reach_the_guild_room() {
    let mut df = dataflow();
    let state = df.state();
    let api = routes(ApiContext::new(state.clone()));
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{GUILD}/live"))
        .handshake(api)
        .await
        .unwrap();
    // XP: 15 to 25 per message, one award per 60 s: level 1 (100 XP) within 7 messages.
    for i in 0..8u64 {
        df.push(vec![message(
            GUILD,
            ALICE,
            3_000_000 + i,
            T0 + i as i64 * 61_000,
            1 + i,
        )]);
    }
    let frame = recv_until(&mut client, |f| f["type"] == "activity").await;
    let event = &frame["events"][0];
    assert_eq!(event["kind"], "level_up");
    assert_eq!(event["user_id"], ALICE.to_string());
    assert_eq!(event["level"], 1);
    assert!(event["xp"].as_i64().unwrap() >= 100);
    assert_eq!(frame["missed"], 0);
}

#[tokio::test]
async fn malformed_messages_get_error_frames() {
    let state = guildflow_dataflow::state::StatsState::new();
    let api = routes(ApiContext::new(state));
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{GUILD}/live"))
        .handshake(api)
        .await
        .unwrap();
    for (text, code) in [
        ("hello", "bad_message"),
        (r#"{"subscribe":{"metric":"karma"}}"#, "invalid_metric"),
        (r#"{"subscribe":{"period":"decade"}}"#, "invalid_period"),
        (r#"{"subscribe":{"limit":0}}"#, "invalid_limit"),
        (r#"{"subscribe":{"limit":101}}"#, "invalid_limit"),
        (r#"{"subscribe":{"limit":10,"extra":1}}"#, "bad_message"),
        (r#"{"unsubscribe":{"metric":"nope"}}"#, "invalid_metric"),
    ] {
        client.send_text(text).await;
        let frame = recv_json(&mut client).await;
        assert_eq!(frame["type"], "error", "{text}");
        assert_eq!(frame["error"]["code"], code, "{text}");
        assert!(frame["error"]["message"].is_string());
    }
    client.send(warp::ws::Message::binary(vec![1, 2, 3])).await;
    assert_eq!(recv_json(&mut client).await["error"]["code"], "bad_message");
    // Still serving: an empty guild's board is an empty list.
    client
        .send_text(r#"{"subscribe":{"metric":"xp","period":"week","limit":5}}"#)
        .await;
    let frame = recv_json(&mut client).await;
    assert_eq!(frame["type"], "leaderboard");
    assert_eq!(frame["entries"], json!([]));
    assert_eq!(frame["watermark"], Value::Null);
}

#[tokio::test]
async fn oversized_messages_close_the_socket() {
    let api = routes(ApiContext::new(guildflow_dataflow::state::StatsState::new()));
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{GUILD}/live"))
        .handshake(api)
        .await
        .unwrap();
    client.send_text("x".repeat(5 * 1024)).await;
    tokio::time::timeout(Duration::from_secs(5), client.recv_closed())
        .await
        .expect("closed within 5 s")
        .expect("closed without further frames");
}

#[tokio::test]
async fn message_floods_are_rate_limited() {
    let api = routes(ApiContext::new(guildflow_dataflow::state::StatsState::new()));
    let mut client = warp::test::ws()
        .path(&format!("/api/guilds/{GUILD}/live"))
        .handshake(api)
        .await
        .unwrap();
    for _ in 0..30 {
        client.send_text(r#"{"subscribe":{}}"#).await;
    }
    let mut limited = 0;
    for _ in 0..30 {
        let frame = recv_json(&mut client).await;
        if frame["type"] == "error" {
            assert_eq!(frame["error"]["code"], "rate_limited");
            limited += 1;
        }
    }
    assert!(limited >= 5, "{limited} of 30 rate-limited (burst 20)");
    // A sustained flood is closed.
    for _ in 0..100 {
        client.send_text(r#"{"subscribe":{}}"#).await;
    }
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while client.recv().await.is_ok() {}
    })
    .await;
    assert!(closed.is_ok(), "the flooding client is closed");
}
