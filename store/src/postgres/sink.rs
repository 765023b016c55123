//! One connection writing event rows: binary COPY into a staging table, merge into `events`
//! and advance `sink_progress`, all in one transaction.

use super::copy::{self, CheckedRow};
use super::migrate;
use super::partitions::{self, day_of};
use super::Result;
use crate::row::EventRow;
use std::collections::{BTreeSet, HashSet};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// Settings of a [`PostgresSink`].
#[derive(Clone, Debug)]
pub struct SinkConfig {
    /// Connection string: `postgres://user@host/db` or `host=/run/postgresql user=guildflow`.
    pub url: String,
    /// Key in `sink_progress`. Processes writing the same database from different data
    /// directories need different names (their log positions are unrelated).
    pub name: String,
    /// A transaction holds at most this many rows...
    pub batch_rows: usize,
    /// ...and at most about this many bytes of frames.
    pub batch_bytes: usize,
    /// Run [`migrate::migrate`] on connect.
    pub migrate: bool,
    /// `synchronous_commit = off` for the sink's session. Safe: rows and progress commit
    /// together, so a PostgreSQL crash loses both and the sink rewrites them from the log.
    pub async_commit: bool,
}

impl SinkConfig {
    /// Defaults for `url`: sink name `events`, 50 000 rows or 32 MiB per transaction, no
    /// migration on connect, asynchronous commit.
    pub fn new(url: impl Into<String>) -> SinkConfig {
        SinkConfig {
            url: url.into(),
            name: "events".to_owned(),
            batch_rows: 50_000,
            batch_bytes: 32 << 20,
            migrate: false,
            async_commit: true,
        }
    }
}

/// Totals since the sink connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Rows inserted into `events`.
    pub inserted: u64,
    /// Rows already in `events` (retries), skipped.
    pub duplicates: u64,
    /// Rows that cannot be stored (see [`RowError`](super::RowError)), skipped.
    pub rejected: u64,
    /// Transactions committed.
    pub transactions: u64,
}

/// What one [`PostgresSink::write_range`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// The stored position after the write: every log record below it is stored.
    pub next_lsn: u64,
    /// Rows inserted.
    pub inserted: u64,
    /// Rows that were already stored.
    pub duplicates: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// The latest event time among the rows written, Unix milliseconds.
    pub last_ts: Option<i64>,
}

/// A connection that writes event rows to `events`.
pub struct PostgresSink {
    client: Client,
    driver: JoinHandle<()>,
    config: SinkConfig,
    next_lsn: u64,
    last_ts: Option<i64>,
    partitioned_days: HashSet<i32>,
    stats: SinkStats,
    merge: String,
}

/// Connects without TLS and spawns the connection's driver on the current tokio runtime.
pub async fn connect(url: &str) -> Result<(Client, JoinHandle<()>)> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "PostgreSQL connection ended");
        }
    });
    Ok((client, driver))
}

impl PostgresSink {
    /// Connects, optionally migrates, prepares the staging table and loads the stored position.
    pub async fn connect(config: SinkConfig) -> Result<PostgresSink> {
        let (client, driver) = connect(&config.url).await?;
        if config.migrate {
            migrate::migrate(&client).await?;
        }
        // temp_buffers must be set before the session's first temporary table.
        let mut setup = String::from("SET temp_buffers = '64MB';");
        if config.async_commit {
            setup.push_str("SET synchronous_commit = off;");
        }
        setup.push_str(copy::CREATE_STAGING);
        client.batch_execute(&setup).await?;
        let row = client
            .query_opt(
                "SELECT next_lsn, (extract(epoch FROM last_event_at) * 1000)::bigint
                 FROM sink_progress WHERE sink = $1",
                &[&config.name],
            )
            .await?;
        let (next_lsn, last_ts) = match row {
            Some(row) => (
                u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                row.get::<_, Option<i64>>(1),
            ),
            None => (0, None),
        };
        Ok(PostgresSink {
            client,
            driver,
            config,
            next_lsn,
            last_ts,
            partitioned_days: HashSet::new(),
            stats: SinkStats::default(),
            merge: copy::merge_sql(),
        })
    }

