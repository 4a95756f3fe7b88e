//! The app's pages (maud: compile-time checked, every value escaped).

use axum::response::Html;
use headcount_registrar::localweb::Lang;
use headcount_wallet::ReceiptKind;
use maud::{DOCTYPE, Markup, html};

/// A page as an HTML response body.
fn page(m: Markup) -> Html<String> {
    Html(m.into_string())
}
use serde_json::Value;

use super::Flash;
use super::flows::{Ctx, ReceiptView, s};
use super::text::{T, fill, t};

fn layout(c: &Ctx, title: &str, here: &str, body: Markup) -> Markup {
    let tx = t(c.lang);
    let other = c.lang.other();
    html! {
        (DOCTYPE)
        html lang=(c.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (tx.app) }
                link rel="stylesheet" href="/style.css";
                link rel="icon" type="image/svg+xml" href="/favicon.svg";
            }
            body {
                header.top {
                    div.bar {
                        a.brand href="/" { (tx.app) }
                        nav.nav aria-label=(tx.app) {
                            @for (href, label) in [("/", tx.nav_home), ("/credential", tx.nav_credential), ("/campaigns", tx.nav_campaigns), ("/claim", tx.nav_claim), ("/receipts", tx.nav_receipts)] {
                                @if href == here { a href=(href) aria-current="page" { (label) } }
                                @else { a href=(href) { (label) } }
                            }
                        }
                        @if c.wallet.unlocked {
                            form.inline method="post" action="/wallet/lock" {
                                input type="hidden" name="csrf" value=(c.csrf);
                                button.secondary type="submit" { (tx.lock) }
                            }
                        }
                        a href=(format!("/lang/{}?back={here}", other.code())) lang=(other.tag()) hreflang=(other.tag()) { (other.name()) }
                    }
                }
                main.wrap {
                    h1 { (title) }
                    (flash(&c.flash))
                    (body)
                }
                footer.foot { div.wrap { p { (tx.footer) } } }
            }
        }
    }
}

fn flash(f: &Option<Flash>) -> Markup {
    html! {
        @match f {
            Some(Flash::Done(s)) => p.done role="status" { (s) },
            Some(Flash::Error(s)) => p.alert role="alert" { (s) },
            None => {},
        }
    }
}

/// A refusal page (before any session: no navigation).
pub fn refused(lang: Lang, why: &str) -> Html<String> {
    page({
        let tx = t(lang);
        html! {
            (DOCTYPE)
            html lang=(lang.tag()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (tx.refused) " · " (tx.app) }
                    link rel="stylesheet" href="/style.css";
                link rel="icon" type="image/svg+xml" href="/favicon.svg";
                }
                body { main.wrap { h1 { (tx.refused) } p.alert role="alert" { (why) } } }
            }
        }
    })
}

fn csrf(c: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(c.csrf); }
}

/// The form to unlock, or to create, the wallet.
fn wallet_gate(c: &Ctx) -> Markup {
    let tx = t(c.lang);
    html! {
        @if c.wallet.exists {
            p.lead { (tx.unlock_lead) }
            form method="post" action="/wallet/unlock" {
                (csrf(c))
                label for="passphrase" { (tx.passphrase) }
                input #passphrase type="password" name="passphrase" autocomplete="current-password" required;
                button type="submit" { (tx.unlock_button) }
            }
        } @else {
            p.lead { (tx.create_lead) }
            form method="post" action="/wallet/create" {
                (csrf(c))
                label for="passphrase" { (tx.passphrase) }
                input #passphrase type="password" name="passphrase" autocomplete="new-password" required aria-describedby="pass-help";
                p.note #pass-help { (tx.passphrase_help) }
                label for="again" { (tx.passphrase_again) }
                input #again type="password" name="again" autocomplete="new-password" required;
                button type="submit" { (tx.create_button) }
            }
        }
    }
}

fn kind(tx: &T, k: ReceiptKind) -> &'static str {
    match k {
        ReceiptKind::Declaration => tx.kind_declaration,
        ReceiptKind::Withdrawal => tx.kind_withdrawal,
    }
}

