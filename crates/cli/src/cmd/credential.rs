//! `headcount credential …`: the declarant's side of credential issuance.
//!
//! The wallet makes a blind request: a commitment to the declarant's secret with a proof of
//! knowledge. The registrar signs it without learning the secret, so neither the registrar nor
//! anyone else can link the credential to the pseudonyms it later produces (one per campaign,
//! unlinkable across campaigns). The pending request's secret state is saved in the encrypted
//! wallet **before** the request leaves the machine, so a crash or a lost connection never loses
//! a credential the registrar signed.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use headcount_core::RegistrarId;
use headcount_credentials::RegistrarPublicKey;
use headcount_registrar::{CredentialRequest, CredentialResponse, RequestId, Status, client};
use headcount_wallet::Wallet;

use crate::client::{LogClient, NetArgs};
use crate::cmd::identity::WalletArgs;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Ask a registrar for a credential: as a file to hand over (`--out`), or online
    /// (`--registrar-url`, optionally `--wait`ing for the registrar's approval).
    ///
    /// For declarants, after (or before) the registrar's out-of-band check that you are a
    /// real, distinct person. The request reveals nothing about your secret or your future
    /// declarations: it is a blinded commitment. Its id is printed so the registrar can match
    /// it to you. The request's secret state is saved in your wallet before anything is sent.
    Request {
        #[command(flatten)]
        wallet: WalletArgs,
        /// The registrar's id (64 hex), as published in the log.
        #[arg(long)]
        registrar: String,
        /// Offline: write the request file here, for the registrar's `registrar issue`.
        #[arg(
            long,
            conflicts_with = "registrar_url",
            required_unless_present = "registrar_url"
        )]
        out: Option<PathBuf>,
        /// Online: submit to this registrar service (its public API URL).
        #[arg(long)]
        registrar_url: Option<String>,
        /// Online: wait for the registrar's decision, then finish the credential (needs `--server`).
        #[arg(long, requires = "registrar_url", requires = "server")]
        wait: bool,
        /// The log server, where the registrar's public key is looked up (with `--wait`).
        #[arg(long)]
        server: Option<String>,
        /// How often to poll while waiting, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        poll_interval_ms: u64,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Finish a credential from the registrar's response file (offline issuance).
    ///
    /// The registrar's BBS public key is taken from the log (`/v1/registrars/{id}`), so a
    /// response signed by any other key is refused; the blind signature is verified before
    /// the credential is stored in the wallet. Nothing is sent but that public look-up.
    Finish {
        #[command(flatten)]
        wallet: WalletArgs,
        /// The response file from `headcount registrar issue`.
        #[arg(long)]
        response: PathBuf,
        /// The log server, where the registrar's public key is looked up.
        #[arg(long)]
        server: String,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Poll a registrar service for this wallet's pending requests and finish those approved.
    ///
    /// Sends only the request ids the service already has. Rejected requests are removed from
    /// the wallet (with the registrar's reason printed); requests the service does not know
    /// (e.g. offline ones) are left alone.
    Status {
        #[command(flatten)]
        wallet: WalletArgs,
        /// The registrar service's public API URL.
        #[arg(long)]
        registrar_url: String,
        /// The log server, where the registrar's public key is looked up.
        #[arg(long)]
        server: String,
        /// Keep polling until no request known to the service is pending.
        #[arg(long)]
        wait: bool,
        /// How often to poll while waiting, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        poll_interval_ms: u64,
        #[command(flatten)]
        net: NetArgs,
    },
}

/// A client for the registrar service at `url` (through the proxy, as for the log).
fn http(net: &NetArgs, url: &str) -> Result<reqwest::Client> {
    net.client(url, Duration::from_secs(60))
}

/// The registrar's BBS public key, from its logged entry: the entry must hash
/// to `rid` (so the key is the one the id names) and be in a signed checkpoint.
async fn registrar_key(log: &LogClient, rid: RegistrarId) -> Result<(RegistrarPublicKey, String)> {
    // The registrar id, given by the declarant, is what authenticates the key;
    // the log key here only proves the entry was logged (trust on first use).
    let key = log.log_key().await?;
    let (r, _) = log.verified_registrar(rid, &key, None).await?;
    let pk = RegistrarPublicKey::from_bytes(&r.bbs_key)
        .map_err(|e| anyhow!("the registrar's BBS key is invalid: {e}"))?;
    Ok((pk, r.name))
}

/// Turns a response into a credential in the wallet, and saves it.
async fn finish(wallet: &mut Wallet, log: &LogClient, resp: &CredentialResponse) -> Result<()> {
    let pending = wallet
        .pending_issuances()
        .iter()
        .find(|p| p.request_id == resp.request_id)
        .ok_or_else(|| {
            anyhow!(
                "this wallet has no pending request {} (already finished, or made with another wallet)",
                hex::encode(resp.request_id)
            )
        })?;
    if pending.registrar_id != resp.registrar.0 {
        bail!(
            "the response is signed as registrar {}, but the request was for registrar {}",
            resp.registrar,
            hex::encode(pending.registrar_id)
        );
    }
    let (pk, name) = registrar_key(log, resp.registrar).await?;
    wallet
        .finish_issuance(
            &resp.request_id,
            &pk,
            &resp.blind_signature,
            &resp.attributes(),
            crate::cmd::issuance_now(),
        )
        .map_err(|e| {
            anyhow!("the response does not finish the request (the request stays pending): {e}")
        })?;
    wallet.save().context("saving the wallet")?;
    println!(
        "credential stored: registrar {} (\"{name}\"), issued in {}",
        resp.registrar, resp.period
    );
    println!(
        "it can be used once the registrar has logged how many credentials it issued in {} \
         (after the month ends), with at least {} in that month",
        resp.period,
        headcount_core::entry::limits::MIN_ANONYMITY
    );
    Ok(())
}

