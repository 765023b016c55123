//! The API over real TCP: `serve_listener` on 127.0.0.1:0, plain HTTP, a real websocket client
//! (tokio-tungstenite), graceful shutdown, and a client that never reads being dropped while
//! the others keep being served.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{dataflow, eventually, message};
use futures_util::{SinkExt, StreamExt};
use guildflow_api::{bind, serve_listener, ApiConfig, ApiContext};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

const GUILD: u64 = 81_384_788_765_712_384;
const T0: i64 = 1_770_000_000_000;

/// A plain HTTP/1.1 GET; returns (status, body).
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(response).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

type Client = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn connect(addr: SocketAddr, guild: u64) -> Client {
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/api/guilds/{guild}/live");
    tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap()
        .0
}

async fn next_json(client: &mut Client) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .expect("a frame within 10 s")
            .expect("an open socket")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_websocket_over_tcp_then_graceful_shutdown() {
    let mut df = dataflow();
    df.push(vec![message(GUILD, 7, 9_000_001, T0, 1)]);
    let state = df.state();
    eventually("the first message", || state.watermark().is_some()).await;
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(listener, ApiContext::new(state), async {
        let _ = stopped.await;
    }));

    let (status, body) = http_get(addr, "/health").await;
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["watermark"], T0);
    let (status, body) = http_get(
        addr,
        &format!("/api/guilds/{GUILD}/leaderboard?metric=messages"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_get(addr, "/api/guilds/x/stats").await;
    assert_eq!(status, 400, "{body}");

    let mut client = connect(addr, GUILD).await;
    client
        .send(Message::text(
            r#"{"subscribe":{"metric":"messages","period":"day","limit":3}}"#,
        ))
        .await
        .unwrap();
    let snapshot = next_json(&mut client).await;
    assert_eq!(snapshot["entries"][0]["user_id"], "7");
    df.push(vec![
        message(GUILD, 8, 9_000_002, T0 + 1_000, 2),
        message(GUILD, 8, 9_000_003, T0 + 2_000, 3),
    ]);
    let frame = next_json(&mut client).await;
    assert_eq!(frame["entries"][0]["user_id"], "8");
    assert_eq!(frame["entries"][0]["value"], 2);

    // Shutdown: the live client gets a 1001 close and the server returns.
    stop.send(()).unwrap();
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.unwrap().code), 1001);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    drop(df);
}

/// Handshakes by hand on a socket with a tiny receive buffer, subscribes, and never reads
/// again.
async fn stalled_client(addr: SocketAddr, guild: u64) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET /api/guilds/{guild}/live HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    // A masked text frame (mask 0: the payload goes as is).
    let payload = br#"{"subscribe":{"metric":"messages","period":"all","limit":100}}"#;
    let mut frame = vec![
        0x81,
        0x80 | u8::try_from(payload.len()).unwrap(),
        0,
        0,
        0,
        0,
    ];
    frame.extend_from_slice(payload);
    stream.write_all(&frame).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_others_are_still_served() {
    let mut df = dataflow();
    // 150 members, so the top 100 is a big frame that changes with every message.
    let mut seq = 0u64;
    let mut at = T0;
    let mut batch = Vec::new();
    for user in 1..=150u64 {
        seq += 1;
        at += 10;
        batch.push(message(GUILD, 1_000 + user, 5_000_000 + seq, at, seq));
    }
    df.push(batch);
    let state = df.state();
    eventually("the members", || state.watermark().is_some()).await;
    let config = ApiConfig {
        ws_queue: 8,
        ws_coalesce: Duration::from_millis(2),
        ws_send_timeout: Duration::from_secs(3),
        ..ApiConfig::default()
    };
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(
        listener,
        ApiContext::new(state.clone()).with_config(config),
        async {
            let _ = stopped.await;
        },
    ));

    // A well-behaved client watches a small board of the same guild.
    let mut good = connect(addr, GUILD).await;
    good.send(Message::text(
        r#"{"subscribe":{"metric":"messages","period":"all","limit":1}}"#,
    ))
    .await
    .unwrap();
    next_json(&mut good).await;
    let stalled = stalled_client(addr, GUILD).await;

    // Keep the board moving until the server gives up on the stalled client.
    let running = Arc::new(AtomicBool::new(true));
    let feeder = {
        let running = Arc::clone(&running);
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                seq += 1;
                at += 100;
                let user = 1_000 + 1 + seq % 150;
                df.push(vec![message(GUILD, user, 5_000_000 + seq, at, seq)]);
                std::thread::sleep(Duration::from_millis(1));
            }
            (df, seq, at)
        })
    };
    let dropped = |text: &str| {
        text.lines().any(|l| {
            (l.starts_with("guildflow_websocket_dropped_total{reason=\"slow_client\"}")
                || l.starts_with("guildflow_websocket_dropped_total{reason=\"send_timeout\"}"))
                && !l.ends_with(" 0")
        })
    };
    let mut seen = false;
    for _ in 0..300 {
        let (_, metrics) = http_get(addr, "/metrics").await;
        if dropped(&metrics) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.store(false, Ordering::Relaxed);
    let (df, seq, at) = feeder.join().unwrap();
    assert!(seen, "the stalled client was never dropped");

    // The good client is still served: a new leader shows up in its frames.
    let (status, _) = http_get(addr, "/health").await;
    assert_eq!(status, 200);
    let mut df = df;
    eventually("the feeder's last batch", || state.watermark() == Some(at)).await;
    let top = state
        .read()
        .leaderboard(
            GUILD,
            guildflow_model::Metric::Messages,
            guildflow_model::Period::All,
            0,
            1,
        )
        .entries[0]
        .value;
    let burst = (1..=u64::try_from(top).unwrap() + 1)
        .map(|i| message(GUILD, 77, 6_000_000 + i, at + i as i64, seq + i))
        .collect();
    df.push(burst);
    let frame = loop {
        let frame = next_json(&mut good).await;
        if frame["type"] == "leaderboard" && frame["entries"][0]["user_id"] == "77" {
            break frame;
        }
    };
    assert_eq!(frame["entries"][0]["value"], top + 1);
    // The stalled client is gone (after its close frame's grace period), the good one stays.
    let mut clients = String::new();
    for _ in 0..100 {
        let (_, metrics) = http_get(addr, "/metrics").await;
        clients = metrics
            .lines()
            .find(|l| l.starts_with("guildflow_websocket_clients "))
            .unwrap()
            .to_owned();
        if clients == "guildflow_websocket_clients 1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(clients, "guildflow_websocket_clients 1");
    drop(stalled);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

/// HTTP/2 (h2c, prior knowledge) carries bodies without a length: the server must stop
/// reading at the route's limit rather than buffer whatever a client streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_body_without_a_length_is_cut_at_the_limit() {
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(
        listener,
        ApiContext::new(dataflow().state()).without_client_limits(),
        async {
            let _ = stopped.await;
        },
    ));
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("the server speaks h2c");
    tokio::spawn(connection);
    // 64 MiB in 64 KiB DATA frames, no content-length.
    let chunks = futures_util::stream::iter((0..1024).map(|_| {
        Ok::<_, std::convert::Infallible>(Frame::data(bytes::Bytes::from(vec![b' '; 64 * 1024])))
    }));
    let request = warp::http::Request::post(format!("http://{addr}/api/guilds/{GUILD}/sql"))
        .header("content-type", "application/json")
        .body(StreamBody::new(chunks))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request))
        .await
        .expect("an answer before the whole body")
        .unwrap();
    assert_eq!(response.status(), 413);
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}
