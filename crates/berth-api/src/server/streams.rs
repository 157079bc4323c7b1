//! Bridges between async HTTP bodies and the engine's blocking readers and writers: a request body read as a
//! `std::io::Read` on the blocking pool, and a response body fed by a `std::io::Write` there. Both are bounded
//! channels, so a slow peer slows the engine instead of filling memory.

use std::io::{self, Read, Write};

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

/// Chunks in flight between the two sides.
const DEPTH: usize = 8;

/// A request body as a blocking reader (use only on the blocking pool).
pub struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

/// Starts forwarding `body` into a [`BodyReader`].
pub fn body_reader(body: Body) -> BodyReader {
    let (tx, rx) = mpsc::channel(DEPTH);
    tokio::spawn(async move {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let item = match frame {
                Ok(f) => match f.into_data() {
                    Ok(data) => Ok(data),
                    Err(_) => continue, // trailers
                },
                Err(e) => Err(io::Error::other(e.to_string())),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    BodyReader {
        rx,
        current: Bytes::new(),
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// A response body fed by a blocking writer (use the writer only on the blocking pool).
pub struct BodyWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

/// Size at which buffered output is sent on.
const CHUNK: usize = 64 * 1024;

/// A writer and the response body it feeds; the body ends when the writer is dropped.
pub fn body_writer() -> (BodyWriter, Body) {
    let (tx, rx) = mpsc::channel::<Bytes>(DEPTH);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, io::Error>(b), rx))
    });
    (
        BodyWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        },
        Body::from_stream(stream),
    )
}

impl BodyWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl BodyWriter {
    /// Whether the body's reader is still there (false once the client went away); for producers that may wait a
    /// long time between writes. Holds the body open while it lives: drop it with the writer.
    pub fn reader_present(&self) -> impl Fn() -> bool + use<> {
        let tx = self.tx.clone();
        move || !tx.is_closed()
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bodies_cross_both_ways() {
        let (mut w, body) = body_writer();
        let writer = tokio::task::spawn_blocking(move || {
            for i in 0..1000u32 {
                w.write_all(&i.to_be_bytes()).unwrap();
            }
        });
        // The produced body, read back through a BodyReader.
        let data = tokio::task::spawn_blocking(move || {
            let mut r = body_reader(body);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            out
        });
        writer.await.unwrap();
        let data = data.await.unwrap();
        assert_eq!(data.len(), 4000);
        assert_eq!(&data[3996..], &999u32.to_be_bytes());
    }
}
