//! cgroup v1 logic against directories laid out like v1 controller mounts (plain files standing in for
//! the kernel's): per-controller files, co-mounted controllers, the cpuset copy from parents.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory, LinuxPids, LinuxResources,
};

use super::{Error, Hierarchy};

const UNLIMITED: &str = "9223372036854771712\n";

/// Files the kernel would create in a new directory of each mount.
fn files(mount: &str) -> &'static [(&'static str, &'static str)] {
    match mount {
        "cpu,cpuacct" => &[
            ("cpu.shares", "1024\n"),
            ("cpu.cfs_period_us", "100000\n"),
            ("cpu.cfs_quota_us", "-1\n"),
            (
                "cpu.stat",
                "nr_periods 40\nnr_throttled 3\nthrottled_time 9000\nnr_bursts 0\n",
            ),
            ("cpuacct.usage", "123456\n"),
            ("cpuacct.usage_percpu", "100000 23456 \n"),
            ("cpuacct.stat", "user 7\nsystem 2\n"),
        ],
        "cpuset" => &[("cpuset.cpus", "\n"), ("cpuset.mems", "\n")],
        "memory" => &[
            ("memory.limit_in_bytes", UNLIMITED),
            ("memory.memsw.limit_in_bytes", UNLIMITED),
            ("memory.soft_limit_in_bytes", UNLIMITED),
            ("memory.usage_in_bytes", "8192\n"),
            ("memory.max_usage_in_bytes", "16384\n"),
            ("memory.failcnt", "1\n"),
            ("memory.stat", "cache 4096\nrss 4096\ntotal_inactive_file 1024\n"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
            ),
            ("memory.swappiness", "60\n"),
        ],
        "devices" => &[("devices.allow", ""), ("devices.deny", "")],
        "freezer" => &[("freezer.state", "THAWED\n")],
        "pids" => &[("pids.max", "max\n"), ("pids.current", "2\n")],
        "blkio" => &[
            (
                "blkio.throttle.io_service_bytes_recursive",
                "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
            ),
            (
                "blkio.throttle.io_serviced_recursive",
                "8:0 Read 1\n8:0 Write 0\nTotal 1\n",
            ),
        ],
        _ => &[],
    }
}

const MOUNTS: [&str; 7] = [
    "cpu,cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "pids",
    "blkio",
];

/// Fake v1 mounts with "berth/c1" laid out in each; the cpuset root offers CPUs 0-3 and node 0.
fn fake(mounts: &[&'static str]) -> (tempfile::TempDir, Hierarchy) {
    let tmp = tempfile::tempdir().unwrap();
    let mut list = Vec::new();
    for mount in mounts {
        let root = tmp.path().join(mount);
        for dir in [root.join("berth"), root.join("berth/c1")] {
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("cgroup.procs"), "").unwrap();
            for (file, content) in files(mount) {
                fs::write(dir.join(file), content).unwrap();
            }
        }
        list.push((*mount, root));
    }
    let cpuset = tmp.path().join("cpuset");
    fs::write(cpuset.join("cpuset.cpus"), "0-3\n").unwrap();
    fs::write(cpuset.join("cpuset.mems"), "0\n").unwrap();
    let h = Hierarchy::v1_at(list).unwrap();
    (tmp, h)
}

fn leaf(tmp: &Path, mount: &str) -> PathBuf {
    tmp.join(mount).join("berth/c1")
}

fn get(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap()
}

fn device(allow: bool, typ: LinuxDeviceType, major: i64, minor: Option<i64>) -> LinuxDeviceCgroup {
    let mut d = LinuxDeviceCgroup::default();
    d.set_allow(allow)
        .set_typ(Some(typ))
        .set_major(Some(major))
        .set_minor(minor)
        .set_access(Some("rwm".into()));
    d
}

fn memory(limit: i64, swap: Option<i64>) -> LinuxResources {
    let mut m = LinuxMemory::default();
    m.set_limit(Some(limit)).set_swap(swap);
    let mut r = LinuxResources::default();
    r.set_memory(Some(m));
    r
}

