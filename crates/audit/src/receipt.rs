//! Checking a receipt offline: an entry, its `c2sp.org/tlog-proof@v1` and
//! the log's key.

use headcount_core::Timestamp;
use headcount_core::leaf::{LEAF_HEADER_LEN, LEAF_VERSION};
use headcount_tlog::{Checkpoint, LeafIndex, LogVerifier, TlogProof, leaf_hash};

/// Why a receipt does not check out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The log key is not a valid signed-note verifier key.
    #[error("bad log key: {0}")]
    BadLogKey(#[source] headcount_tlog::Error),
    /// The proof text is not a well-formed tlog-proof.
    #[error("malformed receipt proof: {0}")]
    Malformed(#[source] headcount_tlog::Error),
    /// The proof's `extra` is not a 9-byte leaf header (version 1, timestamp).
    #[error("the receipt's extra line is not a leaf header: {0}")]
    BadLeafHeader(&'static str),
    /// The checkpoint is not signed by the log key, or the entry is not in it.
    #[error("the receipt does not verify: {0}")]
    Invalid(#[source] headcount_tlog::Error),
}

/// What a verified receipt proves.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedReceipt {
    /// The entry's leaf index.
    pub index: LeafIndex,
    /// The sequencer's timestamp of the leaf (from the leaf header).
    pub timestamp: Timestamp,
    /// The signed checkpoint the entry is proved to be in.
    pub checkpoint: Checkpoint,
}

/// Checks that `entry_bytes` (an encoded entry) is in the log whose key is
/// `log_key` (signed-note verifier key form), according to `proof_text` (the
/// `proof` field of a server receipt: a `c2sp.org/tlog-proof@v1` whose
/// `extra` is the 9-byte leaf header, so that leaf = extra || entry).
///
/// Returns the leaf index and the checkpoint (signed by the log key) it is
/// included in. Witness cosignatures on the checkpoint are not checked here.
pub fn verify_receipt(
    entry_bytes: &[u8],
    proof_text: &[u8],
    log_key: &str,
) -> Result<(LeafIndex, Checkpoint), ReceiptError> {
    let v = verify_receipt_full(entry_bytes, proof_text, log_key)?;
    Ok((v.index, v.checkpoint))
}

/// [`verify_receipt`], also returning the leaf's timestamp.
pub fn verify_receipt_full(
    entry_bytes: &[u8],
    proof_text: &[u8],
    log_key: &str,
) -> Result<VerifiedReceipt, ReceiptError> {
    let log = LogVerifier::from_vkey(log_key).map_err(ReceiptError::BadLogKey)?;
    let proof = TlogProof::parse(proof_text).map_err(ReceiptError::Malformed)?;
    let header = proof
        .extra
        .as_deref()
        .ok_or(ReceiptError::BadLeafHeader("missing"))?;
    if header.len() != LEAF_HEADER_LEN {
        return Err(ReceiptError::BadLeafHeader("not 9 bytes"));
    }
    if header[0] != LEAF_VERSION {
        return Err(ReceiptError::BadLeafHeader("unsupported leaf version"));
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&header[1..]);
    let mut leaf = header.to_vec();
    leaf.extend_from_slice(entry_bytes);
    let checkpoint = proof
        .verify(leaf_hash(&leaf), &log)
        .map_err(ReceiptError::Invalid)?;
    Ok(VerifiedReceipt {
        index: proof.index,
        timestamp: Timestamp(u64::from_be_bytes(ts)),
        checkpoint,
    })
}
