//! `GET /api/guilds/{guild}/names?users=1,2&channels=3`: the names to show for ids (members'
//! nickname, display name or username; channels' names), from the live guild state. Unknown
//! ids are left out; at most 500 ids per request.

use super::{json_response, problem_response};
use crate::models::error::Problem;
use crate::models::ids::parse_id;
use crate::shared::Shared;
use std::collections::BTreeMap;
use warp::http::StatusCode;
use warp::reply::Response;

/// Ids one request may ask for.
pub const MAX_NAMES: usize = 500;

/// Answers the route.
pub(crate) fn names(shared: &Shared, guild: &str, params: &[(String, String)]) -> Response {
    match answer(shared, guild, params) {
        Ok(response) => response,
        Err(problem) => problem_response(&problem),
    }
}

fn answer(shared: &Shared, guild: &str, params: &[(String, String)]) -> Result<Response, Problem> {
    let guild = parse_id("guild", guild)?;
    let (mut users, mut channels) = (Vec::new(), Vec::new());
    for (name, value) in params {
        let list = match name.as_str() {
            "users" => &mut users,
            "channels" => &mut channels,
            _ => {
                return Err(Problem::bad_request(
                    "invalid_parameter",
                    format!("unknown parameter {name:?}; this route takes users, channels"),
                ))
            }
        };
        for raw in value.split(',').filter(|s| !s.is_empty()) {
            list.push(parse_id(
                if name == "users" { "user" } else { "channel" },
                raw,
            )?);
        }
    }
    if users.len() + channels.len() > MAX_NAMES {
        return Err(Problem::bad_request(
            "invalid_parameter",
            format!("at most {MAX_NAMES} ids per request"),
        ));
    }
    let directory = shared
        .ctx
        .directory
        .as_ref()
        .or_else(|| shared.ctx.auth.as_ref().map(|a| &a.directory));
    let (users, channels) = match directory {
        Some(d) => d.names(guild, &users, &channels),
        None => (Vec::new(), Vec::new()),
    };
    let as_map = |pairs: Vec<(u64, String)>| -> BTreeMap<String, String> {
        pairs
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect()
    };
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "users": as_map(users), "channels": as_map(channels) }),
    ))
}
