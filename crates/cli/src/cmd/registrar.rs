//! `headcount registrar …`: a registrar's entries, credential issuance and monthly logs.
//!
//! A registrar checks out of band that an applicant is a real, distinct person (its published
//! policy), then signs a BBS credential **blindly**: it never sees the declarant's secret, so it
//! can never tell which pseudonym, in which campaign, is whose. Credentials are issued into the
//! current calendar month, and what it logs publicly, once a month is over, is how many it issued
//! that month: anyone can check that its holders never outnumber it, and a declaration discloses
//! only the month — everyone the registrar issued to that month is its anonymity set.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use headcount_core::entry::{Entry, Registrar, RegistrarRetirement};
use headcount_core::{Period, RegistrarId};
use headcount_registrar::{CredentialRequest, Ledger, client as reg_client, http as reg_http};
use zeroize::Zeroizing;

use crate::client::{LogClient, verify_receipt};
use crate::keys::{self, RegistrarKeys};

/// The key file and the registrar id it issues as.
#[derive(clap::Args, Clone)]
pub struct IssuerArgs {
    /// The registrar key file (from `headcount keygen registrar`).
    #[arg(long)]
    pub key: PathBuf,
    /// The registrar's durable issuance ledger: monthly counts, issued answers, approval queue.
    /// One process at a time; back it up (the monthly sizes you log are counted from it).
    #[arg(long)]
    pub state: PathBuf,
    /// Shift the ledger's clock by this many seconds (negative: the past). Only for
    /// demonstrations and tests that must issue "last month"; never for a real registrar.
    #[arg(
        long,
        hide = true,
        env = "HEADCOUNT_CLOCK_OFFSET",
        allow_hyphen_values = true
    )]
    pub clock_offset: Option<i64>,
    /// The registrar id (64 hex); default: the `.id` file written by `registrar register`
    /// next to the key file (`registrar.key` → `registrar.id`).
    #[arg(long)]
    pub registrar: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Publish the registrar entry (keys, name, policy, contact), self-signed.
    ///
    /// Also writes the registrar id to `<key stem>.id` next to the key file, which the
    /// issuance commands use by default.
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
    /// Offline issuance: sign one credential request file (from `headcount credential
    /// request --out`) after checking the person in person or by phone; write the response file.
    ///
    /// Run this only after your out-of-band check. Signing is blind: the request carries a
    /// commitment to the declarant's secret, which you never learn, so the credential you
    /// sign cannot be linked to anything the person later declares. The same request again
    /// gets the same response (never a second credential). Offline: no network.
    Issue {
        #[command(flatten)]
        issuer: IssuerArgs,
        /// The request file the declarant gave you.
        #[arg(long)]
        request: PathBuf,
        /// Where to write the response file to hand back to the declarant.
        #[arg(long)]
        out: PathBuf,
    },
    /// Close a month that is over (its size becomes final) and log the signed
    /// issuance-period entry.
    ///
    /// Credentials are issued into the current calendar month (UTC); declarations that
    /// disclose a month are accepted once that month's entry is in the log, which can only be
    /// after the month ends. The entry holds the registrar id, the month and the number of
    /// credentials issued in it — nothing about who received them. With `--admin` the
    /// running service closes it; otherwise the ledger in `--state` is used directly (the
    /// service must not be running). Running it again resubmits the same entry.
    ClosePeriod {
        /// The month to close, `YYYY-MM`; default: every month that is over and not closed.
        period: Option<String>,
        /// Log server URL.
        #[arg(long)]
        server: String,
        /// The running service's admin API (e.g. `http://127.0.0.1:8091`); else `--key`/`--state`.
        #[arg(long)]
        admin: Option<String>,
        /// The admin token file the service wrote (`<state>/admin-token`); with `--admin`.
        #[arg(
            long,
            value_name = "FILE",
            env = "HEADCOUNT_ADMIN_TOKEN_FILE",
            requires = "admin"
        )]
        admin_token: Option<PathBuf>,
        /// The registrar key file (offline close).
        #[arg(long, required_unless_present = "admin")]
        key: Option<PathBuf>,
        /// The ledger directory (offline close).
        #[arg(long, required_unless_present = "admin")]
        state: Option<PathBuf>,
        /// The registrar id; default: the `.id` file next to the key file.
        #[arg(long)]
        registrar: Option<String>,
        /// Shift the ledger's clock (seconds; demonstrations and tests only).
        #[arg(
            long,
            hide = true,
            env = "HEADCOUNT_CLOCK_OFFSET",
            allow_hyphen_values = true
        )]
        clock_offset: Option<i64>,
    },
    /// Retire this registrar's keys (e.g. after the key may have been copied) and log it.
    ///
    /// Afterwards the log accepts no issuance month, vouched declaration or new campaign that
    /// names this registrar; declarations with credentials of months logged before still count,
    /// within those months' logged sizes (a thief can only mint into months whose size is
    /// already fixed, and is caught when holders outnumber it). Irreversible: register a new
    /// registrar with new keys to go on issuing.
    Retire {
        /// Log server URL.
        #[arg(long)]
        server: String,
        /// The registrar key file.
        #[arg(long)]
        key: PathBuf,
        /// The registrar id; default: the `.id` file next to the key file.
        #[arg(long)]
        registrar: Option<String>,
        /// Why, in words (public).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Run the online issuance service: declarants submit requests and poll; you approve or
    /// reject each one from the admin API after your out-of-band check. Ctrl-C stops it.
    ///
    /// The public API may face the world (e.g. behind a Tor onion service); the admin API
    /// must listen on loopback, and every admin call carries the random token the service
    /// writes to `<state>/admin-token` (0600) at start: a web page or a rebound DNS name
    /// cannot use it. The service stores no IP address, header or anything from
    /// your check: only request ids, minutes of arrival, monthly counts and issued answers.
    Serve {
        #[command(flatten)]
        issuer: IssuerArgs,
        /// Public API address (`127.0.0.1:0` picks a free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Admin API address: loopback only. The HTML console is at `/console/` on it.
        #[arg(long, default_value = "127.0.0.1:8091")]
        admin: SocketAddr,
        /// The log server: the console then shows the sizes the log holds for your months,
        /// logs the months you close, and can vouch for callers.
        #[arg(long)]
        server: Option<String>,
    },
    /// List the requests waiting for your approval (admin API of a running service).
    ///
    /// Shows request ids and arrival minutes only: the service knows nothing else about the
    /// applicants. Match a request to a person by the id they read out to you.
    Requests {
        /// The admin API URL, e.g. `http://127.0.0.1:8091`.
        #[arg(long)]
        admin: String,
        /// The admin token file the service wrote (`<state>/admin-token`).
        #[arg(long, value_name = "FILE", env = "HEADCOUNT_ADMIN_TOKEN_FILE")]
        admin_token: PathBuf,
    },
    /// Approve a pending request (after your out-of-band check): the service signs it blindly
    /// into the current month; the declarant's next poll finishes the credential.
    Approve {
        /// The request id (64 hex; the declarant sees it when submitting).
        id: String,
        /// The admin API URL.
        #[arg(long)]
        admin: String,
        /// The admin token file the service wrote (`<state>/admin-token`).
        #[arg(long, value_name = "FILE", env = "HEADCOUNT_ADMIN_TOKEN_FILE")]
        admin_token: PathBuf,
    },
    /// Reject a pending request; the declarant sees the reason when polling.
    Reject {
        /// The request id (64 hex).
        id: String,
        /// A one-line reason shown to the declarant (no personal data: it is stored).
        #[arg(long)]
        reason: String,
        /// The admin API URL.
        #[arg(long)]
        admin: String,
        /// The admin token file the service wrote (`<state>/admin-token`).
        #[arg(long, value_name = "FILE", env = "HEADCOUNT_ADMIN_TOKEN_FILE")]
        admin_token: PathBuf,
    },
}

