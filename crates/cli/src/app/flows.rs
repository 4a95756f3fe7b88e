//! The app's handlers: one per page or form, each calling the commands' own code.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use axum::extract::{Form, Path as UrlPath, Query};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use headcount_core::{CampaignId, RegistrarId};
use headcount_registrar::localweb::{self, Lang};
use headcount_registrar::{CredentialRequest, RequestId, client as reg_client, reference_code};
use headcount_wallet::{Params, Passphrase, ReceiptKind, Wallet};
use serde::Deserialize;
use serde_json::Value;

use super::errors::sentence;
use super::text::{fill, t};
use super::{App, Flash, Shared, pages};
use crate::cmd::declare::{self, SubmissionArgs};

/// A receipt as the receipt page shows it.
#[derive(Clone)]
pub(crate) struct ReceiptView {
    pub kind: ReceiptKind,
    pub campaign: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub proof: String,
}

/// What the pages need to know about the wallet.
pub(crate) struct WalletView {
    pub path: String,
    pub exists: bool,
    pub unlocked: bool,
    /// (registrar id hex, month)
    pub credentials: Vec<(String, String)>,
    /// (reference code, registrar id hex)
    pub pending: Vec<(String, String)>,
    /// (campaign id hex, kind, leaf index)
    pub receipts: Vec<(String, ReceiptKind, u64)>,
}

async fn wallet_view(app: &App) -> WalletView {
    let w = app.wallet.lock().await;
    let mut v = WalletView {
        path: app.wallet_path.display().to_string(),
        exists: app.wallet_path.exists(),
        unlocked: w.is_some(),
        credentials: vec![],
        pending: vec![],
        receipts: vec![],
    };
    if let Some(w) = w.as_ref() {
        v.credentials = w
            .credentials()
            .iter()
            .map(|c| (hex::encode(c.registrar_id()), c.period().to_string()))
            .collect();
        v.pending = w
            .pending_issuances()
            .iter()
            .map(|p| (reference_code(&p.request_id), hex::encode(p.registrar_id)))
            .collect();
        v.receipts = w
            .receipts()
            .iter()
            .map(|r| (hex::encode(r.campaign_id), r.kind, r.leaf_index))
            .collect();
    }
    v
}

pub(crate) struct Ctx {
    pub lang: Lang,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub wallet: WalletView,
}

async fn ctx(app: &App, headers: &HeaderMap) -> Ctx {
    Ctx {
        lang: Lang::of(headers),
        csrf: app.csrf.clone(),
        flash: app.take_flash(),
        wallet: wallet_view(app).await,
    }
}

fn back(app: &App, to: &str, f: Flash) -> Response {
    app.flash(f);
    Redirect::to(to).into_response()
}

fn fail(app: &App, lang: Lang, to: &str, e: &anyhow::Error) -> Response {
    tracing::warn!(error = %format!("{e:#}"), "app flow failed");
    back(app, to, Flash::Error(sentence(lang, e)))
}

pub async fn home(State(app): Shared, headers: HeaderMap) -> Response {
    let c = ctx(&app, &headers).await;
    let names = if c.wallet.unlocked {
        registrar_names(&app).await.unwrap_or_default()
    } else {
        vec![]
    };
    pages::home(&c, &names).into_response()
}

use axum::extract::State;

#[derive(Deserialize)]
pub struct PassForm {
    #[serde(default)]
    passphrase: String,
    #[serde(default)]
    again: String,
}

fn strength(p: &str) -> u8 {
    zxcvbn::zxcvbn(p, &["headcount"]).score() as u8
}

