//! The library side of the comparison: the published state's reads rendered into the same
//! `Views` shapes as the model (`super::views`). Only public read APIs are used.

use super::{Views, World};
use guildflow_dataflow::keys::SeriesMetric;
use guildflow_dataflow::state::Published;
use guildflow_model::{Bucket, Metric, Period};
use std::fmt::Write as _;

/// Renders every view of every guild of `world` (users: `world.users`).
pub fn render(p: &Published, world: &World) -> Views {
    let mut views = Views::new();
    views.insert("watermark".into(), format!("{:?}", p.watermark));
    if p.watermark.is_none() {
        return views;
    }
    for (name, guild, _) in &world.guilds {
        let guild = *guild;
        for metric in Metric::ALL {
            for period in Period::ALL {
                let page = p.leaderboard(guild, metric, period, 0, 1000);
                let entries: Vec<(u64, i64)> = page
                    .entries
                    .iter()
                    .map(|e| (e.user_id.get(), e.value))
                    .collect();
                let mut value = format!("total={} {entries:?}", page.total);
                if page
                    .entries
                    .iter()
                    .enumerate()
                    .any(|(i, e)| e.rank != i + 1)
                {
                    value.push_str(" (ranks not 1..n)");
                }
                views.insert(
                    format!("{name} board {}/{}", metric.as_str(), period.as_str()),
                    value,
                );
            }
        }
        for &user in &world.users {
            let stats = p.member_stats(guild, user);
            for s in &stats.periods {
                views.insert(
                    format!("{name} member {user} {}", s.period),
                    format!(
                        "messages={} reactions={} voice_seconds={} score={} xp={}",
                        s.messages, s.reactions, s.voice_seconds, s.score, s.xp
                    ),
                );
            }
            let channels: Vec<(String, i64)> = stats
                .top_channels
                .iter()
                .map(|c| (c.channel_id.clone(), c.messages))
                .collect();
            views.insert(
                format!("{name} member {user} totals"),
                format!(
                    "xp={} level={} ranks={:?} top_channels={channels:?}",
                    stats.xp, stats.level, stats.ranks
                ),
            );
            views.insert(
                format!("{name} member {user} daily"),
                format!("{:?}", stats.daily),
            );
        }
        let g = p.guild_stats(guild);
        let top: Vec<(String, i64)> = g
            .top_channels
            .iter()
            .map(|c| (c.channel_id.clone(), c.messages))
            .collect();
        views.insert(
            format!("{name} stats"),
            format!(
                "member_count={:?} messages_today={} voice_seconds_today={} top_channels={top:?} \
                 active_members={:?} growth_this_week={} growth_last_week={}",
                g.member_count,
                g.messages_today,
                g.voice_seconds_today,
                g.active_members,
                g.growth_this_week,
                g.growth_last_week,
            ),
        );
        for (metric, points) in [
            ("messages", &g.messages_daily),
            ("voice_ms", &g.voice_daily),
            ("reactions", &g.reactions_daily),
        ] {
            let daily: Vec<(i64, i64)> = points.iter().map(|p| (p.start, p.value)).collect();
            views.insert(format!("{name} stats daily {metric}"), format!("{daily:?}"));
        }
        for metric in SeriesMetric::ALL {
            for (bucket, bucket_name) in [(Bucket::Hour, "hour"), (Bucket::Day, "day")] {
                let points: Vec<(i64, i64)> = p
                    .series(guild, metric, bucket)
                    .iter()
                    .map(|p| (p.start, p.value))
                    .collect();
                views.insert(
                    format!("{name} series {}/{bucket_name}", metric.as_str()),
                    format!("{points:?}"),
                );
            }
        }
    }
    views
}

/// The views that differ, one block per view (at most 25), or None when all agree.
pub fn diff(expected: &Views, actual: &Views) -> Option<String> {
    let mut out = String::new();
    let mut differing = 0;
    let keys: std::collections::BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for key in keys {
        let (e, a) = (expected.get(key), actual.get(key));
        if e != a {
            differing += 1;
            if differing <= 25 {
                let _ = writeln!(
                    out,
                    "  {key}\n    expected: {}\n    actual:   {}",
                    e.map_or("(missing)", String::as_str),
                    a.map_or("(missing)", String::as_str)
                );
            }
        }
    }
    if differing > 25 {
        let _ = writeln!(out, "  ... and {} more differing views", differing - 25);
    }
    (differing > 0).then_some(out)
}
