//! Text bodies of the signed notes that carry tallies (C2SP signed-note).
//!
//! * A **tally note** is published by the operator with every checkpoint:
//!   what it claims each campaign's counts are at that tree size.
//! * An **attestation** is published by an auditor: the counts it
//!   recomputed from the log itself at a tree size, and its verdict.
//!
//! Both share one layout, so an attestation and a tally note for the same
//! tree agree line for line exactly when the auditor agrees with the operator:
//!
//! ```text
//! headcount tally v1              | headcount attestation v1
//! <log origin>
//! <tree size, decimal>
//! <root hash, base64>
//!                                 | verdict agrees   or   verdict differs <code>
//! <campaign id hex> <credible> <credentialed> <vouched> <unverified> <over_bound> <withdrawals>
//! …one line per campaign, ascending by id
//! ```
//!
//! Each line ends in a newline. The notes are signed with the log's key
//! (tally notes) or the auditor's key (attestations); their first line
//! differs from any checkpoint's origin line, so neither can be mistaken
//! for a checkpoint.

use crate::ids::CampaignId;
use crate::tally::CampaignTally;

/// First line of a tally note.
pub const TALLY_NOTE_HEADER: &str = "headcount tally v1";
/// First line of an attestation.
pub const ATTESTATION_HEADER: &str = "headcount attestation v1";

/// One campaign's counts as a note line carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountsLine {
    pub campaign: CampaignId,
    pub credible: u64,
    pub credentialed: u64,
    pub vouched: u64,
    pub unverified: u64,
    pub over_bound: u64,
    pub withdrawals: u64,
}

impl From<&CampaignTally> for CountsLine {
    fn from(t: &CampaignTally) -> Self {
        CountsLine {
            campaign: t.campaign,
            credible: t.credible,
            credentialed: t.credentialed,
            vouched: t.vouched,
            unverified: t.unverified,
            over_bound: t.credentialed_over_bound,
            withdrawals: t.withdrawals,
        }
    }
}

/// The body of a tally note or an attestation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountsNote {
    /// Attestations carry a verdict; tally notes do not.
    pub verdict: Option<String>,
    pub origin: String,
    pub tree_size: u64,
    /// The tree's root hash, standard base64 (as in the checkpoint).
    pub root: String,
    pub campaigns: Vec<CountsLine>,
}

/// A malformed note body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed tally note: {0}")]
pub struct NoteFormatError(pub &'static str);

impl CountsNote {
    /// A note from tallies (sorted by campaign id here).
    pub fn new(
        origin: &str,
        tree_size: u64,
        root: &str,
        tallies: &[CampaignTally],
        verdict: Option<String>,
    ) -> Self {
        let mut campaigns: Vec<CountsLine> = tallies.iter().map(CountsLine::from).collect();
        campaigns.sort_by_key(|c| c.campaign);
        CountsNote {
            verdict,
            origin: origin.into(),
            tree_size,
            root: root.into(),
            campaigns,
        }
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(if self.verdict.is_some() {
            ATTESTATION_HEADER
        } else {
            TALLY_NOTE_HEADER
        });
        s.push('\n');
        s.push_str(&format!(
            "{}\n{}\n{}\n",
            self.origin, self.tree_size, self.root
        ));
        if let Some(v) = &self.verdict {
            s.push_str(&format!("verdict {v}\n"));
        }
        for c in &self.campaigns {
            s.push_str(&format!(
                "{} {} {} {} {} {} {}\n",
                c.campaign,
                c.credible,
                c.credentialed,
                c.vouched,
                c.unverified,
                c.over_bound,
                c.withdrawals
            ));
        }
        s
    }

    /// Parses a note text, strictly (it must re-encode to the same text).
    pub fn parse(text: &str) -> Result<Self, NoteFormatError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(NoteFormatError("no final newline"))?;
        let mut lines = body.split('\n');
        let attestation = match lines.next() {
            Some(TALLY_NOTE_HEADER) => false,
            Some(ATTESTATION_HEADER) => true,
            _ => return Err(NoteFormatError("unknown header")),
        };
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(NoteFormatError("no origin"))?;
        let tree_size = lines
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or(NoteFormatError("bad tree size"))?;
        let root = lines
            .next()
            .filter(|r| r.len() == 44)
            .ok_or(NoteFormatError("bad root"))?;
        let verdict = if attestation {
            let v = lines
                .next()
                .and_then(|l| l.strip_prefix("verdict "))
                .ok_or(NoteFormatError("no verdict"))?;
            Some(v.to_owned())
        } else {
            None
        };
        let mut campaigns = Vec::new();
        for l in lines {
            let f: Vec<&str> = l.split(' ').collect();
            if f.len() != 7 {
                return Err(NoteFormatError("a campaign line has 7 fields"));
            }
            let n = |i: usize| {
                f[i].parse::<u64>()
                    .map_err(|_| NoteFormatError("bad count"))
            };
            campaigns.push(CountsLine {
                campaign: CampaignId::from_hex(f[0]).ok_or(NoteFormatError("bad campaign id"))?,
                credible: n(1)?,
                credentialed: n(2)?,
                vouched: n(3)?,
                unverified: n(4)?,
                over_bound: n(5)?,
                withdrawals: n(6)?,
            });
        }
        let note = CountsNote {
            verdict,
            origin: origin.into(),
            tree_size,
            root: root.into(),
            campaigns,
        };
        if note.to_text() != text {
            return Err(NoteFormatError("not in canonical form"));
        }
        Ok(note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_non_canonical_text() {
        let root = "A".repeat(43) + "=";
        let note = CountsNote {
            verdict: None,
            origin: "example.org/log".into(),
            tree_size: 12,
            root: root.clone(),
            campaigns: vec![CountsLine {
                campaign: CampaignId([1; 32]),
                credible: 5,
                credentialed: 3,
                vouched: 2,
                unverified: 7,
                over_bound: 0,
                withdrawals: 1,
            }],
        };
        let text = note.to_text();
        assert_eq!(CountsNote::parse(&text).unwrap(), note);
        let att = CountsNote {
            verdict: Some("agrees".into()),
            ..note
        };
        assert_eq!(CountsNote::parse(&att.to_text()).unwrap(), att);
        assert!(CountsNote::parse(&text.replace(" 5 ", " 05 ")).is_err());
        assert!(CountsNote::parse(&text.replace("v1", "v2")).is_err());
        assert!(CountsNote::parse(text.trim_end()).is_err());
    }
}
