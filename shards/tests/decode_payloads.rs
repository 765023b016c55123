//! The raw-frame decoder against real Discord gateway payload shapes.
//!
//! The fixtures under `tests/payloads/` are full gateway frames built from the example payloads
//! of Discord's API documentation (Message, Guild, Guild Member, Voice State, Channel and Role
//! examples, GUILD_CREATE's extra fields, READY, HELLO, ...), completed with the fields Discord
//! really sends on the gateway. Every normalized field is asserted, and every fixture that is a
//! complete Discord shape must also decode with twilight-model, the reference decoder.
//!
//! Then: non-dispatch frames, unknown dispatch types, malformed input with its exact reason
//! label, a seeded mutation fuzz of the fixtures, and `Ingest` / capture replay over mixed input.

#![allow(clippy::unwrap_used)]

use guildflow_model::{
    ChannelId, ChannelInfo, ChannelKind, EmojiId, Event, EventBody, EventKind, GuildId, GuildInfo,
    MemberInfo, MessageCreate, MessageId, MessageRef, MessageUpdate, Reaction, RoleId, RoleInfo,
    UserId, VoiceState,
};
use guildflow_shards::capture::{CaptureItem, CaptureReader, CaptureWriter};
use guildflow_shards::decode::twilight::decode_frame_twilight;
use guildflow_shards::decode::{
    decode_frame, parse_rfc3339_ms, DecodeCounters, DecodeError, DecodeReason, Decoded,
    MAX_FRAME_BYTES,
};
use guildflow_shards::ingest::Ingest;
use guildflow_shards::RawFrame;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use twilight_model::gateway::event::GatewayEvent;

/// Receive time given to every decoded frame.
const AT: i64 = 1_767_225_600_123;
/// Shard given to every decoded frame.
const SHARD: u32 = 3;

// Ids of Discord's documentation examples, reused across the fixtures.
const GUILD: GuildId = GuildId(290_926_798_626_357_250);
const CHANNEL: ChannelId = ChannelId(290_926_798_999_357_250);
const MESSAGE: MessageId = MessageId(334_385_199_974_967_042);
const MASON: UserId = UserId(53_908_099_506_183_680);
const NELLY: UserId = UserId(80_351_110_224_678_912);
const TEST_USER: UserId = UserId(82_198_898_841_029_460);
const BOT: UserId = UserId(1_009_876_543_210_987_654);
const ROLE_BOYZ: RoleId = RoleId(41_771_983_423_143_936);
const ROLE_ADMINS: RoleId = RoleId(290_926_798_626_357_251);
const ROLE_BOT: RoleId = RoleId(1_009_876_543_210_987_700);
const ROCKET_CHEESE: ChannelId = ChannelId(155_101_607_195_836_416);
const CATEGORY: ChannelId = ChannelId(399_942_396_007_890_945);

/// `2015-04-26T06:26:56.936000+00:00` (Discord's Guild Member example) in Unix ms.
const NELLY_JOINED_MS: i64 = 1_430_029_616_936;
/// `2022-08-01T00:00:00.000000+00:00` in Unix ms.
const BOT_JOINED_MS: i64 = 1_659_312_000_000;
/// `2022-08-01T10:34:56.789000+00:00` in Unix ms.
const BOT_UPDATED_JOINED_MS: i64 = 1_659_350_096_789;

/// The dispatch types the lean decoder normalizes, with their kind.
const HANDLED: [(&str, EventKind); 20] = [
    ("READY", EventKind::Ready),
    ("RESUMED", EventKind::Resumed),
    ("MESSAGE_CREATE", EventKind::MessageCreate),
    ("MESSAGE_UPDATE", EventKind::MessageUpdate),
    ("MESSAGE_DELETE", EventKind::MessageDelete),
    ("MESSAGE_DELETE_BULK", EventKind::MessageDeleteBulk),
    ("MESSAGE_REACTION_ADD", EventKind::ReactionAdd),
    ("MESSAGE_REACTION_REMOVE", EventKind::ReactionRemove),
    ("VOICE_STATE_UPDATE", EventKind::VoiceState),
    ("GUILD_MEMBER_ADD", EventKind::MemberAdd),
    ("GUILD_MEMBER_UPDATE", EventKind::MemberUpdate),
    ("GUILD_MEMBER_REMOVE", EventKind::MemberRemove),
    ("GUILD_CREATE", EventKind::GuildCreate),
    ("GUILD_UPDATE", EventKind::GuildUpdate),
    ("GUILD_DELETE", EventKind::GuildDelete),
    ("CHANNEL_CREATE", EventKind::ChannelCreate),
    ("CHANNEL_UPDATE", EventKind::ChannelUpdate),
    ("CHANNEL_DELETE", EventKind::ChannelDelete),
    ("GUILD_ROLE_CREATE", EventKind::RoleCreate),
    ("GUILD_ROLE_UPDATE", EventKind::RoleUpdate),
];

fn handled_kind(t: &str) -> Option<EventKind> {
    if t == "GUILD_ROLE_DELETE" {
        return Some(EventKind::RoleDelete);
    }
    HANDLED.iter().find(|(name, _)| *name == t).map(|(_, k)| *k)
}

fn payloads_dir() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/payloads")
}

fn fixture(name: &str) -> String {
    let path = payloads_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every fixture, sorted by name (deterministic order for the fuzz).
fn all_fixtures() -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(payloads_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = fixture(&name);
            (name, text)
        })
        .collect()
}

/// The fixture as compact JSON (one line, no insignificant whitespace).
fn compact(name: &str) -> String {
    let value: Value = serde_json::from_str(&fixture(name)).unwrap();
    value.to_string()
}

/// Decodes a fixture that must be a normalized event with sequence `seq`; returns its body.
fn body_of(name: &str, seq: u64) -> EventBody {
    body_of_text(name, &fixture(name), seq)
}

fn body_of_text(label: &str, text: &str, seq: u64) -> EventBody {
    match decode_frame(text, SHARD, AT) {
        Ok(Decoded::Event(event)) => {
            assert_eq!(event.at, AT, "{label}: receive time");
            assert_eq!(event.shard, SHARD, "{label}: shard");
            assert_eq!(event.seq, seq, "{label}: sequence");
            event.body
        }
        other => panic!("{label}: expected a normalized event, got {other:?}"),
    }
}

/// Decodes `text`, which must fail; returns the reason.
fn reason_of(text: &str) -> DecodeReason {
    match decode_frame(text, SHARD, AT) {
        Err(error) => {
            // The message and label exist for every error.
            assert!(!error.to_string().is_empty());
            assert!(!error.reason().as_str().is_empty());
            error.reason()
        }
        Ok(ok) => panic!("expected an error, got {ok:?} for {}", preview(text)),
    }
}

fn preview(text: &str) -> String {
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{:?}{}",
        &text[..end],
        if end < text.len() { "..." } else { "" }
    )
}

/// A dispatch frame with `d` given as JSON text.
fn dispatch(t: &str, seq: u64, d: &str) -> String {
    format!(r#"{{"op":0,"s":{seq},"t":"{t}","d":{d}}}"#)
}

/// The `d` of a fixture with a JSON edit applied, as a whole frame.
fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut frame: Value = serde_json::from_str(&fixture(name)).unwrap();
    edit(&mut frame["d"]);
    frame.to_string()
}

fn role(id: RoleId, name: &str, permissions: u64, position: i64) -> RoleInfo {
    RoleInfo {
        id,
        name: name.into(),
        permissions,
        position,
    }
}

fn channel(
    guild: Option<GuildId>,
    id: u64,
    kind: ChannelKind,
    name: Option<&str>,
    parent: Option<ChannelId>,
) -> ChannelInfo {
    ChannelInfo {
        guild,
        id: ChannelId(id),
        kind,
        name: name.map(Into::into),
        parent,
    }
}

// ------------------------------------------------------------------------------------------
// 1. Real Discord payload shapes, every normalized field.
// ------------------------------------------------------------------------------------------

#[test]
fn message_create_from_the_documented_message_example() {
    // Discord's Message example plus MESSAGE_CREATE's `guild_id` and partial `member`,
    // mentions carrying partial members (Nelly twice), a repeated role mention, two
    // attachments and one embed.
    assert_eq!(
        body_of("message_create.json", 42),
        EventBody::MessageCreate(Box::new(MessageCreate {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MESSAGE,
            author: MASON,
            author_bot: false,
            webhook: false,
            author_roles: vec![ROLE_BOYZ, ROLE_ADMINS].into(),
            content: "Supa Hot <@80351110224678912> <@80351110224678912> <@82198898841029460> \
                      <@&41771983423143936> <@&290926798626357251>"
                .into(),
            mention_users: 2,
            mention_roles: 2,
            mention_everyone: false,
            attachments: 2,
            embeds: 1,
        }))
    );
}

#[test]
fn message_create_from_a_webhook_with_unicode_content() {
    assert_eq!(
        body_of("message_create_webhook.json", 43),
        EventBody::MessageCreate(Box::new(MessageCreate {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MessageId(1_213_456_789_012_345_678),
            author: UserId(223_704_706_495_545_344),
            author_bot: true,
            webhook: true,
            author_roles: Box::default(),
            content: "@everyone Deploy ✅ 🚀 — «naïve» café, 日本語, Ελληνικά, emoji ZWJ 👩‍💻 \
                      and 🇫🇷"
                .into(),
            mention_users: 0,
            mention_roles: 0,
            mention_everyone: true,
            attachments: 0,
            embeds: 2,
        }))
    );
}

