//! The HTTP API of a running command: bound before the pipeline starts (so a bad address
//! fails at once and port 0 can be printed), stopped gracefully when the command ends.

use anyhow::Context;
use guildflow_api::ApiContext;
use std::net::SocketAddr;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A serving API.
pub struct ApiServer {
    /// The bound address.
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), guildflow_api::ApiError>>,
}

/// A bound, not yet serving, API address (the login redirect needs the address first).
pub struct BoundApi {
    /// The bound address.
    pub addr: SocketAddr,
    listener: tokio::net::TcpListener,
}

impl BoundApi {
    /// Binds `listen`.
    pub async fn bind(listen: SocketAddr) -> anyhow::Result<BoundApi> {
        let listener = guildflow_api::bind(listen)
            .await
            .with_context(|| format!("cannot serve the API on {listen}"))?;
        Ok(BoundApi {
            addr: listener.local_addr()?,
            listener,
        })
    }

    /// Serves `ctx`.
    pub fn serve(self, ctx: ApiContext) -> ApiServer {
        ApiServer::on(self, ctx)
    }
}

impl ApiServer {
    /// Binds `listen` and serves `ctx` on it.
    pub async fn start(listen: SocketAddr, ctx: ApiContext) -> anyhow::Result<ApiServer> {
        Ok(BoundApi::bind(listen).await?.serve(ctx))
    }

    fn on(bound: BoundApi, ctx: ApiContext) -> ApiServer {
        let BoundApi { addr, listener } = bound;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(guildflow_api::serve_listener(listener, ctx, async move {
            let _ = stopped.await;
        }));
        ApiServer { addr, stop, task }
    }

    /// Stops accepting, lets requests in flight finish, closes websockets.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(())
    }
}
