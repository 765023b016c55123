//! Word lists and deterministic name derivation. Names are derived from ids by hashing, so
//! nothing per user is stored: the same id always gets the same username, avatar and flags.
//! Every word here is plain ASCII without JSON metacharacters, so it can be written unescaped.

/// SplitMix64's finalizer: a fast, well-mixing 64-bit hash.
pub(crate) const fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Picks from a list by a hash.
pub(crate) fn pick(list: &'static [&'static str], h: u64) -> &'static str {
    list[(h % list.len() as u64) as usize]
}

pub(crate) const ADJECTIVES: &[&str] = &[
    "dark", "silent", "happy", "lazy", "crazy", "little", "big", "cool", "epic", "shadow", "night",
    "pixel", "cosmic", "frozen", "lucky", "mighty", "sleepy", "swift", "tiny", "wild", "salty",
    "spicy", "golden", "neon", "retro", "cyber", "mystic", "rusty", "fuzzy", "grumpy", "chill",
    "toxic", "sneaky", "brave", "quiet", "hyper", "lunar", "solar", "electric", "velvet",
];

pub(crate) const NOUNS: &[&str] = &[
    "wolf", "fox", "cat", "dragon", "gamer", "ninja", "panda", "tiger", "ghost", "knight",
    "wizard", "otter", "raven", "storm", "byte", "cookie", "noodle", "potato", "moon", "star",
    "falcon", "shark", "bear", "phoenix", "goblin", "pirate", "samurai", "viking", "penguin",
    "comet", "blade", "frog", "duck", "lemon", "waffle", "taco", "pickle", "rocket", "cactus",
    "beetle",
];

pub(crate) const FIRST_NAMES: &[&str] = &[
    "alex", "sam", "max", "lena", "mia", "noah", "emma", "liam", "zoe", "leo", "nina", "kai",
    "luca", "ava", "finn", "ella", "jonas", "sara", "omar", "yuki", "ines", "marco", "anya",
    "theo", "maya", "ivan", "lucas", "chloe", "hugo", "julia", "diego", "amir", "freya", "ruby",
    "felix", "nora", "oscar", "luna", "milo", "iris",
];

pub(crate) const BOT_NAMES: &[&str] = &[
    "ModBot",
    "MusicBox",
    "LevelUp",
    "TicketTool",
    "WelcomeBot",
    "PollMaster",
    "MemeMachine",
    "Guardian",
    "StatTracker",
    "Reminder",
    "GiveawayBot",
    "Translator",
    "RoleKeeper",
    "QuoteBot",
    "TriviaBot",
    "Sentinel",
    "DJ Nova",
    "Counter",
    "Starboard",
    "AutoMod Plus",
];

pub(crate) const WEBHOOK_NAMES: &[&str] = &[
    "GitHub",
    "RSS Feed",
    "Announcements",
    "Twitch Alerts",
    "YouTube Uploads",
    "Status Page",
    "Patch Notes",
    "Server Logs",
    "Reddit Feed",
    "CI Builds",
];

pub(crate) const GUILD_WORDS: &[&str] = &[
    "Gaming",
    "Hangout",
    "Lounge",
    "Community",
    "Squad",
    "Hub",
    "Den",
    "Club",
    "Guild",
    "Tavern",
    "Collective",
    "Crew",
    "Corner",
    "Cafe",
    "Society",
    "Realm",
    "Base",
    "Camp",
    "Station",
    "Network",
];

pub(crate) const GUILD_TOPICS: &[&str] = &[
    "Minecraft",
    "Valorant",
    "Anime",
    "Art",
    "Music",
    "Coding",
    "Study",
    "Chess",
    "Pokemon",
    "Fortnite",
    "Rust",
    "Memes",
    "Crypto",
    "Fitness",
    "Cooking",
    "Photography",
    "Books",
    "Movies",
    "League",
    "Speedrun",
];

pub(crate) const TEXT_CHANNELS: &[&str] = &[
    "general",
    "off-topic",
    "memes",
    "media",
    "bot-commands",
    "announcements",
    "rules",
    "introductions",
    "gaming",
    "music",
    "art",
    "help",
    "support",
    "dev",
    "random",
    "selfies",
    "pets",
    "food",
    "suggestions",
    "events",
    "welcome",
    "links",
    "clips",
    "screenshots",
    "anime",
    "questions",
    "showcase",
    "feedback",
    "lfg",
    "trading",
];

