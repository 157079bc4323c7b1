//! `--since`/`--until` values as Docker's timetypes.GetTimestamp reads them: a Go duration
//! back from now (`10m`, `1h30m`), an RFC 3339-like date/time (in the local zone unless it has
//! one), or Unix seconds with an optional fraction.

use time::OffsetDateTime;

use super::Error;

const NANOS: i128 = 1_000_000_000;

/// Converts a `--since`/`--until` value into Unix nanoseconds relative to `now` (whose UTC
/// offset is the local zone for times given without one).
pub fn parse_since(value: &str, now: OffsetDateTime) -> Result<i64, Error> {
    let nanos = if let Some(d) = go_duration(value).filter(|_| value != "0") {
        // Docker keeps whole seconds of now - d.
        (now.unix_timestamp_nanos() - d).div_euclid(NANOS) * NANOS
    } else {
        match parse_time(value, now.offset().whole_seconds()) {
            Ok(t) => t,
            Err(e) if value.contains('-') => return Err(Error::Time(e)),
            Err(_) => unix_timestamp(value).ok_or_else(|| {
                Error::Time(format!("failed to parse value as time or duration: {value:?}"))
            })?,
        }
    };
    i64::try_from(nanos)
        .map_err(|_| Error::Time(format!("failed to parse value as time or duration: {value:?}")))
}

/// Go's time.ParseDuration, in nanoseconds.
fn go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .bytes()
            .take_while(|b| !(b.is_ascii_digit() || *b == b'.'))
            .count();
        let unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += num.parse::<f64>().ok()? * unit;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let v = total as i128;
    Some(if neg { -v } else { v })
}

/// `secs[.frac]` Unix time.
fn unix_timestamp(s: &str) -> Option<i128> {
    let (secs, frac) = s.split_once('.').map_or((s, None), |(a, b)| (a, Some(b)));
    let int = |t: &str| -> Option<i128> {
        let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.strip_prefix('+')
            .unwrap_or(t)
            .parse::<i64>()
            .ok()
            .map(i128::from)
    };
    let secs = int(secs)?;
    let nanos = match frac {
        None => 0,
        Some(f) => {
            let n = int(f)?;
            // Scale to nanoseconds by the number of digits given.
            let exp = 9 - f.len() as i32;
            if exp >= 0 {
                n * 10i128.pow(exp as u32)
            } else {
                n / 10i128.pow(exp.unsigned_abs())
            }
        }
    };
    Some(secs * NANOS + nanos)
}

#[derive(Clone, Copy, PartialEq)]
enum Elem {
    Lit(&'static str),
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Frac,
    Zone,
}

/// The layout Docker picks for `value`, as Go layout text and elements.
fn layout(value: &str, local: bool) -> (&'static str, Vec<Elem>) {
    use Elem::*;
    let date = [Year, Lit("-"), Month, Lit("-"), Day];
    let (text, mut elems): (&str, Vec<Elem>) = if value.contains('.') {
        (
            "2006-01-02T15:04:05.999999999",
            [
                &date[..],
                &[Lit("T"), Hour, Lit(":"), Minute, Lit(":"), Second, Frac],
            ]
            .concat(),
        )
    } else if value.contains('T') {
        let mut colons = value.matches(':').count();
        if !local && !value.contains(['z', 'Z']) && colons > 0 {
            colons -= 1;
        }
        match colons {
            0 => ("2006-01-02T15", [&date[..], &[Lit("T"), Hour]].concat()),
            1 => (
                "2006-01-02T15:04",
                [&date[..], &[Lit("T"), Hour, Lit(":"), Minute]].concat(),
            ),
            _ => (
                "2006-01-02T15:04:05",
                [&date[..], &[Lit("T"), Hour, Lit(":"), Minute, Lit(":"), Second]].concat(),
            ),
        }
    } else {
        ("2006-01-02", date.to_vec())
    };
    if local {
        return (text, elems);
    }
    elems.push(Zone);
    let zoned = match text {
        "2006-01-02T15:04:05.999999999" => "2006-01-02T15:04:05.999999999Z07:00",
        "2006-01-02T15" => "2006-01-02T15Z07:00",
        "2006-01-02T15:04" => "2006-01-02T15:04Z07:00",
        "2006-01-02T15:04:05" => "2006-01-02T15:04:05Z07:00",
        _ => "2006-01-02Z07:00",
    };
    (zoned, elems)
}

fn elem_text(e: Elem) -> &'static str {
    match e {
        Elem::Lit(s) => s,
        Elem::Year => "2006",
        Elem::Month => "01",
        Elem::Day => "02",
        Elem::Hour => "15",
        Elem::Minute => "04",
        Elem::Second => "05",
        Elem::Frac => ".999999999",
        Elem::Zone => "Z07:00",
    }
}

