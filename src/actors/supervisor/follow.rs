//! Following the kernel's interfaces while the daemon runs: one netlink
//! subscription for links and addresses, the table it keeps current, and
//! what the actors are told when a name comes to mean another link, a
//! link goes up or down, an address is deleted, or an instance's source
//! address comes or goes.

use std::pin::Pin;
use std::time::Duration;

use futures::{FutureExt, Stream, StreamExt};
use tokio::time::Instant;

use crate::net::interfaces::Interfaces;
use crate::net::netlink::{self, NetEvent, Netlink, NetlinkError};
use crate::sys::retry::{Backoff, DEFAULT_BACKOFF};

use super::super::address::LinkChange;
use super::super::instance::Rebind;
use super::super::interface::Relink;
use super::{make_instance_vmacs, Running};

/// Events taken in one go: a master adding a thousand addresses makes a
/// thousand, and each batch costs one pass over the instances.
const BATCH: usize = 256;

/// How often the table is checked against a fresh dump: netlink drops
/// events when a burst overflows the socket's buffer, and says so only
/// by ending the stream, if at all.
const RESYNC: Duration = Duration::from_secs(30);

type Events = Pin<Box<dyn Stream<Item = NetEvent>>>;

/// When to try again to make an instance's VMAC, and what was said.
pub(super) struct VmacRetry {
    backoff: Backoff,
    next: Instant,
    said: Option<String>,
}

/// The table and the subscription that keeps it current.
pub struct Followed {
    netlink: Netlink,
    table: Interfaces,
    events: Option<Events>,
    resubscribe: Backoff,
    next_resync: Instant,
}

impl Followed {
    /// Subscribes, then dumps: no change falls between the two.
    pub async fn start(netlink: Netlink) -> Result<Followed, NetlinkError> {
        let events: Events = Box::pin(netlink::subscribe()?);
        let table = Interfaces::dump(&netlink).await?;
        Ok(Followed {
            netlink,
            table,
            events: Some(events),
            resubscribe: DEFAULT_BACKOFF,
            next_resync: Instant::now() + RESYNC,
        })
    }

    pub fn table(&self) -> &Interfaces {
        &self.table
    }

    /// The next changes, applied to the table: an event as it comes; the
    /// differences a fresh dump shows, periodically and after the
    /// subscription ended (a new one is made, later and later while that
    /// fails). Cancel-safe: nothing is applied until it is returned.
    pub async fn next(&mut self) -> Vec<NetEvent> {
        loop {
            let Some(events) = self.events.as_mut() else {
                tokio::time::sleep(self.resubscribe.next_delay()).await;
                match netlink::subscribe() {
                    Ok(events) => {
                        self.events = Some(Box::pin(events));
                        self.resubscribe.reset();
                        tracing::info!("watching interfaces again");
                        return self.resync().await;
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot watch interfaces: {error}");
                        continue;
                    }
                }
            };
            tokio::select! {
                event = events.next() => match event {
                    Some(event) => {
                        self.table.apply(&event);
                        let mut batch = vec![event];
                        // And whatever else is queued already, without waiting.
                        while batch.len() < BATCH {
                            match events.next().now_or_never() {
                                Some(Some(event)) => {
                                    self.table.apply(&event);
                                    batch.push(event);
                                }
                                _ => break,
                            }
                        }
                        return batch;
                    }
                    None => {
                        tracing::error!("the netlink subscription for interfaces ended; making another");
                        self.events = None;
                    }
                },
                _ = tokio::time::sleep_until(self.next_resync) => return self.resync().await,
            }
        }
    }

    /// A fresh dump; returns what changed since the table was last told.
    pub async fn resync(&mut self) -> Vec<NetEvent> {
        self.next_resync = Instant::now() + RESYNC;
        match Interfaces::dump(&self.netlink).await {
            Ok(fresh) => {
                let changes = self.table.changes_to(&fresh);
                self.table = fresh;
                changes
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the interfaces: {error}");
                Vec::new()
            }
        }
    }
}

impl Running {
    /// Tells the actors what `events` (already in the table) change for
    /// them: instances first where they now send from, then the address
    /// and receive actors the link each name means (address actors pass
    /// link state on to instances, which must already be rebound).
    pub(super) fn follow(&mut self, events: &[NetEvent]) {
        if events.is_empty() {
            return;
        }
        // Our own virtual addresses coming and going say nothing of where
        // instances send from (the source is never a virtual address);
        // a master adding hundreds of them must not cost a pass each.
        let links_changed = events
            .iter()
            .any(|e| matches!(e, NetEvent::Link(_) | NetEvent::LinkRemoved { .. }));
        let addresses_changed: Vec<u32> = events
            .iter()
            .filter_map(|e| match e {
                NetEvent::AddressAdded { index, address }
                | NetEvent::AddressRemoved { index, address }
                    if !self.virtual_addresses.contains(&address.address) =>
                {
                    Some(*index)
                }
                _ => None,
            })
            .collect();
        if links_changed || !addresses_changed.is_empty() {
            self.rebind(links_changed, &addresses_changed);
        }
        if links_changed {
            self.relink();
        }
        // Addresses deleted behind our back, to the actors of those links.
        for event in events {
            if let NetEvent::AddressRemoved { index, address } = event {
                for linked in self.address_actors.values() {
                    if linked.link.as_ref().is_some_and(|l| l.index == *index) {
                        linked
                            .actor
                            .do_send(LinkChange::AddressGone(address.address));
                    }
                }
            }
        }
    }

