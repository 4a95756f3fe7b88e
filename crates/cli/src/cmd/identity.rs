//! `headcount identity …`: the declarant's secret and wallet.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use headcount_wallet::{Params, Passphrase, ReceiptKind, Wallet};

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
        /// Also create a decoy identity in the same file, opened by a second
        /// passphrase: give that one up under coercion. The file looks the
        /// same with one identity or two, and the decoy reveals nothing of the
        /// other (see docs/threat-model.md, "Decoy passphrase").
        #[arg(long)]
        decoy: bool,
        /// With --decoy: read the decoy passphrase from this file (first
        /// line) instead of the terminal.
        #[arg(long, requires = "decoy")]
        decoy_passphrase_file: Option<PathBuf>,
    },
    /// Show what the wallet holds (after unlocking it).
    Show {
        #[command(flatten)]
        wallet: WalletArgs,
        /// The log server's URL: also show each campaign's title.
        #[arg(long)]
        server: Option<String>,
    },
    /// Print the receipt (a c2sp.org/tlog-proof@v1 text) of your latest
    /// entry in CAMPAIGN, as the dashboard's /verify-receipt page takes it.
    Receipt {
        /// Campaign id.
        campaign: String,
        #[command(flatten)]
        wallet: WalletArgs,
        /// Write it to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
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
    /// or rewrote one of your entries fails this check. Nothing it asks the
    /// server depends on which entries are yours.
    Check {
        #[command(flatten)]
        wallet: WalletArgs,
        /// The log server's URL.
        #[arg(long)]
        server: String,
        /// The log's public key (signed-note form).
        #[arg(long)]
        log_key: String,
        /// A C2SP tlog-policy file: receipts whose checkpoints carry its
        /// quorum of witness cosignatures are checked with the log's current
        /// (cosigned) checkpoint alone; otherwise the whole tree's hash tiles
        /// are fetched. Either way, nothing asked depends on your entries.
        #[arg(long)]
        policy: Option<PathBuf>,
        #[command(flatten)]
        net: crate::client::NetArgs,
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
    /// The passphrase: from the file, or asked without echo. A new
    /// passphrase whose confirmation differs is asked for again.
    pub fn passphrase(&self, new: bool) -> Result<Passphrase> {
        if let Some(f) = &self.passphrase_file {
            return Passphrase::from_file(f)
                .with_context(|| format!("reading the passphrase from {}", f.display()));
        }
        // The prompt reads the controlling terminal, whatever stdin is.
        if std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_err()
        {
            anyhow::bail!(
                "no terminal to ask for the passphrase on: pass --passphrase-file FILE (its first line is the passphrase)"
            );
        }
        if !new {
            return Ok(Passphrase::prompt("Passphrase: ")?);
        }
        for _ in 0..3 {
            match Passphrase::prompt_new("New passphrase (5 or more random words): ", "Again: ") {
                Err(headcount_wallet::Error::PassphraseMismatch) => {
                    eprintln!("The two passphrases differ; try again.")
                }
                r => return Ok(r?),
            }
        }
        anyhow::bail!("the passphrases differed three times; nothing was created")
    }

    /// Opens the wallet: says plainly when there is none, before asking for
    /// a passphrase.
    pub fn open(&self) -> Result<Wallet> {
        if !self.wallet.exists() {
            anyhow::bail!(
                "no wallet at {} — create one with `headcount identity new --wallet {}`, or pass --wallet PATH",
                self.wallet.display(),
                self.wallet.display()
            );
        }
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
            policy,
            net,
        } => {
            let client = crate::client::LogClient::for_declarant(&server, &net)?;
            let policy = policy
                .as_deref()
                .map(crate::client::load_policy)
                .transpose()?;
            let w = wallet.open()?;
            let (ok, bad) = check_receipts(&client, &w, &log_key, policy.as_ref()).await?;
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
            decoy,
            decoy_passphrase_file,
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
            if decoy {
                let decoy_pass = match (decoy_passphrase_file, &wallet.passphrase_file) {
                    (Some(f), _) => Passphrase::from_file(&f).with_context(|| {
                        format!("reading the decoy passphrase from {}", f.display())
                    })?,
                    (None, Some(_)) => anyhow::bail!(
                        "--decoy with --passphrase-file needs --decoy-passphrase-file too; nothing was created"
                    ),
                    (None, None) => {
                        eprintln!(
                            "Now the DECOY passphrase: the one to give up if you are forced to."
                        );
                        wallet.passphrase(true)?
                    }
                };
                decoy_pass.check_strength(&[&name, "headcount"])?;
                let (w, _) = Wallet::create_with_decoy(&wallet.wallet, &pass, &decoy_pass, params)?;
                println!(
                    "created {} with two identities, each opened by its own passphrase (encrypted; \
                     the file looks the same as one with a single identity; back it up and remember both)",
                    w.path().display()
                );
            } else {
                let w = Wallet::create(&wallet.wallet, &pass, params)?;
                println!(
                    "created {} (encrypted; back up this file and remember the passphrase)",
                    w.path().display()
                );
            }
        }
        Command::Show { wallet, server } => {
            let w = wallet.open()?;
            let client = server.as_deref().map(crate::client::LogClient::new);
            println!("wallet {}", w.path().display());
            for c in w.credentials() {
                println!(
                    "credential: registrar {} issued in {}",
                    hex::encode(c.registrar_id()),
                    c.period()
                );
            }
            for p in w.pending_issuances() {
                println!(
                    "pending request {} to registrar {}",
                    hex::encode(p.request_id),
                    hex::encode(p.registrar_id)
                );
            }
            for e in w.pending_entries() {
                let what = match e.kind {
                    ReceiptKind::Declaration => "declaration",
                    ReceiptKind::Withdrawal => "withdrawal",
                };
                println!(
                    "pending     {what} in campaign {} made {} UTC, not yet in the log: the next declare/withdraw there resubmits it (or `offline confirm`)",
                    hex::encode(e.campaign_id),
                    crate::cmd::fmt_time(e.created)
                );
            }
            let mut receipts: Vec<_> = w.receipts().iter().collect();
            receipts.sort_by_key(|r| r.leaf_index);
            for (i, r) in receipts.iter().enumerate() {
                let earlier = receipts[..i]
                    .iter()
                    .any(|e| e.campaign_id == r.campaign_id && e.kind == ReceiptKind::Declaration);
                let what = match r.kind {
                    ReceiptKind::Declaration if earlier => "re-declared",
                    ReceiptKind::Declaration => "declared",
                    ReceiptKind::Withdrawal => "withdrew",
                };
                let when = headcount_tlog::TlogProof::parse(r.tlog_proof.as_bytes())
                    .ok()
                    .and_then(|p| p.extra)
                    .and_then(|h| {
                        let mut leaf = h;
                        leaf.extend_from_slice(&r.entry);
                        headcount_core::Leaf::decode(&leaf).ok()
                    })
                    .map(|l| format!("{} UTC", crate::cmd::fmt_time(l.timestamp.0)))
                    .unwrap_or_else(|| "time unknown".into());
                let campaign = hex::encode(r.campaign_id);
                let title = match &client {
                    Some(c) => c
                        .get_json(&format!("/v1/campaigns/{campaign}"))
                        .await
                        .ok()
                        .and_then(|v| v["texts"][0]["title"].as_str().map(|t| format!(" \"{t}\"")))
                        .unwrap_or_default(),
                    None => String::new(),
                };
                println!(
                    "{what:<11} campaign {campaign}{title}  leaf {}  {when}",
                    r.leaf_index
                );
            }
            if !receipts.is_empty() && client.is_none() {
                println!(
                    "(pass --server URL to see campaign titles; `identity receipt CAMPAIGN` prints a receipt)"
                );
            }
        }
        Command::Receipt {
            campaign,
            wallet,
            out,
        } => {
            let id = headcount_core::CampaignId::from_hex(&campaign)
                .context("the campaign id is 64 hex digits")?;
            let w = wallet.open()?;
            let r = w
                .receipts_for_campaign(&id.0)
                .max_by_key(|r| r.leaf_index)
                .ok_or_else(|| anyhow::anyhow!("this wallet holds no entry in campaign {id}"))?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &r.tlog_proof)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!(
                        "wrote the receipt for leaf {} to {} (paste it into the dashboard's /verify-receipt page)",
                        r.leaf_index,
                        path.display()
                    );
                }
                None => print!("{}", r.tlog_proof),
            }
        }
    }
    Ok(())
}

