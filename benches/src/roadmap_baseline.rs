//! Baseline (a) of issue 6: the original roadmap's design. Every event is INSERTed into a
//! PostgreSQL `events` table and the member's `member_stats` row upserted, one statement pair
//! per event with autocommit (what a bot writing through an ORM does), over 1 or N
//! connections, for a bounded time. Same events as guildflow's run, same machine, same run.

use guildflow_model::{Event, EventBody};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};

const SCHEMA: &str = "
DROP TABLE IF EXISTS roadmap_events, roadmap_member_stats;
CREATE TABLE roadmap_events (
    id bigserial PRIMARY KEY,
    guild_id bigint NOT NULL,
    user_id bigint,
    channel_id bigint,
    kind text NOT NULL,
    ts timestamptz NOT NULL
);
CREATE INDEX ON roadmap_events (guild_id, ts);
CREATE TABLE roadmap_member_stats (
    guild_id bigint NOT NULL,
    user_id bigint NOT NULL,
    messages bigint NOT NULL DEFAULT 0,
    reactions bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, user_id)
);";

const INSERT: &str = "INSERT INTO roadmap_events (guild_id, user_id, channel_id, kind, ts) \
    VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000))";
const UPSERT: &str = "INSERT INTO roadmap_member_stats (guild_id, user_id, messages, reactions) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id, user_id) DO UPDATE SET \
    messages = roadmap_member_stats.messages + EXCLUDED.messages, \
    reactions = roadmap_member_stats.reactions + EXCLUDED.reactions";

/// What one event writes: (guild, user, channel, kind, ts, messages, reactions).
type Write = (i64, Option<i64>, Option<i64>, &'static str, f64, i64, i64);

fn as_write(event: &Event) -> Option<Write> {
    let guild = i64::try_from(event.body.guild()?.get()).ok()?;
    let ts = event.at as f64;
    let kind = event.body.kind().as_str();
    let id = |v: u64| i64::try_from(v).ok();
    Some(match &event.body {
        EventBody::MessageCreate(m) => {
            let counted = !(m.author_bot || m.webhook);
            (
                guild,
                id(m.author.get()),
                id(m.channel.get()),
                kind,
                ts,
                i64::from(counted),
                0,
            )
        }
        EventBody::ReactionAdd(r) => (
            guild,
            id(r.user.get()),
            id(r.channel.get()),
            kind,
            ts,
            0,
            i64::from(!r.user_bot),
        ),
        EventBody::VoiceState(v) => (
            guild,
            id(v.user.get()),
            v.channel.and_then(|c| id(c.get())),
            kind,
            ts,
            0,
            0,
        ),
        _ => (guild, None, None, kind, ts, 0, 0),
    })
}

async fn connect(conn: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(conn, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Events per second the roadmap design sustains with `connections` writers, stopping after
/// `seconds` or when the events run out.
pub fn run(conn: &str, events: &[Event], connections: usize, seconds: u64) -> anyhow::Result<f64> {
    let writes: Vec<Write> = events.iter().filter_map(as_write).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        connect(conn).await?.batch_execute(SCHEMA).await?;
        let writes = Arc::new(writes);
        let next = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..connections.max(1) {
            let client = connect(conn).await?;
            let (writes, next, stop) = (writes.clone(), next.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let insert = client.prepare(INSERT).await?;
                let upsert = client.prepare(UPSERT).await?;
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some((g, u, c, kind, ts, m, r)) = writes.get(i) else {
                        break;
                    };
                    client.execute(&insert, &[g, u, c, kind, ts]).await?;
                    if let Some(u) = u {
                        client.execute(&upsert, &[g, u, m, r]).await?;
                    }
                }
                anyhow::Ok(())
            }));
        }
        let deadline = tokio::time::sleep(Duration::from_secs(seconds));
        tokio::pin!(deadline);
        let all = futures_util::future::join_all(tasks);
        tokio::pin!(all);
        tokio::select! {
            () = &mut deadline => {
                stop.store(true, Ordering::Relaxed);
                for result in all.await { result??; }
            }
            results = &mut all => {
                for result in results { result??; }
            }
        }
        let done = next.load(Ordering::Relaxed).min(writes.len() as u64);
        anyhow::Ok(done as f64 / started.elapsed().as_secs_f64())
    })
}
