//! Retention rules against hand-checked cases, and against a second,
//! set-based statement of the same rules over a table of 400 snapshot times
//! spread over five years.

use super::*;
use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet};

fn t(s: &str) -> Time {
    let dt = chrono::DateTime::parse_from_rfc3339(s).unwrap();
    Time { secs: dt.timestamp(), nanos: 0 }
}

fn snaps(times: &[&str]) -> Vec<Candidate> {
    times.iter().map(|s| Candidate { time: t(s), tags: Vec::new() }).collect()
}

const NOW: &str = "2030-01-01T00:00:00Z";

/// The times kept, in the order given.
fn kept(c: &[Candidate], p: &Policy) -> Vec<String> {
    apply(c, p, t(NOW), &Utc)
        .iter()
        .zip(c)
        .filter(|(d, _)| d.keep)
        .map(|(_, c)| c.time.to_chrono().format("%Y-%m-%dT%H:%M").to_string())
        .collect()
}

fn daily(n: u32) -> Policy {
    Policy { periods: [None, Some(Count::N(n)), None, None, None], ..Policy::default() }
}

#[test]
fn keep_last_keeps_the_newest_whatever_their_order() {
    let c = snaps(&["2024-01-03T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]);
    let p = Policy { last: Some(Count::N(2)), ..Policy::default() };
    assert_eq!(kept(&c, &p), ["2024-01-03T00:00", "2024-01-02T00:00"]);
    let p = Policy { last: Some(Count::Unlimited), ..Policy::default() };
    assert_eq!(kept(&c, &p).len(), 3);
}

#[test]
fn keep_daily_keeps_the_newest_of_each_day_with_snapshots() {
    let c = snaps(&[
        "2024-01-01T08:00:00Z",
        "2024-01-01T20:00:00Z",
        // No snapshot on the 2nd: that day does not count.
        "2024-01-03T08:00:00Z",
        "2024-01-04T08:00:00Z",
        "2024-01-04T09:00:00Z",
    ]);
    assert_eq!(kept(&c, &daily(2)), ["2024-01-03T08:00", "2024-01-04T09:00"]);
    assert_eq!(kept(&c, &daily(3)), ["2024-01-01T20:00", "2024-01-03T08:00", "2024-01-04T09:00"]);
    // Counts left over at the oldest: it is kept too, for the longest history.
    assert_eq!(kept(&c, &daily(4)), ["2024-01-01T08:00", "2024-01-01T20:00", "2024-01-03T08:00", "2024-01-04T09:00"]);
}

#[test]
fn weeks_are_iso_weeks() {
    // Sun 2024-12-29 is in ISO week 2024-52; Mon 2024-12-30 to Sun
    // 2025-01-05 is 2025-W01; Mon 2025-01-06 begins W02.
    let c = snaps(&["2024-12-29T12:00:00Z", "2024-12-30T12:00:00Z", "2025-01-05T12:00:00Z", "2025-01-06T12:00:00Z"]);
    let weekly = |n| Policy { periods: [None, None, Some(Count::N(n)), None, None], ..Policy::default() };
    assert_eq!(kept(&c, &weekly(2)), ["2025-01-05T12:00", "2025-01-06T12:00"]);
    assert_eq!(kept(&c, &weekly(3)), ["2024-12-29T12:00", "2025-01-05T12:00", "2025-01-06T12:00"]);
}

#[test]
fn within_counts_back_from_the_newest_snapshot_not_from_now() {
    let c = snaps(&["2024-01-08T11:00:00Z", "2024-01-08T12:00:00Z", "2024-01-08T13:00:00Z", "2024-01-10T12:00:00Z"]);
    let p = Policy { within: Some("2d".parse().unwrap()), ..Policy::default() };
    // Strictly after 2024-01-08T12:00.
    assert_eq!(kept(&c, &p), ["2024-01-08T13:00", "2024-01-10T12:00"]);
    let p = Policy { within: Some("1m".parse().unwrap()), ..Policy::default() };
    assert_eq!(kept(&c, &p).len(), 4);
}

#[test]
fn within_daily_keeps_one_a_day_inside_the_span() {
    let c = snaps(&[
        "2024-01-01T10:00:00Z",
        "2024-01-05T10:00:00Z",
        "2024-01-05T11:00:00Z",
        "2024-01-06T10:00:00Z",
        "2024-01-06T11:00:00Z",
    ]);
    let p = Policy { within_periods: [None, Some("3d".parse().unwrap()), None, None, None], ..Policy::default() };
    assert_eq!(kept(&c, &p), ["2024-01-05T11:00", "2024-01-06T11:00"]);
}

#[test]
fn tags_and_the_future_keep_a_snapshot_and_say_why() {
    let mut c = snaps(&["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2031-01-01T00:00:00Z"]);
    c[0].tags = vec!["release".into()];
    let p = Policy { last: Some(Count::N(1)), tags: vec!["release".into()], ..Policy::default() };
    let d = apply(&c, &p, t(NOW), &Utc);
    assert_eq!(d[0].reasons, ["tag release"]);
    assert!(!d[1].keep, "the future snapshot is the newest, so last 1 is used up: {d:?}");
    assert_eq!(d[2].reasons, ["in the future", "last"]);
}

#[test]
fn reasons_name_every_rule_that_kept_a_snapshot() {
    let c = snaps(&["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"]);
    let p = Policy {
        last: Some(Count::N(1)),
        periods: [None, Some(Count::N(1)), None, Some(Count::N(5)), None],
        ..Policy::default()
    };
    let d = apply(&c, &p, t(NOW), &Utc);
    assert_eq!(d[1].reasons, ["last", "daily", "monthly"]);
    assert_eq!(d[0].reasons, ["monthly"]);
}

#[test]
fn empty_policies_and_spans() {
    assert!(Policy::default().is_empty());
    assert!(Policy { last: Some(Count::N(0)), ..Policy::default() }.is_empty());
    assert!(!daily(1).is_empty());
    assert_eq!("2y5m7d3h".parse::<Span>().unwrap(), Span { years: 2, months: 5, days: 7, hours: 3 });
    assert_eq!("36h".parse::<Span>().unwrap().to_string(), "36h");
    for bad in ["", "5", "3w", "d", "1.5d"] {
        assert!(bad.parse::<Span>().is_err(), "{bad}");
    }
    assert_eq!("unlimited".parse::<Count>(), Ok(Count::Unlimited));
    assert!("-1".parse::<Count>().is_err());
}

/// 400 snapshot times over five years (2021-03 to 2025-12): bursts of several a day, gaps of
/// weeks, the same minute twice.
fn table() -> Vec<Candidate> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut secs = t("2021-03-14T01:59:00Z").secs;
    let mut out = Vec::new();
    for i in 0..400 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let gap = match x % 10 {
            0 => 0,
            1..=4 => (x >> 8) % 7_200,
            5..=8 => (x >> 8) % 200_000,
            _ => (x >> 8) % 8_000_000,
        } as i64;
        secs += gap;
        let tags = if i % 37 == 0 { vec!["monthly-report".to_string()] } else { Vec::new() };
        out.push(Candidate { time: Time { secs, nanos: 0 }, tags });
    }
    out
}

