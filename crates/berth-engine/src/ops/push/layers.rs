//! The layers of one push, up to five at once (besides compression's own threads). Each is, in order of cost:
//! already in the target repository (a blob the store remembers seeing there, confirmed with `HEAD`), mountable
//! from another repository of the same registry, or uploaded: its tar rebuilt from the store, gzip-compressed on
//! every core and streamed to the registry while the compressed bytes are hashed, so nothing is staged on disk.
//! A failed compression fails the upload's body, so a truncated blob is never committed. Progress messages go
//! from the workers to the calling thread over a channel; the first failure stops the others, as does the
//! caller's cancel flag (a client that went away).

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use berth_image::compression::{GzipOptions, gzip_parallel};
use berth_image::{Digest, ImageStore, LayerInfo, LayerSource};
use berth_registry::Descriptor;

use super::Target;
use super::manifest::LAYER_MEDIA_TYPE;
use crate::error::{Error, Result};
use crate::ops::progress::Progress;
use crate::ops::workers;

/// Uploads at once (dockerd's `max-concurrent-uploads` default).
const CONCURRENT_UPLOADS: usize = 5;
/// Mounts tried per layer before uploading it (as dockerd).
const MOUNT_ATTEMPTS: usize = 3;
/// Compression threads per upload at most: bounds a many-core host's threads and buffers.
const MAX_GZIP_WORKERS: usize = 8;
/// Least time between two `Pushing` messages of a layer.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Media types of blobs a Docker schema 2 manifest can name as gzip layers.
const GZIP_TYPES: [&str; 2] = [LAYER_MEDIA_TYPE, "application/vnd.oci.image.layer.v1.tar+gzip"];

/// Pushes `layers` (bottom first); returns their blobs' descriptors in the same order.
pub(super) fn push(
    images: &ImageStore,
    target: &Target<'_>,
    layers: &[LayerInfo],
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Descriptor>> {
    // As dockerd: top layer first, every layer `Preparing`, those beyond the upload slots `Waiting`.
    for l in layers.iter().rev() {
        progress(Progress::layer(l.diff_id.short(), "Preparing"));
    }
    for l in layers.iter().rev().skip(CONCURRENT_UPLOADS) {
        progress(Progress::layer(l.diff_id.short(), "Waiting"));
    }
    let (tx, rx) = channel::<Progress>();
    // Top layer first, as the messages.
    let order: Vec<usize> = (0..layers.len()).rev().collect();
    let pushed = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let tx = tx;
            workers::run(CONCURRENT_UPLOADS, layers.len(), &order, cancel, |i| {
                push_one(images, target, &layers[i], &tx, cancel)
            })
        });
        for p in rx {
            progress(p);
        }
        worker
            .join()
            .unwrap_or_else(|_| Err(Error::Runtime("layer upload thread panicked".into())))
    })?;
    pushed
        .into_iter()
        .map(|d| d.ok_or_else(|| Error::Runtime("layer push cancelled".into())))
        .collect()
}

/// Pushes one layer, returning its blob's descriptor.
fn push_one(
    images: &ImageStore,
    target: &Target<'_>,
    layer: &LayerInfo,
    tx: &Sender<Progress>,
    cancel: &AtomicBool,
) -> Result<Descriptor> {
    let id = layer.diff_id.short();
    // Blobs of this layer recorded in this registry, with their repository's path there.
    let sources = images
        .layer_sources(&layer.diff_id)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| GZIP_TYPES.contains(&s.media_type.as_str()))
        .filter_map(|s| {
            let path = s
                .repository
                .strip_prefix(target.registry.as_str())?
                .strip_prefix('/')
                .filter(|p| !p.is_empty())?
                .to_string();
            Some((s, path))
        })
        .collect::<Vec<_>>();
    let descriptor = |s: &LayerSource| Descriptor {
        media_type: LAYER_MEDIA_TYPE.to_string(),
        digest: s.digest.to_string(),
        size: s.size,
        platform: None,
    };
    // As dockerd: a check or mount that fails is no reason to fail the push; the layer is uploaded instead.
    for (s, _) in sources.iter().filter(|(s, _)| s.repository == target.repository) {
        if target.repo.blob_exists(&descriptor(s)).unwrap_or(false) {
            let _ = tx.send(Progress::layer(id, "Layer already exists"));
            return Ok(descriptor(s));
        }
    }
    let elsewhere = sources.iter().filter(|(s, _)| s.repository != target.repository);
    for (s, from) in elsewhere.take(MOUNT_ATTEMPTS) {
        if target.repo.mount_blob(s.digest.as_str(), from).unwrap_or(false) {
            remember(images, target, &layer.diff_id, &descriptor(s));
            let _ = tx.send(Progress::layer(id, &format!("Mounted from {from}")));
            return Ok(descriptor(s));
        }
    }
    let d = match upload(images, target, layer, id, tx, cancel, Upload::Streamed) {
        // A registry that refuses a streamed upload may take the same bytes in ranged chunks.
        Err(Error::Registry(berth_registry::Error::InvalidResponse(_))) => {
            upload(images, target, layer, id, tx, cancel, Upload::Chunked)?
        }
        other => other?,
    };
    remember(images, target, &layer.diff_id, &d);
    let _ = tx.send(Progress::layer(id, "Pushed"));
    Ok(d)
}

/// How a blob's bytes go up.
#[derive(Clone, Copy)]
enum Upload {
    /// One `PATCH` streaming the whole blob (as dockerd).
    Streamed,
    /// `PATCH`es of [`CHUNK`] bytes with `Content-Range`.
    Chunked,
}

