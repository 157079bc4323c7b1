//! Safe layer extraction: applies a layer tar to a directory with nothing ever written outside it.
//! Every parent is resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` from the layer
//! root and the last component is created with `*at` calls that never follow it; hardlinks must
//! point at something already extracted inside the root. Whiteouts become overlay whiteouts or
//! deletions, depending on the snapshot driver; [`extract_plain`] is the non-layer variant `docker cp` uses.

mod nodes;
mod paths;
mod plain;
mod pool;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
pub(crate) mod whiteout;

use std::collections::HashSet;
use std::ffi::CString;
use std::io::Read;
use std::path::Path;

use rustix::fs::{OFlags, Timespec, Timestamps};
use rustix::io::Errno;
use tar::EntryType;

use crate::error::{Error, IoContext, Result};
use crate::tarsplit::Recorder;
use crate::xattr::Xattrs;

pub(crate) use paths::open_in_root;
pub use plain::{PlainOptions, extract_plain};

/// How whiteout entries (`.wh.NAME`, `.wh..wh..opq`) are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// Kept as overlayfs whiteouts: a 0/0 character device, `trusted.overlay.opaque=y`.
    Overlay,
    /// Applied as deletions on a full copy of the parent layer.
    Vfs,
}

/// What to do with character and block device entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePolicy {
    /// Create them (access is gated by the devices cgroup at run time).
    Create,
    /// Leave them out silently.
    Skip,
    /// Fail the extraction.
    Reject,
}

impl Default for DevicePolicy {
    /// `Create` when running as root, else `Skip`.
    fn default() -> Self {
        if rustix::process::geteuid().is_root() {
            DevicePolicy::Create
        } else {
            DevicePolicy::Skip
        }
    }
}

/// Options of one extraction.
#[derive(Debug, Clone, Copy)]
pub struct ExtractOptions {
    pub whiteouts: WhiteoutMode,
    pub devices: DevicePolicy,
    /// Apply the archive's owners (needs root).
    pub same_owner: bool,
    /// Threads creating regular files besides the one reading the stream (0: that one does everything); see
    /// the `pool` module.
    pub workers: usize,
}

impl ExtractOptions {
    /// Defaults for the current user: devices by [`DevicePolicy::default`], owners when root.
    pub fn new(whiteouts: WhiteoutMode) -> Self {
        let root = rustix::process::geteuid().is_root();
        ExtractOptions {
            whiteouts,
            devices: DevicePolicy::default(),
            same_owner: root,
            workers: 0,
        }
    }
}

/// What an extraction wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Bytes of regular file content (hardlinks counted once).
    pub size: u64,
    /// Archive entries applied.
    pub entries: u64,
}

/// The metadata of one archive entry.
pub(crate) struct Meta {
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) times: Timestamps,
    pub(crate) xattrs: Xattrs,
}

/// Applies the layer tar `tar` to the directory `root`.
pub fn apply_layer(root: &Path, tar: impl Read, opts: &ExtractOptions) -> Result<ExtractStats> {
    unpack(root, &mut tar::Archive::new(tar), opts, None)
}

/// [`apply_layer`] that also records the stream's layout with `rec` (reading the stream to its end),
/// so the exact stream can be rebuilt from the unpacked files later.
pub(crate) fn apply_layer_recorded(
    root: &Path,
    tar: impl Read,
    opts: &ExtractOptions,
    rec: &Recorder,
) -> Result<ExtractStats> {
    let mut archive = tar::Archive::new(rec.wrap(tar));
    let stats = unpack(root, &mut archive, opts, Some(rec))?;
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).ctx(|| "read layer stream".into())?;
    Ok(stats)
}

fn unpack<R: Read>(
    root: &Path,
    archive: &mut tar::Archive<R>,
    opts: &ExtractOptions,
    split: Option<&Recorder>,
) -> Result<ExtractStats> {
    let fd = crate::fsutil::open_dir(root)?;
    let umask = nodes::current_umask();
    std::thread::scope(|scope| {
        let mut x = Extractor {
            dirs: paths::Dirs::new(fd),
            opts: *opts,
            umask,
            unpacked: HashSet::new(),
            dir_times: Vec::new(),
            buf: vec![0u8; 256 * 1024],
            stats: ExtractStats::default(),
            split,
            plain: None,
            pool: (opts.workers > 0).then(|| pool::FilePool::start(scope, opts.workers, *opts, umask)),
        };
        let bad = |e: std::io::Error| Error::InvalidArgument(format!("invalid tar archive: {e}"));
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            x.apply(&mut entry)?;
        }
        x.finish()
    })
}

