//! `headcount evidence export|verify` end to end. The demo's world (a real
//! server with two in-process witnesses under a 2-of-2 policy, a registrar,
//! credentialed, vouched and unverified declarations, withdrawals, an
//! auditor's attestation) runs with `--keep-running`; the appeal campaign is
//! exported in both modes; then the demo is **killed** and every check runs
//! with no server at all. One packet pair is shared by the tests of this
//! file (built once); each tampering class has its own test.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{BIN, probe};
use headcount_evidence::{Mode, Packet, files};

struct Fixture {
    dir: PathBuf,
    full: PathBuf,
    compact: PathBuf,
    log_key: String,
    policy: PathBuf,
    /// The server's own tally of the campaign (JSON), fetched before it stopped.
    server_tally: serde_json::Value,
    /// The URL the server had (nothing answers there any more).
    url: String,
    /// The log's secret key file (for re-signing a swapped checkpoint).
    log_skey: PathBuf,
    /// The auditor's secret key file (for an auditor that signs a wrong count).
    auditor_skey: PathBuf,
}

/// Kills the demo when the fixture is done with it, or on a panic.
struct Kid(Child);
impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("HEADCOUNT_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the headcount binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    // Earlier runs' directories, whose process is gone, are removed.
    for e in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("evidence-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let dir = tmp.join(format!("evidence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("demo");
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--keep-running",
            "--declarants",
            "200",
            "--vouched",
            "8",
            "--unverified",
            "3",
        ])
        .arg("--data")
        .arg(&data)
        .env_remove("HEADCOUNT_LOG")
        // A "Chromium" that cannot print: the demo goes on without the PDF.
        .env("HEADCOUNT_CHROMIUM", "/bin/false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().unwrap();
    let kid = Kid(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            if let Some(u) = line.trim().strip_prefix("The server keeps running at ") {
                let _ = tx.send(Ok((
                    u.trim_end_matches("; Ctrl-C to stop.").to_owned(),
                    all.clone(),
                )));
            }
        }
        let _ = tx.send(Err(all));
    });
    let (url, demo_out) = match rx.recv_timeout(Duration::from_secs(900)) {
        Ok(Ok(v)) => v,
        Ok(Err(all)) => panic!("the demo ended early:\n{all}"),
        Err(_) => panic!("the demo did not finish in 15 minutes"),
    };
    // The demo's own evidence step ran; the PDF could not be printed by that
    // "Chromium", and it says so.
    assert!(
        demo_out.contains("Chromium could not print the PDF"),
        "{demo_out}"
    );
    assert!(demo_out.contains("11. evidence"), "{demo_out}");
    assert!(
        demo_out.contains("no PDF: Chromium is not installed"),
        "{demo_out}"
    );
    assert!(demo_out.contains("verified offline"), "{demo_out}");

    let log_key = std::fs::read_to_string(data.join("log.vkey"))
        .or_else(|_| {
            // The demo prints it.
            demo_out
                .lines()
                .find_map(|l| l.trim().strip_prefix("log key "))
                .map(|s| s.trim().to_owned())
                .ok_or(std::io::ErrorKind::NotFound)
        })
        .unwrap()
        .trim()
        .to_owned();
    let policy = data.join("policy.txt");
    let auditor = data.join("keys/auditor.example.vkey");
    let (_, body) = probe(&url, "/v1/campaigns").expect("campaign list");
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let appeal = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["texts"][0]["title"]
                .as_str()
                .unwrap_or("")
                .starts_with("Appeal")
        })
        .expect("the appeal campaign");
    let id = appeal["id"].as_str().unwrap().to_owned();
    let (_, body) = probe(&url, &format!("/v1/campaigns/{id}/tally")).unwrap();
    let server_tally: serde_json::Value = serde_json::from_slice(&body).unwrap();

    let full = dir.join("full.zip");
    let compact = dir.join("compact.zip");
    let chromium = Path::new("/usr/bin/chromium").exists();
    let mut args = vec![
        "evidence",
        "export",
        &id,
        "--server",
        &url,
        "--log-key",
        &log_key,
        "--quiet",
    ];
    let (policy_s, auditor_s) = (policy.to_str().unwrap(), auditor.to_str().unwrap());
    args.extend(["--policy", policy_s, "--auditor-key", auditor_s]);
    let mut full_args = args.clone();
    full_args.extend(["--out", full.to_str().unwrap()]);
    if !chromium {
        full_args.push("--no-pdf");
    }
    let o = run(&full_args);
    assert!(o.status.success(), "{}", text(&o));
    let mut compact_args = args.clone();
    compact_args.extend(["--out", compact.to_str().unwrap(), "--compact", "--no-pdf"]);
    let o = run(&compact_args);
    assert!(o.status.success(), "{}", text(&o));

    // Bad input to export: a campaign the log does not have, an id that is
    // not one. Each says why and writes nothing.
    let nothing = dir.join("nothing.zip");
    let unknown = "ab".repeat(32);
    for (id, why) in [
        (unknown.as_str(), "is not in the log"),
        ("appeal", "is not a campaign id"),
    ] {
        let mut bad = args.clone();
        bad[2] = id;
        bad.extend(["--out", nothing.to_str().unwrap(), "--no-pdf"]);
        let o = run(&bad);
        assert!(!o.status.success(), "{}", text(&o));
        assert!(text(&o).contains(why), "{}", text(&o));
        assert!(!nothing.exists());
    }

    // The server goes away: from here on nothing answers at its address.
    drop(kid);
    assert!(probe(&url, "/v1/log").is_none(), "the server still answers");
    Fixture {
        dir,
        full,
        compact,
        log_key,
        policy,
        server_tally,
        url,
        log_skey: data.join("log.skey"),
        auditor_skey: data.join("keys/auditor.example.skey"),
    }
}

