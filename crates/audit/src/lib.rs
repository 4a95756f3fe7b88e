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
//!    (campaign, registrar, batch) groups are listed in
//!    [`AuditReport::over_bound`] as evidence against the *registrar*: the log
//!    is right to accept them, so they do not change the verdict.
//!
//! An [`AuditError`] means the audit could not be completed (network, a
//! required resource missing, a cache that cannot be written); it says nothing
//! about the log's honesty. Witness cosignatures are not checked yet.
//!
//! Memory: the whole tree is held in memory ([`FetchedTiles`]), a few hundred
//! bytes per entry, which is fine up to a few million entries.
//!
//! [`verify_receipt`] checks a server receipt offline.

#![forbid(unsafe_code)]

mod fetch;
mod fold;
mod receipt;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use headcount_core::{CampaignId, CampaignTally, CredentialVerifier, RegistrarId};
use headcount_tlog::{Checkpoint, LogVerifier, tree_root, verify_tiles};
use serde::Deserialize;

pub use fetch::{FetchStats, FetchedTiles};
pub use receipt::{ReceiptError, VerifiedReceipt, verify_receipt, verify_receipt_full};

use fetch::{Got, Http, fetch_tree, log_cache_dir};

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
    /// The tree does not extend the last checkpoint this cache agreed with.
    Inconsistent {
        old_size: u64,
        new_size: u64,
        reason: String,
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
            Finding::Inconsistent { .. } => "inconsistent",
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
            Finding::Inconsistent {
                old_size,
                new_size,
                reason,
            } => write!(
                f,
                "the tree of size {new_size} does not extend the earlier checkpoint of size {old_size}: {reason}"
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

/// A (campaign, registrar, batch) group with more credentialed declarations
/// than the registrar logged for the batch: evidence that the registrar
/// issued credentials off the log (DESIGN §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverBound {
    pub campaign: CampaignId,
    pub registrar: RegistrarId,
    pub batch: u32,
    /// Current credentialed declarations disclosing the batch.
    pub declarations: u64,
    /// The batch size the registrar logged.
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
    /// The last checkpoint that agreed, from the cache, which this tree was
    /// checked to extend.
    pub previous: Option<Checkpoint>,
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

/// The campaigns the server lists within a tree of `size`, with their leaf index.
async fn list_campaigns(http: &Http, size: u64) -> Result<BTreeMap<CampaignId, u64>, AuditError> {
    let listed: Vec<Listed> = match http.get_json("/v1/campaigns").await? {
        Got::Found(l) => l,
        Got::NotFound => vec![],
    };
    Ok(listed
        .into_iter()
        .map(|l| (l.id, l.leaf_index))
        .filter(|(_, i)| *i < size)
        .collect())
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
    let started = Instant::now();
    let http = Http::new(&opts.url)?;
    let (log_key, tofu) = match &opts.log_key {
        Some(k) => (k.trim().to_owned(), false),
        None => match http.get_json::<LogInfo>("/v1/log").await? {
            Got::Found(info) => (info.vkey, true),
            Got::NotFound => {
                return Err(AuditError::Status {
                    url: http.url("/v1/log"),
                    status: 404,
                    body: "no log key given and the server publishes none".into(),
                });
            }
        },
    };
    let verifier =
        LogVerifier::from_vkey(&log_key).map_err(|e| AuditError::BadLogKey(e.to_string()))?;
    let note = http.get_required("/checkpoint").await?;
    let mut report = AuditReport {
        url: opts.url.clone(),
        log_key,
        trust_on_first_use: tofu,
        checkpoint: None,
        note: note.clone(),
        previous: None,
        entries: 0,
        tallies: vec![],
        published_compared: 0,
        verdict: Verdict::Agrees,
        over_bound: vec![],
        fetch: FetchStats::default(),
        elapsed: Duration::ZERO,
    };
    type Outcome = Result<(AuditReport, FetchedTiles), AuditError>;
    let finish = |mut report: AuditReport, verdict: Verdict, tiles: FetchedTiles| -> Outcome {
        report.verdict = verdict;
        report.elapsed = started.elapsed();
        Ok((report, tiles))
    };
    let cp = match verifier.verify(&note) {
        Ok(cp) => cp,
        Err(e) => {
            let f = Finding::BadCheckpointSignature {
                reason: e.to_string(),
            };
            return finish(report, Verdict::Differs(f), FetchedTiles::default());
        }
    };
    report.checkpoint = Some(cp.clone());
    let size = cp.size.0;
    let cache = opts
        .cache_dir
        .as_deref()
        .map(|d| log_cache_dir(d, verifier.origin()));

    // The last checkpoint this cache agreed with.
    let previous = match &cache {
        Some(c) => tokio::fs::read(c.join("checkpoint"))
            .await
            .ok()
            .and_then(|n| verifier.verify(&n).ok()),
        None => None,
    };
    report.previous = previous.clone();
    if let Some(prev) = &previous
        && prev.size > cp.size
    {
        let f = Finding::Inconsistent {
            old_size: prev.size.0,
            new_size: size,
            reason: "the log shrank".into(),
        };
        return finish(report, Verdict::Differs(f), FetchedTiles::default());
    }

    // Tiles.
    let (mut tiles, mut stats) = fetch_tree(
        &http,
        cp.size,
        cache.as_deref(),
        true,
        opts.parallelism,
        opts.progress,
    )
    .await?;
    let mut checked = blocking(|| verify_tiles(&tiles, cp.size, cp.root));
    if checked.is_err() && stats.from_cache > 0 {
        // Do not blame the log for a damaged cache: refetch everything.
        let (t, s) = fetch_tree(
            &http,
            cp.size,
            cache.as_deref(),
            false,
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
        return finish(report, Verdict::Differs(f), tiles);
    }
    if let Some(prev) = &previous {
        match tree_root(&tiles, prev.size) {
            Ok(root) if root == prev.root => {}
            other => {
                let f = Finding::Inconsistent {
                    old_size: prev.size.0,
                    new_size: size,
                    reason: match other {
                        Ok(_) => "the earlier root is not a prefix of this tree".into(),
                        Err(e) => e.to_string(),
                    },
                };
                return finish(report, Verdict::Differs(f), tiles);
            }
        }
    }

    // Published tallies.
    let mut listed = list_campaigns(&http, size).await?;
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
    for t in histories.into_iter().flatten() {
        // Tallies published after our checkpoint cannot be checked yet.
        if t.tree_size <= size {
            stops.entry(t.tree_size).or_default().push(t);
        }
    }

    // The fold.
    let outcome = blocking(|| fold::fold(&tiles, size, &stops, credentials, opts.progress));
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
                batch: b.batch,
                declarations: b.declarations,
                size: b.size,
            })
        })
        .collect();
    if let Some(f) = outcome.finding {
        return finish(report, Verdict::Differs(f), tiles);
    }

    // At the checkpoint size.
    let ours = fold::tallies_by_id(&outcome.state);
    let all: BTreeSet<CampaignId> = ours.keys().chain(listed.keys()).copied().collect();
    for id in all {
        let Some(our) = ours.get(&id) else {
            let f = Finding::CampaignInvented {
                campaign: id,
                leaf_index: listed.get(&id).copied().unwrap_or_default(),
            };
            return finish(report, Verdict::Differs(f), tiles);
        };
        if !listed.contains_key(&id) {
            // The server signs a checkpoint a moment before its derived state
            // (campaign list, tallies) catches up: ask once more.
            tokio::time::sleep(Duration::from_millis(1000)).await;
            listed = list_campaigns(&http, size).await?;
            if !listed.contains_key(&id) {
                let f = Finding::CampaignOmitted { campaign: id };
                return finish(report, Verdict::Differs(f), tiles);
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
            return finish(report, Verdict::Differs(f), tiles);
        }
    }

    // Remember the checkpoint we agreed with, for the next run's consistency check.
    if let Some(c) = &cache {
        fetch::write_cache(&c.join("checkpoint"), &note).await?;
    }
    finish(report, Verdict::Agrees, tiles)
}
