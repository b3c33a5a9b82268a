//! Parsing the moments users type: `2026-11-20T14:00:00Z`, `2026-11-20T14:00`
//! (local time when no zone is given), `2026-11-20`, `@1763647200` (Unix
//! seconds), and relative to now: `now`, `today`, `yesterday`, either with
//! a time (`yesterday 14:00`), and `2h ago` (`-2h`; s, m, h, d). Used by
//! `--at`, snapshot names, `backup --time` and the mount's `at/`.
//!
//! A time means the end of the unit it is written in: `14:00` is 14:00:59.999…,
//! `2026-11-20` the last instant of that day. So "the newest snapshot at
//! 14:00" includes one taken at 14:00:30, and a snapshot's own displayed name
//! (whole seconds) finds that snapshot.

use crate::format::Time;
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};

fn from_utc(dt: DateTime<Utc>) -> Time {
    Time { secs: dt.timestamp(), nanos: dt.timestamp_subsec_nanos() }
}

fn local(naive: NaiveDateTime) -> Option<Time> {
    // In a DST gap there is no such local time; in an overlap, take the later.
    Local.from_local_datetime(&naive).latest().map(|dt| from_utc(dt.with_timezone(&Utc)))
}

/// The last instant `s` names (see above): for lookups.
pub fn parse(s: &str) -> Option<Time> {
    parse_as(s, true)
}

/// The first instant `s` names (`2026-11-20` is its midnight): for
/// recording a time, as `backup --time` does.
pub fn parse_start(s: &str) -> Option<Time> {
    parse_as(s, false)
}

fn parse_as(s: &str, end: bool) -> Option<Time> {
    let s = s.trim();
    if let Some(t) = relative(s) {
        return Some(t);
    }
    // Today's and yesterday's date, local, stand for the word.
    let lower = s.to_ascii_lowercase();
    for (word, days) in [("today", 0), ("yesterday", 1)] {
        if let Some(rest) = lower.strip_prefix(word).filter(|r| r.is_empty() || r.starts_with([' ', 'T', 't'])) {
            let date = (Local::now() - chrono::Duration::days(days)).date_naive();
            return parse_as(&format!("{}{}", date.format("%Y-%m-%d"), rest.to_ascii_uppercase()), end);
        }
    }
    let (last_nano, last_sec, last_hms) = if end { (999_999_999, 59, (23, 59, 59)) } else { (0, 0, (0, 0, 0)) };
    if let Some(secs) = s.strip_prefix('@') {
        return secs.parse::<i64>().ok().map(|secs| Time { secs, nanos: last_nano });
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        let mut t = from_utc(dt.with_timezone(&Utc));
        if !s.contains('.') {
            t.nanos = last_nano;
        }
        return Some(t);
    }
    let (body, utc) = match s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        Some(b) => (b, true),
        None => (s, false),
    };
    let body = body.replacen(' ', "T", 1);
    let naive = if body.contains('.') {
        NaiveDateTime::parse_from_str(&body, "%Y-%m-%dT%H:%M:%S%.f").ok()?
    } else if let Ok(t) = NaiveDateTime::parse_from_str(&body, "%Y-%m-%dT%H:%M:%S") {
        t.with_nanosecond(last_nano)?
    } else if let Ok(t) = NaiveDateTime::parse_from_str(&body, "%Y-%m-%dT%H:%M") {
        t.with_second(last_sec)?.with_nanosecond(last_nano)?
    } else {
        let d = NaiveDate::parse_from_str(&body, "%Y-%m-%d").ok()?;
        let (h, m, sec) = last_hms;
        d.and_time(NaiveTime::from_hms_nano_opt(h, m, sec, last_nano)?)
    };
    if utc {
        Some(from_utc(naive.and_utc()))
    } else {
        local(naive)
    }
}

/// `now`, or a span back from it: `2h ago`, `-2h`, `1d12h ago`.
fn relative(s: &str) -> Option<Time> {
    if s.eq_ignore_ascii_case("now") {
        return Some(Time::now());
    }
    let span = s.strip_prefix('-').or_else(|| s.strip_suffix("ago").map(str::trim_end))?;
    let span = parse_duration(span).filter(|_| !span.chars().all(|c| c.is_ascii_digit()))?;
    let now = Time::now();
    Some(Time { secs: now.secs.checked_sub(i64::try_from(span.as_secs()).ok()?)?, nanos: now.nanos })
}

/// A wait such as `90s`, `5m`, `1h30m` or plain seconds (`--retry-lock`).
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let (mut total, mut digits) = (0u64, String::new());
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
    }
    (digits.is_empty() && !s.is_empty()).then(|| std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let end = |secs| Some(Time { secs, nanos: 999_999_999 });
        assert_eq!(parse("@1763647200"), end(1763647200));
        assert_eq!(parse("2025-11-20T14:00:00Z"), end(1763647200));
        assert_eq!(parse("2025-11-20T14:00:00.5Z"), Some(Time { secs: 1763647200, nanos: 500_000_000 }));
        assert_eq!(parse("2025-11-20T15:00:00+01:00"), end(1763647200));
        assert_eq!(parse("2025-11-20T14:00Z"), end(1763647259));
        assert_eq!(parse("2025-11-20Z"), end(1763683199));
        assert!(parse("2025-11-20T14:00").is_some());
        assert!(parse("2025-11-20").is_some());
        assert_eq!(parse("tomorrow"), None);
        assert_eq!(parse("2h later"), None);
        assert_eq!(parse("-5"), None, "a bare number is no span");
        let start = |secs| Some(Time { secs, nanos: 0 });
        assert_eq!(parse_start("2025-11-20T14:00:00Z"), start(1763647200));
        assert_eq!(parse_start("2025-11-20T14:00Z"), start(1763647200));
        assert_eq!(parse_start("2025-11-20Z"), start(1763596800));
        assert_eq!(parse_start("@5"), start(5));
        assert_eq!(parse("2025-13-01"), None);
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        for bad in ["", "5x", "m", "1.5m"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn relative_forms() {
        let near = |t: Option<Time>, want: i64| {
            let t = t.expect("parses").secs;
            assert!((t - want).abs() <= 2, "{t} is not about {want}");
        };
        let now = Time::now().secs;
        near(parse("now"), now);
        near(parse("NOW"), now);
        near(parse("2h ago"), now - 7200);
        near(parse("2h  ago"), now - 7200);
        near(parse("-1d12h"), now - 36 * 3600);
        near(parse_start("90m ago"), now - 5400);
        // The words are today's and yesterday's local dates.
        let day = |back: i64| (Local::now() - chrono::Duration::days(back)).date_naive().format("%Y-%m-%d").to_string();
        assert_eq!(parse("today"), parse(&day(0)));
        assert_eq!(parse_start("Yesterday"), parse_start(&day(1)));
        assert_eq!(parse("yesterday 14:00"), parse(&format!("{}T14:00", day(1))));
        assert_eq!(parse("yesterday T14:00:30"), None);
        assert_eq!(parse("yesterdayT14:00:30"), parse(&format!("{}T14:00:30", day(1))));
        assert_eq!(parse("today 09:30Z"), parse(&format!("{}T09:30Z", day(0))));
        assert_eq!(parse("todays"), None);
    }
}
