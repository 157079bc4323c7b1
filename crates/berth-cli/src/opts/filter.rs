//! `--filter key=value` for list commands, validated against the command's filter names.

use std::collections::BTreeMap;

use super::Error;
use crate::error::Failure;

/// Every `--filter` value of a command, grouped by key (the API's `filters` object); a bad one is the command's
/// failure (exit 1).
pub fn parse_filters(values: &[String], allowed: &[&str]) -> Result<BTreeMap<String, Vec<String>>, Failure> {
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in values {
        let parsed = parse_filter(v, allowed).map_err(|e| Failure {
            message: e.to_string(),
            code: 1,
        })?;
        if let Some((k, v)) = parsed {
            filters.entry(k).or_default().push(v);
        }
    }
    Ok(filters)
}

/// Parses one `--filter` value; `allowed` lists the command's filter names (`ps`: id, name,
/// label, status, …). The empty string is no filter. Keys are lower-cased and both sides
/// trimmed, as Docker does.
pub fn parse_filter(value: &str, allowed: &[&str]) -> Result<Option<(String, String)>, Error> {
    if value.is_empty() {
        return Ok(None);
    }
    let Some((key, val)) = value.split_once('=') else {
        return Err(Error::Filter("bad format of filter (expected name=value)".into()));
    };
    let key = key.trim().to_lowercase();
    if !allowed.contains(&key.as_str()) {
        return Err(Error::Filter(format!("invalid filter '{key}'")));
    }
    Ok(Some((key, val.trim().to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: &[&str] = &["id", "name", "label", "status", "ancestor", "exited"];

    #[test]
    fn filters() {
        assert_eq!(
            parse_filter("status=running", PS),
            Ok(Some(("status".into(), "running".into())))
        );
        assert_eq!(
            parse_filter(" Label = a=b ", PS),
            Ok(Some(("label".into(), "a=b".into())))
        );
        assert_eq!(parse_filter("", PS), Ok(None));
        assert_eq!(
            parse_filter("name=", PS),
            Ok(Some(("name".into(), String::new())))
        );
        assert_eq!(
            parse_filter("x=1", PS).unwrap_err().to_string(),
            "invalid filter 'x'"
        );
        assert_eq!(
            parse_filter("status", PS).unwrap_err().to_string(),
            "bad format of filter (expected name=value)"
        );
    }
}
