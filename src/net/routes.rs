//! Routes and policy rules a master holds (keepalived's virtual_routes and
//! virtual_rules), thinly over rtnetlink: build, add, delete, and tell
//! whether a kernel notification is about one of ours. EEXIST on add and
//! ENOENT / ESRCH on delete count as success, as for addresses.

use std::net::IpAddr;

use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::RouteMessageBuilder;

use super::netlink::{Netlink, NetlinkError};

/// The main routing table, where `ip route add` puts routes by default.
pub const MAIN_TABLE: u32 = 254;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RouteKind {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One route, as `ip route add` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    pub kind: RouteKind,
    pub destination: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub dev: Option<String>,
    pub source: Option<IpAddr>,
    pub metric: Option<u32>,
    pub table: u32,
    pub protocol: Option<u8>,
    pub scope: Option<u8>,
    /// Put back if deleted behind vipd's back (keepalived: unless no_track).
    pub track: bool,
}

/// One policy rule, as `ip rule add` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleSpec {
    pub ipv6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub table: u32,
    pub priority: Option<u32>,
    pub track: bool,
}

/// A route or a rule: what a master holds besides its addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Routed {
    Route(RouteSpec),
    Rule(RuleSpec),
}

/// As `ip route` / `ip rule` would name it, for logs.
impl std::fmt::Display for Routed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Routed::Route(r) => write!(
                f,
                "route {}/{} table {}",
                r.destination, r.prefix_len, r.table
            ),
            Routed::Rule(r) => {
                f.write_str("rule")?;
                if let Some((a, l)) = r.from {
                    write!(f, " from {a}/{l}")?;
                }
                if let Some((a, l)) = r.to {
                    write!(f, " to {a}/{l}")?;
                }
                write!(f, " table {}", r.table)
            }
        }
    }
}

impl RouteSpec {
    fn message(&self, oif: Option<u32>) -> Result<RouteMessage, NetlinkError> {
        let invalid = |e| NetlinkError::Invalid(format!("{e:?}"));
        let mut builder = RouteMessageBuilder::<IpAddr>::new()
            .table_id(self.table)
            .kind(match self.kind {
                RouteKind::Unicast => RouteType::Unicast,
                RouteKind::Blackhole => RouteType::BlackHole,
                RouteKind::Unreachable => RouteType::Unreachable,
                RouteKind::Prohibit => RouteType::Prohibit,
            })
            .destination_prefix(self.destination, self.prefix_len)
            .map_err(invalid)?;
        if let Some(gateway) = self.gateway {
            builder = builder.gateway(gateway).map_err(invalid)?;
        }
        if let Some(source) = self.source {
            builder = builder.pref_source(source).map_err(invalid)?;
        }
        if let Some(oif) = oif {
            builder = builder.output_interface(oif);
        }
        if let Some(metric) = self.metric {
            builder = builder.priority(metric);
        }
        if let Some(protocol) = self.protocol {
            builder = builder.protocol(RouteProtocol::from(protocol));
        }
        if let Some(scope) = self.scope {
            builder = builder.scope(RouteScope::from(scope));
        }
        Ok(builder.build())
    }

    /// Whether a route the kernel reports is this one: same destination,
    /// prefix, table and kind.
    pub fn matches(&self, message: &RouteMessage) -> bool {
        let table = message
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(message.header.table));
        let destination = message.attributes.iter().find_map(|a| match a {
            RouteAttribute::Destination(d) => route_address(d),
            _ => None,
        });
        table == self.table
            && message.header.destination_prefix_length == self.prefix_len
            && destination == Some(self.destination)
    }
}

