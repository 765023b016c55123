//! guildflow-queries: DataFusion over the Parquet store (committed files plus the
//! not-yet-committed tail) for the API.
//!
//! This crate owns:
//! - the guild-restricted tables `events`, `voice_sessions`, `voice_days` and the view
//!   `daily_activity` ([`tables`], [`session`]);
//! - the hardened ad hoc SQL service [`GuildSql`] (`POST /api/guilds/{guild}/sql`): one
//!   read-only statement, a bare per-query session, memory/time/row/byte limits, a dedicated
//!   runtime ([`guard`], [`limits`], [`service`]);
//! - result encodings ([`QueryOutput`]: JSON, CSV, Arrow IPC);
//! - canned historical queries ([`GuildSql::leaderboard_window`]).
//!
//! docs/SQL.md describes the tables, the limits and the threat model.

pub mod canned;
pub mod error;
pub mod guard;
pub mod limits;
pub mod output;
pub mod service;
pub mod session;
pub mod tables;
pub mod voice;

pub use canned::{WindowBoard, WindowEntry, WindowMetric};
pub use error::SqlError;
pub use limits::SqlLimits;
pub use output::QueryOutput;
pub use service::{GuildSql, SnapshotSource};
