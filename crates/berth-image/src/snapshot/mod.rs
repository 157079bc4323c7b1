//! Layer snapshots ("graph drivers"): `overlay` keeps each layer's diff once under
//! `<data-root>/overlay/<chain>/diff` and stacks them for containers; `vfs` keeps a full copy per
//! layer under `<data-root>/vfs/<chain>/`. Also the driver choice (probed once, recorded in
//! `<data-root>/image/driver`) and per-container read-write layers.

mod overlay;
mod rw;
mod union;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::extract::WhiteoutMode;
use crate::fsutil;
use crate::lock::FileLock;

pub use overlay::{mount_rw, overlay_mount, unmount};
pub(crate) use rw::RwRecord;
pub use union::read_file;

/// A snapshot driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Overlay,
    Vfs,
}

impl Driver {
    /// The name Docker shows (`overlay2`, `vfs`).
    pub fn name(self) -> &'static str {
        match self {
            Driver::Overlay => "overlay2",
            Driver::Vfs => "vfs",
        }
    }

    fn dir_name(self) -> &'static str {
        match self {
            Driver::Overlay => "overlay",
            Driver::Vfs => "vfs",
        }
    }

    /// How layer whiteouts are stored by this driver.
    pub fn whiteouts(self) -> WhiteoutMode {
        match self {
            Driver::Overlay => WhiteoutMode::Overlay,
            Driver::Vfs => WhiteoutMode::Vfs,
        }
    }
}

/// The driver a store should use (`--storage-driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriverChoice {
    /// The recorded driver, or overlay when the filesystem supports it, else vfs.
    #[default]
    Auto,
    Overlay,
    Vfs,
}

impl FromStr for DriverChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<DriverChoice> {
        match s {
            "" => Ok(DriverChoice::Auto),
            "overlay2" | "overlay" => Ok(DriverChoice::Overlay),
            "vfs" => Ok(DriverChoice::Vfs),
            other => Err(Error::InvalidArgument(format!(
                "unsupported storage driver: {other}"
            ))),
        }
    }
}

/// A container's read-write layer: directories only, nothing is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RwLayer {
    /// Overlay: `lower` is top layer first.
    Overlay {
        lower: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
        merged: PathBuf,
    },
    /// Vfs: a full private copy of the image's root filesystem.
    Dir { path: PathBuf },
}

/// `GraphDriver` of `docker inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphDriverData {
    pub name: &'static str,
    pub data: BTreeMap<String, String>,
}

/// Picks the driver of the store at `data_root`: the recorded one, else the forced or probed one,
/// which is then recorded.
pub(crate) fn select_driver(data_root: &Path, image_dir: &Path, choice: DriverChoice) -> Result<Driver> {
    let record = image_dir.join("driver");
    let recorded = |bytes: Vec<u8>| match String::from_utf8_lossy(&bytes).trim() {
        "overlay2" => Ok(Driver::Overlay),
        "vfs" => Ok(Driver::Vfs),
        other => Err(Error::Corrupt(format!(
            "unknown storage driver {other:?} recorded in {}",
            record.display()
        ))),
    };
    let check = |d: Driver| match (choice, d) {
        (DriverChoice::Overlay, Driver::Vfs) | (DriverChoice::Vfs, Driver::Overlay) => {
            Err(Error::Conflict(format!(
                "{} already uses the {} storage driver; cannot use {}",
                data_root.display(),
                d.name(),
                if d == Driver::Vfs { "overlay2" } else { "vfs" }
            )))
        }
        _ => Ok(d),
    };
    if let Some(bytes) = fsutil::read_optional(&record)? {
        return check(recorded(bytes)?);
    }
    std::fs::create_dir_all(image_dir).ctx(|| format!("create {}", image_dir.display()))?;
    let _lock = FileLock::exclusive(&image_dir.join(".lock"))?;
    if let Some(bytes) = fsutil::read_optional(&record)? {
        return check(recorded(bytes)?);
    }
    let driver = match choice {
        DriverChoice::Vfs => Driver::Vfs,
        DriverChoice::Overlay => {
            overlay::probe(image_dir).map_err(|e| {
                Error::InvalidArgument(format!(
                    "overlay is not supported on {}: {e}",
                    data_root.display()
                ))
            })?;
            Driver::Overlay
        }
        DriverChoice::Auto => match overlay::probe(image_dir) {
            Ok(()) => Driver::Overlay,
            Err(_) => Driver::Vfs,
        },
    };
    fsutil::write_atomic(image_dir, "driver", format!("{}\n", driver.name()).as_bytes())?;
    Ok(driver)
}

