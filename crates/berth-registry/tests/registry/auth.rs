//! Pushing and logging in against real registries that want credentials: htpasswd basic auth, and bearer tokens
//! from a token service (several scopes in one token for mounts, refresh tokens for logins).

use crate::common::{Clients, Registry};
use berth_registry::manifest::sha256_digest;
use berth_registry::{AuthConfig, Client, Endpoint, Error, RegistryOptions};
use berth_testkit::{Anonymous, REFRESH_TOKEN, TokenService};

#[test]
fn htpasswd_push_and_login() {
    let reg = Registry::with_htpasswd("tester", "s3cret");
    let data = b"private layer";
    let digest = sha256_digest(data);

    let anonymous = reg.client("", "");
    let e = anonymous
        .repository_for_push("p/x", "p/x")
        .upload_bytes(data, &digest)
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)));
    assert_eq!(e.to_string(), "no basic auth credentials");
    let e = anonymous.check_login().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("Get \"http://{}/v2/\": no basic auth credentials", reg.host)
    );

    let wrong = reg.client("tester", "wrong");
    let e = wrong
        .repository_for_push("p/x", "p/x")
        .upload_bytes(data, &digest)
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)));
    assert_eq!(e.to_string(), "unauthorized: authentication required");
    let e = wrong.check_login().unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)));
    assert_eq!(
        e.to_string(),
        format!(
            "login attempt to http://{}/v2/ failed with status: 401 Unauthorized",
            reg.host
        )
    );

    let right = reg.client("tester", "s3cret");
    assert_eq!(right.check_login().unwrap(), None);
    let repo = right.repository_for_push("p/x", "p/x");
    repo.upload_bytes(data, &digest).unwrap();
    let (d, _) = repo.upload_stream(&mut &b"streamed"[..]).unwrap();
    assert_eq!(d, sha256_digest(b"streamed"));
    let other = right.repository_for_push("p/y", "p/y");
    assert!(other.mount_blob(&digest, "p/x").unwrap());
}

#[test]
fn token_registry_push_mount_and_login() {
    let tokens = TokenService::start("tester", "pw", Anonymous::Pull);
    let reg = Registry::with_tokens(&tokens);
    let data = b"layer behind tokens";
    let digest = sha256_digest(data);

    // Anonymous callers get a pull-only token: the push is denied as Docker Hub words it.
    let anonymous = reg.client("", "");
    let e = anonymous
        .repository_for_push("team/src", "team/src")
        .upload_bytes(data, &digest)
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)));
    assert_eq!(
        e.to_string(),
        "denied: requested access to the resource is denied"
    );
    assert_eq!(
        anonymous.check_login().unwrap(),
        None,
        "an anonymous token answers /v2/"
    );

    let client = reg.client("tester", "pw");
    client
        .repository_for_push("team/src", "team/src")
        .upload_bytes(data, &digest)
        .unwrap();
    let dst = client.repository_for_push("team/dst", "team/dst");
    assert!(dst.mount_blob(&digest, "team/src").unwrap());
    let asked = tokens.requests();
    assert!(
        asked.iter().any(|r| r
            .line
            .contains("scope=repository%3Ateam%2Fdst%3Apull%2Cpush&scope=repository%3Ateam%2Fsrc%3Apull")),
        "{asked:#?}"
    );

    // A login brings back the service's refresh token; it then authorizes pushes by itself.
    assert_eq!(client.check_login().unwrap().as_deref(), Some(REFRESH_TOKEN));
    let e = reg.client("tester", "nope").check_login().unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)));
    assert_eq!(
        e.to_string(),
        format!(
            "Get \"http://{}/v2/\": unauthorized: incorrect username or password",
            reg.host
        )
    );
    let identity = AuthConfig {
        identity_token: REFRESH_TOKEN.into(),
        ..Default::default()
    };
    let by_token = Client::new(
        Endpoint::resolve(&reg.host, &RegistryOptions::default()),
        Some(identity),
    );
    let (d, size) = by_token
        .repository_for_push("team/tok", "team/tok")
        .upload_chunks(&mut &b"pushed with a refresh token"[..], 8)
        .unwrap();
    assert_eq!((d, size), (sha256_digest(b"pushed with a refresh token"), 27));
    assert!(
        tokens
            .requests()
            .iter()
            .any(|r| r.line.starts_with("POST /token grant_type=refresh_token"))
    );
}
