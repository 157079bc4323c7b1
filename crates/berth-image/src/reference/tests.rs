//! Tests of reference parsing: Docker's normalisation, errors and familiar forms, plus properties.

use proptest::prelude::*;

use super::*;

const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn full(s: &str) -> String {
    Reference::parse(s).unwrap().to_string()
}

#[test]
fn normalises_like_docker() {
    assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
    assert_eq!(full("user/app:1"), "docker.io/user/app:1");
    assert_eq!(full("localhost:5000/x"), "localhost:5000/x:latest");
    assert_eq!(full("localhost/x"), "localhost/x:latest");
    assert_eq!(
        full("registry.example.com/a/b:tag"),
        "registry.example.com/a/b:tag"
    );
    assert_eq!(
        full("index.docker.io/library/busybox"),
        "docker.io/library/busybox:latest"
    );
    assert_eq!(full("docker.io/busybox"), "docker.io/library/busybox:latest");
    assert_eq!(full("[::1]:5000/x:2"), "[::1]:5000/x:2");
    assert_eq!(
        full(&format!("busybox@sha256:{HEX}")),
        format!("docker.io/library/busybox@sha256:{HEX}")
    );
    assert_eq!(
        full(&format!("busybox:1@sha256:{HEX}")),
        format!("docker.io/library/busybox:1@sha256:{HEX}")
    );
    // A port-less first component without dots is a path, even with a port-like tag.
    assert_eq!(full("localhost:5000"), "docker.io/library/localhost:5000");
}

#[test]
fn parts() {
    let r = Reference::parse(&format!("reg.io:443/a/b:v1@sha256:{HEX}")).unwrap();
    assert_eq!(r.domain(), "reg.io:443");
    assert_eq!(r.path(), "a/b");
    assert_eq!(r.tag(), Some("v1"));
    assert_eq!(r.digest().unwrap().hex(), HEX);
    assert_eq!(r.name(), "reg.io:443/a/b");
    let plain = Reference::parse_normalized("busybox").unwrap();
    assert_eq!(plain.tag(), None);
    assert_eq!(plain.with_tag("2").unwrap().familiar(), "busybox:2");
    assert_eq!(plain.with_tag("+").unwrap_err().to_string(), "invalid tag format");
}

#[test]
fn familiar_forms() {
    let fam = |s: &str| Reference::parse(s).unwrap().familiar();
    assert_eq!(fam("busybox"), "busybox:latest");
    assert_eq!(fam("docker.io/library/busybox:1"), "busybox:1");
    assert_eq!(fam("user/app:1"), "user/app:1");
    assert_eq!(fam("docker.io/library/a/b"), "library/a/b:latest");
    assert_eq!(fam("localhost:5000/x"), "localhost:5000/x:latest");
    assert_eq!(
        fam(&format!("busybox@sha256:{HEX}")),
        format!("busybox@sha256:{HEX}")
    );
    assert_eq!(Reference::parse("busybox").unwrap().familiar_name(), "busybox");
}

#[test]
fn docker_error_texts() {
    let err = |s: &str| Reference::parse(s).unwrap_err().to_string();
    assert_eq!(
        err("Busybox"),
        "invalid reference format: repository name (library/Busybox) must be lowercase"
    );
    assert_eq!(
        err("user/App:1"),
        "invalid reference format: repository name (user/App) must be lowercase"
    );
    for bad in [
        "",
        "busybox:",
        ":tag",
        "a//b",
        "a..b",
        "busybox:-x",
        "busybox:a+b",
        "a b",
        "busybox@sha256:abc",
    ] {
        assert_eq!(err(bad), "invalid reference format", "{bad:?}");
    }
    assert_eq!(
        err(&format!("busybox:{}", "x".repeat(129))),
        "invalid reference format"
    );
    assert_eq!(
        err(HEX),
        format!("invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings")
    );
    assert_eq!(
        err(&format!("busybox@sha256:{}", &HEX[..40])),
        "invalid checksum digest length"
    );
    assert_eq!(err(&format!("busybox@md5:{HEX}")), "unsupported digest algorithm");
    let long = format!("a/{}", "b".repeat(260));
    assert_eq!(err(&long), "repository name must not be more than 255 characters");
}

#[test]
fn uppercase_registry_is_a_domain() {
    // Docker treats an uppercase first component as a registry host.
    assert_eq!(full("Foo/bar"), "Foo/bar:latest");
}

fn component() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,6}([._-][a-z0-9]{1,4}){0,2}"
}

fn reference() -> impl Strategy<Value = (Option<String>, Vec<String>, Option<String>)> {
    let domain = prop_oneof![
        Just(None),
        Just(Some("localhost:5000".to_string())),
        "[a-z]{1,5}\\.[a-z]{2,3}(:[0-9]{1,4})?".prop_map(Some),
    ];
    let tag = prop_oneof![Just(None), "[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}".prop_map(Some)];
    (domain, prop::collection::vec(component(), 1..4), tag)
}

proptest! {
    #[test]
    fn familiar_round_trips((domain, comps, tag) in reference()) {
        // Without a registry, a first component with a dot would itself be taken as a registry.
        prop_assume!(domain.is_some() || !comps[0].contains('.'));
        let mut s = comps.join("/");
        if let Some(d) = &domain { s = format!("{d}/{s}"); }
        if let Some(t) = &tag { s = format!("{s}:{t}"); }
        let r = Reference::parse(&s).unwrap();
        prop_assert_eq!(Reference::parse(&r.familiar()).unwrap(), r.clone());
        prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r.clone());
        prop_assert_eq!(r.tag(), Some(tag.as_deref().unwrap_or("latest")));
    }

    #[test]
    fn never_panics_and_errors_are_one_line(s in "\\PC{0,40}") {
        if let Err(e) = Reference::parse(&s) {
            prop_assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn uppercase_paths_are_rejected(comps in prop::collection::vec("[a-z]{1,5}", 1..3), up in "[A-Z]{1,3}") {
        let s = format!("{}/{}{}", "docker.io", comps.join("/"), up);
        prop_assert!(Reference::parse(&s).is_err());
    }
}
