//! Blob bodies that verify themselves as they are read: exactly the size their descriptor states, and a sha256
//! digest equal to it at the end. A mismatch is a read error; the failure itself is kept in a [`BlobCheck`] the
//! caller holds, so it can be reported as such even when the reader was moved into a decoding pipeline.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::error::Error;

/// Called with the number of bytes read so far.
pub type ProgressFn = Box<dyn FnMut(u64) + Send>;

/// The outcome of a blob's verification, shared with its reader.
#[derive(Clone, Default)]
pub struct BlobCheck(Arc<Mutex<Option<Error>>>);

impl BlobCheck {
    /// The failure the reader ran into, if any (taken: asked once).
    pub fn take_failure(&self) -> Option<Error> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn set(&self, e: Error) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
    }
}

/// A blob body being read and verified.
pub struct VerifiedBlob {
    inner: Box<dyn Read + Send>,
    /// What the blob is, for messages (`filesystem layer`, `image config`).
    what: &'static str,
    digest: String,
    size: u64,
    hasher: Sha256,
    read: u64,
    done: bool,
    check: BlobCheck,
    progress: Option<ProgressFn>,
}

impl VerifiedBlob {
    pub(crate) fn new(
        inner: Box<dyn Read + Send>,
        what: &'static str,
        digest: &str,
        size: u64,
    ) -> VerifiedBlob {
        VerifiedBlob {
            inner,
            what,
            digest: digest.to_string(),
            size,
            hasher: Sha256::new(),
            read: 0,
            done: false,
            check: BlobCheck::default(),
            progress: None,
        }
    }

    /// Reports the bytes read so far to `f` after every read.
    pub fn on_progress(&mut self, f: ProgressFn) {
        self.progress = Some(f);
    }

    /// The shared verification outcome.
    pub fn check(&self) -> BlobCheck {
        self.check.clone()
    }

    /// Reads what is left and returns the verification outcome.
    pub fn finish(&mut self) -> Result<(), Error> {
        let mut sink = [0u8; 64 * 1024];
        loop {
            match self.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(self.check.take_failure().unwrap_or_else(|| {
                        Error::Unreachable(format!("read {} {}: {e}", self.what, self.digest))
                    }));
                }
            }
        }
        match self.check.take_failure() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let msg = e.to_string();
        self.check.set(e);
        self.done = true;
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }
}

impl Read for VerifiedBlob {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return match self.check.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                Some(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
                None => Ok(0),
            };
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let msg = format!("read {} {}: {e}", self.what, self.digest);
                return Err(self.fail(Error::Unreachable(msg)));
            }
        };
        if n == 0 {
            if self.read != self.size {
                let msg = format!(
                    "{} {} is truncated: got {} of {} bytes",
                    self.what, self.digest, self.read, self.size
                );
                return Err(self.fail(Error::Verification(msg)));
            }
            let got = format!(
                "sha256:{}",
                hex::encode(std::mem::take(&mut self.hasher).finalize())
            );
            if got != self.digest {
                let msg = format!("{} verification failed for digest {}", self.what, self.digest);
                return Err(self.fail(Error::Verification(msg)));
            }
            self.done = true;
            return Ok(0);
        }
        if self.read + n as u64 > self.size {
            let msg = format!(
                "{} {} is larger than the {} bytes its manifest states",
                self.what, self.digest, self.size
            );
            return Err(self.fail(Error::Verification(msg)));
        }
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        if let Some(p) = self.progress.as_mut() {
            p(self.read);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::sha256_digest;

    fn blob(data: &'static [u8], digest: &str, size: u64) -> VerifiedBlob {
        VerifiedBlob::new(Box::new(data), "filesystem layer", digest, size)
    }

    #[test]
    fn good_blob_and_progress() {
        let data: &'static [u8] = b"hello world";
        let mut b = blob(data, &sha256_digest(data), 11);
        let seen = Arc::new(Mutex::new(0));
        let s = seen.clone();
        b.on_progress(Box::new(move |n| *s.lock().unwrap() = n));
        let mut out = Vec::new();
        b.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(*seen.lock().unwrap(), 11);
        assert!(b.finish().is_ok());
    }

    #[test]
    fn mismatches_are_errors() {
        let data: &'static [u8] = b"hello world";
        let good = sha256_digest(data);
        let mut wrong = blob(data, &sha256_digest(b"other"), 11);
        let check = wrong.check();
        assert!(wrong.read_to_end(&mut Vec::new()).is_err());
        let e = check.take_failure().unwrap();
        assert!(matches!(e, Error::Verification(_)));
        assert!(
            e.to_string()
                .starts_with("filesystem layer verification failed for digest sha256:"),
            "{e}"
        );
        let e = blob(data, &good, 20).finish().unwrap_err().to_string();
        assert!(e.ends_with("is truncated: got 11 of 20 bytes"), "{e}");
        let e = blob(data, &good, 5).finish().unwrap_err().to_string();
        assert!(e.contains("is larger than the 5 bytes"), "{e}");
        // Once failed, further reads keep failing.
        let mut b = blob(data, &good, 5);
        assert!(b.read_to_end(&mut Vec::new()).is_err());
        assert!(b.read(&mut [0u8; 4]).is_err());
    }
}
