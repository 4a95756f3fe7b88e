//! Issuance periods: calendar months, fixed by the protocol.
//!
//! A credential discloses the calendar month (UTC) in which it was issued, and
//! nothing else about its issuance. The month is not a number the registrar
//! chooses: it is a function of the time of issuance, so a registrar cannot
//! put one person alone in a "batch" of their own. Everyone a registrar issued
//! credentials to in the same month shares one anonymity set, whose size the
//! registrar logs once the month is over (`issuance-period`, wire format §4.2).
//!
//! Encoding: a period is a `u32` counting months since January 1970, so
//! `period = (year − 1970) × 12 + (month − 1)`; December 2026 is `683`.

use core::fmt;

use serde::{Deserialize, Serialize};

/// A calendar month (UTC): months since January 1970.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Period(pub u32);

/// Days since 1970-01-01 of the first day of `year`-`month` (proleptic
/// Gregorian; H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5; // day 1 of the month
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1..=12) of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

impl Period {
    /// The month containing `unix_seconds`.
    pub fn containing(unix_seconds: u64) -> Period {
        let days = (unix_seconds / 86_400) as i64;
        let (year, month) = civil_from_days(days);
        Period::from_year_month(year as u32, month).unwrap_or(Period(u32::MAX))
    }

    /// The period of `year`-`month` (month 1..=12), if it is 1970 or later.
    pub fn from_year_month(year: u32, month: u32) -> Option<Period> {
        if !(1..=12).contains(&month) || year < 1970 {
            return None;
        }
        u32::checked_mul(year - 1970, 12)
            .and_then(|m| m.checked_add(month - 1))
            .map(Period)
    }

    /// (year, month 1..=12).
    pub fn year_month(self) -> (u32, u32) {
        (1970 + self.0 / 12, self.0 % 12 + 1)
    }

    /// The first second of the month (Unix seconds).
    pub fn start(self) -> u64 {
        let (y, m) = self.year_month();
        (days_from_civil(i64::from(y), m) * 86_400) as u64
    }

    /// The first second after the month: the period is over at `end()`.
    pub fn end(self) -> u64 {
        Period(self.0.saturating_add(1)).start()
    }

    /// The month after this one.
    pub fn next(self) -> Period {
        Period(self.0.saturating_add(1))
    }

    /// Whether the month is over at `unix_seconds`.
    pub fn is_over_at(self, unix_seconds: u64) -> bool {
        unix_seconds >= self.end()
    }
}

impl fmt::Display for Period {
    /// `YYYY-MM`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m) = self.year_month();
        write!(f, "{y:04}-{m:02}")
    }
}

impl core::str::FromStr for Period {
    type Err = &'static str;
    /// `YYYY-MM`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (y, m) = s.split_once('-').ok_or("expected YYYY-MM")?;
        let y: u32 = y.parse().map_err(|_| "expected YYYY-MM")?;
        let m: u32 = m.parse().map_err(|_| "expected YYYY-MM")?;
        Period::from_year_month(y, m).ok_or("not a month from 1970 on")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_months() {
        // 2026-12-01T00:00:00Z = 1796083200; 2027-01-01T00:00:00Z = 1798761600.
        let dec = Period::containing(1_796_083_200);
        assert_eq!(dec, Period(683));
        assert_eq!(dec.to_string(), "2026-12");
        assert_eq!(dec.start(), 1_796_083_200);
        assert_eq!(dec.end(), 1_798_761_600);
        assert_eq!(Period::containing(1_796_083_199).to_string(), "2026-11");
        assert_eq!(Period::containing(1_798_761_599), dec);
        assert_eq!(Period::containing(1_798_761_600).to_string(), "2027-01");
        assert_eq!(Period::containing(0), Period(0));
        assert_eq!(Period(0).to_string(), "1970-01");
        // A leap February: 2028-02-01 = 1832976000, 2028-03-01 = 1835481600 (29 days).
        let feb = "2028-02".parse::<Period>().unwrap();
        assert_eq!(feb.start(), 1_832_976_000);
        assert_eq!(feb.end(), 1_835_481_600);
        assert!(!feb.is_over_at(1_835_481_599));
        assert!(feb.is_over_at(1_835_481_600));
    }

    #[test]
    fn every_month_round_trips() {
        for p in 0..12 * 400 {
            let p = Period(p);
            assert_eq!(Period::containing(p.start()), p);
            assert_eq!(Period::containing(p.end() - 1), p);
            assert_eq!(p.next().start(), p.end());
            assert_eq!(p.to_string().parse::<Period>().unwrap(), p);
            let days = (p.end() - p.start()) / 86_400;
            assert!((28..=31).contains(&days), "{p}: {days} days");
        }
        assert!("2026-13".parse::<Period>().is_err());
        assert!("1969-12".parse::<Period>().is_err());
    }
}