/// The same rules stated as sets: the newest snapshot of each of the N
/// newest periods, plus the oldest snapshot while fewer than N periods
/// exist; everything after a cutoff; the newest of each period after it.
fn reference(c: &[Candidate], p: &Policy) -> BTreeSet<usize> {
    let now = t(NOW);
    let utc = |t: Time| Utc.from_utc_datetime(&t.to_chrono().naive_utc());
    let mut order: Vec<usize> = (0..c.len()).collect();
    order.sort_by(|&a, &b| c[b].time.cmp(&c[a].time));
    let oldest = *order.last().unwrap();
    let mut keep = BTreeSet::new();
    let mut by_rule = |key: &dyn Fn(usize) -> i64, count: Count, among: &[usize]| {
        let mut newest_of: BTreeMap<i64, usize> = BTreeMap::new();
        for &i in among {
            newest_of.entry(key(i)).or_insert(i);
        }
        let mut periods: Vec<usize> = newest_of.into_values().collect();
        periods.sort_by(|&a, &b| c[b].time.cmp(&c[a].time));
        let n = match count {
            Count::N(n) => n as usize,
            Count::Unlimited => usize::MAX,
        };
        if periods.len() < n {
            keep.insert(oldest);
        }
        keep.extend(periods.into_iter().take(n));
    };
    if let Some(n) = p.last {
        let pos: BTreeMap<usize, i64> = order.iter().enumerate().map(|(nr, &i)| (i, nr as i64)).collect();
        by_rule(&|i| pos[&i], n, &order);
    }
    for (period, count) in Period::ALL.iter().zip(&p.periods) {
        if let Some(n) = count {
            by_rule(&|i| period.of(&utc(c[i].time)), *n, &order);
        }
    }
    let newest = order.iter().map(|&i| c[i].time).find(|&t| t <= now).unwrap();
    if let Some(span) = &p.within {
        let cut = span.before(&utc(newest));
        keep.extend(order.iter().filter(|&&i| utc(c[i].time) > cut));
    }
    for (period, span) in Period::ALL.iter().zip(&p.within_periods) {
        if let Some(span) = span {
            let cut = span.before(&utc(newest));
            let mut seen = BTreeSet::new();
            for &i in order.iter().filter(|&&i| utc(c[i].time) > cut) {
                if seen.insert(period.of(&utc(c[i].time))) {
                    keep.insert(i);
                }
            }
        }
    }
    keep.extend((0..c.len()).filter(|&i| p.tags.iter().any(|tag| c[i].tags.contains(tag))));
    keep
}