pub async fn create(State(app): Shared, headers: HeaderMap, Form(f): Form<PassForm>) -> Response {
    let lang = Lang::of(&headers);
    let tx = t(lang);
    let (pass, again) = (
        zeroize::Zeroizing::new(f.passphrase),
        zeroize::Zeroizing::new(f.again),
    );
    if app.wallet_path.exists() {
        return back(
            &app,
            "/",
            Flash::Error(fill(
                tx.err_other,
                &[("e", &"a wallet file already exists: unlock it")],
            )),
        );
    }
    if pass.is_empty() {
        return back(&app, "/", Flash::Error(tx.empty_passphrase.to_owned()));
    }
    if *pass != *again {
        return back(&app, "/", Flash::Error(tx.mismatch.to_owned()));
    }
    let score = strength(&pass);
    let shown = fill(
        tx.strength,
        &[("s", &tx.strength_names[usize::from(score.min(4))])],
    );
    let p = match Passphrase::new(&pass) {
        Ok(p) => p,
        Err(e) => return fail(&app, lang, "/", &anyhow::Error::new(e)),
    };
    let name = app.wallet_path.to_string_lossy().into_owned();
    if let Err(headcount_wallet::Error::WeakPassphrase(why)) =
        p.check_strength(&[&name, "headcount"])
    {
        return back(
            &app,
            "/",
            Flash::Error(format!("{} {shown}", fill(tx.weak, &[("why", &why)]))),
        );
    }
    let params = if app.fast_kdf {
        Params::insecure_for_tests()
    } else {
        Params::recommended()
    };
    let path = app.wallet_path.clone();
    let made = tokio::task::spawn_blocking(move || Wallet::create(&path, &p, params))
        .await
        .map_err(|e| anyhow!("task: {e}"))
        .and_then(|r| r.map_err(anyhow::Error::new));
    match made {
        Ok(w) => {
            *app.wallet.lock().await = Some(w);
            back(
                &app,
                "/",
                Flash::Done(format!(
                    "{} {shown}",
                    fill(tx.created, &[("path", &app.wallet_path.display())])
                )),
            )
        }
        Err(e) => fail(&app, lang, "/", &e),
    }
}

pub async fn unlock(State(app): Shared, headers: HeaderMap, Form(f): Form<PassForm>) -> Response {
    let lang = Lang::of(&headers);
    let pass = zeroize::Zeroizing::new(f.passphrase);
    let opened = async {
        let p = Passphrase::new(&pass)?;
        let path = app.wallet_path.clone();
        tokio::task::spawn_blocking(move || Wallet::open(&path, &p))
            .await
            .map_err(|e| anyhow!("task: {e}"))?
            .map_err(anyhow::Error::new)
    }
    .await;
    match opened {
        Ok(w) => {
            *app.wallet.lock().await = Some(w);
            Redirect::to("/").into_response()
        }
        Err(e) => fail(&app, lang, "/", &e),
    }
}

pub async fn lock(State(app): Shared) -> Response {
    *app.wallet.lock().await = None;
    Redirect::to("/").into_response()
}

/// The unlocked wallet, or an error that says to unlock it first.
async fn unlocked(app: &App, lang: Lang) -> Result<tokio::sync::MappedMutexGuard<'_, Wallet>> {
    let guard = app.wallet.lock().await;
    tokio::sync::MutexGuard::try_map(guard, Option::as_mut)
        .map_err(|_| anyhow!("{}", t(lang).locked_needed))
}

/// The registrars in the log (id hex, name).
async fn registrar_names(app: &App) -> Result<Vec<(String, String)>> {
    let list = app.log()?.get_json("/v1/registrars").await?;
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r["id"].as_str()?.to_owned(), r["name"].as_str()?.to_owned())))
        .collect())
}

pub async fn credential(State(app): Shared, headers: HeaderMap) -> Response {
    let mut c = ctx(&app, &headers).await;
    let registrars = match async { app.log()?.get_json("/v1/registrars").await }.await {
        Ok(v) => v.as_array().cloned().unwrap_or_default(),
        Err(e) => {
            c.flash = Some(Flash::Error(sentence(c.lang, &e)));
            vec![]
        }
    };
    pages::credential(&c, &registrars, app.registrar_url.as_deref()).into_response()
}

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    registrar: String,
    #[serde(default)]
    registrar_url: String,
}

pub async fn request(
    State(app): Shared,
    headers: HeaderMap,
    Form(f): Form<RequestForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let tx = t(lang);
    let Some(rid) = RegistrarId::from_hex(f.registrar.trim()) else {
        return back(
            &app,
            "/credential",
            Flash::Error(tx.pick_registrar.to_owned()),
        );
    };
    let url = f.registrar_url.trim().trim_end_matches('/').to_owned();
    let r: Result<_> = async {
        let mut guard = unlocked(&app, lang).await?;
        let w: &mut Wallet = &mut guard;
        // Refuse an unsafe route before anything is saved or sent (as `credential request`).
        let http = app.net.client(&url, Duration::from_secs(60))?;
        let req = w
            .start_issuance(rid.0, None)
            .context("making the request")?;
        // The secret state is durable before the request leaves this machine.
        w.save().context("saving the wallet")?;
        let doc = CredentialRequest::new(rid, None, req);
        let id = doc.request_id();
        reg_client::submit_request(&http, &url, &doc)
            .await
            .map_err(|e| anyhow!("{}", fill(t(lang).err_registrar_service, &[("e", &e)])))?;
        Ok(id)
    }
    .await;
    match r {
        Ok(id) => back(
            &app,
            "/credential",
            Flash::Done(format!(
                "{} {}: {}",
                tx.requested,
                tx.your_code,
                reference_code(&id)
            )),
        ),
        Err(e) => fail(&app, lang, "/credential", &e),
    }
}

