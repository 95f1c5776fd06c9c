//! The per-run table (`energy-stats runs`): one row per run read, failed and warm-up runs
//! included and marked, then the idle-baseline runs, as JSON Lines or CSV.
//!
//! A row carries everything the report and the figures take from a run (its numbers, status,
//! origin, trace path and sample rate), so `energy-stats runs … | energy-stats report -` gives
//! the figures of the folders themselves: [`crate::table`] reads the rows back into the same
//! runs, in either format.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Run, Source};
use crate::numeric::finite;
use crate::table::existing_trace;
use crate::trace::STUDY_RATE_HZ;

/// The `schema` tag of a [`RunRow`] written as JSON Lines.
pub const RUN_ROW_SCHEMA: &str = "energy-stats-run/1";

/// The columns of the CSV table, in order: a row's fields without `schema`.
pub const CSV_COLUMNS: [&str; 17] = [
    "label",
    "run",
    "status",
    "power_avg_w",
    "duration_s",
    "energy_j",
    "trace_power_avg_w",
    "trace_energy_j",
    "samples",
    "requests",
    "energy_per_request_j",
    "source",
    "origin",
    "modelled",
    "reason",
    "trace",
    "sample_rate_hz",
];

/// What a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// A usable run.
    Ok,
    /// A run left out; `reason` says why.
    Failed,
    /// A warm-up run (run 0), left out of the statistics by default.
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

fn row_schema() -> String {
    RUN_ROW_SCHEMA.to_owned()
}

/// One row of the per-run table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// [`RUN_ROW_SCHEMA`] (JSON Lines only; a CSV table has no such column).
    #[serde(default = "row_schema")]
    pub schema: String,
    /// Group label.
    pub label: String,
    /// Run index (0 = warm-up).
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

/// The row of one run (`baseline`: an idle-baseline run).
pub fn row(r: &Run, baseline: bool) -> RunRow {
    RunRow {
        schema: row_schema(),
        label: r.label.clone(),
        run: r.run,
        status: if baseline {
            RowStatus::Baseline
        } else if r.failed.is_some() {
            RowStatus::Failed
        } else if r.is_warmup() {
            RowStatus::Warmup
        } else {
            RowStatus::Ok
        },
        power_avg_w: finite(r.power_w),
        duration_s: finite(r.duration_s),
        energy_j: finite(r.energy_j),
        trace_power_avg_w: r.trace_power_w(),
        trace_energy_j: r.trace_energy_j(),
        samples: r.trace_summary.as_ref().map(|t| t.samples),
        requests: r.requests,
        energy_per_request_j: r.energy_per_request_j(),
        source: r.source,
        origin: r.origin.clone(),
        modelled: r.modelled,
        reason: r.failed.clone(),
        trace: r.trace.as_ref().map(|t| {
            t.canonicalize()
                .unwrap_or_else(|_| t.clone())
                .to_string_lossy()
                .into_owned()
        }),
        sample_rate_hz: finite(r.sample_rate_hz),
    }
}

impl RunRow {
    /// The run this row was written from, and whether it is an idle-baseline run. Its trace
    /// path is resolved against `file`'s folder (`None`: stdin, the current directory); the
    /// trace itself is read again, with the other runs' traces.
    pub fn into_run(self, file: Option<&Path>) -> (Run, bool) {
        let trace = self
            .trace
            .as_deref()
            .map(|t| records::trace_path(file, t))
            .and_then(|t| existing_trace(t, &self.origin));
        let failed = match (self.status, self.reason) {
            (RowStatus::Failed, reason) => Some(reason.unwrap_or_else(|| "failed".into())),
            (_, reason) => reason,
        };
        let run = Run {
            label: self.label,
            run: self.run,
            power_w: self.power_avg_w.unwrap_or(f64::NAN),
            duration_s: self.duration_s.unwrap_or(f64::NAN),
            energy_j: self.energy_j.unwrap_or(f64::NAN),
            source: self.source,
            origin: self.origin,
            trace,
            trace_summary: None,
            sample_rate_hz: self
                .sample_rate_hz
                .filter(|r| *r > 0.0)
                .unwrap_or(STUDY_RATE_HZ),
            failed,
            modelled: self.modelled,
            requests: self.requests,
        };
        (run, self.status == RowStatus::Baseline)
    }
}

