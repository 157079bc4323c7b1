//! Pulls from a real `docker-registry` on 127.0.0.1 (see common/registry.rs): Docker schema 2 and OCI
//! manifests, an index with two platforms, gzip / zstd / uncompressed layers, layers already present, basic
//! auth (flags, config.json, X-Registry-Auth), the docker CLI against `berth daemon`, `run` of a missing image,
//! and bad input (unknown names, a registry that is down, malformed config JSON, corrupted and truncated blobs)
//! leaving nothing half-registered.

mod common;

use berth_testkit::{Anonymous, TokenService};
use common::registry::{
    Compression, ImageUpload, Layer, Registry, busybox_image, busybox_tar, fails, files_tar, lines,
    nothing_registered,
};
use common::{Env, Run};

#[test]
fn schema2_gzip_pull_run_and_up_to_date() {
    let reg = Registry::start();
    let pushed = reg.push_image(
        "busybox",
        "latest",
        &busybox_image("hello schema2", Compression::Gzip, false),
        false,
        "linux/amd64",
    );
    let env = Env::empty();
    let name = format!("{}/busybox", reg.host);
    let r = env.berth(&["pull", &name]);
    r.ok();
    let out = lines(&r);
    assert_eq!(out[0], "latest: Pulling from busybox");
    assert_eq!(
        out.iter().filter(|l| l.ends_with(": Pull complete")).count(),
        2,
        "{out:?}"
    );
    assert!(
        !out.iter().any(|l| l.contains("Downloading")),
        "no byte counts off a terminal: {out:?}"
    );
    let n = out.len();
    assert_eq!(out[n - 3], format!("Digest: {}", pushed.digest));
    assert_eq!(
        out[n - 2],
        format!("Status: Downloaded newer image for {name}:latest")
    );
    assert_eq!(out[n - 1], format!("{name}:latest"));
    assert_eq!(env.inspect(&name, "{{.Id}}"), pushed.config_digest);
    assert_eq!(
        env.inspect(&name, "{{json .RepoDigests}}"),
        format!("[\"{name}@{}\"]", pushed.digest)
    );
    assert_eq!(
        env.berth(&["run", "--rm", "--network", "none", &name, "cat", "/hello.txt"])
            .ok(),
        "hello schema2"
    );
    let again = env.berth(&["pull", &name]);
    assert_eq!(
        lines(&again),
        [
            "latest: Pulling from busybox".to_string(),
            format!("Digest: {}", pushed.digest),
            format!("Status: Image is up to date for {name}:latest"),
            format!("{name}:latest"),
        ]
    );
    // By digest, quietly.
    let by_digest = format!("{name}@{}", pushed.digest);
    assert_eq!(
        env.berth(&["pull", "-q", &by_digest]).ok(),
        format!("{name}@{}", pushed.digest)
    );
}

#[test]
fn oci_index_platforms_zstd_and_uncompressed_layers() {
    let reg = Registry::start();
    // amd64: zstd base, uncompressed top layer; arm64: gzip layers (never run here, only stored).
    let amd64 = reg.push_image(
        "multi",
        "",
        &[
            Layer::new(busybox_tar(), Compression::Zstd, true),
            Layer::new(files_tar(&[("hello.txt", b"amd64")]), Compression::None, true),
        ],
        true,
        "linux/amd64",
    );
    let arm64 = reg.push_image(
        "multi",
        "",
        &busybox_image("arm64", Compression::Gzip, true),
        true,
        "linux/arm64",
    );
    let index = reg.push_index(
        "multi",
        "v1",
        &[(&arm64, "linux/arm64/v8"), (&amd64, "linux/amd64")],
    );
    let env = Env::empty();
    let name = format!("{}/multi:v1", reg.host);
    let out = env.berth(&["pull", &name]).ok();
    assert!(out.contains(&format!("Digest: {}", index.digest)), "{out}");
    assert_eq!(
        env.inspect(&name, "{{.Id}} {{.Architecture}}"),
        format!("{} amd64", amd64.config_digest)
    );
    assert_eq!(
        env.berth(&["run", "--rm", "--network", "none", &name, "cat", "/hello.txt"])
            .ok(),
        "amd64"
    );
    // Another platform of the same index moves the tag and the digest reference.
    env.berth(&["pull", "--platform", "linux/arm64", &name]).ok();
    assert_eq!(
        env.inspect(&name, "{{.Id}} {{.Architecture}}"),
        format!("{} arm64", arm64.config_digest)
    );
    assert_eq!(
        env.inspect(&name, "{{json .RepoDigests}}"),
        format!("[\"{}/multi@{}\"]", reg.host, index.digest)
    );
    let r = env.berth(&["pull", "--platform", "linux/s390x", &name]);
    fails(
        &r,
        1,
        "no matching manifest for linux/s390x in the manifest list entries",
    );
    let r = env.berth(&["pull", "--platform", "linux/", &name]);
    fails(&r, 1, "unknown operating system or architecture");
}

