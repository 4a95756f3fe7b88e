//! The HTTP service over real loopback sockets, with a real wallet and real files.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{Reg, check_credential, last_month, now, registrar, wallet};
use headcount_core::{Entry, Period};
use headcount_credentials::REQUEST_LEN;
use headcount_registrar::http::{AdminToken, Service, serve};
use headcount_registrar::{CredentialRequest, Error, Ledger, Status, client};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The admin token of the test services (raw requests below carry it).
const TEST_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Running {
    service: Arc<Service>,
    public: String,
    admin: client::AdminApi,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

/// Starts the service on `dir`, its clock shifted by `clock_offset` seconds.
async fn start(dir: &Path, reg: &Reg, clock_offset: i64) -> Running {
    let mut ledger = Ledger::open(dir).unwrap();
    ledger.set_clock_offset(clock_offset);
    let service = Arc::new(Service::new(
        ledger,
        reg.secret.clone(),
        reg.signing.clone(),
        reg.id,
    ));
    let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let urls = (
        format!("http://{}", public.local_addr().unwrap()),
        format!("http://{}", admin.local_addr().unwrap()),
    );
    let (stop, rx) = oneshot::channel::<()>();
    let token = AdminToken::from_secret(TEST_TOKEN);
    let task = tokio::spawn(serve(
        service.clone(),
        public,
        admin,
        token.clone(),
        async {
            let _ = rx.await;
        },
    ));
    Running {
        service,
        public: urls.0,
        admin: client::AdminApi { url: urls.1, token },
        stop,
        task,
    }
}

async fn post_raw(
    http: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let r = http
        .post(url)
        .bearer_auth(TEST_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_raw(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = http.get(url).bearer_auth(TEST_TOKEN).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn fresh_request(reg: &Reg, period: Option<Period>) -> CredentialRequest {
    let nym = headcount_credentials::NymSecret::generate(&mut rand::rngs::OsRng);
    let (req, _) = headcount_credentials::request_credential(&nym, &mut rand::rngs::OsRng).unwrap();
    CredentialRequest::new(reg.id, period, req)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declarant_submits_polls_admin_approves_declarant_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let svc = start(&tmp.path().join("state"), &reg, 0).await;
    let http = reqwest::Client::new();
    let mut w = wallet(tmp.path());
    let month = Period::containing(now());

    let req = w.start_issuance(reg.id.0, None).unwrap();
    w.save().unwrap();
    let request = CredentialRequest::new(reg.id, None, req);
    let id = client::submit_request(&http, &svc.public, &request)
        .await
        .unwrap();
    assert_eq!(
        id,
        headcount_wallet::PendingIssuance::request_id_of(&request.request)
    );
    assert_eq!(
        client::poll(&http, &svc.public, &id).await.unwrap(),
        Status::Pending
    );

    // The raw first answer: 202 pending; the same request again: its current status.
    let (code, v) = post_raw(
        &http,
        &format!("{}/v1/requests", svc.public),
        request.to_json(),
    )
    .await;
    assert_eq!(code, 202);
    assert_eq!(
        v,
        json!({"request_id": hex::encode(id), "status": "pending"})
    );

    let list = client::admin_list(&http, &svc.admin).await.unwrap();
    assert_eq!(list.current_period, month);
    assert_eq!(list.pending.len(), 1);
    assert_eq!(list.pending[0].request_id, hex::encode(id));
    assert_eq!(list.pending[0].received % 60, 0);
    assert_eq!(list.pending[0].period, None);
    // Nothing but id, minute and the month asked for is listed.
    let (_, raw) = get_raw(&http, &format!("{}/admin/requests", svc.admin.url)).await;
    let keys: Vec<&String> = raw["pending"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["period", "received", "request_id"]);

    let response = client::admin_approve(&http, &svc.admin, &id).await.unwrap();
    assert_eq!(response.period, month);
    let Status::Approved { response: polled } =
        client::poll(&http, &svc.public, &id).await.unwrap()
    else {
        panic!("not approved")
    };
    assert_eq!(polled, response);

    // Replays: submit again, approve again — same response, no second credential.
    let (code, v) = post_raw(
        &http,
        &format!("{}/v1/requests", svc.public),
        request.to_json(),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(v["status"], "approved");
    assert_eq!(v["response"], response.to_value());
    let again = client::admin_approve(&http, &svc.admin, &id).await.unwrap();
    assert_eq!(again, response);
    let periods = client::admin_periods(&http, &svc.admin).await.unwrap();
    assert_eq!(periods.current_period, month);
    assert_eq!(periods.periods.len(), 1);
    assert_eq!(
        (periods.periods[0].period, periods.periods[0].issued),
        (month, 1)
    );
    assert!(!periods.periods[0].closed);
    assert!(periods.to_close.is_empty());
    assert!(
        client::admin_list(&http, &svc.admin)
            .await
            .unwrap()
            .pending
            .is_empty()
    );

    let stored = w
        .finish_issuance(
            &polled.request_id,
            &reg.pk,
            &polled.blind_signature,
            &polled.attributes(),
            now(),
        )
        .unwrap()
        .clone();
    w.save().unwrap();
    check_credential(&stored, &reg, month);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_are_not_public_and_errors_are_json() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let svc = start(tmp.path(), &reg, 0).await;
    let http = reqwest::Client::new();
    let month = Period::containing(now());

    for path in ["/admin/requests", "/admin/periods"] {
        let (code, v) = get_raw(&http, &format!("{}{path}", svc.public)).await;
        assert_eq!(
            (code, v["error"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let id = "ab".repeat(32);
    for path in [
        format!("/admin/requests/{id}/approve"),
        format!("/admin/requests/{id}/reject"),
        format!("/admin/periods/{month}/close"),
    ] {
        let (code, v) = post_raw(&http, &format!("{}{path}", svc.public), "{}").await;
        assert_eq!(
            (code, v["error"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    // And the public API is not on the admin listener.
    let (code, _) = get_raw(&http, &format!("{}/v1/requests/{id}", svc.admin.url)).await;
    assert_eq!(code, 404);

    let (code, v) = get_raw(&http, &format!("{}/v1/requests/{id}", svc.public)).await;
    assert_eq!((code, v["error"].as_str()), (404, Some("not_found")));
    let (code, v) = get_raw(&http, &format!("{}/v1/requests/xyz", svc.public)).await;
    assert_eq!((code, v["error"].as_str()), (400, Some("invalid_length")));
    let (code, v) = get_raw(&http, &format!("{}/v1/requests", svc.public)).await;
    assert_eq!(
        (code, v["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
    for bad in ["x", "3", "2026-13", "1969-12", "2026-1-1"] {
        let (code, v) = post_raw(
            &http,
            &format!("{}/admin/periods/{bad}/close", svc.admin.url),
            "",
        )
        .await;
        assert_eq!(
            (code, v["error"].as_str()),
            (400, Some("invalid_json")),
            "{bad}"
        );
    }
    let (code, v) = post_raw(
        &http,
        &format!("{}/admin/periods/2020-03/close", svc.admin.url),
        "",
    )
    .await;
    assert_eq!((code, v["error"].as_str()), (409, Some("empty_period")));
    // The current month is not over: it cannot be closed.
    let (code, v) = post_raw(
        &http,
        &format!("{}/admin/periods/{month}/close", svc.admin.url),
        "",
    )
    .await;
    assert_eq!((code, v["error"].as_str()), (409, Some("period_not_over")));
    let (code, v) = post_raw(
        &http,
        &format!("{}/admin/requests/{id}/approve", svc.admin.url),
        "",
    )
    .await;
    assert_eq!((code, v["error"].as_str()), (404, Some("not_found")));

    // The admin listener must be loopback.
    let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let ledger_dir = tmp.path().join("other");
    let service = Arc::new(Service::new(
        Ledger::open(&ledger_dir).unwrap(),
        reg.secret.clone(),
        reg.signing.clone(),
        reg.id,
    ));
    let e = serve(service, public, admin, AdminToken::generate(), async {})
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AdminNotLoopback(_)), "{e}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_refused_with_codes_and_no_state_change() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let other = registrar(6);
    let svc = start(&tmp.path().join("state"), &reg, 0).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/requests", svc.public);
    let month = Period::containing(now());
    let good = fresh_request(&reg, None);
    let good_hex = hex::encode(good.request.to_bytes());
    let body = |request: &str| {
        json!({"version": 2, "registrar": reg.id.to_hex(), "request": request}).to_string()
    };

    let cases: Vec<(String, u16, &str)> =
        vec![
        ("{".into(), 400, "invalid_json"),
        (body(&"g0".repeat(REQUEST_LEN)), 400, "invalid_hex"),
        (body(&good_hex[2..]), 400, "invalid_length"),
        (body(""), 400, "invalid_length"),
        (body(&"00".repeat(REQUEST_LEN)), 422, "invalid_commitment"),
        (
            json!({"version": 2, "registrar": reg.id.to_hex(), "request": good_hex, "extra": 1})
                .to_string(),
            400,
            "invalid_json",
        ),
        (
            json!({"version": 9, "registrar": reg.id.to_hex(), "request": good_hex}).to_string(),
            400,
            "unsupported_version",
        ),
        (fresh_request(&other, None).to_json(), 422, "wrong_registrar"),
        (fresh_request(&reg, Some(month.next())).to_json(), 409, "period_mismatch"),
        (fresh_request(&reg, Some(Period(month.0 - 1))).to_json(), 409, "period_mismatch"),
        (" ".repeat(100_000), 413, "payload_too_large"),
    ];
    for (b, status, code) in cases {
        let (s, v) = post_raw(&http, &url, b).await;
        assert_eq!((s, v["error"].as_str()), (status, Some(code)));
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(
        client::admin_list(&http, &svc.admin)
            .await
            .unwrap()
            .pending
            .is_empty()
    );

    // A well-formed commitment whose proof fails: refused on submission, before anything
    // is stored (it never reaches the queue), issuing nothing.
    let mut bytes = good.request.to_bytes();
    bytes[REQUEST_LEN - 1] ^= 1;
    let (s, v) = post_raw(&http, &url, body(&hex::encode(bytes))).await;
    assert_eq!((s, v["error"].as_str()), (422, Some("invalid_commitment")));
    assert!(
        client::admin_list(&http, &svc.admin)
            .await
            .unwrap()
            .pending
            .is_empty()
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join("state/queue"))
            .unwrap()
            .count(),
        0
    );
    assert!(
        client::admin_periods(&http, &svc.admin)
            .await
            .unwrap()
            .periods
            .is_empty()
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join("state/issued"))
            .unwrap()
            .count(),
        0
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_close_and_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let dir = tmp.path().join("state");
    // The service starts "last month".
    let (last, offset) = last_month();
    let svc = start(&dir, &reg, offset).await;
    let http = reqwest::Client::new();

    // Reject with a reason; the declarant sees it; approval is then refused.
    let r1 = fresh_request(&reg, None);
    let id1 = client::submit_request(&http, &svc.public, &r1)
        .await
        .unwrap();
    let (code, v) = post_raw(
        &http,
        &format!(
            "{}/admin/requests/{}/reject",
            svc.admin.url,
            hex::encode(id1)
        ),
        "{\"reason\": \"\"}",
    )
    .await;
    assert_eq!((code, v["error"].as_str()), (400, Some("invalid_reason")));
    client::admin_reject(&http, &svc.admin, &id1, "no in-person check possible")
        .await
        .unwrap();
    assert_eq!(
        client::poll(&http, &svc.public, &id1).await.unwrap(),
        Status::Rejected {
            reason: "no in-person check possible".into()
        }
    );
    let e = client::admin_approve(&http, &svc.admin, &id1)
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("not_pending", 409));
    let (code, v) = post_raw(&http, &format!("{}/v1/requests", svc.public), r1.to_json()).await;
    assert_eq!((code, v["status"].as_str()), (200, Some("rejected")));

    // Approve two in (what is then) the current month; it cannot be closed until it is over.
    for _ in 0..2 {
        let r = fresh_request(&reg, Some(last));
        let id = client::submit_request(&http, &svc.public, &r)
            .await
            .unwrap();
        assert_eq!(
            client::admin_approve(&http, &svc.admin, &id)
                .await
                .unwrap()
                .period,
            last
        );
    }
    let e = client::admin_close(&http, &svc.admin, last)
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("period_not_over", 409));
    let periods = client::admin_periods(&http, &svc.admin).await.unwrap();
    assert_eq!(periods.current_period, last);
    assert!(periods.to_close.is_empty());

    // The month ends: it is listed to close, and closes with its signed entry.
    svc.service.with_ledger(|l| l.set_clock_offset(0));
    let month = last.next();
    let periods = client::admin_periods(&http, &svc.admin).await.unwrap();
    assert_eq!(periods.current_period, month);
    assert_eq!(periods.to_close, [last]);
    let closed = client::admin_close(&http, &svc.admin, last).await.unwrap();
    assert_eq!((closed.period, closed.size), (last, 2));
    let Entry::IssuancePeriod(b) = Entry::decode(&closed.entry_bytes().unwrap()).unwrap() else {
        panic!("not an issuance-period entry")
    };
    assert_eq!((b.registrar, b.period, b.size), (reg.id, last, 2));
    // Closing again: the same size and the same (deterministically signed) entry.
    let again = client::admin_close(&http, &svc.admin, last).await.unwrap();
    assert_eq!((again.period, again.size), (last, 2));
    assert_eq!(again.entry, closed.entry);
    assert!(
        client::admin_periods(&http, &svc.admin)
            .await
            .unwrap()
            .to_close
            .is_empty()
    );
    // The raw answer has exactly these fields.
    let (code, raw) = post_raw(
        &http,
        &format!("{}/admin/periods/{last}/close", svc.admin.url),
        "",
    )
    .await;
    assert_eq!(code, 200);
    let keys: Vec<&String> = raw.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["entry", "period", "size"]);

    // Last month takes no more requests; with the clock set back into it, approval finds it
    // closed.
    let e = client::submit_request(&http, &svc.public, &fresh_request(&reg, Some(last)))
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("period_mismatch", 409));
    let queued = fresh_request(&reg, None);
    let qid = client::submit_request(&http, &svc.public, &queued)
        .await
        .unwrap();
    svc.service.with_ledger(|l| l.set_clock_offset(offset));
    let e = client::admin_approve(&http, &svc.admin, &qid)
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("period_closed", 409));
    svc.stop().await;

    // Restart (the clock right again): the queue and the counts survive, a pending request
    // goes into the current month, and last month's rejection has expired.
    let svc = start(&dir, &reg, 0).await;
    let list = client::admin_list(&http, &svc.admin).await.unwrap();
    assert_eq!(list.current_period, month);
    assert_eq!(list.pending.len(), 1);
    assert_eq!(list.pending[0].request_id, hex::encode(qid));
    // The rejection was made last month, more than the queue's week ago: forgotten.
    let e = client::poll(&http, &svc.public, &id1).await.unwrap_err();
    assert_eq!(e.code(), "not_found");
    let r = client::admin_approve(&http, &svc.admin, &qid)
        .await
        .unwrap();
    assert_eq!(r.period, month);
    let periods = client::admin_periods(&http, &svc.admin).await.unwrap();
    let summary: Vec<(Period, u32, bool)> = periods
        .periods
        .iter()
        .map(|p| (p.period, p.issued, p.closed))
        .collect();
    assert_eq!(summary, [(last, 2, true), (month, 1, false)]);
    assert!(periods.to_close.is_empty());
    svc.stop().await;
}

/// The attacks on the admin API: a web page open in the registrar's browser (it sends an
/// Origin header, and cannot read the token), a DNS-rebound name (its Host is not
/// loopback), and anything without the token. Each is refused and the request stays pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_refuses_web_pages_rebound_names_and_missing_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let svc = start(&tmp.path().join("state"), &reg, 0).await;
    let http = reqwest::Client::new();
    let id = client::submit_request(&http, &svc.public, &fresh_request(&reg, None))
        .await
        .unwrap();
    let approve = format!(
        "{}/admin/requests/{}/approve",
        svc.admin.url,
        hex::encode(id)
    );
    let port = svc.admin.url.rsplit(':').next().unwrap().to_owned();
    let attempts: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        // No token (a body-less cross-origin POST, or any local program).
        (http.post(&approve), 401, "unauthorized"),
        (
            http.post(&approve).bearer_auth("0".repeat(64)),
            401,
            "unauthorized",
        ),
        (
            http.post(&approve).bearer_auth(&TEST_TOKEN[1..]),
            401,
            "unauthorized",
        ),
        (
            http.post(&approve)
                .header("authorization", format!("Basic {TEST_TOKEN}")),
            401,
            "unauthorized",
        ),
        // A web page: refused even if it somehow had the token.
        (
            http.post(&approve)
                .bearer_auth(TEST_TOKEN)
                .header("origin", "https://evil.example"),
            403,
            "cross_origin",
        ),
        (
            http.post(&approve)
                .bearer_auth(TEST_TOKEN)
                .header("origin", "null"),
            403,
            "cross_origin",
        ),
        // DNS rebinding: the browser sends the attacker's name as Host.
        (
            http.post(&approve)
                .bearer_auth(TEST_TOKEN)
                .header("host", format!("rebind.evil.example:{port}")),
            403,
            "bad_host",
        ),
        (
            http.get(format!("{}/admin/requests", svc.admin.url))
                .header("host", "10.0.0.1"),
            403,
            "bad_host",
        ),
    ];
    for (req, status, code) in attempts {
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!((s, v["error"].as_str()), (status, Some(code)));
    }
    // Nothing was issued: the request is still pending, the batch empty.
    assert_eq!(
        client::poll(&http, &svc.public, &id).await.unwrap(),
        Status::Pending
    );
    assert_eq!(
        client::admin_list(&http, &svc.admin)
            .await
            .unwrap()
            .pending
            .len(),
        1
    );
    // With the token, from loopback, without Origin: approved.
    let (code, _) = post_raw(&http, &approve, "").await;
    assert_eq!(code, 200);
    svc.stop().await;
}

/// The queue forgets requests (pending or rejected) a week after they arrived.
#[test]
fn queued_requests_expire_after_a_week() {
    use headcount_registrar::{QUEUE_TTL_SECS, now_minute};
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let mut ledger = Ledger::open(tmp.path()).unwrap();
    let r1 = fresh_request(&reg, None);
    let (id1, _, _) = ledger.enqueue(reg.id, &r1).unwrap();
    let r2 = fresh_request(&reg, None);
    let (id2, _, _) = ledger.enqueue(reg.id, &r2).unwrap();
    ledger.reject(&id2, "not checked").unwrap();
    // Nothing expires within the week.
    assert_eq!(
        ledger.expire(now_minute() + QUEUE_TTL_SECS - 60).unwrap(),
        0
    );
    assert!(ledger.status(&id1).is_some());
    // After it, pending and rejected requests are forgotten, files included.
    assert_eq!(
        ledger.expire(now_minute() + QUEUE_TTL_SECS + 120).unwrap(),
        2
    );
    assert!(ledger.status(&id1).is_none() && ledger.status(&id2).is_none());
    assert_eq!(
        std::fs::read_dir(tmp.path().join("queue")).unwrap().count(),
        0
    );
    drop(ledger);
    // Reopened: still gone.
    let ledger = Ledger::open(tmp.path()).unwrap();
    assert!(ledger.status(&id1).is_none());
}
