//! Erasing a member's events (privacy requests, issue 4 part 5): `guildflow erase --guild G
//! --user U`. docs/STORAGE.md, "Erase", has the rule and the protocol.
//!
//! - [`erase_member`]: the data directory, offline (it takes the directory's lock): the
//!   member's rows leave the Parquet files (affected files rewritten, one manifest commit) and
//!   their records leave the write-ahead log (replaced by tombstones, LSNs unchanged). The
//!   views are rebuilt from the store at every start, so their aggregates go too.
//! - [`erase_member_postgres`]: the PostgreSQL database, in one transaction.

mod postgres;
mod rule;

pub use postgres::{erase_member_postgres, PostgresErasure};

use crate::lock::{lock_data_dir, LockError};
use crate::parquet::{FileEntry, Manifest, ParquetConfig, ParquetStore, ParquetStoreError};
use crate::row::EventRow;
use crate::wal::{FsyncPolicy, Wal, WalConfig, WalError};
use rule::MemberRule;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors of [`erase_member`]. Nothing is half-done after one: the Parquet files are switched
/// by one commit and each log segment is replaced whole, and running the erasure again
/// finishes what an interrupted one started.
#[derive(Debug, Error)]
pub enum EraseError {
    /// The directory has neither `wal/` nor `events/`: a mistyped path must not report
    /// "nothing to erase".
    #[error("{0} is not a guildflow data directory (no wal/ or events/)")]
    NotADataDir(PathBuf),
    /// The directory is in use, or its lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Reading or rewriting the Parquet files failed.
    #[error(transparent)]
    Parquet(#[from] ParquetStoreError),
    /// Reading or rewriting the write-ahead log failed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// The view snapshots (which hold the member's state) could not be removed.
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotError),
    /// The record of an erasure in progress could not be read or written.
    #[error("erasure record {path}: {source}")]
    Pending {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// What [`erase_member`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EraseReport {
    /// Parquet files that could hold the guild's rows, read to find the member's.
    pub files_scanned: usize,
    /// Parquet files replaced by a file without the member's rows.
    pub files_rewritten: usize,
    /// Parquet files dropped because every row was the member's.
    pub files_removed: usize,
    /// Rows removed from Parquet.
    pub parquet_rows: u64,
    /// Log records replaced by tombstones.
    pub log_records: u64,
    /// Log segments rewritten.
    pub log_segments: usize,
    /// Messages of the member found (their edits and deletions are erased with them).
    pub messages: usize,
    /// An interrupted erasure of the same member was found and finished.
    pub resumed: bool,
    /// View snapshots removed: they hold the member's state, so the next start rebuilds the
    /// views from the stored rows.
    pub snapshots_removed: usize,
}

/// Erases member `user` of guild `guild` from the data directory `data`: every Parquet row
/// and every log record that is theirs (see docs/STORAGE.md, "Erase"). The process must not
/// be running on `data`: the directory's lock is taken, and [`EraseError::Lock`] says when
/// another process holds it. Rows of other guilds and of other members are untouched, and
/// files without the member's rows are not rewritten.
pub fn erase_member(data: &Path, guild: u64, user: u64) -> Result<EraseReport, EraseError> {
    let events = data.join("events");
    let wal_dir = data.join("wal");
    if !events.is_dir() && !wal_dir.is_dir() {
        return Err(EraseError::NotADataDir(data.to_owned()));
    }
    let _lock = lock_data_dir(data)?;
    let mut store = if events.is_dir() {
        Some(open_events(&events)?)
    } else {
        None
    };
    let mut wal = if wal_dir.is_dir() {
        Some(Wal::open(
            &wal_dir,
            WalConfig {
                fsync: FsyncPolicy::Always,
                ..WalConfig::default()
            },
        )?)
    } else {
        None
    };
    erase_in(data, store.as_mut(), wal.as_mut(), guild, user)
}

/// The erasure itself, on an open Parquet store and log: offline ([`erase_member`]) or by the
/// running process ([`crate::durable::DurableStore::erase_member`]), which lends its own.
pub(crate) fn erase_in(
    data: &Path,
    store: Option<&mut ParquetStore>,
    mut wal: Option<&mut Wal>,
    guild: u64,
    user: u64,
) -> Result<EraseReport, EraseError> {
    let mut rule = MemberRule::new(guild, user);
    let mut report = EraseReport {
        // First: whatever fails later, no snapshot keeps the member's state.
        snapshots_removed: crate::snapshot::SnapshotDir::new(data).remove_all()?,
        ..EraseReport::default()
    };
    let pending = Pending::path(data, guild, user);
    if let Some(messages) = Pending::load(&pending)? {
        report.resumed = true;
        rule.messages.extend(messages);
    }

    // First pass: the member's messages, whose edits and deletions go with them. An edit may
    // be read before its message, so each file keeps the rows that may be the member's (their
    // frames dropped) and is judged once every message is known.
    let mut candidates: Vec<(FileEntry, Vec<EventRow>)> = Vec::new();
    if let Some(store) = store.as_deref() {
        let manifest = store.manifest();
        for file in manifest.files_for(Some(guild), None, None) {
            let mut maybe = Vec::new();
            for row in store.read_file(file)? {
                rule.learn_row(&row);
                if rule.may_be_theirs(&row) {
                    maybe.push(EventRow {
                        frame: String::new(),
                        ..row
                    });
                }
            }
            candidates.push((file.clone(), maybe));
        }
    }
    if let Some(wal) = wal.as_deref_mut() {
        wal.for_each(0, |_, frame| rule.learn_frame(frame))?;
    }
    report.files_scanned = candidates.len();
    report.messages = rule.messages.len();
    if !rule.messages.is_empty() {
        // Once a message is erased from one place, a rerun could no longer tell that an edit
        // stored elsewhere was the member's: the ids are kept until the erasure is complete.
        Pending::save(&pending, guild, user, &rule.messages)?;
    }

    if let Some(store) = store {
        let affected: Vec<FileEntry> = candidates
            .into_iter()
            .filter(|(_, maybe)| maybe.iter().any(|r| rule.row_is_theirs(r)))
            .map(|(file, _)| file)
            .collect();
        let rewrite = store.rewrite_files(&affected, |row| !rule.row_is_theirs(row))?;
        report.files_rewritten = rewrite.files_rewritten;
        report.files_removed = rewrite.files_removed;
        report.parquet_rows = rewrite.rows_removed;
    }
    if let Some(wal) = wal {
        let erased = wal.erase_records(|_, frame| rule.frame_is_theirs(frame))?;
        report.log_records = erased.records;
        report.log_segments = erased.segments;
    }
    Pending::remove(&pending)?;
    Ok(report)
}

fn open_events(dir: &Path) -> Result<ParquetStore, ParquetStoreError> {
    // The directory keeps the bucket count it was written with; passing it avoids a warning.
    let guild_buckets =
        Manifest::load(dir)?.map_or(ParquetConfig::default().guild_buckets, |m| m.guild_buckets);
    ParquetStore::open(
        dir,
        ParquetConfig {
            guild_buckets,
            retention_days: None,
            ..ParquetConfig::default()
        },
    )
}

/// `data/ERASE-<guild>-<user>.json`: the message ids of a member being erased, from before
/// the first change until the erasure completes.
#[derive(Serialize, Deserialize)]
struct Pending {
    guild: u64,
    user: u64,
    messages: Vec<u64>,
}

impl Pending {
    fn path(data: &Path, guild: u64, user: u64) -> PathBuf {
        data.join(format!("ERASE-{guild}-{user}.json"))
    }

