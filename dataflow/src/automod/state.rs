//! [`AutomodState`]: per-member sliding windows (message times, recent content hashes,
//! warning times) for one guild, updated in event time.
//!
//! # Memory
//! A member has an entry only while a stateful rule (`message_rate`, `duplicate_content`) or
//! escalation has something to remember about them; [`AutomodState::prune`] drops what left
//! every window. On 64-bit targets an entry costs about:
//!
//! - 88 bytes in the map (16-byte key, 56-byte [`MemberState`], control byte, 7/8 load);
//! - 56 bytes per stateful rule the member touched ([`RuleSlot`]), plus its history:
//!   8 bytes per remembered message time (at most `max_messages + 1`), 16 bytes per
//!   remembered content hash (at most [`DUPLICATE_HISTORY`](super::limits::DUPLICATE_HISTORY));
//! - 8 bytes per remembered warning (at most the largest escalation step's `warnings`);
//! - allocator overhead, about 16 bytes per heap block (one per deque, one for the slots).
//!
//! Measured with a counting allocator (requested bytes, allocator overhead excluded; 20 000
//! members; configuration: `anti-spam` preset, a duplicate rule of 3 repeats / 30 s,
//! escalation 3 warnings / 10 min, plus stateless rules): about 390 bytes per member who
//! posted 5 messages in the windows, and about 2.4 KB per member flooding (a full 100-entry
//! duplicate history, capacity 128). 100 000 simultaneously active members therefore cost
//! roughly 40 MB, returned by [`AutomodState::prune`] once they have been quiet for the
//! longest window. Stateless triggers keep nothing.

use super::action::{ActionKind, AutomodAction, Evidence};
use super::compile::{CompiledAutomod, CompiledRule};
use super::triggers::CompiledTrigger;
use guildflow_model::{ChannelId, GuildId, MessageCreate, UserId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// Automod memory for one guild (entries are keyed by guild too, so one state may safely
/// serve several guilds). Deterministic: the same calls give the same actions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AutomodState {
    members: HashMap<(GuildId, UserId), MemberState>,
    /// Longest stateful-trigger window of the last configuration used, milliseconds.
    trigger_horizon_ms: i64,
    /// Longest escalation window of the last configuration used, milliseconds.
    warning_horizon_ms: i64,
    /// Reusable buffer for the banned-word stream.
    #[serde(skip)]
    scratch: String,
}

/// What is remembered about one member.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MemberState {
    /// One slot per stateful rule the member touched.
    slots: Vec<RuleSlot>,
    /// Times of recent warnings, sorted.
    warnings: VecDeque<i64>,
}

/// A stateful rule's memory of one member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RuleSlot {
    /// Rule id (slots survive configuration changes that keep the id).
    rule: u64,
    /// Until this time, a new firing only repeats `delete`: one burst is one offence.
    cooldown_until: i64,
    history: History,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum History {
    /// `message_rate`: message times.
    Times(VecDeque<i64>),
    /// `duplicate_content`: (time, normalized-content hash).
    Contents(VecDeque<(i64, u64)>),
}

impl History {
    fn is_empty(&self) -> bool {
        match self {
            History::Times(h) => h.is_empty(),
            History::Contents(h) => h.is_empty(),
        }
    }

    fn drop_until(&mut self, cutoff: i64) {
        match self {
            History::Times(h) => {
                while h.front().is_some_and(|t| *t <= cutoff) {
                    h.pop_front();
                }
            }
            History::Contents(h) => {
                while h.front().is_some_and(|e| e.0 <= cutoff) {
                    h.pop_front();
                }
            }
        }
    }
}

