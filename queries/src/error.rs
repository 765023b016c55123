//! Errors of the query layer, each with a stable machine-readable code and a client/server
//! classification the HTTP layer maps to 4xx/5xx.

use datafusion::error::DataFusionError;
use thiserror::Error;

/// Why a query did not produce a result.
#[derive(Debug, Error)]
pub enum SqlError {
    /// The SQL text is over [`crate::SqlLimits::max_sql_bytes`].
    #[error("SQL text is {size} bytes, the limit is {limit}")]
    TooLarge {
        /// Size of the text.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// No statement at all.
    #[error("no SQL statement given")]
    Empty,
    /// More than one statement.
    #[error("one statement per request, got {0}")]
    MultipleStatements(usize),
    /// DDL, DML, COPY, SET, PREPARE... anything but a query.
    #[error("only read queries (SELECT, WITH, VALUES) are allowed; {0} is not")]
    NotReadOnly(String),
    /// EXPLAIN is rejected (see docs/SQL.md: plans name files and count other guilds' rows).
    #[error("EXPLAIN is not available")]
    ExplainNotAllowed,
    /// A table that is not one of the guild's.
    #[error("table {0} does not exist; available tables: events, voice_sessions, daily_activity")]
    ForbiddenTable(String),
    /// The SQL does not parse.
    #[error("SQL parse error: {0}")]
    Parse(String),
    /// Nesting deeper than the parser recursion limit.
    #[error("query is nested too deeply: {0}")]
    TooComplex(String),
    /// The query parses but cannot be planned (unknown column or function, type error...).
    #[error("{0}")]
    Plan(String),
    /// The query failed while running on the guild's data (division by zero, bad cast...).
    #[error("{0}")]
    Execution(String),
    /// The wall-clock budget ran out; the query was cancelled.
    #[error("query exceeded its time limit of {0} ms and was cancelled")]
    Timeout(u128),
    /// The memory budget ran out.
    #[error("query exceeded its memory limit: {0}")]
    ResourcesExhausted(String),
    /// More rows than allowed (only with `error_on_truncation`).
    #[error("result has more than {0} rows")]
    RowsLimit(usize),
    /// More result bytes than allowed (only with `error_on_truncation`).
    #[error("result is larger than {0} bytes")]
    ResultTooLarge(usize),
    /// An invalid argument to a canned query (unknown metric, empty window, bad page).
    #[error("{0}")]
    BadRequest(String),
    /// A fault of ours (I/O, corrupt file, runtime gone): not the client's doing.
    #[error("internal error: {0}")]
    Internal(String),
}

impl SqlError {
    /// Stable code for the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            SqlError::TooLarge { .. } => "sql_too_large",
            SqlError::Empty => "empty",
            SqlError::MultipleStatements(_) => "multiple_statements",
            SqlError::NotReadOnly(_) => "not_read_only",
            SqlError::ExplainNotAllowed => "explain_not_allowed",
            SqlError::ForbiddenTable(_) => "forbidden_table",
            SqlError::Parse(_) => "parse",
            SqlError::TooComplex(_) => "too_complex",
            SqlError::Plan(_) => "plan",
            SqlError::Execution(_) => "execution",
            SqlError::Timeout(_) => "timeout",
            SqlError::ResourcesExhausted(_) => "resources_exhausted",
            SqlError::RowsLimit(_) => "rows_limit",
            SqlError::ResultTooLarge(_) => "result_too_large",
            SqlError::BadRequest(_) => "bad_request",
            SqlError::Internal(_) => "internal",
        }
    }

    /// True when the request is at fault (HTTP 4xx): everything but [`SqlError::Internal`].
    /// Timeouts and exhausted resources are the query's doing, so they are client errors too
    /// (the HTTP layer may still prefer 408/413/422 for them).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, SqlError::Internal(_))
    }

    /// Maps a DataFusion error by its root cause.
    pub(crate) fn from_datafusion(error: DataFusionError) -> SqlError {
        let root = error.find_root();
        let message = root.message().to_string();
        match root {
            DataFusionError::ResourcesExhausted(_) => SqlError::ResourcesExhausted(message),
            DataFusionError::SQL(parser, _) => {
                let text = parser.to_string();
                if text.contains("recursion limit") {
                    SqlError::TooComplex(text)
                } else {
                    SqlError::Parse(text)
                }
            }
            DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_)
            | DataFusionError::Configuration(_) => SqlError::Plan(root.to_string()),
            DataFusionError::Execution(_) | DataFusionError::ArrowError(..) => {
                SqlError::Execution(root.to_string())
            }
            _ => SqlError::Internal(root.to_string()),
        }
    }
}

impl From<DataFusionError> for SqlError {
    fn from(error: DataFusionError) -> Self {
        SqlError::from_datafusion(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_only_internal_is_a_server_error() {
        assert_eq!(SqlError::Timeout(5).code(), "timeout");
        assert!(SqlError::Timeout(5).is_client_error());
        assert!(!SqlError::Internal("x".into()).is_client_error());
        let df = DataFusionError::ResourcesExhausted("pool".into());
        assert_eq!(SqlError::from(df).code(), "resources_exhausted");
        let wrapped = DataFusionError::Context(
            "ctx".into(),
            Box::new(DataFusionError::Plan("no such column".into())),
        );
        assert_eq!(SqlError::from(wrapped).code(), "plan");
    }
}
