//! `[storage] postgres = …` in `headcount serve`: the log on a real PostgreSQL
//! cluster (started by the test) with its tiles in a shared directory. A
//! second `headcount serve` with the same settings is a standby: it says so
//! and does not serve while the sequencer holds the lease; when the sequencer
//! is killed it takes over, serves what the first one logged, and goes on
//! from there (one tree, no fork). Skips without PostgreSQL unless
//! `HEADCOUNT_SCALEOUT_REQUIRED=1`.

mod common;

use std::fs::OpenOptions;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Server, free_port, poll, probe, register_registrar};
use headcount_scaleout::cluster::{Cluster, skip_or_fail};

fn tree_size(url: &str) -> u64 {
    let (status, body) = probe(url, "/v1/log").expect("the server answers");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["tree_size"].as_u64().expect("tree_size")
}

#[test]
fn a_standby_takes_over_from_a_killed_sequencer_on_postgres() {
    let cluster = match Cluster::start() {
        Ok(Some(c)) => c,
        Ok(None) => return skip_or_fail("PostgreSQL (initdb, pg_ctl) is not installed"),
        Err(e) => panic!("could not start PostgreSQL: {e}"),
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let extra = format!(
        "[admission]\npublish_work_bits = 0\n[storage]\npostgres = \"{}\"\nschema = \"standby\"\nlease_ttl_ms = 2000\n",
        cluster.url()
    );
    for sub in ["one", "two"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let mut sequencer = Server::start_with(d, 20, &extra);
    let first = register_registrar(&d.join("one"), &sequencer.url);
    assert_eq!(tree_size(&sequencer.url), 1);

    // The standby: same config, same data directory (the shared tiles and key).
    let standby_log = d.join("standby.log");
    let port = free_port();
    let standby_url = format!("http://127.0.0.1:{port}");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&standby_log)
        .unwrap();
    let mut standby = Command::new(BIN)
        .arg("serve")
        .arg("--data")
        .arg(d.join("data"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--config")
        .arg(d.join("server.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn the standby");
    let said = |what: &str| {
        std::fs::read_to_string(&standby_log)
            .unwrap_or_default()
            .contains(what)
    };
    poll(
        "the standby to wait for the lease",
        Duration::from_secs(30),
        || said("standby: the sequencer lease is held by").then_some(()),
    );
    assert!(
        probe(&standby_url, "/v1/log").is_none(),
        "a standby does not serve while the sequencer holds the lease"
    );
    assert!(standby.try_wait().unwrap().is_none(), "the standby waits");

    // The sequencer dies; the standby takes over once its lease expires.
    sequencer.kill();
    let t = Instant::now();
    poll(
        "the standby to take over and serve",
        Duration::from_secs(60),
        || {
            probe(&standby_url, "/v1/log")
                .filter(|(s, _)| *s == 200)
                .map(|_| ())
        },
    );
    eprintln!("the standby served {:?} after the kill", t.elapsed());
    assert!(said("standby: took over the sequencer lease"));
    // It serves the first sequencer's entry, and logs after it: one tree.
    assert_eq!(tree_size(&standby_url), 1);
    let (status, _) = probe(&standby_url, &format!("/v1/registrars/{first}")).unwrap();
    assert_eq!(status, 200, "the entry logged before the takeover is there");
    let second = register_registrar(&d.join("two"), &standby_url);
    assert_ne!(first, second);
    assert_eq!(tree_size(&standby_url), 2);
    // The audit of the taken-over log agrees, from its first leaf.
    let out = Command::new(BIN)
        .args(["audit", &standby_url, "--quiet", "--log-key"])
        .arg(
            std::fs::read_to_string(d.join("data/log.vkey"))
                .unwrap()
                .trim(),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("AGREES"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = standby.kill();
    let _ = standby.wait();
}
