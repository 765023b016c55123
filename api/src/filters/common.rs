//! Filters shared by the routes.

use crate::handlers::errors::{BodyTooLarge, Refusal};
use crate::shared::{Client, Shared};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use warp::filters::path::FullPath;
use warp::http::HeaderMap;
use warp::Filter;

/// Hands the instance state to a handler.
pub(crate) fn with_shared(
    shared: &Arc<Shared>,
) -> impl Filter<Extract = (Arc<Shared>,), Error = Infallible> + Clone {
    let shared = Arc::clone(shared);
    warp::any().map(move || Arc::clone(&shared))
}

/// Rejects, before routing, a body over `limit` bytes or one without a length (chunked): no
/// route reads a body, and none should make the server read an unbounded one.
pub(crate) fn body_limit(limit: u64) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::header::optional::<String>("transfer-encoding"))
        .and_then(
            move |length: Option<u64>, chunked: Option<String>| async move {
                if length.is_some_and(|n| n > limit) || chunked.is_some() {
                    Err(warp::reject::custom(BodyTooLarge { limit }))
                } else {
                    Ok(())
                }
            },
        )
        .untuple_one()
}

/// The body, read up to `limit` bytes: beyond, the request is refused (413) without reading
/// the rest. The headers are checked by [`body_limit`] first; this bounds what a body without
/// a length (HTTP/2 DATA frames) can make the server buffer.
pub(crate) fn capped_body(
    limit: u64,
) -> impl Filter<Extract = (bytes::Bytes,), Error = warp::Rejection> + Clone {
    warp::body::stream().and_then(move |stream| collect(stream, limit))
}

async fn collect<B: warp::Buf>(
    stream: impl futures_util::Stream<Item = Result<B, warp::Error>>,
    limit: u64,
) -> Result<bytes::Bytes, warp::Rejection> {
    use futures_util::StreamExt;
    let mut stream = Box::pin(stream);
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|_| warp::reject::custom(BodyTooLarge { limit }))?;
        if body.len() as u64 + chunk.remaining() as u64 > limit {
            return Err(warp::reject::custom(BodyTooLarge { limit }));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            body.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Ok(body.freeze())
}

/// The query string as (name, value) pairs, in order; empty when there is none.
pub(crate) fn query_pairs(
) -> impl Filter<Extract = (Vec<(String, String)>,), Error = warp::Rejection> + Clone {
    warp::query::<Vec<(String, String)>>()
}

/// Rejects, before routing, an `/api/` request over its client's budget (429): routing,
/// validation and 404s cost too, so the limit comes first.
pub(crate) fn client_limit(
    shared: &Arc<Shared>,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::path::full()
        .and(warp::addr::remote())
        .and(warp::header::headers_cloned())
        .and(with_shared(shared))
        .and_then(
            |path: FullPath,
             remote: Option<SocketAddr>,
             headers: HeaderMap,
             shared: Arc<Shared>| async move {
                shared
                    .admit_request(path.as_str(), remote, &headers, Instant::now())
                    .map_err(|problem| warp::reject::custom(Refusal(problem)))
            },
        )
        .untuple_one()
}

/// Who is asking: the peer address, and the signed-in user when authentication is on (for
/// the per-user budgets of store queries).
pub(crate) fn client(
    shared: &Arc<Shared>,
) -> impl Filter<Extract = (Client,), Error = Infallible> + Clone {
    warp::addr::remote()
        .and(warp::header::headers_cloned())
        .and(with_shared(shared))
        .map(
            |addr: Option<SocketAddr>, headers: HeaderMap, shared: Arc<Shared>| Client {
                addr,
                user: shared.caller(&headers),
            },
        )
}
