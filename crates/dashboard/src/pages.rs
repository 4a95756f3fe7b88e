//! The pages. Each takes a [`Ctx`] (language, the log's latest checkpoint,
//! this server's URL) and the read-only [`Db`], runs its indexed queries, and
//! returns markup. All user data (aliases, messages, statements, names,
//! policies) goes through maud's `(...)` splices, which HTML-escape; nothing
//! here uses `PreEscaped` on data. Aliases are wrapped in `<bdi>` and
//! free-text blocks carry `dir="auto"`, so bidirectional-override characters
//! stay inside their own element.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use headcount_core::entry::{Campaign, CampaignText, Entry};
use headcount_core::{CampaignId, CampaignTally, EntryHash, Leaf, RegistrarId};
use headcount_tlog::{
    LeafIndex, LogVerifier, TileId, TileReader, TlogProof, TreeSize, decode_bundle,
    inclusion_proof, leaf_hash, tree_root,
};
use maud::{DOCTYPE, Markup, html};

use crate::attestations::{Attestation, attestations};
use crate::db::{Db, DbError, DeclRow, Point, Result};
use crate::fmt::{date, short, thousands, utc};
use crate::i18n::{Lang, T};
use crate::note::{self, SigLine};
use crate::svg;

/// Declarations per page on a campaign page.
pub const PAGE: u32 = 50;
/// Samples of the tally history drawn in the chart and the sparkline.
pub const CHART_POINTS: u64 = 120;
pub const SPARK_POINTS: u64 = 40;

/// The log's latest checkpoint, as the pages show it.
#[derive(Clone, Debug)]
pub struct LogView {
    pub origin: String,
    pub vkey: String,
    pub size: u64,
    pub root: [u8; 32],
    pub note: std::sync::Arc<Vec<u8>>,
}

/// What every page needs.
pub struct Ctx<'a> {
    pub lang: Lang,
    pub log: &'a LogView,
    /// This server's URL as the visitor reached it, for the audit command.
    pub base_url: &'a str,
}

impl Ctx<'_> {
    fn t(&self) -> &'static T {
        self.lang.t()
    }
    fn href(&self, path: &str) -> String {
        self.lang.href(path)
    }
}

/// Percent-encodes a query value.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The frame of every page. `here` is this page's path and query without
/// `lang`, for the language switch.
pub fn layout(ctx: &Ctx<'_>, title: &str, here: &str, body: Markup) -> Markup {
    let t = ctx.t();
    let other = ctx.lang.other();
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · headcount" }
                link rel="stylesheet" href="/static/style.css";
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            }
            body {
                header.top {
                    div.wrap.bar {
                        a.brand href=(ctx.href("/")) { span.logo aria-hidden="true" { "∑" } "headcount" }
                        nav.nav {
                            a href=(ctx.href("/")) { (t.nav_campaigns) }
                            a href=(ctx.href("/log")) { (t.nav_log) }
                            a href=(ctx.href("/lookup")) { (t.nav_lookup) }
                            a href=(ctx.href("/verify-receipt")) { (t.nav_verify) }
                        }
                        a.lang href=(other.href(here)) lang=(other.tag()) hreflang=(other.tag()) { (other.name()) }
                    }
                }
                main.wrap { (body) }
                footer.foot {
                    div.wrap {
                        p { (t.footer) }
                        p { a href=(ctx.href("/log")) { (t.footer_audit) " →" } }
                    }
                }
            }
        }
    }
}

/// Free text with line breaks: paragraphs at blank lines, `<br>` at single ones.
fn multiline(s: &str) -> Markup {
    html! {
        @for para in s.split("\n\n").filter(|p| !p.trim().is_empty()) {
            p {
                @for (i, line) in para.split('\n').enumerate() {
                    @if i > 0 { br; }
                    (line)
                }
            }
        }
    }
}

fn figure(class: &str, key: &str, value: u64, label: &str, note: Option<&str>) -> Markup {
    html! {
        div class=(format!("fig {class}")) {
            span.num data-figure=(key) { (thousands(value)) }
            span.label { (label) }
            @if let Some(n) = note { span.sub { (n) } }
        }
    }
}

fn empty_tally(c: CampaignId, size: u64) -> CampaignTally {
    CampaignTally {
        campaign: c,
        tree_size: size,
        credible: 0,
        credentialed: 0,
        credentialed_over_bound: 0,
        vouched: 0,
        unverified: 0,
        withdrawals: 0,
        by_registrar: Vec::new(),
    }
}

