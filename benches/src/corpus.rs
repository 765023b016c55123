//! The generated mix every bench runs on: the frames a shard would receive (READY,
//! GUILD_CREATEs, then the dispatch stream), so guildflow and each baseline see the same bytes.

use guildflow_model::Event;
use guildflow_shards::capture::{CaptureItem, CaptureReader};
use guildflow_shards::decode::{decode_frame, Decoded};
use guildflow_shards::workload::{write_capture, WorkloadConfig};
use guildflow_shards::RawFrame;

/// Guilds of every bench's world.
pub const GUILDS: u32 = 2000;

/// Shards the world is split over (the capture's frames carry them).
pub const SHARDS: u32 = 4;

/// The workload of the benches; `event_rate` spaces event time (dispatches per second).
pub fn config(event_rate: f64) -> WorkloadConfig {
    WorkloadConfig {
        guilds: GUILDS,
        total_shards: SHARDS,
        event_rate,
        ..WorkloadConfig::default()
    }
}

/// `events` dispatches of the default workload, preceded by READY and GUILD_CREATEs.
pub fn frames(events: u64) -> anyhow::Result<Vec<RawFrame>> {
    frames_of(&config(1000.0), events)
}

/// `events` dispatches of `cfg`, preceded by READY and GUILD_CREATEs.
pub fn frames_of(cfg: &WorkloadConfig, events: u64) -> anyhow::Result<Vec<RawFrame>> {
    let mut capture = Vec::new();
    write_capture(cfg, events, &mut capture)?;
    let mut reader = CaptureReader::new(&capture[..]);
    let mut out = Vec::with_capacity(events as usize + GUILDS as usize + 8);
    while let Some(item) = reader.next_item()? {
        if let CaptureItem::Frame { frame, .. } = item {
            out.push(frame);
        }
    }
    Ok(out)
}

/// The event of a frame (None for control frames, ignored types and failures).
pub fn decode(frame: &RawFrame) -> Option<Event> {
    match decode_frame(&frame.text, frame.shard, frame.at) {
        Ok(Decoded::Event(e)) => Some(e),
        _ => None,
    }
}

/// Every event of `frames`, in order.
pub fn decode_all(frames: &[RawFrame]) -> Vec<Event> {
    frames.iter().filter_map(decode).collect()
}

/// Whether a frame is part of the session start (READY or GUILD_CREATE) rather than the mix.
pub fn is_session_start(frame: &RawFrame) -> bool {
    let head = &frame.text[..frame.text.len().min(64)];
    head.contains("\"t\":\"READY\"") || head.contains("\"t\":\"GUILD_CREATE\"")
}
