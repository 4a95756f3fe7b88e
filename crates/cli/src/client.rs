//! A small HTTP client for the log's API, used by every role that submits.

use anyhow::{Context, Result, anyhow, bail};
use headcount_core::Timestamp;
use headcount_tlog::{Checkpoint, LogVerifier, TlogProof, leaf_hash};
use serde::Deserialize;
use serde_json::Value;

/// A log server's API.
#[derive(Clone)]
pub struct LogClient {
    pub base: String,
    pub http: reqwest::Client,
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

    /// Submits an encoded entry.
    pub async fn submit(&self, entry: &[u8]) -> Result<Submitted> {
        let r = self
            .http
            .post(self.url("/v1/entries")?)
            .header("content-type", "application/octet-stream")
            .body(entry.to_vec())
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = r.status().as_u16();
        if status == 200 {
            Ok(Submitted::Accepted(
                r.json().await.context("reading the receipt")?,
            ))
        } else {
            let error = r.json().await.unwrap_or(ApiError {
                error: "http_error".into(),
                message: format!("HTTP {status}"),
            });
            Ok(Submitted::Refused { status, error })
        }
    }

    /// Submits and insists on acceptance, retrying on 503.
    pub async fn submit_ok(&self, entry: &[u8]) -> Result<Receipt> {
        for _ in 0..30 {
            match self.submit(entry).await? {
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
        if !r.status().is_success() {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            bail!("GET {path}: HTTP {status}: {body}");
        }
        Ok(r.json().await?)
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
