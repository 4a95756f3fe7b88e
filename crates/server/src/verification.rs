//! The verification stage of credentialed submissions (declarations and
//! withdrawals): a bounded queue, fair across campaigns, drained by one worker
//! thread per core, each verifying what it takes as one batch
//! ([`LogState::verify_crypto_batch`]: the pseudonym proofs' pairing checks
//! folded into one multi-pairing).
//!
//! * **Load shedding before any pairing.** [`Verification::submit`] refuses
//!   (503 + Retry-After) when the queue holds `capacity` submissions, or when
//!   the submission's campaign already holds its share (`lane_capacity`):
//!   nothing is computed for a refused submission.
//! * **Fairness.** One lane per campaign; workers take round-robin across
//!   lanes, so a flood aimed at one campaign gets one lane's share of the
//!   verification capacity and at most `lane_capacity` places in the queue,
//!   and submissions to other campaigns keep flowing. Within one campaign
//!   honest and flooding submissions cannot be told apart (the server keeps no
//!   addresses, and pseudonyms cost nothing to make up): there the flood gets
//!   its proportion, and shedding keeps the latency of what is admitted
//!   bounded (see docs/operations.md).
//! * **Work under load.** When the operator asks `busy_work_bits` (see
//!   `admission.rs`), a submission without that work is refused once the
//!   stage is busy (`busy_at` waiting in all, or `lane_busy_at` in its
//!   campaign's lane), before anything is computed; one that carries it is
//!   queued in a lane of its own beside its campaign's plain lane, up to the
//!   hard limits. Inside one campaign a flood of invalid proofs then either
//!   pays about 2^bits hashes per proof or stays out of the worked lane,
//!   which gets its turn however long the plain lane is.
//! * **Batching without waiting.** A worker takes whatever waits, up to
//!   `max_batch`: idle, a submission is verified alone at once; under load the
//!   batches grow by themselves and each proof gets cheaper.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

use headcount_core::entry::Entry;
use headcount_core::{
    CampaignId, CredentialVerifier, CryptoVerified, EntryHash, LogState, Rejection,
};
use tokio::sync::oneshot;

/// Tuning of the verification stage.
#[derive(Clone, Debug)]
pub struct VerificationOptions {
    /// Credentialed submissions waiting for verification; beyond this, 503.
    pub capacity: usize,
    /// Waiting submissions of one campaign; beyond this, 503 for that campaign.
    pub lane_capacity: usize,
    /// Most proofs a worker verifies as one batch.
    pub max_batch: usize,
    /// Worker threads (0: one per available core).
    pub workers: usize,
    /// Waiting submissions in all from which the stage counts as busy (work
    /// is then asked of new submissions, when the policy asks any).
    pub busy_at: usize,
    /// Waiting plain submissions of one campaign from which that campaign
    /// counts as busy.
    pub lane_busy_at: usize,
}

impl Default for VerificationOptions {
    fn default() -> Self {
        VerificationOptions {
            capacity: 4096,
            lane_capacity: 1024,
            max_batch: 256,
            workers: 0,
            // About a tenth of a second of verification on two cores.
            busy_at: 256,
            lane_busy_at: 64,
        }
    }
}

/// The stage's answer for one submission.
pub(crate) type Verdict = Result<(Entry, CryptoVerified), Rejection>;

/// Why the stage did not queue a submission.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue is full (for this campaign or in all): 503.
    Full,
    /// The stage is busy and the submission carries no work (it was asked).
    Busy,
}

/// A lane: a campaign's plain submissions, or those that carry work.
type Lane = (CampaignId, bool);

struct Job {
    entry: Entry,
    hash: EntryHash,
    tx: oneshot::Sender<Verdict>,
}

#[derive(Default)]
struct Queues {
    lanes: HashMap<Lane, VecDeque<Job>>,
    /// Lanes with jobs, in round-robin order.
    turn: VecDeque<Lane>,
    len: usize,
    shutdown: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
    state: Arc<RwLock<LogState>>,
    credentials: Arc<dyn CredentialVerifier + Send + Sync>,
    options: VerificationOptions,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running stage; dropping it stops the workers once the queue is empty.
pub(crate) struct Verification {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Verification {
    pub(crate) fn start(
        state: Arc<RwLock<LogState>>,
        credentials: Arc<dyn CredentialVerifier + Send + Sync>,
        options: VerificationOptions,
    ) -> Self {
        let n = match options.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        // An empty batch sets the verifier up (generators, tables) now rather
        // than on the first submission.
        credentials.verify_batch(&[]);
        Self::with_threads(state, credentials, options, n)
    }

