//! Parsing the moments users type: `2026-11-20T14:00:00Z`, `2026-11-20T14:00`
//! (local time when no zone is given), `2026-11-20`, `@1763647200` (Unix
//! seconds). Used by `mount --at` and the mount's `at/`.
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
        assert_eq!(parse("yesterday"), None);
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
}