pub(crate) const VOICE_CHANNELS: &[&str] = &[
    "General",
    "Gaming",
    "Music",
    "Chill",
    "Lounge",
    "Study",
    "Duo",
    "Squad",
    "Stream",
    "Meeting",
    "Movie Night",
    "Podcast",
];

pub(crate) const ROLE_NAMES: &[&str] = &[
    "Member",
    "VIP",
    "Level 5",
    "Level 10",
    "Level 20",
    "Level 50",
    "Red",
    "Blue",
    "Green",
    "Artist",
    "Gamer",
    "Muted",
    "Verified",
    "Event Ping",
    "Helper",
    "Veteran",
    "Supporter",
    "Streamer",
    "Developer",
    "Newbie",
];

pub(crate) const EMOJI_NAMES: &[&str] = &[
    "pepega",
    "kekw",
    "pog",
    "catjam",
    "sadge",
    "monkas",
    "blobwave",
    "partyparrot",
    "thonk",
    "yes",
    "no",
    "hype",
    "gg",
    "lul",
    "pepehands",
    "copium",
    "based",
    "blobheart",
    "ez",
    "wave",
];

pub(crate) const UNICODE_EMOJI: &[&str] = &[
    "\u{1f44d}",
    "\u{2764}\u{fe0f}",
    "\u{1f602}",
    "\u{1f525}",
    "\u{1f62d}",
    "\u{1f389}",
    "\u{1f440}",
    "\u{1f480}",
    "\u{2705}",
    "\u{274c}",
    "\u{1f64f}",
    "\u{1f62e}",
    "\u{1f914}",
    "\u{1f60d}",
    "\u{1f44f}",
    "\u{1f4af}",
];

pub(crate) const WORDS: &[&str] = &[
    "the",
    "a",
    "i",
    "you",
    "it",
    "is",
    "to",
    "and",
    "that",
    "this",
    "what",
    "lol",
    "lmao",
    "no",
    "yes",
    "yeah",
    "ok",
    "so",
    "just",
    "like",
    "do",
    "don't",
    "know",
    "think",
    "game",
    "play",
    "playing",
    "tonight",
    "anyone",
    "wants",
    "to",
    "join",
    "me",
    "we",
    "got",
    "get",
    "was",
    "so",
    "good",
    "bad",
    "really",
    "actually",
    "bro",
    "guys",
    "update",
    "server",
    "new",
    "patch",
    "ranked",
    "match",
    "win",
    "lost",
    "again",
    "why",
    "how",
    "when",
    "where",
    "who",
    "can",
    "someone",
    "help",
    "with",
    "my",
    "code",
    "build",
    "error",
    "fixed",
    "works",
    "now",
    "thanks",
    "ty",
    "np",
    "gg",
    "wp",
    "brb",
    "afk",
    "back",
    "later",
    "today",
    "tomorrow",
    "weekend",
    "stream",
    "video",
    "song",
    "listen",
    "watch",
    "movie",
    "episode",
    "season",
    "art",
    "draw",
    "made",
    "this",
    "check",
    "out",
    "look",
    "at",
    "cool",
    "nice",
    "awesome",
    "insane",
    "crazy",
    "wild",
    "true",
    "facts",
    "same",
    "fr",
    "ngl",
    "tbh",
    "idk",
    "imo",
    "rn",
    "omg",
    "wtf",
    "haha",
    "hmm",
    "oh",
    "wait",
    "what",
    "the",
    "heck",
    "pizza",
    "coffee",
    "sleep",
    "tired",
    "work",
    "school",
    "exam",
    "homework",
    "boss",
    "raid",
    "loot",
    "drop",
    "rare",
    "legendary",
    "skin",
    "map",
    "team",
    "carry",
    "noob",
    "pro",
    "clutch",
    "nerf",
    "buff",
    "op",
    "meta",
    "build",
];

pub(crate) const EMOTICONS: &[&str] = &[
    " :)",
    " :D",
    " xD",
    " <3",
    " \u{1f602}",
    " \u{1f480}",
    " \u{1f62d}",
    " \u{1f525}",
    "!",
    "?",
    "...",
    "!!",
];

