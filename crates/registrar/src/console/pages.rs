//! The console's pages (maud: compile-time checked, every value escaped).

use axum::response::Html;
use headcount_core::entry::limits::MIN_ANONYMITY;
use maud::{DOCTYPE, Markup, html};

/// A page as an HTML response body.
fn page(m: Markup) -> Html<String> {
    Html(m.into_string())
}

use super::text::{T, fill, t};
use super::{Ctx, Flash, Logged, Snapshot};
use crate::localweb::Lang;
use crate::{MAX_PENDING, PeriodInfo};

/// The frame of every page. `here` is the page's path (for the language switch and the
/// current navigation link); `nav` is off on the sign-in and refusal pages.
fn layout(lang: Lang, title: &str, here: &str, nav: Option<&str>, body: Markup) -> Markup {
    let tx = t(lang);
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (tx.title) }
                link rel="stylesheet" href="/console/style.css";
                link rel="icon" type="image/svg+xml" href="/console/favicon.svg";
            }
            body {
                header.top {
                    div.bar {
                        a.brand href="/console/" { (tx.title) }
                        nav.nav aria-label=(tx.title) {
                            @if let Some(csrf) = nav {
                                @for (href, label) in [("/console/", tx.nav_queue), ("/console/ledger", tx.nav_ledger), ("/console/vouch", tx.nav_vouch)] {
                                    @if href == here { a href=(href) aria-current="page" { (label) } }
                                    @else { a href=(href) { (label) } }
                                }
                                form.inline method="post" action="/console/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.secondary type="submit" { (tx.logout) }
                                }
                            }
                        }
                        a href=(format!("/console/lang/{}?back={}", other.code(), here)) lang=(other.tag()) hreflang=(other.tag()) { (other.name()) }
                    }
                }
                main.wrap { (body) }
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

/// The sign-in page, with an error when the token was wrong.
pub(super) fn login(lang: Lang, error: Option<&str>) -> Html<String> {
    page({
        let tx = t(lang);
        layout(
            lang,
            tx.login_title,
            "/console/login",
            None,
            html! {
                h1 { (tx.login_title) }
                p.lead { (tx.login_lead) }
                @if let Some(e) = error { p.alert role="alert" { (e) } }
                form method="post" action="/console/login" {
                    label for="token" { (tx.token_label) }
                    input #token type="password" name="token" autocomplete="off" required aria-describedby="token-help";
                    p.note #token-help { (tx.token_help) }
                    button type="submit" { (tx.login_button) }
                }
            },
        )
    })
}

/// A refusal: why, and what to do.
pub(super) fn refused(lang: Lang, why: &str) -> Html<String> {
    page({
        let tx = t(lang);
        layout(
            lang,
            tx.forbidden_title,
            "/console/",
            None,
            html! {
                h1 { (tx.forbidden_title) }
                p.alert role="alert" { (why) }
            },
        )
    })
}

fn fmt_minute(secs: u64) -> String {
    let s = humantime_like(secs);
    s[..16].replace('T', " ")
}

