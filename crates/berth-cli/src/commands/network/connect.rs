//! `berth network connect` and `disconnect`: a container's endpoint on a network, with aliases and a static address.

use std::collections::BTreeMap;

use berth_api::Method;
use berth_api::client::{Body, Client, segment};
use berth_engine::model::{EndpointIpamConfig, EndpointSettings};
use clap::Args;
use serde_json::json;

use crate::error::{CmdResult, Failure};

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long, value_delimiter = ',')]
    pub alias: Vec<String>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    pub ip: Option<String>,
    /// driver options for the network
    #[arg(long, value_delimiter = ',')]
    pub driver_opt: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `--driver-opt k=v` values.
fn driver_opts(opts: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    opts.iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
            _ => Err(Failure::engine("invalid key/value pair format in driver options")),
        })
        .collect()
}

/// The endpoint the flags ask for.
fn endpoint(a: &ConnectArgs) -> Result<EndpointSettings, Failure> {
    if let Some(ip) = &a.ip
        && ip.parse::<std::net::Ipv4Addr>().is_err()
    {
        return Err(Failure::engine(format!(
            "invalid argument \"{ip}\" for \"--ip\" flag: invalid string being converted to IP address: {ip}"
        )));
    }
    let driver_opts = driver_opts(&a.driver_opt)?;
    Ok(EndpointSettings {
        ipam_config: a.ip.as_ref().map(|ip| EndpointIpamConfig {
            ipv4_address: ip.clone(),
            ..Default::default()
        }),
        aliases: (!a.alias.is_empty()).then(|| a.alias.clone()),
        driver_opts: (!driver_opts.is_empty()).then_some(driver_opts),
        ..Default::default()
    })
}

pub fn connect(c: &Client, a: ConnectArgs) -> CmdResult {
    let body = json!({"Container": a.container, "EndpointConfig": endpoint(&a)?});
    c.call(
        Method::POST,
        &format!("/networks/{}/connect", segment(&a.network)),
        Body::json(&body),
    )?;
    Ok(0)
}

pub fn disconnect(c: &Client, a: DisconnectArgs) -> CmdResult {
    let body = json!({"Container": a.container, "Force": a.force});
    c.call(
        Method::POST,
        &format!("/networks/{}/disconnect", segment(&a.network)),
        Body::json(&body),
    )?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(alias: &[&str], ip: Option<&str>, opts: &[&str]) -> ConnectArgs {
        ConnectArgs {
            alias: alias.iter().map(|s| s.to_string()).collect(),
            ip: ip.map(String::from),
            driver_opt: opts.iter().map(|s| s.to_string()).collect(),
            network: "n".into(),
            container: "c".into(),
        }
    }

    #[test]
    fn endpoints() {
        let ep = endpoint(&args(&["db"], Some("10.0.0.5"), &["k=v"])).unwrap();
        assert_eq!(ep.aliases.as_deref().unwrap(), ["db"]);
        assert_eq!(ep.ipam_config.unwrap().ipv4_address, "10.0.0.5");
        assert_eq!(ep.driver_opts.unwrap()["k"], "v");
        let empty = endpoint(&args(&[], None, &[])).unwrap();
        assert_eq!(empty, EndpointSettings::default());
        assert!(endpoint(&args(&[], Some("10.0.0"), &[])).is_err());
        assert_eq!(
            endpoint(&args(&[], None, &["=v"])).unwrap_err().message,
            "invalid key/value pair format in driver options"
        );
    }
}
