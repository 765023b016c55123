//! The admin plane's routes (docs/MODERATION.md): settings, automod rules, warnings,
//! moderation and audit logs, opt-outs, and `GET /api/guilds`. The guard has already
//! authenticated and authorized the caller for the guild (and checked CSRF); here the caller
//! is only read again to name the actor in the audit log.

use super::{json_response, problem_response, response};
use crate::models::error::Problem;
use crate::models::ids::parse_id;
use crate::shared::Shared;
use bytes::Bytes;
use guildflow_admin::{
    presets, run_test, ActionSource, AdminError, AdminPlane, ModerationEntry, ModerationFilter,
    PageRequest, RuleTest, SettingsPatch, MAX_PAGE,
};
use guildflow_dataflow::automod::EscalationStep;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;

/// One admin operation, recognised from the path under `/api/guilds/{guild}/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Settings,
    Rules,
    RuleTest,
    Rule(u64),
    Escalation,
    Presets,
    Warnings,
    Warning(u64),
    ModerationLogs,
    AuditLogs,
    OptOut(u64),
    Erase(u64),
    OptOuts,
    /// A well-formed admin path with a bad id in it.
    BadId(&'static str),
}

impl Op {
    /// The operation of `tail` (the path after the guild id), or None for other routes.
    pub(crate) fn recognize(tail: &str) -> Option<Op> {
        let parts: Vec<&str> = tail.trim_end_matches('/').split('/').collect();
        let id = |what: &'static str, raw: &str, op: fn(u64) -> Op| match parse_id(what, raw) {
            Ok(id) => op(id),
            Err(_) => Op::BadId(what),
        };
        Some(match parts.as_slice() {
            ["settings"] => Op::Settings,
            ["automod", "rules"] => Op::Rules,
            ["automod", "rules", "test"] => Op::RuleTest,
            ["automod", "rules", raw] => id("rule", raw, Op::Rule),
            ["automod", "escalation"] => Op::Escalation,
            ["automod", "presets"] => Op::Presets,
            ["warnings"] => Op::Warnings,
            ["warnings", raw] => id("warning", raw, Op::Warning),
            ["moderation", "logs"] => Op::ModerationLogs,
            ["audit", "logs"] => Op::AuditLogs,
            ["members", raw, "opt-out"] => id("user", raw, Op::OptOut),
            ["members", raw, "erase"] => id("user", raw, Op::Erase),
            ["opt-outs"] => Op::OptOuts,
            _ => return None,
        })
    }

    /// Methods the operation answers.
    fn methods(self) -> &'static [Method] {
        match self {
            Op::Settings => &[Method::GET, Method::PATCH],
            Op::Rules | Op::Warnings => &[Method::GET, Method::POST],
            Op::RuleTest | Op::Erase(_) => &[Method::POST],
            Op::Rule(_) => &[Method::GET, Method::PATCH, Method::DELETE],
            Op::Escalation => &[Method::GET, Method::PUT],
            Op::Warning(_) => &[Method::DELETE],
            Op::OptOut(_) => &[Method::GET, Method::PUT, Method::DELETE],
            Op::Presets | Op::ModerationLogs | Op::AuditLogs | Op::OptOuts | Op::BadId(_) => {
                &[Method::GET]
            }
        }
    }
}

