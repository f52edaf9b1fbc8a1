//! The judge: a pure function from what happened (who held the VIP when,
//! what the schedule did to which host, which daemons exited) to the
//! violations of four rules.
//!
//! 1. In every quiet window, exactly one holder, and it is the best live
//!    host. A window is quiet when no host is faulted and nothing changed
//!    (a fault began or ended, a reload, a VIP deleted, a restart) within
//!    the settle time.
//! 2. Two holders or more at once only where all but one of them are
//!    faulted (down, starting, frozen, cut off): never two healthy ones
//!    for longer than the handover grace.
//! 3. Whenever some host is live, a live host holds the VIP within
//!    `live_within`: no stretch longer than that with live hosts and no
//!    live holder.
//! 4. No daemon exits unless the schedule killed or terminated it.
//!
//! The times are the bench's (from the start of the judged run); the
//! defaults and why they are what they are: [`Settings::default`].

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// What the schedule, or a crash, did to one host for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Its daemon was killed or terminated by the schedule and is not
    /// running again yet (a SIGKILL leaves the VIP behind: allowed).
    Down,
    /// Just (re)started: its daemon cannot have cleaned up yet.
    Starting,
    /// SIGSTOPped.
    Frozen,
    /// Cut off from the others (dropped on the switch, or its port down).
    Isolated,
    /// Its daemon exited without the schedule asking, until restarted. Not
    /// an excuse for holding: a VIP left behind by a crash is split brain.
    Crashed,
    /// Runs with a file the schedule changed (VI_2 added, or a broken file
    /// it must refuse). Healthy: excuses nothing, and the window after the
    /// reload settles is judged like any other.
    Reconfigured,
}

impl Condition {
    /// A holder in this condition may share the VIP (rule 2).
    fn excuses_holding(self) -> bool {
        matches!(
            self,
            Condition::Down | Condition::Starting | Condition::Frozen | Condition::Isolated
        )
    }

    /// A host in this condition is not live (rules 1 and 3).
    fn ends_liveness(self) -> bool {
        self != Condition::Reconfigured
    }
}

/// A condition of one host over `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub host: usize,
    pub condition: Condition,
    pub from: Duration,
    pub to: Duration,
    /// What caused it, as the report names it ("#4 SIGKILL and restart on h1").
    pub label: String,
}

/// Something that happened at one moment and disturbs the system: a
/// reload, a VIP deleted by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: Duration,
    pub label: String,
}

/// A daemon process that ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    pub at: Duration,
    pub host: usize,
    /// "exit code 1", "killed by SIGKILL".
    pub status: String,
    /// The last lines of its log.
    pub log_tail: String,
}

/// Everything the judge looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Host i's priority at `priorities[i - 1]`.
    pub priorities: Vec<u8>,
    pub end: Duration,
    /// Who holds the VIP from each time on, in time order; nobody before
    /// the first entry.
    pub holders: Vec<(Duration, BTreeSet<usize>)>,
    pub spans: Vec<Span>,
    pub events: Vec<Event>,
    pub exits: Vec<Exit>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub settle: Duration,
    pub handover_grace: Duration,
    pub live_within: Duration,
}