#[test]
fn layers_present_are_skipped_and_quiet_prints_the_reference() {
    let reg = Registry::start();
    reg.push_image(
        "one",
        "latest",
        &busybox_image("one", Compression::Gzip, false),
        false,
        "linux/amd64",
    );
    let two = busybox_image("two", Compression::Gzip, false);
    reg.push_image("two", "latest", &two, false, "linux/amd64");
    let env = Env::empty();
    env.berth(&["pull", "-q", &format!("{}/one", reg.host)]).ok();
    let out = env.berth(&["pull", &format!("{}/two", reg.host)]).ok();
    let base = &two[0].digest()[7..19];
    let top = &two[1].digest()[7..19];
    assert!(out.contains(&format!("{base}: Already exists")), "{out}");
    assert!(!out.contains(&format!("{base}: Pull complete")), "{out}");
    assert!(out.contains(&format!("{top}: Pull complete")), "{out}");
    assert_eq!(
        env.berth(&[
            "run",
            "--rm",
            "--network",
            "none",
            &format!("{}/two", reg.host),
            "cat",
            "/hello.txt"
        ])
        .ok(),
        "two"
    );
    assert_eq!(
        env.berth(&["pull", "-q", &format!("{}/two:latest", reg.host)])
            .ok(),
        format!("{}/two:latest", reg.host)
    );
}

#[test]
fn all_tags() {
    let reg = Registry::start();
    for tag in ["a", "b"] {
        reg.push_image(
            "tags",
            tag,
            &busybox_image(tag, Compression::Gzip, false),
            false,
            "linux/amd64",
        );
    }
    let env = Env::empty();
    let name = format!("{}/tags", reg.host);
    let out = env.berth(&["pull", "-a", &name]).ok();
    assert!(
        out.contains("a: Pulling from tags") && out.contains("b: Pulling from tags"),
        "{out}"
    );
    assert!(
        out.ends_with(&format!("Status: Downloaded newer image for {name}\n{name}")),
        "{out}"
    );
    let tags = env.berth(&["images", "--format", "{{.Tag}}", &name]).ok();
    assert_eq!(tags.lines().count(), 2, "{tags}");
    fails(
        &env.berth(&["pull", "-a", &format!("{name}:a")]),
        1,
        "tag can't be used with --all-tags/-a",
    );
}

#[test]
fn run_and_create_pull_a_missing_image() {
    let reg = Registry::start();
    reg.push_image(
        "busybox",
        "latest",
        &busybox_image("pulled by run", Compression::Gzip, false),
        false,
        "linux/amd64",
    );
    let env = Env::empty();
    let name = format!("{}/busybox", reg.host);
    let r = env.berth(&["run", "--rm", "--network", "none", &name, "cat", "/hello.txt"]);
    assert_eq!(r.ok(), "pulled by run");
    assert!(
        r.stderr
            .starts_with(&format!("Unable to find image '{name}:latest' locally\n")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Pull complete") && r.stderr.contains("Status: Downloaded newer image"),
        "{}",
        r.stderr
    );
    // Missing everywhere: the pull's error, exit 125 as Docker's run.
    let r = env.berth(&["create", &format!("{}/nosuch", reg.host)]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("Unable to find image"), "{}", r.stderr);
    assert!(
        r.stderr.contains("nosuch:latest not found: manifest unknown"),
        "{}",
        r.stderr
    );
}

#[test]
fn unknown_names_and_a_registry_that_is_down() {
    let reg = Registry::start();
    reg.push_image(
        "busybox",
        "latest",
        &busybox_image("x", Compression::Gzip, false),
        false,
        "linux/amd64",
    );
    let env = Env::empty();
    let h = &reg.host;
    fails(
        &env.berth(&["pull", &format!("{h}/busybox:nope")]),
        1,
        &format!("manifest for {h}/busybox:nope not found: manifest unknown: manifest unknown"),
    );
    // distribution 2.8 answers an unknown repository's manifest as an unknown manifest.
    fails(
        &env.berth(&["pull", &format!("{h}/nosuch")]),
        1,
        &format!("manifest for {h}/nosuch:latest not found: manifest unknown: manifest unknown"),
    );
    let missing = format!("{h}/busybox@sha256:{}", "0".repeat(64));
    fails(&env.berth(&["pull", &missing]), 1, "not found: manifest unknown");
    // Nothing listens there any more.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    fails(
        &env.berth(&["pull", &format!("127.0.0.1:{down}/busybox")]),
        1,
        "connection refused",
    );
    fails(&env.berth(&["pull", "Bad/Name"]), 1, "invalid reference format");
    nothing_registered(&env);
}

