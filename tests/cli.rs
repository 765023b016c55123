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
    let _ = std::fs::remove_dir_all(&dir);
}