/// What polling one request came to.
pub(crate) enum Polled {
    Pending,
    Done,
    Unknown,
}

pub(crate) async fn poll_one(
    wallet: &mut Wallet,
    log: &LogClient,
    http: &reqwest::Client,
    url: &str,
    id: &RequestId,
) -> Result<Polled> {
    match client::poll(http, url, id).await {
        Ok(Status::Pending) => Ok(Polled::Pending),
        Ok(Status::Approved { response }) => {
            finish(wallet, log, &response).await?;
            Ok(Polled::Done)
        }
        Ok(Status::Rejected { reason }) => {
            drop(wallet.take_pending(id));
            wallet.save().context("saving the wallet")?;
            bail!(
                "the registrar rejected request {}: {reason}",
                hex::encode(id)
            )
        }
        Err(e) if e.code() == "not_found" => Ok(Polled::Unknown),
        Err(e) => Err(anyhow!("polling request {}: {e}", hex::encode(id))),
    }
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::Request {
            wallet,
            registrar,
            out,
            registrar_url,
            wait,
            server,
            poll_interval_ms,
            net,
        } => {
            // Refuse an unsafe route before anything is saved or sent.
            if let Some(u) = &registrar_url {
                net.route(u)?;
            }
            if let Some(s) = &server {
                net.route(s)?;
            }
            let rid = RegistrarId::from_hex(registrar.trim())
                .ok_or_else(|| anyhow!("{registrar:?} is not a registrar id (64 hex digits)"))?;
            let mut w = wallet.open()?;
            let req = w
                .start_issuance(rid.0, None)
                .context("making the request")?;
            // The secret state is durable before the request leaves this machine.
            w.save().context("saving the wallet")?;
            let doc = CredentialRequest::new(rid, None, req);
            let id = doc.request_id();
            println!("request id: {}", hex::encode(id));
            if let Some(out) = out {
                crate::cmd::registrar::write_file(&out, doc.to_json().as_bytes())?;
                println!(
                    "wrote {}: give it to the registrar, then run `headcount credential finish` on its response",
                    out.display()
                );
                return Ok(());
            }
            let url = registrar_url.expect("clap: --out or --registrar-url");
            let http = http(&net, &url)?;
            client::submit_request(&http, &url, &doc)
                .await
                .map_err(|e| {
                    anyhow!("submitting to {url}: {e} (the request stays pending in the wallet)")
                })?;
            println!("submitted; the registrar approves it after checking you out of band");
            if !wait {
                println!("run `headcount credential status` later to finish it");
                return Ok(());
            }
            let log =
                LogClient::for_declarant(&server.expect("clap: --wait requires --server"), &net)?;
            loop {
                match poll_one(&mut w, &log, &http, &url, &id).await? {
                    Polled::Done => return Ok(()),
                    Polled::Unknown => bail!("the registrar service no longer knows this request"),
                    Polled::Pending => {
                        tokio::time::sleep(Duration::from_millis(poll_interval_ms.max(10))).await
                    }
                }
            }
        }
        Command::Finish {
            wallet,
            response,
            server,
            net,
        } => {
            let log = LogClient::for_declarant(&server, &net)?;
            let bytes = std::fs::read(&response)
                .with_context(|| format!("reading {}", response.display()))?;
            if bytes.len() > headcount_registrar::wire::MAX_WIRE_LEN {
                bail!("{} is too large to be a response", response.display());
            }
            let resp = CredentialResponse::from_json(&bytes)
                .map_err(|e| anyhow!("{}: {e} ({})", response.display(), e.code()))?;
            let mut w = wallet.open()?;
            finish(&mut w, &log, &resp).await?;
        }
        Command::Status {
            wallet,
            registrar_url,
            server,
            wait,
            poll_interval_ms,
            net,
        } => {
            let log = LogClient::for_declarant(&server, &net)?;
            let http = http(&net, &registrar_url)?;
            let mut w = wallet.open()?;
            let mut ids: Vec<RequestId> =
                w.pending_issuances().iter().map(|p| p.request_id).collect();
            if ids.is_empty() {
                println!("no pending request in this wallet");
                return Ok(());
            }
            let mut failed = None;
            loop {
                let mut still = Vec::new();
                for id in &ids {
                    match poll_one(&mut w, &log, &http, &registrar_url, id).await {
                        Ok(Polled::Pending) => still.push(*id),
                        Ok(Polled::Done) => {}
                        Ok(Polled::Unknown) => println!(
                            "request {}: not known to this service (offline, or another registrar)",
                            hex::encode(id)
                        ),
                        Err(e) => {
                            eprintln!("{e:#}");
                            failed = Some(e);
                        }
                    }
                }
                if still.is_empty() || !wait {
                    for id in &still {
                        println!("request {}: pending", hex::encode(id));
                    }
                    break;
                }
                ids = still;
                tokio::time::sleep(Duration::from_millis(poll_interval_ms.max(10))).await;
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
    }
    Ok(())
}
