//! Persistent network namespaces kept alive by a bind mount on a file (what `ip netns add` makes, without running
//! it), and ways to act inside one: on a short-lived thread ([`run_in`]) or, in single-threaded programs, on the
//! calling thread ([`enter_current_thread`]).
//!
//! Joining or creating a network namespace changes only the calling thread, so these functions are safe in a
//! multi-threaded process: the namespace switches happen on dedicated threads that end afterwards.
//!
//! The directory holding the namespace files should be dedicated to them. The first [`create`] makes it a mount point
//! of its own: a small tmpfs when it is empty (so creating a namespace file never touches a disk journal, as with
//! `/run/netns` on most hosts), else a bind mount of itself; either is then made *private*.
//!
//! Mount propagation: with the directory private, mounting or unmounting a namespace file never propagates into other
//! mount namespaces, and costs the same however many mount namespaces (containers, sandboxed services) exist; under a
//! shared `/run` each namespace mount would otherwise be copied into every peer and slave mount namespace.
//! Namespaces cloned while a namespace file is mounted still get a copy of that mount (copying at clone time does not
//! depend on propagation): a container's copy goes away when its runtime detaches the old root after `pivot_root`,
//! and [`remove`] unlinks the file, which makes the kernel (3.18 and later) detach the mounts on it in every other
//! mount namespace, so no copy keeps a removed namespace alive.

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Mutex;
use std::thread;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

use crate::error::{Error, Result};
use crate::netlink::Netlink;

/// The calling thread's own network namespace.
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";
/// Index of the loopback interface in every network namespace.
const LOOPBACK_INDEX: u32 = 1;

/// Serialises preparing namespace directories within this process, so two threads never stack two bind mounts.
static PREPARE: Mutex<()> = Mutex::new(());

fn ns_error<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Namespace {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// Creates a new network namespace with its loopback interface up and keeps it alive as a bind mount on `path`
/// (a new file; its directory is created when missing and made a private mount, see the module documentation).
pub fn create(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(ns_error(path, "create directory"))?;
    make_private(dir).map_err(ns_error(path, "make directory a private mount"))?;
    rustix::fs::open(
        path,
        OFlags::CREATE | OFlags::EXCL | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ns_error(path, "create file")(e.into()))?;
    let made = thread::scope(|scope| {
        let worker = thread::Builder::new()
            .spawn_scoped(scope, || new_namespace_on(path))
            .map_err(|e| Error::Io {
                ctx: "start network namespace thread".into(),
                source: e,
            })?;
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    if made.is_err() {
        let _ = fs::remove_file(path);
    }
    made
}

/// Runs on a dedicated thread: moves it into a new network namespace, pins that namespace on `path`, brings `lo` up.
fn new_namespace_on(path: &Path) -> Result<()> {
    // SAFETY: only the network namespace is unshared; the fd table (the hazard `unshare_unsafe` documents for
    // CLONE_FILES) stays shared with the other threads.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }
        .map_err(|e| ns_error(path, "unshare")(e.into()))?;
    rustix::mount::mount_bind(THREAD_NETNS, path).map_err(|e| ns_error(path, "bind mount")(e.into()))?;
    let loopback = Netlink::open().and_then(|mut netlink| netlink.set_up(LOOPBACK_INDEX));
    if loopback.is_err() {
        let _ = rustix::mount::unmount(path, UnmountFlags::DETACH);
    }
    loopback
}

/// Makes `dir` a private mount. When it is not a mount point yet, an empty `dir` gets a tmpfs and one with content a
/// bind mount of itself (nothing already there is hidden).
fn make_private(dir: &Path) -> io::Result<()> {
    let _serial = PREPARE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match rustix::mount::mount_change(dir, MountPropagationFlags::PRIVATE) {
        Err(Errno::INVAL) => {
            // Not a mount point yet: one process at a time makes it one (a second would stack a mount over the
            // first and hide the namespace files made in it meanwhile).
            let lock_path = dir.with_extension("lock");
            let lock = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)?;
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
            if rustix::mount::mount_change(dir, MountPropagationFlags::PRIVATE).is_ok() {
                return Ok(());
            }
            if fs::read_dir(dir)?.next().is_none() {
                let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
                rustix::mount::mount("tmpfs", dir, "tmpfs", flags, Some(c"mode=755"))?;
            } else {
                rustix::mount::mount_bind_recursive(dir, dir)?;
            }
            Ok(rustix::mount::mount_change(dir, MountPropagationFlags::PRIVATE)?)
        }
        other => Ok(other?),
    }
}

/// Unmounts (lazily) and deletes the namespace file at `path`; the namespace ends when nothing else uses it. A path
/// that is already gone is not an error.
pub fn remove(path: &Path) -> Result<()> {
    match rustix::mount::unmount(path, UnmountFlags::DETACH) {
        Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => {}
        Err(e) => return Err(ns_error(path, "unmount")(e.into())),
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ns_error(path, "remove file")(e)),
        _ => Ok(()),
    }
}

/// Opens the namespace file at `path` (for `setns`, or to hand to the kernel as `IFLA_NET_NS_FD`).
pub fn open(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| ns_error(path, "open")(e.into()))
}

