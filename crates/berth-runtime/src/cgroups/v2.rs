//! cgroup v2: a container cgroup is one directory of the unified tree; its ancestors' subtree_control
//! enable the controllers for it, and device access is an eBPF program attached to the directory.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

use super::error::{Error, Result};
use super::fsio::{self, exists, parse_u64, read, read_keyed, read_optional, write};
use super::stats::{Stats, keyed, parse_io_stat, parse_keyed};
use super::{bpf, devices};

/// Controllers enabled for container cgroups when the root offers them.
const CONTROLLERS: [&str; 5] = ["cpu", "memory", "pids", "cpuset", "io"];
/// cpu.max period when a quota comes without one (the kernel's default).
const DEFAULT_PERIOD: u64 = 100_000;

/// The directory of one container cgroup.
#[derive(Debug)]
pub(super) struct V2Cgroup {
    dir: PathBuf,
}

/// Makes the cgroup `parts` below `root`, enabling the controllers in each ancestor's
/// `cgroup.subtree_control` on the way. Returns whether the cgroup directory was new.
pub(super) fn create(root: &Path, parts: &[&str]) -> Result<(V2Cgroup, bool)> {
    let available = read(root, "cgroup.controllers")?;
    let enable: Vec<String> = CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .map(|c| format!("+{c}"))
        .collect();
    let enable = enable.join(" ");
    let mut dir = root.to_path_buf();
    let mut created = false;
    for part in parts {
        if !enable.is_empty() {
            write(&dir, "cgroup.subtree_control", &enable)?;
        }
        dir.push(part);
        created = fsio::mkdir(&dir)?;
    }
    Ok((V2Cgroup { dir }, created))
}

/// The cgroup `parts` below `root`, without touching the filesystem.
pub(super) fn open(root: &Path, parts: &[&str]) -> V2Cgroup {
    V2Cgroup {
        dir: parts.iter().fold(root.to_path_buf(), |p, c| p.join(c)),
    }
}

