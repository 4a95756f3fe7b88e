//! A small HTTP client for the log's API, used by every role that submits.

use anyhow::{Context, Result, anyhow, bail};
use headcount_core::entry::Entry;
use headcount_core::{CampaignId, EntryHash, RegistrarId, Timestamp};
use headcount_tlog::{
    Checkpoint, Hash, LogVerifier, MemoryTiles, TileId, TlogProof, TreeSize, leaf_hash,
    tiles_for_size, tree_root,
};
use serde::Deserialize;
use serde_json::Value;

/// Largest response body the client reads (a page of declarations or the
/// campaign list is far below it); a larger one is refused, not buffered.
pub const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Reads a response body, refusing one larger than `limit` bytes as it
/// streams (a hostile server cannot make the client buffer without end).
pub async fn read_limited(mut r: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    if r.content_length().is_some_and(|n| n > limit as u64) {
        bail!("the response is larger than {limit} bytes");
    }
    let mut out = Vec::new();
    while let Some(chunk) = r.chunk().await.context("reading the response")? {
        if out.len() + chunk.len() > limit {
            bail!("the response is larger than {limit} bytes");
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A log server's API.
#[derive(Clone)]
pub struct LogClient {
    pub base: String,
    pub http: reqwest::Client,
    /// How the server is reached, for declarants' clients ([`LogClient::for_declarant`]).
    pub route: Option<Route>,
}

/// A receipt as the server returns it.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct Receipt {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub timestamp: u64,
    pub entry_type: String,
    pub entry_hash: String,
    pub leaf_hash: String,
    pub proof: String,
}

/// An API error body.
#[derive(Debug, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub message: String,
}

/// The `/v1/log` field (under `admission`) stating the work a refusal with
/// this code asks for, when it is such a refusal.
fn work_field(code: &str) -> Option<&'static str> {
    match code {
        "admission_work_required" => Some("publish_work_bits"),
        "busy_work_required" => Some("busy_work_bits"),
        _ => None,
    }
}

/// What a submission came to.
pub enum Submitted {
    Accepted(Receipt),
    Refused { status: u16, error: ApiError },
}

impl LogClient {
    pub fn new(base: &str) -> Self {
        LogClient {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .expect("a plain HTTP client builds"),
            route: None,
        }
    }

    /// `base` + `path`, or an error that says what a server URL looks like.
    fn url(&self, path: &str) -> Result<String> {
        if !(self.base.starts_with("http://") || self.base.starts_with("https://")) {
            bail!(
                "{:?} is not a server URL: pass --server like http://127.0.0.1:8080 or https://log.example.org",
                self.base
            );
        }
        Ok(format!("{}{path}", self.base))
    }

    /// What a failed request means, in words.
    fn unreachable(&self, e: reqwest::Error) -> anyhow::Error {
        let what = if e.is_timeout() {
            "the log server did not answer in time"
        } else if e.is_connect() {
            "could not connect to the log server"
        } else {
            "the request to the log server failed"
        };
        anyhow!(
            "{what} at {}: check the --server URL, that the server is running and reachable from here, and for an onion address that ALL_PROXY=socks5h://127.0.0.1:9050 is set and Tor runs ({})",
            self.base,
            e.without_url()
        )
    }

    /// Submits an encoded entry. When the log asks work for it (admission
    /// work for registrar and campaign entries on an "open" log; busy work for
    /// a declaration while the log's proof verification is loaded), computes
    /// the work and submits once more with it.
    pub async fn submit(&self, entry: &[u8]) -> Result<Submitted> {
        self.submit_solving(entry, &mut None).await
    }

    /// [`LogClient::submit`] starting from a nonce solved before (kept in
    /// `nonce` for the next try: work is bound to the entry, not the try).
    async fn submit_solving(&self, entry: &[u8], nonce: &mut Option<u64>) -> Result<Submitted> {
        let first = self.submit_with_work(entry, *nonce).await?;
        match &first {
            Submitted::Refused { error, .. } if nonce.is_none() => {
                if let Some(field) = work_field(&error.error) {
                    *nonce = Some(self.solve_work(entry, field).await?);
                    return self.submit_with_work(entry, *nonce).await;
                }
                Ok(first)
            }
            _ => Ok(first),
        }
    }

