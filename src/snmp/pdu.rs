//! AgentX (RFC 2741) packets: the header, the PDUs a subagent sends
//! (Open, Register, Notify, Response, Close, Ping) and the ones it answers
//! (Get, GetNext, GetBulk, the Set phases, Close). Encoding is always in
//! network byte order; decoding follows the sender's NETWORK_BYTE_ORDER
//! flag, as §5.1 asks. No input panics: every length is checked against
//! what is left, and a payload is capped before it is read.

use thiserror::Error;

use super::oid::Oid;

pub const HEADER_LEN: usize = 20;
/// A payload larger than this from the master agent is a protocol error
/// (the session is dropped): no VRRP request comes near it, and it bounds
/// what a broken or hostile peer makes vipd hold.
pub const MAX_PAYLOAD: usize = 64 * 1024;
/// RFC 2741 §5.1: an OID has at most 128 sub-identifiers.
const MAX_SUBIDS: usize = 128;

const VERSION: u8 = 1;

/// Header flags (§6.1).
pub mod flags {
    pub const INSTANCE_REGISTRATION: u8 = 0x01;
    pub const NON_DEFAULT_CONTEXT: u8 = 0x08;
    pub const NETWORK_BYTE_ORDER: u8 = 0x10;
}

/// Response errors (§6.2.16).
pub mod errors {
    pub const NO_ERROR: u16 = 0;
    pub const GEN_ERR: u16 = 5;
    pub const NOT_WRITABLE: u16 = 17;
    pub const UNSUPPORTED_CONTEXT: u16 = 262;
    pub const PARSE_ERROR: u16 = 266;
    pub const PROCESSING_ERROR: u16 = 268;
}

/// Close reasons (§6.2.2).
pub mod close {
    pub const OTHER: u8 = 1;
    pub const PARSE_ERROR: u8 = 2;
    pub const PROTOCOL_ERROR: u8 = 3;
    pub const SHUTDOWN: u8 = 5;
}

/// PDU type numbers (§6.1).
mod kind {
    pub const OPEN: u8 = 1;
    pub const CLOSE: u8 = 2;
    pub const REGISTER: u8 = 3;
    pub const GET: u8 = 5;
    pub const GET_NEXT: u8 = 6;
    pub const GET_BULK: u8 = 7;
    pub const TEST_SET: u8 = 8;
    pub const COMMIT_SET: u8 = 9;
    pub const UNDO_SET: u8 = 10;
    pub const CLEANUP_SET: u8 = 11;
    pub const NOTIFY: u8 = 12;
    pub const PING: u8 = 13;
    pub const RESPONSE: u8 = 18;
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("AgentX version {0}, expected 1")]
    Version(u8),
    #[error("payload of {0} bytes is over the {MAX_PAYLOAD}-byte limit")]
    TooLarge(u32),
    #[error("payload length {0} is not a multiple of 4")]
    Unaligned(u32),
    #[error("{0} ends early")]
    Short(&'static str),
    #[error("an OID of {0} sub-identifiers (at most {MAX_SUBIDS})")]
    LongOid(u8),
    #[error("unknown value type {0}")]
    ValueType(u16),
    #[error("{0} bytes left over after the PDU")]
    Trailing(usize),
}

/// The fixed header (§6.1), less the payload length, which encoding
/// computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub flags: u8,
    pub session_id: u32,
    pub transaction_id: u32,
    pub packet_id: u32,
}

