//! `headcount app`: the declarant's app, in a browser, for people who never open a terminal.
//!
//! It serves server-rendered pages (no script: the CSP forbids it) on a random loopback port
//! and prints (and opens) `http://127.0.0.1:PORT/?k=SECRET`. Every flow calls the same code as
//! the commands (`identity`, `credential`, `declare`, `withdraw`, `claim`, `identity check`),
//! through the same [`crate::client`] with its Tor-by-default rule.
//!
//! The guard, before any page:
//! * `Host` must be exactly the address the app listens on (a DNS-rebinding name is refused);
//! * the first visit carries `?k=SECRET` (32 random bytes, hex, compared in constant time); it
//!   sets an `HttpOnly; SameSite=Strict` session cookie and redirects to the same page without
//!   the secret; any other request without that cookie is refused;
//! * every `POST` needs `Origin` equal to the app's own origin and the CSRF token of its form.
//!
//! Each refusal is a page (403) that says what to do, and changes nothing.

mod errors;
mod flows;
mod pages;
mod text;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use headcount_registrar::localweb::{self, Lang};
use headcount_wallet::Wallet;

use crate::client::{LogClient, NetArgs};

/// Largest form body.
const MAX_FORM: usize = 64 * 1024;
/// The session cookie.
const SESSION_COOKIE: &str = "hc_app";

#[derive(clap::Args)]
pub struct Args {
    /// The log server's URL (an onion address through Tor, or a server on this machine).
    #[arg(long)]
    pub server: String,
    /// The wallet file (created by the app if it does not exist).
    #[arg(long, default_value = "headcount.wallet")]
    pub wallet: PathBuf,
    /// The registrar service's public URL, if the registrar gave you one (the app asks
    /// otherwise).
    #[arg(long)]
    pub registrar_url: Option<String>,
    /// Where the app listens: a loopback address only (port 0: a random free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Print the address but do not open a browser.
    #[arg(long)]
    pub no_open: bool,
    /// The log's public key; default: ask the server once (trust on first use).
    #[arg(long)]
    pub log_key: Option<String>,
    /// Weak key derivation for a new wallet (tests and demos only).
    #[arg(long, hide = true)]
    pub insecure_fast_kdf: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

/// A notice for the next page (post, redirect, get).
#[derive(Clone)]
pub(crate) enum Flash {
    Done(String),
    Error(String),
}

/// The app's state: one person, one wallet.
pub(crate) struct App {
    secret: zeroize::Zeroizing<String>,
    session: zeroize::Zeroizing<String>,
    pub csrf: String,
    host: String,
    pub server: String,
    pub net: NetArgs,
    pub wallet_path: PathBuf,
    pub registrar_url: Option<String>,
    pub fast_kdf: bool,
    log_key: tokio::sync::OnceCell<String>,
    /// The unlocked wallet, if any.
    pub wallet: tokio::sync::Mutex<Option<Wallet>>,
    notice: std::sync::Mutex<Option<Flash>>,
    /// The last receipt shown (kept until the next one).
    pub last_receipt: std::sync::Mutex<Option<flows::ReceiptView>>,
}

impl App {
    /// A client for the log, through the route the network rules allow (refuses a remote
    /// server without Tor).
    pub fn log(&self) -> Result<LogClient> {
        LogClient::for_declarant(&self.server, &self.net)
    }

    /// The log's key: given, or asked once and then pinned for this run.
    pub async fn log_key(&self, client: &LogClient) -> Result<String> {
        self.log_key
            .get_or_try_init(|| client.log_key())
            .await
            .cloned()
    }

    pub fn flash(&self, f: Flash) {
        *self.notice.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    }

