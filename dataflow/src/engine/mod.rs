//! The sequential part of the dataflow, as plain Rust: per-guild state machines that turn
//! events into pre-aggregated view deltas and signals. The timely operator in `graph` owns one
//! [`Engine`] per worker (for the guilds exchanged to it); tests can drive it directly.

pub mod activity;
pub mod dedup;
pub mod deltas;
pub mod guild;
pub mod voice;

use crate::automod::{AutomodAction, AutomodConfig};
use crate::settings::GuildSettings;
use deltas::Deltas;
use foldhash::HashMap;
use guild::{GuildState, Outputs};
use guildflow_model::Event;
use serde::{Deserialize, Serialize};
use voice::ClosedVoiceSession;

/// Something the views do not hold but downstream wants: level-ups (role rewards), closed
/// voice sessions (the store's `voice_sessions`), automod actions (executed by the admin plane).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// An automod rule (or warning escalation) fired.
    Automod(AutomodAction),
    /// A member reached a new level.
    LevelUp {
        /// Guild.
        guild: u64,
        /// Member.
        user: u64,
        /// New level.
        level: u32,
        /// XP total.
        xp: i64,
        /// Event time.
        at: i64,
    },
    /// A voice session ended.
    VoiceClosed {
        /// Guild.
        guild: u64,
        /// Member.
        user: u64,
        /// Channel.
        channel: u64,
        /// Start.
        started_at: i64,
        /// End.
        ended_at: i64,
        /// Whether it counted.
        counted: bool,
    },
}

/// Engine tuning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long message ids are remembered for de-duplication (event time).
    pub message_id_horizon_ms: i64,
    /// Open voice sessions accrue once per this much watermark progress (each guild at its own
    /// phase within it).
    pub voice_tick_ms: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            message_id_horizon_ms: 3_600_000,
            voice_tick_ms: 1_000,
        }
    }
}

/// The per-worker state of every guild it owns.
#[derive(Debug, Default)]
pub struct Engine {
    config: EngineConfig,
    guilds: HashMap<u64, GuildState>,
    watermark: i64,
    deltas: Deltas,
    signals: Vec<Signal>,
    closed_voice: Vec<ClosedVoiceSession>,
    /// Every guild by its voice phase ([`voice_phase`]), rebuilt when guilds are added.
    accrual_order: Vec<(i64, u64)>,
    /// The next guild in `accrual_order` to accrue in the current tick.
    accrual_next: usize,
    /// Guilds whose phase the watermark passed since the deltas were last taken. They accrue
    /// then, once, to the watermark of that moment: a backlog batch spanning several ticks
    /// passes each phase several times, and accruing at every pass split the same sessions
    /// into the same keys again (a sixth of the worker when replaying).
    accrual_due: Vec<u64>,
}

/// Where in the voice tick a guild's open sessions accrue. Accruing every guild when the
/// watermark crosses a whole tick made one batch per second carry every open session's
/// update (and its leaderboard moves): the latency tail at steady load. Spread by a hash of the
/// guild (a snowflake's low bits are not uniform), each batch carries its share.
fn voice_phase(guild: u64, tick: i64) -> i64 {
    let mixed = guild.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    i64::try_from(mixed % tick.max(1).unsigned_abs()).unwrap_or(0)
}

/// Leaves each guild of `guilds` once (in id order).
fn dedup_guilds(guilds: &mut Vec<u64>) {
    guilds.sort_unstable();
    guilds.dedup();
}

/// Accrues a guild's open voice sessions up to `watermark` and prunes its automod windows.
fn accrue_guild(guild: u64, state: &mut GuildState, watermark: i64, deltas: &mut Deltas) {
    let tz = state.settings.timezone;
    state.voice.accrue(tz, guild, watermark, deltas);
    if let Some((_, windows)) = state.automod.as_mut() {
        windows.prune(watermark);
    }
}

