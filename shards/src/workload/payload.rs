//! Builders of the `d` JSON of each dispatch, in Discord API v10 shapes with every field
//! twilight-model 0.18 requires. Objects are written straight into pre-sized `String`s.

use super::json::{
    push_bool, push_hex, push_i64, push_id, push_image_hash, push_opt_id, push_str, push_u64,
};
use super::names::{self, mix, pick};
use super::snowflake::push_timestamp;
use super::world::{
    kind, perm, Channel, Emoji, Guild, Member, Role, VoiceSession, Webhook, BOT_USER_ID, FEATURES,
    LARGE_THRESHOLD,
};

fn push_opt_timestamp(out: &mut String, ms: i64) {
    if ms == 0 {
        out.push_str("null");
    } else {
        push_timestamp(out, ms);
    }
}

// ---------------------------------------------------------------- users and members

/// Appends the fields of a user object (without braces).
fn push_user_fields(out: &mut String, user: u64, bot: bool) {
    let h = mix(user ^ 0x4156_4154);
    out.push_str("\"id\":");
    push_id(out, user);
    out.push_str(",\"username\":\"");
    if bot {
        out.push_str(names::bot_name(user));
    } else {
        names::push_username(out, user);
    }
    out.push_str("\",\"global_name\":");
    if bot {
        out.push_str("null");
    } else {
        names::push_global_name(out, user);
    }
    out.push_str(",\"discriminator\":\"");
    if bot {
        push_u64(out, 1000 + h % 9000);
    } else {
        out.push('0');
    }
    out.push_str("\",\"avatar\":");
    if h % 100 < 85 {
        push_image_hash(out, mix(h), mix(h ^ 1), h % 100 < 6);
    } else {
        out.push_str("null");
    }
    let flags = if bot {
        if h.is_multiple_of(4) {
            0
        } else {
            1 << 16 // VERIFIED_BOT
        }
    } else {
        match (h >> 12) % 16 {
            0 => 1 << 6, // HYPESQUAD_ONLINE_HOUSE_1
            1 => 1 << 7,
            2 => 1 << 8,
            3 => 1 << 22, // ACTIVE_DEVELOPER
            _ => 0,
        }
    };
    out.push_str(
        ",\"avatar_decoration_data\":null,\"banner\":null,\"accent_color\":null,\"public_flags\":",
    );
    push_u64(out, flags);
    out.push_str(",\"flags\":");
    push_u64(out, flags);
    if bot {
        out.push_str(",\"bot\":true");
    }
}

/// Appends a user object.
pub(crate) fn push_user(out: &mut String, user: u64, bot: bool) {
    out.push('{');
    push_user_fields(out, user, bot);
    out.push('}');
}

fn push_role_ids(out: &mut String, g: &Guild, mask: u64) {
    out.push('[');
    let mut first = true;
    for id in g.role_ids(mask) {
        if !first {
            out.push(',');
        }
        first = false;
        push_id(out, id);
    }
    out.push(']');
}

fn push_nick(out: &mut String, nick: u32) {
    if nick == 0 {
        out.push_str("null");
        return;
    }
    let h = mix(u64::from(nick));
    out.push('"');
    let f = pick(names::FIRST_NAMES, h);
    let mut chars = f.chars();
    if let Some(c) = chars.next() {
        out.push(c.to_ascii_uppercase());
        out.push_str(chars.as_str());
    }
    match (h >> 16) % 4 {
        0 => {
            out.push_str(" | ");
            out.push_str(pick(names::GUILD_TOPICS, h >> 24));
        }
        1 => {
            out.push_str(" [");
            out.push_str(pick(names::NOUNS, h >> 24));
            out.push(']');
        }
        _ => {}
    }
    out.push('"');
}