/// A variable's value (§5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i32),
    OctetString(Vec<u8>),
    Null,
    ObjectId(Oid),
    IpAddress([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl Value {
    fn tag(&self) -> u16 {
        match self {
            Value::Integer(_) => 2,
            Value::OctetString(_) => 4,
            Value::Null => 5,
            Value::ObjectId(_) => 6,
            Value::IpAddress(_) => 64,
            Value::Counter32(_) => 65,
            Value::Gauge32(_) => 66,
            Value::TimeTicks(_) => 67,
            Value::Opaque(_) => 68,
            Value::Counter64(_) => 70,
            Value::NoSuchObject => 128,
            Value::NoSuchInstance => 129,
            Value::EndOfMibView => 130,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarBind {
    pub name: Oid,
    pub value: Value,
}

/// Where a Get or GetNext looks (§5.2): from `start` (itself too when
/// `include`), up to but not including `end` (null: no end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRange {
    pub start: Oid,
    pub include: bool,
    pub end: Oid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu {
    Open {
        timeout: u8,
        id: Oid,
        description: Vec<u8>,
    },
    Close {
        reason: u8,
    },
    Register {
        timeout: u8,
        priority: u8,
        subtree: Oid,
    },
    Get {
        ranges: Vec<SearchRange>,
    },
    GetNext {
        ranges: Vec<SearchRange>,
    },
    GetBulk {
        non_repeaters: u16,
        max_repetitions: u16,
        ranges: Vec<SearchRange>,
    },
    TestSet {
        varbinds: Vec<VarBind>,
    },
    CommitSet,
    UndoSet,
    CleanupSet,
    Notify {
        varbinds: Vec<VarBind>,
    },
    Ping,
    Response {
        sys_uptime: u32,
        error: u16,
        index: u16,
        varbinds: Vec<VarBind>,
    },
    /// A PDU a subagent is never sent (Unregister, the index and agent
    /// capability PDUs): kept by number so the session can answer it.
    Other(u8),
}

/// One AgentX packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub header: Header,
    /// A non-default context (§6.1.1), if the flag says there is one.
    pub context: Option<Vec<u8>>,
    pub pdu: Pdu,
}

/// How many bytes the packet at the start of `buffer` takes, header
/// included, once the header is there (`None`: not yet). A payload over
/// `MAX_PAYLOAD` is an error before any of it is read.
pub fn frame_len(buffer: &[u8]) -> Result<Option<usize>, DecodeError> {
    let Some(header) = buffer.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if header[0] != VERSION {
        return Err(DecodeError::Version(header[0]));
    }
    let raw = [header[16], header[17], header[18], header[19]];
    let length = if header[2] & flags::NETWORK_BYTE_ORDER != 0 {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    };
    if length as usize > MAX_PAYLOAD {
        return Err(DecodeError::TooLarge(length));
    }
    if length % 4 != 0 {
        return Err(DecodeError::Unaligned(length));
    }
    Ok(Some(HEADER_LEN + length as usize))
}

/// Decodes one whole packet (as long as `frame_len` says).
pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
    let Some(total) = frame_len(bytes)? else {
        return Err(DecodeError::Short("header"));
    };
    let Some(payload) = bytes.get(HEADER_LEN..total) else {
        return Err(DecodeError::Short("payload"));
    };
    if bytes.len() > total {
        return Err(DecodeError::Trailing(bytes.len() - total));
    }
    let kind = bytes[1];
    let big = bytes[2] & flags::NETWORK_BYTE_ORDER != 0;
    let mut r = Reader {
        bytes: payload,
        big,
    };
    let mut h = Reader {
        bytes: &bytes[4..16],
        big,
    };
    let header = Header {
        flags: bytes[2],
        session_id: h.u32("header")?,
        transaction_id: h.u32("header")?,
        packet_id: h.u32("header")?,
    };
    let context = if header.flags & flags::NON_DEFAULT_CONTEXT != 0 && has_context(kind) {
        Some(r.octets("context")?)
    } else {
        None
    };
    let pdu = match kind {
        kind::OPEN => {
            let timeout = r.u8("Open")?;
            r.skip(3, "Open")?;
            let id = r.oid("Open")?.0;
            let description = r.octets("Open")?;
            Pdu::Open {
                timeout,
                id,
                description,
            }
        }
        kind::CLOSE => {
            let reason = r.u8("Close")?;
            r.skip(3, "Close")?;
            Pdu::Close { reason }
        }
        kind::REGISTER => {
            let timeout = r.u8("Register")?;
            let priority = r.u8("Register")?;
            let range_subid = r.u8("Register")?;
            r.skip(1, "Register")?;
            let subtree = r.oid("Register")?.0;
            if range_subid != 0 {
                r.u32("Register")?;
            }
            Pdu::Register {
                timeout,
                priority,
                subtree,
            }
        }
        kind::GET => Pdu::Get {
            ranges: r.ranges()?,
        },
        kind::GET_NEXT => Pdu::GetNext {
            ranges: r.ranges()?,
        },
        kind::GET_BULK => {
            let non_repeaters = r.u16("GetBulk")?;
            let max_repetitions = r.u16("GetBulk")?;
            Pdu::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges: r.ranges()?,
            }
        }
        kind::TEST_SET => Pdu::TestSet {
            varbinds: r.varbinds()?,
        },
        kind::COMMIT_SET => Pdu::CommitSet,
        kind::UNDO_SET => Pdu::UndoSet,
        kind::CLEANUP_SET => Pdu::CleanupSet,
        kind::NOTIFY => Pdu::Notify {
            varbinds: r.varbinds()?,
        },
        kind::PING => Pdu::Ping,
        kind::RESPONSE => {
            let sys_uptime = r.u32("Response")?;
            let error = r.u16("Response")?;
            let index = r.u16("Response")?;
            Pdu::Response {
                sys_uptime,
                error,
                index,
                varbinds: r.varbinds()?,
            }
        }
        other => {
            // Not read: its body is not ours to understand.
            r.bytes = &[];
            Pdu::Other(other)
        }
    };
    if !r.bytes.is_empty() {
        return Err(DecodeError::Trailing(r.bytes.len()));
    }
    Ok(Packet {
        header,
        context,
        pdu,
    })
}

/// §6.1.1: these PDUs carry a context when the flag is set.
fn has_context(kind: u8) -> bool {
    matches!(
        kind,
        kind::REGISTER
            | 4
            | kind::GET
            | kind::GET_NEXT
            | kind::GET_BULK
            | kind::TEST_SET
            | kind::NOTIFY
            | kind::PING
            | 14..=17
    )
}

struct Reader<'a> {
    bytes: &'a [u8],
    big: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Short(what));
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    fn skip(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        self.take(n, what).map(|_| ())
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        let raw = [b[0], b[1]];
        Ok(if self.big {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        })
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        let raw = [b[0], b[1], b[2], b[3]];
        Ok(if self.big {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        })
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let high = u64::from(self.u32(what)?);
        let low = u64::from(self.u32(what)?);
        Ok(high << 32 | low)
    }

    /// §5.1: n_subid, prefix, include, reserved, then the sub-identifiers;
    /// a prefix `p` stands for 1.3.6.1.p. Returns the OID and `include`.
    fn oid(&mut self, what: &'static str) -> Result<(Oid, bool), DecodeError> {
        let n = self.u8(what)?;
        let prefix = self.u8(what)?;
        let include = self.u8(what)? != 0;
        self.skip(1, what)?;
        if usize::from(n) > MAX_SUBIDS {
            return Err(DecodeError::LongOid(n));
        }
        let mut subids = Vec::with_capacity(usize::from(n) + 5);
        if prefix != 0 {
            subids.extend_from_slice(&[1, 3, 6, 1, u32::from(prefix)]);
        }
        for _ in 0..n {
            subids.push(self.u32(what)?);
        }
        Ok((Oid(subids), include))
    }

    /// §5.3: a length, the bytes, padding to a multiple of 4.
    fn octets(&mut self, what: &'static str) -> Result<Vec<u8>, DecodeError> {
        let length = self.u32(what)? as usize;
        let data = self.take(length, what)?.to_vec();
        self.skip((4 - length % 4) % 4, what)?;
        Ok(data)
    }

    fn ranges(&mut self) -> Result<Vec<SearchRange>, DecodeError> {
        let mut ranges = Vec::new();
        while !self.bytes.is_empty() {
            let (start, include) = self.oid("search range")?;
            let (end, _) = self.oid("search range")?;
            ranges.push(SearchRange {
                start,
                include,
                end,
            });
        }
        Ok(ranges)
    }

    fn varbinds(&mut self) -> Result<Vec<VarBind>, DecodeError> {
        let mut varbinds = Vec::new();
        while !self.bytes.is_empty() {
            let tag = self.u16("varbind")?;
            self.skip(2, "varbind")?;
            let (name, _) = self.oid("varbind")?;
            let value = match tag {
                2 => Value::Integer(self.u32("varbind")? as i32),
                4 => Value::OctetString(self.octets("varbind")?),
                5 => Value::Null,
                6 => Value::ObjectId(self.oid("varbind")?.0),
                64 => {
                    let b = self.octets("varbind")?;
                    match <[u8; 4]>::try_from(b.as_slice()) {
                        Ok(a) => Value::IpAddress(a),
                        Err(_) => return Err(DecodeError::Short("IpAddress")),
                    }
                }
                65 => Value::Counter32(self.u32("varbind")?),
                66 => Value::Gauge32(self.u32("varbind")?),
                67 => Value::TimeTicks(self.u32("varbind")?),
                68 => Value::Opaque(self.octets("varbind")?),
                70 => Value::Counter64(self.u64("varbind")?),
                128 => Value::NoSuchObject,
                129 => Value::NoSuchInstance,
                130 => Value::EndOfMibView,
                other => return Err(DecodeError::ValueType(other)),
            };
            varbinds.push(VarBind { name, value });
        }
        Ok(varbinds)
    }
}

