//! The operator's admission policy: who may publish registrar and campaign
//! entries, and how much work an unverified declaration must carry.
//!
//! This is the operator's choice, not a validity rule: an auditor never
//! applies it (the log's validity function in `headcount_core::state` is
//! unchanged), and a policy can be changed between restarts without making
//! any logged entry invalid. It bounds how cheaply a stranger can fill the log:
//!
//! * **registrar and campaign entries** (self-signed, so anyone can make one)
//!   are accepted from an allowlist of keys, or from anyone ("open") who
//!   attaches proof of work bound to the entry: an HTTP header, not a field
//!   of the entry, so the entry encoding is untouched;
//! * **unverified declarations** need at least `min_unverified_difficulty`
//!   bits of work, whatever difficulty the campaign asks for.
//!
//! * **credentialed declarations and withdrawals under load** need
//!   `busy_work_bits` of the same work once the verification stage is busy
//!   (see `verification.rs`): a flood of invalid proofs then costs its sender
//!   about 2^bits hashes per proof instead of the log one pairing-heavy
//!   verification per proof, and honest declarants, whose client computes the
//!   work when asked, keep getting in.
//!
//! The admission work: `nonce` (decimal, header [`WORK_HEADER`]) such that
//! `SHA-256("headcount admission v1\n" || entry hash || nonce as 8 bytes
//! big-endian)` starts with `publish_work_bits` zero bits. Expected cost:
//! 2^bits hashes. Every refusal happens before any signature or proof is
//! verified, and leaves the log unchanged.

use std::collections::BTreeSet;

use headcount_core::entry::Entry;
use headcount_core::pow::leading_zero_bits;
use headcount_core::{EntryHash, LogState};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The HTTP request header that carries the admission work nonce.
pub const WORK_HEADER: &str = "headcount-work";

/// Domain separation of the admission work.
const WORK_DOMAIN: &[u8] = b"headcount admission v1\n";

/// Most bits of admission work an operator may ask for (2^40 hashes is days).
pub const MAX_WORK_BITS: u8 = 40;

/// Who may publish one kind of self-signed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Publishers {
    /// Anyone, with the policy's admission work.
    Open,
    /// Only these Ed25519 public keys (the entry's signing or organiser key).
    Allow(BTreeSet<[u8; 32]>),
}

/// The operator's admission policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionPolicy {
    /// Who may log `registrar` entries (keyed by the entry's signing key).
    pub registrars: Publishers,
    /// Who may log `campaign` entries (keyed by the organiser key).
    pub organisers: Publishers,
    /// Bits of admission work an "open" publisher attaches (0: none).
    pub publish_work_bits: u8,
    /// Least work an unverified declaration carries, in bits, even when
    /// the campaign asks for less (0: the campaign's difficulty alone).
    pub min_unverified_difficulty: u8,
    /// Bits of admission work a credentialed submission (declaration or
    /// withdrawal) carries while the verification stage is busy (0: never
    /// asked; the stage then only sheds load with 503).
    pub busy_work_bits: u8,
}

impl AdmissionPolicy {
    /// Anyone may publish, with no extra work: the library default, so a
    /// log embedded in a test or a program behaves as the rules alone say.
    pub fn open() -> Self {
        AdmissionPolicy {
            registrars: Publishers::Open,
            organisers: Publishers::Open,
            publish_work_bits: 0,
            min_unverified_difficulty: 0,
            busy_work_bits: 0,
        }
    }

    /// Whether `work` (the nonce the submitter sent) carries the work asked
    /// of credentialed submissions under load. False when none is asked.
    pub fn has_busy_work(&self, hash: &EntryHash, work: Result<Option<u64>, ()>) -> bool {
        self.busy_work_bits > 0
            && matches!(work, Ok(Some(n)) if work_bits(hash, n) >= u32::from(self.busy_work_bits))
    }
}

impl Default for AdmissionPolicy {
    fn default() -> Self {
        Self::open()
    }
}

/// Why the policy refused an entry (the log is unchanged).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("this log does not accept {kind} entries from this key")]
    NotAllowed { kind: &'static str },
    #[error(
        "this log asks {need} bits of admission work for {kind} entries: send the nonce in the {WORK_HEADER} header"
    )]
    WorkRequired { kind: &'static str, need: u8 },
    #[error("the admission work has {got} bits; this log asks {need}")]
    InsufficientWork { got: u32, need: u8 },
    #[error("the {WORK_HEADER} header is not a decimal u64")]
    BadWorkHeader,
    #[error(
        "unverified declarations need {need} bits of work on this log (the campaign asks {campaign}); this one has {got}"
    )]
    UnverifiedBelowMinimum { got: u32, need: u8, campaign: u8 },
    #[error(
        "the log is verifying many proofs right now: send {need} bits of admission work in the {WORK_HEADER} header with this declaration"
    )]
    BusyWorkRequired { need: u8 },
}

