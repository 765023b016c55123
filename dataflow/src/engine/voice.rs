//! Voice sessions (SPEC §3): per (guild, user) a state machine over voice states. A different
//! non-null channel closes the open session and opens one there; a null channel closes it.
//! AFK-channel time and bots are not counted. Open sessions accrue up to the watermark at
//! every flush, so their time lands in the buckets it overlaps.

use super::deltas::Deltas;
use crate::timezone::Timezone;
use foldhash::HashMap;
use serde::{Deserialize, Serialize};

/// One open voice session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceSession {
    /// Channel.
    pub channel: u64,
    /// Opened at (event time).
    pub since: i64,
    /// Accrued into the views up to here.
    pub accrued_to: i64,
    /// Whether it counts (not AFK, not a bot).
    pub counted: bool,
}

/// A closed session, for the store's `voice_sessions` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ClosedVoiceSession {
    /// Guild.
    pub guild: u64,
    /// User.
    pub user: u64,
    /// Channel.
    pub channel: u64,
    /// Start, Unix ms.
    pub started_at: i64,
    /// End, Unix ms.
    pub ended_at: i64,
    /// Whether it counted.
    pub counted: bool,
}

/// The open sessions of one guild.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VoiceSessions {
    open: HashMap<u64, VoiceSession>,
}

impl VoiceSessions {
    /// Applies a voice state of `user` at `at`.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        tz: Timezone,
        guild: u64,
        user: u64,
        channel: Option<u64>,
        counted_if_open: bool,
        at: i64,
        deltas: &mut Deltas,
        closed: &mut Vec<ClosedVoiceSession>,
    ) {
        let current = self.open.get(&user).map(|s| s.channel);
        if current == channel {
            return;
        }
        if let Some(session) = self.open.remove(&user) {
            Self::close(tz, guild, user, session, at, deltas, closed);
        }
        if let Some(channel) = channel {
            self.open.insert(
                user,
                VoiceSession {
                    channel,
                    since: at,
                    accrued_to: at,
                    counted: counted_if_open,
                },
            );
        }
    }

    /// Closes sessions of users absent from `present` (a fresh GUILD_CREATE lists everyone in
    /// voice; whoever is missing left while we were not looking).
    pub fn retain_present(
        &mut self,
        tz: Timezone,
        guild: u64,
        present: &[u64],
        at: i64,
        deltas: &mut Deltas,
        closed: &mut Vec<ClosedVoiceSession>,
    ) {
        let gone: Vec<u64> = self
            .open
            .keys()
            .copied()
            .filter(|u| !present.contains(u))
            .collect();
        for user in gone {
            if let Some(session) = self.open.remove(&user) {
                Self::close(tz, guild, user, session, at, deltas, closed);
            }
        }
    }

    /// Closes every session (the guild was deleted or the bot removed).
    pub fn close_all(
        &mut self,
        tz: Timezone,
        guild: u64,
        at: i64,
        deltas: &mut Deltas,
        closed: &mut Vec<ClosedVoiceSession>,
    ) {
        for (user, session) in self.open.drain() {
            Self::close(tz, guild, user, session, at, deltas, closed);
        }
    }

    /// Accrues every open counted session up to `watermark`.
    pub fn accrue(&mut self, tz: Timezone, guild: u64, watermark: i64, deltas: &mut Deltas) {
        for (user, session) in &mut self.open {
            if session.counted && session.accrued_to < watermark {
                let resumed = session.accrued_to > session.since;
                deltas.voice(tz, guild, *user, session.accrued_to, watermark, resumed);
                session.accrued_to = watermark;
            }
        }
    }

    /// The open session of `user`.
    pub fn get(&self, user: u64) -> Option<&VoiceSession> {
        self.open.get(&user)
    }

    /// Open sessions.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    fn close(
        tz: Timezone,
        guild: u64,
        user: u64,
        session: VoiceSession,
        at: i64,
        deltas: &mut Deltas,
        closed: &mut Vec<ClosedVoiceSession>,
    ) {
        let end = at.max(session.since);
        if session.counted && session.accrued_to < end {
            let resumed = session.accrued_to > session.since;
            deltas.voice(tz, guild, user, session.accrued_to, end, resumed);
        }
        closed.push(ClosedVoiceSession {
            guild,
            user,
            channel: session.channel,
            started_at: session.since,
            ended_at: end,
            counted: session.counted,
        });
    }
}
