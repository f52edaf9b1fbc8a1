//! Send sockets shared by the instances that send alike.
//!
//! The kernel offers every incoming VRRP packet to each raw protocol-112
//! socket of the namespace in turn (raw_v4_input walks them all), so one
//! socket per instance made each received advert walk hundreds of sockets:
//! at 255 instances × 20 ms it was a tenth of the sending side's CPU
//! (issue 12's profile). keepalived pools its sockets the same way, one
//! per interface, family and unicast setting
//! (keepalived/vrrp/vrrp_scheduler.c, vrrp_create_sockpool).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::rc::{Rc, Weak};

use super::vrrp_socket::VrrpSender;

/// What a send socket is bound to and set up with.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    interface: String,
    ifindex: u32,
    source: IpAddr,
    unicast_ttl: Option<u8>,
}

thread_local! {
    /// Weak: the socket closes when its last instance lets go of it.
    static POOL: RefCell<HashMap<Key, Weak<VrrpSender>>> = RefCell::new(HashMap::new());
}

/// A send socket for `source` on `interface`, shared with every other
/// instance on this thread that asks for the same one.
pub fn shared_sender(
    interface: &str,
    ifindex: u32,
    source: IpAddr,
    unicast_ttl: Option<u8>,
) -> io::Result<Rc<VrrpSender>> {
    let key = Key {
        interface: interface.to_string(),
        ifindex,
        source,
        unicast_ttl,
    };
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if let Some(sender) = pool.get(&key).and_then(Weak::upgrade) {
            return Ok(sender);
        }
        let sender = Rc::new(VrrpSender::open(interface, ifindex, source, unicast_ttl)?);
        pool.retain(|_, sender| sender.strong_count() > 0);
        pool.insert(key, Rc::downgrade(&sender));
        Ok(sender)
    })
}
