//! # headcount-audit
//!
//! The headcount auditor as a library (DESIGN §8): anyone can run it against a
//! log server and get a verdict, *agrees* or *differs*, naming the first
//! offending thing.
//!
//! [`audit`] does, in order:
//!
//! 1. **Key.** Uses [`AuditOptions::log_key`], or fetches it from `/v1/log`
//!    (trust on first use: the report says so in
//!    [`AuditReport::trust_on_first_use`]; pin the key for real audits).
//! 2. **Checkpoint.** Fetches `/checkpoint` and verifies the log's signature.
//!    A bad signature is a [`Finding::BadCheckpointSignature`], not an error.
//! 3. **Tiles.** Fetches every hash tile and entry bundle of the tree
//!    ([`headcount_tlog::tiles_for_size`]), [`AuditOptions::parallelism`] at a
//!    time, with retries. Full tiles and bundles are immutable, so they are
//!    cached under [`AuditOptions::cache_dir`] (`<cache_dir>/<origin>/tile/...`,
//!    written atomically): a rerun, or a run after an interruption, fetches
//!    only what it lacks plus the partial tiles on the right edge.
//! 4. **Tree.** Checks that the tiles hash to the checkpoint root and each
//!    bundle matches its level-0 tile ([`headcount_tlog::verify_tiles`]);
//!    otherwise [`Finding::TreeMismatch`]. If cached tiles were used, the tree
//!    is refetched from the network once before blaming the log. With a cache,
//!    the last checkpoint that agreed is kept too, and the new tree must extend
//!    it ([`Finding::Inconsistent`]).
//! 5. **Published tallies.** Fetches `GET /v1/campaigns`, each campaign's
//!    history (`/v1/campaigns/{id}/tallies`) and its tally at the checkpoint
//!    size (`/v1/campaigns/{id}/tally?tree_size=N`).
//! 6. **Fold.** Every leaf in log order through the core validity function
//!    (`headcount_core::LogState::validate`), signatures and proofs checked in
//!    parallel (see the `fold` module docs for why that is sound); the first
//!    invalid leaf is a [`Finding::InvalidEntry`] with its index and stable
//!    code. The fold stops at every size where the server published a tally
//!    and compares ([`Finding::TallyDiffers`]).
//! 7. **Verdict.** At the checkpoint size every campaign's tally must equal the
//!    published one; a campaign the server omits ([`Finding::CampaignOmitted`])
//!    or invents ([`Finding::CampaignInvented`]) is a finding. Over-bound
//!    (campaign, registrar, issuance month) groups are listed in
//!    [`AuditReport::over_bound`] as evidence against the *registrar*: the log
//!    is right to accept them, so they do not change the verdict.
//!
//! Around these, and detailed in the README: against the last checkpoint
//! verified earlier, a [`Finding::Rollback`] or [`Finding::Fork`]; with
//! [`AuditOptions::policy`], the witness quorum ([`Finding::WitnessQuorum`],
//! cosigners in [`AuditReport::cosigners`]); with [`AuditOptions::compare`],
//! other vantage points ([`Finding::SplitView`]); and last, the operator's
//! signed tally note at the checkpoint size ([`Finding::TallyNoteDiffers`],
//! [`Finding::BadTallyNote`], [`Finding::TallyNoteMissing`] if required).
//! [`Monitor`] repeats the audit round after round, incrementally.
//!
//! An [`AuditError`] means the audit could not be completed (network, a
//! required resource missing, a cache that cannot be written); it says nothing
//! about the log's honesty.
//!
//! Memory: the whole tree is held in memory ([`FetchedTiles`]), a few hundred
//! bytes per entry, which is fine up to a few million entries.
//!
//! [`verify_receipt`] checks a server receipt offline.

#![forbid(unsafe_code)]

mod checks;
mod fetch;
mod fold;
mod monitor;
mod offline;
mod receipt;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use headcount_core::notes::CountsLine;
use headcount_core::{CampaignId, CampaignTally, CredentialVerifier, LogState, RegistrarId};
use headcount_tlog::{Checkpoint, LogVerifier, verify_tiles};
use serde::Deserialize;

pub use checks::{Cosigner, TallyNoteStatus};
pub use fetch::{FetchStats, FetchedTiles, MAX_BODY};
pub use headcount_cosignature::Policy;
pub use monitor::{Monitor, MonitorOptions, alarm_env};
pub use offline::fold_tiles;
pub use receipt::{ReceiptError, VerifiedReceipt, verify_receipt, verify_receipt_full};

use fetch::{Got, Http, fetch_tree, log_cache_dir};

/// How far a leaf's timestamp may run ahead of a witness's cosignature time
/// (clock skew between operator and witness), in seconds.
pub const TIMESTAMP_SLACK: u64 = 300;

/// Default number of concurrent HTTP fetches.
pub const DEFAULT_PARALLELISM: usize = 16;

