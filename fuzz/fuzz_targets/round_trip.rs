//! Whatever decodes re-encodes, and decodes again to the same advert.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vipd::proto::Advert;

#[path = "endpoints.rs"]
mod endpoints;

fuzz_target!(|data: &[u8]| {
    let Some((endpoints, _ttl, message)) = endpoints::split(data) else { return };
    if let Ok(first) = Advert::decode(message, &endpoints) {
        let bytes = first.encode(&endpoints).expect("a decoded advert re-encodes");
        assert_eq!(Advert::decode(&bytes, &endpoints), Ok(first));
    }
});
