//! `headcount declare` and `headcount withdraw`.

use anyhow::{Context, Result, anyhow, bail};
use headcount_core::entry::limits::MIN_ANONYMITY;
use headcount_core::entry::{Entry, UnverifiedDeclaration};
use headcount_core::text::to_nfc;
use headcount_core::{CampaignId, EntryHash};
use headcount_wallet::{
    PendingEntry, Receipt as WalletReceipt, ReceiptKind, StoredCredential, Wallet,
};
use sha2::Digest;

use crate::client::{
    LogClient, Receipt, Submitted, VerifiedCampaign, check_witnessed, verify_receipt,
};
use crate::cmd::identity::WalletArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The log server's URL, e.g. `http://127.0.0.1:8080` (or an onion address, with `--proxy socks5h://127.0.0.1:9050`).
    #[arg(long, required_unless_present = "offline")]
    pub server: Option<String>,
    /// Campaign id.
    pub campaign: String,
    /// The public alias shown with the declaration.
    #[arg(long)]
    pub alias: String,
    #[arg(long, default_value = "")]
    pub message: String,
    /// Declare without a credential: shown and counted apart from the
    /// credible headcount; costs a proof of work the campaign sets. Uses no
    /// wallet (and keeps no receipt in one): keep it with --receipt-out.
    #[arg(long, conflicts_with_all = ["wallet", "passphrase_file"])]
    pub unverified: bool,
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// The log's public key; default: ask the server (trust on first use).
    #[arg(long)]
    pub log_key: Option<String>,
    /// A C2SP tlog-policy file: also require the receipt's checkpoint to
    /// carry that quorum of witness cosignatures.
    #[arg(long)]
    pub policy: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub net: crate::client::NetArgs,
    #[command(flatten)]
    pub submission: SubmissionArgs,
    /// Also write the receipt (a c2sp.org/tlog-proof@v1 text, which the
    /// dashboard's /verify-receipt page checks) to this file.
    #[arg(long, value_name = "FILE")]
    pub receipt_out: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub offline: crate::cmd::offline::OfflineArgs,
}

#[derive(clap::Args)]
pub struct WithdrawArgs {
    /// The log server's URL, e.g. `http://127.0.0.1:8080` (or an onion address, with `--proxy socks5h://127.0.0.1:9050`).
    #[arg(long, required_unless_present = "offline")]
    pub server: Option<String>,
    /// Campaign id.
    pub campaign: String,
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// The log's public key; default: ask the server (trust on first use).
    #[arg(long)]
    pub log_key: Option<String>,
    /// A C2SP tlog-policy file: also require the receipt's checkpoint to
    /// carry that quorum of witness cosignatures.
    #[arg(long)]
    pub policy: Option<std::path::PathBuf>,
    /// Also write the receipt (a c2sp.org/tlog-proof@v1 text, which the
    /// dashboard's /verify-receipt page checks) to this file.
    #[arg(long, value_name = "FILE")]
    pub receipt_out: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub net: crate::client::NetArgs,
    #[command(flatten)]
    pub submission: SubmissionArgs,
    #[command(flatten)]
    pub offline: crate::cmd::offline::OfflineArgs,
}

/// How an entry is submitted: wait for the receipt, or (`--async`) be
/// accepted at once and fetch the receipt later.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct SubmissionArgs {
    /// Asynchronous submission: the log accepts the entry at once and
    /// sequences it in a later round; the receipt is fetched after a random
    /// delay (over a fresh Tor circuit when a proxy is used), so the moment you
    /// connect does not tell which round, and so which entry, was yours.
    #[arg(long = "async")]
    pub asynchronous: bool,
    /// With `--async`: the shortest wait before fetching the receipt, in seconds
    /// (Tor reuses a circuit for about 10 minutes).
    #[arg(long, default_value_t = 660, requires = "asynchronous")]
    pub receipt_after: u64,
    /// With `--async`: the longest wait before fetching the receipt, in seconds.
    #[arg(long, default_value_t = 1800, requires = "asynchronous")]
    pub receipt_within: u64,
}

impl SubmissionArgs {
    /// Synchronous submission (wait for the receipt).
    pub const SYNC: SubmissionArgs = SubmissionArgs {
        asynchronous: false,
        receipt_after: 0,
        receipt_within: 0,
    };

    /// Submits `bytes` and returns its receipt, synchronously or not.
    pub async fn submit(&self, client: &LogClient, bytes: &[u8]) -> Result<Receipt> {
        if self.asynchronous {
            let delay = crate::client::ReceiptDelay {
                min_s: self.receipt_after,
                max_s: self.receipt_within,
            };
            client.submit_async_ok(bytes, delay).await
        } else {
            client.submit_ok(bytes).await
        }
    }
}

