//! The warp HTTP API: REST, the live leaderboard websocket, Prometheus metrics and the dashboard.
//!
//! This crate is the seat of that layer in the workspace; its implementation is tracked by
//! issue 5 and has not landed yet. It depends only on `guildflow-model` so data keeps
//! flowing one way: shards -> dataflow -> (store, api); queries read store and state.
