//! keepalived 2.4's `auth_hmac`: an HMAC-SHA256 tag (truncated to 128
//! bits) and a time-based sequence number in a 28-byte trailer after the
//! VRRP message, for v2 and v3, IPv4 and IPv6, unicast and multicast
//! (draft-cassen-vrrp-auth-hmac). Wire format and rules as keepalived
//! v2.4.3 has them: keepalived/include/vrrp_auth_hmac.h,
//! keepalived/vrrp/vrrp_auth_hmac.c, and the receive path in
//! keepalived/vrrp/vrrp.c (`vrrp_check_packet`, `vrrp_auth_ext_verify`).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Ext Type=1  |    Key ID     |           Reserved=0          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              Seconds (UTC, since the Unix epoch)              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Subseconds (1/65536 s)       |            Counter            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  HMAC-SHA256, first 16 bytes                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The HMAC covers a 20-byte pseudo-header (family 4 or 6, VRRP version,
//! VRID, zero, the sender's address, zero-padded), the VRRP message with
//! its checksum read as zero, the trailer's first 12 bytes, and 16 zero
//! bytes in place of the tag (`pdu_hmac`). The IP header is not covered,
//! nor is the destination, so one tag serves every unicast peer.
//!
//! Time enters as an argument ([`UnixTime`]): this module reads no clock.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes the trailer adds to an advert.
pub const TRAILER_LEN: usize = 28;
/// The one scheme keepalived 2.4.3 defines: HMAC-SHA256/128.
pub const EXT_TYPE_SHA256: u8 = 1;
const TAG_LEN: usize = 16;
const PSEUDO_LEN: usize = 20;
/// Where the tag starts in the trailer.
const TAG_OFFSET: usize = TRAILER_LEN - TAG_LEN;
/// Key lengths keepalived accepts (VRRP_AUTH_HMAC_KEY_MIN/MAX).
pub const KEY_LEN: std::ops::RangeInclusive<usize> = 32..=64;
/// Freshness window bounds, seconds (VRRP_AUTH_HMAC_WINDOW_MIN/MAX).
pub const WINDOW_SECS: std::ops::RangeInclusive<u32> = 1..=300;
/// Multicast senders whose sequence is remembered
/// (VRRP_AUTH_HMAC_MCAST_SENDERS): more only during contention.
const MULTICAST_SENDERS: usize = 4;

/// A shared secret, 32 to 64 bytes, named by an id 1..=255. Its bytes are
/// never printed: `Debug` shows the id and length only.
#[derive(Clone, PartialEq, Eq)]
pub struct HmacKey {
    id: u8,
    bytes: Vec<u8>,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HmacKey {{ id: {}, {} bytes }}",
            self.id,
            self.bytes.len()
        )
    }
}

impl HmacKey {
    /// `None` unless the id is 1..=255 and the key 32..=64 bytes.
    pub fn new(id: u8, bytes: Vec<u8>) -> Option<HmacKey> {
        (id != 0 && KEY_LEN.contains(&bytes.len())).then_some(HmacKey { id, bytes })
    }

    pub fn id(&self) -> u8 {
        self.id
    }
}

/// keepalived's `mode`: how a rollout on a running cluster goes without
/// a gap (receive-only everywhere, then permissive, then enforce).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HmacMode {
    /// Verifies a trailer that is present, sends none.
    ReceiveOnly,
    /// Signs, and still accepts adverts without a trailer.
    Permissive,
    /// Signs, and requires a valid trailer.
    #[default]
    Enforce,
}

impl HmacMode {
    pub fn as_str(self) -> &'static str {
        match self {
            HmacMode::ReceiveOnly => "receive-only",
            HmacMode::Permissive => "permissive",
            HmacMode::Enforce => "enforce",
        }
    }
}

/// keepalived's `anti_replay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AntiReplay {
    /// A sequence must be within `window_secs` of our UTC clock, and grow.
    Time { window_secs: u32 },
    /// A sequence must only grow: no shared clock needed, no freshness.
    Monotonic,
}

