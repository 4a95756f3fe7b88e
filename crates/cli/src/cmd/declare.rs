//! `headcount declare`: make a declaration.

use anyhow::{Context, Result, bail};
use headcount_core::CampaignId;
use headcount_core::entry::{Entry, UnverifiedDeclaration};
use headcount_core::text::to_nfc;

use crate::client::{LogClient, verify_receipt};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub server: String,
    /// Campaign id.
    #[arg(long)]
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
    /// The log's public key; default: ask the server (trust on first use).
    #[arg(long)]
    pub log_key: Option<String>,
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

pub async fn run(a: Args) -> Result<()> {
    if !a.unverified {
        bail!(
            "credentialed declarations need a credential from a registrar; this build declares with --unverified only"
        );
    }
    let campaign = CampaignId::from_hex(&a.campaign).context("--campaign is 64 hex digits")?;
    let client = LogClient::new(&a.server);
    let c = client
        .get_json(&format!("/v1/campaigns/{campaign}"))
        .await?;
    let difficulty = c["unverified_difficulty"].as_u64().unwrap_or(0) as u8;
    if difficulty == 0 {
        bail!("this campaign does not accept unverified declarations");
    }
    eprintln!("computing the campaign's proof of work ({difficulty} bits)…");
    let bytes = tokio::task::spawn_blocking({
        let (alias, message) = (a.alias.clone(), a.message.clone());
        move || unverified_entry(campaign, &alias, &message, difficulty)
    })
    .await??;
    let receipt = client.submit_ok(&bytes).await?;
    let key = match a.log_key {
        Some(k) => k,
        None => client.log_key().await?,
    };
    let cp = verify_receipt(&bytes, &receipt, &key)?;
    println!(
        "unverified declaration logged at index {} (checkpoint size {}, receipt verified)",
        receipt.leaf_index, cp.size.0
    );
    Ok(())
}
