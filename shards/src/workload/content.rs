//! Message text: plain chat, ALL-CAPS, links, invites, mentions and mention spam, bot and
//! webhook posts. The generator picks the style and the mention targets; this writes the text.

use super::distribution::{chance, index, zipf};
use super::json::push_u64;
use super::names::{self, pick};
use rand::rngs::SmallRng;
use rand::Rng;

/// What kind of text to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// A few lowercase chat words, sometimes an emoticon.
    Plain,
    /// Shouting: upper case and exclamation marks.
    Caps,
    /// Chat with an http(s) link.
    Link,
    /// A discord.gg invite.
    Invite,
    /// Chat mentioning the given users.
    Mentions,
    /// The given users' mentions, many of them, little else.
    MentionSpam,
    /// Chat mentioning the given roles.
    RoleMention,
    /// `@everyone` and an announcement.
    Everyone,
    /// The short caption of an attachment (often empty).
    Caption,
    /// A bot's post, mentioning the given user when there is one.
    Bot,
    /// A webhook post (feed items, notifications).
    Webhook,
}

/// An index in `0..n` skewed towards 0 (density proportional to `1 / sqrt(x)`): common
/// words first. Cheaper than [`zipf`], which matters at one draw per word.
fn skewed(rng: &mut SmallRng, n: usize) -> usize {
    let u = rng.random::<f64>();
    ((u * u * n as f64) as usize).min(n.saturating_sub(1))
}

fn words(out: &mut String, rng: &mut SmallRng, n: usize) {
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(names::WORDS[skewed(rng, names::WORDS.len())]);
    }
}

/// Words in a chat line: mostly short, sometimes long.
fn chat_len(rng: &mut SmallRng) -> usize {
    1 + zipf(rng, 24, 0.6)
}

fn mention(out: &mut String, user: u64) {
    out.push_str("<@");
    push_u64(out, user);
    out.push('>');
}

fn role_mention(out: &mut String, role: u64) {
    out.push_str("<@&");
    push_u64(out, role);
    out.push('>');
}

/// Appends the text of a message of `style` to `out`.
pub(crate) fn compose(
    out: &mut String,
    rng: &mut SmallRng,
    style: Style,
    users: &[u64],
    roles: &[u64],
) {
    match style {
        Style::Plain => {
            let n = chat_len(rng);
            words(out, rng, n);
            if chance(rng, 0.2) {
                out.push_str(pick(names::EMOTICONS, rng.random()));
            }
        }
        Style::Caps => {
            let start = out.len();
            let n = 1 + index(rng, 8);
            words(out, rng, n);
            let upper = out[start..].to_ascii_uppercase();
            out.truncate(start);
            out.push_str(&upper);
            out.push_str(["!!!", "!!", "", "?!"][index(rng, 4)]);
        }
        Style::Link => {
            if chance(rng, 0.6) {
                let n = 1 + index(rng, 6);
                words(out, rng, n);
                out.push(' ');
            }
            let h: u64 = rng.random();
            out.push_str(pick(names::LINKS, h));
            names::push_code(out, h >> 8, 11);
            if chance(rng, 0.3) {
                out.push(' ');
                out.push_str(pick(names::EMOTICONS, h >> 40));
            }
        }
        Style::Invite => {
            let n = index(rng, 5);
            if n > 0 {
                out.push_str(["join ", "come to ", "check out ", "new server ", ""][index(rng, 5)]);
                words(out, rng, n);
                out.push(' ');
            }
            out.push_str(
                [
                    "discord.gg/",
                    "https://discord.gg/",
                    "https://discord.com/invite/",
                ][index(rng, 3)],
            );
            let h: u64 = rng.random();
            names::push_code(out, h, 7 + (h % 4) as usize);
        }
        Style::Mentions => {
            for (i, &u) in users.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                mention(out, u);
            }
            out.push(' ');
            let n = chat_len(rng);
            words(out, rng, n);
        }
        Style::MentionSpam => {
            if chance(rng, 0.3) {
                out.push_str(["wake up ", "HELLO ", "free nitro ", "look "][index(rng, 4)]);
            }
            for (i, &u) in users.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                mention(out, u);
            }
        }
        Style::RoleMention => {
            for &r in roles {
                role_mention(out, r);
                out.push(' ');
            }
            let n = chat_len(rng);
            words(out, rng, n);
        }
        Style::Everyone => {
            out.push_str(["@everyone ", "@here "][index(rng, 2)]);
            out.push_str(
                [
                    "event starts in 30 minutes in voice!",
                    "new rules are up, please read them",
                    "giveaway ends tonight",
                    "server maintenance tomorrow",
                ][index(rng, 4)],
            );
        }
        Style::Caption => {
            if chance(rng, 0.5) {
                let n = 1 + index(rng, 5);
                words(out, rng, n);
            }
        }
        Style::Bot => match (users.first(), index(rng, 4)) {
            (Some(&u), 0 | 1) => {
                out.push_str("GG ");
                mention(out, u);
                out.push_str(", you just advanced to level ");
                push_u64(out, 2 + rng.random_range(0..60u64));
                out.push('!');
            }
            (_, 2) => {
                out.push_str("Now playing: ");
                out.push_str(pick(names::ADJECTIVES, rng.random()));
                out.push(' ');
                out.push_str(pick(names::NOUNS, rng.random()));
                out.push_str(" (3:");
                push_u64(out, 10 + rng.random_range(0..50u64));
                out.push(')');
            }
            _ => {}
        },
        Style::Webhook => {
            let h: u64 = rng.random();
            match h % 3 {
                0 => {
                    out.push_str("New post: ");
                    words(out, rng, 4);
                    out.push(' ');
                    out.push_str(pick(names::LINKS, h >> 8));
                    names::push_code(out, h >> 16, 9);
                }
                1 => {
                    out.push_str("Build #");
                    push_u64(out, 1000 + (h >> 8) % 9000);
                    out.push_str([" passed", " failed"][((h >> 30) % 2) as usize]);
                }
                _ => {}
            }
        }
    }
}
