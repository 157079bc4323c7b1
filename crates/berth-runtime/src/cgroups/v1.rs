//! cgroup v1: a container cgroup is one directory per controller hierarchy; resources are written to
//! each controller's own files.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

use super::devices;
use super::error::{Error, Result};
use super::fsio::{self, exists, read, read_keyed, read_optional, read_u64, write};
use super::hierarchy::{Controller, V1Mount};
use super::stats::{IoEntry, Stats, keyed, parse_blkio, parse_keyed, parse_list, ticks_to_ns};

/// v1 reports "no limit" as the largest page-aligned counter value; anything this large is unlimited.
const UNLIMITED: u64 = 0x7FFF_FFFF_FFFF_F000;

/// The directories of one container cgroup, one per mounted hierarchy.
#[derive(Debug)]
pub(super) struct V1Cgroup {
    dirs: Vec<(V1Mount, PathBuf)>,
}

/// Makes the cgroup `parts` in every hierarchy. Returns whether any directory was new.
pub(super) fn create(mounts: &[V1Mount], parts: &[&str]) -> Result<(V1Cgroup, bool)> {
    let cg = open(mounts, parts);
    let mut created = false;
    for (mount, dir) in &cg.dirs {
        let made = if mount.has(Controller::Cpuset) {
            make_cpuset_dirs(&mount.path, parts)
        } else {
            make_dirs(dir)
        };
        match made {
            Ok(made) => created |= made,
            Err(e) => {
                if created {
                    let _ = cg.dirs().try_for_each(fsio::remove);
                }
                return Err(e);
            }
        }
    }
    Ok((cg, created))
}

/// The cgroup `parts` in every hierarchy, without touching the filesystem.
pub(super) fn open(mounts: &[V1Mount], parts: &[&str]) -> V1Cgroup {
    let dirs = mounts
        .iter()
        .map(|m| (m.clone(), parts.iter().fold(m.path.clone(), |p, c| p.join(c))))
        .collect();
    V1Cgroup { dirs }
}

/// mkdir of `dir`, making missing parents only when needed.
fn make_dirs(dir: &Path) -> Result<bool> {
    match fsio::mkdir(dir) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                make_dirs(parent)?;
            }
            fsio::mkdir(dir)
        }
        other => other,
    }
}

/// Makes each level below `root`, giving every cpuset without CPUs or memory nodes its parent's
/// (tasks cannot join a cpuset whose `cpuset.cpus` or `cpuset.mems` is empty).
fn make_cpuset_dirs(root: &Path, parts: &[&str]) -> Result<bool> {
    let mut parent = root.to_path_buf();
    let mut created = false;
    for part in parts {
        let dir = parent.join(part);
        let made = fsio::mkdir(&dir)?;
        created |= made;
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if made || read(&dir, file)?.trim().is_empty() {
                write(&dir, file, read(&parent, file)?.trim())?;
            }
        }
        parent = dir;
    }
    Ok(created)
}

