//! Erasing a member (privacy requests): their rows leave every Parquet file and their records
//! leave the log, everyone else's stay byte for byte, files without them are not rewritten,
//! LSNs stay stable, a failure before the commit leaves the committed state, and PostgreSQL
//! loses their rows in one transaction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guildflow_model::{EventKind, RawFrame};
use guildflow_store::erase::{erase_member, erase_member_postgres, EraseError};
use guildflow_store::lock::{lock_data_dir, LockError};
use guildflow_store::parquet::{ParquetConfig, ParquetStore};
use guildflow_store::postgres::{self, LocalCluster, PostgresSink, SinkConfig};
use guildflow_store::wal::{Wal, WalConfig};
use guildflow_store::EventRow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;
/// The guild and member erased; `H` is another guild (another bucket) the member is also in.
const G: u64 = 1_100_000_000_000_000_016;
const H: u64 = 1_100_000_000_000_000_021;
const U: u64 = 1_000_000_000_000_000_007;
const V: u64 = 1_000_000_000_000_000_008;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guildflow-erase-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What happened, in the members' terms.
#[derive(Clone, Copy)]
enum Ev {
    Message {
        guild: u64,
        user: u64,
        id: u64,
    },
    /// An edit without an author (an embed update): the member's only through the message.
    Edit {
        guild: u64,
        id: u64,
    },
    Delete {
        guild: u64,
        id: u64,
    },
    React {
        guild: u64,
        user: u64,
        message: u64,
    },
    Voice {
        guild: u64,
        user: u64,
    },
    /// A message of `user` mentioning `mentioned`: `user`'s, not `mentioned`'s.
    Mention {
        guild: u64,
        user: u64,
        mentioned: u64,
        id: u64,
    },
    /// Stored in the log only (the decoder ignores it, so it has no row).
    Typing {
        guild: u64,
        user: u64,
    },
    Ready,
}

