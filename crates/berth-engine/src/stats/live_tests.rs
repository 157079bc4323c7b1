//! Root tests of `stats`, `update` and `container prune` against real busybox containers started by the engine, each
//! in its own data root, exec root and cgroup parent, all removed afterwards (containers, cgroups, directories).
//!
//! The engine starts a container's shim by re-executing its own binary (`/proc/self/exe __shim …`); in a test
//! process that binary is this test harness, which takes `__shim` and the shim's arguments as test name filters and
//! so runs [`__shim`] alone: that function becomes the shim.

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_image::config::ContainerConfig;
use berth_image::{DriverChoice, ImportOptions};

use crate::engine::{Engine, EngineOptions};
use crate::model::HostConfig;
use crate::ops::create::CreateRequest;
use crate::ops::start::StartOptions;
use crate::ops::update::UpdateRequest;
use crate::paths::Paths;
use crate::stats::StatsSample;
use crate::timefmt::ZERO_TIME;

/// The shim entry when this binary is re-executed as `__shim …`; an ordinary run passes through.
#[test]
fn __shim() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(crate::shim::COMMAND) {
        std::process::exit(crate::shim::main(&args[2..]));
    }
}

const HIERARCHIES: [&str; 10] = [
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified",
];

/// A private engine with busybox:latest imported.
struct Env {
    dir: tempfile::TempDir,
    engine: Engine,
    cgroup_parent: String,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new().prefix("berth-stats-").tempdir().unwrap();
        let name = dir.path().file_name().unwrap().to_string_lossy().into_owned();
        let cgroup_parent = format!("/{name}");
        let engine = Engine::open(EngineOptions {
            paths: Paths::new(dir.path().join("data"), dir.path().join("exec")),
            storage_driver: DriverChoice::Auto,
            cgroup_parent: cgroup_parent.clone(),
        })
        .unwrap();
        let tarball = dir.path().join("busybox.tar.gz");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-busybox-rootfs.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .arg(&tarball)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "make-busybox-rootfs.sh failed");
        let reader = std::io::BufReader::new(std::fs::File::open(&tarball).unwrap());
        let opts = ImportOptions {
            reference: Some("busybox:latest".into()),
            ..Default::default()
        };
        engine.images().import(reader, opts).unwrap();
        Env {
            dir,
            engine,
            cgroup_parent,
        }
    }

    fn create(&self, name: &str, cmd: &[&str], host_config: HostConfig, labels: &[(&str, &str)]) -> String {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let req = CreateRequest {
            name: Some(name.into()),
            config: ContainerConfig {
                image: "busybox".into(),
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                labels: Some(labels),
                ..Default::default()
            },
            host_config,
        };
        self.engine.create(req).unwrap().id
    }

    fn run(&self, name: &str, cmd: &[&str], host_config: HostConfig) -> String {
        let id = self.create(name, cmd, host_config, &[]);
        self.engine.start(&id, StartOptions::default()).unwrap();
        id
    }

    /// A file of the container's cgroup in v1 hierarchy `controller`.
    fn cgroup_file(&self, controller: &str, id: &str, file: &str) -> String {
        let p = format!("/sys/fs/cgroup/{controller}{}/{id}/{file}", self.cgroup_parent);
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .trim()
            .to_string()
    }

    fn leftover_cgroups(&self) -> Vec<PathBuf> {
        HIERARCHIES
            .iter()
            .map(|h| Path::new("/sys/fs/cgroup").join(h).join(&self.cgroup_parent[1..]))
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flat_map(|entries| entries.flatten().filter(|e| e.path().is_dir()).map(|e| e.path()))
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for c in self.engine.list(true).unwrap_or_default() {
            let _ = self.engine.remove(&c.id, true);
        }
        let cgroups = self.leftover_cgroups();
        for h in HIERARCHIES {
            let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(h).join(&self.cgroup_parent[1..]));
        }
        let dir = self.dir.path().to_string_lossy().into_owned();
        let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&dir))
            .map(String::from)
            .collect();
        if !std::thread::panicking() {
            assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:?}");
            assert!(mounts.is_empty(), "mounts left behind: {mounts:?}");
        }
    }
}

