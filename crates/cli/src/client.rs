//! A small HTTP client for the log's API, used by every role that submits.

use anyhow::{Context, Result, anyhow, bail};
use headcount_core::Timestamp;
use headcount_tlog::{Checkpoint, LogVerifier, TlogProof, leaf_hash};
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

    /// Submits an encoded entry. When the log asks admission work for it
    /// (an "open" log, for registrar and campaign entries), computes the work
    /// and submits once more with it.
    pub async fn submit(&self, entry: &[u8]) -> Result<Submitted> {
        let first = self.submit_with_work(entry, None).await?;
        match &first {
            Submitted::Refused { error, .. } if error.error == "admission_work_required" => {}
            _ => return Ok(first),
        }
        let v = self.get_json("/v1/log").await?;
        let bits = v["admission"]["publish_work_bits"]
            .as_u64()
            .filter(|b| *b <= u64::from(headcount_server::admission::MAX_WORK_BITS))
            .ok_or_else(|| anyhow!("/v1/log states no usable admission work"))?
            as u8;
        let hash = headcount_core::EntryHash::of(entry);
        eprintln!("computing the log's admission work ({bits} bits)…");
        let nonce =
            tokio::task::spawn_blocking(move || headcount_server::admission::solve(&hash, bits))
                .await?;
        self.submit_with_work(entry, Some(nonce)).await
    }

    async fn submit_with_work(&self, entry: &[u8], work: Option<u64>) -> Result<Submitted> {
        let mut req = self
            .http
            .post(format!("{}/v1/entries", self.base))
            .header("content-type", "application/octet-stream");
        if let Some(n) = work {
            req = req.header(headcount_server::admission::WORK_HEADER, n.to_string());
        }
        let r = req
            .body(entry.to_vec())
            .send()
            .await
            .with_context(|| format!("POST {}/v1/entries", self.base))?;
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
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
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
