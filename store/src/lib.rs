//! Durable storage of every raw event: write-ahead log, Parquet and the PostgreSQL/TimescaleDB sink, and crash recovery.
//!
//! This crate is the seat of that layer in the workspace; its implementation is tracked by
//! issue 4 and has not landed yet. It depends only on `guildflow-model` so data keeps
//! flowing one way: shards -> dataflow -> (store, api); queries read store and state.
