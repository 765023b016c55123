//! The guild's tables. Each provider is built for one guild and restricts every scan to it.

pub mod events;
pub mod ts_range;
pub mod voice_sessions;
