//! The lean decoder: borrowed serde structs with only the fields we keep, one per dispatch type.
//! Unknown fields are skipped by serde without allocating.

use super::time::parse_rfc3339_ms;
use super::DecodeError;
use guildflow_model::{
    ChannelId, ChannelInfo, ChannelKind, EmojiId, EventBody, GuildId, GuildInfo, MemberInfo,
    MessageCreate, MessageId, MessageRef, MessageUpdate, Reaction, RoleId, RoleInfo, UserId,
    VoiceState,
};
use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

/// Dispatch types decoded into events (others are counted and skipped).
pub const DECODED_DISPATCHES: [&str; 21] = [
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_DELETE",
    "MESSAGE_DELETE_BULK",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "VOICE_STATE_UPDATE",
    "GUILD_MEMBER_ADD",
    "GUILD_MEMBER_UPDATE",
    "GUILD_MEMBER_REMOVE",
    "GUILD_CREATE",
    "GUILD_UPDATE",
    "GUILD_DELETE",
    "CHANNEL_CREATE",
    "CHANNEL_UPDATE",
    "CHANNEL_DELETE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_UPDATE",
    "GUILD_ROLE_DELETE",
    "READY",
    "RESUMED",
];

/// Decodes the `d` of a dispatch of type `t`. `Ok(None)` for types we do not use.
pub fn decode_dispatch(t: &str, d: &str) -> Result<Option<EventBody>, DecodeError> {
    let mismatch = |source| DecodeError::PayloadMismatch {
        t: t.to_owned(),
        source,
    };
    if t == "RESUMED" {
        return Ok(Some(EventBody::Resumed));
    }
    if !DECODED_DISPATCHES.contains(&t) {
        return Ok(None);
    }
    // serde's derived structs also take a JSON array positionally; a payload is an object.
    if !super::starts_with_object(d) {
        return Err(mismatch(de::Error::custom(
            "the payload must be a JSON object",
        )));
    }
    let mut de = serde_json::Deserializer::from_str(d);
    let body = decode_payload(t, &mut de).and_then(|body| de.end().map(|()| body));
    body.map_err(mismatch)
}

