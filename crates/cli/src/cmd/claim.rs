//! `headcount claim prove|verify`: prove to a verifier of your choosing that
//! a declaration was yours, and nothing else.
//!
//! A claim bundle holds four logged entries with their tlog-proofs — the
//! campaign, the registrar, the registrar's issuance month and the
//! declaration —, a signed checkpoint (the anchor) with consistency proofs
//! from every part's checkpoint to it, and a fresh pseudonym proof for the
//! same campaign whose presentation header is the verifier's challenge. Only
//! the holder of the credential can make that proof, it yields the
//! declaration's pseudonym, and it is useless for any other challenge.
//!
//! The verifier needs only the bundle, the challenge they chose (ideally made
//! by `headcount claim challenge`, which binds their name, the date and a
//! random nonce) and the log's public key: everything is checked offline,
//! including the validity rules an auditor would apply to that one
//! declaration (the campaign accepts the registrar, the declaration falls in
//! the campaign's window, its month is logged with at least the campaign's
//! minimum anonymity set, every part precedes it in the log, and every
//! checkpoint is consistent with the anchor). What a bundle cannot show is
//! everything the log holds *besides* these entries: whether the registrar
//! retired before the declaration, or the declaration was later withdrawn.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use headcount_core::credentials::{BbsCredentials, claim_proof, verify_claim};
use headcount_core::entry::{Campaign, Declaration, Entry, IssuancePeriod, Registrar};
use headcount_core::{CampaignId, CredentialVerifier, Leaf};
use headcount_tlog::{Checkpoint, Hash, LogVerifier, TlogProof, TreeSize, leaf_hash};
use headcount_wallet::ReceiptKind;
use serde::{Deserialize, Serialize};

use crate::client::LogClient;
use crate::cmd::fmt_time;
use crate::cmd::identity::WalletArgs;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a claim bundle for your declaration in CAMPAIGN, bound to the verifier's challenge.
    Prove {
        /// Campaign id.
        campaign: String,
        /// The challenge the verifier gave you (e.g. a case number and date).
        #[arg(long)]
        challenge: String,
        /// The log server's URL, e.g. `http://127.0.0.1:8080` (or an onion address, with `--proxy socks5h://127.0.0.1:9050`).
        #[arg(long)]
        server: String,
        #[command(flatten)]
        wallet: WalletArgs,
        /// Where to write the bundle.
        #[arg(long, default_value = "declaration.claim")]
        out: PathBuf,
        /// The log's public key; default: ask the server (trust on first use).
        #[arg(long)]
        log_key: Option<String>,
        /// A C2SP tlog-policy file: require the campaign's and registrar's
        /// checkpoints to carry its quorum of witness cosignatures.
        #[arg(long)]
        policy: Option<PathBuf>,
        #[command(flatten)]
        net: crate::client::NetArgs,
    },
    /// For the verifier: make a fresh challenge to give the declarant (your name, today's
    /// date and a random nonce), and keep it to check their bundle with `claim verify
    /// --challenge-file`. A challenge you made yourself, used once, is what stops a declarant
    /// from handing you a bundle made for someone else.
    Challenge {
        /// Who you are, as the declarant and your records should see it (e.g. "UNHCR Hong Kong, officer 12").
        #[arg(long)]
        verifier: String,
        /// Also write it to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a claim bundle offline and print what was declared, where and when.
    Verify {
        bundle: PathBuf,
        /// The challenge you gave the declarant.
        #[arg(
            long,
            required_unless_present = "challenge_file",
            conflicts_with = "challenge_file"
        )]
        challenge: Option<String>,
        /// The file `claim challenge --out` wrote.
        #[arg(long)]
        challenge_file: Option<PathBuf>,
        /// Refuse a `claim challenge` challenge older than this many days.
        #[arg(long, default_value_t = 30)]
        max_age_days: u64,
        /// The log's public key, obtained independently (signed-note form).
        #[arg(long)]
        log_key: String,
        /// A C2SP tlog-policy file: also require that the declaration's
        /// checkpoint carries the policy's quorum of witness cosignatures.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
}

