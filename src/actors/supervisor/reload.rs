//! Reload (SIGHUP): the configuration is read and checked on a thread of
//! its own, since reading follows includes and globs and checking looks
//! users up (NSS may ask LDAP) and inspects scripts: work that must never
//! hold up the thread that sends adverts. Only the reading's result comes
//! back to that thread, and applying it is the async diff below.

use std::sync::Arc;

use thiserror::Error;
use tokio::sync::oneshot;

use crate::config::{ConfigError, ConfigErrors, InstanceSettings, Settings};
use crate::log::phrases::Subject;
use crate::proto::TrackerEffect;

use super::super::address::Unwatch;
use super::super::health::TrackerUpdate;
use super::super::instance::{Retire, SetAuthHmac, SetNotifier, SetSetup, WriteStateToFifo};
use super::super::sync_group::WriteStateToFifo as GroupStateToFifo;
use super::{make_vmacs, Reread, Running, StartError, SHUTDOWN_GRACE};

/// The reloads asked for: at most one being read at a time; a SIGHUP
/// that comes meanwhile is served by one more read after it.
#[derive(Default)]
pub(super) struct Reloads {
    /// Every read started since start, applied or refused.
    sequence: u64,
    reading: Option<oneshot::Receiver<Result<Settings, ConfigErrors>>>,
    again: bool,
}

impl Reloads {
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    pub fn pending(&self) -> bool {
        self.reading.is_some()
    }

    /// A reload asked for: read now, or after the read under way.
    pub fn ask(&mut self, reread: &Reread) -> Result<(), ReloadError> {
        if self.reading.is_some() {
            tracing::info!("a reload is being read; one more read follows it");
            self.again = true;
            return Ok(());
        }
        self.start(reread)
    }

    /// After a read is applied: the one more that was asked for meanwhile.
    pub fn again(&mut self, reread: &Reread) -> Result<(), ReloadError> {
        if std::mem::take(&mut self.again) {
            self.start(reread)
        } else {
            Ok(())
        }
    }

    fn start(&mut self, reread: &Reread) -> Result<(), ReloadError> {
        self.sequence += 1;
        let (done, reading) = oneshot::channel();
        let reread = Arc::clone(reread);
        std::thread::Builder::new()
            .name("vipd-reload".into())
            .spawn(move || {
                let _ = done.send(reread());
            })
            .map_err(|error| {
                ReloadError::Refused(format!("cannot start reading the configuration: {error}"))
            })?;
        self.reading = Some(reading);
        Ok(())
    }

    /// The next configuration read; never ready while none is being read.
    /// Cancel-safe: a read not yet finished stays pending.
    pub async fn read(&mut self) -> Result<Settings, ConfigErrors> {
        let Some(reading) = self.reading.as_mut() else {
            return std::future::pending().await;
        };
        let read = reading.await;
        self.reading = None;
        read.unwrap_or_else(|_| {
            Err(ConfigErrors(vec![ConfigError {
                file: None,
                line: None,
                key: String::new(),
                message: "reading the configuration stopped unexpectedly (a bug: please report it)"
                    .into(),
            }]))
        })
    }
}