/// Decodes the payload of a dispatch of type `t` from `d`, a deserializer positioned on it:
/// the frame's own (one pass over the frame, `super::decode_frame`'s fast path) or one over
/// `d` alone. `Ok(None)` for types we do not use (their payload is skipped).
pub(super) fn decode_payload<'de, D: Deserializer<'de>>(
    t: &str,
    d: D,
) -> Result<Option<EventBody>, D::Error> {
    let d = ObjectOnly(d);
    let body = match t {
        "MESSAGE_CREATE" => WireMessage::deserialize(d).map(|m| m.into_body()),
        "MESSAGE_UPDATE" => WireMessageUpdate::deserialize(d).map(|m| {
            EventBody::MessageUpdate(Box::new(MessageUpdate {
                guild: m.guild_id,
                channel: m.channel_id,
                message: m.id,
                author: m.author.map(|a| a.id),
                content: m.content.map(|c| c.as_ref().into()),
            }))
        }),
        "MESSAGE_DELETE" => WireMessageDelete::deserialize(d).map(|m| {
            EventBody::MessageDelete(MessageRef {
                guild: m.guild_id,
                channel: m.channel_id,
                message: m.id,
            })
        }),
        "MESSAGE_DELETE_BULK" => {
            WireMessageDeleteBulk::deserialize(d).map(|m| EventBody::MessageDeleteBulk {
                guild: m.guild_id,
                channel: m.channel_id,
                messages: m.ids.into_boxed_slice(),
            })
        }
        "MESSAGE_REACTION_ADD" => {
            WireReaction::deserialize(d).map(|r| EventBody::ReactionAdd(r.into_reaction()))
        }
        "MESSAGE_REACTION_REMOVE" => {
            WireReaction::deserialize(d).map(|r| EventBody::ReactionRemove(r.into_reaction()))
        }
        "VOICE_STATE_UPDATE" => WireVoiceState::deserialize(d).and_then(|v| {
            let guild = v
                .guild_id
                .ok_or_else(|| de::Error::missing_field("guild_id"))?;
            Ok(EventBody::VoiceState(v.into_state(guild)))
        }),
        "GUILD_MEMBER_ADD" => {
            WireMember::deserialize(d).and_then(|m| m.into_info(None).map(EventBody::MemberAdd))
        }
        "GUILD_MEMBER_UPDATE" => {
            WireMember::deserialize(d).and_then(|m| m.into_info(None).map(EventBody::MemberUpdate))
        }
        "GUILD_MEMBER_REMOVE" => {
            WireMemberRemove::deserialize(d).map(|m| EventBody::MemberRemove {
                guild: m.guild_id,
                user: m.user.id,
            })
        }
        "GUILD_CREATE" => match WireGuild::deserialize(d) {
            // An unavailable guild (outage) carries no state; its later GUILD_CREATE does.
            Ok(g) if g.unavailable == Some(true) => return Ok(None),
            Ok(g) => g.into_info().map(|g| EventBody::GuildCreate(Box::new(g))),
            Err(e) => Err(e),
        },
        "GUILD_UPDATE" => WireGuild::deserialize(d)
            .and_then(|g| g.into_info().map(|g| EventBody::GuildUpdate(Box::new(g)))),
        "GUILD_DELETE" => WireGuildDelete::deserialize(d).map(|g| EventBody::GuildDelete {
            guild: g.id,
            unavailable: g.unavailable.unwrap_or(false),
        }),
        "CHANNEL_CREATE" => {
            WireChannel::deserialize(d).map(|c| EventBody::ChannelCreate(c.into_info(None)))
        }
        "CHANNEL_UPDATE" => {
            WireChannel::deserialize(d).map(|c| EventBody::ChannelUpdate(c.into_info(None)))
        }
        "CHANNEL_DELETE" => {
            WireChannel::deserialize(d).map(|c| EventBody::ChannelDelete(c.into_info(None)))
        }
        "GUILD_ROLE_CREATE" => WireRoleEvent::deserialize(d).map(|r| EventBody::RoleCreate {
            guild: r.guild_id,
            role: r.role.into_info(),
        }),
        "GUILD_ROLE_UPDATE" => WireRoleEvent::deserialize(d).map(|r| EventBody::RoleUpdate {
            guild: r.guild_id,
            role: r.role.into_info(),
        }),
        "GUILD_ROLE_DELETE" => WireRoleDelete::deserialize(d).map(|r| EventBody::RoleDelete {
            guild: r.guild_id,
            role: r.role_id,
        }),
        "READY" => WireReady::deserialize(d).map(|r| EventBody::Ready {
            session_id: r.session_id.as_ref().into(),
            resume_gateway_url: r.resume_gateway_url.as_ref().into(),
            guilds: r.guilds.into_iter().map(|g| g.id).collect(),
        }),
        "RESUMED" => IgnoredAny::deserialize(d).map(|_| EventBody::Resumed),
        _ => {
            IgnoredAny::deserialize(d)?;
            return Ok(None);
        }
    };
    body.map(Some)
}

/// A deserializer that reads a struct only from a JSON object: serde's derived structs also
/// take an array, positionally, and a payload must be an object.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    fn deserialize_ignored_any<V: de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
    }
}

/// Discord sends 64-bit permission sets as decimal strings.
fn de_u64_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s: Cow<'de, str> = Deserialize::deserialize(d)?;
    s.parse()
        .map_err(|_| de::Error::custom(format_args!("invalid integer string {s:?}")))
}

/// Counts array elements without building them.
fn de_count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let items: Vec<IgnoredAny> = Deserialize::deserialize(d)?;
    Ok(u32::try_from(items.len()).unwrap_or(u32::MAX))
}

fn unique_count<T: Ord>(mut ids: Vec<T>) -> u32 {
    ids.sort_unstable();
    ids.dedup();
    u32::try_from(ids.len()).unwrap_or(u32::MAX)
}

#[derive(Deserialize)]
struct WireUser {
    id: UserId,
    #[serde(default)]
    bot: bool,
}

#[derive(Deserialize)]
struct WireUserId {
    id: UserId,
}

#[derive(Deserialize)]
struct WireMessageMember {
    #[serde(default)]
    roles: Vec<RoleId>,
}