pub async fn status(
    State(app): Shared,
    headers: HeaderMap,
    Form(f): Form<RequestForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let tx = t(lang);
    let url = f.registrar_url.trim().trim_end_matches('/').to_owned();
    let r: Result<_> = async {
        let mut guard = unlocked(&app, lang).await?;
        let w: &mut Wallet = &mut guard;
        let log = app.log()?;
        let http = app.net.client(&url, Duration::from_secs(60))?;
        let ids: Vec<RequestId> = w.pending_issuances().iter().map(|p| p.request_id).collect();
        if ids.is_empty() {
            return Ok(vec![tx.no_pending.to_owned()]);
        }
        let mut said = Vec::new();
        for id in ids {
            let code = reference_code(&id);
            let before = w.credentials().len();
            match crate::cmd::credential::poll_one(w, &log, &http, &url, &id).await {
                Ok(crate::cmd::credential::Polled::Pending) => {
                    said.push(fill(tx.still_pending, &[("code", &code)]))
                }
                Ok(crate::cmd::credential::Polled::Done) => {
                    let c = w.credentials().get(before).or(w.credentials().last());
                    let (name, p) = match c {
                        Some(c) => (hex::encode(&c.registrar_id()[..4]), c.period().to_string()),
                        None => (String::new(), String::new()),
                    };
                    let name = registrar_names(&app)
                        .await
                        .ok()
                        .and_then(|v| {
                            v.into_iter()
                                .find(|(i, _)| {
                                    c.is_some_and(|c| *i == hex::encode(c.registrar_id()))
                                })
                                .map(|(_, n)| n)
                        })
                        .unwrap_or(name);
                    said.push(fill(tx.finished, &[("name", &name), ("p", &p)]))
                }
                Ok(crate::cmd::credential::Polled::Unknown) => {
                    said.push(fill(tx.unknown_request, &[("code", &code)]))
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    match msg.split_once(": ") {
                        Some((head, why)) if head.starts_with("the registrar rejected request") => {
                            said.push(fill(tx.rejected, &[("code", &code), ("why", &why)]))
                        }
                        _ => return Err(e),
                    }
                }
            }
        }
        Ok(said)
    }
    .await;
    match r {
        Ok(said) => back(&app, "/credential", Flash::Done(said.join(" "))),
        Err(e) => fail(&app, lang, "/credential", &e),
    }
}

pub async fn campaigns(State(app): Shared, headers: HeaderMap) -> Response {
    let mut c = ctx(&app, &headers).await;
    let fetched = async {
        let log = app.log()?;
        let list = log.get_json("/v1/campaigns").await?;
        let regs = registrar_names(&app).await.unwrap_or_default();
        Ok::<_, anyhow::Error>((list.as_array().cloned().unwrap_or_default(), regs))
    }
    .await;
    let (list, regs) = match fetched {
        Ok(x) => x,
        Err(e) => {
            c.flash = Some(Flash::Error(sentence(c.lang, &e)));
            (vec![], vec![])
        }
    };
    pages::campaigns(&c, &list, &regs, crate::cmd::now()).into_response()
}

#[derive(Deserialize)]
pub struct DeclareForm {
    #[serde(default)]
    alias: String,
    #[serde(default)]
    message: String,
}

async fn submit(
    app: &Arc<App>,
    lang: Lang,
    id: &str,
    kind: ReceiptKind,
    alias: String,
    message: String,
) -> Response {
    let Some(campaign) = CampaignId::from_hex(id) else {
        return back(
            app,
            "/campaigns",
            Flash::Error(fill(t(lang).err_other, &[("e", &"not a campaign id")])),
        );
    };
    let r: Result<_> = async {
        let mut guard = unlocked(app, lang).await?;
        let w: &mut Wallet = &mut guard;
        let log = app.log()?;
        let key = app.log_key(&log).await?;
        let verified = log.verified_campaign(campaign, &key, None).await?;
        declare::make_and_submit(
            &log,
            &key,
            w,
            campaign,
            &verified,
            kind,
            alias,
            message,
            SubmissionArgs::SYNC,
        )
        .await
    }
    .await;
    match r {
        Ok(receipt) => {
            *app.last_receipt.lock().unwrap_or_else(|p| p.into_inner()) = Some(ReceiptView {
                kind,
                campaign: campaign.to_string(),
                leaf_index: receipt.leaf_index,
                tree_size: receipt.tree_size,
                proof: receipt.proof,
            });
            Redirect::to("/receipt").into_response()
        }
        Err(e) => fail(app, lang, "/campaigns", &e),
    }
}

