//! Sink bench (issue 6, item 5): rows/s of the PostgreSQL sink (`PostgresSink`: binary COPY
//! into a staging table, merge with `ON CONFLICT DO NOTHING`, progress in the same
//! transaction) on a throwaway cluster, and of the Parquet writer (zstd files + manifest
//! commit) with its bytes per row, on the same rows of the generated mix.

use crate::corpus::{decode, frames};
use crate::report::{median, print_table, rate, write_json, Machine};
use clap::Args;
use guildflow_store::parquet::{ParquetConfig, ParquetStore};
use guildflow_store::postgres::{migrate_url, LocalCluster, PostgresSink, SinkConfig};
use guildflow_store::EventRow;
use serde::Serialize;
use std::time::Instant;

/// Arguments of the sink bench.
#[derive(Debug, Args, Clone)]
pub struct SinkArgs {
    /// Rows written per run.
    #[arg(long, default_value_t = 500_000)]
    pub rows: u64,
    /// Runs per sink (each into an empty database / directory).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Short mode: 100k rows, 1 run.
    #[arg(long)]
    pub quick: bool,
}

impl SinkArgs {
    pub fn preset(quick: bool) -> SinkArgs {
        SinkArgs {
            rows: 500_000,
            runs: 3,
            quick,
        }
    }
}

#[derive(Debug, Serialize)]
struct SinkRow {
    sink: &'static str,
    runs_rows_per_sec: Vec<f64>,
    median_rows_per_sec: Option<f64>,
    bytes_per_row: Option<f64>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct SinkReport {
    bench: &'static str,
    machine: Machine,
    rows: usize,
    frame_bytes: usize,
    sinks: Vec<SinkRow>,
}

pub fn run(args: &SinkArgs) -> anyhow::Result<()> {
    let (n, runs) = if args.quick {
        (args.rows.min(100_000), 1)
    } else {
        (args.rows, args.runs.max(1))
    };
    let rows: Vec<EventRow> = frames(n)?
        .into_iter()
        .filter_map(|f| decode(&f).map(|e| (f, e)))
        .enumerate()
        .map(|(lsn, (f, e))| EventRow::from_frame(lsn as u64, f, &e, None))
        .collect();
    let frame_bytes: usize = rows.iter().map(|r| r.frame.len()).sum();
    println!(
        "sink bench: {} rows ({:.0} MB of frames), {runs} run(s) per sink",
        rows.len(),
        frame_bytes as f64 / 1e6
    );
    let sinks = vec![
        postgres(&rows, runs).unwrap_or_else(|e| SinkRow {
            sink: "PostgreSQL binary COPY (PostgresSink)",
            runs_rows_per_sec: Vec::new(),
            median_rows_per_sec: None,
            bytes_per_row: None,
            error: Some(format!("{e:#}")),
        }),
        parquet(&rows, runs)?,
    ];
    let table: Vec<Vec<String>> = sinks
        .iter()
        .map(|s| {
            vec![
                s.sink.to_owned(),
                s.median_rows_per_sec.map_or_else(
                    || format!("unavailable: {}", s.error.as_deref().unwrap_or("")),
                    rate,
                ),
                s.bytes_per_row.map_or("–".into(), |b| format!("{b:.0}")),
            ]
        })
        .collect();
    print_table(
        &format!(
            "Sinks ({} rows of the mix, {:.0} bytes of frame JSON per row)",
            rows.len(),
            frame_bytes as f64 / rows.len().max(1) as f64
        ),
        &["sink", "rows/s", "bytes/row on disk"],
        &table,
    );
    let report = SinkReport {
        bench: "sink",
        machine: Machine::read(),
        rows: rows.len(),
        frame_bytes,
        sinks,
    };
    let path = write_json("sink", &report)?;
    println!("(JSON in {})", path.display());
    Ok(())
}

fn postgres(rows: &[EventRow], runs: usize) -> anyhow::Result<SinkRow> {
    let cluster = LocalCluster::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rates = Vec::new();
    let mut bytes_per_row = None;
    for run in 0..runs {
        let db = format!("sink_bench_{run}");
        let url = cluster.url_for(&db);
        let (rate, bytes) = runtime.block_on(async {
            let (admin, conn) =
                tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            admin
                .batch_execute(&format!("CREATE DATABASE {db}"))
                .await?;
            migrate_url(&url).await?;
            let mut sink = PostgresSink::connect(SinkConfig::new(url.clone())).await?;
            // The day partitions exist before the clock starts, as the sink task's
            // maintenance makes them in a running store.
            sink.write(&rows[..1]).await?;
            let started = Instant::now();
            sink.write(&rows[1..]).await?;
            let secs = started.elapsed().as_secs_f64();
            let size: i64 = admin
                .query_one(&format!("SELECT pg_database_size('{db}')"), &[])
                .await?
                .get(0);
            anyhow::Ok(((rows.len() - 1) as f64 / secs, size as f64))
        })?;
        rates.push(rate);
        bytes_per_row = Some(bytes / rows.len() as f64);
    }
    Ok(SinkRow {
        sink: "PostgreSQL binary COPY (PostgresSink)",
        median_rows_per_sec: Some(median(&rates)),
        runs_rows_per_sec: rates,
        bytes_per_row,
        error: None,
    })
}

fn parquet(rows: &[EventRow], runs: usize) -> anyhow::Result<SinkRow> {
    let mut rates = Vec::new();
    let mut bytes_per_row = None;
    for run in 0..runs {
        let dir = std::env::temp_dir().join(format!(
            "guildflow-bench-parquet-{}-{run}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = ParquetStore::open(
            &dir,
            ParquetConfig {
                retention_days: None,
                ..ParquetConfig::default()
            },
        )?;
        let input = rows.to_vec();
        let last = input.last().map_or(0, |r| r.lsn);
        let started = Instant::now();
        store.write(input, last)?;
        rates.push(rows.len() as f64 / started.elapsed().as_secs_f64());
        let bytes: u64 = store.manifest().files.iter().map(|f| f.bytes).sum();
        bytes_per_row = Some(bytes as f64 / rows.len() as f64);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(SinkRow {
        sink: "Parquet files (ParquetStore::write, zstd 3)",
        median_rows_per_sec: Some(median(&rates)),
        runs_rows_per_sec: rates,
        bytes_per_row,
        error: None,
    })
}
