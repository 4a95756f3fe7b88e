//! A small log with every entry type, for the conformance checks.

use headcount_core::entry::{Declaration, Entry, Withdrawal};
use headcount_core::testkit;
use headcount_core::{
    CampaignId, CampaignTally, EntryHash, Leaf, Period, Pseudonym, RegistrarId, Timestamp,
};

/// One leaf of the fixture.
pub struct Fixed {
    pub leaf: Leaf,
    pub entry: Entry,
}

impl Fixed {
    fn new((entry, bytes): (Entry, Vec<u8>), ts: u64) -> Fixed {
        Fixed {
            leaf: Leaf {
                timestamp: Timestamp(ts),
                entry: bytes,
            },
            entry,
        }
    }

    pub fn hash(&self) -> EntryHash {
        self.leaf.entry_hash()
    }
}

pub struct Fixture {
    pub registrar: RegistrarId,
    pub campaign: CampaignId,
    pub other_campaign: CampaignId,
    /// Round 1 (leaves 0..6), then round 2 (leaves 6..10).
    pub round1: Vec<Fixed>,
    pub round2: Vec<Fixed>,
    pub p1: Pseudonym,
    pub p2: Pseudonym,
}

/// A whole minute (1 800 000 000 is a multiple of 60), as sequencer timestamps are.
pub const T1: u64 = 1_800_000_000;
pub const T2: u64 = T1 + 60;
pub const PERIOD: Period = Period(670);

fn declaration(
    campaign: CampaignId,
    registrar: RegistrarId,
    pseudonym: Pseudonym,
    predecessor: EntryHash,
    alias: &str,
) -> (Entry, Vec<u8>) {
    let e = Entry::Declaration(Declaration {
        campaign,
        pseudonym,
        registrar,
        period: PERIOD,
        predecessor,
        alias: alias.into(),
        message: format!("message of {alias}"),
        // The derived state never verifies proofs: the sequencer did.
        proof: vec![7; 16],
    });
    let bytes = e.encode();
    (e, bytes)
}

pub fn fixture() -> Fixture {
    let rkey = testkit::test_key(11);
    let okey = testkit::test_key(12);
    let reg = testkit::registrar(&rkey, testkit::bbs_key(1), "Registrar One");
    let registrar = match &reg.0 {
        Entry::Registrar(r) => r.id(),
        _ => unreachable!("testkit::registrar makes a registrar"),
    };
    let camp = testkit::campaign(&okey, vec![registrar], 0, u64::MAX / 2, 0);
    let other = testkit::campaign(&testkit::test_key(13), vec![registrar], 0, u64::MAX / 2, 0);
    let campaign = match &camp.0 {
        Entry::Campaign(c) => c.id(),
        _ => unreachable!("testkit::campaign makes a campaign"),
    };
    let other_campaign = match &other.0 {
        Entry::Campaign(c) => c.id(),
        _ => unreachable!("testkit::campaign makes a campaign"),
    };
    let p1 = Pseudonym([1; 48]);
    let p2 = Pseudonym([2; 48]);
    let round1 = vec![
        Fixed::new(reg, T1),
        Fixed::new(camp, T1),
        Fixed::new(other, T1),
        Fixed::new(testkit::period(&rkey, registrar, PERIOD, 5), T1),
        Fixed::new(
            testkit::vouched(&rkey, registrar, campaign, [9; 32], "vouched one"),
            T1,
        ),
        Fixed::new(testkit::unverified(campaign, "unverified one", 0), T1),
    ];
    let d1 = declaration(campaign, registrar, p1, EntryHash::NONE, "first");
    let d1_hash = EntryHash::of(&d1.1);
    let withdrawal = Entry::Withdrawal(Withdrawal {
        campaign,
        pseudonym: p1,
        registrar,
        period: PERIOD,
        predecessor: d1_hash,
        proof: vec![8; 16],
    });
    let wbytes = withdrawal.encode();
    let round2 = vec![
        Fixed::new(d1, T2),
        Fixed::new(
            declaration(campaign, registrar, p2, EntryHash::NONE, "second"),
            T2,
        ),
        Fixed::new((withdrawal, wbytes), T2),
        Fixed::new(testkit::retirement(&rkey, registrar), T2),
    ];
    Fixture {
        registrar,
        campaign,
        other_campaign,
        round1,
        round2,
        p1,
        p2,
    }
}

/// A tally with these counts (the writer stores it as given).
pub fn tally(
    campaign: CampaignId,
    tree_size: u64,
    credentialed: u64,
    vouched: u64,
) -> CampaignTally {
    CampaignTally {
        campaign,
        tree_size,
        credible: credentialed + vouched,
        distinct_lower_bound: credentialed.max(vouched),
        credentialed,
        credentialed_over_bound: 0,
        vouched,
        unverified: 1,
        withdrawals: 0,
        by_registrar: vec![],
    }
}
