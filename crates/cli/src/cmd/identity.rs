//! `headcount identity …`: the declarant's secret and wallet.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use headcount_wallet::{Params, Passphrase, Wallet};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a new identity: a passphrase-protected, encrypted wallet file.
    New {
        #[command(flatten)]
        wallet: WalletArgs,
        /// Use a deliberately weak Argon2id setting (tests and demos only:
        /// a seized wallet could then be brute-forced quickly).
        #[arg(long)]
        insecure_fast_kdf: bool,
    },
    /// Show what the wallet holds (after unlocking it).
    Show {
        #[command(flatten)]
        wallet: WalletArgs,
    },
    /// Verify every receipt in this wallet offline, against the log key alone:
    /// each entry is included in a checkpoint the log signed. Nothing is sent
    /// anywhere, so nobody learns which entries you care about (checking a
    /// receipt on the operator's website tells the operator).
    VerifyReceipts {
        #[command(flatten)]
        wallet: WalletArgs,
        /// The log's public key (signed-note form).
        #[arg(long)]
        log_key: String,
    },
    /// Check that every declaration and withdrawal this wallet made is still
    /// in the log: each receipt's checkpoint must be consistent with the
    /// log's current one, and the entry included in it. A log that dropped
    /// or rewrote one of your entries fails this check.
    Check {
        #[command(flatten)]
        wallet: WalletArgs,
        /// The log server's URL.
        #[arg(long)]
        server: String,
        /// The log's public key (signed-note form).
        #[arg(long)]
        log_key: String,
    },
}

/// Where the wallet is and how to unlock it.
#[derive(clap::Args, Clone)]
pub struct WalletArgs {
    /// The wallet file.
    #[arg(long, default_value = "headcount.wallet")]
    pub wallet: PathBuf,
    /// Read the passphrase from this file (first line) instead of the terminal.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

impl WalletArgs {
    /// The passphrase: from the file, or asked without echo.
    pub fn passphrase(&self, new: bool) -> Result<Passphrase> {
        Ok(match &self.passphrase_file {
            Some(f) => Passphrase::from_file(f)
                .with_context(|| format!("reading the passphrase from {}", f.display()))?,
            None if new => {
                Passphrase::prompt_new("New passphrase (5 or more random words): ", "Again: ")?
            }
            None => Passphrase::prompt("Passphrase: ")?,
        })
    }

    /// Opens the wallet.
    pub fn open(&self) -> Result<Wallet> {
        open_wallet(&self.wallet, &self.passphrase(false)?)
    }
}

/// Opens a wallet with a clear error.
pub fn open_wallet(path: &Path, pass: &Passphrase) -> Result<Wallet> {
    Wallet::open(path, pass).with_context(|| format!("opening {}", path.display()))
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::VerifyReceipts { wallet, log_key } => {
            let w = wallet.open()?;
            let mut bad = 0;
            for r in w.receipts() {
                match headcount_audit::verify_receipt(&r.entry, r.tlog_proof.as_bytes(), &log_key) {
                    Ok((index, cp)) => println!(
                        "ok   leaf {} in checkpoint {} (campaign {})",
                        index.0,
                        cp.size.0,
                        hex::encode(r.campaign_id)
                    ),
                    Err(e) => {
                        bad += 1;
                        println!("BAD  leaf {}: {e}", r.leaf_index);
                    }
                }
            }
            if bad > 0 {
                anyhow::bail!("{bad} receipt(s) do not verify against this log key");
            }
        }
        Command::Check {
            wallet,
            server,
            log_key,
        } => {
            let w = wallet.open()?;
            let client = crate::client::LogClient::new(&server);
            let (ok, bad) = check_receipts(&client, &w, &log_key).await?;
            println!(
                "{ok} receipts still in the log{}",
                if bad > 0 {
                    format!(", {bad} NOT")
                } else {
                    String::new()
                }
            );
            if bad > 0 {
                std::process::exit(2);
            }
        }
        Command::New {
            wallet,
            insecure_fast_kdf,
        } => {
            let params = if insecure_fast_kdf {
                Params::insecure_for_tests()
            } else {
                Params::recommended()
            };
            if params.is_below_recommended() {
                eprintln!(
                    "warning: this wallet uses a weak key-derivation setting; never use it for real"
                );
            }
            let pass = wallet.passphrase(true)?;
            let name = wallet.wallet.to_string_lossy();
            pass.check_strength(&[&name, "headcount"])?;
            let w = Wallet::create(&wallet.wallet, &pass, params)?;
            println!(
                "created {} (encrypted; back up this file and remember the passphrase)",
                w.path().display()
            );
        }
        Command::Show { wallet } => {
            let w = wallet.open()?;
            println!("wallet {}", w.path().display());
            for c in w.credentials() {
                println!(
                    "credential: registrar {} batch {}",
                    hex::encode(c.registrar_id()),
                    c.batch()
                );
            }
            for p in w.pending_issuances() {
                println!(
                    "pending request {} to registrar {}",
                    hex::encode(p.request_id),
                    hex::encode(p.registrar_id)
                );
            }
            for r in w.receipts() {
                println!(
                    "{:?} in campaign {} at leaf {}",
                    r.kind,
                    hex::encode(r.campaign_id),
                    r.leaf_index
                );
            }
        }
    }
    Ok(())
}

