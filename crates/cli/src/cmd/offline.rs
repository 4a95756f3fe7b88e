//! Offline declarations carried by couriers (issue 15).
//!
//! * A **campaign packet** (`headcount offline packet`): the campaign entry, the entries of the
//!   registrars it accepts and their logged months of issuance, each with a tlog-proof against
//!   a checkpoint signed by the log key. An organiser distributes it; a wallet imports it
//!   (`headcount offline import`) after checking every proof, and keeps it, encrypted.
//! * `headcount declare … --offline` makes the entry from the packet alone, records it as
//!   pending, and writes it as a **transport line** (`headcount-entry:v1:` + base64url of the
//!   entry) to a file, to a PNG QR code, or to the terminal as a QR code.
//! * `headcount submit` (the courier) reads files and PNGs, submits every entry, and writes a
//!   receipts file. It keeps nothing else.
//! * `headcount offline confirm` (back home) matches the wallet's pending entries against the
//!   public log from whole public tiles only (the same requests for every wallet), or against a
//!   courier's receipts file, each receipt checked against the log key.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use headcount_core::entry::limits::MIN_ANONYMITY;
use headcount_core::entry::{Entry, IssuancePeriod};
use headcount_core::{CampaignId, EntryHash, Leaf};
use headcount_tlog::{LeafIndex, LogVerifier, TileId, TlogProof, TreeSize, leaf_hash};
use headcount_wallet::{PendingEntry, Receipt as WalletReceipt, ReceiptKind, Wallet};
use serde::{Deserialize, Serialize};

use crate::client::{LogClient, LoggedEntry, NetArgs, Receipt, VerifiedCampaign};
use crate::cmd::identity::WalletArgs;

// ---------------------------------------------------------------------------
// Transport: one entry per line (files) or per QR code.
// ---------------------------------------------------------------------------

/// The prefix of a transport line: format and version.
pub const LINE_PREFIX: &str = "headcount-entry:v1:";

/// The largest entry a transport line may carry (the log's own limit).
const MAX_LINE_ENTRY: usize = 65_526;

/// One entry as a transport line.
pub fn entry_line(entry: &[u8]) -> String {
    format!("{LINE_PREFIX}{}", B64.encode(entry))
}

/// Parses one transport line.
pub fn parse_line(line: &str) -> Result<Vec<u8>> {
    let body = line
        .trim()
        .strip_prefix(LINE_PREFIX)
        .ok_or_else(|| anyhow!("not a headcount entry (it does not start with {LINE_PREFIX})"))?;
    if body.len() > MAX_LINE_ENTRY.div_ceil(3) * 4 {
        bail!("the entry is longer than any the log accepts");
    }
    B64.decode(body)
        .map_err(|_| anyhow!("the entry is damaged (not base64url)"))
}

/// Every entry in a transport file: one line each; blank lines and `#` comments ignored.
/// A damaged line is reported by number and does not stop the others.
pub fn parse_file_text(text: &str) -> Vec<(String, Result<Vec<u8>>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| (format!("line {}", i + 1), parse_line(l)))
        .collect()
}

/// The QR code of one transport line (byte mode, error correction M: a screen photographed
/// at an angle still reads).
fn qr_code(line: &str) -> Result<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(line.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| anyhow!("the entry does not fit in a QR code: {e}"))
}

/// A QR code as text for a terminal (two modules per character, quiet zone included).
pub fn qr_terminal(line: &str) -> Result<String> {
    use qrcode::render::unicode;
    Ok(qr_code(line)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// Pixels per QR module in the PNG.
const PNG_SCALE: usize = 6;
/// Quiet zone, in modules (the standard asks for four).
const QUIET: usize = 4;

/// A QR code as an 8-bit greyscale PNG.
pub fn qr_png(line: &str) -> Result<Vec<u8>> {
    let code = qr_code(line)?;
    let n = code.width();
    let colors = code.to_colors();
    let side = (n + 2 * QUIET) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for y in 0..n {
        for x in 0..n {
            if colors[y * n + x] == qrcode::Color::Dark {
                for dy in 0..PNG_SCALE {
                    let row = (y + QUIET) * PNG_SCALE + dy;
                    let start = row * side + (x + QUIET) * PNG_SCALE;
                    pixels[start..start + PNG_SCALE].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let side = u32::try_from(side).context("QR code too large")?;
        let mut enc = png::Encoder::new(&mut out, side, side);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().context("writing the PNG")?;
        w.write_image_data(&pixels).context("writing the PNG")?;
    }
    Ok(out)
}

/// The largest image decoded (pixels), so that a hostile PNG cannot exhaust memory.
const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// Every QR code's text in a PNG image (a screenshot or a photo of a screen).
pub fn decode_qr_png(bytes: &[u8]) -> Result<Vec<String>> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().context("not a readable PNG image")?;
    let info = reader.info();
    if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
        bail!("the image is too large ({}×{})", info.width, info.height);
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .context("not a readable PNG image")?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let channels = frame.color_type.samples();
    let stride = frame.line_size;
    let grey = |x: usize, y: usize| -> u8 {
        let p = &buf[y * stride + x * channels..];
        match channels {
            1 | 2 => p[0],
            _ => ((u16::from(p[0]) * 3 + u16::from(p[1]) * 6 + u16::from(p[2])) / 10) as u8,
        }
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, grey);
    let mut out = Vec::new();
    for grid in img.detect_grids() {
        let mut text = Vec::new();
        grid.decode_to(&mut text)
            .map_err(|e| anyhow!("a QR code in the image cannot be read: {e}"))?;
        out.push(String::from_utf8(text).map_err(|_| anyhow!("a QR code holds no text"))?);
    }
    if out.is_empty() {
        bail!("no QR code found in the image");
    }
    Ok(out)
}

/// The entries in a file given to `submit` or `confirm`: a PNG (QR codes) or a transport
/// text file. Each item names where it came from.
pub fn read_transport(path: &Path) -> Result<Vec<(String, Result<Vec<u8>>)>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > 64 * 1024 * 1024 {
        bail!("{} is too large for an entries file", path.display());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let texts = decode_qr_png(&bytes).with_context(|| format!("{name}: the image"))?;
        return Ok(texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("{name} QR code {}", i + 1), parse_line(&t)))
            .collect());
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{name} is neither a PNG image nor an entries text file"))?;
    Ok(parse_file_text(&text)
        .into_iter()
        .map(|(where_, r)| (format!("{name} {where_}"), r))
        .collect())
}

/// Writes `bytes` to `path` atomically (temporary file beside it, fsync, rename): a courier's
/// report or a declarant's file is either whole or absent.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| anyhow!("writing {}: {}", path.display(), e.error))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Campaign packets.
// ---------------------------------------------------------------------------

/// The packet's format name.
pub const PACKET_FORMAT: &str = "headcount-campaign-packet/v1";

/// One logged entry in a packet: its bytes and its tlog-proof (the leaf header in `extra`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketEntry {
    /// The entry, hex.
    pub entry: String,
    /// `c2sp.org/tlog-proof@v1` text.
    pub proof: String,
}

/// What a wallet needs to declare in a campaign without contacting any server.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignPacket {
    pub format: String,
    /// The log's public key (signed-note verifier key).
    pub log_key: String,
    pub campaign: PacketEntry,
    /// The registrars the campaign accepts that the log has.
    pub registrars: Vec<PacketEntry>,
    /// Their logged months of issuance.
    pub periods: Vec<PacketEntry>,
}