#[test]
fn create_writes_each_controllers_files() {
    let (tmp, h) = fake(&MOUNTS);
    let mut m = LinuxMemory::default();
    m.set_limit(Some(64 << 20))
        .set_swap(Some(128 << 20))
        .set_reservation(Some(32 << 20))
        .set_swappiness(Some(0));
    let mut cpu = LinuxCpu::default();
    cpu.set_shares(Some(512))
        .set_quota(Some(50_000))
        .set_period(Some(200_000))
        .set_mems(Some("0".into()));
    let mut pids = LinuxPids::default();
    pids.set_limit(64);
    let mut r = LinuxResources::default();
    r.set_memory(Some(m)).set_cpu(Some(cpu)).set_pids(Some(pids));
    r.set_devices(Some(vec![
        device(true, LinuxDeviceType::C, 1, Some(3)),
        device(true, LinuxDeviceType::C, 136, None),
    ]));
    let cg = h.create("/berth/c1", Some(&r)).unwrap();
    assert!(!cg.is_v2());

    let t = tmp.path();
    assert_eq!(
        get(&leaf(t, "memory"), "memory.limit_in_bytes"),
        (64 << 20).to_string()
    );
    assert_eq!(
        get(&leaf(t, "memory"), "memory.memsw.limit_in_bytes"),
        (128 << 20).to_string()
    );
    assert_eq!(
        get(&leaf(t, "memory"), "memory.soft_limit_in_bytes"),
        (32 << 20).to_string()
    );
    assert_eq!(get(&leaf(t, "memory"), "memory.swappiness"), "0");
    let cpu_dir = leaf(t, "cpu,cpuacct");
    assert_eq!(
        [
            get(&cpu_dir, "cpu.shares"),
            get(&cpu_dir, "cpu.cfs_quota_us"),
            get(&cpu_dir, "cpu.cfs_period_us")
        ],
        ["512", "50000", "200000"]
    );
    assert_eq!(get(&leaf(t, "pids"), "pids.max"), "64");
    // Each write replaces the fake file, so these hold the last rule of each kind.
    assert_eq!(get(&leaf(t, "devices"), "devices.deny"), "a");
    assert_eq!(get(&leaf(t, "devices"), "devices.allow"), "c 136:* rwm");
    // The cpuset chain got its parents' CPUs and nodes, then the requested nodes.
    assert_eq!(get(&t.join("cpuset/berth"), "cpuset.cpus"), "0-3");
    assert_eq!(get(&leaf(t, "cpuset"), "cpuset.cpus"), "0-3");
    assert_eq!(get(&leaf(t, "cpuset"), "cpuset.mems"), "0");
}

#[test]
fn swap_without_accounting() {
    let (tmp, h) = fake(&MOUNTS);
    let mem = leaf(tmp.path(), "memory");
    fs::remove_file(mem.join("memory.memsw.limit_in_bytes")).unwrap();
    let cg = h.open("/berth/c1").unwrap();
    let err = cg.update(&memory(64 << 20, Some(128 << 20))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cgroup: swap limit requested but swap accounting is disabled on this host"
    );
    assert_eq!(
        get(&mem, "memory.limit_in_bytes"),
        UNLIMITED,
        "nothing written on error"
    );
    cg.update(&memory(64 << 20, Some(64 << 20))).unwrap();
    cg.update(&memory(32 << 20, Some(-1))).unwrap();
    assert_eq!(get(&mem, "memory.limit_in_bytes"), (32 << 20).to_string());
}

#[test]
fn swap_below_memory_is_rejected() {
    let (_tmp, h) = fake(&MOUNTS);
    let cg = h.open("/berth/c1").unwrap();
    assert!(matches!(
        cg.update(&memory(64 << 20, Some(32 << 20))),
        Err(Error::InvalidSwap { .. })
    ));
}

