//! Retention policies: which snapshots of one group `forget` keeps, and by
//! which rules. The semantics are restic's, which admins already know:
//!
//! - Rules are ORed: a snapshot is kept when any rule keeps it.
//! - `last N` keeps the N newest. A bucket rule (`hourly`, `daily`,
//!   `weekly` by ISO week, `monthly`, `yearly`) walks the snapshots newest
//!   first and keeps the newest one of each period that has snapshots, for N
//!   periods; while a bucket rule still has periods left, it also keeps the
//!   oldest snapshot (the longest history the counts allow).
//! - `within D` keeps everything taken within D of the newest snapshot of
//!   the group (not of now); `within-daily D` (and hourly, weekly, monthly,
//!   yearly) keeps the newest snapshot of each period within D.
//! - `tag T` keeps every snapshot carrying tag T.
//! - A snapshot dated after now is always kept, and does not count as the
//!   newest for `within`.
//!
//! Periods are taken in the time zone given (the local one on the command
//! line). Durations are calendar spans: `1y2m3d4h` is one year, two months,
//! three days and four hours back (a month back from the 31st clamps to the
//! month's last day).

use crate::format::Time;
use chrono::{DateTime, Datelike, Days, Months, TimeZone, Timelike};

/// How many periods a rule keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    N(u32),
    Unlimited,
}

impl std::str::FromStr for Count {
    type Err = String;
    fn from_str(s: &str) -> Result<Count, String> {
        if s == "unlimited" {
            return Ok(Count::Unlimited);
        }
        s.parse().map(Count::N).map_err(|_| format!("{s:?}: expected a count or `unlimited`"))
    }
}

/// A calendar span such as `2y5m7d3h`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

