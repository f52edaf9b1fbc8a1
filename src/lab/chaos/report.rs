//! What a chaos run prints: a summary per daemon with its first
//! violations (and the daemons' log lines around each), a side-by-side
//! table, one JSON line per daemon, and the timeline file kept with the
//! logs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::daemons::DaemonKind;
use super::judge::{hosts, Rule, Settings, Timeline, Verdict};
use super::logs;
use super::run::RunRecord;
use super::schedule::{FaultKind, Schedule};

/// Violations listed in full per daemon; the rest are counted.
const LISTED: usize = 5;
/// Log lines shown per host and violation.
const LOG_LINES: usize = 15;

/// The figures of one run, as the table and the JSON line give them.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub daemon: &'static str,
    pub seed: u64,
    pub seconds: f64,
    pub faults: BTreeMap<&'static str, usize>,
    pub quiet_windows: usize,
    pub quiet_seconds: f64,
    pub violations: [usize; 4],
    pub unexpected_exits: usize,
    pub exits: usize,
    pub moves: usize,
    /// VI_1's state changes as the daemons logged them ("(VI_1)
    /// Entering ..."), on all hosts: flaps show here.
    pub transitions: usize,
    pub longest_gap_ms: u128,
    pub longest_overlap_ms: u128,
    pub converged_ms: u128,
    pub interrupted: bool,
}

impl Figures {
    pub fn new(seed: u64, record: &RunRecord, verdict: &Verdict) -> Figures {
        let mut faults = BTreeMap::new();
        for kind in FaultKind::ALL {
            faults.insert(kind.name(), record.applied.get(&kind).copied().unwrap_or(0));
        }
        Figures {
            daemon: record.daemon.name(),
            seed,
            seconds: record.timeline.end.as_secs_f64(),
            faults,
            quiet_windows: verdict.quiet_windows,
            quiet_seconds: verdict.quiet_time.as_secs_f64(),
            violations: Rule::ALL.map(|r| verdict.count(r)),
            unexpected_exits: verdict.count(Rule::UnexpectedExit),
            exits: record.timeline.exits.len(),
            moves: verdict.moves,
            transitions: record
                .logs
                .iter()
                .map(|l| l.text.matches("(VI_1) Entering").count())
                .sum(),
            longest_gap_ms: verdict.longest_gap.as_millis(),
            longest_overlap_ms: verdict.longest_overlap.as_millis(),
            converged_ms: record.converged_after.as_millis(),
            interrupted: record.interrupted,
        }
    }

    pub fn total_violations(&self) -> usize {
        self.violations.iter().sum()
    }

    pub fn json(&self) -> String {
        json!({
            "bench": "chaos",
            "daemon": self.daemon,
            "seed": self.seed,
            "seconds": (self.seconds * 10.0).round() / 10.0,
            "faults": self.faults,
            "quiet_windows": self.quiet_windows,
            "quiet_seconds": (self.quiet_seconds * 10.0).round() / 10.0,
            "violations": {
                "rule1_quiet_window": self.violations[0],
                "rule2_split_brain": self.violations[1],
                "rule3_no_live_holder": self.violations[2],
                "rule4_unexpected_exit": self.violations[3],
            },
            "exits": self.exits,
            "vip_moves": self.moves,
            "vi_1_transitions": self.transitions,
            "longest_gap_ms": self.longest_gap_ms,
            "longest_overlap_ms": self.longest_overlap_ms,
            "converged_ms": self.converged_ms,
            "interrupted": self.interrupted,
        })
        .to_string()
    }

