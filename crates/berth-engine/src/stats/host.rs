//! Host-side figures of a stats sample, computed as dockerd computes them: the host's CPU time from /proc/stat, the
//! CPUs this process may run on, the host's memory, and a network namespace's interface counters from
//! /proc/<pid>/net/dev.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::NetworkStats;
use crate::error::{Error, IoContext, Result};

/// USER_HZ: the unit of /proc/stat's times, 100 on every Linux ABI (Docker uses the same constant).
const USER_HZ: u64 = 100;

/// The host's CPU time in nanoseconds: the first seven fields of /proc/stat's `cpu` line (user, nice, system, idle,
/// iowait, irq, softirq), as Docker sums them.
pub fn system_cpu_usage() -> Result<u64> {
    let content = std::fs::read_to_string("/proc/stat").ctx(|| "read /proc/stat".into())?;
    parse_system_cpu(&content).ok_or_else(|| Error::Runtime("unexpected content in /proc/stat".into()))
}

fn parse_system_cpu(content: &str) -> Option<u64> {
    let line = content
        .lines()
        .find(|l| l.split_whitespace().next() == Some("cpu"))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(7)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    (fields.len() == 7).then(|| fields.iter().sum::<u64>().saturating_mul(1_000_000_000 / USER_HZ))
}

/// How many CPUs this process may run on (its affinity mask), Docker's `online_cpus`.
pub fn online_cpus() -> Result<u32> {
    rustix::thread::sched_getaffinity(None)
        .map(|set| set.count())
        .map_err(|e| Error::io("read cpu affinity", e.into()))
}

/// The host's memory in bytes (MemTotal of /proc/meminfo), read once per process; 0 if unreadable.
pub fn machine_memory() -> u64 {
    static TOTAL: OnceLock<u64> = OnceLock::new();
    *TOTAL.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|c| parse_mem_total(&c))
            .unwrap_or(0)
    })
}

fn parse_mem_total(content: &str) -> Option<u64> {
    let kib: u64 = content
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// Counters of every interface but loopback in the network namespace of process `pid`.
pub fn network_stats(pid: i32) -> Result<BTreeMap<String, NetworkStats>> {
    let path = format!("/proc/{pid}/net/dev");
    let content = std::fs::read_to_string(&path).ctx(|| format!("read {path}"))?;
    parse_net_dev(&content).ok_or_else(|| Error::Runtime(format!("unexpected content in {path}")))
}

/// /proc/net/dev: two header lines, then `name: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed multicast
/// tx_bytes tx_packets tx_errs tx_drop ...` per interface.
fn parse_net_dev(content: &str) -> Option<BTreeMap<String, NetworkStats>> {
    let mut out = BTreeMap::new();
    for line in content.lines().skip(2) {
        let (name, counters) = line.split_once(':')?;
        let name = name.trim();
        let c: Vec<u64> = counters
            .split_whitespace()
            .map(|v| v.parse().ok())
            .collect::<Option<_>>()?;
        if c.len() < 12 {
            return None;
        }
        if name == "lo" {
            continue;
        }
        out.insert(
            name.to_string(),
            NetworkStats {
                rx_bytes: c[0],
                rx_packets: c[1],
                rx_errors: c[2],
                rx_dropped: c[3],
                tx_bytes: c[8],
                tx_packets: c[9],
                tx_errors: c[10],
                tx_dropped: c[11],
            },
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_cpu_sums_seven_fields_in_nanoseconds() {
        let stat = "cpu  100 5 50 1000 10 1 4 7 0 0\ncpu0 50 2 25 500 5 0 2 3 0 0\nintr 1 2 3\n";
        assert_eq!(parse_system_cpu(stat), Some(1170 * 10_000_000));
        assert_eq!(parse_system_cpu("cpu  1 2 3\n"), None);
        assert_eq!(parse_system_cpu("cpu0 1 2 3 4 5 6 7\n"), None);
        assert_eq!(parse_system_cpu("cpu  1 2 x 4 5 6 7\n"), None);
        let host = system_cpu_usage().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        assert!(system_cpu_usage().unwrap() > host, "host CPU time advances");
    }

    #[test]
    fn host_memory_and_cpus() {
        let meminfo = "MemTotal:       24567896 kB\nMemFree:         1234 kB\n";
        assert_eq!(parse_mem_total(meminfo), Some(24_567_896 * 1024));
        assert_eq!(parse_mem_total("MemFree: 1 kB\n"), None);
        assert!(machine_memory() > 1 << 20);
        let cpus = online_cpus().unwrap();
        assert!(cpus >= 1 && cpus as usize <= std::thread::available_parallelism().unwrap().get() * 4);
    }

    #[test]
    fn net_dev_skips_loopback() {
        let dev = "Inter-|   Receive                                                |  Transmit\n \
                   face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
                   lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n  \
                   eth0:    2345      21    1    2    0     0          0         0      678       9    3    4    0     0       0          0\n";
        let nets = parse_net_dev(dev).unwrap();
        assert_eq!(nets.len(), 1);
        assert_eq!(
            nets["eth0"],
            NetworkStats {
                rx_bytes: 2345,
                rx_packets: 21,
                rx_errors: 1,
                rx_dropped: 2,
                tx_bytes: 678,
                tx_packets: 9,
                tx_errors: 3,
                tx_dropped: 4,
            }
        );
        let header = "h1\nh2\n";
        assert_eq!(parse_net_dev(header), Some(BTreeMap::new()));
        assert_eq!(parse_net_dev(&format!("{header}eth0: 1 2 3\n")), None);
        assert!(network_stats(std::process::id() as i32).is_ok());
    }
}
