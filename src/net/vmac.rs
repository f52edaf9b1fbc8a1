//! VMAC: a macvlan in private mode with the virtual router MAC, so the
//! address that moves is a MAC switches and ARP caches already know
//! (keepalived's use_vmac; vrrp_vmac.c). Made at start, removed at stop;
//! a leftover from a crash is removed and made anew.
//!
//! Its sibling, keepalived's use_ipvlan (vrrp_vmac.c
//! netlink_link_add_ipvlan): an ipvlan in mode l2 on the parent, which
//! shares the parent's MAC, with its own address; made, replaced and
//! removed the same way.

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{
    InfoKind, IpVlanFlags, IpVlanMode, LinkAttribute, LinkInfo as Info, MacVlanMode,
};
use rtnetlink::{LinkIpVlan, LinkMacVlan};

use super::netlink::{LinkInfo, Netlink, NetlinkError};
use crate::proto::VirtualAddress;

/// How ipvlans of one parent reach each other (IPVLAN_F_PRIVATE,
/// IPVLAN_F_VEPA; neither: bridge).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpvlanMode {
    #[default]
    Bridge,
    Private,
    Vepa,
}

/// keepalived's use_ipvlan (vrrp_parser.c vrrp_ipvlan_handler).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvlanSettings {
    /// Added to the ipvlan when it is made; the adverts' source unless
    /// source_ip says otherwise.
    pub address: Option<VirtualAddress>,
    pub mode: IpvlanMode,
    /// The link group (IFLA_GROUP), if set.
    pub group: Option<u32>,
}

/// A kernel setting on one interface: `net/ipv4/conf/IF/KEY` and the like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctl {
    pub path: PathBuf,
    pub value: String,
}

impl Sysctl {
    fn on(family: &str, interface: &str, key: &str, value: &str) -> Sysctl {
        Sysctl {
            path: PathBuf::from(format!("/proc/sys/net/{family}/conf/{interface}/{key}")),
            value: value.to_string(),
        }
    }

    /// Sets it; returns what it was, to restore later.
    pub fn apply(&self) -> io::Result<Sysctl> {
        let old = std::fs::read_to_string(&self.path)?.trim().to_string();
        std::fs::write(&self.path, &self.value)?;
        Ok(Sysctl {
            path: self.path.clone(),
            value: old,
        })
    }
}

/// keepalived's settings on the VMAC (vrrp_vmac.c / vrrp_if_config.c):
/// answer ARP only for its own addresses, accept packets from local
/// sources (the parent's adverts), no reverse-path filter, keep
/// secondaries when one address is removed; no generated IPv6 link-local
/// address, and no IPv6 at all on an IPv4 instance's VMAC, whose ND and
/// MLD would teach the switch the shared MAC from the backup too.
pub fn vmac_sysctls(vmac: &str, ipv6: bool) -> Vec<Sysctl> {
    let mut settings = vec![
        Sysctl::on("ipv6", vmac, "addr_gen_mode", "1"),
        Sysctl::on("ipv6", vmac, "disable_ipv6", if ipv6 { "0" } else { "1" }),
        Sysctl::on("ipv4", vmac, "arp_ignore", "1"),
        Sysctl::on("ipv4", vmac, "accept_local", "1"),
        Sysctl::on("ipv4", vmac, "rp_filter", "0"),
        Sysctl::on("ipv4", vmac, "promote_secondaries", "1"),
    ];
    if ipv6 {
        settings.retain(|s| !s.path.ends_with("disable_ipv6"));
    }
    settings
}

/// Settings on the parent, restored at exit. keepalived's two: the parent
/// must not answer ARP for the VMAC's addresses with its own MAC. And one
/// more, arp_announce=2: replies from a VIP leave through the parent
/// (its route to the subnet comes first), and the ARP request the kernel
/// sends for their destination would name the VIP with the parent's MAC,
/// teaching every neighbour that MAC for the VIP (seen in the lab, where
/// a pinging host's entry turned to the parent's MAC). With 2 the request
/// names the parent's own address instead.
pub fn parent_sysctls(parent: &str) -> Vec<Sysctl> {
    vec![
        Sysctl::on("ipv4", parent, "arp_ignore", "1"),
        Sysctl::on("ipv4", parent, "arp_filter", "1"),
        Sysctl::on("ipv4", parent, "arp_announce", "2"),
    ]
}

/// keepalived's settings on an ipvlan (vrrp_vmac.c
/// netlink_link_add_ipvlan, link_set_ipv6): only no IPv6 on an IPv4
/// instance's; the rest are the parent's, whose MAC it shares.
pub fn ipvlan_sysctls(ipvlan: &str, ipv6: bool) -> Vec<Sysctl> {
    if ipv6 {
        Vec::new()
    } else {
        vec![Sysctl::on("ipv6", ipvlan, "disable_ipv6", "1")]
    }
}

