//! `stats`: one resource usage sample of a container, read from its cgroup, /proc/stat and its network namespace,
//! and shaped as dockerd 20.10 shapes it on cgroup v1 and v2.

use berth_runtime::cgroups::{self, Cgroup, Hierarchy, IoEntry};
use serde::Deserialize;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{Container, Status};
use crate::stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, MemoryStats, PidsStats, StatsSample, ThrottlingData, host,
};
use crate::timefmt;

/// The `memory.stat` keys Docker reports on cgroup v1.
const V1_MEMORY_KEYS: [&str; 32] = [
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_rss_huge",
    "total_mapped_file",
    "total_dirty",
    "total_writeback",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
    "total_unevictable",
];

/// The `memory.stat` keys Docker reports on cgroup v2.
const V2_MEMORY_KEYS: [&str; 31] = [
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
];

/// The part of a runtime spec (config.json) that names the container's cgroup.
#[derive(Deserialize)]
struct SpecCgroup {
    linux: Option<SpecLinux>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpecLinux {
    cgroups_path: Option<String>,
}

/// Host-wide figures sampled right after the cgroup's.
struct HostFigures {
    system_cpu_ns: u64,
    online_cpus: u32,
    machine_memory: u64,
}

impl Engine {
    /// One stats sample of container `reference`. A container that is not running gives Docker's empty sample: only
    /// its name and id, zero times and zero counters.
    pub fn stats_sample(&self, reference: &str) -> Result<StatsSample> {
        let id = self.containers.resolve(reference)?;
        let c = self.reconcile(self.containers.load(&id)?)?;
        let empty = StatsSample {
            name: c.name.clone(),
            id: c.id.clone(),
            ..Default::default()
        };
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Ok(empty);
        }
        let measured = self.live_cgroup(&c).and_then(|cg| match cg {
            None => Ok(None),
            Some(cg) => measure(&c, &cg).map(Some),
        });
        match measured {
            Ok(Some(sample)) => Ok(sample),
            // The container ended while it was measured: it is not running any more.
            Ok(None) => Ok(empty),
            Err(_) if !self.is_alive(&c) => Ok(empty),
            Err(e) => Err(e),
        }
    }

    /// The cgroup of a started container, named by the runtime spec it was started with; `None` when the container
    /// has no spec or its cgroup is gone (it is not running).
    pub(crate) fn live_cgroup(&self, c: &Container) -> Result<Option<Cgroup>> {
        let path = self.opts.paths.runtime_dir(&c.id).join("config.json");
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("read {}", path.display()), e)),
        };
        let spec: SpecCgroup = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let Some(cgroup_path) = spec.linux.and_then(|l| l.cgroups_path) else {
            return Ok(None);
        };
        let h = Hierarchy::detect().map_err(runtime_err)?;
        match h.open(&cgroup_path) {
            Ok(cg) => Ok(Some(cg)),
            Err(cgroups::Error::NotFound(_)) => Ok(None),
            Err(e) => Err(runtime_err(e)),
        }
    }
}

fn runtime_err(e: cgroups::Error) -> Error {
    Error::Runtime(e.to_string())
}

/// Reads the counters of a running container's cgroup, then the host's, then its network namespace's.
fn measure(c: &Container, cg: &Cgroup) -> Result<StatsSample> {
    let read = timefmt::now();
    let stats = cg.stats().map_err(runtime_err)?;
    let host = HostFigures {
        system_cpu_ns: host::system_cpu_usage()?,
        online_cpus: host::online_cpus()?,
        machine_memory: host::machine_memory(),
    };
    // Host networking shares the host's interfaces, which Docker does not count as the container's.
    let networks = if c.host_config.network_mode == "host" {
        Default::default()
    } else {
        host::network_stats(c.state.pid)?
    };
    Ok(StatsSample {
        read,
        name: c.name.clone(),
        id: c.id.clone(),
        networks,
        ..shape(&stats, cg.is_v2(), &host)
    })
}

