//! The raw gateway frame, as a shard received it: what the store keeps durably and what replay
//! feeds back (SPEC §1's capture line holds exactly these three fields).

/// One frame exactly as a shard received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// Shard id.
    pub shard: u32,
    /// Receive time, Unix milliseconds.
    pub at: i64,
    /// The websocket text message (gateway JSON).
    pub text: String,
}
