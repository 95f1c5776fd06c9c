//! Energy per request and per endpoint: each run's request log joined to its power trace.
//!
//! A run of a results folder (`OUT/minitwit312/`, [`records::GroupDir`]) has a run record in
//! `runs.jsonl`, its trace, and its request records in `requests/run-NNN.jsonl`. The request
//! records' `start_s` count from the load's start; the run record says where that start is on
//! the recording's timeline ([`TimeBase`]). Each run's trace is then shared among its requests
//! ([`attribution`]), above the idle baseline ([`BaselineRule`]), and the requests summed per
//! interpreter and endpoint ([`summary`]).
//!
//! # Layout
//! - `app.rs`: the `requests` and `export` commands.
//! - `attribution.rs`: the rule: energy above the baseline in equal shares to the requests in
//!   flight, "between requests" when none is; conservation.
//! - `figure.rs`: the figure `requests_energy` (energy by endpoint per interpreter).
//! - `routes.rs`: a request's route template (`GET /<user>`), the endpoint.
//! - `summary.rs`: per interpreter and endpoint: count, mean energy per request with its 95 %
//!   interval across runs, latency, share of the run's energy; JSON, CSV and Markdown.

pub mod app;
pub mod attribution;
pub mod figure;
pub mod routes;
pub mod summary;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use procs::Interrupt;
use records::{GroupDir, RequestRecord, RunRecord, Status};
use serde::Serialize;

use crate::cache::Cache;
use attribution::{attribute, InFlight};

/// Where the load started on the recording's timeline, by which rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeBase {
    /// The meter's own clock: the load's start as the meter logged it (`meter_clock`), on the
    /// timeline the samples are on.
    MeterClock,
    /// The controller's measurement around the load command (`load_start_s`).
    Controller,
    /// Neither recorded (runs from before otii-capture measured it): the load is taken to
    /// start at the recording's first sample, since otii-capture starts the load command as
    /// soon as the meter has started recording, without a pre-roll.
    RecordingStart,
}

impl TimeBase {
    /// The rule's name in the outputs.
    pub fn name(self) -> &'static str {
        match self {
            TimeBase::MeterClock => "meter-clock",
            TimeBase::Controller => "controller",
            TimeBase::RecordingStart => "recording-start",
        }
    }
}

/// Where a run's idle baseline came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineRule {
    /// The mean power of the group's idle-baseline recording (`baseline.jsonl`) taken last
    /// before the run (the first one after it when none was before).
    Recording,
    /// No baseline recording: the 5th percentile of the run's own trace (NumPy's linear
    /// quantile), the power the machine falls to between bursts of work.
    TracePercentile,
}

impl BaselineRule {
    /// The rule's name in the outputs.
    pub fn name(self) -> &'static str {
        match self {
            BaselineRule::Recording => "baseline-recording",
            BaselineRule::TracePercentile => "trace-p5",
        }
    }
}

/// The quantile of a trace that stands in for a missing baseline recording.
pub const FALLBACK_QUANTILE: f64 = 0.05;

/// One run to attribute: its record, trace and requests.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// Group label.
    pub label: String,
    /// The run record.
    pub record: RunRecord,
    /// Its trace file.
    pub trace: PathBuf,
    /// Its request records.
    pub requests: Vec<RequestRecord>,
    /// Where the load started on the recording's timeline (s).
    pub load_start_s: f64,
    /// By which rule.
    pub time_base: TimeBase,
    /// The baseline recording's mean power (W), when the group has one.
    pub baseline_w: Option<f64>,
}

/// One request, attributed.
#[derive(Debug, Clone, Serialize)]
pub struct RequestEnergy {
    /// Its endpoint ([`routes::endpoint`]).
    pub endpoint: String,
    /// The request record.
    #[serde(flatten)]
    pub record: RequestRecord,
    /// When it was sent, on the recording's timeline (s).
    pub recording_start_s: f64,
    /// Energy above the baseline attributed to it (J).
    pub energy_j: f64,
}