impl AdmissionError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AdmissionError::NotAllowed { .. } => "publisher_not_allowed",
            AdmissionError::WorkRequired { .. } => "admission_work_required",
            AdmissionError::InsufficientWork { .. } => "insufficient_admission_work",
            AdmissionError::BadWorkHeader => "bad_work_header",
            AdmissionError::UnverifiedBelowMinimum { .. } => "unverified_work_below_minimum",
            AdmissionError::BusyWorkRequired { .. } => "busy_work_required",
        }
    }

    /// 403 for "not you" and "not without work", 422 for work that falls short, 400 for a bad
    /// header, 429 for "busy: not without work now".
    pub fn status(&self) -> u16 {
        match self {
            AdmissionError::BusyWorkRequired { .. } => 429,
            AdmissionError::NotAllowed { .. } | AdmissionError::WorkRequired { .. } => 403,
            AdmissionError::BadWorkHeader => 400,
            AdmissionError::InsufficientWork { .. }
            | AdmissionError::UnverifiedBelowMinimum { .. } => 422,
        }
    }
}

/// The work of `nonce` on an entry, in bits.
pub fn work_bits(hash: &EntryHash, nonce: u64) -> u32 {
    let mut h = Sha256::new();
    h.update(WORK_DOMAIN);
    h.update(hash.0);
    h.update(nonce.to_be_bytes());
    leading_zero_bits(&h.finalize().into())
}

/// Finds a nonce with at least `bits` of admission work on an entry.
pub fn solve(hash: &EntryHash, bits: u8) -> u64 {
    (0u64..)
        .find(|n| work_bits(hash, *n) >= u32::from(bits))
        .unwrap_or(0)
}

impl AdmissionPolicy {
    /// Checks `entry` against the policy. `work` is the admission nonce the
    /// submitter sent, if any (`Err` when the header did not parse).
    pub fn admit(
        &self,
        entry: &Entry,
        hash: &EntryHash,
        work: Result<Option<u64>, ()>,
        state: &LogState,
    ) -> Result<(), AdmissionError> {
        let (kind, publishers, key) = match entry {
            Entry::Registrar(r) => ("registrar", &self.registrars, r.signing_key),
            Entry::Campaign(c) => ("campaign", &self.organisers, c.organiser_key),
            Entry::UnverifiedDeclaration(d) => {
                let min = self.min_unverified_difficulty;
                let Some(c) = state.campaign(&d.campaign) else {
                    // Unknown campaign: the rules refuse it with their own code.
                    return Ok(());
                };
                let asked = c.rules.unverified_difficulty;
                // A campaign that takes no unverified declarations is the rules' refusal.
                if asked == 0 || asked >= min {
                    return Ok(());
                }
                let got = leading_zero_bits(&hash.0);
                if got < u32::from(min) {
                    return Err(AdmissionError::UnverifiedBelowMinimum {
                        got,
                        need: min,
                        campaign: asked,
                    });
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        match publishers {
            Publishers::Allow(keys) if keys.contains(&key) => Ok(()),
            Publishers::Allow(_) => Err(AdmissionError::NotAllowed { kind }),
            Publishers::Open if self.publish_work_bits == 0 => Ok(()),
            Publishers::Open => {
                let need = self.publish_work_bits;
                match work {
                    Err(()) => Err(AdmissionError::BadWorkHeader),
                    Ok(None) => Err(AdmissionError::WorkRequired { kind, need }),
                    Ok(Some(nonce)) => {
                        let got = work_bits(hash, nonce);
                        if got < u32::from(need) {
                            Err(AdmissionError::InsufficientWork { got, need })
                        } else {
                            Ok(())
                        }
                    }
                }
            }
        }
    }

    /// What clients need to know to comply (served in `GET /v1/log`).
    pub fn view(&self) -> AdmissionView {
        let name = |p: &Publishers| match p {
            Publishers::Open => "open",
            Publishers::Allow(_) => "allowlist",
        };
        AdmissionView {
            registrars: name(&self.registrars),
            organisers: name(&self.organisers),
            publish_work_bits: self.publish_work_bits,
            min_unverified_difficulty: self.min_unverified_difficulty,
            busy_work_bits: self.busy_work_bits,
        }
    }
}

/// The admission policy as `GET /v1/log` shows it (keys are not listed).
#[derive(Clone, Debug, Serialize)]
pub struct AdmissionView {
    pub registrars: &'static str,
    pub organisers: &'static str,
    pub publish_work_bits: u8,
    pub min_unverified_difficulty: u8,
    pub busy_work_bits: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solved_work_verifies_and_other_entries_do_not_share_it() {
        let h = EntryHash([7; 32]);
        let n = solve(&h, 10);
        assert!(work_bits(&h, n) >= 10);
        // The nonce is bound to the entry: for another hash it is almost surely short.
        let other = EntryHash([8; 32]);
        let short = (0..64).filter(|i| work_bits(&other, n + i) >= 10).count();
        assert!(short < 4);
    }
}
