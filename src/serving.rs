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

impl ApiServer {
    /// Binds `listen` and serves `ctx` on it.
    pub async fn start(listen: SocketAddr, ctx: ApiContext) -> anyhow::Result<ApiServer> {
        let listener = guildflow_api::bind(listen)
            .await
            .with_context(|| format!("cannot serve the API on {listen}"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(guildflow_api::serve_listener(listener, ctx, async move {
            let _ = stopped.await;
        }));
        Ok(ApiServer { addr, stop, task })
    }

    /// Stops accepting, lets requests in flight finish, closes websockets.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(())
    }
}
