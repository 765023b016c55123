//! Decoding with twilight-model's full gateway models: the reference the lean decoder is
//! measured against (`guildflow-benches decode`). Not on the hot path.

use super::DecodeError;
use serde::de::DeserializeSeed;
use twilight_model::gateway::event::{GatewayEvent, GatewayEventDeserializer};

/// Decodes a frame into twilight-model's [`GatewayEvent`].
pub fn decode_frame_twilight(text: &str) -> Result<GatewayEvent, DecodeError> {
    if text.len() > super::MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge {
            size: text.len(),
            limit: super::MAX_FRAME_BYTES,
        });
    }
    let seed = GatewayEventDeserializer::from_json(text).ok_or(DecodeError::MissingType)?;
    let t = seed.event_type().unwrap_or_default().to_owned();
    let mut de = serde_json::Deserializer::from_str(text);
    seed.deserialize(&mut de)
        .map_err(|source| DecodeError::PayloadMismatch { t, source })
}
