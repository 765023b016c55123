//! Text helpers shared by the triggers: truncation, the normalized content of duplicate
//! detection, the word stream of banned words, and mention parsing for rule tests.

/// The first `max` characters of `s` (a prefix on a char boundary, no allocation).
pub(crate) fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// Calls `f` with each char of the normalized content: trimmed, lowercased, every run of
/// whitespace collapsed to one space. Allocates nothing.
fn for_each_normalized_char(content: &str, mut f: impl FnMut(char)) {
    let mut pending_space = false;
    for c in content.trim().chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space {
            f(' ');
            pending_space = false;
        }
        for lower in c.to_lowercase() {
            f(lower);
        }
    }
}

/// 64-bit FNV-1a hash of the normalized content; None when it is empty (attachment-only
/// messages are not compared). Deterministic across runs and platforms.
pub(crate) fn normalized_hash(content: &str) -> Option<u64> {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let mut any = false;
    for_each_normalized_char(content, |c| {
        any = true;
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    });
    any.then_some(hash)
}

/// The normalized content as a string (for evidence only).
pub(crate) fn normalized(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    for_each_normalized_char(content, |c| out.push(c));
    out
}

/// A word character for banned words: a Unicode letter or digit.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The word stream of `text`: its words lowercased, each followed by one space, with a leading
/// space — `"Hi, THERE!"` becomes `" hi there "`. Banned-word entries are compiled against this
/// form, so whole-word matching needs no word-boundary assertions and stays DFA-friendly.
pub(crate) fn word_stream(text: &str, out: &mut String) {
    out.clear();
    out.push(' ');
    let mut in_word = false;
    for c in text.chars() {
        if is_word_char(c) {
            for lower in c.to_lowercase() {
                out.push(lower);
            }
            in_word = true;
        } else if in_word {
            out.push(' ');
            in_word = false;
        }
    }
    if in_word {
        out.push(' ');
    }
}

/// Counts (cased letters, uppercase letters) for the caps trigger. Tokens (split on
/// whitespace) that are Discord markup `<...>` (mentions, custom emoji, timestamps) or contain
/// `://` (links) are skipped. Letters without case (CJK, etc.) are not counted.
pub(crate) fn count_case(content: &str) -> (u32, u32) {
    let mut letters = 0u32;
    let mut upper = 0u32;
    for token in content.split_whitespace() {
        if (token.starts_with('<') && token.ends_with('>')) || token.contains("://") {
            continue;
        }
        for c in token.chars() {
            if c.is_uppercase() {
                letters = letters.saturating_add(1);
                upper = upper.saturating_add(1);
            } else if c.is_lowercase() {
                letters = letters.saturating_add(1);
            }
        }
    }
    (letters, upper)
}

/// Mentions written in raw text: unique `<@id>`/`<@!id>` users, unique `<@&id>` roles, and
/// whether `@everyone` or `@here` appears. Used by rule tests, where no gateway payload exists.
pub(crate) fn parse_mentions(text: &str) -> (u32, u32, bool) {
    let mut users: Vec<u64> = Vec::new();
    let mut roles: Vec<u64> = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("<@") {
        rest = &rest[pos + 2..];
        let (is_role, body) = match rest.as_bytes().first() {
            Some(b'&') => (true, &rest[1..]),
            Some(b'!') => (false, &rest[1..]),
            _ => (false, rest),
        };
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || body.as_bytes().get(digits) != Some(&b'>') {
            continue;
        }
        if let Ok(id) = body[..digits].parse::<u64>() {
            if is_role {
                roles.push(id);
            } else {
                users.push(id);
            }
        }
    }
    users.sort_unstable();
    users.dedup();
    roles.sort_unstable();
    roles.dedup();
    let everyone = text.contains("@everyone") || text.contains("@here");
    let count = |v: &Vec<u64>| u32::try_from(v.len()).unwrap_or(u32::MAX);
    (count(&users), count(&roles), everyone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_ignores_case_and_spacing() {
        assert_eq!(normalized("  Hello   WORLD\n\tagain "), "hello world again");
        assert_eq!(
            normalized_hash("Hello  world"),
            normalized_hash(" hello world ")
        );
        assert_ne!(
            normalized_hash("hello world"),
            normalized_hash("helloworld")
        );
        assert_eq!(normalized_hash("   "), None);
        assert_eq!(normalized_hash(""), None);
    }

    #[test]
    fn word_stream_lowercases_and_splits() {
        let mut s = String::new();
        word_stream("Hi, THERE! don't Ça_va", &mut s);
        assert_eq!(s, " hi there don t ça va ");
        word_stream("", &mut s);
        assert_eq!(s, " ");
    }

    #[test]
    fn caps_counting_skips_markup_and_links() {
        assert_eq!(count_case("HELLO there"), (10, 5));
        assert_eq!(count_case("<:POGGERS:123> hi https://EXAMPLE.COM"), (2, 0));
        assert_eq!(count_case("日本語 ABC"), (3, 3));
    }

    #[test]
    fn mentions_are_parsed_and_deduplicated() {
        assert_eq!(parse_mentions("<@1> <@!1> <@2> <@&3> <@&3>"), (2, 1, false));
        assert_eq!(parse_mentions("hey @everyone <@x> <@12"), (0, 0, true));
        assert_eq!(parse_mentions("@here"), (0, 0, true));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }
}
