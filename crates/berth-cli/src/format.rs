//! Human-readable values as Docker prints them: sizes ("4.26MB", go-units), the truncated command column, Go's
//! `time.Time` text and label lists.

/// A size as `docker images` prints it: decimal units, three significant digits.
pub fn human_size(bytes: i64) -> String {
    berth_api::units::human_size(bytes.max(0) as u64, 3)
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
