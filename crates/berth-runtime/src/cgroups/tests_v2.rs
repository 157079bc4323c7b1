//! cgroup v2 logic against a directory laid out like a cgroup2 mount (plain files standing in for the
//! kernel's): which files get which values after create and update.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use super::v2::shares_to_weight;
use super::{Error, Hierarchy};

const LEAF_FILES: &[(&str, &str)] = &[
    ("cgroup.procs", ""),
    ("cgroup.freeze", "0\n"),
    ("cgroup.events", "populated 1\nfrozen 0\n"),
    ("memory.max", "max\n"),
    ("memory.swap.max", "max\n"),
    ("memory.low", "0\n"),
    ("memory.current", "4096\n"),
    ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
    ("cpu.weight", "100\n"),
    ("cpu.max", "max 100000\n"),
    (
        "cpu.stat",
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 8\nnr_throttled 2\nthrottled_usec 70\n",
    ),
    (
        "memory.stat",
        "anon 2048\nfile 2048\nkernel_stack 16384\ninactive_file 1024\nactive_file 1024\n",
    ),
    (
        "io.stat",
        "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
    ),
    ("cpuset.cpus", "\n"),
    ("cpuset.mems", "\n"),
    ("pids.max", "max\n"),
    ("pids.current", "3\n"),
];

/// A fake cgroup2 root offering `controllers`, with "berth/c1" laid out as the kernel would make it.
fn fake(controllers: &str) -> (tempfile::TempDir, Hierarchy, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    fs::write(root.join("cgroup.controllers"), format!("{controllers}\n")).unwrap();
    fs::write(root.join("cgroup.subtree_control"), "").unwrap();
    let berth = root.join("berth");
    fs::create_dir(&berth).unwrap();
    fs::write(berth.join("cgroup.subtree_control"), "").unwrap();
    let leaf = berth.join("c1");
    fs::create_dir(&leaf).unwrap();
    for (file, content) in LEAF_FILES {
        fs::write(leaf.join(file), content).unwrap();
    }
    (tmp, Hierarchy::v2_at(&root), leaf)
}

fn get(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap()
}

fn resources(limit: i64, swap: Option<i64>) -> LinuxResources {
    let mut memory = LinuxMemory::default();
    memory
        .set_limit(Some(limit))
        .set_swap(swap)
        .set_reservation(Some(limit / 2));
    let mut cpu = LinuxCpu::default();
    cpu.set_shares(Some(1024))
        .set_quota(Some(50_000))
        .set_period(Some(100_000))
        .set_cpus(Some("0-1".into()));
    let mut pids = LinuxPids::default();
    pids.set_limit(100);
    let mut r = LinuxResources::default();
    r.set_memory(Some(memory)).set_cpu(Some(cpu)).set_pids(Some(pids));
    r
}

#[test]
fn create_enables_controllers_and_writes_limits() {
    let (tmp, h, leaf) = fake("cpuset cpu io memory hugetlb pids rdma misc");
    let cg = h
        .create("/berth/c1", Some(&resources(1 << 30, Some(3 << 29))))
        .unwrap();
    assert!(cg.is_v2());
    for dir in [tmp.path(), &tmp.path().join("berth")] {
        assert_eq!(
            get(dir, "cgroup.subtree_control"),
            "+cpu +memory +pids +cpuset +io"
        );
    }
    assert_eq!(get(&leaf, "memory.max"), "1073741824");
    assert_eq!(get(&leaf, "memory.swap.max"), (1u64 << 29).to_string());
    assert_eq!(get(&leaf, "memory.low"), (1u64 << 29).to_string());
    assert_eq!(get(&leaf, "cpu.weight"), "39");
    assert_eq!(get(&leaf, "cpu.max"), "50000 100000");
    assert_eq!(get(&leaf, "cpuset.cpus"), "0-1");
    assert_eq!(get(&leaf, "pids.max"), "100");
    assert!(cg.v2_dir_fd().unwrap().is_some());
}

#[test]
fn only_offered_controllers_are_enabled() {
    let (tmp, h, _) = fake("memory pids");
    h.create("berth/c1", None).unwrap();
    assert_eq!(get(tmp.path(), "cgroup.subtree_control"), "+memory +pids");
}

#[test]
fn update_changes_only_what_is_given() {
    let (_tmp, h, leaf) = fake("cpu memory pids");
    let cg = h.create("/berth/c1", Some(&resources(1 << 30, None))).unwrap();
    let mut cpu = LinuxCpu::default();
    cpu.set_quota(Some(-1));
    let mut pids = LinuxPids::default();
    pids.set_limit(0);
    let mut r = LinuxResources::default();
    r.set_cpu(Some(cpu)).set_pids(Some(pids));
    cg.update(&r).unwrap();
    assert_eq!(get(&leaf, "cpu.max"), "max 100000");
    assert_eq!(get(&leaf, "pids.max"), "max");
    assert_eq!(get(&leaf, "memory.max"), "1073741824");
    assert_eq!(get(&leaf, "cpu.weight"), "39");
    assert_eq!(
        get(&leaf, "memory.swap.max"),
        "max\n",
        "swap untouched when not given"
    );
}

