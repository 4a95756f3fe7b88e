//! The issuance ledger: durable per-period counts, answered requests and the approval queue.
//!
//! Credentials are issued into the current calendar month (UTC), never into a period the
//! registrar picks: the month a credential discloses is the registrar's whole issuance of that
//! month, and a registrar cannot give one person a "batch" of their own. A month is logged
//! (`issuance-period`) once it is over, once.
//!
//! State directory layout (every file written atomically: temporary file, fsync, rename,
//! fsync of the directory):
//!
//! * `LOCK` — held (`File::try_lock`) by the one process using the directory;
//! * `ledger.json` — the registrar this directory belongs to and each closed (logged) month's
//!   final size;
//! * `issued/<request id>.json` — one per credential issued: the minute it was issued and the
//!   response, which names its month (so a replayed request gets the same answer). The month counts
//!   are the number of these files: writing one *is* the durable increment, done before the
//!   response leaves [`Ledger::issue`];
//! * `queue/<request id>.json` — requests waiting for approval (or rejected, with the reason),
//!   with the minute they arrived. Nothing else: no address, no user agent, no name.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use headcount_core::entry::IssuancePeriod;
use headcount_core::{Entry, Period, RegistrarId, Timestamp};
use headcount_credentials::{Attributes, RegistrarSecretKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::wire::{CredentialRequest, CredentialResponse, RequestId};

/// Most requests in the queue at once (pending or rejected, until they expire); more are
/// refused with [`Error::QueueFull`].
pub const MAX_PENDING: usize = 10_000;

/// A queued request (pending or rejected) is forgotten this long after it arrived: seven
/// days. Its declarant asks again if it still wants a credential.
pub const QUEUE_TTL_SECS: u64 = 7 * 24 * 3600;

/// Checks a request's commitment proof by a trial blind signature that is thrown away
/// (the same check approval makes), so a bad request is refused on submission, before
/// anything is stored. Call without holding the ledger: it costs a BBS signature.
pub fn check_commitment(
    secret: &RegistrarSecretKey,
    registrar_id: RegistrarId,
    request: &CredentialRequest,
) -> Result<(), Error> {
    let attrs = Attributes {
        registrar_id: registrar_id.0,
        period: request.period.map_or(0, |p| p.0),
    };
    headcount_credentials::issue(secret, &request.request, &attrs, &mut OsRng)
        .map(|_| ())
        .map_err(|e| match e {
            headcount_credentials::Error::Internal => Error::Internal(e.to_string()),
            other => {
                Error::InvalidCommitment(format!("{other} (the commitment proof does not verify)"))
            }
        })
}

/// Longest rejection reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

const LEDGER_FILE: &str = "ledger.json";
const ISSUED_DIR: &str = "issued";
const QUEUE_DIR: &str = "queue";
const STATE_VERSION: u32 = 2;
/// Largest state file read back (a queue or issued record is well under 2 KiB).
const MAX_STATE_FILE: u64 = 1 << 20;

/// What the registrar issued in one calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodInfo {
    /// The month.
    pub period: Period,
    /// Credentials issued in it.
    pub issued: u32,
    /// Whether it is closed: its size is final and its `issuance-period` entry can be logged.
    pub closed: bool,
}

/// Where a request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase", deny_unknown_fields)]
pub enum Status {
    /// Waiting for the registrar's out-of-band check.
    Pending,
    /// Issued: the response to finish the credential with.
    Approved {
        /// The registrar's answer.
        response: CredentialResponse,
    },
    /// Refused by the registrar.
    Rejected {
        /// The registrar's reason.
        reason: String,
    },
}

impl Status {
    /// `"pending"`, `"approved"` or `"rejected"`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved { .. } => "approved",
            Status::Rejected { .. } => "rejected",
        }
    }
}

