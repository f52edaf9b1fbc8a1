//! How the master agent's requests are answered from a view (RFC 2741
//! §7.2): Get, GetNext and GetBulk read it; the Set phases are refused,
//! as every object here is read-only.

use super::mib::View;
use super::pdu::{self, errors, Packet, Pdu, Value, VarBind};

/// A GetBulk answer stops growing at this many varbinds, or at this many
/// bytes, whichever comes first (snmpd's own limit is lower; this only
/// bounds what one request can make vipd build).
const MAX_BULK_VARBINDS: usize = 2048;
const MAX_RESPONSE_BYTES: usize = 48 * 1024;

/// What a request needs: a view of the objects or nothing.
pub fn needs_view(pdu: &Pdu) -> bool {
    matches!(
        pdu,
        Pdu::Get { .. } | Pdu::GetNext { .. } | Pdu::GetBulk { .. }
    )
}

/// The Response to `request`, if it gets one (CleanupSet, Response and
/// Close get none). `view` is used for reads only.
pub fn answer(request: &Packet, view: &View) -> Option<Packet> {
    let respond = |error: u16, index: u16, varbinds: Vec<VarBind>| {
        Some(Packet {
            header: request.header,
            context: None,
            pdu: Pdu::Response {
                sys_uptime: 0,
                error,
                index,
                varbinds,
            },
        })
    };
    if request.context.is_some() && !matches!(request.pdu, Pdu::Close { .. }) {
        // Only the default context is registered: anything else is a
        // master's mistake.
        return respond(errors::UNSUPPORTED_CONTEXT, 0, Vec::new());
    }
    match &request.pdu {
        Pdu::Get { ranges } => respond(
            errors::NO_ERROR,
            0,
            ranges.iter().map(|r| view.get(&r.start)).collect(),
        ),
        Pdu::GetNext { ranges } => respond(
            errors::NO_ERROR,
            0,
            ranges.iter().map(|r| view.next(r)).collect(),
        ),
        Pdu::GetBulk {
            non_repeaters,
            max_repetitions,
            ranges,
        } => respond(
            errors::NO_ERROR,
            0,
            bulk(view, usize::from(*non_repeaters), *max_repetitions, ranges),
        ),
        // Read-only: the first varbind is not writable (§7.2.4.1).
        Pdu::TestSet { .. } => respond(errors::NOT_WRITABLE, 1, Vec::new()),
        Pdu::CommitSet | Pdu::UndoSet => respond(errors::NO_ERROR, 0, Vec::new()),
        Pdu::CleanupSet | Pdu::Response { .. } | Pdu::Close { .. } => None,
        Pdu::Ping => respond(errors::NO_ERROR, 0, Vec::new()),
        // What a master never sends a subagent.
        Pdu::Open { .. } | Pdu::Register { .. } | Pdu::Notify { .. } | Pdu::Other(_) => {
            respond(errors::PROCESSING_ERROR, 0, Vec::new())
        }
    }
}

/// §7.2.3.3: the first `non_repeaters` ranges once, then the rest
/// repeated up to `max_repetitions` times, row by row.
fn bulk(
    view: &View,
    non_repeaters: usize,
    max_repetitions: u16,
    ranges: &[pdu::SearchRange],
) -> Vec<VarBind> {
    let split = non_repeaters.min(ranges.len());
    let mut varbinds: Vec<VarBind> = ranges[..split].iter().map(|r| view.next(r)).collect();
    let mut bytes: usize = varbinds.iter().map(pdu::varbind_len).sum();
    let mut repeaters: Vec<pdu::SearchRange> = ranges[split..].to_vec();
    if repeaters.is_empty() {
        return varbinds;
    }
    for _ in 0..max_repetitions {
        let mut all_ended = true;
        for range in &mut repeaters {
            let vb = view.next(range);
            if vb.value != Value::EndOfMibView {
                all_ended = false;
                range.start = vb.name.clone();
                range.include = false;
            }
            bytes += pdu::varbind_len(&vb);
            varbinds.push(vb);
            if varbinds.len() >= MAX_BULK_VARBINDS || bytes >= MAX_RESPONSE_BYTES {
                return varbinds;
            }
        }
        if all_ended {
            break;
        }
    }
    varbinds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::mib::{Host, Mibs};
    use crate::snmp::oid::Oid;
    use crate::snmp::pdu::{Header, SearchRange};
    use crate::status::{InstanceStatus, Snapshot};

    fn view() -> View {
        let snapshot = Snapshot {
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                state: "MASTER".into(),
                vrid: 7,
                version: 2,
                virtual_addresses: vec!["192.0.2.10/32".into()],
                ..InstanceStatus::default()
            }],
            ..Snapshot::default()
        };
        let mibs = Mibs {
            vrrp: true,
            ..Mibs::default()
        };
        View::new(mibs, &snapshot, &Host::default())
    }

    fn request(pdu: Pdu) -> Packet {
        Packet {
            header: Header {
                packet_id: 42,
                ..Header::default()
            },
            context: None,
            pdu,
        }
    }

    fn varbinds(response: Option<Packet>) -> (u16, Vec<VarBind>) {
        match response.map(|p| p.pdu) {
            Some(Pdu::Response {
                error, varbinds, ..
            }) => (error, varbinds),
            other => panic!("not a response: {other:?}"),
        }
    }

    fn range(start: &[u32]) -> SearchRange {
        SearchRange {
            start: Oid::new(start),
            include: false,
            end: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 3]),
        }
    }

    #[test]
    fn a_walk_by_bulk_ends_with_end_of_mib_view() {
        let view = view();
        let (error, got) = varbinds(answer(
            &request(Pdu::GetBulk {
                non_repeaters: 0,
                max_repetitions: 1000,
                ranges: vec![range(&[1, 3, 6, 1, 4, 1, 9586, 100, 5])],
            }),
            &view,
        ));
        assert_eq!(error, 0);
        assert_eq!(got.len(), view.len() + 1);
        assert_eq!(got.last().map(|v| &v.value), Some(&Value::EndOfMibView));
    }

    #[test]
    fn sets_are_refused_and_the_packet_id_is_kept() {
        let response = answer(&request(Pdu::TestSet { varbinds: vec![] }), &view());
        assert_eq!(response.as_ref().map(|p| p.header.packet_id), Some(42));
        assert_eq!(varbinds(response).0, errors::NOT_WRITABLE);
        assert!(answer(&request(Pdu::CleanupSet), &view()).is_none());
    }

    #[test]
    fn bulk_is_bounded() {
        let view = view();
        let ranges = vec![range(&[1, 3, 6, 1]); 100];
        let (_, got) = varbinds(answer(
            &request(Pdu::GetBulk {
                non_repeaters: 0,
                max_repetitions: u16::MAX,
                ranges,
            }),
            &view,
        ));
        assert!(got.len() <= MAX_BULK_VARBINDS);
    }
}
