//! SVG charts rendered on the server: a sparkline for the home page and a
//! line chart of counts over time. Only numbers go into the SVG; colours are
//! presentation attributes (no `style`, which the CSP forbids inline).

use maud::{Markup, html};

use crate::db::Point;
use crate::fmt::thousands;

/// A series of the chart: its label, colour, and value at a point.
pub type Series<'a> = (&'a str, &'static str, fn(&Point) -> u64);

/// Colours of the four series (also used by the legend in style.css).
pub const CREDIBLE: &str = "#14532d";
pub const CREDENTIALED: &str = "#1d4ed8";
pub const VOUCHED: &str = "#b45309";
pub const UNVERIFIED: &str = "#6b7280";

fn step_path(
    points: &[Point],
    value: fn(&Point) -> u64,
    x: impl Fn(u64) -> f64,
    y: impl Fn(u64) -> f64,
) -> String {
    let mut d = String::new();
    for (i, p) in points.iter().enumerate() {
        let (px, py) = (x(p.tree_size), y(value(p)));
        if i == 0 {
            d.push_str(&format!("M{px:.1} {py:.1}"));
        } else {
            d.push_str(&format!(" H{px:.1} V{py:.1}"));
        }
    }
    d
}

/// A small sparkline of the credible count (home page).
pub fn sparkline(points: &[Point], label: &str) -> Markup {
    let (w, h, pad) = (160.0, 36.0, 2.0);
    let max = points.iter().map(|p| p.credible).max().unwrap_or(0).max(1);
    let (lo, hi) = bounds(points);
    let x = |s: u64| pad + (w - 2.0 * pad) * frac(s, lo, hi);
    let y = |v: u64| h - pad - (h - 2.0 * pad) * (v as f64 / max as f64);
    let d = step_path(points, |p| p.credible, x, y);
    html! {
        svg class="spark" viewBox=(format!("0 0 {w} {h}")) width="160" height="36" role="img" aria-label=(label) {
            title { (label) }
            line x1="0" y1=(h - pad) x2=(w) y2=(h - pad) stroke="#d1d5db" stroke-width="1" {}
            @if points.len() > 1 {
                path d=(d) fill="none" stroke=(CREDIBLE) stroke-width="2" stroke-linejoin="round" {}
            }
        }
    }
}

fn bounds(points: &[Point]) -> (u64, u64) {
    let lo = points.first().map_or(0, |p| p.tree_size);
    let hi = points.last().map_or(1, |p| p.tree_size).max(lo + 1);
    (lo, hi)
}

fn frac(s: u64, lo: u64, hi: u64) -> f64 {
    (s.saturating_sub(lo)) as f64 / (hi - lo) as f64
}

/// A round number at or above `v` for the y axis (1, 2, 5 × 10^k).
pub fn nice_max(v: u64) -> u64 {
    let v = v.max(1);
    let mut m = 1u64;
    loop {
        for f in [1, 2, 5] {
            if let Some(c) = m.checked_mul(f)
                && c >= v
            {
                return c;
            }
        }
        match m.checked_mul(10) {
            Some(n) => m = n,
            None => return u64::MAX,
        }
    }
}

/// The y axis for counts up to `max`: 0 and then equal steps of a round
/// size (1, 2, 5 × 10^k) up to the first step at or above `max`, at most 6
/// labels, each an exact integer (small counts get steps of 1, never a
/// rounded-down 0). Returns the ticks and the top of the axis.
pub fn y_ticks(max: u64) -> (Vec<u64>, u64) {
    if max == 0 {
        return (vec![0, 1], 1);
    }
    let step = nice_max(max.div_ceil(5));
    let n = max.div_ceil(step);
    let ticks: Vec<u64> = (0..=n).filter_map(|i| step.checked_mul(i)).collect();
    let top = ticks.last().copied().unwrap_or(max).max(max);
    (ticks, top)
}

