//! Privacy through the API of a running `demo`: an admin erases a member while the pipeline
//! runs — the member is opted out, their rows leave the store (SQL finds none), the erasure
//! is audited — and a member opted out is no longer counted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{guildflow, Running, TempDir};

/// One HTTP/1.0 request with a bearer token: (status, JSON body or Null).
fn call(addr: &str, token: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The text after `prefix` on the line of stderr that has it, up to `end`.
fn after(stderr: &str, prefix: &str, end: char) -> String {
    let start = stderr.find(prefix).unwrap() + prefix.len();
    stderr[start..].split(end).next().unwrap().to_owned()
}

fn rows_of(addr: &str, token: &str, guild: &str, user: &str) -> u64 {
    let sql = format!(r#"{{"sql":"SELECT count(*) AS n FROM events WHERE user_id = {user}"}}"#);
    let (status, v) = call(
        addr,
        token,
        "POST",
        &format!("/api/guilds/{guild}/sql"),
        &sql,
    );
    assert_eq!(status, 200, "{v}");
    v["rows"][0][0].as_u64().unwrap_or_else(|| panic!("{v}"))
}

#[test]
fn an_admin_erases_a_member_while_the_pipeline_runs() {
    let dir = TempDir::new("privacy");
    let mut demo = Running::spawn(
        guildflow()
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--guilds",
                "20",
                "--rate",
                "400",
            ])
            .args(["--duration", "90", "--data"])
            .arg(dir.join("data")),
    );
    assert!(
        demo.wait_for_stderr(Duration::from_secs(60), "API and dashboard at"),
        "{}",
        demo.stderr()
    );
    let stderr = demo.stderr();
    let addr = after(&stderr, "API and dashboard at http://", '/');
    let token = after(&stderr, "Authorization: Bearer ", '\'');
    let guild = after(&stderr, "/api/guilds/", '/');

    // Someone with stored events in the guild.
    let deadline = Instant::now() + Duration::from_secs(30);
    let user = loop {
        let (status, board) = call(
            &addr,
            &token,
            "GET",
            &format!("/api/guilds/{guild}/leaderboard?metric=messages&period=all"),
            "",
        );
        // 403 until the guild's GUILD_CREATE has told who administers it; 404 until the
        // dataflow has published its first statistics (the admin plane learns the guild from
        // the gateway directly, so it can be first under load).
        assert!(
            status == 200 || status == 403 || status == 404,
            "{status} {board}"
        );
        if let Some(user) = board["entries"][0]["user_id"].as_str() {
            let user = user.to_owned();
            if rows_of(&addr, &token, &guild, &user) > 0 {
                break user;
            }
        }
        assert!(Instant::now() < deadline, "no member with stored events");
        std::thread::sleep(Duration::from_millis(500));
    };

    let (status, erased) = call(
        &addr,
        &token,
        "POST",
        &format!("/api/guilds/{guild}/members/{user}/erase"),
        "",
    );
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["opted_out"], true);
    let removed = erased["erased"]["parquet_rows"].as_u64().unwrap()
        + erased["erased"]["log_records"].as_u64().unwrap();
    assert!(removed > 0, "{erased}");
    // Nothing of theirs is left to query; their opt-out holds; the erasure is audited.
    assert_eq!(rows_of(&addr, &token, &guild, &user), 0);
    let (_, opt) = call(
        &addr,
        &token,
        "GET",
        &format!("/api/guilds/{guild}/members/{user}/opt-out"),
        "",
    );
    assert_eq!(opt["opted_out"], true);
    let (_, audit) = call(
        &addr,
        &token,
        "GET",
        &format!("/api/guilds/{guild}/audit/logs"),
        "",
    );
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"member.erase"), "{actions:?}");
    assert!(actions.contains(&"member.opt_out"), "{actions:?}");

    // The pipeline goes on: events keep being stored.
    let (_, before) = call(
        &addr,
        &token,
        "POST",
        &format!("/api/guilds/{guild}/sql"),
        r#"{"sql":"SELECT count(*) AS n FROM events"}"#,
    );
    std::thread::sleep(Duration::from_secs(3));
    let (_, later) = call(
        &addr,
        &token,
        "POST",
        &format!("/api/guilds/{guild}/sql"),
        r#"{"sql":"SELECT count(*) AS n FROM events"}"#,
    );
    assert!(
        later["rows"][0][0].as_u64() > before["rows"][0][0].as_u64(),
        "{before} {later}"
    );
    demo.kill();
}
