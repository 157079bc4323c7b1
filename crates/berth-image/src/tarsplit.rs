//! Tar layout records ("tar-split"): while a layer is unpacked, every byte of its tar stream except
//! the contents of regular files is kept, zstd-compressed, with a reference to the unpacked file
//! holding each skipped piece. The exact stream, and so its diff id, can then be rebuilt from the
//! unpacked layer (`docker save`) without storing the layer twice.
//!
//! Record format (inside one zstd frame): `BTS1`, then records `R <u32 len> <bytes>` (raw stream
//! bytes) and `F <u64 size> <u32 len> <path>` (`size` bytes of the regular file `path`, relative to
//! the layer root), all integers little-endian.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::OFlags;
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::extract::open_in_root;

const MAGIC: &[u8; 4] = b"BTS1";
const RAW: u8 = b'R';
const FILE: u8 = b'F';
/// Raw bytes are written out in records of at most about this size.
const FLUSH_AT: usize = 64 * 1024;

type Encoder = zstd::stream::write::Encoder<'static, BufWriter<File>>;
type Decoder = zstd::stream::read::Decoder<'static, BufReader<File>>;

/// Records the layout of a tar stream read through [`Recorder::wrap`].
pub(crate) struct Recorder {
    state: RefCell<State>,
}

struct State {
    out: Encoder,
    /// Bytes of the stream seen so far.
    pos: u64,
    /// Stream bytes before this offset are file content, not recorded.
    skip_to: u64,
    raw: Vec<u8>,
    /// The first write failure; reported by [`Recorder::finish`].
    error: Option<io::Error>,
}

impl State {
    fn put(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.error = Some(e);
        }
    }

    fn flush_raw(&mut self) {
        if self.raw.is_empty() {
            return;
        }
        let raw = std::mem::take(&mut self.raw);
        self.put(&[RAW]);
        self.put(&(raw.len() as u32).to_le_bytes());
        self.put(&raw);
        self.raw = raw;
        self.raw.clear();
    }

    fn saw(&mut self, bytes: &[u8]) {
        let start = self.pos;
        self.pos += bytes.len() as u64;
        let skip =
            usize::try_from(self.skip_to.saturating_sub(start)).map_or(bytes.len(), |s| s.min(bytes.len()));
        self.raw.extend_from_slice(&bytes[skip..]);
        if self.raw.len() >= FLUSH_AT {
            self.flush_raw();
        }
    }
}

impl Recorder {
    /// Starts a record written to the new file `path`.
    pub(crate) fn create(path: &Path) -> Result<Recorder> {
        let ctx = || format!("create {}", path.display());
        let file = File::create(path).ctx(ctx)?;
        let mut out = Encoder::new(BufWriter::with_capacity(FLUSH_AT, file), 1).ctx(ctx)?;
        out.write_all(MAGIC).ctx(ctx)?;
        Ok(Recorder {
            state: RefCell::new(State {
                out,
                pos: 0,
                skip_to: 0,
                raw: Vec::with_capacity(FLUSH_AT + 512),
                error: None,
            }),
        })
    }

    /// A reader passing `inner` through this recorder.
    pub(crate) fn wrap<R: Read>(&self, inner: R) -> Recording<'_, R> {
        Recording { inner, rec: self }
    }

    /// Notes that the `size` bytes of the stream starting at `pos` are the content of the regular
    /// file `path`. Ignored unless `pos` is where the stream is now (the bytes then stay recorded).
    pub(crate) fn file(&self, pos: u64, size: u64, path: &[u8]) {
        let mut s = self.state.borrow_mut();
        if size == 0 || pos != s.pos || s.skip_to > s.pos {
            return;
        }
        let Ok(len) = u32::try_from(path.len()) else {
            return;
        };
        s.flush_raw();
        s.put(&[FILE]);
        s.put(&size.to_le_bytes());
        s.put(&len.to_le_bytes());
        s.put(path);
        s.skip_to = pos + size;
    }

    /// Writes out the rest of the record.
    pub(crate) fn finish(self) -> Result<()> {
        let mut s = self.state.into_inner();
        s.flush_raw();
        if let Some(e) = s.error {
            return Err(Error::io("record layer layout", e));
        }
        let out = s.out.finish().ctx(|| "record layer layout".into())?;
        out.into_inner()
            .map_err(|e| Error::io("record layer layout", e.into_error()))
            .map(drop)
    }
}

