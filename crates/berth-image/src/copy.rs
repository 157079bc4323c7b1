//! Full directory tree copies for the vfs driver: data by reflink when the filesystem can, else
//! `copy_file_range`; owners, modes (setuid included), xattrs, times, symlinks, device nodes, fifos
//! and hardlink structure are preserved.

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Dir, FileType, Gid, Mode, OFlags, Stat, Timespec, Timestamps, Uid};
use rustix::io::{Errno, Result};

use crate::error::IoContext;
use crate::fsutil::{dir_entries, open_dir};
use crate::xattr;

/// Copies the contents and metadata of `src` into the existing, empty directory `dst`.
pub(crate) fn copy_tree(src: &Path, dst: &Path) -> crate::error::Result<()> {
    let s = open_dir(src)?;
    let d = open_dir(dst)?;
    let mut c = Copier {
        dst_root: d.try_clone().ctx(|| "dup".into())?,
        links: HashMap::new(),
        reflink: true,
    };
    let ctx = || format!("copy {} to {}", src.display(), dst.display());
    c.dir(s.as_fd(), d.as_fd(), &mut Vec::new()).ctx(ctx)?;
    let st = rustix::fs::fstat(&s).ctx(ctx)?;
    fd_meta(d.as_fd(), &st, &xattr::list_fd(s.as_fd()).ctx(ctx)?).ctx(ctx)
}

struct Copier {
    dst_root: OwnedFd,
    /// Destination path (relative to the root) of each multiply-linked source inode already copied.
    links: HashMap<(u64, u64), Vec<u8>>,
    /// Cleared after the first failed reflink so the rest goes straight to `copy_file_range`.
    reflink: bool,
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

fn owner(st: &Stat) -> (Option<Uid>, Option<Gid>) {
    (Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)))
}

/// Owner, then mode, then xattrs, then times (chown clears setuid bits and capabilities).
fn fd_meta(fd: BorrowedFd<'_>, st: &Stat, attrs: &xattr::Xattrs) -> Result<()> {
    let (u, g) = owner(st);
    rustix::fs::fchown(fd, u, g)?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    xattr::set_fd(fd, attrs)?;
    rustix::fs::futimens(fd, &times(st))
}

