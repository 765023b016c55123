//! The static world: guilds with their channels, roles, members, emojis, webhooks and open
//! voice sessions, built once and deterministically from a [`WorkloadConfig`].
//!
//! Sizes are heavy-tailed: guild member counts follow a Pareto law (most guilds have 5-50
//! members, a few tens of thousands, capped by `max_members_per_guild`); members are stored in
//! activity-rank order so that Zipf sampling over the index makes a few members write most of
//! the messages. Users are shared between guilds (a popular user is in many), as on Discord.

use super::config::WorkloadConfig;
use super::distribution::{chance, index, pareto, zipf};
use super::names::{self, mix};
use super::payload;
use super::snowflake::snowflake;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

/// Our bot's user id (also its application id): a member of every guild, the `user` of READY.
pub const BOT_USER_ID: u64 = snowflake(1_614_816_000_000, 0x0C_1234);

/// 2015-05-13, Discord's public launch: the oldest account creation time generated.
const DISCORD_LAUNCH_MS: i64 = 1_431_475_200_000;
/// 2016-01-01: the oldest guild creation time generated.
const OLDEST_GUILD_MS: i64 = 1_451_606_400_000;
const DAY_MS: i64 = 86_400_000;

/// Discord's `large_threshold` maximum: a GUILD_CREATE of a larger guild lists only some
/// members (owner, bots, members in voice, then the most active), as Discord does.
pub(crate) const LARGE_THRESHOLD: usize = 250;

/// Permission bits used by the generated roles.
pub(crate) mod perm {
    /// CREATE_INSTANT_INVITE.
    pub const CREATE_INVITE: u64 = 1;
    /// KICK_MEMBERS.
    pub const KICK: u64 = 1 << 1;
    /// BAN_MEMBERS.
    pub const BAN: u64 = 1 << 2;
    /// ADMINISTRATOR.
    pub const ADMINISTRATOR: u64 = 1 << 3;
    /// MANAGE_CHANNELS.
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    /// MANAGE_GUILD.
    pub const MANAGE_GUILD: u64 = 1 << 5;
    /// ADD_REACTIONS.
    pub const ADD_REACTIONS: u64 = 1 << 6;
    /// VIEW_CHANNEL.
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    /// SEND_MESSAGES.
    pub const SEND_MESSAGES: u64 = 1 << 11;
    /// MANAGE_MESSAGES.
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    /// EMBED_LINKS.
    pub const EMBED_LINKS: u64 = 1 << 14;
    /// ATTACH_FILES.
    pub const ATTACH_FILES: u64 = 1 << 15;
    /// READ_MESSAGE_HISTORY.
    pub const READ_HISTORY: u64 = 1 << 16;
    /// MENTION_EVERYONE.
    pub const MENTION_EVERYONE: u64 = 1 << 17;
    /// USE_EXTERNAL_EMOJIS.
    pub const EXTERNAL_EMOJIS: u64 = 1 << 18;
    /// CONNECT.
    pub const CONNECT: u64 = 1 << 20;
    /// SPEAK.
    pub const SPEAK: u64 = 1 << 21;
    /// MUTE_MEMBERS.
    pub const MUTE_MEMBERS: u64 = 1 << 22;
    /// MOVE_MEMBERS.
    pub const MOVE_MEMBERS: u64 = 1 << 24;
    /// USE_VAD.
    pub const USE_VAD: u64 = 1 << 25;
    /// CHANGE_NICKNAME.
    pub const CHANGE_NICKNAME: u64 = 1 << 26;
    /// MANAGE_ROLES.
    pub const MANAGE_ROLES: u64 = 1 << 28;
    /// MODERATE_MEMBERS.
    pub const MODERATE_MEMBERS: u64 = 1 << 40;

    /// A typical @everyone.
    pub const EVERYONE: u64 = CREATE_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_HISTORY
        | EXTERNAL_EMOJIS
        | CONNECT
        | SPEAK
        | USE_VAD
        | CHANGE_NICKNAME;
    /// A typical moderator role.
    pub const MODERATOR: u64 = EVERYONE
        | KICK
        | BAN
        | MANAGE_GUILD
        | MANAGE_MESSAGES
        | MENTION_EVERYONE
        | MUTE_MEMBERS
        | MOVE_MEMBERS
        | MODERATE_MEMBERS;
    /// A typical bot role.
    pub const BOT: u64 = EVERYONE | MANAGE_MESSAGES | MANAGE_ROLES | MANAGE_CHANNELS | KICK | BAN;
}

