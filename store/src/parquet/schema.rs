//! The Arrow schema of events files and the conversion between rows and record batches.
//!
//! Schema evolution rule: columns are found by name, never by position; a column added later
//! must be nullable, and a file written before it existed reads it as null. A column whose type
//! differs from today's (e.g. a foreign file's `Int64` guild id) is cast when Arrow can do so
//! losslessly and reported otherwise.

use super::{ParquetStoreError, Result};
use crate::row::{kind_from_str, EventRow};
use arrow::array::{
    new_null_array, Array, ArrayRef, BooleanArray, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt32Array, UInt64Array,
};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, OnceLock};

/// Event time, UTC milliseconds (`EventRow::ts`).
pub const TS: &str = "ts";
/// Guild id, null for events without a guild.
pub const GUILD_ID: &str = "guild_id";
/// Event kind name (`EventKind::as_str`).
pub const KIND: &str = "kind";
/// Channel id, when the event has one.
pub const CHANNEL_ID: &str = "channel_id";
/// Acting or concerned user, when the event has one.
pub const USER_ID: &str = "user_id";
/// Message id, for message and reaction events.
pub const MESSAGE_ID: &str = "message_id";
/// Whether the actor is a bot or a webhook.
pub const BOT: &str = "bot";
/// Shard that received the frame.
pub const SHARD: &str = "shard";
/// Gateway sequence number.
pub const SEQ: &str = "seq";
/// Gateway session, null before the shard's first READY.
pub const SESSION: &str = "session";
/// Write-ahead log position, unique per data directory.
pub const LSN: &str = "lsn";
/// The raw gateway frame, JSON text exactly as received.
pub const FRAME: &str = "frame";

/// Positions of the sort key columns (guild_id, ts, lsn) in [`events_schema`], for the files'
/// `sorting_columns` metadata.
pub(crate) const SORT_KEY_COLUMNS: [usize; 3] = [1, 0, 10];

/// The schema of events files, shared (built once).
pub fn events_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new(
                    TS,
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                    false,
                ),
                Field::new(GUILD_ID, DataType::UInt64, true),
                Field::new(KIND, DataType::Utf8, false),
                Field::new(CHANNEL_ID, DataType::UInt64, true),
                Field::new(USER_ID, DataType::UInt64, true),
                Field::new(MESSAGE_ID, DataType::UInt64, true),
                Field::new(BOT, DataType::Boolean, false),
                Field::new(SHARD, DataType::UInt32, false),
                Field::new(SEQ, DataType::UInt64, false),
                Field::new(SESSION, DataType::Utf8, true),
                Field::new(LSN, DataType::UInt64, false),
                Field::new(FRAME, DataType::Utf8, false),
            ]))
        })
        .clone()
}

/// One record batch of `rows`, in their order, with [`events_schema`].
pub fn rows_to_batch(rows: &[EventRow]) -> Result<RecordBatch> {
    let ts =
        TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.ts)).with_timezone("UTC");
    let guild: UInt64Array = rows.iter().map(|r| r.guild_id).collect();
    let kind = StringArray::from_iter_values(rows.iter().map(|r| r.kind.as_str()));
    let channel: UInt64Array = rows.iter().map(|r| r.channel_id).collect();
    let user: UInt64Array = rows.iter().map(|r| r.user_id).collect();
    let message: UInt64Array = rows.iter().map(|r| r.message_id).collect();
    let bot: BooleanArray = rows.iter().map(|r| Some(r.bot)).collect();
    let shard = UInt32Array::from_iter_values(rows.iter().map(|r| r.shard));
    let seq = UInt64Array::from_iter_values(rows.iter().map(|r| r.seq));
    let session: StringArray = rows.iter().map(|r| r.session.as_deref()).collect();
    let lsn = UInt64Array::from_iter_values(rows.iter().map(|r| r.lsn));
    let frame = StringArray::from_iter_values(rows.iter().map(|r| r.frame.as_str()));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(ts),
        Arc::new(guild),
        Arc::new(kind),
        Arc::new(channel),
        Arc::new(user),
        Arc::new(message),
        Arc::new(bot),
        Arc::new(shard),
        Arc::new(seq),
        Arc::new(session),
        Arc::new(lsn),
        Arc::new(frame),
    ];
    Ok(RecordBatch::try_new(events_schema(), columns)?)
}

