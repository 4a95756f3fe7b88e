//! The registrar's console: server-rendered HTML pages under `/console/` on the admin
//! listener (loopback only), for the volunteers who approve requests all day. No script (see
//! [`crate::localweb`] for the rules every local page follows).
//!
//! * `GET /console/login`, `POST /console/login` (field `token`: the admin token) — signs in:
//!   a random session cookie (`hc_console`, `HttpOnly; SameSite=Strict; Path=/console`),
//!   sessions live in memory for [`SESSION_SECS`] and end with the process;
//! * `GET /console/` — the queue: each pending request's reference code and arrival minute,
//!   approve / reject (with a reason) buttons, warnings (queue filling, months below the
//!   minimum anonymity set, months to close, logged sizes that differ from the ledger);
//! * `GET /console/ledger` — every month's issued count, closed or not, and the size the log
//!   holds for it; "close and log" for months that are over;
//! * `GET /console/vouch` — vouch for a caller in a campaign (a `vouched-declaration` signed
//!   with the registrar's key, submitted to the log and its receipt verified);
//! * `POST /console/logout`, `GET /console/lang/{en|zh}?back=PATH`, `GET /console/style.css`.
//!
//! Every page checks that `Host` is a loopback name. Every `POST` also needs an `Origin`
//! equal to the console's own origin, a live session and that session's CSRF token (a hidden
//! field); a refusal is a page that says what to do, with status 403 (401 for a wrong token),
//! and changes nothing.

mod pages;
pub mod text;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use headcount_core::{CampaignId, Period};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::http::{AdminToken, Service};
use crate::localweb::{self, Lang};
use crate::wire::parse_request_id;
use crate::{Error, reference_code};

/// How long a console session lasts.
pub const SESSION_SECS: u64 = 12 * 3600;
/// At most this many live sessions (the oldest is dropped).
const MAX_SESSIONS: usize = 32;
/// Largest form body.
const MAX_FORM: usize = 16 * 1024;
/// The session cookie.
pub const SESSION_COOKIE: &str = "hc_console";

/// A boxed future (the console is generic over how it reaches the log).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the console needs from the log, implemented by the binary with its own log client
/// (so the console uses the same verified client code as the commands). Errors are sentences
/// for the registrar.
pub trait LogLink: Send + Sync {
    /// The sizes the log holds for this registrar's months.
    fn logged_periods(&self) -> BoxFuture<'_, Result<Vec<(Period, u64)>, String>>;
    /// Submits a signed `issuance-period` entry; its leaf index once logged and verified.
    fn log_period(&self, entry: Vec<u8>) -> BoxFuture<'_, Result<u64, String>>;
    /// Makes, signs with `key`, submits and verifies a vouched declaration; its leaf index.
    fn vouch(
        &self,
        key: ed25519_dalek::SigningKey,
        campaign: CampaignId,
        person: String,
        alias: String,
        message: String,
    ) -> BoxFuture<'_, Result<u64, String>>;
}

/// A notice shown once on the next page (post, redirect, get).
#[derive(Clone)]
pub(crate) enum Flash {
    Done(String),
    Error(String),
}

struct Session {
    csrf: String,
    started: u64,
    flash: Option<Flash>,
}

pub(crate) struct Console {
    service: Arc<Service>,
    token: AdminToken,
    log: Option<Arc<dyn LogLink>>,
    /// Keyed by SHA-256 of the session id (a map look-up then reveals nothing about the id).
    sessions: Mutex<HashMap<[u8; 32], Session>>,
}

