//! Durable storage of every raw event.
//!
//! - [`wal`]: the write-ahead log, where every raw frame is made durable first: CRC-framed
//!   records in size-bounded segment files, an fsync policy, and recovery that truncates a
//!   torn tail and skips corrupt records while keeping the valid ones after them.
//!
//! - [`progress`]: per shard, the gateway session and last durably stored sequence, written
//!   only after the log made those frames durable; a restart resumes from it.
//!
//! Parquet files, the PostgreSQL/TimescaleDB sink and rebuilding the dataflow from the store
//! are the rest of issue 4 and build on these.
//!
//! - [`erase`]: a member's events out of the log, the Parquet files and PostgreSQL (privacy
//!   requests); [`lock`]: the data directory's exclusive lock.
//!
//! - [`snapshot`]: snapshots of the views (the caller's payload and the frame ledger), so a
//!   restart replays only the rows stored after the latest one.

pub mod durable;
pub mod erase;
pub mod ledger;
pub mod lock;
pub mod parquet;
pub mod postgres;
pub mod progress;
pub mod row;
pub mod snapshot;
pub mod wal;

pub use row::EventRow;
