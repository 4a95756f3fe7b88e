//! Offline verification of a packet: pure, no I/O. Everything the packet
//! states is recomputed from the log data it carries and compared; what
//! rests on someone's word (the log key, the witnesses, the auditors) is
//! returned by name and key so that the reader can compare them with the
//! keys those parties publish.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use headcount_audit::{FetchedTiles, Finding, fold_tiles};
use headcount_core::notes::{CountsLine, CountsNote};
use headcount_core::{CampaignId, CredentialVerifier, Entry, Leaf};
use headcount_cosignature::{Policy, split_note};
use headcount_tlog::{
    Checkpoint, Hash, LogVerifier, TileId, TreeSize, decode_bundle, leaf_hash, tiles_for_size,
    verify_consistency, verify_inclusion, verify_tiles,
};

use crate::claims::{self, Claims, Crypto};
use crate::compact;
use crate::error::{Failure, PacketError};
use crate::format::{self, Manifest, Mode, Packet};

/// What the reader pins instead of taking the packet's word.
#[derive(Clone, Debug, Default)]
pub struct Pins {
    /// The log's verifier key, as the log publishes it.
    pub log_key: Option<String>,
    /// The witness policy (C2SP tlog-policy text) to check the checkpoint against.
    pub policy: Option<String>,
}

/// A witness whose cosignature on the checkpoint verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigner {
    /// Its name in the policy.
    pub name: String,
    /// Its cosignature key (vkey).
    pub vkey: String,
    /// When it cosigned (Unix seconds).
    pub timestamp: u64,
}

/// An auditor's attestation, verified: signed by that key, about this log,
/// at a tree the checkpoint's extends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attested {
    /// The key's name (from the vkey).
    pub auditor: String,
    pub vkey: String,
    pub tree_size: u64,
    /// `agrees` or `differs <code>`.
    pub verdict: String,
    /// The attested line of this campaign, if the attestation has one.
    pub line: Option<CountsLine>,
    /// The packet's own recount at the same tree size (full mode: exact;
    /// compact mode: from the entries the packet holds).
    pub recount: Option<CountsLine>,
}

/// What a packet proves, and on whose word.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub mode: Mode,
    pub checkpoint: Checkpoint,
    pub log_key: String,
    pub log_key_pinned: bool,
    /// The witness policy checked, and whether it was pinned (else the packet's).
    pub policy: Option<String>,
    pub policy_pinned: bool,
    pub cosigners: Vec<Cosigner>,
    pub claims: Claims,
    pub attestations: Vec<Attested>,
    /// Full: leaves folded (the tree size); compact: the entries checked.
    pub leaves_checked: u64,
    pub pdf: bool,
    /// The manifest as read (for re-rendering the report).
    pub manifest: Manifest,
}

/// Reads and verifies a packet archive. `credentials` verifies credentialed
/// entries (BBS pseudonym proofs).
pub fn verify_bytes(
    bytes: &[u8],
    pins: &Pins,
    credentials: &(dyn CredentialVerifier + Sync),
) -> Result<Verified, Failure> {
    let packet = Packet::from_zip(bytes)?;
    verify(&packet, pins, credentials)
}

/// Verifies a packet, including its report.
pub fn verify(
    packet: &Packet,
    pins: &Pins,
    credentials: &(dyn CredentialVerifier + Sync),
) -> Result<Verified, Failure> {
    let v = verify_data(packet, pins, Some(credentials))?;
    let html = packet
        .files
        .get(format::REPORT_HTML)
        .ok_or_else(|| PacketError::Format("report.html is missing".into()))?;
    if *html != crate::report::render(&v).into_bytes() {
        return Err(Failure::ReportDiffers);
    }
    let readme = packet
        .files
        .get(format::README)
        .ok_or_else(|| PacketError::Format("README.txt is missing".into()))?;
    if *readme != crate::report::readme(&v).into_bytes() {
        return Err(Failure::Packet(PacketError::Format(
            "README.txt is not the one this packet's data gives (it was altered)".into(),
        )));
    }
    Ok(v)
}

fn malformed(m: impl Into<String>) -> Failure {
    Failure::Packet(PacketError::Format(m.into()))
}

