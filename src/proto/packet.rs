//! VRRP advertisement encoding and decoding, versions 2 and 3.
//!
//! VRRPv2 (RFC 3768), IPv4 only:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Adver Int   |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         IP Address (1)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            .........                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Authentication Data (1)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Authentication Data (2)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Adver Int is in whole seconds; the checksum covers the VRRP message only.
//! The 8-byte authentication data is always present, zero without auth.
//!
//! VRRPv3 (RFC 5798, RFC 9568), IPv4 or IPv6:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |(rsvd) |     Max Adver Int     |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       IPvX Address(es)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Max Adver Int is 12 bits of centiseconds; the checksum includes the IPv4
//! or IPv6 pseudo-header (protocol 112). There is no authentication.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::auth_hmac::{Trailer, TRAILER_LEN};
use super::checksum::internet_checksum;
use super::interval::Centiseconds;

/// IP protocol number of VRRP.
pub const IP_PROTOCOL: u8 = 112;
/// TTL / hop limit a VRRP packet is sent with and must arrive with.
pub const REQUIRED_TTL: u8 = 255;
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

const HEADER_LEN: usize = 8;
const AUTH_DATA_LEN: usize = 8;
const ADVERTISEMENT_TYPE: u8 = 1;
const V3_MAX_INTERVAL: u32 = 0x0fff;

/// The multicast group adverts of this family go to.
pub fn multicast_group(is_ipv6: bool) -> IpAddr {
    if is_ipv6 {
        IpAddr::V6(MULTICAST_V6)
    } else {
        IpAddr::V4(MULTICAST_V4)
    }
}

/// The virtual router MAC address (RFC 5798 §7.3): 00-00-5E-00-01-{VRID}
/// for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
pub const fn virtual_mac(vrid: Vrid, is_ipv6: bool) -> [u8; 6] {
    [
        0x00,
        0x00,
        0x5e,
        0x00,
        if is_ipv6 { 0x02 } else { 0x01 },
        vrid.0,
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{}", self.number())
    }
}

/// Virtual router identifier, 1..=255 (0 is not a valid VRID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vrid(u8);

impl Vrid {
    pub const MIN: Vrid = Vrid(1);

    pub const fn new(id: u8) -> Option<Vrid> {
        if id == 0 {
            None
        } else {
            Some(Vrid(id))
        }
    }

    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The 8-byte VRRPv2 simple-text password, as keepalived puts it on the
/// wire: longer passwords are truncated, shorter ones zero-padded.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthKey([u8; AUTH_DATA_LEN]);

impl AuthKey {
    pub fn from_password(password: &str) -> AuthKey {
        AuthKey::from_bytes(password.as_bytes())
    }

    pub fn from_bytes(bytes: &[u8]) -> AuthKey {
        let mut key = [0u8; AUTH_DATA_LEN];
        let n = bytes.len().min(AUTH_DATA_LEN);
        key[..n].copy_from_slice(&bytes[..n]);
        AuthKey(key)
    }