/// One run, attributed.
#[derive(Debug, Clone, Serialize)]
pub struct RunEnergy {
    /// Group label.
    pub label: String,
    /// Run index.
    pub run: u32,
    /// The run's id, joining it to its requests.
    pub run_id: Option<String>,
    /// Whether the power was modelled (a simulated meter).
    pub modelled: bool,
    /// Samples in the trace.
    pub samples: u64,
    /// Their rate (Hz).
    pub sample_rate_hz: f64,
    /// Where the load started on the recording's timeline (s).
    pub load_start_s: f64,
    /// By which rule.
    pub time_base: TimeBase,
    /// The idle baseline (W).
    pub baseline_w: f64,
    /// By which rule.
    pub baseline_rule: BaselineRule,
    /// The trace's energy (J).
    pub trace_j: f64,
    /// The baseline's part (J).
    pub baseline_j: f64,
    /// Above the baseline with no request in flight (J).
    pub between_j: f64,
    /// Above the baseline, attributed to the requests (J).
    pub attributed_j: f64,
    /// `|attributed + between + baseline − trace|` (J).
    pub conservation_error_j: f64,
    /// Requests in flight at least in part outside the recording.
    pub requests_outside: usize,
    /// Every request, attributed.
    #[serde(skip)]
    pub requests: Vec<RequestEnergy>,
}

/// Where the load started, and by which rule.
pub fn time_base(record: &RunRecord) -> (f64, TimeBase) {
    if let Some(m) = record.meter_clock {
        (m.load_start_s, TimeBase::MeterClock)
    } else if let Some(s) = record.load_start_s {
        (s, TimeBase::Controller)
    } else {
        (0.0, TimeBase::RecordingStart)
    }
}

fn read_records<T: serde::de::DeserializeOwned + records::Versioned>(
    path: &Path,
) -> Result<Vec<T>> {
    let f = File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    records::read_jsonl(BufReader::new(f), path.display().to_string())
        .map(|r| r.map_err(anyhow::Error::from))
        .collect()
}

/// The runs of one group folder that have a request log (warm-ups and failed runs left out);
/// `skipped` counts the ok runs without one. With `all`, every ok run with a trace, warm-ups
/// and runs without a request log included (no requests).
pub fn read_group(dir: &Path, all: bool, skipped: &mut usize) -> Result<Vec<RunInput>> {
    let g = GroupDir::new(dir);
    let label = g.label();
    let runs_file = g.runs_jsonl();
    if !runs_file.is_file() {
        bail!(
            "{}: no runs.jsonl; `requests` reads the results folders the experiment writes (OUT/minitwit312/)",
            dir.display()
        );
    }
    let runs: Vec<RunRecord> = read_records(&runs_file)?;
    let baselines: Vec<RunRecord> = if g.baseline_jsonl().is_file() {
        read_records(&g.baseline_jsonl())?
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for record in runs {
        if record.status != Status::Ok || (record.run == 0 && !all) {
            continue;
        }
        let req_file = g.requests(record.run);
        let Some(trace) = record.trace_path(Some(&runs_file)) else {
            *skipped += 1;
            continue;
        };
        let mut requests: Vec<RequestRecord> = if req_file.is_file() {
            read_records(&req_file)?
        } else if all {
            Vec::new()
        } else {
            *skipped += 1;
            continue;
        };
        if let Some(id) = &record.run_id {
            requests.retain(|r| &r.run_id == id);
        }
        let (load_start_s, time_base) = time_base(&record);
        let baseline_w = nearest_baseline(&baselines, &record.started_at);
        out.push(RunInput {
            label: label.clone(),
            record,
            trace,
            requests,
            load_start_s,
            time_base,
            baseline_w,
        });
    }
    Ok(out)
}

/// The mean power of the baseline recorded last before `started_at` (RFC 3339 in UTC, as
/// the tools write it, so that text order is time order), else the first after it.
fn nearest_baseline(baselines: &[RunRecord], started_at: &str) -> Option<f64> {
    let ok = || baselines.iter().filter(|b| b.status == Status::Ok);
    ok().filter(|b| b.started_at.as_str() <= started_at)
        .max_by(|a, b| a.started_at.cmp(&b.started_at))
        .or_else(|| ok().min_by(|a, b| a.started_at.cmp(&b.started_at)))
        .map(|b| b.power_avg_w)
}

/// NumPy's linear quantile `q` of `values` (finite), by selection rather than a full sort: a
/// study trace has 1.43 M samples, and sorting them cost more than the attribution itself.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let (_, &mut below, above) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let frac = h - lo as f64;
    if frac == 0.0 || above.is_empty() {
        return below;
    }
    let next = above.iter().copied().fold(f64::INFINITY, f64::min);
    // The two order statistics, interpolated as NumPy does (quantile_sorted's rounding).
    crate::numeric::quantile_sorted(&[below, next], frac)
}

