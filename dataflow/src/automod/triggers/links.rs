//! `links`: URLs with a scheme (`http://`, `https://`, any host) and bare domains
//! (`example.com`, `www.example.com/path`).
//!
//! Bare domains are ambiguous with file names (`main.rs`, `notes.md`), so in `block_all` and
//! `allow_list` modes a bare domain counts as a link only when it starts with `www.` or ends in
//! a common top-level domain ([`COMMON_TLDS`]). In `deny_list` mode every bare domain is
//! checked against the list, whatever its TLD. E-mail addresses are not links.

use crate::automod::action::Evidence;
use crate::automod::config::LinkMode;
use crate::automod::error::AutomodError;
use crate::automod::limits::{MAX_DOMAINS, MAX_DOMAIN_CHARS};
use crate::automod::text::truncate_chars;
use regex::Regex;
use std::collections::HashSet;

/// URL with a scheme (groups 1-2), or a bare domain with an optional path (group 3).
const LINK_PATTERN: &str = r"(?i)(https?://)([^\s/?#<>]+)[^\s<>]*|((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z](?:[a-z0-9-]*[a-z0-9]))(?:[/?#:][^\s<>]*)?";

/// Top-level domains that make a bare `name.tld` a link in `block_all`/`allow_list` modes.
/// Deliberately excludes TLDs that are common file extensions (`md`, `rs`, `py`, `sh`, `zip`,
/// `mov`, `pl`...).
pub const COMMON_TLDS: &[&str] = &[
    "ai", "app", "art", "au", "be", "bio", "biz", "blog", "br", "ca", "cc", "cf", "ch", "click",
    "club", "cn", "co", "com", "de", "dev", "dk", "es", "eu", "fi", "fr", "fun", "ga", "gay", "gg",
    "gift", "gq", "icu", "in", "info", "io", "it", "jp", "kr", "la", "link", "live", "ly", "me",
    "ml", "mx", "net", "nl", "no", "nz", "online", "org", "page", "pro", "pw", "ru", "se", "shop",
    "site", "space", "store", "stream", "su", "tech", "tk", "to", "top", "tv", "ua", "uk", "us",
    "vip", "win", "ws", "xyz",
];

fn is_common_tld(host: &str) -> bool {
    let tld = host.rsplit('.').next().unwrap_or(host);
    COMMON_TLDS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(tld))
}

/// Compiles the shared link-finding regex (a constant pattern, so failure is a bug; it is
/// still reported as an error rather than a panic).
pub(crate) fn link_regex(rule: u64) -> Result<Regex, AutomodError> {
    Regex::new(LINK_PATTERN).map_err(|e| AutomodError::InvalidRule {
        rule,
        reason: format!("internal link pattern failed to compile: {e}"),
    })
}

/// One link found in a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FoundLink<'a> {
    /// The link as written.
    pub(crate) text: &'a str,
    /// Its host, lowercased, without user info, port or trailing dots.
    pub(crate) host: String,
    /// Whether it had a scheme or a `www.` prefix (certainly meant as a link).
    pub(crate) explicit: bool,
}

/// Every link-like span of `content`, in order.
pub(crate) fn find_links<'a>(re: &Regex, content: &'a str) -> Vec<FoundLink<'a>> {
    let mut out = Vec::new();
    if !content.contains('.') {
        return out;
    }
    for caps in re.captures_iter(content) {
        let Some(whole) = caps.get(0) else { continue };
        if let Some(raw_host) = caps.get(2) {
            let raw = raw_host.as_str();
            let raw = raw.rsplit('@').next().unwrap_or(raw);
            let raw = raw.split(':').next().unwrap_or(raw);
            let host = raw.trim_end_matches(|c: char| !c.is_alphanumeric());
            if host.is_empty() {
                continue;
            }
            out.push(FoundLink {
                text: whole.as_str(),
                host: host.to_lowercase(),
                explicit: true,
            });
        } else if let Some(domain) = caps.get(3) {
            let before = content[..whole.start()].chars().next_back();
            if before.is_some_and(|c| c == '@' || c.is_alphanumeric() || c == '_') {
                continue; // e-mail address or the tail of a longer word
            }
            let host = domain.as_str().to_ascii_lowercase();
            let explicit = host.starts_with("www.");
            out.push(FoundLink {
                text: whole.as_str(),
                host,
                explicit,
            });
        }
    }
    out
}

