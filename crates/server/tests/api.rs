//! The log server over real HTTP on loopback: receipts, idempotency, every
//! bad-input class with its stable code, and that nothing changed.

mod common;

use headcount_core::entry::{Entry, MAX_ENTRY_LEN};
use headcount_core::testkit::{self, test_key};
use headcount_core::{CampaignId, RegistrarId};
use headcount_tlog::{LogVerifier, TlogProof, leaf_hash};
use serde_json::Value;

struct Fixture {
    srv: common::TestServer,
    http: reqwest::Client,
    rid: RegistrarId,
    cid: CampaignId,
}

async fn post(http: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, Value) {
    let r = http
        .post(format!("{url}/v1/entries"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn fixture() -> Fixture {
    let srv = common::start().await;
    let http = reqwest::Client::new();
    let (Entry::Registrar(r), rb) = testkit::registrar(&test_key(1), [7; 96], "Registrar") else {
        unreachable!()
    };
    assert_eq!(post(&http, &srv.url, rb).await.0, 200);
    let now = common::now();
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![r.id()], now - 3600, now + 86_400, 4)
    else {
        unreachable!()
    };
    assert_eq!(post(&http, &srv.url, cb).await.0, 200);
    Fixture {
        srv,
        http,
        rid: r.id(),
        cid: c.id(),
    }
}

fn verify_receipt(vkey: &str, entry: &[u8], receipt: &Value) -> u64 {
    let proof = TlogProof::parse(receipt["proof"].as_str().unwrap().as_bytes()).unwrap();
    let mut leaf = proof.extra.clone().unwrap();
    leaf.extend_from_slice(entry);
    let cp = proof
        .verify(leaf_hash(&leaf), &LogVerifier::from_vkey(vkey).unwrap())
        .unwrap();
    assert_eq!(cp.size.0, receipt["tree_size"].as_u64().unwrap());
    proof.index.0
}

async fn size(f: &Fixture) -> u64 {
    let v: Value = f
        .http
        .get(format!("{}/v1/log", f.srv.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["tree_size"].as_u64().unwrap()
}

async fn tally(f: &Fixture) -> Value {
    f.http
        .get(format!("{}/v1/campaigns/{}/tally", f.srv.url, f.cid))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn receipts_verify_and_resubmission_returns_the_same_receipt() {
    let f = fixture().await;
    let (_, vb) = testkit::vouched(&test_key(1), f.rid, f.cid, [1; 32], "Caller one");
    let (s, first) = post(&f.http, &f.srv.url, vb.clone()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(verify_receipt(&f.srv.vkey, &vb, &first), 2);
    // More entries, then the same one again: byte-identical receipt.
    let (_, other) = testkit::vouched(&test_key(1), f.rid, f.cid, [2; 32], "Caller two");
    assert_eq!(post(&f.http, &f.srv.url, other).await.0, 200);
    let (s, again) = post(&f.http, &f.srv.url, vb.clone()).await;
    assert_eq!(s, 200);
    assert_eq!(again, first);
    assert_eq!(size(&f).await, 4);
    // And by hash.
    let by_hash: Value = f
        .http
        .get(format!(
            "{}/v1/entries/{}",
            f.srv.url,
            first["entry_hash"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The look-up is the same receipt, with the entry itself added.
    assert_eq!(by_hash["entry"].as_str().unwrap(), hex::encode(&vb));
    let mut without_entry = by_hash.clone();
    without_entry.as_object_mut().unwrap().remove("entry");
    assert_eq!(without_entry, first);
    let t = tally(&f).await;
    assert_eq!(
        (t["vouched"].as_u64(), t["credible"].as_u64()),
        (Some(2), Some(2))
    );
    f.srv.stop().await;
}

#[tokio::test]
async fn concurrent_identical_submissions_are_logged_once() {
    let f = fixture().await;
    let (_, vb) = testkit::vouched(&test_key(1), f.rid, f.cid, [9; 32], "Same");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, url, vb) = (f.http.clone(), f.srv.url.clone(), vb.clone());
        tasks.push(tokio::spawn(async move { post(&http, &url, vb).await }));
    }
    let mut receipts = Vec::new();
    for t in tasks {
        let (s, r) = t.await.unwrap();
        assert_eq!(s, 200);
        receipts.push(r["leaf_index"].as_u64().unwrap());
    }
    receipts.dedup();
    assert_eq!(receipts.len(), 1);
    assert_eq!(size(&f).await, 3);
    f.srv.stop().await;
}

#[tokio::test]
async fn every_bad_input_class_has_its_code_and_changes_nothing() {
    let f = fixture().await;
    let before_size = size(&f).await;
    let before_tally = tally(&f).await;
    let (_, good) = testkit::vouched(&test_key(1), f.rid, f.cid, [1; 32], "Good");

    let mut cases: Vec<(&str, Vec<u8>, u16, &str)> = Vec::new();
    cases.push(("empty body", vec![], 400, "empty_entry"));
    cases.push((
        "truncated",
        good[..good.len() - 1].to_vec(),
        400,
        "truncated",
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    cases.push(("trailing bytes", trailing, 400, "trailing_bytes"));
    cases.push((
        "oversized body",
        vec![1; MAX_ENTRY_LEN + 1],
        413,
        "body_too_large",
    ));
    let mut v2 = good.clone();
    v2[0] = 1; // version 1 (registrar-chosen batches) is no longer read
    cases.push(("wrong version", v2, 400, "unsupported_version"));
    let mut t9 = good.clone();
    t9[1] = 9;
    cases.push(("unknown type", t9, 400, "unknown_entry_type"));
    let mut bad_utf8 = good.clone();
    bad_utf8[2 + 96 + 2] = 0xff;
    cases.push(("invalid utf-8", bad_utf8, 400, "invalid_utf8"));
    let (e, _) = testkit::vouched(&test_key(1), f.rid, f.cid, [1; 32], "x");
    let Entry::VouchedDeclaration(mut v) = e else {
        unreachable!()
    };
    v.alias = "Jose\u{301}".into();
    cases.push((
        "non-NFC text",
        Entry::VouchedDeclaration(v.clone()).encode(),
        400,
        "not_nfc",
    ));
    v.alias = "a".repeat(200);
    cases.push((
        "over-long field",
        Entry::VouchedDeclaration(v.clone()).encode(),
        400,
        "field_too_long",
    ));
    let mut badsig = good.clone();
    let n = badsig.len();
    badsig[n - 1] ^= 1;
    cases.push(("bad registrar signature", badsig, 422, "bad_signature"));
    let (Entry::Campaign(mut c), _) = testkit::campaign(&test_key(3), vec![f.rid], 60, 120, 0)
    else {
        unreachable!()
    };
    c.signature[0] ^= 1;
    cases.push((
        "bad organiser signature",
        Entry::Campaign(c).encode(),
        422,
        "bad_signature",
    ));
    let (_, unknown) = testkit::vouched(&test_key(1), f.rid, CampaignId([5; 32]), [1; 32], "x");
    cases.push(("unknown campaign", unknown, 422, "unknown_campaign"));
    let (_, unaccepted) = testkit::vouched(&test_key(1), RegistrarId([6; 32]), f.cid, [1; 32], "x");
    cases.push((
        "registrar not accepted",
        unaccepted,
        422,
        "registrar_not_accepted",
    ));
    let (_, weak) = {
        let mut d = headcount_core::entry::UnverifiedDeclaration {
            campaign: f.cid,
            alias: "lazy".into(),
            message: String::new(),
            nonce: 0,
        };
        while headcount_core::pow::work_bits(&d) >= 4 {
            d.nonce += 1;
        }
        (0, Entry::UnverifiedDeclaration(d).encode())
    };
    cases.push(("not enough work", weak, 422, "insufficient_work"));
    let declaration = Entry::Declaration(headcount_core::entry::Declaration {
        campaign: f.cid,
        pseudonym: headcount_core::Pseudonym([1; 48]),
        registrar: f.rid,
        period: headcount_core::Period(0),
        predecessor: headcount_core::EntryHash::NONE,
        alias: "x".into(),
        message: String::new(),
        proof: vec![1; 336],
    })
    .encode();
    cases.push((
        "credentialed entry of a month the registrar has not logged",
        declaration,
        422,
        "period_not_logged",
    ));

    for (name, body, status, code) in cases {
        let (s, v) = post(&f.http, &f.srv.url, body).await;
        assert_eq!(
            (s, v["error"].as_str().unwrap_or("")),
            (status, code),
            "{name}: {v}"
        );
    }
    assert_eq!(size(&f).await, before_size);
    assert_eq!(tally(&f).await, before_tally);
    // Operators see counts per route template and rejection code, on the metrics router
    // (a private listener); the public listener does not serve them.
    let public = f
        .http
        .get(format!("{}/metrics", f.srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status().as_u16(), 404);
    let metrics = {
        use tower::ServiceExt;
        let resp = headcount_server::api::metrics_router(f.srv.log.clone())
            .oneshot(
                axum::http::Request::get("/metrics")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    };
    assert!(
        metrics.contains("headcount_rejections_total{code=\"bad_signature\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("headcount_http_requests_total{route=\"/v1/entries\",status=\"422\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("headcount_submissions_total{outcome=\"accepted\"} 2"),
        "{metrics}"
    );

    f.srv.stop().await;
}

#[tokio::test]
async fn campaign_not_yet_open_or_already_closed() {
    let f = fixture().await;
    let now = common::now();
    for (open, close, code) in [
        (now + 7200, now + 9000, "campaign_not_open"),
        (now - 9000, now - 7200, "campaign_closed"),
    ] {
        let (Entry::Campaign(c), cb) = testkit::campaign(&test_key(4), vec![f.rid], open, close, 0)
        else {
            unreachable!()
        };
        assert_eq!(post(&f.http, &f.srv.url, cb).await.0, 200);
        let before = size(&f).await;
        let (_, vb) = testkit::vouched(&test_key(1), f.rid, c.id(), [1; 32], "x");
        let (s, v) = post(&f.http, &f.srv.url, vb).await;
        assert_eq!((s, v["error"].as_str().unwrap()), (422, code));
        assert_eq!(size(&f).await, before);
    }
    f.srv.stop().await;
}

#[tokio::test]
async fn static_tree_paths_and_cache_headers() {
    let f = fixture().await;
    let r = f
        .http
        .get(format!("{}/checkpoint", f.srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=2")
    );
    let note = r.bytes().await.unwrap();
    LogVerifier::from_vkey(&f.srv.vkey)
        .unwrap()
        .verify(&note)
        .unwrap();
    let r = f
        .http
        .get(format!("{}/tile/entries/000.p/2", f.srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let r = f
        .http
        .get(format!("{}/tile/0/000.p/2", f.srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().len(), 64);
    // Beyond the tree, malformed paths.
    assert_eq!(
        f.http
            .get(format!("{}/tile/0/000.p/3", f.srv.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        f.http
            .get(format!("{}/tile/0/000", f.srv.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        f.http
            .get(format!("{}/tile/0/0000", f.srv.url))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    // Malformed queries and unknown campaigns answer JSON errors too.
    let r = f
        .http
        .get(format!("{}/v1/proof/inclusion?index=abc", f.srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_query");
    for path in ["tallies", "declarations", "tally"] {
        let r = f
            .http
            .get(format!(
                "{}/v1/campaigns/{}/{path}",
                f.srv.url,
                CampaignId([7; 32])
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "unknown_campaign"
        );
    }
    f.srv.stop().await;
}

#[tokio::test]
async fn a_full_pool_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::start_in(
        dir,
        headcount_server::SequencerOptions {
            batch_interval: std::time::Duration::from_millis(1500),
            max_batch: 1000,
            pool_capacity: 3,
            ..Default::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let (Entry::Registrar(r), rb) = testkit::registrar(&test_key(1), [7; 96], "R") else {
        unreachable!()
    };
    assert_eq!(post(&http, &srv.url, rb).await.0, 200);
    let now = common::now();
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![r.id()], now - 3600, now + 86_400, 0)
    else {
        unreachable!()
    };
    assert_eq!(post(&http, &srv.url, cb).await.0, 200);
    let mut tasks = Vec::new();
    for i in 0..6u8 {
        let (_, vb) = testkit::vouched(&test_key(1), r.id(), c.id(), [i; 32], "x");
        let (http, url) = (http.clone(), srv.url.clone());
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(format!("{url}/v1/entries"))
                .body(vb)
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned()),
            )
        }));
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => ok += 1,
            (503, Some(ra)) => {
                assert_eq!(ra, "1");
                refused += 1
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (3, 3));
    srv.stop().await;
}

#[tokio::test]
async fn a_tree_without_its_checkpoint_is_never_restarted_as_a_new_log() {
    let f = fixture().await;
    let dir = f.srv.stop().await;
    std::fs::remove_file(dir.path().join("log/checkpoint")).unwrap();
    let (signer, _, _) = headcount_tlog::LogSigner::generate("test.example/log").unwrap();
    let err = headcount_server::Log::open(
        dir.path(),
        signer,
        std::sync::Arc::new(headcount_core::NoCredentials),
        Default::default(),
    )
    .err()
    .expect("refused");
    assert!(err.to_string().contains("no checkpoint"), "{err}");
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_sequencer_and_frees_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (_, skey, _) = headcount_tlog::LogSigner::generate("test.example/log").unwrap();
    for _ in 0..2 {
        let signer = headcount_tlog::LogSigner::from_skey(&skey).unwrap();
        let log = headcount_server::Log::open(
            dir.path(),
            signer,
            std::sync::Arc::new(headcount_core::NoCredentials),
            Default::default(),
        )
        .unwrap();
        drop(log);
        // The lock is released once the sequencer thread has let go of the log.
        let t = std::time::Instant::now();
        while std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("lock"))
            .unwrap()
            .try_lock()
            .is_err()
        {
            assert!(
                t.elapsed() < std::time::Duration::from_secs(5),
                "the lock was never released"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}