/// Everything but the report. `credentials: None` skips the fold of the whole
/// log and the subset's cryptography: only for the builder, which audited the
/// log it read, to state what a verifier will find.
pub(crate) fn verify_data(
    packet: &Packet,
    pins: &Pins,
    credentials: Option<&(dyn CredentialVerifier + Sync)>,
) -> Result<Verified, Failure> {
    let m = &packet.manifest;
    // Every file must be one the manifest accounts for.
    let attestation_files: BTreeSet<&str> =
        m.attestations.iter().map(|a| a.file.as_str()).collect();
    for name in packet.files.keys() {
        let ok = match name.as_str() {
            format::CHECKPOINT | format::README | format::REPORT_HTML => true,
            format::POLICY => m.witness_policy,
            format::REPORT_PDF => m.pdf,
            format::ENTRIES => m.mode == Mode::Compact,
            n if n.starts_with("attestations/") => attestation_files.contains(n),
            _ => m.mode == Mode::Full,
        };
        if !ok {
            return Err(malformed(format!(
                "{name} is in the archive but the manifest does not account for it"
            )));
        }
    }
    if m.pdf != packet.files.contains_key(format::REPORT_PDF) {
        return Err(malformed(
            "report.pdf: the manifest and the archive disagree",
        ));
    }

    // The log key and the checkpoint.
    let log_key = m.log_key.trim().to_owned();
    if let Some(pinned) = &pins.log_key
        && pinned.trim() != log_key
    {
        return Err(Failure::NotPinned(format!(
            "the packet's log key {log_key} is not the pinned key {}",
            pinned.trim()
        )));
    }
    let log =
        LogVerifier::from_vkey(&log_key).map_err(|e| malformed(format!("the log key: {e}")))?;
    let note = packet.file(format::CHECKPOINT)?;
    let cp = log
        .verify(note)
        .map_err(|e| Failure::BadCheckpointSignature(e.to_string()))?;
    if cp.size.0 != m.tree_size {
        return Err(Failure::ClaimsDiffer {
            what: "the tree size".into(),
            claimed: m.tree_size.to_string(),
            recomputed: format!("{} (the checkpoint's)", cp.size.0),
        });
    }

    // The witness policy.
    let policy_text = match (&pins.policy, m.witness_policy) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(
            String::from_utf8(packet.file(format::POLICY)?.to_vec())
                .map_err(|_| malformed("policy.txt is not UTF-8"))?,
        ),
        (None, false) => None,
    };
    let mut cosigners = Vec::new();
    if let Some(text) = &policy_text {
        let policy = Policy::parse(text).map_err(|e| malformed(format!("the policy: {e}")))?;
        // A policy that names logs pins the log key too.
        let mut logs = policy.logs().peekable();
        if logs.peek().is_some() {
            let ours = headcount_cosignature::LogVerifier::from_vkey(&log_key)
                .map_err(|e| malformed(format!("the log key: {e}")))?;
            if !logs.any(|l| l.public_key() == ours.public_key() && l.name() == ours.name()) {
                return Err(Failure::NotPinned(format!(
                    "the witness policy lists logs, and the packet's log key {log_key} is not one of them"
                )));
            }
        }
        let sv = signed_note::StandardVerifier::new(&log_key)
            .map_err(|e| malformed(format!("the log key: {e:?}")))?;
        policy
            .check_with_log(note, &sv)
            .map_err(|e| Failure::WitnessQuorum(e.to_string()))?;
        cosigners = cosigners_of(&policy, note);
    }

    // The campaign's entries, from the whole log or from proved entries.
    let campaign = CampaignId::from_hex(&m.claims.campaign.id)
        .ok_or_else(|| malformed("the campaign id is not 64 hex digits"))?;
    let size = cp.size.0;
    let (candidates, whole, leaves_checked) = match m.mode {
        Mode::Full => {
            let tiles = full_tiles(packet, cp.size)?;
            verify_tiles(&tiles, cp.size, cp.root)
                .map_err(|e| Failure::TreeMismatch(e.to_string()))?;
            let whole = match credentials {
                Some(c) => Some(fold_tiles(&tiles, c).map_err(|f| from_finding(*f))?),
                None => None,
            };
            (scan_tiles(&tiles, size, &campaign)?, whole, size)
        }
        Mode::Compact => {
            let records = compact::decode(packet.file(format::ENTRIES)?)?;
            let mut out = Vec::with_capacity(records.len());
            for r in &records {
                verify_inclusion(
                    leaf_hash(&r.leaf),
                    headcount_tlog::LeafIndex(r.index),
                    cp.size,
                    cp.root,
                    &r.proof,
                )
                .map_err(|e| Failure::NotIncluded {
                    index: r.index,
                    reason: e.to_string(),
                })?;
                let (leaf, entry) = decode_leaf(r.index, &r.leaf)?;
                if !claims::relevant(&entry, &campaign) {
                    return Err(malformed(format!(
                        "entry {} is neither the campaign's nor a registrar's",
                        r.index
                    )));
                }
                out.push((r.index, leaf, entry));
            }
            let n = out.len() as u64;
            (out, None, n)
        }
    };
    let selected = claims::select(&candidates, &campaign)
        .ok_or_else(|| Failure::Incomplete("the campaign entry is not in it".into()))?;
    if m.mode == Mode::Compact && selected.len() != candidates.len() {
        return Err(malformed(
            "entries.bin holds registrar entries the campaign does not accept",
        ));
    }
    let crypto = match (m.mode, credentials) {
        (Mode::Compact, Some(c)) => Crypto::Verify(c),
        _ => Crypto::AlreadyVerified,
    };
    let at: Vec<u64> = m.attestations.iter().map(|a| a.tree_size).collect();
    let (claims, snapshots) = claims::compute(&selected, &campaign, size, crypto, &at)?;
    if let Some(state) = &whole {
        let t = state.tally(&campaign);
        if t.as_ref() != Some(&claims.tally) {
            return Err(Failure::ClaimsDiffer {
                what: "the tally of the whole log".into(),
                claimed: format!("{:?}", claims.tally),
                recomputed: format!("{t:?}"),
            });
        }
    }
    diff_claims(&m.claims, &claims)?;

    // Attestations.
    let mut attestations = Vec::new();
    for a in &m.attestations {
        let bad = |reason: String| Failure::BadAttestation {
            file: a.file.clone(),
            reason,
        };
        let bytes = packet.file(&a.file)?;
        let sv = signed_note::StandardVerifier::new(a.auditor_vkey.trim())
            .map_err(|e| bad(format!("the auditor key: {e:?}")))?;
        let list = signed_note::VerifierList::new(vec![Box::new(sv.clone())]);
        let parsed = signed_note::Note::from_bytes(bytes)
            .map_err(|e| bad(format!("not a signed note: {e:?}")))?;
        parsed
            .verify(&list)
            .map_err(|_| bad("its signature does not verify with the auditor's key".into()))?;
        let text = std::str::from_utf8(parsed.text()).map_err(|_| bad("not UTF-8".into()))?;
        let counts = CountsNote::parse(text).map_err(|e| bad(e.to_string()))?;
        let verdict = counts
            .verdict
            .clone()
            .ok_or_else(|| bad("a tally note, not an attestation".into()))?;
        if counts.origin != cp.origin {
            return Err(bad(format!("about another log ({})", counts.origin)));
        }
        if counts.tree_size != a.tree_size || counts.tree_size == 0 || counts.tree_size > size {
            return Err(bad(format!(
                "tree size {} (the manifest says {}, the checkpoint has {size})",
                counts.tree_size, a.tree_size
            )));
        }
        let old_root = parse_hash(&counts.root).ok_or_else(|| bad("bad root".into()))?;
        let proof = a
            .consistency
            .iter()
            .map(|h| parse_hash(h))
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| bad("bad consistency proof hash".into()))?;
        verify_consistency(
            TreeSize(counts.tree_size),
            old_root,
            cp.size,
            cp.root,
            &proof,
        )
        .map_err(|_| {
            bad(
                "the attested tree is not a prefix of the checkpoint's (consistency proof fails)"
                    .into(),
            )
        })?;
        attestations.push(Attested {
            auditor: signed_note::Verifier::name(&sv).to_owned(),
            vkey: a.auditor_vkey.trim().to_owned(),
            tree_size: counts.tree_size,
            verdict,
            line: counts
                .campaigns
                .iter()
                .find(|l| l.campaign == campaign)
                .cloned(),
            recount: snapshots
                .get(&counts.tree_size)
                .and_then(|t| t.as_ref().map(CountsLine::from)),
        });
    }

    Ok(Verified {
        mode: m.mode,
        checkpoint: cp,
        log_key,
        log_key_pinned: pins.log_key.is_some(),
        policy: policy_text,
        policy_pinned: pins.policy.is_some(),
        cosigners,
        claims,
        attestations,
        leaves_checked,
        pdf: m.pdf,
        manifest: m.clone(),
    })
}