    /// The stored position: every log record below it is in `events` (or was rejected).
    pub fn next_lsn(&self) -> u64 {
        self.next_lsn
    }

    /// Event time of the latest stored row (as recorded in `sink_progress`), Unix ms.
    pub fn last_ts(&self) -> Option<i64> {
        self.last_ts
    }

    /// Totals since connect.
    pub fn stats(&self) -> SinkStats {
        self.stats
    }

    /// The underlying client (queries, maintenance).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether the connection is gone; a closed sink must be replaced by a new one.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The server process of this connection (for `pg_terminate_backend` in tests).
    pub async fn backend_pid(&self) -> Result<i32> {
        Ok(self
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .await?
            .get(0))
    }

    /// Writes rows and returns the new stored position: one past the highest LSN written,
    /// or the current one when every row was already stored. The rows must be every row of
    /// the log records from the stored position up to the highest LSN among them; see
    /// [`write_range`](Self::write_range) to also cover trailing records without rows.
    pub async fn write(&mut self, rows: &[EventRow]) -> Result<u64> {
        let end = rows
            .iter()
            .map(|r| r.lsn.saturating_add(1))
            .max()
            .unwrap_or(self.next_lsn);
        Ok(self.write_range(rows, end).await?.next_lsn)
    }

    /// Writes the rows of the log records below `end`: every row of those records from the
    /// stored position on (earlier ones are skipped as already stored). Each transaction of at
    /// most `batch_rows` rows / `batch_bytes` bytes commits its rows together with the
    /// position they reach, so after an error nothing is half-stored and a retry (of the same
    /// call, or a catch-up from the log) neither loses nor duplicates rows.
    pub async fn write_range(&mut self, rows: &[EventRow], end: u64) -> Result<WriteReport> {
        let from = self.next_lsn;
        let mut fresh: Vec<&EventRow> = rows.iter().filter(|r| r.lsn >= from).collect();
        if !fresh.is_sorted_by_key(|r| r.lsn) {
            fresh.sort_by_key(|r| r.lsn);
        }
        let end = end.max(fresh.last().map_or(0, |r| r.lsn.saturating_add(1)));
        let mut report = WriteReport {
            next_lsn: self.next_lsn,
            ..WriteReport::default()
        };
        if end <= from {
            return Ok(report);
        }
        let mut checked = Vec::with_capacity(fresh.len());
        for row in fresh {
            match copy::check(row) {
                Ok(c) => checked.push(c),
                Err(error) => {
                    report.rejected += 1;
                    tracing::warn!(lsn = row.lsn, %error, "event row rejected by the PostgreSQL sink");
                }
            }
        }
        self.stats.rejected += report.rejected;
        let mut start = 0;
        loop {
            let stop = self.chunk_end(&checked, start);
            // A chunk reaches the next chunk's first record: everything in between is in it.
            let chunk_end = checked.get(stop).map_or(end, |r| r.lsn);
            let chunk = &checked[start..stop];
            let (inserted, duplicates) = self.write_chunk(chunk, chunk_end).await?;
            report.inserted += inserted;
            report.duplicates += duplicates;
            if let Some(ts) = chunk.iter().map(|r| r.ts_ms).max() {
                report.last_ts = report.last_ts.max(Some(ts));
            }
            start = stop;
            if start >= checked.len() {
                break;
            }
        }
        report.next_lsn = self.next_lsn;
        Ok(report)
    }

