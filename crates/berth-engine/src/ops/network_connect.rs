//! `network connect|disconnect`: add or remove a container's endpoint on a user network — recorded for its next
//! start when it is stopped, and made or taken down at once (an interface in its namespace) when it runs.

use berth_network::netlink::{self, Netlink};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{Container, EndpointSettings, Status};
use crate::network::{Mode, netns_path, setup, teardown, veth_index};
use crate::shim;

impl Engine {
    /// Changes the names files the embedded DNS server of running container `id` consults (none without one: a
    /// container started on the default bridge keeps the host's resolvers, as in Docker).
    fn follow_names(&self, id: &str, change: impl FnOnce(&mut Vec<std::path::PathBuf>)) -> Result<()> {
        let list = self.opts.paths.runtime_dir(id).join(shim::dns::TABLES_FILE);
        let Some(mut tables) = shim::dns::read_list(&list) else {
            return Ok(());
        };
        change(&mut tables);
        shim::dns::write_list(&list, &tables).map_err(|e| Error::io("write the DNS tables list", e))
    }

    fn connectable(&self, c: &Container) -> Result<()> {
        match Mode::parse(&c.host_config.network_mode) {
            Mode::Network(_) => Ok(()),
            Mode::Host => Err(Error::Forbidden(
                "container cannot be disconnected from host network or connected to host network".into(),
            )),
            _ => Err(Error::Forbidden(
                "container sharing network namespace with another container or host cannot be connected to any other network".into(),
            )),
        }
    }

    /// Connects container `container` to network `network` with `asked` (aliases, a static address).
    pub fn network_connect(&self, network: &str, container: &str, asked: EndpointSettings) -> Result<()> {
        let net = self.networks.get(network)?;
        let id = self.containers.resolve(container)?;
        let c = self.reconcile(self.containers.load(&id)?)?;
        self.connectable(&c)?;
        let spec = net.bridge_spec().ok_or_else(|| {
            Error::Forbidden(format!("container cannot be connected to network {}", net.name))
        })?;
        if c.network_settings
            .networks
            .values()
            .any(|e| e.network_id == net.id)
        {
            return Err(Error::Forbidden(format!(
                "endpoint with name {} already exists in network {}",
                c.bare_name(),
                net.name
            )));
        }
        if net.is_default_bridge() && asked.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
            return Err(Error::InvalidArgument(
                "network-scoped alias is supported only for containers in user defined networks".into(),
            ));
        }
        let mut ep = asked;
        ep.network_id = net.id.clone();
        ep.clear_runtime();
        if matches!(c.state.status, Status::Running | Status::Paused) {
            ep = self.attach_running(&c, &net, &spec, ep)?;
        }
        self.containers.update(&id, |c| {
            c.network_settings.networks.insert(net.name.clone(), ep);
            Ok(())
        })?;
        Ok(())
    }

    /// Gives running container `c` an interface on `net` now.
    fn attach_running(
        &self,
        c: &Container,
        net: &berth_network::store::Network,
        spec: &berth_network::store::BridgeSpec,
        mut ep: EndpointSettings,
    ) -> Result<EndpointSettings> {
        let netns = netns_path(&self.opts.paths, &c.id);
        setup::ensure_ready(self, net, spec, false)?;
        let want = ep
            .ipam_config
            .as_ref()
            .map(|i| i.ipv4_address.as_str())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| Error::InvalidArgument("invalid IPv4 address".into()))?;
        let ip = self.networks.allocate(&net.id, &c.id, want)?;
        let made = (|| {
            let mut inside = Netlink::open_in(&netns).map_err(setup::net_err)?;
            let mut n = 1;
            while inside
                .link_index(&format!("eth{n}"))
                .map_err(setup::net_err)?
                .is_some()
            {
                n += 1;
            }
            let mac = netlink::mac_from_ip(ip);
            let host_if = netlink::veth_name(&c.id, veth_index(&net.id, false));
            netlink::attach_container(
                &netns,
                &netlink::Attachment {
                    bridge: &spec.bridge,
                    host_if: &host_if,
                    ns_if: &format!("eth{n}"),
                    mac,
                    ip,
                    prefix: spec.subnet.prefix(),
                    gateway: None,
                    mtu: spec.mtu,
                },
            )
            .map_err(setup::net_err)?;
            // Its own published ports reach a container too (hairpin through its bridge port).
            netlink::set_hairpin(&host_if).map_err(setup::net_err)?;
            Ok::<_, Error>(mac)
        })();
        let mac = match made {
            Ok(mac) => mac,
            Err(e) => {
                let _ = self.networks.release(&net.id, &c.id);
                return Err(e);
            }
        };
        setup::fill_endpoint(&mut ep, &c.id, net, spec, ip, mac);
        if !net.is_default_bridge() {
            self.networks
                .register_names(&net.id, &c.id, setup::dns_names(c, &ep), ip)?;
            self.follow_names(&c.id, |tables| tables.push(self.networks.names_path(&net.id)))?;
        }
        Ok(ep)
    }

    /// Disconnects container `container` from network `network`.
    pub fn network_disconnect(&self, network: &str, container: &str, _force: bool) -> Result<()> {
        let net = self.networks.get(network)?;
        let id = self.containers.resolve(container)?;
        let c = self.reconcile(self.containers.load(&id)?)?;
        let Some((name, ep)) = c
            .network_settings
            .networks
            .iter()
            .find(|(_, e)| e.network_id == net.id)
        else {
            return Err(Error::Forbidden(format!(
                "container {} is not connected to network {}",
                c.id, net.name
            )));
        };
        if matches!(Mode::parse(&c.host_config.network_mode), Mode::Host) {
            self.connectable(&c)?;
        }
        if !ep.ip_address.is_empty() && matches!(c.state.status, Status::Running | Status::Paused) {
            let primary = Mode::parse(&c.host_config.network_mode) == Mode::Network(name.as_str());
            if primary {
                // The published ports point at the address this network gave: they go with it.
                teardown::release_ports(&self.opts.paths, &self.networks, &id, &c.network_settings);
                self.containers.update(&id, |c| {
                    c.network_settings.ports.clear();
                    Ok(())
                })?;
            }
            let veth = netlink::veth_name(&c.id, veth_index(&net.id, primary));
            Netlink::open()
                .and_then(|mut nl| nl.delete_link(&veth))
                .map_err(setup::net_err)?;
            let _ = self.networks.unregister_names(&net.id, &id);
            self.networks.release(&net.id, &id)?;
            let names = self.networks.names_path(&net.id);
            self.follow_names(&id, |tables| tables.retain(|t| *t != names))?;
        }
        let name = name.clone();
        self.containers.update(&id, |c| {
            c.network_settings.networks.remove(&name);
            Ok(())
        })?;
        Ok(())
    }
}
