//! Go literal syntax inside actions: numeric and character constants (decimal, hex, octal,
//! binary, floats, `'c'`) and the escapes of quoted strings.

/// A numeric constant: integer and/or float value, as Go's parse.NumberNode keeps them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Number {
    pub int: Option<i64>,
    pub float: f64,
    /// Whether the constant is written as a float (has '.', exponent) and so is float64 when untyped.
    pub is_float: bool,
}

/// Parses a Go numeric or character constant.
pub(super) fn parse_number(text: &str) -> Option<Number> {
    if let Some(inner) = text.strip_prefix('\'') {
        let c = unquote(inner.strip_suffix('\'')?, '\'')?.chars().next()?;
        let v = i64::from(u32::from(c));
        return Some(Number {
            int: Some(v),
            float: v as f64,
            is_float: false,
        });
    }
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    if body.contains('_') && (body.starts_with('_') || body.ends_with('_') || body.contains("__")) {
        return None;
    }
    let lower = clean.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| -> Option<Number> {
        let v = i64::from_str_radix(digits, radix).ok()?;
        let v = if neg { -v } else { v };
        Some(Number {
            int: Some(v),
            float: v as f64,
            is_float: false,
        })
    };
    if let Some(d) = lower.strip_prefix("0x") {
        return radix_int(d, 16);
    }
    if let Some(d) = lower.strip_prefix("0o") {
        return radix_int(d, 8);
    }
    if let Some(d) = lower.strip_prefix("0b") {
        return radix_int(d, 2);
    }
    let valid = !lower.is_empty()
        && lower
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
        && lower
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == b'.');
    if !valid {
        return None;
    }
    let is_float = lower.contains(['.', 'e']);
    if !is_float {
        if lower.len() > 1 && lower.starts_with('0') {
            return radix_int(&lower[1..], 8);
        }
        if let Ok(v) = lower.parse::<i64>() {
            let v = if neg { -v } else { v };
            return Some(Number {
                int: Some(v),
                float: v as f64,
                is_float: false,
            });
        }
    }
    let f: f64 = lower.parse().ok()?;
    let f = if neg { -f } else { f };
    let int = (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64);
    Some(Number {
        int,
        float: f,
        is_float,
    })
}

/// Go's strconv.Unquote body handling for `"…"` and `'…'` literals.
pub(super) fn unquote(body: &str, quote: char) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == quote {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let esc = chars.next()?;
        let simple = match esc {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '"' if quote == '"' => Some('"'),
            '\'' if quote == '\'' => Some('\''),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        let (len, radix) = match esc {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return None,
        };
        let mut digits: String = if radix == 8 {
            esc.to_string()
        } else {
            String::new()
        };
        for _ in 0..len {
            digits.push(chars.next()?);
        }
        let v = u32::from_str_radix(&digits, radix).ok()?;
        if matches!(esc, 'x' | '0'..='7') {
            // Byte escapes: only ASCII keeps the string valid UTF-8 here.
            if v > 0x7f {
                return None;
            }
        }
        out.push(char::from_u32(v)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x1F").unwrap().int, Some(31));
        assert_eq!(parse_number("0o17").unwrap().int, Some(15));
        assert_eq!(parse_number("017").unwrap().int, Some(15));
        assert_eq!(parse_number("-0b101").unwrap().int, Some(-5));
        assert_eq!(parse_number("1_000").unwrap().int, Some(1000));
        assert_eq!(parse_number("1.5e3").unwrap().int, Some(1500));
        assert!(parse_number("1.5").unwrap().is_float);
        assert_eq!(parse_number("'c'").unwrap().int, Some(99));
        assert_eq!(parse_number("'\\n'").unwrap().int, Some(10));
        for bad in ["1x", "1__0", "_1", "0x", "1e", "--1"] {
            assert!(parse_number(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(
            unquote(r"a\tb\x41\u00e9\101\\", '"').as_deref(),
            Some("a\tbAéA\\")
        );
        assert_eq!(unquote(r#"say \"hi\""#, '"').as_deref(), Some("say \"hi\""));
        assert_eq!(unquote(r"\q", '"'), None);
        assert_eq!(unquote(r"\xff", '"'), None);
    }
}
