//! `inspect`: a container's record as Docker shows it.

use crate::engine::Engine;
use crate::error::Result;
use crate::model::Container;

impl Engine {
    /// The record of container `reference`.
    pub fn inspect(&self, reference: &str) -> Result<Container> {
        let id = self.containers.resolve(reference)?;
        self.reconcile(self.containers.load(&id)?)
    }
}
