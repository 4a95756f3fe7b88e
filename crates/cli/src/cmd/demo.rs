//! `headcount demo`: the two-minute tour. A real log server on loopback,
//! real keys, a registrar, two bilingual campaigns, a few hundred declarations
//! submitted over HTTP with every receipt verified, and an independent audit
//! over HTTP that recomputes every count.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures::stream::{self, StreamExt};
use headcount_audit::AuditOptions;
use headcount_core::{CampaignId, NoCredentials, RegistrarId};

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
    /// Vouched declarations per campaign (the first campaign gets this many, the second two thirds).
    #[arg(long, default_value_t = 180)]
    pub vouched: usize,
    /// Unverified declarations per campaign.
    #[arg(long, default_value_t = 40)]
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
    // 1. The operator's log, served on loopback.
    let config = ServerConfig {
        origin: Some("demo.headcount.local/log".into()),
        batch_interval_ms: Some(100),
        ..Default::default()
    };
    let server = InProcess::start(&data, &config, a.listen).await?;
    let url = server.url.clone();
    let log_key = server.log.vkey();
    println!("1. log server   {url}   (data in {})", data.display());
    println!("                log key {log_key}");

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
            unverified_difficulty: 12,
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
            unverified_difficulty: 12,
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

    // 4. Declarations over HTTP: vouched by the registrar (some people twice:
    //    the second replaces the first), unverified with proof of work.
    let t = Instant::now();
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut revouched = 0;
    for (k, (cid, _)) in campaigns.iter().enumerate() {
        let n = if k == 0 { a.vouched } else { a.vouched * 2 / 3 };
        for i in 0..n {
            let person = format!("case-{:05}", i);
            entries.push(vouch::vouched_entry(
                &reg_keys.signing,
                rid,
                *cid,
                &person,
                &alias(i + k),
                MESSAGES[i % MESSAGES.len()],
            )?);
            if i % 9 == 0 {
                revouched += 1;
                entries.push(vouch::vouched_entry(
                    &reg_keys.signing,
                    rid,
                    *cid,
                    &person,
                    &alias(i + k),
                    "Updated message.",
                )?);
            }
        }
        let cid = *cid;
        let unverified = tokio::task::spawn_blocking(move || -> Result<Vec<Vec<u8>>> {
            (0..a.unverified)
                .map(|i| declare::unverified_entry(cid, &format!("Anonymous {}", i + 1), "", 12))
                .collect()
        })
        .await??;
        entries.extend(unverified);
    }
    let total = entries.len();
    let results: Vec<Result<()>> = stream::iter(entries)
        .map(|bytes| {
            let (client, log_key) = (client.clone(), log_key.clone());
            async move {
                let receipt = client.submit_ok(&bytes).await?;
                verify_receipt(&bytes, &receipt, &log_key)?;
                Ok(())
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for r in results {
        r?;
    }
    println!(
        "4. declarations {total} submitted over HTTP in {:.1}s, every receipt verified against the signed checkpoint \
         ({revouched} are re-vouches that replace an earlier one)",
        t.elapsed().as_secs_f64()
    );

    // 5. An independent audit over HTTP, pinned to the log key.
    let mut opts = AuditOptions::new(url.clone());
    opts.log_key = Some(log_key.clone());
    let report = headcount_audit::audit(&opts, &NoCredentials)
        .await
        .context("auditing the demo log")?;
    println!(
        "5. audit        downloaded {} tiles, checked {} entries and {} published tallies: {}",
        report.fetch.tiles,
        report.entries,
        report.published_compared,
        if report.verdict.agrees() {
            "AGREES".to_string()
        } else {
            format!("DIFFERS: {:?}", report.verdict)
        }
    );
    println!("\nVerified tallies (recomputed by the auditor from the log):");
    for t in &report.tallies {
        let title = campaigns
            .iter()
            .find(|(id, _)| *id == t.campaign)
            .map_or("", |(_, t)| t.as_str());
        println!("  {title}");
        println!(
            "    credible headcount {:>5}  = credentialed {} + vouched {}",
            t.credible, t.credentialed, t.vouched
        );
        println!(
            "    unverified         {:>5}  (shown apart, never in the headcount)",
            t.unverified
        );
        for r in &t.by_registrar {
            println!(
                "    by registrar {}…: vouched {}, credentialed {}",
                &r.registrar.to_hex()[..12],
                r.vouched,
                r.credentialed
            );
        }
    }
    println!("\nLook at it:");
    println!("  {url}/checkpoint                  the signed checkpoint (C2SP tlog-checkpoint)");
    println!("  {url}/v1/campaigns                campaigns with their tallies (JSON)");
    if let Some((cid, _)) = campaigns.first() {
        println!("  {url}/v1/campaigns/{cid}/tallies");
        println!("  {url}/v1/campaigns/{cid}/declarations");
    }
    println!("  {url}/tile/entries/000            the first entry bundle (C2SP tlog-tiles)");
    println!("Audit it yourself:");
    println!("  cargo run --release -- audit {url} --log-key '{log_key}'");
    println!("\ndemo finished in {:.1}s", started.elapsed().as_secs_f64());
    if !report.verdict.agrees() {
        server.stop().await?;
        bail!("the audit did not agree");
    }
    if a.keep_running {
        println!("\nThe server keeps running at {url}; Ctrl-C to stop.");
        let _ = tokio::signal::ctrl_c().await;
    }
    server.stop().await
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
