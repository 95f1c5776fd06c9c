//! The analysis' view of the inputs: a [`Run`] per run read, [`Group`]s of runs per
//! interpreter, the [`Dataset`] of all groups and the idle baseline, and [`Source`], where a
//! run's numbers came from; [`SessionOptions`] and [`assign_sessions`]: which recording
//! session's runs form a group (`3.12`, `3.12@s2`).

use std::path::PathBuf;

use records::RunRecord;
pub use records::Source;

use crate::trace::{TraceSummary, STUDY_RATE_HZ};

/// One run as the analysis sees it.
#[derive(Debug, Clone)]
pub struct Run {
    /// Group label.
    pub label: String,
    /// Run index within the group, as the input numbered it (any first number).
    pub run: u32,
    /// A warm-up run: only when its record or row says so (status `warmup`, or a run record
    /// of schema run/1 numbered 0, which that format defines as a discarded warm-up), never
    /// because a table numbers its runs from 0.
    pub warmup: bool,
    /// Mean power (W).
    pub power_w: f64,
    /// Scenario time (s).
    pub duration_s: f64,
    /// The study's energy, power × time (J).
    pub energy_j: f64,
    /// Where the numbers came from.
    pub source: Source,
    /// File and line the run was read from (`dir/log.txt:17`).
    pub origin: String,
    /// The trace file matched to this run, if any.
    pub trace: Option<PathBuf>,
    /// The trace's summary once read.
    pub trace_summary: Option<TraceSummary>,
    /// Sample rate of the trace (Hz).
    pub sample_rate_hz: f64,
    /// Why the run is unusable; `None` for a good run.
    pub failed: Option<String>,
    /// Whether the power was modelled (simulated meter) rather than measured.
    pub modelled: bool,
    /// HTTP requests the load sent during the run, when the run record says.
    pub requests: Option<u64>,
    /// The recording session the run belongs to (`s1`, `s2`, …), when its run record says
    /// (`experiment` sets it; the study's logs and run tables have none).
    pub session: Option<String>,
    /// The machine's speed during the run (the run record's `speed_probe` median, ms), when
    /// `experiment` timed it (a server on its own machine).
    pub speed_probe_ms: Option<f64>,
    /// The workload the probe timed (`speed_probe.workload`; `builtin-hashmap-20000` when
    /// the record does not say), with `speed_probe_ms`.
    pub speed_probe_workload: Option<String>,
}

impl Run {
    /// A measured run read from a log or a table: the study's energy from power and time,
    /// no trace yet, at the study's sample rate.
    pub(crate) fn measured(
        label: String,
        run: u32,
        power_w: f64,
        duration_s: f64,
        source: Source,
        origin: String,
    ) -> Run {
        Run {
            label,
            run,
            warmup: false,
            power_w,
            duration_s,
            energy_j: RunRecord::study_energy_j(power_w, duration_s),
            source,
            origin,
            trace: None,
            trace_summary: None,
            sample_rate_hz: STUDY_RATE_HZ,
            failed: None,
            modelled: false,
            requests: None,
            session: None,
            speed_probe_ms: None,
            speed_probe_workload: None,
        }
    }

    /// A run with no usable numbers (yet), unusable for `why` when that is given.
    pub(crate) fn unknown(
        label: String,
        run: u32,
        source: Source,
        origin: String,
        why: Option<String>,
    ) -> Run {
        Run {
            failed: why,
            energy_j: f64::NAN,
            ..Run::measured(label, run, f64::NAN, f64::NAN, source, origin)
        }
    }

    /// Energy integrated over the trace, Σ P·Δt (J), when the trace was read.
    pub fn trace_energy_j(&self) -> Option<f64> {
        self.trace_summary
            .as_ref()
            .map(|t| t.energy_j(self.sample_rate_hz))
    }

    /// Mean of the trace (W), when the trace was read.
    pub fn trace_power_w(&self) -> Option<f64> {
        self.trace_summary.as_ref().map(TraceSummary::mean_w)
    }

    /// Energy per HTTP request of the load (J), when the request count is known.
    pub fn energy_per_request_j(&self) -> Option<f64> {
        self.requests
            .filter(|&n| n > 0)
            .map(|n| self.energy_j / n as f64)
            .filter(|v| v.is_finite())
    }

    /// A warm-up run (its record or row says so), left out of the statistics by default.
    pub fn is_warmup(&self) -> bool {
        self.warmup
    }
}

/// One group (interpreter) and its runs, in run order.
#[derive(Debug, Clone)]
pub struct Group {
    /// The label (`3.12`).
    pub label: String,
    /// All runs read, failed and warm-up ones included.
    pub runs: Vec<Run>,
}

impl Group {
    /// The runs that enter the statistics and the per-run figures: not failed, and not a
    /// warm-up run unless `include_warmup`.
    pub fn used_runs(&self, include_warmup: bool) -> Vec<&Run> {
        self.runs
            .iter()
            .filter(|r| r.failed.is_none() && (include_warmup || !r.is_warmup()))
            .collect()
    }
}

/// Everything read from the inputs.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Groups in version-aware label order (or the order `--groups` asked for).
    pub groups: Vec<Group>,
    /// Idle-baseline runs, when a `baseline.jsonl` was found.
    pub baseline: Vec<Run>,
    /// What `--speed-adjust` did to the energies, when it was asked.
    pub speed: Option<crate::speed::SpeedAdjustment>,
}

