//! Parallel file creation within one layer. Creating a file is the slow step of unpacking on some filesystems
//! (ext4 without a journal scans past every recently freed inode of the group on each create: ~0.5 ms a file
//! after a large delete), so regular files of moderate size are handed, content in memory, to worker threads
//! while the main thread goes on reading the stream.
//!
//! Safety is unchanged: the main thread still resolves every parent inside the root (`openat2(RESOLVE_IN_ROOT)`)
//! and hands a worker that directory's descriptor and one path component, which the worker creates with
//! `O_CREAT|O_EXCL|O_NOFOLLOW`. Order is kept where it matters: before an entry that could touch a file still
//! being written — the same path, a path below it, a hardlink to it, any whiteout, or a directory entry for a
//! directory that has files in flight — the main thread waits for every worker to finish (a barrier). Paths are
//! compared as cleaned archive paths, so an archive reaching one file by two spellings through its own symlinks
//! may see either write win; it stays confined to the root.

use std::collections::HashSet;
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::Scope;

use super::{ExtractOptions, Meta, nodes, paths};
use crate::error::{Error, Result};

/// Files up to this size go to the workers; larger ones are written by the main thread as they stream.
pub(super) const MAX_POOLED_FILE: u64 = 1 << 20;
/// Jobs queued per worker (bounds the memory held: at most this many files of at most [`MAX_POOLED_FILE`]).
const QUEUE_PER_WORKER: usize = 8;

/// One file to create.
pub(super) struct Job {
    pub(super) dir: Arc<OwnedFd>,
    pub(super) name: CString,
    /// The cleaned archive path, for messages.
    pub(super) path: Vec<u8>,
    pub(super) data: Vec<u8>,
    pub(super) meta: Meta,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<usize>,
    idle: Condvar,
    error: Mutex<Option<Error>>,
}

/// The workers of one extraction and what was handed to them since the last barrier.
pub(super) struct FilePool {
    tx: SyncSender<Job>,
    shared: Arc<Shared>,
    /// Files handed out since the last barrier.
    files: HashSet<Vec<u8>>,
    /// Their ancestor directories (the root included, as the empty path).
    dirs: HashSet<Vec<u8>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FilePool {
    /// Starts `workers` threads in `scope` (they end when the pool is dropped).
    pub(super) fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        workers: usize,
        opts: ExtractOptions,
        umask: u32,
    ) -> FilePool {
        let (tx, rx) = sync_channel::<Job>(workers * QUEUE_PER_WORKER);
        let rx = Arc::new(Mutex::new(rx));
        let shared = Arc::new(Shared::default());
        for _ in 0..workers {
            let (rx, shared) = (rx.clone(), shared.clone());
            scope.spawn(move || work(&rx, &shared, &opts, umask));
        }
        FilePool {
            tx,
            shared,
            files: HashSet::new(),
            dirs: HashSet::new(),
        }
    }

    fn in_flight(&self, path: &[u8], as_dir: bool) -> bool {
        if self.files.contains(path) || (as_dir && self.dirs.contains(path)) {
            return true;
        }
        let mut end = path.len();
        while let Some(i) = path[..end].iter().rposition(|&b| b == b'/') {
            if self.files.contains(&path[..i]) {
                return true;
            }
            end = i;
        }
        false
    }

    /// Waits for the workers if the entry at `path` (a hardlink to `target`; any whiteout when `always`) could
    /// touch a file they may still be writing.
    pub(super) fn settle(&mut self, path: &[u8], target: Option<&[u8]>, always: bool) -> Result<()> {
        if self.files.is_empty() {
            return Ok(());
        }
        if always || self.in_flight(path, true) || target.is_some_and(|t| self.in_flight(t, true)) {
            return self.barrier();
        }
        Ok(())
    }

    /// Hands a file to the workers; fails with the first worker error seen so far.
    pub(super) fn submit(&mut self, job: Job) -> Result<()> {
        if let Some(e) = lock(&self.shared.error).take() {
            return Err(e);
        }
        let mut end = job.path.len();
        while let Some(i) = job.path[..end].iter().rposition(|&b| b == b'/') {
            if !self.dirs.insert(job.path[..i].to_vec()) {
                break;
            }
            end = i;
        }
        self.dirs.insert(Vec::new());
        self.files.insert(job.path.clone());
        *lock(&self.shared.pending) += 1;
        if self.tx.send(job).is_err() {
            return Err(Error::Corrupt("layer file workers stopped".into()));
        }
        Ok(())
    }

    /// Waits until every file handed out is written; returns the first worker error.
    pub(super) fn barrier(&mut self) -> Result<()> {
        let mut pending = lock(&self.shared.pending);
        while *pending > 0 {
            pending = self
                .shared
                .idle
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(pending);
        self.files.clear();
        self.dirs.clear();
        match lock(&self.shared.error).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn work(rx: &Mutex<Receiver<Job>>, shared: &Shared, opts: &ExtractOptions, umask: u32) {
    loop {
        let job = lock(rx).recv();
        let Ok(job) = job else { return };
        // After a failure the rest is skipped: the layer is discarded anyway.
        if lock(&shared.error).is_none()
            && let Err(e) =
                nodes::regular_bytes(job.dir.as_fd(), &job.name, &job.data, &job.meta, opts, umask)
        {
            lock(&shared.error).get_or_insert(Error::io(format!("write {}", paths::show(&job.path)), e));
        }
        let mut pending = lock(&shared.pending);
        *pending -= 1;
        if *pending == 0 {
            shared.idle.notify_all();
        }
    }
}
