//! [`DataflowControl`]: the running dataflow shared by the pipeline (which feeds it) and the
//! admin plane (which configures it live).

use crate::error::AdminError;
use crate::plane::PipelineControl;
use guildflow_dataflow::automod::AutomodConfig;
use guildflow_dataflow::runtime::Dataflow;
use guildflow_dataflow::settings::GuildSettings;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The running dataflow, shared by the pipeline (which feeds it) and the admin plane (which
/// configures it); None once the pipeline has taken it back to finish it.
#[derive(Clone)]
pub struct DataflowControl(Arc<Mutex<Option<Dataflow>>>);

impl DataflowControl {
    /// Shares `dataflow`.
    pub fn new(dataflow: Dataflow) -> Self {
        DataflowControl(Arc::new(Mutex::new(Some(dataflow))))
    }

    /// The dataflow, while it runs.
    pub fn lock(&self) -> MutexGuard<'_, Option<Dataflow>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the dataflow back (to finish it); later configuration is refused.
    pub fn take(&self) -> Option<Dataflow> {
        self.lock().take()
    }

    fn with(&self, f: impl FnOnce(&mut Dataflow)) -> Result<(), AdminError> {
        match self.lock().as_mut() {
            Some(dataflow) => {
                f(dataflow);
                Ok(())
            }
            None => Err(AdminError::PipelineStopped),
        }
    }
}

impl PipelineControl for DataflowControl {
    fn configure(&self, guild: u64, settings: GuildSettings) -> Result<(), AdminError> {
        self.with(|d| d.configure(guild, settings))
    }

    fn configure_automod(&self, guild: u64, config: AutomodConfig) -> Result<(), AdminError> {
        let mut result = Ok(());
        self.with(|d| {
            result = d
                .configure_automod(guild, config)
                .map_err(|e| AdminError::Invalid {
                    code: "invalid_rule",
                    message: e.to_string(),
                })
        })?;
        result
    }

    fn warn(&self, guild: u64, user: u64, channel: u64, at: i64) -> Result<(), AdminError> {
        self.with(|d| d.warn(guild, user, channel, at))
    }
}
