//! Errors of the PostgreSQL sink.

use thiserror::Error;

/// What can go wrong talking to PostgreSQL, migrating, catching up or running a local cluster.
#[derive(Debug, Error)]
pub enum PostgresSinkError {
    /// The connection or a statement failed.
    #[error("PostgreSQL: {}", describe(.0))]
    Db(#[from] tokio_postgres::Error),
    /// A migration's SQL failed; nothing of it was applied (each runs in its own transaction).
    #[error("migration {version:04} ({name}) failed: {}", describe(.source))]
    Migration {
        /// Migration number.
        version: i32,
        /// Migration name.
        name: &'static str,
        /// Cause.
        #[source]
        source: tokio_postgres::Error,
    },
    /// An applied migration's file changed since: the schema may not be what this binary
    /// expects, so we stop instead of guessing.
    #[error(
        "migration {version:04} ({name}) was applied with checksum {applied:08x} but the \
         embedded file has {embedded:08x}: migrations must never be edited once released"
    )]
    MigrationChanged {
        /// Migration number.
        version: i32,
        /// Migration name.
        name: &'static str,
        /// Checksum recorded in `schema_migrations`.
        applied: u32,
        /// Checksum of the embedded file.
        embedded: u32,
    },
    /// Reading the write-ahead log to catch up failed.
    #[error("catching up from the write-ahead log: {0}")]
    CatchUp(String),
    /// The PostgreSQL binaries of [`LocalCluster`](super::LocalCluster) are not installed.
    #[error("PostgreSQL server binaries not found ({0}); install postgresql (Debian: apt-get install postgresql) or set GUILDFLOW_PG_BIN to the directory holding initdb and pg_ctl")]
    BinariesMissing(String),
    /// Starting, stopping or preparing a [`LocalCluster`](super::LocalCluster) failed.
    #[error("local PostgreSQL cluster: {0}")]
    Cluster(String),
}

/// The server's message and SQLSTATE: tokio-postgres' own Display says only "db error".
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({}): {}", db.severity(), db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => error.to_string(),
    }
}
