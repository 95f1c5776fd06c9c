//! The `requests` table: per interpreter and endpoint, the requests' count, their mean energy
//! with a 95 % interval across runs, their mean latency and their share of the runs' energy;
//! then what was between requests and the idle baseline's share. JSON, CSV and Markdown.
//!
//! The interval: each run gives one number per endpoint, its mean energy per request; across
//! the `n` runs where the endpoint occurs, Student's t interval `x̄ ± t(0.975, n − 1) · s/√n`
//! (s with n − 1). Runs are the independent units; requests of one run are not.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{routes, RunEnergy};
use crate::intervals::t_ppf;
use crate::numeric::{np_mean, np_var};

/// The `schema` tag of the JSON document.
pub const SCHEMA: &str = "requests/1";

/// The rule, as every output states it.
pub const RULE: &str = "energy above the idle baseline in each sample interval, in equal shares to the requests in flight (from start to start + latency); intervals with none in flight are between requests";

/// The interval's method.
pub const INTERVAL: &str =
    "95 % Student t interval across runs of the run's mean energy per request";

/// One endpoint of one interpreter.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// The endpoint (`GET /<user>`, `404`, …).
    pub endpoint: String,
    /// Requests in all runs.
    pub requests: usize,
    /// Runs where it occurs.
    pub runs: usize,
    /// Mean energy per request (J): the mean over runs of each run's mean.
    pub energy_per_request_j: f64,
    /// Low end of the 95 % interval (J); `None` with fewer than 2 runs.
    pub ci95_low_j: Option<f64>,
    /// High end of the 95 % interval (J).
    pub ci95_high_j: Option<f64>,
    /// Mean latency over all its requests (ms).
    pub latency_ms: f64,
    /// Mean over runs of its energy as % of the run's trace energy.
    pub share_pct: f64,
}

/// One interpreter.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    /// Group label.
    pub label: String,
    /// Runs attributed.
    pub runs: usize,
    /// Whether the power was modelled (a simulated meter), not measured.
    pub modelled: bool,
    /// Runs per time-base rule (`controller`, `meter-clock`, `recording-start`).
    pub time_base: BTreeMap<&'static str, usize>,
    /// Runs per baseline rule (`baseline-recording`, `trace-p5`).
    pub baseline: BTreeMap<&'static str, usize>,
    /// Mean idle baseline (W).
    pub baseline_w: f64,
    /// Mean trace energy per run (J).
    pub trace_energy_j: f64,
    /// Per endpoint, in the scenario's order.
    pub endpoints: Vec<EndpointRow>,
    /// Mean energy per run above the baseline with no request in flight (J).
    pub between_requests_j: f64,
    /// Its mean share of the run's energy (%).
    pub between_requests_pct: f64,
    /// Mean energy per run of the idle baseline (J).
    pub baseline_j: f64,
    /// Its mean share (%).
    pub baseline_pct: f64,
    /// The largest `|attributed + between + baseline − trace|` of a run (J).
    pub max_conservation_error_j: f64,
    /// Requests in flight at least in part outside their recording (all runs).
    pub requests_outside: usize,
}

/// The whole table.
#[derive(Debug, Clone, Serialize)]
pub struct RequestsReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// [`RULE`].
    pub rule: &'static str,
    /// [`INTERVAL`].
    pub interval: &'static str,
    /// One entry per interpreter, in input order.
    pub groups: Vec<GroupRow>,
}

fn t_interval(v: &[f64]) -> (f64, Option<f64>, Option<f64>) {
    let m = np_mean(v);
    if v.len() < 2 {
        return (m, None, None);
    }
    let n = v.len() as f64;
    let h = t_ppf(n - 1.0, 0.975) * (np_var(v, 1.0) / n).sqrt();
    (m, Some(m - h), Some(m + h))
}

/// Summarise attributed runs per group (in the order groups first appear) and endpoint.
pub fn summarise(runs: &[RunEnergy]) -> RequestsReport {
    let mut order: Vec<&str> = Vec::new();
    for r in runs {
        if !order.contains(&r.label.as_str()) {
            order.push(&r.label);
        }
    }
    let groups = order
        .into_iter()
        .map(|label| {
            let rs: Vec<&RunEnergy> = runs.iter().filter(|r| r.label == label).collect();
            group(label, &rs)
        })
        .collect();
    RequestsReport {
        schema: SCHEMA,
        rule: RULE,
        interval: INTERVAL,
        groups,
    }
}

/// One endpoint's (requests, energy) per run where it occurs, and every request's latency.
type PerEndpoint = (Vec<(usize, f64)>, Vec<f64>);

