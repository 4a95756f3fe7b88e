//! The log engine: recovery, the submission pool, the sequencer, receipts.
//!
//! Write path (DESIGN §6): a submission is decoded, checked against the
//! rules, its signature or proof verified off the async runtime, and pooled.
//! The sequencer thread takes the pool every `batch_interval` (or as soon as
//! `max_batch` entries wait), shuffles it, stamps one coarse timestamp,
//! re-checks each entry in order against the state (validity is a pure
//! function of the state before), appends the accepted ones, writes every
//! changed tile and entry bundle durably, and then writes the signed
//! checkpoint: **the commit point**. Only then are submitters answered, each
//! with a receipt. Derived state (SQLite) is updated after the commit and is
//! rebuilt from the log when behind.
//!
//! Start-up and failure recovery are one path ([`Log::open`] → `load`): read
//! the checkpoint, load the tree edge from its tiles, replay the leaves into
//! the rules state, catch SQLite up. Tiles written beyond the checkpoint by an
//! interrupted round are simply overwritten by the next round, so a crash at
//! any instant loses no acknowledged entry and never forks the log.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use headcount_core::entry::Entry;
use headcount_core::leaf::LEAF_VERSION;
use headcount_core::{
    CampaignId, CredentialVerifier, CryptoVerified, EntryHash, Leaf, LogState, Rejection, Timestamp,
};
use headcount_tlog::{
    Appender, Checkpoint, EMPTY_ROOT, Hash, LeafIndex, LogSigner, LogVerifier, TileId, TileReader,
    TlogProof, TreeSize, decode_bundle, inclusion_proof, leaf_hash,
};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::admission::AdmissionError;
use crate::derived::{AppliedLeaf, Derived, DerivedError, Located};
use crate::tiles::FsTiles;
use crate::verification::{Refused, Verification, VerificationOptions};

/// Tuning of the sequencer and pool.
#[derive(Clone, Debug)]
pub struct SequencerOptions {
    /// How long the first entry of a round waits for others.
    pub batch_interval: Duration,
    /// A round starts as soon as this many entries wait.
    pub max_batch: usize,
    /// Submissions beyond this many waiting are refused with 503.
    pub pool_capacity: usize,
    /// Privacy-first logs: a round never starts sooner than this after the
    /// previous one, even when `max_batch` entries wait, so every round mixes
    /// everything submitted during at least this long (zero: no minimum).
    pub min_round_interval: Duration,
    /// Keep every partial tile, instead of deleting those whose full tile a
    /// durable checkpoint covers (see `tiles.rs`).
    pub keep_partial_tiles: bool,
    /// The verification stage of credentialed submissions.
    pub verification: VerificationOptions,
}

impl Default for SequencerOptions {
    fn default() -> Self {
        SequencerOptions {
            batch_interval: Duration::from_millis(1000),
            max_batch: 4096,
            pool_capacity: 65_536,
            min_round_interval: Duration::ZERO,
            keep_partial_tiles: false,
            verification: VerificationOptions::default(),
        }
    }
}

/// How many refusals of asynchronously submitted entries are remembered for
/// `GET /v1/entries/{hash}` (the oldest are forgotten first).
const REMEMBERED_REFUSALS: usize = 65_536;

/// Refusals, at sequencing, of entries accepted asynchronously.
#[derive(Default)]
struct Refusals {
    by_hash: HashMap<EntryHash, Rejection>,
    order: std::collections::VecDeque<EntryHash>,
}

/// Where a submission stands once admitted.
enum Admission {
    /// Already in the log.
    Logged(Entry, EntryHash, Located),
    /// Pooled (or joined to an identical entry in flight): the answer comes
    /// when its round is committed.
    Waiting(Entry, EntryHash, oneshot::Receiver<Outcome>),
}

/// What the log knows of an entry, by hash.
#[derive(Debug)]
pub enum EntryStatus {
    /// In the log.
    Logged(Located),
    /// Accepted and waiting for its round (not durable: see `submit_async`).
    Pending,
    /// Accepted asynchronously, then refused in its round.
    Refused(Rejection),
    /// Unknown.
    Unknown,
}