impl AntiReplay {
    /// keepalived's default window: 3 × advert_int in whole seconds, at
    /// least 5, at most 300 (vrrp.c, `vrrp_complete_instance`).
    pub fn default_window(advert_interval: Duration) -> u32 {
        let three = 3 * advert_interval.as_secs().min(u64::from(u32::MAX / 3)) as u32;
        three.clamp(5, *WINDOW_SECS.end())
    }

    /// The freshness window, in time mode.
    pub fn window_secs(self) -> Option<u32> {
        match self {
            AntiReplay::Time { window_secs } => Some(window_secs),
            AntiReplay::Monotonic => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AntiReplay::Time { .. } => "time",
            AntiReplay::Monotonic => "monotonic",
        }
    }

    fn window(self) -> Option<i64> {
        self.window_secs().map(i64::from)
    }
}

/// An instance's `auth_hmac` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmacParams {
    pub keys: Vec<HmacKey>,
    /// The id of the key adverts are signed with; one of `keys`.
    pub active_key: u8,
    pub mode: HmacMode,
    pub anti_replay: AntiReplay,
}

impl HmacParams {
    fn key(&self, id: u8) -> Option<&HmacKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Whether adverts go out with a trailer.
    pub fn signs(&self) -> bool {
        self.mode != HmacMode::ReceiveOnly
    }

    /// The key ids, for status and logs (never the keys).
    pub fn key_ids(&self) -> Vec<u8> {
        self.keys.iter().map(|k| k.id).collect()
    }
}

/// A UTC reading, as the actor took it: the core never reads a clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime(pub Duration);

impl UnixTime {
    /// The 64-bit sequence this instant packs into, counter clear:
    /// seconds (mod 2^32) in the top 32 bits, 1/65536 s in the next 16
    /// (vrrp_auth_hmac.c `clock_seq`).
    fn sequence(self) -> u64 {
        let subsec = (u64::from(self.0.subsec_nanos()) << 16) / 1_000_000_000;
        ((self.0.as_secs() as u32 as u64) << 32) | (subsec << 16)
    }

    fn seconds(self) -> u32 {
        self.0.as_secs() as u32
    }
}

/// RFC 1982 serial arithmetic over the 64-bit sequence (`seq_after`).
fn after(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) > 0
}

/// Seconds from `sequence_seconds` to `now`, wrapping as keepalived's
/// `(int32_t)((uint32_t)now - sec)`.
fn age(now: UnixTime, sequence_seconds: u32) -> i64 {
    i64::from(now.seconds().wrapping_sub(sequence_seconds) as i32)
}

/// The trailer as it is on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Trailer {
    pub ext_type: u8,
    pub key_id: u8,
    pub reserved: u16,
    pub sequence: u64,
    pub tag: [u8; TAG_LEN],
}

impl Trailer {
    pub fn parse(bytes: &[u8; TRAILER_LEN]) -> Trailer {
        let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let seconds = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let mut tag = [0; TAG_LEN];
        tag.copy_from_slice(&bytes[TAG_OFFSET..]);
        Trailer {
            ext_type: bytes[0],
            key_id: bytes[1],
            reserved: u16_at(2),
            sequence: (u64::from(seconds) << 32)
                | (u64::from(u16_at(8)) << 16)
                | u64::from(u16_at(10)),
            tag,
        }
    }

    pub fn to_bytes(&self) -> [u8; TRAILER_LEN] {
        let mut out = [0; TRAILER_LEN];
        out[..TAG_OFFSET].copy_from_slice(&self.head());
        out[TAG_OFFSET..].copy_from_slice(&self.tag);
        out
    }

    /// The first 12 bytes: everything the tag covers.
    fn head(&self) -> [u8; TAG_OFFSET] {
        let mut head = [0; TAG_OFFSET];
        head[0] = self.ext_type;
        head[1] = self.key_id;
        head[2..4].copy_from_slice(&self.reserved.to_be_bytes());
        // Seconds, subseconds and counter are the sequence's three parts,
        // in this order: its big-endian bytes.
        head[4..].copy_from_slice(&self.sequence.to_be_bytes());
        head
    }
}

