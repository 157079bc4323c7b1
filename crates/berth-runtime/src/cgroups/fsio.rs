//! Reading, writing, creating and removing cgroup files and directories, with errors naming the file.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::error::{Error, Result, io_err};

/// Writes `value` to `dir/file` in one write(2), as cgroup files require.
pub(super) fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(dir.join(file))
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(io_err("write", file))
}

/// The content of `dir/file`.
pub(super) fn read(dir: &Path, file: &str) -> Result<String> {
    fs::read_to_string(dir.join(file)).map_err(io_err("read", file))
}

/// The content of `dir/file`, or `None` when it does not exist (a controller the cgroup does not have).
pub(super) fn read_optional(dir: &Path, file: &str) -> Result<Option<String>> {
    match fs::read_to_string(dir.join(file)) {
        Ok(content) => Ok(Some(content)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", file)(e)),
    }
}

/// Whether `dir/file` exists (optional cgroup files such as `memory.memsw.limit_in_bytes`).
pub(super) fn exists(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

/// A number file; `max` reads as `u64::MAX`.
pub(super) fn read_u64(dir: &Path, file: &str) -> Result<u64> {
    let content = read(dir, file)?;
    parse_u64(content.trim()).ok_or_else(|| Error::Parse {
        file: file.to_string(),
        content,
    })
}

/// The value of `key` in a flat keyed file of `key value` lines (`memory.events`, `cpu.stat`, ...).
pub(super) fn read_keyed(dir: &Path, file: &str, key: &str) -> Result<u64> {
    let content = read(dir, file)?;
    content
        .lines()
        .find_map(|line| {
            line.strip_prefix(key)?
                .strip_prefix(' ')
                .and_then(|v| parse_u64(v.trim()))
        })
        .ok_or_else(|| Error::Parse {
            file: file.to_string(),
            content: content.clone(),
        })
}

/// A number as cgroup files write it; `max` is `u64::MAX`.
pub(super) fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        Some(u64::MAX)
    } else {
        s.parse().ok()
    }
}

/// Creates directory `path`; `Ok(false)` when it already existed.
pub(super) fn mkdir(path: &Path) -> Result<bool> {
    match fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err("mkdir", path.display().to_string())(e)),
    }
}

/// Removes cgroup directory `path` and any cgroups nested in it (made inside the container), leaves
/// first, retrying for a moment while exiting processes still populate it. A missing directory is fine.
pub(super) fn remove(path: &Path) -> Result<()> {
    const ATTEMPTS: u32 = 9;
    let mut delay = Duration::from_millis(1);
    let mut attempt = 1;
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < ATTEMPTS => {
                if attempt == 1 {
                    remove_children(path)?;
                } else {
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                attempt += 1;
            }
            Err(e) => return Err(io_err("rmdir", path.display().to_string())(e)),
        }
    }
}

fn remove_children(path: &Path) -> Result<()> {
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read directory", path.display().to_string())(e)),
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_and_keyed_values() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("pids.max"), "max\n").unwrap();
        fs::write(d.join("pids.current"), "12\n").unwrap();
        fs::write(
            d.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n",
        )
        .unwrap();
        fs::write(d.join("bad"), "twelve\n").unwrap();
        assert_eq!(read_u64(d, "pids.max").unwrap(), u64::MAX);
        assert_eq!(read_u64(d, "pids.current").unwrap(), 12);
        assert_eq!(read_keyed(d, "memory.events", "oom_kill").unwrap(), 2);
        assert_eq!(read_keyed(d, "memory.events", "oom").unwrap(), 1);
        assert_eq!(
            read_u64(d, "bad").unwrap_err().to_string(),
            "cgroup: unexpected content in bad: \"twelve\\n\""
        );
        assert!(read_keyed(d, "memory.events", "nope").is_err());
        assert_eq!(read_optional(d, "missing").unwrap(), None);
        assert_eq!(read_optional(d, "pids.max").unwrap().as_deref(), Some("max\n"));
        assert_eq!(
            read(d, "missing").unwrap_err().to_string(),
            "cgroup: read missing: no such file or directory"
        );
    }

    #[test]
    fn write_replaces_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cpu.max"), "max 100000\n").unwrap();
        write(dir.path(), "cpu.max", "5").unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("cpu.max")).unwrap(), "5");
        let err = write(&dir.path().join("gone"), "memory.max", "1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cgroup: write memory.max: no such file or directory"
        );
    }

    #[test]
    fn mkdir_and_remove_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("x");
        assert!(mkdir(&cg).unwrap());
        assert!(!mkdir(&cg).unwrap());
        remove(&cg).unwrap();
        assert!(!cg.exists());
        remove(&cg).unwrap();
    }
}
