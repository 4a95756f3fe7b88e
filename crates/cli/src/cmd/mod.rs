//! One module per subcommand.

pub mod audit;
pub mod bench;
pub mod campaign;
pub mod claim;
pub mod console_log;
pub mod credential;
pub mod declare;
pub mod demo;
pub mod demo_decoy;
pub mod demo_mirror;
pub mod evidence;
pub mod identity;
pub mod keygen;
pub mod mirror;
pub mod offline;
pub mod registrar;
pub mod serve;
pub mod storage;
pub mod vouch;
pub mod witness;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

/// Parses a time given as Unix seconds or RFC 3339 (`2026-12-01T00:00:00Z`).
pub fn parse_time(s: &str) -> Result<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let t = humantime::parse_rfc3339_weak(s)
        .with_context(|| format!("{s:?} is neither Unix seconds nor RFC 3339"))?;
    Ok(t.duration_since(UNIX_EPOCH)
        .context("time before 1970")?
        .as_secs())
}

/// Formats Unix seconds as RFC 3339 UTC.
pub fn fmt_time(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

/// Now in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The clock against which a credential's issuance month is checked: the real time, shifted
/// by `HEADCOUNT_CLOCK_OFFSET` seconds when set. That variable exists only for demonstrations
/// and tests, which must issue credentials "last month" so that the month can be logged now;
/// the registrar commands honour the same variable. A real declarant never sets it.
pub fn issuance_now() -> u64 {
    let offset: i64 = std::env::var("HEADCOUNT_CLOCK_OFFSET")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    now().saturating_add_signed(offset)
}
