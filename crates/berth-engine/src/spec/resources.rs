//! Resource limits: Docker's HostConfig fields (`-m`, `--memory-swap`, `--cpus`, `--cpu-shares`, `--cpuset-cpus`,
//! `--pids-limit`, `--ulimit`) validated as Docker validates them and turned into OCI `linux.resources` and rlimits.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::model::HostConfig;

const MIN_MEMORY: i64 = 6 << 20;
const CPU_PERIOD: i64 = 100_000;

/// The OCI `linux.resources` object (without devices) for a host config.
pub fn resources(hc: &HostConfig) -> Result<Map<String, Value>> {
    let mut res = Map::new();
    let mut memory = Map::new();
    if hc.memory < 0 {
        return Err(Error::InvalidArgument(
            "invalid memory limit: must be positive".into(),
        ));
    }
    if hc.memory > 0 {
        if hc.memory < MIN_MEMORY {
            return Err(Error::InvalidArgument(
                "Minimum memory limit allowed is 6MB".into(),
            ));
        }
        memory.insert("limit".into(), json!(hc.memory));
    }
    if hc.memory_swap != 0 {
        if hc.memory == 0 {
            return Err(Error::InvalidArgument(
                "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
            ));
        }
        if hc.memory_swap > 0 && hc.memory_swap < hc.memory {
            return Err(Error::InvalidArgument(
                "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
            ));
        }
        memory.insert("swap".into(), json!(hc.memory_swap));
    }
    if hc.memory_reservation > 0 {
        memory.insert("reservation".into(), json!(hc.memory_reservation));
    }
    if !memory.is_empty() {
        res.insert("memory".into(), Value::Object(memory));
    }
    let mut cpu = Map::new();
    if hc.nano_cpus != 0 && (hc.cpu_quota != 0 || hc.cpu_period != 0) {
        return Err(Error::InvalidArgument(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set".into(),
        ));
    }
    if hc.nano_cpus < 0 {
        return Err(Error::InvalidArgument(
            "Range of CPUs is from 0.01 to the number of CPUs".into(),
        ));
    }
    if hc.nano_cpus > 0 {
        let online = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
        if hc.nano_cpus > online * 1_000_000_000 {
            return Err(Error::InvalidArgument(format!(
                "Range of CPUs is from 0.01 to {online}.00, as there are only {online} CPUs available"
            )));
        }
        cpu.insert("period".into(), json!(CPU_PERIOD));
        cpu.insert("quota".into(), json!(hc.nano_cpus * CPU_PERIOD / 1_000_000_000));
    }
    if hc.cpu_quota != 0 {
        cpu.insert("quota".into(), json!(hc.cpu_quota));
        cpu.insert(
            "period".into(),
            json!(if hc.cpu_period > 0 {
                hc.cpu_period
            } else {
                CPU_PERIOD
            }),
        );
    }
    if hc.cpu_shares < 0 {
        return Err(Error::InvalidArgument(
            "invalid CPU shares: must be positive".into(),
        ));
    }
    if hc.cpu_shares > 0 {
        cpu.insert("shares".into(), json!(hc.cpu_shares.max(2)));
    }
    if !hc.cpuset_cpus.is_empty() {
        validate_cpuset(&hc.cpuset_cpus)?;
        cpu.insert("cpus".into(), json!(hc.cpuset_cpus));
    }
    if !hc.cpuset_mems.is_empty() {
        validate_cpuset(&hc.cpuset_mems)?;
        cpu.insert("mems".into(), json!(hc.cpuset_mems));
    }
    if !cpu.is_empty() {
        res.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(limit) = hc.pids_limit.filter(|l| *l != 0) {
        res.insert(
            "pids".into(),
            json!({"limit": if limit < 0 { -1 } else { limit }}),
        );
    }
    Ok(res)
}

/// Checks a cpuset list like `0-2,4`.
fn validate_cpuset(list: &str) -> Result<()> {
    let bad = || Error::InvalidArgument(format!("Invalid value {list} for cpuset cpus"));
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a > b {
            return Err(bad());
        }
    }
    Ok(())
}

/// OCI rlimits for `--ulimit` values.
pub fn rlimits(hc: &HostConfig) -> Vec<Value> {
    hc.ulimits
        .iter()
        .flatten()
        .map(|u| json!({"type": format!("RLIMIT_{}", u.name.to_ascii_uppercase()), "soft": u.soft, "hard": u.hard}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_swap_rules() {
        let mut hc = HostConfig {
            memory: 64 << 20,
            ..Default::default()
        };
        assert_eq!(resources(&hc).unwrap()["memory"]["limit"], 64 << 20);
        hc.memory = 1 << 20;
        assert!(
            resources(&hc)
                .unwrap_err()
                .to_string()
                .contains("Minimum memory limit")
        );
        let hc = HostConfig {
            memory_swap: 100 << 20,
            ..Default::default()
        };
        assert!(resources(&hc).is_err());
        let hc = HostConfig {
            memory: 64 << 20,
            memory_swap: 32 << 20,
            ..Default::default()
        };
        assert!(resources(&hc).is_err());
        let hc = HostConfig {
            memory: 64 << 20,
            memory_swap: -1,
            ..Default::default()
        };
        assert_eq!(resources(&hc).unwrap()["memory"]["swap"], -1);
    }

    #[test]
    fn cpus_become_quota() {
        let hc = HostConfig {
            nano_cpus: 500_000_000,
            cpu_shares: 512,
            cpuset_cpus: "0".into(),
            ..Default::default()
        };
        let r = resources(&hc).unwrap();
        assert_eq!(r["cpu"]["quota"], 50_000);
        assert_eq!(r["cpu"]["period"], 100_000);
        assert_eq!(r["cpu"]["shares"], 512);
        assert_eq!(r["cpu"]["cpus"], "0");
        let hc = HostConfig {
            nano_cpus: 1_000_000_000_000,
            ..Default::default()
        };
        assert!(resources(&hc).unwrap_err().to_string().contains("Range of CPUs"));
        let hc = HostConfig {
            cpuset_cpus: "3-1".into(),
            ..Default::default()
        };
        assert!(resources(&hc).is_err());
    }

    #[test]
    fn pids_limit_and_empty() {
        assert!(resources(&HostConfig::default()).unwrap().is_empty());
        let hc = HostConfig {
            pids_limit: Some(-5),
            ..Default::default()
        };
        assert_eq!(resources(&hc).unwrap()["pids"]["limit"], -1);
        let hc = HostConfig {
            pids_limit: Some(42),
            ..Default::default()
        };
        assert_eq!(resources(&hc).unwrap()["pids"]["limit"], 42);
    }
}