    /// Computes the work `/v1/log` states in `admission.<field>` for `entry`.
    async fn solve_work(&self, entry: &[u8], field: &str) -> Result<u64> {
        let v = self.get_json("/v1/log").await?;
        let bits = v["admission"][field]
            .as_u64()
            .filter(|b| (1..=u64::from(headcount_server::admission::MAX_WORK_BITS)).contains(b))
            .ok_or_else(|| anyhow!("/v1/log states no usable admission.{field}"))?
            as u8;
        let hash = headcount_core::EntryHash::of(entry);
        if field == "busy_work_bits" {
            tracing::info!(bits, "the log is busy verifying proofs: computing work");
        } else {
            // Once per process: a bench or a courier submits many entries.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| eprintln!("computing the log's admission work ({bits} bits)…"));
        }
        Ok(
            tokio::task::spawn_blocking(move || headcount_server::admission::solve(&hash, bits))
                .await?,
        )
    }

    /// One `POST /v1/entries` with the given work nonce (or none), whatever
    /// the log answers: no work computed, no retry.
    pub async fn submit_with_work(&self, entry: &[u8], work: Option<u64>) -> Result<Submitted> {
        let mut req = self
            .http
            .post(self.url("/v1/entries")?)
            .header("content-type", "application/octet-stream");
        if let Some(n) = work {
            req = req.header(headcount_server::admission::WORK_HEADER, n.to_string());
        }
        let r = req
            .body(entry.to_vec())
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = r.status().as_u16();
        let body = read_limited(r, MAX_RESPONSE).await?;
        if status == 200 {
            Ok(Submitted::Accepted(
                serde_json::from_slice(&body).context("reading the receipt")?,
            ))
        } else {
            let error = serde_json::from_slice(&body).unwrap_or(ApiError {
                error: "http_error".into(),
                message: format!("HTTP {status}"),
            });
            Ok(Submitted::Refused { status, error })
        }
    }

    /// Submits and insists on acceptance, retrying on 503.
    pub async fn submit_ok(&self, entry: &[u8]) -> Result<Receipt> {
        let mut nonce = None;
        for _ in 0..30 {
            match self.submit_solving(entry, &mut nonce).await? {
                Submitted::Accepted(r) => return Ok(r),
                Submitted::Refused { status: 503, .. } => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await
                }
                Submitted::Refused { status, error } => {
                    bail!(
                        "the log refused the entry: {} ({}, HTTP {status})",
                        error.message,
                        error.error
                    )
                }
            }
        }
        bail!("the log stayed overloaded; try again later")
    }

    /// GET a JSON document.
    pub async fn get_json(&self, path: &str) -> Result<Value> {
        let r = self
            .http
            .get(self.url(path)?)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = r.status();
        let body = read_limited(r, MAX_RESPONSE).await?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&body[..body.len().min(2048)]).into_owned();
            bail!("GET {path}: HTTP {status}: {body}");
        }
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// The log's public key as it publishes it (trust on first use).
    pub async fn log_key(&self) -> Result<String> {
        let v = self.get_json("/v1/log").await?;
        v["vkey"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("/v1/log has no vkey"))
    }
}

/// Verifies a receipt for `entry` against the log key: the checkpoint
/// signature, and the inclusion of the leaf (`extra` header + entry).
pub fn verify_receipt(entry: &[u8], receipt: &Receipt, log_key: &str) -> Result<Checkpoint> {
    let proof = TlogProof::parse(receipt.proof.as_bytes()).context("parsing the tlog-proof")?;
    let header = proof
        .extra
        .clone()
        .ok_or_else(|| anyhow!("the receipt has no leaf header"))?;
    if header.len() != headcount_core::leaf::LEAF_HEADER_LEN {
        bail!("the receipt's leaf header has {} bytes", header.len());
    }
    let mut leaf = header;
    leaf.extend_from_slice(entry);
    let decoded = headcount_core::Leaf::decode(&leaf).context("the receipt's leaf header")?;
    if decoded.timestamp != Timestamp(receipt.timestamp) {
        bail!("the receipt's timestamp disagrees with its proof");
    }
    let verifier = LogVerifier::from_vkey(log_key).context("parsing the log key")?;
    let cp = proof
        .verify(leaf_hash(&leaf), &verifier)
        .context("the receipt does not verify")?;
    if proof.index.0 != receipt.leaf_index {
        bail!("the receipt's index disagrees with its proof");
    }
    Ok(cp)
}

