//! `berth port`: a container's published ports ("80/tcp -> 0.0.0.0:8080"), and the PORTS column of `ps`, both as
//! Docker's CLI prints them.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::Value;

use berth_api::client::Client;

use crate::error::{CmdResult, Failure};
use crate::sortorder::natural_cmp;

#[derive(Debug, Args)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

/// Go's net.JoinHostPort.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The bindings of `key` in an inspect's `NetworkSettings.Ports`, as `HOST_IP:HOST_PORT`.
fn frontends(ports: &Value, key: &str) -> Vec<String> {
    ports[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            join_host_port(
                b["HostIp"].as_str().unwrap_or_default(),
                b["HostPort"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

/// The lines `port` prints for container inspect `c` (`wanted`: one private port).
fn lines(c: &Value, name: &str, wanted: Option<&str>) -> Result<Vec<String>, Failure> {
    let ports = &c["NetworkSettings"]["Ports"];
    let mut out = match wanted {
        Some(spec) => {
            let (port, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
            let proto = if proto.is_empty() { "tcp" } else { proto };
            if port.parse::<u16>().is_err() {
                return Err(Failure::engine(format!(
                    "invalid port ({port}): strconv.ParseUint: parsing \"{port}\": invalid syntax"
                )));
            }
            let found = frontends(ports, &format!("{port}/{proto}"));
            if found.is_empty() {
                return Err(Failure::engine(format!(
                    "No public port '{spec}' published for {name}"
                )));
            }
            found
        }
        None => ports
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(key, _)| {
                frontends(ports, key)
                    .into_iter()
                    .map(move |f| format!("{key} -> {f}"))
            })
            .collect(),
    };
    out.sort_by(|a, b| natural_cmp(a, b));
    Ok(out)
}

pub fn run(c: &Client, a: PortArgs) -> CmdResult {
    let inspect = super::inspect::container_json(c, &a.container)?;
    for line in lines(&inspect, &a.container, a.port.as_deref())? {
        println!("{line}");
    }
    Ok(0)
}

/// One entry of a list response's `Ports`.
struct Port<'a> {
    ip: &'a str,
    private: u16,
    public: u16,
    proto: &'a str,
}

/// Docker's PORTS column from a list entry's `Ports`: consecutive ports grouped into ranges
/// ("0.0.0.0:8000-8001->8000-8001/tcp", "443/tcp"), mappings to another port listed after them.
pub fn displayable(ports: &Value) -> String {
    let mut list: Vec<Port> = ports
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Port {
            ip: p["IP"].as_str().unwrap_or_default(),
            private: p["PrivatePort"].as_u64().unwrap_or(0) as u16,
            public: p["PublicPort"].as_u64().unwrap_or(0) as u16,
            proto: p["Type"].as_str().unwrap_or_default(),
        })
        .collect();
    list.sort_by(|a, b| (a.private, a.ip, a.public, a.proto).cmp(&(b.private, b.ip, b.public, b.proto)));
    let mut groups: BTreeMap<String, (u16, u16)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut result: Vec<String> = Vec::new();
    let mut mappings: Vec<String> = Vec::new();
    for p in &list {
        let key = if p.ip.is_empty() {
            p.proto.to_string()
        } else if p.public != p.private {
            let host = join_host_port(p.ip, &p.public.to_string());
            mappings.push(format!("{host}->{}/{}", p.private, p.proto));
            continue;
        } else {
            format!("{}/{}", p.ip, p.proto)
        };
        match groups.get_mut(&key) {
            None => {
                groups.insert(key.clone(), (p.private, p.private));
                order.push(key);
            }
            Some(g) if p.private == g.1.wrapping_add(1) => g.1 = p.private,
            Some(g) => {
                result.push(group(&key, *g));
                *g = (p.private, p.private);
            }
        }
    }
    result.extend(order.iter().map(|k| group(k, groups[k])));
    result.extend(mappings);
    result.join(", ")
}

/// One group: "80-81/tcp", or with an address "0.0.0.0:80-81->80-81/tcp".
fn group(key: &str, (first, last): (u16, u16)) -> String {
    let (ip, proto) = key.split_once('/').unwrap_or(("", key));
    let range = if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    };
    if ip.is_empty() {
        format!("{range}/{proto}")
    } else {
        format!("{}->{range}/{proto}", join_host_port(ip, &range))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn port_lines() {
        let c = json!({"NetworkSettings": {"Ports": {
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "9090"}],
            "443/tcp": null,
            "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}]
        }}});
        assert_eq!(
            lines(&c, "web", None).unwrap(),
            [
                "53/udp -> 0.0.0.0:5353",
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> 127.0.0.1:9090"
            ]
        );
        assert_eq!(
            lines(&c, "web", Some("80")).unwrap(),
            ["0.0.0.0:8080", "127.0.0.1:9090"]
        );
        assert_eq!(lines(&c, "web", Some("53/udp")).unwrap(), ["0.0.0.0:5353"]);
        assert_eq!(
            lines(&c, "web", Some("443")).unwrap_err().message,
            "No public port '443' published for web"
        );
        assert!(
            lines(&c, "web", Some("x"))
                .unwrap_err()
                .message
                .starts_with("invalid port (x)")
        );
        assert!(lines(&json!({}), "web", None).unwrap().is_empty());
    }

    #[test]
    fn ps_column() {
        let p = json!([
            {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"PrivatePort": 443, "Type": "tcp"},
            {"IP": "0.0.0.0", "PrivatePort": 9000, "PublicPort": 9000, "Type": "tcp"},
            {"IP": "0.0.0.0", "PrivatePort": 9001, "PublicPort": 9001, "Type": "tcp"},
            {"PrivatePort": 53, "Type": "udp"},
            {"PrivatePort": 444, "Type": "tcp"},
            {"PrivatePort": 446, "Type": "tcp"},
        ]);
        assert_eq!(
            displayable(&p),
            "443-444/tcp, 53/udp, 446/tcp, 0.0.0.0:9000-9001->9000-9001/tcp, 0.0.0.0:8080->80/tcp"
        );
        assert_eq!(displayable(&json!([])), "");
        assert_eq!(
            displayable(&json!([{"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}])),
            "[::]:8080->80/tcp"
        );
    }
}