/// Discord channel type numbers used here.
pub(crate) mod kind {
    /// GUILD_TEXT.
    pub const TEXT: u8 = 0;
    /// GUILD_VOICE.
    pub const VOICE: u8 = 2;
    /// GUILD_CATEGORY.
    pub const CATEGORY: u8 = 4;
    /// GUILD_ANNOUNCEMENT.
    pub const ANNOUNCEMENT: u8 = 5;
}

/// Index in [`Guild::roles`] of @everyone, the admin and the moderator role: never deleted.
pub(crate) const EVERYONE_ROLE: usize = 0;
pub(crate) const ADMIN_ROLE: usize = 1;
pub(crate) const MOD_ROLE: usize = 2;
/// Roles live in at most 64 slots: a member's roles are a bit mask over slot indices.
pub(crate) const MAX_ROLES: usize = 64;

/// A guild member. Users are identified by id; their names and avatars derive from the id.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub user: u64,
    pub bot: bool,
    pub joined_at: i64,
    /// Bit `i` set: the member has `Guild::roles[i]` (never @everyone, bit 0).
    pub roles: u64,
    /// Nickname seed; 0 means no nickname.
    pub nick: u32,
    /// Boosting since, Unix ms; 0 means not boosting.
    pub premium_since: i64,
}

/// A guild channel.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub id: u64,
    pub kind: u8,
    pub name: &'static str,
    /// Appended to the name as `-N` when not 0 (duplicate names, renames).
    pub suffix: u32,
    pub position: i32,
    pub parent: Option<u64>,
    /// Topic seed; 0 means no topic.
    pub topic: u32,
    pub nsfw: bool,
    pub slowmode: u16,
    pub bitrate: u32,
    pub user_limit: u32,
    /// When set, @everyone is denied VIEW_CHANNEL and this role is allowed it.
    pub private_to: Option<u64>,
}

impl Channel {
    pub(crate) fn is_text(&self) -> bool {
        self.kind == kind::TEXT || self.kind == kind::ANNOUNCEMENT
    }
}

/// A role slot.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub id: u64,
    pub name: &'static str,
    pub permissions: u64,
    pub position: i64,
    pub color: u32,
    pub hoist: bool,
    pub mentionable: bool,
    /// Managed role of this bot (tags.bot_id).
    pub bot: Option<u64>,
    /// Deleted slots are kept so that member role masks stay valid.
    pub deleted: bool,
}

/// A custom emoji.
#[derive(Debug, Clone)]
pub(crate) struct Emoji {
    pub id: u64,
    pub name: &'static str,
    pub animated: bool,
}

/// A channel webhook (integrations posting messages).
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub id: u64,
    pub channel: u64,
    pub name: &'static str,
}

/// An open voice session.
#[derive(Debug, Clone)]
pub(crate) struct VoiceSession {
    pub user: u64,
    pub channel: u64,
    pub session: u64,
    pub self_mute: bool,
    pub self_deaf: bool,
    pub self_video: bool,
}

/// Guild features, as a bit mask over this list.
pub(crate) const FEATURES: &[&str] = &[
    "COMMUNITY",
    "NEWS",
    "WELCOME_SCREEN_ENABLED",
    "MEMBER_VERIFICATION_GATE_ENABLED",
    "PREVIEW_ENABLED",
    "INVITE_SPLASH",
    "ANIMATED_ICON",
    "BANNER",
    "VANITY_URL",
    "ROLE_ICONS",
    "AUTO_MODERATION",
];

