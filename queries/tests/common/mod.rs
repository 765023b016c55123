//! A two-guild store for the SQL suite: guilds 100 and 116 share Parquet bucket 4 (of 16), so
//! every file mixes them and only the scan guard keeps them apart; a few rows stay in the tail.

#![allow(dead_code)]

use guildflow_model::EventKind;
use guildflow_store::parquet::{ParquetConfig, ParquetStore};
use guildflow_store::EventRow;
use std::path::PathBuf;

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000;
/// One day in ms.
pub const DAY: i64 = 86_400_000;
/// The guild the suite queries as.
pub const G1: u64 = 100;
/// The other guild in the same bucket.
pub const G2: u64 = 116;

/// Builds one row.
#[allow(clippy::too_many_arguments)]
pub fn row(
    lsn: u64,
    ts: i64,
    kind: EventKind,
    guild: u64,
    channel: Option<u64>,
    user: Option<u64>,
    message: Option<u64>,
    bot: bool,
    frame: &str,
) -> EventRow {
    EventRow {
        lsn,
        ts,
        shard: 0,
        seq: lsn,
        session: Some("secret-session".into()),
        kind,
        guild_id: Some(guild),
        channel_id: channel,
        user_id: user,
        message_id: message,
        bot,
        frame: frame.to_owned(),
    }
}

fn msg(lsn: u64, ts: i64, guild: u64, user: u64, id: u64, bot: bool, text: &str) -> EventRow {
    let frame = format!(
        r#"{{"op":0,"s":{lsn},"t":"MESSAGE_CREATE","d":{{"id":"{id}","guild_id":"{guild}","channel_id":"10","content":"{text}","author":{{"id":"{user}","bot":{bot}}}}}}}"#
    );
    row(
        lsn,
        ts,
        EventKind::MessageCreate,
        guild,
        Some(10),
        Some(user),
        Some(id),
        bot,
        &frame,
    )
}

fn voice(lsn: u64, ts: i64, guild: u64, user: u64, channel: Option<u64>) -> EventRow {
    row(
        lsn,
        ts,
        EventKind::VoiceState,
        guild,
        channel,
        Some(user),
        None,
        false,
        "{}",
    )
}

/// Committed rows.
pub fn committed() -> Vec<EventRow> {
    let gc =
        r#"{"op":0,"t":"GUILD_CREATE","d":{"id":"100","afk_channel_id":"99","voice_states":[]}}"#;
    vec![
        row(
            1,
            T0,
            EventKind::GuildCreate,
            G1,
            None,
            None,
            None,
            false,
            gc,
        ),
        msg(2, T0 + 1_000, G1, 1, 1001, false, "hello"),
        msg(3, T0 + 1_500, G2, 900, 2001, false, "secret-116"),
        msg(4, T0 + 2_000, G1, 2, 1002, false, "hi"),
        msg(5, T0 + 3_000, G1, 1, 1001, false, "hello"),
        msg(6, T0 + 4_000, G1, 3, 1003, true, "beep"),
        row(
            7,
            T0 + 5_000,
            EventKind::ReactionAdd,
            G1,
            Some(10),
            Some(2),
            Some(1001),
            false,
            "{}",
        ),
        voice(8, T0 + 10_000, G1, 1, Some(20)),
        voice(9, T0 + 20_000, G2, 901, Some(40)),
        voice(10, T0 + 30_000, G1, 2, Some(99)),
        voice(11, T0 + 130_000, G1, 1, None),
        msg(12, T0 + DAY + 5_000, G1, 2, 1004, false, "day two"),
    ]
}

/// Tail rows (accepted, not committed).
pub fn tail() -> Vec<EventRow> {
    vec![
        msg(13, T0 + DAY + 10_000, G1, 1, 1005, false, "tail"),
        msg(14, T0 + DAY + 11_000, G2, 900, 2002, false, "secret-tail"),
    ]
}

/// A store holding the fixture, in a fresh directory.
pub fn store(name: &str) -> (ParquetStore, PathBuf) {
    let dir = std::env::temp_dir().join(format!("guildflow-queries-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = ParquetConfig {
        retention_days: None,
        ..ParquetConfig::default()
    };
    let mut store = ParquetStore::open(&dir, config).expect("open store");
    let rows = committed();
    let last = rows.last().map_or(0, |r| r.lsn);
    store.write(rows, last).expect("write");
    store.push_tail(&tail());
    (store, dir)
}
