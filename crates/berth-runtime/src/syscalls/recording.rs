//! Test double for `Syscalls`: records every call and keeps a small model of which container paths exist, so
//! mount planning can be checked without root.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use super::{FileKind, MountFlags, Syscalls};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    RootPropagation(MountFlags),
    Overlay {
        lower: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
    },
    BindRootfs,
    Mkdir(PathBuf),
    CreateFile(PathBuf),
    Mount {
        source: Option<PathBuf>,
        target: PathBuf,
        fstype: Option<String>,
        flags: MountFlags,
        data: Option<String>,
    },
    BindSelf(PathBuf),
    Mknod {
        path: PathBuf,
        mode: u32,
        dev: u64,
    },
    Chown {
        path: PathBuf,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    Symlink {
        target: String,
        link: PathBuf,
    },
    PivotRoot,
}

#[derive(Default)]
pub(crate) struct Recording {
    pub(crate) calls: Vec<Call>,
    /// Container paths that exist.
    pub(crate) files: BTreeMap<PathBuf, FileKind>,
    /// Host paths and their kinds (bind sources).
    pub(crate) host: HashMap<PathBuf, FileKind>,
    /// Flags `mount_flags` reports per container path.
    pub(crate) flags: HashMap<PathBuf, MountFlags>,
    /// A mknod errno to fail with.
    pub(crate) mknod_error: Option<i32>,
}

impl Recording {
    pub(crate) fn with_dirs(dirs: &[&str]) -> Self {
        let mut r = Recording::default();
        r.files.insert(PathBuf::from("/"), FileKind::Dir);
        for d in dirs {
            r.files.insert(PathBuf::from(d), FileKind::Dir);
        }
        r
    }

    fn add_parents(&mut self, path: &Path) {
        for p in path.ancestors().skip(1) {
            self.files.entry(p.to_path_buf()).or_insert(FileKind::Dir);
        }
    }

    /// The mount calls only, as (target, fstype, flags) triples.
    pub(crate) fn mounts(&self) -> Vec<(String, Option<String>, MountFlags)> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                Call::Mount {
                    target,
                    fstype,
                    flags,
                    ..
                } => Some((target.display().to_string(), fstype.clone(), *flags)),
                _ => None,
            })
            .collect()
    }
}

impl Syscalls for Recording {
    fn set_root_propagation(&mut self, flags: MountFlags) -> io::Result<()> {
        self.calls.push(Call::RootPropagation(flags));
        Ok(())
    }

    fn mount_overlay(&mut self, lower: &[PathBuf], upper: &Path, work: &Path) -> io::Result<()> {
        self.calls.push(Call::Overlay {
            lower: lower.to_vec(),
            upper: upper.into(),
            work: work.into(),
        });
        Ok(())
    }

    fn bind_rootfs(&mut self) -> io::Result<()> {
        self.calls.push(Call::BindRootfs);
        Ok(())
    }

    fn kind(&mut self, path: &Path) -> io::Result<Option<FileKind>> {
        Ok(self.files.get(path).copied())
    }

    fn host_kind(&mut self, path: &Path) -> io::Result<FileKind> {
        self.host
            .get(path)
            .copied()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn create_dir_all(&mut self, path: &Path) -> io::Result<()> {
        self.calls.push(Call::Mkdir(path.into()));
        self.add_parents(path);
        self.files.insert(path.into(), FileKind::Dir);
        Ok(())
    }

    fn create_file(&mut self, path: &Path) -> io::Result<()> {
        self.calls.push(Call::CreateFile(path.into()));
        self.add_parents(path);
        self.files.entry(path.into()).or_insert(FileKind::File);
        Ok(())
    }

    fn mount(
        &mut self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MountFlags,
        data: Option<&str>,
    ) -> io::Result<()> {
        if !self.files.contains_key(target) {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        self.calls.push(Call::Mount {
            source: source.map(Into::into),
            target: target.into(),
            fstype: fstype.map(Into::into),
            flags,
            data: data.map(Into::into),
        });
        Ok(())
    }

    fn bind_self(&mut self, path: &Path) -> io::Result<()> {
        self.calls.push(Call::BindSelf(path.into()));
        Ok(())
    }

    fn mount_flags(&mut self, path: &Path) -> io::Result<MountFlags> {
        Ok(self.flags.get(path).copied().unwrap_or(0))
    }

    fn mknod(&mut self, path: &Path, mode: u32, dev: u64) -> io::Result<()> {
        if let Some(errno) = self.mknod_error {
            return Err(io::Error::from_raw_os_error(errno));
        }
        self.calls.push(Call::Mknod {
            path: path.into(),
            mode,
            dev,
        });
        self.files.insert(path.into(), FileKind::File);
        Ok(())
    }

    fn chown(&mut self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        self.calls.push(Call::Chown {
            path: path.into(),
            uid,
            gid,
        });
        Ok(())
    }

    fn symlink(&mut self, target: &str, link: &Path) -> io::Result<()> {
        if self.files.contains_key(link) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        self.calls.push(Call::Symlink {
            target: target.into(),
            link: link.into(),
        });
        self.files.insert(link.into(), FileKind::File);
        Ok(())
    }

    fn pivot_root(&mut self) -> io::Result<()> {
        self.calls.push(Call::PivotRoot);
        Ok(())
    }
}