/// What to audit, and how.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// Base URL of a log server, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The log's verifier key (signed-note form). `None`: fetch it from
    /// `/v1/log` and trust it on first use (the report says so).
    pub log_key: Option<String>,
    /// Where full tiles and bundles (immutable) are cached, making runs
    /// resumable; partial ones are never cached. One subdirectory per origin.
    pub cache_dir: Option<PathBuf>,
    /// Concurrent HTTP fetches.
    pub parallelism: usize,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// A C2SP tlog-policy: the checkpoint must carry the log's signature and
    /// cosignatures meeting the witness quorum ([`Finding::WitnessQuorum`]).
    /// If the policy lists logs, the log key must be one of them; with no
    /// `log_key` given, a policy listing exactly one log pins that key.
    pub policy: Option<Policy>,
    /// A checkpoint without a signed tally note at its size is a finding
    /// ([`Finding::TallyNoteMissing`]) rather than a remark in the report.
    pub require_tally_note: bool,
    /// Other vantage points on the same log: each checkpoint seen there must
    /// be consistent with ours ([`Finding::SplitView`]).
    pub compare: Vec<Vantage>,
}

/// Another view of the log to compare with (split-view detection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vantage {
    /// Another base URL serving the same log (a mirror, a CDN, the log
    /// through Tor): its `/checkpoint`, and its tiles when its tree is larger.
    Url(String),
    /// A checkpoint note obtained elsewhere (a receipt, a witness, a
    /// friend); `source` names it in reports.
    Note { source: String, note: Vec<u8> },
}

impl Vantage {
    /// How reports name this vantage point.
    pub fn source(&self) -> &str {
        match self {
            Vantage::Url(u) => u,
            Vantage::Note { source, .. } => source,
        }
    }
}

/// The outcome of comparing with one [`Vantage`] that found no split view.
#[derive(Clone, Debug, PartialEq)]
pub struct Compared {
    pub source: String,
    /// Its checkpoint (verified with the log key).
    pub checkpoint: Checkpoint,
    /// `None`: consistent with ours. `Some(reason)`: could not be decided
    /// (its tree is larger and its tiles could not be had).
    pub undetermined: Option<String>,
}

impl AuditOptions {
    /// Options for auditing `url`: trust on first use, no cache, default
    /// parallelism, no progress bar.
    pub fn new(url: impl Into<String>) -> Self {
        AuditOptions {
            url: url.into(),
            log_key: None,
            cache_dir: None,
            parallelism: DEFAULT_PARALLELISM,
            progress: false,
            policy: None,
            require_tally_note: false,
            compare: Vec::new(),
        }
    }
}

/// The first thing found wrong with a log. Codes ([`Finding::code`]) are stable.
// A finding is made once per audit: its size does not matter, and unboxed
// tallies are easier to match on.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Finding {
    /// The checkpoint is not validly signed by the log key (or is malformed,
    /// or names another origin).
    BadCheckpointSignature { reason: String },
    /// The tiles do not hash to the signed root, or a tile or bundle does not
    /// match the tree (`tile` is its path when known).
    TreeMismatch {
        tile: Option<String>,
        reason: String,
    },
    /// The log's size went back below a checkpoint verified earlier (by
    /// this cache or monitor): both are signed by the log key.
    Rollback {
        old: Checkpoint,
        new: Checkpoint,
        old_note: Vec<u8>,
        new_note: Vec<u8>,
    },
    /// The new checkpoint does not extend one verified earlier: the same
    /// size with another root, or a larger tree whose consistency proof
    /// (computed from its own tiles) does not verify. Both are signed by the
    /// log key: proof of a fork.
    Fork {
        old: Checkpoint,
        new: Checkpoint,
        reason: String,
        old_note: Vec<u8>,
        new_note: Vec<u8>,
    },
    /// Another vantage point sees a checkpoint, signed by the same log key,
    /// that is inconsistent with ours: the log shows different trees to
    /// different people.
    SplitView {
        source: String,
        ours: Checkpoint,
        theirs: Checkpoint,
        reason: String,
        our_note: Vec<u8>,
        their_note: Vec<u8>,
    },
    /// The checkpoint does not satisfy the witness policy (`cosigned`: the
    /// policy names of the witnesses whose cosignatures verify).
    WitnessQuorum {
        tree_size: u64,
        reason: String,
        cosigned: Vec<String>,
        note: Vec<u8>,
    },
    /// The log stamped a leaf later than a witness cosigned the checkpoint
    /// holding it (beyond [`TIMESTAMP_SLACK`]): the operator's clock ran
    /// ahead, e.g. to open a campaign early. The signed checkpoint, with the
    /// witness's timestamped cosignature, is the evidence.
    TimestampAhead {
        tree_size: u64,
        leaf_timestamp: u64,
        witness: String,
        cosigned_at: u64,
        note: Vec<u8>,
    },
    /// The first invalid leaf: the log accepted an entry the rules reject.
    InvalidEntry {
        index: u64,
        code: &'static str,
        message: String,
    },
    /// A published tally differs from ours at `tree_size` (`None`: no such
    /// campaign on that side at that size).
    TallyDiffers {
        campaign: CampaignId,
        tree_size: u64,
        ours: Option<CampaignTally>,
        theirs: Option<CampaignTally>,
    },
    /// A line of the operator's signed tally note differs from our
    /// recomputation (`None`: no such campaign on that side). `note` is the
    /// signed note: a count its log does not support, signed by the log key.
    TallyNoteDiffers {
        campaign: CampaignId,
        tree_size: u64,
        ours: Option<CountsLine>,
        theirs: Option<CountsLine>,
        note: Vec<u8>,
    },
    /// The tally note at the checkpoint size is not signed by the log key,
    /// malformed, or about another origin, size or root.
    BadTallyNote {
        tree_size: u64,
        reason: String,
        note: Vec<u8>,
    },
    /// No signed tally note at the checkpoint size, and one was required.
    TallyNoteMissing { tree_size: u64 },
    /// A campaign in the log that the server does not list.
    CampaignOmitted { campaign: CampaignId },
    /// A campaign the server lists at a leaf index within the checkpoint,
    /// which the log does not contain.
    CampaignInvented {
        campaign: CampaignId,
        leaf_index: u64,
    },
}

