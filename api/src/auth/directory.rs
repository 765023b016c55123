//! Who may administer which guild, from the live guild state the pipeline already decodes:
//! owner, roles with their permission bits, and each member's roles. No Discord REST call per
//! request: a role change or a removal lands here with its gateway event, seconds later.

use guildflow_model::{Event, EventBody, GuildInfo, MemberInfo, RoleInfo};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Discord's ADMINISTRATOR permission bit.
pub const ADMINISTRATOR: u64 = 0x8;
/// Discord's MANAGE_GUILD permission bit.
pub const MANAGE_GUILD: u64 = 0x20;

/// One guild as far as authorization needs it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct GuildAccess {
    name: Box<str>,
    owner: u64,
    /// Role id → permission bits; `@everyone` is the role whose id is the guild's.
    roles: HashMap<u64, u64>,
    /// Member → role ids (without `@everyone`, which every member holds).
    members: HashMap<u64, Box<[u64]>>,
    /// Names to show: members (nickname, display name or username) and channels.
    member_names: HashMap<u64, Box<str>>,
    channel_names: HashMap<u64, Box<str>>,
}

impl GuildAccess {
    fn from_info(info: &GuildInfo) -> Self {
        GuildAccess {
            name: info.name.clone(),
            owner: info.owner.0,
            roles: info.roles.iter().map(|r| (r.id.0, r.permissions)).collect(),
            members: info
                .members
                .iter()
                .map(|m| (m.user.0, role_ids(m)))
                .collect(),
            member_names: info
                .members
                .iter()
                .filter_map(|m| Some((m.user.0, m.name.clone()?)))
                .collect(),
            channel_names: info
                .channels
                .iter()
                .filter_map(|c| Some((c.id.0, c.name.clone()?)))
                .collect(),
        }
    }

    fn administers(&self, guild: u64, user: u64) -> bool {
        if self.owner == user {
            return true;
        }
        // A user who is not a member holds no role, @everyone included.
        let Some(roles) = self.members.get(&user) else {
            return false;
        };
        let everyone = self.roles.get(&guild).copied().unwrap_or(0);
        let bits = roles
            .iter()
            .filter_map(|r| self.roles.get(r))
            .fold(everyone, |acc, bits| acc | bits);
        bits & (ADMINISTRATOR | MANAGE_GUILD) != 0
    }
}

fn role_ids(member: &MemberInfo) -> Box<[u64]> {
    member.roles.iter().map(|r| r.0).collect()
}

/// (id, name) pairs.
pub type Names = Vec<(u64, String)>;

/// What the directory learned from events, for a snapshot of the views: a restart that
/// restores one replays only later events, and must not forget who administers what. Grants
/// are configuration, not learned, and stay out.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DirectoryState {
    guilds: HashMap<u64, GuildAccess>,
}

#[derive(Debug, Default)]
struct Inner {
    guilds: HashMap<u64, GuildAccess>,
    /// Explicit grants: (user, guild).
    grants: HashSet<(u64, u64)>,
}

/// The permission directory, shared (clones see the same state). Feed it every decoded
/// event with [`PermissionDirectory::observe`]; ask it with
/// [`PermissionDirectory::can_administer`].
#[derive(Clone, Debug, Default)]
pub struct PermissionDirectory {
    inner: Arc<RwLock<Inner>>,
}

impl PermissionDirectory {
    /// An empty directory: nobody administers anything until a GUILD_CREATE or a grant.
    pub fn new() -> Self {
        Self::default()
    }

    // A poisoned lock only means a panic elsewhere mid-update of plain maps; the data is
    // still usable, and refusing every request forever would be worse.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// What the directory learned from events (see [`DirectoryState`]).
    pub fn export(&self) -> DirectoryState {
        DirectoryState {
            guilds: self.read().guilds.clone(),
        }
    }

    /// Replaces what the directory learned from events with a snapshot's.
    pub fn import(&self, state: DirectoryState) {
        self.write().guilds = state.guilds;
    }