/// Checks every receipt in the wallet against the log's current checkpoint:
/// (receipts still in the log, receipts that are not).
///
/// No request depends on which leaves are this wallet's. With a witness
/// `policy`, only `/checkpoint` is fetched: a receipt whose checkpoint carries
/// the quorum, and a current checkpoint with the quorum at least as large,
/// prove the entry is still in the log, because witnesses cosign only
/// consistent extensions of what they cosigned before. Otherwise (and for a
/// receipt without the quorum) every hash tile of the current tree is
/// fetched — the same set for everyone at that size — checked against the
/// signed checkpoint, and the proofs are computed here.
pub async fn check_receipts(
    client: &crate::client::LogClient,
    wallet: &Wallet,
    log_key: &str,
    policy: Option<&headcount_cosignature::Policy>,
) -> Result<(usize, usize)> {
    use headcount_tlog::{
        LeafIndex, LogVerifier, MemoryTiles, TlogProof, consistency_proof, inclusion_proof,
        leaf_hash, verify_consistency, verify_inclusion,
    };
    let verifier = LogVerifier::from_vkey(log_key).context("parsing the log key")?;
    let (note, latest) = client.checkpoint(log_key).await?;
    let cosigner = headcount_cosignature::LogVerifier::from_vkey(log_key)
        .map_err(|e| anyhow::anyhow!("the log key: {e}"))?;
    let latest_witnessed = match policy {
        Some(p) => match p.check_with_log(&note, &cosigner) {
            Ok(_) => true,
            Err(e) => {
                println!(
                    "the log's current checkpoint does not satisfy the witness policy ({e}); checking against the whole tree instead"
                );
                false
            }
        },
        None => false,
    };
    // Without witnesses the whole tree is fetched whatever the wallet holds
    // (even nothing), so the requests are the same for every wallet.
    let mut tiles: Option<MemoryTiles> = if latest_witnessed {
        None
    } else {
        Some(client.hash_tiles(latest.size, latest.root).await?)
    };
    let (mut ok, mut bad, mut by_witnesses) = (0, 0, 0);
    for r in wallet.receipts() {
        let result: Result<bool> = async {
            let proof = TlogProof::parse(r.tlog_proof.as_bytes())?;
            let mut leaf = proof.extra.clone().unwrap_or_default();
            leaf.extend_from_slice(&r.entry);
            let lh = leaf_hash(&leaf);
            // The receipt itself: the entry is in the receipt's signed checkpoint.
            let then = proof
                .verify(lh, &verifier)
                .map_err(|e| anyhow::anyhow!("the receipt does not verify: {e}"))?;
            if proof.index.0 != r.leaf_index {
                anyhow::bail!("the receipt's index disagrees with its proof");
            }
            if then.size.0 > latest.size.0 {
                anyhow::bail!(
                    "the log's current tree ({}) is smaller than the receipt's ({}): the log was rolled back",
                    latest.size.0,
                    then.size.0
                );
            }
            if then.size.0 == latest.size.0 && then.root != latest.root {
                anyhow::bail!("the log's current tree differs from the receipt's at the same size: a fork");
            }
            if latest_witnessed
                && let Some(p) = policy
                && p.check_with_log(&proof.checkpoint, &cosigner).is_ok()
            {
                // Both checkpoints carry the quorum; the witnesses cosigned
                // only consistent extensions, so the entry is still there.
                return Ok(true);
            }
            if tiles.is_none() {
                tiles = Some(client.hash_tiles(latest.size, latest.root).await?);
            }
            let t = tiles.as_ref().expect("fetched above");
            let c = consistency_proof(t, then.size, latest.size, latest.root)?;
            verify_consistency(then.size, then.root, latest.size, latest.root, &c).map_err(
                |_| anyhow::anyhow!("the log's current tree does not extend the receipt's checkpoint"),
            )?;
            let i = inclusion_proof(t, latest.size, latest.root, LeafIndex(r.leaf_index))?;
            verify_inclusion(lh, LeafIndex(r.leaf_index), latest.size, latest.root, &i)
                .map_err(|_| anyhow::anyhow!("the entry is not at its index in the current tree"))?;
            Ok(false)
        }
        .await;
        match result {
            Ok(witnessed) => {
                ok += 1;
                if witnessed {
                    by_witnesses += 1;
                }
            }
            Err(e) => {
                bad += 1;
                let kind = match r.kind {
                    ReceiptKind::Declaration => "declaration",
                    ReceiptKind::Withdrawal => "withdrawal",
                };
                println!("receipt for leaf {} ({kind}): {e:#}", r.leaf_index);
            }
        }
    }
    if by_witnesses > 0 {
        println!(
            "{by_witnesses} receipts checked by witness cosignatures: their checkpoints and the current one (size {}) carry the policy's quorum, and witnesses cosign only consistent extensions",
            latest.size.0
        );
    }
    if tiles.is_some() {
        println!(
            "checked against the whole tree of size {} (every hash tile fetched, as anyone would)",
            latest.size.0
        );
    }
    Ok((ok, bad))
}