    fn load(path: &Path) -> Result<Option<Vec<u64>>, EraseError> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(pending_error(path, source)),
        };
        let pending: Pending = serde_json::from_slice(&bytes)
            .map_err(|e| pending_error(path, io::Error::new(io::ErrorKind::InvalidData, e)))?;
        Ok(Some(pending.messages))
    }

    fn save(
        path: &Path,
        guild: u64,
        user: u64,
        messages: &std::collections::BTreeSet<u64>,
    ) -> Result<(), EraseError> {
        let pending = Pending {
            guild,
            user,
            messages: messages.iter().copied().collect(),
        };
        let bytes = serde_json::to_vec(&pending)
            .map_err(|e| pending_error(path, io::Error::new(io::ErrorKind::InvalidData, e)))?;
        replace_durably(path, &bytes).map_err(|source| pending_error(path, source))
    }

    fn remove(path: &Path) -> Result<(), EraseError> {
        match fs::remove_file(path) {
            Ok(()) => sync_parent(path).map_err(|source| pending_error(path, source)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(pending_error(path, source)),
        }
    }
}

fn pending_error(path: &Path, source: io::Error) -> EraseError {
    EraseError::Pending {
        path: path.to_owned(),
        source,
    }
}

/// Temp file, fsync, rename, directory fsync: the record exists whole or not at all.
fn replace_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    sync_parent(path)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    OpenOptions::new().read(true).open(dir)?.sync_all()
}
