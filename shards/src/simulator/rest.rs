//! The Discord REST routes under `/api/v10`: authentication (Bot or Bearer), rate limits,
//! injected failures, the routes themselves and the action log.
//!
//! Accepted actions change the simulated guild (see [`super::directory`]) and, when the
//! guild's shard streams, echo the dispatch Discord would send (MESSAGE_DELETE,
//! GUILD_MEMBER_UPDATE, GUILD_MEMBER_REMOVE, GUILD_BAN_ADD), so a client sees its actions
//! land on the gateway too.

use super::directory::{Directory, Overlay};
use super::http::{discord_error, json, no_content, HttpRequest, HttpResponse};
use super::ratelimit::{Buckets, RateLimit};
use super::routes::{match_route, Matched, NoMatch, RestRoute};
use super::Shared;
use crate::workload::{member_event, member_remove, message_delete, push_user, BOT_USER_ID};
use hyper::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// REST settings.
#[derive(Clone, Debug, Default)]
pub struct RestConfig {
    /// The bucket of routes without their own entry in `limits`.
    pub default_limit: RateLimit,
    /// Per-route buckets (each major id, channel or guild, has its own window).
    pub limits: HashMap<RestRoute, RateLimit>,
}

/// An accepted state-changing request, as the simulator recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct RestAction {
    /// The route.
    pub route: RestRoute,
    /// HTTP method.
    pub method: String,
    /// The path below `/api/v10`, e.g. `/guilds/1/members/2`.
    pub path: String,
    /// Path ids: (channel, message) or (guild, user[, role]); unused slots are 0.
    pub ids: [u64; 3],
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// `X-Audit-Log-Reason`, percent-decoded.
    pub reason: Option<String>,
    /// When it was accepted.
    pub at: SystemTime,
}

/// Request counters of the REST side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestStats {
    /// Requests that matched a route.
    pub requests: u64,
    /// 429s answered.
    pub rate_limited: u64,
    /// Injected failures answered.
    pub injected_failures: u64,
}

/// REST state.
pub(crate) struct RestState {
    pub buckets: Buckets,
    pub overlay: Mutex<Overlay>,
    log: Mutex<Vec<RestAction>>,
    logged: watch::Sender<usize>,
    failures: Mutex<HashMap<RestRoute, (u16, u32)>>,
    stats: Mutex<RestStats>,
}

impl RestState {
    pub fn new(config: &RestConfig) -> Self {
        RestState {
            buckets: Buckets::new(config.default_limit, config.limits.clone()),
            overlay: Mutex::new(Overlay::default()),
            log: Mutex::new(Vec::new()),
            logged: watch::Sender::new(0),
            failures: Mutex::new(HashMap::new()),
            stats: Mutex::new(RestStats::default()),
        }
    }

