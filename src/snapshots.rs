//! Snapshots of the views: the dataflow's state and the API's directory (who administers
//! which guild, names) in one payload, which the store writes with its own state
//! (`DurableStore::save_snapshot`) and hands back at the next start (`DurableStore::rebuild`).

use guildflow_api::DirectoryState;
use guildflow_dataflow::checkpoint::CheckpointError;
use guildflow_dataflow::runtime::{Dataflow, DataflowError};
use serde::{Deserialize, Serialize};

/// Payload format; another one is not restored (the views are rebuilt from every row).
const PAYLOAD_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Payload {
    version: u32,
    dataflow: Vec<u8>,
    directory: Option<DirectoryState>,
}

/// The payload of a snapshot: `dataflow`'s state after everything fed so far, and the
/// directory's.
pub fn capture(
    dataflow: &mut Dataflow,
    directory: Option<DirectoryState>,
) -> anyhow::Result<Vec<u8>> {
    let payload = Payload {
        version: PAYLOAD_VERSION,
        dataflow: dataflow.checkpoint()?,
        directory,
    };
    Ok(bincode::serialize(&payload)?)
}

/// Restores a payload of [`capture`] into a dataflow not fed yet: `Ok(Some(directory))` when
/// restored, `Ok(None)` when the payload is of another format (nothing was changed: replay
/// everything instead), an error when restoring failed half way.
pub fn restore(
    dataflow: &mut Dataflow,
    bytes: &[u8],
) -> Result<Option<Option<DirectoryState>>, String> {
    let payload: Payload = match bincode::deserialize(bytes) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable snapshot payload");
            return Ok(None);
        }
    };
    if payload.version != PAYLOAD_VERSION {
        tracing::warn!(
            version = payload.version,
            "snapshot payload of another format"
        );
        return Ok(None);
    }
    match dataflow.restore(&payload.dataflow) {
        Ok(()) => Ok(Some(payload.directory)),
        // Refused before anything changed.
        Err(DataflowError::Checkpoint(
            e @ (CheckpointError::Decode(_)
            | CheckpointError::Version { .. }
            | CheckpointError::Cluster),
        )) => {
            tracing::warn!(error = %e, "snapshot not restored");
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}
