//! A plain, from-scratch reference model of SPEC §2-4, in the style of differential-dataflow's
//! `tests/reduce_reference.rs`: it takes the whole list of pushed batches and recomputes every
//! view with loops over vectors. It shares nothing with the library's engine, deltas or state
//! code: periods come from `chrono`/`chrono-tz` calendars (not `guildflow_model::Period::range`
//! nor `guildflow_dataflow::timezone`), levels from an integer square root.
//!
//! Semantics (SPEC plus the library's documented choices):
//! - frames are de-duplicated by (shard, session, seq) in *arrival* order, the session of a
//!   frame being the one of the latest READY of its shard that arrived before it (the READY
//!   itself included); the watermark W is the largest `at` of an admitted frame, of any type;
//! - admitted guild events are then applied in (at, message id) order (0 for non-messages);
//! - a message counts when it has a guild, `author_bot` is false, it has no webhook and its id
//!   was not counted before (the tests only repeat ids within the hour);
//! - "known bots" of a guild: users seen flagged as bots in that guild by a message author
//!   flag, a voice state, a member add/update or GUILD_CREATE's members/voice states; a
//!   reaction counts when it has a guild, its `user_bot` is false and its user is not a known
//!   bot of the guild;
//! - XP: for each counted message in order, 15 + id % 11 when the author has no award in the
//!   guild yet or the last one is at least 60 s older;
//! - voice: per (guild, user) at most one open session; a voice state with another channel
//!   closes the open one and opens one there, the same channel changes nothing, null closes.
//!   A session counts when, *at opening*, the user is not a known bot and the channel is not
//!   the guild's AFK channel (from the latest GUILD_CREATE/GUILD_UPDATE). GUILD_CREATE closes
//!   the sessions of users its `voice_states` does not list, then applies the listed states;
//!   GUILD_MEMBER_REMOVE closes the member's session; sessions still open count up to W;
//! - member count: None before the first GUILD_CREATE with `member_count`; then that count,
//!   ±1 per GUILD_MEMBER_ADD/REMOVE (bots included), reset by every later GUILD_CREATE; joins and
//!   leaves series count every GUILD_MEMBER_ADD/REMOVE;
//! - periods/buckets: local calendar day, ISO week (Monday), month, hour in the guild's zone,
//!   keyed as the local wall-clock start in milliseconds since the local epoch (the library's
//!   representation); the current period is the one containing W. Voice time is split at UTC
//!   hour boundaries: every zone used here has whole-hour offsets, so each piece lies inside one
//!   local hour, day, week and month;
//! - per period: voice seconds = floor(ms / 1000); score = messages + reactions +
//!   2 * floor(voice seconds / 60); leaderboards list members with a value > 0, value desc then
//!   user id asc;
//! - active member on a local day: a counted message or reaction, or counted voice time (any
//!   millisecond) that day; `active_members[k]` counts members active on one of the last 1, 7,
//!   30 local days up to today.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone as _};
use guildflow_model::{Event, EventBody, Metric, Period};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub mod render;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// XP cooldown (SPEC §3).
const XP_COOLDOWN: i64 = 60 * SECOND;

/// A guild's timezone, for the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// UTC.
    Utc,
    /// An IANA zone with whole-hour offsets.
    Named(chrono_tz::Tz),
}

impl Zone {
    fn local(self, at: i64) -> NaiveDateTime {
        let utc = DateTime::from_timestamp_millis(at)
            .expect("instant in range")
            .naive_utc();
        match self {
            Zone::Utc => utc,
            Zone::Named(tz) => tz.from_utc_datetime(&utc).naive_local(),
        }
    }

    fn date(self, at: i64) -> NaiveDate {
        self.local(at).date()
    }

    /// Local start (ms since the local epoch) of the period of kind `period` containing `at`.
    pub fn period_key(self, period: Period, at: i64) -> i64 {
        let date = self.date(at);
        let start = match period {
            Period::Day => date,
            Period::Week => {
                date - TimeDelta::days(i64::from(date.weekday().num_days_from_monday()))
            }
            Period::Month => date.with_day(1).expect("day 1 exists"),
            Period::All => return 0,
        };
        wall_ms(start.and_time(NaiveTime::MIN))
    }