fn verify(path: &Path, pinned: bool) -> Output {
    let f = fixture();
    let mut args = vec!["evidence", "verify", path.to_str().unwrap()];
    if pinned {
        args.extend([
            "--log-key",
            &f.log_key,
            "--policy",
            f.policy.to_str().unwrap(),
        ]);
    }
    // No proxy and no server: any network use would fail the run.
    Command::new(BIN)
        .args(&args)
        .env_remove("HEADCOUNT_LOG")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn load(path: &Path) -> Packet {
    Packet::from_zip(&std::fs::read(path).unwrap()).unwrap()
}

/// Writes a tampered copy and verifies it: must fail with `code`, and say `reason`.
fn tampered(name: &str, p: &Packet, code: &str, reason: &str) -> String {
    tampered_bytes(name, &p.to_zip().unwrap(), code, reason)
}

fn tampered_bytes(name: &str, bytes: &[u8], code: &str, reason: &str) -> String {
    let path = fixture().dir.join(format!("tampered-{name}.zip"));
    std::fs::write(&path, bytes).unwrap();
    let o = verify(&path, true);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{name}: expected exit 2:\n{out}");
    assert!(
        out.contains(&format!("NOT VERIFIED ({code})")),
        "{name}: expected {code}:\n{out}"
    );
    assert!(out.contains(reason), "{name}: expected {reason:?}:\n{out}");
    assert!(!out.contains("verdict    VERIFIED"), "{out}");
    out
}

#[test]
fn full_packet_verifies_offline_and_says_on_whose_word() {
    let f = fixture();
    let started = Instant::now();
    let o = verify(&f.full, true);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let credible = f.server_tally["credible"].as_u64().unwrap();
    assert!(credible > 0);
    assert!(
        out.contains(&format!("PROVEN     credible headcount {credible} = ")),
        "{out}"
    );
    assert!(out.contains("recomputed EXACTLY from all"), "{out}");
    assert!(out.contains("cosigned by witness-one.example"), "{out}");
    assert!(out.contains("cosigned by witness-two.example"), "{out}");
    assert!(
        out.contains("auditor    auditor.example (key auditor.example+"),
        "{out}"
    );
    assert!(out.contains("signed \"agrees\""), "{out}");
    assert!(out.contains("pinned on the command line"), "{out}");
    assert!(out.contains("[zh] 呼吁：不要遣返王先生"), "{out}");
    assert!(out.contains("verdict    VERIFIED"), "{out}");
    // Without pins it still verifies, and says whose word it took.
    let o = verify(&f.full, false);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("taken from the packet"), "{out}");
    // The packet states exactly the server's tally.
    let p = load(&f.full);
    assert_eq!(p.manifest.mode, Mode::Full);
    assert_eq!(
        serde_json::to_value(&p.manifest.claims.tally).unwrap(),
        f.server_tally
    );
    eprintln!("full verify: {:.1}s", started.elapsed().as_secs_f64());
    let _ = &f.url;
}