impl Default for Settings {
    /// For VRRPv3 at 0.1 s adverts with priorities 100/90/80
    /// (Master_Down_Interval 0.36-0.38 s):
    ///
    /// - settle 2 s: the slowest legal convergence after a fault ends is a
    ///   restart of the best host: start, Master_Down_Interval as backup,
    ///   then preemption, about 0.4 s; 2 s is five times that, for two
    ///   shared cores.
    /// - handover grace 0.2 s: two healthy hosts hold at once legally only
    ///   while one hands over to the other (a preempting master, a healed
    ///   partition, a thawed master): until the first advert of the better
    ///   one arrives, at most one advert interval (0.1 s) plus delivery
    ///   and scheduling; twice that.
    /// - live within 1 s: the figure; Master_Down_Interval is 0.36 s.
    fn default() -> Settings {
        Settings {
            settle: Duration::from_secs(2),
            handover_grace: Duration::from_millis(200),
            live_within: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    QuietWindow = 1,
    SplitBrain = 2,
    NoLiveHolder = 3,
    UnexpectedExit = 4,
}

impl Rule {
    pub const ALL: [Rule; 4] = [
        Rule::QuietWindow,
        Rule::SplitBrain,
        Rule::NoLiveHolder,
        Rule::UnexpectedExit,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn describe(self) -> &'static str {
        match self {
            Rule::QuietWindow => "quiet window: exactly one holder, the best live host",
            Rule::SplitBrain => "two unfaulted holders at once beyond the handover grace",
            Rule::NoLiveHolder => "live hosts but no live holder for too long",
            Rule::UnexpectedExit => "a daemon exited that the schedule did not stop",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    pub at: Duration,
    /// How long it lasted (None for an exit).
    pub lasted: Option<Duration>,
    /// Holders when it began.
    pub holders: Vec<usize>,
    pub detail: String,
    /// Faults active at `at`, and events within the settle time before it.
    pub faults: Vec<String>,
    /// For an exit, the last lines of the daemon's log.
    pub log_tail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>9.3} s  rule {}",
            self.at.as_secs_f64(),
            self.rule.number()
        )?;
        if let Some(lasted) = self.lasted {
            write!(f, " for {} ms", lasted.as_millis())?;
        }
        write!(f, ": {}; holders {}", self.detail, hosts(&self.holders))?;
        if self.faults.is_empty() {
            write!(f, "; no fault active")
        } else {
            write!(f, "; faults: {}", self.faults.join(", "))
        }
    }
}

/// "h1+h2", or "none".
pub fn hosts(hosts: &[usize]) -> String {
    if hosts.is_empty() {
        return "none".into();
    }
    hosts
        .iter()
        .map(|h| format!("h{h}"))
        .collect::<Vec<_>>()
        .join("+")
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub violations: Vec<Violation>,
    /// Quiet windows judged by rule 1, and their total length.
    pub quiet_windows: usize,
    pub quiet_time: Duration,
    /// The longest stretch with two unfaulted holders (rule 2), judged or
    /// not; a VIP left by a daemon that exited on its own counts.
    pub longest_overlap: Duration,
    /// The longest stretch with live hosts and no live holder (rule 3).
    pub longest_gap: Duration,
    /// Changes of the holder set.
    pub moves: usize,
}

impl Verdict {
    pub fn count(&self, rule: Rule) -> usize {
        self.violations.iter().filter(|v| v.rule == rule).count()
    }
}

/// A stretch of time in which nothing the judge looks at changes.
struct Segment<'a> {
    from: Duration,
    to: Duration,
    holders: &'a BTreeSet<usize>,
    excused: BTreeSet<usize>,
    live: BTreeSet<usize>,
    quiet: bool,
}

pub fn judge(timeline: &Timeline, settings: &Settings) -> Verdict {
    let segments = segments(timeline, settings);
    let best = |live: &BTreeSet<usize>| {
        live.iter()
            .copied()
            .max_by_key(|&h| (timeline.priorities.get(h - 1).copied().unwrap_or(0), h))
    };
    let mut verdict = Verdict {
        moves: timeline.holders.len().saturating_sub(1),
        ..Verdict::default()
    };

    for (start, end, _) in stretches(&segments, |s| s.quiet) {
        verdict.quiet_windows += 1;
        verdict.quiet_time += end - start;
    }
    for (start, end, first) in stretches(&segments, |s| {
        s.quiet && best(&s.live).map(|b| BTreeSet::from([b])).as_ref() != Some(s.holders)
    }) {
        let expected = best(&first.live).map_or("nobody".into(), |b| format!("h{b}"));
        verdict.violations.push(violation(
            timeline,
            settings,
            Rule::QuietWindow,
            start,
            Some(end - start),
            first.holders,
            format!("expected {expected} alone"),
        ));
    }
    for (start, end, first) in
        stretches(&segments, |s| s.holders.difference(&s.excused).count() >= 2)
    {
        verdict.longest_overlap = verdict.longest_overlap.max(end - start);
        if end - start > settings.handover_grace {
            let healthy: Vec<String> = first
                .holders
                .difference(&first.excused)
                .map(|h| format!("h{h}"))
                .collect();
            verdict.violations.push(violation(
                timeline,
                settings,
                Rule::SplitBrain,
                start,
                Some(end - start),
                first.holders,
                format!("{} hold it, none of them faulted", healthy.join(" and ")),
            ));
        }
    }
    for (start, end, first) in stretches(&segments, |s| {
        !s.live.is_empty() && s.holders.is_disjoint(&s.live)
    }) {
        verdict.longest_gap = verdict.longest_gap.max(end - start);
        if end - start > settings.live_within {
            let live: Vec<usize> = first.live.iter().copied().collect();
            verdict.violations.push(violation(
                timeline,
                settings,
                Rule::NoLiveHolder,
                start,
                Some(end - start),
                first.holders,
                format!("live {} but no live holder", hosts(&live)),
            ));
        }
    }
    for exit in &timeline.exits {
        let asked = timeline.spans.iter().any(|s| {
            s.host == exit.host
                && s.condition == Condition::Down
                && s.from <= exit.at
                && exit.at <= s.to
        });
        if !asked {
            let mut v = violation(
                timeline,
                settings,
                Rule::UnexpectedExit,
                exit.at,
                None,
                &holders_at(timeline, exit.at),
                format!("h{}'s daemon ended ({})", exit.host, exit.status),
            );
            v.log_tail = exit.log_tail.clone();
            verdict.violations.push(v);
        }
    }
    verdict
        .violations
        .sort_by(|a, b| a.at.cmp(&b.at).then(a.rule.cmp(&b.rule)));
    verdict
}