/// A logged entry with its proof.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logged {
    /// The entry, hex.
    pub entry: String,
    /// Its `c2sp.org/tlog-proof@v1` (the `extra` line is the leaf header).
    pub proof: String,
}

/// A consistency proof from a part's checkpoint to the anchor.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    /// The smaller tree size.
    pub size: u64,
    /// RFC 6962 consistency proof to the anchor's size, base64 hashes.
    pub proof: Vec<String>,
}

/// The claim bundle file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimBundle {
    pub format: String,
    pub campaign: Logged,
    pub registrar: Logged,
    /// The registrar's `issuance-period` entry for the declaration's month.
    pub period: Logged,
    pub declaration: Logged,
    /// A signed checkpoint (note text) every part's checkpoint is consistent with.
    pub anchor: String,
    /// Consistency proofs from each part's checkpoint size to the anchor's.
    pub consistency: Vec<Consistency>,
    /// The fresh pseudonym proof (hex) whose header is the challenge.
    pub claim_proof: String,
}

const FORMAT: &str = "headcount-claim-v2";

/// What a verified claim shows.
pub struct VerifiedClaim {
    pub campaign: Campaign,
    pub registrar: Registrar,
    pub period: IssuancePeriod,
    pub declaration: Declaration,
    pub timestamp: u64,
    pub index: u64,
    pub checkpoint: Checkpoint,
    pub anchor: Checkpoint,
}

/// A logged part, checked against the log key.
struct Part {
    entry: Entry,
    timestamp: u64,
    index: u64,
    checkpoint: Checkpoint,
}

fn check_part(l: &Logged, log: &LogVerifier, what: &str) -> Result<Part> {
    let (entry, timestamp, index, checkpoint) =
        check_logged(l, log).with_context(|| format!("the {what} part"))?;
    Ok(Part {
        entry,
        timestamp,
        index,
        checkpoint,
    })
}

fn check_logged(l: &Logged, log: &LogVerifier) -> Result<(Entry, u64, u64, Checkpoint)> {
    let entry = hex::decode(&l.entry).context("entry hex")?;
    let proof = TlogProof::parse(l.proof.as_bytes()).context("parsing a tlog-proof")?;
    let mut leaf = proof
        .extra
        .clone()
        .ok_or_else(|| anyhow!("a proof has no leaf header"))?;
    leaf.extend_from_slice(&entry);
    let parsed = Leaf::decode(&leaf).context("leaf header")?;
    let cp = proof
        .verify(leaf_hash(&leaf), log)
        .context("a proof does not verify against the log key")?;
    let e = Entry::decode(&entry).context("decoding an entry")?;
    Ok((e, parsed.timestamp.0, proof.index.0, cp))
}