    /// Applies one gateway event. Events that say nothing about access are ignored cheaply,
    /// without taking the lock.
    pub fn observe(&self, event: &Event) {
        match &event.body {
            EventBody::GuildCreate(info) | EventBody::GuildUpdate(info) => self.observe_guild(info),
            // An outage says nothing about who administers the guild; leaving it does.
            EventBody::GuildDelete {
                guild,
                unavailable: false,
            } => {
                self.write().guilds.remove(&guild.0);
            }
            EventBody::MemberAdd(member) | EventBody::MemberUpdate(member) => {
                if let Some(g) = self.write().guilds.get_mut(&member.guild.0) {
                    g.members.insert(member.user.0, role_ids(member));
                    if let Some(name) = &member.name {
                        g.member_names.insert(member.user.0, name.clone());
                    }
                }
            }
            EventBody::MemberRemove { guild, user } => {
                if let Some(g) = self.write().guilds.get_mut(&guild.0) {
                    g.members.remove(&user.0);
                }
            }
            EventBody::ChannelCreate(channel) | EventBody::ChannelUpdate(channel) => {
                let (Some(guild), Some(name)) = (channel.guild, &channel.name) else {
                    return;
                };
                if let Some(g) = self.write().guilds.get_mut(&guild.0) {
                    g.channel_names.insert(channel.id.0, name.clone());
                }
            }
            EventBody::RoleCreate { guild, role } | EventBody::RoleUpdate { guild, role } => {
                self.observe_role(guild.0, role)
            }
            EventBody::RoleDelete { guild, role } => {
                if let Some(g) = self.write().guilds.get_mut(&guild.0) {
                    g.roles.remove(&role.0);
                }
            }
            _ => {}
        }
    }

    fn observe_guild(&self, info: &GuildInfo) {
        let mut inner = self.write();
        // A GUILD_UPDATE carries no member list: keep the members already known.
        let fresh = GuildAccess::from_info(info);
        match inner.guilds.get_mut(&info.id.0) {
            Some(known) if info.members.is_empty() => {
                known.name = fresh.name;
                known.owner = fresh.owner;
                if !fresh.channel_names.is_empty() {
                    known.channel_names = fresh.channel_names;
                }
                known.roles = fresh.roles;
            }
            _ => {
                inner.guilds.insert(info.id.0, fresh);
            }
        }
    }

    fn observe_role(&self, guild: u64, role: &RoleInfo) {
        if let Some(g) = self.write().guilds.get_mut(&guild) {
            g.roles.insert(role.id.0, role.permissions);
        }
    }

    /// The names of `users` and `channels` of `guild` that are known (members seen in a
    /// member list or a member event, channels in GUILD_CREATE or a channel event); a member
    /// who left keeps their name, so past leaderboards stay readable.
    pub fn names(&self, guild: u64, users: &[u64], channels: &[u64]) -> (Names, Names) {
        let inner = self.read();
        let Some(g) = inner.guilds.get(&guild) else {
            return (Vec::new(), Vec::new());
        };
        let pick = |map: &HashMap<u64, Box<str>>, ids: &[u64]| {
            ids.iter()
                .filter_map(|id| map.get(id).map(|n| (*id, n.to_string())))
                .collect()
        };
        (
            pick(&g.member_names, users),
            pick(&g.channel_names, channels),
        )
    }

    /// The guild's name, when its GUILD_CREATE was seen.
    pub fn name(&self, guild: u64) -> Option<String> {
        self.read().guilds.get(&guild).map(|g| g.name.to_string())
    }

    /// Whether `user` may act on `guild`: its owner, ADMINISTRATOR or MANAGE_GUILD through
    /// `@everyone` and their roles, or an explicit grant.
    pub fn can_administer(&self, user: u64, guild: u64) -> bool {
        let inner = self.read();
        inner.grants.contains(&(user, guild))
            || inner
                .guilds
                .get(&guild)
                .is_some_and(|g| g.administers(guild, user))
    }