/// Moves the calling thread into the network namespace `ns`; `path` names it in errors.
pub(crate) fn enter(ns: BorrowedFd<'_>, path: &Path) -> Result<()> {
    rustix::thread::move_into_link_name_space(ns, Some(LinkNameSpaceType::Network))
        .map_err(|e| ns_error(path, "enter")(e.into()))
}

/// Runs `f` on a short-lived thread inside the namespace at `path` and returns its result. Sockets `f` creates stay
/// in that namespace after the thread ends. A panic in `f` resumes on the caller.
pub fn run_in<T: Send>(path: &Path, f: impl FnOnce() -> T + Send) -> Result<T> {
    let ns = open(path)?;
    thread::scope(|scope| {
        let worker = thread::Builder::new()
            .spawn_scoped(scope, move || enter(ns.as_fd(), path).map(|()| f()))
            .map_err(|e| Error::Io {
                ctx: "start network namespace thread".into(),
                source: e,
            })?;
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Moves the calling thread into the namespace at `path` until the returned guard is dropped (or [`NetnsGuard::leave`]
/// is called), then back to the namespace it was in. Only for single-threaded processes (such as a container shim) or
/// threads dedicated to the job: everything the thread does meanwhile happens inside the namespace.
pub fn enter_current_thread(path: &Path) -> Result<NetnsGuard> {
    let original = open(Path::new(THREAD_NETNS))?;
    let target = open(path)?;
    enter(target.as_fd(), path)?;
    Ok(NetnsGuard {
        original: Some(original),
    })
}

/// Returns the thread to its original network namespace when dropped; see [`enter_current_thread`].
pub struct NetnsGuard {
    original: Option<OwnedFd>,
}

impl NetnsGuard {
    /// Returns the thread to its original namespace now, reporting a failure (which `Drop` cannot).
    pub fn leave(mut self) -> Result<()> {
        self.switch_back()
    }

    fn switch_back(&mut self) -> Result<()> {
        match self.original.take() {
            Some(original) => enter(original.as_fd(), Path::new(THREAD_NETNS)),
            None => Ok(()),
        }
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        // Going back to a namespace the thread was in, through an fd held open since, does not fail in practice;
        // callers that must know use `leave`.
        let _ = self.switch_back();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, UdpSocket};
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;
    use std::sync::mpsc;

    /// `statfs` magic of the namespace filesystem: a path showing it is a mounted namespace.
    const NSFS_MAGIC: u64 = 0x6e73_6673;

    /// Removes a namespace file when the test ends, however it ends.
    struct NsFile(PathBuf);

    impl Drop for NsFile {
        fn drop(&mut self) {
            let _ = remove(&self.0);
        }
    }

    /// Lazily unmounts a test mount (such as the private self-bind `create` puts on a namespace directory) when the
    /// test ends.
    struct Mounted(PathBuf);

    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = rustix::mount::unmount(&self.0, UnmountFlags::DETACH);
        }
    }

    fn is_namespace(path: &Path) -> bool {
        rustix::fs::statfs(path)
            .map(|s| s.f_type as u64 == NSFS_MAGIC)
            .unwrap_or(false)
    }

    fn thread_netns_inode() -> u64 {
        fs::metadata(THREAD_NETNS).expect("own netns").ino()
    }

    #[test]
    fn created_namespace_has_loopback_up_and_is_removed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("run/netns/one");
        let _dir = Mounted(tmp.path().join("run/netns"));
        create(&path).expect("create");
        let _guard = NsFile(path.clone());
        assert!(is_namespace(&path));
        let ns_inode = fs::metadata(&path).expect("stat").ino();
        assert_ne!(ns_inode, thread_netns_inode(), "a new namespace, not ours");
        // Binding 127.0.0.1 and talking to ourselves only works with lo up.
        let echoed = run_in(&path, || -> io::Result<(u64, Vec<u8>)> {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
            socket.send_to(b"hello", socket.local_addr()?)?;
            let mut buf = [0; 8];
            let (len, _) = socket.recv_from(&mut buf)?;
            Ok((thread_netns_inode(), buf[..len].to_vec()))
        })
        .expect("run in namespace")
        .expect("loopback traffic");
        assert_eq!(echoed, (ns_inode, b"hello".to_vec()));
        remove(&path).expect("remove");
        assert!(!path.exists());
        remove(&path).expect("removing twice is fine");
    }

    #[test]
    fn create_refuses_an_existing_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("two");
        let _dir = Mounted(tmp.path().to_path_buf());
        create(&path).expect("create");
        let _guard = NsFile(path.clone());
        let err = create(&path).expect_err("second create");
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
        assert!(is_namespace(&path), "the first namespace is untouched");
    }

    #[test]
    fn entering_the_current_thread_switches_back_on_drop() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("three");
        let _dir = Mounted(tmp.path().to_path_buf());
        create(&path).expect("create");
        let _guard = NsFile(path.clone());
        let ns_inode = fs::metadata(&path).expect("stat").ino();
        let seen = thread::scope(|s| {
            s.spawn(|| {
                let before = thread_netns_inode();
                let guard = enter_current_thread(&path).expect("enter");
                let inside = thread_netns_inode();
                drop(guard);
                let after_drop = thread_netns_inode();
                let guard = enter_current_thread(&path).expect("enter again");
                guard.leave().expect("leave");
                (before, inside, after_drop, thread_netns_inode())
            })
            .join()
            .expect("thread")
        });
        let (before, inside, after_drop, after_leave) = seen;
        assert_eq!(inside, ns_inode);
        assert_eq!((after_drop, after_leave), (before, before));
        assert_eq!(thread_netns_inode(), before, "other threads never moved");
    }

    #[test]
    fn namespace_mounts_stay_out_of_other_mount_namespaces() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // A shared parent, like /run on a systemd host: mounts under it reach its peers unless stopped.
        let shared = tmp.path().join("shared");
        fs::create_dir(&shared).expect("mkdir");
        rustix::mount::mount_bind(&shared, &shared).expect("self bind");
        let _shared = Mounted(shared.clone());
        rustix::mount::mount_change(&shared, MountPropagationFlags::SHARED).expect("make shared");
        let early = shared.join("netns/early");
        let _dir = Mounted(shared.join("netns"));
        create(&early).expect("create early");
        let _early = NsFile(early.clone());

        // Another mount namespace (as a container's is at first), answering "is this path a namespace?".
        let (ask, questions) = mpsc::channel::<PathBuf>();
        let (tell, answers) = mpsc::channel::<bool>();
        let other = thread::spawn(move || {
            // SAFETY: only the mount namespace (and with it this thread's fs_struct) is unshared.
            unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }.expect("unshare mount namespace");
            rustix::mount::mount_change(
                "/",
                MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
            )
            .expect("rslave");
            for path in questions {
                let _ = tell.send(is_namespace(&path));
            }
        });
        let query = |path: &Path| {
            ask.send(path.to_path_buf()).expect("ask");
            answers.recv().expect("answer")
        };

        assert!(query(&early), "mounts present at clone time are copied");
        let late = shared.join("netns/late");
        create(&late).expect("create late");
        let _late = NsFile(late.clone());
        assert!(!query(&late), "a later namespace mount must not propagate");
        // Control: the same mount outside the private directory does propagate, so the check above means something.
        let control = shared.join("control");
        fs::write(&control, "").expect("control file");
        rustix::mount::mount_bind(&late, &control).expect("control bind");
        let _control = Mounted(control.clone());
        assert!(query(&control), "the shared parent propagates");
        remove(&early).expect("remove early");
        assert!(
            !query(&early),
            "removing detaches the copy in the other mount namespace"
        );
        drop(ask);
        other.join().expect("other mount namespace thread");
    }
}
