//! Capability sets from the spec as bit masks, and the calls that apply them: bounding-set drop, keep-caps across
//! setuid, capset(2) of effective/permitted/inheritable, and ambient raises.

use std::io;
use std::str::FromStr;

use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::SpawnError;

/// A process's capability sets, one bit per capability number.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CapSets {
    pub(crate) bounding: u64,
    pub(crate) effective: u64,
    pub(crate) permitted: u64,
    pub(crate) inheritable: u64,
    pub(crate) ambient: u64,
}

pub(crate) const CAP_SYS_ADMIN: u64 = 1 << 21;

fn mask(set: &Option<Capabilities>) -> Result<u64, SpawnError> {
    let mut bits = 0u64;
    for cap in set.iter().flatten() {
        let name = format!("CAP_{cap}");
        let c = caps::Capability::from_str(&name)
            .map_err(|_| SpawnError::InvalidSpec(format!("unknown capability {name}")))?;
        bits |= c.bitmask();
    }
    Ok(bits)
}

impl CapSets {
    pub(crate) fn from_spec(c: &LinuxCapabilities) -> Result<CapSets, SpawnError> {
        Ok(CapSets {
            bounding: mask(c.bounding())?,
            effective: mask(c.effective())?,
            permitted: mask(c.permitted())?,
            inheritable: mask(c.inheritable())?,
            ambient: mask(c.ambient())?,
        })
    }
}

fn prctl(option: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Drops every capability outside `keep` from the bounding set (stops at the first number the kernel does not
/// know).
pub(crate) fn drop_bounding(keep: u64) -> io::Result<()> {
    for cap in 0..64u64 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        match prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Keeps the permitted set across a change to a non-zero uid.
pub(crate) fn keep_caps() -> io::Result<()> {
    prctl(libc::PR_SET_KEEPCAPS, 1, 0)
}

/// Sets effective, permitted and inheritable in one capset(2).
pub(crate) fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let split = |i: usize| Data {
        effective: (effective >> (32 * i)) as u32,
        permitted: (permitted >> (32 * i)) as u32,
        inheritable: (inheritable >> (32 * i)) as u32,
    };
    let data = [split(0), split(1)];
    // SAFETY: header and two data structs in the layout of the v3 ABI.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises each ambient capability (each must be permitted and inheritable already).
pub(crate) fn raise_ambient(ambient: u64) -> io::Result<()> {
    for cap in (0..64u64).filter(|c| ambient & (1 << c) != 0) {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            cap as libc::c_ulong,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder};

    #[test]
    fn spec_capabilities_become_bit_masks() {
        let set: Capabilities = [
            Capability::Chown,
            Capability::NetBindService,
            Capability::SysAdmin,
        ]
        .into();
        let c = LinuxCapabilitiesBuilder::default()
            .bounding(set.clone())
            .effective(set)
            .permitted(Capabilities::new())
            .build()
            .unwrap();
        let sets = CapSets::from_spec(&c).unwrap();
        assert_eq!(sets.bounding, (1 << 0) | (1 << 10) | CAP_SYS_ADMIN);
        assert_eq!(sets.effective, sets.bounding);
        assert_eq!(sets.permitted, 0);
    }
}
