//! Image archives and history: `docker save` / `docker load` (Docker's archive format, both ways)
//! and `docker history`, served by the image store.

use std::io::{Read, Write};

use berth_image::{HistoryItem, LoadedImage};

use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// `save`: writes the named images (ids, `repo:tag`, or repositories for all their tags) to `out`
    /// as a `docker save` tar archive.
    pub fn save_images(&self, names: &[String], out: &mut dyn Write) -> Result<()> {
        Ok(self.images.save(names, out)?)
    }

    /// `load`: stores the images of a `docker save` archive (legacy or OCI layout) read from `input`.
    pub fn load_images(&self, input: &mut dyn Read) -> Result<Vec<LoadedImage>> {
        Ok(self.images.load(input)?)
    }

    /// `history`: the image's history, newest entry first.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        Ok(self.images.history(name)?)
    }
}