/// Appends the fields of a member object other than `user` (without braces).
fn push_member_fields(out: &mut String, g: &Guild, m: &Member) {
    out.push_str("\"roles\":");
    push_role_ids(out, g, m.roles);
    out.push_str(",\"joined_at\":");
    push_timestamp(out, m.joined_at);
    out.push_str(",\"premium_since\":");
    push_opt_timestamp(out, m.premium_since);
    out.push_str(",\"deaf\":false,\"mute\":false,\"flags\":0,\"pending\":false,\"nick\":");
    push_nick(out, m.nick);
    out.push_str(",\"avatar\":null,\"banner\":null,\"communication_disabled_until\":null");
}

/// Appends a full member object (with `user`).
pub(crate) fn push_member(out: &mut String, g: &Guild, m: &Member) {
    out.push_str("{\"user\":");
    push_user(out, m.user, m.bot);
    out.push(',');
    push_member_fields(out, g, m);
    out.push('}');
}

/// Appends a partial member object (no `user`), as in a message.
fn push_partial_member(out: &mut String, g: &Guild, m: &Member) {
    out.push('{');
    push_member_fields(out, g, m);
    out.push('}');
}

/// Appends a webhook's message author.
fn push_webhook_author(out: &mut String, w: &Webhook) {
    let h = mix(w.id);
    out.push_str("{\"id\":");
    push_id(out, w.id);
    out.push_str(",\"username\":");
    push_str(out, w.name);
    out.push_str(",\"global_name\":null,\"discriminator\":\"0000\",\"avatar\":");
    if h.is_multiple_of(2) {
        push_image_hash(out, mix(h), mix(h ^ 1), false);
    } else {
        out.push_str("null");
    }
    out.push_str(",\"public_flags\":0,\"flags\":0,\"bot\":true}");
}

// ---------------------------------------------------------------- guild parts

/// Appends a role object.
pub(crate) fn push_role(out: &mut String, r: &Role) {
    out.push_str("{\"id\":");
    push_id(out, r.id);
    out.push_str(",\"name\":");
    push_str(out, r.name);
    out.push_str(",\"description\":null,\"color\":");
    push_u64(out, u64::from(r.color));
    out.push_str(",\"colors\":{\"primary_color\":");
    push_u64(out, u64::from(r.color));
    out.push_str(",\"secondary_color\":null,\"tertiary_color\":null},\"hoist\":");
    push_bool(out, r.hoist);
    out.push_str(",\"icon\":null,\"unicode_emoji\":null,\"position\":");
    push_i64(out, r.position);
    out.push_str(",\"permissions\":\"");
    push_u64(out, r.permissions);
    out.push_str("\",\"managed\":");
    push_bool(out, r.bot.is_some());
    out.push_str(",\"mentionable\":");
    push_bool(out, r.mentionable);
    out.push_str(",\"flags\":0");
    if let Some(bot) = r.bot {
        out.push_str(",\"tags\":{\"bot_id\":");
        push_id(out, bot);
        out.push('}');
    }
    out.push('}');
}

fn push_topic(out: &mut String, topic: u32) {
    if topic == 0 {
        out.push_str("null");
        return;
    }
    let h = mix(u64::from(topic));
    out.push('"');
    match h % 4 {
        0 => {
            out.push_str("Talk about ");
            out.push_str(pick(names::GUILD_TOPICS, h >> 8));
            out.push_str(" here");
        }
        1 => out.push_str("Be nice. No spam, no self-promo."),
        2 => {
            out.push_str("Post your ");
            out.push_str(pick(names::NOUNS, h >> 8));
            out.push_str(" pics");
        }
        _ => {
            out.push_str("Read the pins before asking about ");
            out.push_str(pick(names::GUILD_TOPICS, h >> 8));
        }
    }
    out.push('"');
}

