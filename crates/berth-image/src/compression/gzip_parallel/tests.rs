//! Parallel gzip tests: round trips through flate2's single-member decoder and the system `gzip`,
//! at and around chunk boundaries, output independent of the worker count, the dictionary across
//! chunks, and failures at either end stopping every thread.

use std::io::{self, Read, Write};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::*;

fn opts(workers: usize, chunk: usize, level: u32) -> GzipOptions {
    GzipOptions {
        workers,
        level,
        chunk,
    }
}

/// Runs [`gzip_parallel`] on its own thread so a hang fails the test instead of stalling it.
fn run<R, W>(mut input: R, mut out: W, o: GzipOptions) -> (Result<u64>, W)
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = gzip_parallel(&mut input, &mut out, o);
        let _ = tx.send((r, out));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("gzip_parallel did not return")
}

fn compress(data: &[u8], o: GzipOptions) -> Vec<u8> {
    let (r, gz) = run(io::Cursor::new(data.to_vec()), Vec::new(), o);
    assert_eq!(r.unwrap(), data.len() as u64);
    gz
}

/// Pseudo-random bytes (xorshift), reproducible.
fn random(n: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(n);
    v
}

fn text(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 64);
    let mut i = 0u64;
    while v.len() < n {
        v.extend_from_slice(format!("line {i}: the quick brown fox {}\n", i % 17).as_bytes());
        i += 1;
    }
    v.truncate(n);
    v
}

fn gunzip_flate2(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    // The single-member decoder: everything must be in one member.
    flate2::read::GzDecoder::new(gz).read_to_end(&mut out).unwrap();
    out
}

fn gunzip_system(gz: &[u8]) -> Vec<u8> {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("x.gz");
    std::fs::write(&p, gz).unwrap();
    let out = Command::new("gzip").arg("-dc").arg(&p).output().unwrap();
    assert!(
        out.status.success(),
        "gzip -dc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn round_trips_at_chunk_boundaries() {
    let chunk = 64 * 1024;
    let sizes = [
        0,
        1,
        100,
        chunk - 1,
        chunk,
        chunk + 1,
        3 * chunk,
        10 * chunk + 123,
    ];
    for (i, &n) in sizes.iter().enumerate() {
        let mut data = text(n);
        // Random stretches in the text: both kinds of block, and matches across chunk edges.
        for (j, r) in random(n / 3, i as u64 + 1).chunks(5000).enumerate().step_by(2) {
            let at = (j * 5000 * 3 / 2).min(n - r.len());
            data[at..at + r.len()].copy_from_slice(r);
        }
        let gz = compress(&data, opts(2, chunk, 6));
        assert_eq!(gz[..3], [0x1f, 0x8b, 8]);
        assert_eq!(gunzip_flate2(&gz), data, "size {n}");
        assert_eq!(gunzip_system(&gz), data, "size {n}");
        // The bytes depend on the input, level and chunk size only: a layer pushed twice is one blob.
        for workers in [1, 3] {
            assert_eq!(
                compress(&data, opts(workers, chunk, 6)),
                gz,
                "size {n}, {workers} workers"
            );
        }
    }
}

#[test]
fn round_trips_random_and_text_at_all_levels() {
    for data in [random(700_000, 42), text(700_000)] {
        for level in [0, 1, 3, 6, 9] {
            // Chunks smaller than the window too: the dictionary is then the whole previous chunk.
            for chunk in [1000, 100_000] {
                let gz = compress(&data, opts(2, chunk, level));
                assert_eq!(gunzip_flate2(&gz), data, "level {level}, chunk {chunk}");
                if level == 6 {
                    assert_eq!(gunzip_system(&gz), data, "level {level}, chunk {chunk}");
                }
            }
        }
    }
}

#[test]
fn chunks_reference_the_previous_chunk() {
    // A 20 KB random block repeated: a chunk primed with the previous 32 KiB needs almost no output.
    let block = random(20_000, 7);
    let data: Vec<u8> = block.iter().copied().cycle().take(2_000_000).collect();
    let gz = compress(&data, opts(2, 64 * 1024, 6));
    assert_eq!(gunzip_system(&gz), data);
    assert!(gz.len() < 60_000, "{} bytes", gz.len());
}

/// Text, random bytes, runs, and random bytes of three values: many short matches of equal length,
/// where a compressor's leftover state (zlib-rs after `reset`) changes which one is chosen.
fn mixed() -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..120u64 {
        match i % 4 {
            0 => data.extend_from_slice(&text(30_000 + i as usize * 97)),
            1 => data.extend_from_slice(&random(20_000 + i as usize * 31, i + 1)),
            2 => data.extend(
                random(40_000, i + 1)
                    .iter()
                    .map(|b| [0x81, 0, 0xb0][*b as usize % 3]),
            ),
            _ => data.extend(std::iter::repeat_n(i as u8, 5_000)),
        }
    }
    data
}