struct Extractor<'a> {
    dirs: paths::Dirs,
    opts: ExtractOptions,
    umask: u32,
    /// Paths (and their ancestors) written by this layer; kept by opaque whiteouts in vfs mode.
    unpacked: HashSet<Vec<u8>>,
    dir_times: Vec<(Vec<u8>, Timestamps)>,
    buf: Vec<u8>,
    stats: ExtractStats,
    /// Told where regular files' contents are in the stream, when the layout is recorded.
    split: Option<&'a Recorder>,
    /// Set for a plain (non-layer) extraction.
    plain: Option<plain::Plain>,
    /// Workers creating regular files, when the options ask for them.
    pool: Option<pool::FilePool>,
}

impl Extractor<'_> {
    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink
        ) {
            return Ok(());
        }
        let (mut path, escaped) = paths::clean(&entry.path_bytes());
        let mut meta = read_meta(entry)?;
        if let Some(p) = &self.plain {
            match p.place(path, escaped, &entry.path_bytes())? {
                Some(placed) => path = placed,
                None => return Ok(()),
            }
            p.adjust(&mut meta);
        }
        self.stats.entries += 1;
        let (parent, name) = paths::split_last(&path);
        if let Some(pool) = self.pool.as_mut() {
            let target = (kind == EntryType::Link)
                .then(|| paths::clean(&entry.link_name_bytes().unwrap_or_default()).0);
            pool.settle(&path, target.as_deref(), name.starts_with(b".wh."))?;
        }
        if name.is_empty() {
            if kind == EntryType::Directory {
                nodes::dir_meta(self.dirs.root(), &meta, &self.opts, self.umask, true)
                    .ctx(|| "set metadata of /".into())?;
                self.dir_times.push((Vec::new(), meta.times));
            }
            return Ok(());
        }
        if self.plain.is_none()
            && let Some(hidden) = name.strip_prefix(b".wh.")
        {
            return self.whiteout(parent, hidden, &meta);
        }
        self.dirs.invalidate(&path);
        if self.opts.whiteouts == WhiteoutMode::Vfs {
            self.record(&path);
        }
        let cname = paths::cstring(name)?;
        if let Some(p) = &self.plain {
            let dirfd = self.dirs.get(parent)?;
            p.check_overwrite(dirfd, &cname, &path, kind == EntryType::Directory)?;
        }
        let shown = || paths::show(&path);
        match kind {
            EntryType::Directory => {
                let dirfd = self.dirs.get(parent)?;
                nodes::directory(dirfd, &cname, &meta, &self.opts, self.umask)
                    .ctx(|| format!("mkdir {}", shown()))?;
                self.dir_times.push((path.clone(), meta.times));
            }
            EntryType::Symlink => {
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = CString::new(target.as_ref())
                    .map_err(|_| Error::UnsafeArchive(format!("invalid symlink target for {}", shown())))?;
                let dirfd = self.dirs.get(parent)?;
                nodes::symlink(dirfd, &cname, &target, &meta, &self.opts)
                    .ctx(|| format!("symlink {}", shown()))?;
            }
            EntryType::Link => self.hardlink(entry, parent, &cname, &path)?,
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (maj, min) = device_numbers(entry.header());
                let whiteout = self.plain.is_none() && kind == EntryType::Char && maj == 0 && min == 0;
                if kind != EntryType::Fifo && !whiteout {
                    match self.opts.devices {
                        DevicePolicy::Create => {}
                        DevicePolicy::Skip => return Ok(()),
                        DevicePolicy::Reject => {
                            return Err(Error::UnsafeArchive(format!(
                                "device node {} is not allowed by the device policy",
                                shown()
                            )));
                        }
                    }
                }
                let dirfd = self.dirs.get(parent)?;
                nodes::special(
                    dirfd,
                    &cname,
                    kind,
                    rustix::fs::makedev(maj, min),
                    &meta,
                    &self.opts,
                    self.umask,
                )
                .ctx(|| format!("mknod {}", shown()))?;
            }
            // Regular files, old-style regular files, contiguous files and GNU sparse files.
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                if let Some(rec) = self.split
                    && kind != EntryType::GNUSparse
                {
                    rec.file(entry.raw_file_position(), entry.size(), &path);
                }
                if let Some(pool) = self.pool.as_mut()
                    && kind != EntryType::GNUSparse
                    && entry.size() <= pool::MAX_POOLED_FILE
                {
                    let dir = self.dirs.get_shared(parent)?.clone();
                    let mut data = Vec::with_capacity(entry.size() as usize);
                    entry
                        .read_to_end(&mut data)
                        .map_err(|e| Error::InvalidArgument(format!("invalid tar archive: {e}")))?;
                    self.stats.size += data.len() as u64;
                    let job = pool::Job {
                        dir,
                        name: cname,
                        path,
                        data,
                        meta,
                    };
                    return pool.submit(job);
                }
                let dirfd = self.dirs.get(parent)?;
                let written =
                    nodes::regular(dirfd, &cname, entry, &mut self.buf, &meta, &self.opts, self.umask)
                        .ctx(|| format!("write {}", shown()))?;
                self.stats.size += written;
            }
            _ => {}
        }
        Ok(())
    }

    fn hardlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        parent: &[u8],
        name: &CString,
        path: &[u8],
    ) -> Result<()> {
        let raw = entry.link_name_bytes().unwrap_or_default();
        let (mut target, escaped) = paths::clean(&raw);
        let shown = paths::show(path);
        if escaped || target.is_empty() {
            return Err(Error::UnsafeArchive(format!(
                "hardlink {shown} points outside the layer: {}",
                String::from_utf8_lossy(&raw)
            )));
        }
        if let Some(p) = &self.plain {
            target = p.rebase(&target);
        }
        let (tparent, tname) = paths::split_last(&target);
        let not_found = || {
            Error::UnsafeArchive(format!(
                "hardlink {shown} points to {} which is not extracted",
                paths::show(&target)
            ))
        };
        let tdir = match paths::open_in_root(self.dirs.root(), tparent, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Err(not_found()),
            Err(e) => return Err(Error::io(format!("hardlink {shown}"), e)),
        };
        let tname = paths::cstring(tname)?;
        let dirfd = self.dirs.get(parent)?;
        match nodes::hardlink(&tdir, &tname, dirfd, name) {
            Ok(()) => Ok(()),
            Err(Errno::NOENT) => Err(not_found()),
            Err(e) => Err(Error::io(format!("hardlink {shown}"), e)),
        }
    }

    /// Remembers `path` and its ancestors as written by this layer.
    fn record(&mut self, path: &[u8]) {
        let mut end = path.len();
        loop {
            if !self.unpacked.insert(path[..end].to_vec()) {
                break;
            }
            match path[..end].iter().rposition(|&b| b == b'/') {
                Some(i) => end = i,
                None => break,
            }
        }
    }

    /// Sets directory times last, deepest first, since creating entries changes them.
    fn finish(mut self) -> Result<ExtractStats> {
        if let Some(pool) = self.pool.as_mut() {
            pool.barrier()?;
        }
        for (path, times) in self.dir_times.iter().rev() {
            let fd = match paths::open_in_root(
                self.dirs.root(),
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) | Err(Errno::NOTDIR) | Err(Errno::LOOP) => continue,
                Err(e) => return Err(Error::io(format!("open {}", paths::show(path)), e)),
            };
            rustix::fs::futimens(&fd, times).ctx(|| format!("set times of {}", paths::show(path)))?;
        }
        Ok(self.stats)
    }
}

