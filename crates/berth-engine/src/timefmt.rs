//! Timestamps in Docker's formats: RFC 3339 with nanoseconds in UTC, Go's zero time for "never", and go-units'
//! human durations ("About a minute").

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Go's zero time, which Docker prints for times that never happened.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Now, as `2026-11-23T00:30:12.123456789Z`.
pub fn now() -> String {
    format_nanos(unix_nanos())
}

/// Nanoseconds since the epoch, now.
pub fn unix_nanos() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos()
}

/// Formats nanoseconds since the epoch in RFC 3339 with nanoseconds.
pub fn format_nanos(nanos: i128) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ZERO_TIME.to_string())
}

/// Parses an RFC 3339 time into nanoseconds since the epoch; Go's zero time and junk give `None`.
pub fn parse(s: &str) -> Option<i128> {
    if s == ZERO_TIME {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

/// go-units' HumanDuration.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let minutes = s / 60;
    let hours = s / 3600;
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

/// Whole seconds from an RFC 3339 time until now (0 if unparseable).
pub fn secs_since(rfc3339: &str) -> i64 {
    match parse(rfc3339) {
        Some(t) => ((unix_nanos() - t) / 1_000_000_000) as i64,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(100 * 86400), "3 months");
        assert_eq!(human_duration(800 * 86400), "2 years");
    }

    #[test]
    fn round_trips() {
        let n = 1_795_000_000_123_456_789i128;
        let s = format_nanos(n);
        assert!(s.ends_with('Z'), "{s}");
        assert_eq!(parse(&s), Some(n));
        assert_eq!(parse(ZERO_TIME), None);
        assert_eq!(parse("yesterday"), None);
    }
}