/// RFC 3339 of Unix seconds (UTC), without pulling in a date crate.
fn humantime_like(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // H. Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The warnings that apply now.
fn warnings(tx: &T, snap: &Snapshot, logged: &Logged) -> Vec<String> {
    let mut w = Vec::new();
    let n = snap.pending.len();
    if n >= MAX_PENDING {
        w.push(fill(tx.warn_queue_full, &[("n", &n)]));
    } else if n * 5 >= MAX_PENDING * 4 {
        w.push(fill(
            tx.warn_queue_filling,
            &[("n", &n), ("max", &MAX_PENDING)],
        ));
    }
    for p in &snap.to_close {
        w.push(fill(tx.warn_to_close, &[("p", p)]));
    }
    for p in &snap.periods {
        if p.issued >= MIN_ANONYMITY {
            continue;
        }
        let pairs: [(&str, &dyn std::fmt::Display); 3] =
            [("p", &p.period), ("n", &p.issued), ("min", &MIN_ANONYMITY)];
        if p.closed {
            w.push(fill(tx.warn_closed_small, &pairs));
        } else if p.period == snap.current {
            w.push(fill(tx.warn_current_small, &pairs));
        }
    }
    match logged {
        Logged::NoLog => w.push(tx.warn_no_log.to_owned()),
        Logged::Unreachable(e) => w.push(fill(tx.warn_log_unreachable, &[("e", e)])),
        Logged::Sizes(sizes) => {
            for p in snap.periods.iter().filter(|p| p.closed) {
                match sizes.iter().find(|(q, _)| *q == p.period) {
                    Some((_, s)) if *s != u64::from(p.issued) => w.push(fill(
                        tx.warn_logged_differs,
                        &[("p", &p.period), ("logged", s), ("n", &p.issued)],
                    )),
                    Some(_) => {}
                    None => w.push(fill(tx.warn_not_logged, &[("p", &p.period)])),
                }
            }
        }
    }
    w
}

fn warning_list(tx: &T, w: &[String]) -> Markup {
    html! {
        @if !w.is_empty() {
            section.warn aria-labelledby="warnings" {
                h2 #warnings { (tx.warnings) }
                ul { @for s in w { li { (s) } } }
            }
        }
    }
}

/// The queue page.
pub(super) fn queue(ctx: &Ctx, snap: &Snapshot, logged: &Logged) -> Html<String> {
    page({
        let tx = t(ctx.lang);
        let w = warnings(tx, snap, logged);
        layout(
            ctx.lang,
            tx.queue_title,
            "/console/",
            Some(&ctx.csrf),
            html! {
                h1 { (tx.queue_title) }
                (flash(&ctx.flash))
                p.lead { (tx.queue_lead) }
                p { (fill(tx.queue_count, &[("n", &snap.pending.len()), ("max", &MAX_PENDING)])) " "
                    (fill(tx.issuing_into, &[("p", &snap.current)])) }
                (warning_list(tx, &w))
                @if snap.pending.is_empty() {
                    p.note { (tx.queue_empty) }
                } @else {
                    table.grid {
                        thead { tr { th scope="col" { (tx.code) } th scope="col" { (tx.received) } th scope="col" { (tx.actions) } } }
                        tbody {
                            @for (i, (code, id, received)) in snap.pending.iter().enumerate() {
                                tr {
                                    td { span.code { (code) } }
                                    td { (fmt_minute(*received)) }
                                    td {
                                        form.inline method="post" action=(format!("/console/requests/{id}/approve")) {
                                            input type="hidden" name="csrf" value=(ctx.csrf);
                                            button type="submit" aria-label=(format!("{} {code}", tx.approve)) { (tx.approve) }
                                        }
                                        form method="post" action=(format!("/console/requests/{id}/reject")) {
                                            input type="hidden" name="csrf" value=(ctx.csrf);
                                            label for=(format!("reason-{i}")) { (tx.reason_label) }
                                            input type="text" id=(format!("reason-{i}")) name="reason" value=(tx.reason_default) maxlength="500" required;
                                            button.danger type="submit" aria-label=(format!("{} {code}", tx.reject)) { (tx.reject) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        )
    })
}

fn logged_cell(tx: &T, p: &PeriodInfo, logged: &Logged) -> Markup {
    html! {
        @match logged {
            Logged::Sizes(s) => {
                @match s.iter().find(|(q, _)| *q == p.period) {
                    Some((_, n)) => (n),
                    None => (tx.not_logged),
                }
            },
            _ => "—",
        }
    }
}

/// The months and ledger page.
pub(super) fn ledger(ctx: &Ctx, snap: &Snapshot, logged: &Logged, has_log: bool) -> Html<String> {
    page({
        let tx = t(ctx.lang);
        let w = warnings(tx, snap, logged);
        let mut periods = snap.periods.clone();
        periods.sort_by_key(|p| std::cmp::Reverse(p.period));
        layout(
            ctx.lang,
            tx.ledger_title,
            "/console/ledger",
            Some(&ctx.csrf),
            html! {
                h1 { (tx.ledger_title) }
                (flash(&ctx.flash))
                p.lead { (tx.ledger_lead) " (" (fill(tx.min_anonymity, &[("min", &MIN_ANONYMITY)])) ")" }
                (warning_list(tx, &w))
                @if periods.is_empty() {
                    p.note { (tx.no_months) }
                } @else {
                    table.grid {
                        thead { tr {
                            th scope="col" { (tx.month) } th.num scope="col" { (tx.issued) }
                            th scope="col" { (tx.state) } th.num scope="col" { (tx.logged_size) } th scope="col" { (tx.actions) }
                        } }
                        tbody {
                            @for p in &periods {
                                tr {
                                    td { (p.period) }
                                    td.num { (p.issued) }
                                    td { @if p.closed { (tx.closed) } @else { (tx.open) } }
                                    td.num { (logged_cell(tx, p, logged)) }
                                    td {
                                        @let needs_log = p.closed && has_log && !matches!(logged, Logged::Sizes(s) if s.iter().any(|(q, _)| *q == p.period));
                                        @if snap.to_close.contains(&p.period) || needs_log {
                                            form.inline method="post" action=(format!("/console/periods/{}/close", p.period)) {
                                                input type="hidden" name="csrf" value=(ctx.csrf);
                                                button type="submit" aria-label=(format!("{} {}", if has_log { tx.close_and_log } else { tx.close_only }, p.period)) {
                                                    @if has_log { (tx.close_and_log) } @else { (tx.close_only) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        )
    })
}

/// What the vouch form shows again after a refusal (never the person's case number).
#[derive(Default)]
pub(super) struct VouchFields {
    pub campaign: String,
    pub alias: String,
    pub message: String,
}

/// The vouch page.
pub(super) fn vouch(ctx: &Ctx, has_log: bool, f: &VouchFields) -> Html<String> {
    page({
        let tx = t(ctx.lang);
        layout(
            ctx.lang,
            tx.vouch_title,
            "/console/vouch",
            Some(&ctx.csrf),
            html! {
                h1 { (tx.vouch_title) }
                (flash(&ctx.flash))
                p.lead { (tx.vouch_lead) }
                @if !has_log { p.warn { (tx.vouch_needs_log) } }
                form method="post" action="/console/vouch" {
                    input type="hidden" name="csrf" value=(ctx.csrf);
                    label for="campaign" { (tx.campaign_label) }
                    input #campaign type="text" name="campaign" value=(f.campaign) required aria-describedby="campaign-help" autocomplete="off";
                    p.note #campaign-help { (tx.campaign_help) }
                    label for="person" { (tx.person_label) }
                    input #person type="text" name="person" required aria-describedby="person-help" autocomplete="off";
                    p.note #person-help { (tx.person_help) }
                    label for="alias" { (tx.alias_label) }
                    input #alias type="text" name="alias" value=(f.alias) required autocomplete="off";
                    label for="message" { (tx.message_label) }
                    textarea #message name="message" { (f.message) }
                    button type="submit" { (tx.vouch_button) }
                }
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Logged, Snapshot};
    use super::warnings;
    use crate::localweb::Lang;
    use crate::{MAX_PENDING, PeriodInfo};
    use headcount_core::Period;

    fn snap(pending: usize, periods: Vec<PeriodInfo>, to_close: Vec<Period>) -> Snapshot {
        Snapshot {
            current: Period(700),
            pending: (0..pending)
                .map(|i| (format!("{i}"), String::new(), 0))
                .collect(),
            periods,
            to_close,
        }
    }

    fn info(p: u32, issued: u32, closed: bool) -> PeriodInfo {
        PeriodInfo {
            period: Period(p),
            issued,
            closed,
        }
    }

    #[test]
    fn warnings_say_what_needs_doing() {
        let tx = super::t(Lang::En);
        let sizes = |v: Vec<(u32, u64)>| {
            Logged::Sizes(v.into_iter().map(|(p, n)| (Period(p), n)).collect())
        };
        // All well: nothing to say.
        let w = warnings(
            tx,
            &snap(3, vec![info(699, 150, true)], vec![]),
            &sizes(vec![(699, 150)]),
        );
        assert!(w.is_empty(), "{w:?}");
        // The queue at 80 %, then full.
        let w = warnings(
            tx,
            &snap(MAX_PENDING * 4 / 5, vec![], vec![]),
            &sizes(vec![]),
        );
        assert!(w[0].contains("filling up"), "{w:?}");
        let w = warnings(tx, &snap(MAX_PENDING, vec![], vec![]), &sizes(vec![]));
        assert!(w[0].contains("queue is full"), "{w:?}");
        // A month over and not closed; the current month still small; a closed month below
        // the minimum; a closed month missing from the log; one logged with another size.
        let s = snap(
            0,
            vec![
                info(700, 12, false),
                info(699, 150, false),
                info(698, 40, true),
                info(697, 120, true),
                info(696, 130, true),
            ],
            vec![Period(699)],
        );
        let w = warnings(tx, &s, &sizes(vec![(698, 40), (696, 129)])).join("\n");
        for needle in [
            "is over and not yet closed",
            "Only 12 credentials issued",
            "was closed with only 40 credentials",
            "is closed but its size is not in the log",
            "The log holds 129",
        ] {
            assert!(w.contains(needle), "{needle:?} in {w}");
        }
        // Without a log link, or with the log unreachable: said.
        let w = warnings(tx, &snap(0, vec![], vec![]), &Logged::NoLog);
        assert!(w[0].contains("No log server"), "{w:?}");
        let w = warnings(
            tx,
            &snap(0, vec![], vec![]),
            &Logged::Unreachable("refused".into()),
        );
        assert!(w[0].contains("could not be reached: refused"), "{w:?}");
    }

    #[test]
    fn minute_formatting() {
        assert_eq!(super::fmt_minute(0), "1970-01-01 00:00");
        assert_eq!(super::fmt_minute(1_767_225_600 + 3_660), "2026-01-01 01:01");
        assert_eq!(super::humantime_like(951_782_400), "2000-02-29T00:00:00Z");
    }
}
