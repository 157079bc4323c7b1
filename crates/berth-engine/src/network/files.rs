//! A container's /etc/hosts and /etc/resolv.conf, as Docker writes them for each network mode.

use std::net::Ipv4Addr;

use crate::error::{Error, Result};

const LOCAL_HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
                           ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// Parses `--add-host` entries (`HOST:IP`, `HOST=IP`; `host-gateway` stands for `gateway`) into hosts lines.
pub fn extra_host_lines(extra: &[String], gateway: Option<Ipv4Addr>) -> Result<String> {
    let mut out = String::new();
    for entry in extra {
        let bad = || Error::InvalidArgument(format!("invalid argument \"{entry}\" for \"--add-host\" flag"));
        let (host, ip) = entry
            .split_once('=')
            .or_else(|| entry.split_once(':'))
            .ok_or_else(bad)?;
        let ip = if ip == "host-gateway" {
            gateway.map(|g| g.to_string()).ok_or_else(|| {
                Error::InvalidArgument("host-gateway needs a container on a bridge network".into())
            })?
        } else {
            ip.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .map_err(|_| bad())?
                .to_string()
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad());
        }
        out.push_str(&format!("{ip}\t{host}\n"));
    }
    Ok(out)
}

/// A container's /etc/hosts: localhost entries, `--add-host` lines, then its own address (127.0.1.1 without a
/// network) with its hostname and, when different, its name.
pub fn hosts_file(hostname: &str, name: &str, ip: Option<Ipv4Addr>, extra: &str) -> String {
    let own = ip.map_or_else(|| "127.0.1.1".to_string(), |ip| ip.to_string());
    let names = if name.is_empty() || name == hostname {
        hostname.to_string()
    } else {
        format!("{hostname} {name}")
    };
    format!("{LOCAL_HOSTS}{extra}{own}\t{names}\n")
}

/// DNS settings given on the command line (`--dns`, `--dns-search`, `--dns-option`).
#[derive(Debug, Default, Clone, Copy)]
pub struct DnsOverrides<'a> {
    pub servers: &'a [String],
    pub search: &'a [String],
    pub options: &'a [String],
}