/// Checks that a receipt's checkpoint carries the quorum of witness
/// cosignatures a C2SP tlog-policy file asks for.
pub fn check_witnessed(receipt: &Receipt, log_key: &str, policy: &std::path::Path) -> Result<()> {
    let text =
        std::fs::read_to_string(policy).with_context(|| format!("reading {}", policy.display()))?;
    let policy = headcount_cosignature::Policy::parse(&text)
        .with_context(|| format!("parsing {}", policy.display()))?;
    let proof = TlogProof::parse(receipt.proof.as_bytes()).context("parsing the tlog-proof")?;
    let log = headcount_cosignature::LogVerifier::from_vkey(log_key)
        .map_err(|e| anyhow!("the log key: {e}"))?;
    policy
        .check_with_log(&proof.checkpoint, &log)
        .map_err(|e| {
            anyhow!("logged, but the receipt's checkpoint does not satisfy the witness policy: {e}")
        })?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Network privacy for declarants: Tor (a `socks5h` proxy) by default.
// ---------------------------------------------------------------------------

/// How a declarant's command reaches servers (shared by `identity check`,
/// `credential`, `declare`, `withdraw` and `claim prove`).
///
/// A server on this machine (127.0.0.1, ::1, localhost) is contacted
/// directly. Any other server only through a SOCKS5 proxy that resolves names
/// itself (`socks5h://`, e.g. Tor), or directly when `--direct` says so.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct NetArgs {
    /// Reach servers through this SOCKS5 proxy, which also resolves their
    /// names: tor's `socks5h://127.0.0.1:9050`, Tor Browser's
    /// `socks5h://127.0.0.1:9150`. Default: `ALL_PROXY` (or `HTTPS_PROXY` /
    /// `HTTP_PROXY`) when it is a `socks5h://` URL.
    #[arg(long, value_name = "socks5h://HOST:PORT")]
    pub proxy: Option<String>,
    /// Contact a server that is not on this machine directly, without a
    /// proxy: its operator and every network on the way see your IP address.
    #[arg(long, conflicts_with = "proxy")]
    pub direct: bool,
}

/// How one server is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The server is on this machine: no network sees the connection.
    Loopback,
    /// Through this `socks5h://` proxy (names resolved by the proxy).
    Proxy(String),
    /// Directly, because `--direct` was given.
    Direct,
}

/// Whether `host` (a URL's host, IPv6 in brackets) is this machine.
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = h.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let d = h.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// The environment variables a proxy may come from, most specific first.
fn proxy_vars(scheme: &str) -> &'static [&'static str] {
    if scheme == "https" {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    }
}

/// Checks a proxy URL: only `socks5h://` is accepted.
fn check_proxy(proxy: &str, source: &str) -> Result<String> {
    let p = proxy.trim();
    let scheme = p
        .split("://")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match scheme.as_str() {
        "socks5h" => {
            let u = reqwest::Url::parse(p)
                .with_context(|| format!("{source} {p:?} is not a proxy URL"))?;
            if u.host_str().is_none() || u.port().is_none() {
                bail!("{source} {p:?} needs a host and a port, e.g. socks5h://127.0.0.1:9050");
            }
            Ok(p.to_owned())
        }
        "socks5" => bail!(
            "{source} is {p:?}: with socks5:// this machine would resolve the server's name itself, \
             so your DNS resolver and your network would learn which server you contact (and an \
             .onion name cannot be resolved at all). Use socks5h:// (the proxy resolves names), \
             e.g. --proxy socks5h://127.0.0.1:9050"
        ),
        _ => bail!(
            "{source} is {p:?}: declarant commands use only a SOCKS5 proxy that resolves names \
             itself, such as Tor: --proxy socks5h://127.0.0.1:9050 (tor) or \
             socks5h://127.0.0.1:9150 (Tor Browser); or --direct to be seen"
        ),
    }
}

