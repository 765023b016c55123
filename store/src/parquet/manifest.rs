//! `manifest.json`: the list of committed events files. It is the only thing readers trust: a
//! file on disk that it does not list does not exist for them (it is being written, or it is a
//! crash's leftover, or it was compacted or expired away).

use super::files::replace_atomically;
use super::layout::bucket_of;
use super::{io_error, ParquetStoreError, Result};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// Name of the manifest in the events directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Format version this build writes; a manifest with a higher one is refused rather than
/// misread (fields added within a version are optional, see `#[serde(default)]`).
pub(crate) const MANIFEST_VERSION: u32 = 1;

/// The committed state of the events directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of this manifest.
    pub version: u32,
    /// Incremented at every commit: two snapshots with the same generation list the same files.
    #[serde(default)]
    pub generation: u64,
    /// Number of guild buckets the files were partitioned with (fixed for a directory, or
    /// bucket pruning would look in the wrong place).
    pub guild_buckets: u32,
    /// Every row with an lsn up to this one is in a listed file (or was dropped by retention);
    /// None before the first commit.
    pub flushed_lsn: Option<u64>,
    /// Committed files, ordered by (day, bucket, min_lsn).
    pub files: Vec<FileEntry>,
}

/// One committed events file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the events directory, `/`-separated:
    /// `day=YYYY-MM-DD/bucket=NN/part-<first lsn>-<last lsn>.parquet`.
    pub path: String,
    /// UTC day of every row, `YYYY-MM-DD`.
    pub day: String,
    /// Guild bucket (`guild_id % guild_buckets`) of every row; None for rows without a guild.
    pub bucket: Option<u32>,
    /// Rows in the file.
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Smallest event time, Unix milliseconds.
    pub min_ts: i64,
    /// Largest event time, Unix milliseconds.
    pub max_ts: i64,
    /// Smallest guild id (None in the no-guild bucket).
    pub min_guild: Option<u64>,
    /// Largest guild id (None in the no-guild bucket).
    pub max_guild: Option<u64>,
    /// Smallest lsn.
    pub min_lsn: u64,
    /// Largest lsn.
    pub max_lsn: u64,
}

impl Manifest {
    /// A manifest listing nothing.
    pub fn empty(guild_buckets: u32) -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            generation: 0,
            guild_buckets,
            flushed_lsn: None,
            files: Vec::new(),
        }
    }

    /// Reads `<dir>/manifest.json`; None when there is none (nothing committed yet).
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| ParquetStoreError::Manifest {
                path: path.clone(),
                source,
            })?;
        if manifest.version > MANIFEST_VERSION {
            return Err(ParquetStoreError::ManifestVersion {
                path,
                found: manifest.version,
                supported: MANIFEST_VERSION,
            });
        }
        Ok(Some(manifest))
    }

    /// Replaces `<dir>/manifest.json` atomically and durably: this is the commit point.
    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|source| ParquetStoreError::Manifest {
                path: path.clone(),
                source,
            })?;
        replace_atomically(&path, &bytes)
    }

    /// The files that may hold rows of `guild` (every guild when None) with a time in
    /// `[from_ms, to_ms)` (unbounded on a None side), in (day, bucket, lsn) order. Pruning uses
    /// the bucket and each file's min/max guild and time, so a one-guild, one-day query gets
    /// the few files of one partition.
    pub fn files_for(
        &self,
        guild: Option<u64>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Vec<&FileEntry> {
        let bucket = guild.map(|g| bucket_of(Some(g), self.guild_buckets));
        self.files
            .iter()
            .filter(|f| match (guild, bucket) {
                (Some(g), Some(b)) => {
                    f.bucket == b
                        && f.min_guild.is_some_and(|min| min <= g)
                        && f.max_guild.is_some_and(|max| g <= max)
                }
                _ => true,
            })
            .filter(|f| from_ms.is_none_or(|from| f.max_ts >= from))
            .filter(|f| to_ms.is_none_or(|to| f.min_ts < to))
            .collect()
    }

    /// Rows in every listed file.
    pub fn total_rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Bytes of every listed file.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Keeps `files` in (day, bucket, min_lsn) order, which readers and replay rely on.
    pub(crate) fn sort_files(&mut self) {
        self.files
            .sort_by(|a, b| (&a.day, a.bucket, a.min_lsn).cmp(&(&b.day, b.bucket, b.min_lsn)));
    }
}

impl FileEntry {
    /// The file's absolute path under the events directory `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        day: &str,
        bucket: Option<u32>,
        guilds: Option<(u64, u64)>,
        ts: (i64, i64),
    ) -> FileEntry {
        FileEntry {
            path: format!("{day}/{bucket:?}"),
            day: day.to_owned(),
            bucket,
            rows: 1,
            bytes: 1,
            min_ts: ts.0,
            max_ts: ts.1,
            min_guild: guilds.map(|g| g.0),
            max_guild: guilds.map(|g| g.1),
            min_lsn: 0,
            max_lsn: 0,
        }
    }

    #[test]
    fn files_for_prunes_by_bucket_guild_range_and_time() {
        let mut m = Manifest::empty(4);
        m.files = vec![
            entry("2026-01-01", Some(1), Some((1, 9)), (0, 99)),
            entry("2026-01-01", Some(1), Some((13, 21)), (0, 99)),
            entry("2026-01-01", Some(2), Some((2, 10)), (0, 99)),
            entry("2026-01-01", None, None, (0, 99)),
            entry("2026-01-02", Some(1), Some((1, 9)), (100, 199)),
        ];
        let paths = |v: Vec<&FileEntry>| v.len();
        assert_eq!(paths(m.files_for(Some(5), Some(0), Some(100))), 1);
        assert_eq!(paths(m.files_for(Some(5), None, None)), 2);
        assert_eq!(paths(m.files_for(Some(17), None, None)), 1);
        assert_eq!(paths(m.files_for(Some(3), None, None)), 0);
        assert_eq!(paths(m.files_for(None, Some(100), None)), 1);
        assert_eq!(paths(m.files_for(None, None, Some(100))), 4);
        assert_eq!(paths(m.files_for(None, None, None)), 5);
    }

    #[test]
    fn a_manifest_saves_and_loads_back_and_a_newer_version_is_refused() {
        let dir = std::env::temp_dir().join(format!("guildflow-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Manifest::load(&dir).unwrap(), None);
        let mut m = Manifest::empty(16);
        m.flushed_lsn = Some(7);
        m.files.push(entry("2026-01-01", None, None, (0, 1)));
        m.save(&dir).unwrap();
        assert_eq!(Manifest::load(&dir).unwrap(), Some(m.clone()));
        m.version = MANIFEST_VERSION + 1;
        m.save(&dir).unwrap();
        assert!(matches!(
            Manifest::load(&dir),
            Err(ParquetStoreError::ManifestVersion { .. })
        ));
        std::fs::write(dir.join(MANIFEST_FILE), b"{").unwrap();
        assert!(matches!(
            Manifest::load(&dir),
            Err(ParquetStoreError::Manifest { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
