//! Typed Discord snowflake ids. They serialize as decimal strings, as Discord and our API do,
//! and deserialize from either a string or a number.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw snowflake value.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        // Decimal strings in JSON (as Discord and our API write ids); plain integers in
        // binary formats, which cannot ask the input what it holds.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(&self.0)
                } else {
                    s.serialize_u64(self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    d.deserialize_any(SnowflakeVisitor).map(Self)
                } else {
                    u64::deserialize(d).map(Self)
                }
            }
        }
    };
}

snowflake!(
    /// A guild (server).
    GuildId
);
snowflake!(
    /// A user; members are users within a guild.
    UserId
);
snowflake!(
    /// A text, voice or category channel.
    ChannelId
);
snowflake!(
    /// A message.
    MessageId
);
snowflake!(
    /// A role.
    RoleId
);
snowflake!(
    /// A custom emoji.
    EmojiId
);

impl GuildId {
    /// The shard that receives this guild's events: `(guild_id >> 22) % total_shards`.
    pub const fn shard(self, total_shards: u32) -> u32 {
        if total_shards == 0 {
            return 0;
        }
        ((self.0 >> 22) % total_shards as u64) as u32
    }
}

struct SnowflakeVisitor;

impl de::Visitor<'_> for SnowflakeVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snowflake as a decimal string or an unsigned integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom("negative snowflake"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.parse()
            .map_err(|_| E::custom(format_args!("invalid snowflake {v:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_of_guild_follows_discord_formula() {
        let guild = GuildId(41771983423143937);
        assert_eq!(guild.shard(1), 0);
        assert_eq!(guild.shard(16), ((41771983423143937u64 >> 22) % 16) as u32);
    }

    #[test]
    fn ids_round_trip_as_strings_and_accept_numbers() {
        let id: UserId = serde_json::from_str("\"80351110224678912\"").unwrap();
        assert_eq!(id, UserId(80351110224678912));
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"80351110224678912\"");
        let id: UserId = serde_json::from_str("42").unwrap();
        assert_eq!(id.get(), 42);
        assert!(serde_json::from_str::<UserId>("\"abc\"").is_err());
        assert!(serde_json::from_str::<UserId>("-1").is_err());
    }
}
