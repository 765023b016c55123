//! Canned historical queries behind the API: leaderboards over any past window (`?at=`,
//! `period=6d`, `from`/`to`), computed from the store (committed files plus tail) with the
//! live leaderboard's rules (SPEC §3) and shape (SPEC §5).

use crate::error::SqlError;
use crate::service::GuildSql;
use crate::session;
use crate::tables::voice_sessions::{load_sessions, watermark};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, UInt64Type};
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::expr_fn::{count_distinct, sum};
use datafusion::logical_expr::{in_list, when};
use datafusion::prelude::{col, lit};
use std::collections::HashMap;
use std::sync::Arc;

/// What a windowed leaderboard ranks by (xp needs the whole history's cooldowns and stays
/// with the live views).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowMetric {
    /// Counted messages (distinct ids, no bots or webhooks).
    Messages,
    /// Counted reactions.
    Reactions,
    /// Voice seconds (AFK and bots excluded), sessions clipped to the window.
    Voice,
    /// messages + reactions + 2 × floor(voice_seconds / 60).
    Score,
}

impl WindowMetric {
    /// Parses the API's metric name.
    pub fn parse(name: &str) -> Option<WindowMetric> {
        match name {
            "messages" => Some(WindowMetric::Messages),
            "reactions" => Some(WindowMetric::Reactions),
            "voice" => Some(WindowMetric::Voice),
            "score" => Some(WindowMetric::Score),
            _ => None,
        }
    }
}

/// One ranked member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowEntry {
    /// 1-based rank.
    pub rank: u64,
    /// Member.
    pub user_id: u64,
    /// Metric value (seconds for voice).
    pub value: i64,
}

/// One page of a windowed leaderboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowBoard {
    /// Members with a non-zero value.
    pub total: u64,
    /// The requested page.
    pub entries: Vec<WindowEntry>,
    /// The store's watermark the window was computed at.
    pub watermark: i64,
}

#[derive(Default, Clone, Copy)]
struct Totals {
    messages: i64,
    reactions: i64,
    voice_ms: i64,
}

impl GuildSql {
    /// The leaderboard of `guild` by `metric` over `[from_ms, to_ms)`: order value desc then
    /// user id asc, zero values omitted, `page` 1-based, `per_page` 1..=100.
    pub async fn leaderboard_window(
        &self,
        guild: u64,
        metric: WindowMetric,
        from_ms: i64,
        to_ms: i64,
        page: u64,
        per_page: u64,
    ) -> Result<WindowBoard, SqlError> {
        if from_ms >= to_ms {
            return Err(SqlError::BadRequest(
                "the window is empty (from >= to)".into(),
            ));
        }
        if page == 0 || !(1..=100).contains(&per_page) {
            return Err(SqlError::BadRequest(
                "page must be >= 1 and per_page 1..=100".into(),
            ));
        }
        let inner = Arc::clone(self.inner());
        self.spawn(async move {
            let snapshot = Arc::new(inner.source.snapshot());
            let watermark = watermark(&snapshot);
            let ctx = session::guild_context(guild, Arc::clone(&snapshot), &inner.limits)?;
            let mut totals: HashMap<u64, Totals> = HashMap::new();
            if metric != WindowMetric::Voice {
                count_activity(&ctx, from_ms, to_ms, &mut totals).await?;
            }
            if matches!(metric, WindowMetric::Voice | WindowMetric::Score) {
                let state = ctx.state();
                let sessions =
                    load_sessions(&state, guild, &snapshot, inner.limits.max_voice_events).await?;
                for s in sessions {
                    let ms = s.overlap_ms(watermark, from_ms, to_ms);
                    if ms > 0 {
                        totals.entry(s.user).or_default().voice_ms += ms;
                    }
                }
            }
            Ok(rank(totals, metric, page, per_page, watermark))
        })
        .await
    }
}

