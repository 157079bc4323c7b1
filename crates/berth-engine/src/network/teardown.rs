//! Taking a container's network back when it stops (from its shim), when its start fails, or when its shim is found
//! dead: published ports (rules and host ports), DNS names, addresses, and the namespace with its interfaces.
//! Best effort: each part is released even if another fails, and releasing twice is harmless.

use berth_network::store::NetworkStore;

use std::path::Path;

use super::{firewall_of, joiners_dir, netns_path, setup, veth_index};
use crate::model::NetworkSettings;
use crate::paths::Paths;

/// Whether a start gave the container anything to release: an address, a namespace of its own or a joined one (mode
/// none and host containers have nothing, and skip the store altogether).
pub(crate) fn holds_anything(settings: &NetworkSettings) -> bool {
    !settings.sandbox_key.is_empty()
        || settings.networks.values().any(|e| !e.ip_address.is_empty())
        || settings
            .ports
            .values()
            .any(|b| b.as_ref().is_some_and(|b| !b.is_empty()))
}

/// Releases what [`setup`] gave container `id`, as recorded in `settings`.
pub(crate) fn release(paths: &Paths, store: &NetworkStore, id: &str, settings: &NetworkSettings) {
    if !holds_anything(settings) {
        return;
    }
    release_fast(paths, store, id, settings);
    release_ports(paths, store, id, settings);
}

/// The quick part of [`release`] (well under a millisecond): the namespace — the veth pairs go with it once nothing
/// holds it — and the DNS names and addresses.
fn release_fast(paths: &Paths, store: &NetworkStore, id: &str, settings: &NetworkSettings) {
    let own = netns_path(paths, id);
    if !settings.sandbox_key.is_empty() && Path::new(&settings.sandbox_key) != own {
        // A joiner leaves its note beside the namespace it joined.
        let _ = std::fs::remove_file(joiners_dir(Path::new(&settings.sandbox_key)).join(id));
    }
    let joiners = joiners_dir(&own);
    if std::fs::read_dir(&joiners).is_ok_and(|mut d| d.next().is_some()) {
        // Containers that joined this one's namespace still run in it: its interfaces (and the addresses released
        // below) must not stay with them. Deleting a veth waits for the kernel (tens of ms); only this case pays.
        if let Ok(mut nl) = berth_network::netlink::Netlink::open() {
            for ep in settings.networks.values() {
                for primary in [true, false] {
                    let name = berth_network::netlink::veth_name(id, veth_index(&ep.network_id, primary));
                    let _ = nl.delete_link(&name);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&joiners);
    let _ = berth_network::netns::remove(&own);
    for ep in settings.networks.values() {
        let Ok(net) = store.by_id(&ep.network_id) else {
            continue;
        };
        if !net.is_default_bridge() {
            let _ = store.unregister_names(&net.id, id);
        }
        let _ = store.release(&net.id, id);
    }
}

/// The slow part of [`release`]: the published ports' rules (removing nftables rules waits ~15 ms for the kernel)
/// and host ports.
pub(crate) fn release_ports(paths: &Paths, store: &NetworkStore, id: &str, settings: &NetworkSettings) {
    let published = settings
        .ports
        .values()
        .any(|b| b.as_ref().is_some_and(|b| !b.is_empty()));
    if !published {
        return;
    }
    for ep in settings.networks.values() {
        let Some((net, spec)) = store
            .by_id(&ep.network_id)
            .ok()
            .and_then(|n| n.bridge_spec().map(|s| (n, s)))
        else {
            continue;
        };
        let _ = firewall_of(paths, &net.id).remove_ports(&setup::rules(&spec), id);
    }
    let _ = store.unpublish(id);
}

/// Forgets what a start gave the container's endpoints, as Docker shows a stopped container.
pub(crate) fn clear_settings(settings: &mut NetworkSettings) {
    for ep in settings.networks.values_mut() {
        ep.clear_runtime();
    }
    let networks = std::mem::take(&mut settings.networks);
    *settings = NetworkSettings {
        networks,
        ..Default::default()
    };
}