/// The request that makes the ipvlan: mode l2 (in l2 mode an ipvlan
/// receives frames: multicast adverts reach it), keepalived's flags for
/// bridge/private/vepa, and the link group if one is set.
pub fn ipvlan_message(
    parent: u32,
    name: &str,
    settings: &IpvlanSettings,
) -> rtnetlink::packet_route::link::LinkMessage {
    let flags = match settings.mode {
        IpvlanMode::Bridge => IpVlanFlags::empty(),
        IpvlanMode::Private => IpVlanFlags::Private,
        IpvlanMode::Vepa => IpVlanFlags::Vepa,
    };
    let mut builder = LinkIpVlan::new(name, parent, IpVlanMode::L2).flag(flags);
    if let Some(group) = settings.group {
        builder = builder.link_group(group);
    }
    builder.build()
}

/// Whether a failed link request says the kernel knows no such kind of
/// link ("Unknown device type": EOPNOTSUPP, the module not built).
fn unknown_kind(error: &rtnetlink::Error) -> bool {
    matches!(error, rtnetlink::Error::NetlinkError(e) if e.raw_code() == -libc::EOPNOTSUPP)
}

/// What vipd makes: a VMAC (macvlan) or an ipvlan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MadeKind {
    Macvlan,
    Ipvlan,
}

impl MadeKind {
    fn word(self) -> &'static str {
        match self {
            MadeKind::Macvlan => "macvlan",
            MadeKind::Ipvlan => "ipvlan",
        }
    }
}

