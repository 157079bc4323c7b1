//! `-e`, `--env-file`, `-l` and `--label-file` values, with Docker's rules: no quote or escape
//! processing, `KEY` alone takes its value from the environment, key/value files skip blank
//! lines and `#` comments, strip a UTF-8 BOM and leading whitespace, and refuse keys with
//! spaces.

use std::path::Path;

use super::Error;

/// Validates `-e K=V` or `-e K` (the latter takes K's value from this process's environment,
/// and stays `K` when unset, as Docker passes it).
pub fn parse_env(value: &str) -> Result<String, Error> {
    parse_env_with(value, |k| std::env::var(k).ok())
}

/// [`parse_env`] with an explicit environment lookup.
pub fn parse_env_with(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, Error> {
    let (key, has_value) = match value.split_once('=') {
        Some((k, _)) => (k, true),
        None => (value, false),
    };
    if key.is_empty() {
        return Err(Error::Env(value.to_string()));
    }
    if has_value {
        return Ok(value.to_string());
    }
    Ok(lookup(key).map_or_else(|| value.to_string(), |v| format!("{key}={v}")))
}

/// Reads an `--env-file`: `KEY=VALUE` lines as-is, `KEY` lines from this process's environment
/// (dropped when unset).
pub fn parse_env_file(path: &Path) -> Result<Vec<String>, Error> {
    parse_env_file_with(path, |k| std::env::var(k).ok())
}

/// [`parse_env_file`] with an explicit environment lookup.
pub fn parse_env_file_with(
    path: &Path,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, Error> {
    parse_kv_file(path, Some(&lookup))
}

/// Reads a `--label-file`: `KEY=VALUE` lines; lines without `=` are dropped.
pub fn parse_label_file(path: &Path) -> Result<Vec<String>, Error> {
    parse_kv_file(path, None)
}

/// Validates `-l key=value` and splits it the way Docker stores it (the key keeps any leading
/// whitespace; a missing value is empty).
pub fn parse_label(value: &str) -> Result<(String, String), Error> {
    let (key, val) = value.split_once('=').unwrap_or((value, ""));
    let trimmed = key.trim_start_matches([' ', '\t']);
    if trimmed.is_empty() {
        return Err(Error::Label(format!("invalid label '{value}': empty name")));
    }
    if trimmed.contains([' ', '\t']) {
        return Err(Error::Label(format!("label '{trimmed}' contains whitespaces")));
    }
    Ok((key.to_string(), val.to_string()))
}

/// Go's os.Open error text for `path`.
pub(super) fn open_error(path: &Path, e: &std::io::Error) -> Error {
    let text = e.to_string();
    let reason = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = reason.chars();
    let reason = chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default();
    Error::Open {
        path: path.display().to_string(),
        reason,
    }
}

/// Longest line bufio.Scanner accepts by default.
const MAX_LINE: usize = 64 * 1024 - 1;

/// How a key without a value gets one (env files) or not (label files).
type Lookup<'f> = Option<&'f dyn Fn(&str) -> Option<String>>;

fn parse_kv_file(path: &Path, lookup: Lookup<'_>) -> Result<Vec<String>, Error> {
    let data = std::fs::read(path).map_err(|e| open_error(path, &e))?;
    let file_err = |reason: String| Error::EnvFile {
        path: path.display().to_string(),
        reason,
    };
    let mut out = Vec::new();
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.ends_with(b"\n") {
        lines.pop();
    }
    for (i, raw) in lines.into_iter().enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.len() > MAX_LINE {
            return Err(file_err("bufio.Scanner: token too long".into()));
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            let bytes: Vec<String> = raw.iter().map(u8::to_string).collect();
            return Err(file_err(format!(
                "invalid utf8 bytes at line {}: [{}]",
                i + 1,
                bytes.join(" ")
            )));
        };
        let line = if i == 0 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, has_value) = match line.split_once('=') {
            Some((k, _)) => (k, true),
            None => (line, false),
        };
        if key.is_empty() {
            return Err(file_err(format!("no variable name on line '{line}'")));
        }
        if key.contains([' ', '\t']) {
            return Err(file_err(format!("variable '{key}' contains whitespaces")));
        }
        if has_value {
            out.push(line.to_string());
        } else if let Some(v) = lookup.and_then(|f| f(line)) {
            out.push(format!("{key}={v}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(k: &str) -> Option<String> {
        (k == "SET").then(|| "from-env".to_string())
    }

    #[test]
    fn env_flags() {
        assert_eq!(parse_env_with("A=1", lookup), Ok("A=1".into()));
        assert_eq!(parse_env_with("A=", lookup), Ok("A=".into()));
        assert_eq!(parse_env_with("A=b=c", lookup), Ok("A=b=c".into()));
        assert_eq!(parse_env_with("SET", lookup), Ok("SET=from-env".into()));
        assert_eq!(parse_env_with("UNSET", lookup), Ok("UNSET".into()));
        assert_eq!(
            parse_env_with("=x", lookup).unwrap_err().to_string(),
            "invalid environment variable: =x"
        );
        assert_eq!(
            parse_env_with("", lookup).unwrap_err().to_string(),
            "invalid environment variable: "
        );
    }

    #[test]
    fn env_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        let write = |body: &[u8]| std::fs::write(&file, body).unwrap();
        write(b"\xef\xbb\xbfA=1\n# comment\n\n   B=\"quoted\" \r\nSET\nUNSET\n\tC==x\nD=");
        assert_eq!(
            parse_env_file_with(&file, lookup),
            Ok(vec![
                "A=1".into(),
                "B=\"quoted\" ".into(),
                "SET=from-env".into(),
                "C==x".into(),
                "D=".into()
            ])
        );
        assert_eq!(parse_label_file(&file).unwrap().len(), 4);
        let err = |body: &[u8]| {
            write(body);
            parse_env_file_with(&file, lookup).unwrap_err().to_string()
        };
        let path = file.display();
        assert_eq!(
            err(b"A B=1\n"),
            format!("invalid env file ({path}): variable 'A B' contains whitespaces")
        );
        assert_eq!(
            err(b"=1\n"),
            format!("invalid env file ({path}): no variable name on line '=1'")
        );
        assert_eq!(
            err(b"ok=1\nhi\xff\n"),
            format!("invalid env file ({path}): invalid utf8 bytes at line 2: [104 105 255]")
        );
        let missing = dir.path().join("nope");
        assert_eq!(
            parse_env_file(&missing).unwrap_err().to_string(),
            format!("open {}: no such file or directory", missing.display())
        );
    }

    #[test]
    fn labels() {
        assert_eq!(parse_label("a=b"), Ok(("a".into(), "b".into())));
        assert_eq!(parse_label("a"), Ok(("a".into(), String::new())));
        assert_eq!(parse_label("a=b c=d"), Ok(("a".into(), "b c=d".into())));
        assert_eq!(
            parse_label("=x").unwrap_err().to_string(),
            "invalid label '=x': empty name"
        );
        assert_eq!(
            parse_label(" a b=1").unwrap_err().to_string(),
            "label 'a b' contains whitespaces"
        );
    }
}
