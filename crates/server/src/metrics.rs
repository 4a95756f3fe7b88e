//! Counters for operators: requests per endpoint and status, submissions by
//! outcome and rejection code, sequencing rounds. Served as Prometheus text
//! at `GET /metrics`. Endpoints are recorded by their route template (e.g.
//! `/v1/campaigns/{id}`), never by the request's path, and nothing about
//! the client (address, user agent) is looked at.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    rejections: Mutex<BTreeMap<&'static str, u64>>,
    accepted: AtomicU64,
    overloaded: AtomicU64,
    rounds: AtomicU64,
    sequenced: AtomicU64,
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K) {
    *m.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(k)
        .or_default() += 1;
}

impl Metrics {
    /// A request to `route` (its template) answered with `status`.
    pub fn request(&self, route: &str, status: u16) {
        bump(&self.requests, (route.to_owned(), status));
    }
    /// A submission rejected with a stable code.
    pub fn rejected(&self, code: &'static str) {
        bump(&self.rejections, code);
    }
    /// A new entry accepted into the log.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }
    /// A submission refused because the pool was full.
    pub fn overloaded(&self) {
        self.overloaded.fetch_add(1, Ordering::Relaxed);
    }
    /// A sequencing round that appended `n` entries.
    pub fn round(&self, n: usize) {
        self.rounds.fetch_add(1, Ordering::Relaxed);
        self.sequenced.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Prometheus text exposition format.
    pub fn render(&self, tree_size: u64, pool: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# TYPE headcount_tree_size gauge\nheadcount_tree_size {tree_size}"
        );
        let _ = writeln!(
            out,
            "# TYPE headcount_pool_entries gauge\nheadcount_pool_entries {pool}"
        );
        let _ = writeln!(
            out,
            "# TYPE headcount_rounds_total counter\nheadcount_rounds_total {}",
            self.rounds.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# TYPE headcount_sequenced_entries_total counter\nheadcount_sequenced_entries_total {}",
            self.sequenced.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# TYPE headcount_submissions_total counter\nheadcount_submissions_total{{outcome=\"accepted\"}} {}\nheadcount_submissions_total{{outcome=\"overloaded\"}} {}",
            self.accepted.load(Ordering::Relaxed),
            self.overloaded.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# TYPE headcount_rejections_total counter");
        for (code, n) in self
            .rejections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(out, "headcount_rejections_total{{code=\"{code}\"}} {n}");
        }
        let _ = writeln!(out, "# TYPE headcount_http_requests_total counter");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "headcount_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        m.request("/v1/entries", 200);
        m.request("/v1/entries", 200);
        m.rejected("bad_signature");
        m.accepted();
        m.round(3);
        let text = m.render(10, 2);
        assert!(
            text.contains("headcount_http_requests_total{route=\"/v1/entries\",status=\"200\"} 2")
        );
        assert!(text.contains("headcount_rejections_total{code=\"bad_signature\"} 1"));
        assert!(text.contains("headcount_sequenced_entries_total 3"));
        assert!(text.contains("headcount_tree_size 10"));
    }
}
