//! `--change` instructions (Dockerfile syntax) applied to a container config, as `docker import` and
//! `docker commit` do: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL, ONBUILD.

use std::collections::BTreeMap;

use crate::config::{ContainerConfig, Empty};
use crate::error::{Error, Result};

const SIGNALS: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE",
    "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU",
    "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
];

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

/// Applies `changes` (each may hold several lines) to `config`. On error `config` may be partly
/// changed; callers apply to a copy and keep it only on success.
pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> Result<()> {
    let text = changes.join("\n");
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(line);
        instructions.push(std::mem::take(&mut pending));
    }
    if !pending.trim().is_empty() {
        instructions.push(pending);
    }
    let parsed: Vec<(String, &str)> = instructions
        .iter()
        .map(|i| {
            let (word, rest) = i.split_once(char::is_whitespace).unwrap_or((i, ""));
            (word.to_ascii_lowercase(), rest.trim())
        })
        .collect();
    for (word, _) in &parsed {
        let valid = matches!(
            word.as_str(),
            "cmd"
                | "entrypoint"
                | "env"
                | "expose"
                | "label"
                | "onbuild"
                | "stopsignal"
                | "user"
                | "volume"
                | "workdir"
        );
        if !valid {
            return Err(bad(format!("{word} is not a valid change command")));
        }
    }
    let mut cmd_set = false;
    for (word, args) in parsed {
        let upper = word.to_ascii_uppercase();
        if args.is_empty() {
            return Err(bad(format!("{upper} requires at least one argument")));
        }
        let env = config.env.clone().unwrap_or_default();
        match word.as_str() {
            "cmd" => {
                config.cmd = Some(command_line(args));
                cmd_set = true;
            }
            "entrypoint" => {
                config.entrypoint = Some(command_line(args));
                if !cmd_set {
                    config.cmd = None;
                }
            }
            "env" => {
                for (k, v) in name_values(&upper, args, &env)? {
                    set_env(config.env.get_or_insert_with(Vec::new), &k, &v);
                }
            }
            "label" => {
                let labels = config.labels.get_or_insert_with(BTreeMap::new);
                labels.extend(name_values(&upper, args, &env)?);
            }
            "workdir" => {
                let dir = lex(args, &env, false)?.concat();
                config.working_dir = workdir(&config.working_dir, &dir);
            }
            "user" => config.user = lex(args, &env, false)?.concat(),
            "expose" => {
                let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for spec in lex(args, &env, true)? {
                    for p in port_spec(&spec)? {
                        ports.insert(p, Empty);
                    }
                }
            }
            "volume" => {
                let vols = match json_array(args) {
                    Some(v) => v,
                    None => lex(args, &env, true)?,
                };
                let map = config.volumes.get_or_insert_with(BTreeMap::new);
                for v in vols {
                    if v.trim().is_empty() {
                        return Err(bad("VOLUME specified can not be an empty string"));
                    }
                    map.insert(v, Empty);
                }
            }
            "stopsignal" => {
                let sig = lex(args, &env, false)?.concat();
                validate_signal(&sig)?;
                config.stop_signal = sig;
            }
            _ => {
                let trigger = args.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                match trigger.as_str() {
                    "ONBUILD" => return Err(bad("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")),
                    "FROM" | "MAINTAINER" => {
                        return Err(bad(format!("{trigger} isn't allowed as an ONBUILD trigger")));
                    }
                    _ => config
                        .on_build
                        .get_or_insert_with(Vec::new)
                        .push(args.to_string()),
                }
            }
        }
    }
    Ok(())
}

/// JSON (exec) form, or shell form wrapped in `/bin/sh -c`.
fn command_line(args: &str) -> Vec<String> {
    json_array(args).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), args.to_string()])
}

fn json_array(args: &str) -> Option<Vec<String>> {
    if args.starts_with('[') {
        serde_json::from_str(args).ok()
    } else {
        None
    }
}