/// A packet whose every entry was checked against its log key.
pub struct VerifiedPacket {
    pub packet: CampaignPacket,
    pub campaign: VerifiedCampaign,
    pub periods: Vec<IssuancePeriod>,
    /// The largest tree size of the packet's checkpoints: entries made from the packet come
    /// later in the log.
    pub tree_size: u64,
}

/// Checks one packet entry: in a checkpoint signed by `verifier`. Returns it and the size.
fn check_entry(e: &PacketEntry, verifier: &LogVerifier) -> Result<(LoggedEntry, u64)> {
    let bytes = hex::decode(&e.entry).context("an entry is not hex")?;
    let p = TlogProof::parse(e.proof.as_bytes()).context("parsing a tlog-proof")?;
    let mut leaf = p
        .extra
        .clone()
        .ok_or_else(|| anyhow!("a proof has no leaf header"))?;
    if leaf.len() != headcount_core::leaf::LEAF_HEADER_LEN {
        bail!("a proof's leaf header has {} bytes", leaf.len());
    }
    leaf.extend_from_slice(&bytes);
    Leaf::decode(&leaf).context("a proof's leaf header")?;
    let cp = p
        .verify(leaf_hash(&leaf), verifier)
        .context("an entry is not proven to be in the log")?;
    let entry = Entry::decode(&bytes).context("decoding a logged entry")?;
    Ok((
        LoggedEntry {
            entry,
            bytes,
            proof: e.proof.clone(),
        },
        cp.size.0,
    ))
}

impl CampaignPacket {
    /// Parses a packet (JSON).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let p: CampaignPacket =
            serde_json::from_slice(bytes).context("not a headcount campaign packet")?;
        if p.format != PACKET_FORMAT {
            bail!(
                "a campaign packet of format {:?}, not {PACKET_FORMAT}",
                p.format
            );
        }
        Ok(p)
    }

    /// Checks every entry against `log_key` (default: the packet's own): the campaign, the
    /// registrars it names (each entry's id is its hash), their months of issuance.
    pub fn verify(self, log_key: Option<&str>) -> Result<VerifiedPacket> {
        if let Some(k) = log_key
            && k.trim() != self.log_key.trim()
        {
            bail!("the packet is for another log than the key you gave");
        }
        let verifier = LogVerifier::from_vkey(&self.log_key).context("the packet's log key")?;
        let (logged, mut size) = check_entry(&self.campaign, &verifier)?;
        let Entry::Campaign(c) = &logged.entry else {
            bail!("the packet's campaign entry is not a campaign");
        };
        let campaign = c.clone();
        let mut registrars = Vec::new();
        for r in &self.registrars {
            let (l, s) = check_entry(r, &verifier)?;
            size = size.max(s);
            let Entry::Registrar(reg) = &l.entry else {
                bail!("a registrar entry of the packet is not a registrar");
            };
            if !campaign.registrars.contains(&reg.id()) {
                bail!("the packet holds a registrar the campaign does not accept");
            }
            registrars.push((reg.clone(), l));
        }
        let mut periods = Vec::new();
        for p in &self.periods {
            let (l, s) = check_entry(p, &verifier)?;
            size = size.max(s);
            let Entry::IssuancePeriod(ip) = &l.entry else {
                bail!("a month-of-issuance entry of the packet is not one");
            };
            if !registrars.iter().any(|(r, _)| r.id() == ip.registrar) {
                bail!("the packet holds a month of issuance of another registrar");
            }
            periods.push(ip.clone());
        }
        Ok(VerifiedPacket {
            campaign: VerifiedCampaign {
                campaign,
                logged,
                registrars,
            },
            periods,
            tree_size: size,
            packet: self,
        })
    }
}

/// Reads the leaf at `index` from the entry bundle that holds it, in the tree of `size`.
async fn leaf_at(client: &LogClient, index: u64, size: u64) -> Result<Vec<u8>> {
    let id = headcount_tlog::tiles_for_size(TreeSize(size))
        .into_iter()
        .find(|t| t.level.is_none() && t.index == index / 256)
        .ok_or_else(|| anyhow!("leaf {index} is not in the tree"))?;
    let bundle = get_bytes(client, &id).await?;
    let leaves = headcount_tlog::decode_bundle(&bundle).context("a damaged entry bundle")?;
    leaves
        .get((index % 256) as usize)
        .map(|l| l.to_vec())
        .ok_or_else(|| anyhow!("leaf {index} is missing from its bundle"))
}

