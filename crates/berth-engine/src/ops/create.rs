//! `create`: resolve the image, merge its config with the request as Docker does, validate the host config, reserve
//! the name, make the container's writable layer and write its record. Anything made before a failure is undone.

use berth_image::config::ContainerConfig;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{Container, GraphDriver, HostConfig, NetworkSettings, State};
use crate::network::NetworkingConfig;
use crate::spec::{self, mounts, resources, security};
use crate::{ids, timefmt};

/// A create request in the Engine API's shape (`POST /containers/create`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRequest {
    #[serde(skip)]
    pub name: Option<String>,
    #[serde(flatten)]
    pub config: ContainerConfig,
    #[serde(default)]
    pub host_config: HostConfig,
    #[serde(default)]
    pub networking_config: NetworkingConfig,
}

/// The answer to a create request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateResponse {
    pub id: String,
    pub warnings: Vec<String>,
}

/// Docker's merge of the image's config into the user's: user values win; the image's Cmd is used only when the user
/// gave neither Cmd nor Entrypoint; Env and Labels merge by key; ports and volumes are unions.
pub fn merge_config(user: &mut ContainerConfig, image: &ContainerConfig) {
    if user.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if user.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            user.cmd = image.cmd.clone();
        }
        if user.entrypoint.is_none() {
            user.entrypoint = image.entrypoint.clone();
        }
    }
    let mut env = image.env.clone().unwrap_or_default();
    for var in user.env.iter().flatten() {
        spec::set_env(&mut env, var);
    }
    if !env.is_empty() {
        user.env = Some(env);
    }
    if user.working_dir.is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    if user.user.is_empty() {
        user.user = image.user.clone();
    }
    if user.stop_signal.is_empty() {
        user.stop_signal = image.stop_signal.clone();
    }
    if let Some(labels) = &image.labels {
        let merged = user.labels.get_or_insert_with(Default::default);
        for (k, v) in labels {
            merged.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(ports) = &image.exposed_ports {
        user.exposed_ports
            .get_or_insert_with(Default::default)
            .extend(ports.clone());
    }
    if let Some(vols) = &image.volumes {
        user.volumes
            .get_or_insert_with(Default::default)
            .extend(vols.clone());
    }
    if user.healthcheck.is_none() {
        user.healthcheck = image.healthcheck.clone();
    }
}

/// The container's command line: the entrypoint, then the command.
fn command_line(config: &ContainerConfig) -> Vec<String> {
    let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
    argv.extend(config.cmd.clone().unwrap_or_default());
    argv
}

/// Checks the host config as Docker does at create time, so a bad value never leaves a container behind.
fn validate(hc: &HostConfig) -> Result<()> {
    resources::resources(hc)?;
    let sec = security::parse_security_opts(hc.security_opt.as_deref().unwrap_or(&[]))?;
    let caps = security::host_capabilities(hc)?;
    if let Some(profile) = &sec.seccomp_profile {
        spec::seccomp_profile(profile, &caps)?;
    }
    let user_mounts = mounts::user_mounts(hc)?;
    mounts::prepare_sources(&user_mounts)
}

impl Engine {
    /// Creates a container.
    pub fn create(&self, req: CreateRequest) -> Result<CreateResponse> {
        let CreateRequest {
            name,
            mut config,
            mut host_config,
            networking_config,
        } = req;
        let image_ref = config.image.clone();
        if image_ref.is_empty() {
            return Err(Error::InvalidArgument(
                "config cannot be empty in order to create a container".into(),
            ));
        }
        let image = self.images.get(&image_ref)?;
        if let Some(image_config) = &image.config.config {
            merge_config(&mut config, image_config);
        }
        if command_line(&config).is_empty() {
            return Err(Error::InvalidArgument("No command specified".into()));
        }
        validate(&host_config)?;
        let networks =
            self.create_endpoints(&mut host_config, &networking_config, !config.hostname.is_empty())?;

        let id = ids::new_id();
        let name = match name.as_deref().filter(|n| !n.is_empty()) {
            Some(n) => {
                let n = ids::validate_name(n)?.to_string();
                self.containers.reserve_name(&n, &id)?;
                n
            }
            None => self.containers.reserve_generated_name(&id)?,
        };
        let made = self.create_reserved(&id, &name, config, host_config, networks, &image.id);
        if made.is_err() {
            let _ = self.images.remove_rw_layer(&id);
            let _ = self.containers.delete(&id);
            self.containers.release_name(&name, &id);
        }
        made.map(|()| CreateResponse {
            id,
            warnings: Vec::new(),
        })
    }

    fn create_reserved(
        &self,
        id: &str,
        name: &str,
        mut config: ContainerConfig,
        host_config: HostConfig,
        networks: std::collections::BTreeMap<String, crate::model::EndpointSettings>,
        image_id: &berth_image::ImageId,
    ) -> Result<()> {
        let mut argv = command_line(&config);
        let rw = self.images.create_rw_layer(id, image_id)?;
        let graph = self.images.graph_driver_data(&rw);
        if config.hostname.is_empty() {
            config.hostname = if host_config.network_mode == "host" {
                rustix::system::uname().nodename().to_string_lossy().into_owned()
            } else {
                ids::short(id).to_string()
            };
        }
        let runtime_dir = self.opts.paths.runtime_dir(id);
        let mount_points = mounts::user_mounts(&host_config)?
            .iter()
            .map(mounts::mount_point)
            .collect();
        let path = argv.remove(0);
        let c = Container {
            id: id.to_string(),
            created: timefmt::now(),
            path,
            args: argv,
            state: State::default(),
            image: image_id.as_str().to_string(),
            resolv_conf_path: runtime_dir.join("resolv.conf").display().to_string(),
            hostname_path: runtime_dir.join("hostname").display().to_string(),
            hosts_path: runtime_dir.join("hosts").display().to_string(),
            log_path: self.opts.paths.log_path(id).display().to_string(),
            name: format!("/{name}"),
            driver: graph.name.to_string(),
            platform: "linux".into(),
            host_config,
            graph_driver: GraphDriver {
                data: graph.data,
                name: graph.name.to_string(),
            },
            mounts: mount_points,
            config,
            network_settings: NetworkSettings {
                networks,
                ..Default::default()
            },
            ..Default::default()
        };
        self.containers.create(&c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(cmd: Option<&[&str]>, entry: Option<&[&str]>) -> ContainerConfig {
        ContainerConfig {
            cmd: cmd.map(|c| c.iter().map(|s| s.to_string()).collect()),
            entrypoint: entry.map(|c| c.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn image_cmd_used_only_without_user_cmd_or_entrypoint() {
        let image = cfg(Some(&["sh"]), Some(&["/init"]));
        let mut user = cfg(None, None);
        merge_config(&mut user, &image);
        assert_eq!(user.cmd.unwrap(), vec!["sh"]);
        assert_eq!(user.entrypoint.unwrap(), vec!["/init"]);
        let mut user = cfg(None, Some(&["/bin/echo"]));
        merge_config(&mut user, &image);
        assert!(user.cmd.is_none());
        let mut user = cfg(Some(&["ls"]), None);
        merge_config(&mut user, &image);
        assert_eq!(user.cmd.unwrap(), vec!["ls"]);
        assert_eq!(user.entrypoint.unwrap(), vec!["/init"]);
    }

    #[test]
    fn env_merges_by_key() {
        let image = ContainerConfig {
            env: Some(vec!["A=1".into(), "B=2".into()]),
            ..Default::default()
        };
        let mut user = ContainerConfig {
            env: Some(vec!["B=3".into(), "C=4".into()]),
            ..Default::default()
        };
        merge_config(&mut user, &image);
        assert_eq!(user.env.unwrap(), vec!["A=1", "B=3", "C=4"]);
    }

    #[test]
    fn validation_catches_bad_values() {
        let hc = HostConfig {
            memory: 10,
            ..Default::default()
        };
        assert!(validate(&hc).is_err());
        let hc = HostConfig {
            cap_add: Some(vec!["WINGS".into()]),
            ..Default::default()
        };
        assert!(validate(&hc).is_err());
    }
}
