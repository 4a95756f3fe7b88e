//! `/campaigns/{id}`: a campaign's statement, counts, chart and declarations.

use headcount_core::CampaignId;
use maud::{Markup, html};

use super::{CHART_POINTS, Ctx, PAGE, empty_tally, figure, layout, multiline, title_of};
use crate::db::{Db, DeclRow, Point, Result, Show, Standing};
use crate::fmt::{short, thousands, utc};
use crate::i18n::T;
use crate::svg;

fn kind_label(t: &T, kind: &str) -> (&'static str, &'static str) {
    match kind {
        "declaration" => (t.kind_declaration, "k-cred"),
        "vouched-declaration" => (t.kind_vouched, "k-vouch"),
        "unverified-declaration" => (t.kind_unverified, "k-unver"),
        "withdrawal" => (t.kind_withdrawal, "k-withdraw"),
        _ => ("?", "k-unver"),
    }
}

/// A row's standing in the count, in words, linking to the entry that
/// replaced or withdrew it.
fn standing(ctx: &Ctx<'_>, d: &DeclRow) -> Markup {
    let t = ctx.t();
    let link = |i: u64| html! { a href=(ctx.href(&format!("/lookup?q={i}"))) { "#" (i) } };
    match d.standing() {
        Standing::Counted => {
            html! { span.st.st-counted data-standing="counted" { "✓ " (t.st_counted) } }
        }
        Standing::CountedApart => {
            html! { span.st.st-apart data-standing="counted-apart" { (t.st_counted_apart) } }
        }
        Standing::Replaced(i) => {
            html! { span.st.st-replaced data-standing="replaced" { (t.st_replaced) " " (link(i)) } }
        }
        Standing::Withdrawn(i) => {
            html! { span.st.st-withdrawn data-standing="withdrawn" { (t.st_withdrawn) " " (link(i)) } }
        }
        Standing::Withdrawal => {
            html! { span.st.st-withdrawal data-standing="withdrawal" { (t.st_withdrawal) } }
        }
    }
}

pub(super) fn decl_item(ctx: &Ctx<'_>, d: &DeclRow) -> Markup {
    let t = ctx.t();
    let (label, class) = kind_label(t, &d.kind);
    html! {
        li.decl {
            div.dmeta {
                a.leaf href=(ctx.href(&format!("/lookup?q={}", d.leaf_index))) { "#" (d.leaf_index) }
                " · " time { (utc(d.timestamp)) }
                " " span class=(format!("kind {class}")) { (label) }
                @if let Some(p) = d.period { " " span.batchref { (t.batch) " " (p.to_string()) } }
                " " (standing(ctx, d))
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

/// `/campaigns/{id}`: the statement, the counts, by registrar and month of issuance, the
/// chart, the latest declarations (paginated) and withdrawals.
pub fn campaign(
    ctx: &Ctx<'_>,
    db: &Db,
    id: &CampaignId,
    before: Option<u64>,
    show: Show,
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
    let decls = db.declarations(id, size, before, PAGE, show)?;
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
    let all = format!("/campaigns/{id}?show=all");
    let base = match show {
        Show::Counted => format!("/campaigns/{id}"),
        Show::All => all.clone(),
    };
    let sep = if show == Show::All { '&' } else { '?' };
    let here = match before {
        Some(b) => format!("{base}{sep}before={b}"),
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
                        span.sub data-figure="distinct-lower-bound" {
                            (t.distinct_at_least) " " (thousands(tally.distinct_lower_bound))
                        }
                    }
                    (figure("", "credentialed", tally.credentialed, t.credentialed, None))
                    (figure("", "vouched", tally.vouched, t.vouched, None))
                    (figure("apart", "unverified", tally.unverified, t.unverified, Some(t.unverified_note)))
                    (figure(if tally.credentialed_over_bound > 0 { "bad" } else { "apart" }, "over-bound", tally.credentialed_over_bound, t.over_bound, None))
                    (figure("apart", "withdrawals", tally.withdrawals, t.withdrawals, None))
                }
                p.note { (t.double_count_note) }
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
                                @if r.retired {
                                    tr { td { (rname) } td colspan="4" { strong { (t.retired) } } }
                                }
                                @if r.vouched > 0 || r.periods.is_empty() {
                                    tr {
                                        td { (rname) }
                                        td { (t.vouched_row) }
                                        td.num { "—" }
                                        td.num data-figure="registrar-vouched" { (thousands(r.vouched)) }
                                        td { "—" }
                                    }
                                }
                                @for b in &r.periods {
                                    tr class=(if b.over_bound { "overrow" } else { "" }) {
                                        td { (rname) }
                                        td { (b.period.to_string()) }
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
                nav.show {
                    @if show == Show::Counted {
                        strong { (t.show_counted) } " · " a href=(ctx.href(&format!("{all}#declarations"))) { (t.show_all) }
                    } @else {
                        a href=(ctx.href(&format!("/campaigns/{id}#declarations"))) { (t.show_counted) } " · " strong { (t.show_all) }
                    }
                }
                p.note { (if show == Show::Counted { t.counted_rows_note } else { t.all_rows_note }) }
                @if decls.is_empty() {
                    p.empty { (t.no_declarations) }
                } @else {
                    ol.decls { @for d in &decls { (decl_item(ctx, d)) } }
                }
                nav.pager {
                    @if before.is_some() { a href=(ctx.href(&format!("{base}#declarations"))) { "« " (t.newest) } }
                    @if decls.len() == PAGE as usize {
                        @if let Some(last) = decls.last() {
                            a.older href=(ctx.href(&format!("{base}{sep}before={}#declarations", last.leaf_index))) { (t.older) " →" }
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