#[test]
fn compact_packet_proves_at_least_and_names_the_auditors_for_exactness() {
    let f = fixture();
    let o = verify(&f.compact, true);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let credible = f.server_tally["credible"].as_u64().unwrap();
    assert!(
        out.contains(&format!(
            "PROVEN     AT LEAST {credible} valid declarations"
        )),
        "{out}"
    );
    assert!(
        out.contains("NOT PROVEN that no entry of the campaign"),
        "{out}"
    );
    assert!(out.contains("auditor    auditor.example"), "{out}");
    assert!(out.contains("no PDF in this packet"), "{out}");
    let (full, compact) = (load(&f.full), load(&f.compact));
    assert_eq!(compact.manifest.mode, Mode::Compact);
    assert_eq!(full.manifest.claims, compact.manifest.claims);
    let fs = std::fs::metadata(&f.full).unwrap().len();
    let cs = std::fs::metadata(&f.compact).unwrap().len();
    eprintln!("sizes: full {fs} bytes, compact {cs} bytes");
}

#[test]
fn the_container_is_a_zip_that_names_its_type_first() {
    let bytes = std::fs::read(&fixture().full).unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    assert_eq!(&bytes[30..38], b"mimetype");
    assert_eq!(
        &bytes[38..38 + headcount_evidence::MIMETYPE.len()],
        headcount_evidence::MIMETYPE.as_bytes()
    );
    let p = load(&fixture().full);
    assert!(p.files.contains_key("tile/entries/000"));
    assert!(p.files.contains_key(files::REPORT_HTML));
    assert!(p.files.contains_key(files::README));
    // Same data, same bytes.
    assert_eq!(p.to_zip().unwrap(), load(&fixture().full).to_zip().unwrap());
}

#[test]
fn a_changed_count_is_caught() {
    let mut p = load(&fixture().full);
    p.manifest.claims.tally.credible += 1;
    tampered("count-manifest", &p, "count_differs", "the credible count");
    // The same in compact mode.
    let mut p = load(&fixture().compact);
    p.manifest.claims.tally.vouched -= 1;
    tampered("count-compact", &p, "count_differs", "the vouched count");
    // A report that shows another figure than the verified one.
    let mut p = load(&fixture().full);
    let credible = p.manifest.claims.tally.credible;
    let html = String::from_utf8(p.files[files::REPORT_HTML].clone()).unwrap();
    let needle = format!("<div class=\"big\">{credible}</div>");
    assert!(html.contains(&needle));
    let forged = html.replace(
        &needle,
        &format!("<div class=\"big\">{}</div>", credible * 10),
    );
    p.files
        .insert(files::REPORT_HTML.into(), forged.into_bytes());
    tampered(
        "count-report",
        &p,
        "report_differs",
        "report.html is not the report",
    );
}

#[test]
fn a_dropped_entry_is_caught() {
    // Full: an entry taken out of the log's first bundle.
    let mut p = load(&fixture().full);
    let bundle = p.files["tile/entries/000"].clone();
    let entries = headcount_tlog::decode_bundle(&bundle).unwrap();
    let fewer =
        headcount_tlog::encode_bundle(entries[..entries.len() - 1].iter().copied()).unwrap();
    p.files.insert("tile/entries/000".into(), fewer);
    tampered(
        "drop-full",
        &p,
        "tree_mismatch",
        "does not match the checkpoint",
    );
    // Compact: a declaration taken out of entries.bin (the packet still claims it).
    let mut p = load(&fixture().compact);
    let mut recs = headcount_evidence::decode_entries(&p.files[files::ENTRIES]).unwrap();
    let i = recs.len() - 1;
    recs.remove(i);
    p.files.insert(
        files::ENTRIES.into(),
        headcount_evidence::encode_entries(&recs),
    );
    tampered("drop-compact", &p, "count_differs", "its log data gives");
}

