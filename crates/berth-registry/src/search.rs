//! Searching an index through Docker Hub's v1 search API (`GET <index>/v1/search?q=<term>&n=<limit>`), as
//! dockerd does (moby `registry/search.go`, `search_session.go`): a term whose first component names a registry
//! (`localhost:5000/foo`, `reg.example/foo`) searches that registry (plain HTTP on loopback and insecure
//! registries, as [`Endpoint`](crate::Endpoint) decides), every other term searches Docker Hub's index
//! (`https://index.docker.io`, with `library/` dropped). A registry without the v1 API (any distribution
//! registry) answers 404, which Docker reports as `unexpected status code 404`.

use serde::{Deserialize, Serialize};

use crate::credentials::{AuthConfig, encode_auth};
use crate::endpoint::{self, DOCKER_HUB, RegistryOptions};
use crate::error::{Error, Result};
use crate::transport::{Transport, urlencode};

/// Docker Hub's search index.
const HUB_INDEX: &str = "https://index.docker.io";
/// Docker's default number of results.
const DEFAULT_LIMIT: u32 = 25;
/// Largest search answer read.
const ANSWER_LIMIT: u64 = 8 << 20;

/// One repository found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    pub name: String,
    pub description: String,
    pub star_count: u64,
    pub is_official: bool,
    pub is_automated: bool,
}

/// Where a search term is searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchIndex {
    /// The registry the term names (`docker.io`, `localhost:5000`).
    pub registry: String,
    /// Base URL of its v1 API, without a trailing slash (`https://index.docker.io`).
    pub base: String,
    /// What to search it for (`foo` of `localhost:5000/foo`).
    pub term: String,
}

/// The index a search term names (Docker's `splitReposSearchTerm`).
pub fn search_index(term: &str, opts: &RegistryOptions) -> Result<SearchIndex> {
    if term.contains("://") {
        return Err(Error::InvalidArgument(format!(
            "invalid repository name: repository name ({term}) should not have a scheme"
        )));
    }
    match term.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            let official = ["docker.io", "index.docker.io", "registry-1.docker.io"].contains(&first);
            if !official {
                let scheme = if endpoint::is_insecure(first, opts) {
                    "http"
                } else {
                    "https"
                };
                return Ok(SearchIndex {
                    registry: first.to_string(),
                    base: format!("{scheme}://{first}"),
                    term: rest.to_string(),
                });
            }
            Ok(hub(rest))
        }
        _ => Ok(hub(term)),
    }
}

