//! Advisory whole-file locks (`flock`) that serialise store mutations across processes. A lock is
//! released when its guard is dropped or its process dies.

use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{IoContext, Result};

/// A held lock; dropping it unlocks.
#[derive(Debug)]
pub(crate) struct FileLock {
    _fd: OwnedFd,
}

fn open(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDWR | OFlags::CREATE | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .ctx(|| format!("open lock {}", path.display()))
}

impl FileLock {
    /// Blocks until the exclusive lock is held.
    pub(crate) fn exclusive(path: &Path) -> Result<FileLock> {
        FileLock::take(path, FlockOperation::LockExclusive)
    }

    /// Blocks until a shared lock is held.
    pub(crate) fn shared(path: &Path) -> Result<FileLock> {
        FileLock::take(path, FlockOperation::LockShared)
    }

    /// The exclusive lock if nobody holds the lock, else `None`.
    pub(crate) fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        let fd = open(path)?;
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(FileLock { _fd: fd })),
            Err(Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(e).ctx(|| format!("lock {}", path.display())),
        }
    }

    fn take(path: &Path, op: FlockOperation) -> Result<FileLock> {
        let fd = open(path)?;
        loop {
            match rustix::fs::flock(&fd, op) {
                Ok(()) => return Ok(FileLock { _fd: fd }),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e).ctx(|| format!("lock {}", path.display())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(".lock");
        let a = FileLock::shared(&p).unwrap();
        let b = FileLock::shared(&p).unwrap();
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop((a, b));
        let x = FileLock::exclusive(&p).unwrap();
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(x);
        assert!(FileLock::try_exclusive(&p).unwrap().is_some());
    }
}