/// The tag of a VRRP message (`pdu`, checksum included: it is read as
/// zero) sent by `source` with this trailer head (vrrp_auth_hmac.c
/// `build_pseudo` and `pdu_hmac`).
fn tag_of(key: &HmacKey, source: IpAddr, pdu: &[u8], head: &[u8; TAG_OFFSET]) -> Hmac<Sha256> {
    let mut pseudo = [0u8; PSEUDO_LEN];
    match source {
        IpAddr::V4(a) => {
            pseudo[0] = 4;
            pseudo[4..8].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            pseudo[0] = 6;
            pseudo[4..20].copy_from_slice(&a.octets());
        }
    }
    pseudo[1] = pdu.first().map_or(0, |b| b >> 4);
    pseudo[2] = pdu.get(1).copied().unwrap_or(0);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.bytes).expect("HMAC takes any key length");
    mac.update(&pseudo);
    if pdu.len() >= 8 {
        mac.update(&pdu[..6]);
        mac.update(&[0, 0]);
        mac.update(&pdu[8..]);
    } else {
        mac.update(pdu);
    }
    mac.update(head);
    mac.update(&[0; TAG_LEN]);
    mac
}

/// Why a received advert's authentication failed: each is one drop
/// counter (keepalived's `auth_ext_*` statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Enforcing, and the advert has no trailer.
    Missing,
    /// A scheme other than 1, or reserved bits set.
    Malformed,
    /// Its sequence's time is outside the window of our clock.
    Stale,
    /// No key of ours has its id.
    UnknownKey,
    /// The tag does not verify: a forgery, a changed byte, another key.
    BadTag,
    /// Its sequence does not exceed the last one accepted from its sender.
    Replay,
    /// Unicast: the sender is not a configured peer, so it has no
    /// sequence to be checked against.
    UnknownPeer,
    /// A trailer arrived and this instance has no `auth_hmac`.
    Unexpected,
}

/// The last sequence accepted from one sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Mark {
    sequence: Option<u64>,
}

impl Mark {
    /// keepalived's `replay_ok`: a mark older than the window only orders
    /// what the window rejects anyway, so it expires (a sender whose
    /// clock was stepped back recovers); then strict growth.
    fn accept(&mut self, anti_replay: AntiReplay, now: UnixTime, sequence: u64) -> bool {
        if let (Some(mark), Some(window)) = (self.sequence, anti_replay.window()) {
            if age(now, (mark >> 32) as u32).abs() > window {
                self.sequence = None;
            }
        }
        if self.sequence.is_some_and(|mark| !after(sequence, mark)) {
            return false;
        }
        self.sequence = Some(sequence);
        true
    }
}

/// The state `auth_hmac` keeps: what was last sent, and what was last
/// accepted from each sender.
#[derive(Clone, Debug, Default)]
pub struct HmacState {
    /// The last sequence sent; none yet after a start.
    sent: Option<u64>,
    /// Unicast: one mark per configured peer.
    peers: HashMap<IpAddr, Mark>,
    /// Multicast: the last senders heard, least recently used replaced
    /// (only after a tag verified, so forged sources cannot churn it).
    senders: Vec<(IpAddr, Mark, u64)>,
    rank: u64,
}

/// What verification tells the instance besides yes or no.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Seconds our clock is ahead of the sender's (time mode only).
    pub skew_secs: Option<i64>,
    /// That skew is past half the window: a little more drift and the
    /// sender's adverts are refused as stale (keepalived warns then,
    /// vrrp.c `vrrp_auth_ext_verify`).
    pub near_window_edge: bool,
}

impl HmacState {
    /// The next sequence to send: our clock, or one more than the last if
    /// the clock has not moved on; in time mode a last sequence stranded
    /// more than the window ahead (the clock was stepped back) restarts
    /// from the clock (vrrp_auth_hmac.c `next_seq`).
    fn next_sequence(&mut self, params: &HmacParams, now: UnixTime) -> u64 {
        let clock = now.sequence();
        // The first after a start comes from the clock. (keepalived
        // starts from 0 and asks `after(clock, 0)`, which from 2038 on,
        // seconds past 2^31, is false: its monotonic mode then restarts
        // at 1, below what peers hold. vipd does not copy that.)
        let Some(sent) = self.sent.filter(|&sent| !after(clock, sent)) else {
            self.sent = Some(clock);
            return clock;
        };
        let ahead = i64::from(((sent >> 32) as u32).wrapping_sub((clock >> 32) as u32) as i32);
        let next = match params.anti_replay.window() {
            Some(window) if ahead > window => clock,
            _ => sent.wrapping_add(1),
        };
        self.sent = Some(next);
        next
    }

