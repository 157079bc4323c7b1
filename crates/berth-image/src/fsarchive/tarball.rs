//! Tars of container trees as Docker writes them: one path for `GET …/archive` (entries named from the path's base
//! name — `etc/`, `./` for contents, `/` for the root) and the whole tree for `docker export` (no root entry).
//! Owners, modes, times (seconds), symlinks, hardlinks, devices, fifos and file capabilities are kept; sockets are
//! left out. Kernel pseudo filesystems mounted in a running container (/proc, /sys, …) appear as empty directories.

use std::collections::HashMap;
use std::ffi::CStr;
use std::io::{BufWriter, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use tar::{EntryType, Header};

use super::stat::{PathStat, locate};
use crate::diff::header;
use crate::error::{IoContext, Result};
use crate::fsutil::dir_entries;
use crate::xattr;

/// Filesystems whose contents are the kernel's, not the container's (statfs magic numbers).
const PSEUDO_FILESYSTEMS: &[i64] = &[
    0x9fa0,      // proc
    0x6265_6572, // sysfs
    0x1cd1,      // devpts
    0x1980_0202, // mqueue
    0x0027_e0eb, // cgroup
    0x6367_7270, // cgroup2
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0x7363_6673, // securityfs
    0xcafe_4a11, // bpf
    0x6e73_6673, // nsfs
    0x6165_676c, // pstore
    0x6265_6570, // configfs
    0x6573_5543, // fusectl
    0x4249_4e4d, // binfmt_misc
];

/// Whether the directory `fd` is the root of a kernel pseudo filesystem.
fn is_pseudo(fd: BorrowedFd<'_>) -> std::io::Result<bool> {
    // `f_type`'s integer type differs between architectures.
    #[allow(clippy::unnecessary_cast)]
    let magic = rustix::fs::fstatfs(fd)?.f_type as i64;
    Ok(PSEUDO_FILESYSTEMS.contains(&magic))
}

/// Output buffer size: headers and file data reach the writer in large writes.
const BUFFER: usize = 256 * 1024;

/// A device number no directory has: passed as the parent's, it makes the top directory of an archive checked for
/// being a pseudo filesystem.
const UNKNOWN_DEV: u64 = u64::MAX;

/// Writes the tar of what `path` names inside `root` to `out` and returns its stat. Nothing is written when the
/// path cannot be found.
pub fn write_path_archive(root: BorrowedFd<'_>, path: &str, out: &mut dyn Write) -> Result<PathStat> {
    let target = locate(root, path)?;
    let stat = target.path_stat(root)?;
    let shown = target.path.show();
    let ctx = || format!("archive {shown}");
    let mut name = match target.path.base().as_slice() {
        b"/" => Vec::new(),
        base => base.to_vec(),
    };
    let mut buffered = BufWriter::with_capacity(BUFFER, out);
    let mut t = Tarball::new(&mut buffered);
    match &target.name {
        Some(n) => t.entry(target.dir.as_fd(), n, &target.stat, &mut name, UNKNOWN_DEV),
        None => t.directory(
            target.dir.as_fd(),
            c".",
            &target.stat,
            &mut name,
            true,
            UNKNOWN_DEV,
        ),
    }
    .ctx(ctx)?;
    t.finish().ctx(ctx)?;
    buffered.flush().ctx(ctx)?;
    Ok(stat)
}

/// Writes the tar of the whole tree below `root` (Docker's export: entries `bin/`, `bin/sh`, …, no root entry).
pub fn write_root_archive(root: BorrowedFd<'_>, out: &mut dyn Write) -> Result<()> {
    let ctx = || "export container filesystem".to_string();
    let st = rustix::fs::fstat(root).ctx(ctx)?;
    let mut buffered = BufWriter::with_capacity(BUFFER, out);
    let mut t = Tarball::new(&mut buffered);
    t.directory(root, c".", &st, &mut Vec::new(), false, UNKNOWN_DEV)
        .ctx(ctx)?;
    t.finish().ctx(ctx)?;
    buffered.flush().ctx(ctx)
}

struct Tarball<'w> {
    b: tar::Builder<&'w mut dyn Write>,
    /// Archive name of the first entry of each multiply-linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
}