impl Netlink {
    /// Removes a leftover `name` from a run that crashed: only a link of
    /// the kind vipd makes, on `parent`. Anything else of that name is the
    /// host's (a VLAN called eth0.51, the parent itself) and is refused,
    /// never deleted. (keepalived's create_vmac_name skips a name in use.)
    async fn remove_leftover(
        &self,
        name: &str,
        parent: u32,
        kind: MadeKind,
    ) -> Result<(), NetlinkError> {
        if name.len() >= libc::IFNAMSIZ {
            return Err(NetlinkError::Invalid(format!(
                "{name}: an interface name is at most 15 bytes"
            )));
        }
        let mut links = self
            .handle()
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        let message = match links.try_next().await {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => {
                return Ok(())
            }
            Err(e) => return Err(e.into()),
        };
        let on_parent = message
            .attributes
            .iter()
            .any(|a| matches!(a, LinkAttribute::Link(p) if *p == parent));
        let of_kind = message.attributes.iter().any(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().any(|i| {
                matches!(
                    (i, kind),
                    (Info::Kind(InfoKind::MacVlan), MadeKind::Macvlan)
                        | (Info::Kind(InfoKind::IpVlan), MadeKind::Ipvlan)
                )
            }),
            _ => false,
        });
        if !(on_parent && of_kind) {
            return Err(NetlinkError::NameTaken {
                name: name.to_string(),
                kind: kind.word(),
            });
        }
        match self
            .handle()
            .link()
            .del(message.header.index)
            .execute()
            .await
        {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the link just made when setting it up fails, so nothing is
    /// left that the exit's clean-up does not know of.
    async fn undo_on_error<T>(
        &self,
        name: &str,
        result: Result<T, NetlinkError>,
    ) -> Result<T, NetlinkError> {
        if result.is_err() {
            if let Err(error) = self.delete_link(name).await {
                tracing::warn!(%error, "cannot remove {name} after failing to set it up: {error}");
            }
        }
        result
    }

    /// Removes the link called `name` if there is one.
    pub async fn delete_link(&self, name: &str) -> Result<bool, NetlinkError> {
        match self.link(name).await {
            Ok(link) => match self.handle().link().del(link.index).execute().await {
                Ok(()) => Ok(true),
                Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => {
                    Ok(false)
                }
                Err(e) => Err(e.into()),
            },
            Err(NetlinkError::NoSuchInterface(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Makes the VMAC `name` on `parent` with `mac`, settings applied and
    /// up; for IPv6, with `link_local` (the parent's, as keepalived does)
    /// so adverts leave from a link-local source through it.
    pub async fn create_vmac(
        &self,
        parent: u32,
        name: &str,
        mac: [u8; 6],
        ipv6: bool,
        link_local: Option<Ipv6Addr>,
    ) -> Result<LinkInfo, NetlinkError> {
        self.remove_leftover(name, parent, MadeKind::Macvlan)
            .await?;
        let message = LinkMacVlan::new(name, parent, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        self.handle().link().add(message).execute().await?;
        let set_up = async {
            let link = self.link(name).await?;
            for setting in vmac_sysctls(name, ipv6) {
                setting.apply().map_err(NetlinkError::Sysctl)?;
            }
            let up = rtnetlink::LinkUnspec::new_with_index(link.index)
                .up()
                .build();
            self.handle().link().set(up).execute().await?;
            if let Some(address) = link_local {
                self.add_address(
                    link.index,
                    VirtualAddress {
                        address: IpAddr::V6(address),
                        prefix_len: 64,
                    },
                    &Default::default(),
                    None,
                )
                .await?;
            }
            self.link(name).await
        };
        let result = set_up.await;
        self.undo_on_error(name, result).await
    }
}

impl Netlink {
    /// Makes the ipvlan `name` on `parent` (a leftover of that name is
    /// removed first), IPv6 off for an IPv4 instance, up, with its
    /// address added, as keepalived does (vrrp_vmac.c
    /// netlink_link_add_ipvlan).
    pub async fn create_ipvlan(
        &self,
        parent: u32,
        name: &str,
        settings: &IpvlanSettings,
        ipv6: bool,
    ) -> Result<LinkInfo, NetlinkError> {
        self.remove_leftover(name, parent, MadeKind::Ipvlan).await?;
        let message = ipvlan_message(parent, name, settings);
        if let Err(error) = self.handle().link().add(message).execute().await {
            return Err(if unknown_kind(&error) {
                NetlinkError::NoIpvlan
            } else {
                error.into()
            });
        }
        let set_up = async {
            let link = self.link(name).await?;
            for setting in ipvlan_sysctls(name, ipv6) {
                setting.apply().map_err(NetlinkError::Sysctl)?;
            }
            let up = rtnetlink::LinkUnspec::new_with_index(link.index)
                .up()
                .build();
            self.handle().link().set(up).execute().await?;
            if let Some(address) = settings.address {
                self.add_address(link.index, address, &Default::default(), None)
                    .await?;
            }
            self.link(name).await
        };
        let result = set_up.await;
        self.undo_on_error(name, result).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::link::{InfoData, InfoIpVlan, LinkAttribute, LinkInfo as Info};

    fn ipvlan_data(message: &rtnetlink::packet_route::link::LinkMessage) -> Vec<InfoIpVlan> {
        message
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                    Info::Data(InfoData::IpVlan(data)) => Some(data.clone()),
                    _ => None,
                }),
                _ => None,
            })
            .unwrap_or_default()
    }

    #[test]
    fn ipvlans_are_l2_with_keepalived_flags_and_group() {
        let mut settings = IpvlanSettings {
            address: None,
            mode: IpvlanMode::Private,
            group: Some(7),
        };
        let message = ipvlan_message(4, "ipv.51", &settings);
        let data = ipvlan_data(&message);
        assert!(data.contains(&InfoIpVlan::Mode(IpVlanMode::L2)));
        assert!(data.contains(&InfoIpVlan::Flags(IpVlanFlags::Private)));
        assert!(message.attributes.contains(&LinkAttribute::Link(4)));
        assert!(message.attributes.contains(&LinkAttribute::Group(7)));
        assert!(message
            .attributes
            .contains(&LinkAttribute::IfName("ipv.51".into())));
        settings.mode = IpvlanMode::Vepa;
        settings.group = None;
        let message = ipvlan_message(4, "ipv.51", &settings);
        assert!(ipvlan_data(&message).contains(&InfoIpVlan::Flags(IpVlanFlags::Vepa)));
        assert!(!message
            .attributes
            .iter()
            .any(|a| matches!(a, LinkAttribute::Group(_))));
        settings.mode = IpvlanMode::Bridge;
        let message = ipvlan_message(4, "ipv.51", &settings);
        assert!(ipvlan_data(&message).contains(&InfoIpVlan::Flags(IpVlanFlags::empty())));
    }

    #[test]
    fn ipv4_ipvlans_have_no_ipv6() {
        assert_eq!(ipvlan_sysctls("ipv.51", false).len(), 1);
        assert!(ipvlan_sysctls("ipv.51", true).is_empty());
    }

    #[test]
    fn ipv4_vmacs_have_no_ipv6() {
        let v4 = vmac_sysctls("vrrp.51", false);
        assert!(v4
            .iter()
            .any(|s| s.path.ends_with("disable_ipv6") && s.value == "1"));
        assert!(v4
            .iter()
            .any(|s| s.path == std::path::Path::new("/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore")));
        let v6 = vmac_sysctls("vrrp.51", true);
        assert!(!v6.iter().any(|s| s.path.ends_with("disable_ipv6")));
    }
}