/// The signed-in session of a request: its CSRF token and pending notice.
pub(crate) struct Ctx {
    pub lang: Lang,
    pub csrf: String,
    pub flash: Option<Flash>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn session_key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Console {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live session the request's cookie names, taking its notice.
    fn session(&self, headers: &HeaderMap) -> Option<(String, Option<Flash>)> {
        let id = localweb::cookie(headers, SESSION_COOKIE)?;
        let mut s = self.sessions();
        let key = session_key(id);
        let live = s
            .get(&key)
            .is_some_and(|x| now().saturating_sub(x.started) < SESSION_SECS);
        if !live {
            s.remove(&key);
            return None;
        }
        let x = s.get_mut(&key).expect("checked above");
        Some((x.csrf.clone(), x.flash.take()))
    }

    fn set_flash(&self, headers: &HeaderMap, flash: Flash) {
        if let Some(id) = localweb::cookie(headers, SESSION_COOKIE)
            && let Some(x) = self.sessions().get_mut(&session_key(id))
        {
            x.flash = Some(flash);
        }
    }

    fn new_session(&self) -> String {
        let id = localweb::random_hex();
        let mut s = self.sessions();
        let t = now();
        s.retain(|_, x| t.saturating_sub(x.started) < SESSION_SECS);
        while s.len() >= MAX_SESSIONS {
            let oldest = s
                .iter()
                .min_by_key(|(_, x)| x.started)
                .map(|(k, _)| *k)
                .expect("not empty");
            s.remove(&oldest);
        }
        s.insert(
            session_key(&id),
            Session {
                csrf: localweb::random_hex(),
                started: t,
                flash: None,
            },
        );
        id
    }
}

type Shared = State<Arc<Console>>;

/// A refusal page with `status`.
fn refused(lang: Lang, status: StatusCode, why: &str) -> Response {
    (status, pages::refused(lang, why)).into_response()
}

/// Refuses a request whose `Host` is not a loopback name (DNS rebinding).
async fn host_guard(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang = Lang::of(req.headers());
    if localweb::host(req.headers()).is_none() {
        return refused(lang, StatusCode::FORBIDDEN, text::t(lang).bad_host);
    }
    next.run(req).await
}

/// The checks of every state-changing form: same origin, live session, its CSRF token.
fn check_post(c: &Console, headers: &HeaderMap, csrf: &str) -> Result<Ctx, Box<Response>> {
    let lang = Lang::of(headers);
    let t = text::t(lang);
    if !localweb::same_origin(headers) {
        return Err(Box::new(refused(
            lang,
            StatusCode::FORBIDDEN,
            t.cross_origin,
        )));
    }
    let Some((expected, flash)) = c.session(headers) else {
        return Err(Box::new(Redirect::to("/console/login").into_response()));
    };
    if !localweb::ct_eq(&expected, csrf) {
        return Err(Box::new(refused(lang, StatusCode::FORBIDDEN, t.bad_csrf)));
    }
    Ok(Ctx {
        lang,
        csrf: expected,
        flash,
    })
}

/// The signed-in context of a page, or a redirect to the sign-in page.
fn page_ctx(c: &Console, headers: &HeaderMap) -> Result<Ctx, Box<Response>> {
    let lang = Lang::of(headers);
    match c.session(headers) {
        Some((csrf, flash)) => Ok(Ctx { lang, csrf, flash }),
        None => Err(Box::new(Redirect::to("/console/login").into_response())),
    }
}

/// The console's routes (merged into the admin router).
pub fn router(service: Arc<Service>, token: AdminToken, log: Option<Arc<dyn LogLink>>) -> Router {
    let c = Arc::new(Console {
        service,
        token,
        log,
        sessions: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(queue))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/ledger", get(ledger))
        .route("/console/vouch", get(vouch_page).post(vouch))
        .route("/console/requests/{id}/approve", post(approve))
        .route("/console/requests/{id}/reject", post(reject))
        .route("/console/periods/{p}/close", post(close))
        .route("/console/lang/{code}", get(switch_lang))
        .route("/console/style.css", get(style))
        .route("/console/favicon.svg", get(localweb::favicon))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM))
        .layer(axum::middleware::from_fn(host_guard))
        .layer(axum::middleware::map_response(localweb::security_headers))
        .with_state(c)
}

async fn style() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        localweb::STYLE_CSS,
    )
        .into_response()
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

async fn switch_lang(UrlPath(code): UrlPath<String>, Query(b): Query<Back>) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(Lang::En);
    let back = localweb::local_path(b.back.as_deref(), "/console/");
    let mut r = Redirect::to(&back).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        localweb::set_cookie(localweb::LANG_COOKIE, lang.code(), "/console"),
    );
    r
}

async fn login_page(State(c): Shared, headers: HeaderMap) -> Response {
    if c.session(&headers).is_some() {
        return Redirect::to("/console/").into_response();
    }
    pages::login(Lang::of(&headers), None).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(c): Shared, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let lang = Lang::of(&headers);
    if !localweb::same_origin(&headers) {
        return refused(lang, StatusCode::FORBIDDEN, text::t(lang).cross_origin);
    }
    let presented = zeroize::Zeroizing::new(f.token);
    if !localweb::ct_eq(c.token.secret(), presented.trim()) {
        return (
            StatusCode::UNAUTHORIZED,
            pages::login(lang, Some(text::t(lang).wrong_token)),
        )
            .into_response();
    }
    let id = c.new_session();
    let mut r = Redirect::to("/console/").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        localweb::set_cookie(SESSION_COOKIE, &id, "/console"),
    );
    r
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(c): Shared, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = check_post(&c, &headers, &f.csrf) {
        return *r;
    }
    if let Some(id) = localweb::cookie(&headers, SESSION_COOKIE) {
        c.sessions().remove(&session_key(id));
    }
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "hc_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