/// A request waiting for approval, as the admin API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingRequest {
    /// The request id (hex).
    pub request_id: String,
    /// The minute it arrived (Unix seconds).
    pub received: u64,
    /// The month it asks to be issued in, if it says.
    pub period: Option<Period>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LedgerFile {
    version: u32,
    registrar: Option<RegistrarId>,
    /// Closed months and their final sizes.
    closed: BTreeMap<Period, u32>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuedRecord {
    version: u32,
    issued_at: u64,
    response: CredentialResponse,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueRecord {
    version: u32,
    received: u64,
    request: CredentialRequest,
    /// `None` while pending.
    rejected: Option<String>,
}

/// The registrar's durable state in one directory, locked for this process.
pub struct Ledger {
    dir: PathBuf,
    _lock: File,
    file: LedgerFile,
    counts: BTreeMap<Period, u32>,
    clock_offset: i64,
    issued: HashMap<RequestId, CredentialResponse>,
    queue: BTreeMap<RequestId, QueueRecord>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io_err(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> Error {
    move |e| Error::Io(format!("{what}: {e}"))
}

/// Now, to the minute (Unix seconds).
pub fn now_minute() -> u64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Timestamp::coarse(secs).0
}

impl Ledger {
    /// Opens (creating if needed) the state directory, takes its lock, removes stale temporary
    /// files and loads the state. Fails with [`Error::Locked`] if another process holds it.
    pub fn open(state_dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = state_dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(format!("opening {}", lock_path.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir)),
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::Io(format!("locking {}: {e}", lock_path.display())));
            }
        }
        for sub in [ISSUED_DIR, QUEUE_DIR] {
            fs::create_dir_all(dir.join(sub)).map_err(io_err(format!("creating {sub}")))?;
        }
        for d in [dir.clone(), dir.join(ISSUED_DIR), dir.join(QUEUE_DIR)] {
            remove_temp_files(&d)?;
        }

        let file = match read_json::<LedgerFile>(&dir.join(LEDGER_FILE))? {
            Some(f) => {
                if f.version != STATE_VERSION {
                    return Err(Error::Corrupt(format!(
                        "{LEDGER_FILE} version {}",
                        f.version
                    )));
                }
                f
            }
            None => LedgerFile {
                version: STATE_VERSION,
                registrar: None,
                closed: BTreeMap::new(),
            },
        };

        let mut ledger = Ledger {
            dir,
            _lock: lock,
            file,
            counts: BTreeMap::new(),
            clock_offset: 0,
            issued: HashMap::new(),
            queue: BTreeMap::new(),
        };

        for (id, path) in ledger.records(ISSUED_DIR)? {
            let rec: IssuedRecord = read_json(&path)?
                .ok_or_else(|| Error::Corrupt(format!("{} vanished", path.display())))?;
            if rec.version != STATE_VERSION || rec.response.request_id != id {
                return Err(Error::Corrupt(format!(
                    "{} does not match its name",
                    path.display()
                )));
            }
            if Some(rec.response.registrar) != ledger.file.registrar {
                return Err(Error::Corrupt(format!(
                    "{} names another registrar",
                    path.display()
                )));
            }
            ledger.count(rec.response.period)?;
            ledger.issued.insert(id, rec.response);
        }
        for (p, size) in &ledger.file.closed {
            let issued = ledger.counts.get(p).copied().unwrap_or_default();
            if issued != *size {
                return Err(Error::Corrupt(format!(
                    "closed month {p} logged {size} credentials but {issued} are recorded"
                )));
            }
        }
        for (id, path) in ledger.records(QUEUE_DIR)? {
            if ledger.issued.contains_key(&id) {
                // Approved, and the crash came before the queue file was removed.
                fs::remove_file(&path).map_err(io_err(format!("removing {}", path.display())))?;
                continue;
            }
            let rec: QueueRecord = read_json(&path)?
                .ok_or_else(|| Error::Corrupt(format!("{} vanished", path.display())))?;
            if rec.version != STATE_VERSION || rec.request.request_id() != id {
                return Err(Error::Corrupt(format!(
                    "{} does not match its name",
                    path.display()
                )));
            }
            ledger.queue.insert(id, rec);
        }
        Ok(ledger)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The registrar this directory belongs to (set by the first issuance or request).
    pub fn registrar(&self) -> Option<RegistrarId> {
        self.file.registrar
    }

    /// Shifts this ledger's clock by `seconds` (negative: into the past). For demonstrations
    /// and tests that must issue credentials "last month" so that the month can be logged
    /// now; a real registrar never sets it.
    pub fn set_clock_offset(&mut self, seconds: i64) {
        self.clock_offset = seconds;
    }

    /// The ledger's clock: the current minute, shifted by [`Ledger::set_clock_offset`].
    pub fn now(&self) -> u64 {
        now_minute().saturating_add_signed(self.clock_offset)
    }

    /// The month credentials are issued into now.
    pub fn current_period(&self) -> Period {
        Period::containing(self.now())
    }

    /// What `period` has issued so far.
    pub fn period(&self, period: Period) -> PeriodInfo {
        PeriodInfo {
            period,
            issued: self.counts.get(&period).copied().unwrap_or_default(),
            closed: self.file.closed.contains_key(&period),
        }
    }

    /// Every month that issued a credential or is closed, in order.
    pub fn periods(&self) -> Vec<PeriodInfo> {
        let mut ps: Vec<Period> = self.counts.keys().copied().collect();
        ps.extend(self.file.closed.keys().copied());
        ps.sort_unstable();
        ps.dedup();
        ps.into_iter().map(|p| self.period(p)).collect()
    }

    /// Months that are over, issued credentials, and are not closed yet: what
    /// `close-period` should log.
    pub fn periods_to_close(&self) -> Vec<Period> {
        let now = self.now();
        self.counts
            .keys()
            .copied()
            .filter(|p| p.is_over_at(now) && !self.file.closed.contains_key(p))
            .collect()
    }

    /// Signs `request` blindly into the current month and records it.
    ///
    /// * A request already answered gets the stored response back (no second credential).
    /// * Refused: a request for another registrar, a request that asks for another month,
    ///   a closed month, and a malformed or unproven commitment ([`Error::InvalidCommitment`]).
    /// * The issued record (which is the month's count) is durable before this returns.
    pub fn issue(
        &mut self,
        secret: &RegistrarSecretKey,
        registrar_id: RegistrarId,
        request: &CredentialRequest,
    ) -> Result<CredentialResponse, Error> {
        self.check_registrar(registrar_id, request)?;
        let id = request.request_id();
        if let Some(r) = self.issued.get(&id) {
            return Ok(r.clone());
        }
        let period = self.current_period();
        if let Some(requested) = request.period
            && requested != period
        {
            return Err(Error::PeriodMismatch {
                requested,
                current: period,
            });
        }
        if self.file.closed.contains_key(&period) {
            return Err(Error::PeriodClosed(period));
        }
        if self.counts.get(&period).copied().unwrap_or_default() == u32::MAX {
            return Err(Error::PeriodFull(period));
        }
        self.bind_registrar(registrar_id)?;

        let attrs = Attributes {
            registrar_id: registrar_id.0,
            period: period.0,
        };
        let signature = headcount_credentials::issue(secret, &request.request, &attrs, &mut OsRng)
            .map_err(|e| match e {
                headcount_credentials::Error::Internal => Error::Internal(e.to_string()),
                other => Error::InvalidCommitment(format!(
                    "{other} (the commitment proof does not verify)"
                )),
            })?;
        let response = CredentialResponse {
            registrar: registrar_id,
            period,
            request_id: id,
            blind_signature: signature,
        };
        let now = self.now();
        let rec = IssuedRecord {
            version: STATE_VERSION,
            issued_at: now,
            response: response.clone(),
        };
        // The durable increment: once this file is on disk the credential is counted.
        write_atomic(
            &self.dir.join(ISSUED_DIR),
            &format!("{}.json", hex::encode(id)),
            &to_json(&rec),
        )?;
        self.count(period)?;
        self.issued.insert(id, response.clone());
        if self.queue.remove(&id).is_some() {
            let p = self.queue_path(&id);
            if let Err(e) = fs::remove_file(&p) {
                // Harmless: open() drops queue files of issued requests.
                tracing::warn!(error = %e, "could not remove an approved queue file");
            }
        }
        Ok(response)
    }

    /// Closes `period`: its size becomes final. Returns the size; closing again returns the
    /// same. Refused for a month that is not over yet ([`Error::PeriodNotOver`]: credentials
    /// are still being issued into it) and for one that issued nothing.
    pub fn close_period(&mut self, period: Period) -> Result<u32, Error> {
        if let Some(size) = self.file.closed.get(&period) {
            return Ok(*size);
        }
        if !period.is_over_at(self.now()) {
            return Err(Error::PeriodNotOver(period));
        }
        let issued = self.counts.get(&period).copied().unwrap_or_default();
        if issued == 0 {
            return Err(Error::EmptyPeriod(period));
        }
        self.file.closed.insert(period, issued);
        if let Err(e) = self.save_ledger_file() {
            self.file.closed.remove(&period);
            return Err(e);
        }
        Ok(issued)
    }

    /// The final size of a closed month.
    pub fn closed_period(&self, period: Period) -> Option<u32> {
        self.file.closed.get(&period).copied()
    }

    /// The signed `issuance-period` entry of a closed month: `(entry, encoded bytes)`, ready to
    /// submit to the log.
    pub fn issuance_period_entry(
        &self,
        signing_key: &SigningKey,
        registrar_id: RegistrarId,
        period: Period,
    ) -> Result<(Entry, Vec<u8>), Error> {
        if let Some(r) = self.file.registrar
            && r != registrar_id
        {
            return Err(Error::LedgerRegistrarMismatch(r.to_hex()));
        }
        let size = self
            .file
            .closed
            .get(&period)
            .ok_or(Error::PeriodNotClosed(period))?;
        Entry::IssuancePeriod(IssuancePeriod {
            registrar: registrar_id,
            period,
            size: *size,
            signature: [0; 64],
        })
        .sign(signing_key)
        .map_err(|e| Error::Internal(format!("building the period entry: {e}")))
    }

    // ----- the approval queue -----

    /// Queues `request` for approval (the HTTP service's `POST /v1/requests`). Returns its id,
    /// its status, and whether it was new. An identical request answers its current status.
    /// Refused: another registrar; a request for a month other than the current one; a full
    /// queue ([`MAX_PENDING`]).
    pub fn enqueue(
        &mut self,
        registrar_id: RegistrarId,
        request: &CredentialRequest,
    ) -> Result<(RequestId, Status, bool), Error> {
        self.check_registrar(registrar_id, request)?;
        let id = request.request_id();
        if let Some(r) = self.issued.get(&id) {
            if request.period.is_some_and(|p| p != r.period) {
                return Err(Error::RequestConflict);
            }
            return Ok((
                id,
                Status::Approved {
                    response: r.clone(),
                },
                false,
            ));
        }
        if let Some(q) = self.queue.get(&id) {
            if q.request.period != request.period {
                return Err(Error::RequestConflict);
            }
            return Ok((id, queue_status(q), false));
        }
        if let Some(p) = request.period {
            let current = self.current_period();
            if p != current {
                return Err(Error::PeriodMismatch {
                    requested: p,
                    current,
                });
            }
        }
        let now = self.now();
        self.expire(now)?;
        if self.queue.len() >= MAX_PENDING {
            return Err(Error::QueueFull);
        }
        self.bind_registrar(registrar_id)?;
        let rec = QueueRecord {
            version: STATE_VERSION,
            received: now,
            request: request.clone(),
            rejected: None,
        };
        self.write_queue(&id, &rec)?;
        self.queue.insert(id, rec);
        Ok((id, Status::Pending, true))
    }

    /// Forgets queued requests (pending or rejected) that arrived more than
    /// [`QUEUE_TTL_SECS`] before `now`; returns how many.
    pub fn expire(&mut self, now: u64) -> Result<usize, Error> {
        let old: Vec<RequestId> = self
            .queue
            .iter()
            .filter(|(_, q)| q.received.saturating_add(QUEUE_TTL_SECS) < now)
            .map(|(id, _)| *id)
            .collect();
        for id in &old {
            let p = self.queue_path(id);
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Io(format!("removing {}: {e}", p.display()))),
            }
            self.queue.remove(id);
        }
        Ok(old.len())
    }

    /// The status of a request (queued or answered), `None` if unknown.
    pub fn status(&self, id: &RequestId) -> Option<Status> {
        if let Some(r) = self.issued.get(id) {
            return Some(Status::Approved {
                response: r.clone(),
            });
        }
        self.queue.get(id).map(queue_status)
    }

    /// The pending requests, oldest first.
    pub fn pending(&self) -> Vec<PendingRequest> {
        let mut v: Vec<PendingRequest> = self
            .queue
            .iter()
            .filter(|(_, q)| q.rejected.is_none())
            .map(|(id, q)| PendingRequest {
                request_id: hex::encode(id),
                received: q.received,
                period: q.request.period,
            })
            .collect();
        v.sort_by(|a, b| (a.received, &a.request_id).cmp(&(b.received, &b.request_id)));
        v
    }

    /// Approves a pending request: issues it into the current month. Approving an approved
    /// request returns its response again. If its commitment proof does not verify, the request
    /// is rejected (durably) and the error returned.
    pub fn approve(
        &mut self,
        secret: &RegistrarSecretKey,
        registrar_id: RegistrarId,
        id: &RequestId,
    ) -> Result<CredentialResponse, Error> {
        if let Some(r) = self.issued.get(id) {
            return Ok(r.clone());
        }
        let q = self.queue.get(id).ok_or(Error::NotFound)?.clone();
        if q.rejected.is_some() {
            return Err(Error::NotPending("rejected"));
        }
        match self.issue(secret, registrar_id, &q.request) {
            Err(e @ Error::InvalidCommitment(_)) => {
                self.reject(id, "the commitment proof does not verify")?;
                Err(e)
            }
            other => other,
        }
    }

    /// Rejects a pending request with a reason the declarant will see (one line, at most
    /// [`MAX_REASON_CHARS`] characters). Rejecting a rejected request again is a no-op.
    pub fn reject(&mut self, id: &RequestId, reason: &str) -> Result<(), Error> {
        let reason = reason.trim();
        if reason.is_empty()
            || reason.chars().count() > MAX_REASON_CHARS
            || reason.chars().any(char::is_control)
        {
            return Err(Error::InvalidReason);
        }
        if self.issued.contains_key(id) {
            return Err(Error::NotPending("approved"));
        }
        let q = self.queue.get(id).ok_or(Error::NotFound)?;
        if q.rejected.is_some() {
            return Ok(());
        }
        let mut rec = q.clone();
        rec.rejected = Some(reason.to_owned());
        self.write_queue(id, &rec)?;
        self.queue.insert(*id, rec);
        Ok(())
    }

    // ----- internals -----

    fn check_registrar(
        &self,
        registrar_id: RegistrarId,
        request: &CredentialRequest,
    ) -> Result<(), Error> {
        if request.registrar != registrar_id {
            return Err(Error::WrongRegistrar {
                expected: registrar_id.to_hex(),
                got: request.registrar.to_hex(),
            });
        }
        if let Some(r) = self.file.registrar
            && r != registrar_id
        {
            return Err(Error::LedgerRegistrarMismatch(r.to_hex()));
        }
        Ok(())
    }

    fn bind_registrar(&mut self, registrar_id: RegistrarId) -> Result<(), Error> {
        if self.file.registrar.is_none() {
            self.file.registrar = Some(registrar_id);
            if let Err(e) = self.save_ledger_file() {
                self.file.registrar = None;
                return Err(e);
            }
        }
        Ok(())
    }

    fn count(&mut self, period: Period) -> Result<(), Error> {
        let c = self.counts.entry(period).or_default();
        *c = c
            .checked_add(1)
            .ok_or_else(|| Error::Corrupt(format!("month {period} overflows")))?;
        Ok(())
    }

    fn save_ledger_file(&self) -> Result<(), Error> {
        write_atomic(&self.dir, LEDGER_FILE, &to_json(&self.file))
    }

    fn queue_path(&self, id: &RequestId) -> PathBuf {
        self.dir
            .join(QUEUE_DIR)
            .join(format!("{}.json", hex::encode(id)))
    }

    fn write_queue(&self, id: &RequestId, rec: &QueueRecord) -> Result<(), Error> {
        write_atomic(
            &self.dir.join(QUEUE_DIR),
            &format!("{}.json", hex::encode(id)),
            &to_json(rec),
        )
    }

    /// `(id, path)` of every `<hex id>.json` in a sub-directory.
    fn records(&self, sub: &str) -> Result<Vec<(RequestId, PathBuf)>, Error> {
        let dir = self.dir.join(sub);
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).map_err(io_err(format!("reading {}", dir.display())))? {
            let e = e.map_err(io_err(format!("reading {}", dir.display())))?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            let id = name
                .strip_suffix(".json")
                .and_then(|h| crate::wire::parse_request_id(h).ok())
                .ok_or_else(|| Error::Corrupt(format!("unexpected file {}", e.path().display())))?;
            out.push((id, e.path()));
        }
        Ok(out)
    }
}

