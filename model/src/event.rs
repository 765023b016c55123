//! The normalized gateway event: one compact record per dispatch we use, holding only the
//! fields the views, the store and automod need. Decoding from raw gateway JSON lives in
//! `guildflow-shards`; this module only defines the shape.

use crate::id::{ChannelId, EmojiId, GuildId, MessageId, RoleId, UserId};
use serde::{Deserialize, Serialize};

/// One decoded dispatch with its provenance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Receive time, Unix milliseconds: the event time of every statistic (SPEC §2).
    pub at: i64,
    /// Shard that received the frame.
    pub shard: u32,
    /// Gateway sequence number `s` of the frame.
    pub seq: u64,
    /// What happened.
    pub body: EventBody,
}

/// Discriminant of [`EventBody`], used for per-type metrics and the store's `kind` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EventKind {
    Ready,
    Resumed,
    MessageCreate,
    MessageUpdate,
    MessageDelete,
    MessageDeleteBulk,
    ReactionAdd,
    ReactionRemove,
    VoiceState,
    MemberAdd,
    MemberUpdate,
    MemberRemove,
    GuildCreate,
    GuildUpdate,
    GuildDelete,
    ChannelCreate,
    ChannelUpdate,
    ChannelDelete,
    RoleCreate,
    RoleUpdate,
    RoleDelete,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 21] = [
        EventKind::Ready,
        EventKind::Resumed,
        EventKind::MessageCreate,
        EventKind::MessageUpdate,
        EventKind::MessageDelete,
        EventKind::MessageDeleteBulk,
        EventKind::ReactionAdd,
        EventKind::ReactionRemove,
        EventKind::VoiceState,
        EventKind::MemberAdd,
        EventKind::MemberUpdate,
        EventKind::MemberRemove,
        EventKind::GuildCreate,
        EventKind::GuildUpdate,
        EventKind::GuildDelete,
        EventKind::ChannelCreate,
        EventKind::ChannelUpdate,
        EventKind::ChannelDelete,
        EventKind::RoleCreate,
        EventKind::RoleUpdate,
        EventKind::RoleDelete,
    ];

    /// Stable snake_case name (metric label, store column value).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Ready => "ready",
            EventKind::Resumed => "resumed",
            EventKind::MessageCreate => "message_create",
            EventKind::MessageUpdate => "message_update",
            EventKind::MessageDelete => "message_delete",
            EventKind::MessageDeleteBulk => "message_delete_bulk",
            EventKind::ReactionAdd => "reaction_add",
            EventKind::ReactionRemove => "reaction_remove",
            EventKind::VoiceState => "voice_state",
            EventKind::MemberAdd => "member_add",
            EventKind::MemberUpdate => "member_update",
            EventKind::MemberRemove => "member_remove",
            EventKind::GuildCreate => "guild_create",
            EventKind::GuildUpdate => "guild_update",
            EventKind::GuildDelete => "guild_delete",
            EventKind::ChannelCreate => "channel_create",
            EventKind::ChannelUpdate => "channel_update",
            EventKind::ChannelDelete => "channel_delete",
            EventKind::RoleCreate => "role_create",
            EventKind::RoleUpdate => "role_update",
            EventKind::RoleDelete => "role_delete",
        }
    }

    /// Position in [`EventKind::ALL`], for dense per-kind counter arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// The payload of a normalized event. Externally tagged, so binary formats (the dataflow's
