//! The kernel's links and their addresses as the daemon knows them now:
//! dumped once, then followed by netlink events, so a name in the
//! configuration always means the link that has it today.
//!
//! Why: a source address or an interface index remembered from start-up
//! goes stale when an operator moves an address or deletes and re-creates
//! an interface, and a name may be an altname of a link whose kernel name
//! is another. keepalived follows its interfaces the same way
//! (keepalived/core/keepalived_netlink.c: netlink_if_link_filter and
//! netlink_if_address_filter).

use std::collections::BTreeMap;

use super::netlink::{InterfaceAddress, LinkInfo, NetEvent, Netlink, NetlinkError};

/// One link and its addresses, primary first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub info: LinkInfo,
    pub addresses: Vec<InterfaceAddress>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interfaces {
    by_index: BTreeMap<u32, Link>,
}

impl Interfaces {
    /// Every link and address of the namespace, now. Subscribe to events
    /// before calling this, so nothing falls between the dump and them.
    pub async fn dump(netlink: &Netlink) -> Result<Interfaces, NetlinkError> {
        let mut by_index: BTreeMap<u32, Link> = netlink
            .links()
            .await?
            .into_iter()
            .map(|info| {
                let link = Link {
                    info,
                    addresses: Vec::new(),
                };
                (link.info.index, link)
            })
            .collect();
        for (index, address) in netlink.all_addresses().await? {
            if let Some(link) = by_index.get_mut(&index) {
                link.addresses.push(address);
            }
        }
        Ok(Interfaces { by_index })
    }

    /// The link `name` means: the one with that kernel name, else the one
    /// with that altname (the kernel keeps both unique).
    pub fn resolve(&self, name: &str) -> Option<&Link> {
        self.by_index
            .values()
            .find(|l| l.info.name == name)
            .or_else(|| {
                self.by_index
                    .values()
                    .find(|l| l.info.altnames.iter().any(|a| a == name))
            })
    }

    pub fn by_index(&self, index: u32) -> Option<&Link> {
        self.by_index.get(&index)
    }

    /// The changes that turn this table into `newer`, as the kernel would
    /// have reported them: what a fresh dump tells that events did not.
    pub fn changes_to(&self, newer: &Interfaces) -> Vec<NetEvent> {
        let mut changes = Vec::new();
        for (index, old) in &self.by_index {
            match newer.by_index.get(index) {
                None => changes.push(NetEvent::LinkRemoved { index: *index }),
                Some(new) => {
                    for gone in old.addresses.iter().filter(|a| !new.addresses.contains(a)) {
                        changes.push(NetEvent::AddressRemoved {
                            index: *index,
                            address: *gone,
                        });
                    }
                }
            }
        }
        for (index, new) in &newer.by_index {
            let old = self.by_index.get(index);
            if old.map(|o| &o.info) != Some(&new.info) {
                changes.push(NetEvent::Link(new.info.clone()));
            }
            for added in new
                .addresses
                .iter()
                .filter(|a| !old.is_some_and(|o| o.addresses.contains(a)))
            {
                changes.push(NetEvent::AddressAdded {
                    index: *index,
                    address: *added,
                });
            }
        }
        changes
    }