#[test]
fn message_create_from_a_bot_without_content_intent() {
    assert_eq!(
        body_of("message_create_bot.json", 44),
        EventBody::MessageCreate(Box::new(MessageCreate {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MessageId(1_213_456_789_012_345_679),
            author: BOT,
            author_bot: true,
            webhook: false,
            author_roles: vec![ROLE_BOT].into(),
            content: "".into(),
            mention_users: 0,
            mention_roles: 0,
            mention_everyone: false,
            attachments: 0,
            embeds: 0,
        }))
    );
}

#[test]
fn message_create_in_a_dm_has_no_guild() {
    let body = body_of("message_create_dm.json", 45);
    assert_eq!(body.guild(), None);
    assert_eq!(
        body,
        EventBody::MessageCreate(Box::new(MessageCreate {
            guild: None,
            channel: ChannelId(319_674_150_115_610_528),
            message: MessageId(1_213_456_789_012_345_680),
            author: TEST_USER,
            author_bot: false,
            webhook: false,
            author_roles: Box::default(),
            content: "hi bot, what's my rank?".into(),
            mention_users: 0,
            mention_roles: 0,
            mention_everyone: false,
            attachments: 0,
            embeds: 0,
        }))
    );
}

#[test]
fn message_update_full_and_partial() {
    assert_eq!(
        body_of("message_update.json", 46),
        EventBody::MessageUpdate(Box::new(MessageUpdate {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MESSAGE,
            author: Some(MASON),
            content: Some("Supa Hot (edited)".into()),
        }))
    );
    // The partial shape (an embed unfurl): no author, no content.
    assert_eq!(
        body_of("message_update_partial.json", 47),
        EventBody::MessageUpdate(Box::new(MessageUpdate {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MESSAGE,
            author: None,
            content: None,
        }))
    );
}

#[test]
fn message_delete_and_delete_bulk() {
    assert_eq!(
        body_of("message_delete.json", 48),
        EventBody::MessageDelete(MessageRef {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MESSAGE,
        })
    );
    assert_eq!(
        body_of("message_delete_bulk.json", 49),
        EventBody::MessageDeleteBulk {
            guild: Some(GUILD),
            channel: CHANNEL,
            messages: vec![
                MESSAGE,
                MessageId(1_213_456_789_012_345_678),
                MessageId(1_213_456_789_012_345_679),
            ]
            .into(),
        }
    );
}

#[test]
fn reactions_custom_and_unicode_emoji_and_bot_flag() {
    assert_eq!(
        body_of("message_reaction_add.json", 50),
        EventBody::ReactionAdd(Reaction {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MESSAGE,
            user: NELLY,
            user_bot: false,
            emoji_id: Some(EmojiId(393_564_762_228_785_161)),
            emoji_name: Some("ultrafastparrot".into()),
        })
    );
    assert_eq!(
        body_of("message_reaction_add_bot_unicode.json", 51),
        EventBody::ReactionAdd(Reaction {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MESSAGE,
            user: BOT,
            user_bot: true,
            emoji_id: None,
            emoji_name: Some("🔥".into()),
        })
    );
    // REMOVE carries no member: the bot flag cannot be known and is false.
    assert_eq!(
        body_of("message_reaction_remove.json", 52),
        EventBody::ReactionRemove(Reaction {
            guild: Some(GUILD),
            channel: CHANNEL,
            message: MESSAGE,
            user: NELLY,
            user_bot: false,
            emoji_id: None,
            emoji_name: Some("👍🏽".into()),
        })
    );
}

#[test]
fn voice_state_join_and_leave() {
    // Discord's Voice State example with the gateway's guild_id and member.
    assert_eq!(
        body_of("voice_state_update.json", 53),
        EventBody::VoiceState(VoiceState {
            guild: GUILD,
            user: NELLY,
            channel: Some(ChannelId(157_733_188_964_188_161)),
            bot: false,
            self_mute: true,
            self_deaf: false,
        })
    );
    assert_eq!(
        body_of("voice_state_update_leave.json", 54),
        EventBody::VoiceState(VoiceState {
            guild: GUILD,
            user: BOT,
            channel: None,
            bot: true,
            self_mute: true,
            self_deaf: true,
        })
    );
}

#[test]
fn guild_members_add_update_remove() {
    // Discord's Guild Member example plus GUILD_MEMBER_ADD's guild_id.
    assert_eq!(
        body_of("guild_member_add.json", 55),
        EventBody::MemberAdd(MemberInfo {
            guild: GUILD,
            user: NELLY,
            bot: false,
            roles: Box::default(),
            joined_at: Some(NELLY_JOINED_MS),
            name: Some("NOT API SUPPORT".into()),
        })
    );
    assert_eq!(
        body_of("guild_member_update.json", 56),
        EventBody::MemberUpdate(MemberInfo {
            guild: GUILD,
            user: BOT,
            bot: true,
            roles: vec![ROLE_BOYZ, ROLE_ADMINS].into(),
            joined_at: Some(BOT_UPDATED_JOINED_MS),
            name: Some("Flow".into()),
        })
    );
    assert_eq!(
        body_of("guild_member_remove.json", 57),
        EventBody::MemberRemove {
            guild: GUILD,
            user: TEST_USER,
        }
    );
}

#[test]
fn guild_create_with_the_gateway_extra_fields() {
    let expected = GuildInfo {
        id: GUILD,
        name: "Mason's Test Server".into(),
        owner: UserId(53_908_232_506_183_680),
        member_count: Some(3),
        afk_channel: Some(ROCKET_CHEESE),
        roles: vec![
            role(RoleId(GUILD.get()), "@everyone", 49_794_752, 0),
            role(ROLE_BOYZ, "WE DEM BOYZZ!!!!!!", 66_321_471, 1),
            // ALL permissions: bits above 2^32 survive the string parse.
            role(ROLE_ADMINS, "Admins", 2_251_799_813_685_247, 3),
            role(ROLE_BOT, "guildflow", 8, 2),
        ],
        channels: vec![
            channel(
                Some(GUILD),
                CATEGORY.get(),
                ChannelKind::Category,
                Some("Text Channels"),
                None,
            ),
            channel(
                Some(GUILD),
                41_771_983_423_143_937,
                ChannelKind::Text,
                Some("general"),
                Some(CATEGORY),
            ),
            channel(
                Some(GUILD),
                41_771_983_423_143_938,
                ChannelKind::Text,
                Some("important-news"),
                Some(CATEGORY),
            ),
            channel(
                Some(GUILD),
                ROCKET_CHEESE.get(),
                ChannelKind::Voice,
                Some("ROCKET CHEESE"),
                None,
            ),
            channel(
                Some(GUILD),
                1_085_327_441_011_277_824,
                ChannelKind::Voice,
                Some("Town Hall"),
                None,
            ),
            channel(
                Some(GUILD),
                1_085_327_441_011_277_825,
                ChannelKind::Text,
                Some("help-forum"),
                Some(CATEGORY),
            ),
        ],
        members: vec![
            MemberInfo {
                guild: GUILD,
                user: NELLY,
                bot: false,
                roles: vec![ROLE_BOYZ].into(),
                joined_at: Some(NELLY_JOINED_MS),
                name: Some("NOT API SUPPORT".into()),
            },
            MemberInfo {
                guild: GUILD,
                user: BOT,
                bot: true,
                roles: vec![ROLE_BOT].into(),
                joined_at: Some(BOT_JOINED_MS),
                name: Some("guildflow".into()),
            },
        ],
        voice_states: vec![
            VoiceState {
                guild: GUILD,
                user: NELLY,
                channel: Some(ROCKET_CHEESE),
                bot: false,
                self_mute: true,
                self_deaf: false,
            },
            // GUILD_CREATE's voice states carry no `member`, so the bot flag is not known
            // here even for the bot itself (its member entry above says bot).
            VoiceState {
                guild: GUILD,
                user: BOT,
                channel: Some(ROCKET_CHEESE),
                bot: false,
                self_mute: false,
                self_deaf: true,
            },
        ],
    };
    assert_eq!(
        body_of("guild_create.json", 3),
        EventBody::GuildCreate(Box::new(expected))
    );
}

#[test]
fn guild_create_unavailable_is_ignored_with_its_sequence() {
    assert_eq!(
        decode_frame(&fixture("guild_create_unavailable.json"), SHARD, AT).unwrap(),
        Decoded::Ignored {
            t: "GUILD_CREATE".into(),
            seq: 4,
        }
    );
}

#[test]
fn guild_update_has_empty_collections() {
    assert_eq!(
        body_of("guild_update.json", 58),
        EventBody::GuildUpdate(Box::new(GuildInfo {
            id: GUILD,
            name: "Mason's Test Server".into(),
            owner: UserId(53_908_232_506_183_680),
            member_count: None,
            afk_channel: None,
            roles: vec![role(RoleId(GUILD.get()), "@everyone", 49_794_752, 0)],
            channels: Vec::new(),
            members: Vec::new(),
            voice_states: Vec::new(),
        }))
    );
}

#[test]
fn guild_delete_outage_and_removal() {
    assert_eq!(
        body_of("guild_delete_unavailable.json", 59),
        EventBody::GuildDelete {
            guild: GUILD,
            unavailable: true,
        }
    );
    assert_eq!(
        body_of("guild_delete.json", 60),
        EventBody::GuildDelete {
            guild: GUILD,
            unavailable: false,
        }
    );
    let explicit_false = dispatch(
        "GUILD_DELETE",
        61,
        r#"{"id":"290926798626357250","unavailable":false}"#,
    );
    assert_eq!(
        body_of_text("unavailable:false", &explicit_false, 61),
        EventBody::GuildDelete {
            guild: GUILD,
            unavailable: false,
        }
    );
}

