//! Decoding raw gateway frames into normalized [`Event`]s.
//!
//! A dispatch whose `t` precedes `d` (Discord's order) is decoded in one pass: the payload is
//! read from the frame's own deserializer (`one_pass`). Anything else takes two stages: the
//! envelope (`op`, `s`, `t`, `d` kept as raw JSON), then only the `d` of the dispatch types we
//! use. Either way into lean borrowed structs holding just the fields the pipeline needs.
//! The lean decoder replaced twilight-model's full models on the hot path because it is several
//! times faster on the generated mix (see docs/PERFORMANCE.md and `guildflow-benches decode`);
//! twilight-model decoding stays available in [`twilight`] for comparison.
//!
//! Nothing here panics on input: every failure is a [`DecodeError`] with a stable
//! [`DecodeError::reason`], counted by [`DecodeCounters`].

mod counters;
mod error;
mod lean;
mod time;
pub mod twilight;

pub use counters::DecodeCounters;
pub use error::{DecodeError, DecodeReason};
pub use lean::{decode_dispatch, DECODED_DISPATCHES};

mod one_pass;
use one_pass::decode_one_pass;
pub use time::parse_rfc3339_ms;

use guildflow_model::Event;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Largest frame accepted. Discord's largest payloads (GUILD_CREATE of big guilds) stay well
/// below; anything larger is hostile or broken and rejected before parsing.
pub const MAX_FRAME_BYTES: usize = 32 * 1024 * 1024;

/// What a frame turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A dispatch we normalize.
    Event(Event),
    /// A dispatch of a type we do not use (TYPING_START, PRESENCE_UPDATE, ...), kept only as a
    /// count; `seq` still advances the shard's session.
    Ignored {
        /// The dispatch type.
        t: String,
        /// Its sequence number.
        seq: u64,
    },
    /// A non-dispatch frame (HELLO, heartbeat ACK, ...): not a statistic.
    Control {
        /// The opcode.
        op: u8,
    },
}

/// The envelope of every gateway frame.
#[derive(Deserialize)]
struct Envelope<'a> {
    op: u8,
    #[serde(default)]
    s: Option<u64>,
    #[serde(borrow, default)]
    t: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    d: Option<&'a RawValue>,
}

/// Decodes one gateway frame (the websocket text message) received by `shard` at `at` (Unix ms).
pub fn decode_frame(text: &str, shard: u32, at: i64) -> Result<Decoded, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge {
            size: text.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    // serde's derived structs also accept JSON arrays positionally; a frame is an object.
    if !starts_with_object(text) {
        return Err(DecodeError::InvalidJson(serde::de::Error::custom(
            "a gateway frame must be a JSON object",
        )));
    }
    if let Some(decoded) = decode_one_pass(text, shard, at) {
        return Ok(decoded);
    }
    let envelope: Envelope<'_> = serde_json::from_str(text).map_err(DecodeError::InvalidJson)?;
    if envelope.op != 0 {
        return Ok(Decoded::Control { op: envelope.op });
    }
    let seq = envelope.s.ok_or(DecodeError::MissingSequence)?;
    let t = envelope.t.ok_or(DecodeError::MissingType)?;
    let d = envelope.d.ok_or_else(|| DecodeError::MissingPayload {
        t: t.clone().into_owned(),
    })?;
    match decode_dispatch(&t, d.get())? {
        Some(body) => Ok(Decoded::Event(Event {
            at,
            shard,
            seq,
            body,
        })),
        None => Ok(Decoded::Ignored {
            t: t.into_owned(),
            seq,
        }),
    }
}

/// Whether the first non-whitespace byte opens a JSON object.
pub(crate) fn starts_with_object(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
}