#[test]
fn a_forged_signature_is_caught() {
    let f = fixture();
    // A witness cosignature with one byte changed.
    let mut p = load(&f.full);
    let note = String::from_utf8(p.files[files::CHECKPOINT].clone()).unwrap();
    let line = note
        .lines()
        .find(|l| l.starts_with("— witness-one.example "))
        .expect("witness-one's cosignature");
    let forged_line = flip_base64(line);
    p.files.insert(
        files::CHECKPOINT.into(),
        note.replace(line, &forged_line).into_bytes(),
    );
    tampered("forged-cosignature", &p, "witness_quorum", "witness policy");
    // The log's own signature.
    let mut p = load(&f.full);
    let line = note
        .lines()
        .find(|l| l.starts_with("— demo.headcount.local/log "))
        .unwrap();
    p.files.insert(
        files::CHECKPOINT.into(),
        note.replace(line, &flip_base64(line)).into_bytes(),
    );
    tampered(
        "forged-log-signature",
        &p,
        "bad_checkpoint_signature",
        "not signed by the log key",
    );
    // An attestation whose count was raised (its signature no longer verifies).
    let mut p = load(&f.full);
    let file = p.manifest.attestations[0].file.clone();
    let att = String::from_utf8(p.files[&file].clone()).unwrap();
    let id = &p.manifest.claims.campaign.id;
    let l = att
        .lines()
        .find(|l| l.starts_with(id.as_str()))
        .unwrap()
        .to_owned();
    let mut parts: Vec<String> = l.split(' ').map(str::to_owned).collect();
    parts[1] = (parts[1].parse::<u64>().unwrap() + 1000).to_string();
    p.files
        .insert(file, att.replace(&l, &parts.join(" ")).into_bytes());
    tampered(
        "forged-attestation",
        &p,
        "bad_attestation",
        "does not verify with the auditor's key",
    );
    // A declaration altered inside a compact packet: no longer the logged leaf.
    let mut p = load(&f.compact);
    let mut recs = headcount_evidence::decode_entries(&p.files[files::ENTRIES]).unwrap();
    let last = recs.last_mut().unwrap();
    let n = last.leaf.len();
    last.leaf[n - 5] ^= 1;
    let index = last.index;
    p.files.insert(
        files::ENTRIES.into(),
        headcount_evidence::encode_entries(&recs),
    );
    tampered(
        "forged-declaration",
        &p,
        "not_included",
        &format!("entry {index} is not in the log"),
    );
}

/// Changes one base64 character of a signature line's signature.
fn flip_base64(line: &str) -> String {
    let (head, sig) = line.rsplit_once(' ').unwrap();
    let mut b = sig.as_bytes().to_vec();
    let i = b.len() / 2;
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    format!("{head} {}", String::from_utf8(b).unwrap())
}

#[test]
fn a_swapped_checkpoint_is_caught() {
    let f = fixture();
    let p = load(&f.full);
    let size = p.manifest.tree_size;
    // A checkpoint the log key really signed, of a smaller tree of the same
    // log (its true root), swapped in: no witness cosigned it.
    let tiles = headcount_audit::FetchedTiles::from_tiles(
        headcount_tlog::TreeSize(size),
        headcount_tlog::tiles_for_size(headcount_tlog::TreeSize(size))
            .into_iter()
            .map(|id| (id, p.files[&id.path()].clone())),
    );
    let smaller = headcount_tlog::TreeSize(size - 1);
    let root = headcount_tlog::tree_root(&tiles, smaller).unwrap();
    let skey = std::fs::read_to_string(&f.log_skey).unwrap();
    let signer = headcount_tlog::LogSigner::from_skey(skey.trim()).unwrap();
    let cp = headcount_tlog::Checkpoint {
        origin: "demo.headcount.local/log".into(),
        size: smaller,
        root,
        extensions: vec![],
    };
    let note = signer.sign(&cp).unwrap();
    let mut q = p.clone();
    q.files.insert(files::CHECKPOINT.into(), note.clone());
    q.manifest.tree_size = size - 1;
    tampered("swapped-uncosigned", &q, "witness_quorum", "witness policy");
    // With no witness policy in the packet and none pinned, the log data
    // gives it away: the tiles are the larger tree's.
    let mut q = p.clone();
    q.files.insert(files::CHECKPOINT.into(), note.clone());
    q.files.remove(files::POLICY);
    q.manifest.witness_policy = false;
    let path = f.dir.join("tampered-swapped-nopolicy.zip");
    std::fs::write(&path, q.to_zip().unwrap()).unwrap();
    let o = verify(&path, false);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("NOT VERIFIED (count_differs)"), "{out}");
    assert!(out.contains("the tree size"), "{out}");
    q.manifest.tree_size = size - 1;
    std::fs::write(&path, q.to_zip().unwrap()).unwrap();
    let out = text(&verify(&path, false));
    assert!(out.contains("NOT VERIFIED (tree_mismatch)"), "{out}");
    // A checkpoint of another log (another key) with the same origin.
    let (other, _, other_vkey) =
        headcount_tlog::LogSigner::generate("demo.headcount.local/log").unwrap();
    let cp = headcount_tlog::Checkpoint {
        origin: "demo.headcount.local/log".into(),
        size: headcount_tlog::TreeSize(size),
        root: tiles_root(&tiles, size),
        extensions: vec![],
    };
    let mut q = p.clone();
    q.files
        .insert(files::CHECKPOINT.into(), other.sign(&cp).unwrap());
    tampered(
        "swapped-other-log",
        &q,
        "bad_checkpoint_signature",
        "not signed by the log key",
    );
    // The log key swapped too (checkpoint and manifest): the packet's own
    // witness policy names the real log, so even unpinned it is refused.
    q.manifest.log_key = other_vkey;
    let path = f.dir.join("tampered-swapped-log-key.zip");
    std::fs::write(&path, q.to_zip().unwrap()).unwrap();
    let out = text(&verify(&path, false));
    assert!(out.contains("NOT VERIFIED (not_pinned)"), "{out}");
    assert!(out.contains("is not one of them"), "{out}");
}

