//! Docker image references: parsing with Docker's normalisation (`busybox` is
//! `docker.io/library/busybox`), validation with Docker's error texts, and the familiar display form.

mod grammar;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, is_lower_hex};
use crate::error::{Error, Result};

/// Registry used when a reference names none.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// Tag added to references that carry neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
const NAME_MAX: usize = 255;

/// A normalised reference: `domain/path[:tag][@digest]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

fn invalid() -> Error {
    Error::InvalidReference("invalid reference format".into())
}

impl Reference {
    /// Parses and normalises like Docker's `ParseNormalizedNamed` (no default tag is added).
    pub fn parse_normalized(s: &str) -> Result<Reference> {
        if s.len() == 64 && is_lower_hex(s) {
            return Err(Error::InvalidReference(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split_once(':').map_or(remainder.as_str(), |(r, _)| r);
        if remote.to_lowercase() != remote {
            return Err(Error::InvalidReference(format!(
                "invalid reference format: repository name ({remote}) must be lowercase"
            )));
        }
        let (name_tag, digest) = match remainder.split_once('@') {
            Some((n, d)) => (n, Some(grammar::parse_digest(d)?)),
            None => (remainder.as_str(), None),
        };
        let (path, tag) = match name_tag.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t)),
            _ => (name_tag, None),
        };
        if let Some(t) = tag
            && !grammar::valid_tag(t)
        {
            return Err(invalid());
        }
        if !grammar::valid_domain(&domain) || !path.split('/').all(grammar::valid_path_component) {
            return Err(invalid());
        }
        if domain.len() + 1 + path.len() > NAME_MAX {
            return Err(Error::InvalidReference(format!(
                "repository name must not be more than {NAME_MAX} characters"
            )));
        }
        Ok(Reference {
            domain,
            path: path.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// Parses, normalises and adds the `latest` tag when there is neither tag nor digest
    /// (Docker's `ParseNormalizedNamed` + `TagNameOnly`).
    pub fn parse(s: &str) -> Result<Reference> {
        Reference::parse_normalized(s).map(Reference::with_default_tag)
    }

    /// Adds the `latest` tag when the reference has neither tag nor digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// The same repository with `tag` and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Reference> {
        if !grammar::valid_tag(tag) {
            return Err(Error::InvalidReference("invalid tag format".into()));
        }
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository with `digest` and no tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The registry host (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full repository name (`docker.io/library/busybox`).
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository name as Docker shows it (`busybox`, `user/app`, `localhost:5000/x`).
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    /// The whole reference as Docker shows it (`busybox:latest`, `user/app@sha256:...`).
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
    }
}

/// Docker's `splitDockerDomain`: the first component is a registry only if it looks like one.
fn split_docker_domain(s: &str) -> (String, String) {
    let (mut domain, mut remainder) = match s.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), s.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_PREFIX}{remainder}");
    }
    (domain, remainder)
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Reference> {
        Reference::parse_normalized(s)
    }
}