pub(crate) const LINKS: &[&str] = &[
    "https://www.youtube.com/watch?v=",
    "https://youtu.be/",
    "https://github.com/guildflow/",
    "https://x.com/someone/status/",
    "https://www.reddit.com/r/gaming/comments/",
    "https://imgur.com/a/",
    "https://tenor.com/view/funny-",
    "https://www.twitch.tv/videos/",
    "https://en.wikipedia.org/wiki/Special:Random?",
    "http://example.com/page/",
];

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Appends `n` alphanumeric characters derived from `h` (invite codes, video ids).
pub(crate) fn push_code(out: &mut String, mut h: u64, n: usize) {
    for i in 0..n {
        if i % 10 == 9 {
            h = mix(h);
        }
        out.push(char::from(ALNUM[(h % ALNUM.len() as u64) as usize]));
        h /= ALNUM.len() as u64;
    }
}

fn push_digits(out: &mut String, h: u64, n: u32) {
    let v = h % 10u64.pow(n);
    super::json::push_u64(out, v);
}

/// Appends a human's username (Discord's new lowercase usernames).
pub(crate) fn push_username(out: &mut String, user: u64) {
    let h = mix(user ^ 0x5553_4552);
    let a = pick(ADJECTIVES, h >> 8);
    let n = pick(NOUNS, h >> 20);
    let f = pick(FIRST_NAMES, h >> 32);
    match h % 8 {
        0 => {
            out.push_str(a);
            out.push_str(n);
        }
        1 => {
            out.push_str(a);
            out.push('_');
            out.push_str(n);
        }
        2 => {
            out.push_str(n);
            push_digits(out, h >> 44, 4);
        }
        3 => {
            out.push_str(f);
            out.push('.');
            out.push_str(n);
        }
        4 => {
            out.push_str(f);
            push_digits(out, h >> 44, 3);
        }
        5 => {
            out.push_str("xx");
            out.push_str(n);
            out.push_str("xx");
        }
        6 => {
            out.push_str(a);
            out.push_str(n);
            push_digits(out, h >> 44, 2);
        }
        _ => {
            out.push_str(f);
            out.push('_');
            out.push_str(a);
        }
    }
}

/// Appends a human's display name (`global_name`) as JSON: quoted, or `null` for about a third.
pub(crate) fn push_global_name(out: &mut String, user: u64) {
    let h = mix(user ^ 0x474e_414d);
    if h.is_multiple_of(3) {
        out.push_str("null");
        return;
    }
    out.push('"');
    let f = pick(FIRST_NAMES, h >> 8);
    let mut chars = f.chars();
    if let Some(c) = chars.next() {
        out.push(c.to_ascii_uppercase());
        out.push_str(chars.as_str());
    }
    if h % 5 == 1 {
        out.push(' ');
        out.push_str(pick(NOUNS, h >> 24));
    }
    out.push('"');
}

/// A bot's name; ours is "Guildflow".
pub(crate) fn bot_name(user: u64) -> &'static str {
    if user == super::world::BOT_USER_ID {
        return "Guildflow";
    }
    pick(BOT_NAMES, mix(user ^ 0x0042_4f54))
}

/// Appends a guild's name.
pub(crate) fn push_guild_name(out: &mut String, seed: u64) {
    let h = mix(seed ^ 0x0047_5549_4c44);
    let t = pick(GUILD_TOPICS, h >> 8);
    let w = pick(GUILD_WORDS, h >> 20);
    match h % 5 {
        0 => {
            out.push_str("The ");
            out.push_str(t);
            out.push(' ');
            out.push_str(w);
        }
        1 => {
            let f = pick(FIRST_NAMES, h >> 32);
            let mut chars = f.chars();
            if let Some(c) = chars.next() {
                out.push(c.to_ascii_uppercase());
                out.push_str(chars.as_str());
            }
            out.push_str("s ");
            out.push_str(w);
        }
        2 => {
            out.push_str(t);
            out.push_str(" Central");
        }
        _ => {
            out.push_str(t);
            out.push(' ');
            out.push_str(w);
        }
    }
}
