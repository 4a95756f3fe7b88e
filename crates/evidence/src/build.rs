//! Building a packet from log data the caller fetched and audited (no I/O
//! here): the cosigned checkpoint, the verified tree, the witness policy and
//! the auditors' attestations.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use headcount_audit::FetchedTiles;
use headcount_core::CampaignId;
use headcount_core::notes::CountsNote;
use headcount_tlog::{
    LeafIndex, LogVerifier, TreeSize, consistency_proof, inclusion_proof, tiles_for_size,
    tree_root, verify_tiles,
};

use crate::claims::{self, Crypto};
use crate::compact::{self, ProvedLeaf};
use crate::error::Failure;
use crate::format::{self, AttestationRef, FORMAT, Manifest, Mode, Packet, VERSION};
use crate::verify::{Pins, scan_tiles, verify_data};

/// What the exporter fetched (and audited) from the log.
pub struct LogData<'a> {
    /// The checkpoint note, with its cosignatures, verbatim.
    pub checkpoint: &'a [u8],
    /// The log's verifier key.
    pub log_key: &'a str,
    /// The witness policy (C2SP tlog-policy text), if the log has one.
    pub policy: Option<&'a str>,
    /// The tree of the checkpoint's size, already verified by an audit that agreed.
    pub tiles: &'a FetchedTiles,
    /// The auditors whose attestations to include: signed-note vkeys.
    pub auditors: Vec<String>,
    /// Candidate attestations (signed notes, e.g. from `/v1/attestations`).
    /// Those signed by none of `auditors`, or about another tree, are left
    /// out and reported.
    pub attestations: Vec<Vec<u8>>,
    /// Written into the manifest: what made the packet, and when (Unix seconds).
    pub generator: String,
    pub created: u64,
}

/// Why a packet could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error("the checkpoint does not verify with the log key: {0}")]
    Checkpoint(String),
    #[error("the tiles are not the checkpoint's tree: {0}")]
    Tiles(String),
    #[error("campaign {0} is not in the log")]
    NoCampaign(CampaignId),
    #[error("the log data does not give a packet that verifies: {0}")]
    Verify(#[from] Failure),
}

/// A packet and what building it left out.
pub struct Built {
    /// The packet, with `report.html` and `README.txt`, without a PDF
    /// (render one from `report.html` and add it with [`add_pdf`]).
    pub packet: Packet,
    /// Attestations left out, with the reason.
    pub skipped: Vec<String>,
}

