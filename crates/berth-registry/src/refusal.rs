//! A registry's refusal: the status, headers and body of a failed answer read once, and its wording as Docker's
//! distribution client makes it (`HandleErrorResponse`): a bearer challenge's `error=insufficient_scope` /
//! `invalid_token`, else the first error of a `{"errors":[{"code","message"}]}` body as `code in words: message`
//! (`MANIFEST_UNKNOWN` → `manifest unknown: …`), else a token service's `details`, else the status's own code
//! (`401` → `unauthorized: authentication required`).

use serde::Deserialize;
use ureq::http::StatusCode;

use crate::challenge;
use crate::transport::HttpResponse;

/// Largest error body read.
const ERROR_LIMIT: u64 = 64 << 10;

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A failed answer.
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    /// The distribution error code (`MANIFEST_UNKNOWN`), or the one Docker derives from the status
    /// (`UNAUTHORIZED`, `DENIED`, `TOOMANYREQUESTS`); empty when there is none.
    pub(crate) code: String,
    /// The refusal in Docker's words, when the answer says anything.
    pub(crate) text: Option<String>,
}

/// `MANIFEST_UNKNOWN` + `manifest unknown` → `manifest unknown: manifest unknown` (Docker's errcode text).
fn errcode_text(code: &str, message: &str) -> String {
    let words = code.replace('_', " ").to_lowercase();
    let message = if message.is_empty() {
        default_message(code)
    } else {
        message
    };
    if message.is_empty() {
        words
    } else {
        format!("{words}: {message}")
    }
}

/// The message distribution's errcode package gives a code.
fn default_message(code: &str) -> &'static str {
    match code {
        "UNAUTHORIZED" => "authentication required",
        "DENIED" => "requested access to the resource is denied",
        "TOOMANYREQUESTS" => "too many requests",
        _ => "",
    }
}

/// The code Docker gives a status whose body names none.
fn status_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "UNAUTHORIZED",
        403 => "DENIED",
        429 => "TOOMANYREQUESTS",
        _ => "UNKNOWN",
    }
}

impl Refusal {
    /// Reads a failed answer (its body up to a limit).
    pub(crate) fn read(mut resp: HttpResponse) -> Refusal {
        let status = resp.status();
        let scope_error = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(challenge::parse)
            .filter(|c| c.scheme == "bearer")
            .find_map(|c| {
                let code = match c.param("error")? {
                    "invalid_token" => "UNAUTHORIZED",
                    "insufficient_scope" => "DENIED",
                    _ => return None,
                };
                Some((code, c.param("error_description").unwrap_or_default().to_string()))
            });
        let body = resp
            .body_mut()
            .with_config()
            .limit(ERROR_LIMIT)
            .read_to_vec()
            .unwrap_or_default();
        Refusal::new(status, scope_error.filter(|_| status.is_client_error()), &body)
    }

    fn new(status: StatusCode, scope_error: Option<(&str, String)>, body: &[u8]) -> Refusal {
        let (code, text) = match scope_error {
            Some((code, description)) => (code.to_string(), Some(errcode_text(code, &description))),
            None => Refusal::from_body(status, body),
        };
        Refusal { status, code, text }
    }

    fn from_body(status: StatusCode, body: &[u8]) -> (String, Option<String>) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            if let Some(details) = v
                .get("details")
                .and_then(|d| d.as_str())
                .filter(|d| !d.is_empty())
            {
                let code = status_code(status);
                return (code.to_string(), Some(errcode_text(code, details)));
            }
            if let Some(item) = serde_json::from_value::<ErrorBody>(v)
                .ok()
                .and_then(|b| b.errors.into_iter().next())
            {
                let text = errcode_text(&item.code, &item.message);
                return (item.code, Some(text));
            }
        }
        let code = status_code(status);
        if code == "UNKNOWN" {
            return (String::new(), None);
        }
        (code.to_string(), Some(errcode_text(code, "")))
    }

    /// The text, or Docker's words for a status nothing explains:
    /// `received unexpected HTTP status: 500 Internal Server Error`.
    pub(crate) fn describe(&self) -> String {
        self.text
            .clone()
            .unwrap_or_else(|| format!("received unexpected HTTP status: {}", self.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, scope: Option<(&str, String)>, body: &[u8]) -> Refusal {
        Refusal::new(StatusCode::from_u16(status).unwrap(), scope, body)
    }

    #[test]
    fn wordings() {
        let b =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        let r = refusal(404, None, b);
        assert_eq!(r.code, "MANIFEST_UNKNOWN");
        assert_eq!(r.text.as_deref(), Some("manifest unknown: manifest unknown"));
        let r = refusal(401, None, br#"{"details":"incorrect username or password"}"#);
        assert_eq!(
            r.text.as_deref(),
            Some("unauthorized: incorrect username or password")
        );
        let r = refusal(401, None, b"<html>");
        assert_eq!(r.code, "UNAUTHORIZED");
        assert_eq!(r.describe(), "unauthorized: authentication required");
        let r = refusal(403, None, b"");
        assert_eq!(r.describe(), "denied: requested access to the resource is denied");
        let r = refusal(401, Some(("DENIED", String::new())), b"");
        assert_eq!(r.describe(), "denied: requested access to the resource is denied");
        let r = refusal(401, Some(("UNAUTHORIZED", "token expired".into())), b"");
        assert_eq!(r.describe(), "unauthorized: token expired");
        let r = refusal(404, None, b"");
        assert!(r.text.is_none() && r.code.is_empty());
        assert_eq!(r.describe(), "received unexpected HTTP status: 404 Not Found");
        assert_eq!(
            refusal(500, None, b"oops").describe(),
            "received unexpected HTTP status: 500 Internal Server Error"
        );
        let b = br#"{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload invalid"}]}"#;
        assert_eq!(
            refusal(400, None, b).describe(),
            "blob upload invalid: blob upload invalid"
        );
    }

    #[test]
    fn challenges_are_read() {
        // Only through `read`: a real response with a bearer challenge naming the error.
        let resp = ureq::http::Response::builder()
            .status(401)
            .header(
                "WWW-Authenticate",
                r#"Bearer realm="http://x/token",error="insufficient_scope",scope="repository:a:push""#,
            )
            .body(ureq::Body::builder().data(""))
            .unwrap();
        let r = Refusal::read(resp);
        assert_eq!(r.code, "DENIED");
        assert_eq!(r.describe(), "denied: requested access to the resource is denied");
    }
}
