//! Human-readable values as Docker prints them: sizes ("4.26MB", go-units), the truncated command column, Go's
//! `time.Time` text and label lists.

/// go-units' HumanSizeWithPrecision(size, 3): decimal units, three significant digits.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", format_g3(size), UNITS[unit])
}

/// Go's `%.3g` for values below 1000.
fn format_g3(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    // Rounding can carry into a new digit (99.95 -> "100.0" -> "100"), which %.3g also prints.
    s
}

/// Truncates to `max` characters, ending with "…" as Docker's table output does.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Go's `time.Time.String()` of a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC` (no fraction when whole).
pub fn go_time(t: time::OffsetDateTime) -> String {
    let frac = match t.nanosecond() {
        0 => String::new(),
        n => format!(".{}", format!("{n:09}").trim_end_matches('0')),
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{frac} +0000 UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A JSON object of labels as Docker's list formats show it: `k=v,k2=v2`.
pub fn labels_text(labels: &serde_json::Value) -> String {
    labels
        .as_object()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_261_376), "4.26MB");
        assert_eq!(human_size(1_234_567_890), "1.23GB");
        assert_eq!(human_size(10_500), "10.5kB");
        assert_eq!(human_size(1_000_000), "1MB");
    }

    #[test]
    fn truncation() {
        assert_eq!(ellipsis("\"echo hello\"", 20), "\"echo hello\"");
        assert_eq!(ellipsis("abcdefghijklmnopqrstuvwxyz", 20), "abcdefghijklmnopqrs…");
    }
}
