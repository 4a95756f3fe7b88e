//! Audit attestations: auditors' signed statements ("I recomputed the log up
//! to tree size N and every count agrees / differs"), which the server
//! accepts from the auditors it lists (`POST /v1/attestations`) and keeps in
//! the derived state's `attestations` table. This is the one place the pages
//! read them from; with none stored (or a database from before the table
//! existed) the pages say "No attestations yet."

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::db::Db;

/// One auditor's attestation about the log.
#[derive(Clone, Debug)]
pub struct Attestation {
    /// The auditor's key name.
    pub auditor: String,
    /// The auditor's key id (hex), from the note's signature line.
    pub key_id: String,
    /// The tree size the auditor checked up to.
    pub tree_size: u64,
    /// The auditor's verdict, as it wrote it.
    pub verdict: String,
    /// Whether the verdict says the log agrees.
    pub agrees: bool,
    /// When the server received it (Unix seconds, to the minute).
    pub timestamp: u64,
}

/// The latest attestations about the log, newest tree first (at most 50).
pub fn attestations(db: &Db) -> Vec<Attestation> {
    db.attestations(50)
        .unwrap_or_default()
        .into_iter()
        .map(|(auditor, tree_size, verdict, received, note)| {
            let key_id = key_id(&note, &auditor).unwrap_or_default();
            Attestation {
                agrees: verdict.trim().to_ascii_lowercase().starts_with("agree"),
                auditor,
                key_id,
                tree_size,
                verdict,
                timestamp: received,
            }
        })
        .collect()
}

/// The key id of `name`'s signature line in a signed note.
fn key_id(note: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(note);
    let (_, sigs) = text.split_once("\n\n")?;
    sigs.lines().find_map(|l| {
        let (n, sig) = l.strip_prefix("\u{2014} ")?.split_once(' ')?;
        if n != name {
            return None;
        }
        let bytes = B64.decode(sig).ok()?;
        (bytes.len() >= 4).then(|| hex::encode(&bytes[..4]))
    })
}
