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
//!
//! Storage is reached only through the `headcount_storage` traits
//! ([`crate::storage::Storage`]); the checkpoint's compare-and-swap is the
//! commit point. Files: this module (the `Log`, submissions, receipts),
//! [`recovery`] (start-up and recovery), [`sequencer`] (rounds).

mod recovery;
mod sequencer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use headcount_core::entry::Entry;
use headcount_core::leaf::LEAF_VERSION;
use headcount_core::{
    CredentialVerifier, CryptoVerified, EntryHash, Leaf, LogState, Rejection, Timestamp,
};
use headcount_storage::{
    CheckpointStore, DerivedWriter, FencingToken, ReadModel, SequencerLease, StorageError,
    TileStore,
};
use headcount_tlog::{
    Appender, Hash, LeafIndex, LogSigner, LogVerifier, TlogProof, TreeSize, inclusion_proof,
    leaf_hash,
};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::admission::AdmissionError;
use crate::derived::{DerivedError, Located};
use crate::storage::Storage;
use crate::verification::{Refused, Verification, VerificationOptions};
use recovery::load;
use sequencer::sequencer_loop;

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
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("{0} has tiles but no checkpoint; refusing to start a new log over them")]
    NoCheckpoint(String),
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
    db: Box<dyn DerivedWriter>,
    signer: LogSigner,
}

/// A running log.
pub struct Log {
    origin: String,
    vkey: String,
    tiles: Arc<dyn TileStore>,
    /// The commit point.
    checkpoints: Arc<dyn CheckpointStore>,
    verifier: LogVerifier,
    credentials: Arc<dyn CredentialVerifier + Send + Sync>,
    options: SequencerOptions,
    state: Arc<RwLock<LogState>>,
    committed: RwLock<Committed>,
    /// Batch verification of pseudonym proofs (`verification.rs`).
    verification: Verification,
    /// Writes outside rounds (cosignatures, attestations).
    side_writer: Mutex<Box<dyn DerivedWriter>>,
    /// The read model, for the API and the dashboard (`Log::read`).
    reads: Arc<dyn ReadModel>,
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
    /// The single-sequencer lease, held for the life of the log.
    lease: Box<dyn SequencerLease>,
    token: FencingToken,
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
        let storage = Storage::fs(data_dir, options.keep_partial_tiles)?;
        Log::open_with(storage, signer, credentials, options)
    }

    /// Opens the log on `storage` (whose lease is taken), recovers, and
    /// starts the sequencer.
    pub fn open_with(
        storage: Storage,
        signer: LogSigner,
        credentials: Arc<dyn CredentialVerifier + Send + Sync>,
        options: SequencerOptions,
    ) -> Result<Arc<Log>, LogError> {
        let Storage {
            tiles,
            checkpoint: checkpoints,
            writer: mut db,
            side_writer,
            reads,
            lease,
            token,
            lease_ttl,
        } = storage;
        let verifier = LogVerifier::from_vkey(&signer.vkey())?;
        let (appender, state, committed) = load(
            tiles.as_ref(),
            checkpoints.as_ref(),
            reads.as_ref(),
            &verifier,
            &signer,
            db.as_mut(),
        )?;
        let tidied = tiles.tidy(committed.size)?;
        if tidied != Default::default() {
            tracing::info!(
                temporaries = tidied.temporaries,
                partial_tile_dirs = tidied.partial_dirs,
                "removed what interrupted writes and pruning left"
            );
        }
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
            checkpoints,
            verifier,
            credentials,
            options,
            verification,
            state,
            committed: RwLock::new(committed),
            side_writer: Mutex::new(side_writer),
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
            lease,
            token,
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
            .map_err(io_err(Path::new("sequencer thread")))?;
        *lock(&log.sequencer) = Some(handle);
        let weak = Arc::downgrade(&log);
        std::thread::Builder::new()
            .name("lease".into())
            .spawn(move || renew_lease(weak, lease_ttl))
            .map_err(io_err(Path::new("lease thread")))?;
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
    pub fn tiles(&self) -> &dyn TileStore {
        self.tiles.as_ref()
    }

    /// The latest checkpoint.
    pub fn committed(&self) -> Committed {
        self.committed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The read model, shared (the dashboard keeps it).
    pub fn read_model(&self) -> Arc<dyn ReadModel> {
        Arc::clone(&self.reads)
    }

    /// The read model (call from a blocking thread).
    pub fn reads(&self) -> &dyn ReadModel {
        self.reads.as_ref()
    }

    /// Runs `f` on the read model, on a blocking thread (off the async runtime).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn ReadModel) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let reads = Arc::clone(&self.reads);
        match tokio::task::spawn_blocking(move || f(reads.as_ref())).await {
            Ok(r) => r,
            Err(e) => Err(StorageError::backend("read task", e)),
        }
    }

    /// Runs `f` on the read model; call from a blocking thread.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&dyn ReadModel) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        f(self.reads.as_ref())
    }

    /// Runs `f` on the derived-state writer, for writes outside the sequencer.
    pub(crate) fn with_db_mut<T>(&self, f: impl FnOnce(&mut dyn DerivedWriter) -> T) -> T {
        f(lock(&self.side_writer).as_mut())
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
        if may_be_logged && let Some(found) = self.reads.lookup_entry(&hash).map_err(internal)? {
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
            self.reads.checkpoint(at.receipt_size)?
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
        let proof = inclusion_proof(self.tiles.as_ref(), size, root, LeafIndex(at.index))?;
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
        Ok(self.reads.lookup_entry(hash)?)
    }

    /// Number of submissions waiting.
    pub fn pool_len(&self) -> usize {
        lock(&self.pool).queue.len()
    }

    /// Credentialed submissions waiting for verification.
    pub fn verification_len(&self) -> usize {
        self.verification.len()
    }

    /// A description of the tile storage, for operators.
    pub fn storage_description(&self) -> String {
        self.tiles.describe()
    }
}

fn internal(e: impl std::fmt::Display) -> SubmitError {
    SubmitError::Internal(e.to_string())
}

/// Renews the sequencer lease every third of its time to live, for as long
/// as the log lives. A lease found taken over stops the log: another
/// sequencer owns it now, and every write this one tried would be refused.
fn renew_lease(log: std::sync::Weak<Log>, ttl: Duration) {
    let step = (ttl / 3).max(Duration::from_millis(10));
    let mut slept = Duration::ZERO;
    loop {
        // Short sleeps, so the thread ends soon after the log is dropped.
        std::thread::sleep(Duration::from_millis(50).min(step));
        slept += Duration::from_millis(50).min(step);
        let Some(log) = log.upgrade() else { return };
        if lock(&log.pool).shutdown {
            return;
        }
        if slept < step {
            continue;
        }
        slept = Duration::ZERO;
        match log.lease.renew(log.token, ttl) {
            Ok(()) => {}
            Err(StorageError::LeaseLost { token }) => {
                tracing::error!(
                    token,
                    "the sequencer lease was taken over; stopping this log"
                );
                lock(&log.pool).shutdown = true;
                log.wake.notify_all();
                return;
            }
            Err(e) => tracing::warn!(error = %e, "could not renew the sequencer lease; retrying"),
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        lock(&self.pool).shutdown = true;
        self.wake.notify_all();
        if let Err(e) = self.lease.release(self.token) {
            tracing::warn!(error = %e, "could not release the sequencer lease; it expires");
        }
    }
}
