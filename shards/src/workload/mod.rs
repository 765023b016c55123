//! The seeded workload generator: a deterministic synthetic Discord that feeds the simulator,
//! the capture files and the throughput benches.
//!
//! This module owns everything synthetic about guildflow's input, and nothing else:
//!
//! - [`WorkloadConfig`]: the knobs (seed, guild count, shard count, event rate, size cap);
//! - [`World`]: the static world built once from the config — guilds with heavy-tailed sizes,
//!   channels (text, voice, AFK), roles (@everyone, admin, mod, cosmetic, managed bot roles),
//!   members (humans and bots, shared across guilds), emojis, webhooks and open voice sessions
//!   — and the full GUILD_CREATE `d` of each guild;
//! - [`ready_payload`]: the READY `d` a shard receives;
//! - [`DispatchGenerator`]: the endless dispatch stream (messages, reactions, voice state
//!   machine, member churn, rare channel/role/guild changes), one per shard or for all guilds;
//! - [`write_capture`]: a capture file (SPEC §1 line format) of READY, GUILD_CREATEs and a
//!   dispatch stream, merged over shards in event-time order.
//!
//! Everything is a pure function of the config: the same seed gives byte-identical payloads.
//! Payloads are Discord API v10 shapes with every field twilight-model 0.18 requires; they
//! are written straight into pre-sized `String`s (no `serde_json::Value` trees) because the
//! generator feeds throughput benches.
//!
//! Files, one concern each: `config` (the knobs), `distribution` (heavy-tailed sampling),
//! `snowflake` (ids and timestamps), `json` (the JSON writing primitives), `names` (word
//! lists and name derivation), `world` (the static world), `payload` (the `d` builders),
//! `content` (message text), `generator` (the dispatch stream), `writer` (capture files).

mod config;
mod content;
mod distribution;
mod generator;
mod json;
mod names;
mod payload;
mod snowflake;
mod world;
mod writer;

pub use config::WorkloadConfig;
pub use generator::{Dispatch, DispatchGenerator};
pub use payload::ready_payload;
pub use snowflake::{snowflake_timestamp_ms, DISCORD_EPOCH_MS};
pub use world::{World, BOT_USER_ID};
pub use writer::write_capture;

// The simulator's REST/OAuth side answers with the same users, members and permissions as the
// gateway payloads, so it reads the world and reuses the payload builders.
pub(crate) use payload::{guild_update, member_event, member_remove, message_delete, push_user};
pub(crate) use world::{perm, Guild, Member};