impl Running {
    /// Applies a new configuration in place (SIGHUP). An instance whose
    /// settings did not change keeps running untouched: no transition, no
    /// gap in its adverts. One whose notify settings or trackers changed
    /// keeps running with the new ones. Any other change replaces the
    /// instance: it stops as at exit (a master sends priority 0 and
    /// removes its addresses), then starts anew. Removed instances stop
    /// the same way; added ones start. What cannot change without a
    /// restart (the control socket, the metrics endpoint, snmp, sync groups)
    /// refuses the whole reload, and the old configuration keeps running;
    /// so does a configuration with no instance left.
    pub async fn reload(&mut self, new: Settings) -> Result<String, ReloadError> {
        let Settings {
            instances: wanted,
            health,
            warnings: _,
            sync_groups,
            control_socket,
            metrics,
            snmp,
            quorum,
            firewall,
            // keepalived delays only its first start (vrrp_daemon.c).
            startup_delay: _,
            delay_after_boot: _,
            garp,
            fifo_states_on_reload,
            fifo_script,
            log_unknown_vrids,
        } = new;
        if wanted.is_empty() {
            // Valid at start (the packaged file as shipped), but a reload
            // to nothing is far likelier a typo (a misspelt block, an
            // include that matched nothing) than a wish to drop every VIP.
            return Err(ReloadError::Refused(
                "no instance configured: a reload would stop every instance; stop vipd to release every VIP".into(),
            ));
        }
        if control_socket != self.control_socket {
            return Err(ReloadError::Refused(format!(
                "control_socket changed ({} to {}): restart vipd to apply it",
                self.control_socket.display(),
                control_socket.display()
            )));
        }
        if metrics != self.metrics {
            return Err(ReloadError::Refused(
                "metrics.listen changed: restart vipd to apply it".into(),
            ));
        }
        if snmp != self.snmp {
            return Err(ReloadError::Refused(
                "snmp changed: restart vipd to apply it".into(),
            ));
        }
        if quorum.as_ref() != self.quorum.as_ref().map(|(settings, ..)| settings) {
            return Err(ReloadError::Refused(
                "quorum changed: restart vipd to apply it".into(),
            ));
        }
        if fifo_script.as_ref() != self.fifo_script.as_ref().map(|(reader, _)| reader) {
            return Err(ReloadError::Refused(
                "notify_fifo_script or notify_fifo changed: restart vipd to apply it".into(),
            ));
        }
        if firewall != self.firewall {
            return Err(ReloadError::Refused(
                "nftables changed: restart vipd to apply it".into(),
            ));
        }
        if sync_groups != self.sync_groups {
            return Err(ReloadError::Refused(
                "sync groups changed: restart vipd to apply them".into(),
            ));
        }
        let mut plan = ReloadPlan::default();
        let wanted_names: Vec<&str> = wanted.iter().map(|s| s.name.as_str()).collect();
        for name in self.instances.keys() {
            if !wanted_names.contains(&name.as_str()) {
                plan.removed.push(name.clone());
            }
        }
        for s in wanted {
            let Some(old) = self.instances.get(&s.name) else {
                plan.added.push(s);
                continue;
            };
            // The state it started in stays its initial state while it
            // runs on, and a change to `state` alone (which vipd only
            // reports) replaces nothing.
            let mut kept = s.clone();
            kept.configured_master = old.settings.configured_master;
            if old.settings == kept {
                plan.unchanged += 1;
            } else if same_but_health(&old.settings, &kept) {
                plan.adjusted.push(kept);
            } else {
                plan.replaced.push(s);
            }
        }
        // The kernel's interfaces as they are now, not as they were at
        // start: a moved address or a re-created link is seen here.
        let changes = self.interfaces.resync().await;
        self.follow(&changes);
        // New interfaces first: a missing one, or one without an address
        // to send from, refuses the reload before anything stops. (A
        // VMAC is made later, so only its parent is checked now.)
        let starting: Vec<InstanceSettings> =
            plan.added.iter().chain(&plan.replaced).cloned().collect();
        let starting_names: Vec<String> = starting.iter().map(|s| s.name.clone()).collect();
        for s in &starting {
            self.startable(s)
                .map_err(|e| ReloadError::Refused(e.to_string()))?;
        }
        // Accepted: new spacing where it changed (address actors started
        // below take it from self.garp).
        if garp != self.garp {
            for (name, linked) in &self.address_actors {
                // A VMAC is spaced as its parent (start_address_actors).
                let parent = self
                    .instances
                    .values()
                    .find_map(|i| i.settings.vmac_parent(name))
                    .unwrap_or(name.as_str());
                let spacing = self.garp.for_interface(parent);
                let wanted = garp.for_interface(parent);
                if spacing != wanted {
                    linked
                        .actor
                        .do_send(crate::actors::address::SetSpacing(wanted));
                }
            }
            self.garp = garp;
        }
        // Told to every receiver with its routes (wire_reach, below).
        self.log_unknown_vrids = log_unknown_vrids;

        // Stop what goes, and what is replaced, before starting anything
        // that may use the same VRID or VMAC.
        let leaving: Vec<String> = plan
            .removed
            .iter()
            .cloned()
            .chain(plan.replaced.iter().map(|s| s.name.clone()))
            .collect();
        let mut retiring = Vec::new();
        for name in &leaving {
            if let Some(old) = self.instances.remove(name) {
                for address in self.address_actors.values() {
                    address
                        .actor
                        .do_send(Unwatch(old.actor.clone().recipient()));
                }
                let deleted = plan.removed.contains(name);
                retiring.push((old.settings, old.actor.send(Retire { deleted })));
            }
        }
        // The receivers, groups and status stop reaching them now.
        self.wire_reach();
        let (settings, replies): (Vec<_>, Vec<_>) = retiring.into_iter().unzip();
        if tokio::time::timeout(SHUTDOWN_GRACE, futures::future::join_all(replies))
            .await
            .is_err()
        {
            tracing::warn!("some instances did not finish stopping in {SHUTDOWN_GRACE:?}");
        }
        for s in &settings {
            for vmac in s.vmac_names() {
                if let Err(error) = self.netlink.delete_link(vmac).await {
                    tracing::warn!(%vmac, %error, "cannot remove VMAC {vmac}: {error}");
                }
                self.made.vmacs.retain(|v| v != vmac);
            }
        }
        let changes = self.interfaces.resync().await;
        self.follow(&changes);

        for s in &plan.adjusted {
            let running = self
                .instances
                .get_mut(&s.name)
                .expect("adjusted instances run");
            if running.settings.notify != s.notify {
                let notifier = (!s.notify.is_empty()).then(|| {
                    self.notifiers
                        .for_subject(Subject::Instance(s.name.clone()), s.notify.clone())
                });
                running.actor.do_send(SetNotifier(notifier));
            }
            if running.settings.auth_hmac() != s.auth_hmac() {
                running.actor.do_send(SetAuthHmac(s.auth_hmac().cloned()));
            }
            // A tracker no longer tracked stops counting.
            for old in &running.settings.trackers {
                let still = s
                    .trackers
                    .iter()
                    .any(|t| t.kind() == old.kind() && t.name() == old.name());
                if !still {
                    running.actor.do_send(TrackerUpdate {
                        name: old.key(),
                        effect: TrackerEffect::Neutral,
                    });
                }
            }
            if running.settings.notify != s.notify || running.settings.trackers != s.trackers {
                let group = self
                    .sync_groups
                    .iter()
                    .find(|g| g.members.contains(&s.name))
                    .map(|g| g.name.clone());
                running.actor.do_send(SetSetup {
                    settings: Box::new(s.clone()),
                    group,
                });
            }
            running.settings = s.clone();
        }
        // Past the point of no return: an instance that cannot start now
        // is reported, and the others still start.
        let mut failed = Vec::new();
        for s in starting {
            let name = s.name.clone();
            if let Err(error) = self.start_fresh(s).await {
                tracing::error!(instance = %name, %error, "({name}) cannot start after the reload: {error}");
                failed.push(format!("{name}: {error}"));
            }
        }
        self.health_settings = health;
        self.wire();
        // vrrp_scheduler.c vrrp_init_state: what a reload kept writes its
        // state to the FIFO again, if asked.
        if fifo_states_on_reload {
            for (name, running) in &self.instances {
                let kept = !starting_names.contains(name);
                if kept {
                    running.actor.do_send(WriteStateToFifo);
                }
            }
            for (group, _) in &self.group_actors {
                group.do_send(GroupStateToFifo);
            }
        }
        let subjects: Vec<Subject> = self
            .instances
            .keys()
            .map(|n| Subject::Instance(n.clone()))
            .chain(
                self.sync_groups
                    .iter()
                    .map(|g| Subject::Group(g.name.clone())),
            )
            .collect();
        let fifos: Vec<_> = self
            .instances
            .values()
            .filter_map(|i| i.settings.notify.fifo.clone())
            .chain(
                self.sync_groups
                    .iter()
                    .filter_map(|g| g.notify.fifo.clone()),
            )
            .collect();
        self.notifiers.keep_only(&subjects, &fifos);
        if failed.is_empty() {
            Ok(plan.summary())
        } else {
            Err(ReloadError::Partial(format!(
                "{}; but these did not start: {}",
                plan.summary(),
                failed.join("; ")
            )))
        }
    }

