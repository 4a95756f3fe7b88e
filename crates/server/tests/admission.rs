//! The operator's admission policy, played as the attacks it stops: a stranger
//! logging registrars and campaigns, entries without the admission work, and
//! unverified declarations with the 1 bit of work their campaign asks. Each
//! refusal has its stable code and leaves the log unchanged. And the signed
//! tally notes at 100 000 campaigns.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use headcount_core::entry::Entry;
use headcount_core::notes::CountsNote;
use headcount_core::testkit::{self, test_key};
use headcount_core::{CampaignId, EntryHash, RegistrarId};
use headcount_server::admission::{self, WORK_HEADER};
use headcount_server::{AdmissionPolicy, Publishers, SequencerOptions};
use headcount_tlog::LogVerifier;
use serde_json::Value;

async fn post(url: &str, body: Vec<u8>, work: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/v1/entries"))
        .body(body);
    if let Some(w) = work {
        req = req.header(WORK_HEADER, w);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn size(url: &str) -> u64 {
    get(&format!("{url}/v1/log")).await.1["tree_size"]
        .as_u64()
        .unwrap()
}

fn key_of(seed: u8) -> [u8; 32] {
    test_key(seed).verifying_key().to_bytes()
}

#[tokio::test]
async fn allowlists_refuse_strangers_and_change_nothing() {
    let srv = common::start().await;
    srv.log.set_admission(AdmissionPolicy {
        registrars: Publishers::Allow(BTreeSet::from([key_of(1)])),
        organisers: Publishers::Allow(BTreeSet::from([key_of(2)])),
        publish_work_bits: 0,
        min_unverified_difficulty: 0,
        busy_work_bits: 0,
    });
    // A registrar and an organiser on the lists are accepted.
    let (Entry::Registrar(r), rb) = testkit::registrar(&test_key(1), [7; 96], "Listed") else {
        unreachable!()
    };
    assert_eq!(post(&srv.url, rb, None).await.0, 200);
    let now = common::now();
    let (_, cb) = testkit::campaign(&test_key(2), vec![r.id()], now - 60, now + 3600, 8);
    assert_eq!(post(&srv.url, cb, None).await.0, 200);
    let before = size(&srv.url).await;
    // A stranger's registrar and campaign are refused, whatever work they carry.
    let (_, stranger) = testkit::registrar(&test_key(9), [8; 96], "Look-alike");
    let (s, v) = post(&srv.url, stranger, Some("0")).await;
    assert_eq!(
        (s, v["error"].as_str().unwrap()),
        (403, "publisher_not_allowed")
    );
    let (_, spam) = testkit::campaign(&test_key(9), vec![r.id()], now - 60, now + 3600, 1);
    let (s, v) = post(&srv.url, spam, None).await;
    assert_eq!(
        (s, v["error"].as_str().unwrap()),
        (403, "publisher_not_allowed")
    );
    assert_eq!(size(&srv.url).await, before);
    let (_, list) = get(&format!("{}/v1/campaigns", srv.url)).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // /v1/log says what the policy is, without listing keys.
    let (_, info) = get(&format!("{}/v1/log", srv.url)).await;
    assert_eq!(info["admission"]["registrars"], "allowlist");
    assert_eq!(info["admission"]["organisers"], "allowlist");
    srv.stop().await;
}

#[tokio::test]
async fn open_publishing_costs_admission_work_bound_to_the_entry() {
    let srv = common::start().await;
    let bits = 12;
    srv.log.set_admission(AdmissionPolicy {
        registrars: Publishers::Open,
        organisers: Publishers::Open,
        publish_work_bits: bits,
        min_unverified_difficulty: 0,
        busy_work_bits: 0,
    });
    let (_, rb) = testkit::registrar(&test_key(1), [7; 96], "Open");
    let hash = EntryHash::of(&rb);
    // Without work, with a malformed header, with too little work: refused, nothing logged.
    let (s, v) = post(&srv.url, rb.clone(), None).await;
    assert_eq!(
        (s, v["error"].as_str().unwrap()),
        (403, "admission_work_required")
    );
    let (s, v) = post(&srv.url, rb.clone(), Some("12ab")).await;
    assert_eq!((s, v["error"].as_str().unwrap()), (400, "bad_work_header"));
    let weak = (0u64..)
        .find(|n| admission::work_bits(&hash, *n) < u32::from(bits))
        .unwrap();
    let (s, v) = post(&srv.url, rb.clone(), Some(&weak.to_string())).await;
    assert_eq!(
        (s, v["error"].as_str().unwrap()),
        (422, "insufficient_admission_work")
    );
    // Work solved for another entry does not transfer.
    let (_, other) = testkit::registrar(&test_key(3), [9; 96], "Other");
    let other_nonce = admission::solve(&EntryHash::of(&other), bits);
    if admission::work_bits(&hash, other_nonce) < u32::from(bits) {
        let (s, _) = post(&srv.url, rb.clone(), Some(&other_nonce.to_string())).await;
        assert_eq!(s, 422);
    }
    assert_eq!(size(&srv.url).await, 0);
    assert!(
        srv.log
            .metrics
            .render(0, 0)
            .contains("admission_work_required")
    );
    // With the work: accepted. A resubmission of the logged entry needs none.
    let nonce = admission::solve(&hash, bits);
    let (s, first) = post(&srv.url, rb.clone(), Some(&nonce.to_string())).await;
    assert_eq!(s, 200, "{first}");
    let (s, again) = post(&srv.url, rb, None).await;
    assert_eq!((s, &again["leaf_index"]), (200, &first["leaf_index"]));
    let (_, info) = get(&format!("{}/v1/log", srv.url)).await;
    assert_eq!(info["admission"]["publish_work_bits"], u64::from(bits));
    srv.stop().await;
}

#[tokio::test]
async fn unverified_declarations_need_the_operators_minimum_work() {
    let srv = common::start().await;
    let (Entry::Registrar(r), rb) = testkit::registrar(&test_key(1), [7; 96], "R") else {
        unreachable!()
    };
    assert_eq!(post(&srv.url, rb, None).await.0, 200);
    let now = common::now();
    // The campaign asks 1 bit: a stranger could stream declarations for free.
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![r.id()], now - 60, now + 3600, 1)
    else {
        unreachable!()
    };
    assert_eq!(post(&srv.url, cb, None).await.0, 200);
    let min = 10;
    srv.log.set_admission(AdmissionPolicy {
        min_unverified_difficulty: min,
        ..AdmissionPolicy::open()
    });
    let before = size(&srv.url).await;
    // Enough for the campaign, not for the log: refused.
    let cheap = (0..)
        .map(|i| testkit::unverified(c.id(), &format!("cheap {i}"), 1).1)
        .find(|b| headcount_core::pow::leading_zero_bits(&EntryHash::of(b).0) < u32::from(min))
        .unwrap();
    let (s, v) = post(&srv.url, cheap, None).await;
    assert_eq!(
        (s, v["error"].as_str().unwrap()),
        (422, "unverified_work_below_minimum")
    );
    assert_eq!(size(&srv.url).await, before);
    // The campaign view says what this log needs; with that work it is accepted.
    let (_, view) = get(&format!("{}/v1/campaigns/{}", srv.url, c.id())).await;
    assert_eq!(
        (
            view["unverified_difficulty"].as_u64(),
            view["unverified_difficulty_required"].as_u64()
        ),
        (Some(1), Some(u64::from(min)))
    );
    let (_, ok) = testkit::unverified(c.id(), "worked", min);
    assert_eq!(post(&srv.url, ok, None).await.0, 200);
    srv.stop().await;
}

/// 100 000 campaigns: every campaign keeps a small signed tally note (the old
/// single note silently stopped being signed above about 13 000, where it
/// passed the signed-note limit of 1 MB), look-ups by id stay indexed, and the
/// campaign list is paged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tally_notes_at_one_hundred_thousand_campaigns() {
    use futures::StreamExt;
    const N: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let srv = common::start_in(
        dir,
        SequencerOptions {
            batch_interval: Duration::from_millis(50),
            max_batch: 8192,
            pool_capacity: 200_000,
            ..SequencerOptions::default()
        },
    )
    .await;
    let (Entry::Registrar(r), rb) = testkit::registrar(&test_key(1), [7; 96], "R") else {
        unreachable!()
    };
    assert_eq!(post(&srv.url, rb, None).await.0, 200);
    let now = common::now();
    let organiser = test_key(2);
    let entries: Vec<(CampaignId, Vec<u8>)> = (0..N as u64)
        .map(|i| {
            let (Entry::Campaign(c), b) =
                testkit::campaign(&organiser, vec![r.id()], now - 3600 - i, now + 86_400, 0)
            else {
                unreachable!()
            };
            (c.id(), b)
        })
        .collect();
    let log = Arc::clone(&srv.log);
    let accepted = futures::stream::iter(entries.iter().map(|(_, b)| {
        let log = Arc::clone(&log);
        let b = b.clone();
        async move { log.submit(b).await.is_ok() }
    }))
    .buffer_unordered(16_384)
    .filter(|ok| futures::future::ready(*ok))
    .count()
    .await;
    assert_eq!(accepted, N);
    let total = size(&srv.url).await;
    assert_eq!(total, N as u64 + 1);

    let verifier = LogVerifier::from_vkey(&srv.vkey).unwrap();
    let note_of = |id: CampaignId| {
        let url = format!("{}/v1/campaigns/{id}/tally-note", srv.url);
        let verifier = &verifier;
        async move {
            let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
            assert!(bytes.len() < 1024, "a tally note is small: {}", bytes.len());
            CountsNote::parse(&verifier.verify_note(&bytes).unwrap()).unwrap()
        }
    };
    // The first, a middle and the last campaign each have their note.
    for i in [0, 13_000, 50_000, N - 1] {
        let (id, _) = entries[i];
        let n = note_of(id).await;
        assert_eq!(n.campaigns.len(), 1);
        assert_eq!(n.campaigns[0].campaign, id);
        assert!(n.tree_size <= total);
        let (s, view) = get(&format!("{}/v1/campaigns/{id}", srv.url)).await;
        assert_eq!(
            (s, view["id"].as_str()),
            (200, Some(id.to_string().as_str()))
        );
    }
    // A vouched declaration into one campaign: its note moves to the new
    // size with the new count; another campaign's note stays where it was.
    let (target, _) = entries[77_777];
    let (untouched, _) = entries[12];
    let untouched_before = note_of(untouched).await;
    let (_, vb) = testkit::vouched(&test_key(1), r.id(), target, [3; 32], "one");
    assert_eq!(post(&srv.url, vb, None).await.0, 200);
    let after = note_of(target).await;
    assert_eq!(
        (after.tree_size, after.campaigns[0].vouched),
        (total + 1, 1)
    );
    assert_eq!(note_of(untouched).await, untouched_before);
    // The list is paged: 1000 at most, and `after` moves on.
    let (_, page) = get(&format!("{}/v1/campaigns", srv.url)).await;
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 1000);
    let last = page[999]["leaf_index"].as_u64().unwrap();
    let (_, next) = get(&format!("{}/v1/campaigns?after={last}&limit=5", srv.url)).await;
    assert_eq!(next[0]["leaf_index"].as_u64(), Some(last + 1));
    assert_eq!(next.as_array().unwrap().len(), 5);
    // An unknown campaign is a clean 404.
    let (s, v) = get(&format!(
        "{}/v1/campaigns/{}/tally-note",
        srv.url,
        RegistrarId([0; 32])
    ))
    .await;
    assert_eq!((s, v["error"].as_str()), (404, Some("unknown_campaign")));
    srv.stop().await;
}