/// A request to an admin route.
pub(crate) struct AdminCall {
    pub guild: String,
    pub op: Op,
    pub method: Method,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

/// Answers an admin request.
pub(crate) async fn admin(shared: Arc<Shared>, call: AdminCall) -> Response {
    match answer(shared, call).await {
        Ok(response) => response,
        Err(problem) => problem_response(&problem),
    }
}

async fn answer(shared: Arc<Shared>, call: AdminCall) -> Result<Response, Problem> {
    let guild = parse_id("guild", &call.guild)?;
    if let Op::BadId(what) = call.op {
        return Err(Problem::bad_request(
            "invalid_id",
            format!("{what} id must be a positive decimal number"),
        ));
    }
    if !call.op.methods().contains(&call.method) {
        return Err(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "this route answers {}",
                call.op
                    .methods()
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    // JSON only: a cross-site HTML form cannot send it without a CORS preflight, which keeps
    // writes safe even on a server without login.
    let writes = matches!(call.method, Method::POST | Method::PATCH | Method::PUT);
    let json = call
        .headers
        .get(warp::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if writes && !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json (an empty body is fine where none is needed)",
        ));
    }
    // Without login, writes come only from this machine: a page whose domain was rebound to a
    // loopback address would otherwise be same-origin with the server.
    let changes = writes || call.method == Method::DELETE;
    if changes && shared.ctx.auth.is_none() && !loopback_host(&call.headers) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "without login (--discord-client-id), admin changes are only accepted with a \
             loopback Host (localhost, 127.0.0.1, [::1])",
        ));
    }
    let plane = shared.ctx.admin.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "admin_unavailable",
            "this server runs without the admin plane (replay): settings and moderation are \
             served by `run` and `demo`",
        )
    })?;
    let actor = shared.caller(&call.headers);
    if let Op::Erase(user) = call.op {
        // Long and asynchronous (the pipeline erases): not on a blocking thread.
        let report = plane
            .erase_member(guild, actor, user)
            .await
            .map_err(|e| match e {
                // The opt-out is saved by then; the store's erasure failed (running it again
                // finishes it) or is still going on.
                AdminError::Storage(message) => Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "erase_failed",
                    format!(
                        "the member is opted out, but erasing their events did not complete: \
                         {message}; retry to finish it"
                    ),
                ),
                other => problem(other),
            })?;
        return Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({ "user_id": user.to_string(), "opted_out": true, "erased": report }),
        ));
    }
    // Every operation may write the journal (fsync): off the async workers.
    tokio::task::spawn_blocking(move || operate(&plane, guild, actor, call))
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the admin operation failed",
            )
        })?
}

fn operate(
    plane: &AdminPlane,
    guild: u64,
    actor: Option<u64>,
    call: AdminCall,
) -> Result<Response, Problem> {
    match (call.op, call.method.clone()) {
        (Op::Settings, Method::GET) => ok(&plane.settings(guild)),
        (Op::Settings, _) => {
            let patch: SettingsPatch = parse_body(&call.body)?;
            ok(&plane
                .update_settings(guild, actor, patch)
                .map_err(problem)?)
        }
        (Op::Rules, Method::GET) => ok(&plane.automod(guild)),
        (Op::Rules, _) => {
            let body: serde_json::Value = parse_body(&call.body)?;
            let rule = plane.create_rule(guild, actor, body).map_err(problem)?;
            Ok(json_response(StatusCode::CREATED, &rule))
        }
        (Op::RuleTest, _) => {
            let test: RuleTest = parse_body(&call.body)?;
            let results = run_test(test).map_err(problem)?;
            ok(&serde_json::json!({ "results": results }))
        }
        (Op::Rule(id), Method::GET) => {
            let config = plane.automod(guild);
            let rule = config
                .rules
                .into_iter()
                .find(|r| r.id == id)
                .ok_or_else(|| problem(AdminError::NotFound { what: "rule" }))?;
            ok(&rule)
        }
        (Op::Rule(id), Method::PATCH) => {
            let body: serde_json::Value = parse_body(&call.body)?;
            ok(&plane.update_rule(guild, actor, id, body).map_err(problem)?)
        }
        (Op::Rule(id), _) => {
            plane.delete_rule(guild, actor, id).map_err(problem)?;
            Ok(no_content())
        }
        (Op::Escalation, Method::GET) => ok(&plane.automod(guild).escalation),
        (Op::Escalation, _) => {
            let steps: Vec<EscalationStep> = parse_body(&call.body)?;
            ok(&plane
                .set_escalation(guild, actor, steps)
                .map_err(problem)?
                .escalation)
        }
        (Op::Presets, _) => ok(&serde_json::json!({ "presets": presets() })),
        (Op::Warnings, Method::GET) => {
            let params = Params::parse(&call.query, &["user_id", "limit", "cursor"])?;
            let page = plane.warnings(guild, params.user, params.page);
            ok(&serde_json::json!({ "warnings": page.entries, "next_cursor": page.next_cursor }))
        }
        (Op::Warnings, _) => {
            let body: NewWarning = parse_body(&call.body)?;
            let user = parse_id("user", &body.user_id)?;
            let warning = plane
                .add_warning(guild, actor, user, body.reason.as_deref().unwrap_or(""))
                .map_err(problem)?;
            Ok(json_response(StatusCode::CREATED, &warning))
        }
        (Op::Warning(id), _) => {
            plane.revoke_warning(guild, actor, id).map_err(problem)?;
            Ok(no_content())
        }
        (Op::ModerationLogs, _) => moderation_logs(plane, guild, &call),
        (Op::AuditLogs, _) => {
            let params = Params::parse(&call.query, &["limit", "cursor"])?;
            ok(&plane.audit_log(guild, params.page))
        }
        (Op::OptOut(user), Method::GET) => ok(&serde_json::json!({
            "user_id": user.to_string(),
            "opted_out": plane.opted_out(guild).iter().any(|u| u.get() == user),
        })),
        (Op::OptOut(user), method) => {
            plane
                .set_opt_out(guild, actor, user, method == Method::PUT)
                .map_err(problem)?;
            Ok(no_content())
        }
        (Op::OptOuts, _) => ok(&serde_json::json!({ "members": plane.opted_out(guild) })),
        // Answered in `answer` before this blocking part.
        (Op::Erase(_), _) => Err(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the admin operation failed",
        )),
        (Op::BadId(_), _) => Err(Problem::bad_request("invalid_id", "bad id")),
    }
}