#[test]
fn output_is_the_same_whichever_worker_takes_a_chunk() {
    let data = mixed();
    for level in [1, 6] {
        let one = compress(&data, opts(1, 64 * 1024, level));
        assert_eq!(gunzip_flate2(&one), data);
        for workers in [2, 3] {
            assert!(
                compress(&data, opts(workers, 64 * 1024, level)) == one,
                "level {level}"
            );
        }
    }
}

/// The slots the reader would fill from `data` with 64 KiB chunks.
fn slots(data: &[u8]) -> Vec<Slot> {
    let chunk = 64 * 1024;
    data.chunks(chunk)
        .enumerate()
        .map(|(i, c)| Slot {
            seq: i as u64,
            dict: data[(i * chunk).saturating_sub(WINDOW)..i * chunk].to_vec(),
            input: c.to_vec(),
            last: (i + 1) * chunk >= data.len(),
            ..Slot::default()
        })
        .collect()
}

#[test]
fn each_chunk_compresses_as_if_alone() {
    let data = mixed();
    for level in [1, 3, 6] {
        // One after another on this thread, as one worker takes them.
        let mut in_turn = slots(&data);
        for s in &mut in_turn {
            compress_slot(s, level).unwrap();
        }
        for (mut alone, done) in slots(&data).into_iter().zip(&in_turn) {
            let alone = std::thread::spawn(move || {
                compress_slot(&mut alone, level).unwrap();
                alone.output
            })
            .join()
            .unwrap();
            assert!(alone == done.output, "level {level}, chunk {}", done.seq);
        }
    }
}

#[test]
fn refuses_bad_level() {
    let (r, _) = run(io::empty(), Vec::new(), opts(1, 1024, 10));
    assert!(matches!(r, Err(Error::InvalidArgument(_))));
    assert_eq!(GzipOptions::default().level, 5);
    assert!(GzipOptions::default().workers >= 1);
}

/// Yields `ok` bytes, then fails.
struct FailingReader {
    ok: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.ok);
        buf[..n].fill(b'a');
        self.ok -= n;
        Ok(n)
    }
}

#[test]
fn reader_errors_are_returned() {
    for ok in [0, 10, 5 * 4096 + 17] {
        for workers in [1, 2] {
            let (r, _) = run(FailingReader { ok }, Vec::new(), opts(workers, 4096, 6));
            let msg = r.unwrap_err().to_string();
            assert!(msg.contains("disk on fire"), "{msg}");
        }
    }
}

/// Accepts `room` bytes, then fails.
struct FailingWriter {
    room: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::other("connection reset"));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An endless input counting what was read from it.
struct Endless(Arc<AtomicU64>);

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let data = random(buf.len(), self.0.load(Ordering::Relaxed) + 1);
        buf.copy_from_slice(&data);
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
}

#[test]
fn writer_errors_stop_reading() {
    let chunk = 64 * 1024;
    for (room, workers) in [(0, 1), (5, 2), (300_000, 2), (300_000, 1)] {
        let read = Arc::new(AtomicU64::new(0));
        let (r, _) = run(
            Endless(read.clone()),
            FailingWriter { room },
            opts(workers, chunk, 1),
        );
        let msg = r.unwrap_err().to_string();
        assert!(msg.contains("connection reset"), "{msg}");
        // The reader stops once the buffers in flight are used up.
        let limit = ((2 * workers + 2) * chunk) as u64 + room as u64 * 2;
        assert!(read.load(Ordering::Relaxed) <= limit, "{read:?} > {limit}");
    }
}
