//! `docker cp` into a container: the destination directory resolved inside the root with every symlink followed
//! (so an archive can be extracted "into" a symlink to a directory), then a plain extraction below it.

use std::io::Read;
use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::fs::{FileType, OFlags};
use rustix::io::Errno;

use super::cpath::{ContainerPath, resolve_in_scope};
use crate::error::{Error, Result};
use crate::extract::{PlainOptions, extract_plain, open_in_root};

/// A directory of a container that archives are extracted into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractDir {
    /// Its path with every symlink resolved, relative to the root (empty for the root).
    rel: Vec<u8>,
}

impl ExtractDir {
    /// The directory's resolved absolute path inside the container, e.g. `/var/tmp` for a request of `/tmp` when
    /// `/tmp` links there.
    pub fn container_path(&self) -> String {
        format!("/{}", String::from_utf8_lossy(&self.rel))
    }
}

/// What an extraction may do besides writing the archive's entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractRules {
    /// Refuse to replace a directory with a non-directory and the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Give every entry this owner (uid, gid) instead of the archive's.
    pub owner: Option<(u32, u32)>,
}

/// Resolves the destination `path` inside `root`: [`Error::NotFound`] (holding `path`) when it does not exist,
/// [`Error::InvalidArgument`] when it is not a directory.
pub fn resolve_extract_dir(root: BorrowedFd<'_>, path: &str) -> Result<ExtractDir> {
    let cp = ContainerPath::parse(path);
    let failed = |e: Errno| match e {
        Errno::NOENT => Error::NotFound(path.to_string()),
        Errno::NOTDIR => not_a_dir(),
        e => Error::io(format!("resolve {}", cp.show()), e),
    };
    let rel = resolve_in_scope(root, &cp.comps).map_err(failed)?.join(&b'/');
    let fd = open_in_root(root, &rel, OFlags::PATH).map_err(failed)?;
    let st = rustix::fs::fstat(&fd).map_err(failed)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(not_a_dir());
    }
    Ok(ExtractDir { rel })
}

fn not_a_dir() -> Error {
    Error::InvalidArgument("extraction point is not a directory".into())
}

/// Extracts `tar` into `dir` below `root`. Entries climbing out of `dir` with `..` and device nodes are refused;
/// symlinks are resolved inside `root` only.
pub fn extract_into(
    root: BorrowedFd<'_>,
    dir: &ExtractDir,
    tar: &mut dyn Read,
    rules: ExtractRules,
) -> Result<()> {
    let opts = PlainOptions {
        dest: dir.rel.clone(),
        no_overwrite_dir_non_dir: rules.no_overwrite_dir_non_dir,
        owner: rules.owner,
    };
    extract_plain(root, tar, opts).map(drop)
}

/// Reads the regular file at the absolute `path` inside `root` (symlinks resolved inside it), e.g. the container's
/// /etc/passwd; `None` when it is missing or not a regular file (nothing else is ever opened for reading).
pub fn read_file_in(root: BorrowedFd<'_>, path: &str) -> Result<Option<Vec<u8>>> {
    let cp = ContainerPath::parse(path);
    let fd = match open_in_root(root, &cp.joined(), OFlags::PATH) {
        Ok(fd) => fd,
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(None),
        Err(e) => return Err(Error::io(format!("open {path}"), e)),
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::io(format!("stat {path}"), e))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Ok(None);
    }
    // Reopening the O_PATH descriptor reads exactly the file that was checked.
    let reopened = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let mut data = Vec::new();
    std::fs::File::open(reopened)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|e| Error::io(format!("read {path}"), e))?;
    Ok(Some(data))
}
