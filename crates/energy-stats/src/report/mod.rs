//! The report: the study's tables and tests plus the post-hoc comparisons, built once from a
//! [`Dataset`] and rendered as JSON (the stable document of `docs/energy-stats.md`, straight
//! from these types), Markdown, LaTeX (pandas' `describe().to_latex()` shape), long-format CSV
//! or the one-line headline of each comparison with the reference group.
//!
//! # Layout
//! - `mod.rs`: the report model and [`build`].
//! - `markdown.rs`: [`markdown`], for people.
//! - `latex.rs`: [`latex`], the study's table.
//! - `csv.rs`: [`csv`], one value per line.
//! - `headline.rs`: [`headlines`], the verdicts in one sentence each.
//! - `study.rs`: the study's published table beside this machine's ([`StudyComparison`]).
//! - `html.rs`: [`html`], one self-contained page with the figures inline.
//! - `notes.rs`: the runs left out ([`LeftOut`]) and the tests a group is too small for
//!   ([`SmallSample`]).
//! - `sessions.rs`: the recording sessions ([`SessionRow`]) and the reference's drift between
//!   them ([`Drift`], [`drift_verdict`]).

mod csv;
mod headline;
mod html;
mod latex;
mod markdown;
mod notes;
mod sessions;
mod study;

pub use self::csv::csv;
pub use headline::{headline_lines, headlines, pretty_label, NoGroups};
pub use html::html;
pub use latex::latex;
pub use latex::latex_study;
pub use markdown::markdown;
pub use notes::{left_out, left_out_summary, small_samples, LeftOut, SmallSample};
pub use sessions::{
    drift_verdict, sessions, Drift, DriftVerdict, Relative, SessionGroup, SessionRow,
};
pub use study::{
    compare as compare_with_study, StudyComparison, StudyRow, KENDALL_MIN_VERSIONS, STUDY_MEAN_J,
    STUDY_VERSIONS,
};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::describe::Describe;
use crate::hypothesis::{
    anderson, bartlett, f_oneway, kruskal, levene, shapiro, shapiro_is_degenerate, Anderson,
    AndersonTable, NotComputable, TestResult, ANDERSON_LEVELS,
};
use crate::input::Dataset;
use crate::numeric::{average_ranks, finite, median_sorted, sorted};
use crate::plan::{plan, Plan, PlanOptions};
use crate::posthoc::{pairwise, Method, Pair};

/// Version tag of the JSON report.
pub const REPORT_SCHEMA: &str = "energy-stats-report/1";

/// What to put in the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Critical-value table of Anderson–Darling.
    pub anderson_table: AndersonTable,
    /// Keep warm-up runs (those their record or row marks) in the statistics.
    pub include_warmup: bool,
    /// What the plan section plans for.
    pub plan: PlanOptions,
}

/// A test result or why it is missing, serialised as
/// `{"statistic": x, "pvalue": p}` or `{"statistic": null, "pvalue": null, "not_computable": why}`.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The result.
    pub result: Result<TestResult, NotComputable>,
    /// A caveat SciPy would have warned about (constant data, N > 5000).
    pub warning: Option<String>,
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match &self.result {
            Ok(r) => {
                m.serialize_entry("statistic", &json_num(r.statistic))?;
                m.serialize_entry("pvalue", &json_num(r.pvalue))?;
            }
            Err(e) => {
                m.serialize_entry("statistic", &None::<f64>)?;
                m.serialize_entry("pvalue", &None::<f64>)?;
                m.serialize_entry("not_computable", &e.0)?;
            }
        }
        if let Some(w) = &self.warning {
            m.serialize_entry("warning", w)?;
        }
        m.end()
    }
}

/// JSON has no infinity: an infinite statistic (every group constant) is written as a string.
fn json_num(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::json!(v)
    } else if v.is_nan() {
        serde_json::Value::Null
    } else if v > 0.0 {
        serde_json::json!("inf")
    } else {
        serde_json::json!("-inf")
    }
}

/// The Anderson–Darling entry of one group.
#[derive(Debug, Clone)]
pub struct AndersonOutcome(pub Result<Anderson, NotComputable>, pub AndersonTable);

