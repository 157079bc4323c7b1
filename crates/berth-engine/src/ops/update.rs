//! `update`: change a container's resource limits (and restart policy) as `POST /containers/{id}/update` does —
//! validated as dockerd validates them, merged into the record's HostConfig under its lock, and applied to the live
//! cgroup of a running or paused container before the record is saved.

use std::collections::BTreeSet;
use std::path::Path;

use oci_spec::runtime::{LinuxPids, LinuxResources};
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{HostConfig, RestartPolicy, Status};
use crate::spec::resources;

const MIN_MEMORY: i64 = 6 << 20;

/// The body of `POST /containers/{id}/update`: Docker's `Resources` fields that an update can change, and
/// `RestartPolicy`. Zero (or empty, or absent) means "leave as it is"; fields Docker's update ignores are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateRequest {
    pub cpu_shares: i64,
    pub memory: i64,
    /// Memory plus swap; -1 for unlimited swap.
    pub memory_swap: i64,
    pub memory_reservation: i64,
    /// Deprecated by Docker; accepted with a warning and discarded.
    pub kernel_memory: i64,
    pub nano_cpus: i64,
    pub cpu_period: i64,
    /// -1 removes the quota.
    pub cpu_quota: i64,
    pub cpu_realtime_period: i64,
    pub cpu_realtime_runtime: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    /// 0 or negative: unlimited.
    pub pids_limit: Option<i64>,
    pub blkio_weight: u16,
    /// Applied when its name is not empty.
    pub restart_policy: RestartPolicy,
}

impl Engine {
    /// Updates container `reference`'s resources; returns Docker's warnings (settings that were discarded).
    pub fn update(&self, reference: &str, req: &UpdateRequest) -> Result<Vec<String>> {
        let id = self.containers.resolve(reference)?;
        let (req, warnings) = validate(req)?;
        let cannot = |message: String| format!("Cannot update container {id}: {message}");
        self.containers.update(&id, |c| {
            if matches!(c.state.status, Status::Removing | Status::Dead) {
                return Err(Error::Conflict(cannot(
                    "container is marked for removal and cannot be \"update\"".into(),
                )));
            }
            merge(&mut c.host_config, &req).map_err(|m| Error::Conflict(cannot(m.into())))?;
            // The merged record must still be one a start accepts.
            let translated = resources::resources(&c.host_config)?;
            if matches!(c.state.status, Status::Running | Status::Paused)
                && self.is_alive(c)
                && let Some(cg) = self.live_cgroup(c)?
            {
                let mut live: LinuxResources = serde_json::from_value(translated.into())
                    .map_err(|e| Error::Runtime(cannot(e.to_string())))?;
                if req.pids_limit.is_some_and(|l| l <= 0) {
                    let mut pids = LinuxPids::default();
                    pids.set_limit(-1);
                    live.set_pids(Some(pids));
                }
                cg.update(&live)
                    .map_err(|e| Error::Runtime(cannot(e.to_string())))?;
            }
            Ok(())
        })?;
        Ok(warnings)
    }
}

