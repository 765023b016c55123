//! Documented bounds on configurations, so that one guild's rules cannot make per-message work
//! or per-member memory grow without limit. Validation rejects anything outside them.

/// Maximum number of rules in one guild configuration (enabled or not).
pub const MAX_RULES: usize = 50;
/// Maximum length of a rule name, in characters.
pub const MAX_RULE_NAME_CHARS: usize = 100;
/// Maximum number of exempt roles, and separately of exempt channels, per rule.
pub const MAX_EXEMPTIONS: usize = 100;
/// Maximum number of escalation steps.
pub const MAX_ESCALATION_STEPS: usize = 10;

/// Longest window of a `message_rate` or `duplicate_content` trigger, in seconds (1 hour).
pub const MAX_TRIGGER_WINDOW_SECONDS: u32 = 3_600;
/// Largest `max_messages` of a `message_rate` trigger.
pub const MAX_RATE_MESSAGES: u32 = 1_000;
/// Largest `max_repeats` of a `duplicate_content` trigger.
pub const MAX_DUPLICATE_REPEATS: u32 = 50;
/// Number of recent messages a `duplicate_content` rule remembers per member. A member who
/// posts more than this within the window has the oldest ones forgotten (the message-rate
/// trigger is the tool for such floods).
pub const DUPLICATE_HISTORY: usize = 100;

/// Maximum number of entries in a `banned_words` list.
pub const MAX_BANNED_WORDS: usize = 1_000;
/// Maximum number of `banned_words` entries in a whole configuration (all rules together).
pub const MAX_BANNED_WORDS_TOTAL: usize = 2_000;
/// Maximum length of one `banned_words` entry, in characters.
pub const MAX_BANNED_WORD_CHARS: usize = 100;
/// Maximum number of domains in a `links` allow or deny list.
pub const MAX_DOMAINS: usize = 1_000;
/// Maximum length of one domain, in characters (DNS limit).
pub const MAX_DOMAIN_CHARS: usize = 253;
/// Maximum number of allowed invite codes.
pub const MAX_INVITE_CODES: usize = 100;
/// Maximum length of one invite code, in characters.
pub const MAX_INVITE_CODE_CHARS: usize = 100;

/// Maximum number of patterns in one `regex` trigger.
pub const MAX_REGEX_PATTERNS: usize = 10;
/// Maximum length of one regex pattern, in characters.
pub const MAX_REGEX_CHARS: usize = 1_000;
/// Maximum number of regex patterns in a whole configuration (all rules together).
pub const MAX_REGEX_PATTERNS_TOTAL: usize = 20;
/// `RegexBuilder::size_limit` of a user pattern: the compiled program may not exceed this.
/// A Unicode class such as `\w` costs about 50 KB once compiled, and repetition multiplies
/// it: `\w{20}` fits, `\w{30,}` does not (`[a-z]{30,}` or `(?-u:\w){30,}` do).
pub const REGEX_SIZE_LIMIT: usize = 1024 * 1024;
/// `RegexBuilder::dfa_size_limit` of a user pattern: the lazy DFA cache budget.
pub const REGEX_DFA_SIZE_LIMIT: usize = 1024 * 1024;
/// `RegexBuilder::nest_limit` of a user pattern.
pub const REGEX_NEST_LIMIT: u32 = 64;
/// `RegexBuilder::size_limit` of the single regex a `banned_words` list compiles to.
pub const WORDS_SIZE_LIMIT: usize = 8 * 1024 * 1024;
/// `RegexBuilder::dfa_size_limit` of a `banned_words` regex.
pub const WORDS_DFA_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// Longest timeout an action may ask for, in seconds (28 days, Discord's maximum).
pub const MAX_TIMEOUT_SECONDS: u64 = 28 * 24 * 3_600;
/// Longest escalation window, in seconds (30 days).
pub const MAX_ESCALATION_WINDOW_SECONDS: u64 = 30 * 24 * 3_600;
/// Largest warning count of an escalation step.
pub const MAX_ESCALATION_WARNINGS: u32 = 100;

/// Maximum number of samples [`test_rule`](super::test_rule) accepts.
pub const MAX_TEST_SAMPLES: usize = 100;
/// Maximum length of one [`test_rule`](super::test_rule) sample, in characters.
pub const MAX_TEST_SAMPLE_CHARS: usize = 4_000;

/// Length, in characters, of [`Evidence::matched`](super::Evidence::matched) and
/// [`Evidence::content_excerpt`](super::Evidence::content_excerpt).
pub const EVIDENCE_CHARS: usize = 200;
