//! A synthetic derived-state database shaped exactly like the server's (the
//! schema comes from `headcount_server::derived::Derived::open`), filled with
//! real signed registrar and campaign entries and any number of declaration
//! rows and tally-history rows. For the render bench (a million rows) and the
//! page tests. Not used by the server.

use std::path::Path;
use std::sync::Arc;

use headcount_core::entry::Entry;
use headcount_core::testkit::{self, test_key};
use headcount_core::{CampaignId, CampaignTally, Period, PeriodTally, RegistrarId, RegistrarTally};

/// The fixture's first issuance month (2024-01); month `b` is `FIRST_PERIOD + b`.
const FIRST_PERIOD: u32 = 648;
use headcount_server::derived::Derived;
use headcount_tlog::{Checkpoint, LogSigner, TreeSize};
use rusqlite::{Connection, params};

use crate::pages::LogView;

/// What the fixture made.
pub struct Fixture {
    pub campaigns: Vec<CampaignId>,
    pub registrar: RegistrarId,
    pub log: LogView,
    /// Total rows in `declarations`.
    pub declarations: u64,
}

/// Aliases the fixture cycles through, hostile ones included.
pub const ALIASES: &[&str] = &[
    "清风",
    "Lotus",
    "<script>alert(1)</script>",
    "夜行者",
    "\"><img src=x onerror=alert(1)>",
    "Free Bird",
    "\u{202E}evil\u{202C} right-to-left",
    "山鹰",
];

/// Fills a new database at `path` with `n` declaration rows over two
/// campaigns, and a tally history row every `tally_every` leaves.
pub fn build(path: &Path, n: u64, tally_every: u64) -> Fixture {
    drop(Derived::open(path).expect("schema"));
    let mut conn = Connection::open(path).expect("open");
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;")
        .expect("pragma");
    let rkey = test_key(1);
    let (Entry::Registrar(reg), reg_bytes) = testkit::registrar(
        &rkey,
        testkit::bbs_key(1),
        "Volunteers' Phone Line · 志愿者热线",
    ) else {
        unreachable!()
    };
    let rid = reg.id();
    let mut campaigns = Vec::new();
    let mut campaign_rows = Vec::new();
    for k in 0..2u64 {
        let (Entry::Campaign(c), bytes) = testkit::campaign(
            &test_key(2 + k as u8),
            vec![rid],
            1_767_225_600,
            1_798_761_600,
            12,
        ) else {
            unreachable!()
        };
        campaigns.push(c.id());
        campaign_rows.push((c.id(), 2 + k, bytes));
    }
    let batches: u32 = 20;
    let batch_size: u32 = (n / 40).max(10) as u32;
    let tx = conn.transaction().expect("tx");
    tx.execute(
        "INSERT INTO registrars (id, leaf_index, timestamp, entry) VALUES (?1, 0, 1767225600, ?2)",
        params![&rid.0[..], reg_bytes],
    )
    .expect("registrar");
    for b in 0..batches {
        tx.execute(
            "INSERT INTO periods (registrar, period, size, leaf_index, entry_hash) VALUES (?1, ?2, ?3, 1, ?4)",
            params![
                &rid.0[..],
                FIRST_PERIOD + b,
                size_of(b, batches, batch_size),
                &[b as u8; 32][..]
            ],
        )
        .expect("batch");
    }
    for (id, leaf, bytes) in &campaign_rows {
        tx.execute(
            "INSERT INTO campaigns (id, leaf_index, timestamp, entry) VALUES (?1, ?2, 1767225600, ?3)",
            params![&id.0[..], *leaf as i64, bytes],
        )
        .expect("campaign");
    }
    let first = 4u64;
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO declarations (leaf_index, campaign, kind, timestamp, registrar, period, pseudonym, alias, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .expect("prepare");
        let mut tallies = tx
            .prepare("INSERT INTO tallies (campaign, tree_size, json) VALUES (?1, ?2, ?3)")
            .expect("prepare");
        let mut counts = [[0u64; 4]; 2]; // credentialed, vouched, unverified, withdrawals
        for i in 0..n {
            let leaf = first + i;
            let c = (i % 2) as usize;
            let cid = campaigns[c];
            let ts = 1_767_225_600 + (i / 100) * 60;
            let alias = format!("{} {}", ALIASES[(i % ALIASES.len() as u64) as usize], i);
            let message = if i % 5 == 0 {
                "I was made to join at fourteen. 我十四岁时被迫入团。"
            } else {
                ""
            };
            match i % 10 {
                0..=4 => {
                    counts[c][0] += 1;
                    let mut nym = [0u8; 48];
                    nym[..8].copy_from_slice(&i.to_be_bytes());
                    ins.execute(params![
                        leaf as i64,
                        &cid.0[..],
                        "declaration",
                        ts as i64,
                        &rid.0[..],
                        FIRST_PERIOD + (i % u64::from(batches)) as u32,
                        &nym[..],
                        alias,
                        message
                    ])
                    .expect("decl");
                }
                5..=7 => {
                    counts[c][1] += 1;
                    ins.execute(params![
                        leaf as i64,
                        &cid.0[..],
                        "vouched-declaration",
                        ts as i64,
                        &rid.0[..],
                        None::<u32>,
                        None::<Vec<u8>>,
                        alias,
                        message
                    ])
                    .expect("vouched");
                }
                8 => {
                    counts[c][2] += 1;
                    ins.execute(params![
                        leaf as i64,
                        &cid.0[..],
                        "unverified-declaration",
                        ts as i64,
                        None::<Vec<u8>>,
                        None::<u32>,
                        None::<Vec<u8>>,
                        alias,
                        message
                    ])
                    .expect("unverified");
                }
                _ => {
                    // Withdraws the declaration of row i - 9, in its campaign.
                    let cw = ((i - 9) % 2) as usize;
                    counts[cw][3] += 1;
                    counts[cw][0] = counts[cw][0].saturating_sub(1);
                    let mut nym = [0u8; 48];
                    nym[..8].copy_from_slice(&(i - 9).to_be_bytes());
                    ins.execute(params![
                        leaf as i64,
                        &campaigns[cw].0[..],
                        "withdrawal",
                        ts as i64,
                        &rid.0[..],
                        FIRST_PERIOD + ((i - 9) % u64::from(batches)) as u32,
                        &nym[..],
                        None::<String>,
                        None::<String>
                    ])
                    .expect("withdrawal");
                }
            }
            let size = leaf + 1;
            if size.is_multiple_of(tally_every) || i + 1 == n {
                for (c, cid) in campaigns.iter().enumerate() {
                    let t = tally(*cid, rid, size, counts[c], batches, batch_size);
                    tallies
                        .execute(params![
                            &cid.0[..],
                            size as i64,
                            serde_json::to_string(&t).expect("json")
                        ])
                        .expect("tally");
                }
            }
        }
    }
    tx.commit().expect("commit");
    drop(conn);
    let size = first + n;
    let (signer, _, vkey) = LogSigner::generate("bench.headcount.local/log").expect("key");
    let root = headcount_tlog::leaf_hash(b"fixture root");
    let mut note = signer
        .sign(&Checkpoint {
            origin: "bench.headcount.local/log".into(),
            size: TreeSize(size),
            root,
            extensions: vec![],
        })
        .expect("sign");
    // A (fake) witness cosignature line, as a cosigned checkpoint carries.
    note.extend_from_slice(
        "\u{2014} witness.example/w1 AAECAwAAAABpVfAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
            .as_bytes(),
    );
    Fixture {
        campaigns,
        registrar: rid,
        log: LogView {
            origin: "bench.headcount.local/log".into(),
            vkey,
            size,
            root: root.0,
            note: Arc::new(note),
            has_policy: false,
        },
        declarations: n,
    }
}

