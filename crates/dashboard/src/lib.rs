//! The public headcount dashboard: server-rendered HTML with no script at
//! all, SVG charts drawn on the server, English and Chinese.
//!
//! [`router`] gives the routes; the `headcount serve` command merges them
//! with the log's API. Pages read the derived state through their own
//! read-only SQLite connections ([`db`]) with indexed queries only, and the
//! latest checkpoint from the [`Log`]. Every response carries a CSP that
//! allows no script and no other host, `nosniff` and `no-referrer`; nothing
//! sets a cookie or records a visitor.

#![forbid(unsafe_code)]

pub mod attestations;
pub mod db;
#[doc(hidden)]
pub mod fixture;
pub mod fmt;
pub mod i18n;
pub mod note;
pub mod pages;
pub mod svg;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use headcount_core::{CampaignId, RegistrarId};
use headcount_server::Log;
use maud::Markup;
use serde::Deserialize;

use crate::db::Db;
use crate::i18n::Lang;
use crate::pages::{Ctx, LogView};

/// The Content-Security-Policy of every dashboard response: no script from
/// anywhere, styles and images only from this server, forms only to it.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The stylesheet (system fonts with CJK fallbacks; no web font).
pub const STYLE_CSS: &str = include_str!("../static/style.css");
/// The favicon.
pub const FAVICON_SVG: &str = include_str!("../static/favicon.svg");

struct Dash {
    log: Arc<Log>,
    /// The log's read model.
    db: Db,
}

impl Dash {
    fn with_db<T>(&self, f: impl FnOnce(&Db) -> T) -> Result<T, String> {
        Ok(f(&self.db))
    }

    fn view(&self) -> LogView {
        // The published checkpoint: with witnesses, the latest cosigned one.
        let c = self.log.published();
        LogView {
            origin: self.log.origin().to_owned(),
            vkey: self.log.vkey(),
            size: c.size,
            root: c.root.0,
            note: c.note,
            has_policy: self.log.witness_policy().is_some(),
        }
    }
}

/// The dashboard's routes: `/`, `/campaigns/{id}`, `/registrars/{id}`,
/// `/log`, `/lookup`, `/verify-receipt`, `/static/style.css`,
/// `/static/favicon.svg`. It has no fallback, so it merges with the API's.
pub fn router(log: Arc<Log>) -> Router {
    let dash = Arc::new(Dash {
        db: Db::new(log.read_model()),
        log,
    });
    Router::new()
        .route("/", get(home))
        .route("/campaigns/{id}", get(campaign))
        .route("/registrars/{id}", get(registrar))
        .route("/log", get(log_page))
        .route("/lookup", get(lookup))
        .route("/verify-receipt", get(verify_get).post(verify_post))
        .route("/static/style.css", get(style))
        .route("/static/favicon.svg", get(favicon))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(dash)
}

/// The headers every dashboard response carries.
pub fn set_security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.remove(header::SET_COOKIE);
}

async fn security_headers(mut r: Response) -> Response {
    set_security_headers(r.headers_mut());
    r
}

#[derive(Deserialize, Default)]
struct Params {
    lang: Option<String>,
    before: Option<u64>,
    show: Option<String>,
    q: Option<String>,
    receipt: Option<String>,
}

fn html_response(status: StatusCode, m: Markup) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        m.into_string(),
    )
        .into_response()
}

fn error_response() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "internal error",
    )
        .into_response()
}

/// This server's URL as the visitor reached it (for the audit command).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// What a page renders to.
enum Rendered {
    Page(Markup),
    NotFound(String),
}

