//! `voice_sessions` and `voice_days`: one guild's counted voice sessions, rebuilt at scan time
//! from its voice-relevant events (see [`crate::voice`]) read through the guild-restricted
//! events scan, so they can hold nothing of another guild either.

use super::events::GuildEvents;
use crate::voice::{Session, VoiceEvent, VoiceRebuild, FRAME_KINDS, VOICE_KINDS};
use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Date32Array, Int64Array, RecordBatch, TimestampMillisecondArray,
    UInt64Array,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Schema, SchemaRef, TimeUnit, TimestampMillisecondType, UInt64Type,
};
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::logical_expr::{in_list, when, Expr, LogicalPlanBuilder, TableType};
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::{col, lit};
use guildflow_store::parquet::StoreSnapshot;
use guildflow_store::parquet::MS_PER_DAY;
use std::sync::Arc;

/// Which shape the table has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoiceShape {
    /// One row per session.
    Sessions,
    /// One row per (user, UTC day) with the seconds of that day.
    Days,
}

/// The guild-restricted voice table.
#[derive(Debug)]
pub struct GuildVoice {
    guild: u64,
    snapshot: Arc<StoreSnapshot>,
    shape: VoiceShape,
    max_events: usize,
    schema: SchemaRef,
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

impl GuildVoice {
    /// The table of `guild` over `snapshot`; loading more than `max_events` voice-relevant
    /// events fails with resources exhausted.
    pub fn new(
        guild: u64,
        snapshot: Arc<StoreSnapshot>,
        shape: VoiceShape,
        max_events: usize,
    ) -> GuildVoice {
        let fields = match shape {
            VoiceShape::Sessions => vec![
                Field::new("guild_id", DataType::UInt64, false),
                Field::new("user_id", DataType::UInt64, false),
                Field::new("channel_id", DataType::UInt64, false),
                Field::new("started_at", ts_type(), false),
                Field::new("ended_at", ts_type(), true),
                Field::new("seconds", DataType::Int64, false),
                Field::new("open", DataType::Boolean, false),
            ],
            VoiceShape::Days => vec![
                Field::new("guild_id", DataType::UInt64, false),
                Field::new("user_id", DataType::UInt64, false),
                Field::new("day", DataType::Date32, false),
                Field::new("seconds", DataType::Int64, false),
            ],
        };
        GuildVoice {
            guild,
            snapshot,
            shape,
            max_events,
            schema: Arc::new(Schema::new(fields)),
        }
    }
}

/// The pipeline clock of the snapshot: the largest event time stored (SPEC §2).
pub fn watermark(snapshot: &StoreSnapshot) -> i64 {
    let files = snapshot.manifest.files.iter().map(|f| f.max_ts).max();
    let tail = snapshot.tail.iter().map(|r| r.ts).max();
    files.max(tail).unwrap_or(0)
}

/// Every counted session of `guild`, read through the guild-restricted events scan.
pub async fn load_sessions(
    state: &dyn DfSession,
    guild: u64,
    snapshot: &Arc<StoreSnapshot>,
    max_events: usize,
) -> Result<Vec<Session>> {
    let events = Arc::new(GuildEvents::internal(guild, Arc::clone(snapshot))?);
    let kinds = |names: &[&str]| names.iter().map(|k| lit(*k)).collect::<Vec<_>>();
    let wanted = in_list(col("kind"), kinds(&VOICE_KINDS), false)
        .and(col("kind").not_eq(lit("message_create")).or(col("bot")));
    let frame_needed =
        in_list(col("kind"), kinds(&FRAME_KINDS), false).or(col("kind").eq(lit("message_create")));
    let plan = LogicalPlanBuilder::scan(
        "events",
        datafusion::catalog::default_table_source::provider_as_source(events),
        None,
    )?
    .filter(wanted)?
    .project(vec![
        col("ts"),
        col("lsn"),
        col("kind"),
        col("user_id"),
        col("channel_id"),
        col("bot"),
        when(frame_needed, col("frame")).end()?.alias("frame"),
    ])?
    .build()?;
    let physical = state.create_physical_plan(&plan).await?;
    let batches = collect(physical, state.task_ctx()).await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows > max_events {
        return Err(DataFusionError::ResourcesExhausted(format!(
            "voice_sessions would load {rows} voice events, the limit is {max_events}"
        )));
    }
    // Account what we hold in the query's pool, so the memory limit covers it.
    let reservation =
        MemoryConsumer::new("voice_sessions").register(&state.runtime_env().memory_pool);
    reservation.try_grow(batches.iter().map(RecordBatch::get_array_memory_size).sum())?;
    let mut events = Vec::with_capacity(rows);
    for batch in &batches {
        let ts = batch.column(0).as_primitive::<TimestampMillisecondType>();
        let lsn = batch.column(1).as_primitive::<UInt64Type>();
        let kind = batch.column(2).as_string::<i32>();
        let user = batch.column(3).as_primitive::<UInt64Type>();
        let channel = batch.column(4).as_primitive::<UInt64Type>();
        let bot = batch.column(5).as_boolean();
        let frame = batch.column(6).as_string::<i32>();
        let opt = |a: &UInt64Array, i: usize| a.is_valid(i).then(|| a.value(i));
        for i in 0..batch.num_rows() {
            events.push(VoiceEvent {
                ts: ts.value(i),
                lsn: lsn.value(i),
                kind: kind.value(i).to_owned(),
                user: opt(user, i),
                channel: opt(channel, i),
                bot: bot.value(i),
                frame: frame.is_valid(i).then(|| frame.value(i).to_owned()),
            });
        }
    }
    drop(batches);
    events.sort_by_key(|e| (e.ts, e.lsn));
    let mut rebuild = VoiceRebuild::default();
    for event in &events {
        rebuild.apply(event);
    }
    Ok(rebuild.finish())
}

fn sessions_batch(
    schema: &SchemaRef,
    guild: u64,
    sessions: &[Session],
    watermark: i64,
) -> Result<RecordBatch> {
    let n = sessions.len();
    let seconds = sessions
        .iter()
        .map(|s| s.overlap_ms(watermark, i64::MIN, i64::MAX) / 1000);
    let columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(UInt64Array::from(vec![guild; n])),
        Arc::new(UInt64Array::from_iter_values(
            sessions.iter().map(|s| s.user),
        )),
        Arc::new(UInt64Array::from_iter_values(
            sessions.iter().map(|s| s.channel),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(sessions.iter().map(|s| s.started_at))
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMillisecondArray::from_iter(sessions.iter().map(|s| s.ended_at))
                .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter_values(seconds)),
        Arc::new(BooleanArray::from_iter(
            sessions.iter().map(|s| Some(s.ended_at.is_none())),
        )),
    ];
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// Splits sessions at UTC midnights: (user, day since epoch) -> milliseconds.
pub fn per_day(sessions: &[Session], watermark: i64) -> Vec<(u64, i64, i64)> {
    let mut days: std::collections::BTreeMap<(u64, i64), i64> = std::collections::BTreeMap::new();
    for s in sessions {
        let end = s.ended_at.unwrap_or_else(|| watermark.max(s.started_at));
        let mut cur = s.started_at;
        while cur < end {
            let day = cur.div_euclid(MS_PER_DAY);
            let next = ((day + 1) * MS_PER_DAY).min(end);
            *days.entry((s.user, day)).or_default() += next - cur;
            cur = next;
        }
    }
    days.into_iter()
        .map(|((user, day), ms)| (user, day, ms))
        .collect()
}

fn days_batch(
    schema: &SchemaRef,
    guild: u64,
    sessions: &[Session],
    watermark: i64,
) -> Result<RecordBatch> {
    let days = per_day(sessions, watermark);
    let n = days.len();
    let day32 = |d: i64| i32::try_from(d).unwrap_or(i32::MAX);
    let columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(UInt64Array::from(vec![guild; n])),
        Arc::new(UInt64Array::from_iter_values(days.iter().map(|d| d.0))),
        Arc::new(Date32Array::from_iter_values(
            days.iter().map(|d| day32(d.1)),
        )),
        Arc::new(Int64Array::from_iter_values(
            days.iter().map(|d| d.2 / 1000),
        )),
    ];
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

#[async_trait]
impl TableProvider for GuildVoice {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Sessions need the whole history (one may have opened long before any time filter),
        // so filters are left to DataFusion above this scan.
        let sessions = load_sessions(state, self.guild, &self.snapshot, self.max_events).await?;
        let watermark = watermark(&self.snapshot);
        let batch = match self.shape {
            VoiceShape::Sessions => sessions_batch(&self.schema, self.guild, &sessions, watermark)?,
            VoiceShape::Days => days_batch(&self.schema, self.guild, &sessions, watermark)?,
        };
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            Arc::clone(&self.schema),
            projection.cloned(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_split_at_utc_midnight_and_open_sessions_run_to_the_watermark() {
        let s = [Session {
            user: 1,
            channel: 2,
            started_at: MS_PER_DAY - 60_000,
            ended_at: None,
        }];
        assert_eq!(
            per_day(&s, MS_PER_DAY + 30_000),
            vec![(1, 0, 60_000), (1, 1, 30_000)]
        );
    }
}