impl Serialize for AndersonOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match &self.0 {
            Ok(a) => {
                m.serialize_entry("statistic", &a.statistic)?;
                m.serialize_entry("critical_values", &a.critical_values)?;
            }
            Err(e) => {
                m.serialize_entry("statistic", &None::<f64>)?;
                m.serialize_entry("critical_values", &None::<f64>)?;
                m.serialize_entry("not_computable", &e.0)?;
            }
        }
        m.serialize_entry("significance_levels", &ANDERSON_LEVELS)?;
        let table = match self.1 {
            AndersonTable::Classical => "classical",
            AndersonTable::DAgostino => "dagostino",
        };
        m.serialize_entry("table", table)?;
        m.end()
    }
}

/// A map in group order (serde_json would sort a `BTreeMap` as text: "3.10" < "3.8").
#[derive(Debug, Clone)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// Per-group summary.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    /// The label.
    pub label: String,
    /// Runs that entered the statistics.
    pub runs_used: usize,
    /// Runs left out because they failed.
    pub runs_failed: usize,
    /// Warm-up runs (marked so by their record or row) left out.
    pub runs_warmup: usize,
    /// Energy, power × time (J).
    pub energy_j: Describe,
    /// Mean power (W).
    pub power_w: Describe,
    /// Scenario time (s).
    pub duration_s: Describe,
    /// Energy integrated over the trace (J), when every used run's trace was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_energy_j: Option<Describe>,
    /// Energy per HTTP request of the load (J), when every used run's record counts requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub energy_per_request_j: Option<Describe>,
    /// Energy above the idle baseline, `(power − mean baseline power) × time` (J), when a
    /// baseline was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub energy_above_baseline_j: Option<Describe>,
}

/// The tests on energy across groups and per group.
#[derive(Debug, Clone, Serialize)]
pub struct Tests {
    /// The variable tested.
    pub variable: &'static str,
    /// One-way ANOVA.
    pub anova: Outcome,
    /// Kruskal–Wallis H.
    pub kruskal: Outcome,
    /// Bartlett's test of equal variances.
    pub bartlett: Outcome,
    /// Levene's test (median-centred) of equal variances.
    pub levene: Outcome,
    /// Shapiro–Wilk per group.
    pub shapiro: Ordered<Outcome>,
    /// Anderson–Darling per group.
    pub anderson: Ordered<AndersonOutcome>,
}

/// One run in the run-order diagnostics.
#[derive(Debug, Clone, Serialize)]
pub struct OrderPoint {
    /// Run index.
    pub run: u32,
    /// Energy (J).
    pub energy_j: f64,
    /// Scenario time (s).
    pub duration_s: f64,
}

/// Run-order diagnostics of one group: does energy drift with the run index, is the first run
/// an outlier (warm-up)?
#[derive(Debug, Clone, Serialize)]
pub struct RunOrder {
    /// The group.
    pub label: String,
    /// The used runs in order.
    pub runs: Vec<OrderPoint>,
    /// Spearman's ρ between run index and energy (None for fewer than 3 runs or constant data).
    pub spearman_rho_energy: Option<f64>,
    /// Spearman's ρ between run index and scenario time.
    pub spearman_rho_duration: Option<f64>,
    /// Energy of the first run relative to the median of the others, percent.
    pub first_run_excess_pct: Option<f64>,
}

/// A run left out of the statistics.
#[derive(Debug, Clone, Serialize)]
pub struct FailedRun {
    /// The group.
    pub label: String,
    /// Run index.
    pub run: u32,
    /// Where it was read from.
    pub origin: String,
    /// Why it was left out.
    pub reason: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: &'static str,
    /// Whether the power numbers were modelled by a simulator rather than measured.
    pub modelled: bool,
    /// A sentence to print wherever the numbers are shown, when modelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Per-group tables.
    pub groups: Vec<GroupReport>,
    /// Tests on energy.
    pub tests: Tests,
    /// How the pairwise intervals and verdicts were made: level, correction, methods.
    pub comparisons: Method,
    /// Pairwise comparisons of energy.
    pub pairwise: Vec<Pair>,
    /// How many runs per group a difference or an interval width needs.
    pub plan: Plan,
    /// Run-order diagnostics.
    pub run_order: Vec<RunOrder>,
    /// Runs left out because they failed.
    pub failed_runs: Vec<FailedRun>,
    /// Every run left out of the statistics (failed and warm-up), with why.
    pub left_out: Vec<LeftOut>,
    /// Tests and tables not valid at a group's size (the numbers stay, for SciPy parity).
    pub small_samples: Vec<SmallSample>,
    /// Mean idle power of the baseline runs (W), when a baseline was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_power_w: Option<Describe>,
    /// The study's published table beside this machine's, and whether the orders agree.
    pub study: StudyComparison,
    /// The recording sessions of the runs (none when no run record says its session).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<SessionRow>,
    /// The reference's drift between sessions, with the verdict on the added versions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    /// What `--speed-adjust` did to the energies, when it was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<crate::speed::SpeedAdjustment>,
}