/// A guild with its whole state. The generator clones and mutates its own copy.
#[derive(Debug, Clone)]
pub(crate) struct Guild {
    pub id: u64,
    pub name_seed: u64,
    pub owner: u64,
    /// When our bot joined.
    pub joined_at: i64,
    pub icon: Option<u64>,
    pub banner: Option<u64>,
    pub description: u32,
    pub afk_channel: Option<u64>,
    pub afk_timeout: u16,
    pub system_channel: Option<u64>,
    pub rules_channel: Option<u64>,
    pub public_updates_channel: Option<u64>,
    pub verification_level: u8,
    pub default_notifications: u8,
    pub explicit_content_filter: u8,
    pub mfa_level: u8,
    pub premium_tier: u8,
    pub premium_subscription_count: u32,
    pub features: u32,
    pub vanity: Option<u64>,
    pub locale: &'static str,
    pub channels: Vec<Channel>,
    pub roles: Vec<Role>,
    /// In activity-rank order: index 0 is the most active member.
    pub members: Vec<Member>,
    pub emojis: Vec<Emoji>,
    pub webhooks: Vec<Webhook>,
    pub voice: Vec<VoiceSession>,
    /// Relative rate of this guild's messages.
    pub activity: f64,
}

impl Guild {
    /// Ids of the live roles in a member role mask, in slot order.
    pub(crate) fn role_ids(&self, mask: u64) -> impl Iterator<Item = u64> + '_ {
        self.roles
            .iter()
            .enumerate()
            .filter(move |(i, r)| *i < 64 && mask & (1u64 << i) != 0 && !r.deleted)
            .map(|(_, r)| r.id)
    }

    /// Live roles other than @everyone.
    pub(crate) fn live_roles(&self) -> impl Iterator<Item = (usize, &Role)> + '_ {
        self.roles
            .iter()
            .enumerate()
            .filter(|(i, r)| *i != EVERYONE_ROLE && !r.deleted)
    }

    pub(crate) fn channel(&self, id: u64) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// Voice channels members can join (not categories), the AFK one included.
    pub(crate) fn voice_channels(&self) -> impl Iterator<Item = &Channel> + '_ {
        self.channels.iter().filter(|c| c.kind == kind::VOICE)
    }

    pub(crate) fn text_channels(&self) -> impl Iterator<Item = &Channel> + '_ {
        self.channels.iter().filter(|c| c.is_text())
    }

    pub(crate) fn large(&self) -> bool {
        self.members.len() > LARGE_THRESHOLD
    }
}

/// The static world. Built once by [`World::generate`]; read-only afterwards, shared by the
/// generators of all shards through an `Arc`.
#[derive(Debug, Clone)]
pub struct World {
    pub(crate) guilds: Vec<Guild>,
    index: HashMap<u64, usize>,
    pub(crate) total_shards: u32,
    pub(crate) start_ms: i64,
}

/// Hands out world ids: creation time chosen by the caller, the low bits a counter (bit 21
/// clear; the generator's ids set it), so ids never repeat within a world.
struct Minter {
    counter: u64,
}

impl Minter {
    fn mint(&mut self, ms: i64) -> u64 {
        self.counter += 1;
        snowflake(ms, self.counter & 0x1F_FFFF)
    }
}

fn uniform_ms(rng: &mut SmallRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..hi)
    }
}

fn log2(n: usize) -> f64 {
    (n.max(1) as f64).log2()
}

impl World {
    /// Builds the world for `cfg`: the same config always gives the same world.
    pub fn generate(cfg: &WorkloadConfig) -> World {
        let mut rng = SmallRng::seed_from_u64(mix(cfg.seed ^ 0x0057_4f52_4c44));
        let mut minter = Minter { counter: 0 };
        let start = cfg.start_ms;
        let cap = cfg.max_members_per_guild.max(2) as usize;

        // Popular bots shared by many guilds, verified (public flag) when popular.
        let bot_pool: Vec<u64> = (0..names::BOT_NAMES.len())
            .map(|_| {
                let created = uniform_ms(&mut rng, OLDEST_GUILD_MS, start - 90 * DAY_MS);
                minter.mint(created)
            })
            .collect();
        let mut user_pool: Vec<u64> = Vec::new();
        let mut guilds = Vec::with_capacity(cfg.guilds as usize);
        let mut index = HashMap::with_capacity(cfg.guilds as usize);
        let mut seen = HashSet::new();

        for _ in 0..cfg.guilds {
            let created = uniform_ms(&mut rng, OLDEST_GUILD_MS, start - 30 * DAY_MS);
            let id = minter.mint(created);
            let size = (pareto(&mut rng, 4.0, 0.75) as usize).clamp(2, cap);
            let g = build_guild(
                &mut rng,
                &mut minter,
                &mut user_pool,
                &bot_pool,
                &mut seen,
                id,
                size,
                start,
            );
            if index.insert(id, guilds.len()).is_none() {
                guilds.push(g);
            }
        }
        World {
            guilds,
            index,
            total_shards: cfg.shards(),
            start_ms: start,
        }
    }

