//! `/log`: the log's key, checkpoint, how to audit it, its raw paths.

use headcount_tlog::TileId;
use maud::{Markup, html};

use super::{Ctx, checkpoint_section, layout};
use crate::db::Db;

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
        @if ctx.log.has_policy {
            section #witness-policy {
                h2 { (t.witness_policy) }
                p { (t.witness_policy_intro) }
                p { a href="/policy" { code { "/policy" } } }
            }
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
                @if ctx.log.has_policy { li { a href="/policy" { code { "/policy" } } } }
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
