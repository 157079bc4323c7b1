//! Choosing the firewall backend: `BERTH_FIREWALL=nftables|iptables` forces one; otherwise nftables when the
//! `nft` binary works, unless iptables' own filter FORWARD chain (iptables-nft) drops by default — as Docker
//! makes it — because an accept in berth's nft table cannot overrule a drop in another table, while the
//! iptables backend's rules run inside that chain, ahead of its policy.

use serde_json::Value;

use super::{Firewall, Iptables, Nftables, exec};

/// The environment variable that forces a backend: `nftables` or `iptables` (other values are ignored).
pub const FIREWALL_ENV: &str = "BERTH_FIREWALL";

/// The backend named `name` ("nftables" or "iptables").
pub fn by_name(name: &str) -> Option<Box<dyn Firewall>> {
    match name {
        "nftables" => Some(Box::new(Nftables)),
        "iptables" => Some(Box::new(Iptables)),
        _ => None,
    }
}

/// The backend to use on this host: the one `BERTH_FIREWALL` names, else nftables if `nft` works and
/// iptables' filter FORWARD policy is not DROP, else iptables.
pub fn detect() -> Box<dyn Firewall> {
    choose(std::env::var(FIREWALL_ENV).ok().as_deref(), || {
        probe_nft() == Some(false)
    })
}

/// The backend `forced` names, else nftables if `nft_suits()`, else iptables.
fn choose(forced: Option<&str>, nft_suits: impl FnOnce() -> bool) -> Box<dyn Firewall> {
    match forced.and_then(by_name) {
        Some(backend) => backend,
        None if nft_suits() => Box::new(Nftables),
        None => Box::new(Iptables),
    }
}

/// None if `nft` does not work (missing binary, no nf_tables, no privilege); else whether iptables' filter
/// FORWARD chain drops by default.
fn probe_nft() -> Option<bool> {
    let chains = exec::run("nft", &["-j", "list", "chains"], None).ok()?;
    Some(iptables_forward_drops(&chains))
}

/// Whether a `nft -j list chains` answer holds iptables' filter FORWARD chain with a drop policy.
fn iptables_forward_drops(chains: &str) -> bool {
    let Ok(listing) = serde_json::from_str::<Value>(chains) else {
        return false;
    };
    let objects = listing["nftables"].as_array().into_iter().flatten();
    objects.filter_map(|o| o.get("chain")).any(|chain| {
        chain["family"] == "ip"
            && chain["table"] == "filter"
            && chain["name"] == "FORWARD"
            && chain["policy"] == "drop"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firewall_backends_by_name() {
        assert_eq!(by_name("nftables").map(|f| f.name()), Some("nftables"));
        assert_eq!(by_name("iptables").map(|f| f.name()), Some("iptables"));
        assert!(by_name("ufw").is_none());
    }

    #[test]
    fn firewall_detect_prefers_the_forced_then_a_suitable_nft() {
        let unprobed = || panic!("a forced backend needs no probe");
        assert_eq!(choose(Some("iptables"), unprobed).name(), "iptables");
        assert_eq!(choose(Some("nftables"), unprobed).name(), "nftables");
        assert_eq!(choose(Some("ufw"), || false).name(), "iptables");
        assert_eq!(choose(None, || true).name(), "nftables");
        assert_eq!(choose(None, || false).name(), "iptables");
        // This host has a working nft.
        assert!(probe_nft().is_some());
    }

    #[test]
    fn firewall_detect_reads_the_iptables_forward_policy() {
        let chain = |family: &str, table: &str, policy: &str| {
            format!(
                r#"{{"nftables": [{{"metainfo": {{"version": "1.0.6"}}}}, {{"chain": {{"family": "{family}",
                "table": "{table}", "name": "FORWARD", "handle": 6, "type": "filter", "hook": "forward",
                "prio": 0, "policy": "{policy}"}}}}]}}"#
            )
        };
        assert!(iptables_forward_drops(&chain("ip", "filter", "drop")));
        assert!(!iptables_forward_drops(&chain("ip", "filter", "accept")));
        assert!(!iptables_forward_drops(&chain("inet", "filter", "drop")));
        assert!(!iptables_forward_drops(&chain("ip", "mangle", "drop")));
        assert!(!iptables_forward_drops(r#"{"nftables": []}"#));
        assert!(!iptables_forward_drops("not json"));
    }
}
