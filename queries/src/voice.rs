//! Voice sessions rebuilt from stored events (SPEC §3), the same state machine as the live
//! dataflow (`dataflow/src/engine/voice.rs` and `guild.rs`): per user, a different non-null
//! channel closes the open session and opens one there, a null channel closes it; GUILD_CREATE
//! re-lists who is in voice (absent users' sessions close at its time); leaving the guild or
//! the guild being deleted closes sessions. Sessions of bots and in the AFK channel are not
//! counted. Whether a session counts is decided when it opens, as the live side does.

use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// One voice-relevant stored event, in store order.
#[derive(Clone, Debug, PartialEq)]
pub struct VoiceEvent {
    /// Event time, Unix ms.
    pub ts: i64,
    /// Store order among equal times.
    pub lsn: u64,
    /// `EventKind::as_str` name.
    pub kind: String,
    /// The row's user.
    pub user: Option<u64>,
    /// The row's channel.
    pub channel: Option<u64>,
    /// The row's bot flag.
    pub bot: bool,
    /// Raw frame, only for kinds whose payload matters here.
    pub frame: Option<String>,
}

/// One counted voice session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// Member.
    pub user: u64,
    /// Voice channel.
    pub channel: u64,
    /// Opened at, Unix ms.
    pub started_at: i64,
    /// Closed at, Unix ms; None while still open.
    pub ended_at: Option<i64>,
}

impl Session {
    /// Milliseconds in `[from, to)` (an open session runs up to `watermark`).
    pub fn overlap_ms(&self, watermark: i64, from: i64, to: i64) -> i64 {
        let end = self
            .ended_at
            .unwrap_or_else(|| watermark.max(self.started_at));
        (end.min(to) - self.started_at.max(from)).max(0)
    }
}

#[derive(Clone, Copy, Debug)]
struct Open {
    channel: u64,
    since: i64,
    counted: bool,
}

/// The state machine of one guild.
#[derive(Debug, Default)]
pub struct VoiceRebuild {
    afk: Option<u64>,
    bots: HashSet<u64>,
    open: HashMap<u64, Open>,
    closed: Vec<Session>,
}

/// Kinds [`VoiceRebuild::apply`] looks at.
pub const VOICE_KINDS: [&str; 8] = [
    "voice_state",
    "member_add",
    "member_update",
    "member_remove",
    "guild_create",
    "guild_update",
    "guild_delete",
    "message_create",
];

/// Kinds whose raw frame [`VoiceRebuild::apply`] needs (message_create only when `bot`).
pub const FRAME_KINDS: [&str; 3] = ["guild_create", "guild_update", "guild_delete"];

impl VoiceRebuild {
    /// Applies one event; events must come in (ts, lsn) order.
    pub fn apply(&mut self, e: &VoiceEvent) {
        match e.kind.as_str() {
            "voice_state" => {
                if let Some(user) = e.user {
                    self.voice_state(user, e.channel, e.bot, e.ts);
                }
            }
            "member_add" | "member_update" => {
                if let (true, Some(user)) = (e.bot, e.user) {
                    self.bots.insert(user);
                }
            }
            "member_remove" => {
                if let Some(user) = e.user {
                    self.move_to(user, None, false, e.ts);
                }
            }
            "message_create" if e.bot => {
                // The row's bot flag also covers webhooks; only a bot author marks the user.
                let d = payload(e.frame.as_deref());
                let author_bot = d.pointer("/author/bot").and_then(Value::as_bool) == Some(true);
                if let (true, Some(user)) = (author_bot, e.user) {
                    self.bots.insert(user);
                }
            }
            "guild_create" => self.guild_create(&payload(e.frame.as_deref()), e.ts),
            "guild_update" => self.afk = id(payload(e.frame.as_deref()).get("afk_channel_id")),
            "guild_delete" => {
                let d = payload(e.frame.as_deref());
                if d.get("unavailable").and_then(Value::as_bool) != Some(true) {
                    let users: Vec<u64> = self.open.keys().copied().collect();
                    for user in users {
                        self.move_to(user, None, false, e.ts);
                    }
                }
            }
            _ => {}
        }
    }

