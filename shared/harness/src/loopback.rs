//! A loopback address of its own for each cluster and each lone node.
//!
//! A crashed node's port is free until the node restarts. Another test's cluster, in
//! this process or in one running beside it (`cargo xtask stress --jobs 2`, nextest),
//! can be handed that port by the kernel and start a node on it; the crashed node's
//! clients and proxies then reach a node of another cluster, and a history shows values
//! no client of its own wrote. (Seen: two stressed runs of chapter 5, each reading the
//! other's writes.) On Linux every address of 127.0.0.0/8 is the loopback, so each
//! cluster, and each node started alone, binds an address of its own drawn at random:
//! ports may then repeat across clusters without one ever reaching another. Where only
//! 127.0.0.1 answers (macOS by default), that is the address used.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

/// A loopback address for a new cluster or node: a random one of 127.0.0.0/8 where the
/// system routes them all to the loopback, else 127.0.0.1.
pub fn fresh() -> IpAddr {
    static MANY: OnceLock<bool> = OnceLock::new();
    let many = *MANY.get_or_init(|| std::net::TcpListener::bind((random(), 0)).is_ok());
    if many {
        random()
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

/// 127.a.b.c with a in 1..=254 (never 127.0.0.x, where other programs listen) and c in
/// 1..=254.
fn random() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        fastrand::u8(1..=254),
        fastrand::u8(..),
        fastrand::u8(1..=254),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_address_is_loopback_and_reachable() {
        let ip = fresh();
        assert!(ip.is_loopback(), "{ip}");
        let listener = std::net::TcpListener::bind((ip, 0)).expect("binding it");
        let addr = listener.local_addr().expect("its address");
        std::net::TcpStream::connect(addr).expect("connecting to it");
    }
}
