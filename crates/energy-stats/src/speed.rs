//! `--speed-adjust`: each run's energy adjusted by the machine's speed measured beside it (the
//! run record's `speed_probe`, which `experiment` writes for a server on its own machine).
//!
//! On a shared machine the same requests cost more CPU time while the host is busy, and the
//! demo's model turns CPU time into energy; the probe's median during a run tracks those
//! slowdowns. The energies are adjusted by analysis of covariance on logarithms, one slope for
//! all interpreters fitted within each ([`stats::covariate`]): every run is brought to the
//! machine's mean speed over the whole experiment, so the share of the spread that followed the
//! machine's speed goes from each run and from each interpreter's mean alike. An interpreter
//! that slowed the probe itself (by sharing the CPUs' caches with it) would be adjusted for
//! that too, a bias: the report gives each interpreter's shift and a one-way ANOVA of the
//! probe across interpreters, so it shows. `docs/method.md`, "The machine's speed".

use serde::Serialize;

use crate::dataset::Dataset;
use crate::numeric::{median_sorted, np_mean, np_var, sorted};

/// What the adjustment did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedAdjustment {
    /// Energy ∝ probe time^β within an interpreter: the fitted slope.
    pub beta: f64,
    /// Its standard error (`None` without residual degrees of freedom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta_se: Option<f64>,
    /// Runs adjusted.
    pub runs: usize,
    /// The workload the probe timed (the run records' `speed_probe.workload`), the same for
    /// every run.
    pub workload: String,
    /// One-way ANOVA of ln(probe time) across the interpreters: whether they met (or made)
    /// different machine speeds. `None` when it cannot be computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_anova_p: Option<f64>,
    /// Per interpreter: the coefficient of variation before and after, and its shift.
    pub groups: Vec<SpeedGroup>,
}

/// One interpreter's spread before and after the adjustment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedGroup {
    /// Group label.
    pub label: String,
    /// Runs adjusted.
    pub n: usize,
    /// Coefficient of variation of the raw energies, % (sample standard deviation).
    pub cv_before_pct: Option<f64>,
    /// Coefficient of variation of the adjusted energies, %.
    pub cv_after_pct: Option<f64>,
    /// Median probe time of the group's runs, ms.
    pub probe_median_ms: f64,
    /// How far the adjustment moved the interpreter's (geometric) mean energy, %.
    pub shift_pct: f64,
}

impl SpeedAdjustment {
    /// What was done, in words, for every rendering of the report.
    pub fn sentence(&self) -> String {
        let se = self
            .beta_se
            .map_or(String::new(), |se| format!(" ± {se:.2}"));
        let anova = self.probe_anova_p.map_or(String::new(), |p| {
            let said = if p < crate::intervals::ALPHA {
                "differed between interpreters more than chance would make them; an interpreter may slow the probe itself, and its shift below is then partly a bias"
            } else {
                "did not differ between interpreters more than chance would make them"
            };
            format!("; the probe times {said} (one-way ANOVA of their logarithms, p = {p:.3})")
        });
        format!(
            "speed-adjusted energies: the {} runs' energies were adjusted by the machine's speed measured beside each run (a fixed workload, {}, timed every 20 ms on the server's machine, its median per run); energy ∝ probe time^β within each interpreter, β = {:.2}{se} (one slope for all, fitted within the interpreters), every run brought to the experiment's mean speed{anova} (docs/method.md, \"The machine's speed\")",
            self.runs, self.workload, self.beta
        )
    }

    /// The per-interpreter table: label, runs, probe median, CV before, CV after, shift.
    pub fn rows(&self) -> Vec<[String; 6]> {
        let pct = |v: Option<f64>| v.map_or("n/a".into(), |c| format!("{c:.2} %"));
        self.groups
            .iter()
            .map(|g| {
                [
                    g.label.clone(),
                    g.n.to_string(),
                    format!("{:.3}", g.probe_median_ms),
                    pct(g.cv_before_pct),
                    pct(g.cv_after_pct),
                    format!("{:+.2} %", g.shift_pct),
                ]
            })
            .collect()
    }
}

/// The headings of [`SpeedAdjustment::rows`].
pub const HEADINGS: [&str; 6] = [
    "interpreter",
    "runs",
    "probe median (ms)",
    "CV before",
    "CV after",
    "mean moved by",
];

/// CV in % with ddof 1; `None` below 2 values.
fn cv_pct(v: &[f64]) -> Option<f64> {
    (v.len() >= 2)
        .then(|| 100.0 * np_var(v, 1.0).sqrt() / np_mean(v))
        .filter(|c| c.is_finite())
}

