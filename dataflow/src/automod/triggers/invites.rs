//! `invites`: Discord invite links (`discord.gg/CODE`, `discord.com/invite/CODE`,
//! `discordapp.com/invite/CODE`, with or without scheme or `www.`), except allowed codes.
//! Codes are compared case-insensitively.

use crate::automod::action::Evidence;
use crate::automod::error::AutomodError;
use crate::automod::limits::{MAX_INVITE_CODES, MAX_INVITE_CODE_CHARS};
use crate::automod::text::truncate_chars;
use regex::Regex;

const INVITE_PATTERN: &str =
    r"(?i)(?:https?://)?(?:www\.)?(?:discord(?:app)?\.com/invite|discord\.gg)/([a-z0-9-]+)";

/// Compiled `invites` trigger.
#[derive(Clone, Debug)]
pub(crate) struct InviteTrigger {
    re: Regex,
    allowed: Vec<String>,
}

fn normalize_code(rule: u64, entry: &str) -> Result<String, AutomodError> {
    let trimmed = entry.trim().trim_end_matches('/');
    let code = trimmed.rsplit('/').next().unwrap_or(trimmed);
    let invalid = |reason: &str| AutomodError::InvalidInviteCode {
        rule,
        code: truncate_chars(entry, 100).to_owned(),
        reason: reason.to_owned(),
    };
    if code.is_empty() {
        return Err(invalid("empty code"));
    }
    if code.len() > MAX_INVITE_CODE_CHARS {
        return Err(invalid("longer than 100 characters"));
    }
    if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(invalid(
            "an invite code has only letters, digits and hyphens",
        ));
    }
    Ok(code.to_ascii_lowercase())
}

impl InviteTrigger {
    /// Validates and normalizes the allowed codes (a full invite URL gives its code).
    pub(crate) fn compile(rule: u64, allowed: &[String]) -> Result<InviteTrigger, AutomodError> {
        if allowed.len() > MAX_INVITE_CODES {
            return Err(AutomodError::InvalidRule {
                rule,
                reason: format!(
                    "{} allowed invite codes, at most {MAX_INVITE_CODES}",
                    allowed.len()
                ),
            });
        }
        let allowed = allowed
            .iter()
            .map(|c| normalize_code(rule, c))
            .collect::<Result<Vec<_>, _>>()?;
        let re = Regex::new(INVITE_PATTERN).map_err(|e| AutomodError::InvalidRule {
            rule,
            reason: format!("internal invite pattern failed to compile: {e}"),
        })?;
        Ok(InviteTrigger { re, allowed })
    }

    /// Fires on the first invite whose code is not allowed.
    pub(crate) fn check(&self, content: &str) -> Option<Evidence> {
        if !content.contains('.') {
            return None;
        }
        for caps in self.re.captures_iter(content) {
            let (Some(whole), Some(code)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            let before = content[..whole.start()].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '-' || c == '_') {
                continue; // e.g. "notdiscord.gg/x"
            }
            let code = code.as_str();
            if self.allowed.iter().any(|a| a.eq_ignore_ascii_case(code)) {
                continue;
            }
            return Some(Evidence::new(
                "invites",
                format!(
                    "Discord invite {} is not allowed",
                    truncate_chars(code, 100)
                ),
                Some(whole.as_str()),
                content,
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_every_invite_form() {
        let t = InviteTrigger::compile(1, &[]).unwrap();
        for text in [
            "join discord.gg/abc123",
            "https://discord.com/invite/Abc",
            "http://www.discordapp.com/invite/x-y",
            "<https://DISCORD.GG/zzz>",
        ] {
            assert!(t.check(text).is_some(), "{text}");
        }
        for text in [
            "discord.gg",
            "notdiscord.gg/abc",
            "discord.com/channels/1/2",
            "hi",
        ] {
            assert!(t.check(text).is_none(), "{text}");
        }
    }

    #[test]
    fn allowed_codes_pass_case_insensitively() {
        let allowed = vec!["Rust".to_owned(), "https://discord.gg/other/".to_owned()];
        let t = InviteTrigger::compile(1, &allowed).unwrap();
        assert!(t.check("discord.gg/rust").is_none());
        assert!(t.check("discord.com/invite/OTHER").is_none());
        let ev = t.check("discord.gg/rust and discord.gg/spam").unwrap();
        assert_eq!(ev.matched.as_deref(), Some("discord.gg/spam"));
        assert_eq!(ev.detail, "Discord invite spam is not allowed");
    }

    #[test]
    fn bad_codes_are_rejected() {
        assert!(InviteTrigger::compile(1, &["".to_owned()]).is_err());
        assert!(InviteTrigger::compile(1, &["a b".to_owned()]).is_err());
    }
}