/// Normalizes and validates one allow/deny-list domain: lowercase, optional leading `*.`,
/// labels of letters, digits and hyphens.
fn normalize_domain(rule: u64, entry: &str) -> Result<String, AutomodError> {
    let invalid = |reason: &str| AutomodError::InvalidDomain {
        rule,
        domain: truncate_chars(entry, 100).to_owned(),
        reason: reason.to_owned(),
    };
    let d = entry.trim().to_lowercase();
    let d = d.strip_prefix("*.").unwrap_or(&d);
    let d = d.trim_end_matches('.');
    if d.is_empty() {
        return Err(invalid("empty domain"));
    }
    if d.contains("://") || d.contains('/') {
        return Err(invalid(
            "write only the host name, e.g. \"example.com\", without scheme or path",
        ));
    }
    if d.chars().count() > MAX_DOMAIN_CHARS {
        return Err(invalid("longer than 253 characters"));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if !d.split('.').all(label_ok) {
        return Err(invalid(
            "not a domain name (letters, digits and hyphens separated by dots)",
        ));
    }
    Ok(d.to_owned())
}

#[derive(Clone, Debug)]
enum Mode {
    BlockAll,
    Allow(HashSet<String>),
    Deny(HashSet<String>),
}

/// Compiled `links` trigger.
#[derive(Clone, Debug)]
pub(crate) struct LinkTrigger {
    re: Regex,
    mode: Mode,
}

/// Whether `host` is one of `domains` or a subdomain of one.
fn listed(domains: &HashSet<String>, host: &str) -> bool {
    let mut rest = host;
    loop {
        if domains.contains(rest) {
            return true;
        }
        match rest.find('.') {
            Some(dot) => rest = &rest[dot + 1..],
            None => return false,
        }
    }
}

impl LinkTrigger {
    /// Validates the domain list (deny lists must not be empty).
    pub(crate) fn compile(rule: u64, mode: &LinkMode) -> Result<LinkTrigger, AutomodError> {
        let domains = |list: &[String]| -> Result<HashSet<String>, AutomodError> {
            if list.len() > MAX_DOMAINS {
                return Err(AutomodError::InvalidRule {
                    rule,
                    reason: format!("{} domains, at most {MAX_DOMAINS} are allowed", list.len()),
                });
            }
            list.iter().map(|d| normalize_domain(rule, d)).collect()
        };
        let mode = match mode {
            LinkMode::BlockAll => Mode::BlockAll,
            LinkMode::AllowList { domains: list } => Mode::Allow(domains(list)?),
            LinkMode::DenyList { domains: list } => {
                if list.is_empty() {
                    return Err(AutomodError::InvalidRule {
                        rule,
                        reason: "the deny list has no domains".to_owned(),
                    });
                }
                Mode::Deny(domains(list)?)
            }
        };
        Ok(LinkTrigger {
            re: link_regex(rule)?,
            mode,
        })
    }

    /// Fires on the first refused link.
    pub(crate) fn check(&self, content: &str) -> Option<Evidence> {
        if !content.contains('.') {
            return None;
        }
        for link in find_links(&self.re, content) {
            let certain = link.explicit || is_common_tld(&link.host);
            let why = match &self.mode {
                Mode::BlockAll if certain => "links are not allowed",
                Mode::Allow(list) if certain && !listed(list, &link.host) => {
                    "domain is not in the allow list"
                }
                Mode::Deny(list) if listed(list, &link.host) => "domain is in the deny list",
                _ => continue,
            };
            return Some(Evidence::new(
                "links",
                format!("link to {} ({why})", truncate_chars(&link.host, 100)),
                Some(link.text),
                content,
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(content: &str) -> Vec<(String, bool)> {
        let re = link_regex(0).unwrap();
        find_links(&re, content)
            .into_iter()
            .map(|l| (l.host, l.explicit))
            .collect()
    }

    #[test]
    fn finds_urls_and_bare_domains() {
        assert_eq!(
            hosts("see https://User@Sub.Example.COM:8080/a.b.com?x and www.foo.org/x, bar.gg."),
            vec![
                ("sub.example.com".to_owned(), true),
                ("www.foo.org".to_owned(), true),
                ("bar.gg".to_owned(), false),
            ]
        );
        assert_eq!(hosts("mail me: someone@example.com"), vec![]);
        assert_eq!(
            hosts("(http://10.0.0.1/x)"),
            vec![("10.0.0.1".to_owned(), true)]
        );
        assert_eq!(hosts("v1.2 e.g. i.e."), vec![]);
        assert_eq!(hosts("no dots here"), vec![]);
    }

    #[test]
    fn block_all_ignores_file_names() {
        let t = LinkTrigger::compile(1, &LinkMode::BlockAll).unwrap();
        assert!(t.check("edit main.rs and README.md").is_none());
        let ev = t.check("go to example.com/path now").unwrap();
        assert_eq!(ev.matched.as_deref(), Some("example.com/path"));
        assert_eq!(ev.detail, "link to example.com (links are not allowed)");
        assert!(t.check("http://main.rs").is_some());
    }

    #[test]
    fn allow_and_deny_lists_match_subdomains() {
        let allow = LinkMode::AllowList {
            domains: vec!["YouTube.com".into(), "*.github.io".into()],
        };
        let t = LinkTrigger::compile(1, &allow).unwrap();
        assert!(t.check("https://www.youtube.com/watch?v=1").is_none());
        assert!(t.check("me.github.io").is_none());
        assert!(t.check("https://notyoutube.com").is_some());
        assert!(t.check("https://youtube.com.evil.net").is_some());

        let deny = LinkMode::DenyList {
            domains: vec!["evil.zip".into()],
        };
        let t = LinkTrigger::compile(1, &deny).unwrap();
        assert!(t.check("get it at cdn.EVIL.zip/x").is_some());
        assert!(t.check("https://example.com").is_none());
    }

    #[test]
    fn bad_domains_are_rejected() {
        for bad in [
            "",
            "https://x.com",
            "x.com/path",
            "a..b",
            "-a.com",
            "a b.com",
        ] {
            let mode = LinkMode::AllowList {
                domains: vec![bad.into()],
            };
            assert!(
                matches!(
                    LinkTrigger::compile(9, &mode),
                    Err(AutomodError::InvalidDomain { rule: 9, .. })
                ),
                "{bad:?}"
            );
        }
        let empty = LinkMode::DenyList { domains: vec![] };
        assert!(LinkTrigger::compile(9, &empty).is_err());
    }
}
