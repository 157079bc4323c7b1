//! Root tests of `stats`, `update` and `container prune` against real busybox containers started by the engine, each
//! in its own data root, exec root and cgroup parent, all removed afterwards (containers, cgroups, directories).
//!
//! The containers' shims are this test binary itself (see [`crate::testkit::__shim`]).

use std::time::Duration;

use berth_image::DriverChoice;

use crate::model::HostConfig;
use crate::ops::start::StartOptions;
use crate::ops::update::UpdateRequest;
use crate::stats::StatsSample;
use crate::testkit::Env;
use crate::timefmt::ZERO_TIME;

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
    let env = Env::new(DriverChoice::Auto);
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
    let env = Env::new(DriverChoice::Auto);
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
    let env = Env::new(DriverChoice::Auto);
    let created = env.create_labelled("fresh", &["true"], HostConfig::default(), &[("keep", "yes")]);
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
