//! A network as `docker network inspect` shows it (without its live `Containers`, which the engine fills in), and the
//! request that creates one.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::subnet::Subnet;

/// Docker's bridge option naming the bridge interface.
pub const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
/// Docker's option marking the default bridge network.
pub const OPT_DEFAULT_BRIDGE: &str = "com.docker.network.bridge.default_bridge";
/// Docker's bridge option turning outbound masquerading off.
pub const OPT_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
/// Docker's bridge option setting the MTU.
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";

/// A network record.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Network {
    pub name: String,
    pub id: String,
    pub created: String,
    pub scope: String,
    pub driver: String,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    pub config_from: ConfigFrom,
    pub config_only: bool,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// The address configuration of a network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ipam {
    pub driver: String,
    pub options: Option<BTreeMap<String, String>>,
    pub config: Vec<IpamConfig>,
}

impl Default for Ipam {
    fn default() -> Ipam {
        Ipam {
            driver: "default".into(),
            options: None,
            config: Vec::new(),
        }
    }
}

/// One subnet of a network (Docker's `IPAMConfig`); strings as the API carries them.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpamConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    #[serde(rename = "IPRange", skip_serializing_if = "String::is_empty")]
    pub ip_range: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConfigFrom {
    pub network: String,
}

/// What a bridge network needs to exist on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    pub bridge: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub internal: bool,
    pub masquerade: bool,
    pub mtu: Option<u32>,
}

impl Network {
    pub fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }

    /// Whether this is the predefined default bridge (no DNS between containers, as in Docker).
    pub fn is_default_bridge(&self) -> bool {
        self.options.get(OPT_DEFAULT_BRIDGE).is_some_and(|v| v == "true")
    }

    /// The bridge's host-side description; `None` for networks without a bridge (host, none) or a broken record.
    pub fn bridge_spec(&self) -> Option<BridgeSpec> {
        if !self.is_bridge() {
            return None;
        }
        let conf = self.ipam.config.first()?;
        Some(BridgeSpec {
            bridge: self.options.get(OPT_BRIDGE_NAME)?.clone(),
            subnet: conf.subnet.parse().ok()?,
            gateway: conf.gateway.parse().ok()?,
            internal: self.internal,
            masquerade: self.options.get(OPT_MASQUERADE).is_none_or(|v| v != "false"),
            mtu: self.options.get(OPT_MTU).and_then(|v| v.parse().ok()),
        })
    }
}

/// A `network create` request (Docker's `NetworkCreateRequest`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRequest {
    pub name: String,
    pub check_duplicate: bool,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Option<Ipam>,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    pub options: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
}