/// Bytes per `PATCH` of a chunked upload.
const CHUNK: usize = 16 << 20;

/// Compresses the layer's tar on a helper thread into a pipe the upload reads.
fn upload(
    images: &ImageStore,
    target: &Target<'_>,
    layer: &LayerInfo,
    id: &str,
    tx: &Sender<Progress>,
    cancel: &AtomicBool,
    how: Upload,
) -> Result<Descriptor> {
    let tar = images.layer_tar(layer)?;
    let total = tar.len();
    let _ = tx.send(Progress::bytes(id, "Pushing", 0, total));
    let (reader, mut writer) = io::pipe().map_err(|e| Error::io("create a pipe", e))?;
    // The compressor's outcome, stored before its end of the pipe closes; none: it died (a panic).
    let outcome: Mutex<Option<Result<()>>> = Mutex::new(None);
    let gzip = GzipOptions {
        workers: GzipOptions::default().workers.min(MAX_GZIP_WORKERS),
        ..GzipOptions::default()
    };
    std::thread::scope(|s| {
        let compressor = {
            let (outcome, tx, id) = (&outcome, tx.clone(), id.to_string());
            s.spawn(move || {
                let mut counted = Counted {
                    inner: tar,
                    read: 0,
                    last: Instant::now(),
                    report: Box::new(move |n| {
                        let _ = tx.send(Progress::bytes(&id, "Pushing", n, total));
                    }),
                    cancel,
                };
                let done = gzip_parallel(&mut counted, &mut writer, gzip);
                *outcome.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(done.map(drop).map_err(Error::from));
                drop(writer);
            })
        };
        let mut body = Checked {
            inner: reader,
            outcome: &outcome,
            gave_failure: false,
        };
        let uploaded = match how {
            Upload::Streamed => target.repo.upload_stream(&mut body),
            Upload::Chunked => target.repo.upload_chunks(&mut body, CHUNK),
        };
        let compression_failed = body.gave_failure;
        // Unblocks a compressor still writing (the upload failed early).
        drop(body);
        if compressor.join().is_err() {
            return Err(Error::Runtime(format!(
                "compressing layer {id} failed: its thread panicked"
            )));
        }
        let compressed = outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| Err(Error::Runtime(format!("compressing layer {id} stopped"))));
        // The compressor's failure is the cause when the upload met it; otherwise it is the consequence of an
        // upload that stopped reading (a broken pipe), and the upload's error says why.
        let (digest, size) = match (uploaded, compressed) {
            (Err(_), Err(e)) if compression_failed => return Err(e),
            (Err(e), _) => return Err(e.into()),
            (Ok(_), Err(e)) => return Err(e),
            (Ok(done), Ok(())) => done,
        };
        Ok(Descriptor {
            media_type: LAYER_MEDIA_TYPE.to_string(),
            digest,
            size,
            platform: None,
        })
    })
}

/// Records that the layer is the blob `d` in the target repository (a hint for later pushes: not fatal).
fn remember(images: &ImageStore, target: &Target<'_>, diff_id: &Digest, d: &Descriptor) {
    if let Ok(digest) = Digest::parse(&d.digest) {
        let source = LayerSource {
            digest,
            size: d.size,
            media_type: d.media_type.clone(),
            repository: target.repository.clone(),
        };
        let _ = images.add_layer_source(diff_id, source);
    }
}

/// The layer's tar, counted for progress and stopped when the push is cancelled.
struct Counted<'a, R> {
    inner: R,
    read: u64,
    last: Instant,
    report: Box<dyn FnMut(u64) + Send + 'a>,
    cancel: &'a AtomicBool,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("push cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if n == 0 || self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            (self.report)(self.read);
        }
        Ok(n)
    }
}

/// The compressed stream as the upload reads it: its end is an error unless compression finished well, so a
/// failed or dead compressor never lets a truncated blob be committed.
struct Checked<'a> {
    inner: io::PipeReader,
    outcome: &'a Mutex<Option<Result<()>>>,
    /// The compressor's failure was handed to the upload.
    gave_failure: bool,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        match self
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            Some(Ok(())) => Ok(0),
            Some(Err(e)) => {
                self.gave_failure = true;
                Err(io::Error::other(e.to_string()))
            }
            None => {
                self.gave_failure = true;
                Err(io::Error::other("layer compression stopped"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an upload reads through [`Checked`] once the compressor closed its end with `outcome`.
    fn read_all(outcome: Option<Result<()>>) -> (io::Result<Vec<u8>>, bool) {
        let (reader, mut writer) = io::pipe().unwrap();
        io::Write::write_all(&mut writer, b"gzip bytes").unwrap();
        drop(writer);
        let outcome = Mutex::new(outcome);
        let mut body = Checked {
            inner: reader,
            outcome: &outcome,
            gave_failure: false,
        };
        let mut out = Vec::new();
        let r = body.read_to_end(&mut out).map(|_| out);
        (r, body.gave_failure)
    }

    #[test]
    fn the_stream_ends_well_only_when_compression_did() {
        let (r, gave) = read_all(Some(Ok(())));
        assert_eq!(r.unwrap(), b"gzip bytes");
        assert!(!gave);
        let (r, gave) = read_all(Some(Err(Error::Runtime("disk on fire".into()))));
        assert!(r.unwrap_err().to_string().contains("disk on fire"));
        assert!(gave);
        // A compressor that died without a word (a panic): the blob is not complete.
        let (r, gave) = read_all(None);
        assert!(r.is_err());
        assert!(gave);
    }
}
