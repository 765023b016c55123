//! The SQL suite: every `tests/sql/*.slt` file against the two-guild fixture, through one
//! `GuildSql` service (so a bomb that is bounded must leave it answering the next record).
//!
//! Format (sqllogictest-like):
//!
//! ```text
//! # comment
//! query <guild> [truncated]
//! <sql, one or more lines>
//! ----
//! <expected rows: cells separated by one space, NULL for null>
//!
//! error <code> <guild>
//! <sql>
//! ```
//!
//! A record ends at a blank line. Expected rows `rows=N` check only the row count. `{{repeat:N:text}}` in SQL expands to `text` N times.

mod common;

use guildflow_queries::{GuildSql, SqlLimits, WindowMetric};
use serde_json::Value;
use std::time::{Duration, Instant};

struct Record {
    file: String,
    line: usize,
    guild: u64,
    sql: String,
    expect: Expect,
}

enum Expect {
    Rows { rows: Vec<String>, truncated: bool },
    Error(String),
}

fn expand(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(start) = rest.find("{{repeat:") {
        out.push_str(&rest[..start]);
        let body = &rest[start + 9..];
        let end = body.find("}}").expect("unterminated {{repeat}}");
        let (count, text) = body[..end].split_once(':').expect("{{repeat:N:text}}");
        let count: usize = count.parse().expect("repeat count");
        out.push_str(&text.repeat(count));
        rest = &body[end + 2..];
    }
    out.push_str(rest);
    out
}

fn parse_file(name: &str, text: &str) -> Vec<Record> {
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i + 1;
        let words: Vec<&str> = line.split_whitespace().collect();
        i += 1;
        let mut sql = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() && lines[i].trim() != "----" {
            sql.push(lines[i]);
            i += 1;
        }
        let sql = expand(&sql.join("\n"));
        let record = match words.as_slice() {
            ["query", guild, flags @ ..] => {
                assert!(
                    i < lines.len() && lines[i].trim() == "----",
                    "{name}:{start}: missing ----"
                );
                i += 1;
                let mut rows = Vec::new();
                while i < lines.len() && !lines[i].trim().is_empty() {
                    rows.push(lines[i].trim().to_owned());
                    i += 1;
                }
                Record {
                    file: name.into(),
                    line: start,
                    guild: guild.parse().expect("guild"),
                    sql,
                    expect: Expect::Rows {
                        rows,
                        truncated: flags.contains(&"truncated"),
                    },
                }
            }
            ["error", code, guild] => Record {
                file: name.into(),
                line: start,
                guild: guild.parse().expect("guild"),
                sql,
                expect: Expect::Error((*code).to_owned()),
            },
            _ => panic!("{name}:{start}: unknown record {line:?}"),
        };
        records.push(record);
    }
    records
}