    /// Local start of the hour containing `at`.
    pub fn hour_key(self, at: i64) -> i64 {
        let local = self.local(at);
        let start = local.date().and_time(NaiveTime::MIN);
        let hours = (local - start).num_hours();
        wall_ms(start) + hours * HOUR
    }
}

fn wall_ms(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp_millis()
}

/// Largest l with 100·l² ≤ xp.
pub fn level(xp: i64) -> u32 {
    let mut l = 0i64;
    while 100 * (l + 1) * (l + 1) <= xp {
        l += 1;
    }
    u32::try_from(l).expect("small level")
}

/// Every view the tests compare, as `name -> Debug rendering` of plain data; the library side
/// renders its reads into the same shapes (see `reference.rs`).
pub type Views = BTreeMap<String, String>;

/// The universe a test case lives in: guilds (with a short name for messages), users, bots.
pub struct World {
    /// (name, guild id, zone).
    pub guilds: Vec<(String, u64, Zone)>,
    /// Every user id that may appear (members and bots).
    pub users: Vec<u64>,
}

/// The facts of one guild, once every event is applied.
#[derive(Default)]
struct Facts {
    /// (user, channel, at) of counted messages.
    messages: Vec<(u64, u64, i64)>,
    /// (user, at) of counted reactions.
    reactions: Vec<(u64, i64)>,
    /// (user, at, amount) of XP awards.
    xp: Vec<(u64, i64, i64)>,
    /// (user, from, to) of counted voice time.
    voice: Vec<(u64, i64, i64)>,
    joins: Vec<i64>,
    leaves: Vec<i64>,
    member_count: Option<i64>,
}

#[derive(Clone, Copy)]
struct Session {
    channel: u64,
    since: i64,
    counted: bool,
}

#[derive(Default)]
struct GuildModel {
    afk: Option<u64>,
    bots: HashSet<u64>,
    counted_ids: HashSet<u64>,
    last_award: HashMap<u64, i64>,
    sessions: HashMap<u64, Session>,
    facts: Facts,
}

impl GuildModel {
    fn close(&mut self, user: u64, at: i64) {
        if let Some(s) = self.sessions.remove(&user) {
            if s.counted && at > s.since {
                self.facts.voice.push((user, s.since, at));
            }
        }
    }

    fn voice_state(&mut self, user: u64, bot: bool, channel: Option<u64>, at: i64) {
        if bot {
            self.bots.insert(user);
        }
        let current = self.sessions.get(&user).map(|s| s.channel);
        if current == channel {
            return;
        }
        self.close(user, at);
        if let Some(channel) = channel {
            let counted = !self.bots.contains(&user) && Some(channel) != self.afk;
            self.sessions.insert(
                user,
                Session {
                    channel,
                    since: at,
                    counted,
                },
            );
        }
    }

    fn apply(&mut self, body: &EventBody, at: i64) {
        match body {
            EventBody::MessageCreate(m) => {
                let user = m.author.get();
                if m.author_bot {
                    self.bots.insert(user);
                    return;
                }
                if m.webhook || !self.counted_ids.insert(m.message.get()) {
                    return;
                }
                self.facts.messages.push((user, m.channel.get(), at));
                let due = self
                    .last_award
                    .get(&user)
                    .is_none_or(|last| at - last >= XP_COOLDOWN);
                if due {
                    let amount = 15 + i64::try_from(m.message.get() % 11).expect("small");
                    self.facts.xp.push((user, at, amount));
                    self.last_award.insert(user, at);
                }
            }
            EventBody::ReactionAdd(r) => {
                let user = r.user.get();
                if !r.user_bot && !self.bots.contains(&user) {
                    self.facts.reactions.push((user, at));
                }
            }
            EventBody::VoiceState(v) => {
                self.voice_state(v.user.get(), v.bot, v.channel.map(|c| c.get()), at)
            }
            EventBody::MemberAdd(m) => {
                if m.bot {
                    self.bots.insert(m.user.get());
                }
                self.facts.joins.push(at);
                if let Some(count) = self.facts.member_count.as_mut() {
                    *count += 1;
                }
            }
            EventBody::MemberUpdate(m) if m.bot => {
                self.bots.insert(m.user.get());
            }
            EventBody::MemberRemove { user, .. } => {
                self.facts.leaves.push(at);
                if let Some(count) = self.facts.member_count.as_mut() {
                    *count -= 1;
                }
                self.close(user.get(), at);
            }
            EventBody::GuildCreate(g) => {
                self.afk = g.afk_channel.map(|c| c.get());
                for m in &g.members {
                    if m.bot {
                        self.bots.insert(m.user.get());
                    }
                }
                if let Some(count) = g.member_count {
                    self.facts.member_count = Some(i64::try_from(count).expect("small"));
                }
                let listed: HashSet<u64> = g.voice_states.iter().map(|v| v.user.get()).collect();
                let open: Vec<u64> = self.sessions.keys().copied().collect();
                for user in open {
                    if !listed.contains(&user) {
                        self.close(user, at);
                    }
                }
                for v in &g.voice_states {
                    self.voice_state(v.user.get(), v.bot, v.channel.map(|c| c.get()), at);
                }
            }
            EventBody::GuildUpdate(g) => self.afk = g.afk_channel.map(|c| c.get()),
            _ => {}
        }
    }
}