fn queue_status(q: &QueueRecord) -> Status {
    match &q.rejected {
        None => Status::Pending,
        Some(reason) => Status::Rejected {
            reason: reason.clone(),
        },
    }
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    let mut s = serde_json::to_vec_pretty(v).expect("state serialises");
    s.push(b'\n');
    s
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io(format!("opening {}: {e}", path.display()))),
    };
    let mut buf = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(f, MAX_STATE_FILE + 1), &mut buf)
        .map_err(io_err(format!("reading {}", path.display())))?;
    if buf.len() as u64 > MAX_STATE_FILE {
        return Err(Error::Corrupt(format!("{} is too large", path.display())));
    }
    serde_json::from_slice(&buf)
        .map(Some)
        .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display())))
}

fn remove_temp_files(dir: &Path) -> Result<(), Error> {
    for e in fs::read_dir(dir).map_err(io_err(format!("reading {}", dir.display())))? {
        let e = e.map_err(io_err(format!("reading {}", dir.display())))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            fs::remove_file(e.path()).map_err(io_err(format!("removing {name}")))?;
        }
    }
    Ok(())
}

/// Temporary file in `dir` (mode 0600), fsync, rename over `dir/name`, fsync of `dir`.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let mut rnd = [0u8; 8];
    OsRng.fill_bytes(&mut rnd);
    let tmp = dir.join(format!(".{name}.{}.tmp", hex::encode(rnd)));
    let result = (|| -> io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, dir.join(name))?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(format!("writing {}", dir.join(name).display())))
}
