//! The issuance service: a public API for declarants and a separate admin API for the
//! registrar, on two listeners (the admin one on loopback only).
//!
//! Public:
//! * `POST /v1/requests` — body: a [`CredentialRequest`] document. A new request answers
//!   `202 {"request_id", "status": "pending"}`; a known one answers its current status
//!   (`202` while pending, `200` once decided) in the same shape as `GET`, plus `request_id`.
//! * `GET /v1/requests/{id}` — `{"status": "pending"}` | `{"status": "approved", "response":
//!   CredentialResponse}` | `{"status": "rejected", "reason"}`.
//!
//! Admin:
//! * `GET /admin/requests` — `{"current_period", "pending": [{"request_id", "received", "period"}]}`;
//! * `POST /admin/requests/{id}/approve` — issues into the current month; `200 {"request_id",
//!   "status": "approved", "response"}`;
//! * `POST /admin/requests/{id}/reject` — body `{"reason": "..."}`; `200 {"request_id", "status":
//!   "rejected", "reason"}`;
//! * `POST /admin/periods/{YYYY-MM}/close` — `200 {"period", "size", "entry": hex}` (`entry`:
//!   the signed issuance-period entry to log); refused while the month is not over;
//! * `GET /admin/periods` — `{"current_period", "periods": [PeriodInfo], "to_close": [period]}`.
//!
//! Errors: `{"error": code, "message"}` with the status of [`Error::status`]. No client
//! address or user agent is read, stored or logged.
//!
//! The admin API is guarded three ways, because "loopback only" does not stop a web page open
//! in the registrar's browser (a body-less `POST` is a simple cross-origin request) nor DNS
//! rebinding (a hostile name that resolves to 127.0.0.1):
//! * every request carries `Authorization: Bearer <token>`, a random secret that
//!   `registrar serve` writes to a 0600 file ([`AdminToken`]); wrong or missing: `401
//!   unauthorized`;
//! * a request with an `Origin` header (only browsers send one) is refused: `403 cross_origin`;
//! * the `Host` header must name a loopback address (`127.0.0.1`, `[::1]`, `localhost`),
//!   so a rebound name is refused: `403 bad_host`.
//!
//! The public API takes only requests: each commitment proof is checked when submitted
//! (`422 invalid_commitment` before anything is stored), the queue holds at most
//! [`crate::ledger::MAX_PENDING`] requests and forgets those older than
//! [`crate::ledger::QUEUE_TTL_SECS`].

use std::future::{Future, IntoFuture};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ed25519_dalek::SigningKey;
use headcount_core::{Period, RegistrarId};
use headcount_credentials::RegistrarSecretKey;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::ledger::Status;
use crate::wire::{
    CredentialRequest, CredentialResponse, MAX_WIRE_LEN, RequestId, parse_request_id,
};
use crate::{Error, Ledger};

/// Largest request body on either API.
pub const MAX_BODY: usize = MAX_WIRE_LEN;

/// The admin API's bearer token: 32 random bytes, hex. Compared in constant time.
#[derive(Clone)]
pub struct AdminToken(std::sync::Arc<zeroize::Zeroizing<String>>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        use rand_core::RngCore;
        let mut b = zeroize::Zeroizing::new([0u8; 32]);
        rand_core::OsRng.fill_bytes(b.as_mut());
        Self::from_secret(hex::encode(b.as_ref()))
    }

    /// A token from its text (e.g. read from the token file; surrounding space is ignored).
    pub fn from_secret(s: impl Into<String>) -> Self {
        let s: String = s.into();
        AdminToken(std::sync::Arc::new(zeroize::Zeroizing::new(
            s.trim().to_owned(),
        )))
    }

    /// The token text (for the client's `Authorization` header).
    pub fn secret(&self) -> &str {
        &self.0
    }

    fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let a = self.0.as_bytes();
        let b = presented.as_bytes();
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }
}

use crate::localweb::loopback_host;

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "message": message})),
    )
        .into_response()
}

/// The admin API's guard: Origin, Host, then the bearer token.
async fn admin_guard(
    State(token): State<AdminToken>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let h: &HeaderMap = req.headers();
    if h.contains_key(header::ORIGIN) {
        return refuse(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "the admin API does not answer web pages (an Origin header was sent)",
        );
    }
    let host_ok = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(loopback_host);
    if !host_ok {
        return refuse(
            StatusCode::FORBIDDEN,
            "bad_host",
            "the admin API answers only requests addressed to a loopback host",
        );
    }
    let presented = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(t) if token.matches(t) => next.run(req).await,
        _ => refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin API needs the token from the service's admin-token file",
        ),
    }
}

