//! `POST /images/create?fromImage=NAME&tag=TAG[&platform=]` (a pull) and `POST /images/{name}/push?tag=TAG` (a
//! push), answered as dockerd does: a stream of JSON progress lines ([`super::progress`]). The `X-Registry-Auth`
//! header (base64url JSON credentials) is honoured; credentials that do not decode count as none, as dockerd.

use axum::http::HeaderMap;
use axum::response::Response;
use berth_engine::{AuthConfig, PullOptions, PushOptions};
use berth_image::{Digest, Reference};

use super::Shared;
use super::params::Params;
use super::progress::stream;
use crate::error::{Error, Result};

/// The reference `name` and `tag` name (`tag` may be a digest), and whether every tag is wanted (a bare
/// repository name).
fn reference_of(p: &Params, name: &str) -> Result<(String, bool)> {
    let named = Reference::parse_normalized(name).map_err(|e| Error::bad_request(e.to_string()))?;
    let named = match p.get("tag").filter(|t| !t.is_empty()) {
        Some(t) => match Digest::parse(t) {
            Ok(d) => named.with_digest(d),
            Err(_) => named.with_tag(t).map_err(|e| Error::bad_request(e.to_string()))?,
        },
        None => named,
    };
    let all = named.tag().is_none() && named.digest().is_none();
    Ok((named.to_string(), all))
}

/// The credentials of a request's `X-Registry-Auth` header.
pub(super) fn auth_of(headers: &HeaderMap) -> Option<AuthConfig> {
    headers
        .get("x-registry-auth")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| AuthConfig::from_header(v).ok())
}

/// `POST /images/create` with `fromImage`.
pub(super) async fn pull(d: Shared, p: Params, headers: &HeaderMap) -> Result<Response> {
    let image = p.get("fromImage").unwrap_or_default().to_string();
    let (reference, all_tags) = reference_of(&p, &image)?;
    let opts = PullOptions {
        platform: p.get("platform").filter(|s| !s.is_empty()).map(str::to_string),
        all_tags,
        auth: auth_of(headers),
        cancel: Default::default(),
    };
    stream(opts.cancel.clone(), move |progress| {
        let pulled = d.engine.pull(&reference, &opts, progress)?;
        // As dockerd: the event's id is the reference, its name the repository.
        if let Ok(r) = Reference::parse_normalized(&pulled.reference) {
            d.image_event("pull", &r.familiar(), &r.familiar_name());
        }
        Ok(())
    })
    .await
}

/// `POST /images/{name}/push`.
pub(super) async fn push(d: Shared, name: &str, p: Params, headers: &HeaderMap) -> Result<Response> {
    let (reference, _) = reference_of(&p, name)?;
    let opts = PushOptions {
        auth: auth_of(headers),
        cancel: Default::default(),
    };
    stream(opts.cancel.clone(), move |progress| {
        d.engine.push(&reference, &opts, progress)?;
        if let Ok(r) = Reference::parse_normalized(&reference) {
            d.image_event("push", &r.familiar(), &r.familiar_name());
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn references_from_query() {
        let q = |s: &str| Params::parse(Some(s)).unwrap();
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            reference_of(&q("tag=1.36"), "busybox").unwrap(),
            ("docker.io/library/busybox:1.36".into(), false)
        );
        assert_eq!(
            reference_of(&q(&format!("tag={d}")), "x/y").unwrap(),
            (format!("docker.io/x/y@{d}"), false)
        );
        assert_eq!(
            reference_of(&q(""), "127.0.0.1:5000/b").unwrap(),
            ("127.0.0.1:5000/b".into(), true)
        );
        assert_eq!(
            reference_of(&q(""), "b:2").unwrap(),
            ("docker.io/library/b:2".into(), false)
        );
        assert_eq!(
            reference_of(&q("tag=bad tag"), "b").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            reference_of(&q(""), "UPPER").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