    pub const fn as_bytes(&self) -> &[u8; AUTH_DATA_LEN] {
        &self.0
    }
}

impl fmt::Debug for AuthKey {
    // A password does not belong in logs or panic messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(..)")
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). VRRPv3 has none: always `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    None,
    Pass(AuthKey),
    /// Any other type (2 was IP Authentication Header, removed by RFC 3768).
    /// Decoded so it can be counted and refused by the instance, not here.
    Other {
        kind: u8,
        data: [u8; AUTH_DATA_LEN],
    },
}

impl Auth {
    const fn kind(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Other { kind, .. } => *kind,
        }
    }

    fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::Pass(key) => *key.as_bytes(),
            Auth::Other { data, .. } => *data,
        }
    }

    fn from_wire(kind: u8, data: &[u8]) -> Auth {
        match kind {
            0 => Auth::None,
            1 => Auth::Pass(AuthKey::from_bytes(data)),
            kind => Auth::Other {
                kind,
                data: AuthKey::from_bytes(data).0,
            },
        }
    }
}

/// The virtual addresses an advert carries: all of one family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AddressList {
    V4(Vec<Ipv4Addr>),
    V6(Vec<Ipv6Addr>),
}

impl AddressList {
    pub fn len(&self) -> usize {
        match self {
            AddressList::V4(list) => list.len(),
            AddressList::V6(list) => list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_ipv6(&self) -> bool {
        matches!(self, AddressList::V6(_))
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        match (self, address) {
            (AddressList::V4(list), IpAddr::V4(a)) => list.contains(&a),
            (AddressList::V6(list), IpAddr::V6(a)) => list.contains(&a),
            _ => false,
        }
    }

    /// Same addresses, in any order (RFC 5798 fixes none). Quadratic but
    /// allocation-free: it runs per received advert, on a handful of addresses.
    pub fn matches(&self, other: &AddressList) -> bool {
        fn each_in<T: PartialEq>(a: &[T], b: &[T]) -> bool {
            a.iter().all(|x| b.contains(x))
        }
        match (self, other) {
            (AddressList::V4(a), AddressList::V4(b)) => {
                a.len() == b.len() && each_in(a, b) && each_in(b, a)
            }
            (AddressList::V6(a), AddressList::V6(b)) => {
                a.len() == b.len() && each_in(a, b) && each_in(b, a)
            }
            _ => false,
        }
    }

    /// No address (keepalived's `no_virtual_ipaddress`, 2.2.8 and later).
    pub fn empty(ipv6: bool) -> AddressList {
        if ipv6 {
            AddressList::V6(Vec::new())
        } else {
            AddressList::V4(Vec::new())
        }
    }

    /// Builds a list from addresses that must all be of one family.
    pub fn from_addresses(addresses: impl IntoIterator<Item = IpAddr>) -> Option<AddressList> {
        let mut iter = addresses.into_iter().peekable();
        match iter.peek()? {
            IpAddr::V4(_) => iter
                .map(|a| match a {
                    IpAddr::V4(a) => Some(a),
                    IpAddr::V6(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(AddressList::V4),
            IpAddr::V6(_) => iter
                .map(|a| match a {
                    IpAddr::V6(a) => Some(a),
                    IpAddr::V4(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(AddressList::V6),
        }
    }

    fn wire_len(&self) -> usize {
        match self {
            AddressList::V4(list) => list.len() * 4,
            AddressList::V6(list) => list.len() * 16,
        }
    }
}

/// What a VRRPv3 checksum over IPv4 covers: the RFC's pseudo-header, or
/// one of keepalived's compatibility forms (vrrp.c v2.4.3, vrrp_build_vrrp,
/// vrrp_check_packet). Over IPv6 the kernel sums the RFC's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum V3Checksum {
    /// The pseudo-header with the packet's own destination.
    #[default]
    Rfc,
    /// The pseudo-header with the multicast group as destination even
    /// for a unicast advert: keepalived before 1.3.6 (`old_unicast_checksum`).
    GroupDestination,
    /// No pseudo-header, as VRRPv2 sums (`v3_checksum_as_v2`).
    WithoutPseudoHeader,
}

/// The IP source and destination of an advert: v3's checksum covers them,
/// and their family decides how the address list is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Endpoints {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub v3_checksum: V3Checksum,
}

impl Endpoints {
    pub fn new(source: IpAddr, destination: IpAddr) -> Endpoints {
        Endpoints {
            source,
            destination,
            v3_checksum: V3Checksum::Rfc,
        }
    }

    /// The same, summed as `v3_checksum` says (IPv4 VRRPv3 only).
    pub fn with_v3_checksum(self, v3_checksum: V3Checksum) -> Endpoints {
        Endpoints {
            v3_checksum,
            ..self
        }
    }

    /// To the VRRP multicast group of `source`'s family.
    pub fn multicast_from(source: IpAddr) -> Endpoints {
        Endpoints::new(source, multicast_group(source.is_ipv6()))
    }

    fn is_ipv6(&self) -> Result<bool, DecodeError> {
        match (self.source, self.destination) {
            (IpAddr::V4(_), IpAddr::V4(_)) => Ok(false),
            (IpAddr::V6(_), IpAddr::V6(_)) => Ok(true),
            _ => Err(DecodeError::AddressFamilyMismatch),
        }
    }
}

/// What came after a received advert: its `auth_hmac` trailer, and the
/// VRRP message as received, which the tag covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub trailer: Trailer,
    pub message: Vec<u8>,
}

/// A VRRP ADVERTISEMENT, version-independent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Advert {
    pub version: Version,
    pub vrid: Vrid,
    pub priority: u8,
    /// v2 carries whole seconds, v3 12 bits of centiseconds.
    pub interval: Centiseconds,
    /// Always [`Auth::None`] for v3.
    pub auth: Auth,
    pub addresses: AddressList,
}

/// Why bytes off the wire are not a valid advert. Each variant is one
/// drop-counter reason; the fields say what was seen, for the rate-limited log.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("TTL/hop limit {0}, VRRP requires 255 (RFC 5798 §5.1.1.3)")]
    BadTtl(u8),
    #[error("{len} bytes, shorter than the 8-byte VRRP header")]
    Truncated { len: usize },
    #[error("version {0}, expected 2 or 3")]
    BadVersion(u8),
    #[error("type {0}, expected 1 (ADVERTISEMENT)")]
    BadType(u8),
    #[error("virtual router id 0 is reserved")]
    ZeroVrid,
    #[error("IP source and destination are of different address families")]
    AddressFamilyMismatch,
    #[error("VRRPv2 over IPv6 (RFC 3768 is IPv4 only)")]
    V2OverIpv6,
    #[error("{count} addresses need {expected} bytes, packet has {actual}")]
    LengthMismatch {
        count: u8,
        expected: usize,
        actual: usize,
    },
    #[error("advertisement interval is 0")]
    ZeroInterval,
    #[error("checksum {found:#06x}, computed {computed:#06x}")]
    BadChecksum { found: u16, computed: u16 },
}

/// Why an [`Advert`] cannot be put on the wire as it is.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("VRRPv2 intervals are whole seconds 1..=255, not {0}")]
    V2Interval(Centiseconds),
    #[error("VRRPv3 intervals are 1..=4095 centiseconds, not {0}")]
    V3Interval(Centiseconds),
    #[error("an advert carries 0..=255 addresses, not {0}")]
    AddressCount(usize),
    #[error("VRRPv3 has no authentication")]
    AuthInV3,
    #[error("VRRPv2 is IPv4 only")]
    V2OverIpv6,
    #[error("advertised addresses and IP endpoints are of different families")]
    AddressFamilyMismatch,
}

impl Advert {
    /// Decodes a packet received with `ttl` between `endpoints`, checking
    /// everything that can be checked without the receiving instance's
    /// configuration: TTL first, as it is the cheapest test junk fails.
    pub fn decode_received(
        bytes: &[u8],
        endpoints: &Endpoints,
        ttl: u8,
    ) -> Result<Advert, DecodeError> {
        if ttl != REQUIRED_TTL {
            return Err(DecodeError::BadTtl(ttl));
        }
        Advert::decode(bytes, endpoints)
    }

    /// Decodes the VRRP message (the IP payload) and verifies its
    /// checksum; an `auth_hmac` trailer is refused as a length mismatch,
    /// as a receiver without `auth_hmac` refuses it.
    pub fn decode(bytes: &[u8], endpoints: &Endpoints) -> Result<Advert, DecodeError> {
        match Advert::decode_signed(bytes, endpoints)? {
            (advert, None) => Ok(advert),
            (advert, Some(_)) => {
                let expected = bytes.len() - TRAILER_LEN;
                Err(DecodeError::LengthMismatch {
                    count: advert.addresses.len() as u8,
                    expected,
                    actual: bytes.len(),
                })
            }
        }
    }

    /// As `decode_signed`, and when a VRRPv3 IPv4 checksum does not add up
    /// as the RFC sums it, whether it does as one of keepalived's
    /// compatibility forms: which form matched is returned, for the
    /// instance to accept or not (its `old_unicast_checksum` and
    /// `v3_checksum_as_v2`). Only a packet with a bad checksum costs more.
    pub fn decode_signed_any_checksum(
        bytes: &[u8],
        endpoints: &Endpoints,
    ) -> (Result<(Advert, Option<Signed>), DecodeError>, V3Checksum) {
        let first = Advert::decode_signed(bytes, endpoints);
        let v3_over_ipv4 = bytes.first().is_some_and(|b| b >> 4 == 3)
            && endpoints.source.is_ipv4()
            && endpoints.destination.is_ipv4();
        if !(v3_over_ipv4 && matches!(first, Err(DecodeError::BadChecksum { .. }))) {
            return (first, V3Checksum::Rfc);
        }
        for form in [
            V3Checksum::GroupDestination,
            V3Checksum::WithoutPseudoHeader,
        ] {
            if form == V3Checksum::GroupDestination && endpoints.destination.is_multicast() {
                continue; // the same sum as the RFC's
            }
            if let Ok(decoded) = Advert::decode_signed(bytes, &endpoints.with_v3_checksum(form)) {
                return (Ok(decoded), form);
            }
        }
        (first, V3Checksum::Rfc)
    }

    /// Decodes the VRRP message and, when it is exactly one trailer longer
    /// than its addresses make it, its `auth_hmac` trailer (keepalived
    /// tells the two apart by length alone, vrrp.c `vrrp_check_packet`).
    /// The checksum covers the message only over IPv4 (keepalived sums
    /// it), and the whole payload over IPv6 (the kernel sums it there).
    pub fn decode_signed(
        bytes: &[u8],
        endpoints: &Endpoints,
    ) -> Result<(Advert, Option<Signed>), DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::Truncated { len: bytes.len() });
        }
        let version = match bytes[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            other => return Err(DecodeError::BadVersion(other)),
        };
        let kind = bytes[0] & 0x0f;
        if kind != ADVERTISEMENT_TYPE {
            return Err(DecodeError::BadType(kind));
        }
        let is_ipv6 = endpoints.is_ipv6()?;
        if is_ipv6 && version == Version::V2 {
            return Err(DecodeError::V2OverIpv6);
        }
        // A count of 0 is decoded: RFC 5798 asks for at least one, but
        // keepalived's `no_virtual_ipaddress` (2.2.8 and later) instances send none and
        // keepalived accepts them when it has none either (vrrp.c
        // `vrrp_check_packet` compares the count with its own). The
        // instance decides (`Instance::check_advert`).
        let count = bytes[3];
        let address_len = if is_ipv6 { 16 } else { 4 };
        let auth_len = if version == Version::V2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        let expected = HEADER_LEN + usize::from(count) * address_len + auth_len;
        let signed = bytes.len() == expected + TRAILER_LEN;
        if bytes.len() != expected && !signed {
            return Err(DecodeError::LengthMismatch {
                count,
                expected,
                actual: bytes.len(),
            });
        }

        let found = u16::from_be_bytes([bytes[6], bytes[7]]);
        let summed = if is_ipv6 { bytes } else { &bytes[..expected] };
        let computed = checksum(version, endpoints, summed);
        if found != computed {
            return Err(DecodeError::BadChecksum { found, computed });
        }

        let vrid = Vrid::new(bytes[1]).ok_or(DecodeError::ZeroVrid)?;
        let (interval, auth) = match version {
            Version::V2 => (
                Centiseconds::from_secs(u32::from(bytes[5])),
                Auth::from_wire(bytes[4], &bytes[expected - AUTH_DATA_LEN..]),
            ),
            // The top 4 bits are reserved: ignored on receipt (RFC 5798 §5.2.5).
            Version::V3 => (
                Centiseconds::new(u32::from(u16::from_be_bytes([bytes[4], bytes[5]]) & 0x0fff)),
                Auth::None,
            ),
        };
        if interval.is_zero() {
            return Err(DecodeError::ZeroInterval);
        }

        let raw_addresses = &bytes[HEADER_LEN..HEADER_LEN + usize::from(count) * address_len];
        let addresses = if is_ipv6 {
            AddressList::V6(
                raw_addresses
                    .chunks_exact(16)
                    .map(|c| Ipv6Addr::from(<[u8; 16]>::try_from(c).expect("chunk of 16")))
                    .collect(),
            )
        } else {
            AddressList::V4(
                raw_addresses
                    .chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect(),
            )
        };

        let signed = signed.then(|| {
            let trailer: &[u8; TRAILER_LEN] = bytes[expected..].try_into().expect("length checked");
            Signed {
                trailer: Trailer::parse(trailer),
                message: bytes[..expected].to_vec(),
            }
        });
        let advert = Advert {
            version,
            vrid,
            priority: bytes[2],
            interval,
            auth,
            addresses,
        };
        Ok((advert, signed))
    }

    /// Appends the VRRP message, checksum included, to `out`.
    pub fn encode_into(&self, endpoints: &Endpoints, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encode_signed_into(endpoints, None, out)
    }

    /// As `encode_into`, with an `auth_hmac` trailer after the message if
    /// given; over IPv6 the checksum covers it too, as the kernel's does
    /// for keepalived.
    pub fn encode_signed_into(
        &self,
        endpoints: &Endpoints,
        trailer: Option<&Trailer>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let is_ipv6 = endpoints
            .is_ipv6()
            .map_err(|_| EncodeError::AddressFamilyMismatch)?;
        if is_ipv6 != self.addresses.is_ipv6() {
            return Err(EncodeError::AddressFamilyMismatch);
        }
        let count = self.addresses.len();
        if count > 255 {
            return Err(EncodeError::AddressCount(count));
        }
        let interval_field: [u8; 2] = match self.version {
            Version::V2 => {
                if is_ipv6 {
                    return Err(EncodeError::V2OverIpv6);
                }
                match self.interval.as_whole_secs() {
                    Some(secs @ 1..=255) => [self.auth.kind(), secs as u8],
                    _ => return Err(EncodeError::V2Interval(self.interval)),
                }
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(EncodeError::AuthInV3);
                }
                match self.interval.get() {
                    cs @ 1..=V3_MAX_INTERVAL => (cs as u16).to_be_bytes(),
                    _ => return Err(EncodeError::V3Interval(self.interval)),
                }
            }
        };

        let start = out.len();
        out.reserve(HEADER_LEN + self.addresses.wire_len() + AUTH_DATA_LEN);
        out.push((self.version.number() << 4) | ADVERTISEMENT_TYPE);
        out.push(self.vrid.get());
        out.push(self.priority);
        out.push(count as u8);
        out.extend_from_slice(&interval_field);
        out.extend_from_slice(&[0, 0]);
        match &self.addresses {
            AddressList::V4(list) => list.iter().for_each(|a| out.extend_from_slice(&a.octets())),
            AddressList::V6(list) => list.iter().for_each(|a| out.extend_from_slice(&a.octets())),
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth.data());
        }
        let message_end = out.len();
        if let Some(trailer) = trailer {
            out.extend_from_slice(&trailer.to_bytes());
        }
        let summed = if is_ipv6 {
            &out[start..]
        } else {
            &out[start..message_end]
        };
        let sum = checksum(self.version, endpoints, summed);
        out[start + 6..start + 8].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }

    pub fn encode(&self, endpoints: &Endpoints) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode_into(endpoints, &mut out)?;
        Ok(out)
    }
}

/// Checksum of `message` as if its checksum field were zero.
fn checksum(version: Version, endpoints: &Endpoints, message: &[u8]) -> u16 {
    let head = &message[..6];
    let rest = &message[8..];
    match (version, endpoints.source, endpoints.destination) {
        (Version::V2, _, _) => internet_checksum(&[head, &[0, 0], rest]),
        (Version::V3, IpAddr::V4(_), IpAddr::V4(_))
            if endpoints.v3_checksum == V3Checksum::WithoutPseudoHeader =>
        {
            internet_checksum(&[head, &[0, 0], rest])
        }
        (Version::V3, IpAddr::V4(src), IpAddr::V4(dst)) => {
            let dst = match endpoints.v3_checksum {
                V3Checksum::GroupDestination => MULTICAST_V4,
                _ => dst,
            };
            let len = (message.len() as u16).to_be_bytes();
            let mut pseudo = [0u8; 12];
            pseudo[..4].copy_from_slice(&src.octets());
            pseudo[4..8].copy_from_slice(&dst.octets());
            pseudo[9] = IP_PROTOCOL;
            pseudo[10..].copy_from_slice(&len);
            internet_checksum(&[&pseudo, head, &[0, 0], rest])
        }
        (Version::V3, src, dst) => {
            let (src, dst) = (ipv6_octets(src), ipv6_octets(dst));
            let len = (message.len() as u32).to_be_bytes();
            let mut pseudo = [0u8; 40];
            pseudo[..16].copy_from_slice(&src);
            pseudo[16..32].copy_from_slice(&dst);
            pseudo[32..36].copy_from_slice(&len);
            pseudo[39] = IP_PROTOCOL;
            internet_checksum(&[&pseudo, head, &[0, 0], rest])
        }
    }
}

fn ipv6_octets(address: IpAddr) -> [u8; 16] {
    match address {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn seed_advert() -> Advert {
        Advert {
            version: Version::V2,
            vrid: Vrid::new(51).unwrap(),
            priority: 100,
            interval: Centiseconds::from_secs(1),
            auth: Auth::Pass(AuthKey::from_password("1111")),
            addresses: AddressList::V4(vec![Ipv4Addr::new(192, 0, 2, 203)]),
        }
    }

    #[test]
    fn keepalived_s_compatible_v3_checksums_are_told_apart() {
        let advert = Advert {
            version: Version::V3,
            auth: Auth::None,
            ..seed_advert()
        };
        let unicast = Endpoints::new(v4("192.0.2.201"), v4("192.0.2.202"));
        for form in [
            V3Checksum::Rfc,
            V3Checksum::GroupDestination,
            V3Checksum::WithoutPseudoHeader,
        ] {
            let bytes = advert.encode(&unicast.with_v3_checksum(form)).unwrap();
            let (decoded, found) = Advert::decode_signed_any_checksum(&bytes, &unicast);
            assert_eq!(decoded.map(|(a, _)| a), Ok(advert.clone()), "{form:?}");
            assert_eq!(found, form);
        }
        // Sent to the group, the old form is the RFC's.
        let group = Endpoints::multicast_from(v4("192.0.2.201"));
        let bytes = advert
            .encode(&group.with_v3_checksum(V3Checksum::GroupDestination))
            .unwrap();
        assert_eq!(
            Advert::decode_signed_any_checksum(&bytes, &group).1,
            V3Checksum::Rfc
        );
        // A checksum no form explains is still refused.
        let mut bad = advert.encode(&unicast).unwrap();
        bad[6] ^= 0x55;
        assert!(matches!(
            Advert::decode_signed_any_checksum(&bad, &unicast).0,
            Err(DecodeError::BadChecksum { .. })
        ));
    }

    fn seed_endpoints() -> Endpoints {
        Endpoints::multicast_from(v4("192.0.2.201"))
    }

    #[test]
    fn password_is_truncated_or_zero_padded_to_8_bytes() {
        assert_eq!(AuthKey::from_password("1111").as_bytes(), b"1111\0\0\0\0");
        assert_eq!(
            AuthKey::from_password("longpassword").as_bytes(),
            b"longpass"
        );
        assert_eq!(
            AuthKey::from_password("longpassword"),
            AuthKey::from_password("longpass")
        );
    }

    #[test]
    fn auth_key_is_not_printed() {
        assert_eq!(
            format!("{:?}", AuthKey::from_password("secret")),
            "AuthKey(..)"
        );
    }

    #[test]
    fn ttl_other_than_255_is_refused_before_parsing() {
        let bytes = seed_advert().encode(&seed_endpoints()).unwrap();
        assert_eq!(
            Advert::decode_received(&bytes, &seed_endpoints(), 64),
            Err(DecodeError::BadTtl(64))
        );
        assert!(Advert::decode_received(&bytes, &seed_endpoints(), 255).is_ok());
    }

    #[test]
    fn each_malformation_has_its_own_error() {
        let ep = seed_endpoints();
        let good = seed_advert().encode(&ep).unwrap();
        let with = |i: usize, b: u8| {
            let mut bytes = good.clone();
            bytes[i] = b;
            Advert::decode(&bytes, &ep)
        };
        assert_eq!(
            Advert::decode(&good[..7], &ep),
            Err(DecodeError::Truncated { len: 7 })
        );
        assert_eq!(with(0, 0x41), Err(DecodeError::BadVersion(4)));
        assert_eq!(with(0, 0x22), Err(DecodeError::BadType(2)));
        assert_eq!(
            with(3, 0),
            Err(DecodeError::LengthMismatch {
                count: 0,
                expected: 16,
                actual: 20,
            })
        );
        assert_eq!(
            with(3, 2),
            Err(DecodeError::LengthMismatch {
                count: 2,
                expected: 24,
                actual: 20
            })
        );
        assert!(matches!(
            with(7, good[7] ^ 1),
            Err(DecodeError::BadChecksum { .. })
        ));
        assert!(matches!(with(1, 0), Err(DecodeError::BadChecksum { .. })));
        let mixed = Endpoints::new(v4("192.0.2.201"), IpAddr::V6(MULTICAST_V6));
        assert_eq!(
            Advert::decode(&good, &mixed),
            Err(DecodeError::AddressFamilyMismatch)
        );
    }

    #[test]
    fn zero_vrid_and_zero_interval_with_valid_checksum_are_refused() {
        let ep = seed_endpoints();
        let refix = |mut bytes: Vec<u8>| {
            bytes[6] = 0;
            bytes[7] = 0;
            let sum = internet_checksum(&[&bytes]);
            bytes[6..8].copy_from_slice(&sum.to_be_bytes());
            bytes
        };
        let mut zero_vrid = seed_advert().encode(&ep).unwrap();
        zero_vrid[1] = 0;
        assert_eq!(
            Advert::decode(&refix(zero_vrid), &ep),
            Err(DecodeError::ZeroVrid)
        );
        let mut zero_interval = seed_advert().encode(&ep).unwrap();
        zero_interval[5] = 0;
        assert_eq!(
            Advert::decode(&refix(zero_interval), &ep),
            Err(DecodeError::ZeroInterval)
        );
    }

    #[test]
    fn v2_over_ipv6_is_refused_both_ways() {
        let ep6 = Endpoints::multicast_from("fe80::1".parse().unwrap());
        let mut advert = seed_advert();
        advert.addresses = AddressList::V6(vec!["fe80::51".parse().unwrap()]);
        assert_eq!(advert.encode(&ep6), Err(EncodeError::V2OverIpv6));
        let mut bytes = vec![0x21, 51, 100, 1, 1, 1, 0, 0];
        bytes.extend_from_slice(&[0; 24]);
        assert_eq!(Advert::decode(&bytes, &ep6), Err(DecodeError::V2OverIpv6));
    }

    #[test]
    fn unrepresentable_adverts_are_refused_at_encode() {
        let ep = seed_endpoints();
        let mut fractional = seed_advert();
        fractional.interval = Centiseconds::new(150);
        assert!(matches!(
            fractional.encode(&ep),
            Err(EncodeError::V2Interval(_))
        ));
        let mut v3 = seed_advert();
        v3.version = Version::V3;
        assert_eq!(v3.encode(&ep), Err(EncodeError::AuthInV3));
        v3.auth = Auth::None;
        v3.interval = Centiseconds::new(4096);
        assert!(matches!(v3.encode(&ep), Err(EncodeError::V3Interval(_))));
        let mut too_many = seed_advert();
        too_many.addresses = AddressList::V4(vec![Ipv4Addr::new(192, 0, 2, 9); 256]);
        assert_eq!(too_many.encode(&ep), Err(EncodeError::AddressCount(256)));
    }

    /// keepalived's no_virtual_ipaddress (2.2.8 and later): an advert with no address
    /// goes on the wire and comes back as it was.
    #[test]
    fn an_advert_with_no_address_round_trips() {
        let ep = seed_endpoints();
        let mut empty = seed_advert();
        empty.addresses = AddressList::V4(vec![]);
        let bytes = empty.encode(&ep).unwrap();
        assert_eq!(bytes.len(), HEADER_LEN + AUTH_DATA_LEN);
        assert_eq!(bytes[3], 0);
        assert_eq!(Advert::decode(&bytes, &ep), Ok(empty));
    }

    #[test]
    fn v3_reserved_bits_are_ignored_on_receipt() {
        let ep = seed_endpoints();
        let mut advert = seed_advert();
        advert.version = Version::V3;
        advert.auth = Auth::None;
        let mut bytes = advert.encode(&ep).unwrap();
        bytes[4] |= 0xf0;
        // Recompute the checksum so only the reserved bits differ.
        let stored = u16::from_be_bytes([bytes[6], bytes[7]]);
        let fixed = checksum(Version::V3, &ep, &bytes);
        assert_ne!(stored, fixed);
        bytes[6..8].copy_from_slice(&fixed.to_be_bytes());
        assert_eq!(Advert::decode(&bytes, &ep).unwrap(), advert);
    }

    #[test]
    fn address_sets_compare_in_any_order() {
        let a = AddressList::V4(vec![
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 2),
        ]);
        let b = AddressList::V4(vec![
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(192, 0, 2, 1),
        ]);
        let c = AddressList::V4(vec![
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(192, 0, 2, 2),
        ]);
        assert!(a.matches(&b));
        assert!(!a.matches(&c));
        assert!(!c.matches(&a));
        assert_eq!(
            AddressList::from_addresses([v4("192.0.2.1"), "2001:db8::1".parse().unwrap()]),
            None
        );
    }
}
