//! Memory sizes as Docker's units.RAMInBytes reads them (`512m`, `1.5g`, `64MiB`; binary
//! multiples, case-insensitive), and `--memory-swap` where `-1` means unlimited.

use super::Error;
use super::goparse::parse_float;

/// Parses a size such as `512m`, `1.5g`, `100kb` or `64MiB` into bytes.
pub fn parse_bytes(value: &str) -> Result<i64, Error> {
    let Some(sep) = value.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(Error::Size(value.to_string()));
    };
    // A single space may separate the number from its unit.
    let (num, suffix) = if value.as_bytes()[sep] == b' ' {
        (&value[..sep], &value[sep + 1..])
    } else {
        (&value[..=sep], &value[sep + 1..])
    };
    let size = parse_float(num)?;
    if size < 0.0 {
        return Err(Error::Size(value.to_string()));
    }
    if suffix.is_empty() {
        return Ok(size as i64);
    }
    let bad = |s: &str| Err(Error::SizeSuffix(s.to_string()));
    if suffix.len() > 3 {
        return bad(suffix);
    }
    let lower = suffix.to_ascii_lowercase();
    let shift = match lower.as_bytes()[0] {
        b'b' if lower.len() == 1 => return Ok(size as i64),
        b'k' => 10,
        b'm' => 20,
        b'g' => 30,
        b't' => 40,
        b'p' => 50,
        _ => return bad(&lower),
    };
    match &lower[1..] {
        "" | "b" | "ib" => Ok((size * (1u64 << shift) as f64) as i64),
        _ => bad(&lower),
    }
}

/// Parses `--memory-swap`: `-1` is unlimited, anything else a size.
pub fn parse_memory_swap(value: &str) -> Result<i64, Error> {
    if value == "-1" { Ok(-1) } else { parse_bytes(value) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        let cases = [
            ("512m", 512 << 20),
            ("512mb", 512 << 20),
            ("512MiB", 512 << 20),
            ("1.5g", 3 << 29),
            ("5 k", 5120),
            ("5 ", 5),
            ("100", 100),
            ("100b", 100),
            ("1e3k", 1_024_000),
            (".5k", 512),
            ("2T", 2 << 40),
            ("1p", 1 << 50),
        ];
        for (s, want) in cases {
            assert_eq!(parse_bytes(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn errors_like_docker() {
        let err = |s: &str| parse_bytes(s).unwrap_err().to_string();
        assert_eq!(err("12q"), "invalid suffix: 'q'");
        assert_eq!(err("12Q"), "invalid suffix: 'q'");
        assert_eq!(err("5ki"), "invalid suffix: 'ki'");
        assert_eq!(err("5kbb"), "invalid suffix: 'kbb'");
        assert_eq!(err("1kibibytes"), "invalid suffix: 'kibibytes'");
        assert_eq!(err("-1"), "invalid size: '-1'");
        assert_eq!(err(""), "invalid size: ''");
        assert_eq!(err("m"), "invalid size: 'm'");
        assert_eq!(
            err("1..5g"),
            "strconv.ParseFloat: parsing \"1..5\": invalid syntax"
        );
        assert_eq!(err(" 5"), "strconv.ParseFloat: parsing \" 5\": invalid syntax");
        assert_eq!(parse_memory_swap("-1"), Ok(-1));
        assert_eq!(parse_memory_swap("1g"), Ok(1 << 30));
        assert_eq!(
            parse_memory_swap("-2").unwrap_err().to_string(),
            "invalid size: '-2'"
        );
    }

    proptest! {
        #[test]
        fn integer_sizes_round_trip(n in 0i64..(1 << 40), unit in 0usize..6, upper: bool, tail in 0usize..3) {
            let letters = ["", "k", "m", "g", "t", "p"];
            let mut text = format!("{n}{}", letters[unit]);
            if unit > 0 {
                text.push_str(["", "b", "ib"][tail]);
            }
            if upper {
                text = text.to_uppercase();
            }
            let want = (n as f64 * (1u64 << (10 * unit)) as f64) as i64;
            prop_assert_eq!(parse_bytes(&text), Ok(want));
        }

        #[test]
        fn plain_byte_counts_round_trip(n in 0i64..(1 << 53)) {
            prop_assert_eq!(parse_bytes(&n.to_string()), Ok(n));
            prop_assert_eq!(parse_bytes(&format!("{n}b")), Ok(n));
        }

        #[test]
        fn decimal_sizes_round_trip(whole in 0u32..100_000, frac in 0u32..1000, unit in 1usize..4) {
            let text = format!("{whole}.{frac:03}{}", ["", "k", "m", "g"][unit]);
            // Exact: thousandths times the multiple, truncated.
            let want = (u128::from(whole * 1000 + frac) * (1u128 << (10 * unit)) / 1000) as i64;
            prop_assert_eq!(parse_bytes(&text), Ok(want));
        }
    }
}
