//! A log with two witnesses (2-of-2 policy) over loopback: cosigned
//! checkpoints and receipts, signed tally notes, auditor attestations.

use std::sync::Arc;
use std::time::Duration;

use headcount_core::NoCredentials;
use headcount_core::entry::Entry;
use headcount_core::notes::CountsNote;
use headcount_core::testkit::{self, test_key};
use headcount_cosignature::{CosignatureSigner, Policy};
use headcount_server::{Log, SequencerOptions, WitnessingOptions};
use headcount_tlog::{LogSigner, LogVerifier, TlogProof};
use headcount_witness::{Witness, WitnessConfig};
use serde_json::Value;

struct Running {
    url: String,
    _dirs: Vec<tempfile::TempDir>,
    log: Arc<Log>,
    log_vkey: String,
    policy: Policy,
}

async fn start_witness(
    name: &str,
    origin: &str,
    log_vkey: &str,
) -> (String, String, tempfile::TempDir) {
    let (_signer, skey, vkey) = CosignatureSigner::generate(name).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = WitnessConfig::from_skey(&skey)
        .unwrap()
        .with_log(origin, log_vkey)
        .unwrap();
    let w = Arc::new(Witness::open(config, dir.path()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(headcount_witness::serve_on(
        w,
        listener,
        std::future::pending(),
    ));
    (url, vkey, dir)
}

async fn start(dead_second_witness: bool) -> Running {
    let origin = "witnessed.example/log";
    let (signer, _, log_vkey) = LogSigner::generate(origin).unwrap();
    let (u1, k1, d1) = start_witness("w1.example", origin, &log_vkey).await;
    let (u2, k2, d2) = start_witness("w2.example", origin, &log_vkey).await;
    let u2 = if dead_second_witness {
        "http://127.0.0.1:9".to_string()
    } else {
        u2
    };
    let policy_text = format!(
        "log {log_vkey}\nwitness w1 {k1} {u1}\nwitness w2 {k2} {u2}\ngroup both all w1 w2\nquorum both\n"
    );
    let policy = Policy::parse(&policy_text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(
        dir.path(),
        signer,
        Arc::new(NoCredentials),
        SequencerOptions {
            batch_interval: Duration::from_millis(20),
            ..Default::default()
        },
    )
    .unwrap();
    log.start_witnessing(WitnessingOptions {
        policy: policy.clone(),
        timeout: Duration::from_millis(800),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(headcount_server::serve(
        Arc::clone(&log),
        listener,
        std::future::pending(),
    ));
    Running {
        url,
        _dirs: vec![dir, d1, d2],
        log,
        log_vkey,
        policy,
    }
}

async fn post(url: &str, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/entries"))
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn populate(r: &Running) -> Vec<u8> {
    let (Entry::Registrar(reg), rb) = testkit::registrar(&test_key(1), [7; 96], "R") else {
        unreachable!()
    };
    assert_eq!(post(&r.url, rb).await.0, 200);
    let now = headcount_server::log::unix_now();
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![reg.id()], now - 3600, now + 3600, 0)
    else {
        unreachable!()
    };
    assert_eq!(post(&r.url, cb).await.0, 200);
    let (_, vb) = testkit::vouched(&test_key(1), reg.id(), c.id(), [1; 32], "Witnessed");
    let (s, receipt) = post(&r.url, vb.clone()).await;
    assert_eq!(s, 200);
    receipt["proof"].as_str().unwrap().as_bytes().to_vec()
}

#[tokio::test]
async fn receipts_and_checkpoints_carry_a_quorum_of_cosignatures() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let r = start(false).await;
    let proof = populate(&r).await;
    let proof = TlogProof::parse(&proof).unwrap();
    // The receipt's checkpoint satisfies the 2-of-2 policy.
    let cp = r.policy.check(&proof.checkpoint).unwrap();
    assert_eq!(cp.size(), 3);
    // And /checkpoint is the cosigned one too.
    let note = reqwest::get(format!("{}/checkpoint", r.url))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    r.policy.check(&note).unwrap();
    LogVerifier::from_vkey(&r.log_vkey)
        .unwrap()
        .verify(&note)
        .unwrap();
    r.log.shutdown();
}

#[tokio::test]
async fn a_dead_witness_does_not_stall_sequencing() {
    let r = start(true).await;
    let t = std::time::Instant::now();
    let proof = populate(&r).await;
    assert!(t.elapsed() < Duration::from_secs(20));
    let proof = TlogProof::parse(&proof).unwrap();
    // The log still signs; the quorum is not met, and the policy says so.
    LogVerifier::from_vkey(&r.log_vkey)
        .unwrap()
        .verify(&proof.checkpoint)
        .unwrap();
    assert!(r.policy.check(&proof.checkpoint).is_err());
    r.log.shutdown();
}

#[tokio::test]
async fn signed_tally_notes_and_attestations() {
    let r = start(false).await;
    populate(&r).await;
    let list: Value = reqwest::get(format!("{}/v1/campaigns", r.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cid = list[0]["id"].as_str().unwrap().to_owned();
    // The campaign's signed tally note: one line, signed when it last changed.
    let note = reqwest::get(format!("{}/v1/campaigns/{cid}/tally-note", r.url))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = LogVerifier::from_vkey(&r.log_vkey)
        .unwrap()
        .verify_note(&note)
        .unwrap();
    let counts = CountsNote::parse(&text).unwrap();
    assert_eq!(
        (
            counts.tree_size,
            counts.campaigns.len(),
            counts.campaigns[0].vouched
        ),
        (3, 1, 1)
    );

    // An auditor the log lists attests; others are refused.
    let (auditor_skey, auditor_vkey) =
        signed_note::generate_key(&mut rand::rngs::OsRng, "auditor.example");
    r.log.set_auditors(vec![auditor_vkey]);
    let attest = |skey: &str, n: &CountsNote| {
        let signer = signed_note::StandardSigner::new(skey).unwrap();
        let mut note = signed_note::Note::new(n.to_text().as_bytes(), &[]).unwrap();
        note.add_sigs(&[&signer]).unwrap();
        note.to_bytes()
    };
    let mut att = counts.clone();
    att.verdict = Some("agrees".into());
    let http = reqwest::Client::new();
    let send = |body: Vec<u8>| {
        let http = http.clone();
        let url = format!("{}/v1/attestations", r.url);
        async move {
            let resp = http.post(url).body(body).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = send(attest(&auditor_skey, &att)).await;
    assert_eq!(
        (s, v["auditor"].as_str()),
        (201, Some("auditor.example")),
        "{v}"
    );
    let (stranger, _) = signed_note::generate_key(&mut rand::rngs::OsRng, "stranger.example");
    assert_eq!(send(attest(&stranger, &att)).await.0, 403);
    let mut wrong_root = att.clone();
    wrong_root.root = "A".repeat(43) + "=";
    assert_eq!(
        send(attest(&auditor_skey, &wrong_root)).await.1["error"],
        "root_mismatch"
    );
    let mut ahead = att.clone();
    ahead.tree_size = 99;
    assert_eq!(
        send(attest(&auditor_skey, &ahead)).await.1["error"],
        "unknown_tree_size"
    );
    assert_eq!(
        send(attest(&auditor_skey, &counts)).await.1["error"],
        "bad_attestation"
    );
    let list: Value = reqwest::get(format!("{}/v1/attestations", r.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["verdict"], "agrees");
    r.log.shutdown();
}
