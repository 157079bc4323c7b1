//! Following `--bip` and `--bridge` when they are given after the default bridge network was made (dockerd applies
//! its flags at every start): the network's record and address plan change, as long as no container holds an
//! address on it.

use super::{Allocations, Network, NetworkStore, OPT_BRIDGE_NAME, StoreError, StoreResult, Subnet};
use crate::store::IpamConfig;

impl NetworkStore {
    /// Makes the default bridge network match the configured bridge name and `--bip`; returns the network as it
    /// was when it changed (its bridge and rules are the caller's to take down), `None` when nothing had to.
    pub fn reconfigure_default(&self) -> StoreResult<Option<Network>> {
        let current = self.get("bridge")?;
        let Some(spec) = current.bridge_spec() else {
            return Ok(None);
        };
        let (subnet, gateway) = match self.config.bip {
            Some((ip, prefix)) => (Subnet::containing(ip, prefix), ip),
            None => (spec.subnet, spec.gateway),
        };
        let bridge = &self.config.default_bridge;
        if (subnet, gateway) == (spec.subnet, spec.gateway) && *bridge == spec.bridge {
            return Ok(None);
        }
        let _lock = self.lock()?;
        let alloc = self.allocations(&current.id)?;
        if !alloc.used.is_empty() {
            return Err(StoreError::Invalid(format!(
                "the default bridge network is in use by {} container(s): stop them before changing --bip or --bridge",
                alloc.used.len()
            )));
        }
        let mut next = current.clone();
        next.options.insert(OPT_BRIDGE_NAME.to_string(), bridge.clone());
        next.ipam.config = vec![IpamConfig {
            subnet: subnet.to_string(),
            gateway: gateway.to_string(),
            ..Default::default()
        }];
        Self::write_json(
            &self.ipam_path(&current.id),
            &Allocations::new(subnet, gateway),
            true,
        )?;
        Self::write_json(&self.record_path(&current.id), &next, true)?;
        Ok(Some(current))
    }
}