fn violation(
    timeline: &Timeline,
    settings: &Settings,
    rule: Rule,
    at: Duration,
    lasted: Option<Duration>,
    holders: &BTreeSet<usize>,
    detail: String,
) -> Violation {
    Violation {
        rule,
        at,
        lasted,
        holders: holders.iter().copied().collect(),
        detail,
        faults: faults_around(timeline, settings, at),
        log_tail: String::new(),
    }
}

/// The labels of spans active at `at` and events in the settle time before.
fn faults_around(timeline: &Timeline, settings: &Settings, at: Duration) -> Vec<String> {
    let mut found: Vec<(Duration, String)> = timeline
        .spans
        .iter()
        .filter(|s| s.from <= at && at < s.to)
        .map(|s| (s.from, s.label.clone()))
        .chain(
            timeline
                .events
                .iter()
                .filter(|e| e.at <= at && at <= e.at + settings.settle)
                .map(|e| (e.at, e.label.clone())),
        )
        .collect();
    found.sort();
    let mut labels: Vec<String> = found.into_iter().map(|(_, l)| l).collect();
    labels.dedup();
    labels
}

fn holders_at(timeline: &Timeline, at: Duration) -> BTreeSet<usize> {
    timeline
        .holders
        .iter()
        .take_while(|(t, _)| *t <= at)
        .last()
        .map(|(_, h)| h.clone())
        .unwrap_or_default()
}

/// Cuts `[0, end)` at every change: of holders, of spans, at events, and
/// where a settle time after a disturbance runs out.
fn segments<'a>(timeline: &'a Timeline, settings: &Settings) -> Vec<Segment<'a>> {
    // The start counts as a disturbance: the daemons have just started.
    let mut disturbances: Vec<Duration> = vec![Duration::ZERO];
    for span in &timeline.spans {
        disturbances.push(span.from);
        disturbances.push(span.to);
    }
    disturbances.extend(timeline.events.iter().map(|e| e.at));
    disturbances.sort();
    disturbances.dedup();

    let mut cuts: Vec<Duration> = vec![Duration::ZERO, timeline.end];
    cuts.extend(timeline.holders.iter().map(|(t, _)| *t));
    cuts.extend(disturbances.iter().copied());
    cuts.extend(disturbances.iter().map(|d| *d + settings.settle));
    cuts.retain(|c| *c <= timeline.end);
    cuts.sort();
    cuts.dedup();

    static NOBODY: BTreeSet<usize> = BTreeSet::new();
    let mut out = Vec::new();
    for pair in cuts.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let active: Vec<&Span> = timeline
            .spans
            .iter()
            .filter(|s| s.from <= from && from < s.to)
            .collect();
        let excused = active
            .iter()
            .filter(|s| s.condition.excuses_holding())
            .map(|s| s.host)
            .collect();
        let live = (1..=timeline.priorities.len())
            .filter(|h| {
                !active
                    .iter()
                    .any(|s| s.host == *h && s.condition.ends_liveness())
            })
            .collect();
        let last_disturbance = disturbances
            .iter()
            .take_while(|d| **d <= from)
            .last()
            .copied()
            .unwrap_or_default();
        let settled = from >= last_disturbance + settings.settle;
        let faulted = active.iter().any(|s| s.condition.ends_liveness());
        let holders = timeline
            .holders
            .iter()
            .take_while(|(t, _)| *t <= from)
            .last()
            .map_or(&NOBODY, |(_, h)| h);
        out.push(Segment {
            from,
            to,
            holders,
            excused,
            live,
            quiet: settled && !faulted,
        });
    }
    out
}