const RDIR: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Copier {
    fn dir(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, path: &mut Vec<u8>) -> Result<()> {
        let mut d = Dir::read_from(src)?;
        for (name, _) in dir_entries(&mut d)? {
            let len = path.len();
            if len > 0 {
                path.push(b'/');
            }
            path.extend_from_slice(name.to_bytes());
            self.entry(src, dst, &name, path)?;
            path.truncate(len);
        }
        Ok(())
    }

    fn entry(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &CStr,
        path: &mut Vec<u8>,
    ) -> Result<()> {
        let st = rustix::fs::statat(src, name, AtFlags::SYMLINK_NOFOLLOW)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                rustix::fs::mkdirat(dst, name, Mode::from_raw_mode(0o700))?;
                let s = rustix::fs::openat(src, name, RDIR, Mode::empty())?;
                let d = rustix::fs::openat(dst, name, RDIR, Mode::empty())?;
                self.dir(s.as_fd(), d.as_fd(), path)?;
                fd_meta(d.as_fd(), &st, &xattr::list_fd(s.as_fd())?)
            }
            FileType::RegularFile => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        return rustix::fs::linkat(
                            &self.dst_root,
                            first.as_slice(),
                            dst,
                            name,
                            AtFlags::empty(),
                        );
                    }
                    self.links.insert(key, path.clone());
                }
                let s = rustix::fs::openat(
                    src,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let flags =
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let d = rustix::fs::openat(dst, name, flags, Mode::from_raw_mode(0o600))?;
                self.data(&s, &d)?;
                fd_meta(d.as_fd(), &st, &xattr::list_fd(s.as_fd())?)
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(src, name, Vec::new())?;
                rustix::fs::symlinkat(target.as_c_str(), dst, name)?;
                self.at_meta(src, dst, name, &st, false)
            }
            kind
            @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo | FileType::Socket) => {
                rustix::fs::mknodat(dst, name, kind, Mode::from_raw_mode(0o600), st.st_rdev)?;
                self.at_meta(src, dst, name, &st, true)
            }
            _ => Ok(()),
        }
    }

    /// Metadata of a node without an open fd (symlink, device, fifo), never following it.
    fn at_meta(
        &self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &CStr,
        st: &Stat,
        chmod: bool,
    ) -> Result<()> {
        let (u, g) = owner(st);
        rustix::fs::chownat(dst, name, u, g, AtFlags::SYMLINK_NOFOLLOW)?;
        if chmod {
            // Just created by mknodat above: not a symlink.
            rustix::fs::chmodat(
                dst,
                name,
                Mode::from_raw_mode(st.st_mode & 0o7777),
                AtFlags::empty(),
            )?;
        }
        xattr::set_at(dst, name, &xattr::list_at(src, name)?)?;
        rustix::fs::utimensat(dst, name, &times(st), AtFlags::SYMLINK_NOFOLLOW)
    }

    fn data(&mut self, s: &OwnedFd, d: &OwnedFd) -> Result<()> {
        if self.reflink {
            match rustix::fs::ioctl_ficlone(d, s) {
                Ok(()) => return Ok(()),
                Err(_) => self.reflink = false,
            }
        }
        loop {
            match rustix::fs::copy_file_range(s, None, d, None, 1 << 30) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(Errno::XDEV) | Err(Errno::INVAL) | Err(Errno::NOSYS) | Err(Errno::OPNOTSUPP) => break,
                Err(e) => return Err(e),
            }
        }
        let mut from = std::fs::File::from(
            s.try_clone()
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?,
        );
        let mut to = std::fs::File::from(
            d.try_clone()
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?,
        );
        std::io::copy(&mut from, &mut to)
            .map(|_| ())
            .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{DevicePolicy, ExtractOptions, WhiteoutMode, apply_layer};
    use crate::testutil::TarBuilder;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    #[test]
    fn copies_everything_with_metadata() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        std::fs::create_dir(&src).unwrap();
        std::fs::create_dir(&dst).unwrap();
        let big = vec![9u8; 3 << 20];
        let tar = TarBuilder::new()
            .dir("d/")
            .file_mode("d/suid", 0o4750, (7, 8), b"x")
            .pax(&[(
                "SCHILY.xattr.security.capability",
                b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            )])
            .file("cap", b"c")
            .file("big", &big)
            .hardlink("d/link", "big")
            .symlink("s", "/nowhere")
            .char_dev("null", 1, 3)
            .fifo("f")
            .finish();
        let o = ExtractOptions {
            whiteouts: WhiteoutMode::Vfs,
            devices: DevicePolicy::Create,
            same_owner: true,
            workers: 0,
        };
        apply_layer(&src, &tar[..], &o).unwrap();
        copy_tree(&src, &dst).unwrap();
        let m = |p: &str| std::fs::symlink_metadata(dst.join(p)).unwrap();
        let s = |p: &str| std::fs::symlink_metadata(src.join(p)).unwrap();
        assert_eq!(
            (m("d/suid").mode(), m("d/suid").uid(), m("d/suid").gid()),
            (0o104750, 7, 8)
        );
        assert_eq!(std::fs::read(dst.join("big")).unwrap(), big);
        assert_eq!(m("big").ino(), m("d/link").ino());
        assert_ne!(m("big").ino(), s("big").ino());
        assert_eq!(std::fs::read_link(dst.join("s")).unwrap(), Path::new("/nowhere"));
        assert_eq!(m("null").rdev(), s("null").rdev());
        assert!(m("f").file_type().is_fifo());
        for p in ["d", "big", "s", "d/suid"] {
            assert_eq!(
                (m(p).mtime(), m(p).mtime_nsec()),
                (s(p).mtime(), s(p).mtime_nsec()),
                "{p}"
            );
        }
        let f = std::fs::File::open(dst.join("cap")).unwrap();
        assert!(
            xattr::get_fd(f.as_fd(), c"security.capability")
                .unwrap()
                .is_some()
        );
        // Writes to the copy leave the source alone.
        std::fs::write(dst.join("big"), b"changed").unwrap();
        assert_eq!(std::fs::read(src.join("big")).unwrap().len(), big.len());
    }
}
