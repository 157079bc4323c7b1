//! Docker's seccomp profile format: rules that apply only with (or without) given capabilities, on given
//! architectures or from a kernel version on, resolved into the OCI profile for one container.

use std::path::PathBuf;
use std::sync::OnceLock;

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSyscall,
};
use serde::Deserialize;

use super::{Error, Result};

/// Docker's name for the architecture this runtime compiles filters for (Go's GOARCH, as Docker uses it).
const NATIVE_ARCH: &str = "amd64";
/// The seccomp architecture whose `archMap` entry applies here.
const NATIVE_SECCOMP_ARCH: Arch = Arch::ScmpArchX86_64;

/// A Docker-format profile, validated, before its conditions are resolved for a container.
pub(super) struct Profile {
    pub default_action: LinuxSeccompAction,
    pub default_errno_ret: Option<u32>,
    pub architectures: Vec<Arch>,
    pub flags: Option<Vec<LinuxSeccompFilterFlag>>,
    pub listener_path: Option<PathBuf>,
    pub listener_metadata: Option<String>,
    pub rules: Vec<Rule>,
}

/// One syscall rule with the conditions under which it is part of the profile.
pub(super) struct Rule {
    pub syscall: LinuxSyscall,
    pub includes: Condition,
    pub excludes: Condition,
}

/// Docker's `includes`/`excludes` filter: capabilities (names like `CAP_SYS_ADMIN`), architectures
/// (Docker's names: `amd64`, `x32`, `arm64`, ...) and a minimum kernel version.
#[derive(Default)]
pub(super) struct Condition {
    pub caps: Vec<String>,
    pub arches: Vec<String>,
    pub min_kernel: Option<(u32, u32)>,
}

impl Profile {
    /// The OCI profile for a container whose bounding set is `caps`, on a kernel of version `kernel`.
    pub fn resolve(self, caps: &[Capability], kernel: (u32, u32)) -> LinuxSeccomp {
        let held = |name: &str| caps.iter().any(|c| c.to_string() == cap_key(name));
        let syscalls: Vec<LinuxSyscall> = self
            .rules
            .into_iter()
            .filter(|rule| {
                let ex = &rule.excludes;
                let excluded = ex.arches.iter().any(|a| a == NATIVE_ARCH)
                    || ex.caps.iter().any(|c| held(c))
                    || ex.min_kernel.is_some_and(|v| kernel >= v);
                let inc = &rule.includes;
                let included = (inc.arches.is_empty() || inc.arches.iter().any(|a| a == NATIVE_ARCH))
                    && inc.caps.iter().all(|c| held(c))
                    && inc.min_kernel.is_none_or(|v| kernel >= v);
                !excluded && included
            })
            .map(|rule| rule.syscall)
            .collect();
        let mut out = LinuxSeccomp::default();
        out.set_default_action(self.default_action)
            .set_default_errno_ret(self.default_errno_ret)
            .set_architectures((!self.architectures.is_empty()).then_some(self.architectures))
            .set_flags(self.flags)
            .set_listener_path(self.listener_path)
            .set_listener_metadata(self.listener_metadata)
            .set_syscalls(Some(syscalls));
        out
    }
}

/// Normalises a capability name the way oci-spec displays capabilities: upper case, no `CAP_` prefix.
fn cap_key(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    upper.strip_prefix("CAP_").map(str::to_owned).unwrap_or(upper)
}

/// The running kernel's `(version, major revision)`, e.g. `(6, 18)`; `(0, 0)` if unreadable.
pub(super) fn host_kernel() -> (u32, u32) {
    static KERNEL: OnceLock<(u32, u32)> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        let uname = rustix::system::uname();
        parse_kernel(&uname.release().to_string_lossy()).unwrap_or((0, 0))
    })
}

/// Parses the leading `A.B` of a kernel release or of Docker's `minKernel` ("5.10.0-rc1" -> (5, 10)).
fn parse_kernel(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.split(['.', '-', '+']);
    let version = parts.next()?.parse().ok()?;
    let major = parts.next()?.parse().ok()?;
    Some((version, major))
}