/// Encodes `packet` in network byte order.
pub fn encode(packet: &Packet) -> Vec<u8> {
    let mut w = Vec::with_capacity(64);
    let mut flags = (packet.header.flags | flags::NETWORK_BYTE_ORDER) & !flags::NON_DEFAULT_CONTEXT;
    if packet.context.is_some() {
        flags |= flags::NON_DEFAULT_CONTEXT;
    }
    let kind = match &packet.pdu {
        Pdu::Open { .. } => kind::OPEN,
        Pdu::Close { .. } => kind::CLOSE,
        Pdu::Register { .. } => kind::REGISTER,
        Pdu::Get { .. } => kind::GET,
        Pdu::GetNext { .. } => kind::GET_NEXT,
        Pdu::GetBulk { .. } => kind::GET_BULK,
        Pdu::TestSet { .. } => kind::TEST_SET,
        Pdu::CommitSet => kind::COMMIT_SET,
        Pdu::UndoSet => kind::UNDO_SET,
        Pdu::CleanupSet => kind::CLEANUP_SET,
        Pdu::Notify { .. } => kind::NOTIFY,
        Pdu::Ping => kind::PING,
        Pdu::Response { .. } => kind::RESPONSE,
        Pdu::Other(kind) => *kind,
    };
    w.extend_from_slice(&[VERSION, kind, flags, 0]);
    w.extend_from_slice(&packet.header.session_id.to_be_bytes());
    w.extend_from_slice(&packet.header.transaction_id.to_be_bytes());
    w.extend_from_slice(&packet.header.packet_id.to_be_bytes());
    w.extend_from_slice(&[0; 4]); // the payload length, set below
    if let Some(context) = &packet.context {
        put_octets(&mut w, context);
    }
    match &packet.pdu {
        Pdu::Open {
            timeout,
            id,
            description,
        } => {
            w.extend_from_slice(&[*timeout, 0, 0, 0]);
            put_oid(&mut w, id, false);
            put_octets(&mut w, description);
        }
        Pdu::Close { reason } => w.extend_from_slice(&[*reason, 0, 0, 0]),
        Pdu::Register {
            timeout,
            priority,
            subtree,
        } => {
            w.extend_from_slice(&[*timeout, *priority, 0, 0]);
            put_oid(&mut w, subtree, false);
        }
        Pdu::Get { ranges } | Pdu::GetNext { ranges } => put_ranges(&mut w, ranges),
        Pdu::GetBulk {
            non_repeaters,
            max_repetitions,
            ranges,
        } => {
            w.extend_from_slice(&non_repeaters.to_be_bytes());
            w.extend_from_slice(&max_repetitions.to_be_bytes());
            put_ranges(&mut w, ranges);
        }
        Pdu::TestSet { varbinds } | Pdu::Notify { varbinds } => put_varbinds(&mut w, varbinds),
        Pdu::Response {
            sys_uptime,
            error,
            index,
            varbinds,
        } => {
            w.extend_from_slice(&sys_uptime.to_be_bytes());
            w.extend_from_slice(&error.to_be_bytes());
            w.extend_from_slice(&index.to_be_bytes());
            put_varbinds(&mut w, varbinds);
        }
        Pdu::CommitSet | Pdu::UndoSet | Pdu::CleanupSet | Pdu::Ping | Pdu::Other(_) => {}
    }
    let length = u32::try_from(w.len() - HEADER_LEN).unwrap_or(u32::MAX);
    w[16..20].copy_from_slice(&length.to_be_bytes());
    w
}

