//! Sync groups: instances that change state together (keepalived's
//! vrrp_sync_group; its rules are vrrp_sync.c's). The group goes MASTER
//! only when every member would; one member leaving MASTER for BACKUP
//! takes all to BACKUP; one member's own FAULT takes all to FAULT, and
//! the group leaves FAULT only when no member has a fault of its own.
//!
//! Members are separate [`Instance`](super::Instance)s; this is the pure
//! coordinator between them. Members report with [`Action::SyncReport`]
//! and their transitions; the group answers with commands, which the
//! members take as [`Event::Sync`](super::Event::Sync).

use super::state::State;

/// What a member tells its group besides its transitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Its Master_Down_Timer ran out: it would be master (keepalived's
    /// wantstate MASTER).
    pub wants_master: bool,
    /// It has a fault of its own (link, tracker), not one the group gave it.
    pub own_fault: bool,
}

/// What the group tells a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncCommand {
    /// Every member would be master (or the group is): become master.
    GoMaster,
    /// Another member left MASTER for BACKUP: leave MASTER too.
    GoBackup,
    /// Another member is in FAULT (true), or none is any more (false).
    Fault(bool),
}

#[derive(Clone, Copy, Debug, Default)]
struct Member {
    state: Option<State>,
    report: SyncReport,
}

/// A group state change, for the group's notify scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupTransition {
    pub from: State,
    pub to: State,
}

#[derive(Debug)]
pub struct SyncGroup {
    members: Vec<Member>,
    state: State,
}

impl SyncGroup {
    pub fn new(members: usize) -> SyncGroup {
        SyncGroup {
            members: vec![Member::default(); members],
            state: State::Backup,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Member `i` reported; the commands to send, and a group change.
    pub fn report(
        &mut self,
        i: usize,
        report: SyncReport,
    ) -> (Vec<(usize, SyncCommand)>, Option<GroupTransition>) {
        self.members[i].report = report;
        self.decide(i)
    }

    /// Member `i` entered `to`.
    pub fn entered(
        &mut self,
        i: usize,
        to: State,
    ) -> (Vec<(usize, SyncCommand)>, Option<GroupTransition>) {
        let from = self.members[i].state.replace(to);
        let mut commands = Vec::new();
        let mut change = None;
        match (from, to) {
            // keepalived's vrrp_sync_master: one became master, all follow.
            (_, State::Master) if self.state == State::Backup => {
                change = self.set(State::Master);
                commands.extend(self.others(i).map(|j| (j, SyncCommand::GoMaster)));
            }
            // vrrp_sync_backup: one left master for backup, all do.
            (Some(State::Master), State::Backup) if self.state == State::Master => {
                change = self.set(State::Backup);
                commands.extend(self.others(i).map(|j| (j, SyncCommand::GoBackup)));
            }
            _ => {}
        }
        let (more, fault_change) = self.decide(i);
        commands.extend(more);
        (commands, fault_change.or(change))
    }

    /// The FAULT rule and the MASTER-when-all-want rule.
    fn decide(&mut self, i: usize) -> (Vec<(usize, SyncCommand)>, Option<GroupTransition>) {
        let any_own_fault = self.members.iter().any(|m| m.report.own_fault);
        let all_known = self.members.iter().all(|m| m.state.is_some());
        if any_own_fault && self.state != State::Fault {
            let change = self.set(State::Fault);
            let all = (0..self.members.len()).map(|j| (j, SyncCommand::Fault(true)));
            return (all.collect(), change);
        }
        if !any_own_fault && self.state == State::Fault && all_known {
            let change = self.set(State::Backup);
            let all = (0..self.members.len()).map(|j| (j, SyncCommand::Fault(false)));
            return (all.collect(), change);
        }
        // keepalived's vrrp_sync_can_goto_master: only if everyone wants to.
        let everyone_wants = self
            .members
            .iter()
            .all(|m| m.report.wants_master || m.state == Some(State::Master));
        if self.state == State::Backup && self.members[i].report.wants_master && everyone_wants {
            let all = (0..self.members.len()).map(|j| (j, SyncCommand::GoMaster));
            return (all.collect(), None);
        }
        (Vec::new(), None)
    }

    fn others(&self, i: usize) -> impl Iterator<Item = usize> {
        (0..self.members.len()).filter(move |&j| j != i)
    }

    fn set(&mut self, to: State) -> Option<GroupTransition> {
        let from = std::mem::replace(&mut self.state, to);
        (from != to).then_some(GroupTransition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTS: SyncReport = SyncReport {
        wants_master: true,
        own_fault: false,
    };
    const FAULTY: SyncReport = SyncReport {
        wants_master: false,
        own_fault: true,
    };

    #[test]
    fn master_only_when_every_member_wants_it() {
        let mut group = SyncGroup::new(2);
        group.entered(0, State::Backup);
        group.entered(1, State::Backup);
        let (commands, _) = group.report(0, WANTS);
        assert_eq!(commands, vec![], "member 1 still hears a master");
        let (commands, _) = group.report(1, WANTS);
        assert_eq!(
            commands,
            vec![(0, SyncCommand::GoMaster), (1, SyncCommand::GoMaster)]
        );
        let (_, change) = group.entered(0, State::Master);
        assert_eq!(
            change,
            Some(GroupTransition {
                from: State::Backup,
                to: State::Master
            })
        );
    }

    #[test]
    fn one_member_preempted_takes_all_to_backup() {
        let mut group = SyncGroup::new(3);
        for i in 0..3 {
            group.entered(i, State::Backup);
        }
        group.entered(0, State::Master);
        group.entered(1, State::Master);
        group.entered(2, State::Master);
        let (commands, change) = group.entered(1, State::Backup);
        assert_eq!(
            commands,
            vec![(0, SyncCommand::GoBackup), (2, SyncCommand::GoBackup)]
        );
        assert_eq!(change.map(|c| c.to), Some(State::Backup));
    }

    #[test]
    fn one_fault_takes_all_and_all_leave_together() {
        let mut group = SyncGroup::new(2);
        group.entered(0, State::Master);
        group.entered(1, State::Master);
        let (commands, change) = group.report(1, FAULTY);
        assert_eq!(
            commands,
            vec![(0, SyncCommand::Fault(true)), (1, SyncCommand::Fault(true))]
        );
        assert_eq!(change.map(|c| c.to), Some(State::Fault));
        group.entered(1, State::Fault);
        group.entered(0, State::Fault);
        let (commands, _) = group.report(0, SyncReport::default());
        assert_eq!(commands, vec![], "member 1 is still faulty");
        let (commands, change) = group.report(1, SyncReport::default());
        assert_eq!(
            commands,
            vec![
                (0, SyncCommand::Fault(false)),
                (1, SyncCommand::Fault(false))
            ]
        );
        assert_eq!(change.map(|c| c.to), Some(State::Backup));
    }
}
