//! Giving a container its network at start: for a bridge network, a network namespace of its own (a bind-mounted
//! file the runtime joins), an address from the network's pool, a veth pair onto the bridge (the bridge and its
//! firewall rules made first if this boot has not made them yet), published ports, DNS names on user networks;
//! for the other modes, what to join. The result carries the /etc files and the settings inspect shows.

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_network::firewall::{self, Firewall, NetworkRules};
use berth_network::netlink::{self, Netlink};
use berth_network::store::{BridgeSpec, Network};

use super::files::{self, DnsOverrides};
use super::{Mode, Ready, netns_path, ports, ready_marker, teardown, veth_index};
use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{Durability, write_atomic};
use crate::model::{Container, EndpointSettings, NetworkSettings, Status};

/// What a container's start needs from its network.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// The network namespace the container joins; `None` for a new loopback-only one (mode none) or, in host mode,
    /// the host's.
    pub(crate) netns: Option<PathBuf>,
    pub(crate) settings: NetworkSettings,
    pub(crate) hosts: String,
    pub(crate) resolv: String,
    /// The embedded DNS server the shim runs for a container on user networks.
    pub(crate) dns: Option<crate::shim::DnsLaunch>,
}

/// The firewall description of a bridge network.
pub(crate) fn rules(spec: &BridgeSpec) -> NetworkRules {
    NetworkRules {
        bridge: spec.bridge.clone(),
        subnet: spec.subnet.addr(),
        prefix: spec.subnet.prefix(),
        internal: spec.internal,
        masquerade: spec.masquerade,
    }
}

/// Makes network `net`'s bridge and rules if this boot has not (or the bridge vanished); `force` makes them again
/// whatever the marker says (a daemon's restore: the rules may have been flushed). Returns the firewall backend.
pub(crate) fn ensure_ready(
    engine: &Engine,
    net: &Network,
    spec: &BridgeSpec,
    force: bool,
) -> Result<Box<dyn Firewall>> {
    let paths = &engine.opts.paths;
    let marker = ready_marker(paths, &net.id);
    let mut nl = Netlink::open().map_err(net_err)?;
    let ready = |nl: &mut Netlink| -> Result<Option<Box<dyn Firewall>>> {
        if let Some(r) = Ready::read(paths, &net.id)
            && nl.link_index(&spec.bridge).map_err(net_err)?.is_some()
        {
            return Ok(Some(r.backend()));
        }
        Ok(None)
    };
    if !force && let Some(fw) = ready(&mut nl)? {
        return Ok(fw);
    }
    // One maker at a time (threads of a daemon, processes): the others find it made.
    let dir = marker.parent().unwrap_or(&paths.exec_root);
    fs::create_dir_all(dir).ctx(|| format!("create {}", dir.display()))?;
    let lock_path = marker.with_extension("lock");
    let lock = fs::File::create(&lock_path).ctx(|| format!("create {}", lock_path.display()))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io("lock network setup", e.into()))?;
    if !force && let Some(fw) = ready(&mut nl)? {
        return Ok(fw);
    }
    let known = Ready::read(paths, &net.id);
    let bridge_existed = match &known {
        Some(r) => r.bridge_existed,
        None => nl.link_index(&spec.bridge).map_err(net_err)?.is_some(),
    };
    nl.ensure_bridge(
        &spec.bridge,
        spec.gateway,
        spec.subnet.prefix(),
        firewall::BRIDGE_GROUP,
        spec.mtu,
    )
    .map_err(net_err)?;
    // Published ports answer on the host's 127.0.0.1 through DNAT into the bridge.
    netlink::set_sysctl(&spec.bridge, "route_localnet", "1").map_err(net_err)?;
    if !spec.internal {
        netlink::enable_ip_forward().map_err(net_err)?;
    }
    let fw = known.map_or_else(firewall::detect, |r| r.backend());
    fw.setup_network(&rules(spec)).map_err(fw_err)?;
    let ready = Ready {
        firewall: fw.name().to_string(),
        bridge_existed,
    };
    write_atomic(&marker, ready.encode().as_bytes(), Durability::Volatile)
        .ctx(|| "mark network ready".into())?;
    Ok(fw)
}

pub(crate) fn net_err(e: berth_network::Error) -> Error {
    Error::Runtime(format!("network setup: {e}"))
}

pub(crate) fn fw_err(e: firewall::Error) -> Error {
    Error::Runtime(format!("firewall: {e}"))
}

/// The container's endpoints in interface order: the network of its mode first, then the others by name.
fn ordered_endpoints<'a>(c: &'a Container, primary: &str) -> Vec<(&'a String, &'a EndpointSettings)> {
    let mut eps: Vec<_> = c.network_settings.networks.iter().collect();
    eps.sort_by_key(|(name, _)| (name.as_str() != primary, name.as_str()));
    eps
}