/// Builds an unverified declaration with the campaign's proof of work.
pub fn unverified_entry(
    campaign: CampaignId,
    alias: &str,
    message: &str,
    difficulty: u8,
) -> Result<Vec<u8>> {
    let d = UnverifiedDeclaration {
        campaign,
        alias: to_nfc(alias),
        message: to_nfc(message),
        nonce: rand::random(),
    };
    let d = headcount_core::pow::solve(d, difficulty);
    Ok(Entry::UnverifiedDeclaration(d)
        .build()
        .context("the declaration is not valid")?
        .1)
}

/// A credential in the wallet from a registrar the (verified) campaign
/// accepts, whose key is the one that registrar's logged entry names.
pub fn pick_credential<'a>(
    wallet: &'a Wallet,
    campaign: &VerifiedCampaign,
) -> Result<&'a StoredCredential> {
    wallet
        .credentials()
        .iter()
        .find(|c| {
            campaign.registrars.iter().any(|(r, _)| {
                r.id().0 == c.registrar_id() && r.bbs_key == c.registrar_public_key().to_bytes()
            })
        })
        .ok_or_else(|| {
            anyhow!("no credential in this wallet is from a registrar this campaign accepts")
        })
}

/// Writes a receipt's tlog-proof to `path`, if given.
pub fn write_receipt(path: Option<&std::path::Path>, receipt: &Receipt) -> Result<()> {
    if let Some(p) = path {
        std::fs::write(p, &receipt.proof)
            .with_context(|| format!("writing the receipt to {}", p.display()))?;
        println!("receipt written to {}", p.display());
    }
    Ok(())
}

/// The credential behind this wallet's latest declaration or withdrawal in the campaign (the
/// pseudonym its next entry must continue), or else any credential the campaign accepts.
pub fn credential_for<'a>(
    wallet: &'a Wallet,
    campaign: CampaignId,
    verified: &VerifiedCampaign,
) -> Result<&'a StoredCredential> {
    let latest = wallet
        .receipts_for_campaign(&campaign.0)
        .max_by_key(|r| r.leaf_index)
        .and_then(|r| match Entry::decode(&r.entry) {
            Ok(Entry::Declaration(d)) => Some((d.registrar, d.period)),
            Ok(Entry::Withdrawal(w)) => Some((w.registrar, w.period)),
            _ => None,
        });
    match latest.and_then(|(r, p)| {
        wallet
            .credentials()
            .iter()
            .find(|c| c.registrar_id() == r.0 && c.period() == p)
    }) {
        Some(c) => Ok(c),
        None => pick_credential(wallet, verified),
    }
}

/// The declarant's own check of the anonymity set its credential discloses: the registrar must
/// have logged the credential's month, with at least the protocol minimum and the campaign's
/// minimum of credentials. Refuses (saying why and what to do) rather than let a registrar
/// single the person out with a month it issued to them alone.
pub async fn check_anonymity_set(
    client: &LogClient,
    credential: &StoredCredential,
    campaign: &VerifiedCampaign,
) -> Result<u32> {
    let rid = hex::encode(credential.registrar_id());
    let period = credential.period();
    let need = campaign.campaign.min_anonymity.max(MIN_ANONYMITY);
    let r = client.get_json(&format!("/v1/registrars/{rid}")).await?;
    let logged = r["periods"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["period"].as_u64() == Some(u64::from(period.0)))
        .and_then(|p| p["size"].as_u64());
    let Some(size) = logged else {
        bail!(
            "your credential was issued in {period}, and the registrar has not logged how many \
             credentials it issued that month yet. It can do so only once the month is over \
             (after {} UTC); until then nobody can tell how large the group you would be hiding \
             in is. Wait until the registrar logs {period} (`headcount registrar close-period`), \
             then declare again.",
            crate::cmd::fmt_time(period.end())
        );
    };
    if size < u64::from(need) {
        bail!(
            "the registrar logged only {size} credentials for {period}, fewer than the {need} this \
             campaign requires: declaring would narrow you down to a group of {size}. Your \
             software refuses; ask the registrar why so few were issued that month, or use a \
             credential from another month or registrar."
        );
    }
    Ok(size as u32)
}

/// What became of a stored entry that was (re)submitted.
pub enum Outcome {
    Logged(Receipt),
    Refused(String),
}

