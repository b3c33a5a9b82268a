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

pub fn parse(s: &str) -> Option<Time> {
    let s = s.trim();
    const LAST_NANO: u32 = 999_999_999;
    if let Some(secs) = s.strip_prefix('@') {
        return secs.parse::<i64>().ok().map(|secs| Time { secs, nanos: LAST_NANO });
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        let mut t = from_utc(dt.with_timezone(&Utc));
        if !s.contains('.') {
            t.nanos = LAST_NANO;
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
        t.with_nanosecond(LAST_NANO)?
    } else if let Ok(t) = NaiveDateTime::parse_from_str(&body, "%Y-%m-%dT%H:%M") {
        t.with_second(59)?.with_nanosecond(LAST_NANO)?
    } else {
        let d = NaiveDate::parse_from_str(&body, "%Y-%m-%d").ok()?;
        d.and_time(NaiveTime::from_hms_nano_opt(23, 59, 59, LAST_NANO)?)
    };
    if utc {
        Some(from_utc(naive.and_utc()))
    } else {
        local(naive)
    }
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
        assert_eq!(parse("2025-13-01"), None);
    }
}
