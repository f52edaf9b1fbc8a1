//! AgentX packets from the master agent: decoding arbitrary bytes never
//! panics, and what decodes encodes and decodes to the same PDU.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vipd::snmp::pdu;

fuzz_target!(|data: &[u8]| {
    let _ = pdu::frame_len(data);
    if let Ok(packet) = pdu::decode(data) {
        let again = pdu::decode(&pdu::encode(&packet)).map(|p| p.pdu);
        assert_eq!(again, Ok(packet.pdu));
    }
});
