//! Query bench (issue 6, item 5): canned and ad hoc queries of one guild over N stored events
//! of the generated mix (2,000 guilds, spread over 14 days), through `GuildSql` (the hardened
//! DataFusion service the API runs), with DuckDB from PyPI over the same Parquet files as the
//! peer (`duckdb_peer.rs`), each query's median latency printed with guildflow's ratio.

use crate::corpus::{config, decode};
use crate::duckdb_peer::{self, PeerQuery};
use crate::report::{median, print_table, ratio, write_json, Machine};
use clap::Args;
use guildflow_queries::{GuildSql, SqlLimits, WindowMetric};
use guildflow_shards::capture::{CaptureItem, CaptureReader};
use guildflow_shards::workload::write_capture;
use guildflow_store::parquet::{ParquetConfig, ParquetStore};
use guildflow_store::EventRow;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const DAYS: i64 = 14;
const DAY_MS: i64 = 86_400_000;

/// Arguments of the query bench.
#[derive(Debug, Args, Clone)]
pub struct QueryArgs {
    /// Stored events.
    #[arg(long, default_value_t = 2_000_000)]
    pub events: u64,
    /// Timed runs per query (after one warm-up).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Short mode: 200k events, 3 runs.
    #[arg(long)]
    pub quick: bool,
}

impl QueryArgs {
    pub fn preset(quick: bool) -> QueryArgs {
        QueryArgs {
            events: 2_000_000,
            runs: 5,
            quick,
        }
    }
}

#[derive(Debug, Serialize)]
struct QueryRow {
    name: &'static str,
    sql: String,
    guildflow_ms: Vec<f64>,
    guildflow_median_ms: f64,
    guildflow_rows: usize,
    duckdb_ms: Vec<f64>,
    duckdb_median_ms: Option<f64>,
    duckdb_rows: Option<usize>,
}

#[derive(Debug, Serialize)]
struct QueryReport {
    bench: &'static str,
    machine: Machine,
    events: u64,
    guild: u64,
    guild_rows: u64,
    files: usize,
    runs: usize,
    duckdb: Result<String, String>,
    queries: Vec<QueryRow>,
}

/// (name, SQL over the guild's `events`). The same text runs in DuckDB over a view of the
/// guild's rows; the leaderboard is the SQL equivalent of `leaderboard_window(messages)`.
fn queries(window_from: &str, window_to: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "count by day (canned)",
            "SELECT date_trunc('day', ts) AS day, count(*) AS n FROM events GROUP BY 1 ORDER BY 1"
                .into(),
        ),
        (
            "messages leaderboard 7d (SQL)",
            format!(
                "SELECT user_id, count(DISTINCT message_id) AS n FROM events \
                 WHERE kind = 'message_create' AND NOT bot \
                 AND ts >= TIMESTAMP '{window_from}' AND ts < TIMESTAMP '{window_to}' \
                 GROUP BY user_id ORDER BY n DESC, user_id LIMIT 10"
            ),
        ),
        (
            "ad hoc: top channels by messages",
            "SELECT channel_id, count(*) AS n FROM events WHERE kind = 'message_create' \
             GROUP BY channel_id ORDER BY n DESC, channel_id LIMIT 10"
                .into(),
        ),
        (
            "ad hoc: distinct reacting members per kind",
            "SELECT kind, count(DISTINCT user_id) AS members, count(*) AS n FROM events \
             GROUP BY kind ORDER BY kind"
                .into(),
        ),
        (
            "ad hoc: frames mentioning 'gg'",
            "SELECT count(*) AS n FROM events WHERE frame LIKE '%gg%'".into(),
        ),
    ]
}

