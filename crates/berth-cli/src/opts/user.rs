//! `-u`/`--user` syntax: `name|uid[:group|gid]` (looking names up in the container's
//! /etc/passwd and /etc/group is the engine's job).

use super::Error;

/// A user or group given by name or by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ident {
    Name(String),
    Id(u32),
}

/// A parsed `--user` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// `None` when the user part is empty (`:100`): uid 0, as Docker's runtime defaults it.
    pub user: Option<Ident>,
    pub group: Option<Ident>,
}

/// Highest uid/gid Docker accepts.
const MAX_ID: i64 = i32::MAX as i64;

fn ident(part: &str) -> Result<Option<Ident>, Error> {
    if part.is_empty() {
        return Ok(None);
    }
    let digits = part.strip_prefix(['+', '-']).unwrap_or(part);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Some(Ident::Name(part.to_string())));
    }
    // Numeric (as Go's Atoi reads it): always an id, which must be in range.
    let id: Option<i64> = part.strip_prefix('+').unwrap_or(part).parse().ok();
    match id.filter(|v| (0..=MAX_ID).contains(v)) {
        Some(v) => Ok(Some(Ident::Id(v as u32))),
        None => Err(Error::User(format!("uids and gids must be in range 0-{MAX_ID}"))),
    }
}

/// Parses a `--user` value such as `nobody`, `1000:1000` or `app:staff`.
pub fn parse_user(value: &str) -> Result<UserSpec, Error> {
    let mut parts = value.split(':');
    let user = ident(parts.next().unwrap_or_default())?;
    let group = ident(parts.next().unwrap_or_default())?;
    Ok(UserSpec { user, group })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users() {
        let name = |s: &str| Some(Ident::Name(s.to_string()));
        assert_eq!(
            parse_user("nobody"),
            Ok(UserSpec {
                user: name("nobody"),
                group: None
            })
        );
        assert_eq!(
            parse_user("1000:1000"),
            Ok(UserSpec {
                user: Some(Ident::Id(1000)),
                group: Some(Ident::Id(1000))
            })
        );
        assert_eq!(
            parse_user("app:staff"),
            Ok(UserSpec {
                user: name("app"),
                group: name("staff")
            })
        );
        assert_eq!(
            parse_user("0:wheel"),
            Ok(UserSpec {
                user: Some(Ident::Id(0)),
                group: name("wheel")
            })
        );
        assert_eq!(
            parse_user(":100"),
            Ok(UserSpec {
                user: None,
                group: Some(Ident::Id(100))
            })
        );
        assert_eq!(
            parse_user("u1x"),
            Ok(UserSpec {
                user: name("u1x"),
                group: None
            })
        );
        assert_eq!(
            parse_user("a:b:c"),
            Ok(UserSpec {
                user: name("a"),
                group: name("b")
            })
        );
        assert_eq!(
            parse_user("-1").unwrap_err().to_string(),
            "uids and gids must be in range 0-2147483647"
        );
        assert_eq!(
            parse_user("1:4294967296").unwrap_err().to_string(),
            "uids and gids must be in range 0-2147483647"
        );
    }
}