#[test]
fn channels_guild_and_dm() {
    const DOC_GUILD: GuildId = GuildId(41_771_983_423_143_937);
    assert_eq!(
        body_of("channel_create.json", 65),
        EventBody::ChannelCreate(channel(
            Some(DOC_GUILD),
            41_771_983_423_143_937,
            ChannelKind::Text,
            Some("general"),
            Some(CATEGORY),
        ))
    );
    assert_eq!(
        body_of("channel_update.json", 66),
        EventBody::ChannelUpdate(channel(
            Some(DOC_GUILD),
            ROCKET_CHEESE.get(),
            ChannelKind::Voice,
            Some("ROCKET CHEESE"),
            None,
        ))
    );
    assert_eq!(
        body_of("channel_delete.json", 67),
        EventBody::ChannelDelete(channel(
            Some(DOC_GUILD),
            CATEGORY.get(),
            ChannelKind::Category,
            Some("my-category"),
            None,
        ))
    );
    // Discord's DM channel example: no guild_id, no name.
    let dm = body_of("channel_create_dm.json", 68);
    assert_eq!(dm.guild(), None);
    assert_eq!(
        dm,
        EventBody::ChannelCreate(channel(
            None,
            319_674_150_115_610_528,
            ChannelKind::Other,
            None,
            None
        ))
    );
}

#[test]
fn channel_kinds_follow_discord_types() {
    let cases = [
        (0, ChannelKind::Text),
        (1, ChannelKind::Other),
        (2, ChannelKind::Voice),
        (3, ChannelKind::Other),
        (4, ChannelKind::Category),
        (5, ChannelKind::Text),
        (10, ChannelKind::Thread),
        (11, ChannelKind::Thread),
        (12, ChannelKind::Thread),
        (13, ChannelKind::Voice),
        (14, ChannelKind::Other),
        (15, ChannelKind::Text),
        (16, ChannelKind::Text),
        (255, ChannelKind::Other),
    ];
    for (kind, expected) in cases {
        let frame = edited("channel_create.json", |d| d["type"] = json!(kind));
        match body_of_text(&format!("type {kind}"), &frame, 65) {
            EventBody::ChannelCreate(info) => assert_eq!(info.kind, expected, "type {kind}"),
            other => panic!("type {kind}: {other:?}"),
        }
    }
}

