//! The write-ahead log.
//!
//! A log is a directory of segments `wal-<first lsn, 20 digits>.log`. A record is
//! `len: u32 LE | crc32(payload): u32 LE | payload`, the payload being one raw frame
//! (`shard: u32 LE | at: i64 LE | text`). Every record has a log sequence number (LSN), counted
//! from 0 across segments; a segment's name says the LSN of its first record.
//!
//! Durability: [`FsyncPolicy::Always`] fsyncs after every [`Wal::append`] batch before it
//! returns (the default: an appended batch survives a power loss); `Interval` fsyncs at most
//! that often (a crash loses at most that window); `Never` leaves it to the OS (a process
//! crash loses nothing, a machine crash may). Rolling to a new segment fsyncs the directory, so
//! the new file's name is durable too.
//!
//! Recovery ([`Wal::open`]): every segment is scanned; a record whose length runs past the end
//! of the last segment is a torn write and is truncated away; a record whose CRC does not match
//! is counted and skipped (its length still frames the next one), so valid records after it
//! are kept. A corrupted *length* cannot be told from a torn write: the scan of that segment
//! stops there (and, in the last segment, truncates), which is the limit of length framing.
//!
//! Erasure ([`Wal::erase_records`], for privacy requests) replaces a record by a tombstone — a
//! valid record whose payload is not a frame — so the LSNs of the records after it never
//! change; readers skip tombstones as they skip any record that is not a frame.

mod erase;
mod record;
mod segment;

pub use erase::WalErasure;
pub use record::{decode_frame, encode_frame};

use guildflow_model::RawFrame;
use segment::Segment;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Errors of the log.
#[derive(Debug, Error)]
pub enum WalError {
    /// The file system failed.
    #[error("write-ahead log I/O on {path}: {source}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// A frame is larger than a record may be.
    #[error("frame of {0} bytes is larger than a log record may be")]
    TooLarge(usize),
}

/// A log sequence number: the position of a record in the log.
pub type Lsn = u64;

/// When appended records are fsynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every append, before it returns.
    Always,
    /// At most once per interval (a crash of the machine loses at most that window).
    Interval(Duration),
    /// Never explicitly.
    Never,
}

/// Log settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalConfig {
    /// Durability policy.
    pub fsync: FsyncPolicy,
    /// A segment is closed and a new one started beyond this size.
    pub segment_bytes: u64,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            fsync: FsyncPolicy::Always,
            segment_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What recovery found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Valid records in the log.
    pub records: u64,
    /// Records skipped because their CRC did not match.
    pub corrupt: u64,
    /// Bytes of torn tail truncated from the last segment.
    pub truncated_bytes: u64,
}

/// An open write-ahead log.
pub struct Wal {
    dir: PathBuf,
    config: WalConfig,
    segments: Vec<Segment>,
    writer: BufWriter<File>,
    written: u64,
    next_lsn: Lsn,
    last_sync: Instant,
    recovery: Recovery,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Wal {
    /// Opens (creating if needed) the log in `dir`, recovering what is there.
    pub fn open(dir: &Path, config: WalConfig) -> Result<Wal, WalError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let mut segments = segment::list(dir).map_err(io_error(dir))?;
        let mut recovery = Recovery::default();
        let mut next_lsn = 0;
        let last = segments.len().saturating_sub(1);
        for (i, seg) in segments.iter_mut().enumerate() {
            let scan = seg.scan(i == last).map_err(io_error(&seg.path))?;
            recovery.records += scan.records;
            recovery.corrupt += scan.corrupt;
            recovery.truncated_bytes += scan.truncated_bytes;
            next_lsn = seg.first_lsn + scan.records + scan.corrupt;
        }
        if segments.is_empty() {
            segments.push(Segment::create(dir, 0).map_err(io_error(dir))?);
            sync_dir(dir)?;
        }
        let (writer, written) = match segments.last() {
            Some(seg) => seg.append_handle().map_err(io_error(&seg.path))?,
            None => unreachable_segment()?,
        };
        Ok(Wal {
            dir: dir.to_owned(),
            config,
            segments,
            writer: BufWriter::with_capacity(1 << 20, writer),
            written,
            next_lsn,
            last_sync: Instant::now(),
            recovery,
        })
    }

    /// What recovery found when the log was opened.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The LSN the next record will get.
    pub fn next_lsn(&self) -> Lsn {
        self.next_lsn
    }

    /// Appends frames; returns the LSN of the first. Durable on return under
    /// [`FsyncPolicy::Always`].
    pub fn append(&mut self, frames: &[RawFrame]) -> Result<Lsn, WalError> {
        let first = self.next_lsn;
        let mut buf = Vec::new();
        for frame in frames {
            if self.written >= self.config.segment_bytes {
                self.roll()?;
            }
            buf.clear();
            record::encode_frame(frame, &mut buf)?;
            let path = self.current_path();
            self.writer.write_all(&buf).map_err(io_error(&path))?;
            self.written += buf.len() as u64;
            self.next_lsn += 1;
        }
        let due = match self.config.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::Interval(every) => self.last_sync.elapsed() >= every,
            FsyncPolicy::Never => false,
        };
        if due {
            self.sync()?;
        } else {
            let path = self.current_path();
            self.writer.flush().map_err(io_error(&path))?;
        }
        Ok(first)
    }

    /// Flushes and fsyncs the current segment.
    pub fn sync(&mut self) -> Result<(), WalError> {
        let path = self.current_path();
        self.writer.flush().map_err(io_error(&path))?;
        self.writer.get_ref().sync_data().map_err(io_error(&path))?;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Every valid record from `from` on, in order.
    pub fn read_from(&mut self, from: Lsn) -> Result<Vec<(Lsn, RawFrame)>, WalError> {
        let path = self.current_path();
        self.writer.flush().map_err(io_error(&path))?;
        let mut out = Vec::new();
        for (i, seg) in self.segments.iter().enumerate() {
            let next_first = self.segments.get(i + 1).map(|s| s.first_lsn);
            if next_first.is_some_and(|n| n <= from) {
                continue;
            }
            seg.read(from, &mut out).map_err(io_error(&seg.path))?;
        }
        Ok(out)
    }

    /// Deletes whole segments whose records are all below `lsn` (they are in Parquet).
    pub fn truncate_before(&mut self, lsn: Lsn) -> Result<usize, WalError> {
        let mut removed = 0;
        while self.segments.len() > 1 && self.segments[1].first_lsn <= lsn {
            let seg = self.segments.remove(0);
            fs::remove_file(&seg.path).map_err(io_error(&seg.path))?;
            removed += 1;
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    fn current_path(&self) -> PathBuf {
        self.segments
            .last()
            .map_or_else(|| self.dir.clone(), |s| s.path.clone())
    }

    fn roll(&mut self) -> Result<(), WalError> {
        self.sync()?;
        let seg = Segment::create(&self.dir, self.next_lsn).map_err(io_error(&self.dir))?;
        sync_dir(&self.dir)?;
        let (file, written) = seg.append_handle().map_err(io_error(&seg.path))?;
        self.writer = BufWriter::with_capacity(1 << 20, file);
        self.written = written;
        self.segments.push(seg);
        Ok(())
    }
}

fn unreachable_segment() -> Result<(File, u64), WalError> {
    Err(WalError::Io {
        path: PathBuf::new(),
        source: io::Error::other("no segment after creating one"),
    })
}

/// Makes a directory's entries (a new or removed segment) durable.
fn sync_dir(dir: &Path) -> Result<(), WalError> {
    OpenOptions::new()
        .read(true)
        .open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}
