//! One guild's sequential state: what needs event order (de-duplication, voice sessions, XP
//! cooldowns, member count, automod windows) lives here, outside the arrangements.

use super::activity::{ActiveMarks, MemberActivity};
use super::dedup::MessageIds;
use super::deltas::Deltas;
use super::voice::{ClosedVoiceSession, VoiceSessions};
use super::Signal;
use crate::automod::{AutomodState, CompiledAutomod};
use crate::keys::{Counter, SeriesMetric, ViewKey};
use crate::settings::GuildSettings;
use foldhash::{HashMap, HashSet};
use guildflow_model::{EventBody, GuildInfo, MessageCreate, VoiceState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Xp {
    total: i64,
    last_award: Option<i64>,
}

/// State of one guild.
#[derive(Debug, Default)]
pub struct GuildState {
    pub(crate) settings: GuildSettings,
    afk_channel: Option<u64>,
    bots: HashSet<u64>,
    member_count: Option<i64>,
    message_ids: MessageIds,
    pub(crate) voice: VoiceSessions,
    /// Who was active in which hours and days (distinct active members).
    pub(crate) active: ActiveMarks,
    xp: HashMap<u64, Xp>,
    /// Compiled rules and their per-member windows (None: automod off).
    pub(crate) automod: Option<(CompiledAutomod, AutomodState)>,
}

/// What a snapshot keeps of a guild's state: everything but its settings and compiled automod
/// rules, which belong to the admin plane and are configured again before a restore.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GuildCheckpoint {
    afk_channel: Option<u64>,
    bots: Vec<u64>,
    member_count: Option<i64>,
    message_ids: MessageIds,
    voice: VoiceSessions,
    active: Vec<(u64, MemberActivity)>,
    xp: Vec<(u64, Xp)>,
    automod: Option<AutomodState>,
}

/// What applying an event may write besides view deltas.
pub struct Outputs<'a> {
    /// View deltas.
    pub deltas: &'a mut Deltas,
    /// Level-ups.
    pub signals: &'a mut Vec<Signal>,
    /// Closed voice sessions.
    pub closed_voice: &'a mut Vec<ClosedVoiceSession>,
}

impl GuildState {
    /// Applies one event of this guild at event time `at`; `watermark` bounds the message-id
    /// horizon.
    pub fn apply(
        &mut self,
        guild: u64,
        body: &EventBody,
        at: i64,
        watermark: i64,
        horizon_ms: i64,
        out: &mut Outputs<'_>,
    ) {
        let tz = self.settings.timezone;
        match body {
            EventBody::MessageCreate(message) => {
                self.message(guild, message, at, watermark, horizon_ms, out)
            }
            EventBody::ReactionAdd(reaction) => {
                if reaction.user_bot
                    || self.bots.contains(&reaction.user.get())
                    || !self
                        .settings
                        .counts(reaction.user.get(), Some(reaction.channel.get()))
                {
                    return;
                }
                out.deltas
                    .activity(tz, guild, reaction.user.get(), Counter::Reactions, at, 1);
            }
            EventBody::VoiceState(state) => self.voice_state(guild, state, at, out),
            EventBody::MemberAdd(member) => {
                if member.bot {
                    self.bots.insert(member.user.get());
                }
                out.deltas.guild_event(tz, guild, SeriesMetric::Joins, at);
                if let Some(count) = self.member_count.as_mut() {
                    *count += 1;
                    out.deltas.add(ViewKey::Members { guild }, 1);
                }
            }
            EventBody::MemberUpdate(member) if member.bot => {
                self.bots.insert(member.user.get());
            }
            EventBody::MemberRemove { user, .. } => {
                out.deltas.guild_event(tz, guild, SeriesMetric::Leaves, at);
                if let Some(count) = self.member_count.as_mut() {
                    *count -= 1;
                    out.deltas.add(ViewKey::Members { guild }, -1);
                }
                // Leaving the guild ends any voice session.
                self.voice.apply(
                    tz,
                    guild,
                    user.get(),
                    None,
                    false,
                    at,
                    out.deltas,
                    out.closed_voice,
                );
            }
            EventBody::GuildCreate(info) => self.guild_create(guild, info, at, out),
            EventBody::GuildUpdate(info) => {
                self.afk_channel = info.afk_channel.map(|c| c.get());
            }
            EventBody::GuildDelete {
                unavailable: false, ..
            } => {
                self.voice
                    .close_all(tz, guild, at, out.deltas, out.closed_voice);
            }
            _ => {}
        }
    }