fn route_address(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

impl RuleSpec {
    fn message(&self) -> RuleMessage {
        let mut message = RuleMessage::default();
        message.header.family = if self.ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        message.header.action = RuleAction::ToTable;
        if self.table > 255 {
            message.header.table = RouteHeader::RT_TABLE_UNSPEC;
            message.attributes.push(RuleAttribute::Table(self.table));
        } else {
            message.header.table = self.table as u8;
        }
        if let Some((address, len)) = self.from {
            message.header.src_len = len;
            message.attributes.push(RuleAttribute::Source(address));
        }
        if let Some((address, len)) = self.to {
            message.header.dst_len = len;
            message.attributes.push(RuleAttribute::Destination(address));
        }
        if let Some(priority) = self.priority {
            message.attributes.push(RuleAttribute::Priority(priority));
        }
        message
    }

    /// Whether a rule the kernel reports is this one.
    pub fn matches(&self, message: &RuleMessage) -> bool {
        let mut table = u32::from(message.header.table);
        let (mut from, mut to, mut priority) = (None, None, None);
        for attribute in &message.attributes {
            match attribute {
                RuleAttribute::Table(t) => table = *t,
                RuleAttribute::Source(a) => from = Some((*a, message.header.src_len)),
                RuleAttribute::Destination(a) => to = Some((*a, message.header.dst_len)),
                RuleAttribute::Priority(p) => priority = Some(*p),
                _ => {}
            }
        }
        table == self.table
            && from == self.from
            && to == self.to
            && (self.priority.is_none() || priority == self.priority)
            && (message.header.family == AddressFamily::Inet6) == self.ipv6
    }
}

fn ignore(error: rtnetlink::Error, codes: &[i32]) -> Result<(), NetlinkError> {
    match error {
        rtnetlink::Error::NetlinkError(e) if codes.iter().any(|c| e.raw_code() == -c) => Ok(()),
        other => Err(other.into()),
    }
}

impl Netlink {
    async fn oif(&self, dev: &Option<String>) -> Result<Option<u32>, NetlinkError> {
        match dev {
            Some(name) => Ok(Some(self.link(name).await?.index)),
            None => Ok(None),
        }
    }

    pub async fn add_route(&self, route: &RouteSpec) -> Result<(), NetlinkError> {
        let message = route.message(self.oif(&route.dev).await?)?;
        match self.handle().route().add(message).execute().await {
            Ok(()) => Ok(()),
            Err(e) => ignore(e, &[libc::EEXIST]),
        }
    }

    pub async fn remove_route(&self, route: &RouteSpec) -> Result<(), NetlinkError> {
        // The device may be gone: deleting by destination and table is enough.
        let oif = self.oif(&route.dev).await.unwrap_or(None);
        match self
            .handle()
            .route()
            .del(route.message(oif)?)
            .execute()
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => ignore(e, &[libc::ENOENT, libc::ESRCH]),
        }
    }

    pub async fn add_rule(&self, rule: &RuleSpec) -> Result<(), NetlinkError> {
        let mut request = self.handle().rule().add();
        *request.message_mut() = rule.message();
        match request.execute().await {
            Ok(()) => Ok(()),
            Err(e) => ignore(e, &[libc::EEXIST]),
        }
    }

    pub async fn remove_rule(&self, rule: &RuleSpec) -> Result<(), NetlinkError> {
        // Deleting the rule as added removes one match; repeat until none
        // is left, so a stale duplicate from a crash goes too.
        for _ in 0..16 {
            match self.handle().rule().del(rule.message()).execute().await {
                Ok(()) => continue,
                Err(e) => return ignore(e, &[libc::ENOENT, libc::ESRCH]),
            }
        }
        Ok(())
    }
}

/// A route or rule the kernel removed.
#[derive(Clone, Debug)]
pub enum RoutingEvent {
    RouteRemoved(RouteMessage),
    RuleRemoved(RuleMessage),
}

/// Route and rule removals, to put back what the master holds. Subscribe
/// before adding, so no removal falls between the two.
pub fn subscribe() -> Result<impl futures::Stream<Item = RoutingEvent>, NetlinkError> {
    use futures::StreamExt;
    use rtnetlink::packet_core::NetlinkPayload;
    use rtnetlink::packet_route::RouteNetlinkMessage;
    use rtnetlink::MulticastGroup;

    let (connection, _handle, messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Ipv4Route,
        MulticastGroup::Ipv6Route,
        MulticastGroup::Ipv4Rule,
        MulticastGroup::Ipv6Rule,
    ])?;
    tokio::spawn(connection);
    Ok(messages.filter_map(|(message, _)| async move {
        match message.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(route)) => {
                Some(RoutingEvent::RouteRemoved(route))
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRule(rule)) => {
                Some(RoutingEvent::RuleRemoved(rule))
            }
            _ => None,
        }
    }))
}
