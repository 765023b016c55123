//! Parquet files of every stored event.
//!
//! The event log's rows end up here, in `<data>/events`: zstd Parquet files partitioned by UTC
//! day and guild bucket (`day=YYYY-MM-DD/bucket=NN/part-<first lsn>-<last lsn>.parquet`),
//! sorted by (guild, time, lsn) so a one-guild, one-day scan opens one or two files and skips
//! most pages. `manifest.json` is the commit point: a file exists for readers only once the
//! manifest that lists it has atomically replaced the previous one, so a crash at any moment
//! leaves either the old or the new set of files, never half of one. docs/STORAGE.md has the
//! layout, the schema and the protocol.
//!
//! - [`schema`]: the Arrow schema and row/batch conversion (tolerant of older files).
//! - [`Manifest`]: the committed file list, its pruning ([`Manifest::files_for`]).
//! - [`ParquetStore`]: the single writer: write, compact, apply retention, rewrite files
//!   without some rows (erasing a member, [`ParquetStore::rewrite_files`]).
//! - [`StoreReader`]: the query side's consistent view (committed files plus not yet
//!   committed rows).
//! - [`StoredRows`]: every stored row back in LSN order, to rebuild the views at start.

mod compaction;
mod files;
mod layout;
mod manifest;
mod reader;
mod replay;
mod rewrite;
pub mod schema;
mod writer;

pub use compaction::{CompactionReport, RetentionReport};
pub use layout::{day_of, day_string, MS_PER_DAY};
pub use manifest::{FileEntry, Manifest, MANIFEST_FILE};
pub use reader::{StoreReader, StoreSnapshot};
pub use replay::StoredRows;
pub use rewrite::RewriteReport;
pub use schema::{batch_to_rows, events_schema, rows_to_batch};
pub use writer::{CommitInfo, OpenReport, ParquetConfig, ParquetStore};

use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors of the Parquet store. Every one names the file it concerns when there is one, so a
/// corrupt or foreign file is reported, never panicked on.
#[derive(Debug, Error)]
pub enum ParquetStoreError {
    /// The file system failed.
    #[error("parquet store I/O on {path}: {source}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// A Parquet file could not be written or read (corrupt, truncated, foreign).
    #[error("parquet file {path}: {source}")]
    Parquet {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Building or converting Arrow data failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// `manifest.json` is not a manifest.
    #[error("manifest {path} is unreadable: {source}")]
    Manifest {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest was written by a newer, incompatible format.
    #[error("manifest {path} has format version {found}, this build reads up to {supported}")]
    ManifestVersion {
        /// File.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Highest version this build understands.
        supported: u32,
    },
    /// A batch does not hold what an events file must hold.
    #[error("events data: {0}")]
    Schema(String),
    /// A row's lsn is past the `through_lsn` of the write that carries it: committing would
    /// claim rows durable that the caller has not handed over.
    #[error("row lsn {lsn} is past the write's through_lsn {through_lsn}")]
    LsnPastCommit {
        /// The row's lsn.
        lsn: u64,
        /// The write's `through_lsn`.
        through_lsn: u64,
    },
    /// A configuration value is unusable.
    #[error("parquet store configuration: {0}")]
    Config(&'static str),
}

/// The result type of this module.
pub type Result<T, E = ParquetStoreError> = std::result::Result<T, E>;

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ParquetStoreError + '_ {
    move |source| ParquetStoreError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn parquet_error(
    path: &Path,
) -> impl FnOnce(parquet::errors::ParquetError) -> ParquetStoreError + '_ {
    move |source| ParquetStoreError::Parquet {
        path: path.to_owned(),
        source,
    }
}
