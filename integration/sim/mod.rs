//! A simulated LAN of VRRP routers driven by a virtual clock.
//!
//! Every router runs the real `proto::Instance`; adverts are encoded to
//! bytes and decoded on receipt, so the codec is on the path too. Links
//! lose, delay and reorder packets from one seeded RNG, and partitions cut
//! the LAN into groups, so a run is a pure function of its seed. The
//! number of steps is bounded: a livelock fails the test instead of
//! hanging it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vipd::proto::{
    Action, Advert, Endpoints, Event, GroupTransition, Instance, InstanceParams, State,
    SyncCommand, SyncGroup, Transition,
};

/// How packets cross the LAN.
#[derive(Clone, Copy, Debug)]
pub struct LinkModel {
    pub loss: f64,
    pub latency: Duration,
    /// Extra delay drawn uniformly from 0..=jitter per packet; more jitter
    /// than the gap between adverts reorders them.
    pub jitter: Duration,
}

impl LinkModel {
    pub const CLEAN: LinkModel = LinkModel {
        loss: 0.0,
        latency: Duration::from_micros(200),
        jitter: Duration::from_micros(100),
    };
}

/// A state change seen on the LAN, at virtual time `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub at: Duration,
    pub router: usize,
    pub transition: Transition,
}

pub struct Router {
    pub params: InstanceParams,
    pub instance: Option<Instance>,
    pub holds_vips: bool,
    pub adverts_sent: u64,
    pub last_advert_sent: Option<Duration>,
    /// Partition group: packets only cross between routers in one group.
    group: u32,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    at: Duration,
    seq: u64,
    to: usize,
    source: IpAddr,
    bytes: Vec<u8>,
}

pub struct Lan {
    base: Instant,
    now: Duration,
    rng: ChaCha8Rng,
    link: LinkModel,
    in_flight: BinaryHeap<Reverse<Delivery>>,
    seq: u64,
    steps: u64,
    max_steps: u64,
    pub routers: Vec<Router>,
    pub log: Vec<Record>,
    /// Sync groups: the coordinator and its members' router indices.
    groups: Vec<(SyncGroup, Vec<usize>)>,
}

impl Lan {
    pub fn new(seed: u64, link: LinkModel) -> Lan {
        Lan {
            base: Instant::now(),
            now: Duration::ZERO,
            rng: ChaCha8Rng::seed_from_u64(seed),
            link,
            in_flight: BinaryHeap::new(),
            seq: 0,
            steps: 0,
            max_steps: 5_000_000,
            routers: Vec::new(),
            log: Vec::new(),
            groups: Vec::new(),
        }
    }

    pub fn now(&self) -> Duration {
        self.now
    }

    pub fn set_link(&mut self, link: LinkModel) {
        self.link = link;
    }

    pub fn add(&mut self, params: InstanceParams) -> usize {
        self.routers.push(Router {
            params,
            instance: None,
            holds_vips: false,
            adverts_sent: 0,
            last_advert_sent: None,
            group: 0,
        });
        self.routers.len() - 1
    }

    /// Makes `members` (routers added with `sync_member` set) one sync group.
    pub fn sync_group(&mut self, members: &[usize]) -> usize {
        self.groups
            .push((SyncGroup::new(members.len()), members.to_vec()));
        self.groups.len() - 1
    }

    pub fn group_state(&self, g: usize) -> State {
        self.groups[g].0.state()
    }

    /// Router `i`'s group and its place in it.
    fn membership(&self, i: usize) -> Option<(usize, usize)> {
        self.groups
            .iter()
            .enumerate()
            .find_map(|(g, (_, members))| {
                members.iter().position(|&m| m == i).map(|place| (g, place))
            })
    }

    /// Carries a group's commands to its members, as the sync group actor does.
    fn command_members(
        &mut self,
        g: usize,
        outcome: (Vec<(usize, SyncCommand)>, Option<GroupTransition>),
    ) {
        for (place, command) in outcome.0 {
            let router = self.groups[g].1[place];
            self.event(router, Event::Sync(command));
        }
    }

    /// Starts (or restarts) router `i` now.
    pub fn start(&mut self, i: usize) {
        let instance = Instance::new(self.routers[i].params.clone()).expect("valid params");
        self.routers[i].instance = Some(instance);
        self.event(i, Event::Startup);
    }

    /// The process dies: nothing more is sent, nothing is cleaned up.
    pub fn crash(&mut self, i: usize) {
        self.routers[i].instance = None;
        self.routers[i].holds_vips = false;
    }

    /// Graceful stop: the Shutdown event's actions go out, then it is gone.
    pub fn stop(&mut self, i: usize) {
        self.event(i, Event::Shutdown);
        self.routers[i].instance = None;
    }

    pub fn event(&mut self, i: usize, event: Event) {
        let now = self.instant();
        if let Some(instance) = self.routers[i].instance.as_mut() {
            instance.handle_event(now, event);
        }
        self.drain(i);
    }

    /// Routers in group `g[i]` hear only each other.
    pub fn partition(&mut self, groups: &[u32]) {
        for (router, &group) in self.routers.iter_mut().zip(groups) {
            router.group = group;
        }
    }