/// Docker's reading of a cgroup's counters (daemon `statsV1`/`statsV2` and its stats collector).
fn shape(s: &cgroups::Stats, v2: bool, host: &HostFigures) -> StatsSample {
    let keys: &[&str] = if v2 { &V2_MEMORY_KEYS } else { &V1_MEMORY_KEYS };
    let memory_stat = |key: &str| {
        s.memory_stat
            .iter()
            .find(|(k, _)| k == key)
            .map_or(0, |(_, v)| *v)
    };
    let mut limit = s.memory_limit.unwrap_or(u64::MAX);
    if host.machine_memory > 0 && limit > host.machine_memory {
        limit = host.machine_memory;
    }
    let entries = |list: &[IoEntry]| -> Vec<BlkioEntry> {
        list.iter()
            .map(|e| BlkioEntry {
                major: e.major,
                minor: e.minor,
                op: e.op.clone(),
                value: e.value,
            })
            .collect()
    };
    // v1 lists every counter (empty ones as []); v2 only bytes, and null when no device did I/O.
    let blkio_stats = if v2 {
        BlkioStats {
            io_service_bytes_recursive: Some(entries(&s.io_service_bytes)).filter(|l| !l.is_empty()),
            ..Default::default()
        }
    } else {
        BlkioStats {
            io_service_bytes_recursive: Some(entries(&s.io_service_bytes)),
            io_serviced_recursive: Some(entries(&s.io_serviced)),
            io_queue_recursive: Some(Vec::new()),
            io_service_time_recursive: Some(Vec::new()),
            io_wait_time_recursive: Some(Vec::new()),
            io_merged_recursive: Some(Vec::new()),
            io_time_recursive: Some(Vec::new()),
            sectors_recursive: Some(Vec::new()),
        }
    };
    StatsSample {
        pids_stats: PidsStats {
            current: s.pids_current,
            // containerd reads an unlimited pids.max as 0 on v1 and as the largest u64 on v2.
            limit: s.pids_limit.unwrap_or(if v2 { u64::MAX } else { 0 }),
        },
        blkio_stats,
        cpu_stats: CpuStats {
            cpu_usage: CpuUsage {
                total_usage: s.cpu_usage_ns,
                percpu_usage: s.cpu_percpu_ns.clone(),
                usage_in_kernelmode: s.cpu_system_ns,
                usage_in_usermode: s.cpu_user_ns,
            },
            system_cpu_usage: host.system_cpu_ns,
            online_cpus: host.online_cpus,
            throttling_data: ThrottlingData {
                periods: s.cpu_periods,
                throttled_periods: s.cpu_throttled_periods,
                throttled_time: s.cpu_throttled_ns,
            },
        },
        memory_stats: MemoryStats {
            usage: s.memory_usage,
            max_usage: s.memory_max_usage,
            stats: keys.iter().map(|k| (k.to_string(), memory_stat(k))).collect(),
            failcnt: s.memory_failcnt,
            limit,
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: HostFigures = HostFigures {
        system_cpu_ns: 9_000_000_000,
        online_cpus: 2,
        machine_memory: 1 << 30,
    };

    fn io(op: &str, value: u64) -> IoEntry {
        IoEntry {
            major: 8,
            minor: 0,
            op: op.into(),
            value,
        }
    }

    fn counters() -> cgroups::Stats {
        cgroups::Stats {
            memory_usage: 10 << 20,
            memory_max_usage: 12 << 20,
            memory_limit: None,
            memory_failcnt: 0,
            memory_stat: vec![
                ("cache".into(), 4 << 20),
                ("total_inactive_file".into(), 3 << 20),
                ("inactive_file".into(), 3 << 20),
                ("swap".into(), 0),
            ],
            cpu_usage_ns: 500,
            cpu_user_ns: 300,
            cpu_system_ns: 200,
            cpu_percpu_ns: vec![400, 100],
            cpu_periods: 4,
            cpu_throttled_periods: 1,
            cpu_throttled_ns: 77,
            pids_current: 2,
            pids_limit: None,
            io_service_bytes: vec![io("Read", 4096), io("Write", 0)],
            io_serviced: vec![io("Read", 1)],
        }
    }

    #[test]
    fn v1_counters_in_dockers_shape() {
        let sample = shape(&counters(), false, &HOST);
        let m = &sample.memory_stats;
        assert_eq!((m.usage, m.max_usage, m.limit), (10 << 20, 12 << 20, 1 << 30));
        assert_eq!(m.stats.len(), 32);
        assert_eq!(m.stats["total_inactive_file"], 3 << 20);
        assert_eq!(m.stats["rss"], 0);
        assert!(!m.stats.contains_key("swap"), "Docker's v1 key list has no swap");
        // docker stats shows usage minus total_inactive_file on v1.
        assert_eq!(m.usage - m.stats["total_inactive_file"], 7 << 20);
        let cpu = &sample.cpu_stats;
        assert_eq!(cpu.cpu_usage.total_usage, 500);
        assert_eq!(cpu.cpu_usage.percpu_usage, [400, 100]);
        assert_eq!(
            (cpu.cpu_usage.usage_in_kernelmode, cpu.cpu_usage.usage_in_usermode),
            (200, 300)
        );
        assert_eq!((cpu.system_cpu_usage, cpu.online_cpus), (9_000_000_000, 2));
        assert_eq!(
            cpu.throttling_data,
            ThrottlingData {
                periods: 4,
                throttled_periods: 1,
                throttled_time: 77
            }
        );
        assert_eq!(sample.pids_stats, PidsStats { current: 2, limit: 0 });
        let b = &sample.blkio_stats;
        assert_eq!(b.io_service_bytes_recursive.as_ref().unwrap().len(), 2);
        assert_eq!(b.io_serviced_recursive.as_ref().unwrap()[0].op, "Read");
        assert_eq!(b.sectors_recursive, Some(vec![]));
        let v = serde_json::to_value(&sample).unwrap();
        assert_eq!(v["blkio_stats"]["io_queue_recursive"], serde_json::json!([]));
        assert_eq!(sample.precpu_stats, CpuStats::default());
        assert_eq!(sample.preread, timefmt::ZERO_TIME);
    }

    #[test]
    fn v2_counters_in_dockers_shape() {
        let mut s = counters();
        s.memory_limit = Some(64 << 20);
        s.memory_max_usage = 0;
        s.cpu_percpu_ns.clear();
        s.memory_failcnt = 3;
        s.io_serviced.clear();
        let sample = shape(&s, true, &HOST);
        let m = &sample.memory_stats;
        assert_eq!((m.limit, m.failcnt, m.max_usage), (64 << 20, 3, 0));
        assert_eq!(m.stats.len(), 31);
        assert_eq!(m.stats["inactive_file"], 3 << 20);
        assert!(!m.stats.contains_key("cache"));
        assert!(sample.cpu_stats.cpu_usage.percpu_usage.is_empty());
        assert_eq!(sample.pids_stats.limit, u64::MAX);
        let b = &sample.blkio_stats;
        assert_eq!(b.io_service_bytes_recursive.as_ref().unwrap()[0].value, 4096);
        assert_eq!(b.io_serviced_recursive, None);
        s.io_service_bytes.clear();
        s.pids_limit = Some(100);
        let sample = shape(&s, true, &HOST);
        assert_eq!(sample.blkio_stats.io_service_bytes_recursive, None);
        assert_eq!(sample.pids_stats.limit, 100);
    }

    #[test]
    fn limits_above_the_hosts_memory_read_as_the_hosts_memory() {
        let mut s = counters();
        s.memory_limit = Some(4 << 30);
        assert_eq!(shape(&s, false, &HOST).memory_stats.limit, 1 << 30);
        let unknown_host = HostFigures {
            machine_memory: 0,
            ..HOST
        };
        assert_eq!(shape(&s, false, &unknown_host).memory_stats.limit, 4 << 30);
    }
}
