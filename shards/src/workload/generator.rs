//! The dispatch stream: which event happens next, to whom, and its payload.
//!
//! The generator owns a mutable copy of its guilds (members join and leave, channels and
//! roles come and go, voice sessions open and close) so that every payload is consistent with
//! the state before it: reactions target recent live messages, voice updates follow a
//! per-(guild, user) state machine (join, move, AFK, leave), removed members stop writing.

use super::config::WorkloadConfig;
use super::content::{self, Style};
use super::distribution::{chance, exponential, index, zipf, Weighted};
use super::names::{self, mix};
use super::payload::{self, Author, EmbedSpec, MessageSpec, ReactionEmoji, ReactionSpec};
use super::snowflake::{snowflake, snowflake_timestamp_ms};
use super::world::{
    kind, perm, shard_of, Channel, Guild, Member, Role, VoiceSession, World, ADMIN_ROLE, MAX_ROLES,
    MOD_ROLE,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One generated dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// Event time, Unix milliseconds (non-decreasing along a generator's stream).
    pub at: i64,
    /// The dispatch type (`t`), e.g. `MESSAGE_CREATE`.
    pub t: &'static str,
    /// The dispatch payload (`d`), JSON.
    pub d: String,
}

/// The event types generated, with their intended shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    MessageCreate,
    MessageUpdate,
    MessageDelete,
    ReactionAdd,
    ReactionRemove,
    VoiceState,
    MemberAdd,
    MemberRemove,
    MemberUpdate,
    ChannelCreate,
    ChannelUpdate,
    ChannelDelete,
    RoleCreate,
    RoleUpdate,
    RoleDelete,
    GuildUpdate,
}

/// Intended event mix (shares sum to 1). An event that cannot happen in the current state
/// (say, a reaction removal with no reaction to remove) becomes a MESSAGE_CREATE.
const MIX: [(Kind, f64); 16] = [
    (Kind::MessageCreate, 0.600),
    (Kind::MessageUpdate, 0.030),
    (Kind::MessageDelete, 0.030),
    (Kind::ReactionAdd, 0.200),
    (Kind::ReactionRemove, 0.030),
    (Kind::VoiceState, 0.080),
    (Kind::MemberAdd, 0.010),
    (Kind::MemberRemove, 0.008),
    (Kind::MemberUpdate, 0.006),
    (Kind::ChannelCreate, 0.0012),
    (Kind::ChannelUpdate, 0.0015),
    (Kind::ChannelDelete, 0.0008),
    (Kind::RoleCreate, 0.0006),
    (Kind::RoleUpdate, 0.0010),
    (Kind::RoleDelete, 0.0004),
    (Kind::GuildUpdate, 0.0005),
];

/// 2015-05-13: no account is older.
const DISCORD_LAUNCH_MS: i64 = 1_431_475_200_000;
const DAY_MS: i64 = 86_400_000;
/// How many recent messages can be edited, deleted or reacted to.
const RECENT_MESSAGES: usize = 8192;
/// How many live reactions can be removed (people take reactions back soon, if ever).
const RECENT_REACTIONS: usize = 4096;
/// Channels per guild beyond which no channel is created.
const MAX_CHANNELS: usize = 60;

