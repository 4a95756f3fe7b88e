//! `headcount demo`: the two-minute tour. A real log server on loopback,
//! real keys, a registrar, two bilingual campaigns, a few hundred declarations
//! submitted over HTTP with every receipt verified, and an independent audit
//! over HTTP that recomputes every count.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures::stream::{self, StreamExt};
use headcount_audit::AuditOptions;
use headcount_core::{BbsCredentials, CampaignId, EntryHash, Period, RegistrarId};
use headcount_credentials as bbs;

use crate::client::{LogClient, verify_receipt};
use crate::cmd::campaign::{CampaignSpec, TextSpec, campaign_entry};
use crate::cmd::serve::InProcess;
use crate::cmd::{declare, registrar, vouch};
use crate::config::ServerConfig;
use crate::keys;

#[derive(clap::Args)]
pub struct Args {
    /// Keep the log here instead of a temporary directory.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Address to serve on (default: a free port on loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Leave the server running afterwards (Ctrl-C to stop) to browse and audit it.
    #[arg(long)]
    pub keep_running: bool,
    /// Declarants who get a credential (issued blindly over two months; at least 200, so
    /// that each month holds the minimum anonymity set of 100).
    #[arg(long, default_value_t = 240)]
    pub declarants: usize,
    /// Vouched declarations per campaign (people the registrar checked by phone).
    #[arg(long, default_value_t = 60)]
    pub vouched: usize,
    /// Unverified declarations per campaign.
    #[arg(long, default_value_t = 20)]
    pub unverified: usize,
}

const RENOUNCE_EN: &str = "I hereby renounce my membership of the Chinese Communist Party, the Communist Youth League \
and the Young Pioneers, and withdraw every oath I swore to them. I make this declaration freely. I make it under a \
pseudonym because I cannot make it safely under my own name. Count me.";
const RENOUNCE_ZH: &str = "我在此声明退出中国共产党、共青团和少先队，并收回我曾向它们宣过的一切誓言。\
此声明出于我的自由意志。因为以真名作出此声明并不安全，我使用化名。请把我算上。";
const APPEAL_EN: &str = "Mr. Wang, a former official who publicly left the Party and fled to Hong Kong, faces \
deportation to mainland China, where he would be imprisoned for what he has said. We appeal to the United Nations \
High Commissioner for Refugees, to the Government of the Hong Kong Special Administrative Region and to the \
Government of Japan: do not return him; hear his asylum claim fairly; let him reach safety in Japan, where his \
family lives.\n\n(Mr. Wang is a fictional case written for this demonstration.)";
const APPEAL_ZH: &str = "前官员王先生公开退党后逃往香港，现面临被遣返中国大陆的危险；在那里，他将因其言论而入狱。\
我们呼吁联合国难民署、香港特别行政区政府和日本政府：不要遣返他；公正审理他的庇护申请；让他前往家人所在的日本，获得安全。\
\n\n（王先生是为本演示虚构的案例。）";
const POLICY: &str = "We are a volunteer phone line. A volunteer calls back every applicant on a number we find \
independently, asks three questions only a member of the applicant's local branch could answer, and records a case \
number. We keep no names, no numbers and no recordings. One case number per person per campaign.";

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
    "觉醒者",
    "Morning Star",
    "青松",
    "Orchid",
];
const MESSAGES: &[&str] = &[
    "",
    "",
    "I was made to join at fourteen. 我十四岁时被迫入团。",
    "For my grandfather.",
    "终于说出来了。",
    "",
    "Not in my name.",
];

fn alias(i: usize) -> String {
    format!("{} {}", ALIASES[i % ALIASES.len()], i / ALIASES.len() + 1)
}

