//! Timely cluster mode: the same capture replayed by 2 processes × 1 worker over loopback TCP,
//! each replaying its own shard, gives exactly the leaderboards of 1 process replaying all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

type Dump = BTreeMap<String, BTreeMap<String, Vec<(String, i64)>>>;

fn guildflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guildflow"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn read_dump(path: &Path) -> Dump {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn two_processes_match_one() {
    let dir = std::env::temp_dir().join(format!("guildflow-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let capture = dir.join("capture.jsonl");
    let out = guildflow()
        .args([
            "generate", "--events", "30000", "--guilds", "60", "--shards", "2",
        ])
        .arg(&capture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let single = dir.join("single.json");
    let out = guildflow()
        .arg("replay")
        .arg(&capture)
        .arg("--dump")
        .arg(&single)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let hostfile = dir.join("hosts");
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let children: Vec<_> = (0..2)
        .map(|process| {
            guildflow()
                .arg("replay")
                .arg(&capture)
                .args([
                    "--shard-ids",
                    &process.to_string(),
                    "--process",
                    &process.to_string(),
                ])
                .arg("--hostfile")
                .arg(&hostfile)
                .arg("--dump")
                .arg(dir.join(format!("part{process}.json")))
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut merged = read_dump(&dir.join("part0.json"));
    for (guild, boards) in read_dump(&dir.join("part1.json")) {
        assert!(
            merged.insert(guild.clone(), boards).is_none(),
            "guild {guild} on both processes"
        );
    }
    let expected = read_dump(&single);
    assert!(!expected.is_empty());
    assert_eq!(merged.len(), expected.len(), "same guilds");
    for (guild, boards) in &expected {
        assert_eq!(merged.get(guild), Some(boards), "guild {guild}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