    /// Ids of all guilds, in generation order.
    pub fn guild_ids(&self) -> Vec<u64> {
        self.guilds.iter().map(|g| g.id).collect()
    }

    /// Ids of the guilds of `shard`: those with `(guild_id >> 22) % total_shards == shard`.
    pub fn guild_ids_of_shard(&self, shard: u32) -> Vec<u64> {
        self.guilds
            .iter()
            .filter(|g| shard_of(g.id, self.total_shards) == shard)
            .map(|g| g.id)
            .collect()
    }

    /// The full `d` of the GUILD_CREATE of `guild_id` (the world's initial state), or None
    /// for an unknown guild.
    pub fn guild_create(&self, guild_id: u64) -> Option<String> {
        let g = self.guild(guild_id)?;
        Some(payload::guild_create(g, self.start_ms))
    }

    /// Number of guilds.
    pub fn len(&self) -> usize {
        self.guilds.len()
    }

    /// Whether the world has no guild.
    pub fn is_empty(&self) -> bool {
        self.guilds.is_empty()
    }

    /// The member count of a guild in the initial state.
    pub fn member_count(&self, guild_id: u64) -> Option<usize> {
        self.guild(guild_id).map(|g| g.members.len())
    }

    /// The number of shards the world is split over.
    pub fn total_shards(&self) -> u32 {
        self.total_shards
    }

    pub(crate) fn guild(&self, guild_id: u64) -> Option<&Guild> {
        self.index.get(&guild_id).and_then(|&i| self.guilds.get(i))
    }
}

/// `(guild_id >> 22) % total_shards`.
pub(crate) fn shard_of(guild_id: u64, total_shards: u32) -> u32 {
    ((guild_id >> 22) % u64::from(total_shards.max(1))) as u32
}