/// Maximal runs of adjacent segments where `bad` holds: (start, end, first
/// segment).
fn stretches<'s, 'a>(
    segments: &'s [Segment<'a>],
    bad: impl Fn(&Segment<'a>) -> bool,
) -> Vec<(Duration, Duration, &'s Segment<'a>)> {
    let mut out: Vec<(Duration, Duration, &Segment)> = Vec::new();
    for segment in segments.iter().filter(|s| s.to > s.from) {
        if !bad(segment) {
            continue;
        }
        match out.last_mut() {
            Some((_, end, _)) if *end == segment.from => *end = segment.to,
            _ => out.push((segment.from, segment.to, segment)),
        }
    }
    out
}

/// The holder timeline from per-host observations `(time, host, holds)`.
/// Observations of different hosts may arrive out of order (one thread
/// each); each host's own arrive in order, and repeats change nothing.
pub fn holders_from(observations: &[(Duration, usize, bool)]) -> Vec<(Duration, BTreeSet<usize>)> {
    let mut sorted: Vec<(Duration, usize, bool)> = observations.to_vec();
    // Stable: a host's own observations keep their order at equal times.
    sorted.sort_by_key(|(t, _, _)| *t);
    let mut current = BTreeSet::new();
    let mut out: Vec<(Duration, BTreeSet<usize>)> = Vec::new();
    for (t, host, holds) in sorted {
        let changed = if holds {
            current.insert(host)
        } else {
            current.remove(&host)
        };
        if !changed {
            continue;
        }
        match out.last_mut() {
            Some((last, set)) if *last == t => *set = current.clone(),
            _ => out.push((t, current.clone())),
        }
    }
    // Two changes at one time can cancel out.
    out.dedup_by(|b, a| a.1 == b.1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds)
    }

    fn set(hosts: &[usize]) -> BTreeSet<usize> {
        hosts.iter().copied().collect()
    }

    /// Three hosts 100/90/80; `holders` as (seconds, hosts).
    fn timeline(end: f64, holders: &[(f64, &[usize])]) -> Timeline {
        Timeline {
            priorities: vec![100, 90, 80],
            end: s(end),
            holders: holders.iter().map(|(t, h)| (s(*t), set(h))).collect(),
            ..Timeline::default()
        }
    }

    fn span(host: usize, condition: Condition, from: f64, to: f64) -> Span {
        Span {
            host,
            condition,
            from: s(from),
            to: s(to),
            label: format!("{condition:?} h{host}"),
        }
    }

    fn rules(v: &Verdict) -> Vec<(u8, u128)> {
        v.violations
            .iter()
            .map(|v| (v.rule.number(), v.at.as_millis()))
            .collect()
    }

    /// h1 killed at 5 s, restarted at 8 s; h2 takes over at 5.4 s, h1
    /// back at 8.9 s and h2 lets go 20 ms later: all legal.
    fn crash_and_return() -> Timeline {
        // The VIP stays on the killed h1 (SIGKILL) until its restart
        // removes it at 8.1 s; h1 takes over again at 8.9 s.
        let mut t = timeline(
            14.0,
            &[
                (0.0, &[1]),
                (5.4, &[1, 2]),
                (8.1, &[2]),
                (8.9, &[1, 2]),
                (8.92, &[1]),
            ],
        );
        t.spans = vec![
            span(1, Condition::Down, 5.0, 8.0),
            span(1, Condition::Starting, 8.0, 8.5),
        ];
        t.exits = vec![Exit {
            at: s(5.01),
            host: 1,
            status: "killed by SIGKILL".into(),
            log_tail: String::new(),
        }];
        t
    }

    #[test]
    fn a_legal_history_passes_and_its_quiet_windows_are_counted() {
        let v = judge(&crash_and_return(), &Settings::default());
        assert_eq!(rules(&v), vec![]);
        // [2, 5) and [10.5, 14).
        assert_eq!(v.quiet_windows, 2);
        assert_eq!(v.quiet_time, s(6.5));
        assert_eq!(v.longest_overlap, Duration::from_millis(20));
        assert_eq!(v.longest_gap, Duration::from_millis(400));
        assert_eq!(v.moves, 4);
    }

    #[test]
    fn rule_1_wrong_missing_or_extra_holder_in_a_quiet_window() {
        // After the crash settles, h2 keeps the VIP: not the best host.
        let mut t = crash_and_return();
        t.holders.truncate(3);
        let v = judge(&t, &Settings::default());
        assert_eq!(rules(&v), vec![(1, 10_500)]);
        assert_eq!(v.violations[0].holders, vec![2]);
        assert!(
            v.violations[0].detail.contains("expected h1"),
            "{}",
            v.violations[0]
        );
        assert_eq!(v.violations[0].lasted, Some(s(3.5)));

        // Nobody at all in the first quiet window.
        let v = judge(
            &timeline(6.0, &[(0.0, &[1]), (3.0, &[])]),
            &Settings::default(),
        );
        assert_eq!(rules(&v), vec![(1, 3000), (3, 3000)]);

        // Two holders in the first quiet window (rule 2 too).
        let v = judge(
            &timeline(6.0, &[(0.0, &[1]), (3.0, &[1, 3])]),
            &Settings::default(),
        );
        assert_eq!(rules(&v), vec![(1, 3000), (2, 3000)]);
    }

    #[test]
    fn rule_1_is_not_applied_within_the_settle_time() {
        // h1 cut off 3.0-4.6 s; after the heal h1 lets go and h2 alone
        // holds until h1 takes over again at 5.8 s: not the best host, but
        // within the settle time, so not judged by rule 1.
        let mut t = timeline(
            8.0,
            &[
                (0.0, &[1]),
                (3.5, &[1, 2]),
                (4.7, &[2]),
                (5.8, &[1, 2]),
                (5.85, &[1]),
            ],
        );
        t.spans = vec![span(1, Condition::Isolated, 3.0, 4.6)];
        let v = judge(&t, &Settings::default());
        assert_eq!(rules(&v), vec![]);
        assert_eq!(v.quiet_windows, 2);
    }

    #[test]
    fn rule_2_two_healthy_holders_beyond_the_grace() {
        // h1 and h2 both hold for 500 ms with nothing faulted.
        let mut t = timeline(10.0, &[(0.0, &[1]), (4.0, &[1, 2]), (4.5, &[1])]);
        t.events = vec![Event {
            at: s(3.9),
            label: "reload on h2".into(),
        }];
        let v = judge(&t, &Settings::default());
        assert_eq!(rules(&v), vec![(2, 4000)]);
        assert_eq!(v.violations[0].faults, vec!["reload on h2".to_string()]);
        assert_eq!(v.longest_overlap, s(0.5));

        // The same for 150 ms: a handover.
        t.holders[2].0 = s(4.15);
        assert_eq!(rules(&judge(&t, &Settings::default())), vec![]);
    }

    #[test]
    fn rule_2_allows_a_faulted_holder_but_not_a_crashed_one() {
        let base = timeline(
            9.0,
            &[(0.0, &[1]), (4.4, &[1, 2]), (7.0, &[2]), (7.5, &[1])],
        );
        for (condition, allowed) in [
            (Condition::Frozen, true),
            (Condition::Isolated, true),
            (Condition::Down, true),
            (Condition::Crashed, false),
            (Condition::Reconfigured, false),
        ] {
            let mut t = base.clone();
            t.spans = vec![span(1, condition, 4.0, 7.0)];
            let v = judge(&t, &Settings::default());
            assert_eq!(
                v.count(Rule::SplitBrain) == 0,
                allowed,
                "{condition:?}: {v:#?}"
            );
        }
    }

    #[test]
    fn rule_2_three_holders_two_of_them_healthy() {
        let mut t = timeline(9.0, &[(0.0, &[1]), (4.0, &[1, 2, 3]), (5.0, &[1])]);
        t.spans = vec![span(1, Condition::Frozen, 3.5, 5.8)];
        let v = judge(&t, &Settings::default());
        assert_eq!(rules(&v), vec![(2, 4000)], "{v:#?}");
        assert!(v.violations[0].detail.contains("h2 and h3"));
    }

    #[test]
    fn rule_3_live_hosts_and_nobody_live_holding_for_too_long() {
        // h1 frozen with the VIP; the others take 1.5 s to notice.
        let mut t = timeline(
            12.0,
            &[(0.0, &[1]), (5.5, &[1, 2]), (8.0, &[2]), (8.1, &[1])],
        );
        t.spans = vec![span(1, Condition::Frozen, 4.0, 8.0)];
        let v = judge(&t, &Settings::default());
        assert_eq!(rules(&v), vec![(3, 4000)]);
        assert_eq!(v.violations[0].lasted, Some(s(1.5)));
        assert!(
            v.violations[0].detail.contains("live h2+h3"),
            "{}",
            v.violations[0]
        );

        // Noticed in 0.4 s: fine.
        t.holders[1].0 = s(4.4);
        assert_eq!(rules(&judge(&t, &Settings::default())), vec![]);
    }

    #[test]
    fn rule_3_does_not_apply_while_no_host_is_live() {
        let mut t = timeline(12.0, &[(0.0, &[1]), (4.0, &[]), (6.8, &[1])]);
        t.spans = vec![
            span(1, Condition::Down, 4.0, 6.0),
            span(1, Condition::Starting, 6.0, 6.5),
            span(2, Condition::Frozen, 3.0, 7.0),
            span(3, Condition::Isolated, 3.5, 7.0),
        ];
        assert_eq!(rules(&judge(&t, &Settings::default())), vec![]);
        // But once h1 is live again (6.5 s) it has 1 s.
        t.holders[2].0 = s(7.6);
        assert_eq!(rules(&judge(&t, &Settings::default())), vec![(3, 6500)]);
    }

    #[test]
    fn rule_4_only_exits_the_schedule_caused() {
        let mut t = crash_and_return();
        t.exits.push(Exit {
            at: s(11.0),
            host: 3,
            status: "exit code 1".into(),
            log_tail: "pid 9 exited with permanent error CONFIG".into(),
        });
        t.exits.push(Exit {
            at: s(12.0),
            host: 2,
            status: "exit code 0".into(),
            log_tail: String::new(),
        });
        t.spans.push(span(2, Condition::Frozen, 11.5, 13.0));
        let v = judge(&t, &Settings::default());
        assert_eq!(rules(&v), vec![(4, 11_000), (4, 12_000)]);
        assert!(v.violations[0].log_tail.contains("permanent error CONFIG"));
        assert!(v.violations[0]
            .detail
            .contains("h3's daemon ended (exit code 1)"));
    }

    #[test]
    fn a_reconfigured_host_is_judged_in_quiet_windows() {
        // VI_2 added on h1 at 3 s, removed at 9 s; h1 lets go at 6 s.
        let mut t = timeline(9.5, &[(0.0, &[1]), (6.0, &[]), (6.4, &[2])]);
        t.spans = vec![span(1, Condition::Reconfigured, 3.0, 9.0)];
        let v = judge(&t, &Settings::default());
        assert_eq!(rules(&v), vec![(1, 6000)]);
        assert_eq!(v.violations[0].faults, vec!["Reconfigured h1".to_string()]);
    }

    #[test]
    fn holders_are_folded_from_out_of_order_observations() {
        let folded = holders_from(&[
            (s(1.0), 1, true),
            (s(3.0), 2, true),
            (s(2.0), 1, false),
            (s(2.0), 2, false),
            (s(3.0), 1, true),
            (s(4.0), 1, true),
        ]);
        assert_eq!(
            folded,
            vec![
                (s(1.0), set(&[1])),
                (s(2.0), set(&[])),
                (s(3.0), set(&[1, 2]))
            ]
        );
    }
}
