//! Decode failures and their stable reason labels.

use thiserror::Error;

/// Why a frame or capture line could not be decoded.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// Larger than [`super::MAX_FRAME_BYTES`].
    #[error("frame of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Frame size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or the envelope has wrong types (e.g. a string `op`).
    #[error("invalid frame JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// A capture line without valid `shard`, `at` and `frame`.
    #[error("invalid capture line: {0}")]
    InvalidCaptureLine(#[source] serde_json::Error),
    /// A dispatch (op 0) without `s`.
    #[error("dispatch without sequence number")]
    MissingSequence,
    /// A dispatch without `t`.
    #[error("dispatch without event type")]
    MissingType,
    /// A dispatch without `d`.
    #[error("{t} dispatch without payload")]
    MissingPayload {
        /// Dispatch type.
        t: String,
    },
    /// `d` does not match the shape of its event type.
    #[error("{t} payload does not match its type: {source}")]
    PayloadMismatch {
        /// Dispatch type.
        t: String,
        /// What serde found.
        #[source]
        source: serde_json::Error,
    },
}

/// Stable label of a [`DecodeError`], used as the metric label `reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum DecodeReason {
    TooLarge,
    InvalidJson,
    InvalidCaptureLine,
    MissingSequence,
    MissingType,
    MissingPayload,
    PayloadMismatch,
}

impl DecodeReason {
    /// Every reason, in index order.
    pub const ALL: [DecodeReason; 7] = [
        DecodeReason::TooLarge,
        DecodeReason::InvalidJson,
        DecodeReason::InvalidCaptureLine,
        DecodeReason::MissingSequence,
        DecodeReason::MissingType,
        DecodeReason::MissingPayload,
        DecodeReason::PayloadMismatch,
    ];

    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            DecodeReason::TooLarge => "too_large",
            DecodeReason::InvalidJson => "invalid_json",
            DecodeReason::InvalidCaptureLine => "invalid_capture_line",
            DecodeReason::MissingSequence => "missing_sequence",
            DecodeReason::MissingType => "missing_type",
            DecodeReason::MissingPayload => "missing_payload",
            DecodeReason::PayloadMismatch => "payload_mismatch",
        }
    }
}

impl DecodeError {
    /// The reason label of this error.
    pub const fn reason(&self) -> DecodeReason {
        match self {
            DecodeError::TooLarge { .. } => DecodeReason::TooLarge,
            DecodeError::InvalidJson(_) => DecodeReason::InvalidJson,
            DecodeError::InvalidCaptureLine(_) => DecodeReason::InvalidCaptureLine,
            DecodeError::MissingSequence => DecodeReason::MissingSequence,
            DecodeError::MissingType => DecodeReason::MissingType,
            DecodeError::MissingPayload { .. } => DecodeReason::MissingPayload,
            DecodeError::PayloadMismatch { .. } => DecodeReason::PayloadMismatch,
        }
    }
}