pub async fn run(a: Args) -> Result<()> {
    let started = Instant::now();
    let temp;
    let data = match &a.data {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_owned()
        }
    };
    let keys_dir = data.join("keys");
    std::fs::create_dir_all(&keys_dir)?;

    println!("headcount demo\n");
    // 1. The operator's log, served on loopback, witnessed by two
    //    independent witnesses under a 2-of-2 policy; one auditor is listed.
    let origin = "demo.headcount.local/log";
    let log_signer =
        crate::cmd::serve::load_or_create_log_key(&crate::default_log_key(&data), origin)?;
    let log_key = log_signer.vkey();
    let mut witness_lines = String::new();
    let mut witness_names = Vec::new();
    for name in ["witness-one.example", "witness-two.example"] {
        let (url, vkey) = start_witness(&data, &keys_dir, name, origin, &log_key).await?;
        witness_lines.push_str(&format!("witness {name} {vkey} {url}\n"));
        witness_names.push(name);
    }
    let policy_text = format!(
        "log {log_key}\n{witness_lines}group both all {}\nquorum both\n",
        witness_names.join(" ")
    );
    std::fs::write(data.join("policy.txt"), &policy_text)?;
    let policy = headcount_cosignature::Policy::parse(&policy_text)?;
    let auditor_skey_path = keys_dir.join("auditor.example.skey");
    if !auditor_skey_path.exists() {
        let (skey, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, "auditor.example");
        keys::write_note_key_pair(&keys_dir, "auditor.example", skey, &vkey)?;
    }
    let auditor_vkey = std::fs::read_to_string(auditor_skey_path.with_extension("vkey"))?;
    let config = ServerConfig {
        origin: Some(origin.into()),
        batch_interval_ms: Some(100),
        policy_file: Some("policy.txt".into()),
        witness_timeout_ms: Some(2000),
        auditors: vec![auditor_vkey.trim().to_owned()],
        ..Default::default()
    };
    drop(log_signer);
    let server = InProcess::start(&data, &config, a.listen).await?;
    let url = server.url.clone();
    println!("1. log server   {url}   (data in {})", data.display());
    println!("                log key {log_key}");
    println!(
        "                witnesses {} (policy: both must cosign)",
        witness_names.join(", ")
    );

    // 2. A registrar publishes its keys and policy.
    let client = LogClient::new(&url);
    let reg_keys = match registrar::load(&keys_dir.join("registrar.key")) {
        Ok(k) => k,
        Err(_) => keys::new_registrar(&keys_dir, "registrar", Some(registrar::new_bbs_keypair()?))?,
    };
    let (reg_entry, reg_bytes) = registrar::registrar_entry(
        &reg_keys,
        "Volunteers' Phone Line · 志愿者热线",
        POLICY,
        "phone-line.example.org",
    )?;
    let headcount_core::entry::Entry::Registrar(reg) = &reg_entry else {
        bail!("registrar entry")
    };
    let rid: RegistrarId = reg.id();
    submit_idempotent(&client, &reg_bytes, &log_key).await?;
    println!("2. registrar    {}  \"{}\"", rid, reg.name);

    // 3. An organiser publishes two bilingual campaigns accepting that registrar.
    let organiser = match keys::load_organiser(&keys_dir.join("organiser.key")) {
        Ok(k) => k,
        Err(_) => keys::new_organiser(&keys_dir, "organiser")?.0,
    };
    let now = crate::cmd::now();
    let opens = (now - now % 86_400).saturating_sub(86_400).to_string();
    let closes = (now - now % 86_400 + 365 * 86_400).to_string();
    let specs = [
        CampaignSpec {
            opens_at: opens.clone(),
            closes_at: closes.clone(),
            unverified_difficulty: 16,
            min_anonymity: headcount_core::entry::limits::MIN_ANONYMITY,
            registrars: vec![rid.to_hex()],
            addressees: vec!["The public · 公众".into()],
            text: vec![
                TextSpec {
                    lang: "en".into(),
                    title: "I renounce the Chinese Communist Party".into(),
                    statement: RENOUNCE_EN.into(),
                },
                TextSpec {
                    lang: "zh".into(),
                    title: "声明退出中国共产党".into(),
                    statement: RENOUNCE_ZH.into(),
                },
            ],
        },
        CampaignSpec {
            opens_at: opens,
            closes_at: closes,
            unverified_difficulty: 16,
            min_anonymity: headcount_core::entry::limits::MIN_ANONYMITY,
            registrars: vec![rid.to_hex()],
            addressees: vec![
                "United Nations High Commissioner for Refugees · 联合国难民署".into(),
                "Government of the Hong Kong SAR · 香港特别行政区政府".into(),
                "Government of Japan · 日本政府".into(),
            ],
            text: vec![
                TextSpec {
                    lang: "en".into(),
                    title: "Appeal: do not deport Mr. Wang".into(),
                    statement: APPEAL_EN.into(),
                },
                TextSpec {
                    lang: "zh".into(),
                    title: "呼吁：不要遣返王先生".into(),
                    statement: APPEAL_ZH.into(),
                },
            ],
        },
    ];
    let mut campaigns: Vec<(CampaignId, String)> = Vec::new();
    for spec in &specs {
        let (c, bytes) = campaign_entry(spec, &organiser)?;
        submit_idempotent(&client, &bytes, &log_key).await?;
        println!(
            "3. campaign     {}  {} / {}",
            c.id(),
            c.texts[0].title,
            c.texts[1].title
        );
        campaigns.push((c.id(), c.texts[0].title.clone()));
    }

    // 4. Credentials: each declarant commits to a secret, the registrar signs
    //    blindly (it never sees the secret). Credentials disclose only their
    //    calendar month of issuance, and a month can be logged only once it is
    //    over: the demo plays the registrar's last two months (issued two months
    //    ago and last month), then logs both months' sizes now.
    let t = Instant::now();
    let bbs_sk = bbs::RegistrarSecretKey::from_bytes(
        reg_keys
            .bbs_secret
            .as_ref()
            .context("the demo registrar has a BBS key")?
            .as_ref(),
    )?;
    let bbs_pk = bbs_sk.public_key();
    if a.declarants < 2 * headcount_core::entry::limits::MIN_ANONYMITY as usize {
        bail!(
            "--declarants must be at least {}: each of the demo's two months of issuance must hold the minimum anonymity set of {}",
            2 * headcount_core::entry::limits::MIN_ANONYMITY,
            headcount_core::entry::limits::MIN_ANONYMITY
        );
    }
    let this_month = Period::containing(now);
    let last_month = Period(this_month.0 - 1);
    let month_before = Period(this_month.0 - 2);
    let first_month = a.declarants / 2;
    let credentials = issue_credentials(
        &bbs_sk,
        rid,
        a.declarants,
        first_month,
        (month_before, last_month),
    )
    .await?;
    // Last month also holds the credential of the declarant with a wallet (step 6).
    let second_month = a.declarants - first_month + 1;
    for (period, size) in [(month_before, first_month), (last_month, second_month)] {
        let e =
            headcount_core::entry::Entry::IssuancePeriod(headcount_core::entry::IssuancePeriod {
                registrar: rid,
                period,
                size: size as u32,
                signature: [0; 64],
            });
        let (_, bytes) = e.sign(&reg_keys.signing)?;
        submit_idempotent(&client, &bytes, &log_key).await?;
    }
    println!(
        "4. credentials  {} issued blindly in {:.1}s: {first_month} in {month_before}, {second_month} in {last_month}; \
         each month's size logged after it ended (a declaration discloses only its month: everyone issued that month is its anonymity set)",
        credentials.len() + 1,
        t.elapsed().as_secs_f64(),
    );

    // 5. Declarations over HTTP. Credentialed declarants declare in both
    //    campaigns (some change their message: the later one replaces; some
    //    withdraw); the registrar vouches for people it checked by phone
    //    (some twice: counted once); anyone may add an unverified one.
    let t = Instant::now();
    let (c0, c1) = (campaigns[0].0, campaigns[1].0);
    let mut jobs: Vec<Job> = Vec::new();
    for (i, cred) in credentials.iter().enumerate() {
        jobs.push(Job::Declare(
            i,
            cred.clone(),
            c0,
            alias(i),
            MESSAGES[i % MESSAGES.len()].into(),
        ));
        if i % 3 != 2 {
            jobs.push(Job::Declare(
                i,
                cred.clone(),
                c1,
                alias(i + 7),
                String::new(),
            ));
        }
    }
    let mut later: Vec<Job> = Vec::new();
    for (i, cred) in credentials.iter().enumerate() {
        if i % 10 == 0 {
            later.push(Job::Declare(
                i,
                cred.clone(),
                c0,
                alias(i),
                "I said it again, louder. 我再说一遍。".into(),
            ));
        }
        if i % 3 == 0 && i % 15 == 0 {
            later.push(Job::Withdraw(i, cred.clone(), c1));
        }
    }
    for (k, cid) in [c0, c1].into_iter().enumerate() {
        for i in 0..a.vouched {
            let person = format!("case-{:05}", i);
            let message = MESSAGES[(i + k) % MESSAGES.len()];
            jobs.push(Job::Ready(vouch::vouched_entry(
                &reg_keys.signing,
                rid,
                cid,
                &person,
                &alias(i + 3),
                message,
            )?));
            if i % 9 == 0 {
                jobs.push(Job::Ready(vouch::vouched_entry(
                    &reg_keys.signing,
                    rid,
                    cid,
                    &person,
                    &alias(i + 3),
                    "Updated.",
                )?));
            }
        }
        let n = a.unverified;
        let unverified = tokio::task::spawn_blocking(move || -> Result<Vec<Vec<u8>>> {
            (0..n)
                .map(|i| declare::unverified_entry(cid, &format!("Anonymous {}", i + 1), "", 16))
                .collect()
        })
        .await??;
        jobs.extend(unverified.into_iter().map(Job::Ready));
    }
    let submitted = jobs.len() + later.len();
    let mut latest = HashMap::new();
    run_jobs(&client, &log_key, &bbs_pk, jobs, &mut latest).await?;
    // Re-declarations and withdrawals come after the declarations they replace,
    // and name them as their predecessors.
    run_jobs(&client, &log_key, &bbs_pk, later, &mut latest).await?;
    println!(
        "5. declarations {submitted} submitted over HTTP in {:.1}s (credentialed with fresh pseudonym proofs, vouched, \
         unverified with proof of work, re-declarations and withdrawals); every receipt verified",
        t.elapsed().as_secs_f64()
    );

    // 6. A declarant proves authorship to an asylum officer: a claim bound to
    //    the officer's challenge, verified offline against the log key.
    let wallet_dir = data.join("declarant");
    std::fs::create_dir_all(&wallet_dir)?;
    let wallet_path = wallet_dir.join(format!("wallet-{}.hcw", crate::cmd::now()));
    let pass = headcount_wallet::Passphrase::new("correct horse battery staple lantern")?;
    let mut wallet = crate::cmd::demo_decoy::wallet_with_decoy(&wallet_path, &pass)?;
    // Her credential was issued last month: her wallet checks, when it finishes
    // the credential, that the registrar signed the month it was issued in
    // (here: the wallet's clock of last month), not a month of its choosing.
    let req = wallet.start_issuance(rid.0, None)?;
    wallet.save()?;
    let attrs = bbs::Attributes {
        registrar_id: rid.0,
        period: last_month.0,
    };
    let sig = bbs::issue(&bbs_sk, &req, &attrs, &mut rand::rngs::OsRng)?;
    let request_id = headcount_wallet::PendingIssuance::request_id_of(&req);
    wallet.finish_issuance(
        &request_id,
        &bbs_pk,
        &sig,
        &attrs,
        last_month.start() + 10 * 86_400,
    )?;
    wallet.save()?;
    // Before declaring, her software checks the month is logged with at least
    // the campaign's minimum anonymity set, stores the entry (a retry resubmits
    // the same bytes), and names her previous entry in the campaign (none).
    let c1_verified = client
        .verified_campaign(c1, &log_key, Some(&policy))
        .await?;
    let anonymity =
        declare::check_anonymity_set(&client, &wallet.credentials()[0], &c1_verified).await?;
    let receipt = declare::make_and_submit(
        &client,
        &log_key,
        &mut wallet,
        c1,
        &c1_verified,
        headcount_wallet::ReceiptKind::Declaration,
        "Mei".into(),
        "Please let him stay. 请让他留下。".into(),
        // Asynchronous: accepted at once, receipt fetched after a random delay.
        declare::SubmissionArgs {
            asynchronous: true,
            receipt_after: 0,
            receipt_within: 2,
        },
    )
    .await?;
    println!(
        "6. wallet       declarant \"Mei\": credential issued in {last_month} (her wallet checked it is the month it was issued in); \
         {last_month} logged with {anonymity} credentials (at least the {} her software and the campaign require); declared at leaf {}",
        headcount_core::entry::limits::MIN_ANONYMITY,
        receipt.leaf_index
    );
    // The officer makes the challenge (`headcount claim challenge`): their name, the date, a nonce.
    let challenge =
        crate::cmd::claim::new_challenge("UNHCR Hong Kong, case 2026-HK-0412", crate::cmd::now())?;
    let challenge = challenge.as_str();
    let bundle =
        crate::cmd::claim::prove(&client, &wallet, c1, challenge, &log_key, Some(&policy)).await?;
    let claim_file = wallet_dir.join("mei.claim");
    std::fs::write(&claim_file, serde_json::to_string_pretty(&bundle)?)?;
    let verified = crate::cmd::claim::verify_bundle(&bundle, challenge, &log_key)?;
    let replay = crate::cmd::claim::verify_bundle(&bundle, "another officer's challenge", &log_key);
    println!(
        "   claim        declarant \"{}\" proved her declaration (leaf {}, {}) to the officer's challenge; \
         the same bundle fails for any other challenge: {}",
        verified.declaration.alias,
        verified.index,
        crate::cmd::fmt_time(verified.timestamp),
        if replay.is_err() { "yes" } else { "NO" }
    );
    if replay.is_ok() {
        bail!("a claim verified for the wrong challenge");
    }
    let (kept, lost) =
        crate::cmd::identity::check_receipts(&client, &wallet, &log_key, Some(&policy)).await?;
    println!(
        "                 her wallet's receipts are still in the log: {kept} verified, {lost} missing"
    );
    if lost > 0 {
        bail!("a receipt is no longer in the log");
    }
    offline_declaration(&data, &client, &log_key, &policy, &mut wallet, c0).await?;

    // 7. An independent audit over HTTP, pinned to the log key: every tile,
    //    every signature and pseudonym proof, every tally.
    let mut opts = AuditOptions::new(url.clone());
    opts.log_key = Some(log_key.clone());
    opts.policy = Some(policy.clone());
    opts.require_tally_note = true;
    let report = headcount_audit::audit(&opts, &BbsCredentials)
        .await
        .context("auditing the demo log")?;
    println!(
        "7. audit        downloaded {} tiles, re-verified {} entries and compared {} published tallies in {:.1}s: {}",
        report.fetch.tiles,
        report.entries,
        report.published_compared,
        report.elapsed.as_secs_f64(),
        if report.verdict.agrees() {
            "AGREES".to_string()
        } else {
            format!("DIFFERS: {:?}", report.verdict)
        }
    );
    let final_note = crate::client::read_limited(
        client.http.get(format!("{url}/checkpoint")).send().await?,
        64 * 1024,
    )
    .await?;
    let cosigned = policy.check(&final_note).is_ok();
    println!(
        "8. witnesses    the audited checkpoint (size {}) was cosigned by {}; the published one {} the 2-of-2 policy; \
         the operator's signed tally note matches the recomputed counts",
        report.checkpoint.as_ref().map_or(0, |c| c.size.0),
        report
            .cosigners
            .iter()
            .map(|c| c.key_name.as_str())
            .collect::<Vec<_>>()
            .join(" and "),
        if cosigned {
            "satisfies"
        } else {
            "does NOT satisfy"
        }
    );
    let auditor_skey = keys::read_secret(&auditor_skey_path)?;
    if let Some(note) = crate::cmd::audit::attestation(&report, &auditor_skey)? {
        let r = client
            .http
            .post(format!("{url}/v1/attestations"))
            .body(note.clone())
            .send()
            .await?;
        println!(
            "9. attestation  auditor.example signed its verdict and the recomputed counts; the log {} it (HTTP {})",
            if r.status().as_u16() == 201 {
                "published"
            } else {
                "refused"
            },
            r.status().as_u16()
        );
        println!(
            "{}",
            String::from_utf8_lossy(&note)
                .lines()
                .map(|l| format!("                 | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let mirror = crate::cmd::demo_mirror::start(&data, &url, &log_key).await?;
    if !cosigned {
        server.stop().await?;
        bail!("the checkpoint was not cosigned by both witnesses");
    }
    // 10. The appeal's evidence packet: exported, then verified offline.
    crate::cmd::evidence::demo_step(&data, &url, c1, &log_key, &auditor_vkey).await?;
    println!("\nVerified tallies (recomputed by the auditor from the log):");
    for t in &report.tallies {
        let title = campaigns
            .iter()
            .find(|(id, _)| *id == t.campaign)
            .map_or("", |(_, t)| t.as_str());
        println!("  {title}");
        println!(
            "    credible headcount {:>5} = credentialed {} + vouched {}",
            t.credible, t.credentialed, t.vouched
        );
        println!(
            "    distinct people    {:>5}   at least (the largest single registrar's count: one person may hold credentials of two registrars)",
            t.distinct_lower_bound
        );
        println!(
            "    unverified         {:>5}   (shown apart, never in the headcount)",
            t.unverified
        );
        println!("    withdrawals        {:>5}", t.withdrawals);
        for r in &t.by_registrar {
            println!(
                "    registrar {}…  vouched {}",
                &r.registrar.to_hex()[..16],
                r.vouched
            );
            for b in &r.periods {
                println!(
                    "      issued in {}: {} credentialed of {} issued{}",
                    b.period,
                    b.declarations,
                    b.size,
                    if b.over_bound {
                        "  OVER BOUND: evidence against the registrar"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    println!("\nThe dashboard (works with JavaScript disabled; add ?lang=zh for 中文):");
    println!(
        "  {url}/                              campaigns, credible counts, trends, checkpoint, attestations"
    );
    println!("  {url}/campaigns/{c0}");
    println!(
        "                                      a campaign: statement, counts by assurance level, registrar and month of issuance, chart, declarations"
    );
    println!("  {url}/campaigns/{c1}?lang=zh");
    println!("  {url}/registrars/{rid}");
    println!(
        "                                      the registrar: policy, months of issuance, campaigns"
    );
    println!(
        "  {url}/log                           checkpoint, cosignatures, attestations, how to audit"
    );
    println!("  {url}/lookup                        find a declaration by pseudonym or leaf index");
    println!("  {url}/verify-receipt                check a pasted receipt");
    println!("The raw data:");
    println!(
        "  {url}/checkpoint                    the checkpoint, signed by the log and cosigned by both witnesses"
    );
    println!("  {url}/tile/entries/000              the first entry bundle (C2SP tlog-tiles)");
    println!("  {url}/v1/campaigns                  campaigns with their tallies (JSON)");
    println!("  {url}/v1/campaigns/{c0}/tally-note");
    println!(
        "                                      the operator's signed tally note of a campaign"
    );
    println!("  {url}/v1/attestations               auditors' signed attestations");
    println!("  {}   a claim bundle", claim_file.display());
    println!("Audit it yourself:");
    println!("  cargo run --release -- audit {url} --log-key '{log_key}'");
    println!(
        "Verify the claim yourself{}:",
        if a.data.is_none() && !a.keep_running {
            " (run the demo with --keep-running or --data DIR to keep the files)"
        } else {
            ""
        }
    );
    println!(
        "  cargo run --release -- claim verify {} --challenge '{challenge}' --log-key '{log_key}' --policy {}",
        claim_file.display(),
        data.join("policy.txt").display()
    );
    if !report.verdict.agrees() {
        server.stop().await?;
        bail!("the audit did not agree");
    }
    if a.keep_running {
        // The declarant's app on Mei's wallet: unlock it, browse the campaigns, declare,
        // withdraw, prove, check the receipts — in a browser, in English or Chinese.
        let (app_url, listener, app) = crate::app::bind(crate::app::Args {
            server: url.clone(),
            wallet: wallet_path.clone(),
            registrar_url: None,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            no_open: true,
            log_key: Some(log_key.clone()),
            insecure_fast_kdf: true,
            net: crate::client::NetArgs::default(),
        })
        .await?;
        let app_task = tokio::spawn(crate::app::serve(listener, app, std::future::pending()));
        println!("\nThe server keeps running at {url}; Ctrl-C to stop.");
        println!(
            "The declarant's app (Mei's wallet; passphrase \"correct horse battery staple lantern\"):\n  {app_url}"
        );
        let _ = tokio::signal::ctrl_c().await;
        app_task.abort();
    }
    server.stop().await?;
    crate::cmd::demo_mirror::after_the_log_stops(&mirror, &log_key).await?;
    println!(
        "\ndemo finished in {:.1}s (the declarant's wallet uses a deliberately weak key-derivation setting for speed)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One submission of the demo.
enum Job {
    Ready(Vec<u8>),
    /// Declarant `usize` declares in a campaign (naming its latest entry there).
    Declare(usize, bbs::Credential, CampaignId, String, String),
    Withdraw(usize, bbs::Credential, CampaignId),
}

/// A declarant's pseudonym in a campaign: (declarant, campaign).
type DeclarantKey = (usize, CampaignId);

async fn run_jobs(
    client: &LogClient,
    log_key: &str,
    pk: &bbs::RegistrarPublicKey,
    jobs: Vec<Job>,
    latest: &mut HashMap<DeclarantKey, EntryHash>,
) -> Result<()> {
    let predecessors: &HashMap<DeclarantKey, EntryHash> = latest;
    let results: Vec<Result<Option<(DeclarantKey, EntryHash)>>> = stream::iter(jobs)
        .map(|job| {
            let (client, log_key, pk) = (client.clone(), log_key.to_owned(), *pk);
            async move {
                let (key, bytes) = match job {
                    Job::Ready(b) => (None, b),
                    Job::Declare(i, cred, campaign, alias, message) => {
                        let prev = predecessors
                            .get(&(i, campaign))
                            .copied()
                            .unwrap_or(EntryHash::NONE);
                        let b = tokio::task::spawn_blocking(move || {
                            headcount_core::credentials::declaration(
                                &cred,
                                &pk,
                                campaign,
                                prev,
                                &alias,
                                &message,
                                &mut rand::rngs::OsRng,
                            )
                        })
                        .await??
                        .1;
                        (Some((i, campaign)), b)
                    }
                    Job::Withdraw(i, cred, campaign) => {
                        let prev = predecessors
                            .get(&(i, campaign))
                            .copied()
                            .unwrap_or(EntryHash::NONE);
                        let b = tokio::task::spawn_blocking(move || {
                            headcount_core::credentials::withdrawal(
                                &cred,
                                &pk,
                                campaign,
                                prev,
                                &mut rand::rngs::OsRng,
                            )
                        })
                        .await??
                        .1;
                        (Some((i, campaign)), b)
                    }
                };
                let receipt = client.submit_ok(&bytes).await?;
                verify_receipt(&bytes, &receipt, &log_key)?;
                Ok(key.map(|k| (k, EntryHash::of(&bytes))))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for r in results {
        if let Some((k, h)) = r? {
            latest.insert(k, h);
        }
    }
    Ok(())
}

/// Blind issuance for `n` declarants: the first `first` in the first month,
/// the rest in the second. Each declarant's secret stays on its side.
async fn issue_credentials(
    sk: &bbs::RegistrarSecretKey,
    rid: RegistrarId,
    n: usize,
    first: usize,
    months: (Period, Period),
) -> Result<Vec<bbs::Credential>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut tasks = Vec::new();
    for t in 0..threads {
        let sk = sk.clone();
        tasks.push(tokio::task::spawn_blocking(
            move || -> Result<Vec<bbs::Credential>> {
                let pk = sk.public_key();
                let mut out = Vec::new();
                for i in (t..n).step_by(threads) {
                    let period = if i < first { months.0 } else { months.1 };
                    let nym = bbs::NymSecret::generate(&mut rand::rngs::OsRng);
                    let (req, state) = bbs::request_credential(&nym, &mut rand::rngs::OsRng)?;
                    let attrs = bbs::Attributes {
                        registrar_id: rid.0,
                        period: period.0,
                    };
                    let sig = bbs::issue(&sk, &req, &attrs, &mut rand::rngs::OsRng)?;
                    out.push(bbs::finish_credential(&pk, &sig, state, &nym, &attrs)?);
                }
                Ok(out)
            },
        ));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(all)
}

/// Submits an entry that may already be in the log (a rerun with --data):
/// an identical entry returns its receipt, an equivalent one is refused as existing.
async fn submit_idempotent(client: &LogClient, bytes: &[u8], log_key: &str) -> Result<()> {
    match client.submit(bytes).await? {
        crate::client::Submitted::Accepted(r) => {
            verify_receipt(bytes, &r, log_key)?;
            Ok(())
        }
        crate::client::Submitted::Refused { error, .. }
            if error.error == "registrar_exists" || error.error == "campaign_exists" =>
        {
            Ok(())
        }
        crate::client::Submitted::Refused { status, error } => {
            bail!(
                "the log refused an entry: {} ({}, HTTP {status})",
                error.message,
                error.error
            )
        }
    }
}

/// Starts a witness on loopback for the demo: its key in `keys_dir`, its
/// state in `data/<name>`. Returns its URL and verifier key.
async fn start_witness(
    data: &std::path::Path,
    keys_dir: &std::path::Path,
    name: &str,
    origin: &str,
    log_key: &str,
) -> Result<(String, String)> {
    let skey_path = keys_dir.join(format!("{name}.skey"));
    if !skey_path.exists() {
        let (_, skey, vkey) = headcount_cosignature::CosignatureSigner::generate(name)?;
        keys::write_note_key_pair(keys_dir, name, skey, &vkey)?;
    }
    let skey = keys::read_secret(&skey_path)?;
    let config =
        headcount_witness::WitnessConfig::from_skey(skey.trim())?.with_log(origin, log_key)?;
    let vkey = config.vkey();
    let witness = std::sync::Arc::new(headcount_witness::Witness::open(config, data.join(name))?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(headcount_witness::serve_on(
        witness,
        listener,
        std::future::pending(),
    ));
    Ok((url, vkey))
}

/// Step 6, offline: Mei declares in the other campaign without contacting the log, from the
/// campaign packet the organiser distributed; the entry leaves as a QR code (PNG), a courier
/// decodes and submits it, and her wallet confirms it from the public tiles alone.
async fn offline_declaration(
    data: &std::path::Path,
    client: &LogClient,
    log_key: &str,
    policy: &headcount_cosignature::Policy,
    wallet: &mut headcount_wallet::Wallet,
    campaign: CampaignId,
) -> Result<()> {
    use crate::cmd::offline;
    let packet = offline::build_packet(client, campaign, log_key, Some(policy)).await?;
    let packet_file = data.join("declarant").join("campaign.packet");
    let bytes = serde_json::to_vec_pretty(&packet.packet)?;
    std::fs::write(&packet_file, &bytes)?;
    offline::CampaignPacket::parse(&bytes)?.verify(Some(log_key))?;
    wallet.add_document(&bytes);
    wallet.save()?;
    let made = offline::make_offline(
        wallet,
        campaign,
        headcount_wallet::ReceiptKind::Declaration,
        "Mei".into(),
        "Declared offline; carried by a friend.".into(),
    )
    .await?;
    let png_file = data.join("declarant").join("mei-offline.png");
    std::fs::write(
        &png_file,
        offline::qr_png(&offline::entry_line(&made.entry))?,
    )?;
    // The courier: decodes the image, submits what it holds; knows nothing else.
    let carried: Vec<Vec<u8>> = offline::read_transport(&png_file)?
        .into_iter()
        .map(|(_, e)| e)
        .collect::<Result<_>>()?;
    let courier = LogClient::new(&client.base);
    for entry in &carried {
        courier.submit_ok(entry).await?;
    }
    let confirmed = offline::confirm_from_log(client, wallet, log_key).await?;
    wallet.save()?;
    if confirmed != 1 {
        bail!("the offline declaration was not found in the public log");
    }
    println!(
        "   offline      \"Mei\" also declared with no connection, from a campaign packet ({} bytes): a {}-byte entry \
         left as a QR code ({}), a courier submitted it, her wallet found it in the public tiles",
        bytes.len(),
        made.entry.len(),
        png_file.display()
    );
    Ok(())
}
