//! `top`: the processes of a container, read from its cgroup and /proc, in `ps -ef`'s columns.

use std::fs;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Status;

/// A process table: column titles and one row per process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// Clock ticks per second for /proc times.
fn ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

fn user_name(uid: u32) -> String {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}

/// One `ps -ef` row for `pid`, or `None` if it vanished.
fn row(pid: i32, boot_secs: u64) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    let f: Vec<&str> = rest.split(' ').collect();
    let ppid = f.get(1)?.to_string();
    let tty_nr: u64 = f.get(4)?.parse().ok()?;
    let cpu_ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let start_ticks: u64 = f.get(19)?.parse().ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmd = if cmdline.is_empty() {
        format!("[{}]", stat.split_once('(')?.1.rsplit_once(')')?.0)
    } else {
        String::from_utf8_lossy(&cmdline)
            .trim_end_matches('\0')
            .replace('\0', " ")
    };
    let t = ticks();
    let secs = cpu_ticks / t;
    let started = boot_secs + start_ticks / t;
    let stime = time::OffsetDateTime::from_unix_timestamp(started as i64)
        .map(|d| format!("{:02}:{:02}", d.hour(), d.minute()))
        .unwrap_or_default();
    let tty = if tty_nr == 0 {
        "?".to_string()
    } else {
        format!("pts/{}", tty_nr & 0xff)
    };
    Some(vec![
        user_name(uid),
        pid.to_string(),
        ppid,
        "0".into(),
        stime,
        tty,
        format!("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60),
        cmd,
    ])
}

impl Engine {
    /// The processes running in container `reference`.
    pub fn top(&self, reference: &str) -> Result<Top> {
        let id = self.containers.resolve(reference)?;
        let c = self.reconcile(self.containers.load(&id)?)?;
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Err(Error::Conflict(format!("Container {id} is not running")));
        }
        let path = format!("{}/{}", self.opts.cgroup_parent.trim_end_matches('/'), c.id);
        let h = berth_runtime::cgroups::Hierarchy::detect().map_err(|e| Error::Runtime(e.to_string()))?;
        let mut pids = h
            .open(&path)
            .and_then(|cg| cg.pids())
            .map_err(|e| Error::Runtime(e.to_string()))?;
        pids.sort_unstable();
        let boot = fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0);
        let titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
            .map(String::from)
            .to_vec();
        Ok(Top {
            titles,
            processes: pids.into_iter().filter_map(|p| row(p, boot)).collect(),
        })
    }
}