    /// The trailer for a message (`pdu`, checksum field as it is: it is
    /// read as zero) that `source` sends now, or `None` in receive-only
    /// mode. A missing active key gives a zero tag, which no receiver
    /// accepts, as keepalived's `vrrp_auth_hmac_sign` does; validation
    /// refuses such settings before they get here.
    pub fn sign(
        &mut self,
        params: &HmacParams,
        now: UnixTime,
        source: IpAddr,
        pdu: &[u8],
    ) -> Option<Trailer> {
        if !params.signs() {
            return None;
        }
        let mut trailer = Trailer {
            ext_type: EXT_TYPE_SHA256,
            key_id: params.active_key,
            reserved: 0,
            sequence: self.next_sequence(params, now),
            tag: [0; TAG_LEN],
        };
        if let Some(key) = params.key(params.active_key) {
            let digest = tag_of(key, source, pdu, &trailer.head())
                .finalize()
                .into_bytes();
            trailer.tag.copy_from_slice(&digest[..TAG_LEN]);
        }
        Some(trailer)
    }

    /// keepalived's checks in its order (`vrrp_auth_ext_verify`,
    /// `vrrp_auth_hmac_check`): a trailer at all, the peer (unicast), the
    /// scheme, the window (before the costly HMAC, so a flood of stale
    /// replays costs no digest), the key, the tag (constant time), then
    /// the sequence, whose mark moves only for a verified advert.
    /// `unicast_peer`: for a unicast instance, whether `source` is one of
    /// its peers; `None` for multicast.
    pub fn verify(
        &mut self,
        params: &HmacParams,
        now: UnixTime,
        source: IpAddr,
        unicast_peer: Option<bool>,
        pdu: &[u8],
        trailer: Option<&Trailer>,
    ) -> Result<Verified, Rejection> {
        let Some(trailer) = trailer else {
            return match params.mode {
                HmacMode::Enforce => Err(Rejection::Missing),
                HmacMode::Permissive | HmacMode::ReceiveOnly => Ok(Verified {
                    skew_secs: None,
                    near_window_edge: false,
                }),
            };
        };
        if unicast_peer == Some(false) {
            return Err(Rejection::UnknownPeer);
        }
        if trailer.ext_type != EXT_TYPE_SHA256 || trailer.reserved != 0 {
            return Err(Rejection::Malformed);
        }
        let skew_secs = params.anti_replay.window().map(|window| {
            let skew = age(now, (trailer.sequence >> 32) as u32);
            (skew, window)
        });
        if let Some((skew, window)) = skew_secs {
            if skew.abs() > window {
                return Err(Rejection::Stale);
            }
        }
        let key = params.key(trailer.key_id).ok_or(Rejection::UnknownKey)?;
        tag_of(key, source, pdu, &trailer.head())
            .verify_truncated_left(&trailer.tag)
            .map_err(|_| Rejection::BadTag)?;
        let mark = match unicast_peer {
            Some(_) => self.peers.entry(source).or_default(),
            None => self.multicast_mark(source),
        };
        if !mark.accept(params.anti_replay, now, trailer.sequence) {
            return Err(Rejection::Replay);
        }
        Ok(Verified {
            skew_secs: skew_secs.map(|(skew, _)| skew),
            near_window_edge: skew_secs.is_some_and(|(skew, window)| skew.abs() > window / 2),
        })
    }