/// The snapshot area of one driver: `<data-root>/overlay` or `<data-root>/vfs`.
#[derive(Debug, Clone)]
pub(crate) struct Snapshots {
    pub(crate) driver: Driver,
    root: PathBuf,
}

/// A layer being unpacked in a temp directory; removed on drop unless committed.
#[derive(Debug)]
pub(crate) struct Staged {
    home: PathBuf,
    /// Where the layer's files go.
    pub(crate) content: PathBuf,
    /// A temp file beside `home` for the layer's tar layout record (moved away by the store).
    pub(crate) layout: PathBuf,
    committed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fsutil::remove_tree(&self.home);
        }
        let _ = fsutil::remove_tree(&self.layout);
    }
}

impl Snapshots {
    pub(crate) fn new(data_root: &Path, driver: Driver) -> Snapshots {
        Snapshots {
            driver,
            root: data_root.join(driver.dir_name()),
        }
    }

    pub(crate) fn init(&self) -> Result<()> {
        let rw = self.rw_root();
        std::fs::create_dir_all(&rw).ctx(|| format!("create {}", rw.display()))
    }

    fn rw_root(&self) -> PathBuf {
        self.root.join("rw")
    }

    /// The directory holding a layer's files.
    pub(crate) fn layer_content(&self, chain: &Digest) -> PathBuf {
        match self.driver {
            Driver::Overlay => self.root.join(chain.hex()).join("diff"),
            Driver::Vfs => self.root.join(chain.hex()),
        }
    }

    /// Whether a layer's directory is in place.
    pub(crate) fn has_layer(&self, chain: &Digest) -> bool {
        self.root.join(chain.hex()).is_dir()
    }

    /// A temp directory for a new layer; vfs starts it as a copy of the parent's content.
    pub(crate) fn stage(&self, parent_content: Option<&Path>) -> Result<Staged> {
        self.mark_top_dir();
        let name = fsutil::tmp_name("layer");
        let home = self.root.join(&name);
        let content = match self.driver {
            Driver::Overlay => home.join("diff"),
            Driver::Vfs => home.clone(),
        };
        std::fs::create_dir_all(&content).ctx(|| format!("create {}", content.display()))?;
        let staged = Staged {
            layout: self.root.join(format!("{name}.layout")),
            home,
            content,
            committed: false,
        };
        if let (Driver::Vfs, Some(parent)) = (self.driver, parent_content) {
            crate::copy::copy_tree(parent, &staged.content)?;
        }
        Ok(staged)
    }

    /// Marks the snapshot area as the top of directory hierarchies (`chattr +T`), where the filesystem has
    /// such a hint (ext2/3/4): each new layer directory is then placed in a block group of its own choosing,
    /// spread out, rather than beside the area's other entries. On ext4 without a journal every file created
    /// in a group scans past the group's recently freed inodes (~0.5 ms a file after a layer of thousands of
    /// files was deleted there), so a layer unpacked where the previous one was just removed runs several
    /// times slower. Filesystems without the flag are left alone.
    fn mark_top_dir(&self) {
        let Ok(fd) = fsutil::open_dir(&self.root) else {
            return;
        };
        if let Ok(flags) = rustix::fs::ioctl_getflags(&fd)
            && !flags.contains(rustix::fs::IFlags::TOPDIR)
        {
            let _ = rustix::fs::ioctl_setflags(&fd, flags | rustix::fs::IFlags::TOPDIR);
        }
    }

    /// An empty temp directory for a writer's scratch files (a spooled archive), removed on drop.
    /// Like staged layers, it is only collected when no writer is active.
    pub(crate) fn scratch(&self) -> Result<Staged> {
        let name = fsutil::tmp_name("scratch");
        let home = self.root.join(&name);
        std::fs::create_dir_all(&home).ctx(|| format!("create {}", home.display()))?;
        Ok(Staged {
            layout: self.root.join(format!("{name}.layout")),
            content: home.clone(),
            home,
            committed: false,
        })
    }

