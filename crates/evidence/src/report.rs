//! The human-readable report: one self-contained HTML page (no script, no
//! external resource, inline SVG chart), rendered only from verified data,
//! deterministically, so that `verify` can re-render it and require the
//! same bytes. The PDF in a packet is Chromium's print of this page.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::format::Mode;
use crate::i18n::{L, Table, labels};
use crate::verify::Verified;

const CSS: &str = r#"
@page { size: A4; margin: 14mm; }
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", sans-serif;
       color: #111; max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; border-bottom: 1px solid #999;
     margin-top: 1.6rem; break-after: avoid; }
.alt { color: #444; font-weight: normal; }
.statement { white-space: pre-wrap; border-left: 3px solid #555; padding-left: .8rem; margin: .6rem 0 1rem; }
.big { font-size: 2.4rem; font-weight: bold; }
.proof { background: #f3f3f3; border: 1px solid #bbb; padding: .6rem .9rem; }
.warn { background: #fff4e0; border: 1px solid #d9a441; padding: .6rem .9rem; }
table { border-collapse: collapse; margin: .4rem 0; } td, th { border: 1px solid #bbb; padding: .2rem .5rem;
        text-align: left; vertical-align: top; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, .key { font-family: "Noto Sans Mono", monospace; font-size: .8rem; word-break: break-all; }
pre { white-space: pre-wrap; word-break: break-all; font-size: .8rem; background: #f6f6f6; padding: .5rem; }
svg text { font-family: inherit; font-size: 11px; }
svg { max-width: 100%; height: auto; }
table { display: block; max-width: 100%; overflow-x: auto; }
"#;

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
pub fn fmt_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// A heading in English and the campaign's languages.
fn label(tables: &[Table], l: L) -> Markup {
    html! {
        @for (i, (tag, t)) in tables.iter().enumerate() {
            @if i == 0 { span lang=(tag) { (t(l)) } }
            @else { span.alt lang=(tag) { " · " (t(l)) } }
        }
    }
}

/// The report page.
pub fn render(v: &Verified) -> String {
    let c = &v.claims;
    let langs: Vec<&str> = c.campaign.texts.iter().map(|t| t.lang.as_str()).collect();
    let t = labels(&langs);
    let tally = &c.tally;
    let first_title = c.campaign.texts.first().map_or("", |t| t.title.as_str());
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Evidence: " (first_title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                p { (label(&t, L::Packet)) " — headcount, " (v.mode.as_str()) " mode" }
                @for text in &c.campaign.texts {
                    h1 lang=(text.lang) dir="auto" { (text.title) }
                }
                h2 { (label(&t, L::Statement)) }
                @for text in &c.campaign.texts {
                    div.statement lang=(text.lang) dir="auto" { (text.statement) }
                }
                @if !c.campaign.addressees.is_empty() {
                    h2 { (label(&t, L::Addressees)) }
                    ul { @for a in &c.campaign.addressees { li dir="auto" { (a) } } }
                }
                p {
                    "Campaign " code { (c.campaign.id) } ", published at log index " (c.campaign.index)
                    "; open from " (fmt_time(c.campaign.opens_at)) " to " (fmt_time(c.campaign.closes_at)) "."
                }

                h2 { (label(&t, L::Headline)) }
                div.big { (tally.credible) }
                (headline(v))

                h2 { (label(&t, L::Counts)) }
                table {
                    tr { th { (label(&t, L::Credible)) } td.n { (tally.credible) } }
                    tr { th { "— " (label(&t, L::Credentialed)) } td.n { (tally.credentialed) } }
                    tr { th { "— " (label(&t, L::Vouched)) } td.n { (tally.vouched) } }
                    tr { th { (label(&t, L::Distinct)) } td.n { (tally.distinct_lower_bound) } }
                    tr { th { (label(&t, L::Withdrawals)) } td.n { (tally.withdrawals) } }
                    tr { th { (label(&t, L::Unverified)) } td.n { (tally.unverified) } }
                    tr { th { (label(&t, L::OverBound)) } td.n { (tally.credentialed_over_bound) } }
                }
                p {
                    "A person who holds credentials of two registrars is counted once by each: the truth lies between "
                    "the distinct-people figure and the credible headcount. Unverified declarations carry no proof of "
                    "a real person and are never part of the headcount."
                }

                h2 { (label(&t, L::ByRegistrar)) }
                table {
                    tr {
                        th { (label(&t, L::Registrars)) } th { (label(&t, L::Vouched)) }
                        th { (label(&t, L::Month)) } th { (label(&t, L::Size)) } th { (label(&t, L::Declarations)) }
                    }
                    @for r in &tally.by_registrar {
                        @let name = c.registrars.iter().find(|x| x.id == r.registrar.to_hex()).map_or("?", |x| x.name.as_str());
                        @if r.periods.is_empty() {
                            tr { td dir="auto" { (name) } td.n { (r.vouched) } td {} td {} td {} }
                        }
                        @for (i, p) in r.periods.iter().enumerate() {
                            tr {
                                td dir="auto" { @if i == 0 { (name) } }
                                td.n { @if i == 0 { (r.vouched) } }
                                td { (p.period) }
                                td.n { (p.size) }
                                td.n { (p.declarations) @if p.over_bound { " (over bound: not counted)" } }
                            }
                        }
                    }
                }

                h2 { (label(&t, L::Trend)) }
                (chart(v))

                h2 { (label(&t, L::Log)) }
                table {
                    tr { th { "log" } td { code { (v.checkpoint.origin) } } }
                    tr { th { "tree size" } td { (v.checkpoint.size.0) " entries" } }
                    tr { th { "root hash" } td { code { (v.checkpoint.root) } } }
                    tr { th { "log key" } td { code.key { (v.log_key) } } }
                }
                h3 { (label(&t, L::Witnesses)) }
                @if v.cosigners.is_empty() {
                    p.warn { "No witness policy was checked: nothing but the log's own signature stands behind this checkpoint." }
                } @else {
                    table {
                        tr { th { "witness" } th { "key" } th { "cosigned at" } }
                        @for w in &v.cosigners {
                            tr { td { (w.name) } td { code.key { (w.vkey) } } td { (fmt_time(w.timestamp)) } }
                        }
                    }
                }
                h3 { (label(&t, L::Auditors)) }
                @if v.attestations.is_empty() {
                    p { "This packet carries no auditor's attestation." }
                } @else {
                    table {
                        tr { th { "auditor" } th { "key" } th { "at tree size" } th { "verdict" } th { "credible (attested)" } th { "credible (this packet)" } }
                        @for a in &v.attestations {
                            tr {
                                td { (a.auditor) } td { code.key { (a.vkey) } } td.n { (a.tree_size) } td { (a.verdict) }
                                td.n { @match &a.line { Some(l) => (l.credible), None => "—" } }
                                td.n { @match &a.recount { Some(l) => (l.credible), None => "—" } }
                            }
                        }
                    }
                }

                h2 { (label(&t, L::Registrars)) }
                @for r in &c.registrars {
                    h3 dir="auto" { (r.name) }
                    p { "id " code { (r.id) } ", registered at log index " (r.index)
                        @if let Some(i) = r.retired_at { ", retired at index " (i) } }
                    div.statement dir="auto" { (r.policy) }
                    @if !r.contact.is_empty() { p dir="auto" { "Contact: " (r.contact) } }
                    p { "Signing key (Ed25519) " code.key { (r.signing_key) } }
                    p { "Credential key (BBS, BLS12-381) " code.key { (r.bbs_key) } }
                }

                h2 { (label(&t, L::HowToVerify)) }
                (how_to(v))
            }
        }
    };
    page.into_string()
}

fn headline(v: &Verified) -> Markup {
    let tally = &v.claims.tally;
    match v.mode {
        Mode::Full => html! {
            div.proof {
                p { "valid declarations are counted in this campaign: " (tally.credentialed)
                    " with a registrar's credential, each under its own pseudonym, and " (tally.vouched)
                    " vouched for by a registrar." }
                p { "This packet holds the whole log up to its cosigned checkpoint (" (v.checkpoint.size.0)
                    " entries). Its verification re-checks every entry with the log's own rules — every signature, every "
                    "pseudonym proof — and recomputes this count exactly, offline. It rests on no one's word but the "
                    "keys named below: the log's, and the witnesses' who cosigned the checkpoint." }
            }
        },
        Mode::Compact => html! {
            div.proof {
                p { "at least this many valid declarations: the packet holds " (v.claims.entries)
                    " entries of the campaign, each with a proof that it is in the log the cosigned checkpoint commits to, "
                    "and each re-checked with the log's own rules (signatures, pseudonym proofs, one count per pseudonym)." }
                p { "This packet does not hold the whole log, so it cannot prove that no entry of the campaign was left out — "
                    "for example a later withdrawal. " strong { "That the count is exact rests on the word of the auditors named below" }
                    ", who recomputed it from the whole log and signed their result." }
            }
        },
    }
}

/// The trend as an inline SVG line chart.
fn chart(v: &Verified) -> Markup {
    let pts = &v.claims.trend;
    if pts.is_empty() {
        return html! { p { "No declarations yet." } };
    }
    let (w, h, left, bottom) = (640.0_f64, 220.0_f64, 56.0_f64, 28.0_f64);
    let t0 = pts[0].time as f64;
    let t1 = pts[pts.len() - 1].time as f64;
    let max = pts.iter().map(|p| p.credible).max().unwrap_or(0).max(1) as f64;
    let x = |t: u64| {
        if t1 > t0 {
            left + (t as f64 - t0) / (t1 - t0) * (w - left - 12.0)
        } else {
            left + (w - left - 12.0) / 2.0
        }
    };
    let y = |n: u64| 10.0 + (h - bottom - 10.0) * (1.0 - n as f64 / max);
    let mut path = String::new();
    for (i, p) in pts.iter().enumerate() {
        if i > 0 {
            path.push_str(&format!(" L{:.1},{:.1}", x(p.time), y(p.credible)));
        } else {
            path.push_str(&format!("M{:.1},{:.1}", x(p.time), y(p.credible)));
        }
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width="640" height="220" viewBox="0 0 640 220" role="img"
            aria-label="credible headcount over time" {
            line x1=(left) y1=(h - bottom) x2=(w - 6.0) y2=(h - bottom) stroke="#333" {}
            line x1=(left) y1="10" x2=(left) y2=(h - bottom) stroke="#333" {}
            text x=(left - 6.0) y=(y(max as u64) + 4.0) text-anchor="end" { (max as u64) }
            text x=(left - 6.0) y=(h - bottom + 4.0) text-anchor="end" { "0" }
            text x=(left) y=(h - 8.0) { (fmt_time(pts[0].time)) }
            @if pts.len() > 1 {
                text x=(w - 6.0) y=(h - 8.0) text-anchor="end" { (fmt_time(pts[pts.len() - 1].time)) }
            }
            path d=(path) fill="none" stroke="#1f5fa8" stroke-width="2" {}
            @for p in pts {
                circle cx=(format!("{:.1}", x(p.time))) cy=(format!("{:.1}", y(p.credible))) r="3" fill="#1f5fa8" {
                    title { (fmt_time(p.time)) ": " (p.credible) }
                }
            }
        }
        p { "One point per " (bucket_words(v.claims.trend_bucket))
            " with declarations: the count after the campaign's last entry in it." }
        table {
            tr { th { "time" } th { "tree size" } th { "credible" } th { "credentialed" } th { "vouched" } th { "unverified" } }
            @for p in pts.iter().rev().take(12) {
                tr { td { (fmt_time(p.time)) } td.n { (p.tree_size) } td.n { (p.credible) }
                     td.n { (p.credentialed) } td.n { (p.vouched) } td.n { (p.unverified) } }
            }
        }
    }
}

fn bucket_words(secs: u64) -> &'static str {
    match secs {
        60 => "minute",
        3600 => "hour",
        86_400 => "day",
        604_800 => "week",
        2_592_000 => "30 days",
        _ => "year",
    }
}

fn how_to(v: &Verified) -> Markup {
    html! {
        ol {
            li { "Get the " code { "headcount" } " program (open source) on a computer you trust. It needs no network." }
            li { "Run:" pre { "headcount evidence verify PACKET.zip --log-key '" (v.log_key) "'"
                @if v.policy.is_some() { " --policy POLICY.txt" } } }
            li { "Compare the log key above, the witnesses' keys and the auditors' keys with the keys those parties "
                 "publish themselves (their websites, their own signed statements). The packet proves what it says "
                 "only as far as those keys are theirs." }
            li { "The program re-checks the checkpoint's signature and the witnesses' cosignatures, "
                 @match v.mode {
                     Mode::Full => "every tile of the log against the checkpoint, every entry with the log's own rules, ",
                     Mode::Compact => "each entry's inclusion proof against the checkpoint, each entry with the log's own rules, ",
                 }
                 "every count, the chart, each auditor's signature, and that this report shows exactly the verified figures." }
            li { "Without the program: the archive is a ZIP file; " code { "packet.json" } " states the figures, "
                 code { "checkpoint" } " is a C2SP signed note, "
                 @match v.mode {
                     Mode::Full => { code { "tile/" } " holds the log in the C2SP tlog-tiles layout that any transparency-log tool reads" },
                     Mode::Compact => { code { "entries.bin" } " holds the entries with RFC 6962 inclusion proofs" },
                 }
                 ". The format is documented in the headcount source (docs/evidence-packet.md)." }
        }
        p { "report.pdf, if present, is a printing of this page and is not itself checked: rely on report.html." }
    }
}

/// `README.txt`: what the archive is, in plain text.
pub fn readme(v: &Verified) -> String {
    let title = v
        .claims
        .campaign
        .texts
        .first()
        .map_or("", |t| t.title.as_str());
    format!(
        "headcount evidence packet ({mode} mode)\n\
         \n\
         Campaign: {title}\n\
         Campaign id: {id}\n\
         Log: {origin}, tree size {size}\n\
         \n\
         Open report.html (or report.pdf) to read it. To check it, offline:\n\
         \n\
         \x20 headcount evidence verify THIS-FILE --log-key '{key}'\n\
         \n\
         packet.json states the figures; checkpoint is the log's cosigned checkpoint\n\
         (C2SP signed-note); {data}.\n\
         The format: docs/evidence-packet.md in the headcount source.\n",
        mode = v.mode.as_str(),
        id = v.claims.campaign.id,
        origin = v.checkpoint.origin,
        size = v.checkpoint.size.0,
        key = v.log_key,
        data = match v.mode {
            Mode::Full => "tile/ holds the whole log (C2SP tlog-tiles layout)",
            Mode::Compact => "entries.bin holds the campaign's entries with inclusion proofs",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::fmt_time;

    #[test]
    fn civil_time() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(fmt_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(fmt_time(1_798_761_599), "2026-12-31 23:59 UTC");
    }
}
