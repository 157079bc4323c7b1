//! Containers on networks: the network options of an engine, what a container's `NetworkMode` means, and the
//! pieces that give a container its network at start ([`setup`]) and take it back at exit ([`teardown`]).

mod endpoints;
mod files;
mod mode;
pub(crate) mod ports;
pub(crate) mod setup;
pub(crate) mod teardown;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_network::store::{NetworkStore, StoreConfig, StoreError};
use berth_network::subnet::{DEFAULT_POOLS, Pool, Subnet};

pub use endpoints::NetworkingConfig;
pub(crate) use mode::Mode;

use crate::error::Error;
use crate::paths::Paths;

/// How the engine's default bridge network is made.
#[derive(Debug, Clone)]
pub struct NetworkOptions {
    /// The default bridge's interface (`--bridge`, default `berth0`).
    pub bridge: String,
    /// `--bip`: the default bridge's address and prefix.
    pub bip: Option<(Ipv4Addr, u8)>,
    /// `--default-address-pool`s.
    pub pools: Vec<Pool>,
    /// Whether `--bridge` or `--bip` were given: the default bridge network then follows them (when no container is
    /// on it), as dockerd's does at each start.
    pub explicit: bool,
}

impl Default for NetworkOptions {
    fn default() -> NetworkOptions {
        NetworkOptions {
            bridge: "berth0".into(),
            bip: None,
            pools: DEFAULT_POOLS.to_vec(),
            explicit: false,
        }
    }
}

/// Makes the default bridge network follow explicitly given `--bridge`/`--bip`: a changed network's old bridge (if
/// berth made it) and rules are taken down, to be made anew at its next use.
pub(crate) fn follow_options(paths: &Paths, store: &NetworkStore) -> Result<(), Error> {
    let Some(old) = store.reconfigure_default()? else {
        return Ok(());
    };
    if let (Some(spec), Some(ready)) = (old.bridge_spec(), Ready::read(paths, &old.id)) {
        let _ = ready.backend().teardown_network(&setup::rules(&spec));
        if !ready.bridge_existed {
            let _ = berth_network::netlink::Netlink::open().and_then(|mut nl| nl.delete_link(&spec.bridge));
        }
    }
    let _ = std::fs::remove_file(ready_marker(paths, &old.id));
    Ok(())
}

/// The networks routed on this host: destinations of its IPv4 routes (new subnets must not overlap them).
fn host_subnets() -> Vec<Subnet> {
    berth_network::netlink::Netlink::open()
        .and_then(|mut nl| nl.routes_v4())
        .map(|routes| {
            routes
                .into_iter()
                .filter(|(_, prefix)| *prefix > 0)
                .map(|(ip, prefix)| Subnet::containing(ip, prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Opens the network store of `paths` with `opts`.
pub(crate) fn open_store(paths: &Paths, opts: &NetworkOptions) -> Result<NetworkStore, Error> {
    let mut config = StoreConfig::new(host_subnets);
    config.default_bridge = opts.bridge.clone();
    config.bip = opts.bip;
    config.pools = opts.pools.clone();
    NetworkStore::open(&paths.data_root, config).map_err(Error::from)
}

/// The number that names a container's host-side interface on network `network_id` (see
/// [`berth_network::netlink::veth_name`]): 0 for its primary network's, else one derived from the network, so it
/// stays the same whatever other networks are connected or disconnected.
pub(crate) fn veth_index(network_id: &str, primary: bool) -> usize {
    if primary {
        return 0;
    }
    1 + network_id
        .get(..6)
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

/// `<exec-root>/netns/<id>`: the network namespace of a container on a bridge network.
pub(crate) fn netns_path(paths: &Paths, id: &str) -> PathBuf {
    paths.exec_root.join("netns").join(id)
}

/// `<namespace file>.joiners/`: one empty file per running container that joined this namespace
/// (`--network container:NAME`).
pub(crate) fn joiners_dir(netns: &std::path::Path) -> PathBuf {
    let mut name = netns.as_os_str().to_os_string();
    name.push(".joiners");
    PathBuf::from(name)
}

/// `<exec-root>/network/<network id>.ready`: present once the network's bridge and rules were set up since boot
/// (the exec root is on tmpfs, like the bridge and the rules themselves); see [`Ready`].
pub(crate) fn ready_marker(paths: &Paths, network_id: &str) -> PathBuf {
    paths
        .exec_root
        .join("network")
        .join(format!("{network_id}.ready"))
}

/// What a network's ready marker records: the firewall backend its rules are in, and whether its bridge was there
/// before berth set the network up (such a bridge — made by the admin — is never deleted by berth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ready {
    pub(crate) firewall: String,
    pub(crate) bridge_existed: bool,
}

impl Ready {
    pub(crate) fn read(paths: &Paths, network_id: &str) -> Option<Ready> {
        let text = std::fs::read_to_string(ready_marker(paths, network_id)).ok()?;
        let mut words = text.split_whitespace();
        Some(Ready {
            firewall: words.next()?.to_string(),
            bridge_existed: words.next() == Some("existing-bridge"),
        })
    }

    pub(crate) fn encode(&self) -> String {
        if self.bridge_existed {
            format!("{} existing-bridge\n", self.firewall)
        } else {
            format!("{}\n", self.firewall)
        }
    }

    /// The firewall backend of these rules.
    pub(crate) fn backend(&self) -> Box<dyn berth_network::firewall::Firewall> {
        berth_network::firewall::by_name(&self.firewall).unwrap_or_else(berth_network::firewall::detect)
    }
}

/// The firewall backend of network `network_id`'s rules (the detected one if it was never set up).
pub(crate) fn firewall_of(paths: &Paths, network_id: &str) -> Box<dyn berth_network::firewall::Firewall> {
    Ready::read(paths, network_id).map_or_else(berth_network::firewall::detect, |r| r.backend())
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound(_) => Error::NotFound(e.to_string()),
            StoreError::NameTaken(_) => Error::Conflict(e.to_string()),
            StoreError::Predefined(_) | StoreError::Overlap => Error::Forbidden(e.to_string()),
            StoreError::Ambiguous(..) | StoreError::Invalid(_) | StoreError::Subnet(_) => {
                Error::InvalidArgument(e.to_string())
            }
            StoreError::Ipam(ref ipam) => match ipam {
                berth_network::ipam::IpamError::InUse(_) => Error::Conflict(e.to_string()),
                _ => Error::InvalidArgument(e.to_string()),
            },
            StoreError::PortTaken(m) => Error::Runtime(format!(
                "driver failed programming external connectivity on endpoint: {m}"
            )),
            StoreError::Io { ctx, source } => Error::Io { context: ctx, source },
            StoreError::Corrupt { path, msg } => Error::Corrupt { path, message: msg },
        }
    }
}
