//! The client's connection type: a unix, TCP or TLS stream under tokio, one type so a hijacked connection can be taken
//! back from hyper and handed to blocking code as a plain descriptor (a TLS one through a relaying socket pair).

use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::endpoint::Conn;

/// A connected stream.
pub enum Stream {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
}

impl Stream {
    /// Moves a blocking connection under tokio (call inside the runtime).
    pub fn from_conn(conn: Conn) -> std::io::Result<Stream> {
        Ok(match conn {
            Conn::Unix(s) => {
                s.set_nonblocking(true)?;
                Stream::Unix(tokio::net::UnixStream::from_std(s)?)
            }
            Conn::Tcp(s) => {
                s.set_nonblocking(true)?;
                Stream::Tcp(tokio::net::TcpStream::from_std(s)?)
            }
        })
    }

    /// The descriptor, blocking again, for code outside the runtime.
    pub fn into_fd(self) -> std::io::Result<OwnedFd> {
        match self {
            Stream::Unix(s) => {
                let s = s.into_std()?;
                s.set_nonblocking(false)?;
                Ok(s.into())
            }
            Stream::Tcp(s) => {
                let s = s.into_std()?;
                s.set_nonblocking(false)?;
                Ok(s.into())
            }
            Stream::Tls(s) => {
                let (tcp, session) = (*s).into_inner();
                super::tls::relay_fd(tcp.into_std()?, session)
            }
        }
    }

    /// Wraps a TCP stream in a TLS session with the daemon named `name` (call inside the runtime).
    pub async fn tls(
        self,
        config: std::sync::Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    ) -> std::io::Result<Stream> {
        let Stream::Tcp(tcp) = self else {
            return Ok(self);
        };
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        Ok(Stream::Tls(Box::new(tls)))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
