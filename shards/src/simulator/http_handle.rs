//! The handle's REST/OAuth surface: URLs to configure clients with, the action log, rate-limit
//! and failure controls, and pickers of users with given rights for tests.

use super::directory::UserGuild;
use super::ratelimit::RateLimit;
use super::rest::{RestAction, RestStats};
use super::routes::RestRoute;
use super::SimulatorHandle;
use crate::workload::perm;
use std::sync::PoisonError;
use std::time::Duration;

const ADMIN_BITS: u64 = perm::ADMINISTRATOR | perm::MANAGE_GUILD;

impl SimulatorHandle {
    /// Base URL of the HTTP side, the gateway's address: `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `host:port` for twilight-http's `ClientBuilder::proxy(host, true)`, which then calls
    /// `http://host:port/api/v10/...`.
    pub fn rest_proxy_host(&self) -> String {
        self.addr.to_string()
    }

    /// The REST API base, `http://127.0.0.1:PORT/api/v10`.
    pub fn api_base(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    /// The authorization endpoint (`/oauth2/authorize`), where browsers are sent.
    pub fn oauth_authorize_url(&self) -> String {
        format!("http://{}/oauth2/authorize", self.addr)
    }

    /// The token endpoint (`/api/v10/oauth2/token`).
    pub fn oauth_token_url(&self) -> String {
        format!("http://{}/api/v10/oauth2/token", self.addr)
    }

    /// The revocation endpoint (`/api/v10/oauth2/token/revoke`).
    pub fn oauth_revoke_url(&self) -> String {
        format!("http://{}/api/v10/oauth2/token/revoke", self.addr)
    }

    /// The OAuth2 client id and secret the simulator accepts.
    pub fn oauth_client(&self) -> (String, String) {
        let config = self.shared.oauth.config();
        (config.client_id.clone(), config.client_secret.clone())
    }

    /// Who `/oauth2/authorize` logs in when the request has no `login_as` parameter; None
    /// restores [`super::OAuthConfig::default_user`] semantics (the first guild's owner).
    pub fn set_login_user(&self, user: Option<u64>) {
        self.shared
            .oauth
            .set_login_user(user.or(self.shared.config.oauth.default_user));
    }

    /// Revokes every OAuth2 token of `user`, as if they deauthorized the application.
    pub fn revoke_user_tokens(&self, user: u64) {
        self.shared.oauth.revoke_user(user);
    }

    /// Every accepted state-changing REST request so far, in order.
    pub fn rest_actions(&self) -> Vec<RestAction> {
        self.shared.rest.actions()
    }

    /// Waits up to `timeout` for an accepted action satisfying `pred` (already logged ones
    /// count) and returns it.
    pub async fn wait_for_rest_action(
        &self,
        pred: impl Fn(&RestAction) -> bool,
        timeout: Duration,
    ) -> Option<RestAction> {
        self.shared.rest.wait_for(pred, timeout).await
    }

    /// REST request counters.
    pub fn rest_stats(&self) -> RestStats {
        self.shared.rest.stats()
    }

    /// Sets `route`'s bucket (per major id); its open windows restart.
    pub fn set_rate_limit(&self, route: RestRoute, limit: RateLimit) {
        self.shared.rest.buckets.set(route, limit);
    }

    /// Answers the next `times` authenticated requests of `route` with `status` and a
    /// Discord error body (after the rate limit, so headers stay right).
    pub fn inject_rest_failure(&self, route: RestRoute, status: u16, times: u32) {
        if times > 0 {
            self.shared.rest.inject_failure(route, status, times);
        }
    }

    /// The guilds `user` is in, with owner flag and permissions, as `/users/@me/guilds` says
    /// now (after REST kicks, bans and role changes).
    pub fn user_guilds(&self, user: u64) -> Vec<UserGuild> {
        let overlay = self
            .shared
            .rest
            .overlay
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.shared.directory.user_guilds(&overlay, user)
    }

    /// The owner of `guild` (a member holding the Admin role).
    pub fn owner_of(&self, guild: u64) -> Option<u64> {
        self.shared.directory.guild(guild).map(|g| g.owner)
    }

    /// A member of `guild` other than its owner who administers it (ADMINISTRATOR or
    /// MANAGE_GUILD through roles), if any.
    pub fn admin_of(&self, guild: u64) -> Option<u64> {
        let owner = self.owner_of(guild)?;
        let overlay = self.overlay();
        let found = self
            .shared
            .directory
            .humans(&overlay, guild)
            .find(|(u, p)| *u != owner && p & ADMIN_BITS != 0)
            .map(|(u, _)| u);
        found
    }

    /// A human member of `guild` with neither ADMINISTRATOR nor MANAGE_GUILD, if any.
    pub fn non_admin_member_of(&self, guild: u64) -> Option<u64> {
        let overlay = self.overlay();
        let found = self
            .shared
            .directory
            .humans(&overlay, guild)
            .find(|(_, p)| p & ADMIN_BITS == 0)
            .map(|(u, _)| u);
        found
    }

    /// A human member of guild `a` who is not a member of guild `b`, if any.
    pub fn member_of_a_not_b(&self, a: u64, b: u64) -> Option<u64> {
        let overlay = self.overlay();
        let dir = &self.shared.directory;
        let found = dir
            .humans(&overlay, a)
            .map(|(u, _)| u)
            .find(|u| dir.member(&overlay, b, *u).is_none());
        found
    }

    /// Guilds (in generation order) that have a non-owner administrator and a non-admin
    /// member: good subjects for authorization tests.
    pub fn guilds_with_roles_mix(&self) -> Vec<u64> {
        self.shared
            .directory
            .guild_ids()
            .filter(|g| self.admin_of(*g).is_some() && self.non_admin_member_of(*g).is_some())
            .collect()
    }

    fn overlay(&self) -> std::sync::MutexGuard<'_, super::directory::Overlay> {
        self.shared
            .rest
            .overlay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
