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
    LeafIndex, TileId, TileReader, TlogProof, TreeSize, decode_bundle, inclusion_proof,
};
use maud::{DOCTYPE, Markup, html};

use crate::attestations::{Attestation, attestations};
use crate::db::{Db, DbError, Result};
use crate::fmt::{date, short, thousands, utc};
use crate::i18n::{Lang, T};
use crate::note::{self, SigLine};
use crate::svg;

mod campaign;
mod log;
mod receipt;

pub use campaign::campaign;
use campaign::decl_item;
pub use log::log_page;
pub use receipt::{Verified, check_receipt, verify_receipt};

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
    /// Whether the log publishes a witness policy at `/policy`.
    pub has_policy: bool,
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
        distinct_lower_bound: 0,
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

/// `/registrars/{id}`: policy, batches, campaigns served.
pub fn registrar(ctx: &Ctx<'_>, db: &Db, id: &RegistrarId) -> Result<Option<Markup>> {
    let t = ctx.t();
    let Some(row) = db.registrar(id)? else {
        return Ok(None);
    };
    let r = &row.registrar;
    let batches = db.periods(id)?;
    let retired = db.retirement(id)?;
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
            @if let Some((leaf, ts, reason)) = &retired {
                dt { (t.retired) } dd.over data-retired="true" {
                    a href=(ctx.href(&format!("/lookup?q={leaf}"))) { "#" (leaf) } " · " (utc(*ts)) " UTC"
                    @if !reason.is_empty() { " — " bdi dir="auto" { (reason) } }
                    br; (t.retired_note)
                }
            }
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
                                td { (b.period.to_string()) }
                                td.num { (thousands(u64::from(b.size))) }
                                td { (date(b.period.start())) " – " (date(b.period.end() - 1)) }
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
                        Entry::IssuancePeriod(b) => {
                            dt { (t.registrar) } dd { (reg(&b.registrar)) }
                            dt { (t.batch) } dd { (b.period.to_string()) }
                            dt { (t.batch_size) } dd { (thousands(u64::from(b.size))) }
                            dt { (t.period) } dd { (date(b.period.start())) " – " (date(b.period.end() - 1)) }
                        }
                        Entry::RegistrarRetirement(r) => {
                            dt { (t.registrar) } dd { (reg(&r.registrar)) }
                            dt { (t.retired) } dd.msg dir="auto" { (multiline(&r.reason)) }
                        }
                        Entry::Campaign(c) => {
                            @let text = title_of(c, ctx.lang);
                            dt { (t.campaign_id) } dd { a href=(ctx.href(&format!("/campaigns/{}", c.id()))) lang=(text.lang) dir="auto" { (text.title) } }
                        }
                        Entry::Declaration(d) => {
                            dt { (t.campaign_id) } dd { (camp(&d.campaign)) }
                            dt { (t.pseudonym) } dd { code.hash { (d.pseudonym.to_hex()) } }
                            dt { (t.registrar) } dd { (reg(&d.registrar)) " · " (t.batch) " " (d.period.to_string()) }
                            dt { (t.alias) } dd.alias { bdi { (d.alias) } }
                            dt { (t.message) } dd.msg dir="auto" { (multiline(&d.message)) }
                        }
                        Entry::Withdrawal(d) => {
                            dt { (t.campaign_id) } dd { (camp(&d.campaign)) }
                            dt { (t.pseudonym) } dd { code.hash { (d.pseudonym.to_hex()) } }
                            dt { (t.registrar) } dd { (reg(&d.registrar)) " · " (t.batch) " " (d.period.to_string()) }
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
