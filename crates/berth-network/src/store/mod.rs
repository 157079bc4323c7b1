//! The network store under `<data-root>/network/`: one directory per network (`<id>/network.json`, its address
//! allocations `ipam.json`, its DNS names `names.json`), the host ports published by containers (`ports.json`), and a
//! lock file serialising every change across processes (daemon, daemonless CLIs, shims).
//!
//! The predefined networks (`bridge`, `host`, `none`) are made on first use; the default bridge's subnet is `--bip`
//! or the first pool subnet that overlaps neither another network nor anything routed on the host.

mod names;
mod ports;
mod reconfigure;
mod record;

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

pub use ports::{PortRequest, Proto, Published};
pub use record::{
    BridgeSpec, ConfigFrom, CreateRequest, Ipam, IpamConfig, Network, OPT_BRIDGE_NAME, OPT_DEFAULT_BRIDGE,
    OPT_MASQUERADE, OPT_MTU,
};

use crate::fsutil::{Lock, write_atomic};
use crate::ipam::{Allocations, IpamError};
use crate::subnet::{DEFAULT_POOLS, Pool, Subnet, SubnetError};

/// Errors of the network store, in Docker's words.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network {0} is ambiguous ({1} matches found based on ID)")]
    Ambiguous(String, usize),
    #[error("network with name {0} already exists")]
    NameTaken(String),
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    #[error("{0}")]
    Invalid(String),
    #[error("Pool overlaps with other one on this address space")]
    Overlap,
    #[error(transparent)]
    Subnet(#[from] SubnetError),
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error("{0}")]
    PortTaken(String),
    #[error("{ctx}: {source}")]
    Io { ctx: String, source: std::io::Error },
    #[error("corrupt network state {path}: {msg}")]
    Corrupt { path: String, msg: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

fn io<T>(ctx: impl Fn() -> String, r: std::io::Result<T>) -> StoreResult<T> {
    r.map_err(|source| StoreError::Io { ctx: ctx(), source })
}

/// How the store makes its default bridge network, and what it must avoid.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Name of the default bridge interface (`berth0`).
    pub default_bridge: String,
    /// `--bip`: the default bridge's gateway address and prefix.
    pub bip: Option<(Ipv4Addr, u8)>,
    /// `--default-address-pool`s networks without a `--subnet` are carved from.
    pub pools: Vec<Pool>,
    /// The networks routed on the host (its routes and interface addresses), read when a subnet is picked.
    pub host_subnets: fn() -> Vec<Subnet>,
}

impl StoreConfig {
    /// Defaults: `berth0`, pools from 10.89.0.0/16, host routes read through `host_subnets`.
    pub fn new(host_subnets: fn() -> Vec<Subnet>) -> StoreConfig {
        StoreConfig {
            default_bridge: "berth0".into(),
            bip: None,
            pools: DEFAULT_POOLS.to_vec(),
            host_subnets,
        }
    }
}

/// The network store of one data root.
#[derive(Debug)]
pub struct NetworkStore {
    dir: PathBuf,
    config: StoreConfig,
}

const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

