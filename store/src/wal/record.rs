//! Record framing: `len | crc32 | payload`, the payload a raw frame.

use super::WalError;
use guildflow_model::RawFrame;

/// Header bytes before a payload.
pub(super) const HEADER: usize = 8;
/// Largest payload: frames are capped at 32 MiB upstream; a length above this is corruption.
pub(super) const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// Appends the record of `frame` to `out`.
pub fn encode_frame(frame: &RawFrame, out: &mut Vec<u8>) -> Result<(), WalError> {
    let payload_len = 4 + 8 + frame.text.len();
    if payload_len > MAX_PAYLOAD {
        return Err(WalError::TooLarge(frame.text.len()));
    }
    let start = out.len();
    out.extend_from_slice(&(payload_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&frame.shard.to_le_bytes());
    out.extend_from_slice(&frame.at.to_le_bytes());
    out.extend_from_slice(frame.text.as_bytes());
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Payload of an erased record (see [`super::Wal::erase_records`]). Shorter than a frame's
/// `shard | at` header, so it never decodes as a frame, yet it is a valid record: it keeps
/// its place, and with it the LSN of every record after it.
pub(super) const TOMBSTONE: &[u8] = b"erased";

/// Appends a tombstone record to `out`.
pub(super) fn encode_tombstone(out: &mut Vec<u8>) {
    out.extend_from_slice(&(TOMBSTONE.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(TOMBSTONE).to_le_bytes());
    out.extend_from_slice(TOMBSTONE);
}

/// Decodes a payload (CRC already checked); None when it is not a frame (a tombstone is not).
pub fn decode_frame(payload: &[u8]) -> Option<RawFrame> {
    let shard = u32::from_le_bytes(payload.get(0..4)?.try_into().ok()?);
    let at = i64::from_le_bytes(payload.get(4..12)?.try_into().ok()?);
    let text = std::str::from_utf8(payload.get(12..)?).ok()?.to_owned();
    Some(RawFrame { shard, at, text })
}