impl MemberState {
    /// The slot of `rule`, created (or reset if the rule changed kind) as needed.
    fn slot(&mut self, rule: u64, duplicate: bool) -> &mut RuleSlot {
        let fresh = || RuleSlot {
            rule,
            cooldown_until: i64::MIN,
            history: if duplicate {
                History::Contents(VecDeque::new())
            } else {
                History::Times(VecDeque::new())
            },
        };
        match self.slots.iter().position(|s| s.rule == rule) {
            Some(i) => {
                let same_kind = matches!(
                    (&self.slots[i].history, duplicate),
                    (History::Contents(_), true) | (History::Times(_), false)
                );
                if !same_kind {
                    self.slots[i] = fresh();
                }
                &mut self.slots[i]
            }
            None => {
                // Exact growth: most members only ever touch one or two stateful rules.
                self.slots.reserve_exact(1);
                self.slots.push(fresh());
                let last = self.slots.len() - 1;
                &mut self.slots[last]
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.warnings.is_empty()
    }
}

impl AutomodState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members with remembered state (for metrics).
    pub fn tracked_members(&self) -> usize {
        self.members.len()
    }

    /// Evaluates one rule on a message: the evidence if it fired, and whether its punitive
    /// actions (everything but `delete`) apply — false while a stateful rule is cooling down.
    pub(crate) fn evaluate(
        &mut self,
        rule: &CompiledRule,
        guild: GuildId,
        msg: &MessageCreate,
        at: i64,
    ) -> Option<(Evidence, bool)> {
        let (duplicate, window_ms) = match &rule.trigger {
            CompiledTrigger::Rate(t) => (false, t.window_ms()),
            CompiledTrigger::Duplicate(t) => (true, t.window_ms()),
            stateless => {
                return stateless
                    .check_stateless(msg, &mut self.scratch)
                    .map(|ev| (ev, true));
            }
        };
        let member = self.members.entry((guild, msg.author)).or_default();
        let slot = member.slot(rule.id, duplicate);
        let evidence = match (&rule.trigger, &mut slot.history) {
            (CompiledTrigger::Rate(t), History::Times(h)) => t.observe(h, at, &msg.content),
            (CompiledTrigger::Duplicate(t), History::Contents(h)) => t.observe(h, at, &msg.content),
            _ => None,
        }?;
        let punish = at >= slot.cooldown_until;
        if punish {
            slot.cooldown_until = at.saturating_add(window_ms);
        }
        Some((evidence, punish))
    }

    /// Evaluates every enabled rule on a counted message at event time `at` (Unix ms), in
    /// configuration order, and returns the actions: per fired rule its actions in order,
    /// then at most one escalation action if the message earned warnings.
    ///
    /// Skipped entirely for bots, webhooks and messages without a guild. A rule is skipped
    /// when the channel is exempt or the author has an exempt role. A stateful rule fires on
    /// every message over its limit, but after it fired its actions other than `delete` are
    /// held back for one window (`per_seconds`), so a burst earns one warning.
    /// Allocates nothing when no rule fires and no stateful rule applies.
    pub fn on_message(
        &mut self,
        rules: &CompiledAutomod,
        msg: &MessageCreate,
        at: i64,
    ) -> Vec<AutomodAction> {
        let Some(guild) = msg.guild else {
            return Vec::new();
        };
        if msg.author_bot || msg.webhook || rules.rules.is_empty() {
            return Vec::new();
        }
        self.remember_horizons(rules);
        let mut out = Vec::new();
        let mut warned = false;
        for rule in &rules.rules {
            if rule.is_exempt(msg) {
                continue;
            }
            let Some((evidence, punish)) = self.evaluate(rule, guild, msg, at) else {
                continue;
            };
            for action in &rule.actions {
                if !punish && *action != ActionKind::Delete {
                    continue;
                }
                if *action == ActionKind::Warn && !rules.escalation.is_empty() {
                    let member = self.members.entry((guild, msg.author)).or_default();
                    rules.escalation.record(&mut member.warnings, at);
                    warned = true;
                }
                out.push(AutomodAction {
                    guild,
                    user: msg.author,
                    channel: msg.channel,
                    message: Some(msg.message),
                    at,
                    rule_id: Some(rule.id),
                    rule_name: rule.name.clone(),
                    action: action.clone(),
                    evidence: evidence.clone(),
                });
            }
        }
        if warned {
            let context = Context {
                guild,
                user: msg.author,
                channel: msg.channel,
                message: Some(msg.message),
                at,
            };
            out.extend(self.escalate(rules, context, &msg.content));
        }
        out
    }

    /// Records a manual warning (admin API) at `at` and returns the escalation action it
    /// causes, if any (the warning itself is the caller's). Nothing is recorded when the
    /// configuration has no escalation step.
    pub fn add_warning(
        &mut self,
        rules: &CompiledAutomod,
        guild: GuildId,
        user: UserId,
        channel: ChannelId,
        at: i64,
    ) -> Vec<AutomodAction> {
        if rules.escalation.is_empty() {
            return Vec::new();
        }
        self.remember_horizons(rules);
        let member = self.members.entry((guild, user)).or_default();
        rules.escalation.record(&mut member.warnings, at);
        let context = Context {
            guild,
            user,
            channel,
            message: None,
            at,
        };
        self.escalate(rules, context, "").into_iter().collect()
    }

    /// Drops everything that left every window at `watermark` (the pipeline clock): message
    /// times and hashes older than the longest stateful-trigger window, warnings older than
    /// the longest escalation window, then empty members. Windows are those of the last
    /// configuration passed to `on_message`/`add_warning`.
    pub fn prune(&mut self, watermark: i64) {
        let trigger_cutoff = watermark.saturating_sub(self.trigger_horizon_ms);
        let warning_cutoff = watermark.saturating_sub(self.warning_horizon_ms);
        self.members.retain(|_, member| {
            member.slots.retain_mut(|slot| {
                slot.history.drop_until(trigger_cutoff);
                !slot.history.is_empty() || slot.cooldown_until > watermark
            });
            while member
                .warnings
                .front()
                .is_some_and(|t| *t <= warning_cutoff)
            {
                member.warnings.pop_front();
            }
            !member.is_empty()
        });
    }

    fn remember_horizons(&mut self, rules: &CompiledAutomod) {
        self.trigger_horizon_ms = rules.trigger_horizon_ms;
        self.warning_horizon_ms = rules.escalation.window_ms();
    }

    fn escalate(
        &mut self,
        rules: &CompiledAutomod,
        cx: Context,
        content: &str,
    ) -> Option<AutomodAction> {
        let member = self.members.get(&(cx.guild, cx.user))?;
        let (action, evidence) = rules
            .escalation
            .evaluate(&member.warnings, cx.at, content)?;
        Some(AutomodAction {
            guild: cx.guild,
            user: cx.user,
            channel: cx.channel,
            message: cx.message,
            at: cx.at,
            rule_id: None,
            rule_name: "escalation".to_owned(),
            action,
            evidence,
        })
    }
}

/// Where an escalation happens.
struct Context {
    guild: GuildId,
    user: UserId,
    channel: ChannelId,
    message: Option<guildflow_model::MessageId>,
    at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn documented_sizes_hold_on_64_bit() {
        if size_of::<usize>() == 8 {
            assert_eq!(size_of::<MemberState>(), 56);
            assert_eq!(size_of::<RuleSlot>(), 56);
            assert_eq!(size_of::<(GuildId, UserId)>(), 16);
        }
    }
}
