//! tlog-witness over real HTTP on loopback: every status the spec defines, and the chain.

mod common;

use base64::prelude::*;
use common::*;
use headcount_cosignature::{CosignatureVerifier, LogVerifier, split_note};
use headcount_witness::{
    ClientError, WitnessConfig, add_checkpoint, add_checkpoint_verified, request_body,
};
use tlog_tiles::{EMPTY_HASH, Hash};

struct Setup {
    _dir: tempfile::TempDir,
    log: LogKey,
    verifier: CosignatureVerifier,
    run: Running,
    http: reqwest::Client,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogKey::new(ORIGIN);
    let (w, _) = witness_key();
    let verifier = w.verifier();
    let config = WitnessConfig::new(w)
        .with_log(ORIGIN, &log.vkey)
        .expect("config");
    let run = start(config, dir.path()).await;
    Setup {
        _dir: dir,
        log,
        verifier,
        run,
        http: http(),
    }
}

#[tokio::test]
async fn chain_of_50_growing_checkpoints() {
    let s = setup().await;
    let tree = Tree::new("main", 5000);
    let mut size = 0u64;
    let mut last_ts = 0;
    for i in 0..50u64 {
        let new = size + 1 + (i * 7919) % 97; // irregular growth
        let note = s.log.checkpoint(&tree, new);
        let (sig, ts) = add_checkpoint_verified(
            &s.http,
            &s.run.url,
            &s.verifier,
            size,
            &tree.proof(size, new),
            &note,
        )
        .await
        .expect("cosigned");
        assert!(ts >= last_ts && ts > 0);
        last_ts = ts;
        // The cosignature appended to the checkpoint verifies as a note.
        let mut cosigned = note.clone();
        cosigned.extend(sig.to_bytes());
        assert_eq!(s.verifier.verify(&cosigned), Ok(ts));
        size = new;
    }
    assert_eq!(s.run.witness.latest_size(ORIGIN), Some(size));

    // Monitoring endpoint: the latest checkpoint with the log's signature and ours.
    let url = format!(
        "{}/{}/checkpoint",
        s.run.url,
        headcount_witness::origin_hash(ORIGIN)
    );
    let r = s.http.get(url).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let body = r.bytes().await.expect("body");
    assert!(s.verifier.verify(&body).is_ok());
    let note = split_note(&body).expect("note");
    let logv = LogVerifier::from_vkey(&s.log.vkey).expect("vkey");
    assert!(
        note.sigs
            .iter()
            .any(|g| logv.matches(g) && logv.verify_signature(note.text, g.signature()))
    );
    assert_eq!(note.text, LogKey::body(ORIGIN, size, tree.root(size)));
    s.run.stop().await;
}

#[tokio::test]
async fn same_checkpoint_again_is_cosigned() {
    let s = setup().await;
    let tree = Tree::new("main", 10);
    let note = s.log.checkpoint(&tree, 10);
    add_checkpoint(&s.http, &s.run.url, 0, &[], &note)
        .await
        .expect("first");
    let sigs = add_checkpoint(&s.http, &s.run.url, 10, &[], &note)
        .await
        .expect("again");
    assert_eq!(sigs.len(), 1);
    s.run.stop().await;
}

#[tokio::test]
async fn empty_tree() {
    let s = setup().await;
    let empty = s.log.sign(&LogKey::body(ORIGIN, 0, EMPTY_HASH));
    add_checkpoint(&s.http, &s.run.url, 0, &[], &empty)
        .await
        .expect("size 0");
    assert_eq!(s.run.witness.latest_size(ORIGIN), Some(0));
    // Size 0 with another root: 422.
    let bad = s.log.sign(&LogKey::body(ORIGIN, 0, Hash([1; 32])));
    let (st, _, _) = post_raw(&s.http, &s.run.url, request_body(0, &[], &bad)).await;
    assert_eq!(st, 422);
    // From 0 to 5: no proof needed.
    let tree = Tree::new("main", 5);
    add_checkpoint(&s.http, &s.run.url, 0, &[], &s.log.checkpoint(&tree, 5))
        .await
        .expect("size 5");
    s.run.stop().await;
}