    /// An instance that was not running: its VMAC, its links, its actor.
    async fn start_fresh(&mut self, s: InstanceSettings) -> Result<(), StartError> {
        if !s.vmac_names().is_empty() {
            // Past the point of no return, a VMAC that cannot be made
            // leaves the instance in FAULT saying so, tried again later
            // (restore_vmacs), rather than gone from status.
            if let Err(error) =
                make_vmacs(std::slice::from_ref(&s), &self.netlink, &mut self.made).await
            {
                let name = &s.name;
                tracing::error!(instance = %name, %error, "({name}) {error}; it starts in FAULT and its VMAC is tried again later");
            }
            // The new VMAC is a link of its own: into the table now.
            let changes = self.interfaces.resync().await;
            self.follow(&changes);
        }
        self.start_address_actors(std::slice::from_ref(&s))?;
        self.start_instance(s, std::time::Duration::ZERO)
    }
}

/// Why a reload did not apply as asked.
#[derive(Debug, Error)]
pub enum ReloadError {
    /// Nothing changed: the old configuration keeps running.
    #[error("{0}")]
    Refused(String),
    /// Some of it applied: what changed, and what could not start.
    #[error("{0}")]
    Partial(String),
}

/// What a reload does to each instance.
#[derive(Default)]
struct ReloadPlan {
    unchanged: usize,
    /// Notify settings, trackers or auth_hmac changed: updated in place.
    adjusted: Vec<InstanceSettings>,
    /// Anything else changed: stopped and started again.
    replaced: Vec<InstanceSettings>,
    added: Vec<InstanceSettings>,
    removed: Vec<String>,
}

impl ReloadPlan {
    fn summary(&self) -> String {
        let names = |list: &[InstanceSettings]| {
            list.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = vec![format!("{} unchanged", self.unchanged)];
        for (what, list) in [
            ("updated in place", names(&self.adjusted)),
            ("restarted", names(&self.replaced)),
            ("added", names(&self.added)),
            ("removed", self.removed.join(", ")),
        ] {
            if !list.is_empty() {
                parts.push(format!("{what}: {list}"));
            }
        }
        parts.join("; ")
    }
}

/// The same instance but for what can change while it runs: its notify
/// settings and its trackers.
fn same_but_health(old: &InstanceSettings, new: &InstanceSettings) -> bool {
    let mut old = old.clone();
    old.notify = new.notify.clone();
    old.trackers = new.trackers.clone();
    // Keys rotate and modes step through a rollout on a running cluster:
    // an instance restarted for it would flap (keepalived 2.4 documents
    // both as reloads).
    old.set_auth_hmac(new.auth_hmac().cloned());
    old == *new
}