async fn get_bytes(client: &LogClient, id: &TileId) -> Result<Vec<u8>> {
    let path = id.path();
    let r = client
        .http
        .get(format!("{}/{path}", client.base))
        .send()
        .await
        .with_context(|| format!("GET /{path}"))?;
    if !r.status().is_success() {
        bail!("GET /{path}: HTTP {}", r.status());
    }
    Ok(r.bytes().await?.to_vec())
}

/// Builds a packet for `campaign` from the log (checked as it is built).
pub async fn build_packet(
    client: &LogClient,
    campaign: CampaignId,
    log_key: &str,
    policy: Option<&headcount_cosignature::Policy>,
) -> Result<VerifiedPacket> {
    let c = client.verified_campaign(campaign, log_key, policy).await?;
    let entry = |l: &LoggedEntry| PacketEntry {
        entry: hex::encode(&l.bytes),
        proof: l.proof.clone(),
    };
    let (_, cp) = client.checkpoint(log_key).await?;
    let mut periods = Vec::new();
    for (r, _) in &c.registrars {
        let v = client
            .get_json(&format!("/v1/registrars/{}", r.id()))
            .await?;
        for p in v["periods"].as_array().into_iter().flatten() {
            let Some(index) = p["leaf_index"].as_u64() else {
                continue;
            };
            let leaf = leaf_at(client, index, cp.size.0).await?;
            let leaf = Leaf::decode(&leaf).context("a leaf in an entry bundle")?;
            let hash = EntryHash::of(&leaf.entry).to_hex();
            let logged = client.logged_entry(&hash, log_key, policy).await?;
            periods.push(entry(&logged));
        }
    }
    let packet = CampaignPacket {
        format: PACKET_FORMAT.into(),
        log_key: log_key.trim().to_owned(),
        campaign: entry(&c.logged),
        registrars: c.registrars.iter().map(|(_, l)| entry(l)).collect(),
        periods,
    };
    packet.verify(Some(log_key))
}

/// The packet for `campaign` kept in the wallet, verified again.
pub fn wallet_packet(wallet: &Wallet, campaign: CampaignId) -> Result<VerifiedPacket> {
    let mut best: Option<VerifiedPacket> = None;
    for doc in wallet.documents() {
        let Ok(p) = CampaignPacket::parse(doc) else {
            continue;
        };
        let v = p.verify(None)?;
        if v.campaign.campaign.id() == campaign
            && best.as_ref().is_none_or(|b| b.tree_size < v.tree_size)
        {
            best = Some(v);
        }
    }
    best.ok_or_else(|| {
        anyhow!(
            "this wallet has no packet for campaign {campaign}: import the file the organiser \
             distributes (`headcount offline import FILE`), or make one while online \
             (`headcount offline packet {campaign} --server URL --out FILE`)"
        )
    })
}

/// The offline counterpart of `check_anonymity_set`: the credential's month must be among the
/// packet's logged months, with at least the protocol's and the campaign's minimum.
pub fn check_anonymity_offline(
    credential: &headcount_wallet::StoredCredential,
    packet: &VerifiedPacket,
) -> Result<u32> {
    let period = credential.period();
    let need = packet.campaign.campaign.min_anonymity.max(MIN_ANONYMITY);
    let logged = packet
        .periods
        .iter()
        .find(|p| p.registrar.0 == credential.registrar_id() && p.period == period)
        .map(|p| p.size);
    let Some(size) = logged else {
        bail!(
            "your credential was issued in {period}, and the campaign packet in this wallet does \
             not show that month logged by the registrar. Once the registrar has logged {period} \
             (after {} UTC at the earliest), import a newer packet, then declare again.",
            crate::cmd::fmt_time(period.end())
        );
    };
    if size < need {
        bail!(
            "the registrar logged only {size} credentials for {period}, fewer than the {need} \
             this campaign requires: declaring would narrow you down to a group of {size}. Your \
             software refuses."
        );
    }
    Ok(size)
}

// ---------------------------------------------------------------------------
// Offline declarations and withdrawals.
// ---------------------------------------------------------------------------

/// Where an offline entry goes: `--offline` with `--out`, `--qr`, `--qr-png`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct OfflineArgs {
    /// Make the entry without contacting any server, from the campaign packet this wallet
    /// imported (`headcount offline import`); it is kept as pending, and written with
    /// `--out`, `--qr-png` or `--qr` for someone else to submit (`headcount submit`).
    #[arg(long)]
    pub offline: bool,
    /// With `--offline`: append the entry as one line to this file (created if missing).
    #[arg(long, requires = "offline")]
    pub out: Option<PathBuf>,
    /// With `--offline`: write the entry as a QR code to this PNG image.
    #[arg(long, requires = "offline")]
    pub qr_png: Option<PathBuf>,
    /// With `--offline`: show the entry as a QR code in the terminal (for a phone's camera).
    #[arg(long, requires = "offline")]
    pub qr: bool,
}

