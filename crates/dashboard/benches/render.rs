//! Render times at a million declarations: the home page, a campaign page
//! (first page and a deep `?before=` page), on a SQLite database shaped
//! exactly like the server's derived state, with tally history.
//!
//! `HEADCOUNT_BENCH_ROWS` overrides the row count (default 1,000,000).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use headcount_dashboard::db::{Db, Show};
use headcount_dashboard::fixture;
use headcount_dashboard::i18n::Lang;
use headcount_dashboard::pages::{self, Ctx};

fn bench(c: &mut Criterion) {
    let rows: u64 = std::env::var("HEADCOUNT_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.sqlite");
    let t = Instant::now();
    // A tally row every 256 leaves per campaign: ~7,800 history rows in all.
    let f = fixture::build(&path, rows, 256);
    eprintln!(
        "fixture: {rows} declaration rows, tally history every 256 leaves, built in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let db = Db::open(&path).expect("open");
    let ctx = Ctx {
        lang: Lang::En,
        log: &f.log,
        base_url: "http://127.0.0.1:8080",
    };
    let zh = Ctx {
        lang: Lang::Zh,
        ..ctx
    };
    let campaign = f.campaigns[0];
    let mut g = c.benchmark_group(format!("render_{rows}"));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("home", |b| {
        b.iter(|| black_box(pages::home(&ctx, &db).expect("home").into_string().len()))
    });
    g.bench_function("home_zh", |b| {
        b.iter(|| black_box(pages::home(&zh, &db).expect("home").into_string().len()))
    });
    g.bench_function("campaign", |b| {
        b.iter(|| {
            black_box(
                pages::campaign(&ctx, &db, &campaign, None, Show::Counted)
                    .expect("campaign")
                    .expect("exists")
                    .into_string()
                    .len(),
            )
        })
    });
    let deep = Some(f.log.size / 2);
    g.bench_function("campaign_before_middle", |b| {
        b.iter(|| {
            black_box(
                pages::campaign(&ctx, &db, &campaign, deep, Show::Counted)
                    .expect("campaign")
                    .expect("exists")
                    .into_string()
                    .len(),
            )
        })
    });
    g.bench_function("registrar", |b| {
        b.iter(|| {
            black_box(
                pages::registrar(&ctx, &db, &f.registrar)
                    .expect("registrar")
                    .expect("exists")
                    .into_string()
                    .len(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
