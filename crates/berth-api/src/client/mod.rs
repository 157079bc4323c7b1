//! The API client the `berth` CLI uses: blocking calls over a daemon's socket or the in-process server, one
//! connection per request (so a `wait` can stay pending while an attach streams), JSON in and out, streamed bodies
//! both ways, and hijacked connections handed back as plain descriptors for the terminal relay.

mod endpoint;
mod io;
pub mod tls;

use std::io::Read;
use std::os::fd::OwnedFd;

use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use endpoint::{Conn, Endpoint};
use io::Stream;

use crate::error::{Error, Result};
use crate::version::API_VERSION;

/// A request body.
pub enum Body {
    Empty,
    Json(Vec<u8>),
    /// Streamed from a reader (a file, stdin) with a content type.
    Reader(Box<dyn Read + Send>, &'static str),
}

impl Body {
    /// A JSON body.
    pub fn json(v: &impl Serialize) -> Body {
        Body::Json(serde_json::to_vec(v).unwrap_or_default())
    }
}

type Boxed = BoxBody<Bytes, std::io::Error>;

/// A client of one endpoint.
pub struct Client {
    endpoint: Endpoint,
    runtime: tokio::runtime::Runtime,
}

/// A response whose body has not been read yet.
pub struct Pending<'c> {
    client: &'c Client,
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: Incoming,
}

/// A hijacked connection: what the server sent right after its answer, then the raw descriptor.
pub struct Hijacked {
    pub buffered: Bytes,
    pub fd: OwnedFd,
}

fn transport(endpoint: &Endpoint, e: impl std::fmt::Display) -> Error {
    Error::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "Cannot connect to the Berth daemon at {}: {e}",
            endpoint.describe()
        ),
    )
}

/// Turns a non-success answer into its error (Docker's `{"message": …}` body).
fn error_of(status: StatusCode, body: &[u8]) -> Error {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    Error::new(status, message)
}

