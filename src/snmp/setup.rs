//! The configuration KEEPALIVED-MIB shows, taken from the settings an
//! instance or sync group starts with: notify scripts as keepalived
//! prints a command line, and the rest of vrrpInstanceTable's columns.

use crate::config::health::{NotifySettings, Tracked};
use crate::config::scripts::Script;
use crate::config::validate::SyncGroupSettings;
use crate::config::InstanceSettings;
use crate::proto::InstanceParams;
use crate::status::{InstanceSetup, NotifyCommands, SyncGroupStatus};

/// A script as keepalived's SNMP shows it (lib/notify.c cmd_str_r, 2.2.7
/// and 2.4.3): its words, each in single quotes, joined by a space; the
/// program as found (keepalived, too, serves the path it resolved).
pub fn command(script: &Script) -> String {
    std::iter::once(script.program.display().to_string())
        .chain(script.args.iter().cloned())
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn notify_commands(notify: &NotifySettings) -> NotifyCommands {
    let show = |s: &Option<Script>| s.as_ref().map(command);
    NotifyCommands {
        master: show(&notify.master),
        backup: show(&notify.backup),
        fault: show(&notify.fault),
        stop: show(&notify.stop),
        any: show(&notify.any),
        master_rx_lower_pri: show(&notify.master_rx_lower_pri),
        deleted: show(&notify.deleted),
    }
}

/// vrrpInstanceTable's view of instance `s`, a member of `group` if any.
pub fn instance_setup(
    s: &InstanceSettings,
    params: &InstanceParams,
    group: Option<&str>,
) -> InstanceSetup {
    InstanceSetup {
        sync_group: group.map(str::to_string),
        // keepalived 2.2.7 vrrp.c vrrp_complete_instance drops from
        // track_ifp a track_interface that is the instance's own
        // interface ("Ignoring track_interface ... since own interface"),
        // and, for an address owner, one with a weight: what is left is
        // what vrrpInstanceTrackPrimaryIf says.
        tracks_interfaces: s.trackers.iter().any(|t| match t {
            Tracked::Interface { name, weight } => {
                *name != s.interface && !(params.priority == 255 && *weight != 0)
            }
            _ => false,
        }),
        garp_delay_secs: params.announce.delay.as_secs().min(u64::from(u32::MAX)) as u32,
        notify: notify_commands(&s.notify),
        notify_deleted: s.notify.notify_deleted,
        multicast_group: params.unicast.is_none().then(|| params.group()),
        v3_checksum_as_v2: params.advert_rules.v3_checksum_as_v2,
    }
}

/// A sync group as vrrpSyncGroupTable shows it, before its first change.
pub fn group_status(group: &SyncGroupSettings) -> SyncGroupStatus {
    SyncGroupStatus {
        name: group.name.clone(),
        state: "BACKUP".to_string(),
        members: group.members.clone(),
        tracking_weight: group.tracking_weight,
        notify: notify_commands(&group.notify),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_quoted_word_by_word() {
        let script = Script {
            program: "/usr/local/bin/notify".into(),
            args: vec!["MASTER".into(), "a b".into()],
            line: "notify MASTER 'a b'".into(),
        };
        assert_eq!(command(&script), "'/usr/local/bin/notify' 'MASTER' 'a b'");
    }
}
