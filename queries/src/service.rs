//! [`GuildSql`]: the ad hoc SQL service. Each request is parsed and vetted (`guard`), then
//! planned and executed in a fresh guild-only session (`session`) on a dedicated tokio runtime,
//! so however heavy a query is it only competes for that runtime's threads, never the shards'
//! heartbeats or the API's. A deadline covers planning and execution; when it passes, the task
//! is dropped, which drops the DataFusion stream and cancels its operators.

use crate::error::SqlError;
use crate::guard;
use crate::limits::SqlLimits;
use crate::output::QueryOutput;
use crate::session;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::sql::parser::Statement;
use futures_util::StreamExt;
use guildflow_store::parquet::{StoreReader, StoreSnapshot};
use std::future::Future;
use std::sync::Arc;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Where queries get a consistent view of the store.
pub trait SnapshotSource: Send + Sync + 'static {
    /// The committed files plus the rows not yet in them.
    fn snapshot(&self) -> StoreSnapshot;
}

impl SnapshotSource for StoreReader {
    fn snapshot(&self) -> StoreSnapshot {
        StoreReader::snapshot(self)
    }
}

impl SnapshotSource for StoreSnapshot {
    fn snapshot(&self) -> StoreSnapshot {
        self.clone()
    }
}

/// The guild-scoped SQL service. Cheap to share behind an `Arc`; dropping it shuts its
/// runtime down in the background.
pub struct GuildSql {
    inner: Arc<Inner>,
    runtime: Option<Runtime>,
    handle: Handle,
}

pub(crate) struct Inner {
    pub(crate) source: Arc<dyn SnapshotSource>,
    pub(crate) limits: SqlLimits,
    slots: Semaphore,
}

impl std::fmt::Debug for GuildSql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuildSql")
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

/// Aborts the task when the caller stops waiting (client gone), so an abandoned query does
/// not keep running.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl GuildSql {
    /// A service over `source` with its own `limits.worker_threads`-thread runtime.
    pub fn new(source: impl SnapshotSource, limits: SqlLimits) -> Result<GuildSql, SqlError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(limits.worker_threads.max(1))
            // Parquet reads go through spawn_blocking; keep that pool small too.
            .max_blocking_threads(limits.worker_threads.max(1) * 2)
            .thread_name("guildflow-sql")
            .thread_stack_size(limits.thread_stack_bytes.max(2 * 1024 * 1024))
            .enable_all()
            .build()
            .map_err(|e| SqlError::Internal(format!("query runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let slots = Semaphore::new(limits.max_concurrent.max(1));
        Ok(GuildSql {
            inner: Arc::new(Inner {
                source: Arc::new(source),
                limits,
                slots,
            }),
            runtime: Some(runtime),
            handle,
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &SqlLimits {
        &self.inner.limits
    }

    /// Runs one read-only query over `guild`'s tables.
    pub async fn run(&self, guild: u64, sql: &str) -> Result<QueryOutput, SqlError> {
        let statement = guard::parse(sql, &self.inner.limits)?;
        let inner = Arc::clone(&self.inner);
        self.spawn(async move { inner.run_statement(guild, statement).await })
            .await
    }

    /// Runs `work` on the query runtime under the deadline and a concurrency slot.
    pub(crate) async fn spawn<T, F>(&self, work: F) -> Result<T, SqlError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, SqlError>> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let timeout = inner.limits.timeout;
        let task = AbortOnDrop(self.handle.spawn(async move {
            let bounded = async {
                let _slot = inner
                    .slots
                    .acquire()
                    .await
                    .map_err(|_| SqlError::Internal("query service closed".into()))?;
                work.await
            };
            match tokio::time::timeout(timeout, bounded).await {
                Ok(result) => result,
                Err(_) => Err(SqlError::Timeout(timeout.as_millis())),
            }
        }));
        let mut task = task;
        match (&mut task.0).await {
            Ok(result) => result,
            Err(e) => Err(SqlError::Internal(format!("query task failed: {e}"))),
        }
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }
}

impl Drop for GuildSql {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside async code; let it wind down.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Inner {
    async fn run_statement(
        &self,
        guild: u64,
        statement: Statement,
    ) -> Result<QueryOutput, SqlError> {
        let snapshot = Arc::new(self.source.snapshot());
        let ctx = session::guild_context(guild, snapshot, &self.limits)?;
        session::register_views(&ctx).await?;
        let state = ctx.state();
        guard::check_tables(&state, &statement)?;
        let plan = state.statement_to_plan(statement).await?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| SqlError::NotReadOnly(e.message().to_string()))?;
        if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
            return Err(SqlError::ExplainNotAllowed);
        }
        self.execute(&ctx, &plan).await
    }

    /// Executes a vetted plan, reading at most the row and byte caps.
    pub(crate) async fn execute(
        &self,
        ctx: &datafusion::prelude::SessionContext,
        plan: &LogicalPlan,
    ) -> Result<QueryOutput, SqlError> {
        let state = ctx.state();
        let physical = state.create_physical_plan(plan).await?;
        let schema = physical.schema();
        let mut stream = execute_stream(physical, state.task_ctx())?;
        let limits = &self.limits;
        let (mut rows, mut bytes, mut truncated) = (0usize, 0usize, false);
        let mut batches = Vec::new();
        while let Some(batch) = stream.next().await {
            let mut batch = batch?;
            if rows + batch.num_rows() > limits.max_rows {
                batch = batch.slice(0, limits.max_rows - rows);
                truncated = true;
            }
            let size = slice_bytes(&batch);
            if bytes + size > limits.max_result_bytes {
                // Keep the share of rows that fits, assuming rows of even size.
                let fit = (limits.max_result_bytes - bytes) * batch.num_rows() / size.max(1);
                batch = batch.slice(0, fit.min(batch.num_rows()));
                truncated = true;
            }
            rows += batch.num_rows();
            bytes += slice_bytes(&batch);
            if batch.num_rows() > 0 {
                batches.push(batch);
            }
            if truncated {
                break;
            }
        }
        // Dropping the stream here stops the producers of the rows we will not read.
        drop(stream);
        if truncated && limits.error_on_truncation {
            return Err(if rows >= limits.max_rows {
                SqlError::RowsLimit(limits.max_rows)
            } else {
                SqlError::ResultTooLarge(limits.max_result_bytes)
            });
        }
        Ok(QueryOutput {
            schema,
            batches,
            truncated,
        })
    }
}

/// Bytes of the rows a (possibly sliced) batch covers, not of the buffers it shares.
fn slice_bytes(batch: &datafusion::arrow::record_batch::RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}