/// Appends a channel object; `guild_id` is included for channel events (GUILD_CREATE's
/// channels omit it, as Discord does).
pub(crate) fn push_channel(out: &mut String, g: &Guild, c: &Channel, with_guild: bool) {
    out.push_str("{\"id\":");
    push_id(out, c.id);
    out.push_str(",\"type\":");
    push_u64(out, u64::from(c.kind));
    if with_guild {
        out.push_str(",\"guild_id\":");
        push_id(out, g.id);
    }
    out.push_str(",\"name\":\"");
    out.push_str(c.name);
    if c.suffix != 0 {
        out.push('-');
        push_u64(out, u64::from(c.suffix));
    }
    out.push_str("\",\"position\":");
    push_i64(out, i64::from(c.position));
    out.push_str(",\"parent_id\":");
    push_opt_id(out, c.parent);
    out.push_str(",\"permission_overwrites\":[");
    if let Some(role) = c.private_to {
        out.push_str("{\"id\":");
        push_id(out, g.id);
        out.push_str(",\"type\":0,\"allow\":\"0\",\"deny\":\"");
        push_u64(out, perm::VIEW_CHANNEL);
        out.push_str("\"},{\"id\":");
        push_id(out, role);
        out.push_str(",\"type\":0,\"allow\":\"");
        push_u64(out, perm::VIEW_CHANNEL);
        out.push_str("\",\"deny\":\"0\"}");
    }
    out.push(']');
    match c.kind {
        kind::CATEGORY => {}
        kind::VOICE => {
            out.push_str(",\"bitrate\":");
            push_u64(out, u64::from(c.bitrate));
            out.push_str(",\"user_limit\":");
            push_u64(out, u64::from(c.user_limit));
            out.push_str(",\"rtc_region\":null,\"nsfw\":false,\"rate_limit_per_user\":0,\"last_message_id\":null");
        }
        _ => {
            out.push_str(",\"topic\":");
            push_topic(out, c.topic);
            out.push_str(",\"nsfw\":");
            push_bool(out, c.nsfw);
            out.push_str(",\"rate_limit_per_user\":");
            push_u64(out, u64::from(c.slowmode));
            out.push_str(",\"last_message_id\":null");
        }
    }
    out.push_str(",\"flags\":0}");
}

fn push_emoji(out: &mut String, e: &Emoji) {
    out.push_str("{\"id\":");
    push_id(out, e.id);
    out.push_str(",\"name\":\"");
    out.push_str(e.name);
    out.push_str("\",\"roles\":[],\"require_colons\":true,\"managed\":false,\"animated\":");
    push_bool(out, e.animated);
    out.push_str(",\"available\":true}");
}

/// Appends a voice state. `channel` None means the user left; `member` is included in
/// VOICE_STATE_UPDATE, omitted in GUILD_CREATE's `voice_states` (as Discord does).
pub(crate) fn push_voice_state(
    out: &mut String,
    g: &Guild,
    v: &VoiceSession,
    channel: Option<u64>,
    member: Option<&Member>,
) {
    out.push('{');
    if let Some(m) = member {
        out.push_str("\"member\":");
        push_member(out, g, m);
        out.push_str(",\"guild_id\":");
        push_id(out, g.id);
        out.push(',');
    }
    out.push_str("\"user_id\":");
    push_id(out, v.user);
    out.push_str(",\"channel_id\":");
    push_opt_id(out, channel);
    out.push_str(",\"session_id\":\"");
    push_hex(out, v.session, 16);
    push_hex(out, mix(v.session), 16);
    out.push_str("\",\"deaf\":false,\"mute\":false,\"self_deaf\":");
    push_bool(out, v.self_deaf);
    out.push_str(",\"self_mute\":");
    push_bool(out, v.self_mute);
    out.push_str(",\"self_video\":");
    push_bool(out, v.self_video);
    out.push_str(",\"suppress\":false,\"request_to_speak_timestamp\":null}");
}

// ---------------------------------------------------------------- guilds