/// The frame and row of `ev` stored at `lsn`, received at `at`.
fn stored(lsn: u64, at: i64, ev: Ev) -> (RawFrame, Option<EventRow>) {
    let (t, d, kind, guild, user, message) = match ev {
        Ev::Message { guild, user, id } => (
            "MESSAGE_CREATE",
            format!(
                r#"{{"id":"{id}","channel_id":"5","guild_id":"{guild}","author":{{"id":"{user}","username":"u{user}"}},"content":"hello from {user}"}}"#
            ),
            Some(EventKind::MessageCreate),
            Some(guild),
            Some(user),
            Some(id),
        ),
        Ev::Edit { guild, id } => (
            "MESSAGE_UPDATE",
            format!(
                r#"{{"id":"{id}","channel_id":"5","guild_id":"{guild}","embeds":[{{"title":"preview"}}]}}"#
            ),
            Some(EventKind::MessageUpdate),
            Some(guild),
            None,
            Some(id),
        ),
        Ev::Delete { guild, id } => (
            "MESSAGE_DELETE",
            format!(r#"{{"id":"{id}","channel_id":"5","guild_id":"{guild}"}}"#),
            Some(EventKind::MessageDelete),
            Some(guild),
            None,
            Some(id),
        ),
        Ev::React {
            guild,
            user,
            message,
        } => (
            "MESSAGE_REACTION_ADD",
            format!(
                r#"{{"user_id":"{user}","message_id":"{message}","channel_id":"5","guild_id":"{guild}","emoji":{{"name":"x"}}}}"#
            ),
            Some(EventKind::ReactionAdd),
            Some(guild),
            Some(user),
            Some(message),
        ),
        Ev::Voice { guild, user } => (
            "VOICE_STATE_UPDATE",
            format!(
                r#"{{"guild_id":"{guild}","channel_id":"9","user_id":"{user}","member":{{"user":{{"id":"{user}"}}}}}}"#
            ),
            Some(EventKind::VoiceState),
            Some(guild),
            Some(user),
            None,
        ),
        Ev::Mention {
            guild,
            user,
            mentioned,
            id,
        } => (
            "MESSAGE_CREATE",
            format!(
                r#"{{"id":"{id}","channel_id":"5","guild_id":"{guild}","author":{{"id":"{user}"}},"mentions":[{{"id":"{mentioned}"}}],"content":"hi <@{mentioned}>"}}"#
            ),
            Some(EventKind::MessageCreate),
            Some(guild),
            Some(user),
            Some(id),
        ),
        Ev::Typing { guild, user } => (
            "TYPING_START",
            format!(r#"{{"guild_id":"{guild}","channel_id":"5","user_id":"{user}"}}"#),
            None,
            Some(guild),
            Some(user),
            None,
        ),
        Ev::Ready => (
            "READY",
            r#"{"session_id":"s1","resume_gateway_url":"ws://x"}"#.to_owned(),
            Some(EventKind::Ready),
            None,
            None,
            None,
        ),
    };
    let raw = RawFrame {
        shard: 0,
        at,
        text: format!(r#"{{"op":0,"s":{lsn},"t":"{t}","d":{d}}}"#),
    };
    let row = kind.map(|kind| EventRow {
        lsn,
        ts: at,
        shard: 0,
        seq: lsn,
        session: Some("s1".into()),
        kind,
        guild_id: guild,
        channel_id: Some(5),
        user_id: user,
        message_id: message,
        bot: false,
        frame: raw.text.clone(),
    });
    (raw, row)
}

/// The events of the scenario, with the Parquet write (0, 1, 2) that stores them, or None
/// for the log's tail, and whether they are the member's in `G`.
fn scenario() -> Vec<(Option<usize>, i64, Ev, bool)> {
    let (m1, m2, m3, m4) = (901, 902, 903, 904);
    vec![
        (Some(0), T0, Ev::Ready, false),
        // V's message first and V's voice last: the file rewritten without U's rows keeps
        // its first and last lsn, so its new name must not be the old one's.
        (
            Some(0),
            T0 + 1,
            Ev::Message {
                guild: G,
                user: V,
                id: m2,
            },
            false,
        ),
        (
            Some(0),
            T0 + 2,
            Ev::Message {
                guild: G,
                user: U,
                id: m1,
            },
            true,
        ),
        (
            Some(0),
            T0 + 3,
            Ev::React {
                guild: G,
                user: V,
                message: m1,
            },
            false,
        ),
        (
            Some(0),
            T0 + 4,
            Ev::React {
                guild: G,
                user: U,
                message: m2,
            },
            true,
        ),
        (Some(0), T0 + 5, Ev::Voice { guild: G, user: U }, true),
        (Some(0), T0 + 6, Ev::Voice { guild: G, user: V }, false),
        (
            Some(0),
            T0 + 6,
            Ev::Message {
                guild: H,
                user: U,
                id: m3,
            },
            false,
        ),
        (
            Some(0),
            T0 + 7,
            Ev::Message {
                guild: H,
                user: V,
                id: 905,
            },
            false,
        ),
        (Some(1), T0 + 8, Ev::Edit { guild: G, id: m1 }, true),
        (
            Some(1),
            T0 + 9,
            Ev::Mention {
                guild: G,
                user: V,
                mentioned: U,
                id: 906,
            },
            false,
        ),
        (Some(1), T0 + 10, Ev::Delete { guild: G, id: m2 }, false),
        (Some(1), T0 + 11, Ev::Typing { guild: G, user: U }, true),
        (
            Some(2),
            T0 + DAY,
            Ev::Message {
                guild: G,
                user: V,
                id: 907,
            },
            false,
        ),
        (
            Some(2),
            T0 + DAY + 1,
            Ev::Message {
                guild: H,
                user: V,
                id: 908,
            },
            false,
        ),
        (
            None,
            T0 + DAY + 2,
            Ev::Message {
                guild: G,
                user: U,
                id: m4,
            },
            true,
        ),
        (None, T0 + DAY + 3, Ev::Typing { guild: G, user: U }, true),
        (None, T0 + DAY + 4, Ev::Delete { guild: G, id: m1 }, true),
        (
            None,
            T0 + DAY + 5,
            Ev::Message {
                guild: G,
                user: V,
                id: 909,
            },
            false,
        ),
        (None, T0 + DAY + 6, Ev::Voice { guild: G, user: V }, false),
    ]
}

struct Fixture {
    /// Every frame by lsn.
    frames: Vec<RawFrame>,
    /// Every row by lsn.
    rows: BTreeMap<u64, EventRow>,
    /// Whether each lsn is the member's.
    theirs: Vec<bool>,
    /// Lsns whose rows went to Parquet.
    in_parquet: Vec<u64>,
}

/// A data directory as a stopped process leaves it: Parquet holds the three writes, the log
/// holds every frame (its segments not yet dropped).
fn write_store(data: &Path) -> Fixture {
    let mut fixture = Fixture {
        frames: Vec::new(),
        rows: BTreeMap::new(),
        theirs: Vec::new(),
        in_parquet: Vec::new(),
    };
    let mut writes: Vec<Vec<EventRow>> = vec![Vec::new(); 3];
    let mut through = [0u64; 3];
    for (lsn, (write, at, ev, theirs)) in scenario().into_iter().enumerate() {
        let lsn = lsn as u64;
        let (raw, row) = stored(lsn, at, ev);
        fixture.frames.push(raw);
        fixture.theirs.push(theirs);
        if let Some(row) = row {
            if let Some(w) = write {
                writes[w].push(row.clone());
                fixture.in_parquet.push(lsn);
            }
            fixture.rows.insert(lsn, row);
        }
        if let Some(w) = write {
            through[w] = lsn;
        }
    }
    let mut store = ParquetStore::open(&data.join("events"), ParquetConfig::default()).unwrap();
    for (rows, through) in writes.into_iter().zip(through) {
        store.write(rows, through).unwrap();
    }
    let mut wal = Wal::open(&data.join("wal"), small_segments()).unwrap();
    wal.append(&fixture.frames).unwrap();
    fixture
}

fn small_segments() -> WalConfig {
    WalConfig {
        segment_bytes: 600,
        ..WalConfig::default()
    }
}

fn parquet_rows(data: &Path) -> Vec<EventRow> {
    let store = ParquetStore::open(&data.join("events"), ParquetConfig::default()).unwrap();
    let mut rows = Vec::new();
    for chunk in store.read_rows_after(None) {
        rows.extend(chunk.unwrap());
    }
    rows
}

fn log_records(data: &Path) -> Vec<(u64, RawFrame)> {
    Wal::open(&data.join("wal"), small_segments())
        .unwrap()
        .read_from(0)
        .unwrap()
}

fn file_listing(data: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    let store = ParquetStore::open(&data.join("events"), ParquetConfig::default()).unwrap();
    store
        .manifest()
        .files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f.path_in(&data.join("events"))).unwrap();
            (f.path.clone(), (f.bytes, meta.modified().unwrap()))
        })
        .collect()
}