type Out = (&'static str, String);

/// A guild's mutable state.
struct GuildState {
    g: Guild,
    /// Member position by user id.
    pos: HashMap<u64, usize>,
    /// Public text channels, `general` first (never deleted).
    text: Vec<u64>,
    /// Bot members' user ids.
    bots: Vec<u64>,
    /// The private moderation channel, if any.
    mod_log: Option<u64>,
}

impl GuildState {
    fn new(g: Guild) -> Self {
        let pos = g
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.user, i))
            .collect();
        let text = g
            .text_channels()
            .filter(|c| c.private_to.is_none())
            .map(|c| c.id)
            .collect();
        let mod_log = g
            .text_channels()
            .find(|c| c.private_to.is_some())
            .map(|c| c.id);
        let bots = g.members.iter().filter(|m| m.bot).map(|m| m.user).collect();
        Self {
            g,
            pos,
            text,
            bots,
            mod_log,
        }
    }

    fn member(&self, user: u64) -> Option<&Member> {
        self.pos.get(&user).and_then(|&i| self.g.members.get(i))
    }

    fn remove_member(&mut self, i: usize) -> Member {
        let m = self.g.members.swap_remove(i);
        self.pos.remove(&m.user);
        if let Some(moved) = self.g.members.get(i) {
            self.pos.insert(moved.user, i);
        }
        m
    }

    fn in_voice(&self, user: u64) -> bool {
        self.g.voice.iter().any(|v| v.user == user)
    }

    /// Voice channels other than AFK.
    fn voice_ids(&self) -> Vec<u64> {
        self.g
            .voice_channels()
            .filter(|c| Some(c.id) != self.g.afk_channel)
            .map(|c| c.id)
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
struct RecentMessage {
    guild: u32,
    channel: u64,
    id: u64,
    author: u64,
    webhook: bool,
    alive: bool,
}

#[derive(Debug, Clone, Copy)]
struct RecentReaction {
    guild: u32,
    channel: u64,
    message: u64,
    user: u64,
    emoji: ReactionEmoji,
}

/// A member repeating the same text several times in quick succession.
struct Burst {
    guild: usize,
    channel: u64,
    user: u64,
    content: String,
    left: u32,
}

/// Hands out snowflakes created "now": timestamp = the event's `at`, then a per-generator
/// worker tag and a per-millisecond sequence, so they are unique and increasing.
struct Mint {
    worker: u64,
    ms: i64,
    seq: u64,
    fresh_users: u64,
}

impl Mint {
    fn now(&mut self, at: i64) -> u64 {
        if at != self.ms {
            self.ms = at;
            self.seq = 0;
        }
        let id = snowflake(at, (self.worker << 17) | (self.seq & 0x1_FFFF));
        self.seq += 1;
        id
    }

    /// A new account created at `created` (before the workload started): bit 21 set, which
    /// world ids never have, then the worker and a counter.
    fn user(&mut self, created: i64) -> u64 {
        self.fresh_users += 1;
        let low = (1 << 21) | ((self.worker & 0x1F) << 16) | (self.fresh_users & 0xFFFF);
        snowflake(created, low)
    }
}

/// An endless, deterministic stream of dispatches over the guilds of one shard (or all).
pub struct DispatchGenerator {
    rng: SmallRng,
    guilds: Vec<GuildState>,
    by_activity: Weighted,
    by_voice: Weighted,
    by_size: Weighted,
    start_ms: i64,
    clock_ms: f64,
    per_ms: f64,
    cap: usize,
    mint: Mint,
    recent: Vec<RecentMessage>,
    recent_next: usize,
    reactions: Vec<RecentReaction>,
    /// `reactions[i].message`, kept apart so that forgetting a message's reactions is a
    /// fast scan.
    reaction_msgs: Vec<u64>,
    reaction_keys: HashSet<(u64, u64, u64)>,
    burst: Option<Burst>,
    text: String,
}

impl DispatchGenerator {
    /// A generator over all guilds of `world` (`shard` None) or only those of shard `s`
    /// (`Some(s)`), seeded by `(cfg.seed, shard)`. Its clock starts at `cfg.start_ms` and
    /// advances by exponential inter-arrival times at `cfg.event_rate` per second.
    pub fn new(world: Arc<World>, cfg: &WorkloadConfig, shard: Option<u32>) -> Self {
        let shard_key = shard.map_or(0, |s| u64::from(s) + 1);
        let rng = SmallRng::seed_from_u64(mix(cfg.seed ^ 0x4745_4e00) ^ mix(shard_key));
        let guilds: Vec<GuildState> = world
            .guilds
            .iter()
            .filter(|g| shard.is_none_or(|s| shard_of(g.id, world.total_shards) == s))
            .map(|g| GuildState::new(g.clone()))
            .collect();
        let by_activity = Weighted::new(guilds.iter().map(|s| s.g.activity));
        let by_voice = Weighted::new(guilds.iter().map(|s| {
            if s.voice_ids().is_empty() {
                0.0
            } else {
                (s.g.members.len() as f64).powf(0.7)
            }
        }));
        let by_size = Weighted::new(guilds.iter().map(|s| (s.g.members.len() as f64).powf(0.9)));
        Self {
            rng,
            guilds,
            by_activity,
            by_voice,
            by_size,
            start_ms: cfg.start_ms,
            clock_ms: 0.0,
            per_ms: cfg.rate() / 1000.0,
            cap: cfg.max_members_per_guild.max(2) as usize,
            mint: Mint {
                worker: shard.map_or(0, |s| u64::from(s % 32)),
                ms: i64::MIN,
                seq: 0,
                fresh_users: 0,
            },
            recent: Vec::with_capacity(RECENT_MESSAGES),
            recent_next: 0,
            reactions: Vec::with_capacity(RECENT_REACTIONS),
            reaction_msgs: Vec::with_capacity(RECENT_REACTIONS),
            reaction_keys: HashSet::with_capacity(RECENT_REACTIONS),
            burst: None,
            text: String::with_capacity(512),
        }
    }

    /// Number of guilds this generator covers.
    pub fn guild_count(&self) -> usize {
        self.guilds.len()
    }

    /// The next dispatch; None only when the generator covers no guild.
    pub fn next_dispatch(&mut self) -> Option<Dispatch> {
        if self.guilds.is_empty() {
            return None;
        }
        self.clock_ms += exponential(&mut self.rng, self.per_ms);
        let at = self.start_ms + self.clock_ms as i64;
        let (t, d) = match self.pick_kind() {
            Kind::MessageCreate => None,
            Kind::MessageUpdate => self.message_update(at),
            Kind::MessageDelete => self.message_delete(),
            Kind::ReactionAdd => self.reaction_add(),
            Kind::ReactionRemove => self.reaction_remove(),
            Kind::VoiceState => self.voice_state(),
            Kind::MemberAdd => self.member_add(at),
            Kind::MemberRemove => self.member_remove(),
            Kind::MemberUpdate => self.member_update(),
            Kind::ChannelCreate => self.channel_create(at),
            Kind::ChannelUpdate => self.channel_update(),
            Kind::ChannelDelete => self.channel_delete(),
            Kind::RoleCreate => self.role_create(at),
            Kind::RoleUpdate => self.role_update(),
            Kind::RoleDelete => self.role_delete(),
            Kind::GuildUpdate => self.guild_update(),
        }
        .or_else(|| self.message_create(at))
        .unwrap_or_else(|| self.guild_update_of(0));
        Some(Dispatch { at, t, d })
    }

    fn pick_kind(&mut self) -> Kind {
        let mut r = self.rng.random::<f64>();
        for (kind, share) in MIX {
            if r < share {
                return kind;
            }
            r -= share;
        }
        Kind::MessageCreate
    }

    // ------------------------------------------------------------ messages

    fn remember_message(&mut self, m: RecentMessage) {
        if self.recent.len() < RECENT_MESSAGES {
            self.recent.push(m);
        } else {
            self.recent[self.recent_next] = m;
            self.recent_next = (self.recent_next + 1) % RECENT_MESSAGES;
        }
    }

    /// A recent message slot, the most recent ones the likeliest.
    fn pick_recent(&mut self) -> Option<usize> {
        let len = self.recent.len();
        if len == 0 {
            return None;
        }
        let newest = if len < RECENT_MESSAGES {
            len - 1
        } else {
            (self.recent_next + len - 1) % len
        };
        let age = zipf(&mut self.rng, len, 0.7);
        let slot = (newest + len - age) % len;
        self.recent[slot].alive.then_some(slot)
    }

    fn message_create(&mut self, at: i64) -> Option<Out> {
        if self.burst.is_some() && chance(&mut self.rng, 0.6) {
            if let Some(out) = self.burst_message(at) {
                return Some(out);
            }
        }
        for _ in 0..4 {
            let gi = self.by_activity.sample(&mut self.rng);
            let r = self.rng.random::<f64>();
            let out = if r < 0.025 {
                self.webhook_message(gi, at)
            } else if r < 0.095 {
                self.bot_message(gi, None, at)
            } else {
                self.human_message(gi, at)
            };
            if out.is_some() {
                return out;
            }
        }
        None
    }

    fn human_message(&mut self, gi: usize, at: i64) -> Option<Out> {
        let Self {
            rng,
            guilds,
            text,
            mint,
            ..
        } = self;
        let gs = guilds.get(gi)?;
        let g = &gs.g;
        let author = g.members.get(zipf(rng, g.members.len(), 1.05))?;
        if author.bot {
            let user = author.user;
            return self.bot_message(gi, Some(user), at);
        }
        let channel = *gs.text.get(zipf(rng, gs.text.len(), 1.2))?;
        let r = rng.random::<f64>();
        let style = match r {
            r if r < 0.030 => Style::Caps,
            r if r < 0.080 => Style::Link,
            r if r < 0.092 => Style::Invite,
            r if r < 0.142 => Style::Mentions,
            r if r < 0.146 => Style::MentionSpam,
            r if r < 0.160 => Style::RoleMention,
            r if r < 0.163 && author.roles & (1 << ADMIN_ROLE | 1 << MOD_ROLE) != 0 => {
                Style::Everyone
            }
            r if r < 0.200 => Style::Caption,
            _ => Style::Plain,
        };
        let n_mentions = match style {
            Style::Mentions => 1 + index(rng, 3),
            Style::MentionSpam => 10 + index(rng, 16),
            _ => 0,
        };
        let mentions: Vec<&Member> = (0..n_mentions)
            .filter_map(|_| g.members.get(zipf(rng, g.members.len(), 0.8)))
            .collect();
        let mention_ids: Vec<u64> = mentions.iter().map(|m| m.user).collect();
        let mention_roles: Vec<u64> = if style == Style::RoleMention {
            let live: Vec<u64> = g
                .live_roles()
                .filter(|(_, r)| r.bot.is_none())
                .map(|(_, r)| r.id)
                .collect();
            if live.is_empty() {
                Vec::new()
            } else {
                let a = live[index(rng, live.len())];
                let b = live[index(rng, live.len())];
                if a == b || chance(rng, 0.7) {
                    vec![a]
                } else {
                    vec![a, b]
                }
            }
        } else {
            Vec::new()
        };
        text.clear();
        content::compose(text, rng, style, &mention_ids, &mention_roles);
        let id = mint.now(at);
        let attachment = (style == Style::Caption).then(|| mint.now(at));
        let nonce = Some(snowflake(at, rng.random()));
        let d = payload::message(&MessageSpec {
            id,
            guild: g,
            channel,
            author: Author::Member(author),
            content: text,
            created: at,
            edited: 0,
            mentions: &mentions,
            mention_roles: &mention_roles,
            mention_everyone: style == Style::Everyone,
            attachment,
            embed: None,
            nonce,
        });
        let user = author.user;
        if matches!(
            style,
            Style::Plain | Style::Caps | Style::Link | Style::Invite
        ) && chance(rng, 0.012)
        {
            self.burst = Some(Burst {
                guild: gi,
                channel,
                user,
                content: text.clone(),
                left: 2 + index(rng, 7) as u32,
            });
        }
        self.remember_message(RecentMessage {
            guild: gi as u32,
            channel,
            id,
            author: user,
            webhook: false,
            alive: true,
        });
        Some(("MESSAGE_CREATE", d))
    }

    fn burst_message(&mut self, at: i64) -> Option<Out> {
        let b = self.burst.as_mut()?;
        let (gi, channel, user) = (b.guild, b.channel, b.user);
        b.left = b.left.saturating_sub(1);
        let content = if b.left == 0 {
            self.burst.take().map(|b| b.content).unwrap_or_default()
        } else {
            b.content.clone()
        };
        let gs = self.guilds.get(gi)?;
        if !gs.text.contains(&channel) {
            self.burst = None;
            return None;
        }
        let Some(author) = gs.member(user) else {
            self.burst = None;
            return None;
        };
        let id = self.mint.now(at);
        let d = payload::message(&MessageSpec {
            id,
            guild: &gs.g,
            channel,
            author: Author::Member(author),
            content: &content,
            created: at,
            edited: 0,
            mentions: &[],
            mention_roles: &[],
            mention_everyone: false,
            attachment: None,
            embed: None,
            nonce: Some(snowflake(at, self.rng.random())),
        });
        self.remember_message(RecentMessage {
            guild: gi as u32,
            channel,
            id,
            author: user,
            webhook: false,
            alive: true,
        });
        Some(("MESSAGE_CREATE", d))
    }

    fn bot_message(&mut self, gi: usize, bot: Option<u64>, at: i64) -> Option<Out> {
        let Self {
            rng,
            guilds,
            text,
            mint,
            ..
        } = self;
        let gs = guilds.get(gi)?;
        let user = match bot {
            Some(b) => b,
            None => *gs.bots.get(zipf(rng, gs.bots.len(), 1.0))?,
        };
        let author = gs.member(user)?;
        let channel = match gs.mod_log {
            Some(c) if chance(rng, 0.25) => c,
            _ => *gs.text.get(zipf(rng, gs.text.len(), 1.0))?,
        };
        let target = if chance(rng, 0.5) {
            gs.g.members.get(zipf(rng, gs.g.members.len(), 1.0))
        } else {
            None
        };
        let targets: Vec<u64> = target.iter().map(|m| m.user).collect();
        text.clear();
        content::compose(text, rng, Style::Bot, &targets, &[]);
        let mentions: Vec<&Member> = if text.contains("<@") {
            target.into_iter().collect()
        } else {
            Vec::new()
        };
        let embed = (text.is_empty() || chance(rng, 0.4)).then(|| EmbedSpec { seed: rng.random() });
        let id = mint.now(at);
        let d = payload::message(&MessageSpec {
            id,
            guild: &gs.g,
            channel,
            author: Author::Member(author),
            content: text,
            created: at,
            edited: 0,
            mentions: &mentions,
            mention_roles: &[],
            mention_everyone: false,
            attachment: None,
            embed,
            nonce: None,
        });
        self.remember_message(RecentMessage {
            guild: gi as u32,
            channel,
            id,
            author: user,
            webhook: false,
            alive: true,
        });
        Some(("MESSAGE_CREATE", d))
    }

    fn webhook_message(&mut self, gi: usize, at: i64) -> Option<Out> {
        let Self {
            rng,
            guilds,
            text,
            mint,
            ..
        } = self;
        let gs = guilds.get(gi)?;
        let w = gs.g.webhooks.get(index(rng, gs.g.webhooks.len().max(1)))?;
        gs.g.channel(w.channel)?;
        text.clear();
        content::compose(text, rng, Style::Webhook, &[], &[]);
        let embed = (text.is_empty() || chance(rng, 0.6)).then(|| EmbedSpec { seed: rng.random() });
        let id = mint.now(at);
        let d = payload::message(&MessageSpec {
            id,
            guild: &gs.g,
            channel: w.channel,
            author: Author::Webhook(w),
            content: text,
            created: at,
            edited: 0,
            mentions: &[],
            mention_roles: &[],
            mention_everyone: false,
            attachment: None,
            embed,
            nonce: None,
        });
        let (channel, author) = (w.channel, w.id);
        self.remember_message(RecentMessage {
            guild: gi as u32,
            channel,
            id,
            author,
            webhook: true,
            alive: true,
        });
        Some(("MESSAGE_CREATE", d))
    }

    fn message_update(&mut self, at: i64) -> Option<Out> {
        let slot = self.pick_recent()?;
        let m = self.recent[slot];
        if m.webhook {
            return None;
        }
        let Self {
            rng, guilds, text, ..
        } = self;
        let gs = guilds.get(m.guild as usize)?;
        let author = gs.member(m.author)?;
        text.clear();
        let style = if author.bot {
            Style::Bot
        } else if chance(rng, 0.2) {
            Style::Link
        } else {
            Style::Plain
        };
        content::compose(text, rng, style, &[], &[]);
        let d = payload::message(&MessageSpec {
            id: m.id,
            guild: &gs.g,
            channel: m.channel,
            author: Author::Member(author),
            content: text,
            created: snowflake_timestamp_ms(m.id),
            edited: at,
            mentions: &[],
            mention_roles: &[],
            mention_everyone: false,
            attachment: None,
            embed: None,
            nonce: None,
        });
        Some(("MESSAGE_UPDATE", d))
    }

    fn message_delete(&mut self) -> Option<Out> {
        let slot = self.pick_recent()?;
        self.recent[slot].alive = false;
        let m = self.recent[slot];
        self.forget_reactions(m.id, None);
        let gs = self.guilds.get(m.guild as usize)?;
        Some((
            "MESSAGE_DELETE",
            payload::message_delete(gs.g.id, m.channel, m.id),
        ))
    }

    // ------------------------------------------------------------ reactions

    fn reaction_add(&mut self) -> Option<Out> {
        let slot = self.pick_recent()?;
        let m = self.recent[slot];
        let Self {
            rng,
            guilds,
            reactions,
            reaction_msgs,
            reaction_keys,
            ..
        } = self;
        let gs = guilds.get(m.guild as usize)?;
        let g = &gs.g;
        let member = g.members.get(zipf(rng, g.members.len(), 1.0))?;
        let emoji = if g.emojis.is_empty() || chance(rng, 0.55) {
            ReactionEmoji::Unicode(zipf(rng, names::UNICODE_EMOJI.len(), 1.1))
        } else {
            let e = &g.emojis[zipf(rng, g.emojis.len(), 1.0)];
            ReactionEmoji::Custom {
                id: e.id,
                name: e.name,
                animated: e.animated,
            }
        };
        if !reaction_keys.insert((m.id, member.user, emoji.key())) {
            return None;
        }
        if reactions.len() >= RECENT_REACTIONS {
            let evict = index(rng, reactions.len());
            let old = reactions.swap_remove(evict);
            reaction_msgs.swap_remove(evict);
            reaction_keys.remove(&(old.message, old.user, old.emoji.key()));
        }
        reaction_msgs.push(m.id);
        reactions.push(RecentReaction {
            guild: m.guild,
            channel: m.channel,
            message: m.id,
            user: member.user,
            emoji,
        });
        let d = payload::reaction(&ReactionSpec {
            guild: g,
            channel: m.channel,
            message: m.id,
            message_author: m.author,
            user: member.user,
            member: Some(member),
            emoji,
        });
        Some(("MESSAGE_REACTION_ADD", d))
    }

    fn reaction_remove(&mut self) -> Option<Out> {
        if self.reactions.is_empty() {
            return None;
        }
        let i = index(&mut self.rng, self.reactions.len());
        let r = self.reactions.swap_remove(i);
        self.reaction_msgs.swap_remove(i);
        self.reaction_keys
            .remove(&(r.message, r.user, r.emoji.key()));
        let gs = self.guilds.get(r.guild as usize)?;
        let d = payload::reaction(&ReactionSpec {
            guild: &gs.g,
            channel: r.channel,
            message: r.message,
            message_author: 0,
            user: r.user,
            member: None,
            emoji: r.emoji,
        });
        Some(("MESSAGE_REACTION_REMOVE", d))
    }

    /// Forgets the live reactions to a deleted message (or to any message of a deleted
    /// channel when `channel` is set).
    fn forget_reactions(&mut self, message: u64, channel: Option<u64>) {
        let mut i = self.reactions.len();
        while i > 0 {
            i -= 1;
            let gone = self.reaction_msgs[i] == message
                || channel.is_some_and(|c| self.reactions[i].channel == c);
            if gone {
                self.reaction_msgs.swap_remove(i);
                let r = self.reactions.swap_remove(i);
                self.reaction_keys
                    .remove(&(r.message, r.user, r.emoji.key()));
            }
        }
    }

    // ------------------------------------------------------------ voice

    /// One step of the voice state machine of a guild: join, move, AFK, leave or a
    /// mute/deaf/video toggle, consistent with the open sessions.
    fn voice_state(&mut self) -> Option<Out> {
        if self.by_voice.is_empty() {
            return None;
        }
        let Self { rng, guilds, .. } = self;
        let gs = guilds.get_mut(self.by_voice.sample(rng))?;
        let voice_ids = gs.voice_ids();
        if voice_ids.is_empty() {
            return None;
        }
        let open = gs.g.voice.len();
        let target = ((gs.g.members.len() as f64).sqrt() / 3.0).max(1.0);
        let p_join = if open == 0 {
            1.0
        } else if (open as f64) < target {
            0.55
        } else {
            0.2
        };
        let toggle = |v: &mut VoiceSession, rng: &mut SmallRng| match index(rng, 4) {
            0 | 1 => v.self_mute = !v.self_mute,
            2 => v.self_deaf = !v.self_deaf,
            _ => v.self_video = !v.self_video,
        };
        let (session, channel) = if chance(rng, p_join) {
            let user = gs.g.members.get(zipf(rng, gs.g.members.len(), 1.0))?.user;
            match gs.g.voice.iter().position(|v| v.user == user) {
                Some(si) => {
                    toggle(&mut gs.g.voice[si], rng);
                    (gs.g.voice[si].clone(), Some(gs.g.voice[si].channel))
                }
                None => {
                    let v = VoiceSession {
                        user,
                        channel: voice_ids[zipf(rng, voice_ids.len(), 1.2)],
                        session: rng.random(),
                        self_mute: chance(rng, 0.3),
                        self_deaf: chance(rng, 0.08),
                        self_video: chance(rng, 0.04),
                    };
                    gs.g.voice.push(v.clone());
                    let c = v.channel;
                    (v, Some(c))
                }
            }
        } else {
            let si = index(rng, open);
            let r = rng.random::<f64>();
            let current = gs.g.voice[si].channel;
            if r < 0.45 {
                let v = gs.g.voice.swap_remove(si);
                (v, None)
            } else {
                let others: Vec<u64> = voice_ids
                    .iter()
                    .copied()
                    .filter(|&c| c != current)
                    .collect();
                let afk = gs.g.afk_channel.filter(|&a| a != current);
                let v = &mut gs.g.voice[si];
                match afk {
                    Some(a) if r < 0.58 => v.channel = a,
                    _ if r < 0.8 && !others.is_empty() => {
                        v.channel = others[index(rng, others.len())];
                    }
                    _ => toggle(v, rng),
                }
                (v.clone(), Some(v.channel))
            }
        };
        let member = gs.member(session.user);
        let mut d = String::with_capacity(900);
        payload::push_voice_state(&mut d, &gs.g, &session, channel, member);
        Some(("VOICE_STATE_UPDATE", d))
    }

    // ------------------------------------------------------------ members

    fn member_add(&mut self, at: i64) -> Option<Out> {
        let Self {
            rng,
            guilds,
            mint,
            by_size,
            cap,
            start_ms,
            ..
        } = self;
        let gs = guilds.get_mut(by_size.sample(rng))?;
        if gs.g.members.len() >= *cap {
            return None;
        }
        let age = if chance(rng, 0.25) {
            rng.random_range(0..7 * DAY_MS)
        } else {
            rng.random_range(7 * DAY_MS..(at - DISCORD_LAUNCH_MS).max(8 * DAY_MS))
        };
        let created = (at - age).min(*start_ms - 1).max(DISCORD_LAUNCH_MS);
        let user = mint.user(created);
        if gs.pos.contains_key(&user) {
            return None;
        }
        let m = Member {
            user,
            bot: chance(rng, 0.02),
            joined_at: at,
            roles: 0,
            nick: 0,
            premium_since: 0,
        };
        if m.bot {
            gs.bots.push(user);
        }
        gs.pos.insert(user, gs.g.members.len());
        let d = payload::member_event(&gs.g, &m);
        gs.g.members.push(m);
        Some(("GUILD_MEMBER_ADD", d))
    }

    fn member_remove(&mut self) -> Option<Out> {
        let Self {
            rng,
            guilds,
            by_size,
            burst,
            ..
        } = self;
        let gs = guilds.get_mut(by_size.sample(rng))?;
        let n = gs.g.members.len();
        if n <= 3 {
            return None;
        }
        for _ in 0..4 {
            let i = n / 2 + index(rng, n - n / 2);
            let m = &gs.g.members[i];
            if m.bot || m.user == gs.g.owner || gs.in_voice(m.user) {
                continue;
            }
            let m = gs.remove_member(i);
            if burst.as_ref().is_some_and(|b| b.user == m.user) {
                *burst = None;
            }
            return Some(("GUILD_MEMBER_REMOVE", payload::member_remove(&gs.g, &m)));
        }
        None
    }

    fn member_update(&mut self) -> Option<Out> {
        let Self {
            rng,
            guilds,
            by_size,
            ..
        } = self;
        let gs = guilds.get_mut(by_size.sample(rng))?;
        let mi = zipf(rng, gs.g.members.len(), 1.0);
        if gs.g.members.get(mi)?.bot {
            return None;
        }
        if chance(rng, 0.6) {
            let cosmetic: Vec<usize> =
                gs.g.live_roles()
                    .filter(|(i, r)| *i > MOD_ROLE && r.bot.is_none())
                    .map(|(i, _)| i)
                    .collect();
            let slot = if cosmetic.is_empty() || chance(rng, 0.1) {
                MOD_ROLE
            } else {
                cosmetic[index(rng, cosmetic.len())]
            };
            gs.g.members[mi].roles ^= 1u64 << slot;
        } else {
            let m = &mut gs.g.members[mi];
            m.nick = if m.nick != 0 && chance(rng, 0.5) {
                0
            } else {
                rng.random_range(1..u32::MAX)
            };
        }
        let d = payload::member_event(&gs.g, &gs.g.members[mi]);
        Some(("GUILD_MEMBER_UPDATE", d))
    }

    // ------------------------------------------------------------ channels

    fn channel_create(&mut self, at: i64) -> Option<Out> {
        let Self {
            rng,
            guilds,
            by_activity,
            mint,
            ..
        } = self;
        let gs = guilds.get_mut(by_activity.sample(rng))?;
        if gs.g.channels.len() >= MAX_CHANNELS {
            return None;
        }
        let voice = chance(rng, 0.2);
        let (ck, name) = if voice {
            (
                kind::VOICE,
                names::VOICE_CHANNELS[index(rng, names::VOICE_CHANNELS.len())],
            )
        } else {
            (
                kind::TEXT,
                names::TEXT_CHANNELS[index(rng, names::TEXT_CHANNELS.len())],
            )
        };
        let same_kind = || gs.g.channels.iter().filter(move |c| c.kind == ck);
        let parent = same_kind().find_map(|c| c.parent);
        let position = same_kind().count() as i32;
        let suffix = gs.g.channels.iter().filter(|c| c.name == name).count() as u32;
        let c = Channel {
            id: mint.now(at),
            kind: ck,
            name,
            suffix: if suffix == 0 { 0 } else { suffix + 1 },
            position,
            parent,
            topic: 0,
            nsfw: false,
            slowmode: 0,
            bitrate: 64_000,
            user_limit: 0,
            private_to: None,
        };
        let d = payload::channel_event(&gs.g, &c);
        if !voice {
            gs.text.push(c.id);
        }
        gs.g.channels.push(c);
        Some(("CHANNEL_CREATE", d))
    }

    fn channel_update(&mut self) -> Option<Out> {
        let Self {
            rng,
            guilds,
            by_activity,
            ..
        } = self;
        let gs = guilds.get_mut(by_activity.sample(rng))?;
        let ci = index(rng, gs.g.channels.len());
        let c = gs.g.channels.get_mut(ci)?;
        match c.kind {
            kind::CATEGORY => c.position += 1,
            kind::VOICE => {
                c.user_limit = [0, 2, 5, 10, 99][index(rng, 5)];
                c.bitrate = [64_000, 96_000, 128_000][index(rng, 3)];
            }
            _ => match index(rng, 3) {
                0 => c.topic = rng.random_range(1..u32::MAX),
                1 => c.slowmode = if c.slowmode == 0 { 10 } else { 0 },
                _ => c.nsfw = !c.nsfw,
            },
        }
        let d = payload::channel_event(&gs.g, &gs.g.channels[ci]);
        Some(("CHANNEL_UPDATE", d))
    }

    fn channel_delete(&mut self) -> Option<Out> {
        let Self {
            rng,
            guilds,
            by_activity,
            recent,
            burst,
            ..
        } = self;
        let gi = by_activity.sample(rng);
        let gs = guilds.get_mut(gi)?;
        let g = &gs.g;
        let protected = |id: u64| {
            Some(id) == gs.text.first().copied()
                || Some(id) == g.system_channel
                || Some(id) == g.rules_channel
                || Some(id) == g.public_updates_channel
                || Some(id) == g.afk_channel
                || g.webhooks.iter().any(|w| w.channel == id)
                || g.voice.iter().any(|v| v.channel == id)
        };
        let voice_count = gs.voice_ids().len();
        let candidates: Vec<usize> = g
            .channels
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                !protected(c.id)
                    && match c.kind {
                        kind::TEXT | kind::ANNOUNCEMENT => c.private_to.is_none(),
                        kind::VOICE => voice_count > 1,
                        _ => false,
                    }
            })
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let c =
            gs.g.channels
                .remove(candidates[index(rng, candidates.len())]);
        gs.text.retain(|&t| t != c.id);
        for m in recent.iter_mut().filter(|m| m.channel == c.id) {
            m.alive = false;
        }
        if burst.as_ref().is_some_and(|b| b.channel == c.id) {
            *burst = None;
        }
        let d = payload::channel_event(&gs.g, &c);
        self.forget_reactions(0, Some(c.id));
        Some(("CHANNEL_DELETE", d))
    }

    // ------------------------------------------------------------ roles and guilds

    fn role_create(&mut self, at: i64) -> Option<Out> {
        let Self {
            rng,
            guilds,
            by_activity,
            mint,
            ..
        } = self;
        let gs = guilds.get_mut(by_activity.sample(rng))?;
        let free =
            gs.g.roles
                .iter()
                .enumerate()
                .skip(MOD_ROLE + 1)
                .find(|(_, r)| r.deleted)
                .map(|(i, _)| i);
        let slot = match free {
            Some(i) => i,
            None if gs.g.roles.len() < MAX_ROLES => gs.g.roles.len(),
            None => return None,
        };
        let role = Role {
            id: mint.now(at),
            name: names::ROLE_NAMES[index(rng, names::ROLE_NAMES.len())],
            permissions: if chance(rng, 0.5) { perm::EVERYONE } else { 0 },
            position: 1,
            color: rng.random_range(0..0x100_0000),
            hoist: false,
            mentionable: false,
            bot: None,
            deleted: false,
        };
        let d = payload::role_event(&gs.g, &role);
        if slot == gs.g.roles.len() {
            gs.g.roles.push(role);
        } else {
            gs.g.roles[slot] = role;
        }
        Some(("GUILD_ROLE_CREATE", d))
    }

    fn role_update(&mut self) -> Option<Out> {
        let Self {
            rng,
            guilds,
            by_activity,
            ..
        } = self;
        let gs = guilds.get_mut(by_activity.sample(rng))?;
        let candidates: Vec<usize> =
            gs.g.live_roles()
                .filter(|(_, r)| r.bot.is_none())
                .map(|(i, _)| i)
                .collect();
        if candidates.is_empty() {
            return None;
        }
        let r = &mut gs.g.roles[candidates[index(rng, candidates.len())]];
        match index(rng, 3) {
            0 => r.hoist = !r.hoist,
            1 => r.mentionable = !r.mentionable,
            _ => r.color = rng.random_range(0..0x100_0000),
        }
        let r = r.clone();
        Some(("GUILD_ROLE_UPDATE", payload::role_event(&gs.g, &r)))
    }

    fn role_delete(&mut self) -> Option<Out> {
        let Self {
            rng,
            guilds,
            by_activity,
            ..
        } = self;
        let gs = guilds.get_mut(by_activity.sample(rng))?;
        let candidates: Vec<usize> =
            gs.g.live_roles()
                .filter(|(i, r)| *i > MOD_ROLE && r.bot.is_none())
                .map(|(i, _)| i)
                .collect();
        if candidates.is_empty() {
            return None;
        }
        let slot = candidates[index(rng, candidates.len())];
        gs.g.roles[slot].deleted = true;
        for m in &mut gs.g.members {
            m.roles &= !(1u64 << slot);
        }
        let id = gs.g.roles[slot].id;
        Some(("GUILD_ROLE_DELETE", payload::role_delete(&gs.g, id)))
    }

    fn guild_update(&mut self) -> Option<Out> {
        let gi = self.by_activity.sample(&mut self.rng);
        let Self { rng, guilds, .. } = self;
        let g = &mut guilds.get_mut(gi)?.g;
        match index(rng, 5) {
            0 | 1 => g.name_seed = rng.random(),
            2 => g.afk_timeout = [60, 300, 900, 1800, 3600][index(rng, 5)],
            3 => g.verification_level = index(rng, 5) as u8,
            _ => {
                g.description = if g.description == 0 {
                    rng.random_range(1..u32::MAX)
                } else {
                    0
                }
            }
        }
        Some(self.guild_update_of(gi))
    }

    fn guild_update_of(&self, gi: usize) -> Out {
        let d = self
            .guilds
            .get(gi)
            .map(|gs| payload::guild_update(&gs.g))
            .unwrap_or_default();
        ("GUILD_UPDATE", d)
    }
}

impl Iterator for DispatchGenerator {
    type Item = Dispatch;

    fn next(&mut self) -> Option<Dispatch> {
        self.next_dispatch()
    }
}
