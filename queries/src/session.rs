//! The bare DataFusion session one query runs in: built from `SessionStateBuilder` without
//! `with_default_features` (so no table factories, file formats or URL tables), without
//! information_schema, with recursive CTEs off, a small partition count, a per-query memory
//! pool and no spill directory; only the guild's tables are registered.

use crate::error::SqlError;
use crate::limits::SqlLimits;
use crate::tables::events::GuildEvents;
use crate::tables::voice_sessions::{GuildVoice, VoiceShape};
use datafusion::catalog::view::ViewTable;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::SessionStateDefaults;
use datafusion::prelude::{SessionConfig, SessionContext};
use guildflow_store::parquet::StoreSnapshot;
use std::sync::Arc;

/// `daily_activity`: per UTC day, counted messages (distinct ids, no bots or webhooks),
/// reactions (no bots), voice seconds and active members.
pub const DAILY_ACTIVITY_SQL: &str = "\
WITH acts AS (
  SELECT CAST(ts AS DATE) AS day, user_id, message_id, kind FROM events
  WHERE NOT bot AND user_id IS NOT NULL AND kind IN ('message_create', 'reaction_add')
), counts AS (
  SELECT day,
         COUNT(DISTINCT CASE WHEN kind = 'message_create' THEN message_id END) AS messages,
         SUM(CASE WHEN kind = 'reaction_add' THEN 1 ELSE 0 END) AS reactions
  FROM acts GROUP BY day
), voice AS (
  SELECT day, SUM(seconds) AS voice_seconds FROM voice_days GROUP BY day
), active AS (
  SELECT day, COUNT(DISTINCT user_id) AS active_members FROM (
    SELECT day, user_id FROM acts
    UNION ALL SELECT day, user_id FROM voice_days WHERE seconds > 0
  ) GROUP BY day
)
SELECT a.day,
       COALESCE(c.messages, 0) AS messages,
       COALESCE(c.reactions, 0) AS reactions,
       COALESCE(v.voice_seconds, 0) AS voice_seconds,
       a.active_members
FROM active a LEFT JOIN counts c ON c.day = a.day LEFT JOIN voice v ON v.day = a.day";

/// The session configuration every guild query gets.
fn config(limits: &SqlLimits) -> Result<SessionConfig, SqlError> {
    let mut config = SessionConfig::new()
        .with_information_schema(false)
        .with_target_partitions(limits.target_partitions.max(1))
        .with_create_default_catalog_and_schema(true);
    let options = config.options_mut();
    options.execution.enable_recursive_ctes = false;
    options.execution.parquet.pushdown_filters = true;
    options.execution.parquet.reorder_filters = true;
    options
        .set(
            "datafusion.sql_parser.recursion_limit",
            &limits.parser_recursion_limit.max(1).to_string(),
        )
        .map_err(SqlError::from_datafusion)?;
    Ok(config)
}

/// A session holding only `guild`'s tables over `snapshot`.
pub fn guild_context(
    guild: u64,
    snapshot: Arc<StoreSnapshot>,
    limits: &SqlLimits,
) -> Result<SessionContext, SqlError> {
    // No disk manager: operators that would spill fail with resources exhausted instead of
    // writing temp files, so the memory limit is a hard one and nothing touches the disk.
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(GreedyMemoryPool::new(limits.memory_bytes)))
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
        )
        .build_arc()?;
    // Functions: the default scalar (string, math, date, regex: compute only), aggregate and
    // window ones; table functions only generate_series/range. No file formats, no table
    // factories, no function factory (CREATE FUNCTION), no URL tables.
    let table_functions = SessionStateDefaults::default_table_functions()
        .into_iter()
        .filter(|f| crate::guard::TABLE_FUNCTIONS.contains(&f.name()))
        .map(|f| (f.name().to_string(), f))
        .collect();
    let state = SessionStateBuilder::new()
        .with_config(config(limits)?)
        .with_runtime_env(runtime)
        .with_scalar_functions(SessionStateDefaults::default_scalar_functions())
        .with_aggregate_functions(SessionStateDefaults::default_aggregate_functions())
        .with_window_functions(SessionStateDefaults::default_window_functions())
        .with_expr_planners(SessionStateDefaults::default_expr_planners())
        .with_table_functions(table_functions)
        .build();
    let ctx = SessionContext::new_with_state(state);
    ctx.register_table(
        "events",
        Arc::new(GuildEvents::new(guild, Arc::clone(&snapshot))?),
    )?;
    let voice = |shape| {
        Arc::new(GuildVoice::new(
            guild,
            Arc::clone(&snapshot),
            shape,
            limits.max_voice_events,
        ))
    };
    ctx.register_table("voice_sessions", voice(VoiceShape::Sessions))?;
    ctx.register_table("voice_days", voice(VoiceShape::Days))?;
    Ok(ctx)
}

/// Registers the views (planned from trusted SQL over the guarded tables). Async because
/// planning resolves tables; done per query, it costs a few hundred microseconds.
pub async fn register_views(ctx: &SessionContext) -> Result<(), SqlError> {
    let plan = ctx.state().create_logical_plan(DAILY_ACTIVITY_SQL).await?;
    ctx.register_table(
        "daily_activity",
        Arc::new(ViewTable::new(plan, Some(DAILY_ACTIVITY_SQL.to_string()))),
    )?;
    Ok(())
}