    fn with_threads(
        state: Arc<RwLock<LogState>>,
        credentials: Arc<dyn CredentialVerifier + Send + Sync>,
        options: VerificationOptions,
        n: usize,
    ) -> Self {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            state,
            credentials,
            options,
        });
        let workers = (0..n)
            .filter_map(|i| {
                let s = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("verify-{i}"))
                    .spawn(move || worker(&s))
                    .ok()
            })
            .collect();
        Verification { shared, workers }
    }

    /// Queues a credentialed entry, or refuses at once. `worked`: it carries
    /// the work asked under load; `ask_work`: the policy asks such work (else
    /// the stage only sheds at its hard limits).
    pub(crate) fn submit(
        &self,
        entry: Entry,
        hash: EntryHash,
        worked: bool,
        ask_work: bool,
    ) -> Result<oneshot::Receiver<Verdict>, Refused> {
        let campaign = entry.campaign().ok_or(Refused::Full)?;
        let lane = (campaign, worked && ask_work);
        let (tx, rx) = oneshot::channel();
        let o = &self.shared.options;
        let mut q = lock(&self.shared.queues);
        let lane_len = q.lanes.get(&lane).map_or(0, VecDeque::len);
        if q.shutdown || q.len >= o.capacity || lane_len >= o.lane_capacity {
            return Err(Refused::Full);
        }
        if ask_work && !lane.1 && (q.len >= o.busy_at || lane_len >= o.lane_busy_at) {
            return Err(Refused::Busy);
        }
        if lane_len == 0 {
            q.turn.push_back(lane);
        }
        q.lanes
            .entry(lane)
            .or_default()
            .push_back(Job { entry, hash, tx });
        q.len += 1;
        drop(q);
        self.shared.ready.notify_one();
        Ok(rx)
    }

    /// Submissions waiting.
    pub(crate) fn len(&self) -> usize {
        lock(&self.shared.queues).len
    }
}

