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

pub fn run(c: Command) -> Result<()> {
    match c {
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