/// Errors opening or running the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("another sequencer holds the lock on {0}; only one may run on a data directory")]
    Locked(PathBuf),
    #[error("i/o on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tree: {0}")]
    Tlog(#[from] headcount_tlog::Error),
    #[error("derived state: {0}")]
    Derived(#[from] DerivedError),
    #[error("{0} has tiles but no checkpoint; refusing to start a new log over them")]
    NoCheckpoint(PathBuf),
    #[error("leaf {index} of the stored log is invalid ({reason}); the log is corrupt")]
    CorruptLeaf { index: u64, reason: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Why a submission was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Admission(#[from] crate::admission::AdmissionError),
    #[error("the submission pool is full")]
    Overloaded,
    #[error("the log is shutting down")]
    ShuttingDown,
    #[error("internal error: {0}")]
    Internal(String),
}

/// An entry's receipt: where it is, and a `c2sp.org/tlog-proof@v1` that
/// proves it against a signed checkpoint.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Receipt {
    pub leaf_index: u64,
    /// Size of the checkpoint the proof is made against.
    pub tree_size: u64,
    /// The sequencer's timestamp of the leaf (Unix seconds, whole minute).
    pub timestamp: u64,
    pub entry_type: &'static str,
    pub entry_hash: EntryHash,
    /// RFC 6962 leaf hash, hex.
    pub leaf_hash: String,
    /// `c2sp.org/tlog-proof@v1` text. Its `extra` line is the 9-byte leaf
    /// header (version, timestamp) that, prefixed to the entry, gives the leaf.
    pub proof: String,
    /// The entry itself, hex; only in look-ups (a submitter has it already).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

/// The latest checkpoint.
#[derive(Clone, Debug)]
pub struct Committed {
    pub size: u64,
    pub root: Hash,
    pub note: Arc<Vec<u8>>,
}

type Outcome = Result<Located, SubmitError>;

struct Pending {
    entry: Entry,
    bytes: Vec<u8>,
    hash: EntryHash,
    token: CryptoVerified,
}

#[derive(Default)]
struct Pool {
    queue: Vec<Pending>,
    /// Everyone waiting on an entry, from pooling until SQLite knows it, so a
    /// resubmission in that window joins the first instead of being logged twice.
    waiters: HashMap<EntryHash, Vec<oneshot::Sender<Outcome>>>,
    shutdown: bool,
}

/// What only the sequencer thread touches.
struct Sequencer {
    appender: Appender,
    db: Derived,
    signer: LogSigner,
}

/// A running log.
pub struct Log {
    origin: String,
    vkey: String,
    tiles: FsTiles,
    verifier: LogVerifier,
    credentials: Arc<dyn CredentialVerifier + Send + Sync>,
    options: SequencerOptions,
    db_path: PathBuf,
    state: Arc<RwLock<LogState>>,
    committed: RwLock<Committed>,
    /// Batch verification of pseudonym proofs (`verification.rs`).
    verification: Verification,
    reader: Mutex<Derived>,
    /// Read-only connections for the API (`Log::read`).
    reads: Arc<crate::derived::ReadPool>,
    /// Shared with the sequencer thread, which waits on it without holding
    /// the log: dropping the last `Arc<Log>` stops the thread.
    pool: Arc<Mutex<Pool>>,
    wake: Arc<Condvar>,
    sequencer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Rounds waiting for witness cosignatures, when witnessing is on.
    pub(crate) witness_tx:
        Mutex<Option<tokio::sync::mpsc::UnboundedSender<crate::witnessing::Round>>>,
    /// The latest checkpoint with the witnesses' cosignatures.
    pub(crate) cosigned: RwLock<Option<Committed>>,
    /// Auditors whose attestations this log accepts: signed-note vkeys.
    pub(crate) auditors: RwLock<Vec<String>>,
    /// The witness policy (C2SP tlog-policy text) served at `/policy`.
    pub(crate) witness_policy: RwLock<Option<Arc<str>>>,
    /// The operator's admission policy (`admission.rs`).
    admission: RwLock<crate::admission::AdmissionPolicy>,
    /// Counters for operators (`GET /metrics`).
    pub metrics: crate::metrics::Metrics,
    /// Refusals of asynchronously submitted entries, for look-ups.
    refusals: Mutex<Refusals>,
    _lock: File,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The 9-byte leaf header: version and timestamp.
pub fn leaf_header(timestamp: u64) -> Vec<u8> {
    let mut h = vec![LEAF_VERSION];
    h.extend_from_slice(&timestamp.to_be_bytes());
    h
}

impl Log {
    /// Opens the log in `data_dir` (creating it), recovers, and starts the sequencer.
    pub fn open(
        data_dir: &Path,
        signer: LogSigner,
        credentials: Arc<dyn CredentialVerifier + Send + Sync>,
        options: SequencerOptions,
    ) -> Result<Arc<Log>, LogError> {
        crate::durable::create_dir_all_durable(data_dir).map_err(io_err(data_dir))?;
        let lock_path = data_dir.join("lock");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        if lock_file.try_lock().is_err() {
            return Err(LogError::Locked(lock_path));
        }
        let tiles = FsTiles::new(data_dir.join("log")).keeping_partials(options.keep_partial_tiles);
        let verifier = LogVerifier::from_vkey(&signer.vkey())?;
        let db_path = data_dir.join("state.sqlite");
        let mut db = Derived::open(&db_path)?;
        let (appender, state, committed) = load(&tiles, &verifier, &signer, &mut db)?;
        let tidied = tiles.tidy(committed.size).map_err(io_err(tiles.root()))?;
        if tidied != Default::default() {
            tracing::info!(
                temporaries = tidied.temporaries,
                partial_tile_dirs = tidied.partial_dirs,
                "removed what interrupted writes and pruning left"
            );
        }
        let reader = Derived::open(&db_path)?;
        let reads = Arc::new(crate::derived::ReadPool::new(&db_path));
        let state = Arc::new(RwLock::new(state));
        let verification = Verification::start(
            Arc::clone(&state),
            Arc::clone(&credentials),
            options.verification.clone(),
        );
        let log = Arc::new(Log {
            origin: signer.origin().to_owned(),
            vkey: signer.vkey(),
            tiles,
            verifier,
            credentials,
            options,
            db_path,
            verification,
            state,
            committed: RwLock::new(committed),
            reader: Mutex::new(reader),
            reads,
            pool: Arc::new(Mutex::new(Pool::default())),
            wake: Arc::new(Condvar::new()),
            sequencer: Mutex::new(None),
            witness_tx: Mutex::new(None),
            cosigned: RwLock::new(None),
            auditors: RwLock::new(Vec::new()),
            witness_policy: RwLock::new(None),
            admission: RwLock::new(Default::default()),
            metrics: Default::default(),
            refusals: Mutex::new(Refusals::default()),
            _lock: lock_file,
        });
        let seq = Sequencer {
            appender,
            db,
            signer,
        };
        let weak = Arc::downgrade(&log);
        let (pool, wake, options) = (
            Arc::clone(&log.pool),
            Arc::clone(&log.wake),
            log.options.clone(),
        );
        let handle = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || sequencer_loop(weak, pool, wake, options, seq))
            .map_err(io_err(data_dir))?;
        *lock(&log.sequencer) = Some(handle);
        Ok(log)
    }

    /// The log's origin (checkpoint first line, key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The log's public key in signed-note form.
    pub fn vkey(&self) -> String {
        self.vkey.clone()
    }

    /// The tile storage (for serving).
    pub fn tiles(&self) -> &FsTiles {
        &self.tiles
    }

    /// The latest checkpoint.
    pub fn committed(&self) -> Committed {
        self.committed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `f` on the derived-state read connection.
    pub fn with_db<T>(&self, f: impl FnOnce(&Derived) -> T) -> T {
        f(&lock(&self.reader))
    }

    /// Runs `f` on a read-only derived-state connection of its own, on a
    /// blocking thread (off the async runtime).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Derived) -> Result<T, DerivedError> + Send + 'static,
    ) -> Result<T, DerivedError> {
        let pool = Arc::clone(&self.reads);
        match tokio::task::spawn_blocking(move || pool.with(f)).await {
            Ok(r) => r,
            Err(e) => Err(DerivedError::Task(e.to_string())),
        }
    }

    /// Runs `f` on a read-only connection of its own; call from a blocking thread.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&Derived) -> Result<T, DerivedError>,
    ) -> Result<T, DerivedError> {
        self.reads.with(f)
    }

    /// Runs `f` on the derived-state connection, for writes outside the sequencer.
    pub(crate) fn with_db_mut<T>(&self, f: impl FnOnce(&mut Derived) -> T) -> T {
        f(&mut lock(&self.reader))
    }

    /// Runs `f` on the rules state.
    pub fn with_state<T>(&self, f: impl FnOnce(&LogState) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The checkpoint to publish: with witnesses, the latest cosigned one.
    pub fn published(&self) -> Committed {
        let cosigned = self
            .cosigned
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match cosigned {
            Some(c) if lock(&self.witness_tx).is_some() => c,
            _ => self.committed(),
        }
    }

    /// Accepts attestations from these auditors (signed-note vkeys).
    pub fn set_auditors(&self, vkeys: Vec<String>) {
        *self.auditors.write().unwrap_or_else(|e| e.into_inner()) = vkeys;
    }

    /// Sets the operator's admission policy (default: open, no extra work).
    pub fn set_admission(&self, policy: crate::admission::AdmissionPolicy) {
        *self.admission.write().unwrap_or_else(|e| e.into_inner()) = policy;
    }

    /// The operator's admission policy.
    pub fn admission(&self) -> crate::admission::AdmissionPolicy {
        self.admission
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Applies the admission policy to a new entry (before any crypto).
    fn check_admission(
        &self,
        entry: &Entry,
        hash: &EntryHash,
        work: Result<Option<u64>, ()>,
    ) -> Result<(), SubmitError> {
        let policy = self.admission.read().unwrap_or_else(|e| e.into_inner());
        Ok(self.with_state(|s| policy.admit(entry, hash, work, s))?)
    }

    /// Stops the sequencer after it drains the pool.
    pub fn shutdown(&self) {
        // Ends the witnessing stage (it holds the log until its channel closes).
        lock(&self.witness_tx).take();
        lock(&self.pool).shutdown = true;
        self.wake.notify_all();
        if let Some(h) = lock(&self.sequencer).take() {
            let _ = h.join();
        }
    }

    /// Submits an encoded entry and waits until it is in a signed checkpoint.
    /// Resubmitting an identical entry returns the same receipt.
    pub async fn submit(self: &Arc<Self>, bytes: Vec<u8>) -> Result<Receipt, SubmitError> {
        self.submit_with_work(bytes, Ok(None)).await
    }

    /// [`Log::submit`] with the admission work nonce the submitter sent
    /// (`Err` when its header did not parse); see `admission.rs`.
    pub async fn submit_with_work(
        self: &Arc<Self>,
        bytes: Vec<u8>,
        work: Result<Option<u64>, ()>,
    ) -> Result<Receipt, SubmitError> {
        let result = self.submit_inner(bytes, work).await;
        match &result {
            Ok(_) => {}
            Err(SubmitError::Rejected(r)) => self.metrics.rejected(r.code()),
            Err(SubmitError::Admission(a)) => self.metrics.rejected(a.code()),
            Err(SubmitError::Overloaded) => self.metrics.overloaded(),
            Err(_) => {}
        }
        result
    }

    async fn submit_inner(
        self: &Arc<Self>,
        bytes: Vec<u8>,
        work: Result<Option<u64>, ()>,
    ) -> Result<Receipt, SubmitError> {
        match self.admit(bytes, work).await? {
            Admission::Logged(entry, hash, at) => self.receipt_for(&entry, &hash, at),
            Admission::Waiting(entry, hash, rx) => {
                let located = rx.await.map_err(|_| SubmitError::ShuttingDown)??;
                self.receipt_for(&entry, &hash, located)
            }
        }
    }

    /// Submits an encoded entry without waiting for its round: every check a
    /// synchronous submission gets happens before this returns, then the entry
    /// is pooled and its hash returned. The answer is **not durable**: an
    /// entry is acknowledged only by its receipt (`GET /v1/entries/{hash}`);
    /// a restart before its round forgets it, and the submitter sends the
    /// same bytes again (submissions are idempotent).
    pub async fn submit_async(self: &Arc<Self>, bytes: Vec<u8>) -> Result<EntryHash, SubmitError> {
        self.submit_async_with_work(bytes, Ok(None)).await
    }

    /// [`Log::submit_async`] with the admission work nonce the submitter sent.
    pub async fn submit_async_with_work(
        self: &Arc<Self>,
        bytes: Vec<u8>,
        work: Result<Option<u64>, ()>,
    ) -> Result<EntryHash, SubmitError> {
        let admitted = self.admit(bytes, work).await;
        match admitted {
            Ok(Admission::Logged(_, hash, _)) => Ok(hash),
            Ok(Admission::Waiting(_, hash, rx)) => {
                let log = Arc::downgrade(self);
                tokio::spawn(async move {
                    // The round remembers the refusal for look-ups; count it here.
                    if let Ok(Err(SubmitError::Rejected(r))) = rx.await
                        && let Some(log) = log.upgrade()
                    {
                        log.metrics.rejected(r.code());
                    }
                });
                Ok(hash)
            }
            Err(e) => {
                match &e {
                    SubmitError::Rejected(r) => self.metrics.rejected(r.code()),
                    SubmitError::Admission(a) => self.metrics.rejected(a.code()),
                    SubmitError::Overloaded => self.metrics.overloaded(),
                    _ => {}
                }
                Err(e)
            }
        }
    }

    fn remember_refusal(&self, hash: EntryHash, r: Rejection) {
        let mut refusals = lock(&self.refusals);
        if refusals.by_hash.insert(hash, r).is_none() {
            refusals.order.push_back(hash);
        }
        while refusals.order.len() > REMEMBERED_REFUSALS {
            if let Some(old) = refusals.order.pop_front() {
                refusals.by_hash.remove(&old);
            }
        }
    }

    /// What the log knows of the entry with this hash: logged, pending in
    /// the pool, refused in its round (asynchronous submissions), or unknown.
    pub fn status(&self, hash: &EntryHash) -> Result<EntryStatus, LogError> {
        // Waiters first: a round updates SQLite before it answers (and, with
        // witnesses, answers only once cosigned), so an entry that is not
        // waiting is either in SQLite already or not in the log.
        if lock(&self.pool).waiters.contains_key(hash) {
            return Ok(EntryStatus::Pending);
        }
        if let Some(at) = self.locate(hash)? {
            return Ok(EntryStatus::Logged(at));
        }
        if let Some(r) = lock(&self.refusals).by_hash.get(hash) {
            return Ok(EntryStatus::Refused(r.clone()));
        }
        Ok(EntryStatus::Unknown)
    }

    /// Checks a submission and pools it (or finds it logged or in flight).
    async fn admit(
        self: &Arc<Self>,
        bytes: Vec<u8>,
        work: Result<Option<u64>, ()>,
    ) -> Result<Admission, SubmitError> {
        let entry = Entry::decode(&bytes).map_err(Rejection::from)?;
        let hash = EntryHash::of(&bytes);
        // An identical entry still in flight (pooled, sequenced, or waiting for
        // cosignatures): wait for the same answer as its first submitter.
        let joined = {
            let mut pool = lock(&self.pool);
            pool.waiters.get_mut(&hash).map(|w| {
                let (tx, rx) = oneshot::channel();
                w.push(tx);
                rx
            })
        };
        if let Some(rx) = joined {
            return Ok(Admission::Waiting(entry, hash, rx));
        }
        // Only an entry the log may already hold needs the database: the rules
        // state knows every campaign-scoped entry in memory.
        let may_be_logged = matches!(
            entry,
            Entry::Registrar(_)
                | Entry::Campaign(_)
                | Entry::IssuancePeriod(_)
                | Entry::RegistrarRetirement(_)
        ) || self.with_state(|s| s.contains_entry(&hash));
        if may_be_logged
            && let Some(found) = self
                .with_db(|db| db.lookup_entry(&hash))
                .map_err(internal)?
        {
            return Ok(Admission::Logged(entry, hash, found));
        }
        // The operator's admission policy, then the cheap rules.
        self.check_admission(&entry, &hash, work)?;
        // Cheap rules first, against the time the sequencer would stamp now.
        let now = self.with_state(|s| {
            let t = Timestamp::coarse(unix_now()).max(s.last_timestamp);
            s.check_rules(t, &entry, hash).map(|_| ())
        });
        now?;
        // Refuse before spending a signature or proof verification on it.
        if lock(&self.pool).queue.len() >= self.options.pool_capacity {
            return Err(SubmitError::Overloaded);
        }
        // Then the expensive check, off the async runtime: pseudonym proofs in
        // the batch verification stage (which sheds load itself), signatures here.
        let (entry, token) = if entry.presentation().is_some() {
            let (worked, need) = {
                let policy = self.admission.read().unwrap_or_else(|e| e.into_inner());
                (policy.has_busy_work(&hash, work), policy.busy_work_bits)
            };
            self.verification
                .submit(entry, hash, worked, need > 0)
                .map_err(|r| match r {
                    Refused::Full => SubmitError::Overloaded,
                    Refused::Busy => AdmissionError::BusyWorkRequired { need }.into(),
                })?
                .await
                .map_err(|_| SubmitError::ShuttingDown)??
        } else {
            let this = Arc::clone(self);
            tokio::task::spawn_blocking(move || {
                let token =
                    this.with_state(|s| s.verify_crypto(&entry, hash, this.credentials.as_ref()));
                token.map(|t| (entry, t))
            })
            .await
            .map_err(|e| SubmitError::Internal(e.to_string()))??
        };
        let rx = {
            let mut pool = lock(&self.pool);
            if pool.shutdown {
                return Err(SubmitError::ShuttingDown);
            }
            let (tx, rx) = oneshot::channel();
            if let Some(w) = pool.waiters.get_mut(&hash) {
                w.push(tx);
            } else {
                if pool.queue.len() >= self.options.pool_capacity {
                    return Err(SubmitError::Overloaded);
                }
                pool.waiters.insert(hash, vec![tx]);
                pool.queue.push(Pending {
                    entry: entry.clone(),
                    bytes,
                    hash,
                    token,
                });
                if pool.queue.len() == 1 || pool.queue.len() >= self.options.max_batch {
                    self.wake.notify_all();
                }
            }
            rx
        };
        Ok(Admission::Waiting(entry, hash, rx))
    }

    fn receipt_for(
        &self,
        entry: &Entry,
        hash: &EntryHash,
        at: Located,
    ) -> Result<Receipt, SubmitError> {
        let proof = self.tlog_proof(at).map_err(internal)?;
        let leaf = Leaf {
            timestamp: Timestamp(at.timestamp),
            entry: entry.encode(),
        };
        Ok(Receipt {
            leaf_index: at.index,
            tree_size: proof.1,
            timestamp: at.timestamp,
            entry_type: entry.entry_type().name(),
            entry_hash: *hash,
            leaf_hash: hex::encode(leaf_hash(&leaf.encode()).0),
            proof: proof.0.to_text(),
            entry: None,
        })
    }

    /// The tlog-proof of a located entry, against the checkpoint of its
    /// receipt size (or the latest, if that checkpoint is no longer stored).
    pub fn tlog_proof(&self, at: Located) -> Result<(TlogProof, u64), LogError> {
        let latest = self.published();
        let stored = if at.receipt_size == latest.size {
            None
        } else {
            self.with_db(|db| db.checkpoint(at.receipt_size))?
        };
        let (size, root, note) = match stored {
            Some(note) => {
                let cp = self.verifier.verify(&note)?;
                (cp.size, cp.root, note)
            }
            // The latest checkpoint (also when the database lost an older one).
            None => (
                TreeSize(latest.size),
                latest.root,
                latest.note.as_ref().clone(),
            ),
        };
        let proof = inclusion_proof(&self.tiles, size, root, LeafIndex(at.index))?;
        Ok((
            TlogProof {
                extra: Some(leaf_header(at.timestamp)),
                index: LeafIndex(at.index),
                proof,
                checkpoint: note,
            },
            size.0,
        ))
    }

    /// Looks an entry up by hash.
    pub fn locate(&self, hash: &EntryHash) -> Result<Option<Located>, LogError> {
        Ok(self.with_db(|db| db.lookup_entry(hash))?)
    }

    /// Number of submissions waiting.
    pub fn pool_len(&self) -> usize {
        lock(&self.pool).queue.len()
    }

    /// Credentialed submissions waiting for verification.
    pub fn verification_len(&self) -> usize {
        self.verification.len()
    }

    /// Path of the SQLite database.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }
}

fn internal(e: impl std::fmt::Display) -> SubmitError {
    SubmitError::Internal(e.to_string())
}

/// Recovery: the checkpoint, the tree edge, the rules state, SQLite caught up.
fn load(
    tiles: &FsTiles,
    verifier: &LogVerifier,
    signer: &LogSigner,
    db: &mut Derived,
) -> Result<(Appender, LogState, Committed), LogError> {
    // Leaves in our own storage were verified when accepted: replay re-checks
    // the rules, not the signatures and proofs.
    let committed = match tiles.read_checkpoint().map_err(io_err(tiles.root()))? {
        Some(note) => {
            let cp = verifier.verify(&note)?;
            Committed {
                size: cp.size.0,
                root: cp.root,
                note: Arc::new(note),
            }
        }
        None => {
            // A tree without its checkpoint is not a new log: starting afresh
            // would overwrite its tiles with a different history (a fork).
            if tiles.root().join("tile").exists() {
                return Err(LogError::NoCheckpoint(tiles.root().to_owned()));
            }
            let cp = Checkpoint {
                origin: signer.origin().to_owned(),
                size: TreeSize(0),
                root: EMPTY_ROOT,
                extensions: vec![],
            };
            let note = signer.sign(&cp)?;
            tiles
                .write_checkpoint(&note)
                .map_err(io_err(tiles.root()))?;
            Committed {
                size: 0,
                root: EMPTY_ROOT,
                note: Arc::new(note),
            }
        }
    };
    let appender = if committed.size == 0 {
        Appender::empty()
    } else {
        Appender::load(TreeSize(committed.size), committed.root, tiles)?
    };
    let mut applied = db.applied_size()?;
    if applied > committed.size {
        tracing::warn!(
            applied,
            size = committed.size,
            "derived state is ahead of the log; rebuilding it"
        );
        db.reset()?;
        applied = 0;
    }
    let mut state = LogState::new();
    let mut touched: BTreeSet<CampaignId> = BTreeSet::new();
    let started = Instant::now();
    let mut index = 0u64;
    while index < committed.size {
        let n = index / 256;
        let width = (committed.size - n * 256).min(256) as u16;
        let bundle = tiles.read_tile(TileId {
            level: None,
            index: n,
            width,
        })?;
        let raw = decode_bundle(&bundle)?;
        let mut leaves = Vec::with_capacity(raw.len());
        for r in raw {
            let leaf = Leaf::decode(r).map_err(|e| LogError::CorruptLeaf {
                index,
                reason: e.to_string(),
            })?;
            let entry = state.replay(&leaf).map_err(|e| LogError::CorruptLeaf {
                index,
                reason: e.to_string(),
            })?;
            if index >= applied {
                touched.extend(state.campaigns_affected(&entry));
                leaves.push((index, leaf, entry));
            }
            index += 1;
        }
        if !leaves.is_empty() {
            let applied_leaves: Vec<AppliedLeaf<'_>> = leaves
                .iter()
                .map(|(i, l, e)| AppliedLeaf {
                    index: *i,
                    leaf: l,
                    entry: e,
                })
                .collect();
            db.apply(&applied_leaves, index, None, &[])?;
        }
    }
    if !touched.is_empty() {
        let tallies: Vec<_> = touched.iter().filter_map(|c| state.tally(c)).collect();
        let tallies = sign_tally_notes(
            signer.origin(),
            signer,
            committed.size,
            committed.root,
            tallies,
        );
        db.apply(&[], committed.size, Some(&committed.note), &tallies)?;
        tracing::info!(
            from = applied,
            to = committed.size,
            "caught derived state up with the log"
        );
    } else if db.checkpoint(committed.size)?.is_none() {
        db.apply(&[], committed.size, Some(&committed.note), &[])?;
    }
    tracing::info!(
        size = committed.size,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "log loaded"
    );
    Ok((appender, state, committed))
}

/// Signs one tally note per campaign (`headcount_core::notes`): each a few
/// hundred bytes, whatever the number of campaigns in the log.
fn sign_tally_notes(
    origin: &str,
    signer: &LogSigner,
    size: u64,
    root: Hash,
    tallies: Vec<headcount_core::CampaignTally>,
) -> Vec<(headcount_core::CampaignTally, Option<Vec<u8>>)> {
    use base64::Engine;
    let root = base64::engine::general_purpose::STANDARD.encode(root.0);
    tallies
        .into_iter()
        .map(|t| {
            let text =
                headcount_core::notes::CountsNote::campaign_note(origin, size, &root, &t).to_text();
            let signed = signed_note::Note::new(text.as_bytes(), &[])
                .and_then(|mut n| n.add_sigs(&[signer]).map(|()| n.to_bytes()));
            let note = match signed {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::error!(error = %e, "could not sign a tally note");
                    None
                }
            };
            (t, note)
        })
        .collect()
}

fn sequencer_loop(
    log: std::sync::Weak<Log>,
    pool: Arc<Mutex<Pool>>,
    wake: Arc<Condvar>,
    options: SequencerOptions,
    mut seq: Sequencer,
) {
    // A round starts no sooner than `min_round_interval` after the last one.
    let mut earliest = Instant::now();
    loop {
        let batch = {
            let mut pool = lock(&pool);
            while pool.queue.is_empty() && !pool.shutdown {
                pool = wake.wait(pool).unwrap_or_else(|e| e.into_inner());
            }
            if pool.queue.is_empty() && pool.shutdown {
                return;
            }
            let deadline = (Instant::now() + options.batch_interval).max(earliest);
            while !pool.shutdown {
                let now = Instant::now();
                if now >= deadline || (pool.queue.len() >= options.max_batch && now >= earliest) {
                    break;
                }
                let until = if pool.queue.len() >= options.max_batch {
                    earliest
                } else {
                    deadline
                };
                pool = wake
                    .wait_timeout(pool, until.saturating_duration_since(now))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            let n = pool.queue.len().min(options.max_batch);
            earliest = Instant::now() + options.min_round_interval;
            pool.queue.drain(..n).collect::<Vec<_>>()
        };
        // The log is only held while a round runs.
        let Some(this) = log.upgrade() else { return };
        if let Err(e) = this.sequence(&mut seq, batch) {
            tracing::error!(error = %e, "sequencing round failed; recovering from storage");
            this.recover(&mut seq);
        }
    }
}

impl Log {
    fn answer(&self, hash: &EntryHash, outcome: impl Fn() -> Outcome) {
        let waiters = lock(&self.pool).waiters.remove(hash).unwrap_or_default();
        for w in waiters {
            let _ = w.send(outcome());
        }
    }

    /// One sequencing round.
    fn sequence(&self, seq: &mut Sequencer, mut batch: Vec<Pending>) -> Result<(), LogError> {
        batch.shuffle(&mut rand::thread_rng());
        let mut accepted: Vec<Pending> = Vec::with_capacity(batch.len());
        let ts;
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            ts = Timestamp::coarse(unix_now()).max(state.last_timestamp);
            for p in batch {
                match state.validate(
                    ts,
                    &p.entry,
                    p.hash,
                    Some(p.token),
                    self.credentials.as_ref(),
                ) {
                    Ok(change) => {
                        state.apply(ts, change);
                        accepted.push(p);
                    }
                    Err(rejection) => {
                        self.remember_refusal(p.hash, rejection.clone());
                        self.answer(&p.hash, || Err(SubmitError::Rejected(rejection.clone())));
                    }
                }
            }
        }
        if accepted.is_empty() {
            return Ok(());
        }
        let leaves: Vec<Leaf> = accepted
            .iter()
            .map(|p| Leaf {
                timestamp: ts,
                entry: p.bytes.clone(),
            })
            .collect();
        let encoded: Vec<Vec<u8>> = leaves.iter().map(Leaf::encode).collect();
        let out = match seq.appender.append(&encoded) {
            Ok(o) => o,
            Err(e) => {
                self.fail_round(&accepted);
                return Err(e.into());
            }
        };
        let write = || -> Result<Vec<u8>, LogError> {
            out.tiles
                .par_iter()
                .try_for_each(|(id, data)| self.tiles.write_tile(*id, data))
                .map_err(io_err(self.tiles.root()))?;
            let cp = Checkpoint {
                origin: self.origin.clone(),
                size: out.size,
                root: out.root,
                extensions: vec![],
            };
            let note = seq.signer.sign(&cp)?;
            // The commit point.
            self.tiles
                .write_checkpoint(&note)
                .map_err(io_err(self.tiles.root()))?;
            Ok(note)
        };
        let note = match write() {
            Ok(n) => n,
            Err(e) => {
                self.fail_round(&accepted);
                return Err(e);
            }
        };
        // The checkpoint covering this round's full tiles is durable: their
        // partial tiles can go (readers of older checkpoints get prefixes).
        if let Err(e) = self
            .tiles
            .prune_partials(out.tiles.iter().map(|(id, _)| *id))
        {
            tracing::warn!(error = %e, "could not delete partial tiles; retried at the next start");
        }
        let size = out.size.0;
        let tallies: Vec<_> = self.with_state(|s| {
            let touched: BTreeSet<CampaignId> = accepted
                .iter()
                .flat_map(|p| s.campaigns_affected(&p.entry))
                .collect();
            touched.iter().filter_map(|c| s.tally(c)).collect()
        });
        // A signed tally note for each campaign this round changed.
        let tallies = sign_tally_notes(&self.origin, &seq.signer, size, out.root, tallies);
        let first = out.first_index.0;
        let applied: Vec<AppliedLeaf<'_>> = accepted
            .iter()
            .zip(&leaves)
            .enumerate()
            .map(|(i, (p, leaf))| AppliedLeaf {
                index: first + i as u64,
                leaf,
                entry: &p.entry,
            })
            .collect();
        if let Err(e) = seq.db.apply(&applied, size, Some(&note), &tallies) {
            // The entries are committed; derived state catches up at the next start.
            tracing::error!(error = %e, "could not update derived state");
        }
        // Publish the checkpoint only once derived state (tallies, campaigns)
        // knows it, so readers never see a size the API cannot answer for.
        *self.committed.write().unwrap_or_else(|e| e.into_inner()) = Committed {
            size,
            root: out.root,
            note: Arc::new(note.clone()),
        };
        let answers: Vec<(EntryHash, Located)> = accepted
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let at = Located {
                    index: first + i as u64,
                    timestamp: ts.0,
                    receipt_size: size,
                };
                (p.hash, at)
            })
            .collect();
        // With witnesses, receipts wait for cosignatures (in another task, so a
        // slow witness never stalls sequencing); without, answer now.
        let round = crate::witnessing::Round { answers };
        let unsent = match lock(&self.witness_tx).as_ref() {
            Some(tx) => tx.send(round).err().map(|e| e.0),
            None => Some(round),
        };
        if let Some(round) = unsent {
            for (h, at) in round.answers {
                self.answer(&h, || Ok(at));
            }
        }
        self.metrics.round(accepted.len());
        for _ in &accepted {
            self.metrics.accepted();
        }
        tracing::debug!(size, appended = accepted.len(), "sequenced");
        Ok(())
    }

    /// Answers a waiter (used by the witnessing stage).
    pub(crate) fn answer_located(&self, hash: &EntryHash, at: Located) {
        self.answer(hash, || Ok(at));
    }

    fn fail_round(&self, accepted: &[Pending]) {
        for p in accepted {
            self.answer(&p.hash, || {
                Err(SubmitError::Internal(
                    "the log could not commit this round; retry".into(),
                ))
            });
        }
    }

    /// After a failed round the in-memory state may be ahead of storage:
    /// reload everything from storage through the start-up path.
    fn recover(&self, seq: &mut Sequencer) {
        match load(&self.tiles, &self.verifier, &seq.signer, &mut seq.db) {
            Ok((appender, state, committed)) => {
                seq.appender = appender;
                *self.state.write().unwrap_or_else(|e| e.into_inner()) = state;
                *self.committed.write().unwrap_or_else(|e| e.into_inner()) = committed;
            }
            Err(e) => {
                tracing::error!(error = %e, "recovery failed; refusing further submissions");
                lock(&self.pool).shutdown = true;
            }
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        lock(&self.pool).shutdown = true;
        self.wake.notify_all();
    }
}