/// Checks every receipt in the wallet against the log's current checkpoint:
/// (receipts still in the log, receipts that are not).
pub async fn check_receipts(
    client: &crate::client::LogClient,
    wallet: &Wallet,
    log_key: &str,
) -> Result<(usize, usize)> {
    use base64::Engine;
    use headcount_tlog::{
        Hash, LeafIndex, LogVerifier, TlogProof, TreeSize, leaf_hash, verify_consistency,
        verify_inclusion,
    };
    let verifier = LogVerifier::from_vkey(log_key).context("parsing the log key")?;
    let resp = client
        .http
        .get(format!("{}/checkpoint", client.base))
        .send()
        .await?;
    let note = crate::client::read_limited(resp, 64 * 1024).await?;
    let latest = verifier
        .verify(&note)
        .context("the log's current checkpoint")?;
    let hashes = |v: &serde_json::Value| -> Result<Vec<Hash>> {
        v["proof"]
            .as_array()
            .map(|a| a.iter().filter_map(|h| h.as_str()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|h| {
                let b = base64::engine::general_purpose::STANDARD.decode(h)?;
                Ok(Hash(b.try_into().map_err(|_| {
                    anyhow::anyhow!("a proof hash is 32 bytes")
                })?))
            })
            .collect()
    };
    let (mut ok, mut bad) = (0, 0);
    for r in wallet.receipts() {
        let result: Result<()> = async {
            let proof = TlogProof::parse(r.tlog_proof.as_bytes())?;
            let then = verifier.verify(&proof.checkpoint)?;
            let mut leaf = proof.extra.clone().unwrap_or_default();
            leaf.extend_from_slice(&r.entry);
            if then.size.0 != latest.size.0 {
                let c = client
                    .get_json(&format!(
                        "/v1/proof/consistency?old_size={}&tree_size={}",
                        then.size.0, latest.size.0
                    ))
                    .await?;
                verify_consistency(then.size, then.root, latest.size, latest.root, &hashes(&c)?)
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "the log's current tree does not extend the receipt's checkpoint"
                        )
                    })?;
            }
            let i = client
                .get_json(&format!(
                    "/v1/proof/inclusion?index={}&tree_size={}",
                    r.leaf_index, latest.size.0
                ))
                .await?;
            verify_inclusion(
                leaf_hash(&leaf),
                LeafIndex(r.leaf_index),
                TreeSize(latest.size.0),
                latest.root,
                &hashes(&i)?,
            )
            .map_err(|_| anyhow::anyhow!("the entry is not at its index in the current tree"))?;
            Ok(())
        }
        .await;
        match result {
            Ok(()) => ok += 1,
            Err(e) => {
                bad += 1;
                println!("receipt for leaf {} ({:?}): {e:#}", r.leaf_index, r.kind);
            }
        }
    }
    Ok((ok, bad))
}
