//! One compiled form per trigger family. Stateless triggers look at one message; the two
//! stateful ones (`rate`) read and update a per-member history owned by
//! [`AutomodState`](super::AutomodState).

pub(crate) mod caps;
pub(crate) mod invites;
pub(crate) mod links;
pub(crate) mod mentions;
pub(crate) mod patterns;
pub(crate) mod rate;
pub(crate) mod words;

use super::action::Evidence;
use super::config::Trigger;
use super::error::AutomodError;
use guildflow_model::MessageCreate;

/// A trigger ready to evaluate.
#[derive(Clone, Debug)]
pub(crate) enum CompiledTrigger {
    /// `message_rate` (stateful).
    Rate(rate::RateTrigger),
    /// `duplicate_content` (stateful).
    Duplicate(rate::DuplicateTrigger),
    /// `caps`.
    Caps(caps::CapsTrigger),
    /// `links`.
    Links(links::LinkTrigger),
    /// `invites`.
    Invites(invites::InviteTrigger),
    /// `banned_words`.
    Words(words::WordTrigger),
    /// `regex`.
    Patterns(patterns::PatternTrigger),
    /// `mention_spam`.
    Mentions(mentions::MentionTrigger),
}

impl CompiledTrigger {
    /// Validates and compiles `trigger` of rule `rule`.
    pub(crate) fn compile(rule: u64, trigger: &Trigger) -> Result<CompiledTrigger, AutomodError> {
        Ok(match trigger {
            Trigger::MessageRate {
                max_messages,
                per_seconds,
            } => CompiledTrigger::Rate(rate::RateTrigger::compile(
                rule,
                *max_messages,
                *per_seconds,
            )?),
            Trigger::DuplicateContent {
                max_repeats,
                per_seconds,
            } => CompiledTrigger::Duplicate(rate::DuplicateTrigger::compile(
                rule,
                *max_repeats,
                *per_seconds,
            )?),
            Trigger::Caps {
                min_letters,
                max_ratio_percent,
            } => CompiledTrigger::Caps(caps::CapsTrigger::compile(
                rule,
                *min_letters,
                *max_ratio_percent,
            )?),
            Trigger::Links { mode } => {
                CompiledTrigger::Links(links::LinkTrigger::compile(rule, mode)?)
            }
            Trigger::Invites { allowed_codes } => {
                CompiledTrigger::Invites(invites::InviteTrigger::compile(rule, allowed_codes)?)
            }
            Trigger::BannedWords { words } => {
                CompiledTrigger::Words(words::WordTrigger::compile(rule, words)?)
            }
            Trigger::Regex { patterns } => {
                CompiledTrigger::Patterns(patterns::PatternTrigger::compile(rule, patterns)?)
            }
            Trigger::MentionSpam { max_mentions } => {
                CompiledTrigger::Mentions(mentions::MentionTrigger::compile(*max_mentions))
            }
        })
    }

    /// Longest window the trigger looks back, in milliseconds (0 for stateless ones).
    pub(crate) fn window_ms(&self) -> i64 {
        match self {
            CompiledTrigger::Rate(t) => t.window_ms(),
            CompiledTrigger::Duplicate(t) => t.window_ms(),
            _ => 0,
        }
    }

    /// Evaluates a stateless trigger on one message. `scratch` is a reusable buffer. Stateful
    /// triggers return None here; the state evaluates them.
    pub(crate) fn check_stateless(
        &self,
        msg: &MessageCreate,
        scratch: &mut String,
    ) -> Option<Evidence> {
        match self {
            CompiledTrigger::Rate(_) | CompiledTrigger::Duplicate(_) => None,
            CompiledTrigger::Caps(t) => t.check(&msg.content),
            CompiledTrigger::Links(t) => t.check(&msg.content),
            CompiledTrigger::Invites(t) => t.check(&msg.content),
            CompiledTrigger::Words(t) => t.check(&msg.content, scratch),
            CompiledTrigger::Patterns(t) => t.check(&msg.content),
            CompiledTrigger::Mentions(t) => t.check(msg),
        }
    }
}
