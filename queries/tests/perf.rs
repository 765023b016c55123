//! One-guild query latency over a store of 1M rows across 2,000 guilds. Ignored by default
//! (a measurement, not a check): `cargo test -p guildflow-queries --release --test perf -- --ignored --nocapture`.

mod common;

use common::{row, T0};
use guildflow_model::EventKind;
use guildflow_queries::{GuildSql, SqlLimits, WindowMetric};
use guildflow_store::parquet::{ParquetConfig, ParquetStore};
use std::time::Instant;

#[test]
#[ignore]
fn one_guild_over_a_million_rows() {
    let dir = std::env::temp_dir().join(format!("guildflow-queries-perf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = ParquetConfig {
        retention_days: None,
        ..ParquetConfig::default()
    };
    let mut store = ParquetStore::open(&dir, config).expect("open");
    let total: u64 = 1_000_000;
    let started = Instant::now();
    for chunk in 0..10u64 {
        let rows: Vec<_> = (chunk * total / 10..(chunk + 1) * total / 10)
            .map(|i| {
                let guild = 1_000 + i % 2_000;
                let ts = T0 + (i as i64) * 500; // ~6 days
                row(
                    i + 1,
                    ts,
                    EventKind::MessageCreate,
                    guild,
                    Some(i % 7),
                    Some(i % 97),
                    Some(i + 1),
                    false,
                    r#"{"op":0}"#,
                )
            })
            .collect();
        let last = rows.last().map_or(0, |r| r.lsn);
        store.write(rows, last).expect("write");
    }
    println!("wrote {total} rows in {:?}", started.elapsed());
    let service = GuildSql::new(store.reader(), SqlLimits::default()).expect("service");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    for sql in [
        "select count(*) from events",
        "select user_id, count(*) c from events where kind = 'message_create' group by user_id order by c desc limit 10",
        "select count(*) from events where ts >= '2026-01-03T00:00:00Z' and ts < '2026-01-04T00:00:00Z'",
    ] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let out = rt.block_on(service.run(1_042, sql)).expect("query");
            times.push(t.elapsed());
            assert!(out.num_rows() > 0);
        }
        times.sort();
        println!("{sql}\n  median {:?} (min {:?})", times[2], times[0]);
    }
    let t = Instant::now();
    let board = rt
        .block_on(service.leaderboard_window(
            1_042,
            WindowMetric::Score,
            T0,
            T0 + 7 * 86_400_000,
            1,
            50,
        ))
        .expect("board");
    println!(
        "leaderboard_window score 7d: {} members in {:?}",
        board.total,
        t.elapsed()
    );
    drop(service);
    let _ = std::fs::remove_dir_all(dir);
}
