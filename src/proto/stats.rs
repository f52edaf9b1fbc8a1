//! Counters an instance keeps, and the reasons a received packet is dropped.

use super::packet::DecodeError;

/// Why a received packet was not acted on. One counter each: every
/// dropped packet is counted, whatever the log rate limit lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    BadTtl,
    Truncated,
    BadVersion,
    BadType,
    ZeroVrid,
    AddressFamilyMismatch,
    V2OverIpv6,
    NoAddresses,
    LengthMismatch,
    ZeroInterval,
    BadChecksum,
    VersionMismatch,
    VridMismatch,
    /// VRRPv2 PASS with another password (keepalived's auth_failure,
    /// RFC 2787's vrrpStatsAuthFailures).
    AuthMismatch,
    IntervalMismatch,
    AddressListMismatch,
    OwnAddress,
    UnexpectedUnicast,
    UnexpectedMulticast,
    UnknownUnicastSource,
    PeerTtlOutOfRange,
    HmacMissing,
    HmacMalformed,
    HmacStale,
    HmacUnknownKey,
    HmacBad,
    HmacReplay,
    HmacUnknownPeer,
    HmacUnexpected,
    OwnerIgnoresAdverts,
    StrictAuth,
    OtherMulticastGroup,
    /// VRRPv2 authentication of another known type than ours
    /// (keepalived's authtype_mismatch, vrrpStatsAuthTypeMismatch).
    AuthTypeMismatch,
    /// VRRPv2 authentication of a type no one defines: not 0, 1 or 2
    /// (keepalived's invalid_authtype, vrrpStatsInvalidAuthType).
    InvalidAuthType,
}

impl DropReason {
    pub const ALL: [DropReason; 34] = [
        DropReason::BadTtl,
        DropReason::Truncated,
        DropReason::BadVersion,
        DropReason::BadType,
        DropReason::ZeroVrid,
        DropReason::AddressFamilyMismatch,
        DropReason::V2OverIpv6,
        DropReason::NoAddresses,
        DropReason::LengthMismatch,
        DropReason::ZeroInterval,
        DropReason::BadChecksum,
        DropReason::VersionMismatch,
        DropReason::VridMismatch,
        DropReason::AuthMismatch,
        DropReason::IntervalMismatch,
        DropReason::AddressListMismatch,
        DropReason::OwnAddress,
        DropReason::UnexpectedUnicast,
        DropReason::UnexpectedMulticast,
        DropReason::UnknownUnicastSource,
        DropReason::PeerTtlOutOfRange,
        DropReason::HmacMissing,
        DropReason::HmacMalformed,
        DropReason::HmacStale,
        DropReason::HmacUnknownKey,
        DropReason::HmacBad,
        DropReason::HmacReplay,
        DropReason::HmacUnknownPeer,
        DropReason::HmacUnexpected,
        DropReason::OwnerIgnoresAdverts,
        DropReason::StrictAuth,
        DropReason::OtherMulticastGroup,
        DropReason::AuthTypeMismatch,
        DropReason::InvalidAuthType,
    ];