#[test]
fn a_table_of_400_snapshots_over_five_years() {
    let c = table();
    let n = |n| Some(Count::N(n));
    let span = |s: &str| Some(s.parse::<Span>().unwrap());
    // Each policy, with how many snapshots it keeps.
    let cases: Vec<(Policy, usize)> = vec![
        (Policy { last: n(10), ..Policy::default() }, 10),
        (Policy { last: n(1000), ..Policy::default() }, 400),
        (Policy { periods: [n(24), None, None, None, None], ..Policy::default() }, 24),
        (Policy { periods: [None, n(7), None, None, None], ..Policy::default() }, 7),
        (Policy { periods: [None, None, n(4), None, None], ..Policy::default() }, 4),
        (Policy { periods: [None, None, None, n(12), None], ..Policy::default() }, 12),
        // Five years (2021 to 2025), and the oldest snapshot of 2021.
        (Policy { periods: [None, None, None, None, Some(Count::Unlimited)], ..Policy::default() }, 6),
        (Policy { periods: [None, None, None, None, n(10)], ..Policy::default() }, 6),
        (
            Policy {
                last: n(3),
                periods: [None, n(7), n(5), n(12), n(3)],
                tags: vec!["monthly-report".into()],
                ..Policy::default()
            },
            28,
        ),
        (Policy { within: span("1y2m"), ..Policy::default() }, 91),
        (Policy { within_periods: [None, span("30d"), span("6m"), span("2y"), None], ..Policy::default() }, 19),
        (Policy { tags: vec!["monthly-report".into()], ..Policy::default() }, 11),
    ];
    for (p, count) in &cases {
        let got: BTreeSet<usize> =
            apply(&c, p, t(NOW), &Utc).iter().enumerate().filter(|(_, d)| d.keep).map(|(i, _)| i).collect();
        assert_eq!(got, reference(&c, p), "{p:?}");
        assert_eq!(got.len(), *count, "{p:?}");
    }
}
