//! Layer tars from directories: an overlay upper directory becomes a layer diff (0/0 character
//! device whiteouts become `.wh.NAME`, opaque directories get `.wh..wh..opq`), and any other
//! directory becomes a plain tree archive (for export). Entries are sorted, so equal trees give
//! equal tars and equal diff ids.

use std::collections::HashMap;
use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use tar::{EntryType, Header};

use crate::error::{Error, IoContext, Result};
use crate::extract::whiteout::OPAQUE_XATTR;
use crate::fsutil::{dir_entries, open_dir};
use crate::xattr;

/// What kind of directory is archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// An overlayfs upper directory: its whiteouts and opaque markers become `.wh.` entries.
    OverlayUpper,
    /// A plain directory tree, archived as it is.
    Plain,
}

/// Writes the tar of `dir` to `out` and returns `out`.
pub fn write_layer_tar<W: Write>(dir: &Path, kind: TreeKind, out: W) -> Result<W> {
    let fd = open_dir(dir)?;
    let mut w = TreeWriter {
        b: tar::Builder::new(out),
        links: HashMap::new(),
        overlay: kind == TreeKind::OverlayUpper,
    };
    w.walk(fd.as_fd(), &mut Vec::new())
        .ctx(|| format!("archive {}", dir.display()))?;
    w.b.into_inner()
        .map_err(|e| Error::io(format!("archive {}", dir.display()), e))
}

struct TreeWriter<W: Write> {
    b: tar::Builder<W>,
    /// First archived path of each multiply-linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
    overlay: bool,
}

/// A tar header of `kind` carrying the mode, owner and mtime of `st` (size 0; set it for regular files).
pub(crate) fn header(st: &Stat, kind: EntryType) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(0);
    h
}

fn as_path(bytes: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

impl<W: Write> TreeWriter<W> {
    fn walk(&mut self, dirfd: BorrowedFd<'_>, prefix: &mut Vec<u8>) -> std::io::Result<()> {
        let mut dir = Dir::read_from(dirfd)?;
        let mut entries = dir_entries(&mut dir)?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, _) in entries {
            let len = prefix.len();
            prefix.extend_from_slice(name.to_bytes());
            self.entry(dirfd, &name, prefix)?;
            prefix.truncate(len);
        }
        Ok(())
    }

    fn entry(&mut self, dirfd: BorrowedFd<'_>, name: &CStr, path: &mut Vec<u8>) -> std::io::Result<()> {
        let st = rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                path.push(b'/');
                let mut h = header(&st, EntryType::Directory);
                self.b.append_data(&mut h, as_path(path), std::io::empty())?;
                if self.overlay && xattr::get_at(dirfd, name, OPAQUE_XATTR)?.as_deref() == Some(b"y") {
                    let mut h = header(&st, EntryType::Regular);
                    h.set_mode(st.st_mode & 0o777);
                    let mut marker = path.clone();
                    marker.extend_from_slice(b".wh..wh..opq");
                    self.b.append_data(&mut h, as_path(&marker), std::io::empty())?;
                }
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let child = rustix::fs::openat(dirfd, name, flags, Mode::empty())?;
                self.walk(child.as_fd(), path)?;
                path.pop();
            }
            FileType::RegularFile => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        let mut h = header(&st, EntryType::Link);
                        self.b.append_link(&mut h, as_path(path), as_path(first))?;
                        return Ok(());
                    }
                    self.links.insert(key, path.clone());
                }
                let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let file = std::fs::File::from(rustix::fs::openat(dirfd, name, flags, Mode::empty())?);
                if let Some(cap) = xattr::get_fd(file.as_fd(), c"security.capability")? {
                    self.b
                        .append_pax_extensions([("SCHILY.xattr.security.capability", &cap[..])])?;
                }
                let size = u64::try_from(st.st_size).unwrap_or(0);
                let mut h = header(&st, EntryType::Regular);
                h.set_size(size);
                self.b
                    .append_data(&mut h, as_path(path), std::io::Read::take(file, size))?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(dirfd, name, Vec::new())?;
                let mut h = header(&st, EntryType::Symlink);
                self.b
                    .append_link(&mut h, as_path(path), as_path(target.as_bytes()))?;
            }
            FileType::CharacterDevice if self.overlay && st.st_rdev == 0 => {
                let mut wh = path[..path.len() - name.to_bytes().len()].to_vec();
                wh.extend_from_slice(b".wh.");
                wh.extend_from_slice(name.to_bytes());
                let mut h = header(&st, EntryType::Regular);
                h.set_mode(0o600);
                self.b.append_data(&mut h, as_path(&wh), std::io::empty())?;
            }
            kind @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo) => {
                let t = match kind {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = header(&st, t);
                if t != EntryType::Fifo {
                    h.set_device_major(rustix::fs::major(st.st_rdev))?;
                    h.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                }
                self.b.append_data(&mut h, as_path(path), std::io::empty())?;
            }
            // Sockets and unknown types have no tar form.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{DevicePolicy, ExtractOptions, WhiteoutMode, apply_layer};
    use crate::testutil::TarBuilder;
    use std::io::Read;

    fn names(tar: &[u8]) -> Vec<(String, EntryType, String)> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let link = e
                    .link_name()
                    .unwrap()
                    .map(|l| l.display().to_string())
                    .unwrap_or_default();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().entry_type(),
                    link,
                )
            })
            .collect()
    }

    #[test]
    fn overlay_upper_round_trips_through_extraction() {
        let t = tempfile::tempdir().unwrap();
        let upper = t.path().join("upper");
        std::fs::create_dir(&upper).unwrap();
        let layer = TarBuilder::new()
            .dir("etc/")
            .file("etc/.wh.passwd", b"")
            .dir("opq/")
            .file("opq/.wh..wh..opq", b"")
            .file("opq/f", b"content")
            .hardlink("opq/g", "opq/f")
            .symlink("l", "/etc")
            .fifo("p")
            .finish();
        let o = ExtractOptions {
            whiteouts: WhiteoutMode::Overlay,
            devices: DevicePolicy::Create,
            same_owner: true,
            workers: 0,
        };
        apply_layer(&upper, &layer[..], &o).unwrap();
        let tar = write_layer_tar(&upper, TreeKind::OverlayUpper, Vec::new()).unwrap();
        let got = names(&tar);
        let expect = [
            ("etc/", EntryType::Directory, ""),
            ("etc/.wh.passwd", EntryType::Regular, ""),
            ("l", EntryType::Symlink, "/etc"),
            ("opq/", EntryType::Directory, ""),
            ("opq/.wh..wh..opq", EntryType::Regular, ""),
            ("opq/f", EntryType::Regular, ""),
            ("opq/g", EntryType::Link, "opq/f"),
            ("p", EntryType::Fifo, ""),
        ];
        let expect: Vec<(String, EntryType, String)> = expect
            .iter()
            .map(|(a, b, c)| (a.to_string(), *b, c.to_string()))
            .collect();
        assert_eq!(got, expect);
        let mut a = tar::Archive::new(&tar[..]);
        let mut f = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .find(|e| e.path().unwrap().ends_with("opq/f"))
            .unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "content");
        // Same tree, same bytes.
        assert_eq!(
            write_layer_tar(&upper, TreeKind::OverlayUpper, Vec::new()).unwrap(),
            tar
        );
        // A plain archive keeps the whiteout device as a device.
        let plain = names(&write_layer_tar(&upper, TreeKind::Plain, Vec::new()).unwrap());
        assert!(
            plain
                .iter()
                .any(|(p, k, _)| p == "etc/passwd" && *k == EntryType::Char)
        );
    }
}