fn name_of<'a>(names: &'a [(String, String)], id: &'a str) -> &'a str {
    names
        .iter()
        .find(|(i, _)| i == id)
        .map_or(&id[..16.min(id.len())], |(_, n)| n)
}

/// Home: create / unlock, or what the wallet holds.
pub fn home(c: &Ctx, names: &[(String, String)]) -> Html<String> {
    page({
        let tx = t(c.lang);
        let title = if c.wallet.unlocked {
            tx.home_title
        } else if c.wallet.exists {
            tx.unlock_title
        } else {
            tx.create_title
        };
        layout(
            c,
            title,
            "/",
            html! {
                @if !c.wallet.unlocked { (wallet_gate(c)) } @else {
                    dl.kv { dt { (tx.wallet_file) } dd { code { (c.wallet.path) } } }
                    h2 { (tx.credentials) }
                    @if c.wallet.credentials.is_empty() { p.note { (tx.no_credentials) } }
                    ul { @for (rid, p) in &c.wallet.credentials {
                        li { (fill(tx.credential_row, &[("name", &name_of(names, rid)), ("p", p)])) }
                    } }
                    @if !c.wallet.pending.is_empty() {
                        h2 { (tx.pending_requests) }
                        ul { @for (code, rid) in &c.wallet.pending {
                            li { span.code { (code) } " — " (name_of(names, rid)) }
                        } }
                    }
                    h2 { (tx.your_entries) }
                    @if c.wallet.receipts.is_empty() { p.note { (tx.no_entries) } }
                    ul { @for (cid, k, i) in &c.wallet.receipts {
                        li { (kind(tx, *k)) " · " (tx.campaign) " " code { (&cid[..16]) "…" } " · " (tx.leaf_index) " " (i) }
                    } }
                    h2 { (tx.next_steps) }
                    ul {
                        li { a href="/credential" { (tx.step_credential) } }
                        li { a href="/campaigns" { (tx.step_campaigns) } }
                    }
                }
            },
        )
    })
}