/// Submits an entry that the wallet already holds as pending: keeps the receipt and drops the
/// pending entry when it is logged; drops it with the log's reason when the log refuses it; keeps
/// it (for the next run to resubmit the very same bytes) when the log cannot be reached.
pub async fn submit_pending(
    client: &LogClient,
    key: &str,
    wallet: &mut Wallet,
    campaign: CampaignId,
    kind: ReceiptKind,
    bytes: &[u8],
    submission: SubmissionArgs,
) -> Result<Outcome> {
    let hash: [u8; 32] = sha2::Sha256::digest(bytes).into();
    let result = async {
        if submission.asynchronous {
            // Accepted at once; the receipt is fetched later. Any failure keeps the entry
            // pending: the next run resubmits the same bytes and the log answers with its
            // receipt or its refusal.
            return Ok(Ok(submission.submit(client, bytes).await?));
        }
        for _ in 0..30 {
            match client.submit(bytes).await? {
                Submitted::Accepted(r) => return Ok(Ok(r)),
                Submitted::Refused { status: 503, .. } => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await
                }
                Submitted::Refused { status, error } => {
                    return Ok(Err(format!(
                        "{} ({}, HTTP {status})",
                        error.message, error.error
                    )));
                }
            }
        }
        bail!("the log stayed overloaded")
    }
    .await;
    match result {
        Ok(Ok(receipt)) => {
            verify_receipt(bytes, &receipt, key)?;
            wallet.add_receipt(WalletReceipt {
                campaign_id: campaign.0,
                entry_hash: hash,
                leaf_index: receipt.leaf_index,
                kind,
                tlog_proof: receipt.proof.clone(),
                entry: bytes.to_vec(),
            });
            wallet.remove_pending_entry(&hash);
            wallet.save()?;
            Ok(Outcome::Logged(receipt))
        }
        Ok(Err(reason)) => {
            wallet.remove_pending_entry(&hash);
            wallet.save()?;
            Ok(Outcome::Refused(reason))
        }
        Err(e) => Err(e.context(
            "the entry is kept in your wallet: run the same command again to resubmit exactly \
             this entry (a retry never makes a second, different one)",
        )),
    }
}

/// Resubmits the entries of `campaign` left pending by an earlier run, before anything new.
async fn resume_pending(
    client: &LogClient,
    key: &str,
    wallet: &mut Wallet,
    campaign: CampaignId,
) -> Result<()> {
    let pending: Vec<(ReceiptKind, Vec<u8>)> = wallet
        .pending_entries()
        .iter()
        .filter(|e| e.campaign_id == campaign.0)
        .map(|e| (e.kind, e.entry.clone()))
        .collect();
    for (kind, bytes) in pending {
        eprintln!("resubmitting an entry this wallet made earlier and has no receipt for…");
        match submit_pending(
            client,
            key,
            wallet,
            campaign,
            kind,
            &bytes,
            SubmissionArgs::SYNC,
        )
        .await?
        {
            Outcome::Logged(r) => eprintln!("  logged at index {}", r.leaf_index),
            Outcome::Refused(why) => eprintln!("  the log refused it: {why}"),
        }
    }
    Ok(())
}

/// Builds a credentialed declaration or withdrawal with `cred`, naming the wallet's latest
/// entry in the campaign as its predecessor, and stores it in the wallet as pending (saved)
/// before it leaves: a retry sends these bytes again, never a second, different entry.
pub async fn make_pending_entry(
    wallet: &mut Wallet,
    cred: &StoredCredential,
    campaign: CampaignId,
    kind: ReceiptKind,
    alias: String,
    message: String,
    now: u64,
) -> Result<Vec<u8>> {
    let (pk, credential) = (*cred.registrar_public_key(), cred.credential().clone());
    let predecessor = wallet
        .latest_entry(&campaign.0)
        .map_or(EntryHash::NONE, EntryHash);
    let (_, bytes) = tokio::task::spawn_blocking(move || match kind {
        ReceiptKind::Declaration => headcount_core::credentials::declaration(
            &credential,
            &pk,
            campaign,
            predecessor,
            &alias,
            &message,
            &mut rand::rngs::OsRng,
        ),
        ReceiptKind::Withdrawal => headcount_core::credentials::withdrawal(
            &credential,
            &pk,
            campaign,
            predecessor,
            &mut rand::rngs::OsRng,
        ),
    })
    .await??;
    wallet.add_pending_entry(PendingEntry {
        campaign_id: campaign.0,
        kind,
        created: now,
        entry: bytes.clone(),
    });
    wallet.save()?;
    Ok(bytes)
}

