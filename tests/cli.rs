//! The binary end to end: `generate` a capture, `replay` it (with malformed lines mixed in),
//! and a short `demo` with real shards against the simulator.

use std::io::Write;
use std::process::Command;

fn guildflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guildflow"))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("guildflow-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn generate_then_replay_counts_every_line() {
    let dir = temp_dir("replay");
    let capture = dir.join("small.jsonl");
    let out = guildflow()
        .args([
            "generate", "--events", "5000", "--guilds", "50", "--shards", "2",
        ])
        .arg(&capture)
        .output()
        .expect("generate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Malformed lines are counted and skipped; the good ones around them still count.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&capture)
        .expect("capture exists");
    writeln!(file, "this is not json").expect("append");
    writeln!(file, "{{\"shard\":0,\"at\":1,\"frame\":{{\"op\":0,\"s\":1,\"t\":\"MESSAGE_CREATE\",\"d\":{{\"id\":{{}}}}}}}}").expect("append");
    drop(file);
    let out = guildflow()
        .arg("replay")
        .arg(&capture)
        .output()
        .expect("replay runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("2 decode errors"), "{stderr}");
    assert!(
        stderr.contains("line="),
        "bad lines are logged with their line number: {stderr}"
    );
    let lines = std::fs::read_to_string(&capture)
        .expect("read")
        .lines()
        .count();
    assert!(
        stderr.contains(&format!("replayed {lines} lines")),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_of_a_missing_file_is_a_clear_error() {
    let out = guildflow()
        .args(["replay", "/nonexistent/capture.jsonl"])
        .output()
        .expect("replay runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
}

#[test]
fn demo_runs_real_shards_against_the_simulator() {
    let dir = temp_dir("demo");
    let out = guildflow()
        .args([
            "demo",
            "--shards",
            "2",
            "--guilds",
            "40",
            "--rate",
            "2000",
            "--duration",
            "4",
        ])
        .arg("--data")
        .arg(dir.join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("demo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("0:Ready") && stderr.contains("1:Ready"),
        "{stderr}"
    );
    let processed: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("processed "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("summary line");
    assert!(processed > 1000, "{stderr}");
    assert!(
        stderr.contains("API and dashboard at http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("/auth/login"), "a login link: {stderr}");
    assert!(
        stderr.contains("Authorization: Bearer gf_"),
        "an API token: {stderr}"
    );
    assert!(
        dir.join("data/events/manifest.json").exists(),
        "the demo stores its events in Parquet"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn record_from_a_simulated_gateway_then_replay_it() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("record");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut simulator = guildflow()
        .args([
            "simulate",
            "--shards",
            "2",
            "--guilds",
            "30",
            "--rate",
            "2000",
            "--token",
            "rec-token",
        ])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("simulator starts");
    // Wait until it listens (it prints its address).
    let stderr = simulator.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let ready = lines.any(|l| l.map(|l| l.contains("listening")).unwrap_or(false));
    assert!(ready, "simulator never listened");
    let capture = dir.join("recorded.jsonl");
    let out = guildflow()
        // Discord's identify pacing (twilight's queue: one bucket tick per 5 s) makes the second
        // shard wait 5 s: record long enough for both.
        .args([
            "record",
            "--shards",
            "2",
            "--token",
            "rec-token",
            "--duration",
            "7",
        ])
        .arg("--gateway-url")
        .arg(format!("ws://127.0.0.1:{port}"))
        .arg("--out")
        .arg(&capture)
        .output()
        .expect("record runs");
    let _ = simulator.kill();
    let _ = simulator.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let recorded = std::fs::read_to_string(&capture).expect("capture written");
    let lines: Vec<&str> = recorded.lines().collect();
    assert!(lines.len() > 1000, "{} lines recorded", lines.len());
    // Every line is a capture line of SPEC §1, starting with each shard's READY.
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert!(
            v["shard"].is_u64() && v["at"].is_i64() && v["frame"]["op"] == 0,
            "{line}"
        );
    }
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("\"t\":\"READY\""))
            .count(),
        2
    );
    let out = guildflow()
        .arg("replay")
        .arg(&capture)
        .output()
        .expect("replay runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("replayed {} lines", lines.len())),
        "{stderr}"
    );
    assert!(stderr.contains(" 0 decode errors"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
