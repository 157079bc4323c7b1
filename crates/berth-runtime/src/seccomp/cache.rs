//! On-disk cache of compiled seccomp programs, keyed by the SHA-256 of the profile's JSON, so that a
//! container start with an already seen profile skips compilation.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use super::{Error, Program, Result, compile};

/// Mixed into the key: change it whenever the compiler's output for a profile changes.
const KEY_TAG: &[u8] = b"berth seccomp x86_64 v1\n";

/// The program for `profile`: read from `<cache_dir>/<sha256>.bpf` when present and valid, otherwise
/// compiled and written there (through a temporary file and a rename; no fsync, it is only a cache).
pub fn compile_cached(profile: &LinuxSeccomp, cache_dir: &Path) -> Result<Program> {
    let mut hasher = Sha256::new();
    hasher.update(KEY_TAG);
    hasher.update(serde_json::to_vec(profile)?);
    let key = hex::encode(hasher.finalize());
    let path = cache_dir.join(format!("{key}.bpf"));
    // Any unreadable or invalid cache file is a miss; a cache that cannot be written is reported below.
    if let Ok(program) = fs::read(&path)
        .map_err(drop)
        .and_then(|b| Program::from_bytes(&b).map_err(drop))
    {
        return Ok(program);
    }
    let program = compile(profile)?;
    fs::create_dir_all(cache_dir).map_err(|source| Error::Io {
        op: "create",
        path: cache_dir.to_path_buf(),
        source,
    })?;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = cache_dir.join(format!(".{key}.{}.{unique}.tmp", std::process::id()));
    let written = fs::write(&tmp, program.to_bytes()).and_then(|()| fs::rename(&tmp, &path));
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Io {
            op: "write",
            path,
            source,
        });
    }
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::docker_default;
    use oci_spec::runtime::Capability;
    use std::time::Instant;

    #[test]
    fn writes_then_reads_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("seccomp");
        let profile = docker_default(&[Capability::Chown]);
        let compiled = compile_cached(&profile, &cache).unwrap();
        let files: Vec<_> = fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files.len(), 1, "one cache file and no temporary left: {files:?}");
        let name = files[0].to_string_lossy().into_owned();
        assert!(name.ends_with(".bpf") && name.len() == 64 + 4, "{name}");
        assert_eq!(compile_cached(&profile, &cache).unwrap(), compiled);

        // Another profile gets another file; a corrupt file is replaced.
        let other = docker_default(&[Capability::SysAdmin]);
        assert_ne!(compile_cached(&other, &cache).unwrap(), compiled);
        assert_eq!(fs::read_dir(&cache).unwrap().count(), 2);
        fs::write(cache.join(&name), b"garbage").unwrap();
        assert_eq!(compile_cached(&profile, &cache).unwrap(), compiled);
        assert_eq!(
            Program::from_bytes(&fs::read(cache.join(&name)).unwrap()).unwrap(),
            compiled
        );
    }

    #[test]
    fn reports_an_unwritable_cache_dir() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"").unwrap();
        let err = compile_cached(&docker_default(&[]), &blocker.join("sub")).unwrap_err();
        assert!(err.to_string().starts_with("seccomp: create "), "{err}");
    }

    #[test]
    fn benchmark_compile_against_cached_load() {
        let dir = tempfile::tempdir().unwrap();
        let profile = docker_default(&[]);
        let rounds = 50u32;
        let start = Instant::now();
        for _ in 0..rounds {
            compile(&profile).unwrap();
        }
        let compiled = start.elapsed() / rounds;
        compile_cached(&profile, dir.path()).unwrap();
        let start = Instant::now();
        for _ in 0..rounds {
            compile_cached(&profile, dir.path()).unwrap();
        }
        let cached = start.elapsed() / rounds;
        let start = Instant::now();
        for _ in 0..rounds {
            docker_default(&[]);
        }
        let build = start.elapsed() / rounds;
        println!(
            "seccomp: docker_default {build:?}, compile {compiled:?}, cached load {cached:?} (per call)"
        );
    }
}