fn render(json: &Value) -> (Vec<String>, bool) {
    let rows = json["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    row.as_array()
                        .map(|cells| {
                            cells
                                .iter()
                                .map(|c| match c {
                                    Value::Null => "NULL".to_owned(),
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    (rows, json["truncated"].as_bool().unwrap_or(false))
}

fn limits() -> SqlLimits {
    SqlLimits {
        timeout: Duration::from_secs(2),
        max_rows: 1_000,
        memory_bytes: 64 * 1024 * 1024,
        ..SqlLimits::default()
    }
}

async fn run_records(service: &GuildSql, records: &[Record]) -> Vec<String> {
    let mut failures = Vec::new();
    let verbose = std::env::var_os("SLT_VERBOSE").is_some();
    for r in records {
        if verbose {
            println!("{}:{} {:.80}", r.file, r.line, r.sql);
        }
        let started = Instant::now();
        let result = service.run(r.guild, &r.sql).await;
        let took = started.elapsed();
        let at = format!("{}:{}", r.file, r.line);
        match (&r.expect, result) {
            (Expect::Rows { rows, truncated }, Ok(out)) => {
                let json = out.to_json().expect("json");
                let (got, got_truncated) = render(&json);
                let count_only = match rows.as_slice() {
                    [one] => one
                        .strip_prefix("rows=")
                        .and_then(|n| n.parse::<usize>().ok()),
                    _ => None,
                };
                let same = match count_only {
                    Some(n) => got.len() == n,
                    None => &got == rows,
                };
                if !same || got_truncated != *truncated {
                    failures.push(format!(
                        "{at}: expected rows {rows:?} (truncated {truncated}), got {got:?} (truncated {got_truncated})"
                    ));
                }
            }
            (Expect::Rows { .. }, Err(e)) => {
                failures.push(format!("{at}: expected rows, got error {}: {e}", e.code()))
            }
            (Expect::Error(code), Ok(out)) => failures.push(format!(
                "{at}: expected error {code}, got {} rows",
                out.num_rows()
            )),
            (Expect::Error(code), Err(e)) => {
                if e.code() != code {
                    failures.push(format!(
                        "{at}: expected error {code}, got {}: {e}",
                        e.code()
                    ));
                }
            }
        }
        // Every record, bombs included, must end well within twice the timeout.
        if took > Duration::from_secs(5) {
            failures.push(format!("{at}: took {took:?}"));
        }
    }
    failures
}

async fn extra_checks(service: &GuildSql) -> Vec<String> {
    let mut failures = Vec::new();
    use common::{DAY, T0};
    // Score over both days: user 1 = 2 messages + 2 x 2 voice minutes, user 2 = 2 messages + 1 reaction.
    let board = service
        .leaderboard_window(common::G1, WindowMetric::Score, T0, T0 + 2 * DAY, 1, 10)
        .await;
    match board {
        Ok(b) => {
            let got: Vec<(u64, u64, i64)> = b
                .entries
                .iter()
                .map(|e| (e.rank, e.user_id, e.value))
                .collect();
            if got != vec![(1, 1, 6), (2, 2, 3)] || b.total != 2 {
                failures.push(format!(
                    "leaderboard_window score: {got:?} total {}",
                    b.total
                ));
            }
        }
        Err(e) => failures.push(format!("leaderboard_window: {e}")),
    }
    // A window inside the voice session clips it: 60 s of 120.
    match service
        .leaderboard_window(
            common::G1,
            WindowMetric::Voice,
            T0 + 40_000,
            T0 + 100_000,
            1,
            10,
        )
        .await
    {
        Ok(b) if b.entries.len() == 1 && b.entries[0].value == 60 => {}
        other => failures.push(format!("leaderboard_window voice clip: {other:?}")),
    }
    if let Err(e) = service
        .leaderboard_window(common::G1, WindowMetric::Messages, 5, 5, 1, 10)
        .await
    {
        if e.code() != "bad_request" {
            failures.push(format!("empty window: {e}"));
        }
    }
    // While a bomb runs on the query runtime, this (caller) runtime stays responsive.
    let bomb = service.run(
        common::G1,
        "select count(*) from generate_series(1, 9223372036854775807)",
    );
    let ticker = async {
        let mut worst = Duration::ZERO;
        for _ in 0..20 {
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            worst = worst.max(t.elapsed());
        }
        worst
    };
    let (bomb, worst) = tokio::join!(bomb, ticker);
    match bomb {
        Err(e) if e.code() == "timeout" => {}
        other => failures.push(format!("count over generate_series: {other:?}")),
    }
    println!("caller runtime: worst 10 ms tick while a bomb ran: {worst:?}");
    if worst > Duration::from_millis(200) {
        failures.push(format!("caller runtime starved: {worst:?}"));
    }
    failures
}

fn main() {
    let (store, dir) = common::store("slt");
    let service = GuildSql::new(store.reader(), limits()).expect("service");
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let suite = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/sql");
    let mut files: Vec<_> = std::fs::read_dir(&suite)
        .expect("tests/sql")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).expect("read slt");
        let records = parse_file(&name, &text);
        count += records.len();
        let started = Instant::now();
        failures.extend(caller.block_on(run_records(&service, &records)));
        println!(
            "{name}: {} records in {:?}",
            records.len(),
            started.elapsed()
        );
    }
    failures.extend(caller.block_on(extra_checks(&service)));
    drop(service);
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    if failures.is_empty() {
        println!(
            "sql suite: {count} records, {} files, all passed",
            files.len()
        );
    } else {
        for f in &failures {
            eprintln!("FAIL {f}");
        }
        eprintln!("sql suite: {} of {count} records failed", failures.len());
        std::process::exit(1);
    }
}
