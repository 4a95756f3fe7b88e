//! Text bodies of the signed notes that carry tallies (C2SP signed-note).
//!
//! * A **tally note** is signed by the operator for one campaign at each
//!   checkpoint where that campaign's entries changed: what it claims the
//!   campaign's counts are at that tree size. The claim stands until the
//!   campaign's next entry, so the note that answers "what are the counts at
//!   tree size N" is the campaign's latest note at or below N. One note per
//!   campaign keeps every note small (a few hundred bytes, far below the
//!   signed-note limit of 1 MB, however many campaigns the log holds) and
//!   costs one signature per changed campaign per round, never one per
//!   campaign in the log.
//! * An **attestation** is published by an auditor: the counts it
//!   recomputed from the log itself at a tree size, and its verdict.
//!
//! Both share one layout, so a tally note agrees with the attestation's line
//! for its campaign exactly when the auditor agrees with the operator:
//!
//! ```text
//! headcount tally v3              | headcount attestation v2
//! <log origin>
//! <tree size, decimal>
//! <root hash, base64>
//!                                 | verdict agrees   or   verdict differs <code>
//! <campaign id hex> <credible> <credentialed> <vouched> <unverified> <over_bound> <withdrawals>
//!   (a tally note: exactly one line) | (an attestation: one line per campaign, ascending by id)
//! ```
//!
//! A campaign line is the id followed by [`LINE_COUNTS`] decimal counts in
//! the order of [`CountsLine::counts`]; a new figure is one more field there
//! (and a new header version).
//!
//! Each line ends in a newline. The notes are signed with the log's key
//! (tally notes) or the auditor's key (attestations); their first line
//! differs from any checkpoint's origin line, so neither can be mistaken
//! for a checkpoint.

use crate::ids::CampaignId;
use crate::tally::CampaignTally;

/// First line of a (per-campaign) tally note.
pub const TALLY_NOTE_HEADER: &str = "headcount tally v3";
/// Number of counts on a campaign line.
pub const LINE_COUNTS: usize = 7;
/// First line of an attestation.
pub const ATTESTATION_HEADER: &str = "headcount attestation v2";

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
    /// At least this many distinct people stand behind `credible` (the largest
    /// single registrar's count; `CampaignTally::distinct_lower_bound`).
    pub distinct_lower_bound: u64,
}

impl CountsLine {
    /// The counts in line order.
    pub fn counts(&self) -> [u64; LINE_COUNTS] {
        [
            self.credible,
            self.credentialed,
            self.vouched,
            self.unverified,
            self.over_bound,
            self.withdrawals,
            self.distinct_lower_bound,
        ]
    }

    fn from_counts(campaign: CampaignId, c: [u64; LINE_COUNTS]) -> Self {
        let [
            credible,
            credentialed,
            vouched,
            unverified,
            over_bound,
            withdrawals,
            distinct_lower_bound,
        ] = c;
        CountsLine {
            campaign,
            credible,
            credentialed,
            vouched,
            unverified,
            over_bound,
            withdrawals,
            distinct_lower_bound,
        }
    }
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
            distinct_lower_bound: t.distinct_lower_bound,
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

    /// The operator's tally note for one campaign at a tree size.
    pub fn campaign_note(origin: &str, tree_size: u64, root: &str, tally: &CampaignTally) -> Self {
        Self::new(origin, tree_size, root, std::slice::from_ref(tally), None)
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
            s.push_str(&c.campaign.to_string());
            for n in c.counts() {
                s.push_str(&format!(" {n}"));
            }
            s.push('\n');
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
            if f.len() != 1 + LINE_COUNTS {
                return Err(NoteFormatError("a campaign line has an id and 7 counts"));
            }
            let mut counts = [0u64; LINE_COUNTS];
            for (c, s) in counts.iter_mut().zip(&f[1..]) {
                *c = s.parse().map_err(|_| NoteFormatError("bad count"))?;
            }
            let id = CampaignId::from_hex(f[0]).ok_or(NoteFormatError("bad campaign id"))?;
            campaigns.push(CountsLine::from_counts(id, counts));
        }
        if !attestation && campaigns.len() != 1 {
            return Err(NoteFormatError(
                "a tally note has exactly one campaign line",
            ));
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
                distinct_lower_bound: 3,
            }],
        };
        let text = note.to_text();
        assert_eq!(CountsNote::parse(&text).unwrap(), note);
        let att = CountsNote {
            verdict: Some("agrees".into()),
            ..note.clone()
        };
        assert_eq!(CountsNote::parse(&att.to_text()).unwrap(), att);
        assert!(CountsNote::parse(&text.replace(" 5 ", " 05 ")).is_err());
        assert!(CountsNote::parse(&text.replace("v3", "v4")).is_err());
        // The lower bound on distinct people is the last figure of the line.
        assert!(text.contains(" 5 3 2 7 0 1 3\n"), "{text}");
        // A tally note carries exactly one campaign.
        let two = CountsNote {
            campaigns: vec![note.campaigns[0].clone(), note.campaigns[0].clone()],
            ..note.clone()
        };
        assert!(CountsNote::parse(&two.to_text()).is_err());
        let none = CountsNote {
            campaigns: vec![],
            ..note.clone()
        };
        assert!(CountsNote::parse(&none.to_text()).is_err());
        assert!(CountsNote::parse(text.trim_end()).is_err());
    }
}
