//! keepalived's strict mode (global `vrrp_strict`, instance `strict_mode`):
//! run the instance as RFC 3768 / RFC 5798 say, without keepalived's
//! extensions. Its rules, from keepalived 2.4.3's
//! keepalived/vrrp/vrrp.c `vrrp_complete_instance` (2.2.7 has the same,
//! less owner_ignore_adverts and no_virtual_ipaddress):
//!
//! - what keepalived refuses to run: unicast peers ("Unicast peers are not
//!   supported in strict mode") and no virtual address ("No VIP specified;
//!   at least one is required"): [`InstanceParams::problems`];
//! - what it runs otherwise than written, with an error in its log:
//!   [`InstanceParams::apply_strict`], one [`StrictReset`] per setting;
//! - the defaults it changes where nothing is written: no Accept_Mode
//!   unless owner ([`default_accept`]), no GARP burst on hearing a lower
//!   priority, no immediate answer to it.
//!
//! On receipt, an advert carrying authentication is dropped
//! (`DropReason::StrictAuth`): keepalived's strict instance has
//! authentication type 0 and drops it as "received a 1 auth, expecting 0"
//! (vrrp.c `vrrp_check_packet`). The TTL-255 and (v2) advert-interval
//! rules apply whether strict or not, as in keepalived.

use std::time::Duration;

use super::auth_hmac::HmacMode;
use super::packet::{Auth, Version};
use super::params::{InstanceParams, Param};

/// RFC 5798's Master_Down_Interval is 3 advert intervals plus skew.
const RFC_DOWN_TIMER_ADVERTS: u8 = 3;

/// Accept_Mode where the configuration says nothing: keepalived accepts
/// unless in strict mode, where only the address owner does (vrrp.c
/// vrrp_complete_instance: `accept = owner ? true : !strict_mode`).
pub fn default_accept(strict: bool, priority: u8) -> bool {
    !strict || priority == 255
}

/// One setting strict mode ran otherwise than written, in keepalived's
/// words (vrrp.c vrrp_complete_instance) and what it became.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StrictReset {
    #[error("Strict mode does not support authentication. Ignoring: adverts carry none")]
    Auth,
    #[error("preempt_delay is incompatible with strict mode - resetting to 0")]
    PreemptDelay,
    #[error("down_timer_adverts is incompatible with strict mode - resetting to 3")]
    DownTimerAdverts,
    #[error(
        "accept mode for VRRP version 2 does not comply with RFC3768 - resetting to no accept"
    )]
    Accept,
    #[error("Strict mode requires no repeat garps. resetting to 0")]
    LowerPrioRepeat,
    #[error("Strict mode requires no repeat garp delay. resetting to 0")]
    LowerPrioDelay,
    #[error("Strict mode requires no lower priority advert. resetting to true")]
    LowerPrioNoAdvert,
    #[error("strict mode requires higher_prio_send_advert to be clear. resetting")]
    HigherPrioSendAdvert,
    #[error("strict_mode with priority 255 requires owner_ignore_adverts: true (keepalived 2.4)")]
    OwnerIgnoresAdverts,
    #[error("no_virtual_ipaddress and strict mode incompatible, clearing no_virtual_ipaddress")]
    NoVirtualIpaddress,
    #[error("strict mode requires auth_hmac mode enforce")]
    HmacMode,
}

impl StrictReset {
    /// The setting it is about, for the layer that knows its key.
    pub const fn param(self) -> Param {
        match self {
            StrictReset::Auth => Param::Auth,
            StrictReset::PreemptDelay => Param::PreemptDelay,
            StrictReset::DownTimerAdverts => Param::DownTimerAdverts,
            StrictReset::Accept => Param::Accept,
            StrictReset::LowerPrioRepeat => Param::LowerPrioRepeat,
            StrictReset::LowerPrioDelay => Param::LowerPrioDelay,
            StrictReset::LowerPrioNoAdvert => Param::LowerPrioNoAdvert,
            StrictReset::HigherPrioSendAdvert => Param::HigherPrioSendAdvert,
            StrictReset::OwnerIgnoresAdverts => Param::OwnerIgnoresAdverts,
            StrictReset::NoVirtualIpaddress => Param::VirtualAddresses,
            StrictReset::HmacMode => Param::AuthHmac,
        }
    }
}