    /// Moves a staged layer into place as `chain`; if another process got there first, the staged
    /// copy is dropped. Returns whether this copy was used.
    pub(crate) fn commit(&self, mut staged: Staged, chain: &Digest) -> Result<bool> {
        let target = self.root.join(chain.hex());
        match std::fs::rename(&staged.home, &target) {
            Ok(()) => {
                staged.committed = true;
                let root = fsutil::open_dir(&self.root)?;
                rustix::fs::fsync(&root).ctx(|| format!("sync {}", self.root.display()))?;
                Ok(true)
            }
            Err(e)
                if target.is_dir()
                    && matches!(e.raw_os_error(), Some(libc::EEXIST) | Some(libc::ENOTEMPTY)) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::io(format!("commit layer {chain}"), e)),
        }
    }

    /// The staged content of a layer or of its final place, for use as a vfs parent.
    pub(crate) fn content_of(&self, chain: &Digest, staged: Option<&Staged>) -> PathBuf {
        staged.map_or_else(|| self.layer_content(chain), |s| s.content.clone())
    }

    /// Renames a layer's directory to a temp name (cheap, done under the store lock); the caller
    /// deletes the returned directory later, outside the lock.
    pub(crate) fn trash_layer(&self, chain: &Digest) -> Result<Option<PathBuf>> {
        let from = self.root.join(chain.hex());
        let to = self.root.join(fsutil::tmp_name("deleted"));
        match std::fs::rename(&from, &to) {
            Ok(()) => Ok(Some(to)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("remove layer {chain}"), e)),
        }
    }

    /// Chain ids of the layer directories present (whether recorded or not).
    pub(crate) fn layer_dirs(&self) -> Result<Vec<Digest>> {
        let rd = match std::fs::read_dir(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            r => r.ctx(|| format!("read {}", self.root.display()))?,
        };
        Ok(rd
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| Digest::from_hex(n).ok()))
            .collect())
    }

    /// Removes temp directories left by interrupted work. Only call when no writer is active.
    pub(crate) fn clean_temp(&self) -> Result<()> {
        for dir in [self.root.clone(), self.rw_root()] {
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            for entry in rd.flatten() {
                if entry.file_name().to_str().is_some_and(fsutil::is_tmp) {
                    fsutil::remove_tree(&entry.path())?;
                }
            }
        }
        Ok(())
    }

    /// `GraphDriver` data of a read-write layer.
    pub(crate) fn graph_driver_data(&self, rw: &RwLayer) -> GraphDriverData {
        let mut data = BTreeMap::new();
        if let RwLayer::Overlay {
            lower,
            upper,
            work,
            merged,
        } = rw
        {
            let lowers: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
            data.insert("LowerDir".into(), lowers.join(":"));
            data.insert("UpperDir".into(), upper.display().to_string());
            data.insert("WorkDir".into(), work.display().to_string());
            data.insert("MergedDir".into(), merged.display().to_string());
        }
        GraphDriverData {
            name: self.driver.name(),
            data,
        }
    }

    /// `GraphDriver` data of an image whose layers are `chains` (bottom first).
    pub(crate) fn image_graph_driver_data(&self, chains: &[Digest]) -> GraphDriverData {
        let mut data = BTreeMap::new();
        if let (Driver::Overlay, Some((top, below))) = (self.driver, chains.split_last()) {
            let home = self.root.join(top.hex());
            data.insert("UpperDir".into(), home.join("diff").display().to_string());
            data.insert("WorkDir".into(), home.join("work").display().to_string());
            data.insert("MergedDir".into(), home.join("merged").display().to_string());
            if !below.is_empty() {
                let lowers: Vec<String> = below
                    .iter()
                    .rev()
                    .map(|c| self.layer_content(c).display().to_string())
                    .collect();
                data.insert("LowerDir".into(), lowers.join(":"));
            }
        }
        GraphDriverData {
            name: self.driver.name(),
            data,
        }
    }
}

#[cfg(test)]
mod tests;