pub async fn declare(
    State(app): Shared,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<DeclareForm>,
) -> Response {
    let lang = Lang::of(&headers);
    if f.alias.trim().is_empty() {
        return back(
            &app,
            "/campaigns",
            Flash::Error(t(lang).err_empty_alias.to_owned()),
        );
    }
    submit(
        &app,
        lang,
        &id,
        ReceiptKind::Declaration,
        f.alias.trim().to_owned(),
        f.message.trim().to_owned(),
    )
    .await
}

pub async fn withdraw(
    State(app): Shared,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let lang = Lang::of(&headers);
    submit(
        &app,
        lang,
        &id,
        ReceiptKind::Withdrawal,
        String::new(),
        String::new(),
    )
    .await
}

pub async fn receipt(State(app): Shared, headers: HeaderMap) -> Response {
    let c = ctx(&app, &headers).await;
    let r = app
        .last_receipt
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    match r {
        Some(r) => pages::receipt(&c, &r).into_response(),
        None => Redirect::to("/campaigns").into_response(),
    }
}

pub async fn claim_page(State(app): Shared, headers: HeaderMap) -> Response {
    let c = ctx(&app, &headers).await;
    pages::claim(&c).into_response()
}

#[derive(Deserialize)]
pub struct ClaimForm {
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    challenge: String,
}

pub async fn claim(State(app): Shared, headers: HeaderMap, Form(f): Form<ClaimForm>) -> Response {
    let lang = Lang::of(&headers);
    let challenge = f.challenge.trim().to_owned();
    if challenge.is_empty() {
        return back(
            &app,
            "/claim",
            Flash::Error(t(lang).empty_challenge.to_owned()),
        );
    }
    let Some(campaign) = CampaignId::from_hex(f.campaign.trim()) else {
        return back(
            &app,
            "/claim",
            Flash::Error(t(lang).no_declarations.to_owned()),
        );
    };
    let r: Result<_> = async {
        let mut guard = unlocked(&app, lang).await?;
        let w: &mut Wallet = &mut guard;
        let log = app.log()?;
        let key = app.log_key(&log).await?;
        let bundle = crate::cmd::claim::prove(&log, w, campaign, &challenge, &key, None).await?;
        Ok(serde_json::to_string_pretty(&bundle)?)
    }
    .await;
    match r {
        Ok(json) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"declaration.claim\""),
                ),
            ],
            json,
        )
            .into_response(),
        Err(e) => fail(&app, lang, "/claim", &e),
    }
}

pub async fn receipts(State(app): Shared, headers: HeaderMap) -> Response {
    let c = ctx(&app, &headers).await;
    pages::receipts(&c).into_response()
}

pub async fn check(State(app): Shared, headers: HeaderMap) -> Response {
    let lang = Lang::of(&headers);
    let tx = t(lang);
    let r: Result<_> = async {
        let mut guard = unlocked(&app, lang).await?;
        let w: &mut Wallet = &mut guard;
        let log = app.log()?;
        let key = app.log_key(&log).await?;
        crate::cmd::identity::check_receipts(&log, w, &key, None).await
    }
    .await;
    match r {
        Ok((ok, 0)) => back(
            &app,
            "/receipts",
            Flash::Done(fill(tx.check_ok, &[("n", &ok)])),
        ),
        Ok((ok, bad)) => back(
            &app,
            "/receipts",
            Flash::Error(fill(tx.check_bad, &[("ok", &ok), ("bad", &bad)])),
        ),
        Err(e) => fail(&app, lang, "/receipts", &e),
    }
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

pub async fn switch_lang(UrlPath(code): UrlPath<String>, Query(b): Query<Back>) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(Lang::En);
    let to = localweb::local_path(b.back.as_deref(), "/");
    let mut r = Redirect::to(&to).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        localweb::set_cookie(localweb::LANG_COOKIE, lang.code(), "/"),
    );
    r
}

/// The JSON field `k` of `v` as text ("" if absent).
pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}
