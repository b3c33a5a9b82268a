//! Parsing the moments users type: `2026-11-20T14:00:00Z`, `2026-11-20T14:00`
//! (local time when no zone is given), `2026-11-20` (the end of that day),
//! `@1763647200` (Unix seconds). Used by `mount --at` and the mount's `at/`.

use crate::format::Time;
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

fn from_utc(dt: DateTime<Utc>) -> Time {
    Time {
        secs: dt.timestamp(),
        nanos: dt.timestamp_subsec_nanos(),
    }
}

fn local(naive: NaiveDateTime) -> Option<Time> {
    // In a DST gap there is no such local time; in an overlap, take the later.
    Local
        .from_local_datetime(&naive)
        .latest()
        .map(|dt| from_utc(dt.with_timezone(&Utc)))
}

pub fn parse(s: &str) -> Option<Time> {
    let s = s.trim();
    if let Some(secs) = s.strip_prefix('@') {
        return secs.parse::<i64>().ok().map(|secs| Time { secs, nanos: 0 });
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(from_utc(dt.with_timezone(&Utc)));
    }
    let (body, utc) = match s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        Some(b) => (b, true),
        None => (s, false),
    };
    let body = body.replacen(' ', "T", 1);
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&body, f).ok())
        .or_else(|| {
            let d = NaiveDate::parse_from_str(&body, "%Y-%m-%d").ok()?;
            Some(d.and_time(NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)?))
        })?;
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
        assert_eq!(
            parse("@1763647200"),
            Some(Time {
                secs: 1763647200,
                nanos: 0
            })
        );
        assert_eq!(
            parse("2025-11-20T14:00:00Z"),
            Some(Time {
                secs: 1763647200,
                nanos: 0
            })
        );
        assert_eq!(
            parse("2025-11-20T15:00:00+01:00"),
            Some(Time {
                secs: 1763647200,
                nanos: 0
            })
        );
        assert_eq!(
            parse("2025-11-20T14:00Z"),
            Some(Time {
                secs: 1763647200,
                nanos: 0
            })
        );
        assert_eq!(
            parse("2025-11-20Z"),
            Some(Time {
                secs: 1763683199,
                nanos: 999_999_999
            })
        );
        assert!(parse("2025-11-20T14:00").is_some());
        assert!(parse("2025-11-20").is_some());
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2025-13-01"), None);
    }
}