pub fn run(args: &QueryArgs) -> anyhow::Result<()> {
    let (events, runs) = if args.quick {
        (args.events.min(200_000), args.runs.min(3))
    } else {
        (args.events, args.runs.max(1))
    };
    let dir = std::env::temp_dir().join(format!("guildflow-bench-query-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    let (store, by_guild, last_ts) = build_store(&dir, events)?;
    let (guild, guild_rows) = by_guild
        .iter()
        .max_by_key(|(g, n)| (**n, std::cmp::Reverse(**g)))
        .map_or((0, 0), |(g, n)| (*g, *n));
    let files: Vec<PathBuf> = store
        .manifest()
        .files
        .iter()
        .map(|f| dir.join(&f.path))
        .collect();
    println!(
        "query bench: {events} events in {} Parquet files ({:.1} s to generate and write); guild {guild} has {guild_rows} rows",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    let to = last_ts + 1;
    let from = to - 7 * DAY_MS;
    let list = queries(&utc_text(from), &utc_text(to));
    let service = GuildSql::new(store.reader(), SqlLimits::default())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for (name, sql) in &list {
        let mut times = Vec::new();
        let mut n = 0;
        for i in 0..=runs {
            let t = Instant::now();
            let out = rt.block_on(service.run(guild, sql))?;
            if i > 0 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            n = out.num_rows();
        }
        rows.push(QueryRow {
            name,
            sql: sql.clone(),
            guildflow_median_ms: median(&times),
            guildflow_ms: times,
            guildflow_rows: n,
            duckdb_ms: Vec::new(),
            duckdb_median_ms: None,
            duckdb_rows: None,
        });
    }
    // The canned leaderboard itself (no SQL peer: it is Rust over the scan).
    let mut times = Vec::new();
    let mut n = 0;
    for i in 0..=runs {
        let t = Instant::now();
        let board =
            rt.block_on(service.leaderboard_window(guild, WindowMetric::Score, from, to, 1, 10))?;
        if i > 0 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        n = board.entries.len();
    }
    rows.push(QueryRow {
        name: "leaderboard_window score 7d (canned, GuildSql)",
        sql: String::new(),
        guildflow_median_ms: median(&times),
        guildflow_ms: times,
        guildflow_rows: n,
        duckdb_ms: Vec::new(),
        duckdb_median_ms: None,
        duckdb_rows: None,
    });
    let peer_queries: Vec<PeerQuery> = list
        .iter()
        .map(|(name, sql)| PeerQuery {
            name: (*name).to_owned(),
            sql: sql.clone(),
        })
        .collect();
    let duckdb = duckdb_peer::run(&files, guild, &peer_queries, runs);
    let duckdb_status = match duckdb {
        Ok((version, results)) => {
            for (row, r) in rows.iter_mut().zip(results) {
                row.duckdb_median_ms = Some(median(&r.ms));
                row.duckdb_ms = r.ms;
                row.duckdb_rows = Some(r.rows);
            }
            Ok(version)
        }
        Err(e) => Err(format!("{e:#}")),
    };
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.to_owned(),
                format!("{:.1}", r.guildflow_median_ms),
                r.duckdb_median_ms.map_or_else(
                    || {
                        if r.sql.is_empty() {
                            "–".into()
                        } else {
                            "unavailable".into()
                        }
                    },
                    |d| format!("{d:.1}"),
                ),
                // A ratio above 1 means guildflow is faster.
                r.duckdb_median_ms
                    .map_or("–".into(), |d| ratio(d, Some(r.guildflow_median_ms))),
                format!(
                    "{}/{}",
                    r.guildflow_rows,
                    r.duckdb_rows.map_or("–".into(), |n| n.to_string())
                ),
            ]
        })
        .collect();
    print_table(
        &format!(
            "Queries of one guild ({guild_rows} of {events} stored events), median ms of {runs} runs after a warm-up"
        ),
        &[
            "query",
            "guildflow ms",
            "DuckDB ms",
            "DuckDB ms / guildflow ms",
            "rows (gf/duckdb)",
        ],
        &table,
    );
    if let Err(e) = &duckdb_status {
        println!("DuckDB unavailable: {e}");
    }
    let report = QueryReport {
        bench: "query",
        machine: Machine::read(),
        events,
        guild,
        guild_rows,
        files: files.len(),
        runs,
        duckdb: duckdb_status,
        queries: rows,
    };
    drop(service);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let path = write_json("query", &report)?;
    println!("(JSON in {})", path.display());
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of Unix milliseconds.
fn utc_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = guildflow_model::period::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Generates `events` dispatches spread over `DAYS` days and writes them through the Parquet
/// store in chunks (the capture is streamed, never held whole). Returns the store, rows per
/// guild and the last event time.
fn build_store(dir: &Path, events: u64) -> anyhow::Result<(ParquetStore, HashMap<u64, u64>, i64)> {
    let store = ParquetStore::open(
        dir,
        ParquetConfig {
            retention_days: None,
            ..ParquetConfig::default()
        },
    )?;
    let cfg = config(events as f64 / (DAYS * 86_400) as f64);
    let mut writer = RowWriter {
        store,
        pending: Vec::new(),
        rows: Vec::new(),
        lsn: 0,
        by_guild: HashMap::new(),
        last_ts: 0,
        error: None,
    };
    write_capture(&cfg, events, &mut writer)?;
    writer.drain(true)?;
    if let Some(e) = writer.error {
        return Err(e);
    }
    Ok((writer.store, writer.by_guild, writer.last_ts))
}

/// Turns capture lines into rows and writes them to the store a chunk at a time.
struct RowWriter {
    store: ParquetStore,
    pending: Vec<u8>,
    rows: Vec<EventRow>,
    lsn: u64,
    by_guild: HashMap<u64, u64>,
    last_ts: i64,
    error: Option<anyhow::Error>,
}

const CHUNK_ROWS: usize = 256 * 1024;

impl RowWriter {
    fn drain(&mut self, all: bool) -> anyhow::Result<()> {
        let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let complete: Vec<u8> = self.pending.drain(..=end).collect();
        let mut reader = CaptureReader::new(&complete[..]);
        while let Some(item) = reader.next_item()? {
            if let CaptureItem::Frame { frame, .. } = item {
                if let Some(event) = decode(&frame) {
                    if let Some(g) = event.body.guild() {
                        *self.by_guild.entry(g.get()).or_default() += 1;
                    }
                    self.last_ts = self.last_ts.max(event.at);
                    self.rows
                        .push(EventRow::from_frame(self.lsn, frame, &event, None));
                    self.lsn += 1;
                }
            }
        }
        if self.rows.len() >= CHUNK_ROWS || (all && !self.rows.is_empty()) {
            let rows = std::mem::take(&mut self.rows);
            let last = rows.last().map_or(0, |r| r.lsn);
            self.store.write(rows, last)?;
        }
        Ok(())
    }
}

impl Write for RowWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= 32 << 20 {
            if let Err(e) = self.drain(false) {
                self.error.get_or_insert(e);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