fn title_of(c: &Campaign, lang: Lang) -> &CampaignText {
    c.text(lang.campaign_tag())
}

/// `/`: every campaign with its counts and trend, and the latest checkpoint.
pub fn home(ctx: &Ctx<'_>, db: &Db) -> Result<Markup> {
    let t = ctx.t();
    let size = ctx.log.size;
    let campaigns = db.campaigns()?;
    let mut cards = Vec::with_capacity(campaigns.len());
    for row in &campaigns {
        let id = row.campaign.id();
        let tally = db
            .tally_at(&id, size)?
            .unwrap_or_else(|| empty_tally(id, size));
        let history = db.history(&id, size, SPARK_POINTS)?;
        cards.push((row, id, tally, history));
    }
    let body = html! {
        h1 { (t.home_title) }
        p.lead { (t.home_intro) }
        @if cards.is_empty() { p.empty { (t.no_campaigns) } }
        div.cards {
            @for (row, id, tally, history) in &cards {
                @let text = title_of(&row.campaign, ctx.lang);
                @let link = ctx.href(&format!("/campaigns/{id}"));
                article.card data-campaign=(id) {
                    h2 lang=(text.lang) dir="auto" { a href=(link) { (text.title) } }
                    div.figs {
                        div.fig.main {
                            span.num data-figure="credible" { (thousands(tally.credible)) }
                            span.label { (t.credible) }
                            span.sub {
                                (t.credentialed) " " span data-figure="credentialed" { (thousands(tally.credentialed)) }
                                " + " (t.vouched) " " span data-figure="vouched" { (thousands(tally.vouched)) }
                            }
                        }
                        div.fig.apart {
                            span.num data-figure="unverified" { (thousands(tally.unverified)) }
                            span.label { (t.unverified) }
                            span.sub { (t.unverified_note) }
                        }
                        div.fig.trend {
                            (svg::sparkline(history, t.sparkline_label))
                            span.label { (t.trend) }
                        }
                    }
                    @if tally.credentialed_over_bound > 0 {
                        p.alert { (t.over_bound) ": " (thousands(tally.credentialed_over_bound)) }
                    }
                    p.meta {
                        (t.opens) " " (date(row.campaign.opens_at)) " · " (t.closes) " " (date(row.campaign.closes_at))
                        " · " a href=(link) { (t.open_campaign) " →" }
                    }
                }
            }
        }
        (checkpoint_section(ctx, db))
    };
    Ok(layout(ctx, t.home_title, "/", body))
}

fn sig_table(t: &T, sigs: &[SigLine], empty: &str) -> Markup {
    html! {
        @if sigs.is_empty() {
            p.empty { (empty) }
        } @else {
            table.grid {
                thead { tr { th { (t.witness) } th { (t.key_id) } th { (t.time) } } }
                tbody {
                    @for s in sigs {
                        tr.cosig {
                            td { code.name { (s.name) } }
                            td { code { (s.key_id) } }
                            td { @if let Some(ts) = s.timestamp { (utc(ts)) } @else { "—" } }
                        }
                    }
                }
            }
        }
    }
}

