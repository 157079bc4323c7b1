//! Image operations that need to know about containers — removal and pruning refuse images in use — and the image
//! inspect object in Docker's shape.

use berth_image::{ImageId, PruneReport, RemoveEvent, Usage};
use serde_json::{Value, json};

use crate::engine::Engine;
use crate::error::Result;
use crate::model::Status;
use crate::timefmt;

impl Engine {
    /// How containers use each image, from one scan of the container store.
    fn image_usage(&self) -> Result<impl Fn(&ImageId) -> Usage> {
        let containers = self.list(true)?;
        Ok(move |id: &ImageId| {
            let mut usage = Usage::Unused;
            for c in containers.iter().filter(|c| c.image == id.as_str()) {
                if matches!(
                    c.state.status,
                    Status::Running | Status::Paused | Status::Restarting
                ) {
                    return Usage::Running(c.id.clone());
                }
                usage = Usage::Stopped(c.id.clone());
            }
            usage
        })
    }

    /// `rmi`: untags or deletes an image, refusing one a container uses (unless forced, and never when running).
    pub fn remove_image(&self, name: &str, force: bool) -> Result<Vec<RemoveEvent>> {
        let usage = self.image_usage()?;
        Ok(self.images.remove(name, force, &usage)?)
    }

    /// `image prune`: deletes dangling images (all unused ones with `all`).
    pub fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let usage = self.image_usage()?;
        Ok(self.images.prune(all, &usage)?)
    }

    /// The `docker image inspect` object of an image.
    pub fn image_inspect(&self, name: &str) -> Result<Value> {
        let image = self.images.get(name)?;
        let cfg = &image.config;
        let graph = self.images.image_graph_driver_data(&image);
        let comment = cfg.history.last().map(|h| h.comment.clone()).unwrap_or_default();
        let layers: Vec<&str> = image.layers.iter().map(|l| l.diff_id.as_str()).collect();
        Ok(json!({
            "Id": image.id.as_str(),
            "RepoTags": image.repo_tags,
            "RepoDigests": image.repo_digests,
            "Parent": image.parent.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
            "Comment": comment,
            "Created": cfg.created.clone().unwrap_or_else(|| timefmt::ZERO_TIME.to_string()),
            "Container": cfg.container,
            "ContainerConfig": cfg.container_config.clone().unwrap_or_default(),
            "DockerVersion": cfg.docker_version,
            "Author": cfg.author,
            "Config": cfg.config,
            "Architecture": cfg.architecture,
            "Os": cfg.os,
            "Size": image.size,
            "VirtualSize": image.size,
            "GraphDriver": {"Data": graph.data, "Name": graph.name},
            "RootFS": {"Type": "layers", "Layers": layers},
            "Metadata": {"LastTagTime": image.recorded},
        }))
    }
}