fn put_oid(w: &mut Vec<u8>, oid: &Oid, include: bool) {
    // §5.1: 1.3.6.1.p.rest, p in 1..=255, is sent as prefix p and rest.
    let (prefix, rest) = match oid.0.as_slice() {
        [1, 3, 6, 1, p, rest @ ..] if (1..=255).contains(p) => (*p as u8, rest),
        all => (0, all),
    };
    // Longer OIDs are never made here (the MIB's are at most ~30 long);
    // cut rather than send a count that lies.
    let rest = &rest[..rest.len().min(MAX_SUBIDS)];
    w.extend_from_slice(&[rest.len() as u8, prefix, u8::from(include), 0]);
    for subid in rest {
        w.extend_from_slice(&subid.to_be_bytes());
    }
}

fn put_octets(w: &mut Vec<u8>, data: &[u8]) {
    w.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    w.extend_from_slice(data);
    w.resize(w.len() + (4 - data.len() % 4) % 4, 0);
}

fn put_ranges(w: &mut Vec<u8>, ranges: &[SearchRange]) {
    for range in ranges {
        put_oid(w, &range.start, range.include);
        put_oid(w, &range.end, false);
    }
}

fn put_varbinds(w: &mut Vec<u8>, varbinds: &[VarBind]) {
    for vb in varbinds {
        w.extend_from_slice(&vb.value.tag().to_be_bytes());
        w.extend_from_slice(&[0, 0]);
        put_oid(w, &vb.name, false);
        match &vb.value {
            Value::Integer(v) => w.extend_from_slice(&v.to_be_bytes()),
            Value::OctetString(data) | Value::Opaque(data) => put_octets(w, data),
            Value::IpAddress(a) => put_octets(w, a),
            Value::ObjectId(oid) => put_oid(w, oid, false),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => {
                w.extend_from_slice(&v.to_be_bytes())
            }
            Value::Counter64(v) => w.extend_from_slice(&v.to_be_bytes()),
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {}
        }
    }
}