impl Dataset {
    /// Whether any run's power was modelled rather than measured.
    pub fn modelled(&self) -> bool {
        self.groups.iter().flat_map(|g| &g.runs).any(|r| r.modelled)
    }
}

/// Which runs form a group, by recording session (`--session`, `--by-session`,
/// `--include-archived`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// Only the runs of this session (`s2`), under their plain labels.
    pub session: Option<String>,
    /// Every session's runs of an interpreter as a group of their own, `3.12@s1`, `3.12@s2`.
    pub by_session: bool,
    /// Read the sets a redo moved to `OUT/archive/` (given as the `archive` folder or one of
    /// its set folders), each as its own group `3.12@s1-archived`.
    pub include_archived: bool,
}

/// The suffix of an archived set's group label: `3.12@s1-archived`.
pub const ARCHIVED_SUFFIX: &str = "-archived";

/// The order of session ids: no session first (the study's data, older records), then `s1`,
/// `s2`, … by number, then any other id by name.
pub fn session_key(session: Option<&str>) -> (u8, u64, String) {
    match session {
        None => (0, 0, String::new()),
        Some(s) => match s.strip_prefix('s').and_then(|n| n.parse::<u64>().ok()) {
            Some(n) => (1, n, String::new()),
            None => (2, 0, s.to_owned()),
        },
    }
}

/// The group label of a run of `label` from `session`: `3.12@s2`.
pub fn session_label(label: &str, session: &str) -> String {
    format!("{label}@{session}")
}

/// Labels the runs by session before they are grouped. By default an interpreter's group is its
/// runs of its earliest session; its runs of a later session (an added version's reference
/// runs) form the group `label@session`, so they are never pooled with the others. With
/// `session`, only that session's runs are kept, under their plain labels; with `by_session`,
/// every session is its own group. Runs without a session count as the earliest.
pub fn assign_sessions(runs: &mut Vec<Run>, opts: &SessionOptions) {
    if let Some(want) = &opts.session {
        runs.retain(|r| r.session.as_deref() == Some(want.as_str()));
        return;
    }
    let mut first: std::collections::HashMap<String, (u8, u64, String)> =
        std::collections::HashMap::new();
    for r in runs.iter() {
        let k = session_key(r.session.as_deref());
        first
            .entry(r.label.clone())
            .and_modify(|f| {
                if k < *f {
                    *f = k.clone();
                }
            })
            .or_insert(k);
    }
    for r in runs.iter_mut() {
        let Some(s) = r.session.clone() else { continue };
        let later = first
            .get(&r.label)
            .is_some_and(|f| session_key(Some(&s)) > *f);
        if opts.by_session || later {
            r.label = session_label(&r.label, &s);
        }
    }
}

/// Version-aware ordering key: CPython labels (`3.8` < `3.9` < `3.10`) first, then labels with
/// a prefix (`pypy3.9`) by prefix and version, then everything else by name.
pub fn label_key(label: &str) -> (u8, String, Vec<u64>, String) {
    let first_digit = label.find(|c: char| c.is_ascii_digit());
    let (prefix, rest) = match first_digit {
        Some(i) => (&label[..i], &label[i..]),
        None => return (2, label.to_string(), Vec::new(), label.to_string()),
    };
    let nums: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    let class = if prefix.is_empty() { 0 } else { 1 };
    (class, prefix.to_string(), nums, label.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(label: &str, n: u32, session: Option<&str>) -> Run {
        Run {
            session: session.map(str::to_owned),
            ..Run::measured(label.into(), n, 1.0, 1.0, Source::RunRecord, String::new())
        }
    }

    fn labels(runs: &[Run]) -> Vec<String> {
        runs.iter().map(|r| r.label.clone()).collect()
    }

    #[test]
    fn later_sessions_of_an_interpreter_are_groups_of_their_own() {
        let all = vec![
            run("3.12", 1, Some("s1")),
            run("3.12", 2, Some("s1")),
            run("3.12", 11, Some("s2")),
            run("3.14", 1, Some("s2")),
            run("3.8", 1, None),
            run("pypy3.9", 1, Some("s10")),
            run("pypy3.9", 2, Some("s3")),
        ];
        let mut d = all.clone();
        assign_sessions(&mut d, &SessionOptions::default());
        assert_eq!(
            labels(&d),
            [
                "3.12",
                "3.12",
                "3.12@s2",
                "3.14",
                "3.8",
                "pypy3.9@s10",
                "pypy3.9"
            ]
        );
        let mut b = all.clone();
        let by = SessionOptions {
            by_session: true,
            ..SessionOptions::default()
        };
        assign_sessions(&mut b, &by);
        assert_eq!(
            labels(&b),
            [
                "3.12@s1",
                "3.12@s1",
                "3.12@s2",
                "3.14@s2",
                "3.8",
                "pypy3.9@s10",
                "pypy3.9@s3"
            ]
        );
        let mut f = all;
        let only = SessionOptions {
            session: Some("s2".into()),
            ..SessionOptions::default()
        };
        assign_sessions(&mut f, &only);
        assert_eq!(labels(&f), ["3.12", "3.14"]);
        assert_eq!(f[0].run, 11);
    }

    #[test]
    fn labels_sort_by_version_then_prefix() {
        let mut l = vec!["pypy3.9", "3.10", "zzz", "3.9", "3.8", "3.13"];
        l.sort_by_key(|s| label_key(s));
        assert_eq!(l, vec!["3.8", "3.9", "3.10", "3.13", "pypy3.9", "zzz"]);
    }
}