impl InstanceParams {
    /// In strict mode, resets what strict mode forbids, as keepalived
    /// does, and says what it reset; out of it, changes nothing. After it
    /// [`InstanceParams::strict_violations`] is empty.
    pub fn apply_strict(&mut self) -> Vec<StrictReset> {
        let mut resets = Vec::new();
        if !self.strict {
            return resets;
        }
        let mut reset = |on: bool, what: StrictReset| {
            if on {
                resets.push(what);
            }
            on
        };
        if reset(self.auth != Auth::None, StrictReset::Auth) {
            self.auth = Auth::None;
        }
        if reset(!self.preempt_delay.is_zero(), StrictReset::PreemptDelay) {
            self.preempt_delay = Duration::ZERO;
        }
        let rules = &mut self.advert_rules;
        if reset(
            rules.down_timer_adverts != RFC_DOWN_TIMER_ADVERTS,
            StrictReset::DownTimerAdverts,
        ) {
            rules.down_timer_adverts = RFC_DOWN_TIMER_ADVERTS;
        }
        if reset(!rules.lower_prio_no_advert, StrictReset::LowerPrioNoAdvert) {
            rules.lower_prio_no_advert = true;
        }
        if reset(
            rules.higher_prio_send_advert,
            StrictReset::HigherPrioSendAdvert,
        ) {
            rules.higher_prio_send_advert = false;
        }
        let owner = self.priority == 255;
        if reset(
            owner && !rules.owner_ignore_adverts,
            StrictReset::OwnerIgnoresAdverts,
        ) {
            rules.owner_ignore_adverts = true;
        }
        // RFC 5798 §6.1 lets v3 have Accept_Mode; RFC 3768 has none.
        if reset(
            self.accept_mode && !owner && self.version == Version::V2,
            StrictReset::Accept,
        ) {
            self.accept_mode = false;
        }
        if reset(
            self.announce.lower_prio_repeat != 0,
            StrictReset::LowerPrioRepeat,
        ) {
            self.announce.lower_prio_repeat = 0;
        }
        if reset(
            !self.announce.lower_prio_delay.is_zero(),
            StrictReset::LowerPrioDelay,
        ) {
            self.announce.lower_prio_delay = Duration::ZERO;
        }
        if reset(self.no_virtual_ipaddress, StrictReset::NoVirtualIpaddress) {
            self.no_virtual_ipaddress = false;
        }
        if let Some(hmac) = &mut self.auth_hmac {
            if reset(hmac.mode != HmacMode::Enforce, StrictReset::HmacMode) {
                hmac.mode = HmacMode::Enforce;
            }
        }
        resets
    }

    /// What [`InstanceParams::apply_strict`] would reset: a strict
    /// instance never runs with any of it.
    pub fn strict_violations(&self) -> Vec<StrictReset> {
        self.clone().apply_strict()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::packet::{AuthKey, Vrid};
    use crate::proto::params::{ParamsError, Unicast, UnicastPeer, VirtualAddress};

    fn strict(priority: u8) -> InstanceParams {
        InstanceParams {
            strict: true,
            priority,
            accept_mode: default_accept(true, priority),
            ..InstanceParams::with_defaults(
                "VI_1",
                Vrid::new(51).unwrap(),
                "192.0.2.201".parse().unwrap(),
                vec![VirtualAddress::host("192.0.2.203".parse().unwrap())],
            )
        }
    }

    #[test]
    fn only_the_owner_accepts_by_default_in_strict_mode() {
        assert!(default_accept(false, 100));
        assert!(!default_accept(true, 100));
        assert!(default_accept(true, 255));
    }

    #[test]
    fn every_extension_is_reset_and_said() {
        let mut p = strict(100);
        p.auth = Auth::Pass(AuthKey::from_password("1111"));
        p.preempt_delay = Duration::from_secs(30);
        p.advert_rules.down_timer_adverts = 5;
        p.advert_rules.higher_prio_send_advert = true;
        p.accept_mode = true;
        p.no_virtual_ipaddress = true;
        let resets = p.apply_strict();
        assert_eq!(
            resets,
            vec![
                StrictReset::Auth,
                StrictReset::PreemptDelay,
                StrictReset::DownTimerAdverts,
                StrictReset::LowerPrioNoAdvert,
                StrictReset::HigherPrioSendAdvert,
                StrictReset::Accept,
                StrictReset::LowerPrioRepeat,
                StrictReset::LowerPrioDelay,
                StrictReset::NoVirtualIpaddress,
            ]
        );
        assert_eq!(p.auth, Auth::None);
        assert!(p.preempt_delay.is_zero());
        assert_eq!(p.advert_rules.down_timer_adverts, 3);
        assert!(p.advert_rules.lower_prio_no_advert);
        assert!(!p.accept_mode);
        assert_eq!(p.announce.lower_prio_repeat, 0);
        assert!(p.strict_violations().is_empty());
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn v3_may_accept_and_the_owner_ignores_adverts() {
        let mut p = strict(100);
        p.version = Version::V3;
        p.accept_mode = true;
        p.apply_strict();
        assert!(p.accept_mode, "RFC 5798 has Accept_Mode");
        let mut owner = strict(255);
        assert!(owner
            .apply_strict()
            .contains(&StrictReset::OwnerIgnoresAdverts));
        assert!(owner.advert_rules.owner_ignore_adverts);
        assert!(owner.accept_mode);
    }

    #[test]
    fn out_of_strict_mode_nothing_changes() {
        let mut p = strict(100);
        p.strict = false;
        p.advert_rules.down_timer_adverts = 5;
        let before = p.clone();
        assert!(p.apply_strict().is_empty());
        assert_eq!(p, before);
    }

    #[test]
    fn unicast_and_no_address_are_refused_as_keepalived_refuses_them() {
        let mut p = strict(100);
        p.apply_strict();
        p.unicast = Some(Unicast {
            peers: vec![UnicastPeer::new("192.0.2.202".parse().unwrap())],
            ..Unicast::default()
        });
        assert_eq!(p.problems(), vec![ParamsError::StrictUnicast]);
        let mut p = strict(100);
        p.no_virtual_ipaddress = true;
        p.virtual_addresses.clear();
        p.apply_strict();
        assert_eq!(p.problems(), vec![ParamsError::StrictNoAddresses]);
    }

    #[test]
    fn a_strict_instance_never_runs_unreset() {
        let mut p = strict(100);
        p.apply_strict();
        p.advert_rules.down_timer_adverts = 5;
        assert_eq!(
            p.problems(),
            vec![ParamsError::StrictUnreset(StrictReset::DownTimerAdverts)]
        );
    }
}
