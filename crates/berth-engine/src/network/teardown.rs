//! Taking a container's network back when it stops (from its shim), when its start fails, or when its shim is found
//! dead: published ports (rules and host ports), DNS names, addresses, and the namespace with its interfaces.
//! Best effort: each part is released even if another fails, and releasing twice is harmless.

use berth_network::store::NetworkStore;

use super::{firewall_of, netns_path, setup};
use crate::model::NetworkSettings;
use crate::paths::Paths;

/// Releases what [`setup`] gave container `id`, as recorded in `settings`.
pub(crate) fn release(paths: &Paths, store: &NetworkStore, id: &str, settings: &NetworkSettings) {
    release_fast(paths, store, id, settings);
    release_ports(paths, store, id, settings);
}

/// The quick part of [`release`] (well under a millisecond): the namespace — the veth pairs go with it once nothing
/// holds it — and the DNS names and addresses.
fn release_fast(paths: &Paths, store: &NetworkStore, id: &str, settings: &NetworkSettings) {
    let _ = berth_network::netns::remove(&netns_path(paths, id));
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
