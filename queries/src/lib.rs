//! DataFusion over the Parquet store and the live state: canned stats queries and guild-scoped ad hoc SQL.
//!
//! This crate is the seat of that layer in the workspace; its implementation is tracked by
//! issue 5 and has not landed yet. It depends only on `guildflow-model` so data keeps
//! flowing one way: shards -> dataflow -> (store, api); queries read store and state.