#[test]
fn freeze_counters_and_missing_controllers() {
    let (tmp, h) = fake(&MOUNTS);
    let cg = h.open("berth/c1").unwrap();
    cg.freeze().unwrap();
    assert_eq!(get(&leaf(tmp.path(), "freezer"), "freezer.state"), "FROZEN");
    assert!(cg.is_frozen().unwrap());
    cg.thaw().unwrap();
    assert!(!cg.is_frozen().unwrap());
    assert_eq!(cg.oom_kill_count().unwrap(), 4);
    let stats = cg.stats().unwrap();
    assert_eq!(
        (
            stats.memory_usage,
            stats.memory_max_usage,
            stats.memory_limit,
            stats.memory_failcnt
        ),
        (8192, 16384, None, 1)
    );
    assert_eq!(stats.memory_stat[2], ("total_inactive_file".to_string(), 1024));
    assert_eq!(
        (
            stats.cpu_usage_ns,
            stats.cpu_user_ns,
            stats.cpu_system_ns,
            &stats.cpu_percpu_ns[..]
        ),
        (123_456, 70_000_000, 20_000_000, &[100_000, 23_456][..])
    );
    assert_eq!(
        (
            stats.cpu_periods,
            stats.cpu_throttled_periods,
            stats.cpu_throttled_ns
        ),
        (40, 3, 9000)
    );
    assert_eq!((stats.pids_current, stats.pids_limit), (2, None));
    assert_eq!(stats.io_service_bytes.len(), 2);
    assert_eq!(
        (
            stats.io_service_bytes[0].op.as_str(),
            stats.io_service_bytes[0].value
        ),
        ("Read", 4096)
    );
    assert_eq!(stats.io_serviced[0].value, 1);

    let mut r = LinuxResources::default();
    r.set_unified(Some([("memory.high".to_string(), "1".to_string())].into()));
    assert!(matches!(cg.update(&r), Err(Error::UnifiedOnV1)));

    let (_tmp, h) = fake(&["memory", "cpuset"]);
    let cg = h.open("/berth/c1").unwrap();
    let mut pids = LinuxPids::default();
    pids.set_limit(5);
    let mut r = LinuxResources::default();
    r.set_pids(Some(pids));
    assert_eq!(
        cg.update(&r).unwrap_err().to_string(),
        "cgroup: the pids controller is not mounted"
    );
}

#[test]
fn stats_prefer_cfq_counters_and_skip_missing_controllers() {
    let (tmp, h) = fake(&["cpu,cpuacct", "cpuset", "memory", "blkio"]);
    let blkio = leaf(tmp.path(), "blkio");
    fs::write(
        blkio.join("blkio.io_service_bytes_recursive"),
        "8:16 Read 100\n8:16 Write 200\nTotal 300\n",
    )
    .unwrap();
    fs::write(blkio.join("blkio.io_serviced_recursive"), "Total 0\n").unwrap();
    fs::write(
        leaf(tmp.path(), "memory").join("memory.limit_in_bytes"),
        "67108864\n",
    )
    .unwrap();
    let stats = h.open("/berth/c1").unwrap().stats().unwrap();
    assert_eq!(stats.memory_limit, Some(64 << 20));
    assert_eq!(
        stats
            .io_service_bytes
            .iter()
            .map(|e| (e.major, e.minor, e.op.as_str(), e.value))
            .collect::<Vec<_>>(),
        [(8, 16, "Read", 100), (8, 16, "Write", 200)]
    );
    assert!(stats.io_serviced.is_empty());
    assert_eq!((stats.pids_current, stats.pids_limit), (0, None));

    // Empty CFQ counters fall back to the throttling layer's.
    fs::write(blkio.join("blkio.io_service_bytes_recursive"), "Total 0\n").unwrap();
    let stats = h.open("/berth/c1").unwrap().stats().unwrap();
    assert_eq!(stats.io_serviced.len(), 2);
    assert_eq!(stats.io_service_bytes[0].value, 4096);

    fs::write(
        leaf(tmp.path(), "cpu,cpuacct").join("cpuacct.usage_percpu"),
        "12 x\n",
    )
    .unwrap();
    let err = h.open("/berth/c1").unwrap().stats().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cgroup: unexpected content in cpuacct.usage_percpu: \"12 x\\n\""
    );
}

#[test]
fn cgroup_procs_of_every_hierarchy() {
    let (tmp, h) = fake(&MOUNTS);
    let cg = h.open("/berth/c1").unwrap();
    cg.add_pid(4242).unwrap();
    for mount in MOUNTS {
        assert_eq!(get(&leaf(tmp.path(), mount), "cgroup.procs"), "4242");
    }
    assert_eq!(cg.pids().unwrap(), [4242]);
    assert!(cg.v2_dir_fd().unwrap().is_none());
}
