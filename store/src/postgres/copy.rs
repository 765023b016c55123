//! Binary COPY of event rows into the session's staging table, and the checks that turn an
//! [`EventRow`] into values PostgreSQL accepts.

use crate::row::EventRow;
use bytes::{BufMut, BytesMut};
use futures_util::pin_mut;
use std::error::Error as StdError;
use std::fmt;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::Transaction;

/// Why a row cannot be stored. Such rows are counted and skipped, never retried: they would
/// fail again and hold every later row back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowError {
    /// An unsigned id or counter does not fit PostgreSQL's signed `bigint`/`integer`.
    OutOfRange {
        /// Column.
        column: &'static str,
        /// Value.
        value: u64,
    },
    /// The event time is before 1970 or after 9999.
    Timestamp(i64),
    /// PostgreSQL text cannot hold a NUL character.
    NulByte {
        /// Column.
        column: &'static str,
    },
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowError::OutOfRange { column, value } => {
                write!(
                    f,
                    "{column} {value} does not fit a signed PostgreSQL column"
                )
            }
            RowError::Timestamp(ms) => write!(f, "event time {ms} ms is out of range"),
            RowError::NulByte { column } => write!(f, "{column} holds a NUL character"),
        }
    }
}

/// The COPY column order; the staging table has `events`' columns, whatever their order.
pub(crate) const COLUMNS: &str =
    "ts, shard, lsn, seq, session, kind, guild_id, channel_id, user_id, message_id, bot, frame";

const TYPES: [Type; 12] = [
    Type::TIMESTAMPTZ,
    Type::INT4,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::BOOL,
    Type::TEXT,
];

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;
/// 9999-12-31T23:59:59.999Z: beyond it a timestamp is surely garbage.
const MAX_TS_MS: i64 = 253_402_300_799_999;

/// A `timestamptz` in PostgreSQL's binary form, built from Unix milliseconds without pulling in
/// a date crate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PgTimestamp(i64);

impl ToSql for PgTimestamp {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.put_i64(self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }

    to_sql_checked!();
}

/// A row whose values all fit their columns.
pub(crate) struct CheckedRow<'a> {
    pub lsn: u64,
    pub ts_ms: i64,
    ts: PgTimestamp,
    shard: i32,
    lsn_i: i64,
    seq: i64,
    session: Option<&'a str>,
    kind: &'static str,
    guild_id: Option<i64>,
    channel_id: Option<i64>,
    user_id: Option<i64>,
    message_id: Option<i64>,
    bot: bool,
    frame: &'a str,
}

fn signed(column: &'static str, value: u64) -> Result<i64, RowError> {
    i64::try_from(value).map_err(|_| RowError::OutOfRange { column, value })
}

fn signed_opt(column: &'static str, value: Option<u64>) -> Result<Option<i64>, RowError> {
    value.map(|v| signed(column, v)).transpose()
}

fn text<'a>(column: &'static str, value: &'a str) -> Result<&'a str, RowError> {
    if value.as_bytes().contains(&0) {
        Err(RowError::NulByte { column })
    } else {
        Ok(value)
    }
}

impl CheckedRow<'_> {
    /// Bytes of the variable-length columns, for batch sizing.
    pub(crate) fn text_len(&self) -> usize {
        self.frame.len() + self.session.map_or(0, str::len)
    }
}

/// Checks a row against its columns' ranges.
pub(crate) fn check(row: &EventRow) -> Result<CheckedRow<'_>, RowError> {
    if !(0..=MAX_TS_MS).contains(&row.ts) {
        return Err(RowError::Timestamp(row.ts));
    }
    Ok(CheckedRow {
        lsn: row.lsn,
        ts_ms: row.ts,
        // In range by the check above, so neither the product nor the difference overflows.
        ts: PgTimestamp(row.ts * 1000 - PG_EPOCH_US),
        shard: i32::try_from(row.shard).map_err(|_| RowError::OutOfRange {
            column: "shard",
            value: u64::from(row.shard),
        })?,
        lsn_i: signed("lsn", row.lsn)?,
        seq: signed("seq", row.seq)?,
        session: row
            .session
            .as_deref()
            .map(|s| text("session", s))
            .transpose()?,
        kind: row.kind.as_str(),
        guild_id: signed_opt("guild_id", row.guild_id)?,
        channel_id: signed_opt("channel_id", row.channel_id)?,
        user_id: signed_opt("user_id", row.user_id)?,
        message_id: signed_opt("message_id", row.message_id)?,
        bot: row.bot,
        frame: text("frame", &row.frame)?,
    })
}

/// Creates the session's staging table: temporary (no WAL, invisible to others), without
/// indexes (COPY only appends), emptied at every commit.
pub(crate) const CREATE_STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS events_staging \
     (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";

/// Moves the staged rows into `events`; a row already there (same ts, shard, lsn: a retry) is
/// skipped, which is what makes a retried batch harmless.
pub(crate) fn merge_sql() -> String {
    format!(
        "INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM events_staging ON CONFLICT DO NOTHING"
    )
}

/// Streams rows into the staging table with binary COPY; returns the number copied.
pub(crate) async fn copy_rows(
    tx: &Transaction<'_>,
    rows: &[CheckedRow<'_>],
) -> Result<u64, tokio_postgres::Error> {
    let sink = tx
        .copy_in(&format!(
            "COPY events_staging ({COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &TYPES);
    pin_mut!(writer);
    for r in rows {
        writer
            .as_mut()
            .write(&[
                &r.ts,
                &r.shard,
                &r.lsn_i,
                &r.seq,
                &r.session,
                &r.kind,
                &r.guild_id,
                &r.channel_id,
                &r.user_id,
                &r.message_id,
                &r.bot,
                &r.frame,
            ])
            .await?;
    }
    writer.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use guildflow_model::EventKind;

    fn row() -> EventRow {
        EventRow {
            lsn: 1,
            ts: 1_767_225_600_123,
            shard: 0,
            seq: 1,
            session: None,
            kind: EventKind::MessageCreate,
            guild_id: Some(1),
            channel_id: None,
            user_id: None,
            message_id: None,
            bot: false,
            frame: "{}".into(),
        }
    }

    #[test]
    fn timestamps_are_microseconds_since_2000() {
        let mut r = row();
        r.ts = 946_684_800_000;
        assert_eq!(check(&r).map(|c| c.ts.0).ok(), Some(0));
        r.ts = 946_684_800_001;
        assert_eq!(check(&r).map(|c| c.ts.0).ok(), Some(1000));
    }

    #[test]
    fn out_of_range_values_are_rejected_not_truncated() {
        let mut r = row();
        r.guild_id = Some(u64::MAX);
        assert_eq!(
            check(&r).err(),
            Some(RowError::OutOfRange {
                column: "guild_id",
                value: u64::MAX
            })
        );
        let mut r = row();
        r.seq = 1 << 63;
        assert!(check(&r).is_err());
        let mut r = row();
        r.ts = -1;
        assert_eq!(check(&r).err(), Some(RowError::Timestamp(-1)));
        let mut r = row();
        r.frame = "a\0b".into();
        assert_eq!(check(&r).err(), Some(RowError::NulByte { column: "frame" }));
        let mut r = row();
        r.shard = u32::MAX;
        assert!(check(&r).is_err());
        assert!(check(&row()).is_ok());
    }
}
