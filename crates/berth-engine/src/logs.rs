//! Container logs in Docker's json-file format: one JSON object per line, `{"log":"…\n","stream":"stdout",
//! "time":"…"}`. The shim writes them; `logs` reads, filters and follows them.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::timefmt;

/// Docker splits lines longer than this into several entries.
const MAX_LINE: usize = 16 * 1024;

/// Which stream a log entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Turns a container's output into json-file entries, line by line.
pub struct LogWriter {
    file: File,
    partial: [Vec<u8>; 2],
}

#[derive(Serialize)]
struct EntryOut<'a> {
    log: &'a str,
    stream: &'a str,
    time: &'a str,
}

/// One entry read back.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

impl LogWriter {
    /// Opens (appending) the log file.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = File::options().create(true).append(true).open(path)?;
        Ok(LogWriter {
            file,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Records output; complete lines are written at once, a trailing partial line waits for its end.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> std::io::Result<()> {
        let idx = stream as usize;
        let mut out = Vec::new();
        let time = timefmt::now();
        let mut rest = data;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut self.partial[idx]);
            line.extend_from_slice(&rest[..=pos]);
            encode(&mut out, stream, &line, &time);
            rest = &rest[pos + 1..];
        }
        self.partial[idx].extend_from_slice(rest);
        while self.partial[idx].len() >= MAX_LINE {
            let chunk: Vec<u8> = self.partial[idx].drain(..MAX_LINE).collect();
            encode(&mut out, stream, &chunk, &time);
        }
        if !out.is_empty() {
            self.file.write_all(&out)?;
        }
        Ok(())
    }

    /// Writes any partial lines (at container exit).
    pub fn flush(&mut self) -> std::io::Result<()> {
        let time = timefmt::now();
        let mut out = Vec::new();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let line = std::mem::take(&mut self.partial[stream as usize]);
            if !line.is_empty() {
                encode(&mut out, stream, &line, &time);
            }
        }
        self.file.write_all(&out)
    }
}

fn encode(out: &mut Vec<u8>, stream: Stream, line: &[u8], time: &str) {
    let log = String::from_utf8_lossy(line);
    let entry = EntryOut {
        log: &log,
        stream: stream.name(),
        time,
    };
    if serde_json::to_writer(&mut *out, &entry).is_ok() {
        out.push(b'\n');
    }
}

/// What `logs` selects.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub stdout: bool,
    pub stderr: bool,
    /// Only entries at or after this time (unix nanos).
    pub since: Option<i128>,
    /// Only entries before this time (unix nanos).
    pub until: Option<i128>,
    /// Only the last N entries.
    pub tail: Option<usize>,
}

impl LogFilter {
    /// Whether an entry passes the stream and time filters.
    pub fn accepts(&self, e: &Entry) -> bool {
        let stream_ok = (e.stream == "stdout" && self.stdout) || (e.stream == "stderr" && self.stderr);
        if !stream_ok {
            return false;
        }
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let t = timefmt::parse(&e.time).unwrap_or(0);
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// Reads the entries of a log file that pass `filter`, returning them and the offset reached (for following).
pub fn read(path: &Path, filter: &LogFilter) -> std::io::Result<(Vec<Entry>, u64)> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::new(file);
    let (mut entries, offset) = read_from(&mut reader, filter)?;
    if let Some(n) = filter.tail {
        let skip = entries.len().saturating_sub(n);
        entries.drain(..skip);
    }
    Ok((entries, offset))
}

/// Reads the complete lines from the reader's position on; a torn last line (still being written) is left for later.
pub fn read_from(reader: &mut BufReader<File>, filter: &LogFilter) -> std::io::Result<(Vec<Entry>, u64)> {
    let mut entries = Vec::new();
    let mut offset = reader.stream_position()?;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            reader.seek(SeekFrom::Start(offset))?;
            break;
        }
        offset += n as u64;
        if let Ok(e) = serde_json::from_str::<Entry>(&line)
            && filter.accepts(&e)
        {
            entries.push(e);
        }
    }
    Ok((entries, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> LogFilter {
        LogFilter {
            stdout: true,
            stderr: true,
            ..Default::default()
        }
    }

    #[test]
    fn lines_are_split_and_streams_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x-json.log");
        let mut w = LogWriter::open(&p).unwrap();
        w.write(Stream::Stdout, b"hel").unwrap();
        w.write(Stream::Stderr, b"oops\n").unwrap();
        w.write(Stream::Stdout, b"lo\nwor").unwrap();
        w.flush().unwrap();
        let (e, _) = read(&p, &all()).unwrap();
        let got: Vec<_> = e.iter().map(|e| (e.stream.as_str(), e.log.as_str())).collect();
        assert_eq!(
            got,
            vec![("stderr", "oops\n"), ("stdout", "hello\n"), ("stdout", "wor")]
        );
        let only_err = LogFilter {
            stderr: true,
            ..Default::default()
        };
        assert_eq!(read(&p, &only_err).unwrap().0.len(), 1);
        let tail = LogFilter {
            tail: Some(1),
            ..all()
        };
        assert_eq!(read(&p, &tail).unwrap().0[0].log, "wor");
    }

    #[test]
    fn long_lines_are_chunked_and_bad_utf8_survives() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x-json.log");
        let mut w = LogWriter::open(&p).unwrap();
        w.write(Stream::Stdout, &vec![b'a'; MAX_LINE + 10]).unwrap();
        w.write(Stream::Stdout, b"\xff\n").unwrap();
        let (e, _) = read(&p, &all()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].log.len(), MAX_LINE);
        assert!(e[1].log.ends_with("\u{fffd}\n"));
    }

    #[test]
    fn since_filters_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x-json.log");
        let mut w = LogWriter::open(&p).unwrap();
        w.write(Stream::Stdout, b"old\n").unwrap();
        let later = timefmt::unix_nanos() + 1_000_000_000;
        let f = LogFilter {
            since: Some(later),
            ..all()
        };
        assert!(read(&p, &f).unwrap().0.is_empty());
    }
}