/// Whether the request's `Host` names this machine's loopback (any port). No `Host` (an
/// in-process client, HTTP/1.0) counts as loopback: a browser always sends one.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get(warp::http::header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn ok<T: Serialize>(body: &T) -> Result<Response, Problem> {
    Ok(json_response(StatusCode::OK, body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWarning {
    user_id: String,
    reason: Option<String>,
}

fn no_content() -> Response {
    let mut response = Response::new(Vec::new().into());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::bad_request(
            "invalid_body",
            format!("the body is not valid JSON for this route: {e}"),
        )
    })
}

/// The API answer of an admin error.
fn problem(error: AdminError) -> Problem {
    match error {
        AdminError::Invalid { code, message } => Problem::bad_request(code, message),
        AdminError::NotFound { what } => Problem::not_found(
            match what {
                "rule" => "unknown_rule",
                "warning" => "unknown_warning",
                _ => "not_found",
            },
            format!("no such {what} in this guild"),
        ),
        AdminError::Storage(message) => {
            tracing::error!(%message, "admin storage failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "admin_storage",
                "the change could not be stored; nothing was changed",
            )
        }
        AdminError::Busy(message) => Problem::rate_limited(message, 60),
        AdminError::Unavailable(message) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "erase_unavailable",
            message,
        ),
        AdminError::PipelineStopped => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "pipeline_stopped",
            "the pipeline is stopping; try again after the restart",
        ),
    }
}

/// Query parameters of the listing routes.
#[derive(Default)]
struct Params {
    user: Option<u64>,
    page: PageRequest,
    filter: ModerationFilter,
    csv: bool,
}

impl Params {
    fn parse(query: &[(String, String)], allowed: &[&str]) -> Result<Params, Problem> {
        let mut params = Params::default();
        for (name, value) in query {
            if !allowed.contains(&name.as_str()) {
                return Err(Problem::bad_request(
                    "invalid_parameter",
                    format!(
                        "unknown parameter {name:?}; this route takes {}",
                        allowed.join(", ")
                    ),
                ));
            }
            let bad =
                |what: &str| Problem::bad_request("invalid_parameter", format!("{name}: {what}"));
            match name.as_str() {
                "user_id" => {
                    let user = parse_id("user", value)?;
                    params.user = Some(user);
                    params.filter.user = Some(user);
                }
                "limit" => {
                    params.page.limit =
                        value
                            .parse()
                            .ok()
                            .filter(|n| (1..=MAX_PAGE).contains(n))
                            .ok_or_else(|| bad(&format!("a number from 1 to {MAX_PAGE}")))?;
                }
                "cursor" => {
                    params.page.cursor = Some(
                        value
                            .parse()
                            .map_err(|_| bad("a cursor from next_cursor"))?,
                    );
                }
                "action" => {
                    const ACTIONS: [&str; 5] = ["delete_message", "warn", "timeout", "kick", "ban"];
                    if !ACTIONS.contains(&value.as_str()) {
                        return Err(bad(&format!("one of {}", ACTIONS.join(", "))));
                    }
                    params.filter.action = Some(value.clone());
                }
                "source" => {
                    params.filter.source = Some(match value.as_str() {
                        "automod" => ActionSource::Automod,
                        "manual" => ActionSource::Manual,
                        _ => return Err(bad("automod or manual")),
                    });
                }
                "from" | "to" => {
                    let ms =
                        parse_time(value).ok_or_else(|| bad("RFC 3339 or Unix milliseconds"))?;
                    if name == "from" {
                        params.filter.from_ms = Some(ms);
                    } else {
                        params.filter.to_ms = Some(ms);
                    }
                }
                "format" => match value.as_str() {
                    "csv" => params.csv = true,
                    "json" => params.csv = false,
                    _ => return Err(bad("csv or json")),
                },
                _ => {}
            }
        }
        Ok(params)
    }
}

