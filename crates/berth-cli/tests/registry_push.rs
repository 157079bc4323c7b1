//! Pushes, logins, mirrors, manifest inspection and search against a real `docker-registry` on 127.0.0.1 (see
//! common/registry.rs): a pushed image pulls and runs elsewhere; blobs already in the repository are skipped and
//! those of another repository mounted; every tag with `-a`; `login`/`logout` keep Docker's `config.json`; the docker
//! CLI pushes and logs in through `berth daemon`; Docker Hub pulls go through `--registry-mirror`; bad input gets one
//! clear line.

mod common;

use berth_testkit::{Anonymous, TokenService};
use common::registry::{Compression, ImageUpload, Registry, busybox_image, fails, lines};
use common::{Env, Run};

/// The lines of a push's output that name a layer's outcome (`<id>: Pushed`), sorted.
fn outcomes(out: &[String]) -> Vec<String> {
    let mut v: Vec<String> = out
        .iter()
        .filter_map(|l| l.split_once(": ").map(|(_, s)| s.to_string()))
        .filter(|s| s == "Pushed" || s == "Layer already exists" || s.starts_with("Mounted from "))
        .collect();
    v.sort();
    v
}

/// A command with its own Docker client configuration directory.
fn with_config(env: &Env, config: &std::path::Path, args: &[&str]) -> Run {
    let mut c = env.cmd(args);
    c.env("DOCKER_CONFIG", config);
    Run::from(c.output().unwrap())
}