impl Finding {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Finding::BadCheckpointSignature { .. } => "bad_checkpoint_signature",
            Finding::TreeMismatch { .. } => "tree_mismatch",
            Finding::Rollback { .. } => "rollback",
            Finding::Fork { .. } => "fork",
            Finding::SplitView { .. } => "split_view",
            Finding::WitnessQuorum { .. } => "witness_quorum",
            Finding::TallyNoteDiffers { .. } => "tally_note_differs",
            Finding::BadTallyNote { .. } => "bad_tally_note",
            Finding::TallyNoteMissing { .. } => "tally_note_missing",
            Finding::TimestampAhead { .. } => "timestamp_ahead",
            Finding::InvalidEntry { .. } => "invalid_entry",
            Finding::TallyDiffers { .. } => "tally_differs",
            Finding::CampaignOmitted { .. } => "campaign_omitted",
            Finding::CampaignInvented { .. } => "campaign_invented",
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::TimestampAhead {
                tree_size,
                leaf_timestamp,
                witness,
                cosigned_at,
                ..
            } => write!(
                f,
                "the checkpoint of size {tree_size} holds a leaf stamped {leaf_timestamp} (Unix seconds), later than \
                 witness {witness} cosigned it at {cosigned_at}: the log's clock runs ahead"
            ),
            Finding::BadCheckpointSignature { reason } => {
                write!(
                    f,
                    "the checkpoint is not validly signed by the log key: {reason}"
                )
            }
            Finding::TreeMismatch { tile, reason } => match tile {
                Some(t) => write!(f, "tile {t} does not match the signed tree: {reason}"),
                None => write!(f, "the tiles do not match the signed tree: {reason}"),
            },
            Finding::Rollback { old, new, .. } => write!(
                f,
                "rollback: the log's checkpoint of size {} (root {}) is smaller than the checkpoint \
                 of size {} (root {}) verified earlier",
                new.size.0,
                b64(new.root),
                old.size.0,
                b64(old.root)
            ),
            Finding::Fork {
                old, new, reason, ..
            } => write!(
                f,
                "fork: the checkpoint of size {} (root {}) does not extend the checkpoint of size {} \
                 (root {}) verified earlier: {reason}",
                new.size.0,
                b64(new.root),
                old.size.0,
                b64(old.root)
            ),
            Finding::SplitView {
                source,
                ours,
                theirs,
                reason,
                ..
            } => write!(
                f,
                "split view: {source} sees a checkpoint of size {} (root {}) inconsistent with ours \
                 of size {} (root {}): {reason}",
                theirs.size.0,
                b64(theirs.root),
                ours.size.0,
                b64(ours.root)
            ),
            Finding::WitnessQuorum {
                tree_size,
                reason,
                cosigned,
                ..
            } => write!(
                f,
                "the checkpoint of size {tree_size} does not satisfy the witness policy ({reason}); \
                 valid cosignatures from: {}",
                if cosigned.is_empty() {
                    "none".to_owned()
                } else {
                    cosigned.join(", ")
                }
            ),
            Finding::TallyNoteDiffers {
                campaign,
                tree_size,
                ours,
                theirs,
                ..
            } => {
                let show = |l: &Option<CountsLine>| match l {
                    Some(l) => format!(
                        "credible {} (credentialed {}, vouched {}), unverified {}, over bound {}, withdrawals {}",
                        l.credible,
                        l.credentialed,
                        l.vouched,
                        l.unverified,
                        l.over_bound,
                        l.withdrawals
                    ),
                    None => "no such campaign".into(),
                };
                write!(
                    f,
                    "the log's signed tally note at tree size {tree_size} is not supported by the log \
                     for campaign {campaign}: signed {}, recomputed {}",
                    show(theirs),
                    show(ours)
                )
            }
            Finding::BadTallyNote {
                tree_size, reason, ..
            } => write!(
                f,
                "the tally note at tree size {tree_size} is bad: {reason}"
            ),
            Finding::TallyNoteMissing { tree_size } => write!(
                f,
                "the server publishes no signed tally note at tree size {tree_size}"
            ),
            Finding::InvalidEntry {
                index,
                code,
                message,
            } => write!(f, "leaf {index} is invalid ({code}): {message}"),
            Finding::TallyDiffers {
                campaign,
                tree_size,
                ours,
                theirs,
            } => {
                let show = |t: &Option<CampaignTally>| match t {
                    Some(t) => format!(
                        "credible {} (credentialed {}, vouched {}), unverified {}",
                        t.credible, t.credentialed, t.vouched, t.unverified
                    ),
                    None => "no such campaign".into(),
                };
                write!(
                    f,
                    "the published tally of campaign {campaign} at tree size {tree_size} differs: \
                     ours {}, theirs {}",
                    show(ours),
                    show(theirs)
                )
            }
            Finding::CampaignOmitted { campaign } => {
                write!(
                    f,
                    "campaign {campaign} is in the log but the server does not list it"
                )
            }
            Finding::CampaignInvented {
                campaign,
                leaf_index,
            } => write!(
                f,
                "the server lists campaign {campaign} at leaf {leaf_index}, which the log does not contain"
            ),
        }
    }
}

