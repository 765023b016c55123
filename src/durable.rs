//! Durability of live ingestion: every frame goes to the write-ahead log before it is decoded,
//! and the shards' progress (session, last sequence) is saved only after the log has synced
//! the frames it covers, so a restart resumes right after what is stored.

use anyhow::Context;
use guildflow_model::{Event, EventBody, RawFrame};
use guildflow_store::progress::Progress;
use guildflow_store::wal::{FsyncPolicy, Wal, WalConfig};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the log is synced and progress saved.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The log and progress of one data directory.
pub struct Durable {
    wal: Wal,
    progress_path: PathBuf,
    /// Progress of the frames appended, not yet synced.
    pending: Progress,
    last_checkpoint: Instant,
}

impl Durable {
    /// Opens `data/wal` and `data/progress.json`.
    pub fn open(data: &Path) -> anyhow::Result<Durable> {
        let wal = Wal::open(
            &data.join("wal"),
            WalConfig {
                // Synced by `checkpoint`, before progress is saved.
                fsync: FsyncPolicy::Never,
                ..WalConfig::default()
            },
        )
        .with_context(|| format!("cannot open the write-ahead log in {}", data.display()))?;
        let recovery = wal.recovery();
        if recovery.corrupt > 0 || recovery.truncated_bytes > 0 {
            tracing::warn!(?recovery, "write-ahead log recovered");
        }
        let progress_path = data.join("progress.json");
        let pending = Progress::load(&progress_path)?;
        Ok(Durable {
            wal,
            progress_path,
            pending,
            last_checkpoint: Instant::now(),
        })
    }

    /// The saved progress (where shards resume).
    pub fn progress(&self) -> &Progress {
        &self.pending
    }

    /// Every frame in the log, oldest first (the views are rebuilt from them at start).
    pub fn stored_frames(&mut self) -> anyhow::Result<Vec<RawFrame>> {
        Ok(self.wal.read_from(0)?.into_iter().map(|(_, f)| f).collect())
    }

    /// Appends frames to the log.
    pub fn append(&mut self, frames: &[RawFrame]) -> anyhow::Result<()> {
        self.wal.append(frames)?;
        Ok(())
    }

    /// Notes a decoded event of an appended frame.
    pub fn observe(&mut self, event: &Event) {
        match &event.body {
            EventBody::Ready {
                session_id,
                resume_gateway_url,
                ..
            } => self
                .pending
                .start_session(event.shard, session_id, event.seq, resume_gateway_url),
            _ => {
                if let Some(session) = self.pending.shards.get(&event.shard) {
                    let session = session.session_id.clone();
                    self.pending.advance(event.shard, &session, event.seq);
                }
            }
        }
    }

    /// Syncs the log and saves progress when due (or `force`).
    pub fn checkpoint(&mut self, force: bool) -> anyhow::Result<()> {
        if !force && self.last_checkpoint.elapsed() < CHECKPOINT_EVERY {
            return Ok(());
        }
        self.wal.sync()?;
        self.pending.save(&self.progress_path)?;
        self.last_checkpoint = Instant::now();
        Ok(())
    }
}