    /// Tells instances where they send from now: every one after a link
    /// changed, else those whose interface had an address change.
    fn rebind(&mut self, all: bool, indices: &[u32]) {
        let table = self.interfaces.table();
        let bindings: Vec<_> = self
            .instances
            .values()
            .map(|i| {
                let touched = all
                    || table
                        .resolve(&i.settings.interface)
                        .is_some_and(|l| indices.contains(&l.info.index));
                touched.then(|| self.binding(&i.settings).map_err(|e| e.to_string()))
            })
            .collect();
        for (instance, binding) in self.instances.values_mut().zip(bindings) {
            let Some(binding) = binding else { continue };
            if binding != instance.binding {
                instance.binding = binding.clone();
                instance.actor.do_send(Rebind(binding));
            }
        }
    }

    /// A VMAC goes with its parent: when the parent is made again, so is
    /// the VMAC (keepalived does the same, vrrp_vmac.c). A failure is
    /// logged and tried again with backoff (1 s to 60 s).
    pub(super) async fn restore_vmacs(&mut self) {
        let table = self.interfaces.table();
        let now = Instant::now();
        // Each VMAC whose parent is there and that is not.
        let missing_of = |s: &crate::config::InstanceSettings| -> Vec<String> {
            s.vmac_names()
                .into_iter()
                .filter(|name| {
                    table.resolve(name).is_none()
                        && s.vmac_parent(name)
                            .is_some_and(|parent| table.resolve(parent).is_some())
                })
                .map(str::to_string)
                .collect()
        };
        let wanted = |i: &super::RunningInstance| !missing_of(&i.settings).is_empty();
        // A retry is kept only while its VMAC is still wanted, so that the
        // wake-up for the earliest one (next_vmac_retry) is never stale.
        let still_wanted: std::collections::HashSet<_> = self
            .instances
            .values()
            .filter(|i| wanted(i))
            .map(|i| i.settings.name.clone())
            .collect();
        self.vmac_retries
            .retain(|name, _| still_wanted.contains(name));
        let missing: Vec<_> = self
            .instances
            .values()
            .filter(|i| wanted(i))
            .filter(|i| {
                self.vmac_retries
                    .get(&i.settings.name)
                    .is_none_or(|retry| retry.next <= now)
            })
            .map(|i| i.settings.clone())
            .collect();
        if missing.is_empty() {
            return;
        }
        let mut made_any = false;
        for s in &missing {
            let names = missing_of(s);
            let only_missing = |name: &str| names.iter().any(|n| n == name);
            match make_instance_vmacs(s, &self.netlink, &mut self.made, only_missing).await {
                Ok(()) => {
                    self.vmac_retries.remove(&s.name);
                    made_any = true;
                    tracing::info!(instance = %s.name, "({}) its VMAC is made again on {}", s.name, s.interface);
                }
                Err(error) => {
                    // Tried again later and later (when due, or at an
                    // earlier change of links); said once per reason.
                    let retry =
                        self.vmac_retries
                            .entry(s.name.clone())
                            .or_insert_with(|| VmacRetry {
                                backoff: Backoff::new(
                                    Duration::from_secs(1),
                                    Duration::from_secs(60),
                                ),
                                next: now,
                                said: None,
                            });
                    retry.next = now + retry.backoff.next_delay();
                    let said = error.to_string();
                    if retry.said.as_ref() != Some(&said) {
                        tracing::warn!(instance = %s.name, %error, "({}) cannot make its VMAC again: {error}; trying again later", s.name);
                        retry.said = Some(said);
                    }
                }
            }
        }
        if made_any {
            let changes = self.interfaces.resync().await;
            self.follow(&changes);
        }
    }

    /// When the earliest VMAC that could not be made is due again: a
    /// failure with no later change of links is retried by this, not
    /// left to the next resync.
    pub(super) fn next_vmac_retry(&self) -> Option<Instant> {
        self.vmac_retries.values().map(|retry| retry.next).min()
    }

    /// Tells the address and receive actors which link each name means.
    fn relink(&mut self) {
        let table = self.interfaces.table();
        for (name, linked) in &mut self.address_actors {
            let now = table.resolve(name).map(|l| l.info.clone());
            if now != linked.link {
                linked.link = now.clone();
                linked.actor.do_send(LinkChange::Relink(now));
            }
        }
        for ((name, _), linked) in &mut self.interface_actors {
            let now = table.resolve(name).map(|l| l.info.clone());
            if now != linked.link {
                linked.link = now.clone();
                linked.actor.do_send(Relink(now));
            }
        }
    }
}
