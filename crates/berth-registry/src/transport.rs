//! HTTP for the client: a pooled synchronous agent (ureq, rustls with ring; the engine is synchronous and pulls
//! on plain threads, so no async runtime is involved) sending any method with no body, bytes or a streamed body,
//! and transport failures in Docker's words (`Put "url": connect: connection refused`).

use std::io::Read;
use std::time::Duration;

use ureq::SendBody;
use ureq::http::{Method, Request, Response};

use crate::error::{Error, Result};

pub(crate) type HttpResponse = Response<ureq::Body>;

/// A request body.
pub(crate) enum Payload<'a> {
    None,
    /// Bytes of a known length (sent with `Content-Length`; a request with them can be sent again).
    Bytes(&'a [u8]),
    /// A body of unknown length, sent with chunked transfer encoding (once: it is consumed).
    Stream(&'a mut dyn Read),
}

impl<'a> Payload<'a> {
    /// The same body to send again after a refusal, unless it is a stream (consumed by the first send).
    pub(crate) fn again(&self) -> Option<Payload<'a>> {
        match self {
            Payload::None => Some(Payload::None),
            Payload::Bytes(b) => Some(Payload::Bytes(b)),
            Payload::Stream(_) => None,
        }
    }
}

/// A connection pool shared by every request of a client.
pub(crate) struct Transport {
    agent: ureq::Agent,
}

impl Transport {
    pub(crate) fn new() -> Transport {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .max_redirects(10)
            .build()
            .new_agent();
        Transport { agent }
    }

    /// Sends one request; a transport failure is worded as Docker does, with the method's name
    /// (`Put "url": connect: connection refused`).
    pub(crate) fn send(
        &self,
        method: &Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Payload<'_>,
    ) -> Result<HttpResponse> {
        let mut req = Request::builder().method(method.clone()).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let fail = |e| unreachable(method, url, e);
        let bad = |e: ureq::http::Error| Error::InvalidArgument(format!("invalid request to {url}: {e}"));
        match body {
            Payload::None => self.agent.run(req.body(SendBody::none()).map_err(bad)?),
            Payload::Bytes(b) => self.agent.run(req.body(b).map_err(bad)?),
            Payload::Stream(r) => self.agent.run(req.body(SendBody::from_reader(r)).map_err(bad)?),
        }
        .map_err(fail)
    }

    /// `GET url` with an `Accept` and an `Authorization` header when given.
    pub(crate) fn get(&self, url: &str, accept: Option<&str>, auth: Option<&str>) -> Result<HttpResponse> {
        let mut headers = Vec::with_capacity(2);
        if let Some(a) = accept {
            headers.push(("Accept", a));
        }
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        self.send(&Method::GET, url, &headers, Payload::None)
    }

    /// `POST url` with a form body.
    pub(crate) fn post_form(&self, url: &str, form: &str) -> Result<HttpResponse> {
        let headers = [("Content-Type", "application/x-www-form-urlencoded")];
        self.send(&Method::POST, url, &headers, Payload::Bytes(form.as_bytes()))
    }
}

/// A transport failure as Docker words it: `Get "url": what happened`.
fn unreachable(method: &Method, url: &str, e: ureq::Error) -> Error {
    let what = match e {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
            _ => io.to_string(),
        },
        ureq::Error::HostNotFound => "no such host".to_string(),
        other => other.to_string(),
    };
    Error::Unreachable(format!("{} \"{url}\": {what}", method_name(method)))
}

/// `GET` → `Get`, as Go's `url.Error` names methods.
pub(crate) fn method_name(m: &Method) -> String {
    let s = m.as_str();
    let mut out = s[..1.min(s.len())].to_ascii_uppercase();
    out.push_str(&s[1.min(s.len())..].to_ascii_lowercase());
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_encoding() {
        assert_eq!(method_name(&Method::PATCH), "Patch");
        assert_eq!(method_name(&Method::GET), "Get");
        assert_eq!(
            urlencode("repository:library/x:pull"),
            "repository%3Alibrary%2Fx%3Apull"
        );
    }
}
