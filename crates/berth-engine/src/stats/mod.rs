//! A container's resource usage sample in the Engine API's shape (`GET /containers/{id}/stats`, Docker 20.10 on
//! Linux): field names, nesting and the fields Go leaves out when zero are Docker's, so the sample serialises to what
//! dockerd sends and the docker CLI's `stats` reads it unchanged. [`host`] reads the host-wide figures it needs.

pub(crate) mod host;
#[cfg(test)]
mod live_tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::timefmt::ZERO_TIME;

/// One stats sample. `precpu_stats` and `preread` describe the previous sample of a stream: the engine leaves them
/// zero, the API layer fills them from the sample it sent before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatsSample {
    /// When the counters were read (RFC 3339); Go's zero time for a container that is not running.
    pub read: String,
    pub preread: String,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
    /// Windows only; always 0.
    pub num_procs: u32,
    /// Windows only; always `{}`.
    pub storage_stats: StorageStats,
    pub cpu_stats: CpuStats,
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    /// The container's name with Docker's leading slash.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Counters per interface of the container's network namespace, loopback excepted; absent when there is none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, NetworkStats>,
}

impl Default for StatsSample {
    fn default() -> Self {
        StatsSample {
            read: ZERO_TIME.into(),
            preread: ZERO_TIME.into(),
            pids_stats: PidsStats::default(),
            blkio_stats: BlkioStats::default(),
            num_procs: 0,
            storage_stats: StorageStats::default(),
            cpu_stats: CpuStats::default(),
            precpu_stats: CpuStats::default(),
            memory_stats: MemoryStats::default(),
            name: String::new(),
            id: String::new(),
            networks: BTreeMap::new(),
        }
    }
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Tasks in the cgroup and their limit (0: none; omitted when 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// Block I/O counters. Docker sends `null` for a list it has no source for and `[]` for one with no entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioEntry>>,
    pub io_queue_recursive: Option<Vec<BlkioEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioEntry>>,
    pub io_time_recursive: Option<Vec<BlkioEntry>>,
    pub sectors_recursive: Option<Vec<BlkioEntry>>,
}

/// One block I/O counter of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// Windows' storage counters: never filled on Linux, serialised as `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageStats {}

/// CPU usage of the container and of the whole host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    /// CPU time of the whole host, nanoseconds, from /proc/stat.
    #[serde(skip_serializing_if = "is_zero")]
    pub system_cpu_usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub online_cpus: u32,
    pub throttling_data: ThrottlingData,
}

/// CPU time of the container's cgroup, nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    pub total_usage: u64,
    /// Per CPU (cgroup v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_usage: Vec<u64>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

/// CFS bandwidth throttling counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

/// Memory of the container's cgroup; every field is omitted when zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Highest usage recorded (cgroup v1 only).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_usage: u64,
    /// Docker's selection of `memory.stat` keys (different on v1 and v2).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub failcnt: u64,
    /// The cgroup's limit, or the host's memory when that is lower (no limit).
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// Counters of one network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_containers_sample_is_what_dockerd_sends() {
        let sample = StatsSample {
            name: "/web".into(),
            id: "abc".into(),
            ..Default::default()
        };
        let zero_cpu = r#"{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}}"#;
        let expected = format!(
            concat!(
                r#"{{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{{}},"#,
                r#""blkio_stats":{{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"#,
                r#""io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"#,
                r#""io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null}},"num_procs":0,"#,
                r#""storage_stats":{{}},"cpu_stats":{zero},"precpu_stats":{zero},"memory_stats":{{}},"#,
                r#""name":"/web","id":"abc"}}"#
            ),
            zero = zero_cpu
        );
        assert_eq!(serde_json::to_string(&sample).unwrap(), expected);
        let back: StatsSample = serde_json::from_str(&expected).unwrap();
        assert_eq!(back, sample);
    }

    #[test]
    fn filled_fields_appear_in_dockers_order() {
        let mut sample = StatsSample::default();
        sample.pids_stats.current = 3;
        sample.cpu_stats.cpu_usage.percpu_usage = vec![5, 6];
        sample.cpu_stats.online_cpus = 2;
        sample.memory_stats.limit = 1 << 20;
        sample.memory_stats.stats.insert("rss".into(), 7);
        sample.networks.insert("eth0".into(), NetworkStats::default());
        let v = serde_json::to_value(&sample).unwrap();
        assert_eq!(v["pids_stats"], serde_json::json!({"current": 3}));
        assert_eq!(
            v["cpu_stats"]["cpu_usage"]["percpu_usage"],
            serde_json::json!([5, 6])
        );
        assert_eq!(v["cpu_stats"]["online_cpus"], 2);
        assert!(v["cpu_stats"].get("system_cpu_usage").is_none());
        assert_eq!(
            v["memory_stats"],
            serde_json::json!({"stats": {"rss": 7}, "limit": 1048576})
        );
        assert_eq!(v["networks"]["eth0"]["tx_dropped"], 0);
        let text = serde_json::to_string(&sample).unwrap();
        let order = [
            "\"read\"",
            "\"pids_stats\"",
            "\"cpu_stats\"",
            "\"memory_stats\"",
            "\"networks\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }
}
