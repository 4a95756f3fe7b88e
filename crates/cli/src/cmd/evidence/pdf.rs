//! The PDF report: Debian's Chromium, headless, prints `report.html`
//! (`--print-to-pdf`). Nothing is written by hand: fonts (Noto CJK for
//! Chinese), layout and the PDF itself are Chromium's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long Chromium may take to print one report.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The Chromium to use: `--chromium`, else `$HEADCOUNT_CHROMIUM`, else
/// `/usr/bin/chromium`; `None` when that file does not exist.
pub fn find(given: Option<&Path>) -> Option<PathBuf> {
    let p = given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("HEADCOUNT_CHROMIUM").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.exists().then_some(p)
}

/// Whether this process runs as root (Chromium then needs `--no-sandbox`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Prints `html` to PDF with `chromium`, in a private temporary profile.
pub fn render(chromium: &Path, html: &[u8]) -> Result<Vec<u8>> {
    let dir = tempfile::tempdir().context("a temporary directory for Chromium")?;
    let page = dir.path().join("report.html");
    let out = dir.path().join("report.pdf");
    std::fs::write(&page, html)?;
    let mut cmd = Command::new(chromium);
    cmd.arg("--headless")
        .arg("--disable-gpu")
        .arg("--disable-dev-shm-usage")
        .arg("--no-first-run")
        .arg("--no-default-browser-check")
        .arg("--disable-extensions")
        .arg("--disable-background-networking")
        .arg("--disable-sync")
        .arg("--no-pdf-header-footer")
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", out.display()));
    if is_root() {
        cmd.arg("--no-sandbox");
    }
    cmd.arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("chromium.log"))?);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", chromium.display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "Chromium did not print the report within {} s",
                TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let pdf = std::fs::read(&out).unwrap_or_default();
    if !status.success() || !pdf.starts_with(b"%PDF-") {
        let err = std::fs::read_to_string(dir.path().join("chromium.log")).unwrap_or_default();
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        bail!(
            "Chromium ({status}) did not print the report to PDF: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    Ok(pdf)
}
