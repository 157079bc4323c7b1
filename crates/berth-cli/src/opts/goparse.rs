//! Go strconv behaviour the flag parsers depend on: which texts ParseInt, ParseUint, ParseBool
//! and ParseFloat accept, and their error messages.

use super::Error;

fn num_err(func: &'static str, input: &str, reason: &'static str) -> Error {
    Error::Number {
        func,
        input: input.to_string(),
        reason,
    }
}

/// strconv.ParseInt(s, 10, 64) (or Atoi when `func` is "Atoi").
pub(super) fn parse_int(s: &str, func: &'static str) -> Result<i64, Error> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(num_err(func, s, "invalid syntax"));
    }
    s.strip_prefix('+')
        .unwrap_or(s)
        .parse()
        .map_err(|_| num_err(func, s, "value out of range"))
}

/// strconv.ParseUint(s, radix, 32).
pub(super) fn parse_u32(s: &str, radix: u32) -> Result<u32, Error> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return Err(num_err("ParseUint", s, "invalid syntax"));
    }
    u32::from_str_radix(s, radix).map_err(|_| num_err("ParseUint", s, "value out of range"))
}

/// strconv.ParseBool.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's rule for `_` in numbers: only between digits.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'_' || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// strconv.ParseFloat(s, 64) for decimal notation (Go also takes hex floats, inf and nan,
/// which no Docker size can reach).
pub(super) fn parse_float(s: &str) -> Result<f64, Error> {
    let syntax = || num_err("ParseFloat", s, "invalid syntax");
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mant_ok = mant.bytes().filter(|&c| c == b'.').count() <= 1
        && mant.bytes().any(|c| c.is_ascii_digit())
        && mant.bytes().all(|c| c.is_ascii_digit() || c == b'.' || c == b'_');
    let exp_ok = exp.is_none_or(|e| {
        let d = e.strip_prefix(['+', '-']).unwrap_or(e);
        !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    });
    if !mant_ok || !exp_ok || !underscores_ok(body) {
        return Err(syntax());
    }
    let v: f64 = s.replace('_', "").parse().map_err(|_| syntax())?;
    if v.is_infinite() {
        return Err(num_err("ParseFloat", s, "value out of range"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_like_go() {
        assert_eq!(parse_int("+42", "ParseInt"), Ok(42));
        assert_eq!(parse_int("-1", "ParseInt"), Ok(-1));
        assert_eq!(
            parse_int("x", "ParseInt").unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse_int("", "ParseInt").unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"\": invalid syntax"
        );
        assert_eq!(
            parse_int("99999999999999999999", "Atoi").unwrap_err().to_string(),
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(parse_u32("1777", 8), Ok(0o1777));
        assert!(parse_u32("9", 8).is_err());
    }

    #[test]
    fn floats_like_go() {
        for (s, v) in [
            ("1.5", 1.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("+2", 2.0),
            ("1_000", 1000.0),
        ] {
            assert_eq!(parse_float(s), Ok(v), "{s}");
        }
        for s in [
            "", "1..5", " 5", "nan", "inf", "1e", "e5", "_1", "1__0", "0x10", "1_.5",
        ] {
            assert!(parse_float(s).is_err(), "{s}");
        }
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("yes"), None);
    }
}