fn b64(h: headcount_tlog::Hash) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(h.0)
}

impl Finding {
    /// The offending checkpoint's tree size, when the finding is about one.
    pub fn tree_size(&self) -> Option<u64> {
        match self {
            Finding::Rollback { new, .. } | Finding::Fork { new, .. } => Some(new.size.0),
            Finding::SplitView { theirs, .. } => Some(theirs.size.0),
            Finding::WitnessQuorum { tree_size, .. }
            | Finding::TimestampAhead { tree_size, .. }
            | Finding::TallyDiffers { tree_size, .. }
            | Finding::TallyNoteDiffers { tree_size, .. }
            | Finding::BadTallyNote { tree_size, .. }
            | Finding::TallyNoteMissing { tree_size } => Some(*tree_size),
            _ => None,
        }
    }

    /// Signed notes that prove the finding to a third party (checkpoints,
    /// tally notes), with a label each.
    pub fn evidence(&self) -> Vec<(&'static str, &[u8])> {
        match self {
            Finding::Rollback {
                old_note, new_note, ..
            }
            | Finding::Fork {
                old_note, new_note, ..
            } => vec![
                ("earlier checkpoint", old_note),
                ("new checkpoint", new_note),
            ],
            Finding::SplitView {
                our_note,
                their_note,
                ..
            } => vec![
                ("our checkpoint", our_note),
                ("their checkpoint", their_note),
            ],
            Finding::WitnessQuorum { note, .. } | Finding::TimestampAhead { note, .. } => {
                vec![("checkpoint", note)]
            }
            Finding::TallyNoteDiffers { note, .. } | Finding::BadTallyNote { note, .. } => {
                vec![("tally note", note)]
            }
            _ => vec![],
        }
    }
}

/// The verdict.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Everything checked agrees with what the server published.
    Agrees,
    /// The first thing found wrong.
    Differs(Finding),
}

impl Verdict {
    /// Whether the verdict is [`Verdict::Agrees`].
    pub fn agrees(&self) -> bool {
        matches!(self, Verdict::Agrees)
    }
}

/// A (campaign, registrar, issuance month) group with more credentialed declarations
/// than the registrar logged for the month: evidence that the registrar
/// issued credentials off the log (DESIGN §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverBound {
    pub campaign: CampaignId,
    pub registrar: RegistrarId,
    pub period: headcount_core::Period,
    /// Current credentialed declarations disclosing the month.
    pub declarations: u64,
    /// The number of credentials the registrar logged for the month.
    pub size: u32,
}

/// The outcome of an audit that ran to completion.
#[derive(Clone, Debug)]
pub struct AuditReport {
    /// The server audited.
    pub url: String,
    /// The log key used.
    pub log_key: String,
    /// The key was fetched from the server, not given.
    pub trust_on_first_use: bool,
    /// The verified checkpoint (`None` if its signature did not verify).
    pub checkpoint: Option<Checkpoint>,
    /// The checkpoint note as fetched.
    pub note: Vec<u8>,
    /// The last checkpoint that agreed (from the cache, or the monitor's
    /// last round), which this tree was checked to extend.
    pub previous: Option<Checkpoint>,
    /// With a policy: the policy's witnesses whose cosignatures on the
    /// checkpoint verify, with their timestamps.
    pub cosigners: Vec<Cosigner>,
    /// The signed tally note at the checkpoint size.
    pub tally_note: TallyNoteStatus,
    /// Vantage points compared without finding a split view.
    pub compared: Vec<Compared>,
    /// Leaves verified (all of them when the verdict agrees).
    pub entries: u64,
    /// Our tally of every campaign after the last verified leaf, by campaign id.
    pub tallies: Vec<CampaignTally>,
    /// Published tallies compared with ours.
    pub published_compared: u64,
    pub verdict: Verdict,
    /// Registrar misbehaviour: over-bound groups (does not affect the verdict).
    pub over_bound: Vec<OverBound>,
    pub fetch: FetchStats,
    pub elapsed: Duration,
}

