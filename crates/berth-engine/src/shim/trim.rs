//! Giving back what a supervisor (or an idle daemon) touched once it goes quiet. Starting a container runs a large part
//! of this program
//! (JSON, the store, the runtime), and a burst of output runs the log writer; a shim or exec helper that then waits
//! needs none of it. So [`release_idle_memory`] has the allocator return its free pages to the kernel, drops the
//! page-table entries of the read-only segments (code, constants) of this program and its libraries — those pages
//! stay in the page cache, shared with every other process mapping them, and what runs next faults back in — and
//! drops the stack pages below the caller. [`Schedule`] says when.

use std::ffi::{c_int, c_void};
use std::time::{Duration, Instant};

use rustix::mm::{Advice, madvise};

/// How long a supervisor must have been quiet before it releases: long enough that a short-lived process never
/// pays for it, short enough that the supervisor soon sits at its idle size after the start or a burst of output.
const QUIET: Duration = Duration::from_millis(50);

/// The least time between releases (each costs the page faults of what runs next, a few hundred microseconds), and
/// the longest a release waits for quiet, so that the start's memory goes even while output never stops.
const MIN_GAP: Duration = Duration::from_secs(1);

/// When to release: [`QUIET`] after the last activity, but no sooner than [`MIN_GAP`] after the previous release
/// and no later than [`MIN_GAP`] after the first activity since.
#[derive(Debug)]
pub struct Schedule {
    /// The first activity since the last release; `None` when nothing ran since.
    busy_since: Option<Instant>,
    last_active: Instant,
    last_release: Option<Instant>,
}

impl Schedule {
    /// A schedule for a supervisor whose setup has just run, at `now`.
    pub fn new(now: Instant) -> Self {
        Schedule {
            busy_since: Some(now),
            last_active: now,
            last_release: None,
        }
    }

    /// Notes activity at `now`.
    pub fn active(&mut self, now: Instant) {
        self.last_active = now;
        self.busy_since.get_or_insert(now);
    }

    /// When the next release is due; `None` when nothing ran since the last.
    pub fn due(&self) -> Option<Instant> {
        let since = self.busy_since?;
        let quiet = self.last_active + QUIET;
        let earliest = self.last_release.map_or(quiet, |r| quiet.max(r + MIN_GAP));
        Some(earliest.min(since + MIN_GAP))
    }

    /// Notes a release at `now`.
    pub fn released(&mut self, now: Instant) {
        self.busy_since = None;
        self.last_release = Some(now);
    }
}

/// Most segments looked at: a supervisor maps the program, libc, libm, libgcc, ld.so and the vDSO (3-4 each).
const MAX_SEGMENTS: usize = 32;

/// Page-aligned address ranges, filled by [`collect_read_only_segments`].
struct Segments {
    ranges: [(usize, usize); MAX_SEGMENTS],
    len: usize,
}

impl Segments {
    fn ranges(&self) -> &[(usize, usize)] {
        &self.ranges[..self.len]
    }
}

/// Releases the free heap, the mappings of read-only segments, and the calling thread's stack below this call.
/// Safe at any time: only free memory, segments without write permission (which always read back unchanged from
/// their file) and stack pages below every live frame are released.
#[inline(never)]
pub fn release_idle_memory() {
    let page = rustix::param::page_size();
    // Everything that runs code or allocates comes first, so that the pages it touches are released too: the stack's
    // extent (looked up afresh, so that it reaches no mapping made since), then the allocator's trim, then the
    // segments.
    let stack_low = stack_low_end().map(|low| low.next_multiple_of(page));
    // SAFETY: malloc_trim only hands the allocator's free memory back to the kernel.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
    // The program headers lie in the segments being dropped: collect every range first, so that reading the next
    // object's headers does not fault the previous one's pages back in.
    let segments = read_only_segments();
    for &(start, end) in segments.ranges() {
        // SAFETY: the range lies inside a read-only file-backed segment: dropping it loses no data, the next access
        // reads the same bytes back from the file. Failure (e.g. on the vDSO) leaves it mapped.
        // The call is rustix's inline system call, not libc's wrapper, whose page would fault straight back in.
        let _ = unsafe { madvise(start as *mut c_void, end - start, Advice::LinuxDontNeed) };
    }
    // This frame is the deepest live one; the page below it leaves room for the madvise call's.
    let here = std::hint::black_box(0u8);
    let keep_from = (&raw const here as usize & !(page - 1)).saturating_sub(page);
    if let Some(low) = stack_low
        && keep_from > low
    {
        // SAFETY: [low, keep_from) is the part of this thread's stack below every live frame: what deeper calls
        // left there is dead. Nothing else is mapped in a thread's stack range.
        let _ = unsafe { madvise(low as *mut c_void, keep_from - low, Advice::LinuxDontNeed) };
    }
}