/// exchange between processes) can encode it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EventBody {
    /// READY: starts a gateway session; later frames of the shard belong to it (SPEC §2).
    Ready {
        session_id: Box<str>,
        resume_gateway_url: Box<str>,
        guilds: Box<[GuildId]>,
    },
    Resumed,
    MessageCreate(Box<MessageCreate>),
    MessageUpdate(Box<MessageUpdate>),
    MessageDelete(MessageRef),
    MessageDeleteBulk {
        guild: Option<GuildId>,
        channel: ChannelId,
        messages: Box<[MessageId]>,
    },
    ReactionAdd(Reaction),
    ReactionRemove(Reaction),
    VoiceState(VoiceState),
    MemberAdd(MemberInfo),
    MemberUpdate(MemberInfo),
    MemberRemove {
        guild: GuildId,
        user: UserId,
    },
    GuildCreate(Box<GuildInfo>),
    GuildUpdate(Box<GuildInfo>),
    GuildDelete {
        guild: GuildId,
        /// True for an outage; false (or absent) when the bot left or was removed.
        unavailable: bool,
    },
    ChannelCreate(ChannelInfo),
    ChannelUpdate(ChannelInfo),
    ChannelDelete(ChannelInfo),
    RoleCreate {
        guild: GuildId,
        role: RoleInfo,
    },
    RoleUpdate {
        guild: GuildId,
        role: RoleInfo,
    },
    RoleDelete {
        guild: GuildId,
        role: RoleId,
    },
}

impl EventBody {
    /// The kind of this payload.
    pub const fn kind(&self) -> EventKind {
        match self {
            EventBody::Ready { .. } => EventKind::Ready,
            EventBody::Resumed => EventKind::Resumed,
            EventBody::MessageCreate(_) => EventKind::MessageCreate,
            EventBody::MessageUpdate(_) => EventKind::MessageUpdate,
            EventBody::MessageDelete(_) => EventKind::MessageDelete,
            EventBody::MessageDeleteBulk { .. } => EventKind::MessageDeleteBulk,
            EventBody::ReactionAdd(_) => EventKind::ReactionAdd,
            EventBody::ReactionRemove(_) => EventKind::ReactionRemove,
            EventBody::VoiceState(_) => EventKind::VoiceState,
            EventBody::MemberAdd(_) => EventKind::MemberAdd,
            EventBody::MemberUpdate(_) => EventKind::MemberUpdate,
            EventBody::MemberRemove { .. } => EventKind::MemberRemove,
            EventBody::GuildCreate(_) => EventKind::GuildCreate,
            EventBody::GuildUpdate(_) => EventKind::GuildUpdate,
            EventBody::GuildDelete { .. } => EventKind::GuildDelete,
            EventBody::ChannelCreate(_) => EventKind::ChannelCreate,
            EventBody::ChannelUpdate(_) => EventKind::ChannelUpdate,
            EventBody::ChannelDelete(_) => EventKind::ChannelDelete,
            EventBody::RoleCreate { .. } => EventKind::RoleCreate,
            EventBody::RoleUpdate { .. } => EventKind::RoleUpdate,
            EventBody::RoleDelete { .. } => EventKind::RoleDelete,
        }
    }

    /// The guild the event belongs to, if any (DMs and READY have none).
    pub fn guild(&self) -> Option<GuildId> {
        match self {
            EventBody::Ready { .. } | EventBody::Resumed => None,
            EventBody::MessageCreate(m) => m.guild,
            EventBody::MessageUpdate(m) => m.guild,
            EventBody::MessageDelete(m) => m.guild,
            EventBody::MessageDeleteBulk { guild, .. } => *guild,
            EventBody::ReactionAdd(r) | EventBody::ReactionRemove(r) => r.guild,
            EventBody::VoiceState(v) => Some(v.guild),
            EventBody::MemberAdd(m) | EventBody::MemberUpdate(m) => Some(m.guild),
            EventBody::MemberRemove { guild, .. } => Some(*guild),
            EventBody::GuildCreate(g) | EventBody::GuildUpdate(g) => Some(g.id),
            EventBody::GuildDelete { guild, .. } => Some(*guild),
            EventBody::ChannelCreate(c)
            | EventBody::ChannelUpdate(c)
            | EventBody::ChannelDelete(c) => c.guild,
            EventBody::RoleCreate { guild, .. }
            | EventBody::RoleUpdate { guild, .. }
            | EventBody::RoleDelete { guild, .. } => Some(*guild),
        }
    }
}

