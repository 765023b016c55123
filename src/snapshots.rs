//! Snapshots of the views: the dataflow's state and the API's directory (who administers
//! which guild, names) in one payload, which the store writes with its own state
//! (`DurableStore::save_snapshot`) and hands back at the next start (`DurableStore::rebuild`).
//!
//! Layout: the dataflow's bytes (the bulk, hundreds of MB for a large state, never copied),
//! then bincode of the directory, its length (u64 LE) and the format version (u32 LE).

use guildflow_api::DirectoryState;
use guildflow_dataflow::checkpoint::CheckpointError;
use guildflow_dataflow::runtime::{Dataflow, DataflowError};

/// Payload format; another one is not restored (the views are rebuilt from every row).
const PAYLOAD_VERSION: u32 = 2;
/// Directory length and version at the end.
const TRAILER: usize = 8 + 4;

/// The payload of a snapshot: `dataflow`'s state after everything fed so far, and the
/// directory's.
pub fn capture(
    dataflow: &mut Dataflow,
    directory: Option<DirectoryState>,
) -> anyhow::Result<Vec<u8>> {
    let mut payload = dataflow.checkpoint()?;
    let directory = bincode::serialize(&directory)?;
    payload.extend_from_slice(&directory);
    payload.extend_from_slice(&(directory.len() as u64).to_le_bytes());
    payload.extend_from_slice(&PAYLOAD_VERSION.to_le_bytes());
    Ok(payload)
}

/// (dataflow bytes, directory) of a payload of this format; None otherwise.
fn split(bytes: &[u8]) -> Option<(&[u8], Option<DirectoryState>)> {
    let trailer = bytes.len().checked_sub(TRAILER)?;
    let version = u32::from_le_bytes(bytes[trailer + 8..].try_into().ok()?);
    if version != PAYLOAD_VERSION {
        tracing::warn!(version, "snapshot payload of another format");
        return None;
    }
    let len = u64::from_le_bytes(bytes[trailer..trailer + 8].try_into().ok()?);
    let at = trailer.checked_sub(usize::try_from(len).ok()?)?;
    match bincode::deserialize(&bytes[at..trailer]) {
        Ok(directory) => Some((&bytes[..at], directory)),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable directory in the snapshot payload");
            None
        }
    }
}

/// Restores a payload of [`capture`] into a dataflow not fed yet: `Ok(Some(directory))` when
/// restored, `Ok(None)` when the payload is of another format (nothing was changed: replay
/// everything instead), an error when restoring failed half way.
pub fn restore(
    dataflow: &mut Dataflow,
    bytes: &[u8],
) -> Result<Option<Option<DirectoryState>>, String> {
    let Some((state, directory)) = split(bytes) else {
        return Ok(None);
    };
    match dataflow.restore(state) {
        Ok(()) => Ok(Some(directory)),
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
