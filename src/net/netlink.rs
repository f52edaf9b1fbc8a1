//! rtnetlink, thinly: look up a link, list/add/remove addresses, and
//! watch link and address changes. As holo-interface does it: one
//! connection for requests and another subscribed to events, so no change
//! is missed between a dump and the subscription. EEXIST on add and
//! ENOENT/EADDRNOTAVAIL on delete count as success.

use std::io;
use std::net::IpAddr;

use futures::channel::mpsc::UnboundedReceiver;
use futures::{Stream, StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, CacheInfo};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, Prop};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, MulticastGroup};
use thiserror::Error;

use crate::proto::VirtualAddress;

#[derive(Debug, Error)]
pub enum NetlinkError {
    #[error("kernel setting: {0}")]
    Sysctl(io::Error),
    #[error("netlink socket: {0}")]
    Socket(#[from] io::Error),
    #[error("interface {0} not found")]
    NoSuchInterface(String),
    #[error("netlink: {0}")]
    Request(#[from] rtnetlink::Error),
    #[error("not a valid route: {0}")]
    Invalid(String),
    #[error("this kernel cannot make an ipvlan (\"Unknown device type\"): it needs CONFIG_IPVLAN (the ipvlan module)")]
    NoIpvlan,
    #[error("interface {name} exists and is not a {kind} left on this parent by an earlier run: vipd deletes only its own; name the {kind} otherwise, or remove {name}")]
    NameTaken { name: String, kind: &'static str },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// Alternative names (`ip link property add dev X altname Y`): a
    /// configuration may name the link by any of them.
    pub altnames: Vec<String>,
    pub mac: [u8; 6],
    /// Administratively up and with carrier.
    pub up: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceAddress {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub secondary: bool,
}

/// A change the kernel told us about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// A link appeared or changed (its state, name, altnames, MAC).
    Link(LinkInfo),
    /// A link was deleted.
    LinkRemoved { index: u32 },
    AddressAdded {
        index: u32,
        address: InterfaceAddress,
    },
    AddressRemoved {
        index: u32,
        address: InterfaceAddress,
    },
}

/// What `ip addr add` takes beyond the address and prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressOptions {
    pub broadcast: Option<std::net::Ipv4Addr>,
    /// rtnetlink's scope number (0 global, 200 site, 253 link, 254 host).
    pub scope: Option<u8>,
    pub label: Option<String>,
    /// Added deprecated (preferred lifetime 0): valid, but never chosen
    /// as the source of the host's own traffic (RFC 6724 rule 3). For an
    /// IPv6 address that drops traffic (accept: false) in the host's own
    /// prefix, which the kernel would otherwise prefer as a source.
    pub not_preferred: bool,
}

/// How long the kernel keeps an address (valid and preferred lifetime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    Forever,
    Seconds(u32),
}

#[derive(Clone)]
pub struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// Opens the request connection and spawns its driver on the current
    /// tokio runtime (actix runs on one).
    pub fn connect() -> Result<Netlink, NetlinkError> {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(connection);
        Ok(Netlink { handle })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The link called `name`, by its name or an altname.
    pub async fn link(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        // IFLA_IFNAME holds at most 15 bytes (the kernel answers ERANGE);
        // an altname may be longer (up to 127): find it among them all.
        if name.len() >= libc::IFNAMSIZ {
            return self
                .links()
                .await?
                .into_iter()
                .find(|l| l.name == name || l.altnames.iter().any(|a| a == name))
                .ok_or_else(|| NetlinkError::NoSuchInterface(name.to_string()));
        }
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(message)) => Ok(link_info(&message)),
            Ok(None) => Err(NetlinkError::NoSuchInterface(name.to_string())),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => {
                Err(NetlinkError::NoSuchInterface(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every link of the namespace.
    pub async fn links(&self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let messages: Vec<LinkMessage> = self.handle.link().get().execute().try_collect().await?;
        Ok(messages.iter().map(link_info).collect())
    }

    /// Every address of the namespace, with its link's index, in the
    /// kernel's order (an interface's primary address first).
    pub async fn all_addresses(&self) -> Result<Vec<(u32, InterfaceAddress)>, NetlinkError> {
        let messages: Vec<AddressMessage> =
            self.handle.address().get().execute().try_collect().await?;
        Ok(messages
            .iter()
            .filter_map(|m| interface_address(m).map(|a| (m.header.index, a)))
            .collect())
    }

    pub async fn addresses(&self, index: u32) -> Result<Vec<InterfaceAddress>, NetlinkError> {
        let messages: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await?;
        Ok(messages.iter().filter_map(interface_address).collect())
    }

    /// Adds `vip` (an existing one is fine). With a `lifetime` the
    /// address is replaced in place, its kernel lifetime set anew.
    pub async fn add_address(
        &self,
        index: u32,
        vip: VirtualAddress,
        options: &AddressOptions,
        lifetime: Option<Lifetime>,
    ) -> Result<(), NetlinkError> {
        let mut request = self
            .handle
            .address()
            .add(index, vip.address, vip.prefix_len);
        if lifetime.is_some() || options.not_preferred {
            request = request.replace();
            let secs = match lifetime.unwrap_or(Lifetime::Forever) {
                // The kernel's INFINITY_LIFE_TIME.
                Lifetime::Forever => u32::MAX,
                Lifetime::Seconds(secs) => secs,
            };
            let mut lifetimes = CacheInfo::default();
            lifetimes.ifa_preferred = if options.not_preferred { 0 } else { secs };
            lifetimes.ifa_valid = secs;
            request
                .message_mut()
                .attributes
                .push(AddressAttribute::CacheInfo(lifetimes));
        }
        let message = request.message_mut();
        if let Some(broadcast) = options.broadcast {
            message
                .attributes
                .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
            message
                .attributes
                .push(AddressAttribute::Broadcast(broadcast));
        }
        if let Some(scope) = options.scope {
            message.header.scope = scope.into();
        }
        if let Some(label) = &options.label {
            message
                .attributes
                .push(AddressAttribute::Label(label.clone()));
        }
        if vip.address.is_ipv6() {
            // Two hosts briefly holding it during a takeover must not make
            // the kernel declare it a duplicate and stop using it.
            request
                .message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match request.execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
            other => other.map_err(Into::into),
        }
    }

    pub async fn remove_address(
        &self,
        index: u32,
        vip: VirtualAddress,
    ) -> Result<(), NetlinkError> {
        let messages: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(vip.address)
            .execute()
            .try_collect()
            .await?;
        for mut message in messages {
            // The kernel matches IFA_LABEL on delete, and renaming a link
            // renames its addresses' labels: a label read a moment before
            // a rename would make the delete miss, silently (ENOENT counts
            // as gone), leaving the VIP on a host that let it go. The
            // address, prefix and link say which one it is.
            message
                .attributes
                .retain(|a| !matches!(a, AddressAttribute::Label(_)));
            match self.handle.address().del(message).execute().await {
                Err(rtnetlink::Error::NetlinkError(e))
                    if e.raw_code() == -libc::ENOENT || e.raw_code() == -libc::EADDRNOTAVAIL => {}
                other => other?,
            }
        }
        Ok(())
    }
}

/// A stream of link and address changes. Subscribe before reading the
/// state it is about, so nothing falls between the two.
pub fn subscribe() -> Result<impl Stream<Item = NetEvent>, NetlinkError> {
    let (connection, _handle, messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])?;
    tokio::spawn(connection);
    Ok(events(messages))
}

fn events(
    messages: UnboundedReceiver<(
        NetlinkMessage<RouteNetlinkMessage>,
        rtnetlink::sys::SocketAddr,
    )>,
) -> impl Stream<Item = NetEvent> {
    messages.filter_map(|(message, _)| async move {
        let NetlinkPayload::InnerMessage(inner) = message.payload else {
            return None;
        };
        match inner {
            RouteNetlinkMessage::NewLink(link) => Some(NetEvent::Link(link_info(&link))),
            RouteNetlinkMessage::DelLink(link) => Some(NetEvent::LinkRemoved {
                index: link.header.index,
            }),
            RouteNetlinkMessage::NewAddress(a) => {
                interface_address(&a).map(|address| NetEvent::AddressAdded {
                    index: a.header.index,
                    address,
                })
            }
            RouteNetlinkMessage::DelAddress(a) => {
                interface_address(&a).map(|address| NetEvent::AddressRemoved {
                    index: a.header.index,
                    address,
                })
            }
            _ => None,
        }
    })
}

fn link_info(message: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        index: message.header.index,
        name: String::new(),
        altnames: Vec::new(),
        mac: [0; 6],
        up: message.header.flags.contains(LinkFlags::Up)
            && message.header.flags.contains(LinkFlags::LowerUp),
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => info.name = name.clone(),
            LinkAttribute::Address(mac) if mac.len() == 6 => info.mac.copy_from_slice(mac),
            LinkAttribute::PropList(props) => {
                for prop in props {
                    if let Prop::AltIfName(name) = prop {
                        info.altnames.push(name.clone());
                    }
                }
            }
            _ => {}
        }
    }
    info
}

fn interface_address(message: &AddressMessage) -> Option<InterfaceAddress> {
    // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on
    // point-to-point links); IPv6 sends only IFA_ADDRESS.
    let mut local = None;
    let mut address = None;
    let mut secondary = false;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Flags(flags) => secondary = flags.contains(AddressFlags::Secondary),
            _ => {}
        }
    }
    Some(InterfaceAddress {
        address: local.or(address)?,
        prefix_len: message.header.prefix_len,
        secondary,
    })
}
