//! Test helpers: an in-memory Merkle tree (tlog_tiles), a log key, a witness over loopback.
#![allow(dead_code)]

use std::sync::Arc;

use headcount_cosignature::CosignatureSigner;
use headcount_witness::{Witness, WitnessConfig, serve_on};
use signed_note::{Note, StandardSigner};
use tlog_tiles::{Checkpoint, Hash, HashReader};

pub const ORIGIN: &str = "example.com/headcount-test-log";

/// All stored hashes of a tree, in `stored_hash_index` order.
#[derive(Default, Clone)]
pub struct Tree {
    hashes: Vec<Hash>,
    pub len: u64,
}

impl HashReader for Tree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.hashes
                    .get(usize::try_from(i).map_err(|_| tlog_tiles::Error::IndexesNotInTree)?)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl Tree {
    /// A tree of `n` leaves, each `seed || index`.
    pub fn new(seed: &str, n: u64) -> Self {
        let mut t = Tree::default();
        for i in 0..n {
            t.push(format!("{seed}-{i}").as_bytes());
        }
        t
    }

    pub fn push(&mut self, data: &[u8]) {
        let new = tlog_tiles::stored_hashes(self.len, data, self).expect("stored hashes");
        self.hashes.extend(new);
        self.len += 1;
    }

    pub fn root(&self, n: u64) -> Hash {
        tlog_tiles::tree_hash(n, self).expect("tree hash")
    }

    /// Consistency proof from `old` to `new` (empty when old is 0).
    pub fn proof(&self, old: u64, new: u64) -> Vec<[u8; 32]> {
        if old == 0 {
            return vec![];
        }
        tlog_tiles::prove_tree(new, old, self)
            .expect("prove")
            .into_iter()
            .map(|h| h.0)
            .collect()
    }
}

pub struct LogKey {
    pub signer: StandardSigner,
    pub vkey: String,
}

impl LogKey {
    pub fn new(name: &str) -> Self {
        let (skey, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, name);
        LogKey {
            signer: StandardSigner::new(&skey).expect("skey"),
            vkey,
        }
    }

    pub fn body(origin: &str, size: u64, root: Hash) -> Vec<u8> {
        Checkpoint::new(origin, size, root, "")
            .expect("checkpoint")
            .to_bytes()
    }

    pub fn sign(&self, body: &[u8]) -> Vec<u8> {
        let mut n = Note::new(body, &[]).expect("note");
        n.add_sigs(&[&self.signer]).expect("sign");
        n.to_bytes()
    }

    /// A signed checkpoint for `tree` at `size`.
    pub fn checkpoint(&self, tree: &Tree, size: u64) -> Vec<u8> {
        self.sign(&Self::body(ORIGIN, size, tree.root(size)))
    }
}

pub struct Running {
    pub url: String,
    pub witness: Arc<Witness>,
    pub shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops the server and waits until it has released the witness (and its lock).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        drop(self.witness);
        self.task.await.expect("join").expect("serve");
    }
}

pub async fn start(config: WitnessConfig, dir: &std::path::Path) -> Running {
    let witness = Arc::new(Witness::open(config, dir).expect("open witness"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(witness.clone(), listener, async {
        let _ = rx.await;
    }));
    Running {
        url,
        witness,
        shutdown: Some(tx),
        task,
    }
}

pub fn witness_key() -> (CosignatureSigner, String) {
    let (s, skey, _) = CosignatureSigner::generate("witness.example/w1").expect("gen");
    (s, skey)
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client")
}

/// POST a raw body; returns (status, content type, body).
pub async fn post_raw(http: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, String, String) {
    let r = http
        .post(format!("{url}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (status, ct, r.text().await.expect("body"))
}