#[test]
fn malformed_corrupted_and_truncated_content_registers_nothing() {
    let reg = Registry::start();
    let env = Env::empty();
    let h = &reg.host;
    // A config that is not JSON.
    let layers = busybox_image("x", Compression::Gzip, false);
    reg.push_with_config("badconfig", "latest", &layers, false, b"{not json");
    fails(
        &env.berth(&["pull", &format!("{h}/badconfig")]),
        1,
        "invalid image config",
    );
    // A config whose diff ids do not match the layers.
    let wrong = serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layers[1].diff_id(), layers[0].diff_id()]}});
    reg.push_with_config(
        "wrongdiff",
        "latest",
        &layers,
        false,
        &serde_json::to_vec(&wrong).unwrap(),
    );
    fails(
        &env.berth(&["pull", &format!("{h}/wrongdiff")]),
        1,
        "diff id mismatch",
    );
    nothing_registered(&env);
    // A layer blob corrupted in the registry's storage (same size, one byte changed).
    let corrupt = busybox_image("corrupt", Compression::Gzip, false);
    reg.push_image("corrupt", "latest", &corrupt, false, "linux/amd64");
    let file = reg.blob_file(&corrupt[0].digest());
    let mut data = std::fs::read(&file).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x55;
    std::fs::write(&file, &data).unwrap();
    fails(
        &env.berth(&["pull", &format!("{h}/corrupt")]),
        1,
        &format!(
            "filesystem layer verification failed for digest {}",
            corrupt[0].digest()
        ),
    );
    nothing_registered(&env);
    // A truncated one.
    let short = busybox_image("short", Compression::None, true);
    reg.push_image("short", "latest", &short, true, "linux/amd64");
    let file = reg.blob_file(&short[0].digest());
    let data = std::fs::read(&file).unwrap();
    std::fs::write(&file, &data[..data.len() / 3]).unwrap();
    let r = env.berth(&["pull", &format!("{h}/short")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("filesystem layer {} is truncated", short[0].digest()))
            || r.stderr.contains("filesystem layer"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    nothing_registered(&env);
}

#[test]
fn basic_auth_from_config_json() {
    let reg = Registry::with_htpasswd("tester", "s3cret");
    reg.push_image(
        "private",
        "latest",
        &busybox_image("private", Compression::Gzip, false),
        false,
        "linux/amd64",
    );
    let env = Env::empty();
    let name = format!("{}/private", reg.host);
    let config = env.dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let with_config = |auth: &str| {
        let json = format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host);
        std::fs::write(config.join("config.json"), json).unwrap();
        let mut c = env.cmd(&["pull", &name]);
        c.env("DOCKER_CONFIG", &config);
        Run::from(c.output().unwrap())
    };
    let mut c = env.cmd(&["pull", &name]);
    c.env("DOCKER_CONFIG", &config);
    fails(&Run::from(c.output().unwrap()), 1, "no basic auth credentials");
    // base64("tester:wrong"), then base64("tester:s3cret").
    fails(&with_config("dGVzdGVyOndyb25n"), 1, "unauthorized");
    nothing_registered(&env);
    with_config("dGVzdGVyOnMzY3JldA==").ok();
    assert_eq!(
        env.berth(&["run", "--rm", "--network", "none", &name, "cat", "/hello.txt"])
            .ok(),
        "private"
    );
}