/// Reads 1 or 2 digits (exactly 2 when `fixed`).
fn two_digits(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    match (
        b.first().filter(|c| c.is_ascii_digit()),
        b.get(1).filter(|c| c.is_ascii_digit()),
    ) {
        (Some(a), Some(c)) => Some((i64::from((a - b'0') * 10 + (c - b'0')), &s[2..])),
        (Some(a), None) if !fixed => Some((i64::from(a - b'0'), &s[1..])),
        _ => None,
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Go's time.Parse/ParseInLocation for Docker's layouts, with Go's error messages.
fn parse_time(value: &str, local_offset: i32) -> Result<i128, String> {
    let local = !value.contains(['z', 'Z', '+']) && value.matches('-').count() != 3;
    let (layout_text, elems) = layout(value, local);
    let cannot = |rest: &str, e: Elem| {
        format!(
            "parsing time {value:?} as {layout_text:?}: cannot parse {rest:?} as {:?}",
            elem_text(e)
        )
    };
    let range = |what: &str| format!("parsing time {value:?}: {what} out of range");
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) = (0, 1, 1, 0, 0, 0, 0i64);
    let mut offset = i64::from(local_offset);
    let mut rest = value;
    for (i, &e) in elems.iter().enumerate() {
        let hold = rest;
        match e {
            Elem::Lit(l) => rest = rest.strip_prefix(l).ok_or_else(|| cannot(rest, e))?,
            Elem::Year => {
                let y = rest
                    .get(..4)
                    .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| cannot(hold, e))?;
                year = y.parse().map_err(|_| cannot(hold, e))?;
                rest = &rest[4..];
            }
            Elem::Month | Elem::Day | Elem::Hour | Elem::Minute | Elem::Second => {
                let (v, r) = two_digits(rest, e != Elem::Hour).ok_or_else(|| cannot(hold, e))?;
                rest = r;
                let (slot, ok, name) = match e {
                    Elem::Month => (&mut month, (1..=12).contains(&v), "month"),
                    Elem::Day => (&mut day, true, "day"),
                    Elem::Hour => (&mut hour, v < 24, "hour"),
                    Elem::Minute => (&mut min, v < 60, "minute"),
                    _ => (&mut sec, v < 60, "second"),
                };
                if !ok {
                    return Err(range(name));
                }
                *slot = v;
                // Go accepts a fraction after the seconds even when the layout has none.
                if e == Elem::Second && elems.get(i + 1) != Some(&Elem::Frac) {
                    (nanos, rest) = fraction(rest);
                }
            }
            Elem::Frac => (nanos, rest) = fraction(rest),
            Elem::Zone => {
                if let Some(r) = rest.strip_prefix('Z') {
                    offset = 0;
                    rest = r;
                    continue;
                }
                let b = rest.as_bytes();
                if b.len() < 6 || b[3] != b':' || !matches!(b[0], b'+' | b'-') {
                    return Err(cannot(hold, e));
                }
                let (h, _) = two_digits(&rest[1..3], true).ok_or_else(|| cannot(hold, e))?;
                let (m, _) = two_digits(&rest[4..6], true).ok_or_else(|| cannot(hold, e))?;
                if h > 24 {
                    return Err(range("time zone offset hour"));
                }
                if m > 60 {
                    return Err(range("time zone offset minute"));
                }
                offset = (h * 3600 + m * 60) * if b[0] == b'-' { -1 } else { 1 };
                rest = &rest[6..];
            }
        }
    }
    if !rest.is_empty() {
        return Err(format!("parsing time {value:?}: extra text: {rest:?}"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(range("day"));
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Ok(i128::from(secs) * NANOS + i128::from(nanos))
}

/// An optional `.digits` fraction (up to nanoseconds; further digits are ignored).
fn fraction(s: &str) -> (i64, &str) {
    let b = s.as_bytes();
    if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
        return (0, s);
    }
    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let digits = &s[1..n.min(10)];
    let scaled = format!("{digits:0<9}").parse().unwrap_or(0);
    (scaled, &s[n..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00:30.5 +01:00);
    const NOW_SECS: i64 = 1_795_431_630;

    fn at(v: &str) -> Result<i64, String> {
        parse_since(v, NOW).map_err(|e| e.to_string())
    }

    #[test]
    fn durations_are_back_from_now_in_whole_seconds() {
        assert_eq!(NOW.unix_timestamp(), NOW_SECS);
        assert_eq!(at("10m"), Ok((NOW_SECS - 600) * 1_000_000_000));
        assert_eq!(at("1h30m"), Ok((NOW_SECS - 5400) * 1_000_000_000));
        assert_eq!(at("1.5s"), Ok((NOW_SECS - 1) * 1_000_000_000));
        assert_eq!(at("-1m"), Ok((NOW_SECS + 60) * 1_000_000_000));
        assert_eq!(at("0s"), Ok(NOW_SECS * 1_000_000_000));
    }

    #[test]
    fn timestamps() {
        assert_eq!(at("2026-11-23T00:00:00Z"), Ok(1_795_392_000 * 1_000_000_000));
        assert_eq!(at("2026-11-23T01:00:00+01:00"), Ok(1_795_392_000 * 1_000_000_000));
        // No zone: the local zone (now's offset, +01:00).
        assert_eq!(at("2026-11-23T01:00:00"), Ok(1_795_392_000 * 1_000_000_000));
        assert_eq!(at("2026-11-23"), Ok((1_795_392_000 - 3600) * 1_000_000_000));
        assert_eq!(at("2026-11-23T01"), Ok(1_795_392_000 * 1_000_000_000));
        assert_eq!(
            at("2026-11-23T00:30Z"),
            Ok((1_795_392_000 + 1800) * 1_000_000_000)
        );
        assert_eq!(
            at("2026-11-23T00:00:00.25Z"),
            Ok(1_795_392_000 * 1_000_000_000 + 250_000_000)
        );
        assert_eq!(at("2026-11-23Z"), Ok(1_795_392_000 * 1_000_000_000));
        assert_eq!(at("1700000000"), Ok(1_700_000_000 * 1_000_000_000));
        assert_eq!(
            at("1700000000.5"),
            Ok(1_700_000_000 * 1_000_000_000 + 500_000_000)
        );
        assert_eq!(at("0"), Ok(0));
    }

    #[test]
    fn errors_like_docker() {
        assert_eq!(
            at("yesterday"),
            Err("failed to parse value as time or duration: \"yesterday\"".into())
        );
        assert_eq!(
            at("2026-13-01"),
            Err("parsing time \"2026-13-01\": month out of range".into())
        );
        assert_eq!(
            at("2026-02-30"),
            Err("parsing time \"2026-02-30\": day out of range".into())
        );
        assert_eq!(
            at("2026-1-01"),
            Err("parsing time \"2026-1-01\" as \"2006-01-02\": cannot parse \"1-01\" as \"01\"".into())
        );
        assert_eq!(
            at("2026-11-23T00:00:00Zx"),
            Err("parsing time \"2026-11-23T00:00:00Zx\": extra text: \"x\"".into())
        );
        assert_eq!(
            at("-5"),
            Err("parsing time \"-5\" as \"2006-01-02\": cannot parse \"-5\" as \"2006\"".into())
        );
    }
}
