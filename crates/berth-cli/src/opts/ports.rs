//! `-p/--publish` (`[IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`, ranges, and the long `target=…,published=…` form) and
//! `--expose` (`PORT[-END][/PROTO]`), read as Docker's CLI reads them: every published port is exposed too, and a
//! range maps port by port.

use super::Error;
use super::goparse::parse_u32;

/// One container port published on the host (`host_ip`/`host_port` empty: any address, a free port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// The container port as the Engine API keys it: `80/tcp`.
    pub port: String,
    pub host_ip: String,
    pub host_port: String,
}

fn port_err(message: String) -> Error {
    Error::Port(message)
}

/// strconv.ParseUint(s, 10, 16).
fn parse_u16(s: &str) -> Result<u64, Error> {
    let n = parse_u32(s, 10)?;
    if n > u32::from(u16::MAX) {
        return Err(Error::Number {
            func: "ParseUint",
            input: s.to_string(),
            reason: "value out of range",
        });
    }
    Ok(u64::from(n))
}

/// A port or `START-END` range.
fn parse_range(ports: &str) -> Result<(u64, u64), Error> {
    if ports.is_empty() {
        return Err(port_err("empty string specified for ports".into()));
    }
    let Some((start, end)) = ports.split_once('-') else {
        let p = parse_u16(ports)?;
        return Ok((p, p));
    };
    let end = end.split('-').next().unwrap_or(end);
    let (start, end) = (parse_u16(start)?, parse_u16(end)?);
    if end < start {
        return Err(port_err(format!("invalid range specified for port: {ports}")));
    }
    Ok((start, end))
}

/// Splits `PORT/PROTO` (the protocol defaults to tcp).
fn split_proto(raw: &str) -> (&str, &str) {
    match raw.split_once('/') {
        None => (raw, "tcp"),
        Some((port, "")) => (port, "tcp"),
        Some((port, proto)) => (port, proto.split('/').next().unwrap_or(proto)),
    }
}

/// The long form `published=8080,target=80,protocol=udp` in the short one.
fn standard_notation(spec: &str) -> Result<String, Error> {
    if !spec.contains('=') {
        return Ok(spec.to_string());
    }
    let (mut published, mut target, mut protocol) = ("", "", "tcp");
    for param in spec.split(',') {
        match param.split_once('=') {
            Some(("published", v)) => published = v,
            Some(("target", v)) => target = v,
            Some(("protocol", v)) => protocol = v,
            Some((k, _)) if !k.is_empty() => {}
            _ => {
                return Err(port_err(format!(
                    "invalid publish opts format (should be name=value but got '{param}')"
                )));
            }
        }
    }
    Ok(format!("{published}:{target}/{protocol}"))
}

/// Parses one `-p` value into the mappings it makes.
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>, Error> {
    let raw = standard_notation(spec)?;
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (ip, host, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let ip = match ip.strip_prefix('[') {
        Some(rest) => rest
            .strip_suffix(']')
            .ok_or_else(|| port_err(format!("invalid IP address {ip}: missing ']' in address")))?
            .to_string(),
        None => ip,
    };
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(port_err(format!("invalid IP address: {ip}")));
    }
    let (container, proto) = if container.is_empty() {
        ("", "")
    } else {
        split_proto(container)
    };
    if container.is_empty() {
        return Err(port_err(format!("no port specified: {raw}<empty>")));
    }
    let (start, end) =
        parse_range(container).map_err(|_| port_err(format!("invalid containerPort: {container}")))?;
    let (host_start, host_end) = if host.is_empty() {
        (0, 0)
    } else {
        parse_range(host).map_err(|_| port_err(format!("invalid hostPort: {host}")))?
    };
    if !host.is_empty() && end - start != host_end - host_start && end != start {
        return Err(port_err(format!(
            "invalid ranges specified for container and host Ports: {container} and {host}"
        )));
    }
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(port_err(format!("invalid proto: {proto}")));
    }
    Ok((0..=end - start)
        .map(|i| {
            let host_port = match (host.is_empty(), start == end && host_start != host_end) {
                (true, _) => String::new(),
                (false, true) => format!("{host_start}-{host_end}"),
                (false, false) => (host_start + i).to_string(),
            };
            PortMapping {
                port: format!("{}/{proto}", start + i),
                host_ip: ip.clone(),
                host_port,
            }
        })
        .collect())
}

