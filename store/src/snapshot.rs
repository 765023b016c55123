//! Snapshots of the views (issue 4): a restart restores the latest one and replays only the
//! rows stored after it, so recovery time follows the state's size, not the history's, and
//! aggregates outlive the retention of raw events.
//!
//! A snapshot holds an opaque payload (the caller's: the dataflow's state and the API's
//! directory) and the store's own [`FrameLedger`], both as of `next_lsn`: every log record
//! below it, and none from it on, is counted in them. It is written once the log holds every
//! record below `next_lsn` durably, and used at open only once committed Parquet files hold
//! them too (the log keeps every record Parquet does not hold yet, so the rows after it are
//! always found); until then the one before is used.
//!
//! File `DATA/snapshots/snapshot-<next_lsn, 20 digits>.bin`: magic `GFSNAP02`, body length
//! (u64 LE), CRC-32 of the body (u32 LE), body = zstd(payload, bincode(next_lsn, created_ms,
//! ledger), that bincode's length as u64 LE). The payload (hundreds of MB for a large state) is
//! streamed into the compressor and read back without a copy: the metadata trails it. Written
//! to `.tmp`, fsynced, renamed, directory fsynced; the two newest are kept. A torn, truncated
//! or corrupt file is skipped with a warning for the next older one.

use crate::ledger::FrameLedger;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

const MAGIC: &[u8; 8] = b"GFSNAP02";
const HEADER: usize = 8 + 8 + 4;
/// Snapshots kept: the newest, and the one before in case the newest cannot be restored.
const KEEP: usize = 2;
const ZSTD_LEVEL: i32 = 3;

/// Errors of snapshot files.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// Reading or writing a file failed.
    #[error("snapshot {path}: {source}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a whole, intact snapshot.
    #[error("snapshot {path} is corrupt: {reason}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A snapshot as loaded.
#[derive(Debug)]
pub struct Snapshot {
    /// Every log record below this LSN is in the snapshot, none from it on.
    pub next_lsn: u64,
    /// When it was written, Unix ms.
    pub created_ms: i64,
    pub(crate) ledger: FrameLedger,
    /// The caller's state.
    pub payload: Vec<u8>,
}

/// What trails the payload in a snapshot's body.
#[derive(Deserialize)]
struct Meta {
    next_lsn: u64,
    created_ms: i64,
    ledger: FrameLedger,
}

/// Borrowed form of [`Meta`] for writing (same layout).
#[derive(Serialize)]
struct MetaRef<'a> {
    next_lsn: u64,
    created_ms: i64,
    ledger: &'a FrameLedger,
}

/// The snapshot directory of a data directory.
#[derive(Clone, Debug)]
pub struct SnapshotDir {
    dir: PathBuf,
}

impl SnapshotDir {
    /// `data/snapshots` (created on first write).
    pub fn new(data: &Path) -> Self {
        SnapshotDir {
            dir: data.join("snapshots"),
        }
    }

    fn path_of(&self, next_lsn: u64) -> PathBuf {
        self.dir.join(format!("snapshot-{next_lsn:020}.bin"))
    }

    /// Snapshot files, newest first.
    fn files(&self) -> Result<Vec<(u64, PathBuf)>, SnapshotError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let lsn = name
                .strip_prefix("snapshot-")
                .and_then(|n| n.strip_suffix(".bin"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(lsn) = lsn {
                files.push((lsn, entry.path()));
            }
        }
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        Ok(files)
    }

    /// Writes a snapshot durably, then drops all but the newest [`KEEP`] and the newest one
    /// usable now (`next_lsn <= committed`, what Parquet holds), should the others wait for
    /// Parquet.
    pub(crate) fn write(
        &self,
        next_lsn: u64,
        ledger: &FrameLedger,
        payload: &[u8],
        committed: u64,
    ) -> Result<PathBuf, SnapshotError> {
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.path_of(next_lsn);
        let meta = bincode::serialize(&MetaRef {
            next_lsn,
            created_ms: now_ms(),
            ledger,
        })
        .map_err(|e| SnapshotError::Corrupt {
            path: path.clone(),
            reason: format!("cannot encode: {e}"),
        })?;
        let body = compress(payload, &meta).map_err(io(&path))?;
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(body.len() as u64).to_le_bytes());
        header.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        let tmp = path.with_extension("bin.tmp");
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        let written = file
            .write_all(&header)
            .and_then(|()| file.write_all(&body))
            .and_then(|()| file.sync_all());
        drop(file);
        if let Err(e) = written {
            // A full disk leaves no half snapshot behind.
            let _ = fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&self.dir)?;
        let files = self.files()?;
        let usable = files
            .iter()
            .find(|(lsn, _)| *lsn <= committed)
            .map(|(lsn, _)| *lsn);
        for (lsn, old) in files.into_iter().skip(KEEP) {
            if Some(lsn) != usable {
                let _ = fs::remove_file(old);
            }
        }
        Ok(path)
    }

    /// The newest intact snapshot whose `next_lsn` is at most `limit` (what the store holds);
    /// corrupt or newer ones are skipped with a warning. Called at open, under the data
    /// directory's lock: `.tmp` files are writes a crash interrupted, and go.
    pub(crate) fn latest(&self, limit: u64) -> Result<Option<Snapshot>, SnapshotError> {
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".bin.tmp") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        for (lsn, path) in self.files()? {
            if lsn > limit {
                tracing::warn!(path = %path.display(), limit, "snapshot ahead of the stored rows, skipped");
                continue;
            }
            match read(&path) {
                Ok(snapshot) => return Ok(Some(snapshot)),
                Err(e) => tracing::warn!(error = %e, "snapshot skipped"),
            }
        }
        Ok(None)
    }

    /// Reads every snapshot back in full (an operator's check, and the fault tests'): their
    /// `next_lsn`s, newest first, or the first one that does not read back intact.
    pub fn verify(&self) -> Result<Vec<u64>, SnapshotError> {
        self.files()?
            .into_iter()
            .map(|(_, path)| read(&path).map(|s| s.next_lsn))
            .collect()
    }

    /// Deletes every snapshot (after an erasure: they hold the erased member's state).
    pub fn remove_all(&self) -> Result<usize, SnapshotError> {
        let files = self.files()?;
        for (_, path) in &files {
            fs::remove_file(path).map_err(io(path))?;
        }
        if !files.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(files.len())
    }
}

fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
    let corrupt = |reason: String| SnapshotError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let bytes = fs::read(path).map_err(io(path))?;
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        let found = bytes.get(..8).unwrap_or_default();
        return Err(corrupt(if found.starts_with(b"GFSNAP") {
            format!(
                "format {}, this build reads {}",
                String::from_utf8_lossy(found),
                String::from_utf8_lossy(MAGIC)
            )
        } else {
            "no snapshot header".into()
        }));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[8..16]);
    let len = u64::from_le_bytes(len);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&bytes[16..20]);
    let body = &bytes[HEADER..];
    if body.len() as u64 != len {
        return Err(corrupt(format!(
            "{} body bytes, {len} expected",
            body.len()
        )));
    }
    if crc32fast::hash(body) != u32::from_le_bytes(crc) {
        return Err(corrupt("checksum mismatch".into()));
    }
    let mut payload = zstd::stream::decode_all(body).map_err(|e| corrupt(e.to_string()))?;
    // Payload, metadata, metadata length: split from the end, the payload is not copied.
    let meta_len = payload
        .len()
        .checked_sub(8)
        .map(|at| {
            let mut len = [0u8; 8];
            len.copy_from_slice(&payload[at..]);
            u64::from_le_bytes(len)
        })
        .and_then(|len| usize::try_from(len).ok())
        .filter(|len| len.saturating_add(8) <= payload.len())
        .ok_or_else(|| corrupt("no metadata".into()))?;
    let meta_at = payload.len() - 8 - meta_len;
    let meta: Meta = bincode::deserialize(&payload[meta_at..payload.len() - 8])
        .map_err(|e| corrupt(e.to_string()))?;
    payload.truncate(meta_at);
    Ok(Snapshot {
        next_lsn: meta.next_lsn,
        created_ms: meta.created_ms,
        ledger: meta.ledger,
        payload,
    })
}

/// zstd of `payload`, `meta`, `meta`'s length, streamed (no joined copy of the payload).
fn compress(payload: &[u8], meta: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
    encoder.write_all(payload)?;
    encoder.write_all(meta)?;
    encoder.write_all(&(meta.len() as u64).to_le_bytes())?;
    encoder.finish()
}

fn sync_dir(dir: &Path) -> Result<(), SnapshotError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gf-snapshot-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn newest_intact_within_the_store_wins_and_two_are_kept() {
        let data = temp_dir("latest");
        let snapshots = SnapshotDir::new(&data);
        let mut ledger = FrameLedger::default();
        ledger.admit(0, 1);
        for lsn in [10, 20, 30] {
            snapshots
                .write(lsn, &ledger, format!("state {lsn}").as_bytes(), lsn)
                .unwrap();
        }
        assert_eq!(snapshots.files().unwrap().len(), 2, "the oldest is dropped");
        let latest = snapshots.latest(u64::MAX).unwrap().unwrap();
        assert_eq!(
            (latest.next_lsn, latest.payload.as_slice()),
            (30, &b"state 30"[..])
        );
        let mut restored = latest.ledger;
        assert!(!restored.admit(0, 1), "the ledger comes back");
        assert_eq!(
            snapshots.latest(25).unwrap().unwrap().next_lsn,
            20,
            "ahead of the store"
        );

        // A flipped bit in the newest: the older one is used.
        let newest = snapshots.path_of(30);
        let mut bytes = fs::read(&newest).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&newest, &bytes).unwrap();
        assert_eq!(snapshots.latest(u64::MAX).unwrap().unwrap().next_lsn, 20);
        // Truncated too; an interrupted write's temp file goes.
        fs::write(&newest, &bytes[..bytes.len() / 2]).unwrap();
        fs::write(
            snapshots.dir.join("snapshot-00000000000000000099.bin.tmp"),
            b"half",
        )
        .unwrap();
        assert_eq!(snapshots.latest(u64::MAX).unwrap().unwrap().next_lsn, 20);
        assert!(!snapshots
            .dir
            .join("snapshot-00000000000000000099.bin.tmp")
            .exists());

        // Two newer ones Parquet does not hold yet: the newest usable one stays.
        snapshots.write(30, &ledger, b"state 30", 30).unwrap();
        for lsn in [40, 50] {
            snapshots.write(lsn, &ledger, b"ahead", 30).unwrap();
        }
        let kept: Vec<u64> = snapshots.files().unwrap().iter().map(|f| f.0).collect();
        assert_eq!(kept, vec![50, 40, 30]);
        assert_eq!(snapshots.latest(30).unwrap().unwrap().next_lsn, 30);
        for lsn in [40, 50] {
            fs::remove_file(snapshots.path_of(lsn)).unwrap();
        }
        assert_eq!(snapshots.remove_all().unwrap(), 1);
        assert!(snapshots.latest(u64::MAX).unwrap().is_none());
        let _ = fs::remove_dir_all(&data);
    }
}
