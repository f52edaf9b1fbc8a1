//! Every phrase that something outside vipd matches on: keepalived's log
//! lines (log watchers and alerting rules grep for them), the words and
//! argument order notify scripts get, and the notify FIFO's line. They are
//! written here and nowhere else, so a change to one is a change to this
//! file (as holo-vrrp's debug.rs owns its messages). The JSON fields
//! beside each text line carry the same facts for machines.

use std::fmt::Display;
use std::net::IpAddr;

use crate::proto::{State, Transition};

/// keepalived's word for a state in notify arguments and the FIFO. The
/// core's Initialize is STOP there: an instance only returns to it when
/// it stops.
pub const fn notify_word(state: State) -> &'static str {
    match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// Who a notification is about: an instance, or a sync group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Instance(String),
    Group(String),
}

impl Subject {
    pub fn name(&self) -> &str {
        match self {
            Subject::Instance(name) | Subject::Group(name) => name,
        }
    }
}

/// What a notification tells: a state entered, or one of keepalived's
/// events (vrrp_notify.c notify_fifo).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    Entered(State),
    /// A master heard a lower-priority master: `MASTER_RX_LOWER_PRI`.
    MasterRxLowerPriority,
    /// The effective priority changed (notify_priority_changes):
    /// `MASTER_PRIORITY` while master, `BACKUP_PRIORITY` otherwise.
    PriorityChanged {
        master: bool,
    },
    /// A reload removed the instance: `DELETED` with notify_deleted, else
    /// FAULT, keepalived's old way, unless it was in FAULT already
    /// (vrrp.c clear_diff_vrrp, vrrp_notify.c send_instance_notifies).
    Deleted {
        was_fault: bool,
    },
    /// Deleted without notify_deleted: `FAULT` to `notify` and the FIFO,
    /// but not notify_fault (keepalived picks the state's script while
    /// the state is still DELETED, and it has none).
    DeletedAsFault,
}

impl Notice {
    pub const fn word(self) -> &'static str {
        match self {
            Notice::Entered(state) => notify_word(state),
            Notice::MasterRxLowerPriority => "MASTER_RX_LOWER_PRI",
            Notice::PriorityChanged { master: true } => "MASTER_PRIORITY",
            Notice::PriorityChanged { master: false } => "BACKUP_PRIORITY",
            Notice::Deleted { .. } => "DELETED",
            Notice::DeletedAsFault => "FAULT",
        }
    }
}

/// The notify FIFO line: `INSTANCE "VI_1" MASTER 100`; a sync group's
/// priority is 0 (vrrp_notify.c notify_group_fifo).
pub fn fifo_line(subject: &Subject, notice: Notice, priority: u8) -> String {
    let word = notice.word();
    match subject {
        Subject::Instance(name) => format!("INSTANCE \"{name}\" {word} {priority}\n"),
        Subject::Group(name) => format!("GROUP \"{name}\" {word} 0\n"),
    }
}

/// What `notify` is run with: `INSTANCE name STATE priority`, or for a
/// sync group `GROUP name STATE 0` (vrrp_notify.c notify_script_exec:
/// "the prio will be indicated as zero for a group").
pub fn notify_arguments(subject: &Subject, notice: Notice, priority: u8) -> Vec<String> {
    let (kind, name, priority) = match subject {
        Subject::Instance(name) => ("INSTANCE", name, priority),
        Subject::Group(name) => ("GROUP", name, 0),
    };
    vec![
        kind.to_string(),
        name.clone(),
        notice.word().to_string(),
        priority.to_string(),
    ]
}

/// keepalived's line for a master hearing a lower priority (vrrp.c
/// vrrp_state_master_rx).
pub fn master_rx_lower_priority(
    instance: &str,
    source: IpAddr,
    theirs: u8,
    ours: u8,
    answer: bool,
) {
    let forcing = if answer { ", forcing new election" } else { "" };
    tracing::info!(
        instance,
        %source,
        priority = theirs,
        ours,
        "({instance}) Received advert from {source} with lower priority {theirs}, ours {ours}{forcing}"
    );
}

/// keepalived's `VRRP_Group(G1) Syncing instances to MASTER state`.
pub fn sync_group_syncing(group: &str, to: State) {
    tracing::info!(group, to = %to, "VRRP_Group({group}) Syncing instances to {to} state");
}

/// `(VI_1) Entering MASTER STATE`, with the reason and the master in fields.
pub fn entering_state(instance: &str, t: &Transition, master: Option<IpAddr>) {
    let master = master.map(|m| m.to_string()).unwrap_or_default();
    tracing::info!(
        instance,
        from = %t.from,
        to = %t.to,
        reason = %t.reason,
        rfc = t.reason.citation(),
        priority = t.priority,
        master,
        "({instance}) Entering {} STATE",
        t.to
    );
}

