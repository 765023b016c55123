//! The heart of guildflow: a timely/differential dataflow that keeps every statistic,
//! leaderboard, voice session, XP total and automod trigger of SPEC §2-4 exact and current.
//!
//! - [`engine`]: per-guild sequential state (de-duplication, voice sessions, XP cooldowns),
//!   turning events into per-batch pre-aggregated view deltas;
//! - [`graph`]: the timely/differential graph: input, exchange by guild, the engine operator,
//!   differential accumulation of the views, distinct active members, output;
//! - [`runtime`]: starting workers (threads, or processes over TCP) and feeding them;
//! - [`state`]: the read side: a consistent published state as of a watermark, leaderboards
//!   with top-k and rank, subscriptions;
//! - [`ranking`]: the order-statistics set behind leaderboards;
//! - [`automod`]: automod rules and their per-member windows;
//! - [`checkpoint`]: snapshots of the whole dataflow state, so a restart replays only the
//!   events after one.
//!
//! Timestamps: timely time is event time in milliseconds (the `at` of frames, SPEC §2), so
//! the dataflow frontier *is* the watermark, consistent across workers and processes: the read
//! side publishes the state as of the frontier.

pub mod automod;
pub mod checkpoint;
pub mod engine;
pub mod graph;
pub mod keys;
pub mod ranking;
pub mod runtime;
pub mod settings;
pub mod state;
pub mod timezone;