/// The rows of a batch of any schema version (see the module doc): columns are matched by
/// name, missing nullable ones read as null, and a missing or null required column, an
/// uncastable type or an unknown kind is an error.
pub fn batch_to_rows(batch: &RecordBatch) -> Result<Vec<EventRow>> {
    let batch = conform(batch)?;
    let ts = column::<TimestampMillisecondArray>(&batch, TS)?;
    let guild = column::<UInt64Array>(&batch, GUILD_ID)?;
    let kind = column::<StringArray>(&batch, KIND)?;
    let channel = column::<UInt64Array>(&batch, CHANNEL_ID)?;
    let user = column::<UInt64Array>(&batch, USER_ID)?;
    let message = column::<UInt64Array>(&batch, MESSAGE_ID)?;
    let bot = column::<BooleanArray>(&batch, BOT)?;
    let shard = column::<UInt32Array>(&batch, SHARD)?;
    let seq = column::<UInt64Array>(&batch, SEQ)?;
    let session = column::<StringArray>(&batch, SESSION)?;
    let lsn = column::<UInt64Array>(&batch, LSN)?;
    let frame = column::<StringArray>(&batch, FRAME)?;
    let opt_u64 = |a: &UInt64Array, i: usize| a.is_valid(i).then(|| a.value(i));
    let mut rows = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let kind_name = kind.value(i);
        let kind = kind_from_str(kind_name).ok_or_else(|| {
            ParquetStoreError::Schema(format!("unknown event kind {kind_name:?}"))
        })?;
        rows.push(EventRow {
            lsn: lsn.value(i),
            ts: ts.value(i),
            shard: shard.value(i),
            seq: seq.value(i),
            session: session.is_valid(i).then(|| Box::from(session.value(i))),
            kind,
            guild_id: opt_u64(guild, i),
            channel_id: opt_u64(channel, i),
            user_id: opt_u64(user, i),
            message_id: opt_u64(message, i),
            bot: bot.value(i),
            frame: frame.value(i).to_owned(),
        });
    }
    Ok(rows)
}

/// `batch` with exactly [`events_schema`]'s columns: matched by name, cast where the type
/// differs, null-filled where a nullable column is absent.
fn conform(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = events_schema();
    if batch.schema() == schema {
        return Ok(batch.clone());
    }
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = match batch.column_by_name(field.name()) {
            Some(col) if col.data_type() == field.data_type() => col.clone(),
            Some(col) => cast_with_options(col, field.data_type(), &strict).map_err(|e| {
                ParquetStoreError::Schema(format!(
                    "column {} of type {} cannot be read as {}: {e}",
                    field.name(),
                    col.data_type(),
                    field.data_type()
                ))
            })?,
            None if field.is_nullable() => new_null_array(field.data_type(), batch.num_rows()),
            None => {
                return Err(ParquetStoreError::Schema(format!(
                    "required column {} is missing",
                    field.name()
                )))
            }
        };
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(ParquetStoreError::Schema(format!(
                "required column {} holds nulls",
                field.name()
            )));
        }
        columns.push(column);
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| ParquetStoreError::Schema(format!("column {name} has an unexpected type")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use guildflow_model::EventKind;

    fn row(lsn: u64, guild: Option<u64>) -> EventRow {
        EventRow {
            lsn,
            ts: 1_767_225_600_000 + lsn as i64,
            shard: 1,
            seq: lsn + 10,
            session: lsn.is_multiple_of(2).then(|| Box::from("sess")),
            kind: EventKind::MessageCreate,
            guild_id: guild,
            channel_id: Some(5),
            user_id: None,
            message_id: Some(lsn * 3),
            bot: lsn.is_multiple_of(3),
            frame: format!("{{\"s\":{lsn}}}"),
        }
    }

    #[test]
    fn rows_round_trip_through_a_batch() {
        let rows: Vec<EventRow> = (0..10).map(|i| row(i, (i % 4 != 0).then_some(i))).collect();
        let batch = rows_to_batch(&rows).unwrap();
        assert_eq!(batch.schema(), events_schema());
        assert_eq!(batch_to_rows(&batch).unwrap(), rows);
    }

    #[test]
    fn a_missing_nullable_column_reads_as_null_and_a_missing_required_one_is_reported() {
        let batch = rows_to_batch(&[row(1, Some(2))]).unwrap();
        let without_user = batch
            .project(
                &(0..batch.num_columns())
                    .filter(|&i| i != 4)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let rows = batch_to_rows(&without_user).unwrap();
        assert_eq!(rows[0].user_id, None);
        assert_eq!(rows[0].guild_id, Some(2));
        let without_frame = batch.project(&[0, 1, 2]).unwrap();
        assert!(matches!(
            batch_to_rows(&without_frame),
            Err(ParquetStoreError::Schema(_))
        ));
    }
}