/// `(VI_1) Changing effective priority from 100 to 80`.
pub fn priority_changed(instance: &str, from: u8, to: u8) {
    tracing::info!(
        instance,
        from,
        to,
        "({instance}) Changing effective priority from {from} to {to}"
    );
}

/// A check's result, as far as a log reader needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckLine {
    /// It came up (after `rise` successes): `VRRP_Script(web) succeeded`.
    Succeeded,
    /// It went down (after `fall` failures): `VRRP_Script(web) failed (why)`.
    Failed(String),
    /// It failed but is still counted up (debug level only).
    FailedOnce(String),
}

pub fn check(name: &str, line: &CheckLine) {
    match line {
        CheckLine::Succeeded => {
            tracing::info!(check = name, up = true, "VRRP_Script({name}) succeeded")
        }
        CheckLine::Failed(why) => {
            tracing::warn!(check = name, up = false, reason = %why, "VRRP_Script({name}) failed ({why})")
        }
        CheckLine::FailedOnce(why) => {
            tracing::debug!(check = name, reason = %why, "VRRP_Script({name}) failed once ({why})")
        }
    }
}

pub fn tracked_interface(name: &str, up: bool) {
    let word = if up { "up" } else { "down" };
    tracing::info!(interface = name, up, "tracked interface {name} is {word}");
}

pub fn tracked_file(name: &str, value: i64) {
    tracing::info!(file = name, value, "tracked file {name} now holds {value}");
}

/// The tail of a rate-limited line: how many like it were not logged.
pub fn suppressed(count: u64) -> String {
    if count == 0 {
        String::new()
    } else {
        format!(" ({count} more like it not logged)")
    }
}

/// A dropped packet, with how many like it went unlogged since the last line.
pub fn packet_dropped(
    scope: &str,
    reason: &str,
    source: IpAddr,
    suppressed: u64,
    detail: &dyn Display,
) {
    tracing::warn!(
        scope,
        reason,
        %source,
        suppressed,
        "({scope}) dropped VRRP packet from {source}: {detail} ({suppressed} more like it not logged)"
    );
}

/// Someone removed a virtual address the master holds; vipd adds it back.
pub fn address_removed_behind_our_back(instance: &str, address: IpAddr, interface: &str) {
    tracing::warn!(
        instance,
        %address,
        interface,
        "({instance}) virtual address {address} was removed from {interface} behind our back; adding it again"
    );
}

/// An address with no_track was deleted: it stays gone until the instance
/// next becomes master, as keepalived does.
pub fn untracked_address_removed(instance: &str, address: IpAddr, interface: &str) {
    tracing::info!(
        instance,
        %address,
        interface,
        "({instance}) virtual address {address} (no_track) was removed from {interface}; leaving it removed"
    );
}

/// A virtual route or rule someone deleted; vipd adds it back.
pub fn routing_removed_behind_our_back(instance: &str, what: &str) {
    tracing::warn!(
        instance,
        what,
        "({instance}) virtual {what} was removed behind our back; adding it again"
    );
}

pub fn routing_failed(instance: &str, action: &str, what: &str, error: &dyn Display) {
    tracing::error!(
        instance,
        what,
        %error,
        "({instance}) cannot {action} virtual {what}: {error}"
    );
}

pub fn notify_script_failed(instance: &str, script: &str, why: &str) {
    tracing::warn!(
        instance,
        script,
        reason = why,
        "({instance}) notify script {script} failed: {why}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_words_and_lines_are_keepalived_s() {
        assert_eq!(notify_word(State::Initialize), "STOP");
        assert_eq!(notify_word(State::Master), State::Master.as_str());
        let vi_1 = Subject::Instance("VI_1".into());
        assert_eq!(
            fifo_line(&vi_1, Notice::Entered(State::Master), 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            fifo_line(&vi_1, Notice::MasterRxLowerPriority, 100),
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n"
        );
        assert_eq!(
            fifo_line(&vi_1, Notice::PriorityChanged { master: false }, 90),
            "INSTANCE \"VI_1\" BACKUP_PRIORITY 90\n"
        );
        assert_eq!(
            notify_arguments(&vi_1, Notice::Entered(State::Fault), 80),
            ["INSTANCE", "VI_1", "FAULT", "80"]
        );
        let group = Subject::Group("G1".into());
        assert_eq!(
            fifo_line(&group, Notice::Entered(State::Backup), 0),
            "GROUP \"G1\" BACKUP 0\n"
        );
        assert_eq!(
            notify_arguments(&group, Notice::Entered(State::Master), 0),
            ["GROUP", "G1", "MASTER", "0"]
        );
    }
}
