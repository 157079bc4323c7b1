//! `--ulimit name=soft[:hard]` as Docker's units.ParseUlimit reads it.

use super::Error;
use super::goparse::parse_int;

/// Resource names Docker accepts.
const NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// One resource limit; -1 means unlimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// Parses `nofile=1024:2048` or `nproc=512` (hard defaults to soft).
pub fn parse_ulimit(value: &str) -> Result<Ulimit, Error> {
    let Some((name, limits)) = value.split_once('=') else {
        return Err(Error::Ulimit(format!("invalid ulimit argument: {value}")));
    };
    if !NAMES.contains(&name) {
        return Err(Error::Ulimit(format!("invalid ulimit type: {name}")));
    }
    let parts: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [soft] => {
            let soft = parse_int(soft, "ParseInt")?;
            (soft, soft)
        }
        [soft, hard] => {
            let hard = parse_int(hard, "ParseInt")?;
            (parse_int(soft, "ParseInt")?, hard)
        }
        _ => {
            return Err(Error::Ulimit(format!(
                "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
            )));
        }
    };
    if hard != -1 && soft == -1 {
        return Err(Error::Ulimit(format!(
            "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}"
        )));
    }
    if hard != -1 && soft > hard {
        return Err(Error::Ulimit(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(
            parse_ulimit("nofile=1024:2048"),
            Ok(Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            })
        );
        assert_eq!(
            parse_ulimit("nproc=512"),
            Ok(Ulimit {
                name: "nproc".into(),
                soft: 512,
                hard: 512
            })
        );
        assert_eq!(
            parse_ulimit("core=-1"),
            Ok(Ulimit {
                name: "core".into(),
                soft: -1,
                hard: -1
            })
        );
        assert_eq!(parse_ulimit("stack=8192:-1").map(|u| u.hard), Ok(-1));
    }

    #[test]
    fn errors_like_docker() {
        let err = |s: &str| parse_ulimit(s).unwrap_err().to_string();
        assert_eq!(err("foo=1"), "invalid ulimit type: foo");
        assert_eq!(err("NOFILE=1"), "invalid ulimit type: NOFILE");
        assert_eq!(err("=1"), "invalid ulimit type: ");
        assert_eq!(err("nofile"), "invalid ulimit argument: nofile");
        assert_eq!(
            err("nofile=2048:1024"),
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
        );
        assert_eq!(
            err("nofile=-1:5"),
            "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 5"
        );
        assert_eq!(err("nofile=x"), "strconv.ParseInt: parsing \"x\": invalid syntax");
        assert_eq!(err("nofile=1:"), "strconv.ParseInt: parsing \"\": invalid syntax");
        assert_eq!(err("nofile=:1"), "strconv.ParseInt: parsing \"\": invalid syntax");
        assert_eq!(
            err("nofile=1:2:3"),
            "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"
        );
    }
}