#[tokio::test]
async fn conflict_409_with_size_body() {
    let s = setup().await;
    let tree = Tree::new("main", 100);
    add_checkpoint(&s.http, &s.run.url, 0, &[], &s.log.checkpoint(&tree, 10))
        .await
        .expect("10");
    // Old size 5 but witness is at 10.
    let body = request_body(5, &tree.proof(5, 20), &s.log.checkpoint(&tree, 20));
    let (st, ct, text) = post_raw(&s.http, &s.run.url, body).await;
    assert_eq!(
        (st, ct.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "10\n")
    );
    // Old size 0 (client without information) gets the size too.
    let err = add_checkpoint(&s.http, &s.run.url, 0, &[], &s.log.checkpoint(&tree, 20))
        .await
        .expect_err("409");
    assert!(
        matches!(err, ClientError::Conflict { witness_size: 10 }),
        "{err:?}"
    );
    // Retrying with a proof from the reported size works.
    add_checkpoint(
        &s.http,
        &s.run.url,
        10,
        &tree.proof(10, 20),
        &s.log.checkpoint(&tree, 20),
    )
    .await
    .expect("retry");
    // Never cosigned: the witness's size is 0.
    let s2 = setup().await;
    let err = add_checkpoint(
        &s2.http,
        &s2.run.url,
        3,
        &tree.proof(3, 10),
        &s2.log.checkpoint(&tree, 10),
    )
    .await
    .expect_err("409");
    assert!(
        matches!(err, ClientError::Conflict { witness_size: 0 }),
        "{err:?}"
    );
    s.run.stop().await;
    s2.run.stop().await;
}

#[tokio::test]
async fn fork_and_rollback_are_refused() {
    let s = setup().await;
    let tree = Tree::new("main", 100);
    let fork = Tree::new("fork", 100);
    add_checkpoint(&s.http, &s.run.url, 0, &[], &s.log.checkpoint(&tree, 50))
        .await
        .expect("50");

    // Same size, different root: 422.
    let (st, ct, text) = post_raw(
        &s.http,
        &s.run.url,
        request_body(50, &[], &s.log.checkpoint(&fork, 50)),
    )
    .await;
    assert_eq!(st, 422, "{text}");
    assert!(ct.starts_with("text/plain"));
    // A larger fork with the fork's proof: 422.
    let err = add_checkpoint(
        &s.http,
        &s.run.url,
        50,
        &fork.proof(50, 60),
        &s.log.checkpoint(&fork, 60),
    )
    .await
    .expect_err("fork");
    assert!(matches!(err, ClientError::Unprocessable(_)), "{err:?}");
    // A larger fork with the main tree's proof: 422.
    let err = add_checkpoint(
        &s.http,
        &s.run.url,
        50,
        &tree.proof(50, 60),
        &s.log.checkpoint(&fork, 60),
    )
    .await
    .expect_err("fork");
    assert!(matches!(err, ClientError::Unprocessable(_)), "{err:?}");
    // Rollback: old (50) > checkpoint size (40): 400.
    let (st, _, _) = post_raw(
        &s.http,
        &s.run.url,
        request_body(50, &[], &s.log.checkpoint(&tree, 40)),
    )
    .await;
    assert_eq!(st, 400);
    // Rollback claiming old = 40: 409 with 50.
    let err = add_checkpoint(&s.http, &s.run.url, 40, &[], &s.log.checkpoint(&tree, 40))
        .await
        .expect_err("rollback");
    assert!(
        matches!(err, ClientError::Conflict { witness_size: 50 }),
        "{err:?}"
    );
    // Bad proofs: wrong hash, truncated, extra, non-empty for same size.
    let mut p = tree.proof(50, 60);
    p[0][0] ^= 1;
    let good = s.log.checkpoint(&tree, 60);
    for proof in [
        p,
        tree.proof(50, 60)[1..].to_vec(),
        [tree.proof(50, 60), vec![[0; 32]]].concat(),
    ] {
        let err = add_checkpoint(&s.http, &s.run.url, 50, &proof, &good)
            .await
            .expect_err("bad proof");
        assert!(matches!(err, ClientError::Unprocessable(_)), "{err:?}");
    }
    let err = add_checkpoint(
        &s.http,
        &s.run.url,
        50,
        &[[0; 32]],
        &s.log.checkpoint(&tree, 50),
    )
    .await
    .expect_err("proof for same size");
    assert!(matches!(err, ClientError::Unprocessable(_)), "{err:?}");
    // Nothing above changed the state.
    assert_eq!(s.run.witness.latest_size(ORIGIN), Some(50));
    add_checkpoint(&s.http, &s.run.url, 50, &tree.proof(50, 60), &good)
        .await
        .expect("good");
    s.run.stop().await;
}

