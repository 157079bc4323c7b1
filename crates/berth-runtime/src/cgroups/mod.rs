//! cgroups v1 and v2: create, limit, join, freeze, measure and remove a container cgroup.
//!
//! [`Hierarchy::detect`] finds the host's layout once; [`Hierarchy::create`] makes the container's
//! cgroup (in every v1 controller, or in the unified tree) and applies OCI `LinuxResources`; the
//! returned [`Cgroup`] joins, freezes, measures, signals and removes it.

mod bpf;
mod devices;
mod error;
mod fsio;
mod hierarchy;
mod prime;
mod stats;
mod v1;
mod v2;

#[cfg(test)]
mod tests_live;
#[cfg(test)]
mod tests_v1;
#[cfg(test)]
mod tests_v2;

pub(crate) use error::errno_text;
pub use error::{Error, Result};
pub use hierarchy::Hierarchy;
pub use prime::prime_attach;
pub use stats::{IoEntry, Stats};

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use oci_spec::runtime::LinuxResources;

/// A container's cgroup.
#[derive(Debug)]
pub struct Cgroup {
    path: String,
    kind: Kind,
    /// `cgroup.procs` of every directory of the cgroup, ready for [`Cgroup::join_self`].
    procs: Vec<CString>,
}

#[derive(Debug)]
enum Kind {
    V1(v1::V1Cgroup),
    V2(v2::V2Cgroup),
}

impl Cgroup {
    fn from_v1(path: &str, cg: v1::V1Cgroup) -> Self {
        let procs = cg.dirs().map(procs_path).collect();
        Self {
            path: path.to_string(),
            kind: Kind::V1(cg),
            procs,
        }
    }

    fn from_v2(path: &str, cg: v2::V2Cgroup) -> Self {
        let procs = vec![procs_path(cg.dir())];
        Self {
            path: path.to_string(),
            kind: Kind::V2(cg),
            procs,
        }
    }

    /// The cgroup path it was created or opened with.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether this cgroup lives in the unified (v2) hierarchy.
    pub fn is_v2(&self) -> bool {
        matches!(self.kind, Kind::V2(_))
    }

    fn exists(&self) -> bool {
        match &self.kind {
            Kind::V1(cg) => cg.dirs().all(Path::exists),
            Kind::V2(cg) => cg.dir().exists(),
        }
    }

    /// Moves process `pid` (all its threads) into the cgroup.
    pub fn add_pid(&self, pid: i32) -> Result<()> {
        let pid = pid.to_string();
        match &self.kind {
            Kind::V1(cg) => cg
                .dirs()
                .try_for_each(|dir| fsio::write(dir, "cgroup.procs", &pid)),
            Kind::V2(cg) => fsio::write(cg.dir(), "cgroup.procs", &pid),
        }
    }

