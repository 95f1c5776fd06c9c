//! The per-run table (`energy-stats runs`): one row per run read, failed and warm-up runs
//! included and marked, then the idle-baseline runs, as JSON Lines or CSV.
//!
//! A row carries everything the report and the figures take from a run (its numbers, status,
//! origin, trace path and sample rate), so `energy-stats runs … | energy-stats report -` gives
//! the figures of the folders themselves: [`crate::table`] reads the rows back into the same
//! runs, in either format.

use std::io::{self, Write};
use std::path::Path;

use records::{run_row_schema, RowStatus, RunRow};

use crate::dataset::{Dataset, Run};
use crate::numeric::finite;
use crate::table::existing_trace;
use crate::trace::STUDY_RATE_HZ;

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

/// The row of one run (`baseline`: an idle-baseline run).
pub fn row(r: &Run, baseline: bool) -> RunRow {
    RunRow {
        schema: run_row_schema(),
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

/// The run a row was written from, and whether it is an idle-baseline run. Its trace path is
/// resolved against `file`'s folder (`None`: stdin, the current directory); the trace itself
/// is read again, with the other runs' traces.
pub fn row_into_run(row: RunRow, file: Option<&Path>) -> (Run, bool) {
    let trace = row
        .trace
        .as_deref()
        .map(|t| records::trace_path(file, t))
        .and_then(|t| existing_trace(t, &row.origin));
    let failed = match (row.status, row.reason) {
        (RowStatus::Failed, reason) => Some(reason.unwrap_or_else(|| "failed".into())),
        (_, reason) => reason,
    };
    let run = Run {
        label: row.label,
        run: row.run,
        warmup: row.status == RowStatus::Warmup,
        power_w: row.power_avg_w.unwrap_or(f64::NAN),
        duration_s: row.duration_s.unwrap_or(f64::NAN),
        energy_j: row.energy_j.unwrap_or(f64::NAN),
        source: row.source,
        origin: row.origin,
        trace,
        trace_summary: None,
        sample_rate_hz: row
            .sample_rate_hz
            .filter(|r| *r > 0.0)
            .unwrap_or(STUDY_RATE_HZ),
        failed,
        modelled: row.modelled,
        requests: row.requests,
        // Run tables carry no session: sessions are read from run records.
        session: None,
        speed_probe_ms: None,
        speed_probe_workload: None,
    };
    (run, row.status == RowStatus::Baseline)
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
    use crate::dataset::{Group, Source};
    use crate::input::ReadOptions;
    use crate::table::{read_table_bytes, Runs};
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
                // A run counts only with its numbers: the readers never give one without
                // them (a row of status ok without them is refused when read).
                r.failed =
                    failed.or_else(|| (p.is_none() || d.is_none()).then(|| "no numbers".into()));
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
                speed: None,
            };
            let text = table(&data, csv);
            let mut back = Runs::default();
            read_table_bytes(text.as_bytes(), "-", None, &ReadOptions::default(), &mut back).unwrap();
            let again = Dataset {
                groups: vec![Group { label: "g".into(), runs: back.runs }],
                baseline: back.baseline,
                speed: None,
            };
            prop_assert_eq!(table(&again, csv), text);
            let rows = |d: &Dataset| rows(d).collect::<Vec<_>>();
            prop_assert_eq!(rows(&again), rows(&data));
        }
    }

    #[test]
    fn csv_columns_are_the_row_fields_after_schema() {
        let r = RunRow {
            schema: run_row_schema(),
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