impl NetArgs {
    /// How `url` is reached, with the proxy variables read from the process environment.
    pub fn route(&self, url: &str) -> Result<Route> {
        self.route_with(url, |k| std::env::var(k).ok())
    }

    /// How `url` is reached, with `env` standing for the environment.
    pub fn route_with(&self, url: &str, env: impl Fn(&str) -> Option<String>) -> Result<Route> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!(
                "{url:?} is not a server URL: pass --server like http://127.0.0.1:8080, \
                 https://log.example.org or http://LOGADDRESS.onion"
            );
        }
        let u = reqwest::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
        let host = u
            .host_str()
            .ok_or_else(|| anyhow!("{url:?} names no server"))?;
        if is_loopback(host) {
            return Ok(Route::Loopback);
        }
        let onion = host
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .ends_with(".onion");
        if self.direct {
            if onion {
                bail!(
                    "{url} is an onion address: it is reachable only through Tor (--proxy socks5h://127.0.0.1:9050), not --direct"
                );
            }
            return Ok(Route::Direct);
        }
        if let Some(p) = &self.proxy {
            return Ok(Route::Proxy(check_proxy(p, "--proxy")?));
        }
        for var in proxy_vars(u.scheme()) {
            if let Some(p) = env(var).filter(|p| !p.trim().is_empty()) {
                return Ok(Route::Proxy(check_proxy(&p, var)?));
            }
        }
        bail!(
            "refusing to contact {} directly: its operator and your network would see your IP \
             address. Connect through Tor: start Tor Browser and add --proxy \
             socks5h://127.0.0.1:9150 (or, with tor running, socks5h://127.0.0.1:9050). \
             Add --direct only if being seen is safe for you",
            u.host_str().unwrap_or(url)
        )
    }

    /// An HTTP client for `url` that honours [`NetArgs::route`]; never the
    /// system's proxy settings behind our back.
    pub fn client(&self, url: &str, timeout: std::time::Duration) -> Result<reqwest::Client> {
        let route = self.route(url)?;
        client_for(&route, timeout, None)
    }
}

/// Builds a client for a route; `isolation` adds SOCKS credentials (Tor puts
/// streams with different credentials on different circuits).
fn client_for(
    route: &Route,
    timeout: std::time::Duration,
    isolation: Option<(&str, &str)>,
) -> Result<reqwest::Client> {
    let b = reqwest::Client::builder().timeout(timeout);
    let b = match route {
        Route::Loopback | Route::Direct => b.no_proxy(),
        Route::Proxy(p) => {
            let mut proxy = reqwest::Proxy::all(p).with_context(|| format!("the proxy {p}"))?;
            if let Some((user, pass)) = isolation {
                proxy = proxy.basic_auth(user, pass);
            }
            b.proxy(proxy)
        }
    };
    b.build().context("building the HTTP client")
}

impl LogClient {
    /// A client for a declarant's command: loopback directly, anything else
    /// only through a `socks5h` proxy or with `--direct` (see [`NetArgs`]).
    pub fn for_declarant(base: &str, net: &NetArgs) -> Result<Self> {
        let route = net.route(base)?;
        Ok(LogClient {
            base: base.trim_end_matches('/').to_owned(),
            http: client_for(&route, std::time::Duration::from_secs(120), None)?,
            route: Some(route),
        })
    }

    /// The same server over a fresh Tor circuit: when a proxy without
    /// credentials is used, random SOCKS credentials (Tor isolates streams by
    /// them: `IsolateSOCKSAuth`, on by default). Otherwise the same client.
    pub fn isolated(&self) -> Result<LogClient> {
        match &self.route {
            Some(route @ Route::Proxy(p))
                if reqwest::Url::parse(p).is_ok_and(|u| u.username().is_empty()) =>
            {
                let user = hex::encode(rand::random::<[u8; 8]>());
                let pass = hex::encode(rand::random::<[u8; 8]>());
                Ok(LogClient {
                    base: self.base.clone(),
                    http: client_for(
                        route,
                        std::time::Duration::from_secs(120),
                        Some((&user, &pass)),
                    )?,
                    route: self.route.clone(),
                })
            }
            _ => Ok(self.clone()),
        }
    }
}

