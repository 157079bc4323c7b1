//! `POST /images/create?fromImage=NAME&tag=TAG[&platform=]`: a pull, answered as dockerd does — HTTP 200 with a
//! stream of JSON progress lines (`{"status","progressDetail","progress","id"}`), a failure after the first line
//! as an `{"errorDetail":{"message"},"error"}` line, a failure before it as an ordinary error status. The
//! `X-Registry-Auth` header (base64url JSON credentials) is honoured.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_engine::{AuthConfig, Progress, PullOptions};
use berth_image::{Digest, Reference};
use bytes::Bytes;
use serde_json::{Value, json};

use super::Shared;
use super::params::Params;
use crate::error::{Error, Result};

/// Width of the text progress bar (in `=` signs), as Docker draws it.
const BAR_WIDTH: u64 = 50;

enum Item {
    Line(Bytes),
    Failed(Error),
}

/// The reference `fromImage` and `tag` name (`tag` may be a digest), and whether every tag is wanted (a bare
/// repository name).
fn reference_of(p: &Params, image: &str) -> Result<(String, bool)> {
    let named = Reference::parse_normalized(image).map_err(|e| Error::bad_request(e.to_string()))?;
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

/// `POST /images/create` with `fromImage`.
pub(super) async fn pull(d: Shared, p: Params, headers: &HeaderMap) -> Result<Response> {
    let image = p.get("fromImage").unwrap_or_default().to_string();
    let (reference, all_tags) = reference_of(&p, &image)?;
    // As dockerd: credentials that do not decode count as none.
    let auth = headers
        .get("x-registry-auth")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| AuthConfig::from_header(v).ok());
    let opts = PullOptions {
        platform: p.get("platform").filter(|s| !s.is_empty()).map(str::to_string),
        all_tags,
        auth,
        registry: Default::default(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Item>(64);
    tokio::task::spawn_blocking(move || {
        let mut started = false;
        let result = d.engine.pull(&reference, &opts, &mut |msg| {
            started = true;
            // A client that went away stops reading; the pull still completes.
            let _ = tx.blocking_send(Item::Line(line(&progress_json(&msg))));
        });
        match result {
            Ok(pulled) => {
                // As dockerd: the event's id is the reference, its name the repository.
                if let Ok(r) = Reference::parse_normalized(&pulled.reference) {
                    d.image_event("pull", &r.familiar(), &r.familiar_name());
                }
            }
            Err(e) if started => {
                let msg = e.to_string();
                let _ = tx.blocking_send(Item::Line(line(
                    &json!({"errorDetail": {"message": msg}, "error": msg}),
                )));
            }
            Err(e) => {
                let _ = tx.blocking_send(Item::Failed(e.into()));
            }
        }
    });
    let first = match rx.recv().await {
        Some(Item::Line(l)) => l,
        Some(Item::Failed(e)) => return Err(e),
        None => return Err(Error::internal("pull ended without an answer")),
    };
    let stream = futures_util::stream::unfold((Some(first), rx), |(first, mut rx)| async move {
        if let Some(l) = first {
            return Some((Ok::<_, std::io::Error>(l), (None, rx)));
        }
        match rx.recv().await {
            Some(Item::Line(l)) => Some((Ok(l), (None, rx))),
            // Only sent before the first line; not reached.
            Some(Item::Failed(_)) | None => None,
        }
    });
    Ok((
        StatusCode::OK,
        [("Content-Type", "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn line(v: &Value) -> Bytes {
    Bytes::from(format!("{v}\r\n"))
}

/// Docker's JSON form of a progress message.
fn progress_json(p: &Progress) -> Value {
    let mut v = json!({"status": p.status});
    if let Some(id) = &p.id {
        v["id"] = json!(id);
    }
    if p.layer {
        v["progressDetail"] = json!({});
    }
    if let Some((current, total)) = p.detail {
        v["progressDetail"] = json!({"current": current, "total": total});
        v["progress"] = json!(bar(current, total));
    }
    v
}

/// `[=====>      ]  1.05MB/2.1MB`, as Docker's progress text (the box is one wider than the bar).
fn bar(current: u64, total: u64) -> String {
    if total == 0 {
        return human(current);
    }
    let filled = current.min(total) * BAR_WIDTH / total;
    let spaces = BAR_WIDTH - filled;
    format!(
        "[{}>{}] {:>8}/{}",
        "=".repeat(filled as usize),
        " ".repeat(spaces as usize),
        human(current),
        human(total)
    )
}

/// Decimal sizes with three significant digits (`2.15MB`), as Docker's `HumanSize`.
fn human(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_shapes() {
        let p = Progress {
            status: "Downloading".into(),
            id: Some("abc".into()),
            detail: Some((1_050_000, 2_100_000)),
            layer: true,
        };
        let v = progress_json(&p);
        assert_eq!(
            v["progressDetail"],
            json!({"current": 1_050_000, "total": 2_100_000})
        );
        assert_eq!(
            v["progress"],
            "[=========================>                         ]   1.05MB/2.1MB"
        );
        let done = Progress {
            status: "Pull complete".into(),
            id: Some("abc".into()),
            detail: None,
            layer: true,
        };
        assert_eq!(
            progress_json(&done),
            json!({"status": "Pull complete", "progressDetail": {}, "id": "abc"})
        );
        let msg = Progress {
            status: "Pulling from library/busybox".into(),
            id: Some("latest".into()),
            detail: None,
            layer: false,
        };
        assert_eq!(
            progress_json(&msg),
            json!({"status": "Pulling from library/busybox", "id": "latest"})
        );
        assert_eq!(human(999), "999B");
        assert_eq!(human(66_200_000), "66.2MB");
        assert_eq!(human(1_000), "1kB");
        assert_eq!(bar(5, 5), format!("[{}>] {:>8}/5B", "=".repeat(50), "5B"));
    }

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
