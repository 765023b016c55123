//! Durability of the admin plane: every change is a [`Change`] written before it is applied.
//! [`FileJournal`] is the embedded default (an fsync'ed JSON-lines file in the data
//! directory); `PostgresJournal` (postgres.rs) writes the same changes into the admin tables.

use crate::error::AdminError;
use crate::records::{AuditEntry, ModerationEntry, Warning};
use crate::settings::GuildConfig;
use guildflow_dataflow::automod::AutomodConfig;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One durable change of the admin plane. Loading replays them in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A guild's settings (whole).
    Settings {
        /// Guild.
        guild: u64,
        /// Settings.
        config: GuildConfig,
        /// When, Unix ms.
        at: i64,
        /// Who.
        by: Option<u64>,
    },
    /// A guild's automod rules and escalation (whole).
    Automod {
        /// Guild.
        guild: u64,
        /// Rules and escalation.
        config: AutomodConfig,
    },
    /// A new warning.
    Warning(Warning),
    /// A warning withdrawn.
    WarningRevoked {
        /// Guild.
        guild: u64,
        /// Warning id.
        id: u64,
        /// When, Unix ms.
        at: i64,
        /// Who.
        by: Option<u64>,
    },
    /// A moderation log entry, new or updated (same id: the later one wins).
    Moderation(ModerationEntry),
    /// An audit log entry.
    Audit(AuditEntry),
    /// A member's stored data was erased: their warnings and moderation entries go too
    /// (the audit log keeps the record of what admins did).
    MemberErased {
        /// Guild.
        guild: u64,
        /// Member.
        user: u64,
    },
    /// A member opted out of statistics (or back in).
    OptOut {
        /// Guild.
        guild: u64,
        /// Member.
        user: u64,
        /// Opted out (true) or back in.
        opted_out: bool,
    },
}

/// Where changes are made durable.
pub trait Journal: Send + Sync {
    /// Makes `change` durable before returning.
    fn append(&self, change: &Change) -> Result<(), AdminError>;
    /// Every change made durable so far, in order.
    fn load(&self) -> Result<Vec<Change>, AdminError>;
}

/// The embedded journal: `admin.jsonl`, one JSON change per line, `fdatasync` after each.
/// A torn last line (a crash mid-write) is dropped at load with a warning; damage anywhere
/// else is an error, as silently losing settings is worse than refusing to start.
#[derive(Debug)]
pub struct FileJournal {
    path: PathBuf,
    file: Mutex<File>,
}

impl FileJournal {
    /// Opens (creating) `dir/admin.jsonl`.
    pub fn open(dir: &Path) -> Result<FileJournal, AdminError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("admin.jsonl");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(FileJournal {
            path,
            file: Mutex::new(file),
        })
    }
}

impl Journal for FileJournal {
    fn append(&self, change: &Change) -> Result<(), AdminError> {
        let mut line =
            serde_json::to_vec(change).map_err(|e| AdminError::Storage(e.to_string()))?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A failed write must leave no partial line for the next append to glue onto.
        let before = file.metadata()?.len();
        let written = file.write_all(&line).and_then(|()| file.sync_data());
        if let Err(e) = written {
            let _ = file.set_len(before).and_then(|()| file.sync_data());
            return Err(e.into());
        }
        Ok(())
    }

    fn load(&self) -> Result<Vec<Change>, AdminError> {
        let reader = BufReader::new(File::open(&self.path)?);
        let mut changes = Vec::new();
        let mut lines = reader.split(b'\n').peekable();
        let mut number = 0usize;
        let mut good_bytes = 0u64;
        while let Some(line) = lines.next() {
            let line = line?;
            number += 1;
            match serde_json::from_slice::<Change>(&line) {
                Ok(change) => {
                    changes.push(change);
                    good_bytes += line.len() as u64 + 1;
                }
                Err(e) if lines.peek().is_none() => {
                    tracing::warn!(
                        path = %self.path.display(),
                        line = number,
                        error = %e,
                        "admin journal: dropping a torn last line"
                    );
                    let file = OpenOptions::new().write(true).open(&self.path)?;
                    file.set_len(good_bytes)?;
                    file.sync_all()?;
                }
                Err(e) => {
                    return Err(AdminError::Storage(format!(
                        "{} line {number}: {e}",
                        self.path.display()
                    )))
                }
            }
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gf-admin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn torn_tail_is_dropped_and_later_appends_survive() {
        let dir = temp_dir("torn");
        let journal = FileJournal::open(&dir).expect("open");
        let change = Change::OptOut {
            guild: 1,
            user: 2,
            opted_out: true,
        };
        journal.append(&change).expect("append");
        drop(journal);
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.join("admin.jsonl"))
            .expect("reopen");
        file.write_all(b"{\"change\":\"opt_o").expect("tear");
        drop(file);
        let journal = FileJournal::open(&dir).expect("open");
        assert_eq!(journal.load().expect("load"), vec![change.clone()]);
        journal.append(&change).expect("append");
        assert_eq!(journal.load().expect("load").len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
