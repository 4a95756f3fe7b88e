//! Credentialed declarations through the server over loopback: the happy
//! path, and malformed credential input of every length rejected with
//! `invalid_proof`, quickly, without a panic or a hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use headcount_core::credentials::{self, BbsCredentials};
use headcount_core::entry::{Declaration, Entry};
use headcount_core::testkit::{self, test_key};
use headcount_core::{CampaignId, Pseudonym, RegistrarId};
use headcount_credentials as bbs;
use headcount_server::{Log, SequencerOptions};
use headcount_tlog::LogSigner;
use rand::{Rng, RngCore, rngs::OsRng};
use serde_json::Value;

struct World {
    url: String,
    log: Arc<Log>,
    _dir: tempfile::TempDir,
    sk: bbs::RegistrarSecretKey,
    rid: RegistrarId,
    cid: CampaignId,
    http: reqwest::Client,
}

async fn post(w: &World, body: Vec<u8>) -> (u16, Value) {
    let r = w
        .http
        .post(format!("{}/v1/entries", w.url))
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn world() -> World {
    world_with(Default::default()).await
}

/// A world whose log's verification stage is tuned as given.
async fn world_with(verification: headcount_server::VerificationOptions) -> World {
    let dir = tempfile::tempdir().unwrap();
    let (signer, _, _) = LogSigner::generate("credentialed.example/log").unwrap();
    let log = Log::open(
        dir.path(),
        signer,
        Arc::new(BbsCredentials),
        SequencerOptions {
            batch_interval: Duration::from_millis(20),
            verification,
            ..Default::default()
        },
    )
    .unwrap();
    world_on(log, dir).await
}

async fn world_on(log: Arc<Log>, dir: tempfile::TempDir) -> World {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(headcount_server::serve(
        Arc::clone(&log),
        listener,
        std::future::pending(),
    ));
    let sk = testkit::bbs_secret(5);
    let (Entry::Registrar(r), rb) =
        testkit::registrar(&test_key(1), sk.public_key().to_bytes(), "R")
    else {
        unreachable!()
    };
    let now = headcount_server::log::unix_now();
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![r.id()], now - 3600, now + 3600, 0)
    else {
        unreachable!()
    };
    let month = headcount_core::Period(headcount_core::Period::containing(now).0 - 1);
    let (_, bb) = testkit::period(&test_key(1), r.id(), month, 100);
    let w = World {
        url,
        log,
        _dir: dir,
        sk,
        rid: r.id(),
        cid: c.id(),
        http: reqwest::Client::new(),
    };
    for b in [rb, cb, bb] {
        let (s, v) = post(&w, b).await;
        assert_eq!(s, 200, "{v}");
    }
    w
}

fn credential(w: &World) -> bbs::Credential {
    let nym = bbs::NymSecret::generate(&mut OsRng);
    let (req, st) = bbs::request_credential(&nym, &mut OsRng).unwrap();
    let attrs = bbs::Attributes {
        registrar_id: w.rid.0,
        period: headcount_core::Period::containing(headcount_server::log::unix_now()).0 - 1,
    };
    let sig = bbs::issue(&w.sk, &req, &attrs, &mut OsRng).unwrap();
    bbs::finish_credential(&w.sk.public_key(), &sig, st, &nym, &attrs).unwrap()
}