    /// Index one past the last row of the chunk starting at `start`.
    fn chunk_end(&self, rows: &[CheckedRow<'_>], start: usize) -> usize {
        let mut bytes = 0usize;
        let max_rows = self.config.batch_rows.max(1);
        for (i, r) in rows.iter().enumerate().skip(start) {
            if i - start >= max_rows || (i > start && bytes >= self.config.batch_bytes) {
                return i;
            }
            bytes += r.approx_bytes();
        }
        rows.len()
    }

    async fn write_chunk(&mut self, rows: &[CheckedRow<'_>], end: u64) -> Result<(u64, u64)> {
        self.ensure_days(rows).await?;
        let result = self.try_write_chunk(rows, end).await;
        let (inserted, last_ts) = match result {
            // Retention (ours or another process's) may have dropped a partition we had
            // created: forget what we know and try once more.
            Err(e) if e.code() == Some(&SqlState::CHECK_VIOLATION) => {
                self.partitioned_days.clear();
                self.ensure_days(rows).await?;
                self.try_write_chunk(rows, end).await?
            }
            other => other?,
        };
        let copied = rows.len() as u64;
        self.next_lsn = self.next_lsn.max(end);
        self.last_ts = self.last_ts.max(last_ts);
        self.stats.inserted += inserted;
        self.stats.duplicates += copied - inserted.min(copied);
        self.stats.transactions += 1;
        Ok((inserted, copied - inserted.min(copied)))
    }

    async fn try_write_chunk(
        &mut self,
        rows: &[CheckedRow<'_>],
        end: u64,
    ) -> Result<(u64, Option<i64>), tokio_postgres::Error> {
        let name = self.config.name.clone();
        let last_ts = rows.iter().map(|r| r.ts_ms).max();
        let end_i = i64::try_from(end).unwrap_or(i64::MAX);
        let tx = self.client.transaction().await?;
        let mut inserted = 0;
        if !rows.is_empty() {
            copy::copy_rows(&tx, rows).await?;
            inserted = tx.execute(self.merge.as_str(), &[]).await?;
        }
        tx.execute(
            "INSERT INTO sink_progress (sink, next_lsn, last_event_at, updated_at)
             VALUES ($1, $2, to_timestamp($3::bigint / 1000.0), now())
             ON CONFLICT (sink) DO UPDATE SET
               next_lsn = GREATEST(sink_progress.next_lsn, EXCLUDED.next_lsn),
               last_event_at = GREATEST(sink_progress.last_event_at, EXCLUDED.last_event_at),
               updated_at = now()",
            &[&name, &end_i, &last_ts],
        )
        .await?;
        tx.commit().await?;
        Ok((inserted, last_ts))
    }

    /// Creates the partitions of the rows' days this sink has not seen yet. In its own
    /// statement, before the data transaction: creating a partition locks `events` briefly,
    /// and we would rather not hold that lock for a whole COPY.
    async fn ensure_days(&mut self, rows: &[CheckedRow<'_>]) -> Result<()> {
        let missing: BTreeSet<i32> = rows
            .iter()
            .map(|r| day_of(r.ts_ms))
            .filter(|d| !self.partitioned_days.contains(d))
            .collect();
        for day in missing {
            partitions::ensure_partitions(&self.client, day, day).await?;
            self.partitioned_days.insert(day);
        }
        Ok(())
    }

    /// Creates the partitions of yesterday through `ahead_days` after today and, when
    /// `keep_days` is set, drops those older than that. Returns (created, dropped).
    pub async fn maintain(
        &mut self,
        ahead_days: u32,
        keep_days: Option<u32>,
    ) -> Result<(i32, i32)> {
        let today = partitions::today();
        let ahead = i32::try_from(ahead_days).unwrap_or(i32::MAX);
        let created =
            partitions::ensure_partitions(&self.client, today - 1, today.saturating_add(ahead))
                .await?;
        let dropped = match keep_days {
            Some(keep) => partitions::run_retention(&self.client, keep).await?,
            None => 0,
        };
        if dropped > 0 {
            self.partitioned_days.clear();
        }
        Ok((created, dropped))
    }
}

impl Drop for PostgresSink {
    fn drop(&mut self) {
        // The driver ends by itself once the client is gone; aborting just makes it prompt.
        self.driver.abort();
    }
}

impl CheckedRow<'_> {
    fn approx_bytes(&self) -> usize {
        // Fixed columns plus COPY's per-field length words.
        self.text_len() + 120
    }
}
