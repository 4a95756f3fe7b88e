//! `headcount vouch`: a registrar declares on behalf of a person it checked.

use std::path::PathBuf;

use anyhow::{Context, Result};
use headcount_core::entry::{Entry, VouchedDeclaration};
use headcount_core::text::to_nfc;
use headcount_core::{CampaignId, RegistrarId, VouchReference};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::client::{LogClient, verify_receipt};
use crate::cmd::registrar;

#[derive(clap::Args)]
pub struct Args {
    /// The log server's URL, e.g. `http://127.0.0.1:8080` (or an onion address through `ALL_PROXY=socks5h://…`).
    #[arg(long)]
    pub server: String,
    /// The registrar key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The registrar id (64 hex); default: the `.id` file written by
    /// `registrar register` next to the key file (`registrar.key` → `registrar.id`).
    #[arg(long)]
    pub registrar: Option<String>,
    /// Campaign id.
    #[arg(long)]
    pub campaign: String,
    /// Your own record of the person (a case number). It never leaves this
    /// machine: the log sees only a keyed hash of it, one per person per
    /// campaign, so vouching twice for one person replaces, not adds.
    #[arg(long)]
    pub person: String,
    /// The public alias shown with the declaration.
    #[arg(long)]
    pub alias: String,
    #[arg(long, default_value = "")]
    pub message: String,
    /// The log's public key; default: ask the server (trust on first use).
    #[arg(long)]
    pub log_key: Option<String>,
    /// Also write the receipt (a c2sp.org/tlog-proof@v1 text, which the
    /// dashboard's /verify-receipt page checks) to this file.
    #[arg(long, value_name = "FILE")]
    pub receipt_out: Option<PathBuf>,
}

/// The opaque reference: HMAC-SHA256 keyed with the registrar's signing seed
/// over a context string, the campaign id and the person's local record.
pub fn reference(seed: &[u8; 32], campaign: &CampaignId, person: &str) -> VouchReference {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(seed).expect("HMAC takes any key length");
    mac.update(b"headcount vouch reference v1\n");
    mac.update(&campaign.0);
    mac.update(person.as_bytes());
    VouchReference(mac.finalize().into_bytes().into())
}

/// Builds the signed vouched declaration.
pub fn vouched_entry(
    key: &ed25519_dalek::SigningKey,
    registrar: RegistrarId,
    campaign: CampaignId,
    person: &str,
    alias: &str,
    message: &str,
) -> Result<Vec<u8>> {
    let e = Entry::VouchedDeclaration(VouchedDeclaration {
        campaign,
        registrar,
        reference: reference(&key.to_bytes(), &campaign, person),
        alias: to_nfc(alias),
        message: to_nfc(message),
        signature: [0; 64],
    });
    Ok(e.sign(key).context("the declaration is not valid")?.1)
}

pub async fn run(a: Args) -> Result<()> {
    let k = registrar::load(&a.key)?;
    let registrar = registrar::registrar_id(a.registrar.as_deref(), Some(&a.key))?;
    let campaign = CampaignId::from_hex(&a.campaign).context("--campaign is 64 hex digits")?;
    let bytes = vouched_entry(
        &k.signing, registrar, campaign, &a.person, &a.alias, &a.message,
    )?;
    let client = LogClient::new(&a.server);
    let receipt = client.submit_ok(&bytes).await?;
    let key = match a.log_key {
        Some(k) => k,
        None => client.log_key().await?,
    };
    let cp = verify_receipt(&bytes, &receipt, &key)?;
    println!(
        "vouched declaration logged at index {} (checkpoint size {}, receipt verified)",
        receipt.leaf_index, cp.size.0
    );
    crate::cmd::declare::write_receipt(a.receipt_out.as_deref(), &receipt)?;
    Ok(())
}