/// docker stats' CPU %: the container's share of the host's CPU time between two samples, times the CPUs.
fn cpu_percent(previous: &StatsSample, now: &StatsSample) -> f64 {
    let cpu = now.cpu_stats.cpu_usage.total_usage as f64 - previous.cpu_stats.cpu_usage.total_usage as f64;
    let system = now.cpu_stats.system_cpu_usage as f64 - previous.cpu_stats.system_cpu_usage as f64;
    if cpu > 0.0 && system > 0.0 {
        cpu / system * f64::from(now.cpu_stats.online_cpus) * 100.0
    } else {
        0.0
    }
}

#[test]
fn stats_of_a_busy_container_and_of_a_stopped_one() {
    let env = Env::new();
    let hc = HostConfig {
        memory: 64 << 20,
        ..Default::default()
    };
    let id = env.run("spin", &["sh", "-c", "while :; do :; done"], hc);
    let first = env.engine.stats_sample("spin").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let second = env.engine.stats_sample(&id[..12]).unwrap();

    assert_eq!((second.name.as_str(), second.id.as_str()), ("/spin", id.as_str()));
    assert_ne!(second.read, ZERO_TIME);
    assert!(second.read > first.read, "{} then {}", first.read, second.read);
    let (c1, c2) = (&first.cpu_stats, &second.cpu_stats);
    assert!(c2.cpu_usage.total_usage > c1.cpu_usage.total_usage && c1.cpu_usage.total_usage > 0);
    assert!(c2.system_cpu_usage > c1.system_cpu_usage);
    assert!(c2.online_cpus >= 1);
    assert!(
        !c2.cpu_usage.percpu_usage.is_empty(),
        "cgroup v1 reports per-CPU usage"
    );
    // cpuacct.usage is the sum of cpuacct.usage_percpu, read a moment after it.
    let per_cpu: u64 = c2.cpu_usage.percpu_usage.iter().sum();
    assert!(per_cpu > 0 && per_cpu <= c2.cpu_usage.total_usage);
    assert!(
        c2.cpu_usage.usage_in_usermode > 0,
        "a shell loop spends its time in user mode"
    );
    let percent = cpu_percent(&first, &second);
    assert!(
        (2.0..=110.0).contains(&percent),
        "one busy thread uses at most one CPU, whatever else runs: {percent}%"
    );

    let m = &second.memory_stats;
    assert!(m.usage > 0 && m.max_usage >= m.usage, "{m:?}");
    assert_eq!(m.limit, 64 << 20);
    assert!(m.stats.contains_key("total_inactive_file") && m.stats.contains_key("cache"));
    assert!(
        m.stats["rss"] > 0,
        "the shell's heap and stack are anonymous memory"
    );
    assert_eq!(second.pids_stats.current, 1);
    assert!(second.blkio_stats.io_service_bytes_recursive.is_some());
    assert!(second.networks.is_empty(), "--network none has loopback only");
    let json = serde_json::to_value(&second).unwrap();
    assert!(json.get("networks").is_none());
    assert_eq!(json["memory_stats"]["limit"], 64 << 20);

    env.engine.kill(&id, Some("KILL")).unwrap();
    env.engine.wait(&id).unwrap();
    let stopped = env.engine.stats_sample(&id).unwrap();
    assert_eq!(
        stopped,
        StatsSample {
            name: "/spin".into(),
            id: id.clone(),
            ..Default::default()
        }
    );
    assert!(matches!(
        env.engine.stats_sample("nope"),
        Err(crate::Error::NotFound(_))
    ));
}