/// What the frame de-duplication admits, in arrival order.
pub fn admitted(batches: &[Vec<Event>]) -> Vec<Event> {
    let mut session: HashMap<u32, Option<String>> = HashMap::new();
    let mut seen: HashSet<(u32, Option<String>, u64)> = HashSet::new();
    let mut out = Vec::new();
    for event in batches.iter().flatten() {
        if let EventBody::Ready { session_id, .. } = &event.body {
            session.insert(event.shard, Some(session_id.to_string()));
        }
        let current = session.get(&event.shard).cloned().flatten();
        if seen.insert((event.shard, current, event.seq)) {
            out.push(event.clone());
        }
    }
    out
}

/// Splits `[from, to)` at UTC hour boundaries.
fn hour_pieces(from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut pieces = Vec::new();
    let mut cur = from;
    while cur < to {
        let next = ((cur.div_euclid(HOUR) + 1) * HOUR).min(to);
        pieces.push((cur, next));
        cur = next;
    }
    pieces
}

fn metric_name(metric: Metric) -> &'static str {
    metric.as_str()
}

/// Per-user totals of one period: [messages, reactions, voice ms, xp].
type Totals = [i64; 4];

fn score(t: &Totals) -> i64 {
    t[0] + t[1] + 2 * (t[2] / SECOND / 60)
}

fn metric_value(t: &Totals, metric: Metric) -> i64 {
    match metric {
        Metric::Messages => t[0],
        Metric::Reactions => t[1],
        Metric::Voice => t[2] / SECOND,
        Metric::Score => score(t),
        Metric::Xp => t[3],
    }
}

/// The expected views.
pub fn views(world: &World, batches: &[Vec<Event>]) -> Views {
    let mut admitted = admitted(batches);
    let mut views = Views::new();
    let watermark = admitted.iter().map(|e| e.at).max();
    views.insert("watermark".into(), format!("{watermark:?}"));
    let Some(w) = watermark else { return views };
    // Stable: exact copies of one frame admitted twice keep arrival order (they are equal).
    admitted.sort_by_key(|e| {
        let id = match &e.body {
            EventBody::MessageCreate(m) => m.message.get(),
            _ => 0,
        };
        (e.at, id)
    });
    let mut models: HashMap<u64, GuildModel> = HashMap::new();
    for event in &admitted {
        if let Some(guild) = event.body.guild() {
            models
                .entry(guild.get())
                .or_default()
                .apply(&event.body, event.at);
        }
    }
    for (name, guild, zone) in &world.guilds {
        let mut model = models.remove(guild).unwrap_or_default();
        let open: Vec<u64> = model.sessions.keys().copied().collect();
        for user in open {
            model.close(user, w);
        }
        guild_views(world, name, *zone, w, &model.facts, &mut views);
    }
    views
}