#[test]
fn docker_cli_pulls_through_the_daemon() {
    let reg = Registry::with_htpasswd("tester", "s3cret");
    let pushed = reg.push_image(
        "busybox",
        "latest",
        &busybox_image("via docker", Compression::Gzip, false),
        false,
        "linux/amd64",
    );
    let d = common::daemon::Daemon::start();
    let name = format!("{}/busybox", reg.host);
    // No credentials in the docker CLI's config: the daemon is asked without X-Registry-Auth.
    let r = d.docker(&["pull", &name]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no basic auth credentials"), "{}", r.stderr);
    // With them, the CLI sends X-Registry-Auth and the daemon uses it.
    let config = d.env.dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let json = format!(
        r#"{{"auths":{{"{}":{{"auth":"dGVzdGVyOnMzY3JldA=="}}}}}}"#,
        reg.host
    );
    std::fs::write(config.join("config.json"), json).unwrap();
    let r = d.docker(&["pull", &name]);
    let out = r.ok();
    assert!(out.contains("latest: Pulling from busybox"), "{out}");
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.contains(&format!("Digest: {}", pushed.digest)), "{out}");
    assert!(out.ends_with(&format!("{name}:latest")), "{out}");
    assert_eq!(
        d.docker(&["run", "--rm", "--network", "none", &name, "cat", "/hello.txt"])
            .ok(),
        "via docker"
    );
    let events = d.docker(&[
        "events",
        "--since",
        "0",
        "--until",
        &common::unix_now_plus(1),
        "--filter",
        "event=pull",
    ]);
    assert!(
        events
            .ok()
            .contains(&format!("image pull {name}:latest (name={name})")),
        "{}",
        events.stdout
    );
    // A pulled image saves, loads back and runs.
    let archive = d.env.dir.path().join("pulled.tar");
    d.docker(&["save", "-o", archive.to_str().unwrap(), &name]).ok();
    d.docker(&["rmi", &name]).ok();
    d.docker(&["load", "-i", archive.to_str().unwrap()]).ok();
    assert_eq!(
        d.docker(&["run", "--rm", "--network", "none", &name, "cat", "/hello.txt"])
            .ok(),
        "via docker"
    );
    assert_eq!(
        d.docker(&["image", "inspect", "-f", "{{.Id}}", &name]).ok(),
        pushed.config_digest
    );
    // A mid-stream failure arrives as an error message: exit 1, one line.
    let bad = busybox_image("bad", Compression::Gzip, false);
    reg.push_image("bad", "latest", &bad, false, "linux/amd64");
    let file = reg.blob_file(&bad[1].digest());
    let mut data = std::fs::read(&file).unwrap();
    data[20] ^= 1;
    std::fs::write(&file, &data).unwrap();
    let r = d.docker(&["pull", &format!("{}/bad", reg.host)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("verification failed for digest"),
        "{}",
        r.stderr
    );
}

#[test]
fn bearer_tokens_from_the_registrys_token_service() {
    let tokens = TokenService::start("tester", "s3cret", Anonymous::Nothing);
    let reg = Registry::with_tokens(&tokens);
    reg.push_image(
        "team/app",
        "v1",
        &busybox_image("token", Compression::Gzip, false),
        false,
        "linux/amd64",
    );
    let env = Env::empty();
    let name = format!("{}/team/app:v1", reg.host);
    let config = env.dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let pull = || {
        let mut c = env.cmd(&["pull", &name]);
        c.env("DOCKER_CONFIG", &config);
        Run::from(c.output().unwrap())
    };
    // Anonymous: a token without access, so the registry refuses, in Docker's words.
    fails(
        &pull(),
        1,
        &format!("pull access denied for {}/team/app", reg.host),
    );
    let json = format!(
        r#"{{"auths":{{"{}":{{"auth":"dGVzdGVyOnMzY3JldA=="}}}}}}"#,
        reg.host
    );
    std::fs::write(config.join("config.json"), json).unwrap();
    pull().ok();
    let asked = tokens.requests();
    let scope = "scope=repository%3Ateam%2Fapp%3Apull";
    assert!(
        asked.iter().any(|r| r.authenticated
            && r.line.contains(scope)
            && r.line.contains("service=berth-test-service")),
        "{asked:?}"
    );
    // One token served the manifest, the config and both layers (three at once): it was cached for the scope.
    assert_eq!(asked.iter().filter(|r| r.authenticated).count(), 1, "{asked:?}");
    assert_eq!(
        env.berth(&["run", "--rm", "--network", "none", &name, "cat", "/hello.txt"])
            .ok(),
        "token"
    );
}