fn parse_hash(b64: &str) -> Option<Hash> {
    let v = B64.decode(b64).ok()?;
    Some(Hash(v.try_into().ok()?))
}

fn decode_leaf(index: u64, raw: &[u8]) -> Result<(Leaf, Entry), Failure> {
    let invalid = |code: &'static str, message: String| Failure::InvalidEntry {
        index,
        code,
        message,
    };
    let leaf = Leaf::decode(raw).map_err(|e| invalid(e.code(), e.to_string()))?;
    let entry = leaf
        .decode_entry()
        .map_err(|e| invalid(e.code(), e.to_string()))?;
    Ok((leaf, entry))
}

/// The tiles of a full packet: exactly those of the tree of `size`.
fn full_tiles(packet: &Packet, size: TreeSize) -> Result<FetchedTiles, Failure> {
    let want = tiles_for_size(size);
    let wanted: BTreeSet<String> = want.iter().map(TileId::path).collect();
    for name in packet.files.keys() {
        if TileId::parse_path(name).is_ok() && !wanted.contains(name) {
            return Err(Failure::TreeMismatch(format!(
                "{name} is not a tile of the tree of size {}",
                size.0
            )));
        }
    }
    let mut tiles = Vec::with_capacity(want.len());
    for id in want {
        let path = id.path();
        let data = packet
            .files
            .get(&path)
            .ok_or_else(|| Failure::TreeMismatch(format!("{path} is missing")))?;
        tiles.push((id, data.clone()));
    }
    Ok(FetchedTiles::from_tiles(size, tiles))
}