fn device_numbers(h: &tar::Header) -> (u32, u32) {
    (
        h.device_major().ok().flatten().unwrap_or(0),
        h.device_minor().ok().flatten().unwrap_or(0),
    )
}

/// Mode, owner, times and xattrs from the header and its PAX records (which override the header).
fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Meta> {
    let h = entry.header();
    let bad = |what: &str| Error::InvalidArgument(format!("invalid tar header: bad {what}"));
    let mode = h.mode().map_err(|_| bad("mode"))? & 0o7777;
    let mut uid = u32::try_from(h.uid().map_err(|_| bad("uid"))?).map_err(|_| bad("uid"))?;
    let mut gid = u32::try_from(h.gid().map_err(|_| bad("gid"))?).map_err(|_| bad("gid"))?;
    let secs = i64::try_from(h.mtime().map_err(|_| bad("mtime"))?).unwrap_or(i64::MAX);
    let mut mtime = Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    let mut atime = None;
    let mut xattrs = Vec::new();
    if let Some(exts) = entry.pax_extensions().map_err(|_| bad("pax records"))? {
        for ext in exts {
            let ext = ext.map_err(|_| bad("pax records"))?;
            let Ok(key) = ext.key() else { continue };
            let value = ext.value().unwrap_or("");
            match key {
                "uid" => uid = value.parse().map_err(|_| bad("uid"))?,
                "gid" => gid = value.parse().map_err(|_| bad("gid"))?,
                "mtime" => mtime = parse_pax_time(value).ok_or_else(|| bad("mtime"))?,
                "atime" => atime = parse_pax_time(value),
                _ => {
                    if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                        let name = CString::new(name).map_err(|_| bad("xattr name"))?;
                        xattrs.push((name, ext.value_bytes().to_vec()));
                    }
                }
            }
        }
    }
    let times = Timestamps {
        last_access: atime.unwrap_or(mtime),
        last_modification: mtime,
    };
    Ok(Meta {
        mode,
        uid,
        gid,
        times,
        xattrs,
    })
}

/// `1700000000.5` -> seconds and nanoseconds.
fn parse_pax_time(v: &str) -> Option<Timespec> {
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    let tv_sec: i64 = secs.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let tv_nsec = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    if v.starts_with('-') && tv_nsec > 0 {
        return Some(Timespec {
            tv_sec: tv_sec - 1,
            tv_nsec: 1_000_000_000 - tv_nsec,
        });
    }
    Some(Timespec { tv_sec, tv_nsec })
}
