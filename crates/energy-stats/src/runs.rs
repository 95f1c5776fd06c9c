//! The per-run table (`energy-stats runs`): one row per run read, failed and warm-up runs
//! included and marked, as JSON Lines or CSV.

use std::io::{self, Write};

use serde::Serialize;

use crate::input::{Dataset, Run, Source};
use crate::numeric::finite;
use crate::report::{csv_field, csv_num};

/// One row of the per-run table.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow<'a> {
    /// Group label.
    pub label: &'a str,
    /// Run index (0 = warm-up).
    pub run: u32,
    /// `ok`, `failed` or `warmup`.
    pub status: &'static str,
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
    pub origin: &'a str,
    /// Whether the power was modelled, not measured.
    pub modelled: bool,
    /// Why the run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// The row of one run.
pub fn row(r: &Run) -> RunRow<'_> {
    RunRow {
        label: &r.label,
        run: r.run,
        status: if r.failed.is_some() {
            "failed"
        } else if r.is_warmup() {
            "warmup"
        } else {
            "ok"
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
        origin: &r.origin,
        modelled: r.modelled,
        reason: r.failed.as_deref(),
    }
}

/// Write the table as JSON Lines.
pub fn write_jsonl<W: Write + ?Sized>(data: &Dataset, out: &mut W) -> io::Result<()> {
    for g in &data.groups {
        for r in &g.runs {
            serde_json::to_writer(&mut *out, &row(r))?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// Write the table as CSV with a header.
pub fn write_csv<W: Write + ?Sized>(data: &Dataset, out: &mut W) -> io::Result<()> {
    writeln!(
        out,
        "label,run,status,power_avg_w,duration_s,energy_j,trace_power_avg_w,trace_energy_j,samples,requests,energy_per_request_j,source,origin,modelled,reason"
    )?;
    for g in &data.groups {
        for r in &g.runs {
            let x = row(r);
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(x.label),
                x.run,
                x.status,
                csv_num(x.power_avg_w),
                csv_num(x.duration_s),
                csv_num(x.energy_j),
                csv_num(x.trace_power_avg_w),
                csv_num(x.trace_energy_j),
                csv_num(x.samples),
                csv_num(x.requests),
                csv_num(x.energy_per_request_j),
                x.source.as_str(),
                csv_field(x.origin),
                x.modelled,
                csv_field(x.reason.unwrap_or(""))
            )?;
        }
    }
    Ok(())
}