fn push_guild_fields(out: &mut String, g: &Guild) {
    out.push_str("\"id\":");
    push_id(out, g.id);
    out.push_str(",\"name\":\"");
    names::push_guild_name(out, g.name_seed);
    out.push_str("\",\"icon\":");
    match g.icon {
        Some(h) => push_image_hash(
            out,
            h,
            mix(h),
            h.is_multiple_of(5) && g.features & (1 << 6) != 0,
        ),
        None => out.push_str("null"),
    }
    out.push_str(",\"splash\":null,\"discovery_splash\":null,\"banner\":");
    match g.banner {
        Some(h) => push_image_hash(out, h, mix(h), false),
        None => out.push_str("null"),
    }
    out.push_str(",\"description\":");
    if g.description == 0 {
        out.push_str("null");
    } else {
        let h = mix(u64::from(g.description));
        out.push_str("\"The friendliest ");
        out.push_str(pick(names::GUILD_TOPICS, h));
        out.push_str(" community. Events, giveaways and good vibes.\"");
    }
    out.push_str(",\"owner_id\":");
    push_id(out, g.owner);
    out.push_str(",\"afk_channel_id\":");
    push_opt_id(out, g.afk_channel);
    out.push_str(",\"afk_timeout\":");
    push_u64(out, u64::from(g.afk_timeout));
    out.push_str(",\"widget_enabled\":false,\"widget_channel_id\":null,\"verification_level\":");
    push_u64(out, u64::from(g.verification_level));
    out.push_str(",\"default_message_notifications\":");
    push_u64(out, u64::from(g.default_notifications));
    out.push_str(",\"explicit_content_filter\":");
    push_u64(out, u64::from(g.explicit_content_filter));
    out.push_str(",\"roles\":[");
    let mut first = true;
    for r in g.roles.iter().filter(|r| !r.deleted) {
        if !first {
            out.push(',');
        }
        first = false;
        push_role(out, r);
    }
    out.push_str("],\"emojis\":[");
    for (i, e) in g.emojis.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_emoji(out, e);
    }
    out.push_str("],\"features\":[");
    let mut first = true;
    for (i, f) in FEATURES.iter().enumerate() {
        if g.features & (1 << i) != 0 {
            if !first {
                out.push(',');
            }
            first = false;
            push_str(out, f);
        }
    }
    out.push_str("],\"mfa_level\":");
    push_u64(out, u64::from(g.mfa_level));
    out.push_str(",\"application_id\":null,\"system_channel_id\":");
    push_opt_id(out, g.system_channel);
    out.push_str(",\"system_channel_flags\":0,\"rules_channel_id\":");
    push_opt_id(out, g.rules_channel);
    out.push_str(",\"max_presences\":null,\"max_members\":");
    push_u64(
        out,
        if g.premium_tier >= 2 {
            500_000
        } else {
            250_000
        },
    );
    out.push_str(",\"vanity_url_code\":");
    match g.vanity {
        Some(v) => {
            out.push('"');
            names::push_code(out, v, 6 + (v % 5) as usize);
            out.push('"');
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"premium_tier\":");
    push_u64(out, u64::from(g.premium_tier));
    out.push_str(",\"premium_subscription_count\":");
    push_u64(out, u64::from(g.premium_subscription_count));
    out.push_str(",\"preferred_locale\":\"");
    out.push_str(g.locale);
    out.push_str("\",\"public_updates_channel_id\":");
    push_opt_id(out, g.public_updates_channel);
    out.push_str(
        ",\"max_video_channel_users\":25,\"max_stage_video_channel_users\":50,\"nsfw_level\":0,\
         \"nsfw\":false,\"premium_progress_bar_enabled\":false,\"safety_alerts_channel_id\":null,\
         \"stickers\":[],\"incidents_data\":null",
    );
}

