//! Docker's JSON progress streams (pull, push): HTTP 200 with one JSON line per message
//! (`{"status","progressDetail","progress","id"}`, a push's `aux` result), a failure after the first line as an
//! `{"errorDetail":{"message"},"error"}` line, a failure before it as an ordinary error status.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::Progress;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::units::human_size;

/// Width of the text progress bar (in `=` signs), as Docker draws it.
const BAR_WIDTH: u64 = 50;
/// Significant digits of the sizes in a progress bar (Docker's `units.HumanSize`).
const PRECISION: usize = 4;

enum Item {
    Line(Bytes),
    Failed(Error),
}

/// Runs `work` on the blocking pool, streaming the progress it reports; `cancel` is raised when the client has
/// gone away (its stream is dropped), which the work watches to stop early, as dockerd does.
pub(super) async fn stream<F>(cancel: Arc<AtomicBool>, work: F) -> Result<Response>
where
    F: FnOnce(&mut dyn FnMut(Progress)) -> berth_engine::Result<()> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Item>(64);
    tokio::task::spawn_blocking(move || {
        let mut started = false;
        let mut report = |msg: Progress| {
            started = true;
            if tx.blocking_send(Item::Line(line(&progress_json(&msg)))).is_err() {
                cancel.store(true, Ordering::Relaxed);
            }
        };
        // A panic is a failure the client must hear of, not an end of stream that reads as success.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut report)))
            .unwrap_or_else(|_| {
                Err(berth_engine::Error::Runtime(
                    "the transfer failed: internal error".into(),
                ))
            });
        match result {
            Ok(()) => {}
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
        None => return Err(Error::internal("the transfer ended without an answer")),
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
    if let Some(a) = &p.aux {
        return json!({"progressDetail": {}, "aux": {"Tag": a.tag, "Digest": a.digest, "Size": a.size}});
    }
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
        return human_size(current, PRECISION);
    }
    let filled = current.min(total) * BAR_WIDTH / total;
    let spaces = BAR_WIDTH - filled;
    format!(
        "[{}>{}] {:>8}/{}",
        "=".repeat(filled as usize),
        " ".repeat(spaces as usize),
        human_size(current, PRECISION),
        human_size(total, PRECISION)
    )
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
            aux: None,
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
            aux: None,
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
            aux: None,
        };
        assert_eq!(
            progress_json(&msg),
            json!({"status": "Pulling from library/busybox", "id": "latest"})
        );
        let pushed = Progress {
            aux: Some(berth_engine::PushedManifest {
                tag: "1".into(),
                digest: "sha256:d".into(),
                size: 527,
            }),
            ..msg.clone()
        };
        assert_eq!(
            progress_json(&pushed),
            json!({"progressDetail": {}, "aux": {"Tag": "1", "Digest": "sha256:d", "Size": 527}})
        );
        assert_eq!(bar(5, 5), format!("[{}>] {:>8}/5B", "=".repeat(50), "5B"));
    }
}