impl std::str::FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Span, String> {
        let bad = || format!("{s:?}: expected a span like 2y5m7d3h (years, months, days, hours)");
        let mut span = Span::default();
        let mut digits = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let n: u32 = digits.parse().map_err(|_| bad())?;
            digits.clear();
            match c {
                'y' => span.years += n,
                'm' => span.months += n,
                'd' => span.days += n,
                'h' => span.hours += n,
                _ => return Err(bad()),
            }
        }
        if !digits.is_empty() || s.is_empty() {
            return Err(bad());
        }
        Ok(span)
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        for (n, unit) in [(self.years, 'y'), (self.months, 'm'), (self.days, 'd'), (self.hours, 'h')] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl Span {
    /// The moment this span before `t`.
    fn before<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> DateTime<Tz> {
        let t = t.clone().checked_sub_months(Months::new(self.years * 12 + self.months)).unwrap_or_else(|| t.clone());
        let t = t.clone().checked_sub_days(Days::new(self.days.into())).unwrap_or(t);
        t - chrono::Duration::hours(self.hours.into())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    pub const ALL: [Period; 5] = [Period::Hour, Period::Day, Period::Week, Period::Month, Period::Year];

    fn name(self) -> &'static str {
        match self {
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }

    /// A number naming the period `t` falls in.
    fn of<Tz: TimeZone>(self, t: &DateTime<Tz>) -> i64 {
        let (y, m, d, h) = (t.year() as i64, t.month() as i64, t.day() as i64, t.hour() as i64);
        match self {
            Period::Hour => ((y * 100 + m) * 100 + d) * 100 + h,
            Period::Day => (y * 100 + m) * 100 + d,
            Period::Week => {
                let w = t.iso_week();
                w.year() as i64 * 100 + w.week() as i64
            }
            Period::Month => y * 100 + m,
            Period::Year => y,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub last: Option<Count>,
    /// `hourly` .. `yearly`, in `Period::ALL` order.
    pub periods: [Option<Count>; 5],
    pub within: Option<Span>,
    /// `within-hourly` .. `within-yearly`, in `Period::ALL` order.
    pub within_periods: [Option<Span>; 5],
    pub tags: Vec<String>,
}

impl Policy {
    pub fn is_empty(&self) -> bool {
        let zero = |c: &Option<Count>| matches!(c, None | Some(Count::N(0)));
        zero(&self.last)
            && self.periods.iter().all(zero)
            && self.within.is_none()
            && self.within_periods.iter().all(Option::is_none)
            && self.tags.is_empty()
    }
}

/// One snapshot as the policy sees it.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub time: Time,
    pub tags: Vec<String>,
}

/// Whether `forget` keeps a snapshot, and the rules that keep it (empty
/// when it goes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub keep: bool,
    pub reasons: Vec<String>,
}

/// A `within-<period>` rule: its period, span, cutoff and the last period kept.
struct WithinBucket<Tz: TimeZone> {
    period: Period,
    span: Span,
    cut: Option<DateTime<Tz>>,
    last: Option<i64>,
}

struct Bucket {
    period: Option<Period>,
    left: Count,
    last: Option<i64>,
    reason: String,
}

/// Applies `policy` to one group; the decisions are in the order of `snaps`.
pub fn apply<Tz: TimeZone>(snaps: &[Candidate], policy: &Policy, now: Time, tz: &Tz) -> Vec<Decision> {
    let at = |t: Time| tz.from_utc_datetime(&t.to_chrono().naive_utc());
    // Newest first; equal times keep their given order.
    let mut order: Vec<usize> = (0..snaps.len()).collect();
    order.sort_by(|&a, &b| snaps[b].time.cmp(&snaps[a].time));
    let newest = order.iter().map(|&i| snaps[i].time).find(|&t| t <= now);

    let mut buckets: Vec<Bucket> = std::iter::once((None, policy.last, "last".to_string()))
        .chain(Period::ALL.iter().zip(&policy.periods).map(|(p, c)| (Some(*p), *c, p.name().to_string())))
        .filter_map(|(period, count, reason)| match count {
            None | Some(Count::N(0)) => None,
            Some(left) => Some(Bucket { period, left, last: None, reason }),
        })
        .collect();
    let cutoff = |span: &Span| newest.map(|n| span.before(&at(n)));
    let within = policy.within.as_ref().map(|s| (s, cutoff(s)));
    let mut within_buckets: Vec<WithinBucket<Tz>> = Period::ALL
        .iter()
        .zip(&policy.within_periods)
        .filter_map(|(p, s)| s.map(|span| WithinBucket { period: *p, span, cut: cutoff(&span), last: None }))
        .collect();

    let mut out = vec![Decision { keep: false, reasons: Vec::new() }; snaps.len()];
    for (nr, &i) in order.iter().enumerate() {
        let s = &snaps[i];
        let t = at(s.time);
        let reasons = &mut out[i].reasons;
        if s.time > now {
            reasons.push("in the future".into());
        }
        for tag in &policy.tags {
            if s.tags.contains(tag) {
                reasons.push(format!("tag {tag}"));
            }
        }
        if let Some((span, Some(cut))) = &within {
            if t > *cut {
                reasons.push(format!("within {span}"));
            }
        }
        let oldest = nr == order.len() - 1;
        for b in &mut buckets {
            if b.left == Count::N(0) {
                continue;
            }
            let val = b.period.map_or(nr as i64, |p| p.of(&t));
            if b.last != Some(val) || oldest {
                b.last = Some(val);
                if let Count::N(n) = &mut b.left {
                    *n -= 1;
                }
                reasons.push(b.reason.clone());
            }
        }
        for w in &mut within_buckets {
            if w.cut.as_ref().is_some_and(|c| t > *c) {
                let val = w.period.of(&t);
                if w.last != Some(val) {
                    w.last = Some(val);
                    reasons.push(format!("{} within {}", w.period.name(), w.span));
                }
            }
        }
        out[i].keep = !out[i].reasons.is_empty();
    }
    out
}

#[cfg(test)]
mod tests;