/// The service: the ledger and the registrar's keys.
pub struct Service {
    ledger: Mutex<Ledger>,
    secret: RegistrarSecretKey,
    signing: SigningKey,
    registrar_id: RegistrarId,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("registrar_id", &self.registrar_id)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service issuing for `registrar_id` (SHA-256 of its registrar entry's signed bytes)
    /// with its BBS secret key, signing period entries with its Ed25519 key.
    pub fn new(
        ledger: Ledger,
        secret: RegistrarSecretKey,
        signing: SigningKey,
        registrar_id: RegistrarId,
    ) -> Self {
        Self {
            ledger: Mutex::new(ledger),
            secret,
            signing,
            registrar_id,
        }
    }

    /// The registrar id.
    pub fn registrar_id(&self) -> RegistrarId {
        self.registrar_id
    }

    /// Runs `f` on the ledger (blocking: file I/O and fsync).
    pub fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger) -> T) -> T {
        let mut guard = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Approves a pending request (blocking), as `POST /admin/requests/{id}/approve` does.
    pub(crate) fn approve(&self, id: &RequestId) -> Result<CredentialResponse, Error> {
        self.with_ledger(|l| l.approve(&self.secret, self.registrar_id, id))
    }

    /// Closes a month and signs its `issuance-period` entry (blocking), as `POST
    /// /admin/periods/{YYYY-MM}/close` does: (size, entry bytes).
    pub(crate) fn close_period(&self, period: Period) -> Result<(u32, Vec<u8>), Error> {
        self.with_ledger(|l| {
            let size = l.close_period(period)?;
            let (_, entry) = l.issuance_period_entry(&self.signing, self.registrar_id, period)?;
            Ok((size, entry))
        })
    }

    /// The registrar's Ed25519 signing key (for vouched declarations made from the console).
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Never leak paths or OS errors to clients; they go to the registrar's log.
        let message = if self.code() == "internal" {
            tracing::error!(error = %self, "request failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let body = axum::Json(json!({"error": self.code(), "message": message}));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return (status, [(header::RETRY_AFTER, "60")], body).into_response();
        }
        (status, body).into_response()
    }
}

fn body_error(r: BytesRejection) -> Error {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge
    } else {
        Error::InvalidJson(r.body_text())
    }
}

async fn blocking<T: Send + 'static>(
    service: Arc<Service>,
    f: impl FnOnce(&Service) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || f(&service))
        .await
        .map_err(|e| Error::Internal(format!("task: {e}")))?
}

fn status_body(id: &str, status: &Status) -> Value {
    let mut v = serde_json::to_value(status).expect("status serialises");
    v["request_id"] = Value::String(id.to_owned());
    v
}

async fn submit(
    State(service): State<Arc<Service>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let body = body.map_err(body_error)?;
    let request = CredentialRequest::from_json(&body)?;
    let (id, status, _new) = blocking(service, move |s| {
        // A request the ledger does not know yet: check its commitment proof now (outside
        // the ledger lock), so a bad one is refused before anything is stored.
        let known = s.with_ledger(|l| l.status(&request.request_id()).is_some());
        if !known && request.registrar == s.registrar_id {
            crate::ledger::check_commitment(&s.secret, s.registrar_id, &request)?;
        }
        s.with_ledger(|l| l.enqueue(s.registrar_id, &request))
    })
    .await?;
    let code = match status {
        Status::Pending => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    };
    Ok((code, axum::Json(status_body(&hex::encode(id), &status))).into_response())
}

