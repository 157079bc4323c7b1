//! Uploading blobs of unknown size (a layer compressed as it is pushed): streamed, one `PATCH` carrying the
//! whole body with chunked transfer encoding (what Docker's pusher does), or chunked, sequential `PATCH`es
//! with `Content-Range` and `Content-Length` (the distribution spec's chunked upload, for registries that
//! refuse the streamed form). Either way the bytes are hashed (sha256) and counted as they go, the count is
//! and the session ends with `PUT <location>?digest=sha256:<computed>`.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};
use ureq::http::Method;

use crate::client::{Repository, Req};
use crate::error::{Error, Result};
use crate::push::Session;
use crate::transport::{HttpResponse, Payload};

const OCTET_STREAM: (&str, &str) = ("Content-Type", "application/octet-stream");

/// A reader hashing and counting what passes through it, keeping the first read error of its source.
struct Hashing<'a> {
    inner: &'a mut (dyn Read + Send),
    hasher: Sha256,
    count: u64,
    failure: Option<String>,
}

impl<'a> Hashing<'a> {
    fn new(inner: &'a mut (dyn Read + Send)) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
            failure: None,
        }
    }

    /// Reads until `buf` is full or the source ends; returns how much was read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(m) => n += m,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Source(format!("read blob content: {e}"))),
            }
        }
        Ok(n)
    }

    /// `sha256:<hex>` of everything read.
    fn digest(self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.finalize()))
    }
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failure.get_or_insert_with(|| e.to_string());
            }
        })?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

impl Repository<'_> {
    /// Uploads a blob of unknown size in one streamed `PATCH`. Returns the blob's digest and size.
    pub fn upload_stream(&self, body: &mut (dyn Read + Send)) -> Result<(String, u64)> {
        self.with_session(|s| {
            let mut reader = Hashing::new(body);
            let headers = [OCTET_STREAM];
            let sent = self.push_send(
                None,
                Req::new(Method::PATCH, &s.location, &headers, Payload::Stream(&mut reader)),
            );
            if let Some(e) = reader.failure.take() {
                return Err(Error::Source(format!("read blob content: {e}")));
            }
            let size = reader.count;
            self.accepted(s, sent?, size)?;
            let digest = reader.digest();
            self.commit(s, &digest, b"")?;
            Ok((digest, size))
        })
    }

    /// Uploads a blob of unknown size in `PATCH`es of `chunk_size` bytes. Returns the blob's digest and size.
    pub fn upload_chunks(&self, body: &mut (dyn Read + Send), chunk_size: usize) -> Result<(String, u64)> {
        if chunk_size == 0 {
            return Err(Error::InvalidArgument("upload chunk size must not be 0".into()));
        }
        self.with_session(|s| {
            let mut reader = Hashing::new(body);
            let mut buf = vec![0u8; chunk_size];
            loop {
                let start = reader.count;
                let n = reader.fill(&mut buf)?;
                if n == 0 {
                    break;
                }
                let range = format!("{start}-{}", start + n as u64 - 1);
                let headers = [OCTET_STREAM, ("Content-Range", range.as_str())];
                let resp = self.push_send(
                    None,
                    Req::new(Method::PATCH, &s.location, &headers, Payload::Bytes(&buf[..n])),
                )?;
                self.accepted(s, resp, reader.count)?;
                if n < chunk_size {
                    break;
                }
            }
            let size = reader.count;
            let digest = reader.digest();
            self.commit(s, &digest, b"")?;
            Ok((digest, size))
        })
    }

    /// Checks the answer to a `PATCH`: 202, a `Range` covering the `size` bytes sent so far; moves the session
    /// to the new location.
    fn accepted(&self, s: &mut Session, resp: HttpResponse, size: u64) -> Result<()> {
        if resp.status().as_u16() != 202 {
            return Err(self.push_failure(resp, "blob upload unknown"));
        }
        let range = resp.headers().get("range").and_then(|v| v.to_str().ok());
        if let Some(r) = range.filter(|_| size > 0) {
            let end = r
                .split_once('-')
                .and_then(|(_, e)| e.trim().parse::<u64>().ok())
                .ok_or_else(|| Error::InvalidResponse(format!("bad range format: {r}")))?;
            if end + 1 != size {
                return Err(Error::InvalidResponse(format!(
                    "registry holds {} bytes of the upload, {size} were sent",
                    end + 1
                )));
            }
        }
        s.location = self.location(&resp, &s.location)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.0.min(buf.len()).min(3);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn hashing_counts_and_fills() {
        let data = b"hello world, a little longer than one chunk";
        let mut src: &[u8] = data;
        let mut h = Hashing::new(&mut src);
        let mut buf = [0u8; 16];
        assert_eq!(h.fill(&mut buf).unwrap(), 16);
        let mut rest = Vec::new();
        h.read_to_end(&mut rest).unwrap();
        assert_eq!(h.count, data.len() as u64);
        assert_eq!(h.digest(), crate::manifest::sha256_digest(data));

        let mut src = Failing(5);
        let mut h = Hashing::new(&mut src);
        let e = h.fill(&mut [0u8; 16]).unwrap_err();
        assert!(matches!(e, Error::Source(_)));
        assert_eq!(e.to_string(), "read blob content: disk on fire");
        assert_eq!(h.failure.as_deref(), Some("disk on fire"));
    }
}