    fn guild_create(&mut self, d: &Value, at: i64) {
        self.afk = id(d.get("afk_channel_id"));
        for member in d
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let user = member.get("user");
            if user.and_then(|u| u.get("bot")).and_then(Value::as_bool) == Some(true) {
                if let Some(uid) = id(user.and_then(|u| u.get("id"))) {
                    self.bots.insert(uid);
                }
            }
        }
        let states: Vec<(u64, Option<u64>, bool)> = d
            .get("voice_states")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| {
                let user = id(v.get("user_id"))?;
                let bot = v.pointer("/member/user/bot").and_then(Value::as_bool) == Some(true);
                Some((user, id(v.get("channel_id")), bot))
            })
            .collect();
        let gone: Vec<u64> = self
            .open
            .keys()
            .copied()
            .filter(|u| !states.iter().any(|(s, _, _)| s == u))
            .collect();
        for user in gone {
            self.move_to(user, None, false, at);
        }
        for (user, channel, bot) in states {
            self.voice_state(user, channel, bot, at);
        }
    }

    fn voice_state(&mut self, user: u64, channel: Option<u64>, bot: bool, at: i64) {
        if bot {
            self.bots.insert(user);
        }
        let counted = !self.bots.contains(&user) && channel != self.afk;
        self.move_to(user, channel, counted, at);
    }

    fn move_to(&mut self, user: u64, channel: Option<u64>, counted: bool, at: i64) {
        if self.open.get(&user).map(|s| s.channel) == channel {
            return;
        }
        if let Some(open) = self.open.remove(&user) {
            if open.counted {
                self.closed.push(Session {
                    user,
                    channel: open.channel,
                    started_at: open.since,
                    ended_at: Some(at.max(open.since)),
                });
            }
        }
        if let Some(channel) = channel {
            self.open.insert(
                user,
                Open {
                    channel,
                    since: at,
                    counted,
                },
            );
        }
    }

    /// Every counted session, closed ones first (in closing order), then the open ones by user.
    pub fn finish(mut self) -> Vec<Session> {
        let mut open: Vec<(u64, Open)> = self.open.into_iter().filter(|(_, o)| o.counted).collect();
        open.sort_by_key(|(user, _)| *user);
        self.closed
            .extend(open.into_iter().map(|(user, o)| Session {
                user,
                channel: o.channel,
                started_at: o.since,
                ended_at: None,
            }));
        self.closed
    }
}

/// The `d` object of a raw gateway frame (Null when absent or unparsable: a corrupt frame is
/// treated as carrying nothing, as the live decoder would have dropped it).
fn payload(frame: Option<&str>) -> Value {
    frame
        .and_then(|f| serde_json::from_str::<Value>(f).ok())
        .and_then(|mut v| v.get_mut("d").map(Value::take))
        .unwrap_or(Value::Null)
}

/// A snowflake, sent as a string by Discord (a number is accepted too).
fn id(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(
        ts: i64,
        kind: &str,
        user: u64,
        channel: Option<u64>,
        bot: bool,
        frame: Option<&str>,
    ) -> VoiceEvent {
        VoiceEvent {
            ts,
            lsn: ts as u64,
            kind: kind.into(),
            user: Some(user),
            channel,
            bot,
            frame: frame.map(str::to_owned),
        }
    }

    #[test]
    fn moves_close_and_open_and_afk_and_bots_do_not_count() {
        let gc = r#"{"op":0,"t":"GUILD_CREATE","d":{"id":"1","afk_channel_id":"99","voice_states":[{"user_id":"7","channel_id":"10"},{"user_id":"8","channel_id":"10","member":{"user":{"id":"8","bot":true}}}]}}"#;
        let mut v = VoiceRebuild::default();
        for e in [
            ev(1_000, "guild_create", 0, None, false, Some(gc)),
            ev(61_000, "voice_state", 7, Some(11), false, None),
            ev(62_000, "voice_state", 7, Some(11), false, None), // same channel: no-op
            ev(121_000, "voice_state", 7, Some(99), false, None), // AFK
            ev(200_000, "voice_state", 7, None, false, None),
            ev(300_000, "voice_state", 9, Some(10), false, None),
        ] {
            v.apply(&e);
        }
        let s = v.finish();
        assert_eq!(
            s,
            vec![
                Session {
                    user: 7,
                    channel: 10,
                    started_at: 1_000,
                    ended_at: Some(61_000)
                },
                Session {
                    user: 7,
                    channel: 11,
                    started_at: 61_000,
                    ended_at: Some(121_000)
                },
                Session {
                    user: 9,
                    channel: 10,
                    started_at: 300_000,
                    ended_at: None
                },
            ]
        );
        assert_eq!(s[2].overlap_ms(360_000, 0, i64::MAX), 60_000);
        assert_eq!(s[0].overlap_ms(0, 31_000, 41_000), 10_000);
    }

    #[test]
    fn guild_create_closes_absent_users_and_member_remove_closes() {
        let mut v = VoiceRebuild::default();
        v.apply(&ev(0, "voice_state", 1, Some(5), false, None));
        v.apply(&ev(0, "voice_state", 2, Some(5), false, None));
        v.apply(&ev(
            10,
            "guild_create",
            0,
            None,
            false,
            Some(r#"{"d":{"voice_states":[{"user_id":"2","channel_id":"5"}]}}"#),
        ));
        v.apply(&ev(20, "member_remove", 2, None, false, None));
        let s = v.finish();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].user, s[0].ended_at), (1, Some(10)));
        assert_eq!((s[1].user, s[1].ended_at), (2, Some(20)));
    }

    #[test]
    fn corrupt_frames_are_ignored() {
        let mut v = VoiceRebuild::default();
        v.apply(&ev(0, "guild_create", 0, None, false, Some("{not json")));
        v.apply(&ev(0, "message_create", 3, None, true, None));
        assert!(v.finish().is_empty());
    }
}