impl Engine {
    /// Gives container `c` its network for a start (see the module doc). Anything made is undone on failure.
    pub(crate) fn network_plan(&self, c: &Container) -> Result<Plan> {
        let hc = &c.host_config;
        let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let overrides = DnsOverrides {
            servers: &hc.dns,
            search: &hc.dns_search,
            options: &hc.dns_options,
        };
        let hostname = crate::spec::hostname(c);
        let extra_hosts = hc.extra_hosts.as_deref().unwrap_or(&[]);
        match Mode::parse(&hc.network_mode) {
            Mode::Host => Ok(Plan {
                hosts: fs::read_to_string("/etc/hosts").unwrap_or_default()
                    + &files::extra_host_lines(extra_hosts, None)?,
                // The host's resolvers, loopback ones included (the container is in the host's namespace).
                resolv: files::resolv_conf_host_mode(&host_resolv, overrides),
                settings: NetworkSettings {
                    networks: c.network_settings.networks.clone(),
                    ..Default::default()
                },
                ..Default::default()
            }),
            Mode::None => Ok(Plan {
                hosts: files::hosts_file(
                    &hostname,
                    c.bare_name(),
                    None,
                    &files::extra_host_lines(extra_hosts, None)?,
                ),
                resolv: files::resolv_conf(&host_resolv, overrides, false),
                settings: NetworkSettings {
                    networks: c.network_settings.networks.clone(),
                    ..Default::default()
                },
                ..Default::default()
            }),
            Mode::Container(other) => self.join_plan(other, &c.id),
            Mode::Network(primary) => {
                let mut plan = Plan {
                    netns: Some(netns_path(&self.opts.paths, &c.id)),
                    ..Default::default()
                };
                // Whatever fails once the namespace exists gives everything made so far back.
                let made = self.attach_networks(c, primary, &mut plan).and_then(|()| {
                    let ep = plan.settings.networks.get(primary);
                    let ip = ep.and_then(|e| e.ip_address.parse::<Ipv4Addr>().ok());
                    let gateway = ep.and_then(|e| e.gateway.parse::<Ipv4Addr>().ok());
                    plan.hosts = files::hosts_file(
                        &hostname,
                        c.bare_name(),
                        ip,
                        &files::extra_host_lines(extra_hosts, gateway)?,
                    );
                    Ok(())
                });
                if let Err(e) = made {
                    teardown::release(&self.opts.paths, &self.networks, &c.id, &plan.settings);
                    return Err(e);
                }
                let embedded = plan.dns.is_some();
                plan.resolv = files::resolv_conf(&host_resolv, overrides, embedded);
                // Containers only on internal networks get no answers from outside (as in Docker).
                let internal_only = plan.settings.networks.values().all(|e| e.gateway.is_empty());
                if let Some(dns) = &mut plan.dns
                    && !internal_only
                {
                    dns.upstreams = files::upstream_servers(&host_resolv, &hc.dns);
                }
                Ok(plan)
            }
        }
    }

    /// `container:NAME`: join that running container's namespace and share its /etc files. The joiner is noted
    /// beside the namespace (see [`super::joiners_dir`]), so that when the owner stops its interfaces go with it.
    fn join_plan(&self, other: &str, joiner: &str) -> Result<Plan> {
        let id = self.containers.resolve(other)?;
        let o = self.containers.load(&id)?;
        if o.state.status != Status::Running || !self.is_alive(&o) {
            return Err(Error::Conflict(format!(
                "cannot join network of a non running container: {other}"
            )));
        }
        let own = netns_path(&self.opts.paths, &id);
        let netns = if own.exists() {
            own
        } else if o.host_config.network_mode == "host" {
            return Err(Error::InvalidArgument(format!(
                "cannot join the network of container {other}: it uses the host's network"
            )));
        } else {
            PathBuf::from(format!("/proc/{}/ns/net", o.state.pid))
        };
        let dir = self.opts.paths.runtime_dir(&id);
        let read = |name: &str| fs::read_to_string(dir.join(name)).ctx(|| format!("read {name} of {other}"));
        let (hosts, resolv) = (read("hosts")?, read("resolv.conf")?);
        // (A loopback-only namespace, joined through /proc, has no interfaces to take away.)
        if netns == netns_path(&self.opts.paths, &id) {
            let joiners = super::joiners_dir(&netns);
            fs::create_dir_all(&joiners).ctx(|| format!("create {}", joiners.display()))?;
            fs::write(joiners.join(joiner), b"").ctx(|| "note the joiner".to_string())?;
        }
        Ok(Plan {
            settings: NetworkSettings {
                sandbox_key: netns.display().to_string(),
                ..Default::default()
            },
            netns: Some(netns),
            hosts,
            resolv,
            ..Default::default()
        })
    }

