//! Erasing a member's stored events from the admin plane: the member is opted out first (so
//! nothing new of theirs is counted or kept in the views), then the pipeline that owns the
//! store erases their rows and log records ([`EraseRequest`]), and the outcome is audited.

use crate::error::AdminError;
use crate::journal::Change;
use crate::plane::AdminPlane;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Longest an erasure may take before the route stops waiting (it goes on, and is audited).
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

    /// Opts `user` out of statistics, erases their stored events (and their warnings and
    /// moderation entries), and audits it; returns the store's report. One erasure at a time
    /// ([`AdminError::Busy`] otherwise): it pauses ingestion. It runs on a task of its own, so
    /// a client going away never leaves an erasure unaudited.
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
        if self.inner.erasing.swap(true, Ordering::AcqRel) {
            return Err(AdminError::Busy(
                "another erasure is running; retry in a minute".into(),
            ));
        }
        let plane = self.clone();
        let task = tokio::spawn(async move {
            let outcome = plane.erase_now(eraser, guild, actor, user).await;
            plane.inner.erasing.store(false, Ordering::Release);
            outcome
        });
        match tokio::time::timeout(ERASE_TIMEOUT, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => Err(AdminError::Storage(e.to_string())),
            Err(_) => Err(AdminError::Storage(format!(
                "no answer within {} s (the erasure goes on in the pipeline and is audited when done)",
                ERASE_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn erase_now(
        &self,
        eraser: mpsc::Sender<EraseRequest>,
        guild: u64,
        actor: Option<u64>,
        user: u64,
    ) -> Result<serde_json::Value, AdminError> {
        let plane = self.clone();
        blocking(move || plane.set_opt_out(guild, actor, user, true)).await?;
        let (reply, answer) = oneshot::channel();
        eraser
            .send(EraseRequest { guild, user, reply })
            .await
            .map_err(|_| AdminError::PipelineStopped)?;
        let report = match answer.await {
            Ok(Ok(report)) => report,
            Ok(Err(message)) => return Err(AdminError::Storage(message)),
            Err(_) => return Err(AdminError::PipelineStopped),
        };
        let plane = self.clone();
        let detail = report.clone();
        blocking(move || {
            let mut state = plane.state();
            plane.commit(&mut state, Change::MemberErased { guild, user })?;
            drop(state);
            plane.audit_erase(guild, actor, user, detail)
        })
        .await?;
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
