//! The fault schedule: which fault, on which host, from when to when. It is
//! drawn once from a seed, before anything runs, so one seed gives the same
//! schedule against vipd and against keepalived, and reproduces a run.
//!
//! Faults come in storms and calms. In a storm a new fault starts every
//! 0.2-2.5 s while fewer than [`MAX_OVERLAP`] lasting faults are active;
//! after it, nothing happens until every fault has ended and then for the
//! settle time plus 1-4 s more, so each storm is followed by a quiet window
//! the judge can hold to "exactly one holder, the best live host".

use std::fmt;
use std::time::Duration;

/// At most this many lasting faults at once (the "up to three").
pub const MAX_OVERLAP: usize = 3;

/// A source of uniform random numbers: the bench supplies a seeded ChaCha
/// generator (rand is a dev-dependency, so the library only sees this).
pub trait Dice {
    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// SIGKILL, then the daemon is started again at the end.
    Kill,
    /// SIGTERM, then the daemon is started again at the end.
    Terminate,
    /// SIGSTOP, then SIGCONT at the end.
    Freeze,
    /// Silent partition: the switch drops everything to and from the
    /// host's port; the host's link stays up.
    Partition,
    /// The host's port on the switch set down: its eth0 loses carrier.
    PortDown,
    /// The VIP deleted by hand (`ip addr del`) on whoever holds it.
    DeleteVip,
    /// SIGHUP with the file unchanged.
    ReloadUnchanged,
    /// VI_2 added and SIGHUP; removed and SIGHUP at the end.
    ReloadAddInstance,
    /// A file cut off mid-instance (a syntax error) and SIGHUP; the good
    /// file restored and SIGHUP at the end.
    ReloadBroken,
}