/// The audit could not be completed. Says nothing about the log's honesty.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error("HTTP request to {url} failed: {message}")]
    Http { url: String, message: String },
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("unexpected response from {url}: {message}")]
    BadResponse { url: String, message: String },
    #[error("bad log key: {0}")]
    BadLogKey(String),
    #[error("cache {path}: {message}")]
    Cache { path: PathBuf, message: String },
}

#[derive(Deserialize)]
struct LogInfo {
    vkey: String,
}

#[derive(Deserialize)]
struct Listed {
    id: CampaignId,
    leaf_index: u64,
}

/// The campaigns the server lists within a tree of `size`, with their leaf index; `None`
/// when the source has no JSON API (a C2SP tlog-mirror or another static copy of the tiles:
/// the first page is 404), so that there is nothing published to compare.
async fn list_campaigns(
    http: &Http,
    size: u64,
) -> Result<Option<BTreeMap<CampaignId, u64>>, AuditError> {
    // Page by page (the server lists at most 1000 at a time), in log order.
    const PAGE: usize = 1000;
    let mut out = BTreeMap::new();
    let mut after: Option<u64> = None;
    loop {
        let path = match after {
            None => format!("/v1/campaigns?limit={PAGE}"),
            Some(a) => format!("/v1/campaigns?limit={PAGE}&after={a}"),
        };
        let listed: Vec<Listed> = match http.get_json(&path).await? {
            Got::Found(l) => l,
            Got::NotFound if after.is_none() => return Ok(None),
            Got::NotFound => vec![],
        };
        let n = listed.len();
        let last = listed.last().map(|l| l.leaf_index);
        for l in listed {
            if l.leaf_index < size {
                out.insert(l.id, l.leaf_index);
            }
        }
        match last {
            // A page that is not full, or one that does not move forward, ends the list.
            Some(l) if n >= PAGE && after.is_none_or(|a| l > a) && l < size => after = Some(l),
            _ => break,
        }
    }
    Ok(Some(out))
}

/// Runs CPU-bound work without stalling a multi-threaded runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// What an audit starts from: the last checkpoint verified earlier and, in
/// monitor mode, that tree and its folded state.
#[derive(Default)]
pub(crate) struct Prior {
    /// The last verified checkpoint and its note.
    pub checkpoint: Option<(Checkpoint, Vec<u8>)>,
    /// Its tree, verified (reused tile by tile).
    pub tiles: Option<FetchedTiles>,
    /// The state folded up to its size (the fold resumes there).
    pub state: Option<LogState>,
    /// The published tallies verified up to its size: a later history that
    /// rewrites one of them is a [`Finding::TallyDiffers`].
    pub published: Option<Published>,
}

/// Published tallies by (campaign, tree size).
pub(crate) type Published = BTreeMap<(CampaignId, u64), CampaignTally>;

/// What [`run`] hands back besides the report.
pub(crate) struct Outcome {
    pub report: AuditReport,
    pub tiles: FetchedTiles,
    /// The folded state at the checkpoint size (only when the verdict agrees).
    pub state: Option<LogState>,
    /// The checkpoint note as verified.
    pub note: Vec<u8>,
    /// The published tallies up to the checkpoint size (verified when the
    /// verdict agrees).
    pub published: Published,
}

/// Audits the log at `opts.url`. `credentials` verifies credentialed entries
/// (pass the log's own kind: `headcount_core::NoCredentials` for a log that
/// has none enabled).
pub async fn audit(
    opts: &AuditOptions,
    credentials: &(dyn CredentialVerifier + Send + Sync),
) -> Result<AuditReport, AuditError> {
    audit_with_tiles(opts, credentials).await.map(|(r, _)| r)
}

/// [`audit`], also returning the fetched tree (e.g. to make proofs from it
/// with [`headcount_tlog::inclusion_proof`]). The tiles are empty when the
/// checkpoint did not verify.
pub async fn audit_with_tiles(
    opts: &AuditOptions,
    credentials: &(dyn CredentialVerifier + Send + Sync),
) -> Result<(AuditReport, FetchedTiles), AuditError> {
    let o = run(opts, credentials, Prior::default(), true).await?;
    Ok((o.report, o.tiles))
}

