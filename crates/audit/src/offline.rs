//! The fold over a tree that did not come over HTTP: tiles read from a file
//! (an evidence packet), verified against a checkpoint by the caller.
//! No I/O here; the same [`crate::fold`] the audit runs.

use std::collections::BTreeMap;

use headcount_core::{CredentialVerifier, LogState};

use crate::fetch::FetchedTiles;
use crate::{Finding, fold};

/// Folds every leaf of `tiles` (already verified against the checkpoint of
/// their size with [`headcount_tlog::verify_tiles`]) from the empty state,
/// through the core validity function with the cryptography in parallel,
/// exactly as [`crate::audit`] does. The first invalid leaf is a
/// [`Finding::InvalidEntry`]; a missing or malformed bundle a
/// [`Finding::TreeMismatch`].
pub fn fold_tiles(
    tiles: &FetchedTiles,
    credentials: &(dyn CredentialVerifier + Sync),
) -> Result<LogState, Box<Finding>> {
    let size = tiles.size().0;
    let out = fold::fold(
        LogState::default(),
        tiles,
        size,
        &BTreeMap::new(),
        credentials,
        false,
    );
    match out.finding {
        Some(f) => Err(Box::new(f)),
        None => Ok(out.state),
    }
}