#[tokio::test]
async fn old_zero_with_proof_is_422() {
    let s = setup().await;
    let tree = Tree::new("main", 10);
    let err = add_checkpoint(
        &s.http,
        &s.run.url,
        0,
        &[[7; 32]],
        &s.log.checkpoint(&tree, 10),
    )
    .await
    .expect_err("422");
    assert!(matches!(err, ClientError::Unprocessable(_)), "{err:?}");
    assert_eq!(s.run.witness.latest_size(ORIGIN), None);
    s.run.stop().await;
}

#[tokio::test]
async fn unknown_origin_404_and_signatures_403() {
    let s = setup().await;
    let tree = Tree::new("main", 10);
    // Unknown origin: 404, even when signed.
    let other = LogKey::new("other.example/log");
    let note = other.sign(&LogKey::body("other.example/log", 10, tree.root(10)));
    let (st, ct, text) = post_raw(&s.http, &s.run.url, request_body(0, &[], &note)).await;
    assert_eq!(
        (st, ct.as_str(), text.as_str()),
        (404, "text/plain; charset=utf-8", "unknown log origin\n")
    );
    // Known origin signed by an unknown key only: 403.
    let impostor = LogKey::new(ORIGIN);
    let err = add_checkpoint(&s.http, &s.run.url, 0, &[], &impostor.checkpoint(&tree, 10))
        .await
        .expect_err("403");
    assert!(
        matches!(&err, ClientError::Forbidden(m) if m.contains("no signature from a trusted log key")),
        "{err:?}"
    );
    // Trusted key name and ID but a bad signature: 403 (even with a good one beside it).
    let good = s.log.checkpoint(&tree, 10);
    let text = String::from_utf8(good.clone()).expect("utf8");
    let line = text
        .trim_end()
        .rsplit('\n')
        .next()
        .expect("sig line")
        .to_owned();
    let b64 = line.rsplit(' ').next().expect("b64");
    let mut raw = BASE64_STANDARD.decode(b64).expect("b64");
    raw[10] ^= 1;
    let bad_line = line.replace(b64, &BASE64_STANDARD.encode(&raw));
    for note in [
        text.replace(&line, &bad_line),
        format!("{text}{bad_line}\n"),
    ] {
        let err = add_checkpoint(&s.http, &s.run.url, 0, &[], note.as_bytes())
            .await
            .expect_err("403");
        assert!(
            matches!(&err, ClientError::Forbidden(m) if m.contains("invalid signature")),
            "{err:?}"
        );
    }
    // Tampered body with a real signature: 403.
    let tampered = text.replace("\n10\n", "\n11\n");
    let err = add_checkpoint(&s.http, &s.run.url, 0, &[], tampered.as_bytes())
        .await
        .expect_err("403");
    assert!(matches!(err, ClientError::Forbidden(_)), "{err:?}");
    // Extra unknown signatures are ignored.
    let mut both = impostor.checkpoint(&tree, 10);
    let mut n = signed_note::Note::from_bytes(&both).expect("note");
    n.add_sigs(&[&s.log.signer]).expect("sign");
    both = n.to_bytes();
    add_checkpoint(&s.http, &s.run.url, 0, &[], &both)
        .await
        .expect("ok with extra sigs");
    s.run.stop().await;
}