/// The candidate leaves (registrar entries and the campaign's) of a tree
/// verified against its root.
pub(crate) fn scan_tiles(
    tiles: &FetchedTiles,
    size: u64,
    campaign: &CampaignId,
) -> Result<Vec<(u64, Leaf, Entry)>, Failure> {
    let mut out = Vec::new();
    for id in tiles_for_size(TreeSize(size)) {
        if id.level.is_some() {
            continue;
        }
        let data = tiles
            .get(id)
            .ok_or_else(|| Failure::TreeMismatch(format!("{} is missing", id.path())))?;
        let raw = decode_bundle(data).map_err(|e| Failure::TreeMismatch(e.to_string()))?;
        for (i, r) in raw.into_iter().enumerate() {
            let index = id.index * headcount_tlog::TILE_WIDTH + i as u64;
            let (leaf, entry) = decode_leaf(index, r)?;
            if claims::relevant(&entry, campaign) {
                out.push((index, leaf, entry));
            }
        }
    }
    Ok(out)
}

/// The witnesses of `policy` whose cosignatures on `note` verify.
fn cosigners_of(policy: &Policy, note: &[u8]) -> Vec<Cosigner> {
    let Ok(split) = split_note(note) else {
        return vec![];
    };
    let mut out = Vec::new();
    for w in policy.witnesses() {
        for sig in split.sigs.iter().filter(|s| w.verifier.matches(s)) {
            if let Ok(ts) = w.verifier.verify_signature(split.text, sig.signature()) {
                out.push(Cosigner {
                    name: w.name.clone(),
                    vkey: w.verifier.vkey(),
                    timestamp: ts,
                });
                break;
            }
        }
    }
    out
}

fn from_finding(f: Finding) -> Failure {
    match f {
        Finding::InvalidEntry {
            index,
            code,
            message,
        } => Failure::InvalidEntry {
            index,
            code,
            message,
        },
        other => Failure::TreeMismatch(other.to_string()),
    }
}

/// The first difference between what the packet states and the recomputation.
fn diff_claims(claimed: &Claims, ours: &Claims) -> Result<(), Failure> {
    let (c, o) = (&claimed.tally, &ours.tally);
    let figures: [(&str, u64, u64); 7] = [
        ("credible", c.credible, o.credible),
        ("credentialed", c.credentialed, o.credentialed),
        ("vouched", c.vouched, o.vouched),
        ("unverified", c.unverified, o.unverified),
        ("withdrawals", c.withdrawals, o.withdrawals),
        (
            "distinct_lower_bound",
            c.distinct_lower_bound,
            o.distinct_lower_bound,
        ),
        (
            "credentialed_over_bound",
            c.credentialed_over_bound,
            o.credentialed_over_bound,
        ),
    ];
    for (what, a, b) in figures {
        if a != b {
            return Err(Failure::ClaimsDiffer {
                what: format!("the {what} count"),
                claimed: a.to_string(),
                recomputed: b.to_string(),
            });
        }
    }
    let json = |v: &dyn erased::Ser| v.json();
    let parts: [(&str, String, String); 6] = [
        (
            "the counts by registrar and month",
            json(&c.by_registrar),
            json(&o.by_registrar),
        ),
        ("the whole tally", json(c), json(o)),
        (
            "the campaign",
            json(&claimed.campaign),
            json(&ours.campaign),
        ),
        (
            "the registrars",
            json(&claimed.registrars),
            json(&ours.registrars),
        ),
        (
            "the number of campaign entries",
            claimed.entries.to_string(),
            ours.entries.to_string(),
        ),
        (
            "the trend",
            json(&(claimed.trend_bucket, &claimed.trend)),
            json(&(ours.trend_bucket, &ours.trend)),
        ),
    ];
    for (what, a, b) in parts {
        if a != b {
            return Err(Failure::ClaimsDiffer {
                what: what.into(),
                claimed: a,
                recomputed: b,
            });
        }
    }
    if claimed != ours {
        return Err(Failure::ClaimsDiffer {
            what: "the claims".into(),
            claimed: format!("{claimed:?}"),
            recomputed: format!("{ours:?}"),
        });
    }
    Ok(())
}

mod erased {
    /// JSON of anything serializable, behind a trait object.
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