/// Messages and reactions per user in the window, bots (flagged on any of their rows) and
/// webhooks excluded, each message id once.
async fn count_activity(
    ctx: &datafusion::prelude::SessionContext,
    from_ms: i64,
    to_ms: i64,
    totals: &mut HashMap<u64, Totals>,
) -> Result<(), SqlError> {
    let ts = |v: i64| {
        lit(ScalarValue::TimestampMillisecond(
            Some(v),
            Some("UTC".into()),
        ))
    };
    let bots = ctx
        .table("events")
        .await?
        .filter(col("bot").and(in_list(
            col("kind"),
            vec![
                lit("member_add"),
                lit("member_update"),
                lit("voice_state"),
                lit("message_create"),
            ],
            false,
        )))?
        .select(vec![col("user_id").alias("bot_id")])?
        .distinct()?;
    let acts = ctx
        .table("events")
        .await?
        .filter(
            col("ts")
                .gt_eq(ts(from_ms))
                .and(col("ts").lt(ts(to_ms)))
                .and(!col("bot"))
                .and(col("user_id").is_not_null())
                .and(in_list(
                    col("kind"),
                    vec![lit("message_create"), lit("reaction_add")],
                    false,
                )),
        )?
        .join(
            bots,
            datafusion::common::JoinType::LeftAnti,
            &["user_id"],
            &["bot_id"],
            None,
        )?
        .aggregate(
            vec![col("user_id")],
            vec![
                count_distinct(
                    when(col("kind").eq(lit("message_create")), col("message_id")).end()?,
                )
                .alias("messages"),
                sum(when(col("kind").eq(lit("reaction_add")), lit(1i64)).otherwise(lit(0i64))?)
                    .alias("reactions"),
            ],
        )?;
    let batches: Vec<RecordBatch> = acts.collect().await?;
    for batch in &batches {
        let users = batch.column(0).as_primitive::<UInt64Type>();
        let messages = batch.column(1).as_primitive::<Int64Type>();
        let reactions = batch.column(2).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            let t = totals.entry(users.value(i)).or_default();
            t.messages += messages.value(i);
            t.reactions += if reactions.is_valid(i) {
                reactions.value(i)
            } else {
                0
            };
        }
    }
    Ok(())
}

fn rank(
    totals: HashMap<u64, Totals>,
    metric: WindowMetric,
    page: u64,
    per_page: u64,
    watermark: i64,
) -> WindowBoard {
    let mut values: Vec<(u64, i64)> = totals
        .into_iter()
        .map(|(user, t)| {
            let voice_s = t.voice_ms / 1000;
            let value = match metric {
                WindowMetric::Messages => t.messages,
                WindowMetric::Reactions => t.reactions,
                WindowMetric::Voice => voice_s,
                WindowMetric::Score => t.messages + t.reactions + 2 * (voice_s / 60),
            };
            (user, value)
        })
        .filter(|(_, v)| *v > 0)
        .collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let skip = (page - 1).saturating_mul(per_page);
    let entries = values
        .iter()
        .enumerate()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(per_page).unwrap_or(100))
        .map(|(i, (user, value))| WindowEntry {
            rank: i as u64 + 1,
            user_id: *user,
            value: *value,
        })
        .collect();
    WindowBoard {
        total: values.len() as u64,
        entries,
        watermark,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_value_then_user_and_pages() {
        let mut t = HashMap::new();
        t.insert(
            5,
            Totals {
                messages: 3,
                reactions: 0,
                voice_ms: 0,
            },
        );
        t.insert(
            2,
            Totals {
                messages: 3,
                reactions: 0,
                voice_ms: 0,
            },
        );
        t.insert(
            9,
            Totals {
                messages: 1,
                reactions: 1,
                voice_ms: 125_000,
            },
        );
        t.insert(7, Totals::default());
        let board = rank(t.clone(), WindowMetric::Score, 1, 2, 0);
        assert_eq!(board.total, 3);
        assert_eq!(
            board.entries,
            vec![
                WindowEntry {
                    rank: 1,
                    user_id: 9,
                    value: 6
                },
                WindowEntry {
                    rank: 2,
                    user_id: 2,
                    value: 3
                },
            ]
        );
        let page2 = rank(t, WindowMetric::Score, 2, 2, 0);
        assert_eq!(
            page2.entries,
            vec![WindowEntry {
                rank: 3,
                user_id: 5,
                value: 3
            }]
        );
    }
}
