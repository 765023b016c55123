//! `events`: one guild's stored events, from the committed Parquet files of its bucket plus the
//! not-yet-committed tail. The guild restriction is applied inside the scan, below anything the
//! user's SQL can express, so no WHERE, UNION, JOIN or subquery can see another guild's rows.

use super::ts_range::{ts_range, TsRange};
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{col, lit};
use guildflow_store::parquet::schema::{
    BOT, CHANNEL_ID, FRAME, GUILD_ID, KIND, LSN, MESSAGE_ID, TS, USER_ID,
};
use guildflow_store::parquet::{events_schema, rows_to_batch, StoreSnapshot};
use std::sync::Arc;

/// Columns of `events` as users see them. `shard`, `seq` and `session` are gateway plumbing
/// (a session id is half of what resuming a bot's gateway session takes) and `lsn` is a
/// storage detail, so they are not exposed.
pub const EVENTS_COLUMNS: [&str; 8] = [
    TS, GUILD_ID, CHANNEL_ID, USER_ID, KIND, MESSAGE_ID, BOT, FRAME,
];

/// The guild-restricted `events` table.
#[derive(Debug)]
pub struct GuildEvents {
    guild: u64,
    snapshot: Arc<StoreSnapshot>,
    schema: SchemaRef,
    /// Position in [`events_schema`] of each exposed column.
    file_index: Vec<usize>,
}

impl GuildEvents {
    /// The table users query.
    pub fn new(guild: u64, snapshot: Arc<StoreSnapshot>) -> Result<GuildEvents> {
        GuildEvents::with_columns(guild, snapshot, &EVENTS_COLUMNS)
    }

    /// The same rows with `lsn` added, for derivations that need the store's order; never
    /// registered where users can name it.
    pub(crate) fn internal(guild: u64, snapshot: Arc<StoreSnapshot>) -> Result<GuildEvents> {
        let mut columns = EVENTS_COLUMNS.to_vec();
        columns.push(LSN);
        GuildEvents::with_columns(guild, snapshot, &columns)
    }

    fn with_columns(
        guild: u64,
        snapshot: Arc<StoreSnapshot>,
        columns: &[&str],
    ) -> Result<GuildEvents> {
        let file = events_schema();
        let file_index = columns
            .iter()
            .map(|name| file.index_of(name))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let schema = Arc::new(file.project(&file_index)?);
        Ok(GuildEvents {
            guild,
            snapshot,
            schema,
            file_index,
        })
    }

    /// The guild this table is restricted to.
    pub fn guild(&self) -> u64 {
        self.guild
    }

    /// `guild_id = G` over `schema` (the one predicate every row must pass).
    fn guild_predicate(
        &self,
        state: &dyn Session,
        schema: &SchemaRef,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let df_schema = DFSchema::try_from(Arc::clone(schema))?;
        state.create_physical_expr(col(GUILD_ID).eq(lit(self.guild)), &df_schema)
    }

    /// The predicate handed to the Parquet reader for row-group/page pruning: the guild and
    /// the time range (row-level filtering is still done by the FilterExec above it).
    fn file_predicate(&self, state: &dyn Session, range: TsRange) -> Result<Arc<dyn PhysicalExpr>> {
        let file = events_schema();
        let mut expr = col(GUILD_ID).eq(lit(self.guild));
        let ts = |v: i64| {
            lit(ScalarValue::TimestampMillisecond(
                Some(v),
                Some("UTC".into()),
            ))
        };
        if let Some(from) = range.from {
            expr = expr.and(col(TS).gt_eq(ts(from)));
        }
        if let Some(to) = range.to {
            expr = expr.and(col(TS).lt(ts(to)));
        }
        let df_schema = DFSchema::try_from(file)?;
        state.create_physical_expr(expr, &df_schema)
    }
}

#[async_trait]
impl TableProvider for GuildEvents {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Inexact: the scan uses them to choose files and row groups, and DataFusion still
        // applies every one of them on the rows we return.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let file_schema = events_schema();
        let wanted: Vec<usize> = match projection {
            Some(p) => p.iter().map(|&i| self.file_index[i]).collect(),
            None => self.file_index.clone(),
        };
        let guild_col = file_schema.index_of(GUILD_ID)?;
        // Read the guild column even when not projected: the guard filter needs it.
        let mut read = wanted.clone();
        if !read.contains(&guild_col) {
            read.push(guild_col);
        }
        let read_schema: SchemaRef = Arc::new(file_schema.project(&read)?);
        let range = ts_range(filters, TS);

        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let files = self
            .snapshot
            .manifest
            .files_for(Some(self.guild), range.from, range.to);
        if !files.is_empty() {
            let source = ParquetSource::new(Arc::clone(&file_schema))
                .with_predicate(self.file_predicate(state, range)?)
                .with_pushdown_filters(true);
            let groups_wanted = state.config().target_partitions().clamp(1, files.len());
            let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); groups_wanted];
            for (i, entry) in files.iter().enumerate() {
                let path = entry.path_in(&self.snapshot.dir);
                groups[i % groups_wanted].push(PartitionedFile::new(
                    path.to_string_lossy().into_owned(),
                    entry.bytes,
                ));
            }
            let config =
                FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
                    .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
                    .with_projection_indices(Some(read.clone()))?
                    .build();
            inputs.push(DataSourceExec::from_data_source(config));
        }

        let tail: Vec<_> = self
            .snapshot
            .tail
            .iter()
            .filter(|r| r.guild_id == Some(self.guild) && range.contains(r.ts))
            .cloned()
            .collect();
        if !tail.is_empty() {
            let batch = rows_to_batch(&tail)
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?
                .project(&read)?;
            inputs.push(MemorySourceConfig::try_new_exec(
                &[vec![batch]],
                Arc::clone(&read_schema),
                None,
            )?);
        }

        let scanned: Arc<dyn ExecutionPlan> = match inputs.len() {
            0 => Arc::new(EmptyExec::new(Arc::clone(&read_schema))),
            _ => UnionExec::try_new(inputs)?,
        };
        // The guard: whatever the files hold (a bucket mixes guilds), only guild G leaves.
        let predicate = self.guild_predicate(state, &read_schema)?;
        let guarded: Arc<dyn ExecutionPlan> = Arc::new(FilterExec::try_new(predicate, scanned)?);
        let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = (0..wanted.len())
            .map(|i| {
                let name = read_schema.field(i).name().clone();
                (
                    Arc::new(Column::new(&name, i)) as Arc<dyn PhysicalExpr>,
                    name,
                )
            })
            .collect();
        Ok(Arc::new(ProjectionExec::try_new(exprs, guarded)?))
    }
}
