//! Decoding arbitrary bytes never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vipd::proto::Advert;

#[path = "endpoints.rs"]
mod endpoints;

fuzz_target!(|data: &[u8]| {
    if let Some((endpoints, ttl, message)) = endpoints::split(data) {
        let _ = Advert::decode_received(message, &endpoints, ttl);
    }
});