impl Engine {
    /// An engine with `config`.
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            config,
            watermark: i64::MIN,
            ..Engine::default()
        }
    }

    /// Sets a guild's settings (applies to events from now on).
    pub fn configure(&mut self, guild: u64, settings: GuildSettings) {
        self.guilds.entry(guild).or_default().settings = settings.normalized();
    }

    /// Sets a guild's automod rules. `Dataflow::configure_automod` compiles them before they
    /// enter the dataflow, so a failure here cannot happen; should it, automod goes off for the
    /// guild rather than keeping stale rules.
    pub fn configure_automod(&mut self, guild: u64, config: &AutomodConfig) {
        let state = self.guilds.entry(guild).or_default();
        state.automod = match config.compile() {
            Ok(rules) if !rules.is_empty() => {
                let windows = state.automod.take().map(|(_, w)| w).unwrap_or_default();
                Some((rules, windows))
            }
            Ok(_) | Err(_) => None,
        };
    }

    /// Records a manual warning; escalation actions it causes become signals.
    pub fn add_warning(&mut self, guild: u64, user: u64, channel: u64, at: i64) {
        let Some(state) = self.guilds.get_mut(&guild) else {
            return;
        };
        if let Some((rules, windows)) = state.automod.as_mut() {
            let actions = windows.add_warning(
                rules,
                guildflow_model::GuildId(guild),
                guildflow_model::UserId(user),
                guildflow_model::ChannelId(channel),
                at,
            );
            self.signals
                .extend(actions.into_iter().map(Signal::Automod));
        }
    }

    /// The settings of a guild.
    pub fn settings(&self, guild: u64) -> GuildSettings {
        self.guilds
            .get(&guild)
            .map(|g| g.settings.clone())
            .unwrap_or_default()
    }

    /// Applies events (already de-duplicated by frame). They are processed in (at, message id)
    /// order, so arrival order within a batch does not matter.
    pub fn apply_batch(&mut self, events: &mut [Event]) {
        events.sort_by_key(|e| (e.at, message_id(e)));
        for event in events.iter() {
            self.apply(event);
        }
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &Event) {
        // Every frame moves the watermark, guild or not (READY, direct messages).
        self.observe_watermark(event.at);
        let Some(guild) = event.body.guild() else {
            return;
        };
        let guild = guild.get();
        let state = self.guilds.entry(guild).or_default();
        let mut out = Outputs {
            deltas: &mut self.deltas,
            signals: &mut self.signals,
            closed_voice: &mut self.closed_voice,
        };
        state.apply(
            guild,
            &event.body,
            event.at,
            self.watermark,
            self.config.message_id_horizon_ms,
            &mut out,
        );
    }

    /// Moves the watermark to `at` if it is later; open voice sessions accrue whenever it
    /// crosses a guild's phase in the voice tick (when the deltas are next taken, see
    /// `accrual_due`). Workers see only their guilds' events; the feeder also broadcasts
    /// the watermark so every worker's open sessions count up to the global one.
    pub fn observe_watermark(&mut self, at: i64) {
        if at <= self.watermark {
            return;
        }
        let tick = self.config.voice_tick_ms.max(1);
        let from = self.watermark;
        self.watermark = at;
        if from == i64::MIN || at.saturating_sub(from) >= tick {
            self.accrue_voice();
            return;
        }
        // Each guild accrues when the watermark passes its phase within the tick: once per
        // tick, as before, but not all in the same batch. A cursor walks the guilds in phase
        // order, so a watermark step that passes no phase costs a comparison.
        if self.refresh_accrual_order(tick) {
            self.accrual_next = self.phase_position(from.rem_euclid(tick));
        }
        let phase = at.rem_euclid(tick);
        let order = std::mem::take(&mut self.accrual_order);
        let mut next = self.accrual_next;
        let accrue = |engine: &mut Self, guild: u64| engine.accrual_due.push(guild);
        if at.div_euclid(tick) != from.div_euclid(tick) {
            for &(_, guild) in order.get(next..).unwrap_or_default() {
                accrue(self, guild);
            }
            next = 0;
        }
        while let Some(&(_, guild)) = order.get(next).filter(|(p, _)| *p <= phase) {
            accrue(self, guild);
            next += 1;
        }
        self.accrual_order = order;
        self.accrual_next = next;
        // A backlog applied in one activation passes every phase once per tick: keep one entry
        // per guild, not one per pass (a day of event time would be 86,400 per guild).
        if self.accrual_due.len() > 2 * self.accrual_order.len() + 64 {
            dedup_guilds(&mut self.accrual_due);
        }
    }

    /// Rebuilds the phase order when guilds were added; true when it did.
    fn refresh_accrual_order(&mut self, tick: i64) -> bool {
        if self.accrual_order.len() == self.guilds.len() {
            return false;
        }
        self.accrual_order.clear();
        self.accrual_order
            .extend(self.guilds.keys().map(|&g| (voice_phase(g, tick), g)));
        self.accrual_order.sort_unstable();
        true
    }

    /// The position in the phase order of the first guild whose phase is after `phase`.
    fn phase_position(&self, phase: i64) -> usize {
        self.accrual_order.partition_point(|(p, _)| *p <= phase)
    }

    /// Moves the watermark forward without an event (idle shards, end of input) and accrues
    /// open voice sessions to it.
    pub fn advance_to(&mut self, watermark: i64) {
        if watermark > self.watermark {
            self.watermark = watermark;
        }
        self.accrue_voice();
    }

    /// The largest event time seen.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Accrues the guilds whose phase was passed (each once) to the watermark.
    fn accrue_due(&mut self) {
        if self.accrual_due.is_empty() {
            return;
        }
        let mut due = std::mem::take(&mut self.accrual_due);
        dedup_guilds(&mut due);
        for &guild in &due {
            if let Some(state) = self.guilds.get_mut(&guild) {
                accrue_guild(guild, state, self.watermark, &mut self.deltas);
            }
        }
        due.clear();
        self.accrual_due = due;
    }

    fn accrue_voice(&mut self) {
        // Every guild accrues below: the ones due need nothing more.
        self.accrual_due.clear();
        let watermark = self.watermark;
        for (guild, state) in &mut self.guilds {
            accrue_guild(*guild, state, watermark, &mut self.deltas);
        }
        // Every guild is accrued to the watermark: the next ones due are those past its phase.
        let tick = self.config.voice_tick_ms.max(1);
        self.refresh_accrual_order(tick);
        self.accrual_next = self.phase_position(watermark.rem_euclid(tick));
    }

    /// The pending view deltas, with the voice accruals due made and the activity marks made
    /// so far resolved into distinct active-member counts.
    pub fn deltas(&mut self) -> &mut Deltas {
        self.accrue_due();
        let marks = self.deltas.take_marks();
        for mark in &marks {
            let state = self.guilds.entry(mark.guild).or_default();
            if state.active.mark(mark.user, mark.bucket, mark.start) {
                self.deltas.add(
                    crate::keys::ViewKey::ActiveCount {
                        guild: mark.guild,
                        bucket: mark.bucket,
                        start: mark.start,
                    },
                    1,
                );
            }
        }
        self.deltas.return_marks(marks);
        &mut self.deltas
    }

    /// Takes the pending signals (closed voice sessions included).
    pub fn take_signals(&mut self) -> Vec<Signal> {
        let mut signals = std::mem::take(&mut self.signals);
        signals.extend(self.closed_voice.drain(..).map(|s| Signal::VoiceClosed {
            guild: s.guild,
            user: s.user,
            channel: s.channel,
            started_at: s.started_at,
            ended_at: s.ended_at,
            counted: s.counted,
        }));
        signals
    }

    /// XP total of a member.
    pub fn xp_of(&self, guild: u64, user: u64) -> i64 {
        self.guilds.get(&guild).map_or(0, |g| g.xp_of(user))
    }

    /// Every guild's state for a snapshot, by guild id.
    pub fn checkpoint(&self) -> Vec<(u64, guild::GuildCheckpoint)> {
        let mut guilds: Vec<_> = self
            .guilds
            .iter()
            .map(|(id, state)| (*id, state.checkpoint()))
            .collect();
        guilds.sort_unstable_by_key(|(id, _)| *id);
        guilds
    }

    /// Restores a guild from a snapshot taken when the watermark was `watermark`. The
    /// watermark moves without accruing voice: the snapshot's sessions are accrued to it.
    pub fn restore_guild(&mut self, guild: u64, state: guild::GuildCheckpoint, watermark: i64) {
        self.guilds.entry(guild).or_default().restore(state);
        self.watermark = self.watermark.max(watermark);
    }

    /// Open voice sessions across guilds.
    pub fn open_voice_sessions(&self) -> usize {
        self.guilds.values().map(|g| g.voice.len()).sum()
    }
}

