//! Client calls for the CLI: the declarant's submit/poll and the registrar's admin calls.
//!
//! `url` is the base URL of the API (e.g. `http://127.0.0.1:8090`), with or without a
//! trailing slash. Every error answer becomes [`Error::Api`] with the service's code.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Error;
use crate::ledger::{PendingRequest, PeriodInfo, Status};
use crate::wire::{CredentialRequest, CredentialResponse, RequestId, parse_request_id};
use headcount_core::Period;

fn base(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// A running service's admin API: its URL and bearer token.
#[derive(Clone, Debug)]
pub struct AdminApi {
    pub url: String,
    pub token: crate::http::AdminToken,
}

impl AdminApi {
    fn get(&self, http: &reqwest::Client, path: &str) -> reqwest::RequestBuilder {
        http.get(format!("{}{path}", base(&self.url)))
            .bearer_auth(self.token.secret())
    }
    fn post(&self, http: &reqwest::Client, path: &str) -> reqwest::RequestBuilder {
        http.post(format!("{}{path}", base(&self.url)))
            .bearer_auth(self.token.secret())
    }
}

/// Largest answer the client reads from the service.
pub const MAX_ANSWER: usize = 1024 * 1024;

async fn answer(r: reqwest::Response) -> Result<Value, Error> {
    let status = r.status().as_u16();
    let mut r = r;
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| Error::Http(e.to_string()))? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(Error::Http(format!(
                "the answer is larger than {MAX_ANSWER} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&body);
    if !(200..300).contains(&status) {
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        return Err(Error::Api {
            status,
            code: v["error"].as_str().unwrap_or("http_error").to_owned(),
            message: v["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {status}")),
        });
    }
    serde_json::from_str(&text).map_err(|e| Error::Http(format!("unreadable answer: {e}")))
}

fn status_of(v: Value) -> Result<Status, Error> {
    let mut v = v;
    if let Some(o) = v.as_object_mut() {
        o.remove("request_id");
    }
    serde_json::from_value(v).map_err(|e| Error::Http(format!("unreadable status: {e}")))
}

async fn send(rb: reqwest::RequestBuilder) -> Result<Value, Error> {
    answer(rb.send().await.map_err(|e| Error::Http(e.to_string()))?).await
}

/// Declarant: submits a request; returns its id (the same as
/// [`CredentialRequest::request_id`], checked).
pub async fn submit_request(
    http: &reqwest::Client,
    url: &str,
    request: &CredentialRequest,
) -> Result<RequestId, Error> {
    let v = send(
        http.post(format!("{}/v1/requests", base(url)))
            .header("content-type", "application/json")
            .body(request.to_json()),
    )
    .await?;
    let id = parse_request_id(v["request_id"].as_str().unwrap_or_default())?;
    if id != request.request_id() {
        return Err(Error::Http(
            "the service answered with another request id".into(),
        ));
    }
    Ok(id)
}

/// Declarant: the status of a request. An approved response is checked to answer `id`.
pub async fn poll(http: &reqwest::Client, url: &str, id: &RequestId) -> Result<Status, Error> {
    let v = send(http.get(format!("{}/v1/requests/{}", base(url), hex::encode(id)))).await?;
    let status = status_of(v)?;
    if let Status::Approved { response } = &status
        && &response.request_id != id
    {
        return Err(Error::Http("the response answers another request".into()));
    }
    Ok(status)
}

/// What `GET /admin/requests` returns.
#[derive(Clone, Debug, Deserialize)]
pub struct PendingList {
    /// The month approvals issue into.
    pub current_period: Period,
    /// Pending requests, oldest first.
    pub pending: Vec<PendingRequest>,
}

/// What `GET /admin/periods` returns.
#[derive(Clone, Debug, Deserialize)]
pub struct PeriodList {
    /// The month approvals issue into.
    pub current_period: Period,
    /// Every month that issued or is closed.
    pub periods: Vec<PeriodInfo>,
    /// Months that are over and not yet closed.
    pub to_close: Vec<Period>,
}

/// What `POST /admin/periods/{YYYY-MM}/close` returns.
#[derive(Clone, Debug, Deserialize)]
pub struct PeriodClosed {
    /// The month closed.
    pub period: Period,
    /// Its final size.
    pub size: u32,
    /// The signed issuance-period entry (hex), to submit to the log.
    pub entry: String,
}

impl PeriodClosed {
    /// The entry bytes.
    pub fn entry_bytes(&self) -> Result<Vec<u8>, Error> {
        hex::decode(&self.entry).map_err(|_| Error::InvalidHex("entry"))
    }
}

/// Admin: the pending requests.
pub async fn admin_list(http: &reqwest::Client, admin: &AdminApi) -> Result<PendingList, Error> {
    let v = send(admin.get(http, "/admin/requests")).await?;
    serde_json::from_value(v).map_err(|e| Error::Http(format!("unreadable list: {e}")))
}

/// Admin: every month.
pub async fn admin_periods(http: &reqwest::Client, admin: &AdminApi) -> Result<PeriodList, Error> {
    let v = send(admin.get(http, "/admin/periods")).await?;
    serde_json::from_value(v).map_err(|e| Error::Http(format!("unreadable list: {e}")))
}

/// Admin: approves a request (after the out-of-band check); returns the response issued.
pub async fn admin_approve(
    http: &reqwest::Client,
    admin: &AdminApi,
    id: &RequestId,
) -> Result<CredentialResponse, Error> {
    let v = send(admin.post(
        http,
        &format!("/admin/requests/{}/approve", hex::encode(id)),
    ))
    .await?;
    match status_of(v)? {
        Status::Approved { response } => Ok(response),
        other => Err(Error::Http(format!("unexpected status {}", other.name()))),
    }
}

/// Admin: rejects a request with a reason the declarant will see.
pub async fn admin_reject(
    http: &reqwest::Client,
    admin: &AdminApi,
    id: &RequestId,
    reason: &str,
) -> Result<(), Error> {
    send(
        admin
            .post(http, &format!("/admin/requests/{}/reject", hex::encode(id)))
            .header("content-type", "application/json")
            .body(json!({ "reason": reason }).to_string()),
    )
    .await?;
    Ok(())
}

/// Admin: closes a month (once it is over); returns its final size and the signed entry to log.
pub async fn admin_close(
    http: &reqwest::Client,
    admin: &AdminApi,
    period: Period,
) -> Result<PeriodClosed, Error> {
    let v = send(admin.post(http, &format!("/admin/periods/{period}/close"))).await?;
    serde_json::from_value(v).map_err(|e| Error::Http(format!("unreadable answer: {e}")))
}
