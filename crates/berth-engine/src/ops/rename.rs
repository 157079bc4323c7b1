//! `rename`: move a container to a new name, reserving the new name before releasing the old; on user networks the
//! embedded DNS answers to the new name.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ids;

impl Engine {
    /// Renames container `reference` to `new_name`.
    pub fn rename(&self, reference: &str, new_name: &str) -> Result<()> {
        let id = self.containers.resolve(reference)?;
        let new_name = ids::validate_name(new_name)?.to_string();
        let old = self.containers.load(&id)?;
        if old.bare_name() == new_name {
            return Err(Error::InvalidArgument(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        self.containers.reserve_name(&new_name, &id)?;
        let updated = self.containers.update(&id, |c| {
            c.name = format!("/{new_name}");
            Ok(())
        });
        match updated {
            Ok(c) => {
                self.containers.release_name(old.bare_name(), &id);
                // On user networks the container answers to its new name from now on.
                for ep in c.network_settings.networks.values() {
                    if let (Ok(ip), Ok(net)) = (ep.ip_address.parse(), self.networks.by_id(&ep.network_id))
                        && !net.is_default_bridge()
                    {
                        let names = crate::network::setup::dns_names(&c, ep);
                        self.networks.register_names(&net.id, &c.id, names, ip)?;
                    }
                }
                Ok(())
            }
            Err(e) => {
                self.containers.release_name(&new_name, &id);
                Err(e)
            }
        }
    }
}
