//! `headcount campaign …`: an organiser's campaigns.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use headcount_core::RegistrarId;
use headcount_core::entry::{Campaign, CampaignText, Entry};
use headcount_core::text::to_nfc;
use serde::Deserialize;

use crate::client::{LogClient, verify_receipt};
use crate::cmd::{fmt_time, parse_time};
use crate::keys;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Publish a campaign described by a TOML file, signed by the organiser key.
    Create {
        /// The log server's URL, e.g. `http://127.0.0.1:8080` (or an onion address through `ALL_PROXY=socks5h://…`).
        #[arg(long, required_unless_present = "dry_run")]
        server: Option<String>,
        /// The organiser key file (from `headcount keygen organiser`).
        #[arg(long)]
        key: PathBuf,
        /// The campaign description (see docs/operations.md for the format).
        #[arg(long)]
        spec: PathBuf,
        /// Check the spec, build and sign the entry, print it and its
        /// campaign id, and publish nothing (a log is append-only: a campaign
        /// published by mistake stays there forever). Needs no --server.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the campaigns of a log with their counts.
    List {
        /// The log server's URL, e.g. `http://127.0.0.1:8080` (or an onion address through `ALL_PROXY=socks5h://…`).
        #[arg(long)]
        server: String,
    },
}

/// A campaign description file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// Unix seconds (an integer or a string of digits) or RFC 3339.
    #[serde(deserialize_with = "time_spec")]
    pub opens_at: String,
    #[serde(deserialize_with = "time_spec")]
    pub closes_at: String,
    /// Leading zero bits of work an unverified declaration needs (0: none accepted).
    #[serde(default)]
    pub unverified_difficulty: u8,
    /// The smallest issuance month (anonymity set) a credentialed declaration may disclose:
    /// at least 100 (the default); raise it to protect declarants of small registrars.
    #[serde(default = "default_min_anonymity")]
    pub min_anonymity: u32,
    /// Registrar ids (hex) whose credentials and vouches count.
    #[serde(default)]
    pub registrars: Vec<String>,
    #[serde(default)]
    pub addressees: Vec<String>,
    /// One or more language versions; the first is the original.
    pub text: Vec<TextSpec>,
}

fn default_min_anonymity() -> u32 {
    headcount_core::entry::limits::MIN_ANONYMITY
}

/// A time in a spec: a TOML integer (Unix seconds) or a string.
fn time_spec<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Time {
        Unix(u64),
        Text(String),
    }
    Ok(match Time::deserialize(d)? {
        Time::Unix(n) => n.to_string(),
        Time::Text(s) => s,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    pub lang: String,
    pub title: String,
    pub statement: String,
}

/// Builds the signed campaign entry from a spec.
pub fn campaign_entry(
    spec: &CampaignSpec,
    key: &ed25519_dalek::SigningKey,
) -> Result<(Campaign, Vec<u8>)> {
    let mut registrars = Vec::new();
    for r in &spec.registrars {
        registrars.push(
            RegistrarId::from_hex(r).with_context(|| format!("{r:?} is not a registrar id"))?,
        );
    }
    registrars.sort();
    registrars.dedup();
    let e = Entry::Campaign(Campaign {
        organiser_key: key.verifying_key().to_bytes(),
        texts: spec
            .text
            .iter()
            .map(|t| CampaignText {
                lang: t.lang.clone(),
                title: to_nfc(t.title.trim()),
                statement: to_nfc(t.statement.trim()),
            })
            .collect(),
        addressees: spec.addressees.iter().map(|a| to_nfc(a)).collect(),
        registrars,
        opens_at: parse_time(&spec.opens_at)?,
        closes_at: parse_time(&spec.closes_at)?,
        unverified_difficulty: spec.unverified_difficulty,
        min_anonymity: spec.min_anonymity,
        signature: [0; 64],
    });
    let (e, bytes) = e.sign(key).context("the campaign is not valid")?;
    let Entry::Campaign(c) = e else {
        bail!("built a campaign entry")
    };
    Ok((c, bytes))
}

/// What a campaign entry says, for the organiser to check.
fn print_campaign(c: &Campaign) {
    println!("campaign id: {}", c.id());
    for t in &c.texts {
        println!("[{}] {}", t.lang, t.title);
    }
    println!(
        "open {} to {}; {} accepted registrar(s); {} addressee(s); unverified difficulty {}",
        fmt_time(c.opens_at),
        fmt_time(c.closes_at),
        c.registrars.len(),
        c.addressees.len(),
        c.unverified_difficulty
    );
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::Create {
            server,
            key,
            spec,
            dry_run,
        } => {
            let key = keys::load_organiser(&key)?;
            let text = std::fs::read_to_string(&spec)
                .with_context(|| format!("reading {}", spec.display()))?;
            let spec: CampaignSpec =
                toml::from_str(&text).with_context(|| format!("parsing {}", spec.display()))?;
            let (campaign, bytes) = campaign_entry(&spec, &key)?;
            if dry_run {
                print_campaign(&campaign);
                println!("entry ({} bytes): {}", bytes.len(), hex::encode(&bytes));
                println!("dry run: nothing was published");
                return Ok(());
            }
            let Some(server) = server else {
                bail!("pass --server URL (or --dry-run)")
            };
            let client = LogClient::new(&server);
            let receipt = client.submit_ok(&bytes).await?;
            verify_receipt(&bytes, &receipt, &client.log_key().await?)?;
            println!("campaign id: {}", campaign.id());
            println!(
                "open {} to {}; logged at index {} (receipt verified)",
                fmt_time(campaign.opens_at),
                fmt_time(campaign.closes_at),
                receipt.leaf_index
            );
        }
        Command::List { server } => {
            let client = LogClient::new(&server);
            let list = client.get_json("/v1/campaigns").await?;
            for c in list.as_array().into_iter().flatten() {
                let t = &c["tally"];
                println!(
                    "{}  {}  credible {}  (vouched {}, credentialed {})  unverified {}",
                    c["id"].as_str().unwrap_or(""),
                    c["texts"][0]["title"].as_str().unwrap_or(""),
                    t["credible"],
                    t["vouched"],
                    t["credentialed"],
                    t["unverified"]
                );
            }
        }
    }
    Ok(())
}
