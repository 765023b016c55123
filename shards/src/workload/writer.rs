//! Capture files of a workload (SPEC §1 line format): per shard a READY (seq 1) and its
//! GUILD_CREATEs, then the dispatch streams of all shards merged in event-time order.

use super::config::WorkloadConfig;
use super::generator::{Dispatch, DispatchGenerator};
use super::json::{push_hex, push_i64, push_u64};
use super::names::mix;
use super::payload::ready_payload;
use super::world::{shard_of, World};
use std::io::Write;
use std::sync::Arc;

/// The `resume_gateway_url` written in READY.
const RESUME_URL: &str = "wss://gateway-us-east1-b.discord.gg";

fn push_line(line: &mut String, shard: u32, at: i64, seq: u64, t: &str, d: &str) {
    line.clear();
    line.push_str("{\"shard\":");
    push_u64(line, u64::from(shard));
    line.push_str(",\"at\":");
    push_i64(line, at);
    line.push_str(",\"frame\":{\"op\":0,\"s\":");
    push_u64(line, seq);
    line.push_str(",\"t\":\"");
    line.push_str(t);
    line.push_str("\",\"d\":");
    line.push_str(d);
    line.push_str("}}\n");
}

/// Writes a capture of the workload of `cfg` to `out`: for each shard, a READY line (`s` 1)
/// and one GUILD_CREATE line per guild of the shard, all at `start_ms`; then `events`
/// dispatch lines, the shards' streams merged by `at` (ties to the lower shard). Each shard's
/// stream runs at `event_rate` times its share of the guilds' activity, so the merged stream
/// runs at `event_rate`. `s` increases by one per line of a shard. Returns the lines written.
///
/// # Errors
///
/// Any error of `out`.
pub fn write_capture(
    cfg: &WorkloadConfig,
    events: u64,
    out: &mut impl Write,
) -> std::io::Result<u64> {
    let world = Arc::new(World::generate(cfg));
    let shards = cfg.shards();
    let mut line = String::with_capacity(64 * 1024);
    let mut lines = 0u64;
    let mut seq = vec![0u64; shards as usize];
    let mut activity = vec![0f64; shards as usize];
    for g in &world.guilds {
        activity[shard_of(g.id, shards) as usize] += g.activity;
    }

    for shard in 0..shards {
        let ids = world.guild_ids_of_shard(shard);
        let mut session = String::with_capacity(32);
        let h = mix(cfg.seed ^ mix(u64::from(shard) + 0x5345_5353));
        push_hex(&mut session, h, 16);
        push_hex(&mut session, mix(h), 16);
        let ready = ready_payload(&session, RESUME_URL, [shard, shards], &ids);
        let s = &mut seq[shard as usize];
        *s += 1;
        push_line(&mut line, shard, cfg.start_ms, *s, "READY", &ready);
        out.write_all(line.as_bytes())?;
        lines += 1;
        for id in ids {
            if let Some(d) = world.guild_create(id) {
                *s += 1;
                push_line(&mut line, shard, cfg.start_ms, *s, "GUILD_CREATE", &d);
                out.write_all(line.as_bytes())?;
                lines += 1;
            }
        }
    }

    let total: f64 = activity.iter().sum();
    let mut streams: Vec<(u32, DispatchGenerator, Option<Dispatch>)> = (0..shards)
        .filter(|&s| activity[s as usize] > 0.0)
        .map(|s| {
            let shard_cfg = WorkloadConfig {
                event_rate: cfg.rate() * activity[s as usize] / total,
                ..cfg.clone()
            };
            let mut gen = DispatchGenerator::new(Arc::clone(&world), &shard_cfg, Some(s));
            let next = gen.next_dispatch();
            (s, gen, next)
        })
        .collect();

    for _ in 0..events {
        let Some(k) = streams
            .iter()
            .enumerate()
            .filter_map(|(k, (_, _, next))| next.as_ref().map(|d| (d.at, k)))
            .min()
            .map(|(_, k)| k)
        else {
            break;
        };
        let (shard, gen, next) = &mut streams[k];
        if let Some(d) = next.take() {
            let s = &mut seq[*shard as usize];
            *s += 1;
            push_line(&mut line, *shard, d.at, *s, d.t, &d.d);
            out.write_all(line.as_bytes())?;
            lines += 1;
        }
        *next = gen.next_dispatch();
    }
    Ok(lines)
}
