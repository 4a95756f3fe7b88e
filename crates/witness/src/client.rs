//! The client side of tlog-witness add-checkpoint, for logs.
//!
//! A log keeps, per witness, the size it believes the witness last cosigned (start with 0 or
//! the size of the last checkpoint that witness cosigned). On [`ClientError::Conflict`] it
//! retries with a consistency proof from the size the witness reported.

use headcount_cosignature::{CosignatureVerifier, split_note};
use signed_note::Signature;
use thiserror::Error;
use tlog_tiles::Hash;

use crate::request::{AddCheckpointRequest, parse_decimal};

/// Why a witness did not return a cosignature.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// 409: the witness's latest cosigned size differs from the old size sent. Retry with a
    /// consistency proof from `witness_size`.
    #[error("witness is at size {witness_size}")]
    Conflict {
        /// The size of the latest checkpoint the witness cosigned for this log.
        witness_size: u64,
    },
    /// 422: the checkpoint is inconsistent with what the witness cosigned (bad proof, fork).
    #[error("witness refused the checkpoint as inconsistent: {0}")]
    Unprocessable(String),
    /// 403: the witness did not accept the log's signature.
    #[error("witness rejected the log signature: {0}")]
    Forbidden(String),
    /// 404: the witness does not know this log origin.
    #[error("witness does not know this log: {0}")]
    NotFound(String),
    /// 400: the witness found the request malformed.
    #[error("witness says bad request: {0}")]
    BadRequest(String),
    /// Any other status (e.g. 500, 503).
    #[error("witness answered {status}: {body}")]
    UnexpectedStatus {
        /// The HTTP status code.
        status: u16,
        /// The response body, truncated.
        body: String,
    },
    /// The request timed out (the `reqwest::Client`'s timeout).
    #[error("witness request timed out")]
    Timeout,
    /// Connection or protocol failure.
    #[error("witness request failed: {0}")]
    Transport(#[source] reqwest::Error),
    /// A 200 whose body is not signature lines, or a 409 without a size.
    #[error("malformed witness response: {0}")]
    MalformedResponse(String),
    /// The response has no valid cosignature from the expected witness key.
    #[error("no valid cosignature from the witness: {0}")]
    BadCosignature(String),
    /// The checkpoint given to the client is not a signed checkpoint note.
    #[error("invalid checkpoint note")]
    InvalidCheckpoint,
}

impl ClientError {
    /// Whether trying again later (same request) may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Timeout | ClientError::Transport(_) => true,
            ClientError::UnexpectedStatus { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

fn transport(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        ClientError::Timeout
    } else {
        ClientError::Transport(e)
    }
}

fn truncate(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(1024)]);
    s.trim_end().to_owned()
}

/// The add-checkpoint request body.
pub fn request_body(old_size: u64, proof: &[[u8; 32]], checkpoint_note: &[u8]) -> Vec<u8> {
    AddCheckpointRequest {
        old_size,
        proof: proof.iter().map(|h| Hash(*h)).collect(),
        note: checkpoint_note,
    }
    .to_bytes()
}

/// Sends a checkpoint (a signed note) with a consistency proof from `old_size` to
/// `<witness_url>/add-checkpoint` and returns the signature lines the witness answered. They
/// are not verified: use [`add_checkpoint_verified`], or check them with the witness's
/// [`CosignatureVerifier`]. Timeouts are the `http` client's (set one).
/// Largest answer read from a witness.
pub const MAX_RESPONSE: usize = 64 * 1024;

pub async fn add_checkpoint(
    http: &reqwest::Client,
    witness_url: &str,
    old_size: u64,
    proof: &[[u8; 32]],
    checkpoint_note: &[u8],
) -> Result<Vec<Signature>, ClientError> {
    let url = format!("{}/add-checkpoint", witness_url.trim_end_matches('/'));
    let resp = http
        .post(url)
        .body(request_body(old_size, proof, checkpoint_note))
        .send()
        .await
        .map_err(transport)?;
    let status = resp.status().as_u16();
    // A witness answers a few cosignature lines: read at most MAX_RESPONSE bytes.
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(ClientError::MalformedResponse(format!(
                "the answer is larger than {MAX_RESPONSE} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    match status {
        200 => {
            let text = std::str::from_utf8(&body)
                .map_err(|_| ClientError::MalformedResponse("not UTF-8".into()))?;
            let text = text
                .strip_suffix('\n')
                .ok_or_else(|| ClientError::MalformedResponse("no final newline".into()))?;
            let sigs = text
                .split('\n')
                .map(|l| {
                    Signature::from_bytes(l.as_bytes())
                        .map_err(|_| ClientError::MalformedResponse(format!("bad line {l:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(sigs)
        }
        409 => {
            let size = body
                .strip_suffix(b"\n")
                .and_then(parse_decimal)
                .ok_or_else(|| {
                    ClientError::MalformedResponse(format!("409 body {:?}", truncate(&body)))
                })?;
            Err(ClientError::Conflict { witness_size: size })
        }
        400 => Err(ClientError::BadRequest(truncate(&body))),
        403 => Err(ClientError::Forbidden(truncate(&body))),
        404 => Err(ClientError::NotFound(truncate(&body))),
        422 => Err(ClientError::Unprocessable(truncate(&body))),
        _ => Err(ClientError::UnexpectedStatus {
            status,
            body: truncate(&body),
        }),
    }
}

/// Like [`add_checkpoint`], then keeps only the cosignature from `witness` (ignoring lines
/// from other keys, as the spec requires), verifies it over the checkpoint text and returns it
/// with its timestamp. Append `sig.to_bytes()` to the checkpoint note to publish it.
pub async fn add_checkpoint_verified(
    http: &reqwest::Client,
    witness_url: &str,
    witness: &CosignatureVerifier,
    old_size: u64,
    proof: &[[u8; 32]],
    checkpoint_note: &[u8],
) -> Result<(Signature, u64), ClientError> {
    let text = split_note(checkpoint_note)
        .map_err(|_| ClientError::InvalidCheckpoint)?
        .text;
    let sigs = add_checkpoint(http, witness_url, old_size, proof, checkpoint_note).await?;
    let mut last_err = String::from("no line from this witness key");
    for sig in sigs.into_iter().filter(|s| witness.matches(s)) {
        match witness.verify_signature(text, sig.signature()) {
            Ok(t) => return Ok((sig, t)),
            Err(e) => last_err = e.to_string(),
        }
    }
    Err(ClientError::BadCosignature(last_err))
}