/// Builds a packet for `campaign` in `mode`.
pub fn build(data: &LogData<'_>, campaign: CampaignId, mode: Mode) -> Result<Built, BuildError> {
    let log = LogVerifier::from_vkey(data.log_key.trim())
        .map_err(|e| BuildError::Checkpoint(e.to_string()))?;
    let cp = log
        .verify(data.checkpoint)
        .map_err(|e| BuildError::Checkpoint(e.to_string()))?;
    if data.tiles.size() != cp.size {
        return Err(BuildError::Tiles(format!(
            "tiles for size {}, checkpoint of size {}",
            data.tiles.size().0,
            cp.size.0
        )));
    }
    verify_tiles(data.tiles, cp.size, cp.root).map_err(|e| BuildError::Tiles(e.to_string()))?;
    let size = cp.size.0;
    let candidates = scan_tiles(data.tiles, size, &campaign)?;
    let selected =
        claims::select(&candidates, &campaign).ok_or(BuildError::NoCampaign(campaign))?;

    // Attestations: the latest verifying one per auditor, at a size we hold.
    let mut skipped = Vec::new();
    let mut best: std::collections::BTreeMap<String, (u64, Vec<u8>)> = Default::default();
    for note in &data.attestations {
        let Some(vkey) = data.auditors.iter().find(|k| signed_by(k, note)) else {
            skipped.push(format!(
                "an attestation signed by none of the auditor keys given ({})",
                first_line_of_sigs(note)
            ));
            continue;
        };
        match check_attestation(vkey, note, &cp.origin, size, data.tiles) {
            Ok(at) => {
                let e = best.entry(vkey.trim().to_owned()).or_insert((0, vec![]));
                if at > e.0 {
                    *e = (at, note.clone());
                }
            }
            Err(why) => skipped.push(why),
        }
    }
    let mut files = std::collections::BTreeMap::new();
    let mut refs = Vec::new();
    for (i, (vkey, (at, note))) in best.into_iter().enumerate() {
        let proof = consistency_proof(data.tiles, TreeSize(at), cp.size, cp.root)
            .map_err(|e| BuildError::Tiles(e.to_string()))?;
        let file = format!("attestations/{i}.note");
        files.insert(file.clone(), note);
        refs.push(AttestationRef {
            auditor_vkey: vkey,
            file,
            tree_size: at,
            consistency: proof.iter().map(|h| B64.encode(h.0)).collect(),
        });
    }
    let at: Vec<u64> = refs.iter().map(|r| r.tree_size).collect();
    let (claims, _) = claims::compute(&selected, &campaign, size, Crypto::AlreadyVerified, &at)?;

    files.insert(format::CHECKPOINT.into(), data.checkpoint.to_vec());
    if let Some(p) = data.policy {
        files.insert(format::POLICY.into(), p.as_bytes().to_vec());
    }
    match mode {
        Mode::Full => {
            for id in tiles_for_size(cp.size) {
                let t = data
                    .tiles
                    .get(id)
                    .ok_or_else(|| BuildError::Tiles(format!("{} is missing", id.path())))?;
                files.insert(id.path(), t.to_vec());
            }
        }
        Mode::Compact => {
            let mut records = Vec::with_capacity(selected.len());
            for (index, leaf, _) in &selected {
                let proof = inclusion_proof(data.tiles, cp.size, cp.root, LeafIndex(*index))
                    .map_err(|e| BuildError::Tiles(e.to_string()))?;
                records.push(ProvedLeaf {
                    index: *index,
                    leaf: leaf.encode(),
                    proof,
                });
            }
            files.insert(format::ENTRIES.into(), compact::encode(&records));
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        mode,
        generator: data.generator.clone(),
        created: data.created,
        log_key: data.log_key.trim().to_owned(),
        tree_size: size,
        witness_policy: data.policy.is_some(),
        attestations: refs,
        pdf: false,
        claims,
    };
    let mut packet = Packet { manifest, files };
    // What a verifier will find (the whole-log fold was the exporter's audit).
    let verified = verify_data(&packet, &Pins::default(), None)?;
    packet.files.insert(
        format::REPORT_HTML.into(),
        crate::report::render(&verified).into_bytes(),
    );
    packet.files.insert(
        format::README.into(),
        crate::report::readme(&verified).into_bytes(),
    );
    Ok(Built { packet, skipped })
}

/// Re-renders `report.html` and `README.txt` from the packet's own data,
/// after checking that data as the builder does (everything but the fold of
/// the whole log and the subset's cryptography, which `verify` redoes). For
/// a packet whose attestations were replaced, e.g. by newer ones.
pub fn rerender(packet: &mut Packet) -> Result<(), Failure> {
    let verified = verify_data(packet, &Pins::default(), None)?;
    packet.files.insert(
        format::REPORT_HTML.into(),
        crate::report::render(&verified).into_bytes(),
    );
    packet.files.insert(
        format::README.into(),
        crate::report::readme(&verified).into_bytes(),
    );
    Ok(())
}

/// Adds a PDF rendering of `report.html`.
pub fn add_pdf(packet: &mut Packet, pdf: Vec<u8>) {
    packet.manifest.pdf = true;
    packet.files.insert(format::REPORT_PDF.into(), pdf);
}

fn signed_by(vkey: &str, note: &[u8]) -> bool {
    let Ok(sv) = signed_note::StandardVerifier::new(vkey.trim()) else {
        return false;
    };
    let list = signed_note::VerifierList::new(vec![Box::new(sv)]);
    signed_note::Note::from_bytes(note).is_ok_and(|n| n.verify(&list).is_ok())
}

/// The signer names on a note, for a message.
fn first_line_of_sigs(note: &[u8]) -> String {
    match headcount_cosignature::split_note(note) {
        Ok(s) => s
            .sigs
            .iter()
            .map(|g| g.name().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
        Err(_) => "not a signed note".into(),
    }
}

/// The attested tree size, or why the attestation is left out.
fn check_attestation(
    vkey: &str,
    note: &[u8],
    origin: &str,
    size: u64,
    tiles: &FetchedTiles,
) -> Result<u64, String> {
    let sv = signed_note::StandardVerifier::new(vkey.trim())
        .map_err(|e| format!("auditor key {vkey}: {e:?}"))?;
    let name = signed_note::Verifier::name(&sv).to_owned();
    let list = signed_note::VerifierList::new(vec![Box::new(sv)]);
    let n = signed_note::Note::from_bytes(note).map_err(|e| format!("{name}: {e:?}"))?;
    n.verify(&list)
        .map_err(|_| format!("{name}: not signed by this key"))?;
    let text = std::str::from_utf8(n.text()).map_err(|_| format!("{name}: not UTF-8"))?;
    let c = CountsNote::parse(text).map_err(|e| format!("{name}: {e}"))?;
    if c.verdict.is_none() || c.origin != origin || c.tree_size == 0 || c.tree_size > size {
        return Err(format!(
            "{name}: not an attestation of this log at a size up to {size}"
        ));
    }
    let root = tree_root(tiles, TreeSize(c.tree_size)).map_err(|e| format!("{name}: {e}"))?;
    if B64.encode(root.0) != c.root {
        return Err(format!(
            "{name}: its root is not this log's at size {}",
            c.tree_size
        ));
    }
    Ok(c.tree_size)
}
