//! Platforms (`os/arch[/variant]`): parsing `--platform`, normalisation as containerd does it (`x86_64` is
//! `amd64`, `aarch64` is `arm64`, `arm` means `arm/v7`, `arm64/v8` is `arm64`), and choosing an index entry.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::Descriptor;

/// A platform as indexes and image configs state it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

impl Platform {
    /// The platform pulled when none is asked for: this engine runs linux/amd64 containers.
    pub fn host() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: String::new(),
        }
    }

    /// Parses `os[/arch[/variant]]` (Docker's `--platform`), normalised.
    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        let valid = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if parts.len() > 3 || !parts.iter().all(|p| valid(p)) {
            return Err(Error::InvalidArgument(format!(
                "\"{s}\": unknown operating system or architecture: invalid argument"
            )));
        }
        let p = Platform {
            os: parts[0].to_lowercase(),
            architecture: parts.get(1).map_or("amd64".to_string(), |a| a.to_lowercase()),
            variant: parts.get(2).map(|v| v.to_lowercase()).unwrap_or_default(),
        };
        Ok(p.normalized())
    }

    /// The canonical spelling of this platform.
    pub fn normalized(&self) -> Platform {
        let (arch, mut variant) = match self.architecture.as_str() {
            "x86_64" | "x86-64" => ("amd64", self.variant.clone()),
            "i386" => ("386", self.variant.clone()),
            "aarch64" => ("arm64", self.variant.clone()),
            "armhf" => ("arm", "v7".to_string()),
            "armel" => ("arm", "v6".to_string()),
            a => (a, self.variant.clone()),
        };
        if matches!(variant.as_str(), "5" | "6" | "7" | "8") {
            variant = format!("v{variant}");
        }
        match (arch, variant.as_str()) {
            ("arm64", "v8") | ("amd64", "v1") => variant.clear(),
            ("arm", "") => variant = "v7".into(),
            _ => {}
        }
        Platform {
            os: self.os.to_lowercase(),
            architecture: arch.to_string(),
            variant,
        }
    }

    /// Whether an image of platform `other` runs as `self` (same os and architecture; same variant when `self`
    /// names one).
    pub fn matches(&self, other: &Platform) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.os == b.os && a.architecture == b.architecture && (a.variant.is_empty() || a.variant == b.variant)
    }

    /// The entry of an index to pull for this platform: an exact match first, else the first compatible one.
    pub fn select<'a>(&self, entries: &'a [Descriptor]) -> Option<&'a Descriptor> {
        let want = self.normalized();
        let candidates = || {
            entries
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| (d, p.normalized())))
        };
        candidates()
            .find(|(_, p)| *p == want)
            .or_else(|| candidates().find(|(_, p)| want.matches(p)))
            .map(|(d, _)| d)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(p: &str) -> Descriptor {
        Descriptor {
            media_type: String::new(),
            digest: format!("sha256:{p}"),
            size: 1,
            platform: Some(Platform::parse(p).unwrap()),
        }
    }

    #[test]
    fn parse_and_normalise() {
        assert_eq!(Platform::parse("linux/amd64").unwrap(), Platform::host());
        assert_eq!(
            Platform::parse("Linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/aarch64").unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(Platform::parse("linux/arm").unwrap().to_string(), "linux/arm/v7");
        assert_eq!(
            Platform::parse("linux/arm/6").unwrap().to_string(),
            "linux/arm/v6"
        );
        assert_eq!(Platform::parse("linux").unwrap().to_string(), "linux/amd64");
        for bad in ["", "linux/", "a/b/c/d", "linux/am d64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn selection() {
        let entries = vec![
            entry("linux/arm/v6"),
            entry("linux/arm/v7"),
            entry("linux/arm64"),
            entry("linux/amd64"),
        ];
        let pick = |p: &str| {
            Platform::parse(p)
                .unwrap()
                .select(&entries)
                .map(|d| d.digest.clone())
        };
        assert_eq!(pick("linux/amd64").unwrap(), "sha256:linux/amd64");
        assert_eq!(pick("linux/arm64/v8").unwrap(), "sha256:linux/arm64");
        assert_eq!(pick("linux/arm/v6").unwrap(), "sha256:linux/arm/v6");
        assert_eq!(pick("linux/arm").unwrap(), "sha256:linux/arm/v7");
        assert!(pick("linux/s390x").is_none());
        assert!(pick("windows/amd64").is_none());
        let unknown = Descriptor {
            platform: Some(Platform {
                os: "unknown".into(),
                architecture: "unknown".into(),
                variant: String::new(),
            }),
            ..entry("linux/amd64")
        };
        assert!(Platform::host().select(&[unknown]).is_none());
    }
}