/// `NAME=value ...` pairs, or the legacy `NAME value with spaces` form.
fn name_values(instr: &str, args: &str, env: &[String]) -> Result<Vec<(String, String)>> {
    let first = args.split_whitespace().next().unwrap_or("");
    let pairs = if !first.contains('=') {
        let (k, v) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        if v.trim().is_empty() {
            return Err(bad(format!("{instr} must have two arguments")));
        }
        vec![(k.to_string(), lex(v.trim(), env, false)?.concat())]
    } else {
        let mut out = Vec::new();
        for word in lex(args, env, true)? {
            let Some((k, v)) = word.split_once('=') else {
                return Err(bad(format!(
                    "Syntax error - can't find = in \"{word}\". Must be of the form: name=value"
                )));
            };
            out.push((k.to_string(), v.to_string()));
        }
        out
    };
    if pairs.iter().any(|(k, _)| k.is_empty()) {
        return Err(bad(format!("{instr} names can not be blank")));
    }
    Ok(pairs)
}

fn set_env(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

/// Shell-like word processing: quotes, backslash escapes and `$VAR` / `${VAR}` expansion from `env`.
/// With `split`, unquoted whitespace separates words; otherwise the whole input is one word.
fn lex(input: &str, env: &[String], split: bool) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = input.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('\''), _) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (q, '\\') => {
                let next = chars.next().unwrap_or('\\');
                if q == Some('"') && !matches!(next, '"' | '\\' | '$') {
                    cur.push('\\');
                }
                cur.push(next);
                in_word = true;
            }
            (_, '$') => {
                cur.push_str(&expand(&mut chars, env));
                in_word = true;
            }
            (None, w) if split && w.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            _ => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(bad(format!(
            "unexpected end of statement while looking for matching quote in {input:?}"
        )));
    }
    if in_word || !split {
        words.push(cur);
    }
    Ok(words)
}

fn expand(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, env: &[String]) -> String {
    let braced = chars.peek() == Some(&'{');
    if braced {
        chars.next();
    }
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    if braced {
        if chars.peek() == Some(&'}') {
            chars.next();
        }
    } else if name.is_empty() {
        return "$".into();
    }
    let prefix = format!("{name}=");
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix(&prefix))
        .unwrap_or("")
        .to_string()
}

fn workdir(current: &str, requested: &str) -> String {
    let joined = if requested.starts_with('/') {
        requested.to_string()
    } else {
        format!("/{current}/{requested}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `80`, `80/udp`, `8000-8010/tcp` -> `["80/tcp"]` etc.
fn port_spec(spec: &str) -> Result<Vec<String>> {
    let (range, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad(format!("invalid proto: {proto}")));
    }
    let port = |s: &str| s.parse::<u16>().ok().filter(|_| !s.is_empty());
    let (lo, hi) = match range.split_once('-') {
        Some((a, b)) => (port(a), port(b)),
        None => (port(range), port(range)),
    };
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo <= hi => Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect()),
        _ => Err(bad(format!("invalid containerPort: {range}"))),
    }
}

