//! The daemon side of the API: the shared state every handler reaches ([`Daemon`]), the router, and the connection
//! loop that serves it on each listener. Handlers run engine calls (synchronous, file- and process-bound) on the
//! blocking pool, never on the async workers.

mod archive;
mod attach;
mod containers;
pub mod daemon;
mod exec;
mod images;
mod lifecycle;
pub mod listen;
mod logs;
mod monitor;
mod network_filter;
mod networks;
mod params;
mod port_summary;
mod progress;
mod registry;
mod router;
mod slots;
mod stats;
mod streams;
mod system;
pub mod tls;
mod transfer;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use berth_engine::Engine;

use crate::error::{Error, Result};
use crate::events::{Event, Events};
pub use router::Api;
use slots::Slot;

/// State shared by every request.
pub struct Daemon {
    pub(crate) engine: Engine,
    pub(crate) events: Events,
    pub(crate) execs: exec::Execs,
    /// Requests answered so far (the idle-memory release waits for a quiet spell).
    pub(crate) requests: std::sync::atomic::AtomicU64,
    /// Per-container daemon state (exit watchers, attach clients waiting for a start), made on first use.
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

/// The handle handlers hold.
pub type Shared = Arc<Daemon>;

impl Daemon {
    pub fn new(engine: Engine) -> Daemon {
        Daemon {
            engine,
            events: Events::default(),
            execs: exec::Execs::default(),
            requests: std::sync::atomic::AtomicU64::new(0),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The slot of container `id`, made if needed.
    pub(crate) fn slot(&self, id: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(id.to_string()).or_default().clone()
    }

    /// Forgets a removed container's slot (waiters holding it are told through it first).
    pub(crate) fn drop_slot(&self, id: &str) {
        let slot = self.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        if let Some(slot) = slot {
            slot.mark_removed();
        }
        self.execs.forget_container(id);
    }

    /// Publishes a container event with Docker's attributes (name, image, labels, plus `extra`).
    pub(crate) fn container_event(
        &self,
        c: &berth_engine::model::Container,
        action: &str,
        extra: &[(&str, String)],
    ) {
        let mut attrs: BTreeMap<String, String> =
            c.config.labels.clone().unwrap_or_default().into_iter().collect();
        attrs.insert("name".into(), c.bare_name().to_string());
        attrs.insert("image".into(), c.config.image.clone());
        for (k, v) in extra {
            attrs.insert(k.to_string(), v.clone());
        }
        self.events.publish(Event::new("container", action, &c.id, attrs));
    }

    /// Publishes a network event (`container`: the container connected or disconnected).
    pub(crate) fn network_event(
        &self,
        action: &str,
        net: &berth_network::store::Network,
        container: Option<&str>,
    ) {
        let mut attrs = BTreeMap::from([
            ("name".to_string(), net.name.clone()),
            ("type".to_string(), net.driver.clone()),
        ]);
        if let Some(c) = container {
            attrs.insert("container".into(), c.to_string());
        }
        self.events.publish(Event::new("network", action, &net.id, attrs));
    }

    /// Publishes an image event.
    pub(crate) fn image_event(&self, action: &str, id: &str, name: &str) {
        let attrs = BTreeMap::from([("name".to_string(), name.to_string())]);
        self.events.publish(Event::new("image", action, id, attrs));
    }
}

/// Runs `f` with the daemon on the blocking pool.
pub(crate) async fn blocking<T, F>(d: &Shared, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Daemon) -> Result<T> + Send + 'static,
{
    let d = d.clone();
    tokio::task::spawn_blocking(move || f(&d))
        .await
        .map_err(|e| Error::internal(format!("request handler failed: {e}")))?
}
