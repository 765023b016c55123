//! Erasing a member's stored events from the admin plane: the member is opted out first (so
//! nothing new of theirs is counted or kept in the views), then the pipeline that owns the
//! store erases their rows and log records ([`EraseRequest`]), and the outcome is audited.

use crate::error::AdminError;
use crate::plane::AdminPlane;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Longest an erasure may take before the route gives up waiting (it goes on regardless).
pub const ERASE_TIMEOUT: Duration = Duration::from_secs(300);

/// A request to erase member `user` of guild `guild`, served by whoever owns the store; the
/// reply is the store's report as JSON, or why it failed.
#[derive(Debug)]
pub struct EraseRequest {
    /// Guild.
    pub guild: u64,
    /// Member.
    pub user: u64,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Result<serde_json::Value, String>>,
}

impl AdminPlane {
    /// Routes erase requests to the store's owner (the pipeline). Without it, erasing answers
    /// [`AdminError::Unavailable`].
    pub fn set_eraser(&self, eraser: mpsc::Sender<EraseRequest>) {
        *self
            .inner
            .eraser
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(eraser);
    }

    /// Opts `user` out of statistics, erases their stored events, and audits it; returns the
    /// store's report.
    pub async fn erase_member(
        &self,
        guild: u64,
        actor: Option<u64>,
        user: u64,
    ) -> Result<serde_json::Value, AdminError> {
        let eraser = self
            .inner
            .eraser
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                AdminError::Unavailable("this server keeps no event store to erase from".into())
            })?;
        let plane = self.clone();
        blocking(move || plane.set_opt_out(guild, actor, user, true)).await?;
        let (reply, answer) = oneshot::channel();
        eraser
            .send(EraseRequest { guild, user, reply })
            .await
            .map_err(|_| AdminError::PipelineStopped)?;
        let report = match tokio::time::timeout(ERASE_TIMEOUT, answer).await {
            Ok(Ok(Ok(report))) => report,
            Ok(Ok(Err(message))) => return Err(AdminError::Storage(message)),
            Ok(Err(_)) => return Err(AdminError::PipelineStopped),
            Err(_) => {
                return Err(AdminError::Storage(format!(
                    "no answer within {} s (the erasure goes on in the pipeline; retry later to confirm)",
                    ERASE_TIMEOUT.as_secs()
                )))
            }
        };
        let plane = self.clone();
        let detail = report.clone();
        blocking(move || plane.audit_erase(guild, actor, user, detail)).await?;
        Ok(report)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AdminError::Storage(e.to_string()))?
}