#[derive(Deserialize)]
struct WireMessage<'a> {
    id: MessageId,
    channel_id: ChannelId,
    #[serde(default)]
    guild_id: Option<GuildId>,
    author: WireUser,
    #[serde(default)]
    webhook_id: Option<IgnoredAny>,
    #[serde(default)]
    member: Option<WireMessageMember>,
    #[serde(borrow)]
    content: Cow<'a, str>,
    #[serde(default)]
    mentions: Vec<WireUserId>,
    #[serde(default)]
    mention_roles: Vec<RoleId>,
    #[serde(default)]
    mention_everyone: bool,
    #[serde(default, deserialize_with = "de_count")]
    attachments: u32,
    #[serde(default, deserialize_with = "de_count")]
    embeds: u32,
}

impl WireMessage<'_> {
    fn into_body(self) -> EventBody {
        EventBody::MessageCreate(Box::new(MessageCreate {
            guild: self.guild_id,
            channel: self.channel_id,
            message: self.id,
            author: self.author.id,
            author_bot: self.author.bot,
            webhook: self.webhook_id.is_some(),
            author_roles: self
                .member
                .map(|m| m.roles.into_boxed_slice())
                .unwrap_or_default(),
            content: self.content.as_ref().into(),
            mention_users: unique_count(self.mentions.into_iter().map(|u| u.id).collect()),
            mention_roles: unique_count(self.mention_roles),
            mention_everyone: self.mention_everyone,
            attachments: self.attachments,
            embeds: self.embeds,
        }))
    }
}

#[derive(Deserialize)]
struct WireMessageUpdate<'a> {
    id: MessageId,
    channel_id: ChannelId,
    #[serde(default)]
    guild_id: Option<GuildId>,
    #[serde(default)]
    author: Option<WireUserId>,
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireMessageDelete {
    id: MessageId,
    channel_id: ChannelId,
    #[serde(default)]
    guild_id: Option<GuildId>,
}

#[derive(Deserialize)]
struct WireMessageDeleteBulk {
    ids: Vec<MessageId>,
    channel_id: ChannelId,
    #[serde(default)]
    guild_id: Option<GuildId>,
}

#[derive(Deserialize)]
struct WireMemberUser {
    user: WireUser,
}

#[derive(Deserialize)]
struct WireEmoji<'a> {
    #[serde(default)]
    id: Option<EmojiId>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireReaction<'a> {
    user_id: UserId,
    channel_id: ChannelId,
    message_id: MessageId,
    #[serde(default)]
    guild_id: Option<GuildId>,
    #[serde(default)]
    member: Option<WireMemberUser>,
    #[serde(borrow)]
    emoji: WireEmoji<'a>,
}

impl WireReaction<'_> {
    fn into_reaction(self) -> Reaction {
        Reaction {
            guild: self.guild_id,
            channel: self.channel_id,
            message: self.message_id,
            user: self.user_id,
            user_bot: self.member.is_some_and(|m| m.user.bot),
            emoji_id: self.emoji.id,
            emoji_name: self.emoji.name.map(|n| n.as_ref().into()),
        }
    }
}

#[derive(Deserialize)]
struct WireVoiceState {
    #[serde(default)]
    guild_id: Option<GuildId>,
    #[serde(default)]
    channel_id: Option<ChannelId>,
    user_id: UserId,
    #[serde(default)]
    member: Option<WireMemberUser>,
    #[serde(default)]
    self_mute: bool,
    #[serde(default)]
    self_deaf: bool,
}

impl WireVoiceState {
    fn into_state(self, guild: GuildId) -> VoiceState {
        VoiceState {
            guild,
            user: self.user_id,
            channel: self.channel_id,
            bot: self.member.is_some_and(|m| m.user.bot),
            self_mute: self.self_mute,
            self_deaf: self.self_deaf,
        }
    }
}

#[derive(Deserialize)]
struct WireMember<'a> {
    #[serde(default)]
    guild_id: Option<GuildId>,
    #[serde(borrow)]
    user: WireNamedUser<'a>,
    #[serde(default)]
    roles: Vec<RoleId>,
    #[serde(borrow, default)]
    joined_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    nick: Option<Cow<'a, str>>,
}

/// A member's user, with the names a dashboard shows (messages' authors skip them).
#[derive(Deserialize)]
struct WireNamedUser<'a> {
    id: UserId,
    #[serde(default)]
    bot: bool,
    #[serde(borrow, default)]
    username: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    global_name: Option<Cow<'a, str>>,
}

