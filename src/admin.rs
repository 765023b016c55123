//! The admin plane of a running pipeline: its journal in the data directory, its hold on the
//! dataflow (settings, rules and warnings apply live), and the executor of automod actions.

use anyhow::Context;
use guildflow_admin::{
    ActionExecutor, AdminPlane, DataflowControl, ExecutorConfig, FileJournal, Journal,
    PostgresJournal,
};
use guildflow_dataflow::state::{Listening, StateEvent, StatsState};
use std::path::Path;
use std::sync::Arc;

/// Opens the admin plane — in PostgreSQL's admin tables when `postgres` is given (migrated
/// beforehand by `guildflow migrate` or `--migrate`), else in data directory `data`
/// (`data/admin/admin.jsonl`) — and gives the dataflow every guild's settings and rules,
/// before any event is fed.
pub fn open_admin(
    data: &Path,
    postgres: Option<&str>,
    dataflow: &DataflowControl,
) -> anyhow::Result<AdminPlane> {
    let journal: Box<dyn Journal> =
        match postgres {
            Some(url) => {
                let journal = PostgresJournal::open(url)
                    .context("cannot open the admin plane in PostgreSQL (--postgres)")?;
                tracing::info!("the admin plane is kept in PostgreSQL");
                Box::new(journal)
            }
            None => Box::new(FileJournal::open(&data.join("admin")).with_context(|| {
                format!("cannot open the admin journal under {}", data.display())
            })?),
        };
    let plane = AdminPlane::open(journal).context("cannot load the admin journal")?;
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
    let listening = state.listen(move |event| match event {
        StateEvent::Automod(action) => submit.submit(action.clone()),
        StateEvent::LevelUp(level_up) => submit.submit_level_up(level_up.clone()),
        StateEvent::Leaderboard(_) => {}
    });
    Ok((executor, listening))
}
