//! Container identifiers and names: random 256-bit ids, Docker-style generated names, name validation.

use crate::error::{Error, Result};

/// A fresh 64-hex-digit container id.
pub fn new_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The 12-character short form of an id.
pub fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

/// Whether `s` looks like a (possibly partial) hex id.
pub fn is_hex_prefix(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Validates a user-given container name (Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`) and strips a leading `/`.
pub fn validate_name(name: &str) -> Result<&str> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut bytes = bare.bytes();
    let valid = bare.len() >= 2
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if valid {
        Ok(bare)
    } else {
        Err(Error::InvalidArgument(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager", "fair",
    "fancy", "gentle", "glad", "golden", "happy", "honest", "jolly", "keen", "kind", "lively", "lucid",
    "merry", "mighty", "nimble", "noble", "patient", "plucky", "proud", "quick", "quiet", "rapid", "serene",
    "sharp", "shiny", "silent", "sleepy", "snappy", "steady", "stoic", "sunny", "swift", "tender", "tidy",
    "upbeat", "vivid", "warm", "witty", "zealous", "zen",
];

const NAMES: &[&str] = &[
    "albatross",
    "anchor",
    "barge",
    "beacon",
    "bosun",
    "buoy",
    "cabin",
    "canal",
    "capstan",
    "cargo",
    "coral",
    "cove",
    "current",
    "cutter",
    "delta",
    "dinghy",
    "dock",
    "eddy",
    "ferry",
    "fjord",
    "galley",
    "gull",
    "harbor",
    "hull",
    "inlet",
    "jetty",
    "keel",
    "kelp",
    "lagoon",
    "lighthouse",
    "mast",
    "mooring",
    "narwhal",
    "oar",
    "orca",
    "pelican",
    "pier",
    "port",
    "quay",
    "reef",
    "rudder",
    "sail",
    "schooner",
    "skiff",
    "sloop",
    "tide",
    "tugboat",
    "wharf",
    "yawl",
    "zephyr",
];

/// A generated name like `brave_harbor`; `attempt` > 0 appends a number to step around collisions.
pub fn generate_name(attempt: u32) -> String {
    let a = ADJECTIVES[rand::random_range(0..ADJECTIVES.len())];
    let n = NAMES[rand::random_range(0..NAMES.len())];
    if attempt == 0 {
        format!("{a}_{n}")
    } else {
        format!("{a}_{n}{attempt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_hex() {
        let a = new_id();
        assert_eq!(a.len(), 64);
        assert!(is_hex_prefix(&a));
        assert_ne!(a, new_id());
        assert_eq!(short(&a).len(), 12);
    }

    #[test]
    fn names_are_validated_like_docker() {
        assert_eq!(validate_name("/web-1").unwrap(), "web-1");
        assert_eq!(validate_name("a.b_c").unwrap(), "a.b_c");
        for bad in ["a", "-x", "has space", "x/y", "", "ünï"] {
            let err = validate_name(bad).unwrap_err().to_string();
            assert!(err.starts_with("Invalid container name"), "{bad}: {err}");
        }
    }

    #[test]
    fn generated_names_are_valid() {
        for i in 0..50 {
            validate_name(&generate_name(i % 3)).unwrap();
        }
    }

    #[test]
    fn hex_prefix_rejects_non_hex() {
        assert!(is_hex_prefix("abc123"));
        assert!(!is_hex_prefix("xyz"));
        assert!(!is_hex_prefix("ABC"));
        assert!(!is_hex_prefix(""));
    }
}