impl FaultKind {
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Kill,
        FaultKind::Terminate,
        FaultKind::Freeze,
        FaultKind::Partition,
        FaultKind::PortDown,
        FaultKind::DeleteVip,
        FaultKind::ReloadUnchanged,
        FaultKind::ReloadAddInstance,
        FaultKind::ReloadBroken,
    ];

    /// Acts on the daemon process (signals, its file): one such fault per
    /// host at a time, so a restart never meets a broken file or a stop.
    pub fn is_process(self) -> bool {
        !matches!(
            self,
            FaultKind::Partition | FaultKind::PortDown | FaultKind::DeleteVip
        )
    }

    pub fn is_network(self) -> bool {
        matches!(self, FaultKind::Partition | FaultKind::PortDown)
    }

    pub fn is_reload(self) -> bool {
        matches!(
            self,
            FaultKind::ReloadUnchanged | FaultKind::ReloadAddInstance | FaultKind::ReloadBroken
        )
    }

    /// Happens at one moment (no end of its own).
    pub fn is_instant(self) -> bool {
        matches!(self, FaultKind::DeleteVip | FaultKind::ReloadUnchanged)
    }

    /// How long a lasting fault lasts, in milliseconds, lowest and highest.
    /// Freezes go from below Master_Down_Interval (0.36 s here: the others
    /// may or may not notice) to well above it; down times and partitions
    /// long enough for a takeover and a return.
    fn duration_ms(self) -> (u64, u64) {
        match self {
            FaultKind::Kill | FaultKind::Terminate => (300, 5000),
            FaultKind::Freeze => (100, 4000),
            FaultKind::Partition | FaultKind::PortDown => (300, 5000),
            FaultKind::ReloadAddInstance => (500, 6000),
            FaultKind::ReloadBroken => (500, 4000),
            FaultKind::DeleteVip | FaultKind::ReloadUnchanged => (0, 0),
        }
    }

    /// Short name for tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "sigkill",
            FaultKind::Terminate => "sigterm",
            FaultKind::Freeze => "sigstop",
            FaultKind::Partition => "partition",
            FaultKind::PortDown => "port_down",
            FaultKind::DeleteVip => "vip_deleted",
            FaultKind::ReloadUnchanged => "reload_unchanged",
            FaultKind::ReloadAddInstance => "reload_add_remove",
            FaultKind::ReloadBroken => "reload_broken",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Its number in the schedule, from 1, as the timeline names it.
    pub id: usize,
    pub kind: FaultKind,
    /// The host it acts on (from 1); `DeleteVip` picks the holder when it
    /// runs and has none.
    pub host: Option<usize>,
    /// From the start of the judged run.
    pub start: Duration,
    /// Equal to `start` for instant faults.
    pub end: Duration,
    /// A random number drawn with the schedule, for choices made when it
    /// runs (which holder loses its VIP), so those are seeded too.
    pub pick: u64,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FaultKind::Kill => "SIGKILL and restart",
            FaultKind::Terminate => "SIGTERM and restart",
            FaultKind::Freeze => "SIGSTOP until SIGCONT",
            FaultKind::Partition => "partition (dropped on the switch)",
            FaultKind::PortDown => "port down on the switch",
            FaultKind::DeleteVip => "VIP deleted by hand",
            FaultKind::ReloadUnchanged => "reload, file unchanged",
            FaultKind::ReloadAddInstance => "reload adding VI_2, removed later",
            FaultKind::ReloadBroken => "reload of a broken file, restored later",
        };
        write!(f, "#{} {what}", self.id)?;
        if let Some(host) = self.host {
            write!(f, " on h{host}")?;
        }
        if self.kind.is_instant() {
            write!(f, " at {:.3} s", self.start.as_secs_f64())
        } else {
            write!(
                f,
                " {:.3}-{:.3} s",
                self.start.as_secs_f64(),
                self.end.as_secs_f64()
            )
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleOptions {
    pub hosts: usize,
    /// The run's length; every fault ends before it.
    pub length: Duration,
    /// The judge's settle time: calms last at least this plus 1 s.
    pub settle: Duration,
    /// A host's next process fault starts at least this long after its
    /// last one ended: a restarted daemon gets to finish starting.
    pub cooldown: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub length: Duration,
    /// Ordered by start.
    pub faults: Vec<Fault>,
}

impl Schedule {
    /// How many faults of `kind` it holds.
    pub fn count(&self, kind: FaultKind) -> usize {
        self.faults.iter().filter(|f| f.kind == kind).count()
    }

    /// The lasting faults active at `at` (start inclusive, end exclusive).
    pub fn active_at(&self, at: Duration) -> impl Iterator<Item = &Fault> {
        self.faults
            .iter()
            .filter(move |f| !f.kind.is_instant() && f.start <= at && at < f.end)
    }
}

fn ms(dice: &mut impl Dice, low: u64, high: u64) -> Duration {
    Duration::from_millis(low + dice.below(high - low + 1))
}

/// Draws a schedule. The kinds come from a shuffled deck of all nine,
/// reshuffled when used up, so every kind appears about equally often
/// in a run of any length.
pub fn generate(dice: &mut impl Dice, options: &ScheduleOptions) -> Schedule {
    let mut faults: Vec<Fault> = Vec::new();
    let mut deck: Vec<FaultKind> = Vec::new();
    // Room at the end for the longest fault and a last quiet window.
    let longest = FaultKind::ALL
        .iter()
        .map(|k| k.duration_ms().1)
        .max()
        .unwrap_or(0);
    let last_start = options
        .length
        .saturating_sub(Duration::from_millis(longest) + options.settle * 2);
    let calm = |dice: &mut _| options.settle + ms(dice, 1000, 4000);
    let mut t = calm(dice);
    while t < last_start {
        let storm_end = t + ms(dice, 4000, 15000);
        while t < storm_end && t < last_start {
            let lasting = faults
                .iter()
                .filter(|f| !f.kind.is_instant() && f.start <= t && t < f.end)
                .count();
            if lasting < MAX_OVERLAP {
                if let Some(fault) = draw(dice, &mut deck, &faults, t, options) {
                    faults.push(fault);
                }
            }
            t += ms(dice, 200, 2500);
        }
        let quiet_from = faults.iter().map(|f| f.end).max().unwrap_or(t).max(t);
        t = quiet_from + calm(dice);
    }
    Schedule {
        length: options.length,
        faults,
    }
}

/// The next kind from the deck that fits on some host at `t`, with its
/// host and times; the kinds passed over stay in the deck.
fn draw(
    dice: &mut impl Dice,
    deck: &mut Vec<FaultKind>,
    faults: &[Fault],
    t: Duration,
    options: &ScheduleOptions,
) -> Option<Fault> {
    if deck.is_empty() {
        *deck = FaultKind::ALL.to_vec();
        // Fisher-Yates.
        for i in (1..deck.len()).rev() {
            let j = dice.below(i as u64 + 1) as usize;
            deck.swap(i, j);
        }
    }
    for position in 0..deck.len() {
        let kind = deck[position];
        let hosts: Vec<usize> = (1..=options.hosts)
            .filter(|&h| fits(kind, h, faults, t, options))
            .collect();
        if kind != FaultKind::DeleteVip && hosts.is_empty() {
            continue;
        }
        deck.remove(position);
        let host =
            (kind != FaultKind::DeleteVip).then(|| hosts[dice.below(hosts.len() as u64) as usize]);
        let (low, high) = kind.duration_ms();
        let end = t + ms(dice, low, high);
        return Some(Fault {
            id: faults.len() + 1,
            kind,
            host,
            start: t,
            end,
            pick: dice.below(u64::from(u32::MAX)),
        });
    }
    None
}

/// Whether a fault of `kind` may start on `host` at `t`: one process fault
/// and one network fault per host at a time, and a process fault only
/// `cooldown` after the host's last one ended.
fn fits(kind: FaultKind, host: usize, faults: &[Fault], t: Duration, o: &ScheduleOptions) -> bool {
    faults.iter().filter(|f| f.host == Some(host)).all(|f| {
        if kind.is_process() && f.kind.is_process() {
            f.end + o.cooldown <= t
        } else if kind.is_network() && f.kind.is_network() {
            f.end <= t
        } else {
            true
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    struct Seeded(ChaCha8Rng);

    impl Dice for Seeded {
        fn below(&mut self, n: u64) -> u64 {
            self.0.gen_range(0..n)
        }
    }

    fn options(seconds: u64) -> ScheduleOptions {
        ScheduleOptions {
            hosts: 3,
            length: Duration::from_secs(seconds),
            settle: Duration::from_secs(2),
            cooldown: Duration::from_secs(1),
        }
    }

    fn schedule(seed: u64, seconds: u64) -> Schedule {
        generate(
            &mut Seeded(ChaCha8Rng::seed_from_u64(seed)),
            &options(seconds),
        )
    }

    #[test]
    fn one_seed_one_schedule_and_another_seed_another() {
        assert_eq!(schedule(7, 120), schedule(7, 120));
        assert_ne!(schedule(7, 120), schedule(8, 120));
    }

    #[test]
    fn never_more_than_three_lasting_faults_and_they_do_overlap() {
        let mut most = 0;
        for seed in 0..20 {
            let s = schedule(seed, 300);
            for f in &s.faults {
                let at_start = s.active_at(f.start).count();
                assert!(at_start <= MAX_OVERLAP, "seed {seed}: {at_start} at {f}");
                most = most.max(at_start);
            }
        }
        assert_eq!(most, MAX_OVERLAP, "faults never overlapped three deep");
    }

    #[test]
    fn a_host_carries_one_process_and_one_network_fault_at_most() {
        for seed in 0..20 {
            let s = schedule(seed, 300);
            for (i, a) in s.faults.iter().enumerate() {
                for b in &s.faults[i + 1..] {
                    if a.host.is_none() || a.host != b.host {
                        continue;
                    }
                    if a.kind.is_process() && b.kind.is_process() {
                        assert!(a.end + Duration::from_secs(1) <= b.start, "{a} / {b}");
                    }
                    if a.kind.is_network() && b.kind.is_network() {
                        assert!(a.end <= b.start, "{a} / {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_kind_appears_and_everything_ends_inside_the_run() {
        let s = schedule(1, 180);
        for kind in FaultKind::ALL {
            assert!(s.count(kind) > 0, "no {kind:?} in {:#?}", s.faults);
        }
        for f in &s.faults {
            assert!(f.start <= f.end && f.end < s.length, "{f}");
            assert_eq!(f.host.is_none(), f.kind == FaultKind::DeleteVip, "{f}");
            assert_eq!(f.kind.is_instant(), f.start == f.end, "{f}");
        }
    }

    #[test]
    fn storms_are_followed_by_calms_longer_than_the_settle_time() {
        let s = schedule(3, 300);
        let mut calms = 0;
        let mut busy_until = Duration::ZERO;
        for f in &s.faults {
            if f.start >= busy_until + Duration::from_secs(3) {
                calms += 1;
            }
            busy_until = busy_until.max(f.end);
        }
        assert!(calms >= 5, "only {calms} calms in 300 s");
        assert!(s.faults[0].start >= Duration::from_secs(3));
    }

    #[test]
    fn a_short_run_has_no_faults_rather_than_faults_past_its_end() {
        assert!(schedule(1, 5).faults.is_empty());
    }
}
