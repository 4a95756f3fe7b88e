//! `headcount claim prove|verify`: prove to a verifier of your choosing that
//! a declaration was yours, and nothing else.
//!
//! A claim bundle holds three logged entries with their tlog-proofs — the
//! campaign, the registrar and the declaration — and a fresh pseudonym proof
//! for the same campaign whose presentation header is the verifier's
//! challenge. Only the holder of the credential can make that proof, it
//! yields the declaration's pseudonym, and it is useless for any other
//! challenge. The verifier needs only the bundle, the challenge they chose
//! and the log's public key: everything is checked offline.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use headcount_core::credentials::{BbsCredentials, claim_proof, verify_claim};
use headcount_core::entry::{Campaign, Declaration, Entry, Registrar};
use headcount_core::{CampaignId, CredentialVerifier, Leaf};
use headcount_tlog::{Checkpoint, LogVerifier, TlogProof, leaf_hash};
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
    /// Verify a claim bundle offline and print what was declared, where and when.
    Verify {
        bundle: PathBuf,
        /// The challenge you gave the declarant.
        #[arg(long)]
        challenge: String,
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

/// The claim bundle file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimBundle {
    pub format: String,
    pub campaign: Logged,
    pub registrar: Logged,
    pub declaration: Logged,
    /// The fresh pseudonym proof (hex) whose header is the challenge.
    pub claim_proof: String,
}

const FORMAT: &str = "headcount-claim-v1";

/// What a verified claim shows.
pub struct VerifiedClaim {
    pub campaign: Campaign,
    pub registrar: Registrar,
    pub declaration: Declaration,
    pub timestamp: u64,
    pub index: u64,
    pub checkpoint: Checkpoint,
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

/// Verifies a bundle against the challenge and the log key.
pub fn verify_bundle(
    bundle: &ClaimBundle,
    challenge: &str,
    log_key: &str,
) -> Result<VerifiedClaim> {
    if bundle.format != FORMAT {
        bail!("not a {FORMAT} bundle");
    }
    let log = LogVerifier::from_vkey(log_key).context("parsing the log key")?;
    let (Entry::Campaign(campaign), ..) = check_logged(&bundle.campaign, &log)? else {
        bail!("the campaign part is not a campaign")
    };
    let (Entry::Registrar(registrar), ..) = check_logged(&bundle.registrar, &log)? else {
        bail!("the registrar part is not a registrar")
    };
    let (Entry::Declaration(declaration), timestamp, index, checkpoint) =
        check_logged(&bundle.declaration, &log)?
    else {
        bail!("the declaration part is not a declaration")
    };
    if declaration.campaign != campaign.id() {
        bail!("the declaration is not in the bundled campaign");
    }
    if declaration.registrar != registrar.id() {
        bail!("the declaration's credential is not from the bundled registrar");
    }
    BbsCredentials
        .verify(
            &registrar.bbs_key,
            &declaration.campaign,
            &declaration.presentation_header(),
            &declaration.registrar,
            declaration.period,
            &declaration.pseudonym,
            &declaration.proof,
        )
        .map_err(|e| anyhow!("the declaration's own proof does not verify: {e}"))?;
    let proof = hex::decode(&bundle.claim_proof).context("claim proof hex")?;
    verify_claim(
        &registrar.bbs_key,
        &declaration.campaign,
        challenge,
        &declaration.registrar,
        declaration.period,
        &declaration.pseudonym,
        &proof,
    )
    .map_err(|_| {
        anyhow!(
            "the claim proof does not verify for this challenge and this declaration's pseudonym"
        )
    })?;
    Ok(VerifiedClaim {
        campaign,
        registrar,
        declaration,
        timestamp,
        index,
        checkpoint,
    })
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
    let logged = |l: &crate::client::LoggedEntry| Logged {
        entry: hex::encode(&l.bytes),
        proof: l.proof.clone(),
    };
    Ok(ClaimBundle {
        format: FORMAT.into(),
        campaign: logged(&verified.logged),
        registrar: logged(registrar),
        declaration: Logged {
            entry: hex::encode(&receipt.entry),
            proof: receipt.tlog_proof.clone(),
        },
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
        "  credential    registrar \"{}\", issued in {}",
        v.registrar.name, v.declaration.period
    );
    println!(
        "  standing      counted at that checkpoint (size {}); this bundle cannot show a later\n                withdrawal or re-declaration: look the pseudonym up on the log's dashboard\n                (/lookup?q={}) to see whether it is still counted, withdrawn or replaced",
        v.checkpoint.size.0,
        hex::encode(v.declaration.pseudonym.0)
    );
    println!("It proves nothing else: not the declarant's name, nor their other declarations.");
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
        Command::Verify {
            bundle,
            challenge,
            log_key,
            policy,
        } => {
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
