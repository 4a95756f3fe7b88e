//! Checks that need no fold: the witness policy, the operator's signed
//! tally note, and the consistency of two checkpoints of the same log (an
//! earlier verified one, or one seen from another vantage point).

use std::collections::BTreeMap;

use base64::Engine;
use headcount_core::notes::{CountsLine, CountsNote};
use headcount_core::{CampaignId, CampaignTally};
use headcount_cosignature::{Policy, split_note};
use headcount_tlog::{
    Checkpoint, Hash, LogVerifier, TileReader, consistency_proof, verify_consistency,
};

use crate::fetch::{Got, Http};
use crate::{AuditError, Finding};

/// A witness cosignature found valid on the audited checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigner {
    /// The witness's name in the policy.
    pub name: String,
    /// The witness key's name (from its vkey).
    pub key_name: String,
    /// When the witness cosigned (Unix seconds, from the cosignature).
    pub timestamp: u64,
}

/// The witnesses of `policy` whose cosignatures on `note` verify.
pub(crate) fn cosigners(policy: &Policy, note: &[u8]) -> Vec<Cosigner> {
    let Ok(split) = split_note(note) else {
        return vec![];
    };
    let mut out = Vec::new();
    for w in policy.witnesses() {
        for sig in split.sigs.iter().filter(|s| w.verifier.matches(s)) {
            if let Ok(ts) = w.verifier.verify_signature(split.text, sig.signature()) {
                out.push(Cosigner {
                    name: w.name.clone(),
                    key_name: w.verifier.name().to_owned(),
                    timestamp: ts,
                });
                break;
            }
        }
    }
    out
}

/// Checks `note` against `policy` (log signature with `log_key`, witness
/// quorum). `None` when it satisfies the policy.
pub(crate) fn check_policy(
    policy: &Policy,
    note: &[u8],
    log_key: &str,
    tree_size: u64,
    cosigned: &[Cosigner],
) -> Result<Option<Finding>, AuditError> {
    let log = signed_note::StandardVerifier::new(log_key)
        .map_err(|e| AuditError::BadLogKey(format!("{e:?}")))?;
    match policy.check_with_log(note, &log) {
        Ok(_) => Ok(None),
        Err(e) => Ok(Some(Finding::WitnessQuorum {
            tree_size,
            reason: e.to_string(),
            cosigned: cosigned.iter().map(|c| c.name.clone()).collect(),
            note: note.to_vec(),
        })),
    }
}

/// Whether the log key given to the audit is one the policy lists (a
/// policy that lists no logs accepts any).
pub(crate) fn policy_accepts_log(policy: &Policy, log_key: &str) -> bool {
    let mut logs = policy.logs().peekable();
    if logs.peek().is_none() {
        return true;
    }
    let Ok(ours) = headcount_cosignature::LogVerifier::from_vkey(log_key) else {
        return false;
    };
    logs.any(|l| l.public_key() == ours.public_key() && l.name() == ours.name())
}

/// What became of the signed tally note at the checkpoint size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TallyNoteStatus {
    /// Not checked (the audit stopped before, or the checkpoint is not verified).
    NotChecked,
    /// Every campaign's signed tally note is signed by the log key, about
    /// this tree, and equals our recomputation.
    Verified,
    /// The server publishes no tally note for some campaign (older servers,
    /// or a derived state rebuilt by one). Not a finding unless
    /// [`crate::AuditOptions::require_tally_note`].
    Missing,
    /// The note is wrong: see the verdict.
    Differs,
}

fn b64(h: Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(h.0)
}

