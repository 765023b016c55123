//! Errors of the library's own operations (binding, serving). Errors *answered* to clients
//! are [`crate::models::error::Problem`]s: a bad request is a response, not a failure.

use std::net::SocketAddr;
use thiserror::Error;

/// Why the server could not run.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The listen address could not be bound (in use, no permission, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bound listener could not report its address.
    #[error("cannot read the listener's address: {0}")]
    LocalAddr(#[source] std::io::Error),
}
