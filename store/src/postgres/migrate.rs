//! Schema migrations: the numbered files of `migrations/`, embedded in the binary and applied
//! in order, each once, each in its own transaction, under an advisory lock.

use super::error::PostgresSinkError;
use super::partitions;
use super::Result;
use tokio_postgres::{Client, NoTls};

/// One embedded migration file.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// The `NNNN` of `NNNN_name.sql`; applied in increasing order.
    pub version: i32,
    /// The `name` of `NNNN_name.sql`.
    pub name: &'static str,
    /// The file's SQL.
    pub sql: &'static str,
}

impl Migration {
    /// CRC-32 of the SQL, recorded when applied so an edited file is noticed.
    pub fn checksum(&self) -> u32 {
        crc32fast::hash(self.sql.as_bytes())
    }
}

/// Every migration, in order. A new file in `migrations/` must be added here.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "events",
        sql: include_str!("../../../migrations/0001_events.sql"),
    },
    Migration {
        version: 2,
        name: "stats",
        sql: include_str!("../../../migrations/0002_stats.sql"),
    },
    Migration {
        version: 3,
        name: "admin",
        sql: include_str!("../../../migrations/0003_admin.sql"),
    },
    Migration {
        version: 4,
        name: "admin_plane_v2",
        sql: include_str!("../../../migrations/0004_admin_plane_v2.sql"),
    },
];

/// How `events` is partitioned in a migrated database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partitioning {
    /// A TimescaleDB hypertable: one-day chunks, retention by a TimescaleDB policy.
    Timescale,
    /// Native `PARTITION BY RANGE (ts)`: daily partitions created and dropped by the sink.
    Native,
}

/// What [`migrate`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call.
    pub applied: Vec<i32>,
    /// Versions that were already applied.
    pub already_applied: Vec<i32>,
    /// Versions recorded in the database that this binary does not know (a newer binary
    /// migrated it); they are left alone.
    pub unknown: Vec<i32>,
    /// How `events` ended up partitioned.
    pub partitioning: Partitioning,
}

/// Arbitrary but fixed: every guildflow process migrating the same database takes this lock.
const MIGRATION_LOCK: i64 = 0x6775_696c_6466_6c6f;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    bigint      NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)";

/// Applies the migrations the database lacks. Safe to call from several processes at once
/// (they serialize on an advisory lock) and as often as wanted (a second call applies
/// nothing). Fails, applying nothing further, when an applied migration's file has changed.
pub async fn migrate(client: &Client) -> Result<MigrationReport> {
    let mut applied = Vec::new();
    let mut already_applied = Vec::new();
    in_transaction(client, async {
        lock(client).await?;
        client.batch_execute(CREATE_TABLE).await?;
        Ok(())
    })
    .await?;
    for migration in MIGRATIONS {
        let done = in_transaction(client, apply(client, migration)).await?;
        if done {
            applied.push(migration.version);
        } else {
            already_applied.push(migration.version);
        }
    }
    let known: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
    let unknown = client
        .query(
            "SELECT version FROM schema_migrations WHERE NOT (version = ANY($1)) ORDER BY version",
            &[&known],
        )
        .await?
        .iter()
        .map(|row| row.get::<_, i32>(0))
        .collect::<Vec<_>>();
    if !unknown.is_empty() {
        tracing::warn!(
            ?unknown,
            "the database has migrations this binary does not know; a newer guildflow migrated it"
        );
    }
    let partitioning = partitions::partitioning(client)
        .await?
        .unwrap_or(Partitioning::Native);
    Ok(MigrationReport {
        applied,
        already_applied,
        unknown,
        partitioning,
    })
}

/// Connects to `url` (a `postgres://` URL or `key=value` string, without TLS) and runs
/// [`migrate`]: what `guildflow migrate --postgres URL` calls. Needs a tokio runtime.
pub async fn migrate_url(url: &str) -> Result<MigrationReport> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "migration connection ended");
        }
    });
    let report = migrate(&client).await;
    drop(client);
    let _ = driver.await;
    report
}

/// Applies one migration unless recorded; true when it applied it.
async fn apply(client: &Client, migration: &Migration) -> Result<bool> {
    lock(client).await?;
    let recorded = client
        .query_opt(
            "SELECT checksum FROM schema_migrations WHERE version = $1",
            &[&migration.version],
        )
        .await?;
    let embedded = migration.checksum();
    if let Some(row) = recorded {
        let applied = row.get::<_, i64>(0);
        if applied != i64::from(embedded) {
            return Err(PostgresSinkError::MigrationChanged {
                version: migration.version,
                name: migration.name,
                applied: u32::try_from(applied).unwrap_or(u32::MAX),
                embedded,
            });
        }
        return Ok(false);
    }
    client
        .batch_execute(migration.sql)
        .await
        .map_err(|source| PostgresSinkError::Migration {
            version: migration.version,
            name: migration.name,
            source,
        })?;
    client
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.name, &i64::from(embedded)],
        )
        .await?;
    tracing::info!(
        version = migration.version,
        name = migration.name,
        "migration applied"
    );
    Ok(true)
}

/// Transaction-scoped, so it is released by COMMIT or ROLLBACK whatever happens.
async fn lock(client: &Client) -> Result<()> {
    client
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    Ok(())
}

/// Runs `body` between BEGIN and COMMIT, rolling back on error. Takes `&Client` rather than
/// `Client::transaction`'s `&mut` so callers can migrate through a shared client.
async fn in_transaction<T>(
    client: &Client,
    body: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    client.batch_execute("BEGIN").await?;
    match body.await {
        Ok(value) => {
            client.batch_execute("COMMIT").await?;
            Ok(value)
        }
        Err(error) => {
            // The original error matters; a failed ROLLBACK means the connection is gone,
            // which ends the transaction anyway.
            let _ = client.batch_execute("ROLLBACK").await;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_match_their_files() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "migration {} out of order", m.name);
            assert!(!m.sql.trim().is_empty());
        }
        let dir = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(
            files, embedded,
            "every file of migrations/ must be in MIGRATIONS"
        );
    }
}