fn validate_signal(sig: &str) -> Result<()> {
    let invalid = || bad(format!("Invalid signal: {sig}"));
    if let Ok(n) = sig.parse::<u32>() {
        return if n == 0 || n > 64 { Err(invalid()) } else { Ok(()) };
    }
    let upper = sig.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let base = name.split(['+', '-']).next().unwrap_or(name);
    let offset_ok = match name.get(base.len()..) {
        Some("") => true,
        Some(off) => base.starts_with("RT") && off[1..].parse::<u8>().is_ok_and(|n| n <= 30),
        None => false,
    };
    if SIGNALS.contains(&base) && offset_ok {
        Ok(())
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Result<ContainerConfig> {
        let mut c = ContainerConfig::default();
        apply_changes(&mut c, &changes.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        Ok(c)
    }

    fn strs(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn cmd_and_entrypoint_forms() {
        let c = apply(&[r#"CMD ["echo", "hi"]"#]).unwrap();
        assert_eq!(c.cmd, strs(&["echo", "hi"]));
        let c = apply(&["cmd echo $HOME hi"]).unwrap();
        assert_eq!(c.cmd, strs(&["/bin/sh", "-c", "echo $HOME hi"]));
        let c = apply(&["CMD [\"a\"]", "ENTRYPOINT [\"/e\"]"]).unwrap();
        assert_eq!(c.cmd, strs(&["a"]));
        assert_eq!(c.entrypoint, strs(&["/e"]));
        let mut c = ContainerConfig {
            cmd: strs(&["old"]),
            ..Default::default()
        };
        apply_changes(&mut c, &["ENTRYPOINT top -b".into()]).unwrap();
        assert_eq!(c.entrypoint, strs(&["/bin/sh", "-c", "top -b"]));
        assert_eq!(c.cmd, None);
    }

    #[test]
    fn env_forms_and_expansion() {
        let c = apply(&[
            "ENV A=1 B=\"two words\" C='$A'",
            "ENV D $A-x",
            "ENV A=3",
            "ENV E=${B}!",
        ])
        .unwrap();
        assert_eq!(
            c.env,
            strs(&["A=3", "B=two words", "C=$A", "D=1-x", "E=two words!"])
        );
        assert_eq!(
            apply(&["ENV A=1 B"]).unwrap_err().to_string(),
            "Syntax error - can't find = in \"B\". Must be of the form: name=value"
        );
        assert_eq!(
            apply(&["ENV A"]).unwrap_err().to_string(),
            "ENV must have two arguments"
        );
        assert_eq!(
            apply(&["ENV"]).unwrap_err().to_string(),
            "ENV requires at least one argument"
        );
        assert!(apply(&["ENV A=\"x"]).is_err());
    }

    #[test]
    fn other_instructions() {
        let c = apply(&[
            "WORKDIR /app",
            "WORKDIR sub/../lib",
            "USER nobody:nogroup",
            "EXPOSE 80 53/udp 8000-8001",
            "LABEL a=b \"c d\"=e",
            "VOLUME /data /logs",
            "VOLUME [\"/x\"]",
            "STOPSIGNAL SIGINT",
            "ONBUILD RUN echo hi",
        ])
        .unwrap();
        assert_eq!(c.working_dir, "/app/lib");
        assert_eq!(c.user, "nobody:nogroup");
        let ports: Vec<&String> = c.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        assert_eq!(
            c.labels.as_ref().unwrap().get("c d").map(String::as_str),
            Some("e")
        );
        let vols: Vec<&String> = c.volumes.as_ref().unwrap().keys().collect();
        assert_eq!(vols, ["/data", "/logs", "/x"]);
        assert_eq!(c.stop_signal, "SIGINT");
        assert_eq!(c.on_build, strs(&["RUN echo hi"]));
    }

    #[test]
    fn errors() {
        let err = |c: &str| apply(&[c]).unwrap_err().to_string();
        assert_eq!(err("RUN true"), "run is not a valid change command");
        assert_eq!(err("FOO bar"), "foo is not a valid change command");
        assert_eq!(err("EXPOSE 99999"), "invalid containerPort: 99999");
        assert_eq!(err("EXPOSE 80/xyz"), "invalid proto: xyz");
        assert_eq!(err("STOPSIGNAL SIGNOPE"), "Invalid signal: SIGNOPE");
        assert_eq!(
            err("ONBUILD ONBUILD RUN x"),
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        );
        assert_eq!(
            err("VOLUME [\"\"]"),
            "VOLUME specified can not be an empty string"
        );
        for ok in ["9", "KILL", "sigterm", "SIGRTMIN+3", "RTMAX-2"] {
            assert!(validate_signal(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn continuation_lines() {
        let c = apply(&["ENV A=1 \\\n  B=2"]).unwrap();
        assert_eq!(c.env, strs(&["A=1", "B=2"]));
    }
}
