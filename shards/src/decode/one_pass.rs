//! The fast path of [`super::decode_frame`]: one pass over the frame when `t` comes before
//! `d` (Discord's order, and ours), decoding the payload straight from the frame's
//! deserializer instead of first scanning it as a raw value and then parsing it again.
//!
//! It gives an answer only for a well-formed dispatch; anything else (an error of any kind, a
//! control frame, `d` before `t`, a duplicate key) falls back to the two-pass path, which
//! classifies the failure. So the fast path never changes what a frame decodes to.

use super::lean::decode_payload;
use super::Decoded;
use guildflow_model::{Event, EventBody};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;

/// Decodes a dispatch frame in one pass; `None` sends it to the two-pass path.
pub(super) fn decode_one_pass(text: &str, shard: u32, at: i64) -> Option<Decoded> {
    let mut de = serde_json::Deserializer::from_str(text);
    let frame = (&mut de).deserialize_map(FrameVisitor).ok()?;
    de.end().ok()?;
    let Frame { seq, t, body } = frame;
    Some(match body {
        Some(body) => Decoded::Event(Event {
            at,
            shard,
            seq,
            body,
        }),
        None => Decoded::Ignored { t: t.into(), seq },
    })
}

/// A dispatch read in one pass.
struct Frame<'de> {
    seq: u64,
    t: &'de str,
    body: Option<EventBody>,
}

struct FrameVisitor;

/// Aborts the fast path (the message is never shown: the two-pass path decides).
fn abort<E: de::Error>() -> E {
    E::custom("not for the one-pass decoder")
}

impl<'de> Visitor<'de> for FrameVisitor {
    type Value = Frame<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a gateway dispatch")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Frame<'de>, A::Error> {
        let mut op: Option<u8> = None;
        let mut seq: Option<Option<u64>> = None;
        let mut t: Option<Option<&'de str>> = None;
        let mut body: Option<Option<EventBody>> = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "op" if op.is_none() => op = Some(map.next_value()?),
                "s" if seq.is_none() => seq = Some(map.next_value()?),
                "t" if t.is_none() => t = Some(map.next_value()?),
                "d" if body.is_none() => {
                    let Some(Some(name)) = t else {
                        return Err(abort());
                    };
                    // A null `d` is a missing payload: the two-pass path says so.
                    let Some(decoded) = map.next_value_seed(Payload(name))? else {
                        return Err(abort());
                    };
                    body = Some(decoded);
                }
                "op" | "s" | "t" | "d" => return Err(abort()),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (op, seq, t, body) {
            (Some(0), Some(Some(seq)), Some(Some(t)), Some(body)) => Ok(Frame { seq, t, body }),
            _ => Err(abort()),
        }
    }
}

/// The payload of a dispatch of type `.0`; `None` when it is null.
struct Payload<'t>(&'t str);

impl<'de> DeserializeSeed<'de> for Payload<'_> {
    type Value = Option<Option<EventBody>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Payload<'_> {
    type Value = Option<Option<EventBody>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "the payload of {}", self.0)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        decode_payload(self.0, d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_frame, Envelope};
    use super::*;

    /// What the two-pass path alone gives.
    fn two_pass(text: &str) -> Option<Decoded> {
        let envelope: Envelope<'_> = serde_json::from_str(text).ok()?;
        let t = envelope.t?;
        let body = super::super::decode_dispatch(&t, envelope.d?.get()).ok()?;
        let seq = envelope.s?;
        (envelope.op == 0).then(|| match body {
            Some(body) => Decoded::Event(Event {
                at: 5,
                shard: 1,
                seq,
                body,
            }),
            None => Decoded::Ignored {
                t: t.into_owned(),
                seq,
            },
        })
    }

    #[test]
    fn agrees_with_the_two_pass_path_or_defers_to_it() {
        let frames = [
            r#"{"op":0,"s":7,"t":"MESSAGE_REACTION_ADD","d":{"user_id":"2","channel_id":"3","message_id":"4","guild_id":"1","emoji":{"id":null,"name":"x"}}}"#,
            r#"{"t":"TYPING_START","s":8,"op":0,"d":{"anything":[1,2,{"a":null}]}}"#,
            r#"{"op":0,"s":9,"t":"RESUMED","d":{"_trace":["gateway-prd"]}}"#,
            r#"{"op":0,"s":10,"t":"GUILD_DELETE","d":{"id":"1","unavailable":true},"extra":1}"#,
            r#"{"op":0,"s":16,"t":"RESUMED","d":null}"#,
            // Deferred: a null payload, d before t, a control frame, an array payload,
            // duplicates, trailing garbage, a type mismatch, a missing s.
            r#"{"op":0,"s":11,"d":{"id":"1"},"t":"GUILD_DELETE"}"#,
            r#"{"op":10,"s":null,"t":null,"d":{"heartbeat_interval":41250}}"#,
            r#"{"op":0,"s":12,"t":"GUILD_DELETE","d":["1",true]}"#,
            r#"{"op":0,"s":13,"t":"GUILD_DELETE","t":"GUILD_DELETE","d":{"id":"1"}}"#,
            r#"{"op":0,"s":14,"t":"GUILD_DELETE","d":{"id":"1"}} x"#,
            r#"{"op":0,"s":15,"t":"GUILD_DELETE","d":{"id":true}}"#,
            r#"{"op":0,"t":"GUILD_DELETE","d":{"id":"1"}}"#,
        ];
        for (i, frame) in frames.iter().enumerate() {
            let fast = decode_one_pass(frame, 1, 5);
            if i < 4 {
                assert!(fast.is_some(), "{frame}");
            } else {
                assert!(fast.is_none(), "{frame}");
            }
            if let Some(fast) = &fast {
                assert_eq!(Some(fast), two_pass(frame).as_ref(), "{frame}");
            }
            // Whatever path, the public decoder gives the two-pass answer.
            let public = decode_frame(frame, 1, 5).ok();
            if let Some(expected) = two_pass(frame) {
                assert_eq!(public, Some(expected), "{frame}");
            }
        }
    }

    #[test]
    fn every_generated_frame_takes_the_fast_path_with_the_same_result() {
        use crate::capture::{CaptureItem, CaptureReader};
        use crate::workload::{write_capture, WorkloadConfig};
        let mut capture = Vec::new();
        write_capture(&WorkloadConfig::default(), 20_000, &mut capture).expect("generate");
        let mut reader = CaptureReader::new(&capture[..]);
        let mut frames = 0;
        while let Some(item) = reader.next_item().expect("read") {
            if let CaptureItem::Frame { frame, .. } = item {
                let fast = decode_one_pass(&frame.text, 1, 5);
                assert!(fast.is_some(), "{}", frame.text);
                assert_eq!(fast, two_pass(&frame.text), "{}", frame.text);
                frames += 1;
            }
        }
        assert!(frames > 20_000, "{frames}");
    }
}