#[test]
fn update_reaches_the_running_containers_cgroup_and_record() {
    let env = Env::new();
    let hc = HostConfig {
        memory: 64 << 20,
        cpu_shares: 512,
        ..Default::default()
    };
    let id = env.run("limited", &["sleep", "1000"], hc);
    assert_eq!(
        env.cgroup_file("memory", &id, "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    let warnings = env
        .engine
        .update(
            "limited",
            &UpdateRequest {
                memory: 128 << 20,
                pids_limit: Some(40),
                cpu_quota: 50_000,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        env.cgroup_file("memory", &id, "memory.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    assert_eq!(env.cgroup_file("pids", &id, "pids.max"), "40");
    assert_eq!(env.cgroup_file("cpu", &id, "cpu.cfs_quota_us"), "50000");
    assert_eq!(env.cgroup_file("cpu", &id, "cpu.shares"), "512", "untouched");
    let hc = env.engine.inspect(&id).unwrap().host_config;
    assert_eq!(
        (hc.memory, hc.pids_limit, hc.cpu_quota, hc.cpu_shares),
        (128 << 20, Some(40), 50_000, 512)
    );
    assert_eq!(
        env.engine.stats_sample(&id).unwrap().memory_stats.limit,
        128 << 20
    );

    // Unlimited again, and a bad value changes nothing.
    env.engine
        .update(
            &id,
            &UpdateRequest {
                pids_limit: Some(-1),
                cpu_quota: -1,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(env.cgroup_file("pids", &id, "pids.max"), "max");
    assert_eq!(env.cgroup_file("cpu", &id, "cpu.cfs_quota_us"), "-1");
    let err = env
        .engine
        .update(
            &id,
            &UpdateRequest {
                memory: 1 << 20,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        (err.http_status(), err.to_string().as_str()),
        (400, "Minimum memory limit allowed is 6MB")
    );
    assert_eq!(
        env.cgroup_file("memory", &id, "memory.limit_in_bytes"),
        (128u64 << 20).to_string()
    );

    // A stopped container's record changes, and its next start uses it.
    env.engine.kill(&id, Some("KILL")).unwrap();
    env.engine.wait(&id).unwrap();
    env.engine
        .update(
            &id,
            &UpdateRequest {
                memory: 96 << 20,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(env.engine.inspect(&id).unwrap().host_config.memory, 96 << 20);
    env.engine.start(&id, StartOptions::default()).unwrap();
    assert_eq!(
        env.cgroup_file("memory", &id, "memory.limit_in_bytes"),
        (96u64 << 20).to_string()
    );
}

#[test]
fn prune_removes_only_containers_that_do_not_run() {
    let env = Env::new();
    let created = env.create("fresh", &["true"], HostConfig::default(), &[("keep", "yes")]);
    let exited = env.run(
        "writer",
        &["sh", "-c", "echo hello > /greeting"],
        HostConfig::default(),
    );
    env.engine.wait(&exited).unwrap();
    let running = env.run("server", &["sleep", "1000"], HostConfig::default());

    let label = |key: &str, value: Option<&str>, negated| (key.to_string(), value.map(String::from), negated);
    let none = env
        .engine
        .prune_containers(None, &[label("keep", Some("no"), false)])
        .unwrap();
    assert!(none.containers_deleted.is_empty() && none.space_reclaimed == 0);
    let none = env.engine.prune_containers(Some(0), &[]).unwrap();
    assert!(none.containers_deleted.is_empty(), "all were created after 1970");

    let report = env
        .engine
        .prune_containers(None, &[label("keep", None, true)])
        .unwrap();
    assert_eq!(report.containers_deleted, [exited]);
    assert!(report.space_reclaimed >= "hello\n".len() as u64, "{report:?}");

    let now = time::OffsetDateTime::now_utc().unix_timestamp() + 1;
    let report = env.engine.prune_containers(Some(now), &[]).unwrap();
    assert_eq!(report.containers_deleted, [created]);
    let left: Vec<String> = env.engine.list(true).unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(left, [running]);
}
