//! Starting cgroup v1's attach wait early. Moving a process between v1 cgroups takes a global rwsem whose first
//! writer after a quiet spell waits for an RCU grace period (5–20 ms on this kind of machine, more than the rest of a
//! container start); writers that follow within the same window pass at once. Re-attaching the caller to the cgroup
//! it is already in (no change of membership) starts that wait; done on a background thread while the engine
//! prepares a container, the container's own attach moments later no longer pays it. cgroup v2 starts containers with
//! `CLONE_INTO_CGROUP`, which needs no attach.

use std::fs::OpenOptions;
use std::io::Write;

/// Re-attaches the calling process to its current v1 `pids` cgroup (blocking for the grace period). Does nothing where
/// there is no v1 hierarchy to use; failures are ignored, the start just pays the wait itself.
pub fn prime_attach() {
    let Ok(own) = std::fs::read_to_string("/proc/self/cgroup") else {
        return;
    };
    let path = own.lines().find_map(|l| {
        let mut fields = l.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        (controllers == "pids").then_some(path)
    });
    let Some(path) = path else { return };
    let procs = format!("/sys/fs/cgroup/pids{path}/cgroup.procs");
    if let Ok(mut f) = OpenOptions::new().write(true).open(procs) {
        let _ = f.write_all(b"0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priming_keeps_membership_and_speeds_the_next_attach() {
        let before = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        prime_attach();
        assert_eq!(std::fs::read_to_string("/proc/self/cgroup").unwrap(), before);
        if !before.contains(":pids:") {
            return; // not a v1 host
        }
        let t = std::time::Instant::now();
        prime_attach();
        // Within the window a second attach does not wait for a grace period.
        assert!(
            t.elapsed() < std::time::Duration::from_millis(4),
            "{:?}",
            t.elapsed()
        );
    }
}
