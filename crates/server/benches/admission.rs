//! What the admission policy costs an attacker, beside what an admitted
//! entry costs the server, measured in the same run:
//!
//! * `admission_work/solve_{12,16}_bits`: finding the `headcount-work` nonce
//!   for a fresh registrar or campaign entry (expected 2^bits hashes);
//! * `unverified_work/solve_16_bits`: the least proof of work on an
//!   unverified declaration at the default minimum;
//! * baseline `server/verify_campaign_entry`: the server's signature check
//!   on one campaign entry (what each admitted entry costs it), and
//!   `server/check_admission_work`: the server's check of the nonce (one hash).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use headcount_core::testkit::{self, test_key};
use headcount_core::{CampaignId, EntryHash, LogState, NoCredentials, RegistrarId};
use headcount_server::admission;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("admission");
    g.sample_size(20);
    let mut n = 0u64;
    for bits in [12u8, 16] {
        g.bench_function(format!("admission_work/solve_{bits}_bits"), |b| {
            b.iter(|| {
                n += 1;
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&n.to_be_bytes());
                black_box(admission::solve(&EntryHash(h), bits))
            })
        });
    }
    let campaign = CampaignId([5; 32]);
    let mut i = 0u64;
    g.bench_function("unverified_work/solve_16_bits", |b| {
        b.iter(|| {
            i += 1;
            black_box(testkit::unverified(campaign, &format!("a{i}"), 16))
        })
    });
    let (entry, bytes) = testkit::campaign(&test_key(2), vec![RegistrarId([1; 32])], 0, 1, 0);
    let hash = EntryHash::of(&bytes);
    let state = LogState::new();
    g.bench_function("server/verify_campaign_entry", |b| {
        b.iter(|| black_box(state.verify_crypto(&entry, hash, &NoCredentials).is_ok()))
    });
    g.bench_function("server/check_admission_work", |b| {
        b.iter(|| black_box(admission::work_bits(&hash, black_box(12345))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