fn hub(term: &str) -> SearchIndex {
    SearchIndex {
        registry: DOCKER_HUB.to_string(),
        base: HUB_INDEX.to_string(),
        term: term.strip_prefix("library/").unwrap_or(term).to_string(),
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<RawResult>,
}

#[derive(Deserialize)]
struct RawResult {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    star_count: Option<u64>,
    #[serde(default)]
    is_official: Option<bool>,
    #[serde(default)]
    is_automated: Option<bool>,
}

/// Searches the index at `base` (see [`search_index`]) for `term`, at most `limit` results (0: Docker's 25;
/// more than 100 is refused). Basic credentials are sent when given, as Docker's v1 client does.
pub fn search(base: &str, term: &str, limit: u32, auth: Option<&AuthConfig>) -> Result<Vec<SearchResult>> {
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    if limit > 100 {
        return Err(Error::InvalidArgument(format!(
            "limit {limit} is outside the range of [1, 100]"
        )));
    }
    let url = format!(
        "{}/v1/search?q={}&n={limit}",
        base.trim_end_matches('/'),
        urlencode(term)
    );
    let basic = auth
        .filter(|a| !a.username.is_empty())
        .map(|a| format!("Basic {}", encode_auth(&a.username, &a.password)));
    let mut resp = Transport::new().get(&url, Some("application/json"), basic.as_deref())?;
    let status = resp.status().as_u16();
    if status != 200 {
        let msg = format!("unexpected status code {status}");
        return Err(match status {
            401 | 403 => Error::Unauthorized(msg),
            404 => Error::NotFound(msg),
            _ => Error::InvalidResponse(msg),
        });
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(ANSWER_LIMIT)
        .read_to_vec()
        .map_err(|e| Error::Unreachable(format!("read search results from {url}: {e}")))?;
    let answer: Answer = serde_json::from_slice(&body)
        .map_err(|e| Error::InvalidResponse(format!("error decoding registry search results: {e}")))?;
    Ok(answer
        .results
        .into_iter()
        .map(|r| SearchResult {
            name: r.name.unwrap_or_default(),
            description: r.description.unwrap_or_default(),
            star_count: r.star_count.unwrap_or_default(),
            is_official: r.is_official.unwrap_or_default(),
            is_automated: r.is_automated.unwrap_or_default(),
        })
        .collect())
}

/// Searches the index `term` names ([`search_index`]) for what it asks.
pub fn search_term(
    term: &str,
    limit: u32,
    opts: &RegistryOptions,
    auth: Option<&AuthConfig>,
) -> Result<Vec<SearchResult>> {
    let index = search_index(term, opts)?;
    search(&index.base, &index.term, limit, auth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_http::{Canned, answer};

    #[test]
    fn terms_name_their_index() {
        let none = RegistryOptions::default();
        let i = search_index("busybox", &none).unwrap();
        assert_eq!(
            (i.registry.as_str(), i.base.as_str(), i.term.as_str()),
            ("docker.io", HUB_INDEX, "busybox")
        );
        assert_eq!(search_index("library/redis", &none).unwrap().term, "redis");
        assert_eq!(search_index("someone/tool", &none).unwrap().term, "someone/tool");
        assert_eq!(search_index("docker.io/library/x", &none).unwrap().term, "x");
        let i = search_index("localhost:5000/foo/bar", &none).unwrap();
        assert_eq!(
            (i.registry.as_str(), i.base.as_str(), i.term.as_str()),
            ("localhost:5000", "http://localhost:5000", "foo/bar")
        );
        assert_eq!(
            search_index("localhost/foo", &none).unwrap().base,
            "http://localhost"
        );
        assert_eq!(search_index("quay.io/x", &none).unwrap().base, "https://quay.io");
        let e = search_index("https://quay.io/x", &none).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid repository name: repository name (https://quay.io/x) should not have a scheme"
        );
    }

    #[test]
    fn results_are_parsed() {
        let body = r#"{"num_results":2,"query":"busy","page":1,"results":[
            {"name":"busybox","description":"Busybox base image.","star_count":3200,"is_official":true,"is_automated":false},
            {"name":"someone/busy","description":null,"star_count":0,"is_official":false,"is_automated":true}]}"#;
        let server = Canned::serve(vec![answer(
            "200 OK",
            &[("Content-Type", "application/json")],
            body,
        )]);
        let auth = AuthConfig {
            username: "u".into(),
            password: "p".into(),
            ..Default::default()
        };
        let found = search(&server.url, "busy box", 0, Some(&auth)).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0],
            SearchResult {
                name: "busybox".into(),
                description: "Busybox base image.".into(),
                star_count: 3200,
                is_official: true,
                is_automated: false,
            }
        );
        assert_eq!(found[1].description, "");
        assert!(found[1].is_automated);
        let req = &server.requests()[0];
        assert!(
            req.starts_with("GET /v1/search?q=busy%20box&n=25 HTTP/1.1"),
            "{req}"
        );
        assert!(
            req.contains("authorization: Basic dTpw") || req.contains("Authorization: Basic dTpw"),
            "{req}"
        );
        let json = serde_json::to_value(&found[0]).unwrap();
        assert_eq!(json["star_count"], 3200);
        assert_eq!(json["is_official"], true);
    }

    #[test]
    fn terms_naming_a_registry_search_it() {
        let body = r#"{"results":[{"name":"foo/bar","star_count":1}]}"#;
        let server = Canned::serve(vec![answer("200 OK", &[], body)]);
        let host = server.url.trim_start_matches("http://").to_string();
        let found = search_term(&format!("{host}/foo"), 5, &RegistryOptions::default(), None).unwrap();
        assert_eq!(found[0].name, "foo/bar");
        assert_eq!(found[0].star_count, 1);
        let req = &server.requests()[0];
        assert!(req.starts_with("GET /v1/search?q=foo&n=5 HTTP/1.1"), "{req}");
    }

    #[test]
    fn refusals_and_failures() {
        let server = Canned::serve(vec![
            answer("404 Not Found", &[], "404 page not found"),
            answer("200 OK", &[], "<html>"),
        ]);
        let e = search(&server.url, "x", 10, None).unwrap_err();
        assert_eq!(e.to_string(), "unexpected status code 404");
        let e = search(&server.url, "x", 10, None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("error decoding registry search results: "),
            "{e}"
        );
        server.requests();
        let e = search("http://127.0.0.1:1", "x", 101, None).unwrap_err();
        assert_eq!(e.to_string(), "limit 101 is outside the range of [1, 100]");
        // A port nobody listens on: the offline error, one line, in transport's words.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = search(&format!("http://127.0.0.1:{port}"), "x", 0, None).unwrap_err();
        assert!(matches!(e, Error::Unreachable(_)));
        assert_eq!(
            e.to_string(),
            format!("Get \"http://127.0.0.1:{port}/v1/search?q=x&n=25\": connect: connection refused")
        );
    }
}
