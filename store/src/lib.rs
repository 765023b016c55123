//! Durable storage of every raw event.
//!
//! - [`wal`]: the write-ahead log, where every raw frame is made durable first: CRC-framed
//!   records in size-bounded segment files, an fsync policy, and recovery that truncates a
//!   torn tail and skips corrupt records while keeping the valid ones after them.
//!
//! Parquet files, the PostgreSQL/TimescaleDB sink, durable shard progress and rebuilding the
//! dataflow from the store are the rest of issue 4 and build on this log.

pub mod wal;