impl Drop for Verification {
    fn drop(&mut self) {
        lock(&self.shared.queues).shutdown = true;
        self.shared.ready.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Up to `max` jobs, one lane at a time in turn.
fn take(q: &mut Queues, max: usize) -> Vec<Job> {
    let mut out = Vec::new();
    while out.len() < max {
        let Some(c) = q.turn.pop_front() else { break };
        let Some(lane) = q.lanes.get_mut(&c) else {
            continue;
        };
        if let Some(j) = lane.pop_front() {
            out.push(j);
            q.len -= 1;
        }
        if lane.is_empty() {
            q.lanes.remove(&c);
        } else {
            q.turn.push_back(c);
        }
    }
    out
}

fn worker(s: &Shared) {
    loop {
        let jobs = {
            let mut q = lock(&s.queues);
            while q.len == 0 && !q.shutdown {
                q = s.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            if q.len == 0 {
                return;
            }
            take(&mut q, s.options.max_batch.max(1))
        };
        // Keys only (cheap to copy): the sequencer is not held up while we verify.
        let view = s
            .state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .crypto_view(std::iter::empty());
        let results = {
            let items: Vec<(&Entry, EntryHash)> = jobs.iter().map(|j| (&j.entry, j.hash)).collect();
            view.verify_crypto_batch(&items, s.credentials.as_ref())
        };
        for (job, r) in jobs.into_iter().zip(results) {
            let _ = job.tx.send(r.map(|token| (job.entry, token)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use headcount_core::credentials::BbsCredentials;
    use headcount_core::entry::Declaration;
    use headcount_core::{Pseudonym, RegistrarId};

    fn declaration(campaign: u8, n: u8) -> (Entry, EntryHash) {
        let e = Entry::Declaration(Declaration {
            campaign: CampaignId([campaign; 32]),
            pseudonym: Pseudonym([n; 48]),
            registrar: RegistrarId([9; 32]),
            period: headcount_core::Period(1),
            predecessor: headcount_core::EntryHash::NONE,
            alias: format!("a{n}"),
            message: String::new(),
            proof: vec![0; 336],
        });
        let h = e.hash();
        (e, h)
    }

    fn stage(threads: usize) -> Verification {
        let options = VerificationOptions {
            capacity: 6,
            lane_capacity: 4,
            max_batch: 3,
            workers: threads,
            busy_at: 5,
            lane_busy_at: 2,
        };
        let state = Arc::new(RwLock::new(LogState::new()));
        Verification::with_threads(state, Arc::new(BbsCredentials), options, threads)
    }

    #[test]
    fn sheds_per_campaign_and_in_all_and_serves_campaigns_in_turn() {
        let v = stage(0);
        let mut receivers = Vec::new();
        for n in 0..4 {
            let (e, h) = declaration(1, n);
            receivers.push(v.submit(e, h, false, false).expect("campaign 1 has room"));
        }
        let (e, h) = declaration(1, 4);
        assert!(
            v.submit(e, h, false, false).is_err(),
            "campaign 1 holds its share"
        );
        for n in 0..2 {
            let (e, h) = declaration(2, n);
            receivers.push(
                v.submit(e, h, false, false)
                    .expect("campaign 2 still gets in"),
            );
        }
        let (e, h) = declaration(3, 0);
        assert!(v.submit(e, h, false, false).is_err(), "the queue is full");
        assert_eq!(v.len(), 6);
        let mut q = lock(&v.shared.queues);
        let order: Vec<u8> = take(&mut q, 6)
            .iter()
            .map(|j| j.entry.campaign().expect("campaign").0[0])
            .collect();
        assert_eq!(order, [1, 2, 1, 2, 1, 1], "campaigns in turn");
        assert_eq!(q.len, 0);
    }

    #[test]
    fn when_busy_plain_submissions_are_refused_and_worked_ones_get_their_own_turn() {
        let v = stage(0);
        let mut receivers = Vec::new();
        let mut submit = |c: u8, n: u8, worked: bool| {
            let (e, h) = declaration(c, n);
            v.submit(e, h, worked, true).map(|rx| receivers.push(rx))
        };
        assert_eq!(submit(1, 0, false), Ok(()));
        assert_eq!(submit(1, 1, false), Ok(()));
        assert_eq!(
            submit(1, 2, false),
            Err(Refused::Busy),
            "campaign 1's lane is busy"
        );
        assert_eq!(
            submit(1, 2, true),
            Ok(()),
            "work gets in beside the busy lane"
        );
        assert_eq!(submit(2, 0, false), Ok(()), "campaign 2 is not busy");
        assert_eq!(submit(2, 1, false), Ok(()));
        assert_eq!(
            submit(3, 0, false),
            Err(Refused::Busy),
            "5 waiting: busy in all"
        );
        assert_eq!(submit(3, 0, true), Ok(()));
        assert_eq!(
            submit(3, 1, true),
            Err(Refused::Full),
            "work does not pass the hard limit"
        );
        assert_eq!(v.len(), 6);
        let mut q = lock(&v.shared.queues);
        let order: Vec<(u8, u8)> = take(&mut q, 6)
            .iter()
            .map(|j| {
                let Entry::Declaration(d) = &j.entry else {
                    unreachable!("declarations only")
                };
                (d.campaign.0[0], d.pseudonym.0[0])
            })
            .collect();
        // Lanes in turn: campaign 1 plain, campaign 1 worked, campaign 2, campaign 3 worked.
        assert_eq!(order, [(1, 0), (1, 2), (2, 0), (3, 0), (1, 1), (2, 1)]);
    }

    #[test]
    fn without_asked_work_only_the_hard_limits_refuse() {
        let v = stage(0);
        for n in 0..4 {
            let (e, h) = declaration(1, n);
            assert!(v.submit(e, h, false, false).is_ok(), "no work is asked");
        }
        let (e, h) = declaration(1, 4);
        assert_eq!(v.submit(e, h, true, false).err(), Some(Refused::Full));
    }

    #[test]
    fn every_submission_gets_the_verdict_of_verify_crypto() {
        let v = stage(1);
        let receivers: Vec<_> = (0..5)
            .map(|n| {
                let (e, h) = declaration(1 + n % 2, n);
                v.submit(e, h, false, false).expect("room")
            })
            .collect();
        for rx in receivers {
            let verdict = rx.blocking_recv().expect("answered");
            // No registrar is known to this state: every entry is refused, by code.
            assert_eq!(verdict.err().map(|r| r.code()), Some("unknown_registrar"));
        }
    }
}