/// The log key to use: given, from a one-log policy, or trusted on first use.
async fn resolve_key(opts: &AuditOptions, http: &Http) -> Result<(String, bool), AuditError> {
    if let Some(k) = &opts.log_key {
        return Ok((k.trim().to_owned(), false));
    }
    if let Some(p) = &opts.policy {
        let logs: Vec<_> = p.logs().collect();
        if let [one] = logs.as_slice() {
            return Ok((one.vkey(), false));
        }
    }
    match http.get_json::<LogInfo>("/v1/log").await? {
        Got::Found(info) => Ok((info.vkey, true)),
        Got::NotFound => Err(AuditError::Status {
            url: http.url("/v1/log"),
            status: 404,
            body: "no log key given and the server publishes none".into(),
        }),
    }
}

/// The audit itself. `cache_prior`: take the prior checkpoint from the cache
/// (plain audits) when `prior` has none, and remember the agreed one there.
pub(crate) async fn run(
    opts: &AuditOptions,
    credentials: &(dyn CredentialVerifier + Send + Sync),
    prior: Prior,
    cache_prior: bool,
) -> Result<Outcome, AuditError> {
    let started = Instant::now();
    let http = Http::new(&opts.url)?;
    let (log_key, tofu) = resolve_key(opts, &http).await?;
    let verifier =
        LogVerifier::from_vkey(&log_key).map_err(|e| AuditError::BadLogKey(e.to_string()))?;
    if let Some(p) = &opts.policy
        && !checks::policy_accepts_log(p, &log_key)
    {
        return Err(AuditError::BadLogKey(
            "the policy lists logs, and this log key is not one of them".into(),
        ));
    }
    let note = http.get_required("/checkpoint").await?;
    let mut report = AuditReport {
        url: opts.url.clone(),
        log_key: log_key.clone(),
        trust_on_first_use: tofu,
        checkpoint: None,
        note: note.clone(),
        previous: None,
        cosigners: vec![],
        tally_note: TallyNoteStatus::NotChecked,
        compared: vec![],
        entries: 0,
        tallies: vec![],
        published_compared: 0,
        verdict: Verdict::Agrees,
        over_bound: vec![],
        fetch: FetchStats::default(),
        elapsed: Duration::ZERO,
    };
    let published_now = std::sync::Mutex::new(Published::new());
    let finish = |mut report: AuditReport,
                  verdict: Verdict,
                  tiles: FetchedTiles,
                  state: Option<LogState>|
     -> Result<Outcome, AuditError> {
        report.verdict = verdict;
        report.elapsed = started.elapsed();
        let published = if state.is_some() {
            std::mem::take(&mut *published_now.lock().unwrap_or_else(|e| e.into_inner()))
        } else {
            Published::new()
        };
        Ok(Outcome {
            report,
            tiles,
            state,
            note: note.clone(),
            published,
        })
    };
    let differs = |f: Finding| Verdict::Differs(f);
    let cp = match verifier.verify(&note) {
        Ok(cp) => cp,
        Err(e) => {
            let f = Finding::BadCheckpointSignature {
                reason: e.to_string(),
            };
            return finish(report, differs(f), FetchedTiles::default(), None);
        }
    };
    report.checkpoint = Some(cp.clone());
    let size = cp.size.0;
    let cache = opts
        .cache_dir
        .as_deref()
        .map(|d| log_cache_dir(d, verifier.origin()));

    // The last checkpoint verified earlier.
    let Prior {
        checkpoint: prior_cp,
        tiles: prior_tiles,
        state: prior_state,
        published: prior_published,
    } = prior;
    let previous = match (prior_cp, &cache) {
        (Some(p), _) => Some(p),
        (None, Some(c)) if cache_prior => match tokio::fs::read(c.join("checkpoint")).await {
            Ok(n) => verifier.verify(&n).ok().map(|cp| (cp, n)),
            Err(_) => None,
        },
        _ => None,
    };
    report.previous = previous.as_ref().map(|(c, _)| c.clone());
    if let Some((prev, prev_note)) = &previous
        && let Some(f) = checks::compare_heads(prev, prev_note, &cp, &note)
    {
        return finish(report, differs(f), FetchedTiles::default(), None);
    }

    if let Some(policy) = &opts.policy {
        report.cosigners = checks::cosigners(policy, &note);
    }

    // Tiles: reuse the prior tree only with its folded state (monitor mode).
    let (prior_tiles, prior_state) = match (prior_tiles, prior_state, &previous) {
        (Some(t), Some(s), Some((p, _))) if t.size() == p.size && s.size == p.size.0 => {
            (Some(t), Some(s))
        }
        _ => (None, None),
    };
    let reusing = prior_tiles.is_some();
    let (mut tiles, mut stats) = fetch_tree(
        &http,
        cp.size,
        cache.as_deref(),
        true,
        prior_tiles,
        opts.parallelism,
        opts.progress,
    )
    .await?;
    let mut checked = blocking(|| verify_tiles(&tiles, cp.size, cp.root));
    let mut prior_state = prior_state;
    if checked.is_err() && (stats.from_cache > 0 || reusing) {
        // Do not blame the log for a damaged cache: refetch everything.
        prior_state = None;
        let (t, s) = fetch_tree(
            &http,
            cp.size,
            cache.as_deref(),
            false,
            None,
            opts.parallelism,
            opts.progress,
        )
        .await?;
        stats.fetched_full += s.fetched_full;
        stats.fetched_partial += s.fetched_partial;
        stats.bytes_fetched += s.bytes_fetched;
        tiles = t;
        checked = blocking(|| verify_tiles(&tiles, cp.size, cp.root));
    }
    report.fetch = stats;
    if let Err(e) = checked {
        let tile = match &e {
            headcount_tlog::Error::BadTile { id, .. } => Some(id.path()),
            headcount_tlog::Error::TileNotFound(id) => Some(id.path()),
            _ => None,
        };
        let f = Finding::TreeMismatch {
            tile,
            reason: e.to_string(),
        };
        return finish(report, differs(f), tiles, None);
    }
    if let Some((prev, prev_note)) = &previous
        && let Err(reason) = blocking(|| checks::extends(&tiles, prev, &cp))
    {
        let f = Finding::Fork {
            old: prev.clone(),
            new: cp.clone(),
            reason,
            old_note: prev_note.clone(),
            new_note: note.clone(),
        };
        return finish(report, differs(f), tiles, None);
    }

    // Other vantage points.
    for v in &opts.compare {
        match compare_vantage(opts, &http, &verifier, &cp, &note, &tiles, v).await? {
            Ok(c) => report.compared.push(c),
            Err(f) => return finish(report, differs(f), tiles, None),
        }
    }

    // The witness policy (after the fork and split-view checks: a branch
    // the witnesses refused fails the quorum too, but a fork says more).
    if let Some(policy) = &opts.policy
        && let Some(f) = checks::check_policy(policy, &note, &log_key, size, &report.cosigners)?
    {
        return finish(report, differs(f), tiles, None);
    }

    // Published tallies. A source without the JSON API (a mirror) publishes none: the log is
    // still verified and every tally recomputed, with nothing to compare them to.
    let api = list_campaigns(&http, size).await?;
    let static_source = api.is_none();
    let mut listed = api.unwrap_or_default();
    let histories: Vec<Vec<CampaignTally>> = futures::stream::iter(listed.keys().copied())
        .map(|id| {
            let http = &http;
            async move {
                match http
                    .get_json::<Vec<CampaignTally>>(&format!("/v1/campaigns/{id}/tallies"))
                    .await?
                {
                    Got::Found(h) => Ok::<_, AuditError>(h),
                    Got::NotFound => Ok(vec![]),
                }
            }
        })
        .buffer_unordered(opts.parallelism.max(1))
        .collect::<Vec<Result<_, AuditError>>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut stops: fold::Stops = BTreeMap::new();
    let resume = prior_state.as_ref().map_or(0, |s| s.size);
    let prior_published = prior_published.unwrap_or_default();
    let mut published = Published::new();
    for t in histories.into_iter().flatten() {
        // Tallies published after our checkpoint cannot be checked yet.
        if t.tree_size > size {
            continue;
        }
        // The fold resumes after `resume`: what was published up to there
        // was verified in an earlier round and must not have changed since.
        if t.tree_size <= resume
            && let Some(seen) = prior_published.get(&(t.campaign, t.tree_size))
            && seen != &t
        {
            let f = Finding::TallyDiffers {
                campaign: t.campaign,
                tree_size: t.tree_size,
                ours: Some(seen.clone()),
                theirs: Some(t),
            };
            return finish(report, differs(f), tiles, None);
        }
        published.insert((t.campaign, t.tree_size), t.clone());
        stops.entry(t.tree_size).or_default().push(t);
    }
    *published_now.lock().unwrap_or_else(|e| e.into_inner()) = published;

    // The fold, from the prior state when there is one.
    let start = prior_state.unwrap_or_default();
    let outcome = blocking(|| fold::fold(start, &tiles, size, &stops, credentials, opts.progress));
    report.entries = outcome.state.size;
    report.tallies = outcome.state.tallies();
    report.published_compared = outcome.compared;
    report.over_bound = report
        .tallies
        .iter()
        .flat_map(|t| {
            t.over_bound().map(|(r, b)| OverBound {
                campaign: t.campaign,
                registrar: *r,
                period: b.period,
                declarations: b.declarations,
                size: b.size,
            })
        })
        .collect();
    if let Some(f) = outcome.finding {
        return finish(report, differs(f), tiles, None);
    }

    // Leaf timestamps against the witnesses' clocks: every leaf is in the
    // checkpoint each cosigner signed, so none may be stamped after it.
    let last = outcome.state.last_timestamp.0;
    if let Some(c) = report
        .cosigners
        .iter()
        .filter(|c| last > c.timestamp.saturating_add(TIMESTAMP_SLACK))
        .min_by_key(|c| c.timestamp)
    {
        let f = Finding::TimestampAhead {
            tree_size: size,
            leaf_timestamp: last,
            witness: c.name.clone(),
            cosigned_at: c.timestamp,
            note: note.clone(),
        };
        return finish(report, differs(f), tiles, None);
    }

    // At the checkpoint size.
    let ours = fold::tallies_by_id(&outcome.state);
    let all: BTreeSet<CampaignId> = ours.keys().chain(listed.keys()).copied().collect();
    for id in all.into_iter().filter(|_| !static_source) {
        let Some(our) = ours.get(&id) else {
            let f = Finding::CampaignInvented {
                campaign: id,
                leaf_index: listed.get(&id).copied().unwrap_or_default(),
            };
            return finish(report, differs(f), tiles, None);
        };
        if !listed.contains_key(&id) {
            // The server signs a checkpoint a moment before its derived state
            // (campaign list, tallies) catches up: ask once more.
            tokio::time::sleep(Duration::from_millis(1000)).await;
            listed = list_campaigns(&http, size).await?.unwrap_or_default();
            if !listed.contains_key(&id) {
                let f = Finding::CampaignOmitted { campaign: id };
                return finish(report, differs(f), tiles, None);
            }
        }
        let path = format!("/v1/campaigns/{id}/tally?tree_size={size}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let theirs = match http.get_json::<CampaignTally>(&path).await? {
                Got::Found(t) => Some(t),
                Got::NotFound => None,
            };
            report.published_compared += 1;
            if theirs.as_ref() == Some(our) {
                break;
            }
            if attempt < 2 {
                // The server signs a checkpoint a moment before it stores the
                // tallies at that size: ask once more before concluding.
                tokio::time::sleep(Duration::from_millis(1000)).await;
                continue;
            }
            let f = Finding::TallyDiffers {
                campaign: id,
                tree_size: size,
                ours: Some(our.clone()),
                theirs,
            };
            return finish(report, differs(f), tiles, None);
        }
    }

    // The operator's signed tally note at the checkpoint size.
    let (status, finding) =
        checks::check_tally_notes(&http, &verifier, &cp, &ours, &outcome.last_entry, &tiles)
            .await?;
    report.tally_note = status;
    if let Some(f) = finding {
        return finish(report, differs(f), tiles, None);
    }
    if opts.require_tally_note && report.tally_note == TallyNoteStatus::Missing {
        let f = Finding::TallyNoteMissing { tree_size: size };
        return finish(report, differs(f), tiles, None);
    }

    // Remember the checkpoint we agreed with, for the next run's consistency check.
    if cache_prior && let Some(c) = &cache {
        fetch::write_cache(&c.join("checkpoint"), &note).await?;
    }
    finish(report, Verdict::Agrees, tiles, Some(outcome.state))
}

