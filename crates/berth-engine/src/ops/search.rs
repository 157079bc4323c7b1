//! `search`: Docker Hub's (or a registry's) v1 search, with dockerd's filters applied to the answer.

use std::collections::HashMap;

use berth_registry::AuthConfig;
pub use berth_registry::search::SearchResult;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// Options of [`Engine::search`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchOptions {
    /// Results wanted (1–100); 0: the index's default (25).
    pub limit: u32,
    /// Credentials for the index (`X-Registry-Auth`).
    pub auth: Option<AuthConfig>,
    /// `is-official=true|false`.
    pub official: Option<bool>,
    /// `is-automated=true|false`.
    pub automated: Option<bool>,
    /// `stars=N`: at least N stars.
    pub stars: u64,
}

impl SearchOptions {
    /// Options from the API's `limit` and `filters` (`{"is-official": ["true"], "stars": ["3"]}`).
    pub fn from_filters(limit: u32, filters: &HashMap<String, Vec<String>>) -> Result<SearchOptions> {
        let mut opts = SearchOptions {
            limit,
            ..Default::default()
        };
        for (key, values) in filters {
            for v in values {
                let flag = || match v.as_str() {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(Error::InvalidArgument(format!("invalid filter '{key}={v}'"))),
                };
                match key.as_str() {
                    "is-official" => opts.official = Some(flag()?),
                    "is-automated" => opts.automated = Some(flag()?),
                    "stars" => {
                        let n = v
                            .parse::<u64>()
                            .map_err(|_| Error::InvalidArgument(format!("invalid filter 'stars={v}'")))?;
                        opts.stars = opts.stars.max(n);
                    }
                    _ => return Err(Error::InvalidArgument(format!("invalid filter '{key}'"))),
                }
            }
        }
        Ok(opts)
    }

    fn keeps(&self, r: &SearchResult) -> bool {
        self.official.is_none_or(|o| o == r.is_official)
            && self.automated.is_none_or(|a| a == r.is_automated)
            && r.star_count >= self.stars
    }
}

impl Engine {
    /// Searches for `term` (`busybox`, or `host:5000/term` for a registry's own search).
    pub fn search(&self, term: &str, opts: &SearchOptions) -> Result<Vec<SearchResult>> {
        let results =
            berth_registry::search_term(term, opts.limit, &self.opts.registry.options, opts.auth.as_ref())?;
        Ok(results.into_iter().filter(|r| opts.keeps(r)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(official: bool, stars: u64) -> SearchResult {
        SearchResult {
            name: "x".into(),
            description: String::new(),
            star_count: stars,
            is_official: official,
            is_automated: false,
        }
    }

    #[test]
    fn filters_as_dockerd() {
        let f = |pairs: &[(&str, &str)]| {
            let mut m: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in pairs {
                m.entry(k.to_string()).or_default().push(v.to_string());
            }
            SearchOptions::from_filters(0, &m)
        };
        let o = f(&[("is-official", "true"), ("stars", "3")]).unwrap();
        assert!(o.keeps(&result(true, 3)));
        assert!(!o.keeps(&result(true, 2)));
        assert!(!o.keeps(&result(false, 9)));
        assert!(
            f(&[("stars", "x")])
                .unwrap_err()
                .to_string()
                .contains("invalid filter 'stars=x'")
        );
        assert!(
            f(&[("color", "red")])
                .unwrap_err()
                .to_string()
                .contains("invalid filter 'color'")
        );
        assert!(f(&[("is-official", "maybe")]).is_err());
    }
}
