//! The Discord REST routes the simulator serves under `/api/v10`, and matching a request path
//! onto one of them.

use hyper::Method;

/// A Discord REST route served by the simulator. Rate-limit buckets, failure injection and
/// the action log are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RestRoute {
    /// `DELETE /channels/{channel}/messages/{message}`.
    DeleteMessage,
    /// `PATCH /guilds/{guild}/members/{user}` (timeout through `communication_disabled_until`,
    /// roles, nick, mute, deaf).
    ModifyMember,
    /// `DELETE /guilds/{guild}/members/{user}` (kick).
    RemoveMember,
    /// `PUT /guilds/{guild}/bans/{user}`.
    CreateBan,
    /// `PUT /guilds/{guild}/members/{user}/roles/{role}`.
    AddMemberRole,
    /// `DELETE /guilds/{guild}/members/{user}/roles/{role}`.
    RemoveMemberRole,
    /// `GET /gateway/bot`.
    GatewayBot,
    /// `GET /users/@me` (Bot or Bearer).
    CurrentUser,
    /// `GET /users/@me/guilds` (Bearer with the `guilds` scope).
    CurrentUserGuilds,
}

impl RestRoute {
    /// Every route, for configuring them all at once.
    pub const ALL: [RestRoute; 9] = [
        RestRoute::DeleteMessage,
        RestRoute::ModifyMember,
        RestRoute::RemoveMember,
        RestRoute::CreateBan,
        RestRoute::AddMemberRole,
        RestRoute::RemoveMemberRole,
        RestRoute::GatewayBot,
        RestRoute::CurrentUser,
        RestRoute::CurrentUserGuilds,
    ];

    /// The route template, as in Discord's documentation.
    pub fn template(self) -> &'static str {
        match self {
            RestRoute::DeleteMessage => "/channels/{channel.id}/messages/{message.id}",
            RestRoute::ModifyMember | RestRoute::RemoveMember => {
                "/guilds/{guild.id}/members/{user.id}"
            }
            RestRoute::CreateBan => "/guilds/{guild.id}/bans/{user.id}",
            RestRoute::AddMemberRole | RestRoute::RemoveMemberRole => {
                "/guilds/{guild.id}/members/{user.id}/roles/{role.id}"
            }
            RestRoute::GatewayBot => "/gateway/bot",
            RestRoute::CurrentUser => "/users/@me",
            RestRoute::CurrentUserGuilds => "/users/@me/guilds",
        }
    }

    /// Whether the route changes state (and so lands in the action log).
    pub fn is_action(self) -> bool {
        !matches!(
            self,
            RestRoute::GatewayBot | RestRoute::CurrentUser | RestRoute::CurrentUserGuilds
        )
    }
}

/// A matched request: the route and its ids in path order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Matched {
    pub route: RestRoute,
    /// Path ids in order (channel, message) or (guild, user[, role]); unused slots are 0.
    pub ids: [u64; 3],
}

impl Matched {
    /// The top-level id Discord keys a bucket by (channel or guild), 0 for none.
    pub fn major(&self) -> u64 {
        self.ids[0]
    }
}

/// Why a path did not match a route.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoMatch {
    /// No such path.
    NotFound,
    /// The path exists with other methods.
    MethodNotAllowed,
    /// A path segment where a snowflake belongs is not one.
    BadId,
}

/// Matches `path` (below `/api/v10`, e.g. `/guilds/1/members/2`) and `method`.
pub(crate) fn match_route(method: &Method, path: &str) -> Result<Matched, NoMatch> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let id = |s: &str| s.parse::<u64>().map_err(|_| NoMatch::BadId);
    let (route, ids) = match segments.as_slice() {
        ["channels", c, "messages", m] => {
            let route = pick(method, &[(Method::DELETE, RestRoute::DeleteMessage)])?;
            (route, [id(c)?, id(m)?, 0])
        }
        ["guilds", g, "members", u] => {
            let route = pick(
                method,
                &[
                    (Method::PATCH, RestRoute::ModifyMember),
                    (Method::DELETE, RestRoute::RemoveMember),
                ],
            )?;
            (route, [id(g)?, id(u)?, 0])
        }
        ["guilds", g, "bans", u] => {
            let route = pick(method, &[(Method::PUT, RestRoute::CreateBan)])?;
            (route, [id(g)?, id(u)?, 0])
        }
        ["guilds", g, "members", u, "roles", r] => {
            let route = pick(
                method,
                &[
                    (Method::PUT, RestRoute::AddMemberRole),
                    (Method::DELETE, RestRoute::RemoveMemberRole),
                ],
            )?;
            (route, [id(g)?, id(u)?, id(r)?])
        }
        ["gateway", "bot"] => (
            pick(method, &[(Method::GET, RestRoute::GatewayBot)])?,
            [0; 3],
        ),
        ["users", "@me"] => (
            pick(method, &[(Method::GET, RestRoute::CurrentUser)])?,
            [0; 3],
        ),
        ["users", "@me", "guilds"] => (
            pick(method, &[(Method::GET, RestRoute::CurrentUserGuilds)])?,
            [0; 3],
        ),
        _ => return Err(NoMatch::NotFound),
    };
    Ok(Matched { route, ids })
}

fn pick(method: &Method, options: &[(Method, RestRoute)]) -> Result<RestRoute, NoMatch> {
    options
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, r)| *r)
        .ok_or(NoMatch::MethodNotAllowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_routes_and_ids() {
        let m = match_route(&Method::PUT, "/guilds/1/members/2/roles/3");
        assert_eq!(
            m,
            Ok(Matched {
                route: RestRoute::AddMemberRole,
                ids: [1, 2, 3]
            })
        );
        assert_eq!(
            match_route(&Method::GET, "/guilds/1/members/2"),
            Err(NoMatch::MethodNotAllowed)
        );
        assert_eq!(
            match_route(&Method::DELETE, "/channels/x/messages/2"),
            Err(NoMatch::BadId)
        );
        assert_eq!(match_route(&Method::GET, "/nope"), Err(NoMatch::NotFound));
        assert_eq!(
            match_route(&Method::GET, "/users/@me/guilds").map(|m| m.route),
            Ok(RestRoute::CurrentUserGuilds)
        );
    }
}