/// Docker's checks of an update's values (dockerd `verifyPlatformContainerResources` and `validateRestartPolicy`).
/// Returns the request with discarded settings cleared, and a warning for each.
fn validate(req: &UpdateRequest) -> Result<(UpdateRequest, Vec<String>)> {
    let invalid = |m: &str| Err(Error::InvalidArgument(m.to_string()));
    let mut req = req.clone();
    let mut warnings = Vec::new();
    if req.memory != 0 && req.memory < MIN_MEMORY {
        return invalid("Minimum memory limit allowed is 6MB");
    }
    if req.memory > 0 && req.memory_swap > 0 && req.memory_swap < req.memory {
        return invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if req.memory_reservation > 0 && req.memory_reservation < MIN_MEMORY {
        return invalid("Minimum memory reservation allowed is 6MB");
    }
    if req.memory > 0 && req.memory_reservation > 0 && req.memory < req.memory_reservation {
        return invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
    }
    if req.kernel_memory > 0 {
        warnings.push(
            "Specifying a kernel memory limit is deprecated and will be removed in a future release.".into(),
        );
        if req.kernel_memory < MIN_MEMORY {
            return invalid("Minimum kernel memory limit allowed is 6MB");
        }
        // As with runc 1.1 under Docker 20.10, the limit is not applied.
        warnings.push("Kernel memory limits are not applied. Limitation discarded.".into());
        req.kernel_memory = 0;
    }
    if req.nano_cpus > 0 && req.cpu_period > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if req.nano_cpus > 0 && req.cpu_quota > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    if req.cpu_period != 0 && !(1000..=1_000_000).contains(&req.cpu_period) {
        return invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        );
    }
    if req.cpu_quota > 0 && req.cpu_quota < 1000 {
        return invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    if req.cpu_realtime_period != 0 || req.cpu_realtime_runtime != 0 {
        warnings.push("CPU real-time period and runtime cannot be updated. Discarded.".into());
        (req.cpu_realtime_period, req.cpu_realtime_runtime) = (0, 0);
    }
    check_available(&req.cpuset_cpus, "cpus", "CPUs", "/sys/devices/system/cpu/online")?;
    check_available(
        &req.cpuset_mems,
        "mems",
        "memory nodes",
        "/sys/devices/system/node/online",
    )?;
    if req.blkio_weight > 0 {
        if !Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists() {
            warnings.push(
                "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
                    .into(),
            );
        } else if !(10..=1000).contains(&req.blkio_weight) {
            return invalid("Range of blkio weight is from 10 to 1000");
        } else {
            warnings.push("Block I/O weight cannot be updated. Weight discarded.".into());
        }
        req.blkio_weight = 0;
    }
    validate_restart_policy(&req.restart_policy)?;
    if req.pids_limit.is_some_and(|l| l < 0) {
        // Docker's API treats every negative limit as 0: unlimited.
        req.pids_limit = Some(0);
    }
    Ok((req, warnings))
}

/// dockerd's restart policy rules, then Berth's own: restarting is not implemented, so only "no" is accepted.
fn validate_restart_policy(p: &RestartPolicy) -> Result<()> {
    let invalid = |m: String| Err(Error::InvalidArgument(m));
    match p.name.as_str() {
        "" => return Ok(()),
        "always" | "unless-stopped" | "no" if p.maximum_retry_count != 0 => {
            return invalid(format!(
                "maximum retry count cannot be used with restart policy '{}'",
                p.name
            ));
        }
        "on-failure" if p.maximum_retry_count < 0 => {
            return invalid("maximum retry count cannot be negative".into());
        }
        "always" | "unless-stopped" | "no" | "on-failure" => {}
        other => return invalid(format!("invalid restart policy '{other}'")),
    }
    if p.name != "no" {
        return invalid(format!(
            "restart policy {}:{} is not supported yet (only \"no\")",
            p.name, p.maximum_retry_count
        ));
    }
    Ok(())
}

/// Checks a cpuset list against the host's online CPUs or memory nodes (`online_file`); skipped when the host does
/// not list them.
fn check_available(list: &str, kind: &str, what: &str, online_file: &str) -> Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    let requested = parse_list(list)
        .ok_or_else(|| Error::InvalidArgument(format!("Invalid value {list} for cpuset {kind}")))?;
    let Ok(online) = std::fs::read_to_string(online_file) else {
        return Ok(());
    };
    let online = online.trim();
    if parse_list(online).is_some_and(|available| !requested.is_subset(&available)) {
        return Err(Error::InvalidArgument(format!(
            "Requested {what} are not available - requested {list}, available: {online}"
        )));
    }
    Ok(())
}

/// A cpuset list such as `0-2,4`.
fn parse_list(list: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        if a > b || b - a > 1 << 16 {
            return None;
        }
        set.extend(a..=b);
    }
    Some(set)
}

