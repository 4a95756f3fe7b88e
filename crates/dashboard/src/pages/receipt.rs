//! `/verify-receipt`: check a pasted receipt (tlog-proof) against this log.

use headcount_core::Leaf;
use headcount_tlog::{LogVerifier, TileReader, TlogProof, leaf_hash, tree_root};
use maud::{Markup, html};

use super::{Ctx, LogView, entry_details, layout, read_leaf};
use crate::fmt::thousands;
use crate::note::{self, SigLine};

/// A receipt that verified.
pub struct Verified {
    pub index: u64,
    pub size: u64,
    pub leaf: Leaf,
    pub cosigs: Vec<SigLine>,
}

/// Checks a pasted receipt (tlog-proof text) against this log: the checkpoint
/// is signed by the log key and no larger than the log; the receipt's leaf
/// header matches the log's leaf at its index; the inclusion proof verifies;
/// and the receipt's checkpoint root is this log's root at that size.
pub fn check_receipt(
    log: &LogView,
    tiles: &dyn TileReader,
    text: &str,
) -> std::result::Result<Verified, String> {
    let mut text = text.replace("\r\n", "\n");
    let trimmed_len = text.trim_end_matches(['\n', ' ']).len();
    text.truncate(trimmed_len);
    text = text.trim_start().to_owned();
    text.push('\n');
    let proof = TlogProof::parse(text.as_bytes())
        .map_err(|e| format!("not a c2sp.org/tlog-proof@v1 text: {e}"))?;
    let verifier = LogVerifier::from_vkey(&log.vkey).map_err(|e| e.to_string())?;
    let cp = verifier
        .verify(&proof.checkpoint)
        .map_err(|e| format!("its checkpoint is not signed by this log's key: {e}"))?;
    if cp.size.0 > log.size {
        return Err(format!(
            "its checkpoint (size {}) is ahead of this log (size {}): this log never published it",
            cp.size.0, log.size
        ));
    }
    let index = proof.index.0;
    if index >= cp.size.0 {
        return Err(format!(
            "its index {index} is not below its tree size {}",
            cp.size.0
        ));
    }
    let leaf = read_leaf(tiles, index, log.size)?;
    let header = headcount_server::log::leaf_header(leaf.timestamp.0);
    if proof.extra.as_deref() != Some(header.as_slice()) {
        return Err(format!(
            "its leaf header does not match leaf {index} of this log"
        ));
    }
    proof
        .verify(leaf_hash(&leaf.encode()), &verifier)
        .map_err(|e| {
            format!("its inclusion proof does not verify for leaf {index} of this log: {e}")
        })?;
    let root = tree_root(tiles, cp.size).map_err(|e| e.to_string())?;
    if root != cp.root {
        return Err(format!(
            "its checkpoint's root is not this log's root at size {}: the log has forked",
            cp.size.0
        ));
    }
    let cosigs = note::parse(&proof.checkpoint, &log.origin).cosigs;
    Ok(Verified {
        index,
        size: cp.size.0,
        leaf,
        cosigs,
    })
}

/// `/verify-receipt`: the form, and the verdict on a pasted receipt.
pub fn verify_receipt(ctx: &Ctx<'_>, tiles: &dyn TileReader, receipt: Option<&str>) -> Markup {
    let t = ctx.t();
    let receipt = receipt.filter(|r| !r.trim().is_empty());
    let outcome = receipt.map(|r| check_receipt(ctx.log, tiles, r));
    let action = ctx.href("/verify-receipt");
    let body = html! {
        h1 { (t.verify_title) }
        p.anchor #trust-anchor { strong { "⚠ " } (t.verify_anchor) }
        p.lead { (t.verify_intro) }
        p.note #privacy { strong { "⚠ " } (t.verify_privacy) " " code { "headcount identity verify-receipts --log-key '" (ctx.log.vkey) "'" } }
        form.receipt method="post" action=(action) {
            label for="receipt" { (t.verify_label) }
            textarea #receipt name="receipt" rows="12" spellcheck="false" { (receipt.unwrap_or("")) }
            button type="submit" { (t.verify_button) }
        }
        @match &outcome {
            None => {}
            Some(Err(e)) => {
                section.verdict.bad #verdict {
                    h2 { "✗ " (t.verify_failed) }
                    p { (e) }
                }
            }
            Some(Ok(v)) => {
                section.verdict.good #verdict {
                    h2 { "✓ " (t.verify_ok) }
                    p { (t.verify_proves) }
                    dl.kv {
                        dt { (t.tree_size) } dd { (thousands(v.size)) }
                        dt { (t.log_key) } dd { code.hash { (ctx.log.vkey) } }
                        dt { (t.cosignatures) } dd {
                            @if v.cosigs.is_empty() { (t.no_cosignatures) }
                            @for s in &v.cosigs { code.name { (s.name) } " " code { (s.key_id) } br; }
                        }
                    }
                    (entry_details(ctx, v.index, &v.leaf))
                    p.note { (t.verify_not_proves) }
                }
            }
        }
        section {
            h2 { (t.audit_yourself) }
            pre.cmd { code { "headcount audit " (ctx.base_url) " --log-key '" (ctx.log.vkey) "'" } }
        }
    };
    layout(ctx, t.verify_title, "/verify-receipt", body)
}