/// cgroup v1 `cpu.shares` (2..262144) to v2 `cpu.weight` (1..10000), the conversion runc and crun use.
pub(super) fn shares_to_weight(shares: u64) -> u64 {
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

impl V2Cgroup {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies `r`. `fresh` means the cgroup was just made, so no earlier device program is attached.
    /// v1-only memory knobs (swappiness, disabling the OOM killer) have no v2 file and are not applied.
    pub fn apply(&self, r: &LinuxResources, fresh: bool) -> Result<()> {
        if let Some(m) = r.memory() {
            self.memory(m)?;
        }
        if let Some(c) = r.cpu() {
            self.cpu(c)?;
        }
        if let Some(p) = r.pids() {
            let limit = p.limit();
            write(
                &self.dir,
                "pids.max",
                &if limit > 0 {
                    limit.to_string()
                } else {
                    "max".into()
                },
            )?;
        }
        if let Some(rules) = r.devices() {
            let program = devices::program(&devices::normalize(rules)?);
            let prog = bpf::load_device_program(&program)?;
            let dir = rustix::fs::open(
                &self.dir,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(|e| Error::Io {
                op: "open",
                file: self.dir.display().to_string(),
                source: e.into(),
            })?;
            bpf::attach_device_program(dir.as_fd(), prog.as_fd(), !fresh)?;
        }
        for (file, value) in r.unified().iter().flatten() {
            if file.contains('/') || file.starts_with('.') || !file.contains('.') {
                return Err(Error::InvalidPath(file.clone()));
            }
            write(&self.dir, file, value)?;
        }
        Ok(())
    }

    fn memory(&self, m: &LinuxMemory) -> Result<()> {
        let limit = m.limit().filter(|l| *l != 0);
        // OCI's swap is memory+swap; v2 limits swap alone. Checked before anything is written.
        let swap = match m.swap().filter(|s| *s != 0) {
            None => None,
            Some(-1) => Some(None),
            Some(s) => match limit {
                Some(l) if l > 0 && s >= l => Some(Some(s - l)),
                l => {
                    return Err(Error::InvalidSwap {
                        swap: s,
                        memory: l.unwrap_or(0),
                    });
                }
            },
        };
        let has_swap_file = exists(&self.dir, "memory.swap.max");
        if !has_swap_file && swap.flatten().is_some_and(|v| v != 0) {
            return Err(Error::SwapUnsupported);
        }
        if let Some(l) = limit {
            write(
                &self.dir,
                "memory.max",
                &if l == -1 { "max".into() } else { l.to_string() },
            )?;
        }
        if let Some(swap_only) = swap.filter(|_| has_swap_file) {
            write(
                &self.dir,
                "memory.swap.max",
                &swap_only.map_or("max".into(), |v| v.to_string()),
            )?;
        }
        if let Some(r) = m.reservation().filter(|r| *r != 0) {
            write(
                &self.dir,
                "memory.low",
                &if r == -1 { "max".into() } else { r.to_string() },
            )?;
        }
        Ok(())
    }

    fn cpu(&self, c: &LinuxCpu) -> Result<()> {
        if c.realtime_period().is_some_and(|p| p != 0) || c.realtime_runtime().is_some_and(|r| r != 0) {
            return Err(Error::NotOnV2("realtime cpu scheduling"));
        }
        if let Some(shares) = c.shares().filter(|s| *s != 0) {
            write(&self.dir, "cpu.weight", &shares_to_weight(shares).to_string())?;
        }
        let (quota, period) = (c.quota().filter(|q| *q != 0), c.period().filter(|p| *p != 0));
        if quota.is_some() || period.is_some() {
            let quota = quota.filter(|q| *q > 0).map_or("max".into(), |q| q.to_string());
            write(
                &self.dir,
                "cpu.max",
                &format!("{quota} {}", period.unwrap_or(DEFAULT_PERIOD)),
            )?;
        }
        if let Some(burst) = c.burst() {
            write(&self.dir, "cpu.max.burst", &burst.to_string())?;
        }
        if let Some(idle) = c.idle() {
            write(&self.dir, "cpu.idle", &idle.to_string())?;
        }
        for (value, file) in [(c.cpus(), "cpuset.cpus"), (c.mems(), "cpuset.mems")] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                write(&self.dir, file, value)?;
            }
        }
        Ok(())
    }

    pub fn request_freeze(&self, frozen: bool) -> Result<()> {
        write(&self.dir, "cgroup.freeze", if frozen { "1" } else { "0" })
    }

    pub fn is_frozen(&self) -> Result<bool> {
        Ok(read_keyed(&self.dir, "cgroup.events", "frozen")? == 1)
    }

    /// Counters of the controllers the cgroup has; those of missing controllers stay zero.
    pub fn stats(&self) -> Result<Stats> {
        let dir = &self.dir;
        let number = |file: &str| -> Result<Option<u64>> {
            read_optional(dir, file)?
                .map(|content| {
                    parse_u64(content.trim()).ok_or_else(|| Error::Parse {
                        file: file.to_string(),
                        content,
                    })
                })
                .transpose()
        };
        let keyed_file = |file: &str| -> Result<Vec<(String, u64)>> {
            Ok(read_optional(dir, file)?
                .map(|c| parse_keyed(&c))
                .unwrap_or_default())
        };
        let cpu = parse_keyed(&read(dir, "cpu.stat")?);
        let usec = |key: &str| keyed(&cpu, key).saturating_mul(1000);
        let io_service_bytes = match read_optional(dir, "io.stat")? {
            None => Vec::new(),
            Some(content) => parse_io_stat(&content).ok_or_else(|| Error::Parse {
                file: "io.stat".into(),
                content,
            })?,
        };
        Ok(Stats {
            memory_usage: number("memory.current")?.unwrap_or(0),
            memory_limit: number("memory.max")?.filter(|l| *l != u64::MAX),
            memory_failcnt: keyed(&keyed_file("memory.events")?, "oom"),
            memory_stat: keyed_file("memory.stat")?,
            cpu_usage_ns: usec("usage_usec"),
            cpu_user_ns: usec("user_usec"),
            cpu_system_ns: usec("system_usec"),
            cpu_periods: keyed(&cpu, "nr_periods"),
            cpu_throttled_periods: keyed(&cpu, "nr_throttled"),
            cpu_throttled_ns: usec("throttled_usec"),
            pids_current: number("pids.current")?.unwrap_or(0),
            pids_limit: number("pids.max")?.filter(|m| *m != u64::MAX),
            io_service_bytes,
            ..Stats::default()
        })
    }
}