/// The admin API at `url` with the token read from `token_file`.
fn admin_api(url: String, token_file: &std::path::Path) -> Result<reg_client::AdminApi> {
    let token = crate::keys::read_secret(token_file)
        .with_context(|| format!("reading the admin token {}", token_file.display()))?;
    Ok(reg_client::AdminApi {
        url,
        token: reg_http::AdminToken::from_secret(token.as_str()),
    })
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
    e.sign(&k.signing)
        .context("the registrar entry is not valid")
}

/// Where `registrar register` records the registrar id: `<key stem>.id` next to the key file.
pub fn id_path(key: &Path) -> PathBuf {
    key.with_extension("id")
}

/// The registrar id: given, or read from the `.id` file next to the key file.
pub fn registrar_id(given: Option<&str>, key: Option<&Path>) -> Result<RegistrarId> {
    if let Some(s) = given {
        return RegistrarId::from_hex(s.trim())
            .ok_or_else(|| anyhow!("{s:?} is not a registrar id (64 hex digits)"));
    }
    let key = key.ok_or_else(|| anyhow!("pass --registrar ID"))?;
    let path = id_path(key);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading the registrar id from {} (written by `headcount registrar register`; or pass --registrar ID)",
            path.display()
        )
    })?;
    RegistrarId::from_hex(text.trim())
        .ok_or_else(|| anyhow!("{} does not hold a registrar id", path.display()))
}