/// The chart of counts over time: x = tree size, one step line per series.
pub fn chart(points: &[Point], series: &[Series<'_>], x_label: &str, title: &str) -> Markup {
    let (w, h) = (720.0, 260.0);
    let (left, right, top, bottom) = (64.0, 16.0, 12.0, 40.0);
    let max = series
        .iter()
        .flat_map(|(_, _, f)| points.iter().map(f))
        .max()
        .unwrap_or(0);
    let (ticks, ymax) = y_ticks(max);
    let (lo, hi) = bounds(points);
    let x = |s: u64| left + (w - left - right) * frac(s, lo, hi);
    let y = |v: u64| top + (h - top - bottom) * (1.0 - v as f64 / ymax as f64);
    html! {
        svg class="chart" viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(title) {
            title { (title) }
            @for t in &ticks {
                line x1=(left) x2=(w - right) y1=(format!("{:.1}", y(*t))) y2=(format!("{:.1}", y(*t))) stroke="#e5e7eb" stroke-width="1" {}
                text x=(left - 8.0) y=(format!("{:.1}", y(*t) + 4.0)) text-anchor="end" font-size="12" fill="#4b5563" { (thousands(*t)) }
            }
            line x1=(left) x2=(w - right) y1=(h - bottom) y2=(h - bottom) stroke="#9ca3af" stroke-width="1" {}
            text x=(left) y=(h - bottom + 18.0) text-anchor="start" font-size="12" fill="#4b5563" { (thousands(lo)) }
            text x=(w - right) y=(h - bottom + 18.0) text-anchor="end" font-size="12" fill="#4b5563" { (thousands(hi)) }
            text x=((left + w - right) / 2.0) y=(h - 6.0) text-anchor="middle" font-size="12" fill="#4b5563" { (x_label) }
            @if points.len() > 1 {
                @for (_, colour, f) in series {
                    path d=(step_path(points, *f, x, y)) fill="none" stroke=(colour) stroke-width="2" stroke-linejoin="round" {}
                }
            } @else if let Some(p) = points.first() {
                @for (_, colour, f) in series {
                    circle cx=(format!("{:.1}", x(p.tree_size))) cy=(format!("{:.1}", y(f(p)))) r="3" fill=(colour) {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(180), 200);
        assert_eq!(nice_max(1_000_001), 2_000_000);
        assert_eq!(nice_max(u64::MAX), u64::MAX);
    }

    /// The y-axis labels of a chart whose highest count is `max`, with the
    /// y coordinate each is drawn at.
    fn y_labels(max: u64) -> Vec<(String, f64)> {
        let p = |s, c| Point {
            tree_size: s,
            credible: c,
            credentialed: c,
            vouched: 0,
            unverified: 0,
        };
        let series: [Series<'_>; 1] = [("c", CREDIBLE, |p: &Point| p.credible)];
        let m = chart(&[p(1, 0), p(9, max)], &series, "x", "t").into_string();
        m.split("<text x=\"56\" y=\"")
            .skip(1)
            .map(|t| {
                let (y, rest) = t.split_once('"').unwrap();
                let label = rest.split_once('>').unwrap().1.split_once('<').unwrap().0;
                (label.to_owned(), y.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn y_axis_labels_are_right_at_every_scale() {
        let expect: &[(u64, &[&str])] = &[
            (0, &["0", "1"]),
            (1, &["0", "1"]),
            (2, &["0", "1", "2"]),
            (7, &["0", "2", "4", "6", "8"]),
            (1_000, &["0", "200", "400", "600", "800", "1,000"]),
            (
                100_000_000,
                &[
                    "0",
                    "20,000,000",
                    "40,000,000",
                    "60,000,000",
                    "80,000,000",
                    "100,000,000",
                ],
            ),
        ];
        for (max, labels) in expect {
            let got = y_labels(*max);
            let names: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
            assert_eq!(&names, labels, "max {max}");
            // Drawn bottom to top, evenly spaced, the top one at the top.
            let ys: Vec<f64> = got.iter().map(|(_, y)| *y).collect();
            let gap = ys[0] - ys[1];
            assert!(gap > 0.0);
            for w in ys.windows(2) {
                assert!((w[0] - w[1] - gap).abs() < 0.11, "max {max}: {ys:?}");
            }
            assert!(
                (ys[ys.len() - 1] - (12.0 + 4.0)).abs() < 0.01,
                "max {max}: {ys:?}"
            );
        }
        // The largest counts still give increasing labels, the highest one ≥ max.
        let (ticks, top) = y_ticks(u64::MAX);
        assert!(ticks.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(top, u64::MAX);
    }

    #[test]
    fn step_lines_only_contain_numbers() {
        let p = |s, c| Point {
            tree_size: s,
            credible: c,
            credentialed: 0,
            vouched: c,
            unverified: 0,
        };
        let m = sparkline(&[p(1, 0), p(5, 3), p(9, 7)], "x").into_string();
        assert!(m.contains("<path d=\"M2.0 34.0 H"), "{m}");
    }
}
