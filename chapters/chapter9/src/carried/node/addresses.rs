//! Carried from `chapters/chapter5/src/node/addresses.rs` by `cargo xtask exercises`:
//! chapter 5's address book. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! Where each member is: the one address book a node keeps.
//!
//! A member has two addresses, for two different readers:
//! - its **link**, where this node sends it Raft messages. Fixed by configuration (each
//!   `--peer id=url`); in tests it is the harness's proxy for that one directed link, so a
//!   partition can cut it.
//! - its **public** address, where a client is sent when that member leads (the `421`
//!   redirect, `/status`'s `leader`). A member says it in every message it sends
//!   (`from_url`), so a redirect names the address the leader serves clients on, not this
//!   node's private route to it; until it has spoken, the link stands in.

use std::collections::HashMap;

use crate::raft::NodeId;

use super::Config;

/// Every member's addresses, this node's own included.
#[derive(Debug, Clone)]
pub struct AddressBook {
    links: HashMap<NodeId, String>,
    public: HashMap<NodeId, String>,
}

impl AddressBook {
    /// From the node's configuration: the peers' links, and this node's own public URL.
    pub fn new(config: &Config) -> Self {
        let links: HashMap<NodeId, String> =
            config.peers.iter().map(|p| (p.id, p.url.clone())).collect();
        let mut public = links.clone();
        public.insert(config.id, config.advertise_url.clone());
        Self { links, public }
    }

    /// Where this node sends `id`'s messages (`None` for itself or a non-member).
    pub fn link(&self, id: NodeId) -> Option<&str> {
        self.links.get(&id).map(String::as_str)
    }

    /// Where a client should go to reach `id`.
    pub fn public(&self, id: NodeId) -> Option<String> {
        self.public.get(&id).cloned()
    }

    /// A member said where it serves clients. Non-members are ignored (the caller has
    /// checked the URL's form already).
    pub fn learn(&mut self, id: NodeId, url: &str) {
        if let Some(known) = self.public.get_mut(&id) {
            url.clone_into(known);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Peer;

    fn book() -> AddressBook {
        AddressBook::new(&Config {
            id: 1,
            advertise_url: "http://127.0.0.1:7001".into(),
            peers: vec![Peer {
                id: 2,
                url: "http://127.0.0.1:9002".into(),
            }],
            ..Config::default()
        })
    }

    #[test]
    fn links_come_from_the_configuration_and_never_change() {
        let mut book = book();
        assert_eq!(book.link(2), Some("http://127.0.0.1:9002"));
        assert_eq!(book.link(1), None, "a node sends itself nothing");
        book.learn(2, "http://127.0.0.1:7002");
        assert_eq!(book.link(2), Some("http://127.0.0.1:9002"));
    }

    #[test]
    fn a_members_public_address_is_what_it_says_and_strangers_are_ignored() {
        let mut book = book();
        assert_eq!(book.public(1).as_deref(), Some("http://127.0.0.1:7001"));
        assert_eq!(book.public(2).as_deref(), Some("http://127.0.0.1:9002"));
        book.learn(2, "http://127.0.0.1:7002");
        assert_eq!(book.public(2).as_deref(), Some("http://127.0.0.1:7002"));
        book.learn(9, "http://127.0.0.1:7009");
        assert_eq!(book.public(9), None);
    }
}
