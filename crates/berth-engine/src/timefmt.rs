//! Timestamps in Docker's formats: RFC 3339 with nanoseconds in UTC, and Go's zero time for "never".

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

#[cfg(test)]
mod tests {
    use super::*;

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
