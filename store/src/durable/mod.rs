//! [`DurableStore`]: the store as ingestion sees it. One call takes a batch of received frames
//! with their decoded events and:
//!
//! 1. drops frames the store already holds ([`FrameLedger`]: (shard, session, seq));
//! 2. appends the rest to the write-ahead log;
//!
//! and returns the events to count. [`DurableStore::checkpoint`] (every 100 ms) syncs the log,
//! then saves shard progress (so progress never claims a frame the log could lose), then hands
//! the synced rows to the Parquet flusher (visible to queries at once, in files within
//! seconds) and offers them to the optional PostgreSQL sink (which never makes ingestion
//! wait), then drops log segments every sink has stored. At start, [`DurableStore::rebuild`]
//! restores the latest snapshot ([`DurableStore::save_snapshot`], `crate::snapshot`) and
//! replays the rows stored after it (Parquet, then the log's tail), or every stored row when
//! there is none, so the views end exactly where an uninterrupted run would.

mod flusher;

pub use flusher::{FlushPolicy, ParquetFlusher};

use crate::erase::{erase_in, EraseReport};

use crate::ledger::FrameLedger;
use crate::lock::{lock_data_dir, DirLock, LockError};
use crate::parquet::{ParquetConfig, ParquetStore, ParquetStoreError, StoreReader};
use crate::postgres::{
    PostgresSinkError, PostgresSinkTask, SinkConfig, SinkHandle, SinkStatus, TaskConfig, WalCatchUp,
};
use crate::progress::{Progress, ProgressError};
use crate::row::EventRow;
use crate::snapshot::{Snapshot, SnapshotDir, SnapshotError};
use crate::wal::{FsyncPolicy, Wal, WalConfig, WalError};
use guildflow_model::{Event, EventBody, RawFrame};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How often the log is synced and progress saved.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Errors of the durable store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The write-ahead log failed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// Shard progress could not be read or saved.
    #[error(transparent)]
    Progress(#[from] ProgressError),
    /// The Parquet store failed.
    #[error(transparent)]
    Parquet(#[from] ParquetStoreError),
    /// The PostgreSQL sink could not start.
    #[error(transparent)]
    Postgres(#[from] PostgresSinkError),
    /// Writing Parquet files failed; the rows are safe in the log and are written at the
    /// next start.
    #[error("{errors} Parquet writes failed (see the log); the rows are kept in the write-ahead log and written at the next start")]
    ParquetBehind {
        /// Failed writes.
        errors: u64,
    },
    /// Another process uses the data directory.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Erasing a member failed (running it again finishes it).
    #[error(transparent)]
    Erase(crate::erase::EraseError),
    /// A snapshot could not be written.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The caller could not restore a snapshot it had accepted.
    #[error("restoring the snapshot failed: {0}")]
    Restore(String),
}

/// Decodes a raw frame into its event (the caller owns decoding; the store only keeps
/// frames). Shared with the PostgreSQL sink's catch-up, which reads frames back from the log.
pub type Decode = Arc<dyn Fn(&RawFrame) -> Option<Event> + Send + Sync>;

/// Settings of a data directory.
#[derive(Clone)]
pub struct StoreConfig {
    /// The Parquet files.
    pub parquet: ParquetConfig,
    /// When rows become files.
    pub flush: FlushPolicy,
    /// The optional PostgreSQL sink's connection string.
    pub postgres: Option<String>,
    /// Turns log records back into rows (PostgreSQL catch-up).
    pub decode: Decode,
    /// How often a snapshot of the views is due ([`DurableStore::snapshot_due`]); None: never.
    pub snapshot_every: Option<Duration>,
}

/// What [`DurableStore::rebuild`] replayed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// The snapshot restored (its `next_lsn`), when there was one.
    pub snapshot: Option<u64>,
    /// Rows read from Parquet files.
    pub parquet_rows: u64,
    /// Records read from the log's tail (not yet in Parquet).
    pub log_records: u64,
}

/// How far the sinks are behind the log.
#[derive(Clone, Debug, Default)]
pub struct StoreLag {
    /// Log records not yet in committed Parquet files.
    pub parquet_records: u64,
    /// Seconds since the last Parquet commit while records wait (0 when none wait).
    pub parquet_seconds: f64,
    /// The PostgreSQL sink's state, when configured.
    pub postgres: Option<SinkStatus>,
}

/// The log, progress, Parquet files and optional PostgreSQL sink of one data directory.
pub struct DurableStore {
    wal: Arc<Mutex<Wal>>,
    progress_path: PathBuf,
    pending: Progress,
    ledger: FrameLedger,
    flusher: ParquetFlusher,
    postgres: Option<PostgresSinkTask>,
    decode: Decode,
    last_checkpoint: Instant,
    unsynced: Unsynced,
    snapshots: SnapshotDir,
    /// The latest snapshot, until `rebuild` uses it.
    loaded: Option<Snapshot>,
    /// After an erasure the running views still hold the member: no snapshot of them.
    snapshots_off: bool,
    snapshot_every: Option<Duration>,
    last_snapshot: Instant,
    /// The snapshot being compressed and written on a thread of its own.
    snapshot_writer: Option<std::thread::JoinHandle<()>>,
    /// Held while open: erase and a second process are refused meanwhile.
    _lock: DirLock,
}

/// Rows appended to the log since its last sync, held back from the sinks until it syncs.
#[derive(Default)]
struct Unsynced {
    rows: Vec<EventRow>,
    lsns: Option<std::ops::Range<u64>>,
}

fn lock(wal: &Mutex<Wal>) -> MutexGuard<'_, Wal> {
    // The log's state is its files; a panic elsewhere while holding the lock leaves nothing
    // half-updated in memory that a later append relies on.
    wal.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DurableStore {
    /// Opens `data/wal`, `data/events`, `data/progress.json`; starts the Parquet flusher and,
    /// when configured, the PostgreSQL sink (which needs a tokio runtime).
    pub fn open(data: &Path, config: StoreConfig) -> Result<DurableStore, StoreError> {
        std::fs::create_dir_all(data).map_err(|source| WalError::Io {
            path: data.to_owned(),
            source,
        })?;
        let lock = lock_data_dir(data)?;
        let wal = Wal::open(
            &data.join("wal"),
            WalConfig {
                // Synced by `checkpoint`, before progress is saved.
                fsync: FsyncPolicy::Never,
                ..WalConfig::default()
            },
        )?;
        let recovery = wal.recovery();
        if recovery.corrupt > 0 || recovery.truncated_bytes > 0 {
            tracing::warn!(?recovery, "write-ahead log recovered");
        }
        let parquet = ParquetStore::open(&data.join("events"), config.parquet)?;
        let flusher = ParquetFlusher::start(parquet, config.flush);
        let progress_path = data.join("progress.json");
        let pending = Progress::load(&progress_path)?;
        let snapshots = SnapshotDir::new(data);
        // A snapshot is written after Parquet holds every row below it; one beyond the
        // committed rows (the events directory was replaced?) cannot be followed by them.
        let loaded = snapshots.latest(flusher.flushed().map_or(0, |l| l + 1))?;
        let wal = Arc::new(Mutex::new(wal));
        let postgres = match &config.postgres {
            Some(url) => {
                let decode = config.decode.clone();
                let source = WalCatchUp::new(wal.clone(), move |lsn, raw: &RawFrame| {
                    decode(raw).map(|event| EventRow::new(lsn, raw, &event, None))
                });
                Some(PostgresSinkTask::spawn(
                    TaskConfig::new(SinkConfig::new(url.clone())),
                    source,
                ))
            }
            None => None,
        };
        Ok(DurableStore {
            wal,
            progress_path,
            pending,
            ledger: FrameLedger::default(),
            flusher,
            postgres,
            decode: config.decode,
            last_checkpoint: Instant::now(),
            unsynced: Unsynced::default(),
            snapshots,
            loaded,
            snapshots_off: false,
            snapshot_every: config.snapshot_every,
            last_snapshot: Instant::now(),
            snapshot_writer: None,
            _lock: lock,
        })
    }

    /// The saved progress (where shards resume).
    pub fn progress(&self) -> &Progress {
        &self.pending
    }

    /// The query side's handle on the stored events.
    pub fn reader(&self) -> StoreReader {
        self.flusher.reader()
    }

    /// The PostgreSQL sink's state, when configured.
    pub fn postgres_status(&self) -> Option<SinkStatus> {
        self.postgres.as_ref().map(|p| p.handle().status())
    }

    /// The PostgreSQL sink's handle, when configured.
    pub fn postgres(&self) -> Option<SinkHandle> {
        self.postgres.as_ref().map(PostgresSinkTask::handle)
    }

    /// How far the sinks are behind the log.
    pub fn lag(&self) -> StoreLag {
        let next = lock(&self.wal).next_lsn();
        let stored = self.flusher.flushed().map_or(0, |l| l + 1);
        let parquet_records = next.saturating_sub(stored);
        StoreLag {
            parquet_records,
            parquet_seconds: if parquet_records > 0 {
                self.flusher.since_commit()
            } else {
                0.0
            },
            postgres: self.postgres_status(),
        }
    }

    /// Frames refused because the store already held them.
    pub fn repeats(&self) -> u64 {
        self.ledger.repeats()
    }

    /// Brings the caller's state up to date with the store. With a snapshot, `restore` gets
    /// its payload first and answers `Ok(true)` when it took it, `Ok(false)` when it cannot
    /// use it (another format: everything is replayed instead), or an error (fatal: the
    /// caller's state may be half restored). Then `deliver` gets every stored event after the
    /// snapshot (every stored event without one), oldest first: Parquet rows in log order,
    /// then the log records not yet in Parquet (which go on to Parquet now). Call once, before
    /// the first [`DurableStore::admit`].
    pub fn rebuild(
        &mut self,
        restore: impl FnOnce(&[u8]) -> Result<bool, String>,
        mut deliver: impl FnMut(Event),
    ) -> Result<RebuildReport, StoreError> {
        let mut report = RebuildReport::default();
        if let Some(snapshot) = self.loaded.take() {
            if restore(&snapshot.payload).map_err(StoreError::Restore)? {
                self.ledger = snapshot.ledger;
                report.snapshot = Some(snapshot.next_lsn);
            } else {
                tracing::warn!(
                    next_lsn = snapshot.next_lsn,
                    "the snapshot cannot be restored by this build; replaying every stored row"
                );
            }
        }
        let after = report.snapshot.and_then(|next| next.checked_sub(1));
        let snapshot = self.flusher.reader().snapshot();
        for chunk in snapshot.rows_after(after) {
            for row in chunk? {
                report.parquet_rows += 1;
                let session = row.session.as_deref();
                match session {
                    Some(session) if row.kind == guildflow_model::EventKind::Ready => {
                        self.ledger.start_session(row.shard, session, row.seq);
                    }
                    _ => {
                        self.ledger
                            .admit_in(row.shard, session.unwrap_or(""), row.seq);
                    }
                }
                if let Some(event) = (self.decode)(&row.raw_frame()) {
                    deliver(event);
                }
            }
        }
        let after = snapshot.manifest.flushed_lsn.map_or(0, |l| l + 1);
        drop(snapshot);
        let tail = {
            let mut wal = lock(&self.wal);
            // What survived a crash may sit in the page cache only; it goes to Parquet below,
            // so it must be durable here first (see `checkpoint`).
            wal.sync()?;
            wal.read_from(after)?
        };
        let mut rows = Vec::new();
        let mut through = None;
        for (lsn, frame) in tail {
            report.log_records += 1;
            through = Some(lsn);
            if let Some(event) = (self.decode)(&frame) {
                self.note(&event);
                let session = self.session_of(&event);
                rows.push(EventRow::from_frame(lsn, frame, &event, session.as_deref()));
                deliver(event);
            }
        }
        if let Some(through) = through {
            self.flusher.send(rows, through);
        }
        Ok(report)
    }

    /// Writes a snapshot of `payload`: the caller's state after every event [`admit`] returned
    /// so far (call it between admits). The log is synced first, so every record the snapshot
    /// counts is durable; it does not wait for Parquet: a snapshot is used at open only once
    /// Parquet holds every row before it (the log keeps the rows after), normally seconds
    /// later, and an older one is used until then. With `wait` false the file is compressed
    /// and written on a thread of its own (ingestion goes on; its outcome is logged), else
    /// before returning. Returns the snapshot's `next_lsn`, or None when snapshots are off
    /// (after an erasure, until the next start).
    ///
    /// [`admit`]: DurableStore::admit
    pub fn save_snapshot(
        &mut self,
        payload: Vec<u8>,
        wait: bool,
    ) -> Result<Option<u64>, StoreError> {
        if self.snapshots_off {
            return Ok(None);
        }
        self.last_snapshot = Instant::now();
        // One at a time, in order (the previous one is long done at any sane interval).
        self.join_snapshot_writer();
        self.checkpoint(true)?;
        let next = lock(&self.wal).next_lsn();
        let committed = self.flusher.flushed().map_or(0, |l| l + 1);
        if wait {
            self.snapshots
                .write(next, &self.ledger, &payload, committed)?;
            return Ok(Some(next));
        }
        let ledger = self.ledger.clone();
        let snapshots = self.snapshots.clone();
        let writer = std::thread::Builder::new()
            .name("guildflow-snapshot".into())
            .spawn(move || {
                let started = Instant::now();
                match snapshots.write(next, &ledger, &payload, committed) {
                    Ok(_) => tracing::info!(
                        next_lsn = next,
                        bytes = payload.len(),
                        write_ms = started.elapsed().as_millis() as u64,
                        "snapshot file written"
                    ),
                    Err(e) => tracing::error!(error = %e, "snapshot file not written"),
                }
            })
            .map_err(|source| {
                StoreError::Snapshot(SnapshotError::Io {
                    path: PathBuf::from("snapshots"),
                    source,
                })
            })?;
        self.snapshot_writer = Some(writer);
        Ok(Some(next))
    }

    /// Waits for the snapshot being written, if any.
    fn join_snapshot_writer(&mut self) {
        if let Some(writer) = self.snapshot_writer.take() {
            if writer.join().is_err() {
                tracing::error!("the snapshot writer panicked; the previous snapshot stays");
            }
        }
    }

    /// Whether a snapshot is due (the configured interval has passed since the last one).
    pub fn snapshot_due(&self) -> bool {
        !self.snapshots_off
            && self
                .snapshot_every
                .is_some_and(|every| self.last_snapshot.elapsed() >= every)
    }

    /// Whether snapshots may be written (not after an erasure in this process).
    pub fn snapshots_enabled(&self) -> bool {
        !self.snapshots_off
    }

    /// Records `event` in the ledger and progress; false when the store already holds it.
    fn note(&mut self, event: &Event) -> bool {
        match &event.body {
            EventBody::Ready {
                session_id,
                resume_gateway_url,
                ..
            } => {
                let fresh = self
                    .ledger
                    .start_session(event.shard, session_id, event.seq);
                if fresh {
                    self.pending.start_session(
                        event.shard,
                        session_id,
                        event.seq,
                        resume_gateway_url,
                    );
                }
                fresh
            }
            _ => {
                let fresh = self.ledger.admit(event.shard, event.seq);
                if fresh {
                    if let Some(session) = self.pending.shards.get(&event.shard) {
                        if session.session_id == self.ledger.session(event.shard) {
                            let session = session.session_id.clone();
                            self.pending.advance(event.shard, &session, event.seq);
                        }
                    }
                }
                fresh
            }
        }
    }

    fn session_of(&self, event: &Event) -> Option<String> {
        let session = self.ledger.session(event.shard);
        (!session.is_empty()).then(|| session.to_owned())
    }

    /// Stores received frames (with their decoded events, None for frames that are not an
    /// event) and returns the events to count: the ones of frames the store did not hold.
    pub fn admit(
        &mut self,
        frames: Vec<(RawFrame, Option<Event>)>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut kept = Vec::with_capacity(frames.len());
        let mut events = Vec::with_capacity(frames.len());
        let mut sessions = Vec::with_capacity(frames.len());
        for (frame, event) in frames {
            if let Some(event) = &event {
                if !self.note(event) {
                    continue;
                }
            }
            sessions.push(event.as_ref().and_then(|e| self.session_of(e)));
            kept.push(frame);
            events.push(event);
        }
        if kept.is_empty() {
            return Ok(Vec::new());
        }
        let first = lock(&self.wal).append(&kept)?;
        let through = first + kept.len() as u64 - 1;
        let mut rows = Vec::with_capacity(kept.len());
        let mut out = Vec::with_capacity(kept.len());
        for (i, ((frame, event), session)) in kept.into_iter().zip(events).zip(sessions).enumerate()
        {
            if let Some(event) = event {
                rows.push(EventRow::from_frame(
                    first + i as u64,
                    frame,
                    &event,
                    session.as_deref(),
                ));
                out.push(event);
            }
        }
        let lsns = self.unsynced.lsns.get_or_insert(first..first);
        lsns.end = through + 1;
        self.unsynced.rows.extend(rows);
        Ok(out)
    }

    /// Syncs the log and saves progress when due (or `force`), then drops the log segments
    /// every sink has stored.
    pub fn checkpoint(&mut self, force: bool) -> Result<(), StoreError> {
        if !force && self.last_checkpoint.elapsed() < CHECKPOINT_EVERY {
            return Ok(());
        }
        let mut wal = lock(&self.wal);
        wal.sync()?;
        self.pending.save(&self.progress_path)?;
        self.last_checkpoint = Instant::now();
        // Sinks get only synced records: a record they stored and the log then lost would
        // have its lsn reused by another frame after a restart.
        if let Some(lsns) = self.unsynced.lsns.take() {
            let rows = std::mem::take(&mut self.unsynced.rows);
            if let Some(pg) = &self.postgres {
                // Never waits: a full channel or an outage makes the sink catch up from the log.
                pg.handle().offer(lsns.clone(), rows.clone());
            }
            self.flusher.send(rows, lsns.end - 1);
        }
        // Records are dropped only once Parquet and PostgreSQL (when configured) hold them.
        let mut keep_from = self.flusher.flushed().map_or(0, |l| l + 1);
        if let Some(pg) = &self.postgres {
            keep_from = keep_from.min(pg.handle().status().stored_lsn);
        }
        wal.truncate_before(keep_from)?;
        Ok(())
    }

    /// Writes every row handed over so far to Parquet files and waits for the commit.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.checkpoint(true)?;
        self.flusher.flush();
        if self.flusher.failing() {
            return Err(StoreError::ParquetBehind {
                errors: self.flusher.errors(),
            });
        }
        Ok(())
    }

    /// Erases member `user` of guild `guild` while the store is open (the admin plane's
    /// erase route): everything is flushed, then the member's rows leave the Parquet files and
    /// their records the log, as [`crate::erase::erase_member`] does offline. Ingestion waits
    /// meanwhile (the caller is the pipeline). PostgreSQL is the caller's
    /// ([`crate::erase::erase_member_postgres`]).
    pub fn erase_member(&mut self, guild: u64, user: u64) -> Result<EraseReport, StoreError> {
        self.flush()?;
        let data = self
            .progress_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let wal = self.wal.clone();
        // The running views still hold the member; the next start rebuilds without them. A
        // snapshot still being written would land after the erasure removed the others.
        self.snapshots_off = true;
        self.join_snapshot_writer();
        let outcome = self.flusher.with_store(|store| {
            let mut wal = lock(&wal);
            erase_in(&data, Some(store), Some(&mut wal), guild, user)
        });
        match outcome {
            Some(result) => result.map_err(StoreError::Erase),
            None => Err(StoreError::ParquetBehind {
                errors: self.flusher.errors(),
            }),
        }
    }

    /// Waits (up to `timeout`) until the PostgreSQL sink has stored every log record appended
    /// so far; true when it has, or when there is no sink. An erasure deletes the member's
    /// PostgreSQL rows only after this: rows the sink still had in flight would otherwise be
    /// inserted again after the delete.
    pub async fn postgres_caught_up(&self, timeout: Duration) -> bool {
        let Some(pg) = &self.postgres else {
            return true;
        };
        let through = lock(&self.wal).next_lsn();
        let deadline = Instant::now() + timeout;
        loop {
            if pg.handle().status().stored_lsn >= through {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the sinks after a last flush; PostgreSQL gets `grace` to catch up.
    pub async fn close(mut self, grace: Duration) -> Result<Option<SinkStatus>, StoreError> {
        self.flush()?;
        self.join_snapshot_writer();
        let status = match self.postgres.take() {
            Some(pg) => Some(pg.shutdown(grace).await),
            None => None,
        };
        Ok(status)
    }
}

impl Drop for DurableStore {
    fn drop(&mut self) {
        // A snapshot half written when the process goes on without the store would leave its
        // `.tmp` behind and the previous snapshot in use; finish it.
        self.join_snapshot_writer();
    }
}
