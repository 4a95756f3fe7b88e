//! Crash safety: a witness process is SIGKILLed at random moments while a client feeds it a
//! growing log (and fork / rollback attempts). After every restart its state must not be behind
//! any cosignature it returned, and must lie on the one consistent chain; no fork or rollback is
//! ever cosigned.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use headcount_cosignature::split_note;
use headcount_witness::{ClientError, add_checkpoint, add_checkpoint_verified, origin_hash};
use rand::Rng;
use tlog_tiles::Checkpoint;

const LEAVES: u64 = 6000;
const KILLS: usize = 24;

fn spawn_witness(dir: &std::path::Path, skey: &str, vkey: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_headcount-witness-test"))
        .arg(dir)
        .args([skey, ORIGIN, vkey])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn witness");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .strip_prefix("LISTEN ")
        .unwrap_or_else(|| panic!("unexpected output {line:?}"))
        .to_owned();
    (child, format!("http://{addr}"))
}

fn is_connection_error(e: &ClientError) -> bool {
    matches!(e, ClientError::Transport(_) | ClientError::Timeout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogKey::new(ORIGIN);
    let (w, skey) = witness_key();
    let verifier = w.verifier();
    let tree = Tree::new("main", LEAVES);
    let fork = Tree::new("fork", LEAVES);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let mut rng = rand::thread_rng();

    // The largest size for which a cosignature reached the client.
    let mut max_returned = 0u64;
    let mut cosigned = 0usize;
    let mut refused = 0usize;

    for round in 0..KILLS {
        let (child, url) = spawn_witness(dir.path(), &skey, &log.vkey);

        // What the restarted witness believes, from its monitoring endpoint.
        let r = http
            .get(format!("{url}/{}/checkpoint", origin_hash(ORIGIN)))
            .send()
            .await
            .expect("get state");
        let mut size = match r.status().as_u16() {
            404 => 0,
            200 => {
                let note = r.bytes().await.expect("body");
                verifier.verify(&note).expect("state holds our cosignature");
                let cp = Checkpoint::from_bytes(split_note(&note).expect("note").text)
                    .expect("checkpoint");
                assert_eq!(
                    *cp.hash(),
                    tree.root(cp.size()),
                    "state is off the main chain"
                );
                cp.size()
            }
            s => panic!("status {s}"),
        };
        assert!(
            size >= max_returned,
            "round {round}: state {size} is behind returned cosignature {max_returned}"
        );

        // Kill it at a random moment.
        let delay = Duration::from_micros(rng.gen_range(2_000..60_000));
        let killer = std::thread::spawn(move || {
            let mut child = child;
            std::thread::sleep(delay);
            child.kill().expect("SIGKILL");
            child.wait().expect("wait");
        });

        loop {
            if size >= LEAVES - 10 {
                break;
            }
            let attempt_fork = size > 0 && rng.gen_ratio(1, 4);
            if attempt_fork {
                let (old, proof, note, what) = match rng.gen_range(0..3) {
                    0 => (size, vec![], log.checkpoint(&fork, size), "same-size fork"),
                    1 => {
                        let new = size + rng.gen_range(1..8);
                        (
                            size,
                            fork.proof(size, new),
                            log.checkpoint(&fork, new),
                            "fork",
                        )
                    }
                    _ => (size, vec![], log.checkpoint(&tree, size - 1), "rollback"),
                };
                match add_checkpoint(&http, &url, old, &proof, &note).await {
                    Ok(_) => panic!("witness cosigned a {what}"),
                    Err(ClientError::Unprocessable(_) | ClientError::BadRequest(_)) => refused += 1,
                    Err(e) if is_connection_error(&e) => break,
                    Err(e) => panic!("{what}: unexpected {e:?}"),
                }
            } else {
                let new = size + rng.gen_range(1..8);
                let note = log.checkpoint(&tree, new);
                match add_checkpoint_verified(
                    &http,
                    &url,
                    &verifier,
                    size,
                    &tree.proof(size, new),
                    &note,
                )
                .await
                {
                    Ok(_) => {
                        size = new;
                        max_returned = max_returned.max(new);
                        cosigned += 1;
                    }
                    Err(ClientError::Conflict { witness_size }) => {
                        panic!("witness reports {witness_size}, client thought {size}")
                    }
                    Err(e) if is_connection_error(&e) => break,
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
        }
        killer.join().expect("killer");
    }

    // One last restart: the final state covers everything returned.
    let (mut child, url) = spawn_witness(dir.path(), &skey, &log.vkey);
    let err = add_checkpoint(&http, &url, 0, &[], &log.checkpoint(&tree, 1))
        .await
        .expect_err("409 tells the size");
    let ClientError::Conflict { witness_size } = err else {
        panic!("{err:?}")
    };
    assert!(witness_size >= max_returned);
    child.kill().expect("kill");
    child.wait().expect("wait");
    eprintln!(
        "{KILLS} kills, {cosigned} cosignatures returned, {refused} forks/rollbacks refused, final size {witness_size}"
    );
    assert!(cosigned >= KILLS, "too few cosignatures to mean anything");
    assert!(refused > 0);
}
