//! The registrar's HTML console over real loopback HTTP: sign-in, the queue with reference
//! codes, approve and reject, and every refusal (wrong token, foreign Origin, no Origin, a
//! rebound Host, a missing or wrong CSRF token, no session), each shown to change nothing.

mod common;

use std::sync::Arc;

use common::{Reg, registrar};
use headcount_registrar::http::{AdminToken, Service, serve};
use headcount_registrar::{CredentialRequest, Ledger, RequestId, Status, client, reference_code};
use reqwest::header::{HeaderMap, HeaderValue};
use tokio::net::TcpListener;

const TOKEN: &str = "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface";

struct Console {
    service: Arc<Service>,
    public: String,
    admin: String,
    host: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn start(reg: &Reg) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path().join("state")).unwrap();
    let service = Arc::new(Service::new(
        ledger,
        reg.secret.clone(),
        reg.signing.clone(),
        reg.id,
    ));
    let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = admin.local_addr().unwrap().to_string();
    let public_url = format!("http://{}", public.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(
        service.clone(),
        public,
        admin,
        AdminToken::from_secret(TOKEN),
        async {
            let _ = rx.await;
        },
    ));
    Console {
        service,
        public: public_url,
        admin: format!("http://{host}"),
        host,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _stop: stop,
        _dir: dir,
    }
}

fn fresh_request(reg: &Reg) -> CredentialRequest {
    let nym = headcount_credentials::NymSecret::generate(&mut rand::rngs::OsRng);
    let (req, _) = headcount_credentials::request_credential(&nym, &mut rand::rngs::OsRng).unwrap();
    CredentialRequest::new(reg.id, None, req)
}

impl Console {
    fn origin(&self) -> String {
        format!("http://{}", self.host)
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: HeaderMap,
    ) -> (u16, HeaderMap, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.admin))
            .headers(headers)
            .form(form)
            .send()
            .await
            .unwrap();
        let (s, h) = (r.status().as_u16(), r.headers().clone());
        (s, h, r.text().await.unwrap())
    }

    async fn get(&self, path: &str, headers: HeaderMap) -> (u16, HeaderMap, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.admin))
            .headers(headers)
            .send()
            .await
            .unwrap();
        let (s, h) = (r.status().as_u16(), r.headers().clone());
        (s, h, r.text().await.unwrap())
    }

    fn same_origin(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_str(&self.origin()).unwrap());
        h
    }

    /// Signs in; the session cookie header.
    async fn sign_in(&self) -> HeaderMap {
        let (s, h, _) = self
            .post("/console/login", &[("token", TOKEN)], self.same_origin())
            .await;
        assert_eq!(s, 303);
        let cookie = h["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let mut out = HeaderMap::new();
        out.insert(
            "cookie",
            HeaderValue::from_str(cookie.split(';').next().unwrap()).unwrap(),
        );
        out
    }

    fn status(&self, id: &RequestId) -> Option<Status> {
        self.service.with_ledger(|l| l.status(id))
    }
}

fn csrf_of(page: &str) -> String {
    let i = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[i..i + 64].to_owned()
}

fn with(mut a: HeaderMap, b: &HeaderMap) -> HeaderMap {
    for (k, v) in b {
        a.insert(k, v.clone());
    }
    a
}

