//! Durable file operations: atomic replacement, durable directories, and writing/reading one
//! events file.
//!
//! Why temp + fsync + rename + directory fsync: `rename` is atomic, so a reader (or a restart)
//! sees the old content or the new one, never a prefix; fsyncing the file before the rename
//! makes sure the name never points at data still in the page cache (on ext4/xfs a crash can
//! otherwise leave a renamed, zero-length file); fsyncing the directory after makes the rename
//! itself survive a power loss.

use super::layout::{day_of, day_string, TEMP_SUFFIX};
use super::manifest::FileEntry;
use super::schema::{batch_to_rows, events_schema, rows_to_batch, FRAME, SORT_KEY_COLUMNS};
use super::{io_error, parquet_error, ParquetStoreError, Result};
use crate::row::EventRow;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Fsyncs a directory, making the names created, renamed or removed in it durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    OpenOptions::new()
        .read(true)
        .open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Replaces `path` with `bytes` atomically and durably.
pub(crate) fn replace_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let mut file = File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(bytes).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_error(path))?;
    sync_dir(parent(path))
}

/// Creates `base/rel` and any missing directory on the way, fsyncing each parent whose
/// listing gained an entry, so a committed file's directory survives a power loss too.
pub(crate) fn create_dirs_durably(base: &Path, rel: &Path) -> Result<()> {
    let mut dir = base.to_path_buf();
    for part in rel.components() {
        let child = dir.join(part);
        if !child.is_dir() {
            fs::create_dir(&child)
                .or_else(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => Ok(()),
                    _ => Err(e),
                })
                .map_err(io_error(&child))?;
            sync_dir(&dir)?;
        }
        dir = child;
    }
    Ok(())
}

/// `path` + `.tmp`: the name a file is written under before it is renamed into place.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// How events files are encoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Encoding {
    /// Rows per row group.
    pub row_group_rows: usize,
    /// zstd level.
    pub zstd_level: i32,
}

/// Upper bound of a frame page (the 8192-row page limit usually comes first).
const FRAME_PAGE_BYTES: usize = 16 * 1024 * 1024;

fn writer_properties(encoding: Encoding) -> Result<WriterProperties> {
    let zstd = ZstdLevel::try_new(encoding.zstd_level).map_err(|e| ParquetStoreError::Parquet {
        path: PathBuf::new(),
        source: e,
    })?;
    let sorting = SORT_KEY_COLUMNS
        .iter()
        .map(|&i| SortingColumn {
            column_idx: i as i32,
            descending: false,
            nulls_first: true,
        })
        .collect();
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_max_row_group_row_count(Some(encoding.row_group_rows.max(1)))
        // Page statistics give the column and offset indexes: within a bucket file sorted by
        // guild, a one-guild scan reads only the pages of that guild.
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_data_page_row_count_limit(8192)
        .set_sorting_columns(Some(sorting))
        // Frames are unique strings: a dictionary never pays, and zstd finds the repetition
        // between frames (the same member, channel, guild objects) only within a page, so
        // frame pages are as large as the row limit allows.
        .set_column_dictionary_enabled(ColumnPath::from(FRAME), false)
        .set_column_data_page_size_limit(ColumnPath::from(FRAME), FRAME_PAGE_BYTES)
        .build())
}

/// Writes `rows` (already in file order, all of one partition) to `<dir>/<rel>` durably, and
/// returns its manifest entry. The file appears under its final name only once complete.
pub(crate) fn write_events_file(
    dir: &Path,
    rel: &str,
    bucket: Option<u32>,
    rows: &[EventRow],
    encoding: Encoding,
) -> Result<FileEntry> {
    let path = dir.join(rel);
    let tmp = temp_path(&path);
    let result = write_then_rename(&path, &tmp, rows, encoding);
    if result.is_err() {
        // A full disk must not keep a half-written file around until the next open.
        let _ = fs::remove_file(&tmp);
    }
    let bytes = result?;
    Ok(entry_of(rel, bucket, rows, bytes))
}

fn write_then_rename(
    path: &Path,
    tmp: &Path,
    rows: &[EventRow],
    encoding: Encoding,
) -> Result<u64> {
    let batch = rows_to_batch(rows)?;
    let file = File::create(tmp).map_err(io_error(tmp))?;
    let mut writer =
        ArrowWriter::try_new(file, events_schema(), Some(writer_properties(encoding)?))
            .map_err(parquet_error(tmp))?;
    // Row-group sized slices keep the writer's buffered columns to one row group.
    let step = encoding.row_group_rows.max(1);
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = step.min(batch.num_rows() - offset);
        writer
            .write(&batch.slice(offset, len))
            .map_err(parquet_error(tmp))?;
        offset += len;
    }
    let file = writer.into_inner().map_err(parquet_error(tmp))?;
    file.sync_all().map_err(io_error(tmp))?;
    let bytes = file.metadata().map_err(io_error(tmp))?.len();
    drop(file);
    fs::rename(tmp, path).map_err(io_error(path))?;
    // The caller fsyncs the partition directory once for all the files it wrote there.
    Ok(bytes)
}

fn entry_of(rel: &str, bucket: Option<u32>, rows: &[EventRow], bytes: u64) -> FileEntry {
    let min_ts = rows.iter().map(|r| r.ts).min().unwrap_or_default();
    FileEntry {
        path: rel.to_owned(),
        day: day_string(day_of(min_ts)),
        bucket,
        rows: rows.len() as u64,
        bytes,
        min_ts,
        max_ts: rows.iter().map(|r| r.ts).max().unwrap_or_default(),
        min_guild: rows.iter().filter_map(|r| r.guild_id).min(),
        max_guild: rows.iter().filter_map(|r| r.guild_id).max(),
        min_lsn: rows.iter().map(|r| r.lsn).min().unwrap_or_default(),
        max_lsn: rows.iter().map(|r| r.lsn).max().unwrap_or_default(),
    }
}

/// Every row of one events file, in file order. A corrupt, truncated or foreign file is an
/// error naming it.
pub(crate) fn read_events_file(path: &Path) -> Result<Vec<EventRow>> {
    let file = File::open(path).map_err(io_error(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(parquet_error(path))?
        .with_batch_size(8192)
        .build()
        .map_err(parquet_error(path))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| ParquetStoreError::Parquet {
            path: path.to_owned(),
            source: e.into(),
        })?;
        let batch_rows = batch_to_rows(&batch).map_err(|e| match e {
            ParquetStoreError::Schema(msg) => {
                ParquetStoreError::Schema(format!("{}: {msg}", path.display()))
            }
            other => other,
        })?;
        rows.extend(batch_rows);
    }
    Ok(rows)
}