/// What the log says about this registrar's months: sizes, or why it could not be asked.
#[derive(Debug)]
pub(crate) enum Logged {
    NoLog,
    Unreachable(String),
    Sizes(Vec<(Period, u64)>),
}

async fn logged(c: &Console) -> Logged {
    match &c.log {
        None => Logged::NoLog,
        Some(l) => match l.logged_periods().await {
            Ok(v) => Logged::Sizes(v),
            Err(e) => Logged::Unreachable(e),
        },
    }
}

/// A snapshot of the ledger for the pages.
pub(crate) struct Snapshot {
    pub current: Period,
    pub pending: Vec<(String, String, u64)>,
    pub periods: Vec<crate::PeriodInfo>,
    pub to_close: Vec<Period>,
}

async fn snapshot(c: &Console) -> Result<Snapshot, Error> {
    let service = c.service.clone();
    tokio::task::spawn_blocking(move || {
        service.with_ledger(|l| {
            let now = l.now();
            l.expire(now)?;
            let mut pending: Vec<(String, String, u64)> = l
                .pending()
                .into_iter()
                .filter_map(|p| {
                    let id = parse_request_id(&p.request_id).ok()?;
                    Some((reference_code(&id), p.request_id, p.received))
                })
                .collect();
            pending.sort_by_key(|(_, _, r)| *r);
            Ok(Snapshot {
                current: l.current_period(),
                pending,
                periods: l.periods(),
                to_close: l.periods_to_close(),
            })
        })
    })
    .await
    .map_err(|e| Error::Internal(format!("task: {e}")))?
}