impl WireMember<'_> {
    fn into_info<E: de::Error>(self, guild: Option<GuildId>) -> Result<MemberInfo, E> {
        let guild = self
            .guild_id
            .or(guild)
            .ok_or_else(|| de::Error::missing_field("guild_id"))?;
        // What Discord shows: the guild nickname, else the display name, else the username.
        let name = [self.nick, self.user.global_name, self.user.username]
            .into_iter()
            .flatten()
            .find(|n| !n.is_empty())
            .map(|n| Box::from(&*n));
        Ok(MemberInfo {
            guild,
            user: self.user.id,
            bot: self.user.bot,
            roles: self.roles.into_boxed_slice(),
            joined_at: self.joined_at.as_deref().and_then(parse_rfc3339_ms),
            name,
        })
    }
}

#[derive(Deserialize)]
struct WireMemberRemove {
    guild_id: GuildId,
    user: WireUserId,
}

#[derive(Deserialize)]
struct WireChannel<'a> {
    id: ChannelId,
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    guild_id: Option<GuildId>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    parent_id: Option<ChannelId>,
}

impl WireChannel<'_> {
    fn into_info(self, guild: Option<GuildId>) -> ChannelInfo {
        ChannelInfo {
            guild: self.guild_id.or(guild),
            id: self.id,
            kind: ChannelKind::from_discord(self.kind),
            name: self.name.map(|n| n.as_ref().into()),
            parent: self.parent_id,
        }
    }
}

#[derive(Deserialize)]
struct WireRole<'a> {
    id: RoleId,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(deserialize_with = "de_u64_string")]
    permissions: u64,
    #[serde(default)]
    position: i64,
}

impl WireRole<'_> {
    fn into_info(self) -> RoleInfo {
        RoleInfo {
            id: self.id,
            name: self.name.as_ref().into(),
            permissions: self.permissions,
            position: self.position,
        }
    }
}

#[derive(Deserialize)]
struct WireRoleEvent<'a> {
    guild_id: GuildId,
    #[serde(borrow)]
    role: WireRole<'a>,
}

#[derive(Deserialize)]
struct WireRoleDelete {
    guild_id: GuildId,
    role_id: RoleId,
}

#[derive(Deserialize)]
struct WireGuild<'a> {
    id: GuildId,
    #[serde(default)]
    unavailable: Option<bool>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    owner_id: Option<UserId>,
    #[serde(default)]
    member_count: Option<u64>,
    #[serde(default)]
    afk_channel_id: Option<ChannelId>,
    #[serde(borrow, default)]
    roles: Vec<WireRole<'a>>,
    #[serde(borrow, default)]
    channels: Vec<WireChannel<'a>>,
    #[serde(borrow, default)]
    members: Vec<WireMember<'a>>,
    #[serde(default)]
    voice_states: Vec<WireVoiceState>,
}

impl WireGuild<'_> {
    fn into_info<E: de::Error>(self) -> Result<GuildInfo, E> {
        let id = self.id;
        let name = self.name.ok_or_else(|| de::Error::missing_field("name"))?;
        let owner = self
            .owner_id
            .ok_or_else(|| de::Error::missing_field("owner_id"))?;
        Ok(GuildInfo {
            id,
            name: name.as_ref().into(),
            owner,
            member_count: self.member_count,
            afk_channel: self.afk_channel_id,
            roles: self.roles.into_iter().map(WireRole::into_info).collect(),
            channels: self
                .channels
                .into_iter()
                .map(|c| c.into_info(Some(id)))
                .collect(),
            members: self
                .members
                .into_iter()
                .map(|m| m.into_info(Some(id)))
                .collect::<Result<_, _>>()?,
            voice_states: self
                .voice_states
                .into_iter()
                .map(|v| v.into_state(id))
                .collect(),
        })
    }
}

#[derive(Deserialize)]
struct WireGuildDelete {
    id: GuildId,
    #[serde(default)]
    unavailable: Option<bool>,
}

#[derive(Deserialize)]
struct WireUnavailableGuild {
    id: GuildId,
}

#[derive(Deserialize)]
struct WireReady<'a> {
    #[serde(borrow)]
    session_id: Cow<'a, str>,
    #[serde(borrow)]
    resume_gateway_url: Cow<'a, str>,
    #[serde(default)]
    guilds: Vec<WireUnavailableGuild>,
}