/// Attribute one run whose power column is `power`.
pub fn attribute_run(input: &RunInput, power: &[f64]) -> RunEnergy {
    let rate = input.record.sample_rate_hz;
    let (baseline_w, baseline_rule) = match input.baseline_w {
        Some(w) => (w, BaselineRule::Recording),
        None => (
            quantile(power, FALLBACK_QUANTILE),
            BaselineRule::TracePercentile,
        ),
    };
    let flights: Vec<InFlight> = input
        .requests
        .iter()
        .map(|r| {
            let start_s = input.load_start_s + r.start_s;
            InFlight {
                start_s,
                end_s: start_s + r.latency_ms / 1000.0,
            }
        })
        .collect();
    let a = attribute(power, rate, baseline_w, &flights);
    let requests = input
        .requests
        .iter()
        .zip(&flights)
        .zip(&a.request_j)
        .map(|((r, f), &e)| RequestEnergy {
            endpoint: routes::endpoint(&r.method, &r.path, r.status),
            record: r.clone(),
            recording_start_s: f.start_s,
            energy_j: e,
        })
        .collect();
    RunEnergy {
        label: input.label.clone(),
        run: input.record.run,
        run_id: input.record.run_id.clone(),
        modelled: input.record.meter.is_modelled(),
        samples: power.len() as u64,
        sample_rate_hz: rate,
        load_start_s: input.load_start_s,
        time_base: input.time_base,
        baseline_w,
        baseline_rule,
        trace_j: a.trace_j,
        baseline_j: a.baseline_j,
        between_j: a.between_j,
        attributed_j: a.attributed_j(),
        conservation_error_j: a.conservation_error_j(),
        requests_outside: a.outside,
        requests,
    }
}

/// How to read the traces.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// The store of decoded traces (Parquet), or `None` to decode every trace.
    pub cache: Option<Cache>,
}

/// Attribute every run of `dirs`, on every core, one trace in memory per worker; in folder and
/// run order. `skipped` counts ok runs without a request log.
pub fn attribute_dirs(
    dirs: &[PathBuf],
    opts: &Options,
    interrupt: &Interrupt,
    skipped: &mut usize,
) -> Result<Vec<RunEnergy>> {
    let mut inputs = Vec::new();
    for d in dirs {
        inputs.extend(read_group(d, false, skipped)?);
    }
    attribute_runs(&inputs, opts, interrupt)
}

/// Attribute `inputs` (see [`attribute_dirs`]).
pub fn attribute_runs(
    inputs: &[RunInput],
    opts: &Options,
    interrupt: &Interrupt,
) -> Result<Vec<RunEnergy>> {
    par_map(inputs, opts.threads, interrupt, |input| {
        let power = crate::store::power_column(
            &input.trace,
            opts.cache.as_ref(),
            &input.label,
            &input.record,
        )?;
        Ok(attribute_run(input, &power))
    })
}

/// `f` over `items` on every core ([`crate::loader::on_workers`]); the first error, or
/// "interrupted" once `interrupt` is set.
pub(crate) fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    interrupt: &Interrupt,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let results = crate::loader::on_workers(items, threads, interrupt, f);
    if interrupt.is_set() {
        bail!("interrupted");
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| bail!("not done: a worker stopped")))
        .collect()
}
