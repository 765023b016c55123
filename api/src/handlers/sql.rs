//! `POST /api/guilds/{guild}/sql`: one read-only query over the guild's stored events, as
//! JSON, CSV or Arrow IPC (docs/API.md, docs/SQL.md).

use super::{bytes_response, problem_response};
use crate::models::error::Problem;
use crate::models::ids::parse_id;
use crate::models::sql::{sql_problem, sql_unavailable, ResultFormat, SqlRequest};
use crate::shared::Shared;
use guildflow_queries::{QueryOutput, SqlError};
use std::sync::Arc;
use std::time::Instant;
use warp::http::header::{HeaderValue, CONTENT_DISPOSITION};
use warp::http::StatusCode;
use warp::reply::Response;

/// The request as the route extracts it.
#[derive(Debug)]
pub(crate) struct SqlCall {
    pub guild: String,
    pub client: crate::shared::Client,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub body: bytes::Bytes,
}

/// The handler.
pub(crate) async fn sql(shared: Arc<Shared>, call: SqlCall) -> Response {
    match answer(&shared, call).await {
        Ok(response) => response,
        Err(problem) => problem_response(&problem),
    }
}

async fn answer(shared: &Arc<Shared>, call: SqlCall) -> Result<Response, Problem> {
    let guild = parse_id("guild", &call.guild)?;
    let service = shared.ctx.sql.clone().ok_or_else(sql_unavailable)?;
    let request = SqlRequest::parse(call.content_type.as_deref(), &call.body)?;
    let format = ResultFormat::negotiate(call.accept.as_deref())?;
    let _permit = shared.admit_query(call.client, guild, Instant::now())?;
    let output = service
        .run(guild, &request.sql)
        .await
        .map_err(|e| sql_problem(&e))?;
    // Encoding up to the result byte cap takes a while: keep it off the API's threads.
    let encoded = tokio::task::spawn_blocking(move || encode(&output, format))
        .await
        .map_err(|e| sql_problem(&SqlError::Internal(format!("encoding task: {e}"))))?
        .map_err(|e| sql_problem(&e))?;
    let (body, truncated) = encoded;
    let mut response = bytes_response(StatusCode::OK, format.content_type(), body);
    let headers = response.headers_mut();
    // CSV and Arrow have no room for the flag the JSON body carries.
    headers.insert(
        "x-guildflow-truncated",
        HeaderValue::from_static(if truncated { "true" } else { "false" }),
    );
    if format == ResultFormat::Csv {
        if let Ok(value) =
            HeaderValue::from_str(&format!("attachment; filename=\"query-{guild}.csv\""))
        {
            headers.insert(CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

fn encode(output: &QueryOutput, format: ResultFormat) -> Result<(Vec<u8>, bool), SqlError> {
    let body = match format {
        ResultFormat::Json => serde_json::to_vec(&output.to_json()?)
            .map_err(|e| SqlError::Internal(format!("JSON encoding: {e}")))?,
        ResultFormat::Csv => output.to_csv()?,
        ResultFormat::Arrow => output.to_arrow_ipc()?,
    };
    Ok((body, output.truncated))
}
