//! [`RunRow`], one row of the per-run table `energy-stats runs` writes (schema
//! `energy-stats-run/1`) and `energy-stats report -`, `plot -` and `runs -` read back: the run's
//! numbers, its [`RowStatus`] and where its numbers came from ([`Source`]). It crosses a process
//! boundary (`energy-stats runs | energy-stats report -`), so its shape lives here; writing and
//! reading the table (JSON Lines or CSV) is energy-stats' job.

use serde::{Deserialize, Serialize};

/// The `schema` tag of a [`RunRow`] written as JSON Lines.
pub const RUN_ROW_SCHEMA: &str = "energy-stats-run/1";

/// Where a run's power number came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A run record (`runs.jsonl` or a JSON Lines table).
    RunRecord,
    /// The study's controller log.
    Log,
    /// A CSV table of runs.
    Table,
    /// The trace alone (duration = samples / rate).
    Trace,
}

impl Source {
    /// The name in the per-run table, as serde writes it: `run-record`, `log`, `table`, `trace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::RunRecord => "run-record",
            Source::Log => "log",
            Source::Table => "table",
            Source::Trace => "trace",
        }
    }
}

/// What a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// A usable run.
    Ok,
    /// A run left out; `reason` says why.
    Failed,
    /// A warm-up run, left out of the statistics unless asked for: only a row or record that
    /// says so is one, never a run because of its number.
    Warmup,
    /// An idle-baseline recording (`baseline.jsonl`); `reason` is set when it failed.
    Baseline,
}

impl RowStatus {
    /// The name in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Ok => "ok",
            RowStatus::Failed => "failed",
            RowStatus::Warmup => "warmup",
            RowStatus::Baseline => "baseline",
        }
    }
}

/// [`RUN_ROW_SCHEMA`], serde's default for a row without a `schema` (a CSV row).
pub fn run_row_schema() -> String {
    RUN_ROW_SCHEMA.to_owned()
}

/// One row of the per-run table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// [`RUN_ROW_SCHEMA`] (JSON Lines only; a CSV table has no such column).
    #[serde(default = "run_row_schema")]
    pub schema: String,
    /// Group label.
    pub label: String,
    /// Run index, as the input numbered it (any first number; `status` says what a run is).
    pub run: u32,
    /// `ok`, `failed`, `warmup` or `baseline`.
    pub status: RowStatus,
    /// Mean power (W).
    pub power_avg_w: Option<f64>,
    /// Scenario time (s).
    pub duration_s: Option<f64>,
    /// Energy, power × time (J).
    pub energy_j: Option<f64>,
    /// Mean of the trace (W), when the trace was read.
    pub trace_power_avg_w: Option<f64>,
    /// Σ P·Δt over the trace (J), when the trace was read.
    pub trace_energy_j: Option<f64>,
    /// Samples in the trace.
    pub samples: Option<u64>,
    /// HTTP requests of the load, when the run record says.
    pub requests: Option<u64>,
    /// Energy per request (J), when the request count is known.
    pub energy_per_request_j: Option<f64>,
    /// Where the power number came from.
    pub source: Source,
    /// File and line the run was read from.
    pub origin: String,
    /// Whether the power was modelled, not measured.
    pub modelled: bool,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run's trace file, an absolute path when the file was found (so the row reads back
    /// from any directory), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Sample rate of the trace (Hz), which its Σ P·Δt depends on.
    #[serde(default)]
    pub sample_rate_hz: Option<f64>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn status_names_are_the_serialised_names() {
        for s in [
            RowStatus::Ok,
            RowStatus::Failed,
            RowStatus::Warmup,
            RowStatus::Baseline,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn source_names_are_the_serialised_names() {
        for s in [Source::RunRecord, Source::Log, Source::Table, Source::Trace] {
            // A new variant stops this match compiling until it is added to the list above.
            match s {
                Source::RunRecord | Source::Log | Source::Table | Source::Trace => {}
            }
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn a_row_without_schema_reads_as_this_version() {
        let r: RunRow = serde_json::from_str(
            r#"{"label":"3.12","run":0,"status":"ok","power_avg_w":1.5,"duration_s":2.0,
                "energy_j":3.0,"trace_power_avg_w":null,"trace_energy_j":null,"samples":null,
                "requests":null,"energy_per_request_j":null,"source":"table","origin":"t:2",
                "modelled":false}"#,
        )
        .unwrap();
        assert_eq!(r.schema, RUN_ROW_SCHEMA);
        assert_eq!(r.status, RowStatus::Ok);
        assert_eq!(r.run, 0);
    }
}