impl Client {
    pub fn new(endpoint: Endpoint) -> Result<Client> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("start runtime: {e}")))?;
        Ok(Client { endpoint, runtime })
    }

    /// Where this client connects.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn request_body(&self, body: Body) -> (Boxed, Option<&'static str>) {
        match body {
            Body::Empty => (
                Full::new(Bytes::new()).map_err(|never| match never {}).boxed(),
                None,
            ),
            Body::Json(v) => (
                Full::new(Bytes::from(v)).map_err(|never| match never {}).boxed(),
                Some("application/json"),
            ),
            Body::Reader(mut r, content_type) => {
                let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 256 * 1024];
                    loop {
                        let item = match r.read(&mut buf) {
                            Ok(0) => return,
                            Ok(n) => Ok(Bytes::copy_from_slice(&buf[..n])),
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(e) => Err(e),
                        };
                        let failed = item.is_err();
                        if tx.blocking_send(item).is_err() || failed {
                            return;
                        }
                    }
                });
                let frames = futures_util::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|item| (item.map(Frame::data), rx))
                });
                (StreamBody::new(frames).boxed(), Some(content_type))
            }
        }
    }

    /// Sends a request on a new connection and waits for the answer's head.
    fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        upgrade: bool,
        headers: &[(&'static str, String)],
    ) -> Result<hyper::Response<Incoming>> {
        let conn = self
            .endpoint
            .connect()
            .map_err(|e| transport(&self.endpoint, e))?;
        let (body, content_type) = self.request_body(body);
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/v{API_VERSION}{path}"))
            .header(header::HOST, "berth")
            .header(header::USER_AGENT, concat!("berth/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        if upgrade {
            req = req
                .header(header::CONNECTION, "Upgrade")
                .header(header::UPGRADE, "tcp");
        }
        let req = req.body(body).map_err(|e| Error::internal(e.to_string()))?;
        self.runtime.block_on(async {
            let mut stream = Stream::from_conn(conn).map_err(|e| transport(&self.endpoint, e))?;
            if let Endpoint::Tls(_, name, config) = &self.endpoint {
                stream = stream
                    .tls(config.clone(), name.clone())
                    .await
                    .map_err(|e| transport(&self.endpoint, e))?;
            }
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| transport(&self.endpoint, e))?;
            tokio::spawn(connection.with_upgrades());
            sender
                .send_request(req)
                .await
                .map_err(|e| transport(&self.endpoint, e))
        })
    }

    /// Sends a request; the answer's head when it is a success (including 304), else its error.
    pub fn begin(&self, method: Method, path: &str, body: Body) -> Result<Pending<'_>> {
        self.begin_with(method, path, body, &[])
    }

    /// [`Client::begin`] with extra request headers (`X-Registry-Auth`).
    pub fn begin_with(
        &self,
        method: Method,
        path: &str,
        body: Body,
        headers: &[(&'static str, String)],
    ) -> Result<Pending<'_>> {
        let resp = self.send(method, path, body, false, headers)?;
        let (parts, body) = resp.into_parts();
        let pending = Pending {
            client: self,
            status: parts.status,
            headers: parts.headers,
            body,
        };
        if pending.status.is_success() || pending.status == StatusCode::NOT_MODIFIED {
            return Ok(pending);
        }
        let status = pending.status;
        let bytes = pending.bytes().unwrap_or_default();
        Err(error_of(status, &bytes))
    }

    /// A request whose answer is JSON.
    pub fn json<T: DeserializeOwned>(&self, method: Method, path: &str, body: Body) -> Result<T> {
        self.begin(method, path, body)?.json()
    }

    /// A request whose answer is not needed beyond its success.
    pub fn call(&self, method: Method, path: &str, body: Body) -> Result<StatusCode> {
        let p = self.begin(method, path, body)?;
        let status = p.status;
        p.bytes()?;
        Ok(status)
    }

    /// An upgraded (hijacked) request: the raw connection once the server switched protocols.
    pub fn hijack(&self, path: &str, body: Body) -> Result<Hijacked> {
        let mut resp = self.send(Method::POST, path, body, true, &[])?;
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            let status = resp.status();
            let bytes = Pending {
                client: self,
                status,
                headers: HeaderMap::new(),
                body: resp.into_body(),
            }
            .bytes()
            .unwrap_or_default();
            return Err(error_of(status, &bytes));
        }
        let upgraded = self
            .runtime
            .block_on(hyper::upgrade::on(&mut resp))
            .map_err(|e| transport(&self.endpoint, e))?;
        let parts = upgraded
            .downcast::<TokioIo<Stream>>()
            .map_err(|_| Error::internal("hijacked connection of an unexpected type"))?;
        let fd = self
            .runtime
            .block_on(async { parts.io.into_inner().into_fd() })
            .map_err(|e| transport(&self.endpoint, e))?;
        Ok(Hijacked {
            buffered: parts.read_buf,
            fd,
        })
    }
}

impl Pending<'_> {
    /// The next chunk of the body; `None` at its end.
    pub fn chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            let frame = self.client.runtime.block_on(self.body.frame());
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(transport(&self.client.endpoint, e)),
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole body.
    pub fn bytes(mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(c) = self.chunk()? {
            out.extend_from_slice(&c);
        }
        Ok(out)
    }

    /// The whole body as JSON.
    pub fn json<T: DeserializeOwned>(self) -> Result<T> {
        let bytes = self.bytes()?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::internal(format!("unreadable answer from the daemon: {e}")))
    }
}

/// A streamed response body as `std::io::Read`.
pub struct PendingReader<'c> {
    pending: Pending<'c>,
    current: Bytes,
}

impl<'c> Pending<'c> {
    /// The body as a blocking reader.
    pub fn into_reader(self) -> PendingReader<'c> {
        PendingReader {
            pending: self,
            current: Bytes::new(),
        }
    }
}

impl Read for PendingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.pending.chunk() {
                Ok(Some(c)) => self.current = c,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e.message)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// A query string (with its leading `?`, empty without pairs).
pub fn query(pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    format!("?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
}

/// A path segment, escaped (names and ids never need it; image references may hold `@`, `:` and `/`, which the
/// server's routes take as they are).
pub fn segment(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q[1..].replace("%2F", "/").replace("%3A", ":").replace("%40", "@"))
        .unwrap_or_default()
}