impl V1Cgroup {
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(|(_, d)| d.as_path())
    }

    fn dir(&self, c: Controller) -> Result<&Path> {
        self.dirs
            .iter()
            .find(|(m, _)| m.has(c))
            .map(|(_, d)| d.as_path())
            .ok_or(Error::NoController(c.name()))
    }

    /// A directory to list the cgroup's processes from (every hierarchy holds them all).
    pub fn procs_dir(&self) -> &Path {
        self.dirs.first().map_or(Path::new("/"), |(_, d)| d.as_path())
    }

    pub fn apply(&self, r: &LinuxResources) -> Result<()> {
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(Error::UnifiedOnV1);
        }
        if let Some(m) = r.memory() {
            self.memory(m)?;
        }
        if let Some(c) = r.cpu() {
            self.cpu(c)?;
        }
        if let Some(p) = r.pids() {
            let limit = p.limit();
            write(
                self.dir(Controller::Pids)?,
                "pids.max",
                &if limit > 0 {
                    limit.to_string()
                } else {
                    "max".into()
                },
            )?;
        }
        if let Some(rules) = r.devices() {
            let dir = self.dir(Controller::Devices)?;
            write(dir, "devices.deny", "a")?;
            for rule in devices::normalize(rules)? {
                write(
                    dir,
                    if rule.allow {
                        "devices.allow"
                    } else {
                        "devices.deny"
                    },
                    &rule.v1_line(),
                )?;
            }
        }
        Ok(())
    }

    fn memory(&self, m: &LinuxMemory) -> Result<()> {
        let dir = self.dir(Controller::Memory)?;
        let limit = m.limit().filter(|l| *l != 0);
        let swap = m.swap().filter(|s| *s != 0);
        let memsw = "memory.memsw.limit_in_bytes";
        match (limit, swap) {
            (_, Some(s)) if !exists(dir, memsw) => {
                // Without swap accounting only "no swap beyond memory" and "unlimited" can be honoured.
                if s != -1 && Some(s) != limit {
                    return Err(Error::SwapUnsupported);
                }
                if let Some(l) = limit {
                    write(dir, "memory.limit_in_bytes", &l.to_string())?;
                }
            }
            (Some(l), Some(s)) => {
                if s != -1 && (l == -1 || s < l) {
                    return Err(Error::InvalidSwap { swap: s, memory: l });
                }
                // memory.limit_in_bytes may never exceed memsw: order the writes so that it never does.
                let current = read_u64(dir, "memory.limit_in_bytes")?;
                if s == -1 || current < s as u64 {
                    write(dir, memsw, &s.to_string())?;
                    write(dir, "memory.limit_in_bytes", &l.to_string())?;
                } else {
                    write(dir, "memory.limit_in_bytes", &l.to_string())?;
                    write(dir, memsw, &s.to_string())?;
                }
            }
            (None, Some(s)) => write(dir, memsw, &s.to_string())?,
            (Some(l), None) => write(dir, "memory.limit_in_bytes", &l.to_string())?,
            (None, None) => {}
        }
        if let Some(r) = m.reservation().filter(|r| *r != 0) {
            write(dir, "memory.soft_limit_in_bytes", &r.to_string())?;
        }
        if let Some(s) = m.swappiness() {
            write(dir, "memory.swappiness", &s.to_string())?;
        }
        if let Some(disable) = m.disable_oom_killer() {
            write(dir, "memory.oom_control", if disable { "1" } else { "0" })?;
        }
        Ok(())
    }

    fn cpu(&self, c: &LinuxCpu) -> Result<()> {
        if c.shares().is_some_and(|s| s != 0)
            || c.period().is_some_and(|p| p != 0)
            || c.quota().is_some_and(|q| q != 0)
            || c.burst().is_some()
            || c.realtime_period().is_some()
            || c.realtime_runtime().is_some()
        {
            let dir = self.dir(Controller::Cpu)?;
            if let Some(shares) = c.shares().filter(|s| *s != 0) {
                write(dir, "cpu.shares", &shares.to_string())?;
            }
            // The period first: a quota is checked against the period in force.
            if let Some(period) = c.period().filter(|p| *p != 0) {
                write(dir, "cpu.cfs_period_us", &period.to_string())?;
            }
            if let Some(quota) = c.quota().filter(|q| *q != 0) {
                write(dir, "cpu.cfs_quota_us", &quota.to_string())?;
            }
            if let Some(burst) = c.burst() {
                write(dir, "cpu.cfs_burst_us", &burst.to_string())?;
            }
            if let Some(period) = c.realtime_period() {
                write(dir, "cpu.rt_period_us", &period.to_string())?;
            }
            if let Some(runtime) = c.realtime_runtime() {
                write(dir, "cpu.rt_runtime_us", &runtime.to_string())?;
            }
        }
        for (value, file) in [(c.cpus(), "cpuset.cpus"), (c.mems(), "cpuset.mems")] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                write(self.dir(Controller::Cpuset)?, file, value)?;
            }
        }
        Ok(())
    }

    pub fn request_freeze(&self, frozen: bool) -> Result<()> {
        write(
            self.dir(Controller::Freezer)?,
            "freezer.state",
            if frozen { "FROZEN" } else { "THAWED" },
        )
    }

    pub fn is_frozen(&self) -> Result<bool> {
        Ok(read(self.dir(Controller::Freezer)?, "freezer.state")?.trim() == "FROZEN")
    }

    pub fn oom_kill_count(&self) -> Result<u64> {
        read_keyed(self.dir(Controller::Memory)?, "memory.oom_control", "oom_kill")
    }

    pub fn stats(&self) -> Result<Stats> {
        let memory = self.dir(Controller::Memory)?;
        let limit = read_u64(memory, "memory.limit_in_bytes")?;
        let cpuacct = self.dir(Controller::Cpuacct)?;
        let times = parse_keyed(&read(cpuacct, "cpuacct.stat")?);
        let percpu = read(cpuacct, "cpuacct.usage_percpu")?;
        let mut stats = Stats {
            memory_usage: read_u64(memory, "memory.usage_in_bytes")?,
            memory_max_usage: read_u64(memory, "memory.max_usage_in_bytes")?,
            memory_limit: (limit < UNLIMITED).then_some(limit),
            memory_failcnt: read_u64(memory, "memory.failcnt")?,
            memory_stat: parse_keyed(&read(memory, "memory.stat")?),
            cpu_usage_ns: read_u64(cpuacct, "cpuacct.usage")?,
            cpu_user_ns: ticks_to_ns(keyed(&times, "user")),
            cpu_system_ns: ticks_to_ns(keyed(&times, "system")),
            cpu_percpu_ns: parse_list(&percpu).ok_or_else(|| Error::Parse {
                file: "cpuacct.usage_percpu".into(),
                content: percpu.clone(),
            })?,
            ..Stats::default()
        };
        // Throttling, tasks and block I/O are reported when their controllers are mounted.
        if let Ok(cpu) = self.dir(Controller::Cpu)
            && let Some(content) = read_optional(cpu, "cpu.stat")?
        {
            let counters = parse_keyed(&content);
            stats.cpu_periods = keyed(&counters, "nr_periods");
            stats.cpu_throttled_periods = keyed(&counters, "nr_throttled");
            stats.cpu_throttled_ns = keyed(&counters, "throttled_time");
        }
        if let Ok(pids) = self.dir(Controller::Pids) {
            stats.pids_current = read_u64(pids, "pids.current")?;
            let max = read_u64(pids, "pids.max")?;
            stats.pids_limit = (max != u64::MAX).then_some(max);
        }
        if let Ok(blkio) = self.dir(Controller::Blkio) {
            (stats.io_service_bytes, stats.io_serviced) = blkio_counters(blkio)?;
        }
        Ok(stats)
    }
}

/// Bytes and operations per device: from the CFQ scheduler's files when the kernel has them and they count
/// anything, else from the throttling layer's, which every kernel keeps.
fn blkio_counters(dir: &Path) -> Result<(Vec<IoEntry>, Vec<IoEntry>)> {
    let mut counters = (Vec::new(), Vec::new());
    for prefix in ["blkio.", "blkio.throttle."] {
        let bytes_file = format!("{prefix}io_service_bytes_recursive");
        let ops_file = format!("{prefix}io_serviced_recursive");
        let read_entries = |file: &str| -> Result<Vec<IoEntry>> {
            match read_optional(dir, file)? {
                None => Ok(Vec::new()),
                Some(content) => parse_blkio(&content).ok_or_else(|| Error::Parse {
                    file: file.to_string(),
                    content,
                }),
            }
        };
        counters = (read_entries(&bytes_file)?, read_entries(&ops_file)?);
        if !counters.0.is_empty() || !counters.1.is_empty() {
            break;
        }
    }
    Ok(counters)
}
