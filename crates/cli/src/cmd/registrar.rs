//! `headcount registrar …`: a registrar's entries.

use std::path::PathBuf;

use anyhow::{Context, Result};
use headcount_core::entry::{Entry, Registrar};
use zeroize::Zeroizing;

use crate::client::{LogClient, verify_receipt};
use crate::keys::{self, RegistrarKeys};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Publish the registrar entry (keys, name, policy, contact), self-signed.
    Register {
        /// Log server URL.
        #[arg(long)]
        server: String,
        /// The registrar key file (from `headcount keygen registrar`).
        #[arg(long)]
        key: PathBuf,
        /// Display name.
        #[arg(long)]
        name: String,
        /// File with the policy text: how you check that an applicant is a real, distinct person.
        #[arg(long)]
        policy_file: PathBuf,
        /// How declarants and journalists reach you.
        #[arg(long, default_value = "")]
        contact: String,
    },
}

/// A fresh BBS key pair: (secret, public).
pub fn new_bbs_keypair() -> Result<(Zeroizing<[u8; 32]>, [u8; 96])> {
    let sk = headcount_credentials::RegistrarSecretKey::generate(&mut rand::rngs::OsRng);
    Ok((sk.to_bytes(), sk.public_key().to_bytes()))
}

/// Derives the BBS public key from its secret.
pub fn bbs_public(secret: &[u8; 32]) -> Result<[u8; 96]> {
    let sk = headcount_credentials::RegistrarSecretKey::from_bytes(secret)
        .context("the BBS secret key is invalid")?;
    Ok(sk.public_key().to_bytes())
}

/// Loads a registrar key file.
pub fn load(path: &std::path::Path) -> Result<RegistrarKeys> {
    keys::load_registrar(path, bbs_public)
}

/// Builds the signed registrar entry.
pub fn registrar_entry(
    k: &RegistrarKeys,
    name: &str,
    policy: &str,
    contact: &str,
) -> Result<(Entry, Vec<u8>)> {
    let e = Entry::Registrar(Registrar {
        signing_key: k.signing.verifying_key().to_bytes(),
        bbs_key: k.bbs_public,
        name: headcount_core::text::to_nfc(name),
        policy: headcount_core::text::to_nfc(policy.trim_end()),
        contact: headcount_core::text::to_nfc(contact),
        signature: [0; 64],
    });
    e.sign(&k.signing).context("the registrar entry is not valid")
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::Register {
            server,
            key,
            name,
            policy_file,
            contact,
        } => {
            let k = load(&key)?;
            let policy = std::fs::read_to_string(&policy_file)
                .with_context(|| format!("reading {}", policy_file.display()))?;
            let (entry, bytes) = registrar_entry(&k, &name, &policy, &contact)?;
            let Entry::Registrar(r) = &entry else {
                unreachable!("built a registrar entry")
            };
            let client = LogClient::new(&server);
            let receipt = client.submit_ok(&bytes).await?;
            let cp = verify_receipt(&bytes, &receipt, &client.log_key().await?)?;
            println!("registrar id: {}", r.id());
            println!(
                "logged at index {} (checkpoint size {}, receipt verified)",
                receipt.leaf_index, cp.size.0
            );
        }
    }
    Ok(())
}