    fn faults_text(&self, reloads: bool) -> String {
        FaultKind::ALL
            .iter()
            .filter(|k| k.is_reload() == reloads)
            .map(|k| format!("{} {}", k.name(), self.faults[k.name()]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The summary of one run, with its first violations and, under each,
/// the daemons' log lines from 1 s before it to 0.5 s after it ended.
pub fn summary(figures: &Figures, record: &RunRecord, verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "== {} (seed {}): {:.1} s judged{}",
        figures.daemon,
        figures.seed,
        figures.seconds,
        if figures.interrupted {
            ", interrupted"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "  faults        {}", figures.faults_text(false));
    let _ = writeln!(out, "  reloads       {}", figures.faults_text(true));
    let _ = writeln!(
        out,
        "  quiet windows {} judged, {:.1} s in all",
        figures.quiet_windows, figures.quiet_seconds
    );
    let _ = writeln!(
        out,
        "  violations    {} (rule 1: {}, rule 2: {}, rule 3: {}, rule 4: {})",
        figures.total_violations(),
        figures.violations[0],
        figures.violations[1],
        figures.violations[2],
        figures.violations[3]
    );
    let _ = writeln!(
        out,
        "  exits         {} unexpected, {} in all",
        figures.unexpected_exits, figures.exits
    );
    let _ = writeln!(
        out,
        "  VIP           {} moves, {} VI_1 transitions logged; longest without a live holder {} ms; longest with two unfaulted holders {} ms",
        figures.moves, figures.transitions, figures.longest_gap_ms, figures.longest_overlap_ms
    );
    let _ = writeln!(
        out,
        "  converged     {} ms after start",
        figures.converged_ms
    );
    if let Some(lost) = &record.lost {
        let _ = writeln!(out, "  OBSERVATION LOST: {lost} (judged up to then)");
    }
    if !record.notes.is_empty() {
        let _ = writeln!(
            out,
            "  notes         {} ({} more not kept)",
            record.notes.len(),
            record.notes_dropped
        );
        for note in record.notes.iter().take(LISTED) {
            let _ = writeln!(out, "    {note}");
        }
    }
    if let Some(kept) = &record.kept {
        let _ = writeln!(out, "  logs kept in  {}", kept.display());
    }
    if verdict.violations.is_empty() {
        return out;
    }
    let _ = writeln!(out, "  first violations:");
    let offset = logs::local_offset();
    for violation in verdict.violations.iter().take(LISTED) {
        let _ = writeln!(out, "  {violation}");
        if !violation.log_tail.is_empty() {
            let _ = writeln!(out, "      --- its log ends");
            for line in violation.log_tail.lines() {
                let _ = writeln!(out, "      {line}");
            }
            continue;
        }
        let from = record.t0_wall + violation.at.saturating_sub(Duration::from_secs(1));
        let to = record.t0_wall
            + violation.at
            + violation.lasted.unwrap_or_default()
            + Duration::from_millis(500);
        for log in &record.logs {
            // keepalived logs every gratuitous ARP it sends: dozens a takeover.
            let text: String = log
                .text
                .lines()
                .filter(|l| !l.contains("gratuitous ARP"))
                .flat_map(|l| [l, "\n"])
                .collect();
            let lines = logs::excerpt(&text, from, to, offset, LOG_LINES);
            if lines.is_empty() {
                continue;
            }
            let _ = writeln!(out, "      --- h{} {}", log.host, log.name);
            for line in lines {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    if verdict.violations.len() > LISTED {
        let _ = writeln!(out, "  ... and {} more", verdict.violations.len() - LISTED);
    }
    out
}

/// The runs side by side, as a Markdown table.
pub fn side_by_side(runs: &[Figures]) -> String {
    let mut out = String::new();
    let header: Vec<&str> = runs.iter().map(|f| f.daemon).collect();
    let _ = writeln!(out, "| | {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(runs.len()));
    let mut row = |name: &str, value: &dyn Fn(&Figures) -> String| {
        let cells: Vec<String> = runs.iter().map(value).collect();
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    };
    row("seconds judged", &|f| format!("{:.0}", f.seconds));
    row("faults: SIGKILL / SIGTERM / SIGSTOP", &|f| {
        format!(
            "{} / {} / {}",
            f.faults["sigkill"], f.faults["sigterm"], f.faults["sigstop"]
        )
    });
    row("faults: partition / port down / VIP deleted", &|f| {
        format!(
            "{} / {} / {}",
            f.faults["partition"], f.faults["port_down"], f.faults["vip_deleted"]
        )
    });
    row(
        "reloads: unchanged / VI_2 added+removed / broken+restored",
        &|f| {
            format!(
                "{} / {} / {}",
                f.faults["reload_unchanged"],
                f.faults["reload_add_remove"],
                f.faults["reload_broken"]
            )
        },
    );
    row("quiet windows judged (seconds)", &|f| {
        format!("{} ({:.0} s)", f.quiet_windows, f.quiet_seconds)
    });
    for rule in Rule::ALL {
        row(
            &format!("rule {}: {}", rule.number(), rule.describe()),
            &|f| f.violations[rule.number() as usize - 1].to_string(),
        );
    }
    row("daemon exits (all / unexpected)", &|f| {
        format!("{} / {}", f.exits, f.unexpected_exits)
    });
    row("VIP moves / VI_1 transitions logged", &|f| {
        format!("{} / {}", f.moves, f.transitions)
    });
    row("longest with live hosts and no live holder, ms", &|f| {
        f.longest_gap_ms.to_string()
    });
    row("longest with two unfaulted holders, ms", &|f| {
        f.longest_overlap_ms.to_string()
    });
    out
}

/// The run as a readable timeline: the schedule, then every change in
/// time order.
pub fn timeline_text(kind: DaemonKind, schedule: &Schedule, timeline: &Timeline) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} chaos run, {:.3} s",
        kind.name(),
        timeline.end.as_secs_f64()
    );
    let _ = writeln!(out, "schedule:");
    for fault in &schedule.faults {
        let _ = writeln!(out, "  {fault}");
    }
    let mut lines: Vec<(Duration, String)> = Vec::new();
    for (at, holders) in &timeline.holders {
        let held: Vec<usize> = holders.iter().copied().collect();
        lines.push((*at, format!("holders {}", hosts(&held))));
    }
    for span in &timeline.spans {
        lines.push((
            span.from,
            format!("begin {:?} h{}: {}", span.condition, span.host, span.label),
        ));
        lines.push((
            span.to,
            format!("end   {:?} h{}: {}", span.condition, span.host, span.label),
        ));
    }
    for event in &timeline.events {
        lines.push((event.at, format!("event {}", event.label)));
    }
    for exit in &timeline.exits {
        lines.push((exit.at, format!("exit  h{}: {}", exit.host, exit.status)));
    }
    lines.sort_by_key(|l| l.0);
    let _ = writeln!(out, "timeline:");
    for (at, line) in lines {
        let _ = writeln!(out, "{:>10.3} s  {line}", at.as_secs_f64());
    }
    out
}

/// How the judge was set, for the header.
pub fn settings_text(settings: &Settings) -> String {
    format!(
        "settle {} ms, handover grace {} ms, live holder within {} ms",
        settings.settle.as_millis(),
        settings.handover_grace.as_millis(),
        settings.live_within.as_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(daemon: &'static str, violations: [usize; 4]) -> Figures {
        Figures {
            daemon,
            seed: 7,
            seconds: 60.04,
            faults: FaultKind::ALL.iter().map(|k| (k.name(), 2)).collect(),
            quiet_windows: 5,
            quiet_seconds: 20.0,
            violations,
            unexpected_exits: violations[3],
            exits: 9,
            moves: 30,
            transitions: 40,
            longest_gap_ms: 410,
            longest_overlap_ms: 12,
            converged_ms: 520,
            interrupted: false,
        }
    }

    #[test]
    fn the_json_line_carries_every_figure_by_name() {
        let line = figures("keepalived", [1, 2, 3, 4]).json();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["daemon"], "keepalived");
        assert_eq!(value["seconds"], 60.0);
        assert_eq!(value["violations"]["rule2_split_brain"], 2);
        assert_eq!(value["violations"]["rule4_unexpected_exit"], 4);
        assert_eq!(value["faults"]["reload_broken"], 2);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn the_table_has_a_column_per_daemon_and_a_row_per_rule() {
        let table = side_by_side(&[figures("vipd", [0; 4]), figures("keepalived", [1, 2, 3, 4])]);
        assert!(
            table.starts_with("| | vipd | keepalived |\n|---|---|---|\n"),
            "{table}"
        );
        assert!(
            table.contains("| rule 4: a daemon exited that the schedule did not stop | 0 | 4 |"),
            "{table}"
        );
        assert!(table.contains("| reloads: unchanged / VI_2 added+removed / broken+restored | 2 / 2 / 2 | 2 / 2 / 2 |"), "{table}");
    }
}
