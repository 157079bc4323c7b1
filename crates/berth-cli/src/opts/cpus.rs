//! `--cpus` as Docker reads it: an exact rational (`1.5`, `.25`, `1e-3`, `3/2`) times 10^9,
//! which must come out a whole number of nano-CPUs.

use super::Error;

const NANO_EXP: i64 = 9;

/// Parses `--cpus` into nano-CPUs. Out-of-range magnitudes saturate (the engine rejects them
/// against the host's CPU count).
pub fn parse_cpus(value: &str) -> Result<i64, Error> {
    let fail = || Error::Rational(value.to_string());
    if let Some((num, den)) = value.split_once('/') {
        let num = parse_signed_int(num).ok_or_else(fail)?;
        let den: i128 = parse_digits(den).ok_or_else(fail)?;
        if den == 0 {
            return Err(fail());
        }
        let scaled = num.saturating_mul(10i128.pow(NANO_EXP as u32));
        if scaled % den != 0 {
            return Err(Error::TooPrecise);
        }
        return Ok(saturate(scaled / den));
    }
    let (negative, body) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], parse_exp(&body[i + 1..]).ok_or_else(fail)?),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(fail());
    }
    // value = digits * 10^(exp - len(frac)); nano-CPUs = value * 10^9.
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let mut scale = exp
        .saturating_sub(frac_part.len() as i64)
        .saturating_add(NANO_EXP);
    let mut digits = digits.to_string();
    while scale < 0 && digits.ends_with('0') {
        digits.pop();
        scale += 1;
    }
    if digits.is_empty() {
        return Ok(0);
    }
    if scale < 0 {
        return Err(Error::TooPrecise);
    }
    let mut nano: i128 = 0;
    for d in digits
        .bytes()
        .map(|b| i128::from(b - b'0'))
        .chain((0..scale.min(40)).map(|_| 0))
    {
        nano = nano.saturating_mul(10).saturating_add(d);
    }
    Ok(saturate(if negative { -nano } else { nano }))
}

fn saturate(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn parse_digits(s: &str) -> Option<i128> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0i128, |acc, b| {
        acc.saturating_mul(10).saturating_add(i128::from(b - b'0'))
    }))
}

fn parse_signed_int(s: &str) -> Option<i128> {
    match s.as_bytes().first()? {
        b'-' => parse_digits(&s[1..]).map(|v| -v),
        b'+' => parse_digits(&s[1..]),
        _ => parse_digits(s),
    }
}

fn parse_exp(s: &str) -> Option<i64> {
    let v = parse_signed_int(s)?;
    Some(v.clamp(-1_000_000, 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rationals() {
        for (s, want) in [
            ("1.5", 1_500_000_000),
            ("2", 2_000_000_000),
            (".5", 500_000_000),
            ("5.", 5_000_000_000),
            ("0.000000001", 1),
            ("1e3", 1_000_000_000_000),
            ("1.5E-3", 1_500_000),
            ("3/2", 1_500_000_000),
            ("-1", -1_000_000_000),
            ("+0.25", 250_000_000),
            ("0", 0),
            ("0.0000000000", 0),
            ("1.0000000000", 1_000_000_000),
        ] {
            assert_eq!(parse_cpus(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn errors_like_docker() {
        let err = |s: &str| parse_cpus(s).unwrap_err().to_string();
        assert_eq!(err("x"), "failed to parse x as a rational number");
        assert_eq!(err(""), "failed to parse  as a rational number");
        assert_eq!(err("1.5.5"), "failed to parse 1.5.5 as a rational number");
        assert_eq!(err(" 1"), "failed to parse  1 as a rational number");
        assert_eq!(err("1/0"), "failed to parse 1/0 as a rational number");
        assert_eq!(err("0.0000000001"), "value is too precise");
        assert_eq!(err("1/3"), "value is too precise");
    }
}
