//! VMAC: a macvlan in private mode with the virtual router MAC, so the
//! address that moves is a MAC switches and ARP caches already know
//! (keepalived's use_vmac; vrrp_vmac.c). Made at start, removed at stop;
//! a leftover from a crash is removed and made anew.

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use rtnetlink::packet_route::link::MacVlanMode;
use rtnetlink::LinkMacVlan;

use super::netlink::{LinkInfo, Netlink, NetlinkError};
use crate::proto::VirtualAddress;

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

impl Netlink {
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
        self.delete_link(name).await?;
        let message = LinkMacVlan::new(name, parent, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        self.handle().link().add(message).execute().await?;
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