    /// Stable label for metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::BadTtl => "bad_ttl",
            DropReason::Truncated => "truncated",
            DropReason::BadVersion => "bad_version",
            DropReason::BadType => "bad_type",
            DropReason::ZeroVrid => "zero_vrid",
            DropReason::AddressFamilyMismatch => "address_family_mismatch",
            DropReason::V2OverIpv6 => "v2_over_ipv6",
            DropReason::NoAddresses => "no_addresses",
            DropReason::LengthMismatch => "length_mismatch",
            DropReason::ZeroInterval => "zero_interval",
            DropReason::BadChecksum => "bad_checksum",
            DropReason::VersionMismatch => "version_mismatch",
            DropReason::VridMismatch => "vrid_mismatch",
            DropReason::AuthMismatch => "auth_mismatch",
            DropReason::IntervalMismatch => "interval_mismatch",
            DropReason::AddressListMismatch => "address_list_mismatch",
            DropReason::OwnAddress => "own_address",
            DropReason::UnexpectedUnicast => "unexpected_unicast",
            DropReason::UnexpectedMulticast => "unexpected_multicast",
            DropReason::UnknownUnicastSource => "unknown_unicast_source",
            DropReason::PeerTtlOutOfRange => "peer_ttl_out_of_range",
            DropReason::HmacMissing => "hmac_missing",
            DropReason::HmacMalformed => "hmac_malformed",
            DropReason::HmacStale => "hmac_stale",
            DropReason::HmacUnknownKey => "hmac_unknown_key",
            DropReason::HmacBad => "hmac_bad",
            DropReason::HmacReplay => "hmac_replay",
            DropReason::HmacUnknownPeer => "hmac_unknown_peer",
            DropReason::HmacUnexpected => "hmac_unexpected",
            DropReason::OwnerIgnoresAdverts => "owner_ignores_adverts",
            DropReason::StrictAuth => "strict_auth",
            DropReason::OtherMulticastGroup => "other_multicast_group",
            DropReason::AuthTypeMismatch => "auth_type_mismatch",
            DropReason::InvalidAuthType => "invalid_auth_type",
        }
    }

    /// What it means, for a log line.
    pub const fn description(self) -> &'static str {
        match self {
            DropReason::BadTtl => "TTL/hop limit is not 255: sent from off-link",
            DropReason::Truncated => "shorter than a VRRP header",
            DropReason::BadVersion => "not VRRP version 2 or 3",
            DropReason::BadType => "not an ADVERTISEMENT",
            DropReason::ZeroVrid => "virtual router id 0",
            DropReason::AddressFamilyMismatch => "IP source and destination of different families",
            DropReason::V2OverIpv6 => "VRRPv2 over IPv6",
            DropReason::NoAddresses => "no virtual addresses, and ours has some",
            DropReason::LengthMismatch => "length does not match the address count",
            DropReason::ZeroInterval => "advertisement interval 0",
            DropReason::BadChecksum => "bad checksum",
            DropReason::VersionMismatch => "VRRP version differs from ours",
            DropReason::VridMismatch => "virtual router id differs from ours",
            DropReason::AuthMismatch => "authentication password differs from ours",
            DropReason::IntervalMismatch => {
                "advert_int differs from ours (VRRPv2 requires the same)"
            }
            DropReason::AddressListMismatch => "virtual addresses differ from ours (VRID clash?)",
            DropReason::OwnAddress => "sent from our own address (address conflict?)",
            DropReason::UnexpectedUnicast => {
                "expected multicast packet but received unicast packet (this instance has no unicast_peer)"
            }
            DropReason::UnexpectedMulticast => {
                "expected unicast packet but received multicast packet (this instance has unicast_peer)"
            }
            DropReason::UnknownUnicastSource => "unicast source address is not a unicast peer",
            DropReason::PeerTtlOutOfRange => "TTL outside the peer's min_ttl..max_ttl",
            DropReason::HmacMissing => "no auth_hmac trailer, and this instance enforces it",
            DropReason::HmacMalformed => "auth_hmac trailer of an unknown scheme or with reserved bits set",
            DropReason::HmacStale => "auth_hmac sequence outside the time window (clock skew, or a replay)",
            DropReason::HmacUnknownKey => "auth_hmac key id is not one of ours",
            DropReason::HmacBad => "auth_hmac tag does not verify (another key, a changed byte, or a forgery)",
            DropReason::HmacReplay => "auth_hmac sequence not newer than the last accepted from this sender (a replay)",
            DropReason::HmacUnknownPeer => "signed unicast advert from an address that is not a unicast peer",
            DropReason::HmacUnexpected => "auth_hmac trailer, and this instance has no auth_hmac",
            DropReason::OwnerIgnoresAdverts => "we are the address owner and ignore adverts (owner_ignore_adverts)",
            DropReason::StrictAuth => "carries authentication, which strict mode forbids (keepalived: received a 1 auth, expecting 0)",
            DropReason::OtherMulticastGroup => "sent to another multicast group than this instance's (mcast_dst_ip)",
            DropReason::AuthTypeMismatch => "authentication type differs from ours",
            DropReason::InvalidAuthType => "authentication type is none of 0 (none), 1 (PASS) and 2 (AH)",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl From<&DecodeError> for DropReason {
    fn from(error: &DecodeError) -> DropReason {
        match error {
            DecodeError::BadTtl(_) => DropReason::BadTtl,
            DecodeError::Truncated { .. } => DropReason::Truncated,
            DecodeError::BadVersion(_) => DropReason::BadVersion,
            DecodeError::BadType(_) => DropReason::BadType,
            DecodeError::ZeroVrid => DropReason::ZeroVrid,
            DecodeError::AddressFamilyMismatch => DropReason::AddressFamilyMismatch,
            DecodeError::V2OverIpv6 => DropReason::V2OverIpv6,
            DecodeError::LengthMismatch { .. } => DropReason::LengthMismatch,
            DecodeError::ZeroInterval => DropReason::ZeroInterval,
            DecodeError::BadChecksum { .. } => DropReason::BadChecksum,
        }
    }
}

impl From<crate::proto::auth_hmac::Rejection> for DropReason {
    fn from(rejection: crate::proto::auth_hmac::Rejection) -> DropReason {
        use crate::proto::auth_hmac::Rejection;
        match rejection {
            Rejection::Missing => DropReason::HmacMissing,
            Rejection::Malformed => DropReason::HmacMalformed,
            Rejection::Stale => DropReason::HmacStale,
            Rejection::UnknownKey => DropReason::HmacUnknownKey,
            Rejection::BadTag => DropReason::HmacBad,
            Rejection::Replay => DropReason::HmacReplay,
            Rejection::UnknownPeer => DropReason::HmacUnknownPeer,
            Rejection::Unexpected => DropReason::HmacUnexpected,
        }
    }
}

/// Per-reason drop counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropCounts([u64; DropReason::ALL.len()]);

// std derives Default for arrays of at most 32.
impl Default for DropCounts {
    fn default() -> Self {
        DropCounts([0; DropReason::ALL.len()])
    }
}

impl DropCounts {
    pub fn record(&mut self, reason: DropReason) {
        self.0[reason.index()] += 1;
    }

    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.get(r)))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub adverts_received: u64,
    pub adverts_sent: u64,
    pub priority_zero_received: u64,
    pub priority_zero_sent: u64,
    pub became_master: u64,
    pub released_master: u64,
    pub dropped: DropCounts,
    /// auth_hmac, time mode: seconds our clock was ahead of the last
    /// sender whose advert verified (negative: behind).
    pub hmac_skew_secs: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_reason_once_in_index_order() {
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i, "{reason:?}");
        }
        let mut labels: Vec<_> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), DropReason::ALL.len());
    }

    #[test]
    fn counts_per_reason() {
        let mut counts = DropCounts::default();
        counts.record(DropReason::BadTtl);
        counts.record(DropReason::BadTtl);
        counts.record(DropReason::AuthMismatch);
        assert_eq!(counts.get(DropReason::BadTtl), 2);
        assert_eq!(counts.get(DropReason::AuthMismatch), 1);
        assert_eq!(counts.total(), 3);
    }
}
