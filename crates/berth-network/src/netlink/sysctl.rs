//! IPv4 sysctls of the calling thread's network namespace: per-interface settings (e.g. `route_localnet`) and global
//! forwarding.

use std::fs;
use std::path::Path;

use super::names::check_name;
use crate::error::{Error, Result};

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Writes `value` to `/proc/sys/net/ipv4/conf/<iface>/<key>` (e.g. `route_localnet` = `1`); `iface` may also be
/// `all` or `default`.
pub fn set_sysctl(iface: &str, key: &str, value: &str) -> Result<()> {
    check_name(iface)?;
    if key.is_empty() || key.starts_with('.') || key.contains('/') {
        return Err(Error::InvalidName(key.to_string()));
    }
    write(&Path::new("/proc/sys/net/ipv4/conf").join(iface).join(key), value)
}

/// Lets the bridge send frames back out the port they came in on (hairpin mode of bridge port `iface`): with
/// `br_netfilter`, a container's connection to its own published port is DNAT'ed back to it through that port.
pub fn set_hairpin(iface: &str) -> Result<()> {
    check_name(iface)?;
    write(
        &Path::new("/sys/class/net")
            .join(iface)
            .join("brport/hairpin_mode"),
        "1",
    )
}

/// Turns IPv4 forwarding on, writing only when it is off (the write resets per-interface forwarding settings).
pub fn enable_ip_forward() -> Result<()> {
    let current = fs::read_to_string(IP_FORWARD).map_err(|source| Error::Io {
        ctx: format!("read {IP_FORWARD}"),
        source,
    })?;
    if current.trim() == "0" {
        write(Path::new(IP_FORWARD), "1")
    } else {
        Ok(())
    }
}

fn write(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).map_err(|source| Error::Io {
        ctx: format!("write {}", path.display()),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_leave_the_interface_directory() {
        for key in ["", "../../ip_forward", "a/b", ".."] {
            assert!(
                matches!(set_sysctl("lo", key, "1"), Err(Error::InvalidName(_))),
                "{key:?}"
            );
        }
        assert!(matches!(
            set_sysctl("../all", "forwarding", "1"),
            Err(Error::InvalidName(_))
        ));
    }
}