/// The lowest address of the calling thread's stack range (for the main thread, glibc bounds it by the stack size
/// limit and the mapping below, reading /proc/self/maps).
fn stack_low_end() -> Option<usize> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    let (mut low, mut size) = (std::ptr::null_mut::<c_void>(), 0usize);
    // SAFETY: pthread_getattr_np initialises `attr` for the calling thread when it returns 0; it is destroyed after.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let got = libc::pthread_attr_getstack(attr.as_ptr(), &mut low, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        (got == 0).then_some(low as usize)
    }
}

/// The page-aligned ranges of every loaded object's non-writable segments.
fn read_only_segments() -> Segments {
    let mut segments = Segments {
        ranges: [(0, 0); MAX_SEGMENTS],
        len: 0,
    };
    // SAFETY: the callback only reads the program headers the loader hands it and writes into `segments`.
    unsafe {
        libc::dl_iterate_phdr(
            Some(collect_read_only_segments),
            (&raw mut segments).cast::<c_void>(),
        );
    }
    segments
}

/// `dl_iterate_phdr` callback: notes each loaded object's non-writable `PT_LOAD` segments. Relocated data (RELRO)
/// lies in writable segments and is left alone; so is any page a segment shares with a neighbour, by rounding
/// inwards.
unsafe extern "C" fn collect_read_only_segments(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    data: *mut c_void,
) -> c_int {
    let page = rustix::param::page_size();
    // SAFETY: the loader passes a valid info whose program headers stay mapped for the call; `data` is the
    // `Segments` that `read_only_segments` passed, borrowed by nothing else during the iteration.
    let (bias, phdrs, segments) = unsafe {
        let info = &*info;
        (
            info.dlpi_addr as usize,
            std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)),
            &mut *data.cast::<Segments>(),
        )
    };
    for ph in phdrs
        .iter()
        .filter(|p| p.p_type == libc::PT_LOAD && p.p_flags & libc::PF_W == 0)
    {
        let start = (bias + ph.p_vaddr as usize).next_multiple_of(page);
        let end = (bias + (ph.p_vaddr + ph.p_memsz) as usize) & !(page - 1);
        if end > start && segments.len < MAX_SEGMENTS {
            segments.ranges[segments.len] = (start, end);
            segments.len += 1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, SeekFrom};

    use super::*;

    const TABLE_LEN: usize = 256 * 4096;

    /// Read-only data (in a non-writable segment) whose pages the test can watch.
    static TABLE: [u8; TABLE_LEN] = [0x5a; TABLE_LEN];

    /// A pointer in static data: in a position-independent executable, relocated data (RELRO) that must be kept.
    static RELOCATED: &[u8; TABLE_LEN] = &TABLE;

    /// Writable data.
    static WRITABLE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

    fn checksum() -> u64 {
        std::hint::black_box(&TABLE).iter().map(|&b| u64::from(b)).sum()
    }

    /// How many of the `pages` pages from `addr` on are mapped in this process (the present bit of
    /// /proc/self/pagemap).
    fn pages_present(addr: usize, pages: usize) -> usize {
        let page = rustix::param::page_size();
        let mut pagemap = std::fs::File::open("/proc/self/pagemap").unwrap();
        let mut entries = vec![0u8; pages * 8];
        pagemap.seek(SeekFrom::Start((addr / page * 8) as u64)).unwrap();
        pagemap.read_exact(&mut entries).unwrap();
        entries
            .chunks_exact(8)
            .filter(|e| u64::from_le_bytes((*e).try_into().unwrap()) >> 63 == 1)
            .count()
    }

    /// This process's mappings: (start, end, writable).
    fn mappings() -> Vec<(usize, usize, bool)> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .map(|line| {
                let (range, rest) = line.split_once(' ').unwrap();
                let (start, end) = range.split_once('-').unwrap();
                let start = usize::from_str_radix(start, 16).unwrap();
                let end = usize::from_str_radix(end, 16).unwrap();
                (start, end, rest.as_bytes()[1] == b'w')
            })
            .collect()
    }

    #[test]
    fn only_read_only_segments_are_released() {
        let segments = read_only_segments();
        let inside = |addr: usize| segments.ranges().iter().any(|&(s, e)| s <= addr && addr < e);
        assert!(inside(TABLE.as_ptr() as usize + TABLE_LEN / 2));
        assert!(inside(checksum as fn() -> u64 as usize), "code is released too");
        assert!(!inside(&raw const RELOCATED as usize));
        assert!(!inside(&raw const WRITABLE as usize));
        for (start, end, writable) in mappings() {
            let overlaps = segments.ranges().iter().any(|&(s, e)| s < end && start < e);
            assert!(
                !(writable && overlaps),
                "writable mapping {start:#x}-{end:#x} would be released"
            );
        }
    }

    #[test]
    fn released_pages_are_unmapped_and_read_back_unchanged() {
        // Reading maps every page of the table.
        let before = checksum();
        release_idle_memory();
        // Code run since may have mapped neighbours back in (the kernel maps whole page-cache folios on a fault),
        // but not most of the table.
        let pages = TABLE_LEN / rustix::param::page_size();
        let after = pages_present(TABLE.as_ptr() as usize, pages);
        assert!(after < pages / 2, "{after} of {pages} pages still mapped");
        assert_eq!(checksum(), before);
        assert_eq!(WRITABLE.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(RELOCATED.as_ptr(), TABLE.as_ptr());
    }

    /// Fills 64 KiB of stack below the caller; returns its lowest address.
    #[inline(never)]
    fn use_stack() -> usize {
        let mut deep = [0u8; 64 * 1024];
        std::hint::black_box(&mut deep).fill(1);
        deep.as_ptr() as usize
    }

    #[test]
    fn stack_below_the_caller_is_released() {
        std::thread::spawn(|| {
            let deep = use_stack();
            let page = rustix::param::page_size();
            // The lowest 8 pages: far below the frames of the release and of the check.
            let first = deep.next_multiple_of(page);
            assert_eq!(pages_present(first, 8), 8);
            release_idle_memory();
            assert_eq!(pages_present(first, 8), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn release_comes_after_quiet_but_not_too_often_nor_too_late() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Schedule::new(t0);
        assert_eq!(s.due(), Some(t0 + QUIET));
        // Activity postpones the first release, up to MIN_GAP after the start.
        s.active(t0 + ms(30));
        assert_eq!(s.due(), Some(t0 + ms(30) + QUIET));
        s.active(t0 + ms(990));
        assert_eq!(s.due(), Some(t0 + MIN_GAP));
        s.released(t0 + MIN_GAP);
        assert_eq!(s.due(), None);
        // Right after a release, quiet is not enough: the next waits for MIN_GAP since the last.
        s.active(t0 + ms(1100));
        assert_eq!(s.due(), Some(t0 + MIN_GAP + MIN_GAP));
        s.released(t0 + ms(2000));
        // Long after it, QUIET is.
        s.active(t0 + ms(5000));
        assert_eq!(s.due(), Some(t0 + ms(5000) + QUIET));
    }
}