    pub fn take_flash(&self) -> Option<Flash> {
        self.notice.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

pub(crate) type Shared = State<Arc<App>>;

fn refused(lang: Lang, why: &str) -> Response {
    (StatusCode::FORBIDDEN, pages::refused(lang, why)).into_response()
}

/// The guard described in the module documentation.
async fn guard(State(app): Shared, req: Request, next: axum::middleware::Next) -> Response {
    let lang = Lang::of(req.headers());
    let tx = text::t(lang);
    let host_ok = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| h.eq_ignore_ascii_case(&app.host));
    if !host_ok {
        return refused(lang, tx.bad_host);
    }
    if matches!(req.uri().path(), "/style.css" | "/favicon.svg") {
        return next.run(req).await;
    }
    let k = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("k="))
            .map(str::to_owned)
    });
    if let Some(k) = k {
        if !localweb::ct_eq(&app.secret, &k) {
            return refused(lang, tx.bad_secret);
        }
        let mut r = Redirect::to(req.uri().path()).into_response();
        r.headers_mut().insert(
            header::SET_COOKIE,
            localweb::set_cookie(SESSION_COOKIE, &app.session, "/"),
        );
        return r;
    }
    let signed_in = localweb::cookie(req.headers(), SESSION_COOKIE)
        .is_some_and(|c| localweb::ct_eq(&app.session, c));
    if !signed_in {
        return refused(lang, tx.no_session);
    }
    if req.method() == Method::POST {
        if !localweb::same_origin(req.headers()) {
            return refused(lang, tx.cross_origin);
        }
        // The CSRF token, checked here for every form so that no handler can forget it.
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
        };
        let csrf_ok = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|v| v.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
            .is_some_and(|c| localweb::ct_eq(&app.csrf, &c));
        if !csrf_ok {
            return refused(lang, tx.bad_csrf);
        }
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    next.run(req).await
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

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(flows::home))
        .route("/wallet/create", post(flows::create))
        .route("/wallet/unlock", post(flows::unlock))
        .route("/wallet/lock", post(flows::lock))
        .route("/credential", get(flows::credential))
        .route("/credential/request", post(flows::request))
        .route("/credential/status", post(flows::status))
        .route("/campaigns", get(flows::campaigns))
        .route("/campaigns/{id}/declare", post(flows::declare))
        .route("/campaigns/{id}/withdraw", post(flows::withdraw))
        .route("/receipt", get(flows::receipt))
        .route("/claim", get(flows::claim_page).post(flows::claim))
        .route("/receipts", get(flows::receipts))
        .route("/receipts/check", post(flows::check))
        .route("/lang/{code}", get(flows::switch_lang))
        .route("/style.css", get(style))
        .route("/favicon.svg", get(localweb::favicon))
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .layer(axum::middleware::map_response(localweb::security_headers))
        .with_state(app)
}

/// Opens `url` in the desktop's browser, if there is one (best effort).
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Binds the app's listener and its state; `(url with secret, listener, state)`.
pub(crate) async fn bind(a: Args) -> Result<(String, tokio::net::TcpListener, Arc<App>)> {
    if !a.listen.ip().is_loopback() {
        anyhow::bail!(
            "the app listens on this computer only: --listen must be a loopback address, not {}",
            a.listen
        );
    }
    // Refuse an unsafe route before anything is served: the same rule as the commands.
    a.net.route(&a.server)?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("binding {}", a.listen))?;
    let addr = listener.local_addr()?;
    let host = addr.to_string();
    let secret = localweb::random_hex();
    let url = format!("http://{host}/?k={secret}");
    let app = Arc::new(App {
        secret: zeroize::Zeroizing::new(secret),
        session: zeroize::Zeroizing::new(localweb::random_hex()),
        csrf: localweb::random_hex(),
        host,
        server: a.server.trim_end_matches('/').to_owned(),
        net: a.net,
        wallet_path: a.wallet,
        registrar_url: a.registrar_url,
        fast_kdf: a.insecure_fast_kdf,
        log_key: match a.log_key {
            Some(k) => tokio::sync::OnceCell::new_with(Some(k)),
            None => tokio::sync::OnceCell::new(),
        },
        wallet: tokio::sync::Mutex::new(None),
        notice: std::sync::Mutex::new(None),
        last_receipt: std::sync::Mutex::new(None),
    });
    Ok((url, listener, app))
}

/// Serves the app on `listener` until `shutdown` resolves.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving the app")
}

pub async fn run(a: Args) -> Result<()> {
    let no_open = a.no_open;
    let (url, listener, app) = bind(a).await?;
    println!("headcount app: open {url}");
    println!("(this address holds a secret: do not share it; Ctrl-C stops the app)");
    {
        use std::io::Write;
        std::io::stdout().flush()?;
    }
    if !no_open {
        open_browser(&url);
    }
    serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
