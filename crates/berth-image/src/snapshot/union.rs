//! Reading one file through a read-write layer without mounting it: the path is resolved component
//! by component over the upper and lower directories (top first), honouring whiteouts, opaque
//! directories and symlinks (resolved inside the layer, never on the host).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::RwLayer;
use crate::error::{Error, Result};
use crate::extract::whiteout::OPAQUE_XATTR;

const MAX_LINKS: usize = 40;

/// What one layer has at a path.
enum Found {
    Missing,
    Whiteout,
    Dir { opaque: bool },
    Symlink(PathBuf),
    Other,
}

fn probe(path: &Path, overlay: bool) -> Result<Found> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Found::Missing);
        }
        Err(e) => return Err(Error::io(format!("stat {}", path.display()), e)),
    };
    let ft = meta.file_type();
    Ok(if overlay && ft.is_char_device() && meta.rdev() == 0 {
        Found::Whiteout
    } else if ft.is_dir() {
        let opaque = overlay
            && matches!(
                rustix::fs::lgetxattr(path, OPAQUE_XATTR, &mut [0u8; 4][..]),
                Ok(1)
            );
        Found::Dir { opaque }
    } else if ft.is_symlink() {
        let target =
            std::fs::read_link(path).map_err(|e| Error::io(format!("readlink {}", path.display()), e))?;
        Found::Symlink(target)
    } else {
        Found::Other
    })
}

/// Reads `path` (absolute inside the container) through `rw`; `None` if it does not exist or is
/// not a regular file.
pub fn read_file(rw: &RwLayer, path: &str) -> Result<Option<Vec<u8>>> {
    let (layers, overlay): (Vec<&Path>, bool) = match rw {
        RwLayer::Overlay { lower, upper, .. } => (
            std::iter::once(upper.as_path())
                .chain(lower.iter().map(|p| p.as_path()))
                .collect(),
            true,
        ),
        RwLayer::Dir { path } => (vec![path.as_path()], false),
    };
    let Some(real) = resolve(&layers, overlay, path)? else {
        return Ok(None);
    };
    match std::fs::read(&real) {
        Ok(d) => Ok(Some(d)),
        Err(e) => Err(Error::io(format!("read {}", real.display()), e)),
    }
}

/// The host path of the regular file `path` resolves to, if any.
fn resolve(layers: &[&Path], overlay: bool, path: &str) -> Result<Option<PathBuf>> {
    // `here`: the layers in which the current directory is a directory (top first, cut at opaque).
    let mut stack: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
    let mut here = root_layers(layers, overlay)?;
    let mut todo: Vec<Vec<u8>> = components(path.as_bytes()).rev().collect();
    let mut links = 0;
    while let Some(comp) = todo.pop() {
        if comp == b".." {
            if let Some((_, prev)) = stack.pop() {
                here = prev;
            }
            continue;
        }
        let rel: PathBuf = stack
            .iter()
            .map(|(c, _)| OsStr::from_bytes(c))
            .chain([OsStr::from_bytes(&comp)])
            .collect();
        let mut next = Vec::new();
        let mut first: Option<Found> = None;
        for &i in &here {
            let found = probe(&layers[i].join(&rel), overlay)?;
            match (&first, found) {
                (_, Found::Missing) => continue,
                (None, Found::Dir { opaque }) => {
                    next.push(i);
                    first = Some(Found::Dir { opaque });
                    if opaque {
                        break;
                    }
                }
                (None, other) => {
                    if todo.is_empty() && matches!(other, Found::Other) {
                        return Ok(Some(layers[i].join(&rel)));
                    }
                    first = Some(other);
                    break;
                }
                (Some(_), Found::Dir { opaque }) => {
                    next.push(i);
                    if opaque {
                        break;
                    }
                }
                // A non-directory below a directory is hidden by it.
                (Some(_), _) => break,
            }
        }
        match first {
            None | Some(Found::Missing) | Some(Found::Whiteout) | Some(Found::Other) => return Ok(None),
            Some(Found::Dir { .. }) => {
                stack.push((comp, std::mem::replace(&mut here, next)));
            }
            Some(Found::Symlink(target)) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Error::InvalidArgument(format!(
                        "too many levels of symbolic links in {path}"
                    )));
                }
                let target = target.as_os_str().as_bytes();
                if target.starts_with(b"/") {
                    stack.clear();
                    here = root_layers(layers, overlay)?;
                }
                todo.extend(components(target).rev());
            }
        }
    }
    Ok(None)
}

/// The layers whose root directory is visible (down to the first opaque root).
fn root_layers(layers: &[&Path], overlay: bool) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        out.push(i);
        if let Found::Dir { opaque: true } = probe(l, overlay)? {
            break;
        }
    }
    Ok(out)
}

fn components(p: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    p.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
}