#[allow(clippy::too_many_arguments)]
fn build_guild(
    rng: &mut SmallRng,
    minter: &mut Minter,
    user_pool: &mut Vec<u64>,
    bot_pool: &[u64],
    seen: &mut HashSet<u64>,
    id: u64,
    size: usize,
    start: i64,
) -> Guild {
    let created = super::snowflake::snowflake_timestamp_ms(id);
    let later = |rng: &mut SmallRng| uniform_ms(rng, created, start - DAY_MS);
    seen.clear();

    // --- members: humans (new or from the shared pool), bots, our bot.
    let n_bots = if size < 5 {
        0
    } else {
        ((log2(size) / 2.0).round() as usize)
            .clamp(1, 6)
            .min(size / 3)
    };
    let n_humans = size.saturating_sub(n_bots + 1).max(1);
    let mut humans = Vec::with_capacity(n_humans);
    while humans.len() < n_humans {
        let user = if !user_pool.is_empty() && chance(rng, 0.3) {
            user_pool[zipf(rng, user_pool.len(), 0.9)]
        } else {
            let u = minter.mint(uniform_ms(rng, DISCORD_LAUNCH_MS, start - DAY_MS));
            user_pool.push(u);
            u
        };
        if seen.insert(user) {
            humans.push(user);
        }
    }
    let owner = humans[index(rng, humans.len().min(5))];
    let mut members: Vec<Member> = humans
        .iter()
        .map(|&user| {
            let user_created = super::snowflake::snowflake_timestamp_ms(user);
            let joined_at = if user == owner {
                created
            } else {
                uniform_ms(rng, created.max(user_created), start - 60_000)
            };
            Member {
                user,
                bot: false,
                joined_at,
                roles: 0,
                nick: if chance(rng, 0.15) {
                    rng.random_range(1..u32::MAX)
                } else {
                    0
                },
                premium_since: 0,
            }
        })
        .collect();
    let mut bots = Vec::with_capacity(n_bots + 1);
    while bots.len() < n_bots {
        let b = bot_pool[zipf(rng, bot_pool.len(), 1.0)];
        if seen.insert(b) {
            bots.push(b);
        }
    }
    bots.push(BOT_USER_ID);
    let bot_joined = later(rng);
    for &b in &bots {
        members.push(Member {
            user: b,
            bot: true,
            joined_at: if b == BOT_USER_ID {
                bot_joined
            } else {
                later(rng)
            },
            roles: 0,
            nick: 0,
            premium_since: 0,
        });
    }

    // --- roles: @everyone (id == guild id), admin, moderator, cosmetic, one per bot.
    let n_cosmetic = (log2(size) as usize).min(names::ROLE_NAMES.len()).min(10);
    let mut roles = Vec::with_capacity(3 + n_cosmetic + bots.len());
    let mut role = |rng: &mut SmallRng, name, permissions, bot: Option<u64>| Role {
        id: if name == "@everyone" {
            id
        } else {
            minter.mint(later(rng))
        },
        name,
        permissions,
        position: 0,
        color: if bot.is_some() || name == "@everyone" {
            0
        } else {
            rng.random_range(0..0x100_0000)
        },
        hoist: chance(rng, 0.3),
        mentionable: chance(rng, 0.3),
        bot,
        deleted: false,
    };
    roles.push(role(rng, "@everyone", perm::EVERYONE, None));
    roles.push(role(
        rng,
        "Admin",
        perm::ADMINISTRATOR | perm::EVERYONE,
        None,
    ));
    roles.push(role(rng, "Moderator", perm::MODERATOR, None));
    let first_cosmetic = rng.random_range(0..names::ROLE_NAMES.len());
    for k in 0..n_cosmetic {
        let name = names::ROLE_NAMES[(first_cosmetic + k) % names::ROLE_NAMES.len()];
        let p = if chance(rng, 0.5) { perm::EVERYONE } else { 0 };
        roles.push(role(rng, name, p, None));
    }
    let first_bot_role = roles.len();
    for &b in &bots {
        roles.push(role(rng, names::bot_name(b), perm::BOT, Some(b)));
    }
    roles[EVERYONE_ROLE].hoist = false;
    roles[EVERYONE_ROLE].mentionable = false;
    // Positions: @everyone 0, cosmetic, bots, moderator, admin on top.
    let mut pos = 1;
    for r in roles.iter_mut().skip(MOD_ROLE + 1) {
        r.position = pos;
        pos += 1;
    }
    roles[MOD_ROLE].position = pos;
    roles[ADMIN_ROLE].position = pos + 1;

    // Member roles.
    let n_humans = humans.len();
    for (rank, m) in members.iter_mut().enumerate() {
        if m.bot {
            continue;
        }
        if m.user == owner || (rank < 20 && size >= 10 && chance(rng, 0.05)) {
            m.roles |= 1 << ADMIN_ROLE;
        }
        if size >= 10 && rank < 200 && chance(rng, (0.6 / (rank as f64 + 4.0)).max(0.01)) {
            m.roles |= 1 << MOD_ROLE;
        }
        for k in 0..n_cosmetic {
            if chance(rng, 0.5 / (k as f64 + 1.0)) {
                m.roles |= 1 << (MOD_ROLE + 1 + k);
            }
        }
    }
    for (k, m) in members.iter_mut().skip(n_humans).enumerate() {
        m.roles |= 1 << (first_bot_role + k);
    }

    // --- channels.
    let mut channels = Vec::new();
    let mut mint_channel = |rng: &mut SmallRng, kind: u8, name: &'static str, parent| Channel {
        id: minter.mint(later(rng)),
        kind,
        name,
        suffix: 0,
        position: 0,
        parent,
        topic: 0,
        nsfw: false,
        slowmode: 0,
        bitrate: 64_000,
        user_limit: 0,
        private_to: None,
    };
    let categorized = size >= 10;
    let (text_cat, voice_cat) = if categorized {
        let t = mint_channel(rng, kind::CATEGORY, "Text Channels", None);
        let mut v = mint_channel(rng, kind::CATEGORY, "Voice Channels", None);
        v.position = 1;
        let ids = (Some(t.id), Some(v.id));
        channels.push(t);
        channels.push(v);
        ids
    } else {
        (None, None)
    };
    let n_text = ((1.0 + log2(size) * 1.2 + rng.random::<f64>() * 3.0) as usize).clamp(1, 25);
    let first_text = channels.len();
    let offset = rng.random_range(1..names::TEXT_CHANNELS.len());
    for k in 0..n_text {
        let (name, suffix) = if k == 0 {
            ("general", 0)
        } else {
            let j = (offset + k - 1) % (names::TEXT_CHANNELS.len() - 1) + 1;
            let round = ((k - 1) / (names::TEXT_CHANNELS.len() - 1)) as u32;
            (
                names::TEXT_CHANNELS[j],
                if round == 0 { 0 } else { round + 1 },
            )
        };
        let kind = if name == "announcements" {
            kind::ANNOUNCEMENT
        } else {
            kind::TEXT
        };
        let mut c = mint_channel(rng, kind, name, text_cat);
        c.suffix = suffix;
        c.position = k as i32;
        c.topic = if chance(rng, 0.4) {
            rng.random_range(1..u32::MAX)
        } else {
            0
        };
        c.nsfw = name == "memes" && chance(rng, 0.1);
        c.slowmode = if chance(rng, 0.1) { 5 } else { 0 };
        channels.push(c);
    }
    let mod_log = if size >= 50 {
        let mut c = mint_channel(rng, kind::TEXT, "mod-log", text_cat);
        c.position = n_text as i32;
        c.private_to = Some(roles[MOD_ROLE].id);
        let id = c.id;
        channels.push(c);
        Some(id)
    } else {
        None
    };
    let n_voice = if size < 10 {
        1
    } else {
        ((1.0 + log2(size) / 2.0) as usize).clamp(1, 8)
    };
    let voice_offset = rng.random_range(1..names::VOICE_CHANNELS.len());
    for k in 0..n_voice {
        let name = if k == 0 {
            "General"
        } else {
            names::VOICE_CHANNELS[(voice_offset + k - 1) % (names::VOICE_CHANNELS.len() - 1) + 1]
        };
        let mut c = mint_channel(rng, kind::VOICE, name, voice_cat);
        c.position = k as i32;
        c.user_limit = if chance(rng, 0.2) {
            [2, 4, 5, 10, 25][index(rng, 5)]
        } else {
            0
        };
        c.bitrate = [64_000, 96_000, 128_000][index(rng, 3)];
        channels.push(c);
    }
    let afk_channel = if chance(rng, 0.85) {
        let mut c = mint_channel(rng, kind::VOICE, "AFK", voice_cat);
        c.position = n_voice as i32;
        let id = c.id;
        channels.push(c);
        Some(id)
    } else {
        None
    };

    let text_ids: Vec<u64> = channels[first_text..first_text + n_text]
        .iter()
        .map(|c| c.id)
        .collect();
    let find = |name: &str| {
        channels[first_text..first_text + n_text]
            .iter()
            .find(|c| c.name == name && c.suffix == 0)
            .map(|c| c.id)
    };
    let general = text_ids[0];
    let community = size >= 500 && chance(rng, 0.7);
    let system_channel = if chance(rng, 0.85) {
        Some(find("welcome").unwrap_or(general))
    } else {
        None
    };
    let (rules_channel, public_updates_channel) = if community {
        (
            Some(find("rules").unwrap_or(general)),
            Some(mod_log.unwrap_or(general)),
        )
    } else {
        (None, None)
    };

    // --- boosts, features.
    let boosts = if size >= 30 {
        ((pareto(rng, 1.0, 1.1) - 1.0) * (size as f64).sqrt() / 4.0) as u32
    } else {
        0
    }
    .min(200);
    let premium_tier = match boosts {
        0..=1 => 0,
        2..=6 => 1,
        7..=13 => 2,
        _ => 3,
    };
    for _ in 0..boosts.min(n_humans as u32) {
        let i = index(rng, n_humans);
        if members[i].premium_since == 0 {
            members[i].premium_since = uniform_ms(rng, members[i].joined_at, start - 60_000);
        }
    }
    let mut features = 0u32;
    if community {
        features |= 0b1_1111;
        if chance(rng, 0.5) {
            features |= 1 << 10;
        }
    }
    if premium_tier >= 1 {
        features |= 1 << 5 | 1 << 6;
    }
    if premium_tier >= 2 {
        features |= 1 << 7 | 1 << 9;
    }
    let vanity = if premium_tier >= 3 {
        features |= 1 << 8;
        Some(rng.random())
    } else {
        None
    };

    // --- emojis, webhooks.
    let n_emojis = if size < 20 {
        index(rng, 3)
    } else {
        index(rng, (log2(size) * 4.0) as usize + 1).min(50)
    };
    let emoji_offset = index(rng, names::EMOJI_NAMES.len());
    let emojis = (0..n_emojis)
        .map(|k| Emoji {
            id: minter.mint(later(rng)),
            name: names::EMOJI_NAMES[(emoji_offset + k) % names::EMOJI_NAMES.len()],
            animated: chance(rng, 0.15),
        })
        .collect();
    let n_webhooks = if size >= 20 && chance(rng, 0.4) {
        rng.random_range(1..=3)
    } else {
        0
    };
    let webhooks = (0..n_webhooks)
        .map(|_| Webhook {
            id: minter.mint(later(rng)),
            channel: text_ids[index(rng, text_ids.len())],
            name: names::WEBHOOK_NAMES[index(rng, names::WEBHOOK_NAMES.len())],
        })
        .collect();

    // --- voice sessions already open when the shard connects.
    let voice_ids: Vec<u64> = channels
        .iter()
        .filter(|c| c.kind == kind::VOICE && Some(c.id) != afk_channel)
        .map(|c| c.id)
        .collect();
    let mut voice = Vec::new();
    let n_open = ((size as f64).sqrt() / 3.0 * rng.random::<f64>()) as usize;
    for _ in 0..n_open.min(n_humans) {
        let m = &members[zipf(rng, n_humans, 0.9)];
        if voice.iter().any(|v: &VoiceSession| v.user == m.user) {
            continue;
        }
        let channel = match afk_channel {
            Some(afk) if chance(rng, 0.1) => afk,
            _ => voice_ids[index(rng, voice_ids.len())],
        };
        voice.push(VoiceSession {
            user: m.user,
            channel,
            session: rng.random(),
            self_mute: chance(rng, 0.3),
            self_deaf: chance(rng, 0.1),
            self_video: chance(rng, 0.05),
        });
    }

    let activity = (size as f64).powf(0.75) * pareto(rng, 1.0, 2.0).min(20.0);
    Guild {
        id,
        name_seed: rng.random(),
        owner,
        joined_at: bot_joined,
        icon: chance(rng, 0.8).then(|| rng.random()),
        banner: (premium_tier >= 2).then(|| rng.random()),
        description: if community {
            rng.random_range(1..u32::MAX)
        } else {
            0
        },
        afk_channel,
        afk_timeout: [60, 300, 300, 900, 1800, 3600][index(rng, 6)],
        system_channel,
        rules_channel,
        public_updates_channel,
        verification_level: if community {
            2 + index(rng, 3) as u8
        } else {
            index(rng, 3) as u8
        },
        default_notifications: u8::from(size > 100 || chance(rng, 0.3)),
        explicit_content_filter: if community { 2 } else { index(rng, 3) as u8 },
        mfa_level: u8::from(community && chance(rng, 0.5)),
        premium_tier,
        premium_subscription_count: boosts,
        features,
        vanity,
        locale: [
            "en-US", "en-US", "en-US", "de", "fr", "es-ES", "pt-BR", "ja",
        ][index(rng, 8)],
        channels,
        roles,
        members,
        emojis,
        webhooks,
        voice,
        activity,
    }
}