fn message_id(event: &Event) -> u64 {
    match &event.body {
        guildflow_model::EventBody::MessageCreate(m) => m.message.get(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Counter, ViewKey};
    use guildflow_model::{ChannelId, EventBody, GuildId, UserId, VoiceState};

    fn join(guild: u64, user: u64, at: i64) -> Event {
        Event {
            at,
            shard: 0,
            seq: u64::try_from(at).unwrap_or(0),
            body: EventBody::VoiceState(VoiceState {
                guild: GuildId(guild),
                user: UserId(user),
                channel: Some(ChannelId(guild + 1)),
                bot: false,
                self_mute: false,
                self_deaf: false,
            }),
        }
    }

    /// Voice milliseconds per guild in the pending deltas (drained).
    fn voice_by_guild(engine: &mut Engine) -> HashMap<u64, i64> {
        let mut out = HashMap::default();
        for (key, amount) in engine.deltas().drain() {
            if let ViewKey::Member {
                guild,
                counter: Counter::VoiceMs,
                ..
            } = key
            {
                *out.entry(guild).or_insert(0) += amount;
            }
        }
        out
    }

    #[test]
    fn guilds_accrue_at_their_own_phase_once_per_tick() {
        let tick = 1_000;
        // Two guilds whose phases are about half a tick apart.
        let mut guilds = (1..200u64)
            .map(|g| (voice_phase(g, tick), g))
            .collect::<Vec<_>>();
        guilds.sort_unstable();
        let early = guilds[0];
        let late = guilds[guilds.partition_point(|(p, _)| *p < early.0 + tick / 2)];
        assert!(
            (tick / 3..tick * 2 / 3).contains(&(late.0 - early.0)),
            "{early:?} {late:?}"
        );
        let mut engine = Engine::new(EngineConfig::default());
        engine.apply(&join(early.1, 7, 0));
        engine.apply(&join(late.1, 7, 0));
        voice_by_guild(&mut engine);
        // Past the early guild's phase only: it alone accrues.
        engine.observe_watermark(early.0 + 1);
        let accrued = voice_by_guild(&mut engine);
        assert_eq!(accrued.get(&early.1), Some(&(early.0 + 1)));
        assert_eq!(accrued.get(&late.1), None);
        // Over the rest of the tick, in small steps: each accrues once more at most.
        let mut total: HashMap<u64, i64> = accrued;
        let mut batches_with_both = 0;
        for at in (early.0 + 2..2 * tick).step_by(7) {
            engine.observe_watermark(at);
            let step = voice_by_guild(&mut engine);
            batches_with_both += usize::from(step.len() == 2);
            for (g, ms) in step {
                *total.entry(g).or_insert(0) += ms;
            }
        }
        assert_eq!(batches_with_both, 0);
        // A tick later, both counted up to their last phase; the end of input counts the rest.
        assert!(total.get(&late.1).is_some_and(|ms| *ms > 0), "{total:?}");
        engine.advance_to(5_000);
        for (g, ms) in voice_by_guild(&mut engine) {
            *total.entry(g).or_insert(0) += ms;
        }
        assert_eq!(total.get(&early.1), Some(&5_000));
        assert_eq!(total.get(&late.1), Some(&5_000));
    }

    #[test]
    fn phases_passed_in_one_batch_accrue_once_to_the_watermark() {
        let mut engine = Engine::new(EngineConfig::default());
        engine.apply(&join(1, 7, 0));
        engine.apply(&join(1, 8, 0));
        voice_by_guild(&mut engine);
        // A replayed backlog: one batch spans five ticks in small steps, passing the guild's
        // phase again in each; member 8 leaves in the middle of it.
        for at in (1..3_000).step_by(7) {
            engine.observe_watermark(at);
        }
        let mut leave = join(1, 8, 3_000);
        if let EventBody::VoiceState(state) = &mut leave.body {
            state.channel = None;
        }
        engine.apply(&leave);
        for at in (3_001..5_000).step_by(7) {
            engine.observe_watermark(at);
        }
        assert!(engine.accrual_due.len() >= 4, "{:?}", engine.accrual_due);
        let watermark = engine.watermark();
        let mut by_user: HashMap<u64, i64> = HashMap::default();
        for (key, amount) in engine.deltas().drain() {
            if let ViewKey::Member {
                user,
                counter: Counter::VoiceMs,
                ..
            } = key
            {
                *by_user.entry(user).or_insert(0) += amount;
            }
        }
        // Exact: the open session up to the watermark, the closed one up to its leave.
        assert_eq!(by_user.get(&7), Some(&watermark));
        assert_eq!(by_user.get(&8), Some(&3_000));
        assert!(engine.accrual_due.is_empty());
    }

    /// An engine where member 7 opened a voice session at 0 in each of `guilds`, its deltas
    /// taken.
    fn in_voice(guilds: std::ops::Range<u64>) -> Engine {
        let mut engine = Engine::new(EngineConfig::default());
        for g in guilds {
            engine.apply(&join(g, 7, 0));
        }
        voice_by_guild(&mut engine);
        engine
    }

    #[test]
    fn a_long_backlog_keeps_one_due_entry_per_guild() {
        let mut engine = in_voice(1..4);
        // 1,000 ticks in 100 ms steps, all in one activation.
        for at in (100..=1_000_000).step_by(100) {
            engine.observe_watermark(at);
        }
        assert!(
            engine.accrual_due.len() <= 2 * 3 + 64,
            "{}",
            engine.accrual_due.len()
        );
        let accrued = voice_by_guild(&mut engine);
        assert_eq!(accrued.len(), 3);
        assert!(accrued.values().all(|ms| *ms == 1_000_000), "{accrued:?}");
    }

    #[test]
    fn a_jump_of_a_whole_tick_accrues_every_guild() {
        let mut engine = in_voice(1..50);
        engine.observe_watermark(1_000);
        let accrued = voice_by_guild(&mut engine);
        assert_eq!(accrued.len(), 49);
        assert!(accrued.values().all(|ms| *ms == 1_000));
    }
}
