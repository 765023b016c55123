//! Errors of the admin plane.

/// What can go wrong in the admin plane.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request is invalid; `code` is the API's stable error code.
    #[error("{message}")]
    Invalid {
        /// Stable code (`invalid_settings`, `invalid_rule`, ...).
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such rule, warning, ...
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
    },
    /// The journal or database could not be written or read.
    #[error("admin storage: {0}")]
    Storage(String),
    /// The pipeline is gone (shutting down); nothing was changed.
    #[error("the pipeline is not running")]
    PipelineStopped,
    /// What was asked for is not available on this server (e.g. no event store).
    #[error("{0}")]
    Unavailable(String),
    /// The same kind of operation is already running; retry later.
    #[error("{0}")]
    Busy(String),
}

impl From<std::io::Error> for AdminError {
    fn from(e: std::io::Error) -> Self {
        AdminError::Storage(e.to_string())
    }
}

impl From<tokio_postgres::Error> for AdminError {
    fn from(e: tokio_postgres::Error) -> Self {
        AdminError::Storage(e.to_string())
    }
}
