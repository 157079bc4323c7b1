//! Resource usage of a cgroup (the figures `docker stats` reports), and parsers for the kernel's counter files
//! shared by the v1 and v2 readers.

/// Resource usage of a cgroup. Figures a hierarchy does not offer are zero or empty (noted per field).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Memory in use, bytes (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub memory_usage: u64,
    /// Highest memory use recorded, bytes (v1 `memory.max_usage_in_bytes`; 0 on v2).
    pub memory_max_usage: u64,
    /// Memory limit in bytes; `None` when unlimited.
    pub memory_limit: Option<u64>,
    /// How often the limit was hit (v1 `memory.failcnt`, v2 `oom` of `memory.events`).
    pub memory_failcnt: u64,
    /// `memory.stat`, key by key in the kernel's order.
    pub memory_stat: Vec<(String, u64)>,
    /// CPU time used, nanoseconds.
    pub cpu_usage_ns: u64,
    /// CPU time in user mode, nanoseconds (v1: tick-grained, from `cpuacct.stat`).
    pub cpu_user_ns: u64,
    /// CPU time in kernel mode, nanoseconds (v1: tick-grained, from `cpuacct.stat`).
    pub cpu_system_ns: u64,
    /// CPU time per CPU, nanoseconds (v1 `cpuacct.usage_percpu`; empty on v2).
    pub cpu_percpu_ns: Vec<u64>,
    /// CFS enforcement periods that have elapsed.
    pub cpu_periods: u64,
    /// Periods in which the cgroup was throttled.
    pub cpu_throttled_periods: u64,
    /// Total time throttled, nanoseconds.
    pub cpu_throttled_ns: u64,
    /// Number of tasks.
    pub pids_current: u64,
    /// Task limit; `None` when unlimited.
    pub pids_limit: Option<u64>,
    /// Bytes transferred per device and operation (v1 ops `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total`;
    /// v2 ops `read` and `write`).
    pub io_service_bytes: Vec<IoEntry>,
    /// I/O operations per device and operation (v1 only).
    pub io_serviced: Vec<IoEntry>,
}

/// One block I/O counter of one device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// USER_HZ: the unit of `cpuacct.stat`, fixed at 100 by the kernel's ABI whatever the configured HZ.
const USER_HZ: u64 = 100;

/// Ticks of USER_HZ to nanoseconds.
pub(super) fn ticks_to_ns(ticks: u64) -> u64 {
    ticks.saturating_mul(1_000_000_000 / USER_HZ)
}

/// The `key value` lines of a flat keyed file (`memory.stat`, `cpu.stat`, `cpuacct.stat`); lines that do not hold
/// a number are skipped.
pub(super) fn parse_keyed(content: &str) -> Vec<(String, u64)> {
    content
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(' ')?;
            Some((key.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// The value of `key` among parsed keyed lines, 0 when absent.
pub(super) fn keyed(pairs: &[(String, u64)], key: &str) -> u64 {
    pairs.iter().find(|(k, _)| k == key).map_or(0, |(_, v)| *v)
}

/// A whitespace-separated list of numbers (`cpuacct.usage_percpu`).
pub(super) fn parse_list(content: &str) -> Option<Vec<u64>> {
    content.split_whitespace().map(|v| v.parse().ok()).collect()
}

/// v1 blkio counters: `MAJ:MIN Op value` lines and a final `Total value` line, which is skipped.
pub(super) fn parse_blkio(content: &str) -> Option<Vec<IoEntry>> {
    let mut out = Vec::new();
    for line in content.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            [] | ["Total", _] => {}
            [dev, op, value] => {
                let (major, minor) = parse_dev(dev)?;
                out.push(IoEntry {
                    major,
                    minor,
                    op: op.to_string(),
                    value: value.parse().ok()?,
                });
            }
            _ => return None,
        }
    }
    Some(out)
}

/// v2 `io.stat`: `MAJ:MIN rbytes=N wbytes=N rios=N ...` lines, as bytes read and written per device.
pub(super) fn parse_io_stat(content: &str) -> Option<Vec<IoEntry>> {
    let mut out = Vec::new();
    for line in content.lines() {
        let mut fields = line.split_whitespace();
        let Some(dev) = fields.next() else { continue };
        let (major, minor) = parse_dev(dev)?;
        let (mut read, mut write) = (0, 0);
        for field in fields {
            match field.split_once('=') {
                Some(("rbytes", v)) => read = v.parse().ok()?,
                Some(("wbytes", v)) => write = v.parse().ok()?,
                _ => {}
            }
        }
        for (op, value) in [("read", read), ("write", write)] {
            out.push(IoEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    Some(out)
}

fn parse_dev(dev: &str) -> Option<(u64, u64)> {
    let (major, minor) = dev.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(major: u64, minor: u64, op: &str, value: u64) -> IoEntry {
        IoEntry {
            major,
            minor,
            op: op.into(),
            value,
        }
    }

    #[test]
    fn keyed_lines_and_lists() {
        let pairs = parse_keyed("cache 4096\nrss 8192\nbogus line here\n\ntotal_inactive_file 12\n");
        assert_eq!(
            pairs,
            [
                ("cache".to_string(), 4096),
                ("rss".to_string(), 8192),
                ("total_inactive_file".to_string(), 12)
            ]
        );
        assert_eq!(keyed(&pairs, "rss"), 8192);
        assert_eq!(keyed(&pairs, "swap"), 0);
        assert_eq!(parse_list("10 0 25 \n"), Some(vec![10, 0, 25]));
        assert_eq!(parse_list("10 x"), None);
        assert_eq!(ticks_to_ns(250), 2_500_000_000);
    }

    #[test]
    fn blkio_v1_lines() {
        let content = "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 4608\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 4608\n\
                       253:1 Read 7\nTotal 4615\n";
        let entries = parse_blkio(content).unwrap();
        assert_eq!(entries.len(), 7);
        assert_eq!(entries[0], entry(8, 0, "Read", 4096));
        assert_eq!(entries[6], entry(253, 1, "Read", 7));
        assert_eq!(parse_blkio("Total 0\n"), Some(vec![]));
        assert_eq!(parse_blkio("8:0 Read\n"), None);
        assert_eq!(parse_blkio("8-0 Read 1\n"), None);
    }

    #[test]
    fn io_stat_v2_lines() {
        let content = "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n\
                       254:0 rbytes=3 wbytes=0 rios=1 wios=0\n";
        assert_eq!(
            parse_io_stat(content).unwrap(),
            [
                entry(8, 16, "read", 1_459_200),
                entry(8, 16, "write", 314_773_504),
                entry(254, 0, "read", 3),
                entry(254, 0, "write", 0)
            ]
        );
        assert_eq!(parse_io_stat(""), Some(vec![]));
        assert_eq!(parse_io_stat("8:16 rbytes=x\n"), None);
    }
}