/// Encoded size of one varbind, for keeping a response under a limit.
pub fn varbind_len(vb: &VarBind) -> usize {
    let mut w = Vec::new();
    put_varbinds(&mut w, std::slice::from_ref(vb));
    w.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn header(packet_id: u32) -> Header {
        Header {
            flags: flags::NETWORK_BYTE_ORDER,
            session_id: 7,
            transaction_id: 9,
            packet_id,
        }
    }

    /// An Open as net-snmp's own subagents send it, by hand from §6.2.1:
    /// the prefix form of 1.3.6.1.4.1.9586 and the padded description.
    #[test]
    fn open_bytes() {
        let packet = Packet {
            header: Header {
                flags: 0,
                session_id: 0,
                transaction_id: 0,
                packet_id: 1,
            },
            context: None,
            pdu: Pdu::Open {
                timeout: 5,
                id: Oid::new(&[1, 3, 6, 1, 4, 1, 9586]),
                description: b"vipd".to_vec(),
            },
        };
        let bytes = encode(&packet);
        let expected: Vec<u8> = [
            &[1, 1, 0x10, 0][..],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            &[0, 0, 0, 24], // payload
            &[5, 0, 0, 0],
            &[2, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72], // 1.3.6.1.4 . 1.9586
            &[0, 0, 0, 4],
            b"vipd",
        ]
        .concat();
        assert_eq!(bytes, expected);
        let mut back = decode(&bytes).unwrap();
        back.header.flags &= !flags::NETWORK_BYTE_ORDER;
        assert_eq!(back, packet);
    }

    #[test]
    fn every_value_round_trips() {
        let values = vec![
            Value::Integer(-3),
            Value::OctetString(b"VI_1x".to_vec()),
            Value::Null,
            Value::ObjectId(Oid::new(&[1, 3, 6, 1, 2, 1, 68, 0, 1])),
            Value::IpAddress([192, 0, 2, 1]),
            Value::Counter32(u32::MAX),
            Value::Gauge32(100),
            Value::TimeTicks(12345),
            Value::Opaque(vec![1, 2, 3]),
            Value::Counter64(u64::MAX - 1),
            Value::NoSuchObject,
            Value::NoSuchInstance,
            Value::EndOfMibView,
        ];
        let varbinds: Vec<VarBind> = values
            .into_iter()
            .enumerate()
            .map(|(i, value)| VarBind {
                name: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1, 2, i as u32]),
                value,
            })
            .collect();
        let packet = Packet {
            header: header(3),
            context: None,
            pdu: Pdu::Response {
                sys_uptime: 1,
                error: 0,
                index: 0,
                varbinds: varbinds.clone(),
            },
        };
        assert_eq!(decode(&encode(&packet)).unwrap(), packet);
        let notify = Packet {
            header: Header {
                flags: flags::NETWORK_BYTE_ORDER | flags::NON_DEFAULT_CONTEXT,
                ..header(4)
            },
            context: Some(b"ctx".to_vec()),
            pdu: Pdu::Notify { varbinds },
        };
        assert_eq!(decode(&encode(&notify)).unwrap(), notify);
    }

    /// net-snmp's master sends in its host's order (little-endian on
    /// x86) without the NETWORK_BYTE_ORDER flag: read as the flag says.
    #[test]
    fn little_endian_get_next_from_the_master() {
        let mut bytes = vec![1, 6, 0, 0];
        bytes.extend_from_slice(&5u32.to_le_bytes()); // session
        bytes.extend_from_slice(&6u32.to_le_bytes()); // transaction
        bytes.extend_from_slice(&7u32.to_le_bytes()); // packet
        bytes.extend_from_slice(&24u32.to_le_bytes());
        // start 1.3.6.1.2.1.68 include=1, end 1.3.6.1.2.1.69
        bytes.extend_from_slice(&[2, 2, 1, 0]);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&68u32.to_le_bytes());
        bytes.extend_from_slice(&[2, 2, 0, 0]);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&69u32.to_le_bytes());
        let packet = decode(&bytes).unwrap();
        assert_eq!(packet.header.session_id, 5);
        assert_eq!(packet.header.packet_id, 7);
        assert_eq!(
            packet.pdu,
            Pdu::GetNext {
                ranges: vec![SearchRange {
                    start: Oid::new(&[1, 3, 6, 1, 2, 1, 68]),
                    include: true,
                    end: Oid::new(&[1, 3, 6, 1, 2, 1, 69]),
                }]
            }
        );
    }

    #[test]
    fn a_large_payload_is_refused_from_the_header() {
        let mut bytes = vec![1, 5, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&(MAX_PAYLOAD as u32 + 4).to_be_bytes());
        assert_eq!(
            frame_len(&bytes),
            Err(DecodeError::TooLarge(MAX_PAYLOAD as u32 + 4))
        );
        assert_eq!(frame_len(&bytes[..10]), Ok(None));
    }

    #[test]
    fn get_bulk_and_register_round_trip() {
        let bulk = Packet {
            header: header(8),
            context: None,
            pdu: Pdu::GetBulk {
                non_repeaters: 1,
                max_repetitions: 10,
                ranges: vec![
                    SearchRange {
                        start: Oid::new(&[1, 3, 6, 1, 2, 1, 1, 3]),
                        include: false,
                        end: Oid::default(),
                    },
                    SearchRange {
                        start: Oid::new(&[1, 3, 6, 1, 2, 1, 207]),
                        include: false,
                        end: Oid::new(&[1, 3, 6, 1, 2, 1, 208]),
                    },
                ],
            },
        };
        assert_eq!(decode(&encode(&bulk)).unwrap(), bulk);
        let register = Packet {
            header: header(9),
            context: None,
            pdu: Pdu::Register {
                timeout: 0,
                priority: 127,
                subtree: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2]),
            },
        };
        assert_eq!(decode(&encode(&register)).unwrap(), register);
    }

    #[test]
    fn truncated_packets_are_errors() {
        let bytes = encode(&Packet {
            header: header(1),
            context: None,
            pdu: Pdu::Close {
                reason: close::SHUTDOWN,
            },
        });
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// No bytes from the master agent make decoding panic: each is a
        /// packet or an error that drops the session.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = frame_len(&bytes);
            let _ = decode(&bytes);
        }

        /// The same, past the header: a valid header over random bodies,
        /// in either byte order, for every PDU type.
        #[test]
        fn decode_never_panics_on_any_body(
            kind in 0u8..=20,
            flags in proptest::prelude::any::<u8>(),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..50).prop_map(|mut b| { b.truncate(b.len() / 4 * 4); b }),
        ) {
            let mut bytes = vec![1, kind, flags, 0];
            bytes.extend_from_slice(&[0; 12]);
            let length = body.len() as u32;
            if flags & 0x10 != 0 {
                bytes.extend_from_slice(&length.to_be_bytes());
            } else {
                bytes.extend_from_slice(&length.to_le_bytes());
            }
            bytes.extend_from_slice(&body);
            if let Ok(packet) = decode(&bytes) {
                // What decodes, encodes and decodes the same again.
                let again = decode(&encode(&packet)).map(|p| p.pdu);
                proptest::prop_assert_eq!(again, Ok(packet.pdu));
            }
        }
    }
}
