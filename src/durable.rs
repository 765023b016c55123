//! Opening a data directory's store (write-ahead log, Parquet files, shard progress and the
//! optional PostgreSQL sink) with the command line's settings.

use crate::cli::StoreArgs;
use anyhow::{bail, Context};
use guildflow_shards::decode::DecodeCounters;
use guildflow_shards::ingest::Ingest;
use guildflow_store::durable::{DurableStore, FlushPolicy, StoreConfig};
use guildflow_store::parquet::ParquetConfig;
use std::path::Path;
use std::sync::Arc;

/// Opens the store of `data` (created if absent). Must run inside the tokio runtime when a
/// PostgreSQL sink is configured.
pub async fn open_store(data: &Path, args: &StoreArgs) -> anyhow::Result<DurableStore> {
    if let Some(url) = args.postgres.as_deref().filter(|_| args.migrate) {
        let report = guildflow_store::postgres::migrate_url(url)
            .await
            .context("cannot migrate the PostgreSQL database")?;
        tracing::info!(?report, "PostgreSQL migrations applied");
    }
    // Rebuilding and the PostgreSQL sink's catch-up decode stored frames again; their decode
    // errors were counted when the frames arrived, so they get counters of their own.
    let ingest = Ingest::new(Arc::new(DecodeCounters::default()));
    let config = StoreConfig {
        parquet: ParquetConfig {
            retention_days: (args.retention_days > 0).then_some(args.retention_days),
            ..ParquetConfig::default()
        },
        flush: FlushPolicy::default(),
        postgres: args.postgres.clone(),
        decode: Arc::new(move |frame| ingest.frame(frame, None)),
        snapshot_every: (args.snapshot_every > 0)
            .then(|| std::time::Duration::from_secs(args.snapshot_every)),
    };
    let data = data.to_owned();
    tokio::task::block_in_place(|| DurableStore::open(&data, config))
        .with_context(|| format!("cannot open the data directory {}", data.display()))
}

/// Marks a directory the demo owns.
const DEMO_MARKER: &str = "DEMO";

/// Empties a data directory a previous demo wrote (its simulated traffic is new every run),
/// refusing one that holds anything else.
pub fn prepare_demo_dir(data: &Path) -> anyhow::Result<()> {
    let marker = data.join(DEMO_MARKER);
    let is_empty = std::fs::read_dir(data).map_or(true, |mut d| d.next().is_none());
    if !is_empty {
        if !marker.exists() {
            bail!(
                "{} holds data that `guildflow demo` did not write; pass --data with another directory",
                data.display()
            );
        }
        for entry in ["wal", "events", "snapshots", "progress.json"] {
            let path = data.join(entry);
            if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else if path.exists() {
                std::fs::remove_file(&path)
            } else {
                Ok(())
            }
            .with_context(|| format!("cannot clear {}", path.display()))?;
        }
    }
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    std::fs::write(
        &marker,
        "written by `guildflow demo`; emptied by the next demo\n",
    )
    .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}