    fn message(
        &mut self,
        guild: u64,
        message: &MessageCreate,
        at: i64,
        watermark: i64,
        horizon_ms: i64,
        out: &mut Outputs<'_>,
    ) {
        let author = message.author.get();
        if message.author_bot {
            self.bots.insert(author);
            return;
        }
        if message.webhook || self.bots.contains(&author) {
            return;
        }
        if !self
            .message_ids
            .admit(message.message.get(), watermark, horizon_ms)
        {
            return;
        }
        if let Some((rules, windows)) = self.automod.as_mut() {
            let actions = windows.on_message(rules, message, at);
            out.signals.extend(actions.into_iter().map(Signal::Automod));
        }
        // Exclusions and opt-outs keep a message out of statistics, not out of moderation.
        if !self.settings.counts(author, Some(message.channel.get()))
            || self
                .settings
                .excludes_roles(message.author_roles.iter().map(|r| r.get()))
        {
            return;
        }
        let tz = self.settings.timezone;
        out.deltas
            .activity(tz, guild, author, Counter::Messages, at, 1);
        out.deltas
            .channel_message(tz, guild, author, message.channel.get(), at);
        if !self.settings.levels_enabled {
            return;
        }
        let xp = self.xp.entry(author).or_default();
        let due = xp
            .last_award
            .is_none_or(|last| at - last >= self.settings.xp_cooldown_ms);
        if due {
            let base = 15 + (message.message.get() % 11) as i64;
            let award = base * i64::from(self.settings.xp_rate_percent) / 100;
            let curve = self.settings.level_curve;
            let before = curve.level(xp.total);
            xp.total += award;
            xp.last_award = Some(at);
            out.deltas
                .activity(tz, guild, author, Counter::Xp, at, award);
            let after = curve.level(xp.total);
            if after > before {
                out.signals.push(Signal::LevelUp {
                    guild,
                    user: author,
                    level: after,
                    xp: xp.total,
                    at,
                });
            }
        }
    }

    fn guild_create(&mut self, guild: u64, info: &GuildInfo, at: i64, out: &mut Outputs<'_>) {
        let tz = self.settings.timezone;
        self.afk_channel = info.afk_channel.map(|c| c.get());
        for member in &info.members {
            if member.bot {
                self.bots.insert(member.user.get());
            }
        }
        if let Some(count) = info.member_count {
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            // The view carries count + MEMBER_COUNT_OFFSET, so a count of 0 is still a key.
            let delta = match self.member_count {
                Some(old) => count - old,
                None => count + crate::keys::MEMBER_COUNT_OFFSET,
            };
            self.member_count = Some(count);
            out.deltas.add(ViewKey::Members { guild }, delta);
        }
        let present: Vec<u64> = info.voice_states.iter().map(|v| v.user.get()).collect();
        self.voice
            .retain_present(tz, guild, &present, at, out.deltas, out.closed_voice);
        for state in &info.voice_states {
            self.voice_state(guild, state, at, out);
        }
    }

    /// A voice state (live, or listed by GUILD_CREATE): bots and the AFK channel do not count.
    fn voice_state(&mut self, guild: u64, state: &VoiceState, at: i64, out: &mut Outputs<'_>) {
        let user = state.user.get();
        if state.bot {
            self.bots.insert(user);
        }
        let channel = state.channel.map(|c| c.get());
        let counted = !self.bots.contains(&user)
            && channel != self.afk_channel
            && self.settings.counts(user, channel);
        let tz = self.settings.timezone;
        self.voice.apply(
            tz,
            guild,
            user,
            channel,
            counted,
            at,
            out.deltas,
            out.closed_voice,
        );
    }

    /// The state a snapshot keeps (sorted, so equal states give equal bytes).
    pub fn checkpoint(&self) -> GuildCheckpoint {
        let mut bots: Vec<u64> = self.bots.iter().copied().collect();
        bots.sort_unstable();
        let mut xp: Vec<(u64, Xp)> = self.xp.iter().map(|(u, x)| (*u, *x)).collect();
        xp.sort_unstable_by_key(|(u, _)| *u);
        GuildCheckpoint {
            afk_channel: self.afk_channel,
            bots,
            member_count: self.member_count,
            message_ids: self.message_ids.clone(),
            voice: self.voice.clone(),
            active: self.active.checkpoint(),
            xp,
            automod: self.automod.as_ref().map(|(_, windows)| windows.clone()),
        }
    }

    /// Replaces the state with a snapshot's, keeping the settings and compiled rules.
    pub fn restore(&mut self, checkpoint: GuildCheckpoint) {
        self.afk_channel = checkpoint.afk_channel;
        self.bots = checkpoint.bots.into_iter().collect();
        self.member_count = checkpoint.member_count;
        self.message_ids = checkpoint.message_ids;
        self.voice = checkpoint.voice;
        self.active.restore(checkpoint.active);
        self.xp = checkpoint.xp.into_iter().collect();
        if let (Some((_, windows)), Some(saved)) = (self.automod.as_mut(), checkpoint.automod) {
            *windows = saved;
        }
    }

    /// XP total of a member (for level computation on reads).
    pub fn xp_of(&self, user: u64) -> i64 {
        self.xp.get(&user).map_or(0, |x| x.total)
    }
}
