//! A private `berth daemon` for one test, with the stock `docker` CLI pointed at it through its own socket and its
//! own (empty) client configuration. Stopped (SIGTERM) on drop, before the installation itself is cleaned up.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Env, Run};

/// A running daemon over an [`Env`].
pub struct Daemon {
    child: Option<Child>,
    // Dropped after the daemon is stopped (field order): its cleanup runs the daemonless CLI.
    pub env: Env,
}

impl Daemon {
    /// A daemon over a fresh installation with busybox:latest imported.
    pub fn start() -> Daemon {
        Daemon::start_with(&[])
    }

    /// Like [`Daemon::start`], with extra daemon arguments.
    pub fn start_with(extra: &[&str]) -> Daemon {
        let mut d = Daemon {
            child: None,
            env: Env::new(),
        };
        d.launch_with(extra);
        d
    }

    pub fn socket(&self) -> PathBuf {
        self.env.dir.path().join("d.sock")
    }

    /// The `DOCKER_HOST` value for this daemon.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// Starts the daemon process and waits until it answers.
    pub fn launch(&mut self) {
        self.launch_with(&[]);
    }

    /// Starts the daemon with extra arguments (more `-H` addresses, TLS flags) and waits until its unix socket
    /// answers.
    pub fn launch_with(&mut self, extra: &[&str]) {
        assert!(self.child.is_none(), "daemon already running");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.env.dir.path().join("daemon.log"))
            .unwrap();
        let child = self
            .env
            .cmd(&[&["daemon", "-H", &self.host(), "--debug"][..], extra].concat())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("daemon did not come up:\n{}", self.log());
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.env.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// The daemon's pid.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("daemon running").id() as i32
    }

    /// Stops the daemon with `signal` and reaps it.
    pub fn stop_with(&mut self, signal: i32) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(child.id() as i32, signal) };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "daemon did not stop within 15 s of signal {signal}:\n{}",
                self.log()
            );
        }
    }

    /// A `docker` command aimed at this daemon.
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("docker");
        c.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.env.dir.path().join("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .stdin(Stdio::null());
        c
    }

    /// Runs the docker CLI to completion.
    pub fn docker(&self, args: &[&str]) -> Run {
        Run::from(self.docker_cmd(args).output().unwrap())
    }

    /// Runs the docker CLI with `input` on stdin.
    pub fn docker_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        Run::with_stdin(self.docker_cmd(args), input)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop_with(libc::SIGTERM);
    }
}