    pub fn heal(&mut self) {
        self.routers.iter_mut().for_each(|r| r.group = 0);
    }

    pub fn state(&self, i: usize) -> Option<State> {
        self.routers[i].instance.as_ref().map(Instance::state)
    }

    pub fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| self.state(i) == Some(State::Master))
            .collect()
    }

    pub fn vip_holders(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| self.routers[i].holds_vips)
            .collect()
    }

    pub fn transitions_since(&self, since: Duration) -> Vec<&Record> {
        self.log.iter().filter(|r| r.at >= since).collect()
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) {
        let until = self.now + duration;
        self.run_until(until, |_| false);
    }

    /// Runs until `done` holds (checked after every step) or virtual time
    /// `deadline`; returns the time `done` first held.
    pub fn run_until(
        &mut self,
        deadline: Duration,
        mut done: impl FnMut(&Lan) -> bool,
    ) -> Option<Duration> {
        if done(self) {
            return Some(self.now);
        }
        loop {
            let next_timer = self
                .routers
                .iter()
                .filter_map(|r| r.instance.as_ref()?.poll_timeout())
                .min()
                .map(|t| t.duration_since(self.base));
            let next_delivery = self.in_flight.peek().map(|Reverse(d)| d.at);
            let next = match (next_timer, next_delivery) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > deadline {
                break;
            }
            self.now = self.now.max(next);
            self.steps += 1;
            assert!(
                self.steps < self.max_steps,
                "livelock: {} steps by {:?}",
                self.steps,
                self.now
            );

            if next_delivery == Some(next) {
                let Reverse(delivery) = self.in_flight.pop().expect("peeked");
                self.deliver(delivery);
            } else {
                let now = self.instant();
                for i in 0..self.routers.len() {
                    let due = self.routers[i]
                        .instance
                        .as_ref()
                        .and_then(Instance::poll_timeout);
                    if due.is_some_and(|t| t <= now) {
                        self.routers[i]
                            .instance
                            .as_mut()
                            .expect("live")
                            .handle_timeout(now);
                        self.drain(i);
                    }
                }
            }
            if done(self) {
                return Some(self.now);
            }
        }
        self.now = self.now.max(deadline);
        None
    }

    fn instant(&self) -> Instant {
        self.base + self.now
    }

    fn deliver(&mut self, delivery: Delivery) {
        let to = delivery.to;
        let now = self.instant();
        let endpoints = Endpoints::multicast_from(delivery.source);
        let Some(instance) = self.routers[to].instance.as_mut() else {
            return;
        };
        let decoded = Advert::decode_received(&delivery.bytes, &endpoints, 255);
        instance.handle_packet(now, delivery.source, decoded);
        self.drain(to);
    }

    fn drain(&mut self, i: usize) {
        loop {
            let Some(action) = self.routers[i]
                .instance
                .as_mut()
                .and_then(Instance::poll_action)
            else {
                return;
            };
            match action {
                Action::SendAdvert(advert) => self.send(i, &advert),
                Action::AddVips { .. } => self.routers[i].holds_vips = true,
                Action::RemoveVips { .. } => self.routers[i].holds_vips = false,
                Action::Notify(transition) => {
                    let to = transition.to;
                    self.log.push(Record {
                        at: self.now,
                        router: i,
                        transition,
                    });
                    if let Some((g, place)) = self.membership(i) {
                        let outcome = self.groups[g].0.entered(place, to);
                        self.command_members(g, outcome);
                    }
                }
                Action::SyncReport(report) => {
                    if let Some((g, place)) = self.membership(i) {
                        let outcome = self.groups[g].0.report(place, report);
                        self.command_members(g, outcome);
                    }
                }
                // The simulated routers are not fenced.
                Action::Announce { .. }
                | Action::ExtendVips { .. }
                | Action::AcquireFence
                | Action::ReleaseFence
                | Action::PriorityChanged { .. }
                | Action::MasterRxLowerPriority { .. }
                | Action::ClockSkew { .. } => {}
            }
        }
    }

    fn send(&mut self, from: usize, advert: &Advert) {
        let source = self.routers[from].params.primary_address;
        let bytes = advert
            .encode(&Endpoints::multicast_from(source))
            .expect("core adverts encode");
        self.routers[from].adverts_sent += 1;
        self.routers[from].last_advert_sent = Some(self.now);
        for to in 0..self.routers.len() {
            if to == from || self.routers[to].group != self.routers[from].group {
                continue;
            }
            if self.link.loss > 0.0 && self.rng.gen_bool(self.link.loss) {
                continue;
            }
            let jitter_ns = self.link.jitter.as_nanos() as u64;
            let jitter = Duration::from_nanos(if jitter_ns == 0 {
                0
            } else {
                self.rng.gen_range(0..=jitter_ns)
            });
            self.seq += 1;
            self.in_flight.push(Reverse(Delivery {
                at: self.now + self.link.latency + jitter,
                seq: self.seq,
                to,
                source,
                bytes: bytes.clone(),
            }));
        }
    }
}