/// MESSAGE_CREATE, with what counting (SPEC §3) and automod need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageCreate {
    /// None for a direct message; SPEC §3 counts only guild messages.
    pub guild: Option<GuildId>,
    /// Channel (or thread) the message was posted in.
    pub channel: ChannelId,
    /// The message id (de-duplication key, XP bonus).
    pub message: MessageId,
    /// Author.
    pub author: UserId,
    /// `author.bot`.
    pub author_bot: bool,
    /// Whether `webhook_id` is present: webhook messages are not counted.
    pub webhook: bool,
    /// The author's role ids (`member.roles`), for automod role exemptions.
    pub author_roles: Box<[RoleId]>,
    /// Raw content; automod derives caps ratio, links, invites and banned words from it.
    pub content: Box<str>,
    /// Unique users mentioned.
    pub mention_users: u32,
    /// Unique roles mentioned.
    pub mention_roles: u32,
    /// `mention_everyone`.
    pub mention_everyone: bool,
    /// Number of attachments.
    pub attachments: u32,
    /// Number of embeds.
    pub embeds: u32,
}

/// MESSAGE_UPDATE (a partial message; content only when it changed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct MessageUpdate {
    pub guild: Option<GuildId>,
    pub channel: ChannelId,
    pub message: MessageId,
    pub author: Option<UserId>,
    pub content: Option<Box<str>>,
}

/// MESSAGE_DELETE.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct MessageRef {
    pub guild: Option<GuildId>,
    pub channel: ChannelId,
    pub message: MessageId,
}

/// MESSAGE_REACTION_ADD / _REMOVE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Reaction {
    pub guild: Option<GuildId>,
    pub channel: ChannelId,
    pub message: MessageId,
    pub user: UserId,
    /// `member.user.bot` (only present on add).
    pub user_bot: bool,
    /// Custom emoji id, or None for a unicode emoji.
    pub emoji_id: Option<EmojiId>,
    /// Emoji name (unicode character or custom name).
    pub emoji_name: Option<Box<str>>,
}

/// VOICE_STATE_UPDATE, or one of GUILD_CREATE's `voice_states`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct VoiceState {
    pub guild: GuildId,
    pub user: UserId,
    /// None when the user left voice.
    pub channel: Option<ChannelId>,
    pub bot: bool,
    pub self_mute: bool,
    pub self_deaf: bool,
}

/// GUILD_MEMBER_ADD / _UPDATE, or one of GUILD_CREATE's `members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct MemberInfo {
    pub guild: GuildId,
    pub user: UserId,
    pub bot: bool,
    pub roles: Box<[RoleId]>,
    /// `joined_at` as Unix milliseconds, when present and parseable.
    pub joined_at: Option<i64>,
    /// The name Discord shows: guild nickname, else display name, else username.
    #[serde(default)]
    pub name: Option<Box<str>>,
}

/// Kind of channel, reduced to what statistics distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ChannelKind {
    Text,
    Voice,
    Category,
    Thread,
    Other,
}

impl ChannelKind {
    /// Maps Discord's channel `type` number.
    pub const fn from_discord(kind: u8) -> Self {
        match kind {
            0 | 5 | 15 | 16 => ChannelKind::Text,
            2 | 13 => ChannelKind::Voice,
            4 => ChannelKind::Category,
            10..=12 => ChannelKind::Thread,
            _ => ChannelKind::Other,
        }
    }
}

/// CHANNEL_CREATE / _UPDATE / _DELETE, or one of GUILD_CREATE's `channels`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ChannelInfo {
    pub guild: Option<GuildId>,
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub name: Option<Box<str>>,
    pub parent: Option<ChannelId>,
}

/// A role with its permission bits (authorization derives ADMINISTRATOR/MANAGE_GUILD from it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RoleInfo {
    pub id: RoleId,
    pub name: Box<str>,
    pub permissions: u64,
    pub position: i64,
}

/// GUILD_CREATE / GUILD_UPDATE. Collections are empty on GUILD_UPDATE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct GuildInfo {
    pub id: GuildId,
    pub name: Box<str>,
    pub owner: UserId,
    /// `member_count` (GUILD_CREATE only).
    pub member_count: Option<u64>,
    pub afk_channel: Option<ChannelId>,
    pub roles: Vec<RoleInfo>,
    pub channels: Vec<ChannelInfo>,
    pub members: Vec<MemberInfo>,
    pub voice_states: Vec<VoiceState>,
}