/// Builds a credentialed declaration or withdrawal, stores it in the wallet as pending, then
/// submits it.
#[allow(clippy::too_many_arguments)]
pub async fn make_and_submit(
    client: &LogClient,
    key: &str,
    wallet: &mut Wallet,
    campaign: CampaignId,
    verified: &VerifiedCampaign,
    kind: ReceiptKind,
    alias: String,
    message: String,
    submission: SubmissionArgs,
) -> Result<Receipt> {
    resume_pending(client, key, wallet, campaign).await?;
    let cred = credential_for(wallet, campaign, verified)?.clone();
    check_anonymity_set(client, &cred, verified).await?;
    let bytes = make_pending_entry(
        wallet,
        &cred,
        campaign,
        kind,
        alias,
        message,
        crate::cmd::now(),
    )
    .await?;
    match submit_pending(client, key, wallet, campaign, kind, &bytes, submission).await? {
        Outcome::Logged(r) => Ok(r),
        Outcome::Refused(why) => bail!("the log refused the entry: {why}"),
    }
}

pub async fn run(a: Args) -> Result<()> {
    let campaign = CampaignId::from_hex(&a.campaign).context("the campaign id is 64 hex digits")?;
    if a.offline.offline {
        if a.unverified {
            bail!("--offline makes credentialed entries only");
        }
        return crate::cmd::offline::declare_offline(
            &a.wallet,
            campaign,
            ReceiptKind::Declaration,
            a.alias,
            a.message,
            &a.offline,
        )
        .await;
    }
    let server = a.server.as_deref().context("--server is required")?;
    let client = LogClient::for_declarant(server, &a.net)?;
    let policy = a
        .policy
        .as_deref()
        .map(crate::client::load_policy)
        .transpose()?;
    let key = client.log_key_or(a.log_key.as_deref()).await?;
    let c = client
        .verified_campaign(campaign, &key, policy.as_ref())
        .await?;
    if a.unverified {
        // The log may ask more work than the campaign (its admission policy).
        let required = client
            .get_json(&format!("/v1/campaigns/{campaign}"))
            .await
            .ok()
            .and_then(|v| v["unverified_difficulty_required"].as_u64())
            .unwrap_or(0)
            .min(64) as u8;
        let difficulty = c.campaign.unverified_difficulty.max(required);
        if difficulty == 0 {
            bail!("this campaign does not accept unverified declarations");
        }
        eprintln!("computing the campaign's proof of work ({difficulty} bits)…");
        let (alias, message) = (a.alias.clone(), a.message.clone());
        let bytes = tokio::task::spawn_blocking(move || {
            unverified_entry(campaign, &alias, &message, difficulty)
        })
        .await??;
        let receipt = a.submission.submit(&client, &bytes).await?;
        let cp = verify_receipt(&bytes, &receipt, &key)?;
        if let Some(p) = &a.policy {
            check_witnessed(&receipt, &key, p)?;
        }
        println!(
            "unverified declaration logged at index {} (checkpoint size {}, receipt verified)",
            receipt.leaf_index, cp.size.0
        );
        write_receipt(a.receipt_out.as_deref(), &receipt)?;
        return Ok(());
    }
    let mut wallet = a.wallet.open()?;
    let receipt = make_and_submit(
        &client,
        &key,
        &mut wallet,
        campaign,
        &c,
        ReceiptKind::Declaration,
        a.alias.clone(),
        a.message.clone(),
        a.submission,
    )
    .await?;
    if let Some(p) = &a.policy {
        check_witnessed(&receipt, &key, p)?;
    }
    println!(
        "declaration logged at index {} (checkpoint size {}, receipt verified and kept in the wallet)",
        receipt.leaf_index, receipt.tree_size
    );
    write_receipt(a.receipt_out.as_deref(), &receipt)?;
    Ok(())
}

pub async fn withdraw(a: WithdrawArgs) -> Result<()> {
    let campaign = CampaignId::from_hex(&a.campaign).context("the campaign id is 64 hex digits")?;
    if a.offline.offline {
        return crate::cmd::offline::declare_offline(
            &a.wallet,
            campaign,
            ReceiptKind::Withdrawal,
            String::new(),
            String::new(),
            &a.offline,
        )
        .await;
    }
    let server = a.server.as_deref().context("--server is required")?;
    let client = LogClient::for_declarant(server, &a.net)?;
    let policy = a
        .policy
        .as_deref()
        .map(crate::client::load_policy)
        .transpose()?;
    let key = client.log_key_or(a.log_key.as_deref()).await?;
    let c = client
        .verified_campaign(campaign, &key, policy.as_ref())
        .await?;
    let mut wallet = a.wallet.open()?;
    let receipt = make_and_submit(
        &client,
        &key,
        &mut wallet,
        campaign,
        &c,
        ReceiptKind::Withdrawal,
        String::new(),
        String::new(),
        a.submission,
    )
    .await?;
    if let Some(p) = &a.policy {
        check_witnessed(&receipt, &key, p)?;
    }
    println!(
        "withdrawal logged at index {} (receipt verified and kept in the wallet)",
        receipt.leaf_index
    );
    write_receipt(a.receipt_out.as_deref(), &receipt)?;
    Ok(())
}
