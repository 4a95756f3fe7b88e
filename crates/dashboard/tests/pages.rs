//! Pages rendered from a synthetic derived state: figures equal the stored
//! tally, user data is escaped and bidi-isolated, Chinese works, pagination
//! and over-bound evidence show.

use headcount_dashboard::db::{Db, Show};
use headcount_dashboard::fixture;
use headcount_dashboard::i18n::Lang;
use headcount_dashboard::pages::{self, Ctx};

fn setup(n: u64) -> (tempfile::TempDir, fixture::Fixture, Db) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let f = fixture::build(&path, n, 100);
    let db = Db::open(&path).unwrap();
    (dir, f, db)
}

fn ctx<'a>(f: &'a fixture::Fixture, lang: Lang) -> Ctx<'a> {
    Ctx {
        lang,
        log: &f.log,
        base_url: "http://127.0.0.1:8080",
    }
}

fn no_raw_markup(html: &str) {
    assert!(!html.contains("<script"), "raw script tag in page");
    assert!(!html.contains("<img"), "raw img tag in page");
    assert!(
        !html.contains(" style="),
        "inline style attribute (the CSP forbids it)"
    );
}

#[test]
fn home_shows_every_campaign_with_its_tally() {
    let (_d, f, db) = setup(2_000);
    let html = pages::home(&ctx(&f, Lang::En), &db).unwrap().into_string();
    no_raw_markup(&html);
    for c in &f.campaigns {
        let t = db.tally_at(c, f.log.size).unwrap().unwrap();
        let card = html
            .split(&format!("data-campaign=\"{c}\""))
            .nth(1)
            .unwrap();
        let credible = headcount_dashboard::fmt::thousands(t.credible);
        assert!(
            card.contains(&format!("data-figure=\"credible\">{credible}<")),
            "credible {credible} not on the card"
        );
        assert!(card.contains(&format!(
            "data-figure=\"unverified\">{}<",
            headcount_dashboard::fmt::thousands(t.unverified)
        )));
    }
    assert!(
        html.contains("witness.example/w1"),
        "cosignature key name shown"
    );
    assert!(html.contains("No attestations yet."));
    assert!(html.contains("class=\"spark\""));
    assert!(html.contains("bench.headcount.local/log"));
}

#[test]
fn campaign_page_escapes_isolates_and_paginates() {
    let (_d, f, db) = setup(2_000);
    let c = f.campaigns[0];
    let html = pages::campaign(&ctx(&f, Lang::En), &db, &c, None, Show::All)
        .unwrap()
        .unwrap()
        .into_string();
    no_raw_markup(&html);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        html.contains("<bdi>\u{202E}evil"),
        "bidi alias inside <bdi>"
    );
    assert!(html.contains("OVER BOUND"), "over-bound batch shown");
    assert!(html.contains("data-over-bound=\"true\""));
    assert!(html.contains("class=\"chart\""));
    // The headcount and the lower bound on distinct people, side by side.
    let tally = db.tally_at(&c, f.log.size).unwrap().unwrap();
    assert!(
        html.contains(&format!(
            "data-figure=\"distinct-lower-bound\">distinct people, at least: {}",
            headcount_dashboard::fmt::thousands(tally.distinct_lower_bound)
        )),
        "lower bound shown"
    );
    assert!(html.contains("counted by each"), "the double-count note");
    assert!(html.matches("<li class=\"decl\">").count() as u32 >= pages::PAGE);
    assert!(html.contains("before="), "link to older declarations");
    // Page two starts below the last leaf of page one.
    let before = f.log.size - 10;
    let page2 = pages::campaign(&ctx(&f, Lang::En), &db, &c, Some(before), Show::All)
        .unwrap()
        .unwrap()
        .into_string();
    let list2 = page2.split("id=\"withdrawals\"").next().unwrap();
    assert!(!list2.contains(&format!(
        "class=\"leaf\" href=\"/lookup?q={}\"",
        f.log.size - 1
    )));
    assert!(page2.contains("Newest"));
}

#[test]
fn chinese_pages() {
    let (_d, f, db) = setup(500);
    let c = f.campaigns[1];
    let html = pages::campaign(&ctx(&f, Lang::Zh), &db, &c, None, Show::Counted)
        .unwrap()
        .unwrap()
        .into_string();
    assert!(html.contains("<html lang=\"zh-Hans\">"));
    assert!(html.contains("可信人数"));
    assert!(
        html.contains("lang=\"zh\""),
        "the statement carries its language"
    );
    assert!(html.contains("测试"));
    assert!(
        html.contains("href=\"/?lang=zh\""),
        "links keep the language"
    );
    let home = pages::home(&ctx(&f, Lang::Zh), &db).unwrap().into_string();
    assert!(home.contains("尚无审计证明"));
}

