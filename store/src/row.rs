//! One stored event: the row every sink writes (Parquet's `events` files, PostgreSQL's
//! `events` table). It keeps the raw frame exactly as received, so any view can be rebuilt
//! from the store, plus the columns queries filter and group on.

use guildflow_model::{Event, EventBody, EventKind, RawFrame};

/// A raw event with its query columns. `lsn` is its position in the write-ahead log: unique
/// within a data directory, it makes every sink's writes idempotent on retry.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Write-ahead log position of the frame.
    pub lsn: u64,
    /// Event time (SPEC §2: the receive time `at`), Unix milliseconds.
    pub ts: i64,
    /// Shard that received the frame.
    pub shard: u32,
    /// Gateway sequence number.
    pub seq: u64,
    /// Gateway session the frame belongs to (None before the shard's first READY).
    pub session: Option<Box<str>>,
    /// What happened.
    pub kind: EventKind,
    /// Guild, when the event has one.
    pub guild_id: Option<u64>,
    /// Channel, when the event has one (a voice leave has none).
    pub channel_id: Option<u64>,
    /// The acting or concerned user, when the event has one.
    pub user_id: Option<u64>,
    /// The message, for message and reaction events.
    pub message_id: Option<u64>,
    /// Whether the actor is a bot or a webhook (such events are stored, not counted).
    pub bot: bool,
    /// The gateway frame exactly as received.
    pub frame: String,
}

impl EventRow {
    /// The row of a decoded event and its raw frame.
    pub fn new(lsn: u64, raw: &RawFrame, event: &Event, session: Option<&str>) -> EventRow {
        EventRow::from_frame(lsn, raw.clone(), event, session)
    }

    /// As [`EventRow::new`], taking the frame (ingestion has no further use for it).
    pub fn from_frame(lsn: u64, raw: RawFrame, event: &Event, session: Option<&str>) -> EventRow {
        let mut row = EventRow {
            lsn,
            ts: raw.at,
            shard: raw.shard,
            seq: event.seq,
            session: session.map(Box::from),
            kind: event.body.kind(),
            guild_id: event.body.guild().map(|g| g.get()),
            channel_id: None,
            user_id: None,
            message_id: None,
            bot: false,
            frame: raw.text,
        };
        match &event.body {
            EventBody::MessageCreate(m) => {
                row.channel_id = Some(m.channel.get());
                row.user_id = Some(m.author.get());
                row.message_id = Some(m.message.get());
                row.bot = m.author_bot || m.webhook;
            }
            EventBody::MessageUpdate(m) => {
                row.channel_id = Some(m.channel.get());
                row.user_id = m.author.map(|u| u.get());
                row.message_id = Some(m.message.get());
            }
            EventBody::MessageDelete(m) => {
                row.channel_id = Some(m.channel.get());
                row.message_id = Some(m.message.get());
            }
            EventBody::MessageDeleteBulk { channel, .. } => row.channel_id = Some(channel.get()),
            EventBody::ReactionAdd(r) | EventBody::ReactionRemove(r) => {
                row.channel_id = Some(r.channel.get());
                row.user_id = Some(r.user.get());
                row.message_id = Some(r.message.get());
                row.bot = r.user_bot;
            }
            EventBody::VoiceState(v) => {
                row.channel_id = v.channel.map(|c| c.get());
                row.user_id = Some(v.user.get());
                row.bot = v.bot;
            }
            EventBody::MemberAdd(m) | EventBody::MemberUpdate(m) => {
                row.user_id = Some(m.user.get());
                row.bot = m.bot;
            }
            EventBody::MemberRemove { user, .. } => row.user_id = Some(user.get()),
            EventBody::ChannelCreate(c)
            | EventBody::ChannelUpdate(c)
            | EventBody::ChannelDelete(c) => row.channel_id = Some(c.id.get()),
            EventBody::Ready { .. }
            | EventBody::Resumed
            | EventBody::GuildCreate(_)
            | EventBody::GuildUpdate(_)
            | EventBody::GuildDelete { .. }
            | EventBody::RoleCreate { .. }
            | EventBody::RoleUpdate { .. }
            | EventBody::RoleDelete { .. } => {}
        }
        row
    }

    /// The raw frame back, for rebuilding views from the store.
    pub fn raw_frame(&self) -> RawFrame {
        RawFrame {
            shard: self.shard,
            at: self.ts,
            text: self.frame.clone(),
        }
    }
}

/// Parses a stored `kind` column value.
pub fn kind_from_str(name: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| k.as_str() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_name_round_trips() {
        for kind in EventKind::ALL {
            assert_eq!(kind_from_str(kind.as_str()), Some(kind));
        }
        assert_eq!(kind_from_str("nope"), None);
    }
}