const MODELLED_NOTE: &str =
    "MODELLED DATA: the power was modelled by the Otii simulator (from the CPU use of the server processes, or synthetic), not measured; these numbers say nothing about real energy use.";

fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() < 3 {
        return None;
    }
    let (rx, _) = average_ranks(x);
    let (ry, _) = average_ranks(y);
    let n = rx.len() as f64;
    let mx = rx.iter().sum::<f64>() / n;
    let my = ry.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    finite(sxy / (sxx * syy).sqrt())
}

/// Build the report. It says the data are modelled when any run is (`--modelled` marks them all).
pub fn build(data: &Dataset, opts: &ReportOptions) -> Report {
    let modelled = data.modelled();
    let baseline: Vec<f64> = data
        .baseline
        .iter()
        .filter(|r| r.failed.is_none() && r.power_w.is_finite())
        .map(|r| r.power_w)
        .collect();
    let baseline_w = (!baseline.is_empty()).then(|| crate::numeric::np_mean(&baseline));
    let mut groups = Vec::new();
    let mut energies: Vec<(String, Vec<f64>)> = Vec::new();
    let mut run_order = Vec::new();
    let mut failed_runs = Vec::new();
    for g in &data.groups {
        for r in &g.runs {
            if let Some(why) = &r.failed {
                failed_runs.push(FailedRun {
                    label: r.label.clone(),
                    run: r.run,
                    origin: r.origin.clone(),
                    reason: why.clone(),
                });
            }
        }
        let used = g.used_runs(opts.include_warmup);
        let e: Vec<f64> = used.iter().map(|r| r.energy_j).collect();
        let p: Vec<f64> = used.iter().map(|r| r.power_w).collect();
        let d: Vec<f64> = used.iter().map(|r| r.duration_s).collect();
        let te: Option<Vec<f64>> = used.iter().map(|r| r.trace_energy_j()).collect();
        let epr: Option<Vec<f64>> = used.iter().map(|r| r.energy_per_request_j()).collect();
        groups.push(GroupReport {
            label: g.label.clone(),
            runs_used: used.len(),
            runs_failed: g.runs.iter().filter(|r| r.failed.is_some()).count(),
            runs_warmup: if opts.include_warmup {
                0
            } else {
                g.runs
                    .iter()
                    .filter(|r| r.failed.is_none() && r.is_warmup())
                    .count()
            },
            energy_j: Describe::of(&e),
            power_w: Describe::of(&p),
            duration_s: Describe::of(&d),
            trace_energy_j: te.filter(|v| !v.is_empty()).map(|v| Describe::of(&v)),
            energy_per_request_j: epr.filter(|v| !v.is_empty()).map(|v| Describe::of(&v)),
            energy_above_baseline_j: baseline_w.map(|b| {
                let above: Vec<f64> = used
                    .iter()
                    .map(|r| (r.power_w - b) * r.duration_s)
                    .collect();
                Describe::of(&above)
            }),
        });
        let idx: Vec<f64> = used.iter().map(|r| f64::from(r.run)).collect();
        let first_run_excess_pct = (e.len() >= 3)
            .then(|| {
                let rest = median_sorted(&sorted(&e[1..]));
                100.0 * (e[0] - rest) / rest
            })
            .filter(|v| v.is_finite());
        run_order.push(RunOrder {
            label: g.label.clone(),
            runs: used
                .iter()
                .map(|r| OrderPoint {
                    run: r.run,
                    energy_j: r.energy_j,
                    duration_s: r.duration_s,
                })
                .collect(),
            spearman_rho_energy: spearman(&idx, &e),
            spearman_rho_duration: spearman(&idx, &d),
            first_run_excess_pct,
        });
        energies.push((g.label.clone(), e));
    }
    let refs: Vec<&[f64]> = energies.iter().map(|(_, e)| e.as_slice()).collect();
    let plain = |result| Outcome {
        result,
        warning: None,
    };
    let shapiro_map = energies
        .iter()
        .map(|(l, e)| {
            let warning = if shapiro_is_degenerate(e) {
                Some("input data has range zero; W = 1 and p = 1 mean nothing here".to_string())
            } else if e.len() > 5000 {
                Some("for N > 5000 the p-value may not be accurate".to_string())
            } else {
                None
            };
            (
                l.clone(),
                Outcome {
                    result: shapiro(e),
                    warning,
                },
            )
        })
        .collect();
    let anderson_map = energies
        .iter()
        .map(|(l, e)| {
            (
                l.clone(),
                AndersonOutcome(anderson(e, opts.anderson_table), opts.anderson_table),
            )
        })
        .collect();
    let tests = Tests {
        variable: "energy_j",
        anova: plain(f_oneway(&refs)),
        kruskal: plain(kruskal(&refs)),
        bartlett: plain(bartlett(&refs)),
        levene: plain(levene(&refs)),
        shapiro: Ordered(shapiro_map),
        anderson: Ordered(anderson_map),
    };
    let named: Vec<(&str, &[f64])> = energies
        .iter()
        .map(|(l, e)| (l.as_str(), e.as_slice()))
        .collect();
    let pairs = pairwise(&named, "energy");
    let sizes: Vec<(String, usize)> = energies.iter().map(|(l, e)| (l.clone(), e.len())).collect();
    let (session_rows, drift) = sessions(data, opts.include_warmup);
    Report {
        speed: data.speed.clone(),
        sessions: session_rows,
        drift,
        schema: REPORT_SCHEMA,
        modelled,
        note: modelled.then(|| MODELLED_NOTE.to_string()),
        tests,
        comparisons: Method::for_pairs(pairs.len()),
        pairwise: pairs,
        plan: plan(&named, opts.plan),
        run_order,
        failed_runs,
        left_out: left_out(data, opts.include_warmup),
        small_samples: small_samples(&sizes),
        baseline_power_w: (!baseline.is_empty()).then(|| Describe::of(&baseline)),
        study: study::compare(&groups, modelled),
        groups,
    }
}

