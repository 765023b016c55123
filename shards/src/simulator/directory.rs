//! Who is in which guild with which permissions: the static world seen through the changes
//! REST actions made (kicks, bans, role changes, timeouts), for `/users/@me/guilds`, the REST
//! routes' 404s and the test helpers that pick users.

use crate::workload::{perm, Guild, Member, World};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

/// Every permission bit of API v10: what an owner or an administrator has.
pub const ALL_PERMISSIONS: u64 = (1 << 51) - 1;

/// A guild of a user, as `/users/@me/guilds` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserGuild {
    /// Guild id.
    pub id: u64,
    /// Whether the user owns the guild.
    pub owner: bool,
    /// Effective guild-level permission bits (all bits for owners and administrators).
    pub permissions: u64,
}

impl UserGuild {
    /// Whether the user may administer the guild: owner, ADMINISTRATOR or MANAGE_GUILD.
    pub fn administers(&self) -> bool {
        self.owner || self.permissions & (perm::ADMINISTRATOR | perm::MANAGE_GUILD) != 0
    }
}

/// What REST actions changed, keyed by (guild, user) unless said otherwise.
#[derive(Default)]
pub(crate) struct Overlay {
    pub removed: HashSet<(u64, u64)>,
    pub bans: HashSet<(u64, u64)>,
    /// Current role mask of members whose roles changed.
    pub roles: HashMap<(u64, u64), u64>,
    /// `communication_disabled_until` as sent (None: cleared).
    pub timeouts: HashMap<(u64, u64), Option<String>>,
    /// (channel, message) pairs already deleted.
    pub deleted_messages: HashSet<(u64, u64)>,
    /// Members who joined after the world was generated (the feed's GUILD_MEMBER_ADDs).
    pub joined: HashMap<(u64, u64), Member>,
}

impl Overlay {
    /// Follows the feed's membership changes, so REST knows members who joined since the
    /// world was generated and forgets those who left.
    pub fn observe_dispatch(&mut self, kind: &str, payload: &str) {
        if kind != "GUILD_MEMBER_ADD" && kind != "GUILD_MEMBER_REMOVE" {
            return;
        }
        let Ok(d) = serde_json::from_str::<serde_json::Value>(payload) else {
            return;
        };
        let id = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
        let (Some(guild), Some(user)) = (id(&d["guild_id"]), id(&d["user"]["id"])) else {
            return;
        };
        if kind == "GUILD_MEMBER_ADD" {
            self.removed.remove(&(guild, user));
            self.joined.insert(
                (guild, user),
                Member {
                    user,
                    bot: d["user"]["bot"].as_bool().unwrap_or(false),
                    joined_at: 0,
                    roles: 0,
                    nick: 0,
                    premium_since: 0,
                },
            );
        } else {
            self.joined.remove(&(guild, user));
            self.removed.insert((guild, user));
        }
    }
}

/// The world plus lazily built indexes over it.
pub(crate) struct Directory {
    world: Option<Arc<World>>,
    by_user: OnceLock<HashMap<u64, Vec<(usize, usize)>>>,
    by_channel: OnceLock<HashMap<u64, usize>>,
}

impl Directory {
    pub fn new(world: Option<Arc<World>>) -> Self {
        Directory {
            world,
            by_user: OnceLock::new(),
            by_channel: OnceLock::new(),
        }
    }

    fn guilds(&self) -> &[Guild] {
        self.world.as_deref().map_or(&[], |w| w.guilds.as_slice())
    }

    pub fn guild(&self, id: u64) -> Option<&Guild> {
        self.world.as_deref().and_then(|w| w.guild(id))
    }

    /// The guild a channel belongs to.
    pub fn guild_of_channel(&self, channel: u64) -> Option<&Guild> {
        let index = self.by_channel.get_or_init(|| {
            let mut map = HashMap::new();
            for (gi, g) in self.guilds().iter().enumerate() {
                for c in &g.channels {
                    map.insert(c.id, gi);
                }
            }
            map
        });
        index.get(&channel).and_then(|&gi| self.guilds().get(gi))
    }

    /// `user`'s membership of `guild`, unless a kick or ban removed it.
    pub fn member<'a>(
        &'a self,
        overlay: &Overlay,
        guild: u64,
        user: u64,
    ) -> Option<(&'a Guild, Member)> {
        if overlay.removed.contains(&(guild, user)) {
            return None;
        }
        let g = self.guild(guild)?;
        let m = g
            .members
            .iter()
            .find(|m| m.user == user)
            .or_else(|| overlay.joined.get(&(guild, user)))?;
        Some((g, m.clone()))
    }

    /// The member's role mask after REST role changes.
    pub fn mask(overlay: &Overlay, g: &Guild, m: &Member) -> u64 {
        overlay
            .roles
            .get(&(g.id, m.user))
            .copied()
            .unwrap_or(m.roles)
    }

    /// Effective guild-level permissions of a member with role mask `mask`.
    pub fn permissions(g: &Guild, user: u64, mask: u64) -> u64 {
        if user == g.owner {
            return ALL_PERMISSIONS;
        }
        let p = g
            .roles
            .iter()
            .enumerate()
            .filter(|(i, r)| !r.deleted && (*i == 0 || (*i < 64 && mask & (1 << i) != 0)))
            .fold(0, |p, (_, r)| p | r.permissions);
        if p & perm::ADMINISTRATOR != 0 {
            ALL_PERMISSIONS
        } else {
            p
        }
    }

    /// The guilds `user` is a member of, by guild id.
    pub fn user_guilds(&self, overlay: &Overlay, user: u64) -> Vec<UserGuild> {
        let index = self.by_user.get_or_init(|| {
            let mut map: HashMap<u64, Vec<(usize, usize)>> = HashMap::new();
            for (gi, g) in self.guilds().iter().enumerate() {
                for (mi, m) in g.members.iter().enumerate() {
                    map.entry(m.user).or_default().push((gi, mi));
                }
            }
            map
        });
        let mut out: Vec<UserGuild> = index
            .get(&user)
            .into_iter()
            .flatten()
            .filter_map(|&(gi, mi)| {
                let g = self.guilds().get(gi)?;
                let m = g.members.get(mi)?;
                if overlay.removed.contains(&(g.id, user)) {
                    return None;
                }
                Some(UserGuild {
                    id: g.id,
                    owner: g.owner == user,
                    permissions: Self::permissions(g, user, Self::mask(overlay, g, m)),
                })
            })
            .collect();
        out.sort_by_key(|g| g.id);
        out
    }

    /// The humans of `guild` with their effective permissions, in activity order.
    pub fn humans<'a>(
        &'a self,
        overlay: &'a Overlay,
        guild: u64,
    ) -> impl Iterator<Item = (u64, u64)> + 'a {
        self.guild(guild).into_iter().flat_map(move |g| {
            g.members
                .iter()
                .filter(move |m| !m.bot && !overlay.removed.contains(&(g.id, m.user)))
                .map(move |m| {
                    (
                        m.user,
                        Self::permissions(g, m.user, Self::mask(overlay, g, m)),
                    )
                })
        })
    }

    /// The first guild's owner: who `/oauth2/authorize` logs in by default.
    pub fn default_user(&self) -> Option<u64> {
        self.guilds().first().map(|g| g.owner)
    }

    /// Ids of all guilds.
    pub fn guild_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.guilds().iter().map(|g| g.id)
    }
}
