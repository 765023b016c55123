//! The binary with a data directory: a capture replayed into a directory that already holds
//! part of it counts nothing twice, and `replay --serve` answers the API from what it stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn guildflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guildflow"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guildflow-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn generate(path: &Path, events: u32) {
    let out = guildflow()
        .args(["generate", "--guilds", "40", "--shards", "2", "--events"])
        .arg(events.to_string())
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn replay(args: &[&std::ffi::OsStr]) -> String {
    let out = guildflow().arg("replay").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// `replay CAPTURE --data DATA --dump DUMP`: its stderr.
fn replay_into(capture: &Path, data: &Path, dump: &Path) -> String {
    replay(&[
        capture.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--dump".as_ref(),
        dump.as_os_str(),
    ])
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn replaying_into_a_directory_that_holds_part_of_the_capture_counts_nothing_twice() {
    let dir = temp_dir("partial");
    let capture = dir.join("full.jsonl");
    generate(&capture, 20_000);
    let text = std::fs::read_to_string(&capture).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let part = dir.join("part.jsonl");
    std::fs::write(&part, lines[..lines.len() * 3 / 5].join("\n") + "\n").unwrap();
    let data = dir.join("data");

    replay(&[part.as_os_str(), "--data".as_ref(), data.as_os_str()]);
    let second = replay_into(&capture, &data, &dir.join("stored.json"));
    assert!(
        second.contains(&format!(
            "{} frames were already stored and skipped",
            lines.len() * 3 / 5
        )),
        "{second}"
    );
    // The first pass ended with a snapshot: the second starts from it, replaying nothing.
    assert!(
        second.contains("restored the views from the snapshot of the first "),
        "{second}"
    );
    replay(&[
        capture.as_os_str(),
        "--dump".as_ref(),
        dir.join("once.json").as_os_str(),
    ]);
    let (stored, once) = (
        read_json(&dir.join("stored.json")),
        read_json(&dir.join("once.json")),
    );
    assert!(once.as_object().is_some_and(|o| !o.is_empty()));
    assert_eq!(stored, once, "part then whole differs from the whole once");

    // A third pass over a directory holding everything changes nothing.
    let third = replay_into(&capture, &data, &dir.join("again.json"));
    assert!(
        third.contains(&format!(
            "{} frames were already stored and skipped",
            lines.len()
        )),
        "{third}"
    );
    assert_eq!(read_json(&dir.join("again.json")), once);
    assert!(data.join("events").join("manifest.json").exists());

    // Damaged snapshots are skipped: the views are rebuilt from every stored row instead.
    for entry in std::fs::read_dir(data.join("snapshots")).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
    }
    let fourth = replay_into(&capture, &data, &dir.join("rebuilt.json"));
    assert!(!fourth.contains("restored the views"), "{fourth}");
    assert!(fourth.contains("snapshot skipped"), "{fourth}");
    assert!(
        fourth.contains(&format!(
            "rebuilt the views from {} stored rows",
            lines.len()
        )),
        "{fourth}"
    );
    assert_eq!(read_json(&dir.join("rebuilt.json")), once);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `GET path` over HTTP/1.0 (no chunking): (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// `POST path` with a JSON body over HTTP/1.0: (status, body).
fn post_json(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

#[test]
fn replay_serve_answers_503_until_the_file_is_processed_then_the_api() {
    let dir = temp_dir("serve");
    let capture = dir.join("capture.jsonl");
    generate(&capture, 5_000);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = guildflow()
        .arg("replay")
        .arg(&capture)
        .arg("--serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data")
        .arg(dir.join("data"))
        .arg("--dump")
        .arg(dir.join("dump.json"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen_503 = false;
    let health = loop {
        assert!(Instant::now() < deadline, "never healthy");
        match get(port, "/health") {
            Some((200, body)) => break body,
            Some((503, _)) => seen_503 = true,
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    let _ = seen_503; // The file may be done before the first poll on a fast machine.

    let dump = read_json(&dir.join("dump.json"));
    let (guild, boards) = dump.as_object().unwrap().iter().next().unwrap();
    let expected = &boards["score/all"];
    let (status, body) = get(
        port,
        &format!("/api/guilds/{guild}/leaderboard?metric=score&period=all&per_page=100"),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    let first = &page["entries"][0];
    assert_eq!(first["user_id"], expected[0][0], "{body}");
    assert_eq!(first["value"], expected[0][1], "{body}");
    // SQL over what the replay stored, restricted to the guild.
    let (status, body) = post_json(
        port,
        &format!("/api/guilds/{guild}/sql"),
        r#"{"sql":"select count(distinct guild_id) as guilds, count(*) as n from events"}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["rows"][0][0], 1, "{body}");
    let (status, body) = post_json(
        port,
        &format!("/api/guilds/{guild}/sql"),
        r#"{"sql":"drop table events"}"#,
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    let (status, metrics) = get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains("guildflow_events_processed_total"),
        "{metrics}"
    );

    let _ = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status();
    let exited = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        child.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    assert!(
        exited && status.success(),
        "Ctrl-C stops serving cleanly: {status}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn erase_removes_a_member_from_the_store_and_their_aggregates_at_restart() {
    let dir = temp_dir("erase");
    let capture = dir.join("capture.jsonl");
    generate(&capture, 5_000);
    let data = dir.join("data");
    replay_into(&capture, &data, &dir.join("before.json"));
    let before = read_json(&dir.join("before.json"));
    let (guild, boards) = before.as_object().unwrap().iter().next().unwrap();
    let user = boards["messages/all"][0][0].as_str().unwrap().to_owned();

    let out = guildflow()
        .args(["erase", "--guild", guild, "--user", &user, "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Parquet rows"), "{stderr}");

    // Restarting on the directory (an empty capture) rebuilds the views without them.
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    replay(&[
        empty.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--dump".as_ref(),
        dir.join("after.json").as_os_str(),
    ]);
    let after = read_json(&dir.join("after.json"));
    for (key, entries) in after[guild.as_str()].as_object().unwrap() {
        assert!(
            entries
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e[0] != user.as_str()),
            "{user} still on {key}"
        );
    }
    // Other guilds are untouched.
    for (g, boards) in before.as_object().unwrap() {
        if g != guild {
            assert_eq!(&after[g.as_str()], boards, "guild {g} changed");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
