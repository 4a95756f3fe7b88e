//! The derived-state writer and the read model, query by query.

use headcount_core::EntryHash;

use super::fixture::{PERIOD, T1, T2, fixture, tally};
use crate::rows::*;
use crate::{AppliedLeaf, DerivedWriter, ReadModel};

fn applied(leaves: &[super::fixture::Fixed], first: u64) -> Vec<AppliedLeaf<'_>> {
    leaves
        .iter()
        .enumerate()
        .map(|(i, f)| AppliedLeaf {
            index: first + i as u64,
            leaf: &f.leaf,
            entry: &f.entry,
        })
        .collect()
}

fn indices(rows: &[DeclarationRow]) -> Vec<u64> {
    rows.iter().map(|r| r.leaf_index).collect()
}

/// Runs every check on an empty derived state: `writer` and `read` must be
/// two views of the same store.
pub fn derived_state(writer: &mut dyn DerivedWriter, read: &dyn ReadModel) {
    let f = fixture();
    let c = f.campaign;

    // Empty.
    assert_eq!(writer.applied_size().unwrap(), 0);
    assert!(read.campaigns().unwrap().is_empty());
    assert!(read.lookup_entry(&f.round1[0].hash()).unwrap().is_none());
    assert!(read.tally_at(&c, 10).unwrap().is_none());
    assert!(read.tally_points(&c, 10, 4).unwrap().is_empty());
    assert!(read.attestations(10).unwrap().is_empty());

    // Round 1: leaves 0..6, checkpoint 6, the campaign's first tally.
    writer
        .apply(
            &applied(&f.round1, 0),
            6,
            Some(b"checkpoint 6"),
            &[(tally(c, 6, 0, 1), None)],
        )
        .unwrap();
    assert_eq!(writer.applied_size().unwrap(), 6);
    // Round 2: leaves 6..10, with a signed tally note.
    writer
        .apply(
            &applied(&f.round2, 6),
            10,
            Some(b"checkpoint 10"),
            &[(tally(c, 10, 1, 1), Some(b"tally note 10".to_vec()))],
        )
        .unwrap();
    assert_eq!(writer.applied_size().unwrap(), 10);

    // Entries by hash, with the receipt size of their round.
    assert_eq!(
        read.lookup_entry(&f.round1[0].hash()).unwrap(),
        Some(Located {
            index: 0,
            timestamp: T1,
            receipt_size: 6
        })
    );
    assert_eq!(
        read.lookup_entry(&f.round2[1].hash()).unwrap(),
        Some(Located {
            index: 7,
            timestamp: T2,
            receipt_size: 10
        })
    );
    assert!(read.lookup_entry(&EntryHash([0xee; 32])).unwrap().is_none());

    // Checkpoints at exactly their size.
    assert_eq!(
        read.checkpoint(6).unwrap().as_deref(),
        Some(&b"checkpoint 6"[..])
    );
    assert_eq!(
        read.checkpoint(10).unwrap().as_deref(),
        Some(&b"checkpoint 10"[..])
    );
    assert!(read.checkpoint(7).unwrap().is_none());

    // Campaigns and registrars.
    let camp = read.campaign(&c).unwrap().expect("campaign");
    assert_eq!((camp.leaf_index, camp.timestamp), (1, T1));
    assert_eq!(camp.entry, f.round1[1].leaf.entry);
    assert!(
        read.campaign(&headcount_core::CampaignId([3; 32]))
            .unwrap()
            .is_none()
    );
    let all: Vec<u64> = read
        .campaigns()
        .unwrap()
        .iter()
        .map(|r| r.leaf_index)
        .collect();
    assert_eq!(all, vec![1, 2]);
    let page: Vec<u64> = read
        .campaigns_page(None, 1)
        .unwrap()
        .iter()
        .map(|r| r.leaf_index)
        .collect();
    assert_eq!(page, vec![1]);
    let page: Vec<u64> = read
        .campaigns_page(Some(1), 10)
        .unwrap()
        .iter()
        .map(|r| r.leaf_index)
        .collect();
    assert_eq!(page, vec![2]);
    let reg = read.registrar(&f.registrar).unwrap().expect("registrar");
    assert_eq!((reg.leaf_index, &reg.entry), (0, &f.round1[0].leaf.entry));
    assert_eq!(read.registrars().unwrap(), vec![reg]);

    // Periods and retirement.
    assert_eq!(
        read.periods(&f.registrar).unwrap(),
        vec![PeriodRow {
            period: PERIOD,
            month: PERIOD.to_string(),
            size: 5,
            leaf_index: 3,
            entry_hash: hex::encode(f.round1[3].hash().0),
        }]
    );
    let retired = read.retirement(&f.registrar).unwrap().expect("retired");
    assert_eq!((retired.leaf_index, retired.timestamp), (9, T2));
    assert!(!retired.reason.is_empty());
    assert!(
        read.retirement(&headcount_core::RegistrarId([4; 32]))
            .unwrap()
            .is_none()
    );

    // Tallies: the latest at or below a size, restated at that size.
    assert!(read.tally_at(&c, 5).unwrap().is_none());
    let t8 = read.tally_at(&c, 8).unwrap().expect("tally at 8");
    assert_eq!((t8.tree_size, t8.credentialed, t8.vouched), (8, 0, 1));
    let t12 = read.tally_at(&c, 12).unwrap().expect("tally at 12");
    assert_eq!((t12.tree_size, t12.credible), (12, 2));
    assert_eq!(read.tally_note_at(&c, 9).unwrap(), Some((6, None)));
    assert_eq!(
        read.tally_note_at(&c, 10).unwrap(),
        Some((10, Some(b"tally note 10".to_vec())))
    );
    assert!(read.tally_note_at(&c, 3).unwrap().is_none());
    let history: Vec<u64> = read
        .tally_history(&c)
        .unwrap()
        .iter()
        .map(|t| t.tree_size)
        .collect();
    assert_eq!(history, vec![6, 10]);
    assert_eq!(read.first_tally_size(&c).unwrap(), Some(6));
    assert_eq!(read.first_tally_size(&f.other_campaign).unwrap(), None);
    let points = read.tally_points(&c, 10, 4).unwrap();
    let sizes: Vec<u64> = points.iter().map(|p| p.tree_size).collect();
    assert_eq!(sizes, vec![6, 7, 8, 9, 10]);
    let credible: Vec<u64> = points.iter().map(|p| p.credible).collect();
    assert_eq!(credible, vec![1, 1, 1, 1, 2]);

    // A campaign's entries, newest first.
    let decl = read.declarations(&c, None, 100).unwrap();
    assert_eq!(indices(&decl), vec![8, 7, 6, 5, 4]);
    assert!(decl.iter().all(|d| d.next.is_none() && d.campaign == c));
    let kinds: Vec<&str> = decl.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "withdrawal",
            "declaration",
            "declaration",
            "unverified-declaration",
            "vouched-declaration"
        ]
    );
    let first = &decl[2];
    assert_eq!(first.pseudonym.as_deref(), Some(&f.p1.0[..]));
    assert_eq!(first.registrar, Some(f.registrar));
    assert_eq!(first.period, Some(PERIOD));
    assert_eq!(first.alias.as_deref(), Some("first"));
    assert_eq!(first.message.as_deref(), Some("message of first"));
    assert_eq!(first.timestamp, T2);
    assert_eq!(
        decl[3].registrar, None,
        "unverified declarations have no registrar"
    );
    assert_eq!(
        indices(&read.declarations(&c, Some(7), 100).unwrap()),
        vec![6, 5, 4]
    );
    assert_eq!(
        indices(&read.declarations(&c, None, 2).unwrap()),
        vec![8, 7]
    );
    assert!(
        read.declarations(&f.other_campaign, None, 100)
            .unwrap()
            .is_empty()
    );

    // With each person's next entry, within the tree asked about.
    let all10 = read.declarations_at(&c, 10, None, 100, Show::All).unwrap();
    assert_eq!(indices(&all10), vec![8, 7, 6, 5, 4]);
    let standing: Vec<Standing> = all10.iter().map(DeclarationRow::standing).collect();
    assert_eq!(
        standing,
        vec![
            Standing::Withdrawal,
            Standing::Counted,
            Standing::Withdrawn(8),
            Standing::CountedApart,
            Standing::Counted
        ]
    );
    let counted10 = read
        .declarations_at(&c, 10, None, 100, Show::Counted)
        .unwrap();
    assert_eq!(indices(&counted10), vec![7, 5, 4]);
    let all8 = read.declarations_at(&c, 8, None, 100, Show::All).unwrap();
    assert_eq!(indices(&all8), vec![7, 6, 5, 4]);
    assert!(
        all8.iter().all(|d| d.next.is_none()),
        "the withdrawal is beyond size 8"
    );
    assert_eq!(
        indices(
            &read
                .declarations_at(&c, 10, Some(6), 100, Show::All)
                .unwrap()
        ),
        vec![5, 4]
    );
    assert_eq!(
        indices(
            &read
                .declarations_at(&c, 10, None, 1, Show::Counted)
                .unwrap()
        ),
        vec![7]
    );
    assert_eq!(indices(&read.withdrawals(&c, 10).unwrap()), vec![8]);
    assert!(read.withdrawals(&f.other_campaign, 10).unwrap().is_empty());
    assert_eq!(indices(&read.by_pseudonym(&f.p1.0).unwrap()), vec![6, 8]);
    assert_eq!(indices(&read.by_pseudonym(&f.p2.0).unwrap()), vec![7]);
    assert!(read.by_pseudonym(&[5; 48]).unwrap().is_empty());

    // Attestations: one per (auditor, size), newest tree first, bounded.
    writer
        .add_attestation("auditor-a", 6, "consistent", 120, b"a6")
        .unwrap();
    writer
        .add_attestation("auditor-a", 10, "consistent", 180, b"a10")
        .unwrap();
    writer
        .add_attestation("auditor-a", 10, "inconsistent", 240, b"a10 again")
        .unwrap();
    let att = read.attestations(10).unwrap();
    assert_eq!(att.len(), 2);
    assert_eq!(
        att[0],
        AttestationRow {
            auditor: "auditor-a".into(),
            tree_size: 10,
            verdict: "inconsistent".into(),
            received: 240,
            note: "a10 again".into()
        }
    );
    assert_eq!(read.attestations(1).unwrap().len(), 1);

    // Cosigning replaces a checkpoint and moves receipts to it.
    writer
        .set_cosigned(10, b"checkpoint 10 cosigned", &[f.round1[0].hash()])
        .unwrap();
    assert_eq!(
        read.checkpoint(10).unwrap().as_deref(),
        Some(&b"checkpoint 10 cosigned"[..])
    );
    assert_eq!(
        read.lookup_entry(&f.round1[0].hash())
            .unwrap()
            .unwrap()
            .receipt_size,
        10
    );

    // Applying leaves again (a catch-up after a crash) changes no receipt.
    writer.apply(&applied(&f.round2, 6), 10, None, &[]).unwrap();
    assert_eq!(
        read.lookup_entry(&f.round2[1].hash())
            .unwrap()
            .unwrap()
            .receipt_size,
        10
    );
    assert_eq!(
        indices(&read.declarations(&c, None, 100).unwrap()),
        vec![8, 7, 6, 5, 4]
    );
    assert_eq!(writer.applied_size().unwrap(), 10);

    // Reset forgets everything derived from the log (attestations are not).
    writer.reset().unwrap();
    assert_eq!(writer.applied_size().unwrap(), 0);
    assert!(read.lookup_entry(&f.round1[0].hash()).unwrap().is_none());
    assert!(read.campaigns().unwrap().is_empty());
    assert!(read.registrars().unwrap().is_empty());
    assert!(read.periods(&f.registrar).unwrap().is_empty());
    assert!(read.retirement(&f.registrar).unwrap().is_none());
    assert!(read.declarations(&c, None, 100).unwrap().is_empty());
    assert!(read.tally_at(&c, 10).unwrap().is_none());
    assert!(read.checkpoint(6).unwrap().is_none());
    assert_eq!(read.attestations(10).unwrap().len(), 2);

    // And a rebuild brings the same answers back.
    writer
        .apply(
            &applied(&f.round1, 0),
            6,
            Some(b"checkpoint 6"),
            &[(tally(c, 6, 0, 1), None)],
        )
        .unwrap();
    writer
        .apply(
            &applied(&f.round2, 6),
            10,
            Some(b"checkpoint 10"),
            &[(tally(c, 10, 1, 1), None)],
        )
        .unwrap();
    assert_eq!(
        indices(
            &read
                .declarations_at(&c, 10, None, 100, Show::Counted)
                .unwrap()
        ),
        vec![7, 5, 4]
    );
    assert_eq!(
        read.lookup_entry(&f.round2[1].hash())
            .unwrap()
            .unwrap()
            .index,
        7
    );
}
