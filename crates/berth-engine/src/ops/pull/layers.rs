//! The layers of one pull: those the store lacks are downloaded by up to three threads at once (as Docker
//! does), each streaming its blob through digest and size verification into the store's unpacker (which
//! decompresses and hashes on a helper thread while files are created), so nothing is written to disk but the
//! layer's files. With the overlay driver layers unpack independently of each other; with vfs each starts as a
//! copy of the one below, so they are unpacked one after another. Progress messages travel from the workers to
//! the calling thread over a channel; the first failure stops the other downloads.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use berth_image::{Digest, ImageWriter, Unpacked};
use berth_registry::{Descriptor, Repository};

use crate::error::{Error, Result};
use crate::ops::progress::Progress;
use crate::ops::workers;

/// Downloads at once (Docker's `max-concurrent-downloads` default).
const CONCURRENT_DOWNLOADS: usize = 3;
/// Least time between two `Downloading` messages of a layer.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// One layer of the image being pulled.
pub(super) struct Planned {
    pub(super) desc: Descriptor,
    pub(super) diff_id: Digest,
    /// The chain id of the layers below.
    pub(super) parent: Option<Digest>,
    /// The store has it already.
    pub(super) present: bool,
}

/// Adds every layer of `plan` to `writer`, fetching the missing ones.
pub(super) fn fetch(
    writer: &mut ImageWriter<'_>,
    repo: &Repository<'_>,
    plan: &[Planned],
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let (tx, rx) = channel::<Progress>();
    let independent = writer.unpacks_independently();
    std::thread::scope(|s| {
        let worker = s.spawn(move || {
            if independent {
                let mut unpacked = concurrently(writer, repo, plan, &tx, cancel)?;
                drop(tx);
                for (i, p) in plan.iter().enumerate() {
                    match unpacked[i].take() {
                        Some(u) => writer.push(u)?,
                        None => writer.add_existing_layer(&p.diff_id)?,
                    };
                }
                Ok(())
            } else {
                in_order(writer, repo, plan, &tx, cancel)
            }
        });
        for p in rx {
            progress(p);
        }
        worker
            .join()
            .unwrap_or_else(|_| Err(Error::Runtime("layer download thread panicked".into())))
    })
}

/// Overlay: fetches the missing layers with up to [`CONCURRENT_DOWNLOADS`] threads; the result has the unpacked
/// layer at the index of each missing one.
fn concurrently(
    writer: &ImageWriter<'_>,
    repo: &Repository<'_>,
    plan: &[Planned],
    tx: &Sender<Progress>,
    cancel: &AtomicBool,
) -> Result<Vec<Option<Unpacked>>> {
    let missing: Vec<usize> = (0..plan.len()).filter(|&i| !plan[i].present).collect();
    workers::run(CONCURRENT_DOWNLOADS, plan.len(), &missing, cancel, |i| {
        fetch_one(writer, repo, &plan[i], tx, cancel)
    })
}

/// Vfs: fetches and adds the layers bottom first.
fn in_order(
    writer: &mut ImageWriter<'_>,
    repo: &Repository<'_>,
    plan: &[Planned],
    tx: &Sender<Progress>,
    cancel: &AtomicBool,
) -> Result<()> {
    for p in plan {
        if p.present {
            writer.add_existing_layer(&p.diff_id)?;
        } else {
            let u = fetch_one(writer, repo, p, tx, cancel)?;
            writer.push(u)?;
        }
    }
    Ok(())
}

/// Downloads and unpacks one layer: the blob verified against its digest and size, its content against the
/// config's diff id.
fn fetch_one(
    writer: &ImageWriter<'_>,
    repo: &Repository<'_>,
    p: &Planned,
    tx: &Sender<Progress>,
    cancel: &AtomicBool,
) -> Result<Unpacked> {
    let id = p.desc.short_id().to_string();
    let total = p.desc.size;
    let mut blob = repo.blob(&p.desc, "filesystem layer")?;
    let (sender, layer) = (tx.clone(), id.clone());
    let mut last: Option<Instant> = None;
    blob.on_progress(Box::new(move |n| {
        if n == total || last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
            last = Some(Instant::now());
            let _ = sender.send(Progress::bytes(&layer, "Downloading", n, total));
        }
    }));
    let unpacked = writer.unpack(
        p.parent.as_ref(),
        Cancellable {
            inner: &mut blob,
            cancel,
        },
        Some(&p.diff_id),
    );
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Runtime("pull cancelled".into()));
    }
    // The blob is verified at its end: read what the unpacker left (padding after the tar's end) and check.
    blob.finish()?;
    let unpacked = unpacked?;
    for status in ["Verifying Checksum", "Download complete"] {
        let _ = tx.send(Progress::layer(&id, status));
    }
    let _ = tx.send(Progress::bytes(&id, "Extracting", total, total));
    let _ = tx.send(Progress::layer(&id, "Pull complete"));
    Ok(unpacked)
}

/// A reader that fails once a pull is being cancelled (another layer failed, or the client went away).
struct Cancellable<'a, R> {
    inner: R,
    cancel: &'a AtomicBool,
}

impl<R: Read> Read for Cancellable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("pull cancelled"));
        }
        self.inner.read(buf)
    }
}