/// Verifies a bundle against the challenge and the log key: every part's proof, the
/// consistency of every checkpoint with the anchor, the validity rules an auditor applies to
/// this one declaration, its own proof and the claim proof.
pub fn verify_bundle(
    bundle: &ClaimBundle,
    challenge: &str,
    log_key: &str,
) -> Result<VerifiedClaim> {
    if bundle.format != FORMAT {
        bail!("not a {FORMAT} bundle (format {:?})", bundle.format);
    }
    let log = LogVerifier::from_vkey(log_key).context("parsing the log key")?;
    let anchor = log
        .verify(bundle.anchor.as_bytes())
        .context("the anchor checkpoint is not signed by the log key")?;
    let parts = [
        check_part(&bundle.campaign, &log, "campaign")?,
        check_part(&bundle.registrar, &log, "registrar")?,
        check_part(&bundle.period, &log, "issuance period")?,
        check_part(&bundle.declaration, &log, "declaration")?,
    ];
    // Every checkpoint in the bundle is the anchor or consistent with it: one tree.
    for (p, what) in parts
        .iter()
        .zip(["campaign", "registrar", "issuance period", "declaration"])
    {
        let cp = &p.checkpoint;
        if cp.size.0 > anchor.size.0 {
            bail!(
                "the {what}'s checkpoint (size {}) is larger than the anchor (size {})",
                cp.size.0,
                anchor.size.0
            );
        }
        if cp.size.0 == anchor.size.0 {
            if cp.root != anchor.root {
                bail!(
                    "the {what}'s checkpoint and the anchor have the same size and different roots: the log showed two different trees"
                );
            }
            continue;
        }
        let c = bundle
            .consistency
            .iter()
            .find(|c| c.size == cp.size.0)
            .ok_or_else(|| {
                anyhow!(
                    "no consistency proof from the {what}'s checkpoint (size {}) to the anchor",
                    cp.size.0
                )
            })?;
        let hashes = c
            .proof
            .iter()
            .map(|h| {
                let b = base64::engine::general_purpose::STANDARD.decode(h)?;
                Ok(Hash(
                    b.try_into()
                        .map_err(|_| anyhow!("a proof hash is 32 bytes"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        headcount_tlog::verify_consistency(cp.size, cp.root, anchor.size, anchor.root, &hashes)
            .map_err(|_| {
                anyhow!(
                    "the {what}'s checkpoint (size {}) is not consistent with the anchor (size {}): the log showed two different trees",
                    cp.size.0,
                    anchor.size.0
                )
            })?;
    }
    let [campaign, registrar, period, declaration] = parts;
    let Entry::Campaign(c) = campaign.entry else {
        bail!("the campaign part is not a campaign")
    };
    let Entry::Registrar(r) = registrar.entry else {
        bail!("the registrar part is not a registrar")
    };
    let Entry::IssuancePeriod(ip) = period.entry else {
        bail!("the issuance period part is not an issuance-period entry")
    };
    let Entry::Declaration(d) = declaration.entry else {
        bail!("the declaration part is not a declaration")
    };
    // The validity rules (wire format §11) for this declaration, as far as these entries show.
    if d.campaign != c.id() {
        bail!("the declaration is not in the bundled campaign");
    }
    if d.registrar != r.id() {
        bail!("the declaration's credential is not from the bundled registrar");
    }
    if !c.registrars.contains(&r.id()) {
        bail!(
            "the campaign does not accept registrar {} (registrar_not_accepted)",
            r.id()
        );
    }
    if ip.registrar != r.id() || ip.period != d.period {
        bail!(
            "the bundled issuance period is {} of registrar {}, not the declaration's {} of {}",
            ip.period,
            ip.registrar,
            d.period,
            d.registrar
        );
    }
    if ip.size < c.min_anonymity {
        bail!(
            "the declaration's month was logged with {} credentials, fewer than the campaign's minimum of {} (anonymity_set_too_small)",
            ip.size,
            c.min_anonymity
        );
    }
    for (what, index) in [
        ("campaign", campaign.index),
        ("registrar", registrar.index),
        ("issuance period", period.index),
    ] {
        if index >= declaration.index {
            bail!(
                "the {what} (leaf {index}) is not logged before the declaration (leaf {})",
                declaration.index
            );
        }
    }
    if declaration.timestamp < c.opens_at {
        bail!("the declaration is stamped before the campaign opened (campaign_not_open)");
    }
    if declaration.timestamp >= c.closes_at {
        bail!("the declaration is stamped after the campaign closed (campaign_closed)");
    }
    if !ip.period.is_over_at(period.timestamp) {
        bail!("the issuance month was logged before it was over (period_not_over)");
    }
    BbsCredentials
        .verify(
            &r.bbs_key,
            &d.campaign,
            &d.presentation_header(),
            &d.registrar,
            d.period,
            &d.pseudonym,
            &d.proof,
        )
        .map_err(|e| anyhow!("the declaration's own proof does not verify: {e}"))?;
    let proof = hex::decode(&bundle.claim_proof).context("claim proof hex")?;
    verify_claim(
        &r.bbs_key,
        &d.campaign,
        challenge,
        &d.registrar,
        d.period,
        &d.pseudonym,
        &proof,
    )
    .map_err(|_| {
        anyhow!(
            "the claim proof does not verify for this challenge and this declaration's pseudonym"
        )
    })?;
    Ok(VerifiedClaim {
        campaign: c,
        registrar: r,
        period: ip,
        declaration: d,
        timestamp: declaration.timestamp,
        index: declaration.index,
        checkpoint: declaration.checkpoint,
        anchor,
    })
}

/// The prefix of a structured challenge made by `claim challenge`.
pub const CHALLENGE_PREFIX: &str = "headcount-challenge-v1";

/// A fresh challenge: `headcount-challenge-v1; verifier=NAME; date=YYYY-MM-DD; nonce=HEX`.
pub fn new_challenge(verifier: &str, now: u64) -> Result<String> {
    let name = verifier.trim();
    if name.is_empty() || name.contains(';') || name.chars().any(char::is_control) {
        bail!("--verifier must be a non-empty line without ';'");
    }
    let mut nonce = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    Ok(format!(
        "{CHALLENGE_PREFIX}; verifier={name}; date={}; nonce={}",
        day(now),
        hex::encode(nonce)
    ))
}

fn day(t: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t))
        .to_string()[..10]
        .to_owned()
}

/// What a structured challenge says: (verifier, date as Unix seconds at midnight UTC).
pub fn parse_challenge(c: &str) -> Option<(String, u64)> {
    let rest = c.strip_prefix(CHALLENGE_PREFIX)?;
    let mut verifier = None;
    let mut date = None;
    let mut nonce = None;
    for field in rest.split(';').map(str::trim).filter(|f| !f.is_empty()) {
        let (k, v) = field.split_once('=')?;
        match k {
            "verifier" => verifier = Some(v.to_owned()),
            "date" => {
                date = humantime::parse_rfc3339(&format!("{v}T00:00:00Z"))
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
            }
            "nonce" if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                nonce = Some(())
            }
            _ => return None,
        }
    }
    nonce?;
    Some((verifier?, date?))
}

/// Builds a claim bundle from a wallet.
///
/// Asks the log only what every declarant in the campaign asks (the
/// campaign's entry and those of the registrars it accepts, by hash, with
/// their proofs): the declaration and its receipt come from the wallet.
pub async fn prove(
    client: &LogClient,
    wallet: &headcount_wallet::Wallet,
    campaign: CampaignId,
    challenge: &str,
    log_key: &str,
    policy: Option<&headcount_cosignature::Policy>,
) -> Result<ClaimBundle> {
    let receipt = wallet
        .receipts_for_campaign(&campaign.0)
        .filter(|r| r.kind == ReceiptKind::Declaration)
        .max_by_key(|r| r.leaf_index)
        .ok_or_else(|| anyhow!("this wallet holds no declaration in that campaign"))?;
    let Entry::Declaration(decl) = Entry::decode(&receipt.entry)? else {
        bail!("the wallet's receipt is not a declaration")
    };
    let cred = wallet
        .credentials()
        .iter()
        .find(|c| c.registrar_id() == decl.registrar.0 && c.period() == decl.period)
        .ok_or_else(|| anyhow!("the credential behind that declaration is not in this wallet"))?;
    let (pk, credential, ch) = (
        *cred.registrar_public_key(),
        cred.credential().clone(),
        challenge.to_owned(),
    );
    let (nym, proof) = tokio::task::spawn_blocking(move || {
        claim_proof(&credential, &pk, campaign, &ch, &mut rand::rngs::OsRng)
    })
    .await??;
    if nym != decl.pseudonym {
        bail!("this wallet's credential did not make that declaration");
    }
    let verified = client.verified_campaign(campaign, log_key, policy).await?;
    let (_, registrar) = verified
        .registrars
        .iter()
        .find(|(r, _)| r.id() == decl.registrar)
        .ok_or_else(|| {
            anyhow!(
                "the declaration's registrar {} is not among the campaign's verified registrars",
                decl.registrar
            )
        })?;
    // The registrar's entry for the declaration's month: one look-up that every holder of a
    // credential of that month makes alike.
    let r = client
        .get_json(&format!("/v1/registrars/{}", decl.registrar))
        .await?;
    let period_hash = r["periods"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["period"].as_u64() == Some(u64::from(decl.period.0)))
        .and_then(|p| p["entry_hash"].as_str())
        .ok_or_else(|| anyhow!("the log lists no issuance entry for {}", decl.period))?
        .to_owned();
    let period = client.logged_entry(&period_hash, log_key, policy).await?;
    match &period.entry {
        Entry::IssuancePeriod(p) if p.registrar == decl.registrar && p.period == decl.period => {}
        _ => bail!(
            "the log's issuance entry for {} is not the registrar's",
            decl.period
        ),
    }
    // The anchor: the current checkpoint. Consistency proofs to it are computed here from the
    // whole tree's hash tiles (the same download for everyone), never asked for by size.
    let (note, anchor) = client.checkpoint(log_key).await?;
    let tiles = client.hash_tiles(anchor.size, anchor.root).await?;
    let verifier = LogVerifier::from_vkey(log_key).context("parsing the log key")?;
    let mut sizes: Vec<u64> = [
        &verified.logged.proof,
        &registrar.proof,
        &period.proof,
        &receipt.tlog_proof,
    ]
    .iter()
    .map(|p| -> Result<u64> {
        let p = TlogProof::parse(p.as_bytes())?;
        Ok(verifier.verify(&p.checkpoint)?.size.0)
    })
    .collect::<Result<_>>()
    .context("a proof in the wallet or from the log")?;
    sizes.sort_unstable();
    sizes.dedup();
    let mut consistency = Vec::new();
    for size in sizes.into_iter().filter(|s| *s < anchor.size.0) {
        let proof =
            headcount_tlog::consistency_proof(&tiles, TreeSize(size), anchor.size, anchor.root)
                .with_context(|| format!("a consistency proof from size {size}"))?;
        consistency.push(Consistency {
            size,
            proof: proof
                .iter()
                .map(|h| base64::engine::general_purpose::STANDARD.encode(h.0))
                .collect(),
        });
    }
    let logged = |l: &crate::client::LoggedEntry| Logged {
        entry: hex::encode(&l.bytes),
        proof: l.proof.clone(),
    };
    Ok(ClaimBundle {
        format: FORMAT.into(),
        campaign: logged(&verified.logged),
        registrar: logged(registrar),
        period: logged(&period),
        declaration: Logged {
            entry: hex::encode(&receipt.entry),
            proof: receipt.tlog_proof.clone(),
        },
        anchor: String::from_utf8(note).context("the checkpoint note is not text")?,
        consistency,
        claim_proof: hex::encode(proof),
    })
}

/// Prints a verified claim.
pub fn print(v: &VerifiedClaim) {
    println!("VERIFIED: the holder of this bundle made this declaration.");
    for t in &v.campaign.texts {
        println!("  campaign      [{}] {}", t.lang, t.title);
    }
    println!("  campaign id   {}", v.campaign.id());
    println!(
        "  organiser key {} (Ed25519, SHA-256 fingerprint {})",
        hex::encode(v.campaign.organiser_key),
        fingerprint(&v.campaign.organiser_key)
    );
    println!("  alias         {}", v.declaration.alias);
    if !v.declaration.message.is_empty() {
        println!("  message       {}", v.declaration.message);
    }
    println!(
        "  logged at     {} (sequencer time, to the minute), leaf {}",
        fmt_time(v.timestamp),
        v.index
    );
    println!(
        "  in the log    {} (checkpoint of size {})",
        v.checkpoint.origin, v.checkpoint.size.0
    );
    println!(
        "  credential    registrar \"{}\" (a display name anyone can choose: rely on the id)",
        v.registrar.name
    );
    println!("  registrar id  {}", v.registrar.id());
    println!(
        "  registrar keys signing {} · BBS fingerprint {}",
        fingerprint(&v.registrar.signing_key),
        fingerprint(&v.registrar.bbs_key)
    );
    println!(
        "  issued in     {} — the registrar logged {} credentials that month (the campaign requires at least {})",
        v.declaration.period, v.period.size, v.campaign.min_anonymity
    );
    println!(
        "  anchor        checkpoint of size {}, consistent with every checkpoint in the bundle",
        v.anchor.size.0
    );
    println!(
        "  standing      counted at that checkpoint (size {}); this bundle cannot show a later\n                withdrawal or re-declaration: look the pseudonym up on the log's dashboard\n                (/lookup?q={}) to see whether it is still counted, withdrawn or replaced",
        v.checkpoint.size.0,
        hex::encode(v.declaration.pseudonym.0)
    );
    println!(
        "  not shown     whether the registrar retired its keys before this declaration, and anything\n                else the log holds: an auditor of the whole log (`headcount audit`) checks that"
    );
    println!("It proves nothing else: not the declarant's name, nor their other declarations.");
}

/// The first 16 hex digits of SHA-256(bytes): a short fingerprint to compare by eye.
fn fingerprint(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(bytes)[..8])
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::Prove {
            campaign,
            challenge,
            server,
            wallet,
            out,
            log_key,
            policy,
            net,
        } => {
            let campaign =
                CampaignId::from_hex(&campaign).context("the campaign id is 64 hex digits")?;
            let client = LogClient::for_declarant(&server, &net)?;
            let policy = policy
                .as_deref()
                .map(crate::client::load_policy)
                .transpose()?;
            let w = wallet.open()?;
            let key = client.log_key_or(log_key.as_deref()).await?;
            let bundle = prove(&client, &w, campaign, &challenge, &key, policy.as_ref()).await?;
            std::fs::write(&out, serde_json::to_string_pretty(&bundle)?)?;
            println!(
                "wrote {}: give it to the verifier together with nothing else",
                out.display()
            );
        }
        Command::Challenge { verifier, out } => {
            let c = new_challenge(&verifier, crate::cmd::now())?;
            if let Some(out) = out {
                std::fs::write(&out, format!("{c}\n"))
                    .with_context(|| format!("writing {}", out.display()))?;
                println!("wrote {}", out.display());
            }
            println!("{c}");
            println!(
                "give this challenge to the declarant (`headcount claim prove CAMPAIGN --challenge \"…\"`);\nkeep it, and check their bundle with `headcount claim verify BUNDLE --challenge-file FILE`"
            );
        }
        Command::Verify {
            bundle,
            challenge,
            challenge_file,
            max_age_days,
            log_key,
            policy,
        } => {
            let challenge = match (challenge, challenge_file) {
                (Some(c), _) => c,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .with_context(|| format!("reading {}", f.display()))?
                    .trim_end_matches(['\n', '\r'])
                    .to_owned(),
                (None, None) => bail!("pass --challenge or --challenge-file"),
            };
            match parse_challenge(&challenge) {
                Some((verifier, date)) => {
                    let age = crate::cmd::now().saturating_sub(date) / 86_400;
                    if age > max_age_days {
                        println!(
                            "NOT VERIFIED: the challenge was made on {} ({age} days ago), more than {max_age_days} days ago: make a fresh one with `headcount claim challenge`",
                            day(date)
                        );
                        std::process::exit(2);
                    }
                    println!("challenge     made by {verifier:?} on {}", day(date));
                }
                None => println!(
                    "warning: the challenge was not made by `headcount claim challenge`: make sure you chose it \
                     yourself, today, and never gave it to anyone else — otherwise the declarant may be \
                     replaying a bundle made for another verifier"
                ),
            }
            let text = std::fs::read_to_string(&bundle)
                .with_context(|| format!("reading {}", bundle.display()))?;
            let b: ClaimBundle = serde_json::from_str(&text).context("not a claim bundle")?;
            let policy = match &policy {
                Some(p) => Some(
                    headcount_cosignature::Policy::parse(&std::fs::read_to_string(p)?)
                        .with_context(|| format!("parsing the policy {}", p.display()))?,
                ),
                None => None,
            };
            let verified = verify_bundle(&b, &challenge, &log_key).and_then(|v| {
                if let Some(policy) = &policy {
                    let proof = TlogProof::parse(b.declaration.proof.as_bytes())?;
                    let log = headcount_cosignature::LogVerifier::from_vkey(&log_key)
                        .map_err(|e| anyhow!("the log key: {e}"))?;
                    policy
                        .check_with_log(&proof.checkpoint, &log)
                        .map_err(|e| anyhow!("the declaration's checkpoint does not satisfy the witness policy: {e}"))?;
                    println!("witnessed: the declaration's checkpoint satisfies the witness policy");
                }
                Ok(v)
            });
            match verified {
                Ok(v) => print(&v),
                Err(e) => {
                    println!("NOT VERIFIED: {e:#}");
                    std::process::exit(2);
                }
            }
        }
    }
    Ok(())
}