/// A reader whose bytes are recorded by a [`Recorder`].
pub(crate) struct Recording<'a, R> {
    inner: R,
    rec: &'a Recorder,
}

impl<R: Read> Read for Recording<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.rec.state.borrow_mut().saw(&buf[..n]);
        Ok(n)
    }
}

/// One record of a layout file.
enum Part {
    Raw(u64),
    File { size: u64, path: Vec<u8> },
}

fn open_records(record: &Path) -> Result<Decoder> {
    let file = File::open(record).ctx(|| format!("open {}", record.display()))?;
    let mut dec = Decoder::with_buffer(BufReader::new(file)).ctx(|| format!("read {}", record.display()))?;
    let mut magic = [0u8; 4];
    dec.read_exact(&mut magic)
        .ctx(|| format!("read {}", record.display()))?;
    if &magic != MAGIC {
        return Err(Error::Corrupt(format!(
            "{} is not a layer layout record",
            record.display()
        )));
    }
    Ok(dec)
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// The next record's header (a raw record's bytes follow in the stream), `None` at the end.
fn next_part(r: &mut impl Read) -> io::Result<Option<Part>> {
    let mut tag = [0u8; 1];
    if r.read(&mut tag)? == 0 {
        return Ok(None);
    }
    match tag[0] {
        RAW => Ok(Some(Part::Raw(u64::from(read_u32(r)?)))),
        FILE => {
            let size = read_u64(r)?;
            let len = read_u32(r)? as usize;
            let mut path = Vec::new();
            r.take(len as u64).read_to_end(&mut path)?;
            if path.len() != len {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok(Some(Part::File { size, path }))
        }
        t => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown layout record {t:#04x}"),
        )),
    }
}

/// The length of the stream a record rebuilds.
pub(crate) fn stream_len(record: &Path) -> Result<u64> {
    let mut dec = open_records(record)?;
    let ctx = || format!("read {}", record.display());
    let mut total = 0u64;
    while let Some(part) = next_part(&mut dec).ctx(ctx)? {
        let n = match part {
            Part::Raw(n) => {
                let copied = io::copy(&mut (&mut dec).take(n), &mut io::sink()).ctx(ctx)?;
                if copied != n {
                    return Err(Error::Corrupt(format!("{} is truncated", record.display())));
                }
                n
            }
            Part::File { size, .. } => size,
        };
        total = total.saturating_add(n);
    }
    Ok(total)
}

/// The tar stream of a layer rebuilt from its record and unpacked files; the end of the stream is
/// reported only when its digest is `expected` (an error otherwise).
pub(crate) struct Rebuilt {
    records: Decoder,
    root: OwnedFd,
    current: Current,
    hasher: Sha256,
    expected: Digest,
    done: bool,
}

enum Current {
    Idle,
    Raw(u64),
    File { file: File, left: u64, path: Vec<u8> },
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Rebuilt {
    /// Opens the stream of the layer unpacked at `root` as recorded in `record`.
    pub(crate) fn open(record: &Path, root: &Path, expected: Digest) -> Result<Rebuilt> {
        Ok(Rebuilt {
            records: open_records(record)?,
            root: crate::fsutil::open_dir(root)?,
            current: Current::Idle,
            hasher: Sha256::new(),
            expected,
            done: false,
        })
    }

    /// Moves to the next record; false at the end of the stream.
    fn advance(&mut self) -> io::Result<bool> {
        self.current = match next_part(&mut self.records)? {
            None => return Ok(false),
            Some(Part::Raw(n)) => Current::Raw(n),
            Some(Part::File { size, path }) => {
                let fd = open_in_root(self.root.as_fd(), &path, OFlags::RDONLY | OFlags::NOFOLLOW)
                    .map_err(|e| invalid(format!("open /{}: {e}", String::from_utf8_lossy(&path))))?;
                Current::File {
                    file: File::from(fd),
                    left: size,
                    path,
                }
            }
        };
        Ok(true)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.done = true;
        let hasher = std::mem::take(&mut self.hasher);
        let got = Digest::from_hasher(hasher);
        if got != self.expected {
            return Err(invalid(format!(
                "rebuilt layer {} has digest {got}",
                self.expected
            )));
        }
        Ok(())
    }
}

impl Read for Rebuilt {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = match &mut self.current {
                Current::Raw(left) if *left > 0 => {
                    let k = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let n = self.records.read(&mut buf[..k])?;
                    if n == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    *left -= n as u64;
                    n
                }
                Current::File { file, left, path } if *left > 0 => {
                    let k = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let n = file.read(&mut buf[..k])?;
                    if n == 0 {
                        return Err(invalid(format!(
                            "/{} is shorter than when it was unpacked",
                            String::from_utf8_lossy(path)
                        )));
                    }
                    *left -= n as u64;
                    n
                }
                _ => {
                    if !self.advance()? {
                        self.finish()?;
                        return Ok(0);
                    }
                    continue;
                }
            };
            self.hasher.update(&buf[..n]);
            return Ok(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{ExtractOptions, WhiteoutMode, apply_layer_recorded};
    use crate::testutil::TarBuilder;

    fn record_and_unpack(tar: &[u8], whiteouts: WhiteoutMode) -> (tempfile::TempDir, std::path::PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let record = t.path().join("record");
        let rec = Recorder::create(&record).unwrap();
        apply_layer_recorded(&root, tar, &ExtractOptions::new(whiteouts), &rec).unwrap();
        rec.finish().unwrap();
        (t, record)
    }

    fn rebuild(record: &Path, root: &Path, expected: Digest) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Rebuilt::open(record, root, expected)
            .unwrap()
            .read_to_end(&mut out)?;
        Ok(out)
    }

    fn sample() -> Vec<u8> {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let long = format!("{}/file", "d".repeat(150));
        let mut tar = TarBuilder::new()
            .dir("etc/")
            .file("etc/passwd", b"root:x:0:0\n")
            .file("big", &big)
            .symlink("lnk", "etc")
            .hardlink("etc/again", "etc/passwd")
            .file("empty", b"")
            .file(".wh.gone", b"")
            .pax(&[("SCHILY.xattr.user.k", b"v")])
            .file("x", b"with pax")
            .finish();
        // A long name (GNU long-name entry) and trailing bytes after the end of the archive.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000);
        b.append_data(&mut h, &long, &b"hello"[..]).unwrap();
        let mut more = b.into_inner().unwrap();
        tar.truncate(tar.len() - 1024);
        tar.append(&mut more);
        tar.extend_from_slice(&[0u8; 4096]);
        tar.extend_from_slice(b"trailing garbage");
        tar
    }

    #[test]
    fn rebuilds_the_exact_stream() {
        for mode in [WhiteoutMode::Overlay, WhiteoutMode::Vfs] {
            let tar = sample();
            let (t, record) = record_and_unpack(&tar, mode);
            let root = t.path().join("root");
            assert_eq!(stream_len(&record).unwrap(), tar.len() as u64);
            let rebuilt = rebuild(&record, &root, Digest::of(&tar)).unwrap();
            assert_eq!(rebuilt, tar);
            // File contents are not in the record.
            assert!(std::fs::metadata(&record).unwrap().len() < 20_000);
        }
    }

    #[test]
    fn changed_files_are_detected() {
        let tar = sample();
        let (t, record) = record_and_unpack(&tar, WhiteoutMode::Overlay);
        let root = t.path().join("root");
        let digest = Digest::of(&tar);
        std::fs::write(root.join("etc/passwd"), b"ROOT:x:0:0\n").unwrap();
        let err = rebuild(&record, &root, digest.clone()).unwrap_err();
        assert!(err.to_string().contains("has digest"), "{err}");
        std::fs::write(root.join("etc/passwd"), b"r").unwrap();
        let err = rebuild(&record, &root, digest.clone()).unwrap_err();
        assert!(err.to_string().contains("/etc/passwd is shorter"), "{err}");
        std::fs::write(root.join("etc/passwd"), b"root:x:0:0\n").unwrap();
        assert!(rebuild(&record, &root, digest.clone()).is_ok());
        std::fs::remove_file(root.join("big")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("big")).unwrap();
        let err = rebuild(&record, &root, digest).unwrap_err();
        assert!(err.to_string().contains("open /big"), "{err}");
    }

    #[test]
    fn rejects_foreign_files() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("r");
        std::fs::write(&p, zstd::encode_all(&b"XXXXdata"[..], 1).unwrap()).unwrap();
        assert!(matches!(stream_len(&p), Err(Error::Corrupt(_))));
        std::fs::write(&p, zstd::encode_all(&b"BTS1R\x10\0\0\0ab"[..], 1).unwrap()).unwrap();
        assert!(matches!(stream_len(&p), Err(Error::Corrupt(_))));
    }
}
