//! Pushing to a repository, as Docker's pusher does it (moby `distribution/push_v2.go` on distribution's
//! client): whether a blob is there already (`HEAD`), mounting a blob from another repository of the same
//! registry (`POST …/blobs/uploads/?mount=&from=`), monolithic uploads (`POST` then one `PUT ?digest=` with the
//! whole body) and manifest `PUT`s. Upload sessions are kept in [`Session`], shared with [`crate::upload`]'s
//! streamed and chunked uploads; a session that fails midway is cancelled (`DELETE` of its location, best
//! effort). Refusals are worded as Docker's distribution client words them (`denied: requested access to the
//! resource is denied`, `blob upload invalid: …`).

use ureq::http::Method;

use crate::client::{Repository, Req, name_request};
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, sha256_digest};
use crate::refusal::Refusal;
use crate::transport::{HttpResponse, Payload, method_name, urlencode};

/// An upload session: where its next request goes.
pub(crate) struct Session {
    /// The absolute URL of the session's last `Location`.
    pub(crate) location: String,
}

/// What starting an upload with a mount request gave.
enum Started {
    /// The registry mounted the blob (201).
    Mounted,
    /// The registry opened an upload session instead (202).
    Session(Session),
}

impl Repository<'_> {
    /// Sends a request of a push with this repository's scope (or `scope`).
    pub(crate) fn push_send(&self, scope: Option<&str>, req: Req<'_>) -> Result<HttpResponse> {
        let (method, url) = (req.method.clone(), req.url.to_string());
        self.client
            .send(scope.unwrap_or(&self.scope), req)
            .map_err(|e| match e {
                // Docker's pusher reports a missing login without naming the request.
                Error::Unauthorized(m) if m == "no basic auth credentials" => Error::Unauthorized(m),
                e => name_request(e, &method_name(&method), &url),
            })
    }

    /// The error of a refused push request, in Docker's words; `what` names the request's object for a 404
    /// without an explanation (`blob upload unknown`).
    pub(crate) fn push_failure(&self, resp: HttpResponse, what: &str) -> Error {
        let r = Refusal::read(resp);
        match (r.status.as_u16(), r.code.as_str()) {
            (_, "DENIED" | "UNAUTHORIZED") | (401 | 403, _) => Error::Unauthorized(r.describe()),
            (_, "NAME_UNKNOWN" | "BLOB_UNKNOWN" | "BLOB_UPLOAD_UNKNOWN" | "MANIFEST_UNKNOWN") => {
                Error::NotFound(r.describe())
            }
            (404, "") => Error::NotFound(what.to_string()),
            _ => Error::InvalidResponse(r.describe()),
        }
    }

    /// Whether the registry has the blob `d` in this repository. A blob of another size counts as absent.
    pub fn blob_exists(&self, d: &Descriptor) -> Result<bool> {
        let url = self.url(&format!("blobs/{}", d.digest));
        let resp = self.push_send(None, Req::new(Method::HEAD, &url, &[], Payload::None))?;
        match resp.status().as_u16() {
            200 => Ok(resp
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .is_none_or(|len| len == d.size)),
            404 => Ok(false),
            _ => Err(self.push_failure(resp, "blob unknown to registry")),
        }
    }

    /// Asks the registry to mount the blob `digest` of repository `from_path` into this one. Returns whether it
    /// did; when it opened an upload session instead, the session is cancelled.
    pub fn mount_blob(&self, digest: &str, from_path: &str) -> Result<bool> {
        let query = format!("mount={}&from={}", urlencode(digest), urlencode(from_path));
        let scope = format!("{} repository:{from_path}:pull", self.scope);
        match self.start_upload(&query, Some(&scope))? {
            Started::Mounted => Ok(true),
            Started::Session(s) => {
                self.cancel(&s);
                Ok(false)
            }
        }
    }

    /// Uploads `data`, whose digest is `digest`, in one request. The digest is checked first: a registry
    /// refusing it would keep the session (distribution cannot cancel a session its failed `PUT` moved on).
    pub fn upload_bytes(&self, data: &[u8], digest: &str) -> Result<()> {
        let actual = sha256_digest(data);
        if actual != digest {
            return Err(Error::InvalidArgument(format!(
                "digest invalid: provided digest {digest} did not match uploaded content {actual}"
            )));
        }
        self.with_session(|s| self.commit(s, digest, data))
    }

    /// Stores the manifest `raw` of type `media_type` under `reference` (a tag or its digest). Returns its
    /// digest, checked against the registry's `Docker-Content-Digest`.
    pub fn put_manifest(&self, reference: &str, media_type: &str, raw: &[u8]) -> Result<String> {
        let url = self.url(&format!("manifests/{reference}"));
        let headers = [("Content-Type", media_type)];
        let resp = self.push_send(None, Req::new(Method::PUT, &url, &headers, Payload::Bytes(raw)))?;
        if resp.status().as_u16() != 201 {
            return Err(self.push_failure(resp, "manifest unknown"));
        }
        let digest = sha256_digest(raw);
        check_digest(&resp, &digest, "manifest")?;
        Ok(digest)
    }

    /// `POST …/blobs/uploads/[?query]`: a new upload session, or a mounted blob.
    fn start_upload(&self, query: &str, scope: Option<&str>) -> Result<Started> {
        let mut url = self.url("blobs/uploads/");
        if !query.is_empty() {
            url = with_query(&url, query);
        }
        let resp = self.push_send(scope, Req::new(Method::POST, &url, &[], Payload::Bytes(b"")))?;
        match resp.status().as_u16() {
            201 if !query.is_empty() => Ok(Started::Mounted),
            202 => Ok(Started::Session(Session {
                location: self.location(&resp, &url)?,
            })),
            _ => Err(self.push_failure(resp, "blob upload unknown")),
        }
    }

    /// Runs `f` in a new upload session; the session is cancelled when `f` fails.
    pub(crate) fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let Started::Session(mut session) = self.start_upload("", None)? else {
            return Err(Error::InvalidResponse(
                "registry answered a new upload with 201".into(),
            ));
        };
        let out = f(&mut session);
        if out.is_err() {
            self.cancel(&session);
        }
        out
    }

    /// Ends a session: `PUT <location>?digest=` with the last `body` (empty when the content went by `PATCH`).
    pub(crate) fn commit(&self, s: &Session, digest: &str, body: &[u8]) -> Result<()> {
        let url = with_query(&s.location, &format!("digest={}", urlencode(digest)));
        let headers = [("Content-Type", "application/octet-stream")];
        let resp = self.push_send(None, Req::new(Method::PUT, &url, &headers, Payload::Bytes(body)))?;
        if resp.status().as_u16() != 201 {
            return Err(self.push_failure(resp, "blob upload unknown"));
        }
        check_digest(&resp, digest, "blob")
    }

    /// Cancels a session (`DELETE` of its location), best effort: it expires on the registry anyway.
    pub(crate) fn cancel(&self, s: &Session) {
        let _ = self.push_send(None, Req::new(Method::DELETE, &s.location, &[], Payload::None));
    }

    /// The absolute URL of an answer's `Location` (relative to `url`, the request's).
    pub(crate) fn location(&self, resp: &HttpResponse, url: &str) -> Result<String> {
        let loc = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| Error::InvalidResponse(format!("no Location in the answer to {url}")))?;
        Ok(resolve_location(url, loc))
    }
}