#[allow(clippy::too_many_lines)]
fn guild_views(world: &World, name: &str, zone: Zone, w: i64, facts: &Facts, views: &mut Views) {
    let today = zone.period_key(Period::Day, w);
    // Per (user, period) totals of the current period, and all-time per-user per-channel.
    let mut totals: BTreeMap<(u64, Period), Totals> = BTreeMap::new();
    // Per-user per-local-day [messages, reactions, voice ms].
    let mut user_days: BTreeMap<(u64, i64), [i64; 3]> = BTreeMap::new();
    let mut user_channels: BTreeMap<u64, BTreeMap<u64, i64>> = BTreeMap::new();
    let mut month_channels: BTreeMap<u64, i64> = BTreeMap::new();
    // Series: (metric name, bucket name) -> key -> value; active: (bucket, key) -> users.
    let mut series: BTreeMap<(&str, &str), BTreeMap<i64, i64>> = BTreeMap::new();
    let mut active: BTreeMap<(&str, i64), BTreeSet<u64>> = BTreeMap::new();
    let mut present: BTreeSet<u64> = BTreeSet::new();

    let mut add = |user: u64, at: i64, counter: usize, amount: i64| {
        for period in Period::ALL {
            if zone.period_key(period, at) == zone.period_key(period, w) {
                totals.entry((user, period)).or_insert([0; 4])[counter] += amount;
            }
        }
    };
    let mut point = |metric: &'static str, at: i64, amount: i64| {
        for (bucket, key) in [
            ("hour", zone.hour_key(at)),
            ("day", zone.period_key(Period::Day, at)),
        ] {
            *series
                .entry((metric, bucket))
                .or_default()
                .entry(key)
                .or_insert(0) += amount;
        }
    };
    let mut mark = |user: u64, at: i64| {
        active
            .entry(("hour", zone.hour_key(at)))
            .or_default()
            .insert(user);
        active
            .entry(("day", zone.period_key(Period::Day, at)))
            .or_default()
            .insert(user);
    };

    for &(user, channel, at) in &facts.messages {
        add(user, at, 0, 1);
        point("messages", at, 1);
        mark(user, at);
        present.insert(user);
        user_days
            .entry((user, zone.period_key(Period::Day, at)))
            .or_insert([0; 3])[0] += 1;
        *user_channels
            .entry(user)
            .or_default()
            .entry(channel)
            .or_insert(0) += 1;
        if zone.period_key(Period::Month, at) == zone.period_key(Period::Month, w) {
            *month_channels.entry(channel).or_insert(0) += 1;
        }
    }
    for &(user, at) in &facts.reactions {
        add(user, at, 1, 1);
        point("reactions", at, 1);
        mark(user, at);
        present.insert(user);
        user_days
            .entry((user, zone.period_key(Period::Day, at)))
            .or_insert([0; 3])[1] += 1;
    }
    for &(user, from, to) in &facts.voice {
        for (a, b) in hour_pieces(from, to) {
            add(user, a, 2, b - a);
            point("voice_ms", a, b - a);
            mark(user, a);
            present.insert(user);
            user_days
                .entry((user, zone.period_key(Period::Day, a)))
                .or_insert([0; 3])[2] += b - a;
        }
    }
    for &(user, at, amount) in &facts.xp {
        add(user, at, 3, amount);
        present.insert(user);
    }
    for &at in &facts.joins {
        point("joins", at, 1);
    }
    for &at in &facts.leaves {
        point("leaves", at, 1);
    }
    for ((bucket, key), users) in &active {
        series
            .entry(("active_members", bucket))
            .or_default()
            .insert(*key, i64::try_from(users.len()).expect("small"));
    }

    // Leaderboards.
    let mut all_ranks: BTreeMap<(Metric, u64), usize> = BTreeMap::new();
    for metric in Metric::ALL {
        for period in Period::ALL {
            let mut entries: Vec<(u64, i64)> = totals
                .iter()
                .filter(|((_, p), _)| *p == period)
                .map(|((user, _), t)| (*user, metric_value(t, metric)))
                .filter(|(_, v)| *v > 0)
                .collect();
            entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            if period == Period::All {
                for (i, (user, _)) in entries.iter().enumerate() {
                    all_ranks.insert((metric, *user), i + 1);
                }
            }
            views.insert(
                format!("{name} board {}/{}", metric_name(metric), period.as_str()),
                format!("total={} {entries:?}", entries.len()),
            );
        }
    }

    // Members.
    for &user in &world.users {
        for period in Period::ALL {
            let t = totals.get(&(user, period)).copied().unwrap_or([0; 4]);
            views.insert(
                format!("{name} member {user} {}", period.as_str()),
                format!(
                    "messages={} reactions={} voice_seconds={} score={} xp={}",
                    t[0],
                    t[1],
                    t[2] / SECOND,
                    score(&t),
                    t[3]
                ),
            );
        }
        let xp = totals.get(&(user, Period::All)).map_or(0, |t| t[3]);
        let ranks: Vec<(Metric, Option<usize>)> = Metric::ALL
            .iter()
            .map(|&m| (m, all_ranks.get(&(m, user)).copied()))
            .collect();
        let mut channels: Vec<(String, i64)> = user_channels
            .get(&user)
            .map(|c| c.iter().map(|(id, n)| (id.to_string(), *n)).collect())
            .unwrap_or_default();
        channels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        channels.truncate(10);
        views.insert(
            format!("{name} member {user} totals"),
            format!(
                "xp={xp} level={} ranks={ranks:?} top_channels={channels:?}",
                level(xp)
            ),
        );
        let daily: Vec<(i64, [i64; 3])> = if present.contains(&user) {
            (0..30)
                .rev()
                .map(|back| {
                    let day = today - back * DAY;
                    let [m, r, v] = user_days.get(&(user, day)).copied().unwrap_or([0; 3]);
                    (day, [m, r, v / SECOND])
                })
                .collect()
        } else {
            Vec::new()
        };
        views.insert(format!("{name} member {user} daily"), format!("{daily:?}"));
    }

    // Guild stats.
    let day_value = |metric: &str, day: i64| -> i64 {
        series
            .get(&(metric, "day"))
            .and_then(|s| s.get(&day))
            .copied()
            .unwrap_or(0)
    };
    let mut top: Vec<(String, i64)> = month_channels
        .iter()
        .map(|(id, n)| (id.to_string(), *n))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    let mut active_members = [0usize; 3];
    for (slot, days) in active_members.iter_mut().zip([1i64, 7, 30]) {
        let users: BTreeSet<u64> = active
            .iter()
            .filter(|((bucket, key), _)| {
                *bucket == "day" && *key > today - days * DAY && *key <= today
            })
            .flat_map(|(_, users)| users.iter().copied())
            .collect();
        *slot = users.len();
    }
    let week = zone.period_key(Period::Week, w);
    let growth = |from: i64| -> i64 {
        (0..7)
            .map(|d| day_value("joins", from + d * DAY) - day_value("leaves", from + d * DAY))
            .sum()
    };
    views.insert(
        format!("{name} stats"),
        format!(
            "member_count={:?} messages_today={} voice_seconds_today={} top_channels={top:?} \
             active_members={active_members:?} growth_this_week={} growth_last_week={}",
            facts.member_count,
            day_value("messages", today),
            day_value("voice_ms", today) / SECOND,
            growth(week),
            growth(week - 7 * DAY),
        ),
    );
    for (metric, divide) in [("messages", 1), ("voice_ms", SECOND), ("reactions", 1)] {
        let daily: Vec<(i64, i64)> = (0..30)
            .rev()
            .map(|back| {
                let day = today - back * DAY;
                (day, day_value(metric, day) / divide)
            })
            .collect();
        views.insert(format!("{name} stats daily {metric}"), format!("{daily:?}"));
    }
    for metric in [
        "messages",
        "reactions",
        "voice_ms",
        "joins",
        "leaves",
        "active_members",
    ] {
        for bucket in ["hour", "day"] {
            let points: Vec<(i64, i64)> = series
                .get(&(metric, bucket))
                .map(|s| {
                    s.iter()
                        .filter(|(_, v)| **v != 0)
                        .map(|(k, v)| (*k, *v))
                        .collect()
                })
                .unwrap_or_default();
            views.insert(
                format!("{name} series {metric}/{bucket}"),
                format!("{points:?}"),
            );
        }
    }
}
