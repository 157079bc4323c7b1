//! Resource limits land in the container's cgroup and take effect: memory (with OOM kills reported), pids, cpu.

mod common;

use common::Env;

fn cgroup_file(env: &Env, controller: &str, id: &str, file: &str) -> String {
    let p = format!("/sys/fs/cgroup/{controller}{}/{id}/{file}", env.cgroup_parent);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn limits_are_written_to_the_cgroup() {
    let env = Env::new();
    let id = env
        .berth(&[
            "run",
            "-d",
            "-m",
            "64m",
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
            "--pids-limit",
            "50",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
    assert_eq!(
        cgroup_file(&env, "memory", &id, "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(cgroup_file(&env, "cpu", &id, "cpu.cfs_quota_us"), "50000");
    assert_eq!(cgroup_file(&env, "cpu", &id, "cpu.shares"), "512");
    assert_eq!(cgroup_file(&env, "cpuset", &id, "cpuset.cpus"), "0");
    assert_eq!(cgroup_file(&env, "pids", &id, "pids.max"), "50");
    env.berth(&["rm", "-f", &id]).ok();
    assert!(env.leftover_cgroups().is_empty());
}

#[test]
fn oom_kill_is_reported() {
    let env = Env::new();
    let r = env.berth(&[
        "run",
        "--name",
        "oom",
        "-m",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
    ]);
    // The shell holding the string is killed by the kernel's OOM killer (exit 137).
    assert_eq!(r.code, 137, "{} {}", r.stdout, r.stderr);
    assert_eq!(
        env.inspect("oom", "{{.State.OOMKilled}} {{.State.ExitCode}}"),
        "true 137"
    );
}

#[test]
fn pids_limit_stops_fork_bombs() {
    let env = Env::new();
    let out = env
        .berth(&[
            "run",
            "--rm",
            "--pids-limit",
            "10",
            "busybox",
            "sh",
            "-c",
            "for i in $(seq 1 30); do sleep 5 & done 2>/dev/null; jobs | wc -l",
        ])
        .stdout;
    let n: usize = out.trim().parse().unwrap_or(0);
    assert!(n < 10, "at most 10 processes may exist, got {n} jobs");
}