/// A group whose every variable is described by `energies` (tests of the renderings).
#[cfg(test)]
pub(crate) fn test_group(label: &str, energies: &[f64]) -> GroupReport {
    let d = Describe::of(energies);
    GroupReport {
        label: label.into(),
        runs_used: energies.len(),
        runs_failed: 0,
        runs_warmup: 0,
        energy_j: d.clone(),
        power_w: d.clone(),
        duration_s: d,
        trace_energy_j: None,
        energy_per_request_j: None,
        energy_above_baseline_j: None,
    }
}

/// The describe table of `variable`: one (label, describe) column per group that has it.
pub(crate) fn describe_columns(r: &Report, variable: &str) -> Vec<(String, Describe)> {
    r.groups
        .iter()
        .filter_map(|g| describe_of(g, variable).map(|d| (g.label.clone(), d)))
        .collect()
}

pub(crate) fn describe_of(g: &GroupReport, variable: &str) -> Option<Describe> {
    match variable {
        "energy_j" => Some(g.energy_j.clone()),
        "power_w" => Some(g.power_w.clone()),
        "duration_s" => Some(g.duration_s.clone()),
        "trace_energy_j" => g.trace_energy_j.clone(),
        "energy_above_baseline_j" => g.energy_above_baseline_j.clone(),
        "energy_per_request_j" => g.energy_per_request_j.clone(),
        _ => None,
    }
}

/// The variables of the describe tables, with their titles.
pub const VARIABLES: [(&str, &str); 6] = [
    ("energy_j", "Energy (J)"),
    ("power_w", "Mean power (W)"),
    ("duration_s", "Scenario time (s)"),
    ("trace_energy_j", "Energy from the trace, ΣP·Δt (J)"),
    (
        "energy_above_baseline_j",
        "Energy above the idle baseline (J)",
    ),
    ("energy_per_request_j", "Energy per HTTP request (J)"),
];