// ---------------------------------------------------------------------------
// Asynchronous submission: accepted at once (202), receipt fetched later.
// ---------------------------------------------------------------------------

/// What `GET /v1/entries/{hash}` says about an entry.
pub enum Looked {
    /// Logged: its receipt.
    Logged(Receipt),
    /// Accepted asynchronously and waiting for its round.
    Pending,
    /// Refused when its round came (the log's code and message).
    Refused(ApiError),
    /// The log does not know it (never accepted, or the server restarted
    /// before its round: an asynchronous acceptance is not durable).
    Unknown,
}

/// When to look for the receipt of an asynchronous submission.
#[derive(Clone, Copy, Debug)]
pub struct ReceiptDelay {
    /// Shortest wait, in seconds.
    pub min_s: u64,
    /// Longest wait, in seconds.
    pub max_s: u64,
}

impl ReceiptDelay {
    fn pick(&self) -> std::time::Duration {
        use rand::Rng;
        let (lo, hi) = (self.min_s.min(self.max_s), self.max_s.max(self.min_s));
        std::time::Duration::from_millis(rand::thread_rng().gen_range(lo * 1000..=hi * 1000))
    }
}

impl LogClient {
    /// `POST /v1/entries/async`: the log checks the entry and answers at
    /// once (202) with its hash; it is sequenced in a later round.
    /// Work the log asks (see [`LogClient::submit`]) is computed, kept in
    /// `nonce` and sent again with every later try.
    pub async fn submit_async(
        &self,
        entry: &[u8],
        nonce: &mut Option<u64>,
    ) -> Result<std::result::Result<String, (u16, ApiError)>> {
        let first = self.submit_async_with_work(entry, *nonce).await?;
        match &first {
            Err((_, error)) if nonce.is_none() => {
                if let Some(field) = work_field(&error.error) {
                    *nonce = Some(self.solve_work(entry, field).await?);
                    return self.submit_async_with_work(entry, *nonce).await;
                }
                Ok(first)
            }
            _ => Ok(first),
        }
    }

    async fn submit_async_with_work(
        &self,
        entry: &[u8],
        work: Option<u64>,
    ) -> Result<std::result::Result<String, (u16, ApiError)>> {
        let mut req = self
            .http
            .post(format!("{}/v1/entries/async", self.base))
            .header("content-type", "application/octet-stream");
        if let Some(n) = work {
            req = req.header(headcount_server::admission::WORK_HEADER, n.to_string());
        }
        let r = req
            .body(entry.to_vec())
            .send()
            .await
            .with_context(|| format!("POST {}/v1/entries/async", self.base))?;
        let status = r.status().as_u16();
        if status == 202 {
            let v: Value = r.json().await.context("reading the acceptance")?;
            let hash = v["entry_hash"]
                .as_str()
                .ok_or_else(|| anyhow!("the acceptance has no entry_hash"))?;
            let expected = EntryHash::of(entry).to_hex();
            if hash != expected {
                bail!("the log acknowledged another entry ({hash}) than the one sent");
            }
            Ok(Ok(hash.to_owned()))
        } else {
            let error = r.json().await.unwrap_or(ApiError {
                error: "http_error".into(),
                message: format!("HTTP {status}"),
            });
            Ok(Err((status, error)))
        }
    }

    /// `GET /v1/entries/{hash}`: the receipt, or where the entry stands.
    pub async fn fetch_receipt(&self, entry_hash: &str) -> Result<Looked> {
        let r = self
            .http
            .get(format!("{}/v1/entries/{entry_hash}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {}/v1/entries/{{hash}}", self.base))?;
        let status = r.status().as_u16();
        match status {
            200 => Ok(Looked::Logged(
                r.json().await.context("reading the receipt")?,
            )),
            202 => Ok(Looked::Pending),
            404 => Ok(Looked::Unknown),
            _ => Ok(Looked::Refused(r.json().await.unwrap_or(ApiError {
                error: "http_error".into(),
                message: format!("HTTP {status}"),
            }))),
        }
    }