    /// The mark of a multicast sender, replacing the least recently used
    /// of `MULTICAST_SENDERS` for a new one (`mcast_state`).
    fn multicast_mark(&mut self, source: IpAddr) -> &mut Mark {
        self.rank += 1;
        let rank = self.rank;
        let slot = match self.senders.iter().position(|(a, _, _)| *a == source) {
            Some(found) => found,
            None if self.senders.len() < MULTICAST_SENDERS => {
                self.senders.push((source, Mark::default(), rank));
                self.senders.len() - 1
            }
            None => {
                let oldest = (0..self.senders.len())
                    .min_by_key(|&i| self.senders[i].2)
                    .expect("MULTICAST_SENDERS > 0");
                self.senders[oldest] = (source, Mark::default(), rank);
                oldest
            }
        };
        self.senders[slot].2 = rank;
        &mut self.senders[slot].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u8) -> HmacKey {
        HmacKey::new(id, (0u8..32).collect()).unwrap()
    }

    fn params(mode: HmacMode, anti_replay: AntiReplay) -> HmacParams {
        HmacParams {
            keys: vec![
                key(1),
                HmacKey::new(7, b"vipd-lab-key-thirty-two-chars-ok".to_vec()).unwrap(),
            ],
            active_key: 1,
            mode,
            anti_replay,
        }
    }

    fn time() -> AntiReplay {
        AntiReplay::Time { window_secs: 5 }
    }

    fn at(secs: u64, millis: u64) -> UnixTime {
        UnixTime(Duration::from_secs(secs) + Duration::from_millis(millis))
    }

    const PDU: [u8; 12] = [
        0x31, 0x33, 0x64, 0x01, 0x00, 0x0a, 0xab, 0xcd, 192, 0, 2, 203,
    ];
    const SOURCE: &str = "192.0.2.201";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn keys_are_32_to_64_bytes_with_a_nonzero_id_and_never_printed() {
        assert!(HmacKey::new(1, vec![7; 31]).is_none());
        assert!(HmacKey::new(1, vec![7; 65]).is_none());
        assert!(HmacKey::new(0, vec![7; 32]).is_none());
        let k = HmacKey::new(9, vec![0x41; 64]).unwrap();
        assert_eq!(format!("{k:?}"), "HmacKey { id: 9, 64 bytes }");
    }

    #[test]
    fn a_signed_message_verifies_and_a_changed_one_does_not() {
        let p = params(HmacMode::Enforce, time());
        let now = at(1_796_194_613, 900);
        let trailer = HmacState::default()
            .sign(&p, now, ip(SOURCE), &PDU)
            .unwrap();
        assert_eq!(trailer.key_id, 1);
        let verify = |pdu: &[u8], source: &str, t: &Trailer| {
            HmacState::default().verify(&p, now, ip(source), None, pdu, Some(t))
        };
        assert!(verify(&PDU, SOURCE, &trailer).is_ok());
        // The checksum field is not covered: the kernel may write it.
        let mut other_sum = PDU;
        other_sum[6] = 0;
        assert!(verify(&other_sum, SOURCE, &trailer).is_ok());
        for i in (0..PDU.len()).filter(|i| !(6..8).contains(i)) {
            let mut changed = PDU;
            changed[i] ^= 1;
            assert_eq!(
                verify(&changed, SOURCE, &trailer),
                Err(Rejection::BadTag),
                "byte {i}"
            );
        }
        assert_eq!(
            verify(&PDU, "192.0.2.202", &trailer),
            Err(Rejection::BadTag),
            "source"
        );
        let mut bad = trailer;
        bad.tag[15] ^= 0x80;
        assert_eq!(verify(&PDU, SOURCE, &bad), Err(Rejection::BadTag));
        let mut bad = trailer;
        bad.sequence += 1;
        assert_eq!(
            verify(&PDU, SOURCE, &bad),
            Err(Rejection::BadTag),
            "sequence covered"
        );
        let mut other_key = trailer;
        other_key.key_id = 7;
        assert_eq!(verify(&PDU, SOURCE, &other_key), Err(Rejection::BadTag));
        let mut unknown = trailer;
        unknown.key_id = 2;
        assert_eq!(verify(&PDU, SOURCE, &unknown), Err(Rejection::UnknownKey));
        let mut scheme = trailer;
        scheme.ext_type = 2;
        assert_eq!(verify(&PDU, SOURCE, &scheme), Err(Rejection::Malformed));
        let mut reserved = trailer;
        reserved.reserved = 1;
        assert_eq!(verify(&PDU, SOURCE, &reserved), Err(Rejection::Malformed));
    }