/// The BBS secret key of a registrar key file.
fn bbs_secret(k: &RegistrarKeys) -> Result<headcount_credentials::RegistrarSecretKey> {
    let s = k
        .bbs_secret
        .as_ref()
        .ok_or_else(|| anyhow!("this registrar key has no BBS key: it can only vouch"))?;
    headcount_credentials::RegistrarSecretKey::from_bytes(s.as_ref())
        .context("the BBS secret key is invalid")
}

/// Opens the ledger with a clear error.
fn open_ledger(state: &Path, clock_offset: Option<i64>) -> Result<Ledger> {
    std::fs::create_dir_all(state).with_context(|| format!("creating {}", state.display()))?;
    let mut l = Ledger::open(state)
        .with_context(|| format!("opening the registrar ledger {}", state.display()))?;
    if let Some(o) = clock_offset {
        l.set_clock_offset(o);
    }
    Ok(l)
}

/// Reads a request file (at most a few KiB).
fn read_small(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > headcount_registrar::wire::MAX_WIRE_LEN as u64 {
        bail!(
            "{} is too large to be a request ({len} bytes)",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Writes a file atomically (temporary file in the same folder, then rename).
pub fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Submits a signed issuance-period entry, verifies the receipt, prints what was logged.
async fn log_period_entry(server: &str, bytes: &[u8], expect: RegistrarId) -> Result<()> {
    let Entry::IssuancePeriod(b) = Entry::decode(bytes).context("decoding the period entry")?
    else {
        bail!("the entry is not an issuance-period entry");
    };
    if b.registrar != expect {
        bail!(
            "the period entry is for registrar {}, not {expect}",
            b.registrar
        );
    }
    let client = LogClient::new(server);
    let receipt = client.submit_ok(bytes).await?;
    let cp = verify_receipt(bytes, &receipt, &client.log_key().await?)?;
    println!(
        "{}: {} credential(s) issued that month, logged at index {} (checkpoint size {}, receipt verified)",
        b.period, b.size, receipt.leaf_index, cp.size.0
    );
    if b.size < headcount_core::entry::limits::MIN_ANONYMITY {
        println!(
            "warning: fewer than {} credentials: no campaign accepts declarations with credentials of {} (too small an anonymity set)",
            headcount_core::entry::limits::MIN_ANONYMITY,
            b.period
        );
    }
    Ok(())
}

fn parse_period(s: &str) -> Result<Period> {
    s.trim()
        .parse()
        .map_err(|e| anyhow!("{s:?} is not a month (YYYY-MM): {e}"))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("a plain HTTP client builds")
}

fn parse_id(s: &str) -> Result<headcount_registrar::RequestId> {
    headcount_registrar::wire::parse_request_id(s.trim())
        .map_err(|e| anyhow!("{s:?} is not a request id: {e}"))
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
            let id_file = id_path(&key);
            write_file(&id_file, format!("{}\n", r.id()).as_bytes())?;
            println!("registrar id: {}", r.id());
            println!(
                "  (the id to give organisers and declarants; saved in {}, which the registrar commands and vouch read)",
                id_file.display()
            );
            println!(
                "logged at index {} (checkpoint size {}, receipt verified)",
                receipt.leaf_index, cp.size.0
            );
        }
        Command::Issue {
            issuer,
            request,
            out,
        } => {
            let k = load(&issuer.key)?;
            let rid = registrar_id(issuer.registrar.as_deref(), Some(&issuer.key))?;
            let sk = bbs_secret(&k)?;
            let req = CredentialRequest::from_json(&read_small(&request)?)
                .map_err(|e| anyhow!("{}: {e} ({})", request.display(), e.code()))?;
            let mut ledger = open_ledger(&issuer.state, issuer.clock_offset)?;
            let resp = tokio::task::block_in_place(|| ledger.issue(&sk, rid, &req))
                .map_err(|e| anyhow!("not issued: {e} ({})", e.code()))?;
            write_file(&out, resp.to_json().as_bytes())?;
            println!(
                "issued request {} in {} ({} issued this month so far)",
                hex::encode(resp.request_id),
                resp.period,
                ledger.period(resp.period).issued
            );
            println!("wrote {}: hand it back to the declarant", out.display());
        }
        Command::ClosePeriod {
            period,
            server,
            admin,
            admin_token,
            key,
            state,
            registrar,
            clock_offset,
        } => {
            let period = period.as_deref().map(parse_period).transpose()?;
            let mut entries: Vec<Vec<u8>> = Vec::new();
            let rid;
            if let Some(admin) = admin {
                let token = admin_token.context("--admin-token is needed with --admin")?;
                let admin = admin_api(admin, &token)?;
                let periods = match period {
                    Some(p) => vec![p],
                    None => {
                        reg_client::admin_periods(&http(), &admin)
                            .await
                            .map_err(|e| anyhow!("listing months: {e}"))?
                            .to_close
                    }
                };
                for p in &periods {
                    let closed = reg_client::admin_close(&http(), &admin, *p)
                        .await
                        .map_err(|e| anyhow!("closing {p}: {e}"))?;
                    entries.push(closed.entry_bytes()?);
                }
                rid = match (&registrar, &key) {
                    (None, None) => match entries.first().map(|b| Entry::decode(b)) {
                        Some(Ok(Entry::IssuancePeriod(b))) => b.registrar,
                        None => RegistrarId([0; 32]),
                        _ => bail!("the service answered with an entry that is not a period entry"),
                    },
                    _ => registrar_id(registrar.as_deref(), key.as_deref())?,
                };
            } else {
                let (key, state) = (
                    key.context("--key is needed without --admin")?,
                    state.context("--state is needed without --admin")?,
                );
                let k = load(&key)?;
                rid = registrar_id(registrar.as_deref(), Some(&key))?;
                let mut ledger = open_ledger(&state, clock_offset)?;
                let periods = match period {
                    Some(p) => vec![p],
                    None => ledger.periods_to_close(),
                };
                for p in periods {
                    tokio::task::block_in_place(|| ledger.close_period(p))
                        .map_err(|e| anyhow!("closing {p}: {e} ({})", e.code()))?;
                    let (_, bytes) = ledger
                        .issuance_period_entry(&k.signing, rid, p)
                        .map_err(|e| anyhow!("building the period entry: {e}"))?;
                    entries.push(bytes);
                }
            }
            if entries.is_empty() {
                println!(
                    "no month to close: months are closed once they are over, and only if they issued a credential"
                );
            }
            for bytes in &entries {
                log_period_entry(&server, bytes, rid).await?;
            }
        }
        Command::Retire {
            server,
            key,
            registrar,
            reason,
        } => {
            let k = load(&key)?;
            let rid = registrar_id(registrar.as_deref(), Some(&key))?;
            let (_, bytes) = Entry::RegistrarRetirement(RegistrarRetirement {
                registrar: rid,
                reason: headcount_core::text::to_nfc(reason.trim()),
                signature: [0; 64],
            })
            .sign(&k.signing)
            .context("the retirement entry is not valid")?;
            let client = LogClient::new(&server);
            let receipt = client.submit_ok(&bytes).await?;
            let cp = verify_receipt(&bytes, &receipt, &client.log_key().await?)?;
            println!(
                "registrar {rid} retired at index {} (checkpoint size {}, receipt verified): \
                 the log accepts nothing new from it",
                receipt.leaf_index, cp.size.0
            );
        }
        Command::Serve {
            issuer,
            listen,
            admin,
            server,
        } => {
            if !admin.ip().is_loopback() {
                bail!("the admin API must listen on a loopback address, not {admin}");
            }
            let k = load(&issuer.key)?;
            let rid = registrar_id(issuer.registrar.as_deref(), Some(&issuer.key))?;
            let sk = bbs_secret(&k)?;
            let ledger = open_ledger(&issuer.state, issuer.clock_offset)?;
            if let Some(r) = ledger.registrar()
                && r != rid
            {
                bail!(
                    "the ledger {} belongs to registrar {r}, not {rid}",
                    issuer.state.display()
                );
            }
            let current = ledger.current_period();
            let public = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let admin_l = tokio::net::TcpListener::bind(admin)
                .await
                .with_context(|| format!("binding {admin}"))?;
            let token = reg_http::AdminToken::generate();
            let token_path = issuer.state.join("admin-token");
            // A new token at every start: the previous one stops working.
            match std::fs::remove_file(&token_path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).context(format!("removing {}", token_path.display())),
            }
            crate::keys::write_secret(&token_path, token.secret().as_bytes())?;
            let service = Arc::new(reg_http::Service::new(ledger, sk, k.signing.clone(), rid));
            println!("registrar {rid} issuing into {current} (the current month)");
            println!("public API listening on http://{}", public.local_addr()?);
            println!("admin API listening on http://{}", admin_l.local_addr()?);
            println!("admin token in {}", token_path.display());
            println!(
                "console: http://{}/console/ (sign in with the admin token)",
                admin_l.local_addr()?
            );
            {
                use std::io::Write;
                std::io::stdout().flush()?;
            }
            let log = server
                .as_deref()
                .map(|u| crate::cmd::console_log::ConsoleLog::link(u, rid));
            reg_http::serve_with(service, public, admin_l, token, log, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| anyhow!("the registrar service failed: {e}"))?;
            eprintln!("stopped");
        }
        Command::Requests { admin, admin_token } => {
            let admin = admin_api(admin, &admin_token)?;
            let list = reg_client::admin_list(&http(), &admin)
                .await
                .map_err(|e| anyhow!("listing requests: {e}"))?;
            println!(
                "{} pending request(s); approvals issue into {}",
                list.pending.len(),
                list.current_period
            );
            for p in &list.pending {
                println!(
                    "{}  received {}{}",
                    p.request_id,
                    crate::cmd::fmt_time(p.received),
                    p.period
                        .map(|b| format!("  asks for {b}"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Approve {
            id,
            admin,
            admin_token,
        } => {
            let admin = admin_api(admin, &admin_token)?;
            let id = parse_id(&id)?;
            let resp = reg_client::admin_approve(&http(), &admin, &id)
                .await
                .map_err(|e| anyhow!("approving: {e}"))?;
            println!(
                "approved request {} in {}: the declarant's next poll finishes the credential",
                hex::encode(resp.request_id),
                resp.period
            );
        }
        Command::Reject {
            id,
            reason,
            admin,
            admin_token,
        } => {
            let admin = admin_api(admin, &admin_token)?;
            let rid = parse_id(&id)?;
            reg_client::admin_reject(&http(), &admin, &rid, &reason)
                .await
                .map_err(|e| anyhow!("rejecting: {e}"))?;
            println!("rejected request {}", hex::encode(rid));
        }
    }
    Ok(())
}
