//! `banned_words`: whole words, case-insensitive, with `*` wildcards at the ends.
//!
//! Both the entries and each message are reduced to a *word stream* (words of letters and
//! digits, lowercased, each followed by a single space, with a leading space; see
//! [`word_stream`]). An entry then becomes a fragment anchored on spaces, and all entries
//! of a rule are compiled into one regex alternation:
//!
//! | entry   | matches the words          | fragment            |
//! |---------|----------------------------|---------------------|
//! | `bad`   | `bad`                      | ` bad `             |
//! | `bad*`  | `bad`, `badly`, `badass`   | ` bad[^ ]* `        |
//! | `*bad`  | `bad`, `notbad`            | ` [^ ]*bad `        |
//! | `*bad*` | any word containing `bad`  | ` [^ ]*bad[^ ]* `   |
//! | `f.ck`  | `f ck`, `f.ck`, `f-ck`     | ` f ck `            |
//!
//! The regex has no word-boundary assertions, so the lazy DFA runs on any text in linear
//! time, whatever the number of entries.

use crate::automod::action::Evidence;
use crate::automod::error::AutomodError;
use crate::automod::limits::{
    MAX_BANNED_WORDS, MAX_BANNED_WORD_CHARS, WORDS_DFA_SIZE_LIMIT, WORDS_SIZE_LIMIT,
};
use crate::automod::text::{truncate_chars, word_stream};
use regex::{Regex, RegexBuilder};

/// Compiled `banned_words` trigger.
#[derive(Clone, Debug)]
pub(crate) struct WordTrigger {
    re: Regex,
}

/// The fragment of one entry (see the module table), or why it is refused.
fn fragment(entry: &str, scratch: &mut String) -> Result<(bool, String, bool), &'static str> {
    let trimmed = entry.trim();
    let (lead, rest) = match trimmed.strip_prefix('*') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let (trail, core) = match rest.strip_suffix('*') {
        Some(core) => (true, core),
        None => (false, rest),
    };
    if core.contains('*') {
        return Err("`*` is only allowed at the start or the end of an entry");
    }
    word_stream(core, scratch);
    let words = scratch.trim();
    if words.is_empty() {
        return Err("the entry has no letters or digits");
    }
    Ok((lead, regex::escape(words), trail))
}

impl WordTrigger {
    /// Validates the list (1..=1000 entries of 1..=100 characters) and compiles its regex.
    pub(crate) fn compile(rule: u64, words: &[String]) -> Result<WordTrigger, AutomodError> {
        if words.is_empty() {
            return Err(AutomodError::EmptyWordList { rule });
        }
        if words.len() > MAX_BANNED_WORDS {
            return Err(AutomodError::InvalidRule {
                rule,
                reason: format!(
                    "{} banned words, at most {MAX_BANNED_WORDS} are allowed",
                    words.len()
                ),
            });
        }
        let mut scratch = String::new();
        // Fragments grouped by wildcard shape: exact, *x, x*, *x*.
        let mut groups: [Vec<String>; 4] = Default::default();
        for word in words {
            let invalid = |reason: &str| AutomodError::InvalidWord {
                rule,
                word: truncate_chars(word, 100).to_owned(),
                reason: reason.to_owned(),
            };
            if word.chars().count() > MAX_BANNED_WORD_CHARS {
                return Err(invalid("longer than 100 characters"));
            }
            let (lead, core, trail) = fragment(word, &mut scratch).map_err(invalid)?;
            groups[usize::from(lead) | usize::from(trail) << 1].push(core);
        }
        let mut alternatives = Vec::new();
        for (shape, group) in groups.iter_mut().enumerate() {
            if group.is_empty() {
                continue;
            }
            group.sort_unstable();
            group.dedup();
            let lead = if shape & 1 != 0 { "[^ ]*" } else { "" };
            let trail = if shape & 2 != 0 { "[^ ]*" } else { "" };
            alternatives.push(format!("{lead}(?:{}){trail}", group.join("|")));
        }
        let pattern = format!(" (?:{}) ", alternatives.join("|"));
        let re = RegexBuilder::new(&pattern)
            .size_limit(WORDS_SIZE_LIMIT)
            .dfa_size_limit(WORDS_DFA_SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(limit) => AutomodError::RegexTooLarge {
                    rule,
                    what: "banned word list".to_owned(),
                    limit,
                },
                other => AutomodError::InvalidRule {
                    rule,
                    reason: format!("banned word list failed to compile: {other}"),
                },
            })?;
        Ok(WordTrigger { re })
    }

    /// Fires on the first banned word; `scratch` receives the message's word stream.
    pub(crate) fn check(&self, content: &str, scratch: &mut String) -> Option<Evidence> {
        word_stream(content, scratch);
        let found = self.re.find(scratch)?;
        let word = found.as_str().trim();
        Some(Evidence::new(
            "banned_words",
            format!("banned word \"{}\"", truncate_chars(word, 100)),
            Some(word),
            content,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(words: &[&str]) -> WordTrigger {
        let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        WordTrigger::compile(1, &words).unwrap()
    }

    fn hit(t: &WordTrigger, text: &str) -> Option<String> {
        t.check(text, &mut String::new()).and_then(|e| e.matched)
    }

    #[test]
    fn whole_words_only_case_insensitive() {
        let t = trigger(&["bad"]);
        assert_eq!(hit(&t, "That is BAD!"), Some("bad".into()));
        assert_eq!(hit(&t, "bad"), Some("bad".into()));
        assert_eq!(hit(&t, "badly done"), None);
        assert_eq!(hit(&t, "notbad"), None);
    }

    #[test]
    fn wildcards() {
        let t = trigger(&["bad*", "*ugly", "*evil*"]);
        assert_eq!(hit(&t, "so Badly"), Some("badly".into()));
        assert_eq!(hit(&t, "an abad"), None);
        assert_eq!(hit(&t, "notugly"), Some("notugly".into()));
        assert_eq!(hit(&t, "uglyish"), None);
        assert_eq!(hit(&t, "the devilish"), Some("devilish".into()));
        assert_eq!(hit(&t, "fine"), None);
    }

    #[test]
    fn phrases_and_punctuation() {
        let t = trigger(&["free nitro", "f.ck"]);
        assert_eq!(hit(&t, "get FREE   nitro now"), Some("free nitro".into()));
        assert_eq!(hit(&t, "free, nitro"), Some("free nitro".into()));
        assert_eq!(hit(&t, "free stuff nitro"), None);
        assert_eq!(hit(&t, "what the f-ck"), Some("f ck".into()));
        assert_eq!(hit(&t, "unicode ÇA"), None);
        assert_eq!(hit(&trigger(&["ça"]), "unicode ÇA!"), Some("ça".into()));
    }

    #[test]
    fn invalid_entries() {
        let compile = |w: &[&str]| {
            WordTrigger::compile(4, &w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(
            compile(&[]).unwrap_err(),
            AutomodError::EmptyWordList { rule: 4 }
        );
        for bad in ["*", "**", "b*d", "  ", "!!!"] {
            assert!(
                matches!(
                    compile(&[bad]),
                    Err(AutomodError::InvalidWord { rule: 4, .. })
                ),
                "{bad:?}"
            );
        }
        let long = "a".repeat(101);
        assert!(compile(&[&long]).is_err());
    }

    #[test]
    fn a_thousand_long_entries_compile() {
        let words: Vec<String> = (0..1000)
            .map(|i| format!("*{}{i}*", "wordy".repeat(19)))
            .collect();
        let t = WordTrigger::compile(1, &words).unwrap();
        assert!(t.check("nothing here", &mut String::new()).is_none());
    }
}