fn assert_page_headers(h: &HeaderMap) {
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("script-src") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "same-origin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_queue_approve_reject() {
    let reg = registrar(21);
    let c = start(&reg).await;
    let a = fresh_request(&reg);
    let b = fresh_request(&reg);
    for r in [&a, &b] {
        client::submit_request(&c.http, &c.public, r).await.unwrap();
    }

    // Without a session: the sign-in page.
    let (s, h, _) = c.get("/console/", HeaderMap::new()).await;
    assert_eq!(
        (s, h["location"].to_str().unwrap()),
        (303, "/console/login")
    );
    let (s, h, body) = c.get("/console/login", HeaderMap::new()).await;
    assert_eq!(s, 200);
    assert_page_headers(&h);
    assert!(body.contains("<label for=\"token\"") && !body.contains("<script"));

    let session = c.sign_in().await;
    let (s, h, page) = c.get("/console/", session.clone()).await;
    assert_eq!(s, 200);
    assert_page_headers(&h);
    for r in [&a, &b] {
        assert!(page.contains(&reference_code(&r.request_id())), "{page}");
    }
    // No log configured: the console says so.
    assert!(page.contains("No log server is configured"), "{page}");
    let csrf = csrf_of(&page);

    let approve = format!("/console/requests/{}/approve", hex::encode(a.request_id()));
    let (s, h, _) = c
        .post(
            &approve,
            &[("csrf", &csrf)],
            with(c.same_origin(), &session),
        )
        .await;
    assert_eq!((s, h["location"].to_str().unwrap()), (303, "/console/"));
    assert!(matches!(
        c.status(&a.request_id()),
        Some(Status::Approved { .. })
    ));
    let (_, _, page) = c.get("/console/", session.clone()).await;
    assert!(page.contains(&format!(
        "Approved request {}",
        reference_code(&a.request_id())
    )));

    let reject = format!("/console/requests/{}/reject", hex::encode(b.request_id()));
    let (s, _, _) = c
        .post(
            &reject,
            &[("csrf", &csrf), ("reason", "Could not reach you by phone.")],
            with(c.same_origin(), &session),
        )
        .await;
    assert_eq!(s, 303);
    assert_eq!(
        c.status(&b.request_id()),
        Some(Status::Rejected {
            reason: "Could not reach you by phone.".into()
        })
    );
    // Deciding again: a sentence, nothing changed.
    c.post(
        &approve,
        &[("csrf", &csrf)],
        with(c.same_origin(), &session),
    )
    .await;
    let (_, _, page) = c.get("/console/", session.clone()).await;
    assert!(page.contains("No request is waiting."), "{page}");

    // The ledger page lists the month with one credential, and warns it is below the minimum.
    let (s, _, page) = c.get("/console/ledger", session.clone()).await;
    assert_eq!(s, 200);
    assert!(page.contains("Only 1 credentials issued"), "{page}");

    // Vouching needs a log: refused with a sentence.
    let (s, _, page) = c
        .post(
            "/console/vouch",
            &[
                ("csrf", &csrf),
                ("campaign", &"ab".repeat(32)),
                ("person", "case 7"),
                ("alias", "Lotus"),
            ],
            with(c.same_origin(), &session),
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("Vouching needs the log server"), "{page}");
    assert!(!page.contains("case 7"), "the case number is never echoed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_changes_nothing() {
    let reg = registrar(22);
    let c = start(&reg).await;
    let a = fresh_request(&reg);
    client::submit_request(&c.http, &c.public, &a)
        .await
        .unwrap();
    let approve = format!("/console/requests/{}/approve", hex::encode(a.request_id()));

    // A wrong token: 401, no cookie.
    let (s, h, body) = c
        .post(
            "/console/login",
            &[("token", &"0".repeat(64))],
            c.same_origin(),
        )
        .await;
    assert_eq!(s, 401);
    assert!(h.get("set-cookie").is_none());
    assert!(body.contains("not the current admin token"), "{body}");
    // Sign-in from another site, or with no Origin at all: 403, no cookie.
    for origin in [Some("http://evil.example"), Some("null"), None] {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert("origin", HeaderValue::from_static(o));
        }
        let (s, h, body) = c.post("/console/login", &[("token", TOKEN)], h).await;
        assert_eq!(s, 403, "{origin:?}");
        assert!(h.get("set-cookie").is_none());
        assert!(body.contains("sent from another page or site"), "{body}");
    }
    // A rebound name (DNS rebinding): 403 for pages and forms.
    let mut rebound = HeaderMap::new();
    rebound.insert("host", HeaderValue::from_static("evil.example"));
    let (s, _, body) = c.get("/console/login", rebound.clone()).await;
    assert_eq!(s, 403);
    assert!(body.contains("loopback address"), "{body}");

    let session = c.sign_in().await;
    let (_, _, page) = c.get("/console/", session.clone()).await;
    let csrf = csrf_of(&page);
    let pending = || matches!(c.status(&a.request_id()), Some(Status::Pending));

    // No CSRF token, a wrong one: 403.
    for token in ["", &"1".repeat(64)] {
        let (s, _, body) = c
            .post(
                &approve,
                &[("csrf", token)],
                with(c.same_origin(), &session),
            )
            .await;
        assert_eq!(s, 403);
        assert!(body.contains("out of date"), "{body}");
        assert!(pending());
    }
    // The right token from another origin, or without Origin: 403.
    let mut foreign = session.clone();
    foreign.insert("origin", HeaderValue::from_static("http://evil.example"));
    let (s, _, _) = c.post(&approve, &[("csrf", &csrf)], foreign).await;
    assert_eq!(s, 403);
    let (s, _, _) = c.post(&approve, &[("csrf", &csrf)], session.clone()).await;
    assert_eq!(s, 403);
    assert!(pending());
    // Right token and origin, rebound Host: 403.
    let mut h = with(rebound.clone(), &session);
    h.insert("origin", HeaderValue::from_static("http://evil.example"));
    let (s, _, _) = c.post(&approve, &[("csrf", &csrf)], h).await;
    assert_eq!(s, 403);
    assert!(pending());
    // No session (a forged cookie): sent to the sign-in page.
    let mut forged = c.same_origin();
    forged.insert(
        "cookie",
        HeaderValue::from_str(&format!("hc_console={}", "2".repeat(64))).unwrap(),
    );
    let (s, h, _) = c.post(&approve, &[("csrf", &csrf)], forged).await;
    assert_eq!(
        (s, h["location"].to_str().unwrap()),
        (303, "/console/login")
    );
    assert!(pending());
    // The JSON admin API still refuses a browser (Origin) and wants its bearer token.
    let r = c
        .http
        .post(format!(
            "{}/admin/requests/{}/approve",
            c.admin,
            hex::encode(a.request_id())
        ))
        .headers(with(c.same_origin(), &session))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(pending());

    // Signing out ends the session.
    let (s, _, _) = c
        .post(
            "/console/logout",
            &[("csrf", &csrf)],
            with(c.same_origin(), &session),
        )
        .await;
    assert_eq!(s, 303);
    let (s, _, _) = c.get("/console/", session.clone()).await;
    assert_eq!(s, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinese_by_browser_language_and_by_switch() {
    let reg = registrar(23);
    let c = start(&reg).await;
    let mut zh = HeaderMap::new();
    zh.insert(
        "accept-language",
        HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.5"),
    );
    let (_, _, body) = c.get("/console/login", zh.clone()).await;
    assert!(body.contains("登录登记员控制台") && body.contains("lang=\"zh-Hans\""));
    // A wrong token, in Chinese.
    let (s, _, body) = c
        .post(
            "/console/login",
            &[("token", "x")],
            with(c.same_origin(), &zh),
        )
        .await;
    assert_eq!(s, 401);
    assert!(body.contains("这不是当前的管理令牌"), "{body}");
    // The switch sets a cookie and goes back to a local page only.
    let (s, h, _) = c
        .get("/console/lang/en?back=//evil.example/", HeaderMap::new())
        .await;
    assert_eq!((s, h["location"].to_str().unwrap()), (303, "/console/"));
    let cookie = h["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut en = zh.clone();
    en.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    let (_, _, body) = c.get("/console/login", en).await;
    assert!(body.contains("Sign in to the registrar console"));
}
