//! Binding and serving, with graceful shutdown.

use crate::context::ApiContext;
use crate::error::ApiError;
use crate::filters::build;
use crate::shared::Shared;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Binds `listen` (port 0 picks a free port; read it with `local_addr`).
///
/// # Errors
///
/// [`ApiError::Bind`] when the address cannot be bound.
pub async fn bind(listen: SocketAddr) -> Result<TcpListener, ApiError> {
    TcpListener::bind(listen)
        .await
        .map_err(|source| ApiError::Bind {
            addr: listen,
            source,
        })
}

/// Binds `listen` and serves the API until `shutdown` completes.
///
/// # Errors
///
/// [`ApiError::Bind`] when the address cannot be bound.
pub async fn serve(
    listen: SocketAddr,
    ctx: ApiContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    let listener = bind(listen).await?;
    serve_listener(listener, ctx, shutdown).await
}

/// Serves the API on an already bound listener until `shutdown` completes: new connections
/// stop, websocket clients get a close frame (1001), and in-flight requests finish.
///
/// # Errors
///
/// [`ApiError::LocalAddr`] if the listener cannot tell its address.
pub async fn serve_listener(
    listener: TcpListener,
    ctx: ApiContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    let addr = listener.local_addr().map_err(ApiError::LocalAddr)?;
    let shared = Shared::new(ctx);
    let routes = build(std::sync::Arc::clone(&shared));
    let notify = std::sync::Arc::clone(&shared);
    tracing::info!(%addr, "API listening");
    warp::serve(routes)
        .incoming(listener)
        .graceful(async move {
            shutdown.await;
            // Websocket sessions outlive their HTTP connection: tell them separately.
            notify.shutdown.send_replace(true);
        })
        .run()
        .await;
    tracing::info!(%addr, "API stopped");
    Ok(())
}
