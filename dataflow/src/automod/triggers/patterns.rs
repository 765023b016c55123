//! `regex`: user regular expressions, compiled once per configuration with the `regex`
//! crate, whose engines run in time linear in the message length (no backtracking
//! blow-up: `(a+)+$` is as cheap as `a+$`). Patterns are bounded in number, length and
//! compiled size ([`limits`](crate::automod::limits)).

use crate::automod::action::Evidence;
use crate::automod::error::AutomodError;
use crate::automod::limits::{
    MAX_REGEX_CHARS, MAX_REGEX_PATTERNS, REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT,
};
use crate::automod::text::truncate_chars;
use regex::{Regex, RegexBuilder};

/// Compiled `regex` trigger.
#[derive(Clone, Debug)]
pub(crate) struct PatternTrigger {
    patterns: Vec<Regex>,
}

/// Compiles one user pattern under the documented limits.
pub(crate) fn compile_pattern(
    rule: u64,
    index: usize,
    pattern: &str,
) -> Result<Regex, AutomodError> {
    let chars = pattern.chars().count();
    if chars > MAX_REGEX_CHARS {
        return Err(AutomodError::PatternTooLong {
            rule,
            index,
            chars,
            max: MAX_REGEX_CHARS,
        });
    }
    if pattern.is_empty() {
        return Err(AutomodError::InvalidRegex {
            rule,
            index,
            message: "empty pattern".to_owned(),
        });
    }
    let re = RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => AutomodError::RegexTooLarge {
                rule,
                what: format!("regex pattern {index}"),
                limit,
            },
            regex::Error::Syntax(message) => AutomodError::InvalidRegex {
                rule,
                index,
                message,
            },
            other => AutomodError::InvalidRegex {
                rule,
                index,
                message: other.to_string(),
            },
        })?;
    if re.is_match("") {
        return Err(AutomodError::InvalidRegex {
            rule,
            index,
            message: "the pattern matches an empty message, so it would match every message"
                .to_owned(),
        });
    }
    Ok(re)
}

impl PatternTrigger {
    /// Validates count (1..=10), length and compiled size of every pattern.
    pub(crate) fn compile(rule: u64, patterns: &[String]) -> Result<PatternTrigger, AutomodError> {
        if patterns.is_empty() {
            return Err(AutomodError::NoPatterns { rule });
        }
        if patterns.len() > MAX_REGEX_PATTERNS {
            return Err(AutomodError::TooManyPatterns {
                rule,
                count: patterns.len(),
                max: MAX_REGEX_PATTERNS,
            });
        }
        let patterns = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| compile_pattern(rule, i, p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PatternTrigger { patterns })
    }

    /// Fires on the first pattern that matches (in rule order).
    pub(crate) fn check(&self, content: &str) -> Option<Evidence> {
        let total = self.patterns.len();
        self.patterns.iter().enumerate().find_map(|(i, re)| {
            let found = re.find(content)?;
            Some(Evidence::new(
                "regex",
                format!(
                    "matches pattern {} of {total}: {}",
                    i + 1,
                    truncate_chars(re.as_str(), 100)
                ),
                Some(found.as_str()),
                content,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_pattern_wins() {
        let t = PatternTrigger::compile(1, &["x{3}".into(), "(?i)free\\s+nitro".into()]).unwrap();
        let ev = t.check("get FREE  Nitro").unwrap();
        assert_eq!(ev.matched.as_deref(), Some("FREE  Nitro"));
        assert_eq!(ev.detail, "matches pattern 2 of 2: (?i)free\\s+nitro");
        assert!(t.check("xx").is_none());
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(
            PatternTrigger::compile(2, &[]).unwrap_err(),
            AutomodError::NoPatterns { rule: 2 }
        );
        let many = vec!["a".to_owned(); 11];
        assert!(matches!(
            PatternTrigger::compile(2, &many),
            Err(AutomodError::TooManyPatterns {
                count: 11,
                max: 10,
                ..
            })
        ));
        let long = "a".repeat(1001);
        assert!(matches!(
            PatternTrigger::compile(2, &[long]),
            Err(AutomodError::PatternTooLong {
                index: 0,
                chars: 1001,
                ..
            })
        ));
        match PatternTrigger::compile(2, &["ok".into(), "(unclosed".into()]) {
            Err(AutomodError::InvalidRegex {
                index: 1, message, ..
            }) => {
                assert!(message.contains("unclosed group"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            PatternTrigger::compile(2, &["\\w{1000}".into()]),
            Err(AutomodError::RegexTooLarge { .. })
        ));
        assert!(matches!(
            PatternTrigger::compile(2, &["a*".into()]),
            Err(AutomodError::InvalidRegex { .. })
        ));
        assert!(matches!(
            PatternTrigger::compile(2, &["(?<".into()]),
            Err(AutomodError::InvalidRegex { .. })
        ));
    }
}
