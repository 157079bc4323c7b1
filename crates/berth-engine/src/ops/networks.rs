//! `network create|ls|inspect|rm|prune`: user networks, shown with the containers attached to them.

use std::collections::BTreeMap;

use berth_network::store::{CreateRequest, Network};
use berth_network::{firewall, netlink};
use serde::Serialize;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Status;
use crate::network::{Ready, firewall_of, ports, ready_marker, setup};

/// A network as inspect and list show it: the record and the containers attached to it now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkView {
    #[serde(flatten)]
    pub network: Network,
    pub containers: BTreeMap<String, AttachedContainer>,
}

/// A container's endpoint as a network's inspect shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedContainer {
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub mac_address: String,
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

impl Engine {
    /// Creates a user network (its bridge appears with its first container).
    pub fn network_create(&self, req: CreateRequest) -> Result<Network> {
        Ok(self.networks.create(req)?)
    }

    /// Every network, with its attached containers.
    pub fn network_list(&self) -> Result<Vec<NetworkView>> {
        let nets = self.networks.list()?;
        let containers = self.list(true)?;
        Ok(nets
            .into_iter()
            .map(|network| {
                let mut attached = BTreeMap::new();
                for c in &containers {
                    if !matches!(c.state.status, Status::Running | Status::Paused) {
                        continue;
                    }
                    for ep in c.network_settings.networks.values() {
                        if ep.network_id == network.id && !ep.ip_address.is_empty() {
                            attached.insert(
                                c.id.clone(),
                                AttachedContainer {
                                    name: c.bare_name().to_string(),
                                    endpoint_id: ep.endpoint_id.clone(),
                                    mac_address: ep.mac_address.clone(),
                                    ipv4_address: format!("{}/{}", ep.ip_address, ep.ip_prefix_len),
                                    ipv6_address: String::new(),
                                },
                            );
                        }
                    }
                }
                NetworkView {
                    network,
                    containers: attached,
                }
            })
            .collect())
    }

    /// The network named `reference` (name, id or id prefix), with its attached containers.
    pub fn network_inspect(&self, reference: &str) -> Result<NetworkView> {
        let net = self.networks.get(reference)?;
        self.network_list()?
            .into_iter()
            .find(|v| v.network.id == net.id)
            .ok_or_else(|| Error::NotFound(format!("network {reference} not found")))
    }

    /// Removes a user network without running containers, and its bridge and rules.
    pub fn network_remove(&self, reference: &str) -> Result<()> {
        let view = self.network_inspect(reference)?;
        let net = &view.network;
        if matches!(net.name.as_str(), "bridge" | "host" | "none") {
            return Err(Error::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                net.name
            )));
        }
        if !view.containers.is_empty() {
            return Err(Error::Forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                net.name, net.id
            )));
        }
        // Bridge and rules first: if that fails the network stays, to be removed again.
        if let Some(spec) = net.bridge_spec() {
            let ready = Ready::read(&self.opts.paths, &net.id);
            let fw = ready.as_ref().map_or_else(firewall::detect, Ready::backend);
            fw.teardown_network(&setup::rules(&spec)).map_err(setup::fw_err)?;
            if !ready.is_some_and(|r| r.bridge_existed) {
                netlink::Netlink::open()
                    .and_then(|mut nl| nl.delete_link(&spec.bridge))
                    .map_err(setup::net_err)?;
            }
            let _ = std::fs::remove_file(ready_marker(&self.opts.paths, &net.id));
        }
        self.networks.remove(net)?;
        Ok(())
    }

    /// Removes every user network no running container uses whose labels match `labels` (`key` or `key=value`);
    /// returns the names removed.
    pub fn network_prune(&self, labels: &[String]) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for view in self.network_list()? {
            let net = &view.network;
            let predefined = matches!(net.name.as_str(), "bridge" | "host" | "none");
            let labelled = labels.iter().all(|l| match l.split_once('=') {
                Some((k, v)) => net.labels.get(k).is_some_and(|x| x == v),
                None => net.labels.contains_key(l),
            });
            if predefined || !view.containers.is_empty() || !labelled {
                continue;
            }
            self.network_remove(&net.id)?;
            removed.push(net.name.clone());
        }
        Ok(removed)
    }
}

impl Engine {
    /// Makes the network state agree with the containers after a daemon (re)start or a crash: the rules of owners
    /// that no longer run are removed (a shim killed with -9 takes nobody's ports down), their addresses, host ports
    /// and DNS names released, namespaces nobody runs in unmounted; networks with running containers get their
    /// bridge and rules made again (flushed rules come back) and their containers' published ports re-published.
    pub fn network_restore(&self) -> Result<()> {
        let running: Vec<crate::model::Container> = self.list(false)?;
        let keep = |owner: &str| running.iter().any(|c| c.id == owner);
        let nets = self.networks.list()?;
        let bridges: Vec<_> = nets
            .iter()
            .filter_map(|n| n.bridge_spec().map(|s| (n, s)))
            .collect();
        for owner in self.networks.publishers()?.iter().filter(|o| !keep(o)) {
            for (net, spec) in &bridges {
                let _ = firewall_of(&self.opts.paths, &net.id).remove_ports(&setup::rules(spec), owner);
            }
        }
        self.networks.release_stale(&keep)?;
        self.networks.unpublish_where(&|owner| !keep(owner))?;
        self.networks.prune_names(&keep)?;
        if let Ok(entries) = std::fs::read_dir(self.opts.paths.exec_root.join("netns")) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                match name.strip_suffix(".joiners") {
                    Some(owner) if !keep(owner) => {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                    Some(_) => {}
                    None if !keep(&name) => {
                        let _ = berth_network::netns::remove(&e.path());
                    }
                    None => {}
                }
            }
        }
        for (net, spec) in &bridges {
            let users: Vec<_> = running
                .iter()
                .filter(|c| {
                    c.network_settings
                        .networks
                        .values()
                        .any(|e| e.network_id == net.id)
                })
                .collect();
            if users.is_empty() {
                continue;
            }
            let fw = setup::ensure_ready(self, net, spec, true)?;
            for c in users {
                let ip = c
                    .network_settings
                    .networks
                    .values()
                    .find(|e| e.network_id == net.id)
                    .and_then(|e| e.ip_address.parse().ok());
                let mappings = ip
                    .map(|ip| ports::mappings(&c.network_settings.ports, ip))
                    .unwrap_or_default();
                if !mappings.is_empty() {
                    let rules = setup::rules(spec);
                    let _ = fw.remove_ports(&rules, &c.id);
                    fw.add_ports(&rules, &c.id, &mappings).map_err(setup::fw_err)?;
                }
            }
        }
        Ok(())
    }
}