async fn tally(w: &World) -> Value {
    w.http
        .get(format!("{}/v1/campaigns/{}/tally", w.url, w.cid))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn declare_redeclare_withdraw_through_the_server() {
    let w = world().await;
    let cred = credential(&w);
    let pk = w.sk.public_key();
    let mut previous = headcount_core::EntryHash::NONE;
    for alias in ["First", "Second"] {
        let (_, b) =
            credentials::declaration(&cred, &pk, w.cid, previous, alias, "", &mut OsRng).unwrap();
        previous = headcount_core::EntryHash::of(&b);
        let (s, v) = post(&w, b).await;
        assert_eq!(s, 200, "{v}");
    }
    let t = tally(&w).await;
    assert_eq!(
        (
            t["credentialed"].as_u64(),
            t["by_registrar"][0]["periods"][0]["size"].as_u64()
        ),
        (Some(1), Some(100))
    );
    let (_, wd) = credentials::withdrawal(&cred, &pk, w.cid, previous, &mut OsRng).unwrap();
    assert_eq!(post(&w, wd).await.0, 200);
    assert_eq!(tally(&w).await["credentialed"].as_u64(), Some(0));
    w.log.shutdown();
}

#[tokio::test]
async fn malformed_credential_input_of_every_length_is_invalid_proof_fast() {
    let w = world().await;
    let cred = credential(&w);
    let (Entry::Declaration(good), _) = credentials::declaration(
        &cred,
        &w.sk.public_key(),
        w.cid,
        headcount_core::EntryHash::NONE,
        "Alias",
        "",
        &mut OsRng,
    )
    .unwrap() else {
        unreachable!()
    };
    let before = tally(&w).await;
    let valid = bbs::PROOF_LEN;
    let mut bodies: Vec<(String, Declaration)> = Vec::new();
    for len in 0..=2 * valid {
        let mut d = good.clone();
        d.proof = if len <= valid {
            good.proof[..len].to_vec()
        } else {
            [good.proof.clone(), vec![0; len - valid]].concat()
        };
        if len != valid {
            bodies.push((format!("truncated/extended proof of {len} bytes"), d));
        }
    }
    for i in 0..64 {
        let mut d = good.clone();
        OsRng.fill_bytes(&mut d.proof);
        bodies.push((format!("random proof #{i} of the valid length"), d));
        let mut d = good.clone();
        let mut nym = [0u8; 48];
        OsRng.fill_bytes(&mut nym);
        d.pseudonym = Pseudonym(nym);
        bodies.push((format!("random pseudonym #{i}"), d));
        let mut d = good.clone();
        let at = OsRng.gen_range(0..valid);
        d.proof[at] ^= 1 << OsRng.gen_range(0..8);
        bodies.push((format!("one bit flipped at byte {at}"), d));
    }
    let mut slowest = Duration::ZERO;
    for (name, d) in bodies {
        let t = Instant::now();
        let (s, v) = post(&w, Entry::Declaration(d).encode()).await;
        let took = t.elapsed();
        slowest = slowest.max(took);
        assert_eq!(
            (s, v["error"].as_str().unwrap_or("")),
            (422, "invalid_proof"),
            "{name}: {v}"
        );
        // Not a timing test (speed is measured by `headcount bench`): a bound far above a
        // verification's cost, that only a pathological input (a hang) would exceed.
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
    }
    eprintln!("slowest rejection: {slowest:?}");
    assert_eq!(tally(&w).await, before, "nothing changed");
    w.log.shutdown();
}

#[tokio::test]
async fn a_flood_of_invalid_proofs_is_shed_with_503_before_verification() {
    // A small verification stage: one worker, four places per campaign.
    let w = world_with(headcount_server::VerificationOptions {
        capacity: 8,
        lane_capacity: 4,
        max_batch: 2,
        workers: 1,
        ..Default::default()
    })
    .await;
    let cred = credential(&w);
    let (Entry::Declaration(good), _) = credentials::declaration(
        &cred,
        &w.sk.public_key(),
        w.cid,
        headcount_core::EntryHash::NONE,
        "Alias",
        "",
        &mut OsRng,
    )
    .unwrap() else {
        unreachable!()
    };
    let before = tally(&w).await;
    let size = w.log.committed().size;
    let flood = (0..96).map(|i| {
        let mut d = good.clone();
        d.alias = format!("flood {i}");
        d.proof[200] ^= 1;
        let (http, url) = (w.http.clone(), w.url.clone());
        tokio::spawn(async move {
            let r = http
                .post(format!("{url}/v1/entries"))
                .body(Entry::Declaration(d).encode())
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").is_some();
            let s = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (s, v["error"].as_str().unwrap_or("").to_owned(), retry)
        })
    });
    let (mut shed, mut rejected) = (0, 0);
    for h in flood.collect::<Vec<_>>() {
        match h.await.unwrap() {
            (503, code, true) if code == "overloaded" => shed += 1,
            (422, code, _) if code == "invalid_proof" => rejected += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    eprintln!("flood: {shed} shed with 503, {rejected} verified and rejected");
    assert!(shed > 0, "the queue never filled");
    assert!(rejected > 0, "nothing was verified");
    assert_eq!(w.log.verification_len(), 0);
    assert_eq!(tally(&w).await, before, "nothing changed");
    assert_eq!(w.log.committed().size, size);
    // The honest declaration still goes through afterwards.
    let (s, v) = post(&w, Entry::Declaration(good).encode()).await;
    assert_eq!(s, 200, "{v}");
    w.log.shutdown();
}

/// The work asked of credentialed submissions under load, played over HTTP
/// on a log whose verification stage always counts as busy: without the work
/// a declaration is refused with 429 `busy_work_required` before its proof is
/// verified, and nothing changes; with work short of the bits, or bound to
/// another entry, the same; with the work, it is logged.
#[tokio::test]
async fn under_load_a_declaration_needs_the_busy_work() {
    const BITS: u8 = 10;
    let w = world_with(headcount_server::VerificationOptions {
        busy_at: 0,
        ..Default::default()
    })
    .await;
    w.log.set_admission(headcount_server::AdmissionPolicy {
        busy_work_bits: BITS,
        ..headcount_server::AdmissionPolicy::open()
    });
    let info: Value = w
        .http
        .get(format!("{}/v1/log", w.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["admission"]["busy_work_bits"], u64::from(BITS));
    let cred = credential(&w);
    let (_, b) = credentials::declaration(
        &cred,
        &w.sk.public_key(),
        w.cid,
        headcount_core::EntryHash::NONE,
        "Busy",
        "",
        &mut OsRng,
    )
    .unwrap();
    let hash = headcount_core::EntryHash::of(&b);
    let send = |work: Option<u64>| {
        let mut req = w.http.post(format!("{}/v1/entries", w.url)).body(b.clone());
        if let Some(n) = work {
            req = req.header(headcount_server::admission::WORK_HEADER, n.to_string());
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let before = tally(&w).await;
    let short = (0u64..)
        .find(|n| headcount_server::admission::work_bits(&hash, *n) < u32::from(BITS))
        .unwrap();
    let elsewhere = headcount_server::admission::solve(&headcount_core::EntryHash([7; 32]), BITS);
    let mut tries = vec![("no work", None), ("work short of the bits", Some(short))];
    // Almost surely short for this entry (1 in 1024 it is not: then skip it).
    if headcount_server::admission::work_bits(&hash, elsewhere) < u32::from(BITS) {
        tries.push(("work bound to another entry", Some(elsewhere)));
    }
    for (what, work) in tries {
        let (s, v) = send(work).await;
        assert_eq!(
            (s, v["error"].as_str().unwrap_or("")),
            (429, "busy_work_required"),
            "{what}: {v}"
        );
        assert!(
            v["message"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("{BITS} bits")),
            "{what}: the message says how much: {v}"
        );
        assert_eq!(tally(&w).await, before, "{what}: nothing changed");
    }
    let (s, v) = send(Some(headcount_server::admission::solve(&hash, BITS))).await;
    assert_eq!(s, 200, "with the work: {v}");
    assert_eq!(tally(&w).await["credentialed"].as_u64(), Some(1));
    w.log.shutdown();
}
