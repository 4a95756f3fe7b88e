//! `headcount declare` and `headcount withdraw`.

use anyhow::{Context, Result, anyhow, bail};
use headcount_core::CampaignId;
use headcount_core::entry::{Entry, UnverifiedDeclaration};
use headcount_core::text::to_nfc;
use headcount_wallet::{Receipt as WalletReceipt, ReceiptKind, StoredCredential, Wallet};

use crate::client::{LogClient, Receipt, check_witnessed, verify_receipt};
use crate::cmd::identity::WalletArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The log server's URL, e.g. `http://127.0.0.1:8080` (or an onion address through `ALL_PROXY=socks5h://…`).
    #[arg(long)]
    pub server: String,
    /// Campaign id.
    pub campaign: String,
    /// The public alias shown with the declaration.
    #[arg(long)]
    pub alias: String,
    #[arg(long, default_value = "")]
    pub message: String,
    /// Declare without a credential: shown and counted apart from the
    /// credible headcount; costs a proof of work the campaign sets.
    #[arg(long)]
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
}

#[derive(clap::Args)]
pub struct WithdrawArgs {
    /// The log server's URL, e.g. `http://127.0.0.1:8080` (or an onion address through `ALL_PROXY=socks5h://…`).
    #[arg(long)]
    pub server: String,
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

/// A credential in the wallet from a registrar the campaign accepts.
pub fn pick_credential<'a>(
    wallet: &'a Wallet,
    campaign: &serde_json::Value,
) -> Result<&'a StoredCredential> {
    let accepted: Vec<String> = campaign["registrars"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    wallet
        .credentials()
        .iter()
        .find(|c| accepted.contains(&hex::encode(c.registrar_id())))
        .ok_or_else(|| {
            anyhow!("no credential in this wallet is from a registrar this campaign accepts")
        })
}

async fn log_key(client: &LogClient, given: Option<String>) -> Result<String> {
    match given {
        Some(k) => Ok(k),
        None => client.log_key().await,
    }
}

/// Submits, verifies the receipt, and keeps it in the wallet.
pub async fn submit_and_keep(
    client: &LogClient,
    key: &str,
    wallet: &mut Wallet,
    campaign: CampaignId,
    kind: ReceiptKind,
    bytes: &[u8],
) -> Result<Receipt> {
    let receipt = client.submit_ok(bytes).await?;
    verify_receipt(bytes, &receipt, key)?;
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&receipt.entry_hash, &mut hash).context("receipt entry hash")?;
    wallet.add_receipt(WalletReceipt {
        campaign_id: campaign.0,
        entry_hash: hash,
        leaf_index: receipt.leaf_index,
        kind,
        tlog_proof: receipt.proof.clone(),
        entry: bytes.to_vec(),
    });
    wallet.save()?;
    Ok(receipt)
}

pub async fn run(a: Args) -> Result<()> {
    let campaign = CampaignId::from_hex(&a.campaign).context("the campaign id is 64 hex digits")?;
    let client = LogClient::new(&a.server);
    let c = client
        .get_json(&format!("/v1/campaigns/{campaign}"))
        .await?;
    if a.unverified {
        // The log may ask more work than the campaign (its admission policy).
        let difficulty = c["unverified_difficulty_required"]
            .as_u64()
            .or_else(|| c["unverified_difficulty"].as_u64())
            .unwrap_or(0)
            .min(64) as u8;
        if difficulty == 0 {
            bail!("this campaign does not accept unverified declarations");
        }
        eprintln!("computing the campaign's proof of work ({difficulty} bits)…");
        let (alias, message) = (a.alias.clone(), a.message.clone());
        let bytes = tokio::task::spawn_blocking(move || {
            unverified_entry(campaign, &alias, &message, difficulty)
        })
        .await??;
        let receipt = client.submit_ok(&bytes).await?;
        let key = log_key(&client, a.log_key).await?;
        let cp = verify_receipt(&bytes, &receipt, &key)?;
        if let Some(p) = &a.policy {
            check_witnessed(&receipt, &key, p)?;
        }
        println!(
            "unverified declaration logged at index {} (checkpoint size {}, receipt verified)",
            receipt.leaf_index, cp.size.0
        );
        return Ok(());
    }
    let mut wallet = a.wallet.open()?;
    let cred = pick_credential(&wallet, &c)?;
    let (pk, credential) = (*cred.registrar_public_key(), cred.credential().clone());
    let (alias, message) = (a.alias.clone(), a.message.clone());
    let (_, bytes) = tokio::task::spawn_blocking(move || {
        headcount_core::credentials::declaration(
            &credential,
            &pk,
            campaign,
            &alias,
            &message,
            &mut rand::rngs::OsRng,
        )
    })
    .await??;
    let key = log_key(&client, a.log_key).await?;
    let receipt = submit_and_keep(
        &client,
        &key,
        &mut wallet,
        campaign,
        ReceiptKind::Declaration,
        &bytes,
    )
    .await?;
    if let Some(p) = &a.policy {
        check_witnessed(&receipt, &key, p)?;
    }
    println!(
        "declaration logged at index {} (checkpoint size {}, receipt verified and kept in the wallet)",
        receipt.leaf_index, receipt.tree_size
    );
    Ok(())
}

pub async fn withdraw(a: WithdrawArgs) -> Result<()> {
    let campaign = CampaignId::from_hex(&a.campaign).context("the campaign id is 64 hex digits")?;
    let client = LogClient::new(&a.server);
    let c = client
        .get_json(&format!("/v1/campaigns/{campaign}"))
        .await?;
    let mut wallet = a.wallet.open()?;
    // The credential behind this wallet's latest declaration in the campaign,
    // if it holds one; otherwise any credential the campaign accepts.
    let declared = wallet
        .receipts_for_campaign(&campaign.0)
        .filter(|r| r.kind == ReceiptKind::Declaration)
        .max_by_key(|r| r.leaf_index)
        .and_then(|r| match Entry::decode(&r.entry) {
            Ok(Entry::Declaration(d)) => Some((d.registrar, d.batch)),
            _ => None,
        });
    let cred = match declared.and_then(|(r, b)| {
        wallet
            .credentials()
            .iter()
            .find(|c| c.registrar_id() == r.0 && c.batch() == b)
    }) {
        Some(c) => c,
        None => pick_credential(&wallet, &c)?,
    };
    let (pk, credential) = (*cred.registrar_public_key(), cred.credential().clone());
    let (_, bytes) = tokio::task::spawn_blocking(move || {
        headcount_core::credentials::withdrawal(&credential, &pk, campaign, &mut rand::rngs::OsRng)
    })
    .await??;
    let key = log_key(&client, a.log_key).await?;
    let receipt = submit_and_keep(
        &client,
        &key,
        &mut wallet,
        campaign,
        ReceiptKind::Withdrawal,
        &bytes,
    )
    .await?;
    if let Some(p) = &a.policy {
        check_witnessed(&receipt, &key, p)?;
    }
    println!(
        "withdrawal logged at index {} (receipt verified and kept in the wallet)",
        receipt.leaf_index
    );
    Ok(())
}