async fn poll(
    State(service): State<Arc<Service>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Error> {
    let id = parse_request_id(&id)?;
    // Through the blocking pool: the ledger lock may be held across an fsync.
    let status = blocking(service, move |s| {
        s.with_ledger(|l| l.status(&id)).ok_or(Error::NotFound)
    })
    .await?;
    Ok(axum::Json(serde_json::to_value(&status).expect("status serialises")).into_response())
}

async fn admin_list(State(service): State<Arc<Service>>) -> Result<Response, Error> {
    let (current, pending) = blocking(service, |s| {
        s.with_ledger(|l| {
            let now = l.now();
            l.expire(now)?;
            Ok((l.current_period(), l.pending()))
        })
    })
    .await?;
    Ok(axum::Json(json!({"current_period": current, "pending": pending})).into_response())
}

async fn admin_periods(State(service): State<Arc<Service>>) -> Response {
    let (current, periods, to_close) =
        service.with_ledger(|l| (l.current_period(), l.periods(), l.periods_to_close()));
    axum::Json(json!({"current_period": current, "periods": periods, "to_close": to_close}))
        .into_response()
}

async fn admin_approve(
    State(service): State<Arc<Service>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Error> {
    let rid = parse_request_id(&id)?;
    let response = blocking(service, move |s| {
        s.with_ledger(|l| l.approve(&s.secret, s.registrar_id, &rid))
    })
    .await?;
    Ok(axum::Json(status_body(&id, &Status::Approved { response })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    reason: String,
}

async fn admin_reject(
    State(service): State<Arc<Service>>,
    UrlPath(id): UrlPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let rid = parse_request_id(&id)?;
    let body = body.map_err(body_error)?;
    let RejectBody { reason } =
        serde_json::from_slice(&body).map_err(|e| Error::InvalidJson(e.to_string()))?;
    let status = blocking(service, move |s| {
        s.with_ledger(|l| {
            l.reject(&rid, &reason)?;
            l.status(&rid).ok_or(Error::NotFound)
        })
    })
    .await?;
    Ok(axum::Json(status_body(&id, &status)).into_response())
}

async fn admin_close(
    State(service): State<Arc<Service>>,
    UrlPath(n): UrlPath<String>,
) -> Result<Response, Error> {
    let period: Period = n
        .parse()
        .map_err(|e| Error::InvalidJson(format!("month {n:?}: {e}")))?;
    let body = blocking(service, move |s| {
        s.with_ledger(|l| {
            let size = l.close_period(period)?;
            let (_, entry) = l.issuance_period_entry(&s.signing, s.registrar_id, period)?;
            Ok(json!({
                "period": period,
                "size": size,
                "entry": hex::encode(entry),
            }))
        })
    })
    .await?;
    Ok(axum::Json(body).into_response())
}

async fn not_found() -> Error {
    Error::NotFound
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(json!({"error": "method_not_allowed", "message": "method not allowed"})),
    )
        .into_response()
}

/// The public (declarant) API.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/v1/requests", post(submit))
        .route("/v1/requests/{id}", get(poll))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(service)
}

/// The admin (registrar) API, behind [`admin_guard`], and the HTML console under
/// `/console/` (its own guard: see [`crate::console`]), without a log link. Serve it on a
/// loopback listener only.
pub fn admin_router(service: Arc<Service>, token: AdminToken) -> Router {
    admin_router_with(service, token, None)
}

/// [`admin_router`] with the console's link to the log (logged sizes, logging closed months,
/// vouching).
pub fn admin_router_with(
    service: Arc<Service>,
    token: AdminToken,
    log: Option<Arc<dyn crate::console::LogLink>>,
) -> Router {
    let console = crate::console::router(service.clone(), token.clone(), log);
    let api = Router::new()
        .route("/admin/requests", get(admin_list))
        .route("/admin/requests/{id}/approve", post(admin_approve))
        .route("/admin/requests/{id}/reject", post(admin_reject))
        .route("/admin/periods", get(admin_periods))
        .route("/admin/periods/{n}/close", post(admin_close))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(service)
        .layer(axum::middleware::from_fn_with_state(token, admin_guard));
    console.merge(api)
}

/// Serves the public API on `public` and the admin API on `admin` until `shutdown` resolves.
/// Refuses an admin listener that is not on a loopback address. Admin requests need `token`.
pub async fn serve(
    service: Arc<Service>,
    public: TcpListener,
    admin: TcpListener,
    token: AdminToken,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    serve_with(service, public, admin, token, None, shutdown).await
}

/// [`serve`], the console linked to a log through `log`.
pub async fn serve_with(
    service: Arc<Service>,
    public: TcpListener,
    admin: TcpListener,
    token: AdminToken,
    log: Option<Arc<dyn crate::console::LogLink>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let admin_addr = admin
        .local_addr()
        .map_err(|e| Error::Io(format!("admin listener: {e}")))?;
    if !admin_addr.ip().is_loopback() {
        return Err(Error::AdminNotLoopback(admin_addr.to_string()));
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let public_server = axum::serve(public, router(service.clone()))
        .with_graceful_shutdown(stop(rx.clone()))
        .into_future();
    let admin_server = axum::serve(admin, admin_router_with(service, token, log))
        .with_graceful_shutdown(stop(rx))
        .into_future();
    let (a, b) = tokio::join!(public_server, admin_server);
    a.and(b).map_err(|e| Error::Io(format!("serving: {e}")))
}
