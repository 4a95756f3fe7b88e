//! The real-browser suite: starts a real log server with the dashboard on a
//! free loopback port (a temporary data directory, so runs are parallel-safe),
//! submits bilingual campaigns, vouched and unverified declarations and
//! hostile aliases through the log's own submit path, then runs
//! `node --test browser-tests/` (playwright-core driving Debian's Chromium,
//! JavaScript disabled). Screenshots go to `target/screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` (or `$HEADCOUNT_CHROMIUM`) and
//! `npm ci` run in `browser-tests/`. Without them the test says so and
//! passes, unless `HEADCOUNT_BROWSER_REQUIRED=1` (CI), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use headcount_core::entry::{Campaign, CampaignText, Entry, VouchedDeclaration};
use headcount_core::testkit::{self, test_key};
use headcount_core::{NoCredentials, VouchReference};
use headcount_server::{Log, SequencerOptions};
use headcount_tlog::LogSigner;

const RENOUNCE_EN: &str = "I hereby renounce my membership of the Chinese Communist Party, the Communist Youth League \
and the Young Pioneers, and withdraw every oath I swore to them. I make this declaration freely. I make it under a \
pseudonym because I cannot make it safely under my own name. Count me.";
const RENOUNCE_ZH: &str = "我在此声明退出中国共产党、共青团和少先队，并收回我曾向它们宣过的一切誓言。\
此声明出于我的自由意志。因为以真名作出此声明并不安全，我使用化名。请把我算上。";
const APPEAL_EN: &str = "Mr. Wang, a former official who publicly left the Party and fled to Hong Kong, faces \
deportation to mainland China, where he would be imprisoned for what he has said. We appeal to the United Nations \
High Commissioner for Refugees, to the Government of the Hong Kong Special Administrative Region and to the \
Government of Japan: do not return him; hear his asylum claim fairly; let him reach safety in Japan, where his \
family lives.\n\n(Mr. Wang is a fictional case written for this test.)";
const APPEAL_ZH: &str = "前官员王先生公开退党后逃往香港，现面临被遣返中国大陆的危险；在那里，他将因其言论而入狱。\
我们呼吁联合国难民署、香港特别行政区政府和日本政府：不要遣返他；公正审理他的庇护申请；让他前往家人所在的日本，获得安全。\
\n\n（王先生是为本测试虚构的案例。）";
const ALIASES: &[&str] = &[
    "清风",
    "Lotus",
    "夜行者",
    "Free Bird",
    "山鹰",
    "Nightingale",
    "自由人",
    "Bamboo",
    "无名",
    "Harbour Light",
    "长城外",
    "Plum Blossom",
];
const MESSAGES: &[&str] = &[
    "",
    "I was made to join at fourteen. 我十四岁时被迫入团。",
    "For my grandfather.",
    "终于说出来了。",
    "",
    "Not in my name.",
];

/// The hostile aliases the browser checks render inert.
const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "\u{202E}evil\u{202C} bidi override",
];

fn chromium() -> PathBuf {
    std::env::var_os("HEADCOUNT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn missing_prerequisite(suite: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if !chromium().exists() {
        return Some(format!("{} does not exist", chromium().display()));
    }
    if !suite.join("node_modules/playwright-core").exists() {
        return Some(format!("run `npm ci` in {}", suite.display()));
    }
    None
}

fn campaign(
    key: u8,
    registrar: headcount_core::RegistrarId,
    texts: [(&str, &str, &str); 2],
    addressees: &[&str],
    now: u64,
) -> (Entry, Vec<u8>) {
    Entry::Campaign(Campaign {
        organiser_key: test_key(key).verifying_key().to_bytes(),
        texts: texts
            .iter()
            .map(|(lang, title, statement)| CampaignText {
                lang: (*lang).into(),
                title: (*title).into(),
                statement: (*statement).into(),
            })
            .collect(),
        addressees: addressees.iter().map(|s| (*s).into()).collect(),
        registrars: vec![registrar],
        opens_at: now - now % 86_400 - 86_400,
        closes_at: now - now % 86_400 + 365 * 86_400,
        unverified_difficulty: 8,
        min_anonymity: headcount_core::entry::limits::MIN_ANONYMITY,
        signature: [0; 64],
    })
    .sign(&test_key(key))
    .expect("campaign")
}

