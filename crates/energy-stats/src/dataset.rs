//! The analysis' view of the inputs: a [`Run`] per run read, [`Group`]s of runs per
//! interpreter, the [`Dataset`] of all groups and the idle baseline, and [`Source`], where a
//! run's numbers came from.

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
}

impl Dataset {
    /// Whether any run's power was modelled rather than measured.
    pub fn modelled(&self) -> bool {
        self.groups.iter().flat_map(|g| &g.runs).any(|r| r.modelled)
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

    #[test]
    fn labels_sort_by_version_then_prefix() {
        let mut l = vec!["pypy3.9", "3.10", "zzz", "3.9", "3.8", "3.13"];
        l.sort_by_key(|s| label_key(s));
        assert_eq!(l, vec!["3.8", "3.9", "3.10", "3.13", "pypy3.9", "zzz"]);
    }
}