    /// Follows one change the kernel reported.
    pub fn apply(&mut self, event: &NetEvent) {
        match event {
            NetEvent::Link(info) => {
                let link = self.by_index.entry(info.index).or_insert_with(|| Link {
                    info: info.clone(),
                    addresses: Vec::new(),
                });
                link.info = info.clone();
            }
            NetEvent::LinkRemoved { index } => {
                self.by_index.remove(index);
            }
            NetEvent::AddressAdded { index, address } => {
                if let Some(link) = self.by_index.get_mut(index) {
                    // A change of flags (a secondary promoted) comes as
                    // another RTM_NEWADDR for the same address.
                    match link
                        .addresses
                        .iter_mut()
                        .find(|a| a.address == address.address)
                    {
                        Some(known) => *known = *address,
                        None => link.addresses.push(*address),
                    }
                }
            }
            NetEvent::AddressRemoved { index, address } => {
                if let Some(link) = self.by_index.get_mut(index) {
                    link.addresses.retain(|a| a.address != address.address);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn info(index: u32, name: &str, altnames: &[&str]) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            altnames: altnames.iter().map(|a| a.to_string()).collect(),
            mac: [2, 0, 0, 0, 0, index as u8],
            up: true,
        }
    }

    fn address(text: &str) -> InterfaceAddress {
        InterfaceAddress {
            address: text.parse::<IpAddr>().unwrap(),
            prefix_len: 24,
            secondary: false,
        }
    }

    #[test]
    fn names_and_altnames_resolve_to_the_link_that_has_them_now() {
        let mut table = Interfaces::default();
        table.apply(&NetEvent::Link(info(4, "v0", &["vzero"])));
        table.apply(&NetEvent::Link(info(5, "w0", &[])));
        assert_eq!(table.resolve("v0").unwrap().info.index, 4);
        assert_eq!(table.resolve("vzero").unwrap().info.index, 4);
        assert_eq!(table.resolve("w0").unwrap().info.index, 5);
        assert!(table.resolve("x0").is_none());

        // Deleted and made again: the same name, another index.
        table.apply(&NetEvent::LinkRemoved { index: 4 });
        assert!(table.resolve("v0").is_none());
        assert!(table.resolve("vzero").is_none());
        table.apply(&NetEvent::Link(info(9, "v0", &[])));
        assert_eq!(table.resolve("v0").unwrap().info.index, 9);
        assert!(table.resolve("vzero").is_none(), "the altname went with it");
    }

    #[test]
    fn a_fresh_dump_is_told_as_the_changes_events_would_have_made() {
        let mut old = Interfaces::default();
        old.apply(&NetEvent::Link(info(4, "v0", &[])));
        old.apply(&NetEvent::Link(info(5, "w0", &[])));
        old.apply(&NetEvent::AddressAdded {
            index: 4,
            address: address("192.0.2.1"),
        });
        let mut new = Interfaces::default();
        new.apply(&NetEvent::Link(info(4, "v0", &["vzero"])));
        new.apply(&NetEvent::Link(info(6, "w0", &[])));
        new.apply(&NetEvent::AddressAdded {
            index: 4,
            address: address("192.0.2.5"),
        });
        let changes = old.changes_to(&new);
        let mut replayed = old.clone();
        for change in &changes {
            replayed.apply(change);
        }
        assert_eq!(replayed, new, "{changes:?}");
        assert!(changes.contains(&NetEvent::AddressRemoved {
            index: 4,
            address: address("192.0.2.1")
        }));
        assert!(changes.contains(&NetEvent::LinkRemoved { index: 5 }));
        assert!(new.changes_to(&new).is_empty(), "nothing new, nothing told");
    }

    #[test]
    fn addresses_follow_the_kernel() {
        let mut table = Interfaces::default();
        table.apply(&NetEvent::Link(info(4, "v0", &[])));
        let (first, second) = (address("192.0.2.1"), address("192.0.2.5"));
        table.apply(&NetEvent::AddressAdded {
            index: 4,
            address: first,
        });
        table.apply(&NetEvent::AddressAdded {
            index: 4,
            address: second,
        });
        table.apply(&NetEvent::AddressAdded {
            index: 4,
            address: first,
        });
        assert_eq!(table.resolve("v0").unwrap().addresses, vec![first, second]);
        table.apply(&NetEvent::AddressRemoved {
            index: 4,
            address: first,
        });
        assert_eq!(table.resolve("v0").unwrap().addresses, vec![second]);
        // An address for a link not known (yet) changes nothing.
        table.apply(&NetEvent::AddressAdded {
            index: 77,
            address: first,
        });
        assert_eq!(table.by_index(77), None);
        // A link's own update keeps its addresses.
        table.apply(&NetEvent::Link(LinkInfo {
            up: false,
            ..info(4, "v0", &[])
        }));
        assert_eq!(table.resolve("v0").unwrap().addresses, vec![second]);
        assert!(!table.resolve("v0").unwrap().info.up);
    }
}