    pub fn actions(&self) -> Vec<RestAction> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn stats(&self) -> RestStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers the next `times` requests of `route` with `status`.
    pub fn inject_failure(&self, route: RestRoute, status: u16, times: u32) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(route, (status, times));
    }

    /// The first action from index `from` on that satisfies `pred`, waiting up to `timeout`.
    pub async fn wait_for(
        &self,
        pred: impl Fn(&RestAction) -> bool,
        timeout: Duration,
    ) -> Option<RestAction> {
        let mut rx = self.logged.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self
                .log
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .find(|a| pred(a))
            {
                return Some(found.clone());
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    fn record(&self, action: RestAction) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.push(action);
        self.logged.send_replace(log.len());
    }

    fn count(&self, f: impl FnOnce(&mut RestStats)) {
        f(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn take_failure(&self, route: RestRoute) -> Option<u16> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let (status, times) = failures.get_mut(&route)?;
        let status = *status;
        *times -= 1;
        if *times == 0 {
            failures.remove(&route);
        }
        Some(status)
    }
}

/// Who made the request.
enum Caller {
    Bot,
    User(super::oauth::Bearer),
}

/// Serves `path` (below `/api/v10`).
pub(crate) fn handle(shared: &Shared, req: &HttpRequest, path: &str) -> HttpResponse {
    let matched = match match_route(&req.method, path) {
        Ok(m) => m,
        Err(NoMatch::NotFound | NoMatch::BadId) => {
            return discord_error(StatusCode::NOT_FOUND, 0, "404: Not Found")
        }
        Err(NoMatch::MethodNotAllowed) => {
            return discord_error(StatusCode::METHOD_NOT_ALLOWED, 0, "405: Method Not Allowed")
        }
    };
    let rest = &shared.rest;
    let auth = req.header("authorization").unwrap_or_default();
    let caller = if auth
        .strip_prefix("Bot ")
        .is_some_and(|t| t == shared.config.token)
    {
        Caller::Bot
    } else if let Some(b) = auth
        .strip_prefix("Bearer ")
        .and_then(|t| shared.oauth.bearer(t))
    {
        Caller::User(b)
    } else {
        return discord_error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    };
    rest.count(|s| s.requests += 1);
    let verdict = rest.buckets.take(matched.route, matched.major());
    let mut resp = if let Some(retry_after) = verdict.limited {
        rest.count(|s| s.rate_limited += 1);
        json(
            StatusCode::TOO_MANY_REQUESTS,
            serde_json::json!({
                "message": "You are being rate limited.",
                "retry_after": (retry_after * 1000.0).ceil() / 1000.0,
                "global": false,
            })
            .to_string(),
        )
    } else if let Some(status) = rest.take_failure(matched.route) {
        rest.count(|s| s.injected_failures += 1);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        discord_error(status, 0, status.canonical_reason().unwrap_or("injected"))
    } else {
        route(shared, req, path, matched, &caller)
    };
    resp.headers_mut().extend(verdict.headers);
    resp
}

fn route(
    shared: &Shared,
    req: &HttpRequest,
    path: &str,
    m: Matched,
    caller: &Caller,
) -> HttpResponse {
    let bot_only = |f: &dyn Fn() -> HttpResponse| match caller {
        Caller::Bot => f(),
        Caller::User(_) => discord_error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
    };
    match m.route {
        RestRoute::CurrentUser => current_user(caller),
        RestRoute::CurrentUserGuilds => current_user_guilds(shared, caller, req),
        RestRoute::GatewayBot => bot_only(&|| gateway_bot(shared)),
        _ => bot_only(&|| action(shared, req, path, m)),
    }
}

fn current_user(caller: &Caller) -> HttpResponse {
    let (user, bot) = match caller {
        Caller::Bot => (BOT_USER_ID, true),
        Caller::User(b) if b.scopes.iter().any(|s| s == "identify") => (b.user, false),
        Caller::User(_) => return discord_error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"),
    };
    let mut out = String::new();
    push_user(&mut out, user, bot);
    // The OAuth user object carries account fields the gateway's user objects lack.
    if let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(&out) {
        obj.entry("mfa_enabled").or_insert(Value::Bool(false));
        obj.entry("locale").or_insert(Value::from("en-US"));
        obj.entry("premium_type").or_insert(Value::from(0));
        out = Value::Object(obj).to_string();
    }
    json(StatusCode::OK, out)
}

fn current_user_guilds(shared: &Shared, caller: &Caller, req: &HttpRequest) -> HttpResponse {
    let user = match caller {
        Caller::User(b) if b.scopes.iter().any(|s| s == "guilds") => b.user,
        Caller::User(_) => return discord_error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"),
        Caller::Bot => BOT_USER_ID,
    };
    let q = req.query_pairs();
    let num = |name: &str| {
        q.iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let limit = num("limit").unwrap_or(200).clamp(1, 200) as usize;
    let (before, after) = (num("before"), num("after"));
    let guilds = {
        let overlay = shared
            .rest
            .overlay
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shared.directory.user_guilds(&overlay, user)
    };
    let page = guilds
        .into_iter()
        .filter(|g| after.is_none_or(|a| g.id > a) && before.is_none_or(|b| g.id < b))
        .take(limit);
    let mut list = Vec::new();
    for ug in page {
        let Some(g) = shared.directory.guild(ug.id) else {
            continue;
        };
        let full: Value =
            serde_json::from_str(&crate::workload::guild_update(g)).unwrap_or(Value::Null);
        list.push(serde_json::json!({
            "id": ug.id.to_string(),
            "name": full["name"],
            "icon": full["icon"],
            "banner": full["banner"],
            "owner": ug.owner,
            "permissions": ug.permissions.to_string(),
            "features": full["features"],
            "approximate_member_count": g.members.len(),
        }));
    }
    json(StatusCode::OK, Value::Array(list).to_string())
}

fn gateway_bot(shared: &Shared) -> HttpResponse {
    let body = serde_json::json!({
        "url": shared.url,
        "shards": shared.config.total_shards,
        "session_start_limit": {
            "total": 1000,
            "remaining": 1000,
            "reset_after": 86_400_000,
            "max_concurrency": 1,
        },
    });
    json(StatusCode::OK, body.to_string())
}

fn action(shared: &Shared, req: &HttpRequest, path: &str, m: Matched) -> HttpResponse {
    let body: Option<Value> = if req.body.is_empty() {
        None
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => Some(v),
            Err(_) => {
                return discord_error(
                    StatusCode::BAD_REQUEST,
                    50109,
                    "The request body contains invalid JSON.",
                )
            }
        }
    };
    let outcome = {
        let mut overlay = shared
            .rest
            .overlay
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        apply(&shared.directory, &mut overlay, m, body.as_ref())
    };
    match outcome {
        Ok(done) => {
            for (guild, t, d) in done.dispatches {
                let shard = ((guild >> 22) % u64::from(shared.config.total_shards.max(1))) as u32;
                shared.feeds.push(shard, t, d);
            }
            let reason = req.header("x-audit-log-reason").map(|r| {
                percent_encoding::percent_decode_str(r)
                    .decode_utf8_lossy()
                    .into_owned()
            });
            shared.rest.record(RestAction {
                route: m.route,
                method: req.method.to_string(),
                path: path.to_owned(),
                ids: m.ids,
                body,
                reason,
                at: SystemTime::now(),
            });
            match done.response {
                Some(body) => json(StatusCode::OK, body),
                None => no_content(),
            }
        }
        Err((status, code, message)) => discord_error(status, code, message),
    }
}

/// What an accepted action answers and which dispatches it causes (guild, type, `d`).
struct Done {
    response: Option<String>,
    dispatches: Vec<(u64, &'static str, String)>,
}

type Refusal = (StatusCode, u32, &'static str);

const UNKNOWN_GUILD: Refusal = (StatusCode::NOT_FOUND, 10004, "Unknown Guild");
const UNKNOWN_MEMBER: Refusal = (StatusCode::NOT_FOUND, 10007, "Unknown Member");
const UNKNOWN_CHANNEL: Refusal = (StatusCode::NOT_FOUND, 10003, "Unknown Channel");
const UNKNOWN_MESSAGE: Refusal = (StatusCode::NOT_FOUND, 10008, "Unknown Message");
const UNKNOWN_ROLE: Refusal = (StatusCode::NOT_FOUND, 10011, "Unknown Role");
const INVALID_FORM: Refusal = (StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
/// Discord caps a timeout at 28 days from now.
const MAX_TIMEOUT_MS: i64 = 28 * 86_400_000;

fn apply(
    dir: &Directory,
    overlay: &mut Overlay,
    m: Matched,
    body: Option<&Value>,
) -> Result<Done, Refusal> {
    let [a, b, c] = m.ids;
    let done = |dispatches| Done {
        response: None,
        dispatches,
    };
    match m.route {
        RestRoute::DeleteMessage => {
            let g = dir.guild_of_channel(a).ok_or(UNKNOWN_CHANNEL)?;
            // Generated message ids are not kept: any id counts once.
            if !overlay.deleted_messages.insert((a, b)) {
                return Err(UNKNOWN_MESSAGE);
            }
            Ok(done(vec![(
                g.id,
                "MESSAGE_DELETE",
                message_delete(g.id, a, b),
            )]))
        }
        RestRoute::ModifyMember => {
            dir.guild(a).ok_or(UNKNOWN_GUILD)?;
            let (g, mut member) = dir.member(overlay, a, b).ok_or(UNKNOWN_MEMBER)?;
            member.roles = Directory::mask(overlay, g, &member);
            let fields = body.and_then(Value::as_object);
            if let Some(roles) = fields.and_then(|f| f.get("roles")) {
                let ids = roles.as_array().ok_or(INVALID_FORM)?;
                let mut mask = 0u64;
                for id in ids {
                    let id: u64 = id
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or(INVALID_FORM)?;
                    let slot = role_slot(g, id)?;
                    mask |= 1 << slot;
                }
                member.roles = mask;
                overlay.roles.insert((a, b), mask);
            }
            if let Some(until) = fields.and_then(|f| f.get("communication_disabled_until")) {
                let until = match until {
                    Value::Null => None,
                    Value::String(s) => {
                        let ms = crate::decode::parse_rfc3339_ms(s).ok_or(INVALID_FORM)?;
                        if ms > now_ms() + MAX_TIMEOUT_MS {
                            return Err(INVALID_FORM);
                        }
                        Some(s.clone())
                    }
                    _ => return Err(INVALID_FORM),
                };
                overlay.timeouts.insert((a, b), until);
            }
            let mut d = member_event(g, &member);
            if let Some(Some(until)) = overlay.timeouts.get(&(a, b)) {
                d = d.replace(
                    "\"communication_disabled_until\":null",
                    &format!(
                        "\"communication_disabled_until\":{}",
                        Value::from(until.as_str())
                    ),
                );
            }
            Ok(Done {
                response: Some(d.clone()),
                dispatches: vec![(a, "GUILD_MEMBER_UPDATE", d)],
            })
        }
        RestRoute::RemoveMember => {
            dir.guild(a).ok_or(UNKNOWN_GUILD)?;
            let (g, member) = dir.member(overlay, a, b).ok_or(UNKNOWN_MEMBER)?;
            let d = member_remove(g, &member);
            overlay.removed.insert((a, b));
            Ok(done(vec![(a, "GUILD_MEMBER_REMOVE", d)]))
        }
        RestRoute::CreateBan => {
            let g = dir.guild(a).ok_or(UNKNOWN_GUILD)?;
            let mut dispatches = Vec::new();
            if let Some((g, member)) = dir.member(overlay, a, b) {
                dispatches.push((a, "GUILD_MEMBER_REMOVE", member_remove(g, &member)));
            }
            let mut user = String::new();
            push_user(&mut user, b, false);
            dispatches.push((
                g.id,
                "GUILD_BAN_ADD",
                format!("{{\"guild_id\":\"{a}\",\"user\":{user}}}"),
            ));
            overlay.removed.insert((a, b));
            overlay.bans.insert((a, b));
            Ok(done(dispatches))
        }
        RestRoute::AddMemberRole | RestRoute::RemoveMemberRole => {
            dir.guild(a).ok_or(UNKNOWN_GUILD)?;
            let (g, mut member) = dir.member(overlay, a, b).ok_or(UNKNOWN_MEMBER)?;
            let slot = role_slot(g, c)?;
            let mask = Directory::mask(overlay, g, &member);
            member.roles = if m.route == RestRoute::AddMemberRole {
                mask | 1 << slot
            } else {
                mask & !(1 << slot)
            };
            overlay.roles.insert((a, b), member.roles);
            Ok(done(vec![(
                a,
                "GUILD_MEMBER_UPDATE",
                member_event(g, &member),
            )]))
        }
        RestRoute::GatewayBot | RestRoute::CurrentUser | RestRoute::CurrentUserGuilds => {
            Err((StatusCode::NOT_FOUND, 0, "404: Not Found"))
        }
    }
}

/// The mask slot of a live, assignable role: not @everyone, and not a bot's managed role
/// (Discord refuses those with Missing Permissions).
fn role_slot(g: &crate::workload::Guild, role: u64) -> Result<usize, Refusal> {
    let (slot, r) = g
        .roles
        .iter()
        .enumerate()
        .find(|(i, r)| *i != 0 && *i < 64 && r.id == role && !r.deleted)
        .ok_or(UNKNOWN_ROLE)?;
    if r.bot.is_some() {
        return Err((StatusCode::FORBIDDEN, 50013, "Missing Permissions"));
    }
    Ok(slot)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