/// The `d` of GUILD_CREATE: the whole guild. Large guilds (more than 250 members) list only
/// the owner, the bots, the members in voice and then the most active members, as Discord
/// does with `large_threshold`; `member_count` is always the full count.
pub(crate) fn guild_create(g: &Guild, now_ms: i64) -> String {
    let listed = g.members.len().min(LARGE_THRESHOLD);
    let mut out = String::with_capacity(4096 + 450 * listed + 300 * g.channels.len());
    out.push('{');
    push_guild_fields(&mut out, g);
    out.push_str(",\"joined_at\":");
    push_timestamp(&mut out, g.joined_at.min(now_ms));
    out.push_str(",\"large\":");
    push_bool(&mut out, g.large());
    out.push_str(",\"unavailable\":false,\"member_count\":");
    push_u64(&mut out, g.members.len() as u64);
    out.push_str(",\"lazy\":true,\"region\":\"deprecated\",\"voice_states\":[");
    for (i, v) in g.voice.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_voice_state(&mut out, g, v, Some(v.channel), None);
    }
    out.push_str("],\"members\":[");
    let mut n = 0;
    let mut write = |out: &mut String, m: &Member| {
        if n > 0 {
            out.push(',');
        }
        n += 1;
        push_member(out, g, m);
    };
    if g.large() {
        let in_voice = |m: &Member| g.voice.iter().any(|v| v.user == m.user);
        let must = |m: &Member| m.user == g.owner || m.bot || in_voice(m);
        let mut room = LARGE_THRESHOLD.saturating_sub(g.members.iter().filter(|m| must(m)).count());
        for m in &g.members {
            if must(m) {
                write(&mut out, m);
            } else if room > 0 {
                room -= 1;
                write(&mut out, m);
            }
        }
    } else {
        for m in &g.members {
            write(&mut out, m);
        }
    }
    out.push_str("],\"channels\":[");
    for (i, c) in g.channels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_channel(&mut out, g, c, false);
    }
    out.push_str(
        "],\"threads\":[],\"presences\":[],\"stage_instances\":[],\"guild_scheduled_events\":[],\
         \"soundboard_sounds\":[],\"embedded_activities\":[],\"application_command_counts\":{}}",
    );
    out
}

/// The `d` of GUILD_UPDATE: the guild without its members, channels and voice states.
pub(crate) fn guild_update(g: &Guild) -> String {
    let mut out = String::with_capacity(2048 + 300 * g.roles.len());
    out.push('{');
    push_guild_fields(&mut out, g);
    out.push('}');
    out
}

// ---------------------------------------------------------------- messages

/// Who wrote a message.
pub(crate) enum Author<'a> {
    /// A guild member (human or bot).
    Member(&'a Member),
    /// A webhook (no member object).
    Webhook(&'a Webhook),
}

/// A rich embed as bots and webhooks post them.
pub(crate) struct EmbedSpec {
    pub seed: u64,
}

/// Everything a MESSAGE_CREATE or MESSAGE_UPDATE `d` needs.
pub(crate) struct MessageSpec<'a> {
    pub id: u64,
    pub guild: &'a Guild,
    pub channel: u64,
    pub author: Author<'a>,
    pub content: &'a str,
    /// Creation time (the id's timestamp).
    pub created: i64,
    /// Edit time (MESSAGE_UPDATE), or 0.
    pub edited: i64,
    /// Mentioned members.
    pub mentions: &'a [&'a Member],
    pub mention_roles: &'a [u64],
    pub mention_everyone: bool,
    /// Id of an image attachment.
    pub attachment: Option<u64>,
    pub embed: Option<EmbedSpec>,
    pub nonce: Option<u64>,
}