fn new_id() -> String {
    rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl NetworkStore {
    pub fn open(data_root: &Path, config: StoreConfig) -> StoreResult<NetworkStore> {
        let dir = data_root.join("network");
        io(|| format!("create {}", dir.display()), fs::create_dir_all(&dir))?;
        Ok(NetworkStore { dir, config })
    }

    fn lock(&self) -> StoreResult<Lock> {
        let path = self.dir.join("lock");
        io(|| format!("lock {}", path.display()), Lock::exclusive(&path))
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("network.json")
    }

    fn ipam_path(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("ipam.json")
    }

    /// The DNS names file of network `id` (written by the engine, read by the containers' DNS servers).
    pub fn names_path(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("names.json")
    }

    fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> StoreResult<T> {
        let bytes = io(|| format!("read {}", path.display()), fs::read(path))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.display().to_string(),
            msg: e.to_string(),
        })
    }

    fn write_json<T: serde::Serialize>(path: &Path, value: &T, durable: bool) -> StoreResult<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
        io(
            || format!("write {}", path.display()),
            write_atomic(path, &bytes, durable),
        )
    }

    /// The network with this exact id (the fast path of a container start, which recorded the id).
    pub fn by_id(&self, id: &str) -> StoreResult<Network> {
        if id.is_empty() || id.contains('/') {
            return Err(StoreError::NotFound(id.to_string()));
        }
        match Self::read_json(&self.record_path(id)) {
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(id.to_string()))
            }
            other => other,
        }
    }

    fn scan(&self) -> StoreResult<Vec<Network>> {
        let entries = io(|| format!("read {}", self.dir.display()), fs::read_dir(&self.dir))?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| n.len() == 64) else {
                continue;
            };
            match self.by_id(name) {
                Ok(n) => out.push(n),
                // A directory whose record is not there yet (being created) or gone (being removed).
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Every network, the predefined ones made if missing.
    pub fn list(&self) -> StoreResult<Vec<Network>> {
        let all = self.scan()?;
        if PREDEFINED.iter().all(|p| all.iter().any(|n| n.name == *p)) {
            return Ok(all);
        }
        self.ensure_predefined()?;
        self.scan()
    }

    /// The network named `reference`, or with that id or unique id prefix.
    pub fn get(&self, reference: &str) -> StoreResult<Network> {
        let all = self.list()?;
        if let Some(n) = all.iter().find(|n| n.id == reference || n.name == reference) {
            return Ok(n.clone());
        }
        let matches: Vec<&Network> = all.iter().filter(|n| n.id.starts_with(reference)).collect();
        match matches.as_slice() {
            [one] if !reference.is_empty() => Ok((*one).clone()),
            [] | [_] => Err(StoreError::NotFound(reference.to_string())),
            many => Err(StoreError::Ambiguous(reference.to_string(), many.len())),
        }
    }

    fn ensure_predefined(&self) -> StoreResult<()> {
        let _lock = self.lock()?;
        let existing = self.scan()?;
        let has = |name: &str| existing.iter().any(|n| n.name == name);
        if !has("bridge") {
            let (subnet, gateway) = match self.config.bip {
                Some((ip, prefix)) => (Subnet::containing(ip, prefix), ip),
                None => {
                    let subnet = self.pick_subnet(&existing)?;
                    (subnet, first_host(subnet)?)
                }
            };
            let options = [
                (OPT_DEFAULT_BRIDGE, "true"),
                ("com.docker.network.bridge.enable_icc", "true"),
                (OPT_MASQUERADE, "true"),
                ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
                (OPT_BRIDGE_NAME, &self.config.default_bridge),
                (OPT_MTU, "1500"),
            ];
            let mut net = base_network("bridge", "bridge");
            net.options = options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            net.ipam.config = vec![IpamConfig {
                subnet: subnet.to_string(),
                gateway: gateway.to_string(),
                ..Default::default()
            }];
            self.persist_new(&net, Some(Allocations::new(subnet, gateway)))?;
        }
        for (name, driver) in [("host", "host"), ("none", "null")] {
            if !has(name) {
                self.persist_new(&base_network(name, driver), None)?;
            }
        }
        Ok(())
    }

    fn persist_new(&self, net: &Network, alloc: Option<Allocations>) -> StoreResult<()> {
        let dir = self.dir.join(&net.id);
        io(|| format!("create {}", dir.display()), fs::create_dir_all(&dir))?;
        if let Some(alloc) = alloc {
            Self::write_json(&self.ipam_path(&net.id), &alloc, true)?;
        }
        // The record last: a directory without one is ignored, so a crash leaves nothing half-made in sight.
        Self::write_json(&self.record_path(&net.id), net, true)
    }

    fn pick_subnet(&self, existing: &[Network]) -> StoreResult<Subnet> {
        let mut taken: Vec<Subnet> = (self.config.host_subnets)();
        taken.extend(existing.iter().filter_map(|n| n.bridge_spec()).map(|b| b.subnet));
        self.config
            .pools
            .iter()
            .find_map(|p| p.first_free(&taken))
            .ok_or_else(|| {
                StoreError::Invalid(
                    "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
                )
            })
    }

    /// Creates a user network (bridge driver).
    pub fn create(&self, req: CreateRequest) -> StoreResult<Network> {
        let driver = if req.driver.is_empty() {
            "bridge"
        } else {
            req.driver.as_str()
        };
        if driver != "bridge" {
            return Err(StoreError::Invalid(format!(
                "could not find plugin {driver} in v1 plugin registry: plugin not found"
            )));
        }
        if req.name.is_empty() {
            return Err(StoreError::Invalid("network name cannot be empty".into()));
        }
        if !valid_name(&req.name) {
            return Err(StoreError::Invalid(format!(
                "invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                req.name
            )));
        }
        if req.enable_ipv6 {
            return Err(StoreError::Invalid("IPv6 networks are not supported".into()));
        }
        let ipam = req.ipam.clone().unwrap_or_default();
        if ipam.config.len() > 1 {
            return Err(StoreError::Invalid(
                "only one IPv4 subnet per network is supported".into(),
            ));
        }
        let wanted = ipam.config.first().cloned().unwrap_or_default();
        let _lock = self.lock()?;
        let existing = self.scan()?;
        if existing.iter().any(|n| n.name == req.name) || PREDEFINED.contains(&req.name.as_str()) {
            return Err(StoreError::NameTaken(req.name));
        }
        let subnet = if wanted.subnet.is_empty() {
            if !wanted.gateway.is_empty() {
                return Err(StoreError::Invalid("a gateway needs a subnet (--subnet)".into()));
            }
            self.pick_subnet(&existing)?
        } else {
            let subnet: Subnet = wanted.subnet.parse()?;
            if existing
                .iter()
                .filter_map(|n| n.bridge_spec())
                .any(|b| b.subnet.overlaps(&subnet))
            {
                return Err(StoreError::Overlap);
            }
            subnet
        };
        let gateway = if wanted.gateway.is_empty() {
            first_host(subnet)?
        } else {
            let gw: Ipv4Addr = wanted
                .gateway
                .parse()
                .map_err(|_| StoreError::Invalid(format!("invalid gateway address {}", wanted.gateway)))?;
            if !subnet.is_host(gw) {
                return Err(StoreError::Invalid(format!(
                    "gateway {gw} is not a usable address of subnet {subnet}"
                )));
            }
            gw
        };
        let mut net = base_network(&req.name, "bridge");
        net.internal = req.internal;
        net.attachable = req.attachable;
        net.labels = req.labels.unwrap_or_default();
        net.options = req.options.unwrap_or_default();
        let bridge = net
            .options
            .entry(OPT_BRIDGE_NAME.to_string())
            .or_insert_with(|| format!("br-{}", &net.id[..12]))
            .clone();
        let name_ok = bridge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if bridge.is_empty() || bridge.len() > 15 || !name_ok || bridge.starts_with('-') {
            return Err(StoreError::Invalid(format!("invalid bridge name {bridge:?}")));
        }
        if existing
            .iter()
            .filter_map(|n| n.bridge_spec())
            .any(|b| b.bridge == bridge)
        {
            return Err(StoreError::Invalid(format!(
                "bridge {bridge} is used by another network"
            )));
        }
        net.ipam = Ipam {
            driver: ipam.driver.clone(),
            options: ipam.options.clone(),
            config: vec![IpamConfig {
                subnet: subnet.to_string(),
                ip_range: String::new(),
                gateway: gateway.to_string(),
            }],
        };
        if net.ipam.driver.is_empty() {
            net.ipam.driver = "default".into();
        }
        self.persist_new(&net, Some(Allocations::new(subnet, gateway)))?;
        Ok(net)
    }

    /// Removes network `id`'s record and files (the caller checked it has no endpoints and took its bridge down).
    pub fn remove(&self, net: &Network) -> StoreResult<()> {
        if PREDEFINED.contains(&net.name.as_str()) {
            return Err(StoreError::Predefined(net.name.clone()));
        }
        let _lock = self.lock()?;
        // The record first, so a crash midway leaves an ignored directory rather than a network without files.
        let record = self.record_path(&net.id);
        io(
            || format!("remove {}", record.display()),
            fs::remove_file(&record),
        )?;
        let _ = fs::remove_dir_all(self.dir.join(&net.id));
        Ok(())
    }

    /// The allocation state of network `id`.
    pub fn allocations(&self, id: &str) -> StoreResult<Allocations> {
        Self::read_json(&self.ipam_path(id))
    }

    /// Gives `owner` an address on network `id` (`want` for a static one).
    pub fn allocate(&self, id: &str, owner: &str, want: Option<Ipv4Addr>) -> StoreResult<Ipv4Addr> {
        let _lock = self.lock()?;
        let mut alloc = self.allocations(id)?;
        let ip = alloc.allocate(owner, want)?;
        Self::write_json(&self.ipam_path(id), &alloc, false)?;
        Ok(ip)
    }

    /// Takes `owner`'s address on network `id` back; Ok if it had none or the network is gone.
    pub fn release(&self, id: &str, owner: &str) -> StoreResult<()> {
        let _lock = self.lock()?;
        let mut alloc = match self.allocations(id) {
            Ok(a) => a,
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if alloc.release(owner) {
            Self::write_json(&self.ipam_path(id), &alloc, false)?;
        }
        Ok(())
    }

    /// Releases every address whose owner `keep` rejects (endpoints of containers that no longer run); returns the
    /// ids of networks that changed.
    pub fn release_stale(&self, keep: &dyn Fn(&str) -> bool) -> StoreResult<Vec<String>> {
        let _lock = self.lock()?;
        let mut changed = Vec::new();
        for net in self.scan()?.iter().filter(|n| n.is_bridge()) {
            let Ok(mut alloc) = self.allocations(&net.id) else {
                continue;
            };
            let before = alloc.used.len();
            alloc.used.retain(|_, owner| keep(owner));
            if alloc.used.len() != before {
                Self::write_json(&self.ipam_path(&net.id), &alloc, false)?;
                changed.push(net.id.clone());
            }
        }
        Ok(changed)
    }
}

fn first_host(subnet: Subnet) -> StoreResult<Ipv4Addr> {
    subnet
        .nth(1)
        .filter(|ip| subnet.is_host(*ip))
        .ok_or_else(|| StoreError::Invalid(format!("subnet {subnet} is too small")))
}

fn base_network(name: &str, driver: &str) -> Network {
    Network {
        name: name.to_string(),
        id: new_id(),
        created: now_rfc3339(),
        scope: "local".into(),
        driver: driver.into(),
        ..Default::default()
    }
}

/// Docker's network name rule.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests;