fn tiles_root(tiles: &headcount_audit::FetchedTiles, size: u64) -> headcount_tlog::Hash {
    headcount_tlog::tree_root(tiles, headcount_tlog::TreeSize(size)).unwrap()
}

#[test]
fn a_wrong_pinned_key_an_unknown_file_and_garbage_are_refused() {
    let f = fixture();
    // Another log key pinned.
    let (_, _, vkey) = headcount_tlog::LogSigner::generate("demo.headcount.local/log").unwrap();
    let o = run(&[
        "evidence",
        "verify",
        f.full.to_str().unwrap(),
        "--log-key",
        &vkey,
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("NOT VERIFIED (not_pinned)"), "{out}");
    // A file the format does not define.
    let mut p = load(&f.full);
    p.files.insert("attestations/9.note".into(), b"x".to_vec());
    tampered(
        "extra-file",
        &p,
        "malformed_packet",
        "does not account for it",
    );
    // Not a packet at all; a missing file.
    tampered_bytes(
        "garbage",
        b"not a zip",
        "malformed_packet",
        "not a ZIP archive",
    );
    let o = run(&[
        "evidence",
        "verify",
        f.dir.join("nope.zip").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // The untouched packets still verify (nothing above changed them).
    assert!(verify(&f.full, true).status.success());
}

#[test]
fn export_without_chromium_says_so_and_writes_nothing_unless_no_pdf() {
    let f = fixture();
    let out = f.dir.join("no-chromium.zip");
    let o = run(&[
        "evidence",
        "export",
        &"ab".repeat(32),
        "--server",
        &f.url,
        "--out",
        out.to_str().unwrap(),
        "--chromium",
        "/nonexistent/chromium",
    ]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(t.contains("Chromium was not found"), "{t}");
    assert!(t.contains("--no-pdf"), "{t}");
    assert!(!out.exists());
    // With --no-pdf it goes on (and then fails only because the server is gone).
    let o = run(&[
        "evidence",
        "export",
        &"ab".repeat(32),
        "--server",
        &f.url,
        "--out",
        out.to_str().unwrap(),
        "--chromium",
        "/nonexistent/chromium",
        "--no-pdf",
    ]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(!t.contains("Chromium was not found"), "{t}");
    assert!(!out.exists());
}

/// Why the browser and PDF checks cannot run here, if they cannot.
fn missing_tools(suite: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if !Path::new("/usr/bin/chromium").exists() {
        return Some("/usr/bin/chromium does not exist (apt-get install chromium)".into());
    }
    if !suite.join("node_modules/playwright-core").exists() {
        return Some(format!("run `npm ci` in {}", suite.display()));
    }
    if Command::new("pdftoppm").arg("-v").output().is_err() {
        return Some("pdftoppm is missing (apt-get install poppler-utils)".into());
    }
    None
}

#[test]
fn the_report_renders_in_a_real_browser_and_its_pdf_renders_to_an_image() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../evidence/browser-tests");
    if let Some(why) = missing_tools(&suite) {
        assert!(
            std::env::var("HEADCOUNT_BROWSER_REQUIRED").is_err(),
            "the browser test cannot run: {why}"
        );
        eprintln!("SKIPPED: {why}");
        return;
    }
    let f = fixture();
    let p = load(&f.full);
    let html = f.dir.join("report.html");
    std::fs::write(&html, &p.files[files::REPORT_HTML]).unwrap();
    let t = &p.manifest.claims.tally;
    let facts = serde_json::json!({
        "titles": p.manifest.claims.campaign.texts.iter().map(|t| t.title.clone()).collect::<Vec<_>>(),
        "credible": t.credible,
        "credentialed": t.credentialed,
        "vouched": t.vouched,
        "unverified": t.unverified,
        "witnesses": ["witness-one.example", "witness-two.example"],
    });
    let facts_file = f.dir.join("report-facts.json");
    std::fs::write(&facts_file, facts.to_string()).unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    let o = Command::new("node")
        .args(["--test", "report.test.mjs"])
        .current_dir(&suite)
        .env("HEADCOUNT_REPORT", &html)
        .env("HEADCOUNT_REPORT_FACTS", &facts_file)
        .env("HEADCOUNT_SCREENSHOTS", &shots)
        .output()
        .unwrap();
    assert!(o.status.success(), "the browser test failed:\n{}", text(&o));

    // The PDF Chromium printed at export: its first page drawn to an image by
    // poppler, and its text (Chinese included) extracted.
    let pdf = p
        .files
        .get(files::REPORT_PDF)
        .expect("export with Chromium writes report.pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let pdf_path = f.dir.join("report.pdf");
    std::fs::write(&pdf_path, pdf).unwrap();
    let prefix = f.dir.join("page");
    let o = Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf_path)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let png_path = prefix.with_extension("png");
    std::fs::copy(&png_path, shots.join("evidence-report-pdf-page1.png")).ok();
    let decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    // A4 at 50 dpi: about 413 × 585 pixels, portrait.
    assert!(w > 350 && h > w, "{w}×{h}");
    let channels = info.line_size / w;
    let dark = buf[..info.line_size * h]
        .chunks(channels)
        .filter(|px| px[..3].iter().map(|&c| u32::from(c)).sum::<u32>() < 384)
        .count();
    let share = dark as f64 / (w * h) as f64;
    assert!(share > 0.01 && share < 0.5, "ink on page 1: {share:.3}");
    let o = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf_path)
        .arg("-")
        .output()
        .unwrap();
    let words = String::from_utf8_lossy(&o.stdout);
    assert!(words.contains("呼吁：不要遣返王先生"), "{words}");
    assert!(words.contains("Appeal: do not deport Mr. Wang"), "{words}");
    assert!(words.contains(&t.credible.to_string()), "{words}");
}

#[test]
fn an_auditor_that_signs_another_count_is_named_and_the_packet_still_stands() {
    let f = fixture();
    let skey = std::fs::read_to_string(&f.auditor_skey).unwrap();
    let signer = signed_note::StandardSigner::new(skey.trim()).unwrap();
    for (path, expect) in [
        (&f.full, "this auditor signed a wrong count"),
        (&f.compact, "ask for a full packet"),
    ] {
        // The real auditor key signs an attestation whose line for the
        // campaign says 7 more than the log holds.
        let mut p = load(path);
        let file = p.manifest.attestations[0].file.clone();
        let old = signed_note::Note::from_bytes(&p.files[&file]).unwrap();
        let body = String::from_utf8(old.text().to_vec()).unwrap();
        let id = p.manifest.claims.campaign.id.clone();
        let line = body
            .lines()
            .find(|l| l.starts_with(id.as_str()))
            .unwrap()
            .to_owned();
        let mut parts: Vec<String> = line.split(' ').map(str::to_owned).collect();
        let attested = parts[1].parse::<u64>().unwrap() + 7;
        parts[1] = attested.to_string();
        let body = body.replace(&line, &parts.join(" "));
        let mut note = signed_note::Note::new(body.as_bytes(), &[]).unwrap();
        note.add_sigs(&[&signer]).unwrap();
        p.files.insert(file, note.to_bytes());
        headcount_evidence::rerender(&mut p).unwrap();
        let name = f
            .dir
            .join(format!("wrong-auditor-{}.zip", p.manifest.mode.as_str()));
        std::fs::write(&name, p.to_zip().unwrap()).unwrap();
        let o = verify(&name, true);
        let out = text(&o);
        assert!(o.status.success(), "{out}");
        assert!(out.contains(&format!("credible {attested}")), "{out}");
        assert!(out.contains("WARNING"), "{out}");
        assert!(out.contains(expect), "{out}");
    }
    // The untouched packets carry no warning.
    assert!(!text(&verify(&f.full, true)).contains("WARNING"));
    assert!(!text(&verify(&f.compact, true)).contains("WARNING"));
}