/// A container's resolv.conf. With `embedded`, the embedded DNS server of user networks (127.0.0.11) answers and
/// forwards; otherwise the host's resolvers are used — minus loopback ones, which cannot be reached from the
/// container's namespace (none are invented: with none left the file has no nameserver) — unless `--dns` replaces
/// them. `--dns-search` and `--dns-option` replace the host's lines of their kind.
pub fn resolv_conf(host: &str, overrides: DnsOverrides<'_>, embedded: bool) -> String {
    let mut out = String::new();
    if embedded {
        out.push_str("nameserver 127.0.0.11\n");
    } else if !overrides.servers.is_empty() {
        for s in overrides.servers {
            out.push_str(&format!("nameserver {s}\n"));
        }
    }
    let own_servers = embedded || !overrides.servers.is_empty();
    for line in host.lines() {
        let t = line.trim_start();
        let keyword = t.split_whitespace().next().unwrap_or("");
        let drop = match keyword {
            "nameserver" => {
                let addr = t["nameserver".len()..].trim();
                own_servers || addr.starts_with("127.") || addr == "::1"
            }
            "search" | "domain" => !overrides.search.is_empty(),
            "options" => !overrides.options.is_empty() || embedded,
            _ => false,
        };
        if !drop {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !overrides.search.is_empty() {
        out.push_str(&format!("search {}\n", overrides.search.join(" ")));
    }
    let mut options: Vec<&str> = overrides.options.iter().map(String::as_str).collect();
    if embedded {
        if options.is_empty() {
            options = host
                .lines()
                .filter_map(|l| l.trim_start().strip_prefix("options"))
                .flat_map(str::split_whitespace)
                .collect();
        }
        if !options.iter().any(|o| o.starts_with("ndots:")) {
            options.push("ndots:0");
        }
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// A host-mode container's resolv.conf: the host's, loopback resolvers included (they are reachable from the host's
/// namespace), with `--dns`, `--dns-search` and `--dns-option` replacing their lines.
pub fn resolv_conf_host_mode(host: &str, overrides: DnsOverrides<'_>) -> String {
    if overrides.servers.is_empty() && overrides.search.is_empty() && overrides.options.is_empty() {
        return host.to_string();
    }
    let mut out = String::new();
    for s in overrides.servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    for line in host.lines() {
        let keyword = line.split_whitespace().next().unwrap_or("");
        let replaced = match keyword {
            "nameserver" => !overrides.servers.is_empty(),
            "search" | "domain" => !overrides.search.is_empty(),
            "options" => !overrides.options.is_empty(),
            _ => false,
        };
        if !replaced {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !overrides.search.is_empty() {
        out.push_str(&format!("search {}\n", overrides.search.join(" ")));
    }
    if !overrides.options.is_empty() {
        out.push_str(&format!("options {}\n", overrides.options.join(" ")));
    }
    out
}

/// The resolvers the embedded DNS server forwards to: `--dns` servers, else the host's (loopback ones included: the
/// server forwards from the host's namespace).
pub fn upstream_servers(host: &str, servers: &[String]) -> Vec<std::net::SocketAddr> {
    if servers.is_empty() {
        return berth_network::dns::upstreams_from_resolv_conf(host);
    }
    servers
        .iter()
        .filter_map(|s| s.parse::<std::net::IpAddr>().ok())
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str =
        "# c\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nsearch lan\noptions edns0\n";

    #[test]
    fn host_resolvers_without_loopback() {
        let out = resolv_conf(HOST, DnsOverrides::default(), false);
        assert_eq!(out, "# c\nnameserver 10.0.0.2\nsearch lan\noptions edns0\n");
    }

    #[test]
    fn overrides_replace_their_lines() {
        let servers = vec!["1.1.1.1".to_string()];
        let search = vec!["a.example".to_string(), "b.example".to_string()];
        let options = vec!["ndots:2".to_string()];
        let out = resolv_conf(
            HOST,
            DnsOverrides {
                servers: &servers,
                search: &search,
                options: &options,
            },
            false,
        );
        assert_eq!(
            out,
            "nameserver 1.1.1.1\n# c\nsearch a.example b.example\noptions ndots:2\n"
        );
    }

    #[test]
    fn embedded_server_on_user_networks() {
        let out = resolv_conf(HOST, DnsOverrides::default(), true);
        assert_eq!(
            out,
            "nameserver 127.0.0.11\n# c\nsearch lan\noptions edns0 ndots:0\n"
        );
        let ups = upstream_servers(HOST, &[]);
        assert_eq!(
            ups.len(),
            3,
            "loopback resolvers are reachable from the host side: {ups:?}"
        );
        assert_eq!(
            upstream_servers(HOST, &["9.9.9.9".into()]),
            vec!["9.9.9.9:53".parse().unwrap()]
        );
    }

    #[test]
    fn host_mode_keeps_loopback_resolvers_and_takes_overrides() {
        assert_eq!(resolv_conf_host_mode(HOST, DnsOverrides::default()), HOST);
        let servers = vec!["9.9.9.9".to_string()];
        let out = resolv_conf_host_mode(
            HOST,
            DnsOverrides {
                servers: &servers,
                ..Default::default()
            },
        );
        assert_eq!(out, "nameserver 9.9.9.9\n# c\nsearch lan\noptions edns0\n");
        let options = vec!["attempts:2".to_string()];
        let out = resolv_conf(
            HOST,
            DnsOverrides {
                options: &options,
                ..Default::default()
            },
            true,
        );
        assert!(out.ends_with("options attempts:2 ndots:0\n"), "{out}");
    }

    #[test]
    fn hosts_lines() {
        let extra = extra_host_lines(
            &["db:10.1.2.3".into(), "gw=host-gateway".into(), "v6:[::1]".into()],
            Some(Ipv4Addr::new(10, 89, 0, 1)),
        )
        .unwrap();
        assert_eq!(extra, "10.1.2.3\tdb\n10.89.0.1\tgw\n::1\tv6\n");
        assert!(extra_host_lines(&["nohost".into()], None).is_err());
        assert!(extra_host_lines(&["x:notanip".into()], None).is_err());
        assert!(extra_host_lines(&["x:host-gateway".into()], None).is_err());
        let hosts = hosts_file("abc123", "web", Some(Ipv4Addr::new(10, 89, 0, 2)), &extra);
        assert!(hosts.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(
            hosts.ends_with("10.1.2.3\tdb\n10.89.0.1\tgw\n::1\tv6\n10.89.0.2\tabc123 web\n"),
            "{hosts}"
        );
        assert!(hosts_file("h", "h", None, "").ends_with("127.0.1.1\th\n"));
    }
}
