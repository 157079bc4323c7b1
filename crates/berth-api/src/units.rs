//! Sizes as Docker prints them (go-units' `HumanSizeWithPrecision`): decimal units (`kB`, `MB`, …) and Go's `%.Ng`
//! of the value — `docker images` uses 3 significant digits, progress bars 4.

/// `bytes` in decimal units with `precision` significant digits (`4.26MB` at 3, `27.14MB` at 4).
pub fn human_size(bytes: u64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{}{}", go_g(v, precision), UNITS[unit])
}

/// Go's `%.Ng` for 0 and values in [1, 1000): N significant digits, trailing zeros dropped.
fn go_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let integer_digits = (v.log10().floor() as usize) + 1;
    let decimals = precision.saturating_sub(integer_digits);
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_go_units() {
        assert_eq!(human_size(0, 3), "0B");
        assert_eq!(human_size(999, 3), "999B");
        assert_eq!(human_size(4_261_376, 3), "4.26MB");
        assert_eq!(human_size(1_234_567_890, 3), "1.23GB");
        assert_eq!(human_size(10_500, 3), "10.5kB");
        assert_eq!(human_size(1_000_000, 3), "1MB");
        assert_eq!(human_size(27_143_000, 4), "27.14MB");
        assert_eq!(human_size(66_200_000, 4), "66.2MB");
        assert_eq!(human_size(1_000, 4), "1kB");
        assert_eq!(human_size(2_151_234, 4), "2.151MB");
    }
}