#[test]
fn push_then_pull_and_run_elsewhere_skip_and_mount() {
    let reg = Registry::start();
    let env = Env::new();
    let name = format!("{}/team/box:1", reg.host);
    env.berth(&["tag", "busybox", &name]).ok();
    let out = lines(&env.berth(&["push", &name]));
    assert_eq!(
        out[0],
        format!("The push refers to repository [{}/team/box]", reg.host)
    );
    assert_eq!(outcomes(&out), ["Pushed"], "{out:?}");
    let last = out.last().unwrap();
    assert!(
        last.starts_with("1: digest: sha256:") && last.contains(" size: "),
        "{out:?}"
    );
    let digest = last.split(' ').nth(2).unwrap().to_string();
    // The image now knows its digest in that repository.
    let repo_digests = env.inspect(&name, "{{json .RepoDigests}}");
    assert!(
        repo_digests.contains(&format!("{}/team/box@{digest}", reg.host)),
        "{repo_digests}"
    );

    // Another installation pulls it (by tag and by digest) and runs it.
    let other = Env::empty();
    other.berth(&["pull", &name]).ok();
    assert_eq!(other.inspect(&name, "{{.Id}}"), env.inspect(&name, "{{.Id}}"));
    assert_eq!(
        other
            .berth(&["run", "--rm", "--network", "none", &name, "echo", "pushed"])
            .ok(),
        "pushed"
    );
    other
        .berth(&["pull", &format!("{}/team/box@{digest}", reg.host)])
        .ok();

    // Again: the registry has the layer already; the same manifest digest.
    let again = lines(&env.berth(&["push", &name]));
    assert_eq!(outcomes(&again), ["Layer already exists"], "{again:?}");
    assert!(again.last().unwrap().contains(&digest), "{again:?}");

    // Another repository of the same registry: mounted, not uploaded.
    let copy = format!("{}/team/copy:latest", reg.host);
    env.berth(&["tag", "busybox", &copy]).ok();
    let mounted = lines(&env.berth(&["push", &copy]));
    assert_eq!(outcomes(&mounted), ["Mounted from team/box"], "{mounted:?}");

    // A layer pulled from a registry is mounted when pushed to another repository there.
    let third = format!("{}/other/box:x", reg.host);
    other.berth(&["tag", &name, &third]).ok();
    let out = lines(&other.berth(&["push", &third]));
    assert_eq!(outcomes(&out), ["Mounted from team/box"], "{out:?}");

    // manifest inspect shows what was pushed, as Docker's CLI does.
    let m = env.berth(&["manifest", "inspect", &name]).ok();
    let v: serde_json::Value = serde_json::from_str(&m).unwrap();
    assert_eq!(v["schemaVersion"], 2);
    assert_eq!(
        v["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(v["layers"].as_array().unwrap().len(), 1);
    assert!(m.starts_with("{\n\t\"schemaVersion\": 2,"), "{m}");
    let verbose = env.berth(&["manifest", "inspect", "-v", &name]).ok();
    let v: serde_json::Value = serde_json::from_str(&verbose).unwrap();
    assert_eq!(v["Ref"], format!("{}/team/box:1", reg.host));
    assert_eq!(v["Descriptor"]["digest"], digest);
    assert!(v["SchemaV2Manifest"]["layers"].is_array());
}

#[test]
fn push_all_tags_and_quiet() {
    let reg = Registry::start();
    let env = Env::new();
    let repo = format!("{}/tags", reg.host);
    for tag in ["a", "b"] {
        env.berth(&["tag", "busybox", &format!("{repo}:{tag}")]).ok();
    }
    let out = lines(&env.berth(&["push", "-a", &repo]));
    let digests: Vec<&String> = out.iter().filter(|l| l.contains(": digest: ")).collect();
    assert_eq!(digests.len(), 2, "{out:?}");
    assert!(
        digests[0].starts_with("a: ") && digests[1].starts_with("b: "),
        "{out:?}"
    );
    assert_eq!(
        env.berth(&["push", "-q", &format!("{repo}:a")]).ok(),
        format!("{repo}:a")
    );
    let other = Env::empty();
    other.berth(&["pull", "-a", &repo]).ok();
    assert_eq!(
        other.berth(&["images", "--format", "{{.Tag}}", &repo]).ok(),
        "a\nb"
    );
}

#[test]
fn push_refusals_are_one_clear_line() {
    let env = Env::new();
    let reg = Registry::start();
    fails(
        &env.berth(&["push", &format!("{}/nothing:here", reg.host)]),
        1,
        &format!(
            "An image does not exist locally with the tag: {}/nothing",
            reg.host
        ),
    );
    env.berth(&["tag", "busybox", &format!("{}/some:1", reg.host)])
        .ok();
    fails(
        &env.berth(&["push", &format!("{}/some:2", reg.host)]),
        1,
        &format!("tag does not exist: {}/some:2", reg.host),
    );
    fails(
        &env.berth(&["push", "-a", "busybox:latest"]),
        1,
        "tag can't be used with --all-tags/-a",
    );
    // A registry that is down.
    let port = common::free_port();
    let down = format!("127.0.0.1:{port}/x:1");
    env.berth(&["tag", "busybox", &down]).ok();
    fails(&env.berth(&["push", &down]), 1, "connection refused");
    // A registry that wants credentials, without them.
    let locked = Registry::with_htpasswd("tester", "s3cret");
    let name = format!("{}/locked:1", locked.host);
    env.berth(&["tag", "busybox", &name]).ok();
    let config = env.dir.path().join("docker-config");
    let r = with_config(&env, &config, &["push", &name]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("no basic auth credentials") || r.stderr.contains("denied"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}

#[test]
fn login_push_logout_with_htpasswd() {
    let reg = Registry::with_htpasswd("tester", "s3cret");
    let env = Env::new();
    let config = env.dir.path().join("docker-config");
    let name = format!("{}/private:1", reg.host);
    env.berth(&["tag", "busybox", &name]).ok();
    let login = |password: &str| {
        let mut c = env.cmd(&["login", "-u", "tester", "--password-stdin", &reg.host]);
        c.env("DOCKER_CONFIG", &config);
        Run::with_stdin(c, format!("{password}\n").as_bytes())
    };
    // Wrong password: refused, nothing stored.
    let r = login("wrong");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("401") || r.stderr.contains("unauthorized"),
        "{}",
        r.stderr
    );
    assert!(!config.join("config.json").exists());
    // Right password: stored as Docker stores it, readable by the owner only.
    let r = login("s3cret");
    assert_eq!(r.ok(), "Login Succeeded");
    let file = config.join("config.json");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored["auths"][&reg.host]["auth"], "dGVzdGVyOnMzY3JldA==");
    // The CLI sends them with the push.
    let out = with_config(&env, &config, &["push", &name]);
    assert!(out.ok().contains("1: digest: sha256:"));
    // No username and no terminal: stored credentials are tried first.
    assert!(
        with_config(&env, &config, &["login", &reg.host])
            .ok()
            .ends_with("Login Succeeded")
    );
    // Logout removes them; twice says so.
    assert_eq!(
        with_config(&env, &config, &["logout", &reg.host]).ok(),
        format!("Removing login credentials for {}", reg.host)
    );
    // As Docker's CLI, a second logout says the same and succeeds; the credentials are gone.
    assert_eq!(
        with_config(&env, &config, &["logout", &reg.host]).ok(),
        format!("Removing login credentials for {}", reg.host)
    );
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(stored["auths"].get(&reg.host).is_none(), "{stored}");
    // Without credentials and without a terminal: a clear refusal, no hang.
    fails(
        &with_config(&env, &config, &["login", &reg.host]),
        1,
        "Cannot perform an interactive login from a non TTY device",
    );
    fails(
        &with_config(&env, &config, &["login", "--password-stdin", &reg.host]),
        1,
        "Must provide --username with --password-stdin",
    );
}

#[test]
fn bearer_token_push_asks_for_push_scope() {
    let tokens = TokenService::start("tester", "s3cret", Anonymous::Nothing);
    let reg = Registry::with_tokens(&tokens);
    let env = Env::new();
    let config = env.dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let json = format!(
        r#"{{"auths":{{"{}":{{"auth":"dGVzdGVyOnMzY3JldA=="}}}}}}"#,
        reg.host
    );
    std::fs::write(config.join("config.json"), json).unwrap();
    let name = format!("{}/team/app:v2", reg.host);
    env.berth(&["tag", "busybox", &name]).ok();
    with_config(&env, &config, &["push", &name]).ok();
    let asked = tokens.requests();
    assert!(
        asked
            .iter()
            .any(|r| r.authenticated && r.line.contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush")),
        "{asked:?}"
    );
    let other = Env::empty();
    let r = with_config(
        &other,
        &config,
        &["run", "--rm", "--network", "none", &name, "echo", "ok"],
    );
    assert!(r.ok().ends_with("ok"));
}

#[test]
fn docker_cli_logs_in_and_pushes_through_the_daemon() {
    let reg = Registry::with_htpasswd("tester", "s3cret");
    let d = common::daemon::Daemon::start();
    let name = format!("{}/via/docker:1", reg.host);
    d.docker(&["tag", "busybox", &name]).ok();
    let r = d.docker_stdin(
        &["login", "-u", "tester", "--password-stdin", &reg.host],
        b"wrong\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = d.docker_stdin(
        &["login", "-u", "tester", "--password-stdin", &reg.host],
        b"s3cret\n",
    );
    assert!(r.ok().contains("Login Succeeded"));
    let out = d.docker(&["push", &name]).ok();
    assert!(
        out.contains(&format!(
            "The push refers to repository [{}/via/docker]",
            reg.host
        )),
        "{out}"
    );
    assert!(out.contains(": Pushed"), "{out}");
    assert!(out.contains("1: digest: sha256:"), "{out}");
    // What the docker CLI pushed through berth pulls into another berth and runs.
    let other = Env::empty();
    let config = d.env.dir.path().join("docker-config");
    let r = with_config(
        &other,
        &config,
        &["run", "--rm", "--network", "none", &name, "echo", "interop"],
    );
    assert!(r.ok().ends_with("interop"));
}

#[test]
fn docker_hub_pulls_go_through_a_mirror() {
    let mirror = Registry::start();
    mirror.push_image(
        "library/busybox",
        "latest",
        &busybox_image("from the mirror", Compression::Gzip, false),
        false,
        "linux/amd64",
    );
    let env = Env::empty();
    // A mirror that is down is passed over for the next one.
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let url = format!("http://{}", mirror.host);
    let r = env.berth(&[
        "--registry-mirror",
        &dead,
        "--registry-mirror",
        &url,
        "pull",
        "busybox",
    ]);
    assert!(r.ok().ends_with("docker.io/library/busybox:latest"));
    assert_eq!(
        env.berth(&["run", "--rm", "--network", "none", "busybox", "cat", "/hello.txt"])
            .ok(),
        "from the mirror"
    );
    fails(
        &env.berth(&["--registry-mirror", "127.0.0.1:5000", "images"]),
        1,
        "invalid mirror: no scheme specified",
    );
}

#[test]
fn search_of_a_registry_without_a_search_api_is_one_clear_line() {
    let reg = Registry::start();
    let env = Env::empty();
    // docker-registry has no v1 search: dockerd's words for that.
    fails(
        &env.berth(&["search", &format!("{}/busybox", reg.host)]),
        1,
        "unexpected status code 404",
    );
    fails(
        &env.berth(&["search", "--filter", "color=red", "x"]),
        1,
        "invalid filter",
    );
}

#[test]
fn a_client_that_goes_away_cancels_the_push() {
    use std::io::{Read, Write};
    let reg = Registry::start();
    let d = common::daemon::Daemon::start();
    // A layer of many files: rebuilding and compressing it takes long enough to go away in the middle.
    let names: Vec<String> = (0..30_000).map(|i| format!("many/f{i:05}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let tar = d.env.dir.path().join("many.tar");
    std::fs::write(&tar, common::registry::files_tar(&files)).unwrap();
    let name = format!("{}/gone", reg.host);
    d.env
        .berth(&[
            "-H",
            &d.host(),
            "import",
            tar.to_str().unwrap(),
            &format!("{name}:1"),
        ])
        .ok();
    let mut s = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    let request = format!(
        "POST /v1.41/images/{name}/push?tag=1 HTTP/1.1\r\nHost: berth\r\nX-Registry-Auth: e30=\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("Preparing") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    drop(s);
    // Uncancelled, this push puts its manifest within about 3 s (measured with the cancel disabled); cancelled,
    // never.
    let manifest = format!("http://{}/v2/gone/manifests/1", reg.host);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let accept = "application/vnd.docker.distribution.manifest.v2+json";
    for _ in 0..24 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let status = agent
            .get(&manifest)
            .header("Accept", accept)
            .call()
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 404, "the push went on after its client left");
    }
    // The same push with a client that stays succeeds.
    let out = d.docker(&["push", &format!("{name}:1")]).ok();
    assert!(out.contains("1: digest: sha256:"), "{out}");
}