/// Refuses an answer whose `Docker-Content-Digest` is not `digest`.
fn check_digest(resp: &HttpResponse, digest: &str, what: &str) -> Result<()> {
    match resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    {
        Some(d) if d != digest => Err(Error::Verification(format!(
            "registry stored the {what} as {d}, its content is {digest}"
        ))),
        _ => Ok(()),
    }
}

/// `url` with `query` appended after `?` or `&`.
pub(crate) fn with_query(url: &str, query: &str) -> String {
    let sep = match url.rfind('?') {
        None => "?",
        Some(i) if i + 1 == url.len() || url.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{url}{sep}{query}")
}

/// A `Location` made absolute against the URL of the request it answered.
fn resolve_location(base: &str, loc: &str) -> String {
    if loc.starts_with("http://") || loc.starts_with("https://") {
        return loc.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find(['/', '?'])
        .map_or(base.len(), |i| scheme_end + i);
    if let Some(rest) = loc.strip_prefix("//") {
        return format!("{}{rest}", &base[..scheme_end]);
    }
    if loc.starts_with('/') {
        return format!("{}{loc}", &base[..authority_end]);
    }
    let path = base.split('?').next().unwrap_or(base);
    match path.rfind('/').filter(|&i| i >= authority_end) {
        Some(i) => format!("{}{loc}", &path[..=i]),
        None => format!("{path}/{loc}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Client;
    use crate::endpoint::{Endpoint, RegistryOptions};
    use crate::test_http::{Canned, answer};

    const CHALLENGE: (&str, &str) = ("WWW-Authenticate", r#"Bearer realm="{url}/token",service="svc""#);
    const DIGEST: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn client(url: &str) -> Client {
        let host = url.trim_start_matches("http://");
        Client::new(Endpoint::resolve(host, &RegistryOptions::default()), None)
    }

    #[test]
    fn mounts_ask_for_both_scopes() {
        let server = Canned::serve(vec![
            answer("401 Unauthorized", &[CHALLENGE], "{}"),
            answer("200 OK", &[], r#"{"token":"t"}"#),
            answer("201 Created", &[("Location", "/v2/a/blobs/x")], ""),
        ]);
        let c = client(&server.url);
        assert!(
            c.repository_for_push("a", "a")
                .mount_blob(DIGEST, "lib/b")
                .unwrap()
        );
        let reqs = server.requests();
        assert!(
            reqs[0].starts_with("POST /v2/a/blobs/uploads/?mount=sha256%3A2cf24dba")
                && reqs[0].contains("&from=lib%2Fb "),
            "{}",
            reqs[0]
        );
        assert!(
            reqs[1].starts_with(
                "GET /token?service=svc&scope=repository%3Aa%3Apull%2Cpush&scope=repository%3Alib%2Fb%3Apull HTTP"
            ),
            "{}",
            reqs[1]
        );
    }

    #[test]
    fn refusals_of_pushes() {
        let denied = (
            "WWW-Authenticate",
            r#"Bearer realm="{url}/token",service="svc",error="insufficient_scope""#,
        );
        let server = Canned::serve(vec![
            answer("401 Unauthorized", &[CHALLENGE], "{}"),
            answer("200 OK", &[], r#"{"token":"anonymous"}"#),
            answer(
                "401 Unauthorized",
                &[denied],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"x"}]}"#,
            ),
            answer(
                "400 Bad Request",
                &[("Content-Type", "application/json")],
                r#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#,
            ),
            answer("500 Internal Server Error", &[], ""),
        ]);
        let c = client(&server.url);
        let repo = c.repository_for_push("a", "a");
        let e = repo.upload_bytes(b"hello", DIGEST).unwrap_err();
        assert!(matches!(e, Error::Unauthorized(_)));
        assert_eq!(
            e.to_string(),
            "denied: requested access to the resource is denied"
        );
        let e = repo
            .put_manifest("v1", "application/vnd.oci.image.manifest.v1+json", b"{}")
            .unwrap_err();
        assert_eq!(e.to_string(), "manifest blob unknown: blob unknown to registry");
        let e = repo.blob_exists(&Descriptor {
            media_type: String::new(),
            digest: DIGEST.into(),
            size: 5,
            platform: None,
        });
        assert_eq!(
            e.unwrap_err().to_string(),
            "received unexpected HTTP status: 500 Internal Server Error"
        );
        server.requests();
        // Nobody listens: transport's words, with the method's name.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = client(&format!("http://127.0.0.1:{port}"));
        let e = c
            .repository_for_push("a", "a")
            .put_manifest("v1", "x", b"{}")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Put \"http://127.0.0.1:{port}/v2/a/manifests/v1\": connect: connection refused")
        );
    }

    #[test]
    fn locations_and_queries() {
        let base = "http://127.0.0.1:5000/v2/a/b/blobs/uploads/";
        assert_eq!(
            resolve_location(base, "/v2/a/b/blobs/uploads/u?_state=x"),
            "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u?_state=x"
        );
        assert_eq!(
            resolve_location(base, "https://other.example/up/1"),
            "https://other.example/up/1"
        );
        assert_eq!(
            resolve_location(base, "u1"),
            "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u1"
        );
        assert_eq!(
            resolve_location("https://h/v2/x?q=1", "//cdn.example/p"),
            "https://cdn.example/p"
        );
        assert_eq!(resolve_location("https://h", "u"), "https://h/u");
        assert_eq!(with_query("http://h/u", "digest=d"), "http://h/u?digest=d");
        assert_eq!(
            with_query("http://h/u?_state=s", "digest=d"),
            "http://h/u?_state=s&digest=d"
        );
        assert_eq!(with_query("http://h/u?", "digest=d"), "http://h/u?digest=d");
    }
}
