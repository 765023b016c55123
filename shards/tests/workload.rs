//! The workload generator: twilight-model accepts every payload, the output is deterministic,
//! the event mix and the state machines are as intended, and capture files are well formed.

use guildflow_shards::decode::DECODED_DISPATCHES;
use guildflow_shards::workload::{
    ready_payload, snowflake_timestamp_ms, write_capture, Dispatch, DispatchGenerator,
    WorkloadConfig, World, BOT_USER_ID,
};
use serde::de::DeserializeSeed;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use twilight_model::gateway::event::{DispatchEvent, GatewayEvent, GatewayEventDeserializer};
use twilight_model::gateway::payload::incoming::GuildCreate;

fn small() -> WorkloadConfig {
    WorkloadConfig {
        seed: 7,
        guilds: 40,
        total_shards: 2,
        max_members_per_guild: 3000,
        ..WorkloadConfig::default()
    }
}

fn shorten(s: &str) -> &str {
    let mut end = s.len().min(3000);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Deserializes a full dispatch frame with twilight-model, as a shard would.
fn twilight(seq: u64, t: &str, d: &str) -> DispatchEvent {
    let frame = format!(r#"{{"op":0,"s":{seq},"t":"{t}","d":{d}}}"#);
    let Some(seed) = GatewayEventDeserializer::from_json(&frame) else {
        panic!("no gateway envelope in {}", shorten(&frame));
    };
    let mut json = serde_json::Deserializer::from_str(&frame);
    match seed.deserialize(&mut json) {
        Ok(GatewayEvent::Dispatch(s, event)) => {
            assert_eq!(s, seq);
            assert_eq!(event.kind().name(), Some(t), "event type of {}", shorten(d));
            event
        }
        Ok(other) => panic!("{t} decoded as {other:?}"),
        Err(e) => {
            // Untagged enums only say "did not match any variant": find the real cause.
            let detail = match t {
                "GUILD_CREATE" => serde_json::from_str::<twilight_model::guild::Guild>(d)
                    .err()
                    .map(|e| e.to_string()),
                _ => None,
            };
            panic!(
                "twilight-model rejects {t}: {e} ({}) in d = {}",
                detail.unwrap_or_default(),
                shorten(d)
            )
        }
    }
}

fn json(d: &str) -> Value {
    match serde_json::from_str(d) {
        Ok(v) => v,
        Err(e) => panic!("invalid JSON ({e}): {}", shorten(d)),
    }
}

fn id(v: &Value) -> u64 {
    match v.as_str().map(str::parse::<u64>) {
        Some(Ok(id)) => id,
        _ => panic!("not a string id: {v}"),
    }
}

fn opt_id(v: &Value) -> Option<u64> {
    (!v.is_null()).then(|| id(v))
}

/// The decoded dispatch types the generator's stream carries: all but those of a connection's
/// life (READY, RESUMED, GUILD_CREATE, GUILD_DELETE come from the gateway session) and bulk
/// deletes, which it does not generate.
fn generated_dispatches() -> impl Iterator<Item = &'static str> {
    const SESSION: [&str; 5] = [
        "READY",
        "RESUMED",
        "GUILD_CREATE",
        "GUILD_DELETE",
        "MESSAGE_DELETE_BULK",
    ];
    DECODED_DISPATCHES
        .into_iter()
        .filter(|t| !SESSION.contains(t))
}

#[test]
fn every_payload_deserializes_with_twilight() {
    let cfg = small();
    let world = Arc::new(World::generate(&cfg));
    assert_eq!(world.guild_ids().len(), 40);

    for shard in 0..cfg.total_shards {
        let ids = world.guild_ids_of_shard(shard);
        let ready = ready_payload("abc123", "wss://gateway.discord.gg", [shard, 2], &ids);
        match twilight(1, "READY", &ready) {
            DispatchEvent::Ready(r) => {
                assert_eq!(r.guilds.len(), ids.len());
                assert_eq!(r.user.id.get(), BOT_USER_ID);
                assert_eq!(r.session_id, "abc123");
                assert_eq!(r.shard.map(|s| [s.number(), s.total()]), Some([shard, 2]));
            }
            other => panic!("READY decoded as {other:?}"),
        }
        for (i, gid) in ids.iter().enumerate() {
            let d = world.guild_create(*gid).unwrap_or_default();
            match twilight(i as u64 + 2, "GUILD_CREATE", &d) {
                DispatchEvent::GuildCreate(g) => match *g {
                    GuildCreate::Available(g) => {
                        assert_eq!(g.id.get(), *gid);
                        assert_eq!((g.id.get() >> 22) % 2, u64::from(shard));
                        assert!(g.roles.iter().any(|r| r.id.get() == *gid), "@everyone");
                        assert!(!g.channels.is_empty() && !g.members.is_empty());
                        assert_eq!(g.member_count, world.member_count(*gid).map(|n| n as u64));
                    }
                    GuildCreate::Unavailable(_) => panic!("guild {gid} unavailable"),
                },
                other => panic!("GUILD_CREATE decoded as {other:?}"),
            }
        }
    }
    assert_eq!(world.guild_create(1), None);

    let mut seen = BTreeMap::new();
    let mut gen = DispatchGenerator::new(Arc::clone(&world), &cfg, None);
    for seq in 0..30_000u64 {
        let Some(Dispatch { t, d, .. }) = gen.next_dispatch() else {
            panic!("stream ended");
        };
        twilight(seq + 2, t, &d);
        *seen.entry(t).or_insert(0u32) += 1;
    }
    for t in generated_dispatches() {
        assert!(seen.contains_key(t), "no {t} in 30k dispatches: {seen:?}");
    }
}

#[test]
fn shard_generators_cover_only_their_guilds() {
    let cfg = small();
    let world = Arc::new(World::generate(&cfg));
    for shard in 0..2 {
        let mine: HashSet<u64> = world.guild_ids_of_shard(shard).into_iter().collect();
        let mut gen = DispatchGenerator::new(Arc::clone(&world), &cfg, Some(shard));
        let mut last = i64::MIN;
        for _ in 0..3000 {
            let Some(e) = gen.next_dispatch() else {
                panic!("shard {shard} stream ended");
            };
            assert!(e.at >= last);
            last = e.at;
            let v = json(&e.d);
            let guild = if e.t == "GUILD_UPDATE" {
                &v["id"]
            } else {
                &v["guild_id"]
            };
            assert!(mine.contains(&id(guild)), "{} of another shard", e.t);
        }
    }
    let mut none = DispatchGenerator::new(world, &cfg, Some(5));
    assert!(none.next_dispatch().is_none());
    let empty = WorkloadConfig {
        guilds: 0,
        ..small()
    };
    let mut gen = DispatchGenerator::new(Arc::new(World::generate(&empty)), &empty, None);
    assert!(gen.next_dispatch().is_none());
}

#[test]
fn world_is_realistic() {
    let cfg = WorkloadConfig::default();
    let world = World::generate(&cfg);
    let ids = world.guild_ids();
    assert_eq!(ids.len(), 1000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1000);
    let sizes: Vec<usize> = ids
        .iter()
        .map(|g| world.member_count(*g).unwrap_or_default())
        .collect();
    let small = sizes.iter().filter(|&&n| (5..=50).contains(&n)).count();
    let huge = sizes.iter().filter(|&&n| n >= 10_000).count();
    assert!(small > 500, "{small} guilds of 5-50 members");
    assert!((1..=20).contains(&huge), "{huge} guilds of 10k+ members");
    assert!(sizes.iter().all(|&n| (2..=50_000).contains(&n)));

    let mut afk = 0;
    let mut bots = 0;
    for gid in ids.iter().take(200) {
        let digits = gid.to_string().len();
        assert!((17..=19).contains(&digits), "guild id {gid}");
        let g = json(&world.guild_create(*gid).unwrap_or_default());
        afk += usize::from(!g["afk_channel_id"].is_null());
        let roles = g["roles"].as_array().cloned().unwrap_or_default();
        let perms = |name: &str| {
            roles
                .iter()
                .find(|r| r["name"] == name)
                .and_then(|r| r["permissions"].as_str()?.parse::<u64>().ok())
        };
        assert!(roles
            .iter()
            .any(|r| id(&r["id"]) == *gid && r["name"] == "@everyone"));
        assert_eq!(perms("Admin").map(|p| p & 8), Some(8));
        assert_eq!(perms("Moderator").map(|p| p & 0x20), Some(0x20));
        let members = g["members"].as_array().cloned().unwrap_or_default();
        assert!(members
            .iter()
            .any(|m| id(&m["user"]["id"]) == id(&g["owner_id"])));
        assert!(members.iter().any(|m| id(&m["user"]["id"]) == BOT_USER_ID));
        bots += members
            .iter()
            .filter(|m| m["user"]["bot"] == true && id(&m["user"]["id"]) != BOT_USER_ID)
            .count();
        for m in &members {
            let digits = id(&m["user"]["id"]).to_string().len();
            assert!((17..=19).contains(&digits));
        }
        let kinds: Vec<u64> = g["channels"]
            .as_array()
            .map(|cs| cs.iter().filter_map(|c| c["type"].as_u64()).collect())
            .unwrap_or_default();
        assert!(
            kinds.contains(&0) && kinds.contains(&2),
            "text and voice channels"
        );
    }
    assert!(afk > 150, "{afk} of 200 guilds have an AFK channel");

    // The largest guilds' GUILD_CREATEs: accepted by twilight, trimmed like Discord's.
    let mut by_size: Vec<(usize, u64)> = sizes.iter().copied().zip(ids.iter().copied()).collect();
    by_size.sort_unstable_by(|a, b| b.cmp(a));
    for &(n, gid) in by_size.iter().take(3) {
        let d = world.guild_create(gid).unwrap_or_default();
        match twilight(2, "GUILD_CREATE", &d) {
            DispatchEvent::GuildCreate(g) => match *g {
                GuildCreate::Available(g) => {
                    assert!(g.large);
                    assert_eq!(g.member_count, Some(n as u64));
                    assert!(g.members.len() <= 250 && g.members.len() > 200);
                }
                GuildCreate::Unavailable(_) => panic!("unavailable"),
            },
            other => panic!("GUILD_CREATE decoded as {other:?}"),
        }
    }
    assert!(bots > 100, "{bots} bots in 200 guilds");
}

#[test]
fn same_seed_same_capture_other_seed_differs() {
    let cfg = WorkloadConfig {
        guilds: 60,
        total_shards: 2,
        ..WorkloadConfig::default()
    };
    let capture = |cfg: &WorkloadConfig| {
        let mut out = Vec::new();
        let lines = write_capture(cfg, 5000, &mut out).unwrap_or_default();
        (lines, out)
    };
    let (lines_a, a) = capture(&cfg);
    let (lines_b, b) = capture(&cfg);
    assert_eq!(lines_a, lines_b);
    assert!(a == b, "same seed, different captures");
    let (_, c) = capture(&WorkloadConfig { seed: 43, ..cfg });
    assert!(a != c, "different seeds, same capture");
}

struct VoiceCheck {
    /// (guild, user) -> channel.
    state: HashMap<(u64, u64), u64>,
    /// guild -> voice channel ids.
    voice_channels: HashMap<u64, HashSet<u64>>,
    afk: HashMap<u64, u64>,
    joins: u32,
    moves: u32,
    to_afk: u32,
    leaves: u32,
    toggles: u32,
}

impl VoiceCheck {
    fn new(world: &World) -> Self {
        let mut check = VoiceCheck {
            state: HashMap::new(),
            voice_channels: HashMap::new(),
            afk: HashMap::new(),
            joins: 0,
            moves: 0,
            to_afk: 0,
            leaves: 0,
            toggles: 0,
        };
        for gid in world.guild_ids() {
            let g = json(&world.guild_create(gid).unwrap_or_default());
            let channels = g["channels"].as_array().cloned().unwrap_or_default();
            check.voice_channels.insert(
                gid,
                channels
                    .iter()
                    .filter(|c| c["type"] == 2)
                    .map(|c| id(&c["id"]))
                    .collect(),
            );
            if let Some(afk) = opt_id(&g["afk_channel_id"]) {
                check.afk.insert(gid, afk);
            }
            for v in g["voice_states"].as_array().cloned().unwrap_or_default() {
                check
                    .state
                    .insert((gid, id(&v["user_id"])), id(&v["channel_id"]));
            }
        }
        check
    }

    fn channel_event(&mut self, t: &str, v: &Value) {
        if v["type"] != 2 {
            return;
        }
        let set = self.voice_channels.entry(id(&v["guild_id"])).or_default();
        match t {
            "CHANNEL_CREATE" => {
                set.insert(id(&v["id"]));
            }
            "CHANNEL_DELETE" => {
                let c = id(&v["id"]);
                set.remove(&c);
                assert!(
                    !self.state.values().any(|&x| x == c),
                    "deleted an occupied channel"
                );
            }
            _ => {}
        }
    }

    fn voice_event(&mut self, v: &Value) {
        let guild = id(&v["guild_id"]);
        let user = id(&v["user_id"]);
        assert_eq!(id(&v["member"]["user"]["id"]), user);
        let before = self.state.get(&(guild, user)).copied();
        match (before, opt_id(&v["channel_id"])) {
            (None, None) => panic!("user {user} left voice without being in it"),
            (Some(_), None) => {
                self.leaves += 1;
                self.state.remove(&(guild, user));
            }
            (before, Some(c)) => {
                let known = self
                    .voice_channels
                    .get(&guild)
                    .is_some_and(|s| s.contains(&c));
                assert!(known, "voice channel {c} is not a voice channel of {guild}");
                match before {
                    None => self.joins += 1,
                    Some(b) if b == c => self.toggles += 1,
                    Some(_) if self.afk.get(&guild) == Some(&c) => self.to_afk += 1,
                    Some(_) => self.moves += 1,
                }
                self.state.insert((guild, user), c);
            }
        }
    }
}

#[test]
fn event_mix_and_invariants_over_100k_dispatches() {
    let cfg = WorkloadConfig::default();
    let world = Arc::new(World::generate(&cfg));
    let world_users: HashSet<u64> = world
        .guild_ids()
        .iter()
        .flat_map(|g| {
            let g = json(&world.guild_create(*g).unwrap_or_default());
            g["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| id(&m["user"]["id"]))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut voice = VoiceCheck::new(&world);
    let mut gen = DispatchGenerator::new(Arc::clone(&world), &cfg, None);

    const N: u32 = 100_000;
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    let mut last_at = cfg.start_ms;
    let mut last_message = 0u64;
    let mut message_ids = HashSet::new();
    let (mut bots, mut webhooks, mut spam, mut caps, mut links, mut invites) = (0, 0, 0, 0, 0, 0);
    let (mut role_mentions, mut user_mentions, mut attachments, mut embeds) = (0, 0, 0, 0);
    let (mut custom, mut unicode) = (0, 0);
    let mut removed: HashSet<(u64, u64)> = HashSet::new();
    let mut joined_fresh = 0;
    // (guild, channel, author) -> (content, count, last at)
    let mut repeats: HashMap<(u64, u64, u64), (String, u32, i64)> = HashMap::new();
    let mut bursts = 0;

    for _ in 0..N {
        let Some(e) = gen.next_dispatch() else {
            panic!("stream ended");
        };
        assert!(e.at >= last_at, "at went back");
        last_at = e.at;
        *counts.entry(e.t).or_insert(0) += 1;
        match e.t {
            "MESSAGE_CREATE" => {
                let v = json(&e.d);
                let mid = id(&v["id"]);
                assert!(mid > last_message, "message ids increase");
                last_message = mid;
                assert!(message_ids.insert(mid));
                assert_eq!(snowflake_timestamp_ms(mid), e.at, "message id time is `at`");
                let author = id(&v["author"]["id"]);
                let guild = id(&v["guild_id"]);
                assert!(
                    !removed.contains(&(guild, author)),
                    "a removed member wrote"
                );
                let content = v["content"].as_str().unwrap_or_default().to_owned();
                if !v["webhook_id"].is_null() {
                    webhooks += 1;
                    assert_eq!(id(&v["webhook_id"]), author);
                    assert!(v.get("member").is_none());
                } else {
                    assert!(v["member"]["roles"].is_array());
                    if v["author"]["bot"] == true {
                        bots += 1;
                    }
                }
                let mentions = v["mentions"].as_array().map_or(0, Vec::len);
                user_mentions += usize::from(mentions > 0);
                spam += usize::from(content.matches("<@").count() >= 10);
                role_mentions +=
                    usize::from(!v["mention_roles"].as_array().is_none_or(Vec::is_empty));
                caps += usize::from(
                    content.len() > 8
                        && content == content.to_uppercase()
                        && content.chars().any(|c| c.is_ascii_uppercase()),
                );
                links += usize::from(content.contains("http") && !content.contains("discord"));
                invites += usize::from(
                    content.contains("discord.gg/") || content.contains("discord.com/invite/"),
                );
                attachments += usize::from(!v["attachments"].as_array().is_none_or(Vec::is_empty));
                embeds += usize::from(!v["embeds"].as_array().is_none_or(Vec::is_empty));
                let key = (guild, id(&v["channel_id"]), author);
                let entry = repeats.entry(key).or_insert((String::new(), 0, 0));
                if entry.0 == content && !content.is_empty() && e.at - entry.2 < 5_000 {
                    entry.1 += 1;
                    if entry.1 == 3 {
                        bursts += 1;
                    }
                } else {
                    *entry = (content, 1, e.at);
                }
                entry.2 = e.at;
            }
            "MESSAGE_UPDATE" => {
                let v = json(&e.d);
                assert!(!v["edited_timestamp"].is_null());
                assert!(snowflake_timestamp_ms(id(&v["id"])) <= e.at);
            }
            "MESSAGE_REACTION_ADD" => {
                let v = json(&e.d);
                assert_eq!(id(&v["member"]["user"]["id"]), id(&v["user_id"]));
                if v["emoji"]["id"].is_null() {
                    unicode += 1;
                } else {
                    custom += 1;
                }
            }
            "VOICE_STATE_UPDATE" => voice.voice_event(&json(&e.d)),
            "CHANNEL_CREATE" | "CHANNEL_DELETE" => voice.channel_event(e.t, &json(&e.d)),
            "GUILD_MEMBER_ADD" => {
                let v = json(&e.d);
                let user = id(&v["user"]["id"]);
                joined_fresh += usize::from(!world_users.contains(&user));
                removed.remove(&(id(&v["guild_id"]), user));
                assert!((17..=19).contains(&user.to_string().len()));
            }
            "GUILD_MEMBER_REMOVE" => {
                let v = json(&e.d);
                removed.insert((id(&v["guild_id"]), id(&v["user"]["id"])));
            }
            _ => {}
        }
    }

    let share = |t: &str| f64::from(counts.get(t).copied().unwrap_or(0)) / f64::from(N);
    let report = format!("{counts:?}");
    let band = |t: &str, lo: f64, hi: f64| {
        let s = share(t);
        assert!(
            (lo..=hi).contains(&s),
            "{t} share {s:.4} outside [{lo}, {hi}]: {report}"
        );
    };
    let common = [
        ("MESSAGE_CREATE", 0.55, 0.66),
        ("MESSAGE_REACTION_ADD", 0.17, 0.23),
        ("VOICE_STATE_UPDATE", 0.065, 0.095),
        ("MESSAGE_UPDATE", 0.015, 0.045),
        ("MESSAGE_DELETE", 0.015, 0.045),
        ("MESSAGE_REACTION_REMOVE", 0.015, 0.045),
        ("GUILD_MEMBER_ADD", 0.005, 0.015),
        ("GUILD_MEMBER_REMOVE", 0.004, 0.012),
        ("GUILD_MEMBER_UPDATE", 0.002, 0.01),
    ];
    for (t, lo, hi) in common {
        band(t, lo, hi);
    }
    // Every other generated type (channel, role and guild updates) is rare but present.
    for t in generated_dispatches().filter(|t| common.iter().all(|(c, _, _)| c != t)) {
        band(t, 0.00001, 0.005);
    }

    let messages = counts.get("MESSAGE_CREATE").copied().unwrap_or(0) as usize;
    let summary = format!(
        "bots {bots} webhooks {webhooks} spam {spam} caps {caps} links {links} invites {invites} \
         user mentions {user_mentions} role mentions {role_mentions} attachments {attachments} \
         embeds {embeds} bursts {bursts} custom {custom} unicode {unicode} of {messages}"
    );
    println!("{report}\n{summary}");
    assert!(bots > messages / 50 && bots < messages / 5, "{summary}");
    assert!(webhooks > messages / 500, "{summary}");
    assert!(spam > messages / 1000, "{summary}");
    assert!(caps > messages / 100, "{summary}");
    assert!(links > messages / 100, "{summary}");
    assert!(invites > messages / 500, "{summary}");
    assert!(user_mentions > messages / 50, "{summary}");
    assert!(role_mentions > messages / 200, "{summary}");
    assert!(
        attachments > messages / 100 && embeds > messages / 100,
        "{summary}"
    );
    assert!(bursts > 50, "{summary}");
    assert!(custom > 1000 && unicode > 1000, "{summary}");
    assert!(joined_fresh > 0 && joined_fresh == counts["GUILD_MEMBER_ADD"] as usize);

    let v = &voice;
    let voice_summary = format!(
        "joins {} moves {} afk {} leaves {} toggles {} open {}",
        v.joins,
        v.moves,
        v.to_afk,
        v.leaves,
        v.toggles,
        v.state.len()
    );
    println!("{voice_summary}");
    assert!(
        v.joins > 500 && v.moves > 200 && v.to_afk > 100 && v.leaves > 500,
        "{voice_summary}"
    );
    assert!(v.toggles > 100 && !v.state.is_empty(), "{voice_summary}");
}

#[test]
fn capture_lines_are_well_formed() {
    let cfg = WorkloadConfig {
        seed: 9,
        guilds: 50,
        total_shards: 3,
        ..WorkloadConfig::default()
    };
    let mut out = Vec::new();
    let lines = match write_capture(&cfg, 5000, &mut out) {
        Ok(n) => n,
        Err(e) => panic!("write_capture: {e}"),
    };
    let text = String::from_utf8(out).unwrap_or_default();
    assert_eq!(text.lines().count() as u64, lines);
    assert_eq!(lines, 3 + 50 + 5000);

    let world = World::generate(&cfg);
    let mut seq = [0u64; 3];
    let mut last_at = i64::MIN;
    let mut guild_creates = 0;
    let mut dispatches = [0u32; 3];
    for (n, line) in text.lines().enumerate() {
        let v = json(line);
        let shard = v["shard"].as_u64().unwrap_or(99) as usize;
        assert!(shard < 3, "line {n}: shard");
        let at = v["at"].as_i64().unwrap_or(i64::MIN);
        assert!(at >= last_at, "line {n}: at went back");
        last_at = at;
        let frame = &v["frame"];
        assert_eq!(frame["op"], 0);
        let s = frame["s"].as_u64().unwrap_or(0);
        assert_eq!(s, seq[shard] + 1, "line {n}: s of shard {shard}");
        seq[shard] = s;
        let t = frame["t"].as_str().unwrap_or_default();
        let d = &frame["d"];
        assert!(d.is_object(), "line {n}: d");
        match t {
            "READY" => {
                assert_eq!(s, 1);
                let ids: Vec<u64> = d["guilds"]
                    .as_array()
                    .map(|gs| gs.iter().map(|g| id(&g["id"])).collect())
                    .unwrap_or_default();
                assert_eq!(ids, world.guild_ids_of_shard(shard as u32));
                assert_eq!(d["shard"], serde_json::json!([shard, 3]));
            }
            "GUILD_CREATE" => {
                guild_creates += 1;
                assert_eq!((id(&d["id"]) >> 22) % 3, shard as u64);
            }
            _ => {
                assert!(s > 1);
                dispatches[shard] += 1;
                let guild = if t == "GUILD_UPDATE" {
                    &d["id"]
                } else {
                    &d["guild_id"]
                };
                assert_eq!(
                    (id(guild) >> 22) % 3,
                    shard as u64,
                    "line {n}: {t} on the wrong shard"
                );
                twilight(s, t, &frame["d"].to_string());
            }
        }
    }
    assert_eq!(guild_creates, 50);
    assert!(dispatches.iter().all(|&n| n > 0), "{dispatches:?}");
}

#[test]
fn activity_is_heavy_tailed() {
    let cfg = WorkloadConfig {
        guilds: 30,
        ..WorkloadConfig::default()
    };
    let world = Arc::new(World::generate(&cfg));
    let gen = DispatchGenerator::new(Arc::clone(&world), &cfg, None);
    let mut per_author: HashMap<u64, u32> = HashMap::new();
    let mut total = 0;
    for e in gen.take(50_000).filter(|e| e.t == "MESSAGE_CREATE") {
        let v = json(&e.d);
        *per_author.entry(id(&v["author"]["id"])).or_default() += 1;
        total += 1;
    }
    let mut counts: Vec<u32> = per_author.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top = counts.len().div_ceil(20);
    let top_share = f64::from(counts[..top].iter().sum::<u32>()) / f64::from(total);
    assert!(
        top_share > 0.4,
        "top 5% of authors wrote {top_share:.2} of messages"
    );
}

/// Generation rate; run with
/// `cargo test --release -p guildflow-shards --test workload -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let cfg = WorkloadConfig::default();
    let t0 = std::time::Instant::now();
    let world = Arc::new(World::generate(&cfg));
    let built = t0.elapsed();
    let mut gen = DispatchGenerator::new(Arc::clone(&world), &cfg, None);
    let n = 2_000_000u64;
    let t1 = std::time::Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        bytes += gen.next_dispatch().map_or(0, |d| d.d.len());
    }
    let secs = t1.elapsed().as_secs_f64();
    println!(
        "world {built:?}; {n} dispatches in {secs:.2}s = {:.0}/s, {:.0} MB/s, {:.0} B avg",
        n as f64 / secs,
        bytes as f64 / secs / 1e6,
        bytes as f64 / n as f64
    );
    let mut sink = std::io::sink();
    let t2 = std::time::Instant::now();
    let lines = write_capture(&cfg, 1_000_000, &mut sink).unwrap_or_default();
    println!(
        "write_capture: {lines} lines in {:.2}s",
        t2.elapsed().as_secs_f64()
    );
}