/// Docker's merge of an update into the recorded HostConfig (`Container.UpdateContainer`): non-zero values replace
/// the recorded ones, with the same conflicts. Errors are Docker's conflict messages.
fn merge(hc: &mut HostConfig, req: &UpdateRequest) -> Result<(), &'static str> {
    if req.nano_cpus > 0 && hc.cpu_period > 0 {
        return Err("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set");
    }
    if req.nano_cpus > 0 && hc.cpu_quota > 0 {
        return Err("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set");
    }
    if req.cpu_period > 0 && hc.nano_cpus > 0 {
        return Err("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set");
    }
    if req.cpu_quota > 0 && hc.nano_cpus > 0 {
        return Err("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");
    }
    // Docker's create records a memory+swap limit of twice the memory limit when none is given; Berth's leaves it 0,
    // so that is the limit this rule compares with. Like Docker, raising the memory limit of a container without a
    // memory+swap limit (unlimited, or -1) needs a new memory+swap limit too.
    let swap = if hc.memory_swap == 0 && hc.memory > 0 {
        hc.memory.saturating_mul(2)
    } else {
        hc.memory_swap
    };
    if req.memory != 0 && req.memory_swap == 0 && req.memory > swap {
        return Err(
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
        );
    }
    let set = |field: &mut i64, value: i64| {
        if value != 0 {
            *field = value;
        }
    };
    set(&mut hc.cpu_shares, req.cpu_shares);
    set(&mut hc.nano_cpus, req.nano_cpus);
    set(&mut hc.cpu_period, req.cpu_period);
    set(&mut hc.cpu_quota, req.cpu_quota);
    set(&mut hc.memory, req.memory);
    set(&mut hc.memory_swap, req.memory_swap);
    set(&mut hc.memory_reservation, req.memory_reservation);
    if !req.cpuset_cpus.is_empty() {
        hc.cpuset_cpus = req.cpuset_cpus.clone();
    }
    if !req.cpuset_mems.is_empty() {
        hc.cpuset_mems = req.cpuset_mems.clone();
    }
    if req.pids_limit.is_some() {
        hc.pids_limit = req.pids_limit;
    }
    if !req.restart_policy.name.is_empty() {
        hc.restart_policy = req.restart_policy.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(req: UpdateRequest) -> String {
        validate(&req).unwrap_err().to_string()
    }

    #[test]
    fn values_are_checked_as_docker_checks_them() {
        let e = |r| err(r);
        assert_eq!(
            e(UpdateRequest {
                memory: 2 << 20,
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert_eq!(
            e(UpdateRequest {
                memory: 64 << 20,
                memory_swap: 32 << 20,
                ..Default::default()
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            e(UpdateRequest {
                memory: 64 << 20,
                memory_reservation: 128 << 20,
                ..Default::default()
            }),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
        assert_eq!(
            e(UpdateRequest {
                nano_cpus: 1_000_000_000,
                cpu_quota: 50_000,
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        );
        assert!(
            e(UpdateRequest {
                cpu_period: 10,
                ..Default::default()
            })
            .starts_with("CPU cfs period can not be less than 1ms")
        );
        assert_eq!(
            e(UpdateRequest {
                cpuset_cpus: "0-".into(),
                ..Default::default()
            }),
            "Invalid value 0- for cpuset cpus"
        );
        assert!(
            e(UpdateRequest {
                cpuset_cpus: "0,4096".into(),
                ..Default::default()
            })
            .starts_with("Requested CPUs are not available - requested 0,4096, available: ")
        );
        let (ok, warnings) = validate(&UpdateRequest {
            memory: 64 << 20,
            memory_swap: -1,
            cpuset_cpus: "0".into(),
            pids_limit: Some(-7),
            ..Default::default()
        })
        .unwrap();
        assert!(warnings.is_empty());
        assert_eq!(ok.pids_limit, Some(0), "negative pids limits mean unlimited");
    }

    #[test]
    fn discarded_settings_warn() {
        let (req, warnings) = validate(&UpdateRequest {
            kernel_memory: 64 << 20,
            blkio_weight: 500,
            cpu_realtime_runtime: 950,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("Specifying a kernel memory limit is deprecated"));
        assert_eq!(
            (req.kernel_memory, req.blkio_weight, req.cpu_realtime_runtime),
            (0, 0, 0)
        );
        assert_eq!(
            err(UpdateRequest {
                kernel_memory: 1 << 20,
                ..Default::default()
            }),
            "Minimum kernel memory limit allowed is 6MB"
        );
    }

    #[test]
    fn restart_policies() {
        let policy = |name: &str, count| UpdateRequest {
            restart_policy: RestartPolicy {
                name: name.into(),
                maximum_retry_count: count,
            },
            ..Default::default()
        };
        assert!(validate(&policy("", 0)).is_ok());
        assert!(validate(&policy("no", 0)).is_ok());
        assert_eq!(
            err(policy("always", 3)),
            "maximum retry count cannot be used with restart policy 'always'"
        );
        assert_eq!(
            err(policy("on-failure", -1)),
            "maximum retry count cannot be negative"
        );
        assert_eq!(err(policy("sometimes", 0)), "invalid restart policy 'sometimes'");
        assert_eq!(
            err(policy("on-failure", 3)),
            "restart policy on-failure:3 is not supported yet (only \"no\")"
        );
        let e = validate(&policy("always", 0)).unwrap_err();
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn merge_keeps_what_is_not_given_and_refuses_conflicts() {
        let mut hc = HostConfig {
            memory: 64 << 20,
            memory_swap: 128 << 20,
            cpu_shares: 512,
            cpu_quota: 50_000,
            ..Default::default()
        };
        let mut req = UpdateRequest {
            memory: 100 << 20,
            pids_limit: Some(0),
            restart_policy: RestartPolicy {
                name: "no".into(),
                maximum_retry_count: 0,
            },
            ..Default::default()
        };
        merge(&mut hc, &req).unwrap();
        assert_eq!(
            (hc.memory, hc.memory_swap, hc.cpu_shares),
            (100 << 20, 128 << 20, 512)
        );
        assert_eq!(hc.pids_limit, Some(0));
        assert_eq!(hc.restart_policy.name, "no");

        req.memory = 200 << 20;
        assert!(
            merge(&mut hc, &req)
                .unwrap_err()
                .starts_with("Memory limit should be smaller")
        );
        req.memory_swap = 400 << 20;
        merge(&mut hc, &req).unwrap();
        assert_eq!((hc.memory, hc.memory_swap), (200 << 20, 400 << 20));

        let nano = UpdateRequest {
            nano_cpus: 500_000_000,
            ..Default::default()
        };
        assert_eq!(
            merge(&mut hc, &nano).unwrap_err(),
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"
        );
        // A recorded memory limit without swap limit allows twice its value, as Docker records it.
        let mut implied = HostConfig {
            memory: 64 << 20,
            ..Default::default()
        };
        let raise = |memory| UpdateRequest {
            memory,
            ..Default::default()
        };
        merge(&mut implied, &raise(128 << 20)).unwrap();
        assert_eq!((implied.memory, implied.memory_swap), (128 << 20, 0));
        assert!(merge(&mut implied, &raise(257 << 20)).is_err());
        // No memory limit at all: Docker asks for the memory+swap limit too.
        let mut unlimited = HostConfig::default();
        assert!(merge(&mut unlimited, &raise(1 << 30)).is_err());
        let both = UpdateRequest {
            memory: 1 << 30,
            memory_swap: -1,
            ..Default::default()
        };
        merge(&mut unlimited, &both).unwrap();
        assert_eq!((unlimited.memory, unlimited.memory_swap), (1 << 30, -1));
    }

    #[test]
    fn requests_decode_from_dockers_json_ignoring_unknown_fields() {
        let body = r#"{"BlkioWeight":0,"CpuShares":512,"Memory":134217728,"NanoCpus":0,"CpusetCpus":"",
            "MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Ulimits":null,"CpuCount":0,
            "Devices":null,"RestartPolicy":{"Name":"","MaximumRetryCount":0}}"#;
        let req: UpdateRequest = serde_json::from_str(body).unwrap();
        assert_eq!((req.cpu_shares, req.memory), (512, 128 << 20));
        assert_eq!((req.memory_swap, req.nano_cpus, req.pids_limit), (0, 0, None));
        assert!(req.cpuset_cpus.is_empty() && req.restart_policy.name.is_empty());
        let json = serde_json::to_value(UpdateRequest {
            nano_cpus: 1,
            ..Default::default()
        })
        .unwrap();
        assert_eq!((&json["NanoCpus"], &json["CpusetCpus"]), (&1.into(), &"".into()));
    }
}
