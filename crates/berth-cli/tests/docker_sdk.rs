//! The Docker SDK for Python against `berth daemon` (tests/sdk/smoke.py does the calls and checks).

mod common;

use common::daemon::Daemon;

#[test]
fn python_sdk_works() {
    let d = Daemon::start();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/smoke.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_CONFIG", d.env.dir.path().join("docker-config"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {stderr}\ndaemon log:\n{}",
        d.log()
    );
    assert_eq!(stdout.trim(), "ok");
}