    #[test]
    fn the_trailer_round_trips_and_packs_the_sequence_in_three_fields() {
        let t = Trailer {
            ext_type: 1,
            key_id: 7,
            reserved: 0,
            sequence: 0x6b0f_c13b_d30f_0001,
            tag: [0xee; 16],
        };
        let bytes = t.to_bytes();
        assert_eq!(
            &bytes[..12],
            &[1, 7, 0, 0, 0x6b, 0x0f, 0xc1, 0x3b, 0xd3, 0x0f, 0, 1]
        );
        assert_eq!(Trailer::parse(&bytes), t);
    }

    #[test]
    fn sequences_follow_the_clock_and_grow_when_it_stands_still() {
        let p = params(HmacMode::Enforce, time());
        let mut s = HmacState::default();
        let first = s
            .sign(&p, at(1000, 500), ip(SOURCE), &PDU)
            .unwrap()
            .sequence;
        assert_eq!(first, (1000 << 32) | (32768 << 16));
        let again = s
            .sign(&p, at(1000, 500), ip(SOURCE), &PDU)
            .unwrap()
            .sequence;
        assert_eq!(again, first + 1);
        // The clock stepped back by less than the window: keep growing.
        let back = s.sign(&p, at(997, 0), ip(SOURCE), &PDU).unwrap().sequence;
        assert_eq!(back, first + 2);
        // By more: restart from the clock, or receivers would call it stale.
        let far = s.sign(&p, at(900, 0), ip(SOURCE), &PDU).unwrap().sequence;
        assert_eq!(far, 900 << 32);
        // Monotonic mode never goes back.
        let p = params(HmacMode::Enforce, AntiReplay::Monotonic);
        let mut s = HmacState::default();
        let first = s.sign(&p, at(1000, 0), ip(SOURCE), &PDU).unwrap().sequence;
        assert_eq!(
            s.sign(&p, at(10, 0), ip(SOURCE), &PDU).unwrap().sequence,
            first + 1
        );
    }

    #[test]
    fn the_first_sequence_after_a_start_is_the_clock_even_after_2038() {
        let p = params(HmacMode::Enforce, AntiReplay::Monotonic);
        let t = at(2_200_000_000, 0);
        let mut s = HmacState::default();
        let first = s.sign(&p, t, ip(SOURCE), &PDU).unwrap().sequence;
        assert_eq!(first, 2_200_000_000u64 << 32);
        assert_eq!(s.sign(&p, t, ip(SOURCE), &PDU).unwrap().sequence, first + 1);
    }

    #[test]
    fn receive_only_sends_nothing_and_accepts_unsigned_adverts() {
        let p = params(HmacMode::ReceiveOnly, time());
        let mut s = HmacState::default();
        assert_eq!(s.sign(&p, at(1, 0), ip(SOURCE), &PDU), None);
        assert!(s.verify(&p, at(1, 0), ip(SOURCE), None, &PDU, None).is_ok());
        let permissive = params(HmacMode::Permissive, time());
        assert!(s
            .verify(&permissive, at(1, 0), ip(SOURCE), None, &PDU, None)
            .is_ok());
        let enforce = params(HmacMode::Enforce, time());
        assert_eq!(
            s.verify(&enforce, at(1, 0), ip(SOURCE), None, &PDU, None),
            Err(Rejection::Missing)
        );
    }