fn attestation_list(t: &T, list: &[Attestation]) -> Markup {
    html! {
        div #attestations {
            @if list.is_empty() {
                p.empty { (t.no_attestations) }
            } @else {
                table.grid {
                    thead { tr { th { (t.auditor) } th.num { (t.tree_size) } th { (t.verdict) } th { (t.received) } } }
                    tbody {
                        @for a in list {
                            tr {
                                td { code.name { (a.auditor) } " " code { (a.key_id) } }
                                td.num { (thousands(a.tree_size)) }
                                td class=(if a.agrees { "ok" } else { "over" }) { (if a.agrees { "✓ " } else { "✗ " }) (a.verdict) }
                                td { (utc(a.timestamp)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The latest checkpoint: size, root, signatures, attestations, raw text.
fn checkpoint_section(ctx: &Ctx<'_>, db: &Db) -> Markup {
    let t = ctx.t();
    let n = note::parse(&ctx.log.note, &ctx.log.origin);
    html! {
        section.checkpoint #checkpoint {
            h2 { (t.checkpoint) }
            dl.kv {
                dt { (t.tree_size) } dd data-figure="tree-size" { (thousands(ctx.log.size)) }
                dt { (t.root_hash) } dd { code.hash { (B64.encode(ctx.log.root)) } }
                dt { (t.signed_by_log) }
                dd {
                    @for s in &n.log_sigs { code.name { (s.name) } " · " (t.key_id) " " code { (s.key_id) } br; }
                }
            }
            h3 { (t.cosignatures) }
            (sig_table(t, &n.cosigs, t.no_cosignatures))
            h3 { (t.attestations) }
            (attestation_list(t, &attestations(db)))
            h3 { (t.raw_checkpoint) }
            pre.raw { (String::from_utf8_lossy(&ctx.log.note)) }
        }
    }
}

fn kind_label(t: &T, kind: &str) -> (&'static str, &'static str) {
    match kind {
        "declaration" => (t.kind_declaration, "k-cred"),
        "vouched-declaration" => (t.kind_vouched, "k-vouch"),
        "unverified-declaration" => (t.kind_unverified, "k-unver"),
        "withdrawal" => (t.kind_withdrawal, "k-withdraw"),
        _ => ("?", "k-unver"),
    }
}

fn decl_item(ctx: &Ctx<'_>, d: &DeclRow) -> Markup {
    let t = ctx.t();
    let (label, class) = kind_label(t, &d.kind);
    html! {
        li.decl {
            div.dmeta {
                a.leaf href=(ctx.href(&format!("/lookup?q={}", d.leaf_index))) { "#" (d.leaf_index) }
                " · " time { (utc(d.timestamp)) }
                " " span class=(format!("kind {class}")) { (label) }
                @if let Some(b) = d.batch { " " span.batchref { (t.batch) " " (b) } }
            }
            @if let Some(a) = &d.alias {
                div.alias { bdi { (a) } }
            } @else if let Some(p) = &d.pseudonym {
                div.alias { code.hash { (short(&hex::encode(p))) } }
            }
            @if let Some(m) = d.message.as_deref().filter(|m| !m.is_empty()) {
                div.msg dir="auto" { (multiline(m)) }
            }
        }
    }
}

/// `/campaigns/{id}`: the statement, the counts, by registrar and batch, the
/// chart, the latest declarations (paginated) and withdrawals.
pub fn campaign(
    ctx: &Ctx<'_>,
    db: &Db,
    id: &CampaignId,
    before: Option<u64>,
) -> Result<Option<Markup>> {
    let t = ctx.t();
    let Some(row) = db.campaign(id)? else {
        return Ok(None);
    };
    let c = &row.campaign;
    let size = ctx.log.size;
    let tally = db
        .tally_at(id, size)?
        .unwrap_or_else(|| empty_tally(*id, size));
    let history = db.history(id, size, CHART_POINTS)?;
    let decls = db.declarations(id, before, PAGE)?;
    let withdrawals = if tally.withdrawals > 0 {
        db.withdrawals(id, 20)?
    } else {
        Vec::new()
    };
    let mut names = Vec::new();
    for r in &tally.by_registrar {
        names.push(db.registrar_name(&r.registrar)?);
    }
    let text = title_of(c, ctx.lang);
    let base = format!("/campaigns/{id}");
    let here = match before {
        Some(b) => format!("{base}?before={b}"),
        None => base.clone(),
    };
    let series: [svg::Series<'_>; 4] = [
        (t.credible, svg::CREDIBLE, |p: &Point| p.credible),
        (t.credentialed, svg::CREDENTIALED, |p: &Point| {
            p.credentialed
        }),
        (t.vouched, svg::VOUCHED, |p: &Point| p.vouched),
        (t.unverified, svg::UNVERIFIED, |p: &Point| p.unverified),
    ];
    let body = html! {
        p.crumbs { a href=(ctx.href("/")) { "← " (t.nav_campaigns) } }
        article.campaign data-campaign=(id) {
            h1 lang=(text.lang) dir="auto" { (text.title) }
            section.statement {
                h2 { (t.statement) }
                div.text lang=(text.lang) dir="auto" { (multiline(&text.statement)) }
                @for other in c.texts.iter().filter(|o| o.lang != text.lang) {
                    details.other lang=(other.lang) {
                        summary { (t.also_in) ": " span lang=(other.lang) dir="auto" { (other.title) } " (" (other.lang) ")" }
                        div.text dir="auto" { (multiline(&other.statement)) }
                    }
                }
            }
            dl.kv {
                dt { (t.addressees) }
                dd { ul.plain { @for a in &c.addressees { li dir="auto" { (a) } } } }
                dt { (t.opens) } dd { (utc(c.opens_at)) " UTC" }
                dt { (t.closes) } dd { (utc(c.closes_at)) " UTC" }
                dt { (t.campaign_id) } dd { code.hash { (id) } }
                dt { (t.organiser_key) } dd { code.hash { (hex::encode(c.organiser_key)) } }
                dt { (t.logged_at) } dd { a href=(ctx.href(&format!("/lookup?q={}", row.leaf_index))) { "#" (row.leaf_index) } " · " (utc(row.timestamp)) " UTC" }
            }
            section {
                h2 { (t.counts_by_level) }
                div.figs.wide {
                    div.fig.main {
                        span.num data-figure="credible" { (thousands(tally.credible)) }
                        span.label { (t.credible) }
                        span.sub { (t.credible_note) }
                    }
                    (figure("", "credentialed", tally.credentialed, t.credentialed, None))
                    (figure("", "vouched", tally.vouched, t.vouched, None))
                    (figure("apart", "unverified", tally.unverified, t.unverified, Some(t.unverified_note)))
                    (figure(if tally.credentialed_over_bound > 0 { "bad" } else { "apart" }, "over-bound", tally.credentialed_over_bound, t.over_bound, None))
                    (figure("apart", "withdrawals", tally.withdrawals, t.withdrawals, None))
                }
                @if tally.credentialed_over_bound > 0 { p.alert { (t.over_bound_note) } }
                p.meta { (t.tree_size) " " (thousands(tally.tree_size)) }
            }
            section {
                h2 { (t.by_registrar) }
                @if tally.by_registrar.is_empty() {
                    p.empty { (t.no_registrar_counts) }
                } @else {
                    table.grid.byreg {
                        thead { tr { th { (t.registrar) } th { (t.batch) } th.num { (t.batch_size) } th.num { (t.declarations) } th { (t.status) } } }
                        tbody {
                            @for (r, name) in tally.by_registrar.iter().zip(&names) {
                                @let link = ctx.href(&format!("/registrars/{}", r.registrar));
                                @let rname = html! { a href=(link) { bdi { (name.as_deref().unwrap_or("?")) } } };
                                @if r.vouched > 0 || r.batches.is_empty() {
                                    tr {
                                        td { (rname) }
                                        td { (t.vouched_row) }
                                        td.num { "—" }
                                        td.num data-figure="registrar-vouched" { (thousands(r.vouched)) }
                                        td { "—" }
                                    }
                                }
                                @for b in &r.batches {
                                    tr class=(if b.over_bound { "overrow" } else { "" }) {
                                        td { (rname) }
                                        td { (b.batch) }
                                        td.num { (thousands(u64::from(b.size))) }
                                        td.num { (thousands(b.declarations)) }
                                        @if b.over_bound {
                                            td.over data-over-bound="true" {
                                                strong { (t.over_bound_evidence) } ": "
                                                (thousands(b.declarations)) " " (t.declarations) " > " (t.batch_size) " " (thousands(u64::from(b.size)))
                                            }
                                        } @else {
                                            td.ok { "✓ " (t.within_bound) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    p.note { (t.batch_size_note) }
                }
            }
            section {
                h2 { (t.counts_over_time) }
                (svg::chart(&history, &series, t.chart_x, t.counts_over_time))
                ul.legend {
                    li { span.sw.s-credible {} (t.credible) }
                    li { span.sw.s-credentialed {} (t.credentialed) }
                    li { span.sw.s-vouched {} (t.vouched) }
                    li { span.sw.s-unverified {} (t.unverified) }
                }
            }
            section #declarations {
                h2 { (t.latest_declarations) }
                @if decls.is_empty() {
                    p.empty { (t.no_declarations) }
                } @else {
                    ol.decls { @for d in &decls { (decl_item(ctx, d)) } }
                }
                nav.pager {
                    @if before.is_some() { a href=(ctx.href(&format!("{base}#declarations"))) { "« " (t.newest) } }
                    @if decls.len() == PAGE as usize {
                        @if let Some(last) = decls.last() {
                            a.older href=(ctx.href(&format!("{base}?before={}#declarations", last.leaf_index))) { (t.older) " →" }
                        }
                    }
                }
            }
            section #withdrawals {
                h2 { (t.withdrawals) }
                @if withdrawals.is_empty() {
                    p.empty { (t.no_withdrawals) }
                } @else {
                    ol.decls { @for d in &withdrawals { (decl_item(ctx, d)) } }
                }
            }
        }
    };
    Ok(Some(layout(ctx, &text.title, &here, body)))
}

/// `/registrars/{id}`: policy, batches, campaigns served.
pub fn registrar(ctx: &Ctx<'_>, db: &Db, id: &RegistrarId) -> Result<Option<Markup>> {
    let t = ctx.t();
    let Some(row) = db.registrar(id)? else {
        return Ok(None);
    };
    let r = &row.registrar;
    let batches = db.batches(id)?;
    let campaigns: Vec<_> = db
        .campaigns()?
        .into_iter()
        .filter(|c| c.campaign.registrars.contains(id))
        .collect();
    let body = html! {
        p.crumbs { a href=(ctx.href("/")) { "← " (t.nav_campaigns) } }
        h1 { span.pre { (t.registrar_title) } " " bdi dir="auto" { (r.name) } }
        dl.kv {
            dt { (t.registrar_id) } dd { code.hash { (id) } }
            dt { (t.contact) } dd dir="auto" { (r.contact) }
            dt { (t.logged_at) } dd { a href=(ctx.href(&format!("/lookup?q={}", row.leaf_index))) { "#" (row.leaf_index) } " · " (utc(row.timestamp)) " UTC" }
        }
        section {
            h2 { (t.policy) }
            div.text dir="auto" { (multiline(&r.policy)) }
        }
        section {
            h2 { (t.batches) }
            @if batches.is_empty() {
                p.empty { (t.no_batches) }
            } @else {
                table.grid {
                    thead { tr { th { (t.batch) } th.num { (t.batch_size) } th { (t.period) } th { (t.leaf) } } }
                    tbody {
                        @for b in &batches {
                            tr {
                                td { (b.batch) }
                                td.num { (thousands(u64::from(b.size))) }
                                td { (date(b.period_start)) " – " (date(b.period_end)) }
                                td { a href=(ctx.href(&format!("/lookup?q={}", b.leaf_index))) { "#" (b.leaf_index) } }
                            }
                        }
                    }
                }
                p.note { (t.batch_size_note) }
            }
        }
        section {
            h2 { (t.campaigns_served) }
            @if campaigns.is_empty() {
                p.empty { (t.none) }
            } @else {
                ul.plain.served {
                    @for c in &campaigns {
                        @let text = title_of(&c.campaign, ctx.lang);
                        li { a href=(ctx.href(&format!("/campaigns/{}", c.campaign.id()))) lang=(text.lang) dir="auto" { (text.title) } }
                    }
                }
            }
        }
    };
    Ok(Some(layout(
        ctx,
        &r.name,
        &format!("/registrars/{id}"),
        body,
    )))
}

/// `/log`: checkpoint, cosignatures, attestations, how to audit, raw paths.
pub fn log_page(ctx: &Ctx<'_>, db: &Db) -> Markup {
    let t = ctx.t();
    let size = ctx.log.size;
    let width = size.min(256) as u16;
    let tile0 = TileId {
        level: Some(0),
        index: 0,
        width,
    }
    .path();
    let bundle0 = TileId {
        level: None,
        index: 0,
        width,
    }
    .path();
    let cmd = format!(
        "headcount audit {} --log-key '{}'",
        ctx.base_url, ctx.log.vkey
    );
    let body = html! {
        h1 { (t.log_title) }
        dl.kv {
            dt { (t.origin) } dd { code { (ctx.log.origin) } }
            dt { (t.log_key) } dd { code.hash #log-key { (ctx.log.vkey) } }
        }
        section #audit {
            h2 { (t.audit_yourself) }
            p { (t.audit_intro) }
            pre.cmd { code #audit-command { (cmd) } }
        }
        (checkpoint_section(ctx, db))
        section {
            h2 { (t.raw_paths) }
            p { (t.raw_paths_intro) }
            ul.plain.paths {
                li { a href="/checkpoint" { code { "/checkpoint" } } }
                @if size > 0 {
                    li { a href=(format!("/{tile0}")) { code { "/" (tile0) } } }
                    li { a href=(format!("/{bundle0}")) { code { "/" (bundle0) } } }
                }
                li { code { "/tile/<L>/<N>[.p/<W>]" } " · " code { "/tile/entries/<N>[.p/<W>]" } }
            }
            h3 { (t.json_api) }
            ul.plain.paths {
                li { a href="/v1/log" { code { "/v1/log" } } }
                li { a href="/v1/campaigns" { code { "/v1/campaigns" } } }
                li { a href="/v1/registrars" { code { "/v1/registrars" } } }
                li { code { "/v1/campaigns/<id>/tally?tree_size=N" } }
                li { code { "/v1/proof/inclusion?index=I&tree_size=N" } }
                li { code { "/v1/proof/consistency?old_size=M&tree_size=N" } }
            }
        }
    };
    layout(ctx, t.log_title, "/log", body)
}

/// Reads leaf `index` of a tree of `size` from the tiles.
pub fn read_leaf(
    tiles: &dyn TileReader,
    index: u64,
    size: u64,
) -> std::result::Result<Leaf, String> {
    if index >= size {
        return Err(format!("leaf {index} is not below the tree size {size}"));
    }
    let n = index / 256;
    let width = (size - n * 256).min(256) as u16;
    let bundle = tiles
        .read_tile(TileId {
            level: None,
            index: n,
            width,
        })
        .map_err(|e| e.to_string())?;
    let raw = decode_bundle(&bundle).map_err(|e| e.to_string())?;
    let bytes = raw
        .get((index % 256) as usize)
        .ok_or_else(|| "leaf missing from its bundle".to_string())?;
    Leaf::decode(bytes).map_err(|e| e.to_string())
}

fn entry_details(ctx: &Ctx<'_>, index: u64, leaf: &Leaf) -> Markup {
    let t = ctx.t();
    let hash = EntryHash::of(&leaf.entry);
    let entry = Entry::decode(&leaf.entry);
    let camp = |c: &CampaignId| html! { a href=(ctx.href(&format!("/campaigns/{c}"))) { code.hash { (short(&c.to_hex())) } } };
    let reg = |r: &RegistrarId| html! { a href=(ctx.href(&format!("/registrars/{r}"))) { code.hash { (short(&r.to_hex())) } } };
    html! {
        dl.kv.entry {
            dt { (t.leaf) } dd data-figure="leaf-index" { (index) }
            dt { (t.time) } dd { (utc(leaf.timestamp.0)) }
            dt { "Entry hash" } dd { code.hash { (hash) } }
            @match &entry {
                Err(e) => { dt { (t.entry_type) } dd.over { "undecodable: " (e.to_string()) } }
                Ok(e) => {
                    dt { (t.entry_type) } dd { code { (e.entry_type().name()) } }
                    @match e {
                        Entry::Registrar(r) => {
                            dt { (t.registrar) } dd { a href=(ctx.href(&format!("/registrars/{}", r.id()))) { bdi { (r.name) } } }
                        }
                        Entry::IssuanceBatch(b) => {
                            dt { (t.registrar) } dd { (reg(&b.registrar)) }
                            dt { (t.batch) } dd { (b.batch) }
                            dt { (t.batch_size) } dd { (thousands(u64::from(b.size))) }
                            dt { (t.period) } dd { (date(b.period_start)) " – " (date(b.period_end)) }
                        }
                        Entry::Campaign(c) => {
                            @let text = title_of(c, ctx.lang);
                            dt { (t.campaign_id) } dd { a href=(ctx.href(&format!("/campaigns/{}", c.id()))) lang=(text.lang) dir="auto" { (text.title) } }
                        }
                        Entry::Declaration(d) => {
                            dt { (t.campaign_id) } dd { (camp(&d.campaign)) }
                            dt { (t.pseudonym) } dd { code.hash { (d.pseudonym.to_hex()) } }
                            dt { (t.registrar) } dd { (reg(&d.registrar)) " · " (t.batch) " " (d.batch) }
                            dt { (t.alias) } dd.alias { bdi { (d.alias) } }
                            dt { (t.message) } dd.msg dir="auto" { (multiline(&d.message)) }
                        }
                        Entry::Withdrawal(d) => {
                            dt { (t.campaign_id) } dd { (camp(&d.campaign)) }
                            dt { (t.pseudonym) } dd { code.hash { (d.pseudonym.to_hex()) } }
                            dt { (t.registrar) } dd { (reg(&d.registrar)) " · " (t.batch) " " (d.batch) }
                        }
                        Entry::VouchedDeclaration(d) => {
                            dt { (t.campaign_id) } dd { (camp(&d.campaign)) }
                            dt { (t.registrar) } dd { (reg(&d.registrar)) }
                            dt { (t.alias) } dd.alias { bdi { (d.alias) } }
                            dt { (t.message) } dd.msg dir="auto" { (multiline(&d.message)) }
                        }
                        Entry::UnverifiedDeclaration(d) => {
                            dt { (t.campaign_id) } dd { (camp(&d.campaign)) }
                            dt { (t.alias) } dd.alias { bdi { (d.alias) } }
                            dt { (t.message) } dd.msg dir="auto" { (multiline(&d.message)) }
                        }
                    }
                }
            }
        }
    }
}

/// What a look-up query names.
enum Query {
    Index(u64),
    Pseudonym(Vec<u8>),
    EntryHash([u8; 32]),
}

fn parse_query(q: &str) -> Option<Query> {
    let q = q.trim();
    if !q.is_empty() && q.len() <= 20 && q.bytes().all(|b| b.is_ascii_digit()) {
        return q.parse().ok().map(Query::Index);
    }
    match q.len() {
        96 => hex::decode(q).ok().map(Query::Pseudonym),
        64 => EntryHash::from_hex(q).map(|h| Query::EntryHash(h.0)),
        _ => None,
    }
}

/// `/lookup?q=`: an entry by leaf index, pseudonym or entry hash, with its
/// inclusion proof against the latest checkpoint.
pub fn lookup(ctx: &Ctx<'_>, db: &Db, tiles: &dyn TileReader, q: Option<&str>) -> Result<Markup> {
    let t = ctx.t();
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    let mut index = None;
    let mut matches = Vec::new();
    let mut problem = None;
    if let Some(q) = q {
        match parse_query(q) {
            None => problem = Some(t.lookup_bad),
            Some(Query::Index(i)) => index = Some(i),
            Some(Query::EntryHash(h)) => index = db.by_entry_hash(&h)?,
            Some(Query::Pseudonym(p)) => matches = db.by_pseudonym(&p)?,
        }
        if problem.is_none() && index.is_none() && matches.is_empty() {
            problem = Some(t.lookup_none);
        }
    }
    let mut found = None;
    if let Some(i) = index {
        match read_leaf(tiles, i, ctx.log.size) {
            Ok(leaf) => {
                let proof = inclusion_proof(
                    tiles,
                    TreeSize(ctx.log.size),
                    headcount_tlog::Hash(ctx.log.root),
                    LeafIndex(i),
                )
                .map_err(|e| DbError(e.to_string()))?;
                let text = TlogProof {
                    extra: Some(headcount_server::log::leaf_header(leaf.timestamp.0)),
                    index: LeafIndex(i),
                    proof,
                    checkpoint: ctx.log.note.as_ref().clone(),
                }
                .to_text();
                found = Some((i, leaf, text));
            }
            Err(_) => problem = Some(t.lookup_none),
        }
    }
    let here = match q {
        Some(q) => format!("/lookup?q={}", query_escape(q)),
        None => "/lookup".into(),
    };
    let body = html! {
        h1 { (t.lookup_title) }
        p.lead { (t.lookup_intro) }
        form.lookup method="get" action="/lookup" {
            @if ctx.lang == Lang::Zh { input type="hidden" name="lang" value="zh"; }
            label for="q" { (t.lookup_label) }
            div.row {
                input #q type="text" name="q" value=(q.unwrap_or("")) autocomplete="off" spellcheck="false";
                button type="submit" { (t.lookup_button) }
            }
        }
        @if let Some(p) = problem { p.alert { (p) } }
        @if !matches.is_empty() {
            ol.decls { @for d in &matches { (decl_item(ctx, d)) } }
        }
        @if let Some((i, leaf, proof)) = &found {
            section #entry {
                h2 { (t.entry) " #" (i) }
                (entry_details(ctx, *i, leaf))
                h3 { (t.inclusion_proof) }
                p.note { (t.inclusion_intro) }
                pre.raw #inclusion-proof { (proof) }
            }
        }
    };
    Ok(layout(ctx, t.lookup_title, &here, body))
}

/// A receipt that verified.
pub struct Verified {
    pub index: u64,
    pub size: u64,
    pub leaf: Leaf,
    pub cosigs: Vec<SigLine>,
}

/// Checks a pasted receipt (tlog-proof text) against this log: the checkpoint
/// is signed by the log key and no larger than the log; the receipt's leaf
/// header matches the log's leaf at its index; the inclusion proof verifies;
/// and the receipt's checkpoint root is this log's root at that size.
pub fn check_receipt(
    log: &LogView,
    tiles: &dyn TileReader,
    text: &str,
) -> std::result::Result<Verified, String> {
    let mut text = text.replace("\r\n", "\n");
    let trimmed_len = text.trim_end_matches(['\n', ' ']).len();
    text.truncate(trimmed_len);
    text = text.trim_start().to_owned();
    text.push('\n');
    let proof = TlogProof::parse(text.as_bytes())
        .map_err(|e| format!("not a c2sp.org/tlog-proof@v1 text: {e}"))?;
    let verifier = LogVerifier::from_vkey(&log.vkey).map_err(|e| e.to_string())?;
    let cp = verifier
        .verify(&proof.checkpoint)
        .map_err(|e| format!("its checkpoint is not signed by this log's key: {e}"))?;
    if cp.size.0 > log.size {
        return Err(format!(
            "its checkpoint (size {}) is ahead of this log (size {}): this log never published it",
            cp.size.0, log.size
        ));
    }
    let index = proof.index.0;
    if index >= cp.size.0 {
        return Err(format!(
            "its index {index} is not below its tree size {}",
            cp.size.0
        ));
    }
    let leaf = read_leaf(tiles, index, log.size)?;
    let header = headcount_server::log::leaf_header(leaf.timestamp.0);
    if proof.extra.as_deref() != Some(header.as_slice()) {
        return Err(format!(
            "its leaf header does not match leaf {index} of this log"
        ));
    }
    proof
        .verify(leaf_hash(&leaf.encode()), &verifier)
        .map_err(|e| {
            format!("its inclusion proof does not verify for leaf {index} of this log: {e}")
        })?;
    let root = tree_root(tiles, cp.size).map_err(|e| e.to_string())?;
    if root != cp.root {
        return Err(format!(
            "its checkpoint's root is not this log's root at size {}: the log has forked",
            cp.size.0
        ));
    }
    let cosigs = note::parse(&proof.checkpoint, &log.origin).cosigs;
    Ok(Verified {
        index,
        size: cp.size.0,
        leaf,
        cosigs,
    })
}

/// `/verify-receipt`: the form, and the verdict on a pasted receipt.
pub fn verify_receipt(ctx: &Ctx<'_>, tiles: &dyn TileReader, receipt: Option<&str>) -> Markup {
    let t = ctx.t();
    let receipt = receipt.filter(|r| !r.trim().is_empty());
    let outcome = receipt.map(|r| check_receipt(ctx.log, tiles, r));
    let action = ctx.href("/verify-receipt");
    let body = html! {
        h1 { (t.verify_title) }
        p.anchor #trust-anchor { strong { "⚠ " } (t.verify_anchor) }
        p.lead { (t.verify_intro) }
        p.note #privacy { strong { "⚠ " } (t.verify_privacy) " " code { "headcount identity verify-receipts --log-key '" (ctx.log.vkey) "'" } }
        form.receipt method="post" action=(action) {
            label for="receipt" { (t.verify_label) }
            textarea #receipt name="receipt" rows="12" spellcheck="false" { (receipt.unwrap_or("")) }
            button type="submit" { (t.verify_button) }
        }
        @match &outcome {
            None => {}
            Some(Err(e)) => {
                section.verdict.bad #verdict {
                    h2 { "✗ " (t.verify_failed) }
                    p { (e) }
                }
            }
            Some(Ok(v)) => {
                section.verdict.good #verdict {
                    h2 { "✓ " (t.verify_ok) }
                    p { (t.verify_proves) }
                    dl.kv {
                        dt { (t.tree_size) } dd { (thousands(v.size)) }
                        dt { (t.log_key) } dd { code.hash { (ctx.log.vkey) } }
                        dt { (t.cosignatures) } dd {
                            @if v.cosigs.is_empty() { (t.no_cosignatures) }
                            @for s in &v.cosigs { code.name { (s.name) } " " code { (s.key_id) } br; }
                        }
                    }
                    (entry_details(ctx, v.index, &v.leaf))
                    p.note { (t.verify_not_proves) }
                }
            }
        }
        section {
            h2 { (t.audit_yourself) }
            pre.cmd { code { "headcount audit " (ctx.base_url) " --log-key '" (ctx.log.vkey) "'" } }
        }
    };
    layout(ctx, t.verify_title, "/verify-receipt", body)
}

/// The 404 page.
pub fn not_found(ctx: &Ctx<'_>, here: &str) -> Markup {
    let t = ctx.t();
    layout(
        ctx,
        t.not_found,
        here,
        html! {
            h1 { (t.not_found) }
            p { (t.not_found_text) }
            p { a href=(ctx.href("/")) { "← " (t.back_home) } }
        },
    )
}