/// Runs a page off the async runtime with a read-only connection.
async fn render(
    dash: Arc<Dash>,
    headers: HeaderMap,
    lang: Lang,
    f: impl FnOnce(&Ctx<'_>, &Db, &Log) -> Result<Rendered, db::DbError> + Send + 'static,
) -> Response {
    let base = base_url(&headers);
    let out = tokio::task::spawn_blocking(move || {
        let view = dash.view();
        let ctx = Ctx {
            lang,
            log: &view,
            base_url: &base,
        };
        let log = Arc::clone(&dash.log);
        dash.with_db(|db| match f(&ctx, db, &log) {
            Ok(Rendered::Page(m)) => html_response(StatusCode::OK, m),
            Ok(Rendered::NotFound(here)) => {
                html_response(StatusCode::NOT_FOUND, pages::not_found(&ctx, &here))
            }
            Err(_) => error_response(),
        })
    })
    .await;
    match out {
        Ok(Ok(r)) => r,
        _ => error_response(),
    }
}

async fn home(State(d): State<Arc<Dash>>, h: HeaderMap, Query(p): Query<Params>) -> Response {
    let lang = Lang::from_param(p.lang.as_deref());
    render(d, h, lang, |ctx, db, _| {
        pages::home(ctx, db).map(Rendered::Page)
    })
    .await
}

async fn campaign(
    State(d): State<Arc<Dash>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let lang = Lang::from_param(p.lang.as_deref());
    let before = p.before;
    let show = match p.show.as_deref() {
        Some("all") => db::Show::All,
        _ => db::Show::Counted,
    };
    render(d, h, lang, move |ctx, db, _| {
        let Some(cid) = CampaignId::from_hex(&id) else {
            return Ok(Rendered::NotFound("/".into()));
        };
        Ok(match pages::campaign(ctx, db, &cid, before, show)? {
            Some(m) => Rendered::Page(m),
            None => Rendered::NotFound(format!("/campaigns/{cid}")),
        })
    })
    .await
}

async fn registrar(
    State(d): State<Arc<Dash>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let lang = Lang::from_param(p.lang.as_deref());
    render(d, h, lang, move |ctx, db, _| {
        let Some(rid) = RegistrarId::from_hex(&id) else {
            return Ok(Rendered::NotFound("/".into()));
        };
        Ok(match pages::registrar(ctx, db, &rid)? {
            Some(m) => Rendered::Page(m),
            None => Rendered::NotFound(format!("/registrars/{rid}")),
        })
    })
    .await
}

async fn log_page(State(d): State<Arc<Dash>>, h: HeaderMap, Query(p): Query<Params>) -> Response {
    let lang = Lang::from_param(p.lang.as_deref());
    render(d, h, lang, |ctx, db, _| {
        Ok(Rendered::Page(pages::log_page(ctx, db)))
    })
    .await
}

async fn lookup(State(d): State<Arc<Dash>>, h: HeaderMap, Query(p): Query<Params>) -> Response {
    let lang = Lang::from_param(p.lang.as_deref());
    let q = p.q.filter(|q| q.len() <= 200);
    render(d, h, lang, move |ctx, db, log| {
        pages::lookup(ctx, db, log.tiles(), q.as_deref()).map(Rendered::Page)
    })
    .await
}

/// Largest receipt accepted (a tlog-proof is well under 8 KiB).
const MAX_RECEIPT: usize = 64 * 1024;

async fn verify(d: Arc<Dash>, h: HeaderMap, lang: Lang, receipt: Option<String>) -> Response {
    let receipt = receipt.filter(|r| r.len() <= MAX_RECEIPT);
    render(d, h, lang, move |ctx, _, log| {
        Ok(Rendered::Page(pages::verify_receipt(
            ctx,
            log.tiles(),
            receipt.as_deref(),
        )))
    })
    .await
}

async fn verify_get(State(d): State<Arc<Dash>>, h: HeaderMap, Query(p): Query<Params>) -> Response {
    let lang = Lang::from_param(p.lang.as_deref());
    verify(d, h, lang, p.receipt).await
}

async fn verify_post(
    State(d): State<Arc<Dash>>,
    h: HeaderMap,
    Query(p): Query<Params>,
    Form(f): Form<Params>,
) -> Response {
    let lang = Lang::from_param(p.lang.as_deref().or(f.lang.as_deref()));
    verify(d, h, lang, f.receipt).await
}

async fn style() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLE_CSS,
    )
        .into_response()
}

async fn favicon() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        FAVICON_SVG,
    )
        .into_response()
}