#[test]
fn swap_limits_are_checked() {
    let (_tmp, h, leaf) = fake("memory");
    let cg = h.open("/berth/c1").unwrap();
    let err = cg.update(&resources(1 << 30, Some(1 << 20))).unwrap_err();
    assert!(matches!(err, Error::InvalidSwap { .. }), "{err}");
    cg.update(&resources(1 << 30, Some(-1))).unwrap();
    assert_eq!(get(&leaf, "memory.swap.max"), "max");

    fs::remove_file(leaf.join("memory.swap.max")).unwrap();
    let err = cg.update(&resources(1 << 30, Some(2 << 30))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cgroup: swap limit requested but swap accounting is disabled on this host"
    );
    cg.update(&resources(1 << 30, Some(1 << 30))).unwrap();
    cg.update(&resources(1 << 30, Some(-1))).unwrap();
}

#[test]
fn unsupported_and_unified_resources() {
    let (_tmp, h, leaf) = fake("cpu memory");
    let cg = h.open("/berth/c1").unwrap();
    let mut cpu = LinuxCpu::default();
    cpu.set_realtime_runtime(Some(1000));
    let mut r = LinuxResources::default();
    r.set_cpu(Some(cpu));
    assert_eq!(
        cg.update(&r).unwrap_err().to_string(),
        "cgroup: realtime cpu scheduling is not supported on cgroup v2"
    );

    let mut r = LinuxResources::default();
    r.set_unified(Some([("memory.high".to_string(), "500000".to_string())].into()));
    fs::write(leaf.join("memory.high"), "max\n").unwrap();
    cg.update(&r).unwrap();
    assert_eq!(get(&leaf, "memory.high"), "500000");
    r.set_unified(Some([("../escape.x".to_string(), "1".to_string())].into()));
    assert!(cg.update(&r).is_err());
}

#[test]
fn reads_counters_and_state() {
    let (_tmp, h, leaf) = fake("cpu memory pids");
    let cg = h.open("/berth/c1").unwrap();
    fs::write(leaf.join("cgroup.procs"), "12\n345\n").unwrap();
    fs::write(leaf.join("memory.max"), "max\n").unwrap();
    fs::write(
        leaf.join("memory.events"),
        "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n",
    )
    .unwrap();
    assert_eq!(cg.pids().unwrap(), [12, 345]);
    assert_eq!(cg.oom_kill_count().unwrap(), 2);
    let stats = cg.stats().unwrap();
    assert_eq!(
        (
            stats.memory_usage,
            stats.memory_max_usage,
            stats.memory_limit,
            stats.memory_failcnt
        ),
        (4096, 0, None, 2)
    );
    assert_eq!(stats.memory_stat.len(), 5);
    assert_eq!(stats.memory_stat[3], ("inactive_file".to_string(), 1024));
    assert_eq!(
        (
            stats.cpu_usage_ns,
            stats.cpu_user_ns,
            stats.cpu_system_ns,
            stats.cpu_percpu_ns.len()
        ),
        (1_500_000, 1_000_000, 500_000, 0)
    );
    assert_eq!(
        (
            stats.cpu_periods,
            stats.cpu_throttled_periods,
            stats.cpu_throttled_ns
        ),
        (8, 2, 70_000)
    );
    assert_eq!((stats.pids_current, stats.pids_limit), (3, None));
    assert_eq!(
        stats
            .io_service_bytes
            .iter()
            .map(|e| (e.op.as_str(), e.value))
            .collect::<Vec<_>>(),
        [("read", 4096), ("write", 8192)]
    );
    assert!(stats.io_serviced.is_empty());
    assert!(!cg.is_frozen().unwrap());
    fs::write(leaf.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    assert!(cg.is_frozen().unwrap());
    cg.add_pid(77).unwrap();
    assert_eq!(get(&leaf, "cgroup.procs"), "77");
    assert!(matches!(h.open("/berth/nope"), Err(Error::NotFound(_))));
}

#[test]
fn stats_of_a_cgroup_without_memory_pids_or_io() {
    let (_tmp, h, leaf) = fake("cpu");
    for file in [
        "memory.max",
        "memory.current",
        "memory.events",
        "memory.stat",
        "pids.max",
        "pids.current",
        "io.stat",
    ] {
        fs::remove_file(leaf.join(file)).unwrap();
    }
    fs::write(
        leaf.join("cpu.stat"),
        "usage_usec 9\nuser_usec 5\nsystem_usec 4\n",
    )
    .unwrap();
    let stats = h.open("/berth/c1").unwrap().stats().unwrap();
    assert_eq!(
        stats,
        super::Stats {
            cpu_usage_ns: 9000,
            cpu_user_ns: 5000,
            cpu_system_ns: 4000,
            ..Default::default()
        }
    );
    fs::write(leaf.join("pids.max"), "64\n").unwrap();
    fs::write(leaf.join("pids.current"), "1\n").unwrap();
    fs::write(leaf.join("memory.max"), "lots\n").unwrap();
    let cg = h.open("/berth/c1").unwrap();
    assert!(matches!(cg.stats(), Err(Error::Parse { .. })));
    fs::write(leaf.join("memory.max"), "1048576\n").unwrap();
    let stats = cg.stats().unwrap();
    assert_eq!(
        (stats.memory_limit, stats.pids_current, stats.pids_limit),
        (Some(1 << 20), 1, Some(64))
    );
    fs::remove_file(leaf.join("cpu.stat")).unwrap();
    assert!(
        cg.stats().is_err(),
        "cpu.stat is always there: its absence is an error"
    );
}

#[test]
fn weight_conversion_matches_the_standard_formula() {
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 39);
    assert_eq!(shares_to_weight(262_144), 10_000);
    assert_eq!(shares_to_weight(1), 1);
    assert_eq!(shares_to_weight(1 << 30), 10_000);
}