/// Why the log refuses a late entry, and what its maker should do, in words.
pub fn explain(code: &str) -> &'static str {
    match code {
        "campaign_closed" => {
            "the campaign had closed when the entry reached the log, so it cannot be counted. \
             Nothing was published about you. There is nothing to do."
        }
        "campaign_not_open" => {
            "the campaign had not opened yet when the entry reached the log. The same entry can \
             be submitted again once it opens."
        }
        "stale_predecessor" => {
            "another entry with your pseudonym in this campaign reached the log first (made on \
             another device, or carried by someone else), so this one continues an outdated \
             history. Confirm your entries (`headcount offline confirm`), then make a new one."
        }
        "period_not_logged" => {
            "the registrar had not yet logged the month your credential was issued in. The same \
             entry can be submitted again once it has: keep the file."
        }
        "anonymity_set_too_small" => {
            "the registrar issued too few credentials in your credential's month for this \
             campaign; the log refuses to let you be singled out. Use another credential."
        }
        "registrar_not_accepted" | "unknown_registrar" | "registrar_retired" => {
            "the log does not (or no longer) accept credentials of this registrar for this \
             campaign. Use a credential from another registrar the campaign accepts."
        }
        "unknown_campaign" => "the log does not know this campaign: is it the right log?",
        "duplicate_entry" => {
            "this very entry is already in the log: it counts. Confirm it with `headcount \
             offline confirm`."
        }
        "not_declared" => {
            "a withdrawal, but no declaration with this pseudonym is counted in the campaign."
        }
        "invalid_proof" | "bad_signature" | "invalid_key" => {
            "the entry's proof does not verify: it was damaged on the way, or forged."
        }
        c if c.starts_with("malformed") || c.starts_with("bad_") || c.ends_with("_too_long") => {
            "the entry is damaged or not a headcount entry."
        }
        _ => "see the log's message.",
    }
}

/// `declare --offline` and `withdraw --offline`.
pub async fn declare_offline(
    wallet_args: &WalletArgs,
    campaign: CampaignId,
    kind: ReceiptKind,
    alias: String,
    message: String,
    out: &OfflineArgs,
) -> Result<()> {
    if out.out.is_none() && out.qr_png.is_none() && !out.qr {
        bail!("--offline needs somewhere to put the entry: --out FILE, --qr-png FILE or --qr");
    }
    let mut wallet = wallet_args.open()?;
    let made = make_offline(&mut wallet, campaign, kind, alias, message).await?;
    write_entry(&made.entry, out)?;
    let what = match kind {
        ReceiptKind::Declaration => "declaration",
        ReceiptKind::Withdrawal => "withdrawal",
    };
    println!(
        "{what} made offline (entry {}, {} bytes; your credential's month has {} \
         credentials) and kept in the wallet as pending",
        EntryHash::of(&made.entry).to_hex(),
        made.entry.len(),
        made.anonymity
    );
    if crate::cmd::now() + 86_400 > made.closes_at {
        println!(
            "note: the campaign closes at {} UTC; an entry that reaches the log later is not counted",
            crate::cmd::fmt_time(made.closes_at)
        );
    }
    println!("anyone can submit it: `headcount submit FILE --server URL`; nothing in it names you");
    Ok(())
}

/// An entry made offline.
pub struct MadeOffline {
    /// The encoded entry, kept in the wallet as pending.
    pub entry: Vec<u8>,
    /// The size of the credential's month of issuance.
    pub anonymity: u32,
    /// When the campaign closes.
    pub closes_at: u64,
}

/// Makes a credentialed entry from the wallet's campaign packet alone, with the same checks as
/// online (campaign not closed, month logged with enough credentials, predecessor = the
/// wallet's latest entry), and saves it in the wallet as pending.
pub async fn make_offline(
    wallet: &mut Wallet,
    campaign: CampaignId,
    kind: ReceiptKind,
    alias: String,
    message: String,
) -> Result<MadeOffline> {
    let packet = wallet_packet(wallet, campaign)?;
    let c = &packet.campaign.campaign;
    let now = crate::cmd::now();
    if now >= c.closes_at {
        bail!(
            "the campaign closed at {} UTC: an entry made now would be refused",
            crate::cmd::fmt_time(c.closes_at)
        );
    }
    if wallet
        .pending_entries()
        .iter()
        .any(|e| e.campaign_id == campaign.0)
    {
        bail!(
            "an entry this wallet made in this campaign is still pending (not yet confirmed in \
             the log): a second one now would be refused as stale. Confirm the first (`headcount \
             offline confirm`), or export it again (`headcount offline export`)"
        );
    }
    let cred = crate::cmd::declare::credential_for(wallet, campaign, &packet.campaign)?;
    let anonymity = check_anonymity_offline(cred, &packet)?;
    let cred = cred.clone();
    let bytes =
        crate::cmd::declare::make_pending_entry(wallet, &cred, campaign, kind, alias, message, now)
            .await?;
    Ok(MadeOffline {
        entry: bytes,
        anonymity,
        closes_at: c.closes_at,
    })
}

