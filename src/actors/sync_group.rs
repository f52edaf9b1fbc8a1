//! One per sync group: carries members' reports to the pure coordinator
//! (`proto::SyncGroup`) and its commands back, and runs the group's
//! notify scripts. Its members are instance actors.

use actix::prelude::*;

use crate::log::phrases::{self, Notice};
use crate::proto::{GroupTransition, State, SyncCommand, SyncGroup, SyncReport};
use crate::status::SyncGroupStatus;
use crate::sys::boundary::guarded;
use crate::sys::notifier::{Notification, Notifier};
use crate::sys::transition_feed;

/// What a member tells its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    Report(SyncReport),
    Entered(State),
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct MemberUpdate {
    /// The member's place in the group's list.
    pub member: usize,
    pub update: Update,
}

/// The group's word to one member.
#[derive(Message, Clone, Copy, Debug)]
#[rtype(result = "()")]
pub struct Command(pub SyncCommand);

/// The members, in the group's order; sent once they exist.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Members(pub Vec<Recipient<Command>>);

pub struct SyncGroupActor {
    name: String,
    core: SyncGroup,
    members: Vec<Recipient<Command>>,
    notifier: Option<Notifier>,
    /// What `vipd status` and SNMP show, but for the state (the core's).
    status: SyncGroupStatus,
}

impl SyncGroupActor {
    pub fn new(status: SyncGroupStatus, notifier: Option<Notifier>) -> SyncGroupActor {
        SyncGroupActor {
            name: status.name.clone(),
            core: SyncGroup::new(status.members.len()),
            members: Vec::new(),
            notifier,
            status,
        }
    }

    fn carry_out(&self, commands: Vec<(usize, SyncCommand)>, change: Option<GroupTransition>) {
        if let Some(change) = change {
            phrases::sync_group_syncing(&self.name, change.to);
            // keepalived's vrrp_notify.c send_group_notifies sends
            // vrrpSyncGroupStateChange with the scripts.
            transition_feed::publish_group(&self.name, change.from, change.to, None);
            if let Some(notifier) = &self.notifier {
                let _ = notifier.send(Notification {
                    notice: Notice::Entered(change.to),
                    priority: 0,
                    done: None,
                });
            }
        }
        for (member, command) in commands {
            if let Some(recipient) = self.members.get(member) {
                recipient.do_send(Command(command));
            }
        }
    }
}

impl Actor for SyncGroupActor {
    type Context = Context<Self>;
}

impl Supervised for SyncGroupActor {
    /// The coordinator's state survives a restart: it is in `core`.
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!(group = %self.name, "sync group actor {} restarting", self.name);
    }
}

/// A reload kept the group: its state on the FIFO again
/// (fifo_write_vrrp_states_on_reload).
#[derive(Message)]
#[rtype(result = "()")]
pub struct WriteStateToFifo;

impl Handler<WriteStateToFifo> for SyncGroupActor {
    type Result = ();

    fn handle(&mut self, _: WriteStateToFifo, _ctx: &mut Context<Self>) {
        if let Some(notifier) = &self.notifier {
            notifier.write_fifo(Notice::Entered(self.core.state()), 0);
        }
    }
}

/// The group as `vipd status` and SNMP show it.
#[derive(Message)]
#[rtype(result = "SyncGroupStatus")]
pub struct Status;

impl Handler<Status> for SyncGroupActor {
    type Result = MessageResult<Status>;

    fn handle(&mut self, _: Status, _ctx: &mut Context<Self>) -> MessageResult<Status> {
        MessageResult(SyncGroupStatus {
            state: self.core.state().to_string(),
            ..self.status.clone()
        })
    }
}

impl Handler<Members> for SyncGroupActor {
    type Result = ();

    fn handle(&mut self, Members(members): Members, _ctx: &mut Context<Self>) {
        self.members = members;
    }
}

impl Handler<MemberUpdate> for SyncGroupActor {
    type Result = ();

    fn handle(&mut self, update: MemberUpdate, ctx: &mut Context<Self>) {
        guarded(self, ctx, "member update", |actor, _| {
            let (commands, change) = match update.update {
                Update::Report(report) => actor.core.report(update.member, report),
                Update::Entered(state) => actor.core.entered(update.member, state),
            };
            actor.carry_out(commands, change);
        });
    }
}