#[test]
fn a_member_leaves_every_file_and_the_log_and_everyone_else_stays() {
    let data = dir("member");
    let fx = write_store(&data);
    let files_before = file_listing(&data);
    let rows_before = parquet_rows(&data);
    assert_eq!(rows_before.len(), fx.in_parquet.len());

    let report = erase_member(&data, G, U).unwrap();

    let erased_rows: Vec<u64> = fx
        .in_parquet
        .iter()
        .copied()
        .filter(|&l| fx.theirs[l as usize])
        .collect();
    let erased_records = fx.theirs.iter().filter(|t| **t).count() as u64;
    assert_eq!(report.parquet_rows, erased_rows.len() as u64, "{report:?}");
    assert_eq!(erased_rows.len(), 4, "message, reaction, voice, edit");
    assert_eq!(report.log_records, erased_records, "{report:?}");
    assert_eq!(report.messages, 2, "m1 and m4 are theirs");
    assert!(!report.resumed);

    // Parquet: exactly the others' rows, unchanged, in lsn order.
    let after = parquet_rows(&data);
    let expected: Vec<&EventRow> = fx
        .in_parquet
        .iter()
        .filter(|&&l| !fx.theirs[l as usize])
        .map(|l| &fx.rows[l])
        .collect();
    assert_eq!(after.iter().collect::<Vec<_>>(), expected);
    assert_eq!(
        after.len() as u64,
        rows_before.len() as u64 - report.parquet_rows
    );
    assert!(
        after
            .iter()
            .any(|r| r.guild_id == Some(H) && r.user_id == Some(U)),
        "their other guild stays"
    );
    assert!(after
        .iter()
        .all(|r| !(r.guild_id == Some(G) && r.user_id == Some(U))));

    // Only the files holding their rows were replaced (one per write of day 0 in G's bucket).
    let files_after = file_listing(&data);
    assert_eq!(report.files_rewritten, 2, "{report:?}");
    assert_eq!(report.files_removed, 0);
    let untouched: Vec<&String> = files_before
        .iter()
        .filter(|(p, meta)| files_after.get(*p) == Some(meta))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        untouched.len(),
        files_before.len() - 2,
        "{files_before:?} {files_after:?}"
    );
    assert_eq!(files_after.len(), files_before.len());
    assert!(
        files_after
            .keys()
            .any(|p| p.ends_with(&format!("-e{}.parquet", 4))),
        "the file keeping its first and last lsn was committed under a new name: {files_after:?}"
    );
    let on_disk = walk(&data.join("events"));
    assert_eq!(
        on_disk.len(),
        files_after.len(),
        "replaced files are deleted: {on_disk:?}"
    );

    // Log: every other record at its lsn, theirs gone, lsns stable.
    let log = log_records(&data);
    let expected: Vec<(u64, RawFrame)> = fx
        .frames
        .iter()
        .enumerate()
        .filter(|(l, _)| !fx.theirs[*l])
        .map(|(l, f)| (l as u64, f.clone()))
        .collect();
    assert_eq!(log, expected);
    let wal = Wal::open(&data.join("wal"), small_segments()).unwrap();
    assert_eq!(wal.next_lsn(), fx.frames.len() as u64);
    assert_eq!(wal.recovery().corrupt, 0);
    for file in walk(&data.join("wal")) {
        let bytes = std::fs::read(&file).unwrap();
        for (lsn, frame) in fx.frames.iter().enumerate().filter(|(l, _)| fx.theirs[*l]) {
            assert!(
                !contains(&bytes, frame.text.as_bytes()),
                "{file:?} holds lsn {lsn}"
            );
        }
    }
    assert!(!data.join(format!("ERASE-{G}-{U}.json")).exists());

    // Again: nothing left to erase, nothing rewritten.
    let again = erase_member(&data, G, U).unwrap();
    assert_eq!(
        (again.parquet_rows, again.log_records, again.files_rewritten),
        (0, 0, 0)
    );
    assert_eq!(file_listing(&data), files_after);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_failure_before_the_commit_leaves_the_committed_state_and_a_rerun_finishes() {
    let data = dir("crash");
    let fx = write_store(&data);
    let rows_before = parquet_rows(&data);
    let log_before = log_records(&data);
    let manifest_before = std::fs::read(data.join("events/manifest.json")).unwrap();
    // The manifest's temp name taken by a directory: every new file is written, then the
    // commit fails, as a crash just before it would leave things.
    std::fs::create_dir(data.join("events/manifest.json.tmp")).unwrap();

    let err = erase_member(&data, G, U).unwrap_err();
    assert!(matches!(err, EraseError::Parquet(_)), "{err}");

    assert_eq!(
        std::fs::read(data.join("events/manifest.json")).unwrap(),
        manifest_before
    );
    assert_eq!(
        parquet_rows(&data),
        rows_before,
        "the old files are listed and readable"
    );
    assert_eq!(
        log_records(&data),
        log_before,
        "the log is erased after Parquet commits"
    );
    assert!(
        data.join(format!("ERASE-{G}-{U}.json")).exists(),
        "the erasure is recorded as unfinished"
    );

    std::fs::remove_dir(data.join("events/manifest.json.tmp")).unwrap();
    let report = erase_member(&data, G, U).unwrap();
    assert!(report.resumed);
    assert_eq!(report.parquet_rows, 4);
    assert_eq!(
        report.log_records,
        fx.theirs.iter().filter(|t| **t).count() as u64
    );
    assert_eq!(parquet_rows(&data).len(), rows_before.len() - 4);
    assert!(!data.join(format!("ERASE-{G}-{U}.json")).exists());
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn an_interrupted_log_erasure_is_finished_with_the_recorded_messages() {
    let data = dir("resume");
    let fx = write_store(&data);
    // A first run committed Parquet (the member's messages are gone from it) and crashed in
    // the log after erasing the segment holding m4's message but not the one holding m1's
    // deletion: only the record of the erasure still knows m1 was theirs.
    let mut wal = Wal::open(&data.join("wal"), small_segments()).unwrap();
    let m1_delete = fx.frames.len() as u64 - 3;
    wal.erase_records(|lsn, _| fx.theirs[lsn as usize] && lsn != m1_delete)
        .unwrap();
    drop(wal);
    let mut store = ParquetStore::open(&data.join("events"), ParquetConfig::default()).unwrap();
    let files = store.manifest().files.clone();
    store
        .rewrite_files(&files, |r| !fx.theirs[r.lsn as usize])
        .unwrap();
    drop(store);
    std::fs::write(
        data.join(format!("ERASE-{G}-{U}.json")),
        format!(r#"{{"guild":{G},"user":{U},"messages":[901,904]}}"#),
    )
    .unwrap();

    let report = erase_member(&data, G, U).unwrap();
    assert!(report.resumed);
    assert_eq!(
        (report.parquet_rows, report.log_records),
        (0, 1),
        "{report:?}"
    );
    assert!(log_records(&data)
        .iter()
        .all(|(l, _)| !fx.theirs[*l as usize]));
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_directory_in_use_or_not_a_data_directory_is_refused() {
    let data = dir("locked");
    write_store(&data);
    let lock = lock_data_dir(&data).unwrap();
    let err = erase_member(&data, G, U).unwrap_err();
    assert!(matches!(err, EraseError::Lock(LockError::Held(_))), "{err}");
    assert!(err.to_string().contains("in use"), "{err}");
    drop(lock);
    assert_eq!(erase_member(&data, G, U).unwrap().parquet_rows, 4);

    let empty = dir("empty");
    let err = erase_member(&empty.join("typo"), G, U).unwrap_err();
    assert!(matches!(err, EraseError::NotADataDir(_)), "{err}");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn tombstones_keep_lsns_and_the_log_appends_on_after_an_erasure() {
    let data = dir("wal");
    let frames: Vec<RawFrame> = (0..40)
        .map(|i| {
            stored(
                i,
                T0 + i as i64,
                Ev::Message {
                    guild: G,
                    user: if i % 3 == 0 { U } else { V },
                    id: i,
                },
            )
            .0
        })
        .collect();
    let mut wal = Wal::open(&data, small_segments()).unwrap();
    wal.append(&frames).unwrap();
    let segments = walk(&data);
    assert!(segments.len() > 3, "several segments: {segments:?}");
    // A temp file of an interrupted rewrite is cleaned up.
    std::fs::write(data.join("wal-00000000000000000000.log.tmp"), b"partial").unwrap();

    let erased = wal.erase_records(|lsn, _| lsn % 3 == 0).unwrap();
    assert_eq!(erased.records, 14);
    assert_eq!(erased.stale_temps_removed, 1);
    assert_eq!(erased.segments, segments.len(), "every segment held one");
    // The last segment was replaced under the open log: appends go to the new file.
    assert_eq!(wal.append(&frames[..2]).unwrap(), 40);
    let expect = |log: Vec<(u64, RawFrame)>| {
        let lsns: Vec<u64> = log.iter().map(|(l, _)| *l).collect();
        let want: Vec<u64> = (0..42).filter(|l| l >= &40 || l % 3 != 0).collect();
        assert_eq!(lsns, want);
        for (lsn, frame) in log {
            let want = if lsn >= 40 {
                &frames[lsn as usize - 40]
            } else {
                &frames[lsn as usize]
            };
            assert_eq!(&frame, want);
        }
    };
    expect(wal.read_from(0).unwrap());
    drop(wal);
    let mut wal = Wal::open(&data, small_segments()).unwrap();
    assert_eq!(wal.next_lsn(), 42);
    assert_eq!(wal.recovery().records, 42, "a tombstone is a valid record");
    assert_eq!(wal.recovery().corrupt, 0);
    expect(wal.read_from(0).unwrap());
    assert_eq!(walk(&data).len(), segments.len(), "no temp file left");
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn postgres_loses_the_members_rows_in_one_transaction() {
    let cluster = LocalCluster::start().unwrap_or_else(|e| {
        panic!("this test needs a PostgreSQL server it starts itself and could not: {e}")
    });
    let data = dir("postgres");
    let fx = write_store(&data);
    let (client, _driver) = postgres::connect(&cluster.url()).await.unwrap();
    postgres::migrate(&client).await.unwrap();
    let mut sink = PostgresSink::connect(SinkConfig::new(cluster.url()))
        .await
        .unwrap();
    let rows: Vec<EventRow> = fx.rows.values().cloned().collect();
    sink.write(&rows).await.unwrap();
    let (g, u, v, h) = (G as i64, U as i64, V as i64, H as i64);
    for (guild, user) in [(g, u), (g, v), (h, u)] {
        client
            .execute(
                "INSERT INTO member_stats (guild_id, user_id, period, period_start, messages)
                 VALUES ($1, $2, 'day', '2026-01-01', 3), ($1, $2, 'all', '1970-01-01', 3)",
                &[&guild, &user],
            )
            .await
            .unwrap();
        client
            .execute(
                "WITH m AS (INSERT INTO moderation_logs (guild_id, target_user_id, action, evidence)
                            VALUES ($1, $2, 'warn', '{\"content\":\"spam\"}') RETURNING id)
                 INSERT INTO warnings (guild_id, user_id, reason, moderation_log_id)
                 SELECT $1, $2, 'spam', id FROM m",
                &[&guild, &user],
            )
            .await
            .unwrap();
    }
    client
        .execute(
            "INSERT INTO stats_opt_outs (guild_id, user_id) VALUES ($1, $2)",
            &[&g, &u],
        )
        .await
        .unwrap();
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let events_before = count("SELECT count(*) FROM events").await;

    let erased = erase_member_postgres(&cluster.url(), G, U).await.unwrap();

    // Theirs among the rows: message m1, reaction, voice, edit of m1, message m4, deletion of m1.
    let theirs = fx.rows.keys().filter(|l| fx.theirs[**l as usize]).count() as u64;
    assert_eq!(theirs, 6);
    assert_eq!(erased.events, theirs, "{erased:?}");
    assert_eq!(
        (erased.member_stats, erased.warnings, erased.moderation_logs),
        (2, 1, 1)
    );
    assert_eq!(erased.total(), theirs + 4);
    assert_eq!(
        count("SELECT count(*) FROM events").await,
        events_before - theirs as i64
    );
    let left: Vec<(i64, Option<i64>)> = client
        .query("SELECT lsn, user_id FROM events ORDER BY lsn", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let want: Vec<(i64, Option<i64>)> = fx
        .rows
        .values()
        .filter(|r| !fx.theirs[r.lsn as usize])
        .map(|r| (r.lsn as i64, r.user_id.map(|u| u as i64)))
        .collect();
    assert_eq!(left, want);
    assert_eq!(
        count(
            "SELECT count(*) FROM member_stats WHERE user_id = 1000000000000000007 AND guild_id = 1100000000000000016"
        )
        .await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM member_stats").await,
        4,
        "V in G and U in H stay"
    );
    assert_eq!(count("SELECT count(*) FROM warnings").await, 2);
    assert_eq!(count("SELECT count(*) FROM moderation_logs").await, 2);
    assert_eq!(
        count("SELECT count(*) FROM stats_opt_outs").await,
        1,
        "the opt-out outlives the erasure"
    );

    let again = erase_member_postgres(&cluster.url(), G, U).await.unwrap();
    assert_eq!(again.total(), 0);
    assert_eq!(
        erase_member_postgres(&cluster.url(), u64::MAX, U)
            .await
            .unwrap()
            .total(),
        0
    );
    let _ = std::fs::remove_dir_all(&data);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.file_name().is_some_and(|n| n != "manifest.json") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