/// Writes one entry where `out` says.
fn write_entry(bytes: &[u8], out: &OfflineArgs) -> Result<()> {
    let line = entry_line(bytes);
    if let Some(path) = &out.out {
        let mut text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        write_file(path, text.as_bytes())?;
        println!("entry written to {}", path.display());
    }
    if let Some(path) = &out.qr_png {
        write_file(path, &qr_png(&line)?)?;
        println!("QR code written to {}", path.display());
    }
    if out.qr {
        println!("{}", qr_terminal(&line)?);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// `headcount offline …`
// ---------------------------------------------------------------------------

#[derive(clap::Subcommand)]
pub enum Command {
    /// Organiser (or anyone online): write a campaign packet: the campaign, its registrars and
    /// their logged months, each with a proof against the log's signed checkpoint. Declarants
    /// import it to declare without contacting the log.
    Packet {
        /// Campaign id.
        campaign: String,
        /// The log server's URL.
        #[arg(long)]
        server: String,
        /// The log's public key; default: ask the server (trust on first use).
        #[arg(long)]
        log_key: Option<String>,
        /// A C2SP tlog-policy file: require its witness quorum on every proof.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Where to write the packet.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Declarant: check a campaign packet and keep it (encrypted) in the wallet, for offline
    /// declarations. Contacts nothing.
    Import {
        /// The packet file.
        file: PathBuf,
        /// The log's public key: the packet must be for this log. Default: the packet's own
        /// (printed: compare it with the one the organiser publishes).
        #[arg(long)]
        log_key: Option<String>,
        #[command(flatten)]
        wallet: WalletArgs,
    },
    /// Declarant: write the wallet's pending entries again (to a file, PNGs or the terminal),
    /// e.g. when the first file was lost. The same bytes: never a second entry.
    Export {
        /// Append every pending entry to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write one PNG QR code per pending entry: PREFIX-1.png, PREFIX-2.png, …
        #[arg(long)]
        qr_png: Option<PathBuf>,
        /// Show each pending entry as a QR code in the terminal.
        #[arg(long)]
        qr: bool,
        #[command(flatten)]
        wallet: WalletArgs,
    },
    /// Declarant, back home: find the wallet's pending entries in the public log and keep
    /// their receipts. With --server, it downloads the log's whole public tiles (the same
    /// requests for every wallet: nothing asked names your entries); with --receipts, it reads
    /// the file a courier brought back (each receipt is checked against the log key).
    Confirm {
        /// The log server's URL: search its public tiles.
        #[arg(long, required_unless_present = "receipts")]
        server: Option<String>,
        /// The log's public key. Default: the one in the wallet's campaign packets.
        #[arg(long)]
        log_key: Option<String>,
        /// Receipts files written by `headcount submit`.
        #[arg(long, num_args = 1..)]
        receipts: Vec<PathBuf>,
        #[command(flatten)]
        wallet: WalletArgs,
        #[command(flatten)]
        net: NetArgs,
    },
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::Packet {
            campaign,
            server,
            log_key,
            policy,
            out,
            net,
        } => {
            let campaign =
                CampaignId::from_hex(&campaign).context("the campaign id is 64 hex digits")?;
            let client = LogClient::for_declarant(&server, &net)?;
            let policy = policy
                .as_deref()
                .map(crate::client::load_policy)
                .transpose()?;
            let key = client.log_key_or(log_key.as_deref()).await?;
            let p = build_packet(&client, campaign, &key, policy.as_ref()).await?;
            let json = serde_json::to_vec_pretty(&p.packet)?;
            write_file(&out, &json)?;
            println!(
                "campaign packet written to {} ({} registrar(s), {} logged month(s), {} bytes)",
                out.display(),
                p.campaign.registrars.len(),
                p.periods.len(),
                json.len()
            );
            Ok(())
        }
        Command::Import {
            file,
            log_key,
            wallet,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let p = CampaignPacket::parse(&bytes)?.verify(log_key.as_deref())?;
            let mut w = wallet.open()?;
            let id = p.campaign.campaign.id();
            // Keep only the newest packet of a campaign.
            let new = w.add_document(&bytes);
            let size = p.tree_size;
            w.remove_documents(|d| {
                d != bytes.as_slice()
                    && CampaignPacket::parse(d)
                        .ok()
                        .and_then(|p| p.verify(None).ok())
                        .is_some_and(|o| o.campaign.campaign.id() == id && o.tree_size <= size)
            });
            w.save()?;
            if log_key.is_none() {
                println!(
                    "log key (from the packet; compare it with the one the organiser publishes): {}",
                    p.packet.log_key.trim()
                );
            }
            let title = p
                .campaign
                .campaign
                .texts
                .first()
                .map(|t| t.title.clone())
                .unwrap_or_default();
            println!(
                "campaign packet {}: {title:?} ({id}), {} registrar(s), {} logged month(s), \
                 proven in the log up to tree size {size}",
                if new {
                    "imported"
                } else {
                    "already in the wallet"
                },
                p.campaign.registrars.len(),
                p.periods.len()
            );
            Ok(())
        }
        Command::Export {
            out,
            qr_png,
            qr,
            wallet,
        } => {
            let w = wallet.open()?;
            let pending: Vec<Vec<u8>> = w
                .pending_entries()
                .iter()
                .map(|e| e.entry.clone())
                .collect();
            if pending.is_empty() {
                println!("no pending entries");
                return Ok(());
            }
            for (i, bytes) in pending.iter().enumerate() {
                let png = qr_png.as_ref().map(|p| {
                    let mut s = p.as_os_str().to_owned();
                    s.push(format!("-{}.png", i + 1));
                    PathBuf::from(s)
                });
                write_entry(
                    bytes,
                    &OfflineArgs {
                        offline: true,
                        out: out.clone(),
                        qr_png: png,
                        qr,
                    },
                )?;
            }
            println!("{} pending entr(y/ies) written", pending.len());
            Ok(())
        }
        Command::Confirm {
            server,
            log_key,
            receipts,
            wallet,
            net,
        } => confirm(server, log_key, receipts, wallet, net).await,
    }
}

// ---------------------------------------------------------------------------
// Back home: confirm pending entries.
// ---------------------------------------------------------------------------

/// Stores `receipt` for the pending entry `e` once it verifies.
fn keep_receipt(
    wallet: &mut Wallet,
    e: &PendingEntry,
    receipt: &Receipt,
    log_key: &str,
) -> Result<()> {
    crate::client::verify_receipt(&e.entry, receipt, log_key)?;
    wallet.add_receipt(WalletReceipt {
        campaign_id: e.campaign_id,
        entry_hash: e.entry_hash(),
        leaf_index: receipt.leaf_index,
        kind: e.kind,
        tlog_proof: receipt.proof.clone(),
        entry: e.entry.clone(),
    });
    wallet.remove_pending_entry(&e.entry_hash());
    Ok(())
}

async fn confirm(
    server: Option<String>,
    log_key: Option<String>,
    receipts: Vec<PathBuf>,
    wallet_args: WalletArgs,
    net: NetArgs,
) -> Result<()> {
    let mut wallet = wallet_args.open()?;
    let key = match log_key {
        Some(k) => k,
        None => wallet
            .documents()
            .find_map(|d| CampaignPacket::parse(d).ok().map(|p| p.log_key))
            .ok_or_else(|| anyhow!("give the log's key with --log-key"))?,
    };
    let pending: Vec<PendingEntry> = wallet.pending_entries().to_vec();
    let mut confirmed = 0usize;
    // 1. Receipts files brought back by a courier: checked against the log key, never trusted.
    for path in &receipts {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let report: Report = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a receipts file", path.display()))?;
        for r in &report.entries {
            let Some(e) = pending
                .iter()
                .find(|e| hex::encode(e.entry_hash()) == r.entry_hash)
            else {
                continue;
            };
            match (&r.receipt, &r.error) {
                (Some(receipt), _) => match keep_receipt(&mut wallet, e, receipt, &key) {
                    Ok(()) => {
                        confirmed += 1;
                        println!(
                            "entry {}: logged at index {} (receipt verified)",
                            &r.entry_hash[..16],
                            receipt.leaf_index
                        );
                    }
                    Err(err) => println!(
                        "entry {}: the courier's receipt does not verify ({err:#}); still pending",
                        &r.entry_hash[..16]
                    ),
                },
                (None, Some(code)) => println!(
                    "entry {}: refused by the log, the courier reports ({code}: {}). {} The \
                     entry stays pending until the public log confirms or a new entry replaces it.",
                    &r.entry_hash[..16],
                    r.message.as_deref().unwrap_or(""),
                    explain(code)
                ),
                (None, None) => println!(
                    "entry {}: the courier could not submit it ({}); still pending",
                    &r.entry_hash[..16],
                    r.message.as_deref().unwrap_or("no reason given")
                ),
            }
        }
    }
    // 2. The public log: the whole tree's tiles and entry bundles, whatever the wallet holds.
    if let Some(server) = server {
        let client = LogClient::for_declarant(&server, &net)?;
        confirmed += confirm_from_log(&client, &mut wallet, &key).await?;
    }
    wallet.save()?;
    let left = wallet.pending_entries().len();
    println!("{confirmed} entr(y/ies) confirmed; {left} still pending");
    Ok(())
}

/// Campaign, pseudonym and predecessor of a declaration or withdrawal.
fn chain_of(entry: &Entry) -> Option<(CampaignId, headcount_core::Pseudonym, EntryHash)> {
    match entry {
        Entry::Declaration(d) => Some((d.campaign, d.pseudonym, d.predecessor)),
        Entry::Withdrawal(w) => Some((w.campaign, w.pseudonym, w.predecessor)),
        _ => None,
    }
}

/// How long after a campaign's close an entry still missing from the log is given up: the
/// log's timestamps are whole minutes, and a round may be in flight.
const CLOSE_MARGIN_S: u64 = 120;

/// Finds the wallet's pending entries in the public log: downloads the current checkpoint, the
/// whole tree's hash tiles and every entry bundle (the same requests for every wallet), and
/// builds each found entry's receipt from them. Entries with the same pseudonym made on
/// another device (a copy of the wallet) are kept too, so the next entry continues them. A
/// pending entry that can no longer be logged — another entry of its pseudonym came first, or
/// its campaign is over — is dropped with the reason. Returns how many pending entries were
/// confirmed; the caller saves the wallet.
pub async fn confirm_from_log(client: &LogClient, wallet: &mut Wallet, key: &str) -> Result<usize> {
    use std::collections::{HashMap, HashSet};
    let (note, cp) = client.checkpoint(key).await?;
    let tiles = client.hash_tiles(cp.size, cp.root).await?;
    let pending: Vec<PendingEntry> = wallet.pending_entries().to_vec();
    let want: HashMap<[u8; 32], &PendingEntry> =
        pending.iter().map(|e| (e.entry_hash(), e)).collect();
    // The pseudonyms of the pending entries, by campaign.
    let chains: HashSet<(CampaignId, headcount_core::Pseudonym)> = pending
        .iter()
        .filter_map(|e| Entry::decode(&e.entry).ok())
        .filter_map(|e| chain_of(&e).map(|(c, p, _)| (c, p)))
        .collect();
    let bundles: Vec<TileId> = headcount_tlog::tiles_for_size(cp.size)
        .into_iter()
        .filter(|t| t.level.is_none())
        .collect();
    // (index, leaf, entry) of every leaf on one of those chains, the pending ones included.
    let mut on_chain: Vec<(u64, Vec<u8>, Entry)> = Vec::new();
    {
        use futures::StreamExt;
        let mut stream = futures::stream::iter(bundles)
            .map(|id| async move { Ok::<_, anyhow::Error>((id, get_bytes(client, &id).await?)) })
            .buffer_unordered(8);
        while let Some(r) = stream.next().await {
            let (id, bytes) = r?;
            let level0 = tiles
                .0
                .get(&TileId {
                    level: Some(0),
                    ..id
                })
                .ok_or_else(|| anyhow!("the log's tiles lack a level-0 tile"))?;
            let leaves = headcount_tlog::check_bundle(&bytes, level0)
                .context("an entry bundle does not match the log's tiles")?;
            for (i, leaf) in leaves.into_iter().enumerate() {
                let Ok(l) = Leaf::decode(leaf) else { continue };
                let Ok(entry) = Entry::decode(&l.entry) else {
                    continue;
                };
                if chain_of(&entry).is_some_and(|(c, p, _)| chains.contains(&(c, p))) {
                    on_chain.push((id.index * 256 + i as u64, leaf.to_vec(), entry));
                }
            }
        }
    }
    on_chain.sort_by_key(|(i, _, _)| *i);
    let receipt_for = |index: u64, leaf: &[u8]| -> Result<Receipt> {
        let proof = headcount_tlog::inclusion_proof(&tiles, cp.size, cp.root, LeafIndex(index))
            .context("building an inclusion proof")?;
        let l = Leaf::decode(leaf).context("a leaf")?;
        let tp = TlogProof {
            extra: Some(leaf[..headcount_core::leaf::LEAF_HEADER_LEN].to_vec()),
            index: LeafIndex(index),
            proof,
            checkpoint: note.clone(),
        };
        Ok(Receipt {
            leaf_index: index,
            tree_size: cp.size.0,
            timestamp: l.timestamp.0,
            entry_type: String::new(),
            entry_hash: EntryHash::of(&l.entry).to_hex(),
            leaf_hash: hex::encode(leaf_hash(leaf).0),
            proof: tp.to_text(),
        })
    };
    let mut confirmed = 0;
    // The latest logged entry of each chain.
    let mut latest: HashMap<(CampaignId, headcount_core::Pseudonym), EntryHash> = HashMap::new();
    for (index, leaf, entry) in &on_chain {
        let (c, p, _) = chain_of(entry).expect("filtered above");
        let bytes = &leaf[headcount_core::leaf::LEAF_HEADER_LEN..];
        let hash = EntryHash::of(bytes);
        latest.insert((c, p), hash);
        let receipt = receipt_for(*index, leaf)?;
        if let Some(e) = want.get(&hash.0) {
            keep_receipt(wallet, e, &receipt, key)?;
            confirmed += 1;
            println!(
                "entry {}: found in the public log at index {index} (proof built from public tiles)",
                &hash.to_hex()[..16]
            );
        } else if !wallet.receipts().iter().any(|r| r.entry_hash == hash.0) {
            // Same pseudonym: made with this wallet's credential, on another device.
            crate::client::verify_receipt(bytes, &receipt, key)?;
            wallet.add_receipt(WalletReceipt {
                campaign_id: c.0,
                entry_hash: hash.0,
                leaf_index: *index,
                kind: if matches!(entry, Entry::Withdrawal(_)) {
                    ReceiptKind::Withdrawal
                } else {
                    ReceiptKind::Declaration
                },
                tlog_proof: receipt.proof.clone(),
                entry: bytes.to_vec(),
            });
            println!(
                "entry {}: made with your credential elsewhere (another copy of this wallet), \
                 logged at index {index}: kept, so your next entry continues it",
                &hash.to_hex()[..16]
            );
        }
    }
    let now = crate::cmd::now();
    let closes: HashMap<[u8; 32], u64> = wallet
        .documents()
        .filter_map(|d| CampaignPacket::parse(d).ok()?.verify(None).ok())
        .map(|p| (p.campaign.campaign.id().0, p.campaign.campaign.closes_at))
        .collect();
    for e in wallet.pending_entries().to_vec() {
        let hash = hex::encode(e.entry_hash());
        let chain = Entry::decode(&e.entry).ok().as_ref().and_then(chain_of);
        let stale =
            chain.and_then(|(c, p, pred)| latest.get(&(c, p)).filter(|l| **l != pred).map(|_| ()));
        let closed = closes
            .get(&e.campaign_id)
            .filter(|t| now >= **t + CLOSE_MARGIN_S);
        if stale.is_some() {
            wallet.remove_pending_entry(&e.entry_hash());
            println!(
                "entry {}: can no longer be logged: {} It was removed from the wallet's pending \
                 entries.",
                &hash[..16],
                explain("stale_predecessor")
            );
        } else if let Some(t) = closed {
            wallet.remove_pending_entry(&e.entry_hash());
            println!(
                "entry {}: not in the log, and the campaign closed at {} UTC: it will not be \
                 counted. Nothing was published about you. It was removed from the wallet's \
                 pending entries.",
                &hash[..16],
                crate::cmd::fmt_time(*t)
            );
        } else {
            println!(
                "entry {}: not in the log yet (tree size {}): the courier may not have \
                 submitted it yet, or the log refused it; ask for the courier's receipts file",
                &hash[..16],
                cp.size.0
            );
        }
    }
    Ok(confirmed)
}

// ---------------------------------------------------------------------------
// The courier: `headcount submit`.
// ---------------------------------------------------------------------------

/// The receipts file's format name.
pub const REPORT_FORMAT: &str = "headcount-receipts/v1";

/// What became of one entry, in the receipts file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportEntry {
    /// SHA-256 of the entry, hex (empty when the line could not be read).
    pub entry_hash: String,
    /// `logged`, `refused`, `unreadable` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// The log's stable error code, when refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The receipts file a courier brings back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    /// The log's public key the receipts were checked against.
    pub log_key: String,
    pub entries: Vec<ReportEntry>,
}

#[derive(clap::Args)]
pub struct SubmitArgs {
    /// Files of entries: text files (one `headcount-entry:v1:` line each) or PNG images of QR
    /// codes.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The log server's URL.
    #[arg(long)]
    pub server: String,
    /// The log's public key (to check every receipt); default: ask the server.
    #[arg(long)]
    pub log_key: Option<String>,
    /// Write the receipts (and refusals) here, for the declarants to import. Nothing else is
    /// written anywhere.
    #[arg(long)]
    pub receipts: Option<PathBuf>,
    /// How many times to try an entry the log cannot be reached for (or is overloaded).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// Seconds between tries (doubled each time).
    #[arg(long, default_value_t = 1)]
    pub retry_delay: u64,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Submits one entry with retries: the log's receipt or refusal, or the last failure.
async fn submit_one(
    client: &LogClient,
    bytes: &[u8],
    key: &str,
    retries: u32,
    delay: u64,
) -> ReportEntry {
    let hash = EntryHash::of(bytes).to_hex();
    let mut wait = std::time::Duration::from_secs(delay);
    let mut last = String::new();
    for attempt in 0..=retries {
        if attempt > 0 {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        match client.submit(bytes).await {
            Ok(crate::client::Submitted::Accepted(r)) => {
                return match crate::client::verify_receipt(bytes, &r, key) {
                    Ok(_) => ReportEntry {
                        entry_hash: hash,
                        status: "logged".into(),
                        receipt: Some(r),
                        error: None,
                        message: None,
                    },
                    Err(e) => ReportEntry {
                        entry_hash: hash,
                        status: "failed".into(),
                        receipt: None,
                        error: None,
                        message: Some(format!("the log's receipt does not verify: {e:#}")),
                    },
                };
            }
            Ok(crate::client::Submitted::Refused { status: 503, error }) => {
                last = error.message;
            }
            Ok(crate::client::Submitted::Refused { error, .. }) => {
                return ReportEntry {
                    entry_hash: hash,
                    status: "refused".into(),
                    receipt: None,
                    error: Some(error.error),
                    message: Some(error.message),
                };
            }
            Err(e) => last = format!("{e:#}"),
        }
    }
    ReportEntry {
        entry_hash: hash,
        status: "failed".into(),
        receipt: None,
        error: None,
        message: Some(last),
    }
}

/// `headcount submit`.
pub async fn submit(a: SubmitArgs) -> Result<()> {
    let mut items: Vec<(String, Result<Vec<u8>>)> = Vec::new();
    for f in &a.files {
        match read_transport(f) {
            Ok(v) => items.extend(v),
            Err(e) => items.push((f.display().to_string(), Err(e))),
        }
    }
    // The same entry carried twice (a file and a QR code) is submitted once.
    let mut seen = std::collections::HashSet::new();
    items.retain(|(_, r)| match r {
        Ok(b) => seen.insert(EntryHash::of(b).0),
        Err(_) => true,
    });
    // The courier is not a declarant, but its connection is seen like theirs: the same rules.
    let client = LogClient::for_declarant(&a.server, &a.net)?;
    let key = client.log_key_or(a.log_key.as_deref()).await?;
    let bar = indicatif::ProgressBar::new(items.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} entries {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut report = Report {
        format: REPORT_FORMAT.into(),
        log_key: key.trim().to_owned(),
        entries: Vec::new(),
    };
    let mut lines = Vec::new();
    for (source, item) in items {
        let r = match item {
            Ok(bytes) => submit_one(&client, &bytes, &key, a.retries, a.retry_delay).await,
            Err(e) => ReportEntry {
                entry_hash: String::new(),
                status: "unreadable".into(),
                receipt: None,
                error: None,
                message: Some(format!("{e:#}")),
            },
        };
        let short = if r.entry_hash.is_empty() {
            "-".to_owned()
        } else {
            r.entry_hash[..16].to_owned()
        };
        lines.push(match (r.status.as_str(), &r.receipt, &r.error) {
            ("logged", Some(rc), _) => {
                format!("{source}: entry {short}: logged at index {}", rc.leaf_index)
            }
            ("refused", _, Some(code)) => format!(
                "{source}: entry {short}: REFUSED ({code}): {}. {}",
                r.message.as_deref().unwrap_or(""),
                explain(code)
            ),
            ("unreadable", _, _) => format!(
                "{source}: UNREADABLE: {}",
                r.message.as_deref().unwrap_or("")
            ),
            _ => format!(
                "{source}: entry {short}: NOT SUBMITTED: {}",
                r.message.as_deref().unwrap_or("")
            ),
        });
        report.entries.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    for l in &lines {
        println!("{l}");
    }
    let logged = report
        .entries
        .iter()
        .filter(|e| e.status == "logged")
        .count();
    let total = report.entries.len();
    if let Some(path) = &a.receipts {
        write_file(path, &serde_json::to_vec_pretty(&report)?)?;
        println!("receipts written to {}", path.display());
    }
    println!("{logged} of {total} entries logged");
    if logged < total {
        bail!(
            "{} of {total} entries were not logged (see each line above)",
            total - logged
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_damage_is_named() {
        let e = vec![7u8; 465];
        let l = entry_line(&e);
        assert_eq!(parse_line(&l).unwrap(), e);
        assert!(parse_line("hello").is_err());
        assert!(parse_line(&format!("{LINE_PREFIX}!!")).is_err());
        let text = format!("# from Ana\n\n{l}\ngarbage\n");
        let parsed = parse_file_text(&text);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, "line 3");
        assert!(parsed[1].1.is_err());
    }

    #[test]
    fn qr_png_round_trip() {
        let e: Vec<u8> = (0..465u32).map(|i| (i * 7) as u8).collect();
        let l = entry_line(&e);
        let png = qr_png(&l).unwrap();
        assert_eq!(decode_qr_png(&png).unwrap(), vec![l.clone()]);
        assert!(qr_terminal(&l).unwrap().lines().count() > 20);
        assert!(decode_qr_png(b"\x89PNG\r\n\x1a\nnot really").is_err());
        // A typical credentialed declaration (465 bytes) fits a version-20 code (97 modules).
        assert_eq!(l.len(), 639);
        assert_eq!(qr_code(&l).unwrap().version(), qrcode::Version::Normal(20));
    }

    #[test]
    fn an_image_without_a_code_and_a_code_without_an_entry_are_refused() {
        let blank = qr_png(&entry_line(b"x")).unwrap();
        let texts = decode_qr_png(&blank).unwrap();
        assert_eq!(parse_line(&texts[0]).unwrap(), b"x");
        // A QR code of something else: read, but not an entry.
        let other = qr_png("https://example.org/").unwrap();
        let texts = decode_qr_png(&other).unwrap();
        assert!(parse_line(&texts[0]).is_err());
        // A PNG with no code at all.
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 50, 50);
            enc.set_color(png::ColorType::Grayscale);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[255u8; 2500]).unwrap();
        }
        assert!(
            decode_qr_png(&out)
                .unwrap_err()
                .to_string()
                .contains("no QR code")
        );
    }
}