fn push_attachment(out: &mut String, channel: u64, id: u64) {
    let h = mix(id);
    let (name, ctype) = match h % 4 {
        0 => ("image.png", "image/png"),
        1 => ("IMG_2024.jpg", "image/jpeg"),
        2 => ("screenshot.png", "image/png"),
        _ => ("clip.gif", "image/gif"),
    };
    let (w, hgt) = [(1920, 1080), (1080, 1350), (800, 600), (498, 280)][(h >> 8) as usize % 4];
    out.push_str("{\"id\":");
    push_id(out, id);
    out.push_str(",\"filename\":\"");
    out.push_str(name);
    out.push_str("\",\"size\":");
    push_u64(out, 20_000 + (h >> 16) % 4_000_000);
    for (k, host) in [
        ("url", "https://cdn.discordapp.com"),
        ("proxy_url", "https://media.discordapp.net"),
    ] {
        out.push_str(",\"");
        out.push_str(k);
        out.push_str("\":\"");
        out.push_str(host);
        out.push_str("/attachments/");
        push_u64(out, channel);
        out.push('/');
        push_u64(out, id);
        out.push('/');
        out.push_str(name);
        out.push_str("?ex=");
        push_hex(out, h, 8);
        out.push('"');
    }
    out.push_str(",\"width\":");
    push_u64(out, w);
    out.push_str(",\"height\":");
    push_u64(out, hgt);
    out.push_str(",\"content_type\":\"");
    out.push_str(ctype);
    out.push_str("\"}");
}

fn push_embed(out: &mut String, e: &EmbedSpec) {
    let h = mix(e.seed);
    out.push_str("{\"type\":\"rich\",\"title\":\"");
    match h % 4 {
        0 => out.push_str("Level up!"),
        1 => out.push_str("New video uploaded"),
        2 => out.push_str("Moderation action"),
        _ => out.push_str("Server stats"),
    }
    out.push_str("\",\"description\":\"");
    out.push_str(pick(names::ADJECTIVES, h >> 8));
    out.push(' ');
    out.push_str(pick(names::NOUNS, h >> 16));
    out.push_str(" spotted in ");
    out.push_str(pick(names::GUILD_TOPICS, h >> 24));
    out.push_str("\",\"color\":");
    push_u64(out, (h >> 32) & 0xFF_FFFF);
    out.push_str(",\"fields\":[{\"name\":\"Count\",\"value\":\"");
    push_u64(out, (h >> 40) % 1000);
    out.push_str("\",\"inline\":true}],\"footer\":{\"text\":\"powered by ");
    out.push_str(pick(names::BOT_NAMES, h >> 48));
    out.push_str("\"}}");
}

/// The `d` of MESSAGE_CREATE (or of MESSAGE_UPDATE when `edited` is set).
pub(crate) fn message(m: &MessageSpec<'_>) -> String {
    let g = m.guild;
    let mut out = String::with_capacity(1100 + m.content.len() + 600 * m.mentions.len());
    out.push_str("{\"type\":0,\"tts\":false,\"timestamp\":");
    push_timestamp(&mut out, m.created);
    out.push_str(",\"pinned\":false");
    if let Some(nonce) = m.nonce {
        out.push_str(",\"nonce\":\"");
        push_u64(&mut out, nonce);
        out.push('"');
    }
    out.push_str(",\"mentions\":[");
    let mut listed = 0;
    for (i, mm) in m.mentions.iter().enumerate() {
        if m.mentions[..i].iter().any(|o| o.user == mm.user) {
            continue;
        }
        if listed > 0 {
            out.push(',');
        }
        listed += 1;
        out.push('{');
        push_user_fields(&mut out, mm.user, mm.bot);
        out.push_str(",\"member\":");
        push_partial_member(&mut out, g, mm);
        out.push('}');
    }
    out.push_str("],\"mention_roles\":[");
    for (i, r) in m.mention_roles.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_id(&mut out, *r);
    }
    out.push_str("],\"mention_everyone\":");
    push_bool(&mut out, m.mention_everyone);
    if let Author::Member(a) = m.author {
        out.push_str(",\"member\":");
        push_partial_member(&mut out, g, a);
    }
    out.push_str(",\"id\":");
    push_id(&mut out, m.id);
    out.push_str(",\"flags\":0,\"embeds\":[");
    if let Some(e) = &m.embed {
        push_embed(&mut out, e);
    }
    out.push_str("],\"edited_timestamp\":");
    push_opt_timestamp(&mut out, m.edited);
    out.push_str(",\"content\":");
    push_str(&mut out, m.content);
    out.push_str(",\"components\":[],\"channel_id\":");
    push_id(&mut out, m.channel);
    out.push_str(",\"author\":");
    match m.author {
        Author::Member(a) => push_user(&mut out, a.user, a.bot),
        Author::Webhook(w) => push_webhook_author(&mut out, w),
    }
    out.push_str(",\"attachments\":[");
    if let Some(a) = m.attachment {
        push_attachment(&mut out, m.channel, a);
    }
    out.push(']');
    if let Author::Webhook(w) = m.author {
        out.push_str(",\"webhook_id\":");
        push_id(&mut out, w.id);
    }
    out.push_str(",\"guild_id\":");
    push_id(&mut out, g.id);
    out.push('}');
    out
}