/// Parses a profile in Docker's file format (`--security-opt seccomp=FILE.json`) and resolves its
/// `includes`/`excludes` for a container whose bounding capability set is `caps`.
pub fn parse_docker_profile(bytes: &[u8], caps: &[Capability]) -> Result<LinuxSeccomp> {
    let file: FileProfile = serde_json::from_slice(bytes)?;
    Ok(file.validate()?.resolve(caps, host_kernel()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileProfile {
    default_action: Option<LinuxSeccompAction>,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<Arch>>,
    arch_map: Option<Vec<FileArchMap>>,
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<FileSyscall>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileArchMap {
    architecture: Arch,
    sub_architectures: Option<Vec<Arch>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileSyscall {
    name: Option<String>,
    names: Option<Vec<String>>,
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    args: Option<Vec<LinuxSeccompArg>>,
    includes: Option<FileFilter>,
    excludes: Option<FileFilter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileFilter {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

impl FileProfile {
    fn validate(self) -> Result<Profile> {
        let default_action = self
            .default_action
            .ok_or_else(|| Error::Invalid("missing defaultAction".into()))?;
        let listed = self.architectures.unwrap_or_default();
        let arch_map = self.arch_map.unwrap_or_default();
        if !listed.is_empty() && !arch_map.is_empty() {
            return Err(Error::Invalid(
                "both 'architectures' and 'archMap' are specified".into(),
            ));
        }
        let architectures = if listed.is_empty() {
            arch_map
                .into_iter()
                .find(|m| m.architecture == NATIVE_SECCOMP_ARCH)
                .map(|m| {
                    std::iter::once(m.architecture)
                        .chain(m.sub_architectures.unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default()
        } else {
            listed
        };
        let rules = self
            .syscalls
            .unwrap_or_default()
            .into_iter()
            .map(FileSyscall::validate)
            .collect::<Result<_>>()?;
        Ok(Profile {
            default_action,
            default_errno_ret: self.default_errno_ret,
            architectures,
            flags: self.flags,
            listener_path: self.listener_path,
            listener_metadata: self.listener_metadata,
            rules,
        })
    }
}

impl FileSyscall {
    fn validate(self) -> Result<Rule> {
        let names = match (self.name, self.names.filter(|n| !n.is_empty())) {
            (Some(_), Some(_)) => {
                return Err(Error::Invalid(
                    "both 'name' and 'names' are specified in a syscall rule".into(),
                ));
            }
            (Some(name), None) => vec![name],
            (None, Some(names)) => names,
            (None, None) => return Err(Error::Invalid("a syscall rule has no names".into())),
        };
        let mut syscall = LinuxSyscall::default();
        syscall
            .set_names(names)
            .set_action(self.action)
            .set_errno_ret(self.errno_ret)
            .set_args(self.args);
        Ok(Rule {
            syscall,
            includes: self
                .includes
                .map(FileFilter::validate)
                .transpose()?
                .unwrap_or_default(),
            excludes: self
                .excludes
                .map(FileFilter::validate)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

impl FileFilter {
    fn validate(self) -> Result<Condition> {
        let min_kernel = match self.min_kernel.as_deref() {
            None | Some("") => None,
            Some(v) => Some(parse_kernel(v).filter(|k| *k != (0, 0)).ok_or_else(|| {
                Error::Invalid(format!("invalid minKernel {v:?}, expected \"<kernel>.<major>\""))
            })?),
        };
        Ok(Condition {
            caps: self.caps.unwrap_or_default(),
            arches: self.arches.unwrap_or_default(),
            min_kernel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxSeccompOperator;

    const PROFILE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}
        ],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": null, "comment": "",
             "includes": {}, "excludes": {}},
            {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
             "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
            {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["future_call"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.1"}}
        ]
    }"#;

    fn names(profile: &LinuxSeccomp) -> Vec<String> {
        profile
            .syscalls()
            .iter()
            .flatten()
            .flat_map(|s| s.names().clone())
            .collect()
    }

    #[test]
    fn resolves_includes_and_excludes_without_sys_admin() {
        let p = parse_docker_profile(PROFILE.as_bytes(), &[Capability::Chown]).unwrap();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
        assert_eq!(
            p.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        assert_eq!(
            names(&p),
            ["read", "write", "clone", "clone3", "arch_prctl", "ptrace"]
        );
        let clone = &p.syscalls().as_ref().unwrap()[1];
        let arg = clone.args().as_ref().unwrap()[0];
        assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!((arg.value(), arg.value_two()), (2114060288, Some(0)));
        let clone3 = &p.syscalls().as_ref().unwrap()[2];
        assert_eq!(
            (clone3.action(), clone3.errno_ret()),
            (LinuxSeccompAction::ScmpActErrno, Some(38))
        );
    }

    #[test]
    fn resolves_includes_and_excludes_with_sys_admin() {
        let p = parse_docker_profile(PROFILE.as_bytes(), &[Capability::SysAdmin]).unwrap();
        assert_eq!(names(&p), ["read", "write", "mount", "arch_prctl", "ptrace"]);
    }

    #[test]
    fn rejects_inconsistent_profiles() {
        let both = r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}]}"#;
        let err = parse_docker_profile(both.as_bytes(), &[]).unwrap_err();
        assert!(
            err.to_string().contains("both 'architectures' and 'archMap'"),
            "{err}"
        );
        let name_and_names = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_LOG"}]}"#;
        assert!(parse_docker_profile(name_and_names.as_bytes(), &[]).is_err());
        let bad_kernel = r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["a"], "action": "SCMP_ACT_LOG", "includes": {"minKernel": "four"}}]}"#;
        let err = parse_docker_profile(bad_kernel.as_bytes(), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "seccomp: invalid profile: invalid minKernel \"four\", expected \"<kernel>.<major>\""
        );
        assert!(parse_docker_profile(b"{\"syscalls\": []}", &[]).is_err());
        assert!(parse_docker_profile(b"not json", &[]).is_err());
    }

    #[test]
    fn parses_kernel_versions() {
        assert_eq!(parse_kernel("6.18.0-1-amd64"), Some((6, 18)));
        assert_eq!(parse_kernel("3.12-rc5"), Some((3, 12)));
        assert_eq!(parse_kernel("5"), None);
        assert!(host_kernel() >= (4, 0));
    }
}
