//! Why a configuration (or a rule test request) is rejected. Every message names the rule by
//! id and says what to change.

use thiserror::Error;

/// A configuration error, found by [`AutomodConfig::validate`](super::AutomodConfig::validate)
/// or [`AutomodConfig::compile`](super::AutomodConfig::compile).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AutomodError {
    /// More rules than [`MAX_RULES`](super::limits::MAX_RULES).
    #[error("too many rules: {count} (at most {max})")]
    TooManyRules {
        /// Rules in the configuration.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A configuration-wide total (regex patterns, banned words) above its limit.
    #[error("too many {what} in the configuration: {count} (at most {max} across all rules)")]
    ConfigTooLarge {
        /// What is counted.
        what: &'static str,
        /// The total.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two rules share an id.
    #[error("rule id {id} is used by more than one rule")]
    DuplicateRuleId {
        /// The repeated id.
        id: u64,
    },
    /// A rule field is out of range or malformed (name, actions, exemptions, thresholds).
    #[error("rule {rule}: {reason}")]
    InvalidRule {
        /// Rule id.
        rule: u64,
        /// What is wrong, in words.
        reason: String,
    },
    /// A time window of zero seconds.
    #[error("rule {rule}: {field} must be at least 1 second")]
    ZeroWindow {
        /// Rule id.
        rule: u64,
        /// The offending field.
        field: &'static str,
    },
    /// `max_ratio_percent` above 100.
    #[error("rule {rule}: max_ratio_percent is {value}, it must be between 0 and 100")]
    RatioOutOfRange {
        /// Rule id.
        rule: u64,
        /// The configured value.
        value: u32,
    },
    /// A `banned_words` trigger without words.
    #[error("rule {rule}: the banned word list is empty")]
    EmptyWordList {
        /// Rule id.
        rule: u64,
    },
    /// A banned word entry that cannot be matched as written.
    #[error("rule {rule}: banned word {word:?}: {reason}")]
    InvalidWord {
        /// Rule id.
        rule: u64,
        /// The entry (truncated).
        word: String,
        /// What is wrong.
        reason: String,
    },
    /// A domain of a `links` allow/deny list that is not a host name.
    #[error("rule {rule}: domain {domain:?}: {reason}")]
    InvalidDomain {
        /// Rule id.
        rule: u64,
        /// The entry (truncated).
        domain: String,
        /// What is wrong.
        reason: String,
    },
    /// An allowed invite code that is not one.
    #[error("rule {rule}: invite code {code:?}: {reason}")]
    InvalidInviteCode {
        /// Rule id.
        rule: u64,
        /// The entry (truncated).
        code: String,
        /// What is wrong.
        reason: String,
    },
    /// A `regex` trigger without patterns.
    #[error("rule {rule}: the regex trigger has no patterns")]
    NoPatterns {
        /// Rule id.
        rule: u64,
    },
    /// More patterns than [`MAX_REGEX_PATTERNS`](super::limits::MAX_REGEX_PATTERNS).
    #[error("rule {rule}: {count} regex patterns, at most {max} are allowed per rule")]
    TooManyPatterns {
        /// Rule id.
        rule: u64,
        /// Patterns given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A pattern longer than [`MAX_REGEX_CHARS`](super::limits::MAX_REGEX_CHARS).
    #[error(
        "rule {rule}: regex pattern {index} is {chars} characters long, at most {max} are allowed"
    )]
    PatternTooLong {
        /// Rule id.
        rule: u64,
        /// 0-based position of the pattern in the rule.
        index: usize,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A pattern the regex crate refuses (syntax, nesting); `message` is the crate's.
    #[error("rule {rule}: regex pattern {index} is invalid: {message}")]
    InvalidRegex {
        /// Rule id.
        rule: u64,
        /// 0-based position of the pattern in the rule.
        index: usize,
        /// The regex crate's error text.
        message: String,
    },
    /// A pattern (or a banned word list) whose compiled form exceeds its size limit.
    #[error("rule {rule}: {what} is too large or complex once compiled (limit {limit} bytes); simplify it, e.g. smaller repetition counts or fewer Unicode classes")]
    RegexTooLarge {
        /// Rule id.
        rule: u64,
        /// "regex pattern N" or "banned word list".
        what: String,
        /// The size limit that was exceeded, in bytes.
        limit: usize,
    },
    /// A malformed escalation step.
    #[error("escalation step {step}: {reason}")]
    InvalidEscalation {
        /// 0-based position of the step.
        step: usize,
        /// What is wrong.
        reason: String,
    },
    /// A [`test_rule`](super::test_rule) request outside its bounds.
    #[error("rule test: {reason}")]
    InvalidTest {
        /// What is wrong.
        reason: String,
    },
}