/// Fetches each campaign's signed tally note at the checkpoint size
/// (`/v1/campaigns/{id}/tally-note?tree_size=N`, a few at a time) and checks
/// it: signed by the log key, about this log, exactly that campaign, signed
/// at a tree size M ≤ N that is not before the campaign's last entry (when
/// this run folded it: `last_entry`), with the root this tree has at M, and
/// counts equal to our recomputation at N (nothing changed between M and N).
pub(crate) async fn check_tally_notes(
    http: &Http,
    verifier: &LogVerifier,
    cp: &Checkpoint,
    ours: &BTreeMap<CampaignId, CampaignTally>,
    last_entry: &BTreeMap<CampaignId, u64>,
    tiles: &(dyn TileReader + Sync),
) -> Result<(TallyNoteStatus, Option<Finding>), AuditError> {
    use futures::StreamExt;
    let size = cp.size.0;
    let fetched = futures::stream::iter(ours.keys().copied())
        .map(|id| async move {
            let got = http
                .get_bytes(&format!("/v1/campaigns/{id}/tally-note?tree_size={size}"))
                .await;
            (id, got)
        })
        .buffered(8);
    futures::pin_mut!(fetched);
    let mut status = TallyNoteStatus::Verified;
    let mut roots: BTreeMap<u64, Hash> = BTreeMap::new();
    while let Some((id, got)) = fetched.next().await {
        let note = match got? {
            Got::Found(n) => n,
            Got::NotFound => {
                status = TallyNoteStatus::Missing;
                continue;
            }
        };
        let bad = |reason: String| {
            Ok((
                TallyNoteStatus::Differs,
                Some(Finding::BadTallyNote {
                    tree_size: size,
                    reason: format!("campaign {id}: {reason}"),
                    note: note.clone(),
                }),
            ))
        };
        let text = match verifier.verify_note(&note) {
            Ok(t) => t,
            Err(e) => return bad(format!("not signed by the log key: {e}")),
        };
        let parsed = match CountsNote::parse(&text) {
            Ok(p) => p,
            Err(e) => return bad(e.to_string()),
        };
        if parsed.verdict.is_some() {
            return bad("an attestation, not a tally note".into());
        }
        if parsed.origin != cp.origin {
            return bad(format!("origin {:?} is not the log's", parsed.origin));
        }
        let line = &parsed.campaigns[0];
        if line.campaign != id {
            return bad(format!("it is the note of campaign {}", line.campaign));
        }
        let at = parsed.tree_size;
        if at > size || at == 0 {
            return bad(format!("tree size {at} is not in 1..={size}"));
        }
        if let Some(last) = last_entry.get(&id)
            && at <= *last
        {
            return bad(format!(
                "signed at tree size {at}, before the campaign's entry at index {last}"
            ));
        }
        let root = match roots.get(&at) {
            Some(r) => *r,
            None => match headcount_tlog::tree_root(tiles, headcount_tlog::TreeSize(at)) {
                Ok(r) => {
                    roots.insert(at, r);
                    r
                }
                Err(e) => return bad(format!("no root at tree size {at}: {e}")),
            },
        };
        if parsed.root != b64(root) {
            return bad(format!("its root is not the tree's root at size {at}"));
        }
        let o = ours.get(&id).map(CountsLine::from);
        if o.as_ref() != Some(line) {
            return Ok((
                TallyNoteStatus::Differs,
                Some(Finding::TallyNoteDiffers {
                    campaign: id,
                    tree_size: size,
                    ours: o,
                    theirs: Some(line.clone()),
                    note,
                }),
            ));
        }
    }
    Ok((status, None))
}

/// How a new checkpoint relates to an earlier verified one, before any tile
/// is fetched: a rollback or a same-size fork is visible from the
/// checkpoints alone.
pub(crate) fn compare_heads(
    old: &Checkpoint,
    old_note: &[u8],
    new: &Checkpoint,
    new_note: &[u8],
) -> Option<Finding> {
    if new.size < old.size {
        return Some(Finding::Rollback {
            old: old.clone(),
            new: new.clone(),
            old_note: old_note.to_vec(),
            new_note: new_note.to_vec(),
        });
    }
    if new.size == old.size && new.root != old.root {
        return Some(Finding::Fork {
            old: old.clone(),
            new: new.clone(),
            reason: "same size, different root".into(),
            old_note: old_note.to_vec(),
            new_note: new_note.to_vec(),
        });
    }
    None
}

/// Checks with an RFC 6962 consistency proof, computed from `tiles` (the
/// verified tree of `new`), that `new` extends `old`.
pub(crate) fn extends(
    tiles: &dyn TileReader,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<(), String> {
    if old.size > new.size {
        return Err("the tree is smaller".into());
    }
    if old.size == new.size {
        return if old.root == new.root {
            Ok(())
        } else {
            Err("same size, different root".into())
        };
    }
    let proof = consistency_proof(tiles, old.size, new.size, new.root)
        .map_err(|e| format!("no consistency proof from the tiles: {e}"))?;
    verify_consistency(old.size, old.root, new.size, new.root, &proof).map_err(|_| {
        format!(
            "the consistency proof from size {} to {} does not verify against root {}",
            old.size.0,
            new.size.0,
            b64(old.root)
        )
    })
}
