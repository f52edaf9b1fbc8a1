// Shared by the targets: the first byte picks the IP family (and a
// mismatched pair), the next picks the TTL, the rest is the VRRP message.

use std::net::IpAddr;

use vipd::proto::Endpoints;

pub fn split(data: &[u8]) -> Option<(Endpoints, u8, &[u8])> {
    let (&selector, rest) = data.split_first()?;
    let (&ttl, message) = rest.split_first()?;
    let v4: IpAddr = "192.0.2.201".parse().unwrap();
    let v6: IpAddr = "fe80::201".parse().unwrap();
    let endpoints = match selector % 3 {
        0 => Endpoints::multicast_from(v4),
        1 => Endpoints::multicast_from(v6),
        _ => Endpoints::new(v4, "ff02::12".parse().unwrap()),
    };
    Some((endpoints, ttl, message))
}