    /// Creates the namespace and one interface per network of `c` (eth0 on `primary`), filling `plan.settings`
    /// as it goes so a failure can be undone from what it holds.
    fn attach_networks(&self, c: &Container, primary: &str, plan: &mut Plan) -> Result<()> {
        let Some(netns) = plan.netns.clone() else {
            return Ok(());
        };
        if let Some(dir) = netns.parent() {
            fs::create_dir_all(dir).ctx(|| format!("create {}", dir.display()))?;
        }
        // A namespace file left by a starter killed mid-start would make the create fail.
        let _ = berth_network::netns::remove(&netns);
        berth_network::netns::create(&netns).map_err(net_err)?;
        plan.settings.sandbox_key = netns.display().to_string();
        plan.settings.sandbox_id = c.id.clone();
        let eps = ordered_endpoints(c, primary);
        if eps.is_empty() {
            return Err(Error::NotFound(format!("network {primary} not found")));
        }
        let mut tables = Vec::new();
        for (index, (name, asked)) in eps.into_iter().enumerate() {
            let net = match self.networks.by_id(&asked.network_id) {
                Ok(n) => n,
                Err(_) => self.networks.get(name)?,
            };
            let spec = net.bridge_spec().ok_or_else(|| {
                Error::InvalidArgument(format!("network {name} cannot be joined with other networks"))
            })?;
            let fw = ensure_ready(self, &net, &spec, false)?;
            let want = asked
                .ipam_config
                .as_ref()
                .map(|i| i.ipv4_address.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<Ipv4Addr>())
                .transpose()
                .map_err(|_| Error::InvalidArgument(format!("invalid IPv4 address for network {name}")))?;
            let ip = self.networks.allocate(&net.id, &c.id, want)?;
            let mac = netlink::mac_from_ip(ip);
            let mut ep = asked.clone();
            fill_endpoint(&mut ep, &c.id, &net, &spec, ip, mac);
            plan.settings.networks.insert(name.clone(), ep.clone());
            let gateway = (index == 0 && !spec.internal).then_some(spec.gateway);
            let host_if = netlink::veth_name(&c.id, veth_index(&net.id, index == 0));
            netlink::attach_container(
                &netns,
                &netlink::Attachment {
                    bridge: &spec.bridge,
                    host_if: &host_if,
                    ns_if: &format!("eth{index}"),
                    mac,
                    ip,
                    prefix: spec.subnet.prefix(),
                    gateway,
                    mtu: spec.mtu,
                },
            )
            .map_err(net_err)?;
            // Its own published ports reach a container too (hairpin through its bridge port).
            netlink::set_hairpin(&host_if).map_err(net_err)?;
            if net.is_default_bridge() {
                let s = &mut plan.settings;
                s.ip_address = ep.ip_address.clone();
                s.ip_prefix_len = ep.ip_prefix_len;
                s.gateway = ep.gateway.clone();
                s.mac_address = ep.mac_address.clone();
                s.endpoint_id = ep.endpoint_id.clone();
            } else {
                self.networks
                    .register_names(&net.id, &c.id, dns_names(c, &ep), ip)?;
                tables.push(self.networks.names_path(&net.id));
            }
            if index == 0 {
                self.publish_ports(c, &*fw, &spec, ip, &mut plan.settings)?;
            }
        }
        if !tables.is_empty() {
            plan.dns = Some(crate::shim::DnsLaunch {
                netns: netns.clone(),
                tables,
                upstreams: Vec::new(),
            });
        }
        Ok(())
    }

    fn publish_ports(
        &self,
        c: &Container,
        fw: &dyn Firewall,
        spec: &BridgeSpec,
        ip: Ipv4Addr,
        settings: &mut NetworkSettings,
    ) -> Result<()> {
        let requests = ports::requests(c)?;
        let published = if requests.is_empty() || spec.internal {
            Vec::new()
        } else {
            self.networks.publish(&c.id, &requests)?
        };
        settings.ports = ports::ports_map(c, &published);
        let mappings = ports::mappings(&settings.ports, ip);
        if mappings.is_empty() {
            return Ok(());
        }
        fw.add_ports(&rules(spec), &c.id, &mappings).map_err(fw_err)
    }
}

/// Records in `ep` what container `id` got on `net`.
pub(crate) fn fill_endpoint(
    ep: &mut EndpointSettings,
    id: &str,
    net: &Network,
    spec: &BridgeSpec,
    ip: Ipv4Addr,
    mac: [u8; 6],
) {
    ep.network_id = net.id.clone();
    ep.endpoint_id = endpoint_id(id, &net.id);
    ep.ip_address = ip.to_string();
    ep.ip_prefix_len = spec.subnet.prefix();
    ep.gateway = if spec.internal {
        String::new()
    } else {
        spec.gateway.to_string()
    };
    ep.mac_address = mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
}

/// The names container `c` answers to on a user network (as in Docker): its name, short id and the endpoint's
/// aliases.
pub(crate) fn dns_names(c: &Container, ep: &EndpointSettings) -> Vec<String> {
    let mut names = vec![c.bare_name().to_string(), crate::ids::short(&c.id).to_string()];
    names.extend(ep.aliases.iter().flatten().cloned());
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    names
}

/// A stable endpoint id for container `id` on network `net`.
fn endpoint_id(id: &str, net: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!("{id}/{net}")))
}