fn vouched(
    registrar: headcount_core::RegistrarId,
    campaign: headcount_core::CampaignId,
    person: u32,
    alias: &str,
    message: &str,
) -> Vec<u8> {
    let mut reference = [0u8; 32];
    reference[..4].copy_from_slice(&person.to_be_bytes());
    reference[4..8].copy_from_slice(&campaign.0[..4]);
    Entry::VouchedDeclaration(VouchedDeclaration {
        campaign,
        registrar,
        reference: VouchReference(reference),
        alias: alias.into(),
        message: message.into(),
        signature: [0; 64],
    })
    .sign(&test_key(1))
    .expect("vouched")
    .1
}

async fn submit_all(log: &Arc<Log>, entries: Vec<Vec<u8>>) -> Vec<headcount_server::Receipt> {
    let mut set = tokio::task::JoinSet::new();
    for (i, e) in entries.into_iter().enumerate() {
        let log = Arc::clone(log);
        set.spawn(async move { (i, log.submit(e).await) });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        let (i, r) = r.expect("join");
        out.push((i, r.expect("submitted")));
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_chromium_without_javascript() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let suite = crate_dir.join("browser-tests");
    if let Some(why) = missing_prerequisite(&suite) {
        if std::env::var("HEADCOUNT_BROWSER_REQUIRED").as_deref() == Ok("1") {
            panic!("browser suite required but {why}");
        }
        eprintln!(
            "SKIPPED the browser suite: {why} (set HEADCOUNT_BROWSER_REQUIRED=1 to fail instead)"
        );
        return;
    }

    // A real log and the dashboard on a free loopback port.
    let dir = tempfile::tempdir().unwrap();
    let (signer, _skey, vkey) = LogSigner::generate("dashboard.test/log").unwrap();
    let log = Log::open(
        dir.path(),
        signer,
        Arc::new(NoCredentials),
        SequencerOptions {
            batch_interval: Duration::from_millis(20),
            ..Default::default()
        },
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(headcount_server::serve_with(
        Arc::clone(&log),
        listener,
        headcount_dashboard::router(Arc::clone(&log)),
        async move {
            let _ = stopped.await;
        },
    ));

    // A registrar, its batches, three campaigns.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (Entry::Registrar(reg), reg_bytes) = testkit::registrar(
        &test_key(1),
        testkit::bbs_key(1),
        "Volunteers' Phone Line · 志愿者热线",
    ) else {
        unreachable!()
    };
    let rid = reg.id();
    submit_all(&log, vec![reg_bytes]).await;
    let batches = (0..3)
        .map(|b| {
            let month = headcount_core::Period(
                headcount_core::Period::containing(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs(),
                )
                .0 - 1
                    - b,
            );
            testkit::period(&test_key(1), rid, month, 500 + 250 * b).1
        })
        .collect();
    submit_all(&log, batches).await;
    let long_cjk: String =
        "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"
            .chars()
            .cycle()
            .take(3400)
            .collect();
    let (Entry::Campaign(c1), b1) = campaign(
        2,
        rid,
        [
            ("en", "I renounce the Chinese Communist Party", RENOUNCE_EN),
            ("zh", "声明退出中国共产党", RENOUNCE_ZH),
        ],
        &["The public · 公众"],
        now,
    ) else {
        unreachable!()
    };
    let (Entry::Campaign(c2), b2) = campaign(
        3,
        rid,
        [
            ("en", "Appeal: do not deport Mr. Wang", APPEAL_EN),
            ("zh", "呼吁：不要遣返王先生", APPEAL_ZH),
        ],
        &[
            "United Nations High Commissioner for Refugees · 联合国难民署",
            "Government of the Hong Kong SAR · 香港特别行政区政府",
            "Government of Japan · 日本政府",
        ],
        now,
    ) else {
        unreachable!()
    };
    let (Entry::Campaign(c3), b3) = campaign(
        4,
        rid,
        [
            ("zh", "排版测试：一万字节的中文声明", long_cjk.as_str()),
            (
                "en",
                "Layout test: a 10 KB Chinese statement",
                "The Chinese text of this campaign is 10 KB long.",
            ),
        ],
        &["Layout testers · 排版测试者"],
        now,
    ) else {
        unreachable!()
    };
    submit_all(&log, vec![b1, b2, b3]).await;
    let (c1, c2, c3) = (c1.id(), c2.id(), c3.id());

    // Declarations in rounds, so the tally history has a shape.
    for round in 0..6u32 {
        let mut entries = Vec::new();
        for i in 0..(10 + round * 6) {
            let person = round * 1000 + i;
            let alias = format!(
                "{} {}",
                ALIASES[person as usize % ALIASES.len()],
                person % 97 + 1
            );
            let msg = MESSAGES[person as usize % MESSAGES.len()];
            entries.push(vouched(rid, c1, person, &alias, msg));
            if i % 3 == 0 {
                entries.push(vouched(rid, c2, person, &alias, msg));
            }
        }
        for i in 0..(2 + round) {
            let alias = format!("Anonymous {}", round * 100 + i + 1);
            let (_, bytes) = testkit::unverified(c1, &alias, 8);
            entries.push(bytes);
        }
        submit_all(&log, entries).await;
    }
    // A re-vouch that replaces an earlier declaration.
    submit_all(
        &log,
        vec![vouched(
            rid,
            c1,
            0,
            "清风 1",
            "Updated message. 更新的留言。",
        )],
    )
    .await;
    // Hostile aliases, and a message of the longest CJK a message may hold.
    let max_cjk: String = "我".repeat(headcount_core::entry::limits::MESSAGE / 3);
    let mut hostile = Vec::new();
    for (k, alias) in HOSTILE.iter().enumerate() {
        hostile.push(vouched(rid, c1, 900_000 + k as u32, alias, &max_cjk));
    }
    let receipts = submit_all(&log, hostile).await;
    for c in [c1, c2, c3] {
        submit_all(
            &log,
            vec![vouched(rid, c, 990_000, "After the hostile ones", "")],
        )
        .await;
    }

    // Hand the fixture to the browser suite.
    let fixture = serde_json::json!({
        "base": base,
        "vkey": vkey,
        "campaigns": [c1.to_hex(), c2.to_hex(), c3.to_hex()],
        "registrar": rid.to_hex(),
        "hostile": HOSTILE,
        "hostileLeaves": receipts.iter().map(|r| r.leaf_index).collect::<Vec<_>>(),
        "receipt": receipts[0].proof,
    });
    let fixture_path = dir.path().join("fixture.json");
    std::fs::write(&fixture_path, fixture.to_string()).unwrap();
    let screenshots = crate_dir.join("../../target/screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();

    let node = {
        let suite = suite.clone();
        let fixture_path = fixture_path.clone();
        let screenshots = screenshots.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("node")
                .args(["--test", "--test-reporter=spec", "dashboard.test.mjs"])
                .current_dir(&suite)
                .env("HEADCOUNT_FIXTURE", &fixture_path)
                .env("HEADCOUNT_SCREENSHOTS", &screenshots)
                .env("HEADCOUNT_CHROMIUM", chromium())
                .status()
        })
        .await
        .unwrap()
        .expect("running node")
    };

    let _ = stop.send(());
    let _ = server.await;
    log.shutdown();
    assert!(node.success(), "the browser suite failed: {node}");
}