#[tokio::test]
async fn malformed_requests_400() {
    let s = setup().await;
    let tree = Tree::new("main", 10);
    let note = s.log.checkpoint(&tree, 10);
    let note_s = String::from_utf8(note.clone()).expect("utf8");
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"hello\n".to_vec(),
        format!("old 01\n\n{note_s}").into_bytes(),
        format!("old 0\n{note_s}").into_bytes(), // no empty line: note text read as proof
        format!("old 0\nAAAA\n\n{note_s}").into_bytes(),
        format!("old 0\n\n{}", note_s.replace("\n10\n", "\n010\n")).into_bytes(),
        format!("old 0\n\n{}", &note_s[..note_s.len() - 1]).into_bytes(), // no final newline
        b"old 0\n\nexample.com/x\n1\n\n".to_vec(),
        format!(
            "old 0\n\nnot a checkpoint\n\n{}",
            note_s.rsplit("\n\n").next().expect("sig")
        )
        .into_bytes(),
        format!("old 11\n\n{note_s}").into_bytes(), // old > size
        [b"old 0\n\n".to_vec(), vec![0xff, 0xfe, b'\n']].concat(),
    ];
    for body in bodies {
        let (st, ct, text) = post_raw(&s.http, &s.run.url, body.clone()).await;
        assert_eq!(st, 400, "{:?} -> {text}", String::from_utf8_lossy(&body));
        assert_eq!(ct, "text/plain; charset=utf-8");
        assert!(text.starts_with("bad request: "), "{text}");
    }
    let err = add_checkpoint(&s.http, &s.run.url, 11, &[], &note)
        .await
        .expect_err("400");
    assert!(matches!(err, ClientError::BadRequest(_)), "{err:?}");
    // GET on the POST route, and unknown paths.
    let r = s
        .http
        .get(format!("{}/add-checkpoint", s.run.url))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 405);
    let r = s
        .http
        .get(format!("{}/{}/checkpoint", s.run.url, "00".repeat(32)))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 404);
    // Known log, nothing cosigned yet: 404.
    let hash = headcount_witness::origin_hash(ORIGIN);
    let r = s
        .http
        .get(format!("{}/{hash}/checkpoint", s.run.url))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(s.run.witness.latest_size(ORIGIN), None);
    s.run.stop().await;
}

