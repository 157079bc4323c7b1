//! The layers of one push, up to three at once (besides compression's own threads). Each is, in order of cost:
//! already in the target repository (a blob the store remembers seeing there, confirmed with `HEAD`), mountable
//! from another repository of the same registry, or uploaded: its tar rebuilt from the store, gzip-compressed on
//! every core and streamed to the registry while the compressed bytes are hashed, so nothing is staged on disk.
//! A failed compression fails the upload's body, so a truncated blob is never committed. Progress messages go
//! from the workers to the calling thread over a channel; the first failure stops the others.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use berth_image::compression::{GzipOptions, gzip_parallel};
use berth_image::{Digest, ImageStore, LayerInfo, LayerSource};
use berth_registry::Descriptor;

use super::Target;
use super::manifest::LAYER_MEDIA_TYPE;
use crate::error::{Error, Result};
use crate::ops::progress::Progress;

/// Uploads at once.
const CONCURRENT_UPLOADS: usize = 3;
/// Least time between two `Pushing` messages of a layer.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Media types of blobs a Docker schema 2 manifest can name as gzip layers.
const GZIP_TYPES: [&str; 2] = [LAYER_MEDIA_TYPE, "application/vnd.oci.image.layer.v1.tar+gzip"];

/// Pushes `layers` (bottom first); returns their blobs' descriptors in the same order.
pub(super) fn push(
    images: &ImageStore,
    target: &Target<'_>,
    layers: &[LayerInfo],
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
    let next = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Descriptor>>> = Mutex::new(vec![None; layers.len()]);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..CONCURRENT_UPLOADS.min(layers.len()) {
            let tx = tx.clone();
            s.spawn(|| {
                let tx = tx;
                while !cancel.load(Ordering::Relaxed) {
                    // Top layer first, as the messages.
                    let Some(i) = layers.len().checked_sub(1 + next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    match push_one(images, target, &layers[i], &tx, &cancel) {
                        Ok(d) => results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(d),
                        Err(e) => {
                            if !cancel.swap(true, Ordering::Relaxed) {
                                *first_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                            }
                            return;
                        }
                    }
                }
            });
        }
        drop(tx);
        for p in rx {
            progress(p);
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(e);
    }
    results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
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
    let sources: Vec<LayerSource> = images
        .layer_sources(&layer.diff_id)?
        .into_iter()
        .filter(|s| GZIP_TYPES.contains(&s.media_type.as_str()))
        .filter(|s| registry_of(&s.repository) == target.registry)
        .collect();
    let descriptor = |s: &LayerSource| Descriptor {
        media_type: LAYER_MEDIA_TYPE.to_string(),
        digest: s.digest.to_string(),
        size: s.size,
        platform: None,
    };
    for s in sources.iter().filter(|s| s.repository == target.repository) {
        if target.repo.blob_exists(&descriptor(s))? {
            let _ = tx.send(Progress::layer(id, "Layer already exists"));
            return Ok(descriptor(s));
        }
    }
    for s in sources.iter().filter(|s| s.repository != target.repository) {
        let from = &s.repository[target.registry.len() + 1..];
        if target.repo.mount_blob(&s.digest.to_string(), from)? {
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
    let failed: Arc<Mutex<Option<Error>>> = Arc::default();
    std::thread::scope(|s| {
        let compressor = {
            let (failed, tx, id) = (failed.clone(), tx.clone(), id.to_string());
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
                if let Err(e) = gzip_parallel(&mut counted, &mut writer, GzipOptions::default()) {
                    *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.into());
                }
                // The writer is dropped after the outcome is stored: the upload sees it at end of stream.
                drop(writer);
            })
        };
        let mut body = Checked {
            inner: reader,
            failed: &failed,
            gave_failure: false,
        };
        let uploaded = match how {
            Upload::Streamed => target.repo.upload_stream(&mut body, &mut |_| {}),
            Upload::Chunked => target.repo.upload_chunks(&mut body, CHUNK, &mut |_| {}),
        };
        let compression_failed = body.gave_failure;
        // Unblocks a compressor still writing (the upload failed early).
        drop(body);
        let _ = compressor.join();
        let failure = failed.lock().unwrap_or_else(PoisonError::into_inner).take();
        // The compressor's failure is the cause when the upload met it; otherwise it is the consequence of an
        // upload that stopped reading (a broken pipe), and the upload's error says why.
        let (digest, size) = match (uploaded, failure) {
            (Err(_), Some(e)) if compression_failed => return Err(e),
            (Err(e), _) => return Err(e.into()),
            (Ok(_), Some(e)) => return Err(e),
            (Ok(done), None) => done,
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

/// The registry part of a recorded repository (`127.0.0.1:5000/x` → `127.0.0.1:5000`).
fn registry_of(repository: &str) -> &str {
    repository.split_once('/').map_or(repository, |(r, _)| r)
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

/// The compressed stream as the upload reads it: its end is an error when compression failed.
struct Checked<'a> {
    inner: io::PipeReader,
    failed: &'a Mutex<Option<Error>>,
    /// The compressor's failure was handed to the upload.
    gave_failure: bool,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0
            && let Some(e) = self
                .failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
        {
            self.gave_failure = true;
            return Err(io::Error::other(e.to_string()));
        }
        Ok(n)
    }
}
