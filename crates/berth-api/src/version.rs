//! API versions: the range served, and how a request's `/vX.Y` path prefix is read and checked.

/// The version this server speaks (Docker 20.10's).
pub const API_VERSION: &str = "1.41";
/// The oldest version accepted in a path prefix.
pub const MIN_API_VERSION: &str = "1.24";

/// A version as (major, minor).
pub fn parse(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// What a request path says about its version.
#[derive(Debug, PartialEq, Eq)]
pub enum Prefix<'a> {
    /// No `/vX.Y` prefix: the path as it is, answered at the current version.
    None,
    /// A supported version, and the path after the prefix.
    Supported { version: (u32, u32), rest: &'a str },
    /// A prefix naming a version outside the served range: the message to answer with (400).
    Unsupported(String),
}

/// Splits `/v1.41/containers/json` into its version and `/containers/json`.
pub fn split_prefix(path: &str) -> Prefix<'_> {
    let Some(after) = path.strip_prefix("/v") else {
        return Prefix::None;
    };
    let (v, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    let Some(version) = parse(v) else {
        return Prefix::None;
    };
    let (min, max) = (parse(MIN_API_VERSION), parse(API_VERSION));
    if Some(version) > max {
        return Prefix::Unsupported(format!(
            "client version {v} is too new. Maximum supported API version is {API_VERSION}"
        ));
    }
    if Some(version) < min {
        return Prefix::Unsupported(format!(
            "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        ));
    }
    Prefix::Supported { version, rest }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(split_prefix("/_ping"), Prefix::None);
        assert_eq!(
            split_prefix("/v1.41/containers/json"),
            Prefix::Supported {
                version: (1, 41),
                rest: "/containers/json"
            }
        );
        assert_eq!(
            split_prefix("/v1.24/version"),
            Prefix::Supported {
                version: (1, 24),
                rest: "/version"
            }
        );
        assert!(matches!(split_prefix("/v1.50/version"), Prefix::Unsupported(m) if m.contains("too new")));
        assert!(matches!(split_prefix("/v1.12/version"), Prefix::Unsupported(m) if m.contains("too old")));
        // A path that merely starts with "v" is not a version.
        assert_eq!(split_prefix("/volumes"), Prefix::None);
        assert_eq!(split_prefix("/vx.y/info"), Prefix::None);
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(parse("1.9") < parse("1.41"));
        assert_eq!(parse("1"), None);
    }
}
