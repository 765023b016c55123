//! A query's result and its encodings: JSON (SPEC §5 `{"columns":[...],"rows":[[...]]}`),
//! CSV and the Arrow IPC stream format.

use crate::error::SqlError;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    SchemaRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Map, Number, Value};

/// Integers beyond this magnitude lose precision as JSON numbers in JavaScript.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The rows of one query.
#[derive(Clone, Debug)]
pub struct QueryOutput {
    /// Columns and types.
    pub schema: SchemaRef,
    /// The rows, in result order.
    pub batches: Vec<RecordBatch>,
    /// True when a row or byte cap stopped reading before the end.
    pub truncated: bool,
}

impl QueryOutput {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// `{"columns":[...],"rows":[[...]],"truncated":bool}`. Unsigned 64-bit integers (Discord
    /// ids) are always decimal strings, signed ones beyond ±2^53 too; timestamps are RFC 3339
    /// in UTC; dates `YYYY-MM-DD`; non-finite floats strings.
    pub fn to_json(&self) -> Result<Value, SqlError> {
        let columns: Vec<Value> = self
            .schema
            .fields()
            .iter()
            .map(|f| Value::String(f.name().clone()))
            .collect();
        let mut rows = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SqlError::Internal(e.to_string()))?;
            for row in 0..batch.num_rows() {
                let cells = batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(column, fmt)| cell(column, fmt, row))
                    .collect();
                rows.push(Value::Array(cells));
            }
        }
        let mut object = Map::new();
        object.insert("columns".into(), Value::Array(columns));
        object.insert("rows".into(), Value::Array(rows));
        object.insert("truncated".into(), Value::Bool(self.truncated));
        Ok(Value::Object(object))
    }

    /// CSV with a header line; timestamps in RFC 3339.
    pub fn to_csv(&self) -> Result<Vec<u8>, SqlError> {
        let mut out = Vec::new();
        {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.3fZ".to_string())
                .with_timestamp_format("%Y-%m-%dT%H:%M:%S%.3fZ".to_string())
                .build(&mut out);
            for batch in &self.batches {
                writer
                    .write(batch)
                    .map_err(|e| SqlError::Internal(e.to_string()))?;
            }
        }
        if self.batches.is_empty() {
            let header: Vec<&str> = self
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            out.extend_from_slice(header.join(",").as_bytes());
            out.push(b'\n');
        }
        Ok(out)
    }

    /// The Arrow IPC stream format (`application/vnd.apache.arrow.stream`).
    pub fn to_arrow_ipc(&self) -> Result<Vec<u8>, SqlError> {
        let mut out = Vec::new();
        let mut writer =
            datafusion::arrow::ipc::writer::StreamWriter::try_new(&mut out, &self.schema)
                .map_err(|e| SqlError::Internal(e.to_string()))?;
        for batch in &self.batches {
            writer
                .write(batch)
                .map_err(|e| SqlError::Internal(e.to_string()))?;
        }
        writer
            .finish()
            .map_err(|e| SqlError::Internal(e.to_string()))?;
        drop(writer);
        Ok(out)
    }
}

fn int(v: i64) -> Value {
    if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&v) {
        Value::Number(v.into())
    } else {
        Value::String(v.to_string())
    }
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number)
}

fn rfc3339(value: i64, per_second: i64) -> Value {
    let secs = value.div_euclid(per_second);
    let nanos = value.rem_euclid(per_second) * (1_000_000_000 / per_second);
    match chrono::DateTime::from_timestamp(secs, nanos as u32) {
        Some(t) => Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        None => Value::Null,
    }
}

fn cell(column: &ArrayRef, fmt: &ArrayFormatter<'_>, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Null;
    }
    match column.data_type() {
        DataType::Boolean => Value::Bool(column.as_boolean().value(row)),
        DataType::Int8 => Value::Number(column.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Value::Number(column.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Value::Number(column.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => int(column.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Value::Number(column.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => Value::Number(column.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => Value::Number(column.as_primitive::<UInt32Type>().value(row).into()),
        // Discord ids: always strings, so a column has one JSON type.
        DataType::UInt64 => {
            Value::String(column.as_primitive::<UInt64Type>().value(row).to_string())
        }
        DataType::Float32 => float(f64::from(column.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(column.as_primitive::<Float64Type>().value(row)),
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => rfc3339(column.as_primitive::<TimestampSecondType>().value(row), 1),
            TimeUnit::Millisecond => rfc3339(
                column.as_primitive::<TimestampMillisecondType>().value(row),
                1_000,
            ),
            TimeUnit::Microsecond => rfc3339(
                column.as_primitive::<TimestampMicrosecondType>().value(row),
                1_000_000,
            ),
            TimeUnit::Nanosecond => rfc3339(
                column.as_primitive::<TimestampNanosecondType>().value(row),
                1_000_000_000,
            ),
        },
        DataType::Date32 => {
            let days = i64::from(column.as_primitive::<Date32Type>().value(row));
            match rfc3339(days * 86_400, 1) {
                Value::String(s) => Value::String(s[..10].to_string()),
                other => other,
            }
        }
        _ => Value::String(fmt.value(row).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Int64Array, StringArray, TimestampMillisecondArray, UInt64Array,
    };
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn sample() -> QueryOutput {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::UInt64, true),
            Field::new("n", DataType::Int64, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), None])),
                Arc::new(Int64Array::from(vec![Some(1 << 60), Some(42)])),
                Arc::new(
                    TimestampMillisecondArray::from(vec![Some(1_767_225_600_123), None])
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(vec![Some("a,\"b"), None])),
            ],
        )
        .expect("batch");
        QueryOutput {
            schema,
            batches: vec![batch],
            truncated: false,
        }
    }

    #[test]
    fn json_keeps_big_integers_exact_and_times_rfc3339() {
        let json = sample().to_json().expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "columns": ["id", "n", "ts", "s"],
                "rows": [["18446744073709551615", "1152921504606846976", "2026-01-01T00:00:00.123Z", "a,\"b"],
                         [null, 42, null, null]],
                "truncated": false
            })
        );
    }

    #[test]
    fn csv_and_ipc_round_trip() {
        let out = sample();
        let csv = String::from_utf8(out.to_csv().expect("csv")).expect("utf8");
        assert!(csv.starts_with("id,n,ts,s\n18446744073709551615,1152921504606846976,2026-01-01T00:00:00.123Z,\"a,\"\"b\"\n"), "{csv}");
        let ipc = out.to_arrow_ipc().expect("ipc");
        let reader =
            datafusion::arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(ipc), None)
                .expect("reader");
        let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("read");
        assert_eq!(batches, out.batches);
    }
}