fn group(label: &str, rs: &[&RunEnergy]) -> GroupRow {
    // endpoint → per run: (count, energy sum); and all latencies.
    let mut per: BTreeMap<&str, PerEndpoint> = BTreeMap::new();
    for r in rs {
        let mut here: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
        for q in &r.requests {
            let e = here.entry(&q.endpoint).or_default();
            e.0 += 1;
            e.1 += q.energy_j;
            per.entry(&q.endpoint)
                .or_default()
                .1
                .push(q.record.latency_ms);
        }
        for (ep, ne) in here {
            per.entry(ep).or_default().0.push(ne);
        }
    }
    let share_of = |ep: &str| -> f64 {
        let shares: Vec<f64> = rs
            .iter()
            .map(|r| {
                let e: f64 = r
                    .requests
                    .iter()
                    .filter(|q| q.endpoint == ep)
                    .map(|q| q.energy_j)
                    .sum();
                100.0 * e / r.trace_j
            })
            .collect();
        np_mean(&shares)
    };
    let mut endpoints: Vec<EndpointRow> = per
        .iter()
        .map(|(ep, (by_run, lat))| {
            let means: Vec<f64> = by_run.iter().map(|(n, e)| e / *n as f64).collect();
            let (m, lo, hi) = t_interval(&means);
            EndpointRow {
                endpoint: ep.to_string(),
                requests: by_run.iter().map(|(n, _)| n).sum(),
                runs: by_run.len(),
                energy_per_request_j: m,
                ci95_low_j: lo,
                ci95_high_j: hi,
                latency_ms: np_mean(lat),
                share_pct: share_of(ep),
            }
        })
        .collect();
    endpoints.sort_by(|a, b| routes::rank(&a.endpoint).cmp(&routes::rank(&b.endpoint)));
    let mean =
        |f: &dyn Fn(&RunEnergy) -> f64| np_mean(&rs.iter().map(|r| f(r)).collect::<Vec<_>>());
    let mut time_base = BTreeMap::new();
    let mut baseline = BTreeMap::new();
    for r in rs {
        *time_base.entry(r.time_base.name()).or_insert(0) += 1;
        *baseline.entry(r.baseline_rule.name()).or_insert(0) += 1;
    }
    GroupRow {
        label: label.to_string(),
        runs: rs.len(),
        modelled: rs.iter().any(|r| r.modelled),
        time_base,
        baseline,
        baseline_w: mean(&|r| r.baseline_w),
        trace_energy_j: mean(&|r| r.trace_j),
        endpoints,
        between_requests_j: mean(&|r| r.between_j),
        between_requests_pct: mean(&|r| 100.0 * r.between_j / r.trace_j),
        baseline_j: mean(&|r| r.baseline_j),
        baseline_pct: mean(&|r| 100.0 * r.baseline_j / r.trace_j),
        max_conservation_error_j: rs
            .iter()
            .map(|r| r.conservation_error_j)
            .fold(0.0, f64::max),
        requests_outside: rs.iter().map(|r| r.requests_outside).sum(),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v}")).unwrap_or_default()
}

/// The table as CSV (through the `csv` crate, as every CSV of energy-stats): one row per
/// interpreter and endpoint, then `(between requests)` and `(idle baseline)` rows whose energy
/// is per run, not per request.
pub fn csv(r: &RequestsReport) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let mut row = |cells: [String; 9]| {
        // Writing into a Vec cannot fail.
        let _ = w.write_record(&cells);
    };
    row([
        "label",
        "endpoint",
        "requests",
        "runs",
        "energy_per_request_j",
        "ci95_low_j",
        "ci95_high_j",
        "latency_ms",
        "share_pct",
    ]
    .map(String::from));
    for g in &r.groups {
        for e in &g.endpoints {
            row([
                g.label.clone(),
                e.endpoint.clone(),
                e.requests.to_string(),
                e.runs.to_string(),
                e.energy_per_request_j.to_string(),
                opt(e.ci95_low_j),
                opt(e.ci95_high_j),
                e.latency_ms.to_string(),
                e.share_pct.to_string(),
            ]);
        }
        for (name, j, pct) in [
            (
                "(between requests)",
                g.between_requests_j,
                g.between_requests_pct,
            ),
            ("(idle baseline)", g.baseline_j, g.baseline_pct),
        ] {
            row([
                g.label.clone(),
                name.into(),
                String::new(),
                g.runs.to_string(),
                j.to_string(),
                String::new(),
                String::new(),
                String::new(),
                pct.to_string(),
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The table in Markdown: one section per interpreter.
pub fn markdown(r: &RequestsReport) -> String {
    let mut s = String::from("# Energy per request\n\n");
    let _ = writeln!(s, "Rule: {RULE}. Interval: {INTERVAL}.\n");
    for g in &r.groups {
        let rules = |m: &BTreeMap<&str, usize>| {
            m.iter()
                .map(|(k, v)| format!("{k} ({v} runs)"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "## {}{}\n\n{} runs, {:.4} J per run; load start: {}; baseline: {}, {:.4} W.\n",
            g.label,
            if g.modelled { " (MODELLED power)" } else { "" },
            g.runs,
            g.trace_energy_j,
            rules(&g.time_base),
            rules(&g.baseline),
            g.baseline_w
        );
        s.push_str("| endpoint | requests | per run | energy per request (mJ) | 95 % interval (mJ) | latency (ms) | share of energy |\n");
        s.push_str("|---|---:|---:|---:|---|---:|---:|\n");
        for e in &g.endpoints {
            let ci = match (e.ci95_low_j, e.ci95_high_j) {
                (Some(l), Some(h)) => format!("{:.4} – {:.4}", 1e3 * l, 1e3 * h),
                _ => "– (1 run)".to_string(),
            };
            let _ = writeln!(
                s,
                "| `{}` | {} | {:.1} | {:.4} | {} | {:.2} | {:.2} % |",
                e.endpoint,
                e.requests,
                e.requests as f64 / g.runs.max(1) as f64,
                1e3 * e.energy_per_request_j,
                ci,
                e.latency_ms,
                e.share_pct
            );
        }
        let _ = writeln!(
            s,
            "| between requests | | | {:.4} J per run | | | {:.2} % |",
            g.between_requests_j, g.between_requests_pct
        );
        let _ = writeln!(
            s,
            "| idle baseline | | | {:.4} J per run | | | {:.2} % |\n",
            g.baseline_j, g.baseline_pct
        );
        let _ = writeln!(
            s,
            "Conservation (attributed + between + baseline = trace): largest error {:.1e} J.{}\n",
            g.max_conservation_error_j,
            if g.requests_outside > 0 {
                format!(
                    " {} requests were in flight partly outside their recording (those parts get nothing).",
                    g.requests_outside
                )
            } else {
                String::new()
            }
        );
    }
    s
}