/// Compares our verified checkpoint with another vantage point's. `Ok(Err)`
/// is a split view.
async fn compare_vantage(
    opts: &AuditOptions,
    http: &Http,
    verifier: &LogVerifier,
    ours: &Checkpoint,
    our_note: &[u8],
    tiles: &FetchedTiles,
    v: &Vantage,
) -> Result<Result<Compared, Finding>, AuditError> {
    let (their_note, their_http) = match v {
        Vantage::Url(u) => {
            let h = Http::new(u)?;
            (h.get_required("/checkpoint").await?, h)
        }
        Vantage::Note { note, .. } => (note.clone(), http.clone()),
    };
    let theirs = verifier
        .verify(&their_note)
        .map_err(|e| AuditError::BadResponse {
            url: v.source().to_owned(),
            message: format!("its checkpoint is not signed by the log key: {e}"),
        })?;
    let split = |reason: String| {
        Ok(Err(Finding::SplitView {
            source: v.source().to_owned(),
            ours: ours.clone(),
            theirs: theirs.clone(),
            reason,
            our_note: our_note.to_vec(),
            their_note: their_note.clone(),
        }))
    };
    let consistent = |undetermined: Option<String>| {
        Ok(Ok(Compared {
            source: v.source().to_owned(),
            checkpoint: theirs.clone(),
            undetermined,
        }))
    };
    if theirs.size <= ours.size {
        // Our verified tiles prove (or refute) that ours extends theirs.
        return match blocking(|| checks::extends(tiles, &theirs, ours)) {
            Ok(()) => consistent(None),
            Err(reason) => split(reason),
        };
    }
    // Theirs is larger: fetch its tree (no cache: under a split view its
    // tiles are not ours) and check that it extends ours.
    let fetched = fetch_tree(
        &their_http,
        theirs.size,
        None,
        false,
        None,
        opts.parallelism,
        false,
    )
    .await;
    let their_tiles = match fetched {
        Ok((t, _)) => t,
        Err(e) => return consistent(Some(format!("its tree could not be fetched: {e}"))),
    };
    if let Err(e) = blocking(|| verify_tiles(&their_tiles, theirs.size, theirs.root)) {
        return consistent(Some(format!(
            "the tiles served for its tree do not match its root: {e}"
        )));
    }
    match blocking(|| checks::extends(&their_tiles, ours, &theirs)) {
        Ok(()) => consistent(None),
        Err(reason) => split(reason),
    }
}
