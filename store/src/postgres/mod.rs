//! The PostgreSQL/TimescaleDB sink: an optional copy of every stored event (and the tables of
//! the admin plane) for operators who query with psql or Grafana. See docs/POSTGRES.md.
//!
//! - [`migrate()`]: numbered SQL files of `migrations/`, embedded in the binary and applied in
//!   order, once, under an advisory lock. `events` becomes a TimescaleDB hypertable with a
//!   retention policy when the extension can be loaded, natively partitioned by day otherwise.
//! - [`PostgresSink`]: one connection writing [`EventRow`](crate::row::EventRow)s with binary
//!   COPY into a staging table, merged with `ON CONFLICT DO NOTHING` in the same transaction
//!   that advances the sink's stored position, so retries never duplicate and the position
//!   never runs ahead of the data.
//! - [`PostgresSinkTask`]: keeps PostgreSQL off the ingestion path. Ingestion offers rows
//!   without ever waiting ([`SinkHandle::offer`]); when the channel is full or PostgreSQL is
//!   down the task falls behind and later catches up from the write-ahead log.
//! - [`LocalCluster`]: a throwaway PostgreSQL cluster from the installed binaries, for tests
//!   and benches.

mod catchup;
mod cluster;
mod copy;
mod error;
mod migrate;
mod partitions;
mod sink;
mod status;
mod task;

pub use catchup::{CatchUpChunk, CatchUpSource, WalCatchUp};
pub use cluster::LocalCluster;
pub use copy::RowError;
pub use error::PostgresSinkError;
pub use migrate::{migrate, migrate_url, Migration, MigrationReport, Partitioning, MIGRATIONS};
pub use partitions::{drop_partitions_before, ensure_partitions, partitioning, run_retention};
pub use sink::{connect, PostgresSink, SinkConfig, SinkStats, WriteReport};
pub use status::{SinkStatus, SinkStatusCell};
pub use task::{PostgresSinkTask, SinkHandle, TaskConfig};

/// Results of this module.
pub type Result<T, E = PostgresSinkError> = std::result::Result<T, E>;

/// Milliseconds in a UTC day: partitions and chunks are cut on these boundaries.
pub(crate) const DAY_MS: i64 = 86_400_000;