/// The `d` of MESSAGE_DELETE.
pub(crate) fn message_delete(guild: u64, channel: u64, id: u64) -> String {
    let mut out = String::with_capacity(96);
    out.push_str("{\"id\":");
    push_id(&mut out, id);
    out.push_str(",\"channel_id\":");
    push_id(&mut out, channel);
    out.push_str(",\"guild_id\":");
    push_id(&mut out, guild);
    out.push('}');
    out
}

/// A reaction's emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReactionEmoji {
    /// Index in [`names::UNICODE_EMOJI`].
    Unicode(usize),
    /// A guild's custom emoji.
    Custom {
        id: u64,
        name: &'static str,
        animated: bool,
    },
}

impl ReactionEmoji {
    /// A key distinguishing emojis of one message.
    pub(crate) fn key(self) -> u64 {
        match self {
            ReactionEmoji::Unicode(i) => i as u64,
            ReactionEmoji::Custom { id, .. } => id,
        }
    }
}

/// Everything a MESSAGE_REACTION_ADD / _REMOVE `d` needs.
pub(crate) struct ReactionSpec<'a> {
    pub guild: &'a Guild,
    pub channel: u64,
    pub message: u64,
    pub message_author: u64,
    pub user: u64,
    /// Present on REACTION_ADD.
    pub member: Option<&'a Member>,
    pub emoji: ReactionEmoji,
}

/// The `d` of MESSAGE_REACTION_ADD (with `member`) or MESSAGE_REACTION_REMOVE.
pub(crate) fn reaction(r: &ReactionSpec<'_>) -> String {
    let mut out = String::with_capacity(if r.member.is_some() { 1000 } else { 256 });
    out.push_str("{\"user_id\":");
    push_id(&mut out, r.user);
    out.push_str(",\"type\":0,\"message_id\":");
    push_id(&mut out, r.message);
    if let Some(m) = r.member {
        out.push_str(",\"message_author_id\":");
        push_id(&mut out, r.message_author);
        out.push_str(",\"member\":");
        push_member(&mut out, r.guild, m);
    }
    out.push_str(",\"emoji\":");
    match r.emoji {
        ReactionEmoji::Unicode(i) => {
            out.push_str("{\"id\":null,\"name\":");
            push_str(&mut out, pick(names::UNICODE_EMOJI, i as u64));
            out.push('}');
        }
        ReactionEmoji::Custom { id, name, animated } => {
            out.push_str("{\"id\":");
            push_id(&mut out, id);
            out.push_str(",\"name\":\"");
            out.push_str(name);
            out.push('"');
            if animated {
                out.push_str(",\"animated\":true");
            }
            out.push('}');
        }
    }
    out.push_str(",\"channel_id\":");
    push_id(&mut out, r.channel);
    out.push_str(",\"burst\":false");
    if r.member.is_some() {
        out.push_str(",\"burst_colors\":[]");
    }
    out.push_str(",\"guild_id\":");
    push_id(&mut out, r.guild.id);
    out.push('}');
    out
}