fn parse_time(value: &str) -> Option<i64> {
    value.parse::<i64>().ok().or_else(|| {
        chrono::DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

/// Rows of a CSV export at most (the JSON route pages instead).
const CSV_ROWS: usize = 100_000;

fn moderation_logs(plane: &AdminPlane, guild: u64, call: &AdminCall) -> Result<Response, Problem> {
    let mut params = Params::parse(
        &call.query,
        &[
            "user_id", "action", "source", "from", "to", "limit", "cursor", "format",
        ],
    )?;
    // `format` wins; else an `Accept` naming text/csv.
    let wants_csv = if call.query.iter().any(|(k, _)| k == "format") {
        params.csv
    } else {
        call.headers
            .get(warp::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .filter_map(|t| t.split(';').next())
                    .any(|t| t.trim() == "text/csv")
            })
    };
    if !wants_csv {
        return Ok(json_response(
            StatusCode::OK,
            &plane.moderation_log(guild, &params.filter, params.page),
        ));
    }
    // CSV: every matching entry (newest first), page after page.
    let mut rows = Vec::new();
    params.page.limit = MAX_PAGE;
    loop {
        let page = plane.moderation_log(guild, &params.filter, params.page);
        rows.extend(page.entries);
        match page.next_cursor.and_then(|c| c.parse().ok()) {
            Some(cursor) if rows.len() < CSV_ROWS => params.page.cursor = Some(cursor),
            _ => break,
        }
    }
    let mut out = response(StatusCode::OK, "text/csv; charset=utf-8", csv(&rows));
    if let Ok(value) = warp::http::HeaderValue::from_str(&format!(
        "attachment; filename=\"moderation-{guild}.csv\""
    )) {
        out.headers_mut()
            .insert(warp::http::header::CONTENT_DISPOSITION, value);
    }
    Ok(out)
}

fn csv(entries: &[ModerationEntry]) -> String {
    let mut out = String::from(
        "id,at,user_id,action,seconds,source,rule_id,rule_name,status,error,moderator_id,channel_id,message_id,reason,evidence\n",
    );
    for e in entries {
        let evidence = e
            .evidence
            .as_ref()
            .map(|ev| format!("{}: {}", ev.trigger, ev.detail))
            .unwrap_or_default();
        let fields = [
            e.id.to_string(),
            e.at.clone(),
            e.user_id.to_string(),
            e.action.clone(),
            e.seconds.map(|s| s.to_string()).unwrap_or_default(),
            json_name(&e.source),
            e.rule_id.map(|r| r.to_string()).unwrap_or_default(),
            e.rule_name.clone().unwrap_or_default(),
            json_name(&e.status),
            e.error.clone().unwrap_or_default(),
            e.moderator_id.map(|m| m.to_string()).unwrap_or_default(),
            e.channel_id.map(|c| c.to_string()).unwrap_or_default(),
            e.message_id.map(|m| m.to_string()).unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            evidence,
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn json_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet
/// never runs a member's text as a formula.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// `GET /api/guilds`: the guilds the caller may administer (every known guild without
/// authentication), with their name and member count when known.
pub(crate) fn guilds(shared: &Shared, headers: &HeaderMap) -> Response {
    let known: Vec<u64> = match &shared.ctx.auth {
        Some(auth) => match auth.authenticate(headers) {
            Ok(principal) => auth.visible_guilds(&principal),
            Err(problem) => return problem_response(&problem),
        },
        None => shared.ctx.state.read().guilds(),
    };
    let published = shared.ctx.state.read();
    let guilds: Vec<serde_json::Value> = known
        .into_iter()
        .map(|id| {
            let name = shared
                .ctx
                .directory
                .as_ref()
                .or_else(|| shared.ctx.auth.as_ref().map(|a| &a.directory))
                .and_then(|directory| directory.name(id));
            let members = published
                .has_guild(id)
                .then(|| published.guild_stats(id).member_count)
                .flatten();
            serde_json::json!({ "id": id.to_string(), "name": name, "members": members })
        })
        .collect();
    json_response(StatusCode::OK, &serde_json::json!({ "guilds": guilds }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_recognised() {
        assert_eq!(Op::recognize("settings"), Some(Op::Settings));
        assert_eq!(Op::recognize("automod/rules/7"), Some(Op::Rule(7)));
        assert_eq!(Op::recognize("automod/rules/x"), Some(Op::BadId("rule")));
        assert_eq!(Op::recognize("members/12/opt-out"), Some(Op::OptOut(12)));
        assert_eq!(Op::recognize("members/12/stats"), None);
        assert_eq!(Op::recognize("leaderboard"), None);
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