#[tokio::test]
async fn concurrent_requests_serialise() {
    let s = setup().await;
    let tree = Tree::new("main", 100);
    add_checkpoint(&s.http, &s.run.url, 0, &[], &s.log.checkpoint(&tree, 10))
        .await
        .expect("10");
    let mut tasks = Vec::new();
    for new in 11..=40u64 {
        let (http, url, note, proof) = (
            s.http.clone(),
            s.run.url.clone(),
            s.log.checkpoint(&tree, new),
            tree.proof(10, new),
        );
        tasks.push(tokio::spawn(async move {
            (new, add_checkpoint(&http, &url, 10, &proof, &note).await)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.expect("join") {
            (new, Ok(_)) => winners.push(new),
            (_, Err(ClientError::Conflict { witness_size })) => assert!(witness_size > 10),
            (_, Err(e)) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one request from size 10 wins");
    assert_eq!(s.run.witness.latest_size(ORIGIN), Some(winners[0]));
    s.run.stop().await;
}

#[tokio::test]
async fn restart_keeps_state_and_lock_excludes_second_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogKey::new(ORIGIN);
    let (w, skey) = witness_key();
    let config = || {
        WitnessConfig::from_skey(&skey)
            .expect("skey")
            .with_log(ORIGIN, &log.vkey)
            .expect("log")
    };
    let tree = Tree::new("main", 100);
    let http = http();

    let run = start(config(), dir.path()).await;
    // A second witness on the same directory is refused while the first runs.
    assert!(matches!(
        headcount_witness::Witness::open(config(), dir.path()),
        Err(headcount_witness::Error::Locked(_))
    ));
    add_checkpoint(&http, &run.url, 0, &[], &log.checkpoint(&tree, 30))
        .await
        .expect("30");
    let (_, t1) = add_checkpoint_verified(
        &http,
        &run.url,
        &w.verifier(),
        30,
        &tree.proof(30, 42),
        &log.checkpoint(&tree, 42),
    )
    .await
    .expect("42");
    run.stop().await;

    let run = start(config(), dir.path()).await;
    assert_eq!(run.witness.latest_size(ORIGIN), Some(42));
    let err = add_checkpoint(&http, &run.url, 0, &[], &log.checkpoint(&tree, 50))
        .await
        .expect_err("409");
    assert!(
        matches!(err, ClientError::Conflict { witness_size: 42 }),
        "{err:?}"
    );
    let err = add_checkpoint(
        &http,
        &run.url,
        42,
        &[],
        &log.checkpoint(&Tree::new("fork", 42), 42),
    )
    .await
    .expect_err("fork after restart");
    assert!(matches!(err, ClientError::Unprocessable(_)), "{err:?}");
    let (_, t2) = add_checkpoint_verified(
        &http,
        &run.url,
        &w.verifier(),
        42,
        &tree.proof(42, 50),
        &log.checkpoint(&tree, 50),
    )
    .await
    .expect("50");
    assert!(t2 >= t1);
    run.stop().await;

    // A corrupt state file stops the witness from starting.
    let path = dir.path().join(format!(
        "{}.checkpoint",
        headcount_witness::origin_hash(ORIGIN)
    ));
    std::fs::write(&path, b"garbage").expect("write");
    assert!(matches!(
        headcount_witness::Witness::open(config(), dir.path()),
        Err(headcount_witness::Error::CorruptState { .. })
    ));
}

#[tokio::test]
async fn client_timeout_and_connection_errors() {
    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        loop {
            let (c, _) = listener.accept().await.expect("accept");
            conns.push(c);
        }
    });
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .expect("client");
    let tree = Tree::new("main", 3);
    let note = LogKey::new(ORIGIN).checkpoint(&tree, 3);
    let err = add_checkpoint(&http, &format!("http://{addr}/"), 0, &[], &note)
        .await
        .expect_err("timeout");
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
    assert!(err.is_retryable());
    hold.abort();
    // Nobody listening.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let err = add_checkpoint(&http, &format!("http://{addr}"), 0, &[], &note)
        .await
        .expect_err("refused");
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn verified_client_rejects_other_witness_keys() {
    let s = setup().await;
    let tree = Tree::new("main", 10);
    let (other, _) = witness_key();
    let err = add_checkpoint_verified(
        &s.http,
        &s.run.url,
        &other.verifier(),
        0,
        &[],
        &s.log.checkpoint(&tree, 10),
    )
    .await
    .expect_err("wrong witness key");
    assert!(matches!(err, ClientError::BadCosignature(_)), "{err:?}");
    s.run.stop().await;
}

#[tokio::test]
async fn stale_temp_file_is_ignored_and_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogKey::new(ORIGIN);
    let (w, _) = witness_key();
    let config = WitnessConfig::new(w)
        .with_log(ORIGIN, &log.vkey)
        .expect("config");
    // A half-written state from a crash before the rename.
    let tmp = dir.path().join(format!(
        "{}.checkpoint.tmp",
        headcount_witness::origin_hash(ORIGIN)
    ));
    std::fs::write(&tmp, b"half").expect("write");
    // And one named as the shared durable-write helper names them.
    let durable_tmp = dir.path().join(format!(
        ".{}.checkpoint.tmp4242",
        headcount_witness::origin_hash(ORIGIN)
    ));
    std::fs::write(&durable_tmp, b"half").expect("write");
    let run = start(config, dir.path()).await;
    assert!(!tmp.exists());
    assert!(!durable_tmp.exists());
    assert_eq!(run.witness.latest_size(ORIGIN), None);
    run.stop().await;
}
