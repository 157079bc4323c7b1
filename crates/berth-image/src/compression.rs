//! Layer stream decompression: the format is detected by its magic bytes (plain tar, gzip, zstd; bzip2
//! and xz are refused), and decoding plus diff-id hashing can run on a helper thread so it overlaps
//! with file creation. For pushes, [`gzip_parallel`] compresses a stream on several threads.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use crate::digest::{Digest, HashingReader};
use crate::error::{Error, IoContext, Result};

mod gzip_parallel;

pub use gzip_parallel::{GzipOptions, gzip_parallel};

/// A detected stream format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Detects the compression of a stream from its first bytes.
pub fn detect(head: &[u8]) -> Result<Compression> {
    let unsupported = |name: &str| {
        Err(Error::InvalidArgument(format!(
            "unsupported compression format: {name}"
        )))
    };
    match head {
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
        [b'B', b'Z', b'h', ..] => unsupported("bzip2"),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => unsupported("xz"),
        _ => Ok(Compression::None),
    }
}

/// Wraps `reader` in the decoder its content needs.
pub fn decompressed<'a, R: Read + 'a>(reader: R) -> Result<Box<dyn Read + 'a>> {
    let mut buf = BufReader::with_capacity(256 * 1024, reader);
    let head = buf.fill_buf().ctx(|| "read layer stream".into())?;
    Ok(match detect(head)? {
        Compression::None => Box::new(buf),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(buf).ctx(|| "start zstd".into())?)
        }
    })
}

const CHUNK: usize = 256 * 1024;

/// Decompresses `reader` on a helper thread, hashing the decompressed bytes, while `consume` reads
/// them on this thread. Returns what `consume` returned plus the digest and length of the whole
/// decompressed stream (read to its end even if `consume` stopped early).
pub(crate) fn decode_in_background<R, T>(
    reader: R,
    consume: impl FnOnce(&mut dyn Read) -> Result<T>,
) -> Result<(T, Digest, u64)>
where
    R: Read + Send,
{
    let cancel = AtomicBool::new(false);
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(8);
    std::thread::scope(|scope| {
        let producer = scope.spawn(|| -> Result<(Digest, u64)> {
            let mut hashed = HashingReader::new(decompressed(reader)?);
            let mut receiving = true;
            loop {
                if cancel.load(Ordering::Relaxed) {
                    return Err(Error::InvalidArgument("layer extraction cancelled".into()));
                }
                let mut chunk = vec![0u8; CHUNK];
                let n = match fill(&mut hashed, &mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        let msg = e.to_string();
                        let _ = tx.send(Err(e));
                        return Err(Error::InvalidArgument(format!("decompress layer: {msg}")));
                    }
                };
                chunk.truncate(n);
                if receiving && tx.send(Ok(chunk)).is_err() {
                    receiving = false;
                }
                if n < CHUNK {
                    break;
                }
            }
            drop(tx);
            hashed.finish().ctx(|| "read layer stream".into())
        });
        let mut rd = ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        };
        let consumed = consume(&mut rd);
        if consumed.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        drop(rd);
        let produced = producer
            .join()
            .map_err(|_| Error::Corrupt("layer decoder thread panicked".into()))?;
        match (consumed, produced) {
            (_, Err(e)) if !cancel.load(Ordering::Relaxed) => Err(e),
            (Err(e), _) => Err(e),
            (Ok(t), Ok((digest, len))) => Ok((t, digest, len)),
            (Ok(_), Err(e)) => Err(e),
        }
    })
}

/// Reads until `buf` is full or the stream ends (decoders return small pieces; sending each in its
/// own chunk would cost an allocation per piece).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the chunks a producer thread sends; the end of the channel is the end of the stream.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(c)) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn detects_formats() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for encoded in [data.clone(), gzip(&data), zstd::encode_all(&data[..], 1).unwrap()] {
            let mut out = Vec::new();
            decompressed(&encoded[..]).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
        }
        let err = |b: &[u8]| detect(b).unwrap_err().to_string();
        assert_eq!(err(b"BZh91AY"), "unsupported compression format: bzip2");
        assert_eq!(
            err(&[0xfd, b'7', b'z', b'X', b'Z', 0]),
            "unsupported compression format: xz"
        );
        assert_eq!(detect(b"").unwrap(), Compression::None);
    }

    #[test]
    fn background_decode_hashes_whole_stream() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 7) as u8).collect();
        let gz = gzip(&data);
        let (first, digest, len) = decode_in_background(&gz[..], |r| {
            let mut head = [0u8; 100];
            r.read_exact(&mut head).map_err(|e| Error::io("read", e))?;
            Ok(head.to_vec())
        })
        .unwrap();
        assert_eq!(first, data[..100]);
        assert_eq!(len, data.len() as u64);
        assert_eq!(digest, Digest::of(&data));
    }

    #[test]
    fn errors_surface() {
        let consumer_err = decode_in_background(&b"plain"[..], |_| -> Result<()> {
            Err(Error::InvalidArgument("boom".into()))
        });
        assert_eq!(consumer_err.unwrap_err().to_string(), "boom");
        let mut bad = gzip(b"hello world");
        let n = bad.len();
        bad[n / 2] ^= 0xff;
        bad.truncate(n - 4);
        let r = decode_in_background(&bad[..], |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v).map_err(|e| Error::io("read", e))
        });
        assert!(r.is_err());
        let xz = decode_in_background(&[0xfd, b'7', b'z', b'X', b'Z', 0][..], |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v).map_err(|e| Error::io("read", e))
        });
        assert_eq!(xz.unwrap_err().to_string(), "unsupported compression format: xz");
    }
}
