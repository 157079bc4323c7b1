//! `logs`: a container's json-file log, filtered, and followed (woken by inotify) until the container exits.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::os::fd::AsFd;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::inotify;

use crate::attach::{self, Kind};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::logs::{self, Entry, LogFilter};
use crate::model::Status;

/// How often a quiet follow checks that its reader is still there.
const WANTED_CHECK_SECS: i64 = 2;

impl Engine {
    /// Passes the selected log entries of container `reference` to `sink`; with `follow`, keeps going until the
    /// container exits, `sink` fails, or — checked every few seconds while the log is quiet — `wanted` says the
    /// reader went away.
    pub fn logs(
        &self,
        reference: &str,
        filter: &LogFilter,
        follow: bool,
        wanted: &dyn Fn() -> bool,
        sink: &mut dyn FnMut(&Entry) -> std::io::Result<()>,
    ) -> Result<()> {
        let id = self.containers.resolve(reference)?;
        let path = self.opts.paths.log_path(&id);
        let c = self.containers.load(&id)?;
        let running = matches!(c.state.status, Status::Running | Status::Paused);
        // Subscribe before reading so an exit between the read and the wait is not missed.
        let mut sub = if follow && running {
            self.subscribe_exit(&id)
        } else {
            None
        };
        let watch = match &sub {
            Some(_) => {
                let fd = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
                    .map_err(|e| Error::io("inotify", e.into()))?;
                inotify::add_watch(&fd, &path, inotify::WatchFlags::MODIFY)
                    .map_err(|e| Error::io("watch log", e.into()))?;
                Some(fd)
            }
            None => None,
        };
        let (entries, offset) = logs::read(&path, filter).map_err(|e| Error::io("read log", e))?;
        for e in &entries {
            if sink(e).is_err() {
                return Ok(());
            }
        }
        let (Some(sock), Some(watch)) = (&mut sub, watch) else {
            return Ok(());
        };
        let file = File::open(&path).map_err(|e| Error::io("open log", e))?;
        let mut reader = BufReader::new(file);
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io("seek log", e))?;
        let follow_filter = LogFilter {
            tail: None,
            ..filter.clone()
        };
        let mut exited = false;
        loop {
            let (entries, _) =
                logs::read_from(&mut reader, &follow_filter).map_err(|e| Error::io("read log", e))?;
            for e in &entries {
                if sink(e).is_err() {
                    return Ok(());
                }
            }
            if exited {
                return Ok(());
            }
            let mut fds = [
                PollFd::new(&watch, PollFlags::IN),
                PollFd::new(sock, PollFlags::IN),
            ];
            let quiet_check = rustix::event::Timespec {
                tv_sec: WANTED_CHECK_SECS,
                tv_nsec: 0,
            };
            match poll(&mut fds, Some(&quiet_check)) {
                Ok(0) if !wanted() => return Ok(()),
                Ok(_) => {}
                Err(_) => continue,
            }
            if !fds[0].revents().is_empty() {
                let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
                let mut events = inotify::Reader::new(watch.as_fd(), &mut buf);
                while events.next().is_ok() {}
            }
            if !fds[1].revents().is_empty() {
                // Only an exit frame or the shim closing can arrive on a wait-only subscription.
                exited = !matches!(attach::read_frame(sock), Ok(Some((k, _))) if k != Kind::Exit);
            }
        }
    }
}