/// Adjusts the energy of every usable run (not failed, not warm-up) of `data` in place and
/// returns what it did. Errs naming the first usable run without a probe, or when the probe
/// never varied within an interpreter (nothing to fit).
pub fn adjust(data: &mut Dataset) -> Result<SpeedAdjustment, String> {
    let mut pairs: Vec<Vec<(f64, f64)>> = Vec::new();
    // The workload of the first run with a probe, and where it was read.
    let mut workload: Option<(String, String)> = None;
    for g in &data.groups {
        let mut v = Vec::new();
        for r in g
            .runs
            .iter()
            .filter(|r| r.failed.is_none() && !r.is_warmup())
        {
            let Some(p) = r.speed_probe_ms else {
                return Err(format!(
                    "--speed-adjust: {} (run {} of {}) has no speed_probe; only runs that experiment recorded with a server on its own machine carry one (leave --speed-adjust out)",
                    r.origin, r.run, r.label
                ));
            };
            let w = r
                .speed_probe_workload
                .as_deref()
                .unwrap_or(records::SpeedProbe::BUILTIN);
            match &workload {
                None => workload = Some((w.to_owned(), r.origin.clone())),
                Some((first, at)) if first != w => {
                    return Err(format!(
                        "--speed-adjust: {} timed the speed probe workload `{w}`, {at} `{first}`; probe times of different workloads cannot be compared (analyse the runs apart, or leave --speed-adjust out)",
                        r.origin
                    ));
                }
                Some(_) => {}
            }
            v.push((r.energy_j, p));
        }
        pairs.push(v);
    }
    let fit = stats::covariate::adjust(&pairs).ok_or_else(|| {
        "--speed-adjust: the runs' energies or speed probes do not allow the fit (a value not positive, or no interpreter's probe varied)".to_string()
    })?;
    let mut groups = Vec::new();
    let logs: Vec<Vec<f64>> = pairs
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| v.iter().map(|p| p.1.ln()).collect())
        .collect();
    let refs: Vec<&[f64]> = logs.iter().map(Vec::as_slice).collect();
    let probe_anova_p = crate::hypothesis::f_oneway(&refs)
        .ok()
        .map(|t| t.pvalue)
        .filter(|p| p.is_finite());
    for (((g, raw), adjusted), shift) in data
        .groups
        .iter_mut()
        .zip(&pairs)
        .zip(&fit.values)
        .zip(&fit.shift)
    {
        let used = g
            .runs
            .iter_mut()
            .filter(|r| r.failed.is_none() && !r.is_warmup());
        for (r, e) in used.zip(adjusted) {
            r.energy_j = *e;
        }
        if raw.is_empty() {
            continue;
        }
        let before: Vec<f64> = raw.iter().map(|p| p.0).collect();
        let probes: Vec<f64> = raw.iter().map(|p| p.1).collect();
        groups.push(SpeedGroup {
            label: g.label.clone(),
            n: raw.len(),
            cv_before_pct: cv_pct(&before),
            cv_after_pct: cv_pct(adjusted),
            probe_median_ms: median_sorted(&sorted(&probes)),
            shift_pct: 100.0 * (shift - 1.0),
        });
    }
    Ok(SpeedAdjustment {
        beta: fit.beta,
        beta_se: fit.beta_se,
        runs: pairs.iter().map(Vec::len).sum(),
        workload: workload.map(|w| w.0).unwrap_or_default(),
        probe_anova_p,
        groups,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dataset::{Group, Run, Source};
    use crate::intervals::ratio::fieller_welch;

    fn group(label: &str, runs: &[(f64, Option<f64>)]) -> Group {
        Group {
            label: label.into(),
            runs: runs
                .iter()
                .enumerate()
                .map(|(i, &(e, p))| Run {
                    speed_probe_ms: p,
                    ..Run::measured(
                        label.into(),
                        i as u32 + 1,
                        e,
                        1.0,
                        Source::RunRecord,
                        format!("{label}/runs.jsonl:{}", i + 1),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn energies_following_the_probe_are_adjusted_to_one_speed() {
        // Energy = c · probe^0.5 exactly: after the adjustment each group is flat at c · p̃^0.5,
        // p̃ the geometric mean of every run's probe.
        let mk = |c: f64, ps: &[f64]| -> Vec<(f64, Option<f64>)> {
            ps.iter().map(|&p| (c * p.sqrt(), Some(p))).collect()
        };
        let mut data = Dataset {
            groups: vec![
                group("3.8", &mk(10.0, &[1.0, 1.2, 0.9])),
                group("3.12", &mk(12.0, &[1.1, 1.0, 1.3, 0.95])),
            ],
            ..Dataset::default()
        };
        let probes = [1.0f64, 1.2, 0.9, 1.1, 1.0, 1.3, 0.95];
        let gm = (probes.iter().map(|p| p.ln()).sum::<f64>() / 7.0).exp();
        let a = adjust(&mut data).unwrap();
        assert!((a.beta - 0.5).abs() < 1e-12);
        assert_eq!(a.runs, 7);
        for (g, c) in data.groups.iter().zip([10.0, 12.0]) {
            let m = c * gm.sqrt();
            for r in &g.runs {
                assert!((r.energy_j - m).abs() < 1e-9 * m, "{} {}", r.energy_j, m);
            }
        }
        assert!(a.groups.iter().all(|g| g.cv_after_pct.unwrap() < 1e-6));
        assert!(a.groups.iter().all(|g| g.cv_before_pct.unwrap() > 1.0));
    }

    /// Simulated demos with a known answer: 8 interpreters × 5 runs; every run meets the
    /// machine's speed `s` (lognormal, σ 4 %, the spread measured on the demo's machine); its
    /// energy is `μ_g · s · ε` (ε: 1 % of its own) and the probe reads `s^1.8` with 2 % noise
    /// (the probe moves more than the energy: β ≈ 0.55 here, as measured). Interpreter b's
    /// true mean is `ratio` × a's. Returns, over `demos`, how often the 95 % Fieller–Welch
    /// interval of b against a on the adjusted energies held the true difference, their mean
    /// half-width, and the raw energies' mean half-width.
    fn simulate(ratio: f64, demos: usize, seed: u64) -> (f64, f64, f64) {
        let mut rng = crate::simulate::Rng::new(seed);
        let (mut covered, mut width, mut raw_width) = (0usize, 0.0, 0.0);
        let truth = 100.0 * (ratio - 1.0);
        for _ in 0..demos {
            let groups: Vec<Group> = (0..8)
                .map(|g| {
                    let mu = if g == 1 {
                        100.0 * ratio
                    } else {
                        100.0 + 3.0 * g as f64
                    };
                    let runs: Vec<(f64, Option<f64>)> = (0..5)
                        .map(|_| {
                            let s = (0.04 * rng.normal()).exp();
                            let e = mu * s * (0.01 * rng.normal()).exp();
                            (e, Some(s.powf(1.8) * (0.02 * rng.normal()).exp()))
                        })
                        .collect();
                    group(&format!("g{g}"), &runs)
                })
                .collect();
            let energies = |d: &Dataset, g: usize| -> Vec<f64> {
                d.groups[g].runs.iter().map(|r| r.energy_j).collect()
            };
            let mut data = Dataset {
                groups,
                ..Dataset::default()
            };
            let raw = fieller_welch(&energies(&data, 0), &energies(&data, 1), 0.05).unwrap();
            adjust(&mut data).unwrap();
            let adj = fieller_welch(&energies(&data, 0), &energies(&data, 1), 0.05).unwrap();
            covered += usize::from(adj.low <= truth && truth <= adj.high);
            width += adj.half_width();
            raw_width += raw.half_width();
        }
        let n = demos as f64;
        (covered as f64 / n, width / n, raw_width / n)
    }

    #[test]
    fn adjusted_intervals_keep_their_level_and_narrow() {
        // 2000 demos: a true coverage of 0.95 lands in [0.935, 0.965] at ±3 standard errors.
        for (ratio, seed) in [(1.0, 7), (1.05, 8)] {
            let (coverage, width, raw_width) = simulate(ratio, 2000, seed);
            println!("ratio {ratio}: coverage {coverage:.3}, half-width {width:.2} % (raw {raw_width:.2} %)");
            assert!(
                (0.935..=0.965).contains(&coverage),
                "ratio {ratio}: {coverage}"
            );
            assert!(
                width < 0.6 * raw_width,
                "ratio {ratio}: {width} vs {raw_width}"
            );
        }
    }

    #[test]
    fn a_run_without_a_probe_is_named() {
        let mut data = Dataset {
            groups: vec![group("3.8", &[(10.0, Some(1.0)), (11.0, None)])],
            ..Dataset::default()
        };
        let e = adjust(&mut data).unwrap_err();
        assert!(
            e.contains("3.8/runs.jsonl:2") && e.contains("no speed_probe"),
            "{e}"
        );
    }

    #[test]
    fn runs_timed_with_different_workloads_are_refused_and_one_workload_is_reported() {
        let python = "python-dict-20000 CPython 3.11.2 /usr/bin/python3.11";
        let mut g = group(
            "3.8",
            &[(10.0, Some(1.0)), (11.0, Some(1.1)), (12.0, Some(1.2))],
        );
        for r in &mut g.runs {
            r.speed_probe_workload = Some(python.into());
        }
        let mut data = Dataset {
            groups: vec![g.clone()],
            ..Dataset::default()
        };
        let a = adjust(&mut data).unwrap();
        assert_eq!(a.workload, python);
        assert!(a.sentence().contains(python), "{}", a.sentence());
        // A run without a workload timed the builtin one: a mix is refused, naming both runs.
        g.runs[2].speed_probe_workload = None;
        let mut data = Dataset {
            groups: vec![g],
            ..Dataset::default()
        };
        let e = adjust(&mut data).unwrap_err();
        assert!(
            e.contains("3.8/runs.jsonl:3")
                && e.contains("3.8/runs.jsonl:1")
                && e.contains(records::SpeedProbe::BUILTIN)
                && e.contains(python),
            "{e}"
        );
    }
}
