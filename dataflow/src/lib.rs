//! The timely/differential dataflow that maintains guildflow's statistics, leaderboards, voice sessions, XP and automod triggers.
//!
//! This crate is the seat of that layer in the workspace; its implementation is tracked by
//! issue 3 and has not landed yet. It depends only on `guildflow-model` so data keeps
//! flowing one way: shards -> dataflow -> (store, api); queries read store and state.
