//! A small blocking rtnetlink client (a `NETLINK_ROUTE` socket plus message types from `netlink-packet-route`): links,
//! bridges and veth pairs, addresses and routes, the one-call container attachment used when a container starts,
//! interface sysctls, and the naming helpers (host veth names, MACs derived from IPs).
//!
//! A socket acts in the network namespace it was created in: [`Netlink::open`] works on the calling thread's
//! namespace, [`Netlink::open_in`] on a persistent namespace file (see [`crate::netns`]).

mod address;
mod attach;
mod link;
mod link_state;
mod names;
mod route;
mod sysctl;
mod transport;

#[cfg(test)]
mod tests;

use std::path::Path;

use netlink_sys::{Socket, protocols::NETLINK_ROUTE};

use crate::error::{Error, Result};
use crate::netns;

pub use address::InterfaceAddress;
pub use attach::{Attachment, attach_container};
pub use names::{mac_from_ip, veth_name};
pub use sysctl::{enable_ip_forward, set_hairpin, set_sysctl};

/// A blocking rtnetlink connection bound to one network namespace.
pub struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// Opens a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink> {
        let fail = |source| Error::Io {
            ctx: "open netlink socket".into(),
            source,
        };
        let socket = Socket::new(NETLINK_ROUTE).map_err(fail)?;
        // Error replies then echo only the request's header, followed by the kernel's explanation text.
        socket.set_cap_ack(true).map_err(fail)?;
        socket.set_ext_ack(true).map_err(fail)?;
        Ok(Netlink {
            socket,
            seq: 0,
            buf: vec![0; transport::RECV_BUFFER],
        })
    }

    /// Opens a `NETLINK_ROUTE` socket inside the persistent network namespace at `netns`.
    pub fn open_in(netns: &Path) -> Result<Netlink> {
        netns::run_in(netns, Netlink::open)?
    }
}