    /// Every guild `user` may act on, ascending. Walks every guild: for `/api/me`, not for
    /// per-request checks.
    pub fn administered_by(&self, user: u64) -> Vec<u64> {
        let inner = self.read();
        let mut guilds: Vec<u64> = inner
            .guilds
            .iter()
            .filter(|(id, g)| g.administers(**id, user))
            .map(|(id, _)| *id)
            .chain(
                inner
                    .grants
                    .iter()
                    .filter(|(u, _)| *u == user)
                    .map(|(_, g)| *g),
            )
            .collect();
        guilds.sort_unstable();
        guilds.dedup();
        guilds
    }

    /// Lets `user` act on `guild` whatever their roles (in memory only, for now).
    pub fn grant(&self, user: u64, guild: u64) {
        self.write().grants.insert((user, guild));
    }

    /// Withdraws a grant; their roles may still let them in.
    pub fn revoke_grant(&self, user: u64, guild: u64) {
        self.write().grants.remove(&(user, guild));
    }

    /// Guilds known from the gateway.
    pub fn guild_count(&self) -> usize {
        self.read().guilds.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guildflow_model::{GuildId, RoleId, UserId};

    fn event(body: EventBody) -> Event {
        Event {
            at: 0,
            shard: 0,
            seq: 0,
            body,
        }
    }

    fn member(guild: u64, user: u64, roles: &[u64]) -> MemberInfo {
        MemberInfo {
            guild: GuildId(guild),
            user: UserId(user),
            bot: false,
            roles: roles.iter().map(|r| RoleId(*r)).collect(),
            joined_at: None,
            name: None,
        }
    }

    fn role(id: u64, permissions: u64) -> RoleInfo {
        RoleInfo {
            id: RoleId(id),
            name: "r".into(),
            permissions,
            position: 0,
        }
    }

    fn seeded() -> PermissionDirectory {
        let directory = PermissionDirectory::new();
        directory.observe(&event(EventBody::GuildCreate(Box::new(GuildInfo {
            id: GuildId(10),
            name: "g".into(),
            owner: UserId(1),
            member_count: None,
            afk_channel: None,
            roles: vec![
                role(10, 0x400),
                role(11, ADMINISTRATOR),
                role(12, MANAGE_GUILD),
            ],
            channels: Vec::new(),
            members: vec![
                member(10, 1, &[]),
                member(10, 2, &[11]),
                member(10, 3, &[12]),
                member(10, 4, &[]),
            ],
            voice_states: Vec::new(),
        }))));
        directory
    }

    #[test]
    fn owner_admin_and_manage_guild_administer_plain_members_do_not() {
        let d = seeded();
        assert!(d.can_administer(1, 10));
        assert!(d.can_administer(2, 10));
        assert!(d.can_administer(3, 10));
        assert!(!d.can_administer(4, 10));
        assert!(!d.can_administer(2, 99));
        assert_eq!(d.administered_by(2), vec![10]);
    }

    #[test]
    fn events_update_access() {
        let d = seeded();
        d.observe(&event(EventBody::MemberUpdate(member(10, 2, &[]))));
        assert!(!d.can_administer(2, 10));
        d.observe(&event(EventBody::RoleUpdate {
            guild: GuildId(10),
            role: role(10, ADMINISTRATOR),
        }));
        assert!(d.can_administer(4, 10), "@everyone with ADMINISTRATOR");
        d.observe(&event(EventBody::MemberRemove {
            guild: GuildId(10),
            user: UserId(4),
        }));
        assert!(!d.can_administer(4, 10));
        d.observe(&event(EventBody::RoleDelete {
            guild: GuildId(10),
            role: RoleId(12),
        }));
        d.observe(&event(EventBody::RoleUpdate {
            guild: GuildId(10),
            role: role(10, 0),
        }));
        assert!(!d.can_administer(3, 10));
        d.observe(&event(EventBody::GuildDelete {
            guild: GuildId(10),
            unavailable: true,
        }));
        assert!(d.can_administer(1, 10), "an outage keeps access");
        d.observe(&event(EventBody::GuildDelete {
            guild: GuildId(10),
            unavailable: false,
        }));
        assert!(!d.can_administer(1, 10));
    }

    #[test]
    fn grants() {
        let d = seeded();
        d.grant(4, 10);
        assert!(d.can_administer(4, 10));
        d.revoke_grant(4, 10);
        assert!(!d.can_administer(4, 10));
    }
}