    #[test]
    fn replays_and_stale_adverts_are_refused() {
        let p = params(HmacMode::Enforce, time());
        let now = at(2000, 0);
        let trailer = HmacState::default()
            .sign(&p, now, ip(SOURCE), &PDU)
            .unwrap();
        let mut receiver = HmacState::default();
        let verify = |r: &mut HmacState, at: UnixTime| {
            r.verify(&p, at, ip(SOURCE), None, &PDU, Some(&trailer))
        };
        assert_eq!(verify(&mut receiver, now).unwrap().skew_secs, Some(0));
        assert_eq!(verify(&mut receiver, now), Err(Rejection::Replay));
        assert_eq!(
            verify(&mut receiver, at(2005, 0)),
            Err(Rejection::Replay),
            "edge of the window"
        );
        assert_eq!(verify(&mut receiver, at(2006, 0)), Err(Rejection::Stale));
        assert_eq!(
            verify(&mut receiver, at(1994, 0)),
            Err(Rejection::Stale),
            "from the future"
        );
        // Without a shared clock, only growth counts.
        let mono = params(HmacMode::Enforce, AntiReplay::Monotonic);
        let t = HmacState::default()
            .sign(&mono, now, ip(SOURCE), &PDU)
            .unwrap();
        let mut r = HmacState::default();
        assert!(r
            .verify(&mono, at(99_999, 0), ip(SOURCE), None, &PDU, Some(&t))
            .is_ok());
        assert_eq!(
            r.verify(&mono, at(99_999, 0), ip(SOURCE), None, &PDU, Some(&t)),
            Err(Rejection::Replay)
        );
    }

    #[test]
    fn a_forged_advert_moves_no_mark() {
        let p = params(HmacMode::Enforce, time());
        let now = at(3000, 0);
        let mut sender = HmacState::default();
        let genuine = sender.sign(&p, now, ip(SOURCE), &PDU).unwrap();
        let mut forged = genuine;
        forged.sequence = genuine.sequence + (1 << 32);
        let mut r = HmacState::default();
        assert_eq!(
            r.verify(&p, now, ip(SOURCE), None, &PDU, Some(&forged)),
            Err(Rejection::BadTag)
        );
        assert!(r
            .verify(&p, now, ip(SOURCE), None, &PDU, Some(&genuine))
            .is_ok());
    }

    #[test]
    fn unicast_marks_are_per_configured_peer_and_strangers_are_refused() {
        let p = params(HmacMode::Enforce, time());
        let now = at(4000, 0);
        let t = HmacState::default()
            .sign(&p, now, ip(SOURCE), &PDU)
            .unwrap();
        let mut r = HmacState::default();
        assert!(r
            .verify(&p, now, ip(SOURCE), Some(true), &PDU, Some(&t))
            .is_ok());
        assert_eq!(
            r.verify(&p, now, ip("192.0.2.9"), Some(false), &PDU, Some(&t)),
            Err(Rejection::UnknownPeer)
        );
    }

    #[test]
    fn multicast_remembers_four_senders_least_recently_used_out() {
        let p = params(HmacMode::Enforce, time());
        let now = at(5000, 0);
        let mut r = HmacState::default();
        let senders: Vec<IpAddr> = (1..=5).map(|i| ip(&format!("192.0.2.{i}"))).collect();
        let signed: Vec<Trailer> = senders
            .iter()
            .map(|s| HmacState::default().sign(&p, now, *s, &PDU).unwrap())
            .collect();
        for (s, t) in senders.iter().zip(&signed).take(4) {
            assert!(r.verify(&p, now, *s, None, &PDU, Some(t)).is_ok());
        }
        assert_eq!(
            r.verify(&p, now, senders[0], None, &PDU, Some(&signed[0])),
            Err(Rejection::Replay)
        );
        // A fifth evicts the least recently used (the second: the first was just used).
        assert!(r
            .verify(&p, now, senders[4], None, &PDU, Some(&signed[4]))
            .is_ok());
        assert_eq!(r.senders.len(), 4);
        assert!(
            r.verify(&p, now, senders[1], None, &PDU, Some(&signed[1]))
                .is_ok(),
            "forgotten"
        );
    }

    #[test]
    fn the_default_window_is_three_intervals_within_5_to_300_seconds() {
        assert_eq!(AntiReplay::default_window(Duration::from_millis(100)), 5);
        assert_eq!(AntiReplay::default_window(Duration::from_secs(3)), 9);
        assert_eq!(AntiReplay::default_window(Duration::from_secs(200)), 300);
    }
}
