//! The admin plane of a running pipeline: its journal in the data directory, its hold on the
//! dataflow (settings, rules and warnings apply live), and the executor of automod actions.

use anyhow::Context;
use guildflow_admin::{
    ActionExecutor, AdminError, AdminPlane, ExecutorConfig, FileJournal, PipelineControl,
};
use guildflow_dataflow::automod::AutomodConfig;
use guildflow_dataflow::runtime::Dataflow;
use guildflow_dataflow::settings::GuildSettings;
use guildflow_dataflow::state::{Listening, StateEvent, StatsState};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The running dataflow, shared by the pipeline (which feeds it) and the admin plane (which
/// configures it); None once the pipeline has taken it back to finish it.
#[derive(Clone)]
pub struct SharedDataflow(Arc<Mutex<Option<Dataflow>>>);

impl SharedDataflow {
    /// Shares `dataflow`.
    pub fn new(dataflow: Dataflow) -> Self {
        SharedDataflow(Arc::new(Mutex::new(Some(dataflow))))
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

impl PipelineControl for SharedDataflow {
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

/// Opens the admin plane of data directory `data` (`data/admin/admin.jsonl`) and gives the
/// dataflow every guild's settings and rules, before any event is fed.
pub fn open_admin(data: &Path, dataflow: &SharedDataflow) -> anyhow::Result<AdminPlane> {
    let journal = FileJournal::open(&data.join("admin"))
        .with_context(|| format!("cannot open the admin journal under {}", data.display()))?;
    let plane = AdminPlane::open(Box::new(journal)).context("cannot load the admin journal")?;
    plane.attach(Arc::new(dataflow.clone()))?;
    Ok(plane)
}

/// Starts executing the automod actions the dataflow decides from now on, through the REST
/// API at `rest_url` with the bot `token`. Keep the returned listener alive.
pub fn start_executor(
    plane: &AdminPlane,
    state: &StatsState,
    token: &str,
    rest_url: &str,
) -> anyhow::Result<(ActionExecutor, Listening)> {
    let http = ActionExecutor::client(token, rest_url)?;
    let executor = ActionExecutor::start(plane.clone(), Arc::new(http), ExecutorConfig::default());
    let submit = executor.clone();
    let listening = state.listen(move |event| {
        if let StateEvent::Automod(action) = event {
            submit.submit(action.clone());
        }
    });
    Ok((executor, listening))
}