#[test]
fn registrar_and_log_pages() {
    let (_d, f, db) = setup(500);
    let html = pages::registrar(&ctx(&f, Lang::En), &db, &f.registrar)
        .unwrap()
        .unwrap()
        .into_string();
    no_raw_markup(&html);
    assert!(html.contains("Issuance by month"));
    assert!(html.contains("2024-01"), "months are shown as YYYY-MM");
    assert!(html.contains("Test campaign"));
    let log = pages::log_page(&ctx(&f, Lang::En), &db).into_string();
    assert!(
        log.contains(&format!(
            "headcount audit http://127.0.0.1:8080 --log-key &#39;{}&#39;",
            f.log.vkey
        )) || log.contains(&format!(
            "headcount audit http://127.0.0.1:8080 --log-key '{}'",
            f.log.vkey
        ))
    );
    assert!(log.contains("/checkpoint"));
}

#[test]
fn unknown_ids_are_none() {
    let (_d, f, db) = setup(10);
    let id = headcount_core::CampaignId([9; 32]);
    assert!(
        pages::campaign(&ctx(&f, Lang::En), &db, &id, None, Show::Counted)
            .unwrap()
            .is_none()
    );
    let rid = headcount_core::RegistrarId([9; 32]);
    assert!(
        pages::registrar(&ctx(&f, Lang::En), &db, &rid)
            .unwrap()
            .is_none()
    );
}

/// The rows a campaign page lists never contradict its figures: by default it
/// lists only what counts (as many rows as the figures add up to); with
/// `show=all` every row is marked counted, replaced, withdrawn or withdrawal,
/// and a withdrawn declaration links to its withdrawal.
#[test]
fn declaration_rows_agree_with_the_figures() {
    // 40 rows over two campaigns: 20 in each, so one page holds them all.
    let (_d, f, db) = setup(40);
    for c in &f.campaigns {
        let t = db.tally_at(c, f.log.size).unwrap().unwrap();
        let counted = pages::campaign(&ctx(&f, Lang::En), &db, c, None, Show::Counted)
            .unwrap()
            .unwrap()
            .into_string();
        // The list, without the separate list of withdrawals below it.
        let counted = counted.split("id=\"withdrawals\"").next().unwrap();
        // Over-bound credentialed declarations are counted too, in their own figure.
        let credentialed = t.credentialed + t.credentialed_over_bound;
        let rows = counted.matches("<li class=\"decl\">").count() as u64;
        assert_eq!(rows, credentialed + t.vouched + t.unverified, "{c}");
        assert_eq!(
            counted.matches("data-standing=\"counted\"").count() as u64,
            credentialed + t.vouched
        );
        assert!(!counted.contains("data-standing=\"withdrawn\""));
        assert!(!counted.contains("data-standing=\"withdrawal\""));

        let all = pages::campaign(&ctx(&f, Lang::En), &db, c, None, Show::All)
            .unwrap()
            .unwrap()
            .into_string();
        let all = all.split("id=\"withdrawals\"").next().unwrap();
        assert_eq!(
            all.matches("data-standing=\"withdrawn\"").count() as u64,
            t.withdrawals
        );
        assert_eq!(
            all.matches("data-standing=\"withdrawal\"").count() as u64,
            t.withdrawals
        );
        assert_eq!(
            all.matches("data-standing=\"counted\"").count() as u64,
            credentialed + t.vouched
        );
        assert!(all.contains("href=\"/campaigns/") && all.contains("show=all"));
    }
    // Row 0 (a declaration) is withdrawn by row 9, in the same campaign.
    let c = f.campaigns[0];
    let all = pages::campaign(&ctx(&f, Lang::En), &db, &c, None, Show::All)
        .unwrap()
        .unwrap()
        .into_string();
    assert!(
        all.contains("withdrawn at <a href=\"/lookup?q=13\">#13</a>"),
        "withdrawn row links to its withdrawal"
    );
}

/// The receipt page says what checking a receipt on the operator's site tells the
/// operator, and gives the offline command, in both languages.
#[test]
fn verify_receipt_page_warns_and_points_offline() {
    struct NoTiles;
    impl headcount_tlog::TileReader for NoTiles {
        fn read_tile(&self, id: headcount_tlog::TileId) -> Result<Vec<u8>, headcount_tlog::Error> {
            Err(headcount_tlog::Error::TileNotFound(id))
        }
    }
    let (_d, f, _db) = setup(10);
    for (lang, words) in [
        (
            Lang::En,
            "tells this site&#39;s operator which entry you care about",
        ),
        (Lang::Zh, "会让本站运营者知道你关心的是哪一条记录"),
    ] {
        let html = pages::verify_receipt(&ctx(&f, lang), &NoTiles, None).into_string();
        no_raw_markup(&html);
        let html = html.replace("&#39;", "'");
        let words = words.replace("&#39;", "'");
        assert!(html.contains(&words), "{html}");
        assert!(html.contains(&format!(
            "headcount identity verify-receipts --log-key '{}'",
            f.log.vkey
        )));
    }
}
