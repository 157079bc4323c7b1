//! The registry client: one per registry (connection pool and authorization state), handing out [`Repository`]
//! handles that fetch manifests (digests computed from the raw bytes, never from a re-serialisation), resolve
//! indexes to one platform's image manifest, stream verified blobs and list tags (pushing is in
//! `push` and `upload`). Every request goes through [`Client::send`]: one that meets a 401
//! answers the challenge once (bearer token or basic credentials) and is sent again.

use ureq::http::Method;

use crate::auth::Authorizer;
use crate::blob::VerifiedBlob;
use crate::challenge;
use crate::credentials::AuthConfig;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::manifest::{self, Descriptor, Document, ImageManifest};
use crate::platform::Platform;
use crate::refusal::Refusal;
use crate::transport::{HttpResponse, Payload, Transport};

/// Largest manifest accepted (Docker's limit).
const MANIFEST_LIMIT: u64 = 4 << 20;

/// A client of one registry.
pub struct Client {
    transport: Transport,
    endpoint: Endpoint,
    pub(crate) auth: Authorizer,
}

/// One repository of a registry.
pub struct Repository<'c> {
    pub(crate) client: &'c Client,
    /// Path inside the registry (`library/busybox`).
    path: String,
    /// The repository as Docker names it in messages (`busybox`, `127.0.0.1:5000/x`).
    shown: String,
    /// The token scope of its requests (`repository:library/busybox:pull`).
    pub(crate) scope: String,
}

/// One request.
pub(crate) struct Req<'a> {
    pub(crate) method: Method,
    pub(crate) url: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) body: Payload<'a>,
}

impl<'a> Req<'a> {
    pub(crate) fn new(
        method: Method,
        url: &'a str,
        headers: &'a [(&'a str, &'a str)],
        body: Payload<'a>,
    ) -> Self {
        Req {
            method,
            url,
            headers,
            body,
        }
    }
}

/// A fetched manifest document.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The exact bytes served.
    pub raw: Vec<u8>,
    /// `sha256:` of `raw`.
    pub digest: String,
    pub document: Document,
}

/// An image manifest chosen for a reference and a platform.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Digest of what the reference names (the index when it names one): Docker's `Digest:` and `RepoDigests`.
    pub digest: String,
    /// Digest of the image manifest.
    pub manifest_digest: String,
    pub manifest: ImageManifest,
    /// The image manifest's exact bytes.
    pub raw: Vec<u8>,
}

impl Client {
    /// A client for `endpoint` with optional credentials.
    pub fn new(endpoint: Endpoint, creds: Option<AuthConfig>) -> Client {
        Client {
            transport: Transport::new(),
            endpoint,
            auth: Authorizer::new(creds),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The repository `path` (`library/busybox`), shown in messages as `shown` (`busybox`), for pulling.
    pub fn repository(&self, path: &str, shown: &str) -> Repository<'_> {
        self.repository_with_scope(path, shown, format!("repository:{path}:pull"))
    }

    /// The repository `path` for pushing: its token scope asks for `pull,push`.
    pub fn repository_for_push(&self, path: &str, shown: &str) -> Repository<'_> {
        self.repository_with_scope(path, shown, format!("repository:{path}:pull,push"))
    }

    fn repository_with_scope(&self, path: &str, shown: &str, scope: String) -> Repository<'_> {
        Repository {
            client: self,
            path: path.to_string(),
            shown: shown.to_string(),
            scope,
        }
    }

    /// Sends `req` authorized for `scope`; a 401 with a challenge is answered once and the request sent again
    /// (a streamed body cannot be sent twice: its 401 is returned as is).
    pub(crate) fn send(&self, scope: &str, req: Req<'_>) -> Result<HttpResponse> {
        self.exchange(scope, false, req)
    }

    /// [`Client::send`], asking a token service for a refresh token too when `offline` (as logins do).
    pub(crate) fn exchange(&self, scope: &str, offline: bool, req: Req<'_>) -> Result<HttpResponse> {
        let t = &self.transport;
        let auth = self.auth.header(scope);
        let again = req.body.again();
        let resp = t.send(
            &req.method,
            req.url,
            &with_auth(req.headers, auth.as_deref()),
            req.body,
        )?;
        let Some(body) = again.filter(|_| resp.status().as_u16() == 401) else {
            return Ok(resp);
        };
        let challenges: Vec<_> = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(challenge::parse)
            .collect();
        if challenges.is_empty() {
            return Ok(resp);
        }
        let header = self.auth.answer(t, &challenges, scope, offline)?;
        t.send(&req.method, req.url, &with_auth(req.headers, Some(&header)), body)
    }
}

