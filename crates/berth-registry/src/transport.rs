//! HTTP for the client: a pooled synchronous agent (ureq, rustls with ring; the engine is synchronous and pulls
//! on plain threads, so no async runtime is involved), transport failures in Docker's words, and the distribution
//! API's error bodies (`{"errors":[{"code","message"}]}`) as `code in words: message`.

use std::time::Duration;

use serde::Deserialize;
use ureq::http::Response;

use crate::error::{Error, Result};

pub(crate) type HttpResponse = Response<ureq::Body>;

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

    /// `GET url` with an `Accept` and an `Authorization` header when given.
    pub(crate) fn get(&self, url: &str, accept: Option<&str>, auth: Option<&str>) -> Result<HttpResponse> {
        let mut req = self.agent.get(url);
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.call().map_err(|e| unreachable("Get", url, e))
    }

    /// `POST url` with a form body.
    pub(crate) fn post_form(&self, url: &str, form: &str) -> Result<HttpResponse> {
        self.agent
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form)
            .map_err(|e| unreachable("Post", url, e))
    }
}

/// A transport failure as Docker words it: `Get "url": what happened`.
fn unreachable(method: &str, url: &str, e: ureq::Error) -> Error {
    let what = match e {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
            _ => io.to_string(),
        },
        ureq::Error::HostNotFound => "no such host".to_string(),
        other => other.to_string(),
    };
    Error::Unreachable(format!("{method} \"{url}\": {what}"))
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
pub(crate) struct ErrorItem {
    #[serde(default)]
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
}

/// The first error of a distribution API error body.
pub(crate) fn error_item(body: &[u8]) -> Option<ErrorItem> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()?
        .errors
        .into_iter()
        .next()
}

/// `MANIFEST_UNKNOWN` + `manifest unknown` → `manifest unknown: manifest unknown` (Docker's errcode text).
pub(crate) fn error_text(item: &ErrorItem) -> String {
    let code = item.code.replace('_', " ").to_lowercase();
    if item.message.is_empty() {
        code
    } else {
        format!("{code}: {}", item.message)
    }
}

/// The message of an error body: a distribution error's text, or a token service's `details`/`error`.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    if let Some(item) = error_item(body) {
        return Some(error_text(&item));
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["details", "error_description", "error", "message"]
        .iter()
        .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
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
    fn error_bodies() {
        let b =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(error_message(b).unwrap(), "manifest unknown: manifest unknown");
        assert_eq!(
            error_message(br#"{"details":"incorrect username or password"}"#).unwrap(),
            "incorrect username or password"
        );
        assert!(error_message(b"<html>").is_none());
        assert_eq!(
            urlencode("repository:library/x:pull"),
            "repository%3Alibrary%2Fx%3Apull"
        );
    }
}
