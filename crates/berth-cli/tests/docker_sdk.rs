//! The Docker SDK for Python against `berth daemon` (tests/sdk/smoke.py does the calls and checks).

mod common;

use common::daemon::Daemon;

/// Takes the SDK network's bridge and firewall table down even if the script failed before removing it.
struct DeleteBridge(String);

impl Drop for DeleteBridge {
    fn drop(&mut self) {
        let quiet = |args: &[&str], program: &str| {
            let _ = std::process::Command::new(program)
                .args(args)
                .stderr(std::process::Stdio::null())
                .status();
        };
        quiet(&["link", "del", &self.0], "ip");
        quiet(&["delete", "table", "inet", &format!("berth-{}", self.0)], "nft");
    }
}

#[test]
fn python_sdk_works() {
    let d = Daemon::start();
    // The SDK's user network gets its own bridge and subnet (beside the harness's default bridge).
    let bridge = format!("bsdk{:x}", std::process::id());
    let subnet = format!("10.235.{}.0/24", std::process::id() % 250);
    let _cleanup = DeleteBridge(bridge.clone());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/smoke.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_CONFIG", d.env.dir.path().join("docker-config"))
        .env("SDK_BRIDGE", &bridge)
        .env("SDK_SUBNET", &subnet)
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