    /// Moves the calling process into the cgroup by writing "0" to each `cgroup.procs`. Makes no
    /// allocation, for a freshly forked child of a single-threaded parent.
    pub fn join_self(&self) -> std::result::Result<(), rustix::io::Errno> {
        use rustix::fs::{Mode, OFlags};
        for procs in &self.procs {
            let fd = rustix::fs::open(procs.as_c_str(), OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
            rustix::io::write(&fd, b"0")?;
        }
        Ok(())
    }

    /// On v2, a directory fd of the cgroup for clone3's `CLONE_INTO_CGROUP`; `None` on v1.
    pub fn v2_dir_fd(&self) -> Result<Option<OwnedFd>> {
        use rustix::fs::{Mode, OFlags};
        let Kind::V2(cg) = &self.kind else { return Ok(None) };
        rustix::fs::open(
            cg.dir(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map(Some)
        .map_err(|e| Error::Io {
            op: "open",
            file: cg.dir().display().to_string(),
            source: e.into(),
        })
    }

    /// Applies `resources`; fields left unset keep their current values. Device rules, when given,
    /// replace the current ones (default deny).
    pub fn update(&self, resources: &LinuxResources) -> Result<()> {
        self.apply(resources, false)
    }

    fn apply(&self, resources: &LinuxResources, fresh: bool) -> Result<()> {
        match &self.kind {
            Kind::V1(cg) => cg.apply(resources),
            Kind::V2(cg) => cg.apply(resources, fresh),
        }
    }

    /// Freezes every process of the cgroup and waits until the kernel reports it frozen.
    pub fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    /// Thaws the cgroup.
    pub fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut pause = Duration::from_micros(100);
        loop {
            // Asking again is harmless and lets v1 retry tasks it could not freeze at first.
            match &self.kind {
                Kind::V1(cg) => cg.request_freeze(frozen)?,
                Kind::V2(cg) => cg.request_freeze(frozen)?,
            }
            if self.is_frozen()? == frozen {
                return Ok(());
            }
            if Instant::now() >= deadline {
                if frozen {
                    let _ = self.thaw();
                }
                return Err(Error::FreezeTimeout(self.path.clone()));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// Whether the cgroup is frozen.
    pub fn is_frozen(&self) -> Result<bool> {
        match &self.kind {
            Kind::V1(cg) => cg.is_frozen(),
            Kind::V2(cg) => cg.is_frozen(),
        }
    }

    /// The processes in the cgroup (`cgroup.procs`).
    pub fn pids(&self) -> Result<Vec<i32>> {
        let dir = match &self.kind {
            Kind::V1(cg) => cg.procs_dir(),
            Kind::V2(cg) => cg.dir(),
        };
        let content = fsio::read(dir, "cgroup.procs")?;
        content
            .lines()
            .map(|l| {
                l.trim().parse().map_err(|_| Error::Parse {
                    file: "cgroup.procs".into(),
                    content: content.clone(),
                })
            })
            .collect()
    }

    /// How many processes the kernel's OOM killer has killed in this cgroup.
    pub fn oom_kill_count(&self) -> Result<u64> {
        match &self.kind {
            Kind::V1(cg) => cg.oom_kill_count(),
            Kind::V2(cg) => fsio::read_keyed(cg.dir(), "memory.events", "oom_kill"),
        }
    }

    /// Memory, CPU, task and block I/O counters.
    pub fn stats(&self) -> Result<Stats> {
        match &self.kind {
            Kind::V1(cg) => cg.stats(),
            Kind::V2(cg) => cg.stats(),
        }
    }

    /// Sends `signal` to every process of the cgroup. SIGKILL on v2 uses `cgroup.kill`; otherwise the
    /// cgroup is frozen while its processes are listed and signalled, so that none escapes by forking.
    pub fn kill_all(&self, signal: Signal) -> Result<()> {
        if let Kind::V2(cg) = &self.kind
            && signal == Signal::SIGKILL
            && fsio::exists(cg.dir(), "cgroup.kill")
        {
            return fsio::write(cg.dir(), "cgroup.kill", "1");
        }
        let frozen = self.freeze().is_ok();
        let result = self.pids().map(|pids| {
            for pid in pids {
                // A process that already exited is fine.
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
            }
        });
        if frozen {
            self.thaw()?;
        }
        result
    }

    /// Removes the cgroup's directories (not its parents), retrying briefly while exiting processes
    /// still populate it. Removing a cgroup that is already gone succeeds.
    pub fn destroy(&self) -> Result<()> {
        match &self.kind {
            Kind::V1(cg) => {
                // Try every hierarchy; report the first failure.
                let mut result = Ok(());
                for dir in cg.dirs() {
                    let removed = fsio::remove(dir);
                    if result.is_ok() {
                        result = removed;
                    }
                }
                result
            }
            Kind::V2(cg) => fsio::remove(cg.dir()),
        }
    }
}

fn procs_path(dir: &Path) -> CString {
    let mut bytes = dir.join("cgroup.procs").into_os_string().into_vec();
    bytes.retain(|b| *b != 0);
    CString::new(bytes).unwrap_or_default()
}