#[test]
fn roles_create_update_delete_with_string_permissions() {
    assert_eq!(
        body_of("guild_role_create.json", 69),
        EventBody::RoleCreate {
            guild: GUILD,
            role: role(ROLE_BOYZ, "WE DEM BOYZZ!!!!!!", 66_321_471, 1),
        }
    );
    assert_eq!(
        body_of("guild_role_update.json", 70),
        EventBody::RoleUpdate {
            guild: GUILD,
            role: role(ROLE_ADMINS, "Admins", 2_251_799_813_685_247, 3),
        }
    );
    assert_eq!(
        body_of("guild_role_delete.json", 71),
        EventBody::RoleDelete {
            guild: GUILD,
            role: ROLE_BOYZ,
        }
    );
    // The full u64 range of a permission string.
    let max = edited("guild_role_create.json", |d| {
        d["role"]["permissions"] = json!(u64::MAX.to_string())
    });
    match body_of_text("u64::MAX permissions", &max, 69) {
        EventBody::RoleCreate { role, .. } => assert_eq!(role.permissions, u64::MAX),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ready_and_resumed() {
    assert_eq!(
        body_of("ready.json", 1),
        EventBody::Ready {
            session_id: "9c5d0f8b3e0b4a6f8d2e1c7b5a3f9e10".into(),
            resume_gateway_url: "wss://gateway-us-east1-b.discord.gg".into(),
            guilds: vec![GUILD, GuildId(41_771_983_423_143_937)].into(),
        }
    );
    assert_eq!(body_of("resumed.json", 61), EventBody::Resumed);
}

#[test]
fn joined_at_timestamps_to_milliseconds() {
    let cases: [(Value, Option<i64>); 7] = [
        (
            json!("2015-04-26T06:26:56.936000+00:00"),
            Some(NELLY_JOINED_MS),
        ),
        (
            json!("2022-08-01T12:34:56.789+02:00"),
            Some(BOT_UPDATED_JOINED_MS),
        ),
        (
            json!("2016-02-29T23:59:59.999999-05:30"),
            Some(1_456_810_199_999),
        ),
        (json!("2015-04-26T06:26:56Z"), Some(1_430_029_616_000)),
        (json!("1970-01-01T00:00:00+00:00"), Some(0)),
        // GUILD_MEMBER_UPDATE documents joined_at as nullable.
        (Value::Null, None),
        (json!("yesterday"), None),
    ];
    for (joined_at, expected) in cases {
        let frame = edited("guild_member_add.json", |d| {
            d["joined_at"] = joined_at.clone()
        });
        match body_of_text(&joined_at.to_string(), &frame, 55) {
            EventBody::MemberAdd(member) => {
                assert_eq!(member.joined_at, expected, "joined_at {joined_at}")
            }
            other => panic!("{other:?}"),
        }
    }
    let absent = edited("guild_member_add.json", |d| {
        d.as_object_mut().unwrap().remove("joined_at");
    });
    match body_of_text("absent joined_at", &absent, 55) {
        EventBody::MemberAdd(member) => assert_eq!(member.joined_at, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn joined_at_rejects_malformed_timestamps() {
    // `parse_rfc3339_ms` promises None when malformed; a wrong timestamp must not turn into a
    // plausible but wrong join time.
    let accepted: Vec<String> = [
        "2026-01-01T-1:00:00+00:00",  // negative hour
        "2026-01-01T00:-1:00+00:00",  // negative minute
        "2026-01-01T00:00:-1+00:00",  // negative second
        "2026-01-01T+1:00:00+00:00",  // signed hour
        "2026-01-01T00x00x00+00:00",  // no time separators
        "2026-01-01T00:00:00+00x00",  // no offset separator
        "2026-01-01T00:00:00+0a:00",  // bad offset
        "2026-01-01T00:00:00+-1:00",  // signed offset hour
        "2026-01-01T00:00:00+00:00x", // trailing garbage
        "2026-01-01T00:00:00Zjunk",   // trailing garbage
        "2026-02-31T00:00:00Z",       // no such day
        "+026-01-01T00:00:00Z",       // signed year
    ]
    .into_iter()
    .filter_map(|bad| parse_rfc3339_ms(bad).map(|ms| format!("{bad:?} -> Some({ms})")))
    .collect();
    assert!(
        accepted.is_empty(),
        "malformed timestamps parsed:\n{}",
        accepted.join("\n")
    );
    // Through the decoder: a member whose joined_at is malformed has no join time.
    let frame = edited("guild_member_add.json", |d| {
        d["joined_at"] = json!("2015-04-26T-6:26:56.936000+00:00")
    });
    match body_of_text("malformed joined_at", &frame, 55) {
        EventBody::MemberAdd(member) => assert_eq!(member.joined_at, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn snowflakes_as_numbers_and_at_the_u64_bounds() {
    // Snowflakes are strings on the wire but numbers are accepted too.
    let numeric = edited("message_delete.json", |d| {
        d["id"] = json!(334_385_199_974_967_042_u64);
        d["channel_id"] = json!(u64::MAX.to_string());
        d["guild_id"] = json!(0);
    });
    assert_eq!(
        body_of_text("numeric ids", &numeric, 48),
        EventBody::MessageDelete(MessageRef {
            guild: Some(GuildId(0)),
            channel: ChannelId(u64::MAX),
            message: MESSAGE,
        })
    );
    // A null guild_id is a DM.
    let null_guild = edited("message_delete.json", |d| d["guild_id"] = Value::Null);
    match body_of_text("null guild", &null_guild, 48) {
        EventBody::MessageDelete(m) => assert_eq!(m.guild, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mentions_are_counted_once_per_user_and_role() {
    let frame = edited("message_create.json", |d| {
        let nelly = d["mentions"][0].clone();
        let test = d["mentions"][2].clone();
        d["mentions"] = json!([nelly, test, nelly, test, nelly]);
        d["mention_roles"] = json!([
            "41771983423143936",
            "290926798626357251",
            "41771983423143936",
            41_771_983_423_143_936_u64
        ]);
        d["mention_everyone"] = json!(true);
    });
    match body_of_text("repeated mentions", &frame, 42) {
        EventBody::MessageCreate(m) => {
            assert_eq!(m.mention_users, 2);
            assert_eq!(m.mention_roles, 2);
            assert!(m.mention_everyone);
        }
        other => panic!("{other:?}"),
    }
    // No mention arrays at all (not sent on some system messages): zero.
    let none = edited("message_create.json", |d| {
        let d = d.as_object_mut().unwrap();
        for key in [
            "mentions",
            "mention_roles",
            "attachments",
            "embeds",
            "member",
        ] {
            d.remove(key);
        }
    });
    match body_of_text("no mentions", &none, 42) {
        EventBody::MessageCreate(m) => {
            assert_eq!((m.mention_users, m.mention_roles), (0, 0));
            assert_eq!((m.attachments, m.embeds), (0, 0));
            assert!(m.author_roles.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn escaped_and_unicode_content_is_unescaped() {
    let content = r#""\u00e9\ud83d\udd25 \n\t\"\\\/ \u0000 caf\u00E9 日本語 👩‍💻""#;
    let frame = edited("message_create.json", |d| {
        d["content"] = json!("placeholder")
    })
    .replace(r#""placeholder""#, content);
    match body_of_text("escaped content", &frame, 42) {
        EventBody::MessageCreate(m) => {
            assert_eq!(&*m.content, "é🔥 \n\t\"\\/ \u{0} café 日本語 👩‍💻")
        }
        other => panic!("{other:?}"),
    }
    // An escaped event type is the same type.
    let escaped_t =
        fixture("message_delete.json").replace("MESSAGE_DELETE", r"MESSAGE\u005fDELETE");
    assert_eq!(
        body_of_text("escaped t", &escaped_t, 48).kind(),
        EventKind::MessageDelete
    );
}

/// What a fixture must decode to with twilight-model.
enum Twilight {
    Dispatch(u64, &'static str),
    Hello,
    HeartbeatAck,
    Reconnect,
    InvalidateSession(bool),
}

#[test]
fn complete_fixtures_also_decode_with_twilight_model() {
    use Twilight::*;
    let cases = [
        ("channel_create.json", Dispatch(65, "CHANNEL_CREATE")),
        ("channel_create_dm.json", Dispatch(68, "CHANNEL_CREATE")),
        ("channel_delete.json", Dispatch(67, "CHANNEL_DELETE")),
        ("channel_update.json", Dispatch(66, "CHANNEL_UPDATE")),
        ("guild_create.json", Dispatch(3, "GUILD_CREATE")),
        ("guild_create_unavailable.json", Dispatch(4, "GUILD_CREATE")),
        ("guild_delete.json", Dispatch(60, "GUILD_DELETE")),
        (
            "guild_delete_unavailable.json",
            Dispatch(59, "GUILD_DELETE"),
        ),
        ("guild_member_add.json", Dispatch(55, "GUILD_MEMBER_ADD")),
        (
            "guild_member_remove.json",
            Dispatch(57, "GUILD_MEMBER_REMOVE"),
        ),
        (
            "guild_member_update.json",
            Dispatch(56, "GUILD_MEMBER_UPDATE"),
        ),
        ("guild_role_create.json", Dispatch(69, "GUILD_ROLE_CREATE")),
        ("guild_role_delete.json", Dispatch(71, "GUILD_ROLE_DELETE")),
        ("guild_role_update.json", Dispatch(70, "GUILD_ROLE_UPDATE")),
        ("guild_update.json", Dispatch(58, "GUILD_UPDATE")),
        ("message_create.json", Dispatch(42, "MESSAGE_CREATE")),
        ("message_create_bot.json", Dispatch(44, "MESSAGE_CREATE")),
        ("message_create_dm.json", Dispatch(45, "MESSAGE_CREATE")),
        (
            "message_create_webhook.json",
            Dispatch(43, "MESSAGE_CREATE"),
        ),
        ("message_delete.json", Dispatch(48, "MESSAGE_DELETE")),
        (
            "message_delete_bulk.json",
            Dispatch(49, "MESSAGE_DELETE_BULK"),
        ),
        (
            "message_reaction_add.json",
            Dispatch(50, "MESSAGE_REACTION_ADD"),
        ),
        (
            "message_reaction_add_bot_unicode.json",
            Dispatch(51, "MESSAGE_REACTION_ADD"),
        ),
        (
            "message_reaction_remove.json",
            Dispatch(52, "MESSAGE_REACTION_REMOVE"),
        ),
        // twilight-model 0.18 models MESSAGE_UPDATE as a full message (Discord's current
        // behaviour); message_update_partial.json is the legacy partial shape and is left out.
        ("message_update.json", Dispatch(46, "MESSAGE_UPDATE")),
        ("presence_update.json", Dispatch(63, "PRESENCE_UPDATE")),
        ("ready.json", Dispatch(1, "READY")),
        ("resumed.json", Dispatch(61, "RESUMED")),
        ("typing_start.json", Dispatch(62, "TYPING_START")),
        (
            "voice_state_update.json",
            Dispatch(53, "VOICE_STATE_UPDATE"),
        ),
        (
            "voice_state_update_leave.json",
            Dispatch(54, "VOICE_STATE_UPDATE"),
        ),
        ("hello.json", Hello),
        ("heartbeat_ack.json", HeartbeatAck),
        ("reconnect.json", Reconnect),
        ("invalid_session.json", InvalidateSession(false)),
    ];
    let mut failures = Vec::new();
    for (name, expected) in cases {
        let text = fixture(name);
        let got = match decode_frame_twilight(&text) {
            Ok(event) => event,
            Err(error) => {
                failures.push(format!("{name}: {error}"));
                continue;
            }
        };
        let ok = match (&got, &expected) {
            (GatewayEvent::Dispatch(seq, event), Dispatch(want_seq, want_t)) => {
                seq == want_seq && event.kind().name() == Some(*want_t)
            }
            (GatewayEvent::Hello(hello), Hello) => hello.heartbeat_interval == 41_250,
            (GatewayEvent::HeartbeatAck, HeartbeatAck) => true,
            (GatewayEvent::Reconnect, Reconnect) => true,
            (GatewayEvent::InvalidateSession(a), InvalidateSession(b)) => a == b,
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: unexpected {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "twilight-model rejects:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_fixture_decodes_with_the_lean_decoder() {
    for (name, text) in all_fixtures() {
        let outcome = decode_frame(&text, SHARD, AT);
        assert!(outcome.is_ok(), "{name}: {outcome:?}");
        // The compact form (what Discord really sends) decodes identically.
        let compact = compact(&name);
        assert_eq!(
            decode_frame(&compact, SHARD, AT).unwrap(),
            outcome.unwrap(),
            "{name}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// 2. Non-dispatch frames and dispatch types we do not use.
// ------------------------------------------------------------------------------------------

#[test]
fn non_dispatch_frames_are_control() {
    for (name, op) in [
        ("hello.json", 10),
        ("heartbeat_ack.json", 11),
        ("reconnect.json", 7),
        ("invalid_session.json", 9),
    ] {
        assert_eq!(
            decode_frame(&fixture(name), SHARD, AT).unwrap(),
            Decoded::Control { op },
            "{name}"
        );
    }
    for (text, op) in [
        (r#"{"op":11}"#, 11),
        (r#"{"op":1,"d":251}"#, 1),
        (r#"{"op":9,"d":true}"#, 9),
        (r#"{"op":7,"d":null,"s":null,"t":null}"#, 7),
        // The `d` of a control frame is not inspected.
        (r#"{"op":10,"d":[1,2]}"#, 10),
        (r#"{"op":255}"#, 255),
    ] {
        assert_eq!(
            decode_frame(text, SHARD, AT).unwrap(),
            Decoded::Control { op },
            "{text}"
        );
    }
    // The envelope still has types: a string `s` is an error even on a control frame.
    assert_eq!(
        reason_of(r#"{"op":10,"s":"x","d":{}}"#),
        DecodeReason::InvalidJson
    );
}

#[test]
fn unknown_dispatch_types_are_ignored_with_their_sequence() {
    assert_eq!(
        decode_frame(&fixture("typing_start.json"), SHARD, AT).unwrap(),
        Decoded::Ignored {
            t: "TYPING_START".into(),
            seq: 62,
        }
    );
    assert_eq!(
        decode_frame(&fixture("presence_update.json"), SHARD, AT).unwrap(),
        Decoded::Ignored {
            t: "PRESENCE_UPDATE".into(),
            seq: 63,
        }
    );
    for (t, d) in [
        ("GUILDFLOW_FUTURE_EVENT", r#"{"anything":[1,2,{"x":null}]}"#),
        ("THREAD_CREATE", r#"{"id":"1"}"#),
        // Types are case-sensitive.
        ("message_create", r#"{"id":"1"}"#),
        // The payload of an unused type is never inspected.
        ("INTERACTION_CREATE", r#""not an object""#),
        ("ENTITLEMENT_CREATE", "[[[]]]"),
        ("", "{}"),
    ] {
        assert_eq!(
            decode_frame(&dispatch(t, u64::MAX, d), SHARD, AT).unwrap(),
            Decoded::Ignored {
                t: t.into(),
                seq: u64::MAX,
            },
            "{t}"
        );
    }
    let escaped = r#"{"op":0,"s":9,"t":"TYPING\u005fSTART","d":{}}"#;
    assert_eq!(
        decode_frame(escaped, SHARD, AT).unwrap(),
        Decoded::Ignored {
            t: "TYPING_START".into(),
            seq: 9,
        }
    );
}

// ------------------------------------------------------------------------------------------
// 3. Malformed input, each with its exact reason.
// ------------------------------------------------------------------------------------------

#[test]
fn not_json_is_invalid_json() {
    let message = compact("message_create.json");
    let truncated = &message[..message.len() / 2];
    let cases: Vec<(&str, String)> = vec![
        ("not json", "not json".into()),
        ("empty", String::new()),
        ("blank", " \n\t ".into()),
        ("truncated", truncated.into()),
        ("truncated by one", message[..message.len() - 1].into()),
        ("trailing garbage", format!("{message} x")),
        ("two frames", format!("{message}{message}")),
        ("byte order mark", format!("\u{feff}{message}")),
        ("number", "42".into()),
        ("string", r#""op""#.into()),
        ("null", "null".into()),
        ("bool", "true".into()),
        (
            "op as a string",
            r#"{"op":"0","s":1,"t":"RESUMED","d":{}}"#.into(),
        ),
        (
            "op as a float",
            r#"{"op":0.0,"s":1,"t":"RESUMED","d":{}}"#.into(),
        ),
        ("op negative", r#"{"op":-1}"#.into()),
        ("op too large", r#"{"op":256}"#.into()),
        (
            "op null",
            r#"{"op":null,"s":1,"t":"RESUMED","d":{}}"#.into(),
        ),
        ("op missing", r#"{"s":1,"t":"RESUMED","d":{}}"#.into()),
        (
            "s as a string",
            r#"{"op":0,"s":"1","t":"RESUMED","d":{}}"#.into(),
        ),
        (
            "s negative",
            r#"{"op":0,"s":-1,"t":"RESUMED","d":{}}"#.into(),
        ),
        ("s float", r#"{"op":0,"s":1.5,"t":"RESUMED","d":{}}"#.into()),
        (
            "s above u64",
            r#"{"op":0,"s":18446744073709551616,"t":"RESUMED","d":{}}"#.into(),
        ),
        ("t as a number", r#"{"op":0,"s":1,"t":7,"d":{}}"#.into()),
        ("t as an object", r#"{"op":0,"s":1,"t":{},"d":{}}"#.into()),
        (
            "duplicate op",
            r#"{"op":0,"op":0,"s":1,"t":"RESUMED","d":{}}"#.into(),
        ),
        (
            "duplicate t",
            r#"{"op":0,"s":1,"t":"RESUMED","t":"READY","d":{}}"#.into(),
        ),
        ("single quotes", "{'op':0}".into()),
        ("trailing comma", r#"{"op":11,}"#.into()),
        (
            "unterminated string",
            r#"{"op":0,"s":1,"t":"RESUMED,"d":{}}"#.into(),
        ),
        (
            "invalid escape",
            r#"{"op":0,"s":1,"t":"RESUMED","d":{"x":"\q"}}"#.into(),
        ),
        (
            "raw control char",
            "{\"op\":0,\"s\":1,\"t\":\"RESUMED\",\"d\":{\"x\":\"a\u{1}b\"}}".into(),
        ),
        (
            "lone surrogate in t",
            r#"{"op":0,"s":1,"t":"\ud800","d":{}}"#.into(),
        ),
        ("NaN", r#"{"op":NaN}"#.into()),
    ];
    for (label, text) in cases {
        assert_eq!(reason_of(&text), DecodeReason::InvalidJson, "{label}");
    }
}

#[test]
fn json_arrays_are_not_frames() {
    // A gateway frame is a JSON object. serde's derived struct deserializer also accepts a
    // positional array, which must not make `[op, s, t, d]` a valid frame.
    let message_d: Value =
        serde_json::from_str::<Value>(&fixture("message_delete.json")).unwrap()["d"].clone();
    let cases = [
        ("empty array", "[]".to_owned()),
        ("array of numbers", "[1,2]".to_owned()),
        ("heartbeat ack as array", "[11]".to_owned()),
        (
            "dispatch as array",
            json!([0, 48, "MESSAGE_DELETE", message_d]).to_string(),
        ),
    ];
    let mut wrong = Vec::new();
    for (label, text) in &cases {
        match decode_frame(text, SHARD, AT) {
            Err(error) if error.reason() == DecodeReason::InvalidJson => {}
            other => wrong.push(format!("{label}: {text} -> {other:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "arrays accepted as frames:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn positional_array_payloads_are_mismatches() {
    // The same for `d`: a MESSAGE_DELETE payload is an object, not `[id, channel_id]`.
    let cases = [
        dispatch(
            "MESSAGE_DELETE",
            48,
            r#"["334385199974967042","290926798999357250"]"#,
        ),
        dispatch(
            "GUILD_ROLE_DELETE",
            71,
            r#"["290926798626357250","41771983423143936"]"#,
        ),
        dispatch("GUILD_DELETE", 60, r#"["290926798626357250"]"#),
    ];
    let mut wrong = Vec::new();
    for text in &cases {
        match decode_frame(text, SHARD, AT) {
            Err(error) if error.reason() == DecodeReason::PayloadMismatch => {}
            other => wrong.push(format!("{text} -> {other:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "arrays accepted as payloads:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn dispatch_without_s_t_or_d() {
    let envelope = |s: &str, t: &str, d: &str| {
        let parts: Vec<&str> = ["\"op\":0", s, t, d]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        format!("{{{}}}", parts.join(","))
    };
    let t = r#""t":"MESSAGE_DELETE""#;
    let d = r#""d":{"id":"1","channel_id":"2"}"#;
    let s = r#""s":5"#;
    assert_eq!(
        reason_of(&envelope("", t, d)),
        DecodeReason::MissingSequence
    );
    assert_eq!(
        reason_of(&envelope(r#""s":null"#, t, d)),
        DecodeReason::MissingSequence
    );
    assert_eq!(reason_of(&envelope(s, "", d)), DecodeReason::MissingType);
    assert_eq!(
        reason_of(&envelope(s, r#""t":null"#, d)),
        DecodeReason::MissingType
    );
    assert_eq!(reason_of(&envelope(s, t, "")), DecodeReason::MissingPayload);
    assert_eq!(
        reason_of(&envelope(s, t, r#""d":null"#)),
        DecodeReason::MissingPayload
    );
    // Order of checks: sequence, then type, then payload.
    assert_eq!(reason_of(r#"{"op":0}"#), DecodeReason::MissingSequence);
    assert_eq!(reason_of(r#"{"op":0,"s":1}"#), DecodeReason::MissingType);
    // Every fixture with `s`, `t` or `d` removed.
    for (name, text) in all_fixtures() {
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["op"] != json!(0) {
            continue;
        }
        for (key, reason) in [
            ("s", DecodeReason::MissingSequence),
            ("t", DecodeReason::MissingType),
            ("d", DecodeReason::MissingPayload),
        ] {
            let mut without = frame.clone();
            without.as_object_mut().unwrap().remove(key);
            assert_eq!(
                reason_of(&without.to_string()),
                reason,
                "{name} without {key}"
            );
        }
    }
    // MissingPayload names its type.
    match decode_frame(&envelope(s, t, ""), SHARD, AT) {
        Err(DecodeError::MissingPayload { t }) => assert_eq!(t, "MESSAGE_DELETE"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn payloads_of_the_wrong_shape_are_mismatches() {
    type Edit = fn(&mut Value);
    let message_edits: [(&str, Edit); 22] = [
        ("id as an object", |d| d["id"] = json!({"id": "1"})),
        ("id as an array", |d| d["id"] = json!(["1"])),
        ("id missing", |d| {
            d.as_object_mut().unwrap().remove("id");
        }),
        ("id null", |d| d["id"] = Value::Null),
        ("channel_id missing", |d| {
            d.as_object_mut().unwrap().remove("channel_id");
        }),
        ("author null", |d| d["author"] = Value::Null),
        ("author missing", |d| {
            d.as_object_mut().unwrap().remove("author");
        }),
        ("author without id", |d| {
            d["author"].as_object_mut().unwrap().remove("id");
        }),
        ("author.bot as a string", |d| {
            d["author"]["bot"] = json!("true")
        }),
        ("content missing", |d| {
            d.as_object_mut().unwrap().remove("content");
        }),
        ("content as a number", |d| d["content"] = json!(5)),
        ("mentions not an array", |d| {
            d["mentions"] = json!({"0": {"id": "1"}})
        }),
        ("mentions a string", |d| d["mentions"] = json!("@everyone")),
        ("mention without id", |d| {
            d["mentions"][0].as_object_mut().unwrap().remove("id");
        }),
        ("mention_roles of objects", |d| {
            d["mention_roles"] = json!([{"id": "1"}])
        }),
        ("snowflake abc", |d| d["id"] = json!("abc")),
        ("snowflake negative string", |d| d["id"] = json!("-5")),
        ("snowflake negative number", |d| d["id"] = json!(-5)),
        ("snowflake float", |d| d["id"] = json!(1.5)),
        ("snowflake above u64", |d| {
            d["id"] = json!("18446744073709551616")
        }),
        ("snowflake empty", |d| d["channel_id"] = json!("")),
        ("member.roles not an array", |d| {
            d["member"]["roles"] = json!("41771983423143936")
        }),
    ];
    for (label, edit) in message_edits {
        let frame = edited("message_create.json", edit);
        assert_eq!(
            reason_of(&frame),
            DecodeReason::PayloadMismatch,
            "MESSAGE_CREATE {label}"
        );
    }
    let more: [(&str, &str, Edit); 24] = [
        ("message_create.json", "attachments null", |d| {
            d["attachments"] = Value::Null
        }),
        ("message_create.json", "embeds an object", |d| {
            d["embeds"] = json!({})
        }),
        ("message_create.json", "mention_everyone a string", |d| {
            d["mention_everyone"] = json!("false")
        }),
        ("guild_role_create.json", "permissions a number", |d| {
            d["role"]["permissions"] = json!(8)
        }),
        ("guild_role_create.json", "permissions abc", |d| {
            d["role"]["permissions"] = json!("abc")
        }),
        ("guild_role_create.json", "permissions negative", |d| {
            d["role"]["permissions"] = json!("-1")
        }),
        ("guild_role_create.json", "permissions above u64", |d| {
            d["role"]["permissions"] = json!("18446744073709551616")
        }),
        ("guild_role_create.json", "permissions empty", |d| {
            d["role"]["permissions"] = json!("")
        }),
        ("guild_role_create.json", "permissions hex", |d| {
            d["role"]["permissions"] = json!("0x8")
        }),
        ("guild_role_create.json", "role missing", |d| {
            d.as_object_mut().unwrap().remove("role");
        }),
        ("guild_create.json", "role permissions a number", |d| {
            d["roles"][1]["permissions"] = json!(66_321_471)
        }),
        ("guild_create.json", "member without user", |d| {
            d["members"][0].as_object_mut().unwrap().remove("user");
        }),
        ("guild_create.json", "name missing", |d| {
            d.as_object_mut().unwrap().remove("name");
        }),
        ("guild_create.json", "owner_id missing", |d| {
            d.as_object_mut().unwrap().remove("owner_id");
        }),
        ("guild_create.json", "channel type a string", |d| {
            d["channels"][0]["type"] = json!("4")
        }),
        ("guild_create.json", "channel type 256", |d| {
            d["channels"][0]["type"] = json!(256)
        }),
        ("guild_create.json", "voice state without user_id", |d| {
            d["voice_states"][0]
                .as_object_mut()
                .unwrap()
                .remove("user_id");
        }),
        ("guild_create.json", "unavailable a string", |d| {
            d["unavailable"] = json!("true")
        }),
        ("voice_state_update.json", "no guild_id", |d| {
            d.as_object_mut().unwrap().remove("guild_id");
        }),
        ("guild_member_add.json", "no guild_id", |d| {
            d.as_object_mut().unwrap().remove("guild_id");
        }),
        ("message_reaction_add.json", "no emoji", |d| {
            d.as_object_mut().unwrap().remove("emoji");
        }),
        ("message_delete_bulk.json", "ids not an array", |d| {
            d["ids"] = json!("334385199974967042")
        }),
        ("ready.json", "no session_id", |d| {
            d.as_object_mut().unwrap().remove("session_id");
        }),
        ("guild_role_delete.json", "role_id abc", |d| {
            d["role_id"] = json!("abc")
        }),
    ];
    for (name, label, edit) in more {
        let frame = edited(name, edit);
        assert_eq!(
            reason_of(&frame),
            DecodeReason::PayloadMismatch,
            "{name}: {label}"
        );
    }
    // `d` of the wrong JSON type altogether.
    for d in [r#""a string""#, "42", "true", "[]", r#"[{"id":"1"}]"#] {
        for t in [
            "MESSAGE_CREATE",
            "GUILD_CREATE",
            "READY",
            "GUILD_ROLE_DELETE",
        ] {
            assert_eq!(
                reason_of(&dispatch(t, 1, d)),
                DecodeReason::PayloadMismatch,
                "{t} with d = {d}"
            );
        }
    }
    // PayloadMismatch names its type.
    match decode_frame(&dispatch("MESSAGE_DELETE", 1, "{}"), SHARD, AT) {
        Err(DecodeError::PayloadMismatch { t, .. }) => assert_eq!(t, "MESSAGE_DELETE"),
        other => panic!("{other:?}"),
    }
    // An unavailable GUILD_CREATE is ignored, but an available one without its state is a
    // mismatch.
    let outage = dispatch(
        "GUILD_CREATE",
        4,
        r#"{"id":"1","unavailable":true,"extra":[{}]}"#,
    );
    assert!(matches!(
        decode_frame(&outage, SHARD, AT),
        Ok(Decoded::Ignored { seq: 4, .. })
    ));
    let bare = dispatch("GUILD_CREATE", 4, r#"{"id":"1","unavailable":false}"#);
    assert_eq!(reason_of(&bare), DecodeReason::PayloadMismatch);
}

#[test]
fn lone_surrogates_and_unicode_escapes() {
    // A lone surrogate cannot become a Rust string: the content field is a mismatch (the
    // envelope keeps `d` raw, so it is not an envelope error).
    for content in [r#""\ud800""#, r#""abc\udfff""#, r#""\ud83d x""#] {
        let frame = edited("message_create.json", |d| {
            d["content"] = json!("placeholder")
        })
        .replace(r#""placeholder""#, content);
        assert_eq!(
            reason_of(&frame),
            DecodeReason::PayloadMismatch,
            "content {content}"
        );
    }
    // In a field the lean decoder does not keep, it is skipped unvalidated.
    let frame = edited("message_create.json", |d| {
        d["author"]["username"] = json!("placeholder")
    })
    .replace(r#""placeholder""#, r#""\ud800""#);
    assert!(matches!(
        decode_frame(&frame, SHARD, AT),
        Ok(Decoded::Event(_))
    ));
    // And in the payload of an unused type, likewise.
    let typing = dispatch("TYPING_START", 3, r#"{"x":"\ud800"}"#);
    assert!(matches!(
        decode_frame(&typing, SHARD, AT),
        Ok(Decoded::Ignored { .. })
    ));
}

/// `depth` nested arrays.
fn nested_arrays(depth: usize) -> String {
    let mut s = String::with_capacity(depth * 2);
    s.extend(std::iter::repeat_n('[', depth));
    s.extend(std::iter::repeat_n(']', depth));
    s
}

/// `depth` nested objects `{"a":{"a":...{}}}`.
fn nested_objects(depth: usize) -> String {
    let mut s = String::with_capacity(depth * 7);
    s.extend(std::iter::repeat_n("{\"a\":", depth));
    s.push_str("{}");
    s.extend(std::iter::repeat_n('}', depth));
    s
}

#[test]
fn deeply_nested_json_does_not_overflow_the_stack() {
    const DEPTH: usize = 10_000;
    let arrays = nested_arrays(DEPTH);
    let objects = nested_objects(DEPTH);

    // As the whole frame.
    assert_eq!(reason_of(&arrays), DecodeReason::InvalidJson);
    assert_eq!(reason_of(&objects), DecodeReason::InvalidJson);
    assert_eq!(
        reason_of(&format!(r#"{{"op":{arrays}}}"#)),
        DecodeReason::InvalidJson
    );
    assert_eq!(
        reason_of(&format!(r#"{{"op":0,"s":{objects}}}"#)),
        DecodeReason::InvalidJson
    );

    // As `d` of a type we decode.
    for t in [
        "MESSAGE_CREATE",
        "GUILD_CREATE",
        "READY",
        "MESSAGE_DELETE_BULK",
    ] {
        assert_eq!(
            reason_of(&dispatch(t, 1, &arrays)),
            DecodeReason::PayloadMismatch,
            "{t}"
        );
        assert_eq!(
            reason_of(&dispatch(t, 1, &objects)),
            DecodeReason::PayloadMismatch,
            "{t}"
        );
    }
    // In typed positions inside `d`.
    for (label, edit) in [
        ("id", "id"),
        ("mentions", "mentions"),
        ("mention_roles", "mention_roles"),
        ("member", "member"),
        ("author", "author"),
    ] {
        let frame = edited("message_create.json", |d| d[edit] = json!("placeholder"))
            .replace(r#""placeholder""#, &arrays);
        assert_eq!(reason_of(&frame), DecodeReason::PayloadMismatch, "{label}");
    }
    // As `d` of a type we do not decode: never parsed.
    assert!(matches!(
        decode_frame(&dispatch("TYPING_START", 1, &arrays), SHARD, AT),
        Ok(Decoded::Ignored { seq: 1, .. })
    ));
    // In fields that are skipped or only counted: skipped without recursion, still an event.
    for field in ["nonce", "reactions", "components"] {
        for nested in [&arrays, &objects] {
            let frame = edited("message_create.json", |d| d[field] = json!("placeholder"))
                .replace(r#""placeholder""#, nested);
            assert!(
                matches!(decode_frame(&frame, SHARD, AT), Ok(Decoded::Event(_))),
                "{field}"
            );
        }
    }
    let frame = edited("message_create.json", |d| {
        d["embeds"] = json!(["placeholder"])
    })
    .replace(r#""placeholder""#, &arrays);
    match body_of_text("nested embed", &frame, 42) {
        EventBody::MessageCreate(m) => assert_eq!(m.embeds, 1),
        other => panic!("{other:?}"),
    }

    // The twilight decoder fails cleanly too.
    assert!(decode_frame_twilight(&dispatch("MESSAGE_CREATE", 1, &arrays)).is_err());
    assert!(decode_frame_twilight(&arrays).is_err());
}

#[test]
fn frames_over_the_limit_are_rejected_without_parsing() {
    // A frame that would decode fine, padded with whitespace one byte past the limit.
    let message = compact("message_delete.json");
    let mut huge = String::with_capacity(MAX_FRAME_BYTES + 1);
    huge.push_str(&message);
    huge.extend(std::iter::repeat_n(
        ' ',
        MAX_FRAME_BYTES + 1 - message.len(),
    ));
    assert_eq!(huge.len(), MAX_FRAME_BYTES + 1);

    // The fastest of a few runs, so a scheduling hiccup cannot fail the test.
    let fastest = |decode: &dyn Fn() -> DecodeReason| {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                assert_eq!(decode(), DecodeReason::TooLarge);
                started.elapsed()
            })
            .min()
            .unwrap()
    };
    let lean = fastest(&|| decode_frame(&huge, SHARD, AT).unwrap_err().reason());
    let reference = fastest(&|| decode_frame_twilight(&huge).unwrap_err().reason());
    // Scanning 32 MiB takes tens of milliseconds even optimized; a length check takes none.
    assert!(lean < Duration::from_millis(5), "too_large took {lean:?}");
    assert!(
        reference < Duration::from_millis(5),
        "too_large took {reference:?}"
    );
    match decode_frame(&huge, SHARD, AT) {
        Err(DecodeError::TooLarge { size, limit }) => {
            assert_eq!(size, MAX_FRAME_BYTES + 1);
            assert_eq!(limit, MAX_FRAME_BYTES);
        }
        other => panic!("{other:?}"),
    }

    // Garbage over the limit is too_large, not invalid_json.
    let garbage = "x".repeat(MAX_FRAME_BYTES + 1);
    assert_eq!(reason_of(&garbage), DecodeReason::TooLarge);

    // Exactly at the limit it is parsed and decodes.
    huge.pop();
    assert_eq!(huge.len(), MAX_FRAME_BYTES);
    assert_eq!(
        body_of_text("frame at the limit", &huge, 48).kind(),
        EventKind::MessageDelete
    );
}

#[test]
fn a_four_megabyte_content_decodes() {
    let content: String = "Supa Hot 🔥 ".repeat(4 * 1024 * 1024 / "Supa Hot 🔥 ".len());
    assert!(content.len() >= 4 * 1024 * 1024 - 16);
    let frame = edited("message_create.json", |d| d["content"] = json!(content));
    match body_of_text("4 MB content", &frame, 42) {
        EventBody::MessageCreate(m) => {
            assert_eq!(m.content.len(), content.len());
            assert_eq!(&*m.content, content.as_str());
            assert_eq!(m.mention_users, 2);
        }
        other => panic!("{other:?}"),
    }
    assert!(decode_frame_twilight(&frame).is_ok());
}

// ------------------------------------------------------------------------------------------
// 4. Seeded mutation fuzz of the fixtures.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Paths to every value below the root.
fn paths(value: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(Seg::Key(key.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(Seg::Index(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'v>(value: &'v mut Value, path: &[Seg]) -> &'v mut Value {
    path.iter().fold(value, |v, seg| match seg {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::Index(i) => &mut v[*i],
    })
}

/// A value of a (probably) different JSON type.
fn swap_value(rng: &mut SmallRng) -> Value {
    match rng.random_range(0..16) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(0),
        3 => json!(-1),
        4 => json!(1.5),
        5 => json!(u64::MAX),
        6 => json!("abc"),
        7 => json!(""),
        8 => json!("-1"),
        9 => json!("18446744073709551616"),
        10 => json!([]),
        11 => json!({}),
        12 => json!(["1", "1"]),
        13 => json!({"id": "1"}),
        14 => json!("334385199974967042"),
        _ => json!(rng.random::<u64>().to_string()),
    }
}

fn mutate(rng: &mut SmallRng, text: &str) -> String {
    const INTERESTING: &[u8] = b"\"{}[],:\\0-19aefnltru .\x00\x7f";
    let structural = |rng: &mut SmallRng, text: &str, delete: bool| -> String {
        let mut value: Value = serde_json::from_str(text).unwrap();
        let mut all = Vec::new();
        paths(&value, &mut Vec::new(), &mut all);
        if all.is_empty() {
            return value.to_string();
        }
        let path = &all[rng.random_range(0..all.len())];
        let (last, parent) = path.split_last().unwrap();
        if delete {
            match (at_path(&mut value, parent), last) {
                (Value::Object(map), Seg::Key(k)) => {
                    map.remove(k);
                }
                (Value::Array(items), Seg::Index(i)) => {
                    items.remove(*i);
                }
                _ => unreachable!(),
            }
        } else {
            *at_path(&mut value, path) = swap_value(rng);
        }
        value.to_string()
    };
    let mut out = match rng.random_range(0..6) {
        // Byte flips.
        0 => {
            let mut bytes = text.as_bytes().to_vec();
            for _ in 0..rng.random_range(1..=4) {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = if rng.random_bool(0.7) {
                    INTERESTING[rng.random_range(0..INTERESTING.len())]
                } else {
                    rng.random()
                };
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // Truncation.
        1 => {
            let mut end = rng.random_range(0..text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_owned()
        }
        // Field or element deletion.
        2 => structural(rng, text, true),
        // Type swap.
        3 => structural(rng, text, false),
        // Junk insertion.
        4 => {
            let junk = [
                "\"", "{", "}", "[", "]", ",", ":", "null", "\\u", "\\ud800", "1e999",
            ];
            let mut at = rng.random_range(0..text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let piece = junk[rng.random_range(0..junk.len())];
            format!("{}{piece}{}", &text[..at], &text[at..])
        }
        // Several structural edits.
        _ => {
            let mut text = text.to_owned();
            for _ in 0..rng.random_range(2..=5) {
                let delete = rng.random_bool(0.5);
                text = structural(rng, &text, delete);
            }
            text
        }
    };
    // Sometimes a second, textual mutation on top.
    if rng.random_bool(0.1) && !out.is_empty() {
        let mut end = rng.random_range(0..out.len());
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// Checks an outcome against what the frame says when read as a plain JSON value.
fn check_against_value(text: &str, outcome: &Result<Decoded, DecodeError>) -> Result<(), String> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        // Not even JSON: the envelope cannot be either. (Lone surrogates and out-of-range
        // numbers are rejected by `Value` only; the envelope keeps `d` raw.)
        let lenient = text.contains("\\u") || text.contains("e999");
        if !lenient && !matches!(outcome, Err(e) if e.reason() == DecodeReason::InvalidJson) {
            return Err(format!("not JSON, but decoded as {outcome:?}"));
        }
        return Ok(());
    };
    let op = value.get("op").and_then(Value::as_u64);
    let s = value.get("s").filter(|s| !s.is_null());
    let t = value.get("t").filter(|t| !t.is_null());
    let d = value.get("d").filter(|d| !d.is_null());
    let fail = |why: &str| Err(format!("{why}: {outcome:?}"));
    match outcome {
        Ok(Decoded::Control { op: got }) => {
            if !value.is_object() || op != Some(u64::from(*got)) || *got == 0 {
                return fail("control frame does not match its op");
            }
        }
        Ok(Decoded::Ignored { t: got_t, seq }) => {
            if !value.is_object()
                || op != Some(0)
                || s.and_then(Value::as_u64) != Some(*seq)
                || t.and_then(Value::as_str) != Some(got_t.as_str())
            {
                return fail("ignored frame does not match its envelope");
            }
            let outage = got_t == "GUILD_CREATE" && d.is_some_and(|d| d["unavailable"] == true);
            if handled_kind(got_t).is_some() && !outage {
                return fail("a handled type was ignored");
            }
        }
        Ok(Decoded::Event(Event {
            at,
            shard,
            seq,
            body,
        })) => {
            if *at != AT || *shard != SHARD {
                return fail("wrong provenance");
            }
            if !value.is_object()
                || op != Some(0)
                || s.and_then(Value::as_u64) != Some(*seq)
                || t.and_then(Value::as_str).and_then(handled_kind) != Some(body.kind())
            {
                return fail("event does not match its envelope");
            }
        }
        Err(error) => match error.reason() {
            DecodeReason::MissingSequence => {
                if op != Some(0) || s.is_some() {
                    return fail("missing_sequence with a sequence");
                }
            }
            DecodeReason::MissingType => {
                if op != Some(0) || s.is_none() || t.is_some() {
                    return fail("missing_type with a type");
                }
            }
            DecodeReason::MissingPayload => {
                if op != Some(0) || s.is_none() || t.is_none() || d.is_some() {
                    return fail("missing_payload with a payload");
                }
            }
            DecodeReason::PayloadMismatch => {
                let t = t.and_then(Value::as_str);
                if op != Some(0) || d.is_none() || t.and_then(handled_kind).is_none() {
                    return fail("payload_mismatch on a type we do not decode");
                }
            }
            DecodeReason::InvalidJson => {}
            DecodeReason::TooLarge | DecodeReason::InvalidCaptureLine => {
                return fail("impossible reason for a small frame");
            }
        },
    }
    Ok(())
}

#[test]
fn seeded_mutations_never_panic_and_counters_add_up() {
    const CASES: usize = 20_000;
    let fixtures = all_fixtures();
    let mut rng = SmallRng::seed_from_u64(0x6775_696c_6466_6c6f);
    let counters = DecodeCounters::default();
    let mut by_kind: BTreeMap<EventKind, u64> = BTreeMap::new();
    let mut by_reason = [0u64; DecodeReason::ALL.len()];
    let (mut ignored, mut control, mut bytes) = (0u64, 0u64, 0u64);
    let mut problems = Vec::new();

    for case in 0..CASES {
        let (name, text) = &fixtures[rng.random_range(0..fixtures.len())];
        let mutant = mutate(&mut rng, text);
        let decoded = std::panic::catch_unwind(|| decode_frame(&mutant, SHARD, AT));
        let outcome = match decoded {
            Ok(outcome) => outcome,
            Err(_) => {
                problems.push(format!(
                    "case {case} ({name}): decode_frame panicked on {mutant}"
                ));
                continue;
            }
        };
        if std::panic::catch_unwind(|| decode_frame_twilight(&mutant)).is_err() {
            problems.push(format!(
                "case {case} ({name}): twilight panicked on {mutant}"
            ));
        }
        if let Err(why) = check_against_value(&mutant, &outcome) {
            if problems.len() < 20 {
                problems.push(format!("case {case} ({name}): {why}\n  input: {mutant}"));
            }
        }
        counters.record(mutant.len(), &outcome);
        bytes += mutant.len() as u64;
        match &outcome {
            Ok(Decoded::Event(event)) => *by_kind.entry(event.body.kind()).or_default() += 1,
            Ok(Decoded::Ignored { .. }) => ignored += 1,
            Ok(Decoded::Control { .. }) => control += 1,
            Err(error) => {
                let reason = error.reason();
                assert!(DecodeReason::ALL.contains(&reason));
                assert!(!error.to_string().is_empty());
                by_reason[reason as usize] += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let total =
        counters.events_total() + counters.errors_total() + counters.ignored() + counters.control();
    assert_eq!(total, CASES as u64);
    assert_eq!(counters.bytes(), bytes);
    assert_eq!(counters.ignored(), ignored);
    assert_eq!(counters.control(), control);
    for kind in EventKind::ALL {
        assert_eq!(
            counters.events(kind),
            by_kind.get(&kind).copied().unwrap_or(0),
            "{}",
            kind.as_str()
        );
    }
    for reason in DecodeReason::ALL {
        assert_eq!(
            counters.errors(reason),
            by_reason[reason as usize],
            "{}",
            reason.as_str()
        );
    }
    // The mutations reach every outcome class and the main failure reasons.
    assert!(
        counters.events_total() > 1_000,
        "events {}",
        counters.events_total()
    );
    assert!(ignored > 0 && control > 0);
    for reason in [
        DecodeReason::InvalidJson,
        DecodeReason::MissingSequence,
        DecodeReason::MissingType,
        DecodeReason::MissingPayload,
        DecodeReason::PayloadMismatch,
    ] {
        assert!(counters.errors(reason) > 0, "no {} case", reason.as_str());
    }
}

// ------------------------------------------------------------------------------------------
// 5. Ingest and capture replay over mixed input.
// ------------------------------------------------------------------------------------------

/// A mixed stream: every fixture, each followed by a bad frame, with their expected reasons.
fn mixed_stream() -> (
    Vec<RawFrame>,
    Vec<Event>,
    BTreeMap<&'static str, u64>,
    u64,
    u64,
) {
    let bad: Vec<(String, DecodeReason)> = vec![
        ("not json".into(), DecodeReason::InvalidJson),
        (String::new(), DecodeReason::InvalidJson),
        (r#"{"op":"0"}"#.into(), DecodeReason::InvalidJson),
        (
            r#"{"op":0,"t":"MESSAGE_CREATE","d":{}}"#.into(),
            DecodeReason::MissingSequence,
        ),
        (r#"{"op":0,"s":5,"d":{}}"#.into(), DecodeReason::MissingType),
        (
            r#"{"op":0,"s":5,"t":"MESSAGE_CREATE"}"#.into(),
            DecodeReason::MissingPayload,
        ),
        (
            edited("message_create.json", |d| d["id"] = json!({"id": 1})),
            DecodeReason::PayloadMismatch,
        ),
        (
            edited("message_create.json", |d| d["author"] = Value::Null),
            DecodeReason::PayloadMismatch,
        ),
        (
            edited("guild_role_create.json", |d| {
                d["role"]["permissions"] = json!(8)
            }),
            DecodeReason::PayloadMismatch,
        ),
        (
            compact("message_create.json")[..100].to_owned(),
            DecodeReason::InvalidJson,
        ),
    ];
    let mut frames = Vec::new();
    let mut events = Vec::new();
    let mut reasons: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut ignored, mut control) = (0, 0);
    for (i, (_, text)) in all_fixtures().into_iter().enumerate() {
        let shard = i as u32 % 4;
        let at = AT + i as i64;
        match decode_frame(&text, shard, at).unwrap() {
            Decoded::Event(event) => events.push(event),
            Decoded::Ignored { .. } => ignored += 1,
            Decoded::Control { .. } => control += 1,
        }
        frames.push(RawFrame { shard, at, text });
        // A bad frame right after every good one, on the same shard.
        let (bad_text, reason) = &bad[i % bad.len()];
        frames.push(RawFrame {
            shard,
            at,
            text: bad_text.clone(),
        });
        *reasons.entry(reason.as_str()).or_default() += 1;
    }
    (frames, events, reasons, ignored, control)
}

#[test]
fn ingest_returns_every_good_event_and_counts_every_failure() {
    let (frames, expected_events, reasons, ignored, control) = mixed_stream();
    let counters = Arc::new(DecodeCounters::default());
    let ingest = Ingest::new(Arc::clone(&counters));
    let events: Vec<Event> = frames
        .iter()
        .filter_map(|f| ingest.frame(f, None))
        .collect();

    assert_eq!(events, expected_events);
    assert!(events.len() >= 25, "{} events", events.len());
    assert_eq!(counters.ignored(), ignored);
    assert_eq!(counters.control(), control);
    for reason in DecodeReason::ALL {
        assert_eq!(
            counters.errors(reason),
            reasons.get(reason.as_str()).copied().unwrap_or(0),
            "{}",
            reason.as_str()
        );
    }
    assert_eq!(
        counters.events_total() + counters.errors_total() + counters.ignored() + counters.control(),
        frames.len() as u64
    );
    assert_eq!(
        counters.bytes(),
        frames.iter().map(|f| f.text.len() as u64).sum::<u64>()
    );
    for kind in EventKind::ALL {
        let expected = expected_events
            .iter()
            .filter(|e| e.body.kind() == kind)
            .count();
        assert_eq!(counters.events(kind), expected as u64, "{}", kind.as_str());
    }
    // The same frames through a second Ingest sharing the counters double them.
    let twin = ingest.clone();
    let again: Vec<Event> = frames
        .iter()
        .filter_map(|f| twin.frame(f, Some(1)))
        .collect();
    assert_eq!(again, expected_events);
    assert_eq!(counters.ignored(), 2 * ignored);
}

#[test]
fn capture_replay_gives_the_same_events_and_counts_bad_lines() {
    let (frames, expected_events, _, _, _) = mixed_stream();
    // Only frames that are JSON can be captured verbatim as a line's `frame`.
    let capturable: Vec<&RawFrame> = frames
        .iter()
        .filter(|f| serde_json::from_str::<Box<serde_json::value::RawValue>>(&f.text).is_ok())
        .collect();
    let mut writer = CaptureWriter::new(Vec::new());
    for (i, frame) in capturable.iter().enumerate() {
        writer.write(frame).unwrap();
        if i % 7 == 0 {
            writer.flush().unwrap();
        }
    }
    assert_eq!(writer.lines(), capturable.len() as u64);
    let mut bytes = writer.into_inner();
    // Bad lines between good ones: not JSON, not UTF-8, missing fields, a frame that is not
    // JSON, and blank lines (skipped, not counted).
    bytes.extend_from_slice(b"not json\n\xff\xfe\xfd\n{\"shard\":0,\"at\":1}\n\n   \n");
    bytes.extend_from_slice(b"{\"shard\":0,\"at\":1,\"frame\":not json}\r\n");
    let tail = RawFrame {
        shard: 1,
        at: AT,
        text: compact("message_delete.json"),
    };
    let mut tail_writer = CaptureWriter::new(Vec::new());
    tail_writer.write(&tail).unwrap();
    bytes.extend_from_slice(&tail_writer.into_inner());

    let counters = Arc::new(DecodeCounters::default());
    let ingest = Ingest::new(Arc::clone(&counters));
    let mut reader = CaptureReader::new(&bytes[..]);
    let mut events = Vec::new();
    let mut bad_lines = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        if let CaptureItem::Bad { line, .. } = &item {
            bad_lines.push(*line);
        }
        events.extend(ingest.capture_item(item));
    }
    assert_eq!(reader.bytes_read(), bytes.len() as u64);
    let first_bad = capturable.len() as u64 + 1;
    assert_eq!(
        bad_lines,
        vec![first_bad, first_bad + 1, first_bad + 2, first_bad + 5]
    );
    assert_eq!(counters.errors(DecodeReason::InvalidCaptureLine), 4);

    let mut expected = expected_events;
    expected.push(
        match decode_frame(&tail.text, tail.shard, tail.at).unwrap() {
            Decoded::Event(event) => event,
            other => panic!("{other:?}"),
        },
    );
    assert_eq!(events, expected);
}

#[test]
fn a_frame_accepted_live_is_accepted_on_replay() {
    // A frame just under the limit decodes live; recorded and replayed it must decode again,
    // not be rejected because the capture line adds its `{"shard":..,"at":..,"frame":}`.
    let message = compact("message_delete.json");
    let mut text = String::with_capacity(MAX_FRAME_BYTES);
    text.push_str(&message);
    text.extend(std::iter::repeat_n(' ', MAX_FRAME_BYTES - message.len()));
    let frame = RawFrame {
        shard: 0,
        at: AT,
        text,
    };
    let live = match decode_frame(&frame.text, frame.shard, frame.at) {
        Ok(Decoded::Event(event)) => event,
        other => panic!("live: {other:?}"),
    };
    let mut writer = CaptureWriter::new(Vec::new());
    writer.write(&frame).unwrap();
    let bytes = writer.into_inner();
    let mut reader = CaptureReader::new(&bytes[..]);
    match reader.next_item().unwrap() {
        Some(CaptureItem::Frame {
            frame: replayed, ..
        }) => {
            let ingest = Ingest::default();
            assert_eq!(ingest.frame(&replayed, Some(1)), Some(live));
        }
        other => panic!("replay of a frame accepted live: {other:?}"),
    }
}