/// Every row: the groups' runs in group and run order, then the baseline runs.
fn rows(data: &Dataset) -> impl Iterator<Item = RunRow> + '_ {
    let runs = data
        .groups
        .iter()
        .flat_map(|g| &g.runs)
        .map(|r| row(r, false));
    runs.chain(data.baseline.iter().map(|r| row(r, true)))
}

/// Write the table as JSON Lines.
pub fn write_jsonl<W: Write + ?Sized>(data: &Dataset, out: &mut W) -> io::Result<()> {
    for r in rows(data) {
        serde_json::to_writer(&mut *out, &r)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A CSV cell of a number: empty when there is none, else the shortest text that reads back
/// as the same number (`1`, `125.99999999999999`).
pub(crate) fn csv_num<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// Write the table as CSV with a header, quoted where a cell needs it.
pub fn write_csv<W: Write + ?Sized>(data: &Dataset, out: &mut W) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for x in rows(data) {
        w.write_record([
            x.label,
            x.run.to_string(),
            x.status.as_str().to_owned(),
            csv_num(x.power_avg_w),
            csv_num(x.duration_s),
            csv_num(x.energy_j),
            csv_num(x.trace_power_avg_w),
            csv_num(x.trace_energy_j),
            csv_num(x.samples),
            csv_num(x.requests),
            csv_num(x.energy_per_request_j),
            x.source.as_str().to_owned(),
            x.origin,
            x.modelled.to_string(),
            x.reason.unwrap_or_default(),
            x.trace.unwrap_or_default(),
            csv_num(x.sample_rate_hz),
        ])?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dataset::Group;
    use crate::input::ReadOptions;
    use crate::table::{read_table_text, Runs};
    use proptest::prelude::*;

    fn arb_run() -> impl Strategy<Value = Run> {
        (
            "[ -~\n]{1,12}",
            0u32..50,
            prop::option::of(-1e6f64..1e6),
            prop::option::of(0.0f64..1e4),
            // An empty reason reads back from CSV as none, that is `failed`.
            prop::option::of("[ -~]{1,20}"),
            prop::option::of(0u64..100_000),
            any::<bool>(),
            prop::sample::select(vec![
                Source::RunRecord,
                Source::Log,
                Source::Table,
                Source::Trace,
            ]),
        )
            .prop_map(|(label, run, p, d, failed, requests, modelled, source)| {
                let mut r = Run::measured(
                    label,
                    run,
                    p.unwrap_or(f64::NAN),
                    d.unwrap_or(f64::NAN),
                    source,
                    "x.jsonl:1".into(),
                );
                r.failed = failed;
                r.requests = requests;
                r.modelled = modelled;
                r
            })
    }

    fn table(data: &Dataset, csv: bool) -> String {
        let mut out = Vec::new();
        if csv {
            write_csv(data, &mut out).unwrap();
        } else {
            write_jsonl(data, &mut out).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    proptest! {
        #[test]
        fn the_table_reads_back_as_the_same_rows_in_both_formats(
            runs in prop::collection::vec(arb_run(), 1..6),
            baseline in prop::collection::vec(arb_run(), 0..3),
            csv in any::<bool>(),
        ) {
            let data = Dataset {
                groups: vec![Group { label: "g".into(), runs }],
                baseline,
            };
            let text = table(&data, csv);
            let mut back = Runs::default();
            read_table_text(&text, "-", None, &ReadOptions::default(), &mut back).unwrap();
            let again = Dataset {
                groups: vec![Group { label: "g".into(), runs: back.runs }],
                baseline: back.baseline,
            };
            prop_assert_eq!(table(&again, csv), text);
            let rows = |d: &Dataset| rows(d).collect::<Vec<_>>();
            prop_assert_eq!(rows(&again), rows(&data));
        }
    }

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
    fn csv_columns_are_the_row_fields_after_schema() {
        let r = RunRow {
            schema: row_schema(),
            label: "x".into(),
            run: 1,
            status: RowStatus::Ok,
            power_avg_w: None,
            duration_s: None,
            energy_j: None,
            trace_power_avg_w: None,
            trace_energy_j: None,
            samples: None,
            requests: None,
            energy_per_request_j: None,
            source: Source::Table,
            origin: String::new(),
            modelled: false,
            reason: Some(String::new()),
            trace: Some(String::new()),
            sample_rate_hz: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), CSV_COLUMNS.len() + 1);
        for c in CSV_COLUMNS {
            assert!(v.get(c).is_some(), "{c}");
        }
    }
}
