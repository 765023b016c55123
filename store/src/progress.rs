//! Durable shard progress: per shard, the gateway session and the last sequence whose frame
//! (and every frame before it) is durable in the log, with READY's `resume_gateway_url`. It is
//! written only after the log has made those frames durable, and replaced atomically (temp
//! file, fsync, rename, directory fsync), so a restart resumes exactly after what is stored.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors of the progress file.
#[derive(Debug, Error)]
pub enum ProgressError {
    /// The file system failed.
    #[error("shard progress I/O on {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The file exists but is not a progress file.
    #[error("shard progress file {path} is unreadable: {source}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
}

/// Where one shard stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardProgress {
    /// Gateway session id (from READY).
    pub session_id: String,
    /// Last durably stored sequence of that session.
    pub sequence: u64,
    /// READY's `resume_gateway_url`.
    pub resume_url: Option<String>,
}

/// Progress of every shard, by shard id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// By shard id.
    pub shards: BTreeMap<u32, ShardProgress>,
}

impl Progress {
    /// Reads `path`; an absent file is empty progress.
    pub fn load(path: &Path) -> Result<Progress, ProgressError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| ProgressError::Corrupt {
                path: path.to_owned(),
                source,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Progress::default()),
            Err(source) => Err(ProgressError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Replaces `path` atomically and durably.
    pub fn save(&self, path: &Path) -> Result<(), ProgressError> {
        let io = |source| ProgressError::Io {
            path: path.to_owned(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(|source| ProgressError::Corrupt {
            path: path.to_owned(),
            source,
        })?;
        let mut file = File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        fs::rename(&tmp, path).map_err(io)?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        OpenOptions::new()
            .read(true)
            .open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }

    /// Records that `shard`'s frame `sequence` of `session_id` is durable.
    pub fn advance(&mut self, shard: u32, session_id: &str, sequence: u64) {
        match self.shards.get_mut(&shard) {
            Some(p) if p.session_id == session_id => p.sequence = p.sequence.max(sequence),
            _ => {
                self.shards.insert(
                    shard,
                    ShardProgress {
                        session_id: session_id.to_owned(),
                        sequence,
                        resume_url: None,
                    },
                );
            }
        }
    }

    /// Records a new session of `shard` (its READY, sequence 1, is durable).
    pub fn start_session(&mut self, shard: u32, session_id: &str, sequence: u64, resume_url: &str) {
        self.shards.insert(
            shard,
            ShardProgress {
                session_id: session_id.to_owned(),
                sequence,
                resume_url: Some(resume_url.to_owned()),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_atomically_and_loads_back() {
        let dir = std::env::temp_dir().join(format!("guildflow-progress-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("progress.json");
        assert_eq!(Progress::load(&path).unwrap(), Progress::default());
        let mut progress = Progress::default();
        progress.start_session(0, "abc", 1, "wss://resume");
        progress.advance(0, "abc", 42);
        progress.advance(0, "abc", 7);
        progress.advance(1, "def", 5);
        progress.save(&path).unwrap();
        let loaded = Progress::load(&path).unwrap();
        assert_eq!(loaded, progress);
        assert_eq!(loaded.shards[&0].sequence, 42);
        assert_eq!(
            loaded.shards[&0].resume_url.as_deref(),
            Some("wss://resume")
        );
        fs::write(&path, b"not json").unwrap();
        assert!(matches!(
            Progress::load(&path),
            Err(ProgressError::Corrupt { .. })
        ));
        let _ = fs::remove_dir_all(&dir);
    }
}