// ---------------------------------------------------------------- members, roles, channels

/// The `d` of GUILD_MEMBER_ADD and GUILD_MEMBER_UPDATE: a full member with `guild_id`.
pub(crate) fn member_event(g: &Guild, m: &Member) -> String {
    let mut out = String::with_capacity(700);
    out.push_str("{\"guild_id\":");
    push_id(&mut out, g.id);
    out.push_str(",\"user\":");
    push_user(&mut out, m.user, m.bot);
    out.push(',');
    push_member_fields(&mut out, g, m);
    out.push('}');
    out
}

/// The `d` of GUILD_MEMBER_REMOVE.
pub(crate) fn member_remove(g: &Guild, m: &Member) -> String {
    let mut out = String::with_capacity(400);
    out.push_str("{\"guild_id\":");
    push_id(&mut out, g.id);
    out.push_str(",\"user\":");
    push_user(&mut out, m.user, m.bot);
    out.push('}');
    out
}

/// The `d` of GUILD_ROLE_CREATE / GUILD_ROLE_UPDATE.
pub(crate) fn role_event(g: &Guild, r: &Role) -> String {
    let mut out = String::with_capacity(400);
    out.push_str("{\"guild_id\":");
    push_id(&mut out, g.id);
    out.push_str(",\"role\":");
    push_role(&mut out, r);
    out.push('}');
    out
}

/// The `d` of GUILD_ROLE_DELETE.
pub(crate) fn role_delete(g: &Guild, role: u64) -> String {
    let mut out = String::with_capacity(80);
    out.push_str("{\"guild_id\":");
    push_id(&mut out, g.id);
    out.push_str(",\"role_id\":");
    push_id(&mut out, role);
    out.push('}');
    out
}

/// The `d` of CHANNEL_CREATE / _UPDATE / _DELETE.
pub(crate) fn channel_event(g: &Guild, c: &Channel) -> String {
    let mut out = String::with_capacity(400);
    push_channel(&mut out, g, c, true);
    out
}

// ---------------------------------------------------------------- READY

/// The full `d` of READY for a shard `[number, total]` whose guilds are `guild_ids` (all
/// listed as unavailable until their GUILD_CREATE, as Discord does). The user is our bot
/// ([`BOT_USER_ID`](super::BOT_USER_ID)).
pub fn ready_payload(
    session_id: &str,
    resume_gateway_url: &str,
    shard: [u32; 2],
    guild_ids: &[u64],
) -> String {
    let mut out = String::with_capacity(1024 + 48 * guild_ids.len());
    out.push_str("{\"v\":10,\"user_settings\":{},\"user\":{");
    push_user_fields(&mut out, BOT_USER_ID, true);
    out.push_str(",\"verified\":true,\"mfa_enabled\":false,\"email\":null}");
    out.push_str(",\"session_type\":\"normal\",\"session_id\":");
    push_str(&mut out, session_id);
    out.push_str(",\"resume_gateway_url\":");
    push_str(&mut out, resume_gateway_url);
    out.push_str(",\"relationships\":[],\"private_channels\":[],\"presences\":[],\"guilds\":[");
    for (i, id) in guild_ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        push_id(&mut out, *id);
        out.push_str(",\"unavailable\":true}");
    }
    out.push_str("],\"guild_join_requests\":[],\"geo_ordered_rtc_regions\":[\"us-east\",\"us-central\",\"atlanta\",\"us-south\",\"newark\"],\"shard\":[");
    push_u64(&mut out, u64::from(shard[0]));
    out.push(',');
    push_u64(&mut out, u64::from(shard[1]));
    out.push_str("],\"application\":{\"id\":");
    push_id(&mut out, BOT_USER_ID);
    out.push_str(",\"flags\":");
    push_u64(&mut out, (1 << 15) | (1 << 19) | (1 << 23));
    out.push_str("},\"auth\":{}}");
    out
}