/// A reader of exactly `left` bytes: a file that shrank while being archived is padded with zeros, so the entry
/// still matches its header.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = match self.inner.read(&mut buf[..want])? {
            0 => {
                buf[..want].fill(0);
                want
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

impl<'w> Tarball<'w> {
    fn new(out: &'w mut dyn Write) -> Tarball<'w> {
        Tarball {
            b: tar::Builder::new(out),
            links: HashMap::new(),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        self.b.into_inner().map(drop)
    }

    /// Appends a header with raw name bytes; long names, long link targets and a file capability go in one PAX
    /// record set before it.
    fn append(
        &mut self,
        h: &mut Header,
        name: &[u8],
        link: Option<&[u8]>,
        cap: Option<&[u8]>,
        data: impl Read,
    ) -> std::io::Result<()> {
        let mut pax: Vec<(&str, &[u8])> = Vec::new();
        let old = h.as_old_mut();
        if name.len() > old.name.len() {
            pax.push(("path", name));
        }
        let n = name.len().min(old.name.len());
        old.name[..n].copy_from_slice(&name[..n]);
        if let Some(link) = link {
            if link.len() > old.linkname.len() {
                pax.push(("linkpath", link));
            }
            let n = link.len().min(old.linkname.len());
            old.linkname[..n].copy_from_slice(&link[..n]);
        }
        if let Some(cap) = cap {
            pax.push(("SCHILY.xattr.security.capability", cap));
        }
        if !pax.is_empty() {
            self.b.append_pax_extensions(pax)?;
        }
        h.set_cksum();
        self.b.append(h, data)
    }

    /// Appends `name` (in `dirfd`, with stat `st`) as `path`, and a directory's contents below it.
    fn entry(
        &mut self,
        dirfd: BorrowedFd<'_>,
        name: &CStr,
        st: &Stat,
        path: &mut Vec<u8>,
        parent_dev: u64,
    ) -> std::io::Result<()> {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => self.directory(dirfd, name, st, path, true, parent_dev),
            FileType::RegularFile => self.regular(dirfd, name, st, path),
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(dirfd, name, Vec::new())?;
                let mut h = header(st, EntryType::Symlink);
                self.append(&mut h, path, Some(target.as_bytes()), None, std::io::empty())
            }
            kind @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo) => {
                let t = match kind {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = header(st, t);
                if t != EntryType::Fifo {
                    h.set_device_major(rustix::fs::major(st.st_rdev))?;
                    h.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                }
                self.append(&mut h, path, None, None, std::io::empty())
            }
            // Sockets have no tar form.
            _ => Ok(()),
        }
    }

    fn regular(&mut self, dirfd: BorrowedFd<'_>, name: &CStr, st: &Stat, path: &[u8]) -> std::io::Result<()> {
        if st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key).cloned() {
                let mut h = header(st, EntryType::Link);
                return self.append(&mut h, path, Some(&first), None, std::io::empty());
            }
            self.links.insert(key, path.to_vec());
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::CLOEXEC;
        let file = std::fs::File::from(rustix::fs::openat(dirfd, name, flags, Mode::empty())?);
        let cap = xattr::get_fd(file.as_fd(), c"security.capability").map_err(std::io::Error::other)?;
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let mut h = header(st, EntryType::Regular);
        h.set_size(size);
        let data = Exact {
            inner: file.take(size),
            left: size,
        };
        self.append(&mut h, path, None, cap.as_deref(), data)
    }

    /// A directory: its own entry (`path/`) when `emit`, then its contents, unless it is a kernel pseudo
    /// filesystem mounted there.
    fn directory(
        &mut self,
        dirfd: BorrowedFd<'_>,
        name: &CStr,
        st: &Stat,
        path: &mut Vec<u8>,
        emit: bool,
        parent_dev: u64,
    ) -> std::io::Result<()> {
        let base = path.len();
        if emit {
            path.push(b'/');
            let mut h = header(st, EntryType::Directory);
            self.append(&mut h, path, None, None, std::io::empty())?;
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(dirfd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            // Gone since it was listed (a running container changes its files).
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if st.st_dev != parent_dev && is_pseudo(fd.as_fd())? {
            path.truncate(base);
            return Ok(());
        }
        let mut entries = dir_entries(&mut Dir::read_from(&fd)?)?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (child, _) in entries {
            let st_child = match rustix::fs::statat(&fd, &child, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(s) => s,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(e.into()),
            };
            let len = path.len();
            path.extend_from_slice(child.to_bytes());
            self.entry(fd.as_fd(), &child, &st_child, path, st.st_dev)?;
            path.truncate(len);
        }
        path.truncate(base);
        Ok(())
    }
}
