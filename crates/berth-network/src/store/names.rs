//! The DNS names of a user network's running containers: `endpoints.json` (owner -> names and address) is the
//! record, `names.json` (the embedded DNS servers' table) is rewritten from it on every change.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::dns::{Record, Table, write_table};

use super::{NetworkStore, StoreError, StoreResult};

type Endpoints = BTreeMap<String, Record>;

impl NetworkStore {
    fn update_names(&self, id: &str, change: impl FnOnce(&mut Endpoints)) -> StoreResult<()> {
        let _lock = self.lock()?;
        let path = self.dir.join(id).join("endpoints.json");
        let mut endpoints: Endpoints = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.display().to_string(),
                msg: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Endpoints::new(),
            Err(e) => {
                return Err(StoreError::Io {
                    ctx: format!("read {}", path.display()),
                    source: e,
                });
            }
        };
        change(&mut endpoints);
        Self::write_json(&path, &endpoints, false)?;
        let table = Table {
            records: endpoints.into_values().collect(),
        };
        let names = self.names_path(id);
        write_table(&names, &table).map_err(|e| StoreError::Io {
            ctx: format!("write {}", names.display()),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Makes `owner` answer to `names` at `ip` on network `id`.
    pub fn register_names(&self, id: &str, owner: &str, names: Vec<String>, ip: Ipv4Addr) -> StoreResult<()> {
        self.update_names(id, |eps| {
            eps.insert(owner.to_string(), Record { names, ipv4: ip });
        })
    }

    /// Forgets `owner`'s names on network `id`; Ok if the network is gone.
    pub fn unregister_names(&self, id: &str, owner: &str) -> StoreResult<()> {
        if !self.dir.join(id).is_dir() {
            return Ok(());
        }
        self.update_names(id, |eps| {
            eps.remove(owner);
        })
    }
}

impl NetworkStore {
    /// Forgets the names of every owner `keep` rejects, on every network.
    pub fn prune_names(&self, keep: &dyn Fn(&str) -> bool) -> StoreResult<()> {
        for net in self.list()?.iter().filter(|n| n.is_bridge()) {
            if self.dir.join(&net.id).join("endpoints.json").exists() {
                self.update_names(&net.id, |eps| eps.retain(|owner, _| keep(owner)))?;
            }
        }
        Ok(())
    }
}
