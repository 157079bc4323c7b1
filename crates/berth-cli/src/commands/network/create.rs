//! `berth network create`: a user network from the driver, subnet, gateway, options and labels given; prints its id.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use berth_api::Method;
use berth_api::client::{Body, Client};
use berth_network::store::{CreateRequest, Ipam, IpamConfig};
use berth_network::subnet::{Subnet, parse_cidr};
use clap::Args;
use serde_json::Value;

use crate::error::{CmdResult, Failure};
use crate::opts;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_delimiter = ',')]
    pub subnet: Vec<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long, value_delimiter = ',')]
    pub gateway: Vec<String>,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Enable IPv6 networking
    #[arg(long)]
    pub ipv6: bool,
    /// Set metadata on a network
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short, long)]
    pub opt: Vec<String>,
    /// IP Address Management Driver
    #[arg(long, default_value = "default")]
    pub ipam_driver: String,
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

fn fail(message: impl Into<String>) -> Failure {
    Failure::engine(message)
}

/// Pairs each gateway with the subnet holding it, as Docker's CLI does before sending the request.
fn ipam_config(subnets: &[String], gateways: &[String]) -> Result<Vec<IpamConfig>, Failure> {
    if subnets.len() < gateways.len() {
        return Err(fail("every ip-range or gateway must have a corresponding subnet"));
    }
    let mut parsed: Vec<Option<Subnet>> = Vec::new();
    for s in subnets {
        let net = parse_cidr(s)
            .ok()
            .map(|(ip, prefix)| Subnet::containing(ip, prefix));
        if let Some(net) = net
            && parsed.iter().flatten().any(|other| other.overlaps(&net))
        {
            return Err(fail("multiple overlapping subnet configuration is not supported"));
        }
        parsed.push(net);
    }
    let mut config: Vec<IpamConfig> = subnets
        .iter()
        .map(|s| IpamConfig {
            subnet: s.clone(),
            ..Default::default()
        })
        .collect();
    for g in gateways {
        let ip: Ipv4Addr = g.parse().map_err(|_| {
            fail(format!(
                "invalid argument \"{g}\" for \"--gateway\" flag: invalid string being converted to IP address: {g}"
            ))
        })?;
        let i = parsed
            .iter()
            .position(|s| s.is_some_and(|s| s.contains(ip)))
            .ok_or_else(|| fail(format!("no matching subnet for gateway {g}")))?;
        if !config[i].gateway.is_empty() {
            return Err(fail(format!(
                "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                config[i].gateway, subnets[i]
            )));
        }
        config[i].gateway = g.clone();
    }
    Ok(config)
}

/// `-o k=v` (a key alone has an empty value).
fn options(opts: &[String]) -> BTreeMap<String, String> {
    opts.iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (o.clone(), String::new()),
        })
        .collect()
}

/// The create request the flags describe.
fn request(a: &CreateArgs) -> Result<CreateRequest, Failure> {
    let mut labels = BTreeMap::new();
    for l in &a.label {
        let (k, v) = opts::parse_label(l).map_err(|e| fail(e.to_string()))?;
        labels.insert(k, v);
    }
    Ok(CreateRequest {
        name: a.name.clone(),
        check_duplicate: true,
        driver: a.driver.clone(),
        internal: a.internal,
        attachable: a.attachable,
        ipam: Some(Ipam {
            driver: a.ipam_driver.clone(),
            options: Some(BTreeMap::new()),
            config: ipam_config(&a.subnet, &a.gateway)?,
        }),
        enable_ipv6: a.ipv6,
        options: Some(options(&a.opt)),
        labels: Some(labels),
        ..Default::default()
    })
}

pub fn run(c: &Client, a: CreateArgs) -> CmdResult {
    let req = request(&a)?;
    let created: Value = c.json(Method::POST, "/networks/create", Body::json(&req))?;
    println!("{}", created["Id"].as_str().unwrap_or_default());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn gateways_pair_with_their_subnets() {
        let c = ipam_config(
            &strings(&["10.1.0.0/24", "10.2.0.0/24"]),
            &strings(&["10.2.0.254"]),
        )
        .unwrap();
        assert_eq!((c[0].gateway.as_str(), c[1].gateway.as_str()), ("", "10.2.0.254"));
        let err = |s: &[&str], g: &[&str]| ipam_config(&strings(s), &strings(g)).unwrap_err().message;
        assert_eq!(
            err(&[], &["10.1.0.1"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["10.1.0.0/24"], &["10.9.0.1"]),
            "no matching subnet for gateway 10.9.0.1"
        );
        assert_eq!(
            err(&["10.1.0.0/16", "10.1.2.0/24"], &[]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert!(
            err(&["10.1.0.0/24"], &["nope"]).contains("invalid string being converted to IP address: nope")
        );
        assert_eq!(
            err(&["10.1.0.0/24", "10.1.1.0/24"], &["10.1.0.1", "10.1.0.2"]),
            "cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/24)"
        );
        // A subnet the CLI cannot read goes to the daemon, which says what is wrong with it.
        assert_eq!(
            ipam_config(&strings(&["fd00::/64"]), &[]).unwrap()[0].subnet,
            "fd00::/64"
        );
    }

    #[test]
    fn driver_options() {
        let o = options(&strings(&["com.docker.network.bridge.name=br-x", "flag"]));
        assert_eq!(o["com.docker.network.bridge.name"], "br-x");
        assert_eq!(o["flag"], "");
    }
}