/// `headers` plus an `Authorization` header when there is one.
fn with_auth<'a>(headers: &[(&'a str, &'a str)], auth: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut out = headers.to_vec();
    if let Some(a) = auth {
        out.push(("Authorization", a));
    }
    out
}

/// A failure to authorize a request (no credentials for a basic challenge, a token service's refusal) named
/// after the request, as Go's `url.Error` does: `Get "url": no basic auth credentials`.
pub(crate) fn name_request(e: Error, method: &str, url: &str) -> Error {
    match e {
        Error::Unauthorized(m) => Error::Unauthorized(format!("{method} \"{url}\": {m}")),
        e => e,
    }
}

impl Repository<'_> {
    /// The URL of an API path of this repository (`manifests/latest`).
    pub(crate) fn url(&self, what: &str) -> String {
        self.client.endpoint.url(&format!("/v2/{}/{what}", self.path))
    }

    /// `GET` an API path of this repository (`manifests/latest`).
    fn get(&self, what: &str, accept: Option<&str>) -> Result<HttpResponse> {
        let url = self.url(what);
        let headers: &[(&str, &str)] = match accept {
            Some(a) => &[("Accept", a)],
            None => &[],
        };
        self.client
            .send(&self.scope, Req::new(Method::GET, &url, headers, Payload::None))
            .map_err(|e| name_request(e, "Get", &url))
    }

    /// The error of a failed answer, in Docker's words; `target` is what was asked for (`busybox:latest`).
    fn failure(&self, resp: HttpResponse, target: &str) -> Error {
        let Refusal { status, code, text } = Refusal::read(resp);
        let code = code.as_str();
        let denied = || {
            Error::NotFound(format!(
                "pull access denied for {}, repository does not exist or may require 'docker login': {}",
                self.shown,
                text.clone()
                    .unwrap_or_else(|| "denied: requested access to the resource is denied".into())
            ))
        };
        match (status.as_u16(), code) {
            (_, "DENIED") | (403, _) => denied(),
            (401, _)
                if self
                    .client
                    .auth
                    .header(&self.scope)
                    .is_some_and(|h| h.starts_with("Bearer"))
                    && !self.client.auth.has_credentials() =>
            {
                denied()
            }
            (401, _) => {
                Error::Unauthorized(text.unwrap_or_else(|| "unauthorized: authentication required".into()))
            }
            (_, "NAME_UNKNOWN") => Error::NotFound(format!(
                "repository {} not found: {}",
                self.shown,
                text.unwrap_or_default()
            )),
            (404, _) => Error::NotFound(format!(
                "{target} not found: {}",
                text.unwrap_or_else(|| "not found".into())
            )),
            _ => Error::InvalidResponse(format!(
                "unexpected status from GET request to {}: {status}{}",
                self.url(""),
                text.map(|t| format!(": {t}")).unwrap_or_default()
            )),
        }
    }

    /// Fetches the manifest `reference` (a tag or a digest; a digest is verified against the bytes). `shown` is
    /// the reference as messages name it.
    pub fn manifest(&self, reference: &str, shown: &str) -> Result<Fetched> {
        let accept = manifest::accept_header();
        let mut resp = self.get(&format!("manifests/{reference}"), Some(&accept))?;
        if resp.status().as_u16() != 200 {
            return Err(self.failure(resp, &format!("manifest for {shown}")));
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let raw = resp
            .body_mut()
            .with_config()
            .limit(MANIFEST_LIMIT)
            .read_to_vec()
            .map_err(|e| Error::InvalidResponse(format!("read manifest for {shown}: {e}")))?;
        let digest = manifest::sha256_digest(&raw);
        if reference.contains(':') && digest != reference {
            return Err(Error::Verification(format!(
                "manifest verification failed for digest {reference}"
            )));
        }
        let document = manifest::parse(&raw, &content_type)?;
        Ok(Fetched {
            raw,
            digest,
            document,
        })
    }

    /// The image manifest `reference` names for `platform`: the manifest itself, or the platform's entry of the
    /// index it names.
    pub fn resolve(&self, reference: &str, shown: &str, platform: &Platform) -> Result<Resolved> {
        let top = self.manifest(reference, shown)?;
        let entries = match top.document {
            Document::Image(m) => {
                return Ok(Resolved {
                    manifest_digest: top.digest.clone(),
                    digest: top.digest,
                    manifest: m,
                    raw: top.raw,
                });
            }
            Document::Index(entries) => entries,
        };
        let entry = platform.select(&entries).ok_or_else(|| {
            Error::NoMatchingPlatform(format!(
                "no matching manifest for {platform} in the manifest list entries"
            ))
        })?;
        let chosen = self.manifest(&entry.digest, shown)?;
        if chosen.raw.len() as u64 != entry.size {
            return Err(Error::Verification(format!(
                "manifest {} is {} bytes, its index states {}",
                entry.digest,
                chosen.raw.len(),
                entry.size
            )));
        }
        match chosen.document {
            Document::Image(m) => Ok(Resolved {
                digest: top.digest,
                manifest_digest: chosen.digest,
                manifest: m,
                raw: chosen.raw,
            }),
            Document::Index(_) => Err(Error::InvalidResponse(format!(
                "manifest {} of the index is itself an index",
                entry.digest
            ))),
        }
    }

    /// Starts streaming the blob `d` (`what` names it in messages: `filesystem layer`, `image config`).
    pub fn blob(&self, d: &Descriptor, what: &'static str) -> Result<VerifiedBlob> {
        let resp = self.get(&format!("blobs/{}", d.digest), None)?;
        if resp.status().as_u16() != 200 {
            return Err(self.failure(resp, &format!("{what} {}", d.digest)));
        }
        let reader = resp.into_body().into_reader();
        Ok(VerifiedBlob::new(Box::new(reader), what, &d.digest, d.size))
    }

    /// The whole blob `d`, verified, refused when its descriptor states more than `limit` bytes.
    pub fn blob_bytes(&self, d: &Descriptor, what: &'static str, limit: u64) -> Result<Vec<u8>> {
        if d.size > limit {
            return Err(Error::InvalidResponse(format!(
                "{what} {} is too large ({} bytes, limit {limit})",
                d.digest, d.size
            )));
        }
        let mut blob = self.blob(d, what)?;
        let mut out = Vec::with_capacity(d.size as usize);
        let read = std::io::Read::read_to_end(&mut blob, &mut out);
        blob.finish()?;
        read.map_err(|e| Error::Unreachable(format!("read {what} {}: {e}", d.digest)))?;
        Ok(out)
    }

    /// The repository's tags, following pagination.
    pub fn tags(&self) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut next = Some("tags/list".to_string());
        let mut pages = 0;
        while let Some(what) = next.take() {
            pages += 1;
            let mut resp = self.get(&what, Some("application/json"))?;
            if resp.status().as_u16() != 200 {
                return Err(self.failure(resp, &format!("tags of {}", self.shown)));
            }
            let prefix = format!("/v2/{}/", self.path);
            next = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.split_once('<')?.1.split_once('>').map(|(u, _)| u.to_string()))
                .and_then(|u| u.strip_prefix(&prefix).map(str::to_string))
                .filter(|_| pages < 100);
            let body = resp
                .body_mut()
                .with_config()
                .limit(MANIFEST_LIMIT)
                .read_to_vec()
                .map_err(|e| Error::InvalidResponse(format!("read tag list of {}: {e}", self.shown)))?;
            let page: Page = serde_json::from_slice(&body)
                .map_err(|e| Error::InvalidResponse(format!("invalid tag list of {}: {e}", self.shown)))?;
            out.extend(page.tags.unwrap_or_default());
        }
        Ok(out)
    }
}