/// Parses one `--expose` value into the port keys it exposes.
pub fn parse_expose(spec: &str) -> Result<Vec<String>, Error> {
    if spec.contains(':') {
        return Err(port_err(format!("invalid port format for --expose: {spec}")));
    }
    let (port, proto) = split_proto(spec);
    let (start, end) = parse_range(port)
        .map_err(|e| port_err(format!("invalid range format for --expose: {spec}, error: {e}")))?;
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> (String, String, String) {
        let m = parse_publish(spec).unwrap();
        assert_eq!(m.len(), 1, "{spec}");
        (m[0].port.clone(), m[0].host_ip.clone(), m[0].host_port.clone())
    }

    fn err(spec: &str) -> String {
        parse_publish(spec).unwrap_err().to_string()
    }

    #[test]
    fn publish_forms() {
        let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(one("80"), s("80/tcp", "", ""));
        assert_eq!(one("8080:80"), s("80/tcp", "", "8080"));
        assert_eq!(one("127.0.0.1:8080:80/udp"), s("80/udp", "127.0.0.1", "8080"));
        assert_eq!(one("127.0.0.1::80"), s("80/tcp", "127.0.0.1", ""));
        assert_eq!(one("[::1]:8080:80"), s("80/tcp", "::1", "8080"));
        assert_eq!(one("80/TCP"), s("80/tcp", "", ""));
        assert_eq!(one("8000-8010:80"), s("80/tcp", "", "8000-8010"));
        assert_eq!(one("published=8080,target=80"), s("80/tcp", "", "8080"));
        assert_eq!(one("target=53,protocol=udp"), s("53/udp", "", ""));
        let range = parse_publish("8000-8001:80-81").unwrap();
        assert_eq!(
            range
                .iter()
                .map(|m| (m.port.as_str(), m.host_port.as_str()))
                .collect::<Vec<_>>(),
            [("80/tcp", "8000"), ("81/tcp", "8001")]
        );
        assert_eq!(parse_publish("80-82").unwrap().len(), 3);
    }

    #[test]
    fn publish_errors() {
        assert_eq!(err("nope"), "invalid containerPort: nope");
        assert_eq!(err("x:80"), "invalid hostPort: x");
        assert_eq!(err("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(err("8080:"), "no port specified: 8080:<empty>");
        assert_eq!(err("80/sctpx"), "invalid proto: sctpx");
        assert_eq!(err("70000"), "invalid containerPort: 70000");
        assert_eq!(
            err("8000-8002:80-81"),
            "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"
        );
        assert_eq!(
            err("target=80,bogus"),
            "invalid publish opts format (should be name=value but got 'bogus')"
        );
    }

    #[test]
    fn expose_forms() {
        assert_eq!(parse_expose("80").unwrap(), ["80/tcp"]);
        assert_eq!(parse_expose("53/udp").unwrap(), ["53/udp"]);
        assert_eq!(
            parse_expose("7000-7002").unwrap(),
            ["7000/tcp", "7001/tcp", "7002/tcp"]
        );
        assert_eq!(
            parse_expose("1:2").unwrap_err().to_string(),
            "invalid port format for --expose: 1:2"
        );
        assert_eq!(
            parse_expose("abc").unwrap_err().to_string(),
            "invalid range format for --expose: abc, error: strconv.ParseUint: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            parse_expose("9-8").unwrap_err().to_string(),
            "invalid range format for --expose: 9-8, error: invalid range specified for port: 9-8"
        );
    }
}