/// Get a credential: registrars with their policies, the request form, pending requests.
pub fn credential(c: &Ctx, registrars: &[Value], default_url: Option<&str>) -> Html<String> {
    page({
        let tx = t(c.lang);
        layout(
            c,
            tx.cred_title,
            "/credential",
            html! {
                @if !c.wallet.unlocked { p.warn { (tx.locked_needed) } (wallet_gate(c)) } @else {
                    p.lead { (tx.cred_lead) }
                    @if !c.wallet.pending.is_empty() {
                        h2 { (tx.pending_requests) }
                        @for (code, _) in &c.wallet.pending {
                            p { (tx.your_code) ": " span.code { (code) } }
                        }
                        p.note { (tx.code_help) }
                        form method="post" action="/credential/status" {
                            (csrf(c))
                            label for="status-url" { (tx.registrar_url) }
                            input #status-url type="text" name="registrar_url" value=(default_url.unwrap_or_default()) required autocomplete="url";
                            button type="submit" { (tx.status_button) }
                        }
                    }
                    h2 { (tx.registrars) }
                    @if registrars.is_empty() { p.note { (tx.no_registrars) } }
                    form method="post" action="/credential/request" {
                        (csrf(c))
                        fieldset {
                            legend { (tx.choose_registrar) }
                            @for (i, r) in registrars.iter().enumerate() {
                                @if r["retired"].is_null() {
                                    div.card {
                                        input type="radio" name="registrar" id=(format!("reg-{i}")) value=(s(r, "id")) required;
                                        label.inline for=(format!("reg-{i}")) { (s(r, "name")) " " code.note { (s(r, "id").get(..16).unwrap_or_default()) "…" } }
                                        dl.kv {
                                            dt { (tx.policy) } dd { (s(r, "policy")) }
                                            dt { (tx.contact) } dd { (s(r, "contact")) }
                                            dt { (tx.logged_months) } dd {
                                                @for p in r["periods"].as_array().into_iter().flatten() {
                                                    (s(p, "month")) " (" (p["size"].as_u64().unwrap_or(0)) ") "
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        label for="registrar-url" { (tx.registrar_url) }
                        input #registrar-url type="text" name="registrar_url" value=(default_url.unwrap_or_default()) required aria-describedby="url-help" autocomplete="url";
                        p.note #url-help { (tx.registrar_url_help) }
                        button type="submit" { (tx.request_button) }
                    }
                }
            },
        )
    })
}

fn campaign_text(c: &Value, lang: Lang) -> (&str, &str) {
    let texts = c["texts"].as_array().map(Vec::as_slice).unwrap_or_default();
    let want = match lang {
        Lang::En => "en",
        Lang::Zh => "zh",
    };
    let pick = texts
        .iter()
        .find(|x| s(x, "lang") == want || s(x, "lang").starts_with(&format!("{want}-")))
        .or_else(|| texts.first());
    pick.map_or(("", ""), |x| (s(x, "title"), s(x, "statement")))
}

fn day(t: u64) -> String {
    crate::cmd::fmt_time(t)[..10].to_owned()
}

/// The campaigns, each with the wallet's status in it and the declare / withdraw forms.
pub fn campaigns(c: &Ctx, list: &[Value], names: &[(String, String)], now: u64) -> Html<String> {
    page({
        let tx = t(c.lang);
        layout(
            c,
            tx.campaigns_title,
            "/campaigns",
            html! {
                p.lead { (tx.campaigns_lead) }
                @if list.is_empty() { p.note { (tx.no_campaigns) } }
                @for (i, camp) in list.iter().enumerate() {
                    @let id = s(camp, "id");
                    @let (title, statement) = campaign_text(camp, c.lang);
                    @let opens = camp["opens_at"].as_u64().unwrap_or(0);
                    @let closes = camp["closes_at"].as_u64().unwrap_or(0);
                    @let latest = c.wallet.receipts.iter().filter(|(cid, _, _)| cid == id).max_by_key(|(_, _, i)| *i).map(|(_, k, _)| *k);
                    section.card aria-labelledby=(format!("c-{i}")) {
                        h2 #(format!("c-{i}")) { (title) }
                        p { (statement) }
                        dl.kv {
                            dt { (tx.addressees) } dd { @for (j, a) in camp["addressees"].as_array().into_iter().flatten().enumerate() { @if j > 0 { "; " } (a.as_str().unwrap_or_default()) } }
                            dt { (tx.counted) } dd { (camp["tally"]["credible"].as_u64().unwrap_or(0)) }
                            dt { (tx.accepted_registrars) } dd { @for (j, r) in camp["registrars"].as_array().into_iter().flatten().enumerate() { @if j > 0 { "; " } (name_of(names, r.as_str().unwrap_or_default())) } }
                            dt { (tx.campaign_state) } dd { @if now < opens { (fill(tx.not_open_yet, &[("t", &day(opens))])) } @else if now >= closes { (fill(tx.closed_since, &[("t", &day(closes))])) } @else { (fill(tx.open_until, &[("t", &day(closes))])) } }
                            @if c.wallet.unlocked {
                                dt { (tx.your_status) } dd { @match latest {
                                    Some(ReceiptKind::Declaration) => (tx.status_declared),
                                    Some(ReceiptKind::Withdrawal) => (tx.status_withdrawn),
                                    None => (tx.status_none),
                                } }
                            }
                        }
                        @if c.wallet.unlocked {
                            form method="post" action=(format!("/campaigns/{id}/declare")) {
                                (csrf(c))
                                label for=(format!("alias-{i}")) { (tx.alias) }
                                input type="text" id=(format!("alias-{i}")) name="alias" required maxlength="64" aria-describedby=(format!("alias-help-{i}")) autocomplete="off";
                                p.note id=(format!("alias-help-{i}")) { (tx.alias_help) }
                                label for=(format!("message-{i}")) { (tx.message) }
                                textarea id=(format!("message-{i}")) name="message" {}
                                button type="submit" { @if latest == Some(ReceiptKind::Declaration) { (tx.redeclare_button) } @else { (tx.declare_button) } }
                            }
                            @if latest == Some(ReceiptKind::Declaration) {
                                form method="post" action=(format!("/campaigns/{id}/withdraw")) {
                                    (csrf(c))
                                    button.danger type="submit" { (tx.withdraw_button) }
                                }
                            }
                        }
                    }
                }
                @if !c.wallet.unlocked { p.warn { (tx.locked_needed) } (wallet_gate(c)) }
            },
        )
    })
}

/// A verified receipt.
pub fn receipt(c: &Ctx, r: &ReceiptView) -> Html<String> {
    page({
        let tx = t(c.lang);
        layout(
            c,
            tx.receipt_title,
            "/receipt",
            html! {
                p.done role="status" {
                    @match r.kind {
                        ReceiptKind::Declaration => (tx.receipt_declared),
                        ReceiptKind::Withdrawal => (tx.receipt_withdrawn),
                    }
                    " " (tx.receipt_verified)
                }
                dl.kv {
                    dt { (tx.campaign) } dd { code.hash { (r.campaign) } }
                    dt { (tx.leaf_index) } dd #leaf-index { (r.leaf_index) }
                    dt { (tx.tree_size) } dd { (r.tree_size) }
                }
                h2 { (tx.receipt_text) }
                pre { (r.proof) }
                p { a href="/campaigns" { (tx.campaigns_title) } " · " a href="/claim" { (tx.nav_claim) } }
            },
        )
    })
}

/// Prove a declaration: the wallet's declarations and the challenge.
pub fn claim(c: &Ctx) -> Html<String> {
    page({
        let tx = t(c.lang);
        let mut declared: Vec<&str> = c
            .wallet
            .receipts
            .iter()
            .filter(|(_, k, _)| *k == ReceiptKind::Declaration)
            .map(|(cid, _, _)| cid.as_str())
            .collect();
        declared.sort_unstable();
        declared.dedup();
        layout(
            c,
            tx.claim_title,
            "/claim",
            html! {
                p.lead { (tx.claim_lead) }
                @if !c.wallet.unlocked { p.warn { (tx.locked_needed) } (wallet_gate(c)) }
                @else if declared.is_empty() { p.note { (tx.no_declarations) } }
                @else {
                    form method="post" action="/claim" {
                        (csrf(c))
                        label for="campaign" { (tx.claim_campaign) }
                        select #campaign name="campaign" {
                            @for cid in &declared { option value=(cid) { (tx.campaign) " " (&cid[..16]) "…" } }
                        }
                        label for="challenge" { (tx.challenge) }
                        textarea #challenge name="challenge" required aria-describedby="challenge-help" {}
                        p.note #challenge-help { (tx.challenge_help) }
                        button type="submit" { (tx.claim_button) }
                    }
                }
            },
        )
    })
}

/// The receipts and the privacy-preserving check.
pub fn receipts(c: &Ctx) -> Html<String> {
    page({
        let tx = t(c.lang);
        layout(
            c,
            tx.receipts_title,
            "/receipts",
            html! {
                p.lead { (tx.receipts_lead) }
                @if !c.wallet.unlocked { p.warn { (tx.locked_needed) } (wallet_gate(c)) } @else {
                    @if c.wallet.receipts.is_empty() { p.note { (tx.no_entries) } } @else {
                        table.grid {
                            thead { tr { th scope="col" { (tx.campaign) } th scope="col" { (tx.your_status) } th.num scope="col" { (tx.leaf_index) } } }
                            tbody { @for (cid, k, i) in &c.wallet.receipts {
                                tr { td { code { (&cid[..16]) "…" } } td { (kind(tx, *k)) } td.num { (i) } }
                            } }
                        }
                        form method="post" action="/receipts/check" {
                            (csrf(c))
                            button type="submit" { (tx.check_button) }
                        }
                    }
                }
            },
        )
    })
}