/// The logged size of batch `b`: the last batch is small, so the fixture's
/// tallies have a batch over its bound.
fn size_of(b: u32, batches: u32, batch_size: u32) -> u32 {
    if b == batches - 1 {
        batch_size / 4
    } else {
        batch_size
    }
}

/// The tally the fixture stores: counts spread over the batches, the last
/// batch of the first campaign over its bound.
fn tally(
    campaign: CampaignId,
    registrar: RegistrarId,
    size: u64,
    [credentialed, vouched, unverified, withdrawals]: [u64; 4],
    batches: u32,
    batch_size: u32,
) -> CampaignTally {
    let per = credentialed / u64::from(batches);
    let mut bt = Vec::new();
    let mut within = 0;
    let mut over = 0;
    for b in 0..batches {
        let declarations = if b == batches - 1 {
            credentialed - per * u64::from(batches - 1)
        } else {
            per
        };
        let over_bound = declarations > u64::from(size_of(b, batches, batch_size));
        if over_bound {
            over += declarations;
        } else {
            within += declarations;
        }
        bt.push(PeriodTally {
            period: Period(FIRST_PERIOD + b),
            size: size_of(b, batches, batch_size),
            declarations,
            over_bound,
        });
    }
    CampaignTally {
        campaign,
        tree_size: size,
        credible: within + vouched,
        distinct_lower_bound: within.max(vouched),
        credentialed: within,
        credentialed_over_bound: over,
        vouched,
        unverified,
        withdrawals,
        by_registrar: vec![RegistrarTally {
            registrar,
            retired: false,
            vouched,
            credentialed: within,
            periods: bt,
        }],
    }
}
