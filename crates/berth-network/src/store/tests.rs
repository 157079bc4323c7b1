use std::net::Ipv4Addr;

use super::*;

fn no_routes() -> Vec<Subnet> {
    vec!["10.89.0.0/24".parse().unwrap()]
}

fn store(dir: &Path) -> NetworkStore {
    let mut config = StoreConfig::new(no_routes);
    config.default_bridge = "btest0".into();
    NetworkStore::open(dir, config).unwrap()
}

#[test]
fn predefined_networks_appear_once_and_the_bridge_avoids_host_routes() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let names: Vec<String> = s.list().unwrap().into_iter().map(|n| n.name).collect();
    assert_eq!(names.len(), 3);
    for p in PREDEFINED {
        assert!(names.iter().any(|n| n == p), "{p}");
    }
    assert_eq!(s.list().unwrap().len(), 3, "made once");
    let bridge = s.get("bridge").unwrap();
    let spec = bridge.bridge_spec().unwrap();
    assert_eq!(spec.bridge, "btest0");
    assert_eq!(
        spec.subnet.to_string(),
        "10.89.1.0/24",
        "10.89.0.0/24 is routed on the host"
    );
    assert_eq!(spec.gateway, Ipv4Addr::new(10, 89, 1, 1));
    assert!(bridge.is_default_bridge());
    assert_eq!(s.get("none").unwrap().driver, "null");
    assert!(matches!(s.remove(&bridge), Err(StoreError::Predefined(_))));
}

#[test]
fn bip_sets_the_default_bridge_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(no_routes);
    config.bip = Some((Ipv4Addr::new(10, 77, 0, 1), 16));
    let s = NetworkStore::open(dir.path(), config).unwrap();
    let spec = s.get("bridge").unwrap().bridge_spec().unwrap();
    assert_eq!(
        (spec.subnet.to_string(), spec.gateway),
        ("10.77.0.0/16".into(), Ipv4Addr::new(10, 77, 0, 1))
    );
}

#[test]
fn user_networks_get_free_subnets_unique_names_and_checked_options() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let req = |name: &str| CreateRequest {
        name: name.into(),
        ..Default::default()
    };
    let a = s.create(req("front")).unwrap();
    let b = s.create(req("back")).unwrap();
    let (sa, sb) = (a.bridge_spec().unwrap(), b.bridge_spec().unwrap());
    assert!(!sa.subnet.overlaps(&sb.subnet));
    assert_eq!(sa.bridge, format!("br-{}", &a.id[..12]));
    assert!(matches!(s.create(req("front")), Err(StoreError::NameTaken(_))));
    assert!(matches!(s.create(req("host")), Err(StoreError::NameTaken(_))));
    assert!(matches!(s.create(req("-bad")), Err(StoreError::Invalid(_))));
    let with_subnet = |subnet: &str, gateway: &str| CreateRequest {
        name: "custom".into(),
        ipam: Some(Ipam {
            config: vec![IpamConfig {
                subnet: subnet.into(),
                gateway: gateway.into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(matches!(
        s.create(with_subnet(&sa.subnet.to_string(), "")),
        Err(StoreError::Overlap)
    ));
    assert!(matches!(
        s.create(with_subnet("10.66.0.5/24", "")),
        Err(StoreError::Subnet(_))
    ));
    assert!(matches!(
        s.create(with_subnet("10.66.0.0/24", "10.67.0.1")),
        Err(StoreError::Invalid(_))
    ));
    let c = s.create(with_subnet("10.66.0.0/24", "10.66.0.254")).unwrap();
    assert_eq!(c.bridge_spec().unwrap().gateway, Ipv4Addr::new(10, 66, 0, 254));
    assert_eq!(s.get(&c.id[..10]).unwrap().name, "custom");
    assert_eq!(s.get("custom").unwrap().id, c.id);
    s.remove(&c).unwrap();
    assert!(matches!(s.get("custom"), Err(StoreError::NotFound(_))));
    assert_eq!(s.list().unwrap().len(), 5);
}

#[test]
fn addresses_persist_and_stale_owners_are_released() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let net = s.get("bridge").unwrap();
    let a = s.allocate(&net.id, "ctr-a", None).unwrap();
    let b = s.allocate(&net.id, "ctr-b", None).unwrap();
    assert_ne!(a, b);
    let reopened = store(dir.path());
    assert_eq!(reopened.allocations(&net.id).unwrap().of("ctr-a"), Some(a));
    assert_eq!(
        reopened.release_stale(&|o| o == "ctr-b").unwrap(),
        vec![net.id.clone()]
    );
    let alloc = reopened.allocations(&net.id).unwrap();
    assert_eq!((alloc.of("ctr-a"), alloc.of("ctr-b")), (None, Some(b)));
    reopened.release(&net.id, "ctr-b").unwrap();
    reopened.release("0".repeat(64).as_str(), "ctr-b").unwrap();
}

#[test]
fn host_ports_conflict_between_owners_and_with_host_processes() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = held.local_addr().unwrap().port();
    let req = |host_ip, host_port| PortRequest {
        proto: Proto::Tcp,
        container_port: 80,
        host_ip,
        host_port,
    };
    let local = Some(Ipv4Addr::LOCALHOST);
    let err = s.publish("a", &[req(local, Some(busy))]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Bind for 127.0.0.1:{busy} failed: port is already allocated")
    );
    let random = s.publish("a", &[req(local, None)]).unwrap();
    let port = random[0].host_port;
    assert!(port >= 1024);
    drop(held);
    // Another owner may not take the same port on an overlapping address; the owner itself may republish.
    assert!(matches!(
        s.publish("b", &[req(None, Some(port))]),
        Err(StoreError::PortTaken(_))
    ));
    assert_eq!(
        s.publish("a", &[req(local, Some(port))]).unwrap()[0].host_port,
        port
    );
    let udp = PortRequest {
        proto: Proto::Udp,
        ..req(local, Some(port))
    };
    assert_eq!(
        s.publish("b", &[udp]).unwrap()[0].proto,
        Proto::Udp,
        "udp is a separate space"
    );
    s.unpublish("a").unwrap();
    s.publish("c", &[req(None, Some(port))]).unwrap();
}