    /// Submits asynchronously, waits a random time from `delay`, then fetches
    /// the receipt by entry hash over a fresh circuit. An entry the log
    /// forgot (a restart before its round) is resubmitted with the same
    /// bytes, which never makes a second entry.
    pub async fn submit_async_ok(&self, entry: &[u8], delay: ReceiptDelay) -> Result<Receipt> {
        let mut hash = None;
        let mut nonce = None;
        for _ in 0..30 {
            match self.submit_async(entry, &mut nonce).await? {
                Ok(h) => {
                    hash = Some(h);
                    break;
                }
                Err((503, _)) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
                Err((status, error)) => bail!(
                    "the log refused the entry: {} ({}, HTTP {status})",
                    error.message,
                    error.error
                ),
            }
        }
        let hash = hash.ok_or_else(|| anyhow!("the log stayed overloaded; try again later"))?;
        eprintln!(
            "accepted by the log (entry {hash}); its receipt is fetched after a random delay"
        );
        let mut resubmitted = 0;
        loop {
            tokio::time::sleep(delay.pick()).await;
            let later = self.isolated()?;
            match later.fetch_receipt(&hash).await? {
                Looked::Logged(r) => return Ok(r),
                Looked::Pending => continue,
                Looked::Refused(e) => bail!(
                    "the log refused the entry in its round: {} ({})",
                    e.message,
                    e.error
                ),
                Looked::Unknown if resubmitted < 3 => {
                    resubmitted += 1;
                    eprintln!(
                        "the log no longer knows the entry (restarted?); sending the same bytes again"
                    );
                    if let Err((status, error)) = later.submit_async(entry, &mut nonce).await?
                        && status != 503
                    {
                        bail!(
                            "the log refused the entry: {} ({}, HTTP {status})",
                            error.message,
                            error.error
                        );
                    }
                }
                Looked::Unknown => bail!("the log keeps forgetting the entry; try again later"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Public entries, verified: the campaign and its registrars.
// ---------------------------------------------------------------------------

/// Reads and parses a C2SP tlog-policy file.
pub fn load_policy(path: &std::path::Path) -> Result<headcount_cosignature::Policy> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    headcount_cosignature::Policy::parse(&text)
        .with_context(|| format!("parsing the policy {}", path.display()))
}

/// An entry fetched from the log and proven to be in it.
#[derive(Clone, Debug)]
pub struct LoggedEntry {
    pub entry: Entry,
    /// Its encoding.
    pub bytes: Vec<u8>,
    /// Its `c2sp.org/tlog-proof@v1`, verified against the log key.
    pub proof: String,
}

/// A campaign and the registrars it accepts, each verified (see [`LogClient::verified_campaign`]).
pub struct VerifiedCampaign {
    pub campaign: headcount_core::entry::Campaign,
    pub logged: LoggedEntry,
    /// Every registrar the campaign accepts that the log has, verified.
    pub registrars: Vec<(headcount_core::entry::Registrar, LoggedEntry)>,
}

impl LogClient {
    /// `GET /v1/entries/{hash}`: the entry, checked to hash to `hash` and to
    /// be included in a checkpoint signed by `log_key` (carrying the quorum
    /// of `policy`, if given).
    pub async fn logged_entry(
        &self,
        hash: &str,
        log_key: &str,
        policy: Option<&headcount_cosignature::Policy>,
    ) -> Result<LoggedEntry> {
        let v = self.get_json(&format!("/v1/entries/{hash}")).await?;
        let bytes = hex::decode(v["entry"].as_str().unwrap_or_default())
            .context("the look-up's entry is not hex")?;
        if EntryHash::of(&bytes).to_hex() != hash {
            bail!("the log answered with another entry than {hash}");
        }
        let proof = v["proof"]
            .as_str()
            .ok_or_else(|| anyhow!("the look-up has no proof"))?
            .to_owned();
        let p = TlogProof::parse(proof.as_bytes()).context("parsing the tlog-proof")?;
        let mut leaf = p
            .extra
            .clone()
            .ok_or_else(|| anyhow!("the proof has no leaf header"))?;
        if leaf.len() != headcount_core::leaf::LEAF_HEADER_LEN {
            bail!("the proof's leaf header has {} bytes", leaf.len());
        }
        leaf.extend_from_slice(&bytes);
        headcount_core::Leaf::decode(&leaf).context("the proof's leaf header")?;
        let verifier = LogVerifier::from_vkey(log_key).context("parsing the log key")?;
        p.verify(leaf_hash(&leaf), &verifier)
            .context("the entry is not proven to be in the log")?;
        if let Some(policy) = policy {
            let log = headcount_cosignature::LogVerifier::from_vkey(log_key)
                .map_err(|e| anyhow!("the log key: {e}"))?;
            policy.check_with_log(&p.checkpoint, &log).map_err(|e| {
                anyhow!("the entry's checkpoint does not satisfy the witness policy: {e}")
            })?;
        }
        let entry = Entry::decode(&bytes).context("decoding the logged entry")?;
        Ok(LoggedEntry {
            entry,
            bytes,
            proof,
        })
    }

    /// The registrar `id` from the log: its entry must hash to `id` (so its
    /// keys are the ones the id names) and be in a signed checkpoint.
    pub async fn verified_registrar(
        &self,
        id: RegistrarId,
        log_key: &str,
        policy: Option<&headcount_cosignature::Policy>,
    ) -> Result<(headcount_core::entry::Registrar, LoggedEntry)> {
        let v = self
            .get_json(&format!("/v1/registrars/{id}"))
            .await
            .with_context(|| format!("looking up registrar {id} in the log"))?;
        let hash = v["entry_hash"]
            .as_str()
            .ok_or_else(|| anyhow!("the log's registrar record has no entry_hash"))?;
        let logged = self.logged_entry(hash, log_key, policy).await?;
        let Entry::Registrar(r) = &logged.entry else {
            bail!("the log's entry for registrar {id} is not a registrar entry");
        };
        if r.id() != id {
            bail!(
                "the log's entry for registrar {id} is another registrar's ({})",
                r.id()
            );
        }
        Ok((r.clone(), logged))
    }

    /// The campaign `id` from the log, verified: its entry hashes to `id`
    /// and is in a signed checkpoint; likewise every registrar it accepts.
    /// What is fetched depends only on the campaign, never on which
    /// credential the declarant holds.
    pub async fn verified_campaign(
        &self,
        id: CampaignId,
        log_key: &str,
        policy: Option<&headcount_cosignature::Policy>,
    ) -> Result<VerifiedCampaign> {
        let v = self.get_json(&format!("/v1/campaigns/{id}")).await?;
        let hash = v["entry_hash"]
            .as_str()
            .ok_or_else(|| anyhow!("the log's campaign record has no entry_hash"))?;
        let logged = self.logged_entry(hash, log_key, policy).await?;
        let Entry::Campaign(c) = &logged.entry else {
            bail!("the log's entry for campaign {id} is not a campaign entry");
        };
        if c.id() != id {
            bail!(
                "the log's entry for campaign {id} is another campaign's ({})",
                c.id()
            );
        }
        let campaign = c.clone();
        let mut registrars = Vec::with_capacity(campaign.registrars.len());
        for rid in &campaign.registrars {
            match self.verified_registrar(*rid, log_key, policy).await {
                Ok(r) => registrars.push(r),
                Err(e) => {
                    tracing::warn!(registrar = %rid, error = %format!("{e:#}"), "skipping a registrar the campaign names")
                }
            }
        }
        Ok(VerifiedCampaign {
            campaign,
            logged,
            registrars,
        })
    }

    /// The log key: `given`, or the server's (trust on first use).
    pub async fn log_key_or(&self, given: Option<&str>) -> Result<String> {
        match given {
            Some(k) => Ok(k.to_owned()),
            None => self.log_key().await,
        }
    }

    /// The current checkpoint (`GET /checkpoint`), verified with `log_key`:
    /// its note and what it says.
    pub async fn checkpoint(&self, log_key: &str) -> Result<(Vec<u8>, Checkpoint)> {
        let r = self
            .http
            .get(format!("{}/checkpoint", self.base))
            .send()
            .await
            .context("GET /checkpoint")?;
        if !r.status().is_success() {
            bail!("GET /checkpoint: HTTP {}", r.status());
        }
        let note = r.bytes().await?.to_vec();
        let verifier = LogVerifier::from_vkey(log_key).context("parsing the log key")?;
        let cp = verifier
            .verify(&note)
            .context("the log's current checkpoint")?;
        Ok((note, cp))
    }

    /// Every hash tile of the tree of `size` (`/tile/<L>/<N>[.p/<W>]`), the
    /// same set for everyone who asks at that size, checked to hash to `root`.
    /// Entry bundles are not fetched.
    pub async fn hash_tiles(&self, size: TreeSize, root: Hash) -> Result<MemoryTiles> {
        use futures::StreamExt;
        let ids: Vec<TileId> = tiles_for_size(size)
            .into_iter()
            .filter(|t| t.level.is_some())
            .collect();
        let mut tiles = MemoryTiles::default();
        let mut stream = futures::stream::iter(ids)
            .map(|id| async move {
                let path = id.path();
                let r = self
                    .http
                    .get(format!("{}/{path}", self.base))
                    .send()
                    .await
                    .with_context(|| format!("GET /{path}"))?;
                if !r.status().is_success() {
                    bail!("GET /{path}: HTTP {}", r.status());
                }
                Ok::<_, anyhow::Error>((id, r.bytes().await?.to_vec()))
            })
            .buffer_unordered(8);
        while let Some(r) = stream.next().await {
            let (id, data) = r?;
            tiles.0.insert(id, data);
        }
        if tree_root(&tiles, size).context("the log's tiles")? != root {
            bail!("the log's tiles do not hash to its signed checkpoint");
        }
        Ok(tiles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(net: &NetArgs, url: &str, env: &[(&str, &str)]) -> Result<Route> {
        net.route_with(url, |k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn loopback_is_direct_everything_else_needs_socks5h_or_direct() {
        let none = NetArgs::default();
        for u in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:80",
            "http://localhost:1",
        ] {
            assert_eq!(route(&none, u, &[]).unwrap(), Route::Loopback, "{u}");
        }
        let e = route(&none, "https://log.example.org", &[]).unwrap_err();
        assert!(
            e.to_string()
                .contains("refusing to contact log.example.org directly")
        );
        let proxy = NetArgs {
            proxy: Some("socks5h://127.0.0.1:9050".into()),
            direct: false,
        };
        assert_eq!(
            route(&proxy, "http://x.onion", &[]).unwrap(),
            Route::Proxy("socks5h://127.0.0.1:9050".into())
        );
        let env = [("ALL_PROXY", "socks5h://127.0.0.1:9150")];
        assert_eq!(
            route(&none, "https://log.example.org", &env).unwrap(),
            Route::Proxy("socks5h://127.0.0.1:9150".into())
        );
        // The scheme's own variable comes first.
        let env = [
            ("HTTPS_PROXY", "socks5h://127.0.0.1:1"),
            ("ALL_PROXY", "socks5h://127.0.0.1:2"),
        ];
        assert_eq!(
            route(&none, "https://a.example", &env).unwrap(),
            Route::Proxy("socks5h://127.0.0.1:1".into())
        );
        for bad in [
            "socks5://127.0.0.1:9050",
            "http://proxy:3128",
            "socks4a://127.0.0.1:9050",
            "socks5h://127.0.0.1",
        ] {
            let p = NetArgs {
                proxy: Some(bad.into()),
                direct: false,
            };
            assert!(route(&p, "http://a.example", &[]).is_err(), "{bad}");
            assert!(
                route(&none, "http://a.example", &[("ALL_PROXY", bad)]).is_err(),
                "{bad}"
            );
        }
        let direct = NetArgs {
            proxy: None,
            direct: true,
        };
        assert_eq!(
            route(
                &direct,
                "https://a.example",
                &[("ALL_PROXY", "socks5://x:1")]
            )
            .unwrap(),
            Route::Direct
        );
        assert!(route(&direct, "http://abc.onion", &[]).is_err());
    }
}