async fn queue(State(c): Shared, headers: HeaderMap) -> Response {
    let ctx = match page_ctx(&c, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let snap = match snapshot(&c).await {
        Ok(s) => s,
        Err(e) => return internal(ctx.lang, e),
    };
    let logged = logged(&c).await;
    pages::queue(&ctx, &snap, &logged).into_response()
}

async fn ledger(State(c): Shared, headers: HeaderMap) -> Response {
    let ctx = match page_ctx(&c, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let snap = match snapshot(&c).await {
        Ok(s) => s,
        Err(e) => return internal(ctx.lang, e),
    };
    let logged = logged(&c).await;
    pages::ledger(&ctx, &snap, &logged, c.log.is_some()).into_response()
}

fn internal(lang: Lang, e: Error) -> Response {
    tracing::error!(error = %e, "console: reading the ledger");
    refused(
        lang,
        StatusCode::INTERNAL_SERVER_ERROR,
        &text::fill(text::t(lang).err_other, &[("e", &"internal error")]),
    )
}

/// A registrar error as a sentence for the console.
fn error_sentence(lang: Lang, e: &Error) -> String {
    let t = text::t(lang);
    match e {
        Error::NotFound => t.err_not_found.to_owned(),
        Error::NotPending(_) => t.err_not_pending.to_owned(),
        Error::PeriodNotOver(p) => text::fill(t.err_period_not_over, &[("p", p)]),
        Error::EmptyPeriod(p) => text::fill(t.err_period_empty, &[("p", p)]),
        Error::PeriodClosed(p) => text::fill(t.err_period_closed, &[("p", p)]),
        Error::PeriodFull(p) => text::fill(t.err_period_full, &[("p", p)]),
        Error::InvalidReason => t.err_reason.to_owned(),
        e if e.code() == "internal" => {
            tracing::error!(error = %e, "console action failed");
            text::fill(t.err_other, &[("e", &"internal error")])
        }
        e => text::fill(t.err_other, &[("e", e)]),
    }
}

/// Runs a ledger action and redirects to `to` with its notice.
async fn act<T: Send + 'static>(
    c: &Arc<Console>,
    headers: &HeaderMap,
    to: &str,
    f: impl FnOnce(&Service) -> Result<T, Error> + Send + 'static,
    done: impl FnOnce(T) -> String,
) -> Response {
    let lang = Lang::of(headers);
    let service = c.service.clone();
    let r = tokio::task::spawn_blocking(move || f(&service))
        .await
        .unwrap_or_else(|e| Err(Error::Internal(format!("task: {e}"))));
    let flash = match r {
        Ok(v) => Flash::Done(done(v)),
        Err(e) => Flash::Error(error_sentence(lang, &e)),
    };
    c.set_flash(headers, flash);
    Redirect::to(to).into_response()
}

async fn approve(
    State(c): Shared,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let ctx = match check_post(&c, &headers, &f.csrf) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Ok(rid) = parse_request_id(&id) else {
        c.set_flash(
            &headers,
            Flash::Error(text::t(ctx.lang).err_not_found.to_owned()),
        );
        return Redirect::to("/console/").into_response();
    };
    let code = reference_code(&rid);
    let t = text::t(ctx.lang);
    act(
        &c,
        &headers,
        "/console/",
        move |s| s.approve(&rid),
        |_| text::fill(t.approved, &[("code", &code)]),
    )
    .await
}

#[derive(Deserialize)]
struct RejectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn reject(
    State(c): Shared,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<RejectForm>,
) -> Response {
    let ctx = match check_post(&c, &headers, &f.csrf) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let t = text::t(ctx.lang);
    let Ok(rid) = parse_request_id(&id) else {
        c.set_flash(&headers, Flash::Error(t.err_not_found.to_owned()));
        return Redirect::to("/console/").into_response();
    };
    let code = reference_code(&rid);
    let reason = f.reason;
    act(
        &c,
        &headers,
        "/console/",
        move |s| s.with_ledger(|l| l.reject(&rid, &reason)),
        |_| text::fill(t.rejected, &[("code", &code)]),
    )
    .await
}

async fn close(
    State(c): Shared,
    headers: HeaderMap,
    UrlPath(p): UrlPath<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let ctx = match check_post(&c, &headers, &f.csrf) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let t = text::t(ctx.lang);
    let Ok(period) = p.parse::<Period>() else {
        c.set_flash(
            &headers,
            Flash::Error(text::fill(t.err_other, &[("e", &"month is YYYY-MM")])),
        );
        return Redirect::to("/console/ledger").into_response();
    };
    let service = c.service.clone();
    // Closing again is refused by the ledger; a closed month whose entry did not reach the log
    // gets its (same, deterministic) entry again.
    let closed = tokio::task::spawn_blocking(move || match service.close_period(period) {
        Err(Error::PeriodClosed(_)) => service.with_ledger(|l| {
            let size = l
                .closed_period(period)
                .ok_or(Error::PeriodNotClosed(period))?;
            let (_, entry) =
                l.issuance_period_entry(service.signing_key(), service.registrar_id(), period)?;
            Ok((size, entry))
        }),
        other => other,
    })
    .await
    .unwrap_or_else(|e| Err(Error::Internal(format!("task: {e}"))));
    let flash = match (closed, &c.log) {
        (Err(e), _) => Flash::Error(error_sentence(ctx.lang, &e)),
        (Ok((n, _)), None) => Flash::Done(text::fill(
            t.closed_not_logged,
            &[("p", &period), ("n", &n)],
        )),
        (Ok((n, entry)), Some(log)) => match log.log_period(entry).await {
            Ok(i) => Flash::Done(text::fill(
                t.closed_logged,
                &[("p", &period), ("n", &n), ("i", &i)],
            )),
            Err(e) => Flash::Error(text::fill(t.log_refused, &[("e", &e)])),
        },
    };
    c.set_flash(&headers, flash);
    Redirect::to("/console/ledger").into_response()
}

async fn vouch_page(State(c): Shared, headers: HeaderMap) -> Response {
    let ctx = match page_ctx(&c, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    pages::vouch(&ctx, c.log.is_some(), &pages::VouchFields::default()).into_response()
}

#[derive(Deserialize)]
struct VouchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    alias: String,
    #[serde(default)]
    message: String,
}

async fn vouch(State(c): Shared, headers: HeaderMap, Form(f): Form<VouchForm>) -> Response {
    let mut ctx = match check_post(&c, &headers, &f.csrf) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let t = text::t(ctx.lang);
    let fields = pages::VouchFields {
        campaign: f.campaign.trim().to_owned(),
        alias: f.alias.clone(),
        message: f.message.clone(),
    };
    let fail = |ctx: &mut Ctx, why: String| {
        ctx.flash = Some(Flash::Error(why));
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::vouch(ctx, c.log.is_some(), &fields),
        )
            .into_response()
    };
    let Some(log) = c.log.clone() else {
        return fail(&mut ctx, t.vouch_needs_log.to_owned());
    };
    let Some(campaign) = CampaignId::from_hex(f.campaign.trim()) else {
        return fail(&mut ctx, t.bad_campaign.to_owned());
    };
    if f.person.trim().is_empty() {
        return fail(&mut ctx, t.empty_person.to_owned());
    }
    if f.alias.trim().is_empty() {
        return fail(&mut ctx, t.empty_alias.to_owned());
    }
    let key = c.service.signing_key().clone();
    match log
        .vouch(
            key,
            campaign,
            f.person.trim().to_owned(),
            f.alias,
            f.message,
        )
        .await
    {
        Ok(i) => {
            c.set_flash(&headers, Flash::Done(text::fill(t.vouched, &[("i", &i)])));
            Redirect::to("/console/vouch").into_response()
        }
        Err(e) => fail(&mut ctx, text::fill(t.log_refused, &[("e", &e)])),
    }
}
