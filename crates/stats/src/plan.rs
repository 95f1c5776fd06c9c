//! How many runs: from a pilot or a finished experiment, per pair of groups, the runs per group
//! needed to tell a given difference apart (the two-sample t-test's power, equal to
//! statsmodels' `TTestIndPower().solve_power`) and to bring the interval of the % difference
//! down to a given half-width.
//!
//! Both use the pair's pooled standard deviation as the truth, and the report's level (α/m for
//! m pairs, Bonferroni), so the runs planned here are the runs the report's verdicts need.
//!
//! [`two_stage_runs`] is Stein's two-stage rule (`experiment run --target-ci`): the runs per
//! group decided once from a first stage's spread, so the report's interval of every pair
//! reaches a half-width with its level kept.

use std::fmt::Write as _;

use crate::intervals::{nct, t_ppf, Level, ALPHA};
use crate::numeric::{np_mean, np_var};

/// What to plan for.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PlanOptions {
    /// The difference of mean energy to tell apart, in % of the reference group's mean.
    pub difference_pct: f64,
    /// The power wanted (0.8).
    pub power: f64,
    /// The half-width wanted of the interval of the % difference, in percentage points.
    pub half_width_pct: f64,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            difference_pct: 2.0,
            power: 0.8,
            half_width_pct: 1.0,
        }
    }
}

/// The plan of one pair.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanPair {
    /// Reference group.
    pub a: String,
    /// Compared group.
    pub b: String,
    /// Runs per group now (the smaller group).
    pub runs_now: usize,
    /// Pooled standard deviation of energy in % of a's mean (the coefficient of variation).
    pub cv_pct: Option<f64>,
    /// The standardised difference to detect: `difference_pct / cv_pct` (Cohen's d).
    pub effect_size: Option<f64>,
    /// Runs per group for the power at `alpha`, as statsmodels answers (a real number).
    pub runs_to_detect_exact: Option<f64>,
    /// That, rounded up: runs per group to run.
    pub runs_to_detect: Option<u64>,
    /// Runs per group for an interval of ± `half_width_pct` (with this spread).
    pub runs_for_half_width: Option<u64>,
}

/// The plan of a report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// What was asked.
    pub options: PlanOptions,
    /// α of each pair's test and interval (0.05/m, Bonferroni over the m pairs).
    pub alpha: f64,
    /// Per pair.
    pub pairs: Vec<PlanPair>,
}

/// Runs per group for an interval of the % difference of half-width `target` (percentage
/// points), two groups of `n` runs with coefficient of variation `cv_pct`: the smallest n
/// with `t(1 − α/2, 2n − 2) · cv · √(2/n) ≤ target`.
pub fn runs_for_half_width(cv_pct: f64, target: f64, alpha: f64) -> Option<u64> {
    if !(cv_pct.is_finite() && target > 0.0) {
        return None;
    }
    if cv_pct == 0.0 {
        return Some(2);
    }
    let half = |n: f64| t_ppf(2.0 * n - 2.0, 1.0 - alpha / 2.0) * cv_pct * (2.0 / n).sqrt();
    let mut n = 2u64;
    while half(n as f64) > target {
        n = if n < 1024 { n + 1 } else { n * 2 };
        if n > 10_000_000 {
            return None;
        }
    }
    Some(n)
}

/// The quantile of Stein's rule: `t(1 − α/2m, n₀ − 1)`, the first stage's degrees of freedom
/// (at least 1) at the report's per-pair level.
pub fn two_stage_t(n0: u32, level: Level) -> f64 {
    let df = n0.saturating_sub(1).max(1);
    t_ppf(f64::from(df), 1.0 - level.per_pair_alpha() / 2.0)
}

/// One pair (indices into the groups) under Stein's rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StagePair {
    /// One group.
    pub a: usize,
    /// The other.
    pub b: usize,
    /// The first stage's half-width at one run, `t · ρ · √(cv_a² + cv_b²)` (percentage points;
    /// ρ the larger of x̄b/x̄a and its inverse, so either group may be the reference).
    pub half_width_one_run_pct: f64,
    /// Runs per group for this pair's interval to reach the target (at least n₀); `None` when
    /// the spread cannot be planned for (a mean ≤ 0, a non-finite number): run to the cap.
    pub runs_needed: Option<u64>,
}

/// Stein's rule per pair of groups, from the first stage of `n0` runs per group: the groups'
/// coefficients of variation `cvs` (%, n − 1) and mean energies `means`, the report's `level`
/// and the half-width `target` (percentage points) wanted of every pair's interval of the %
/// difference: `⌈t² · ρ² (cv_a² + cv_b²) / target²⌉`, at least n₀ (the delta method of the
/// report's Fieller–Welch interval; `t` is [`two_stage_t`]).
pub fn two_stage_pairs(
    n0: u32,
    cvs: &[f64],
    means: &[f64],
    level: Level,
    target: f64,
) -> Vec<StagePair> {
    let t = two_stage_t(n0, level);
    let k = cvs.len().min(means.len());
    let mut pairs = Vec::new();
    for a in 0..k {
        for b in a + 1..k {
            let ratio = means[b] / means[a];
            let widest = ratio.max(1.0 / ratio);
            let one_run = t * widest * (cvs[a].powi(2) + cvs[b].powi(2)).sqrt();
            let need = (one_run / target).powi(2);
            let plannable = need.is_finite() && need >= 0.0 && means[a] > 0.0 && means[b] > 0.0;
            pairs.push(StagePair {
                a,
                b,
                half_width_one_run_pct: one_run,
                runs_needed: plannable.then(|| (need - 1e-9).ceil().max(f64::from(n0)) as u64),
            });
        }
    }
    pairs
}

/// Stein's two-stage rule: the runs per group N that every pair of groups needs, decided once
/// from the first stage (see [`two_stage_pairs`]); at least `n0`; `None` when some pair cannot
/// be planned for (the caller runs to its cap). The cap itself is the caller's.
pub fn two_stage_runs(
    n0: u32,
    cvs: &[f64],
    means: &[f64],
    level: Level,
    target: f64,
) -> Option<u64> {
    two_stage_pairs(n0, cvs, means, level, target)
        .iter()
        .try_fold(u64::from(n0), |n, p| p.runs_needed.map(|r| n.max(r)))
}

/// The plan of every pair of `groups` (label, energies).
pub fn plan(groups: &[(&str, &[f64])], opts: PlanOptions) -> Plan {
    let m = groups.len() * groups.len().saturating_sub(1) / 2;
    let alpha = ALPHA / m.max(1) as f64;
    let mut pairs = Vec::new();
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            let ((la, a), (lb, b)) = (groups[i], groups[j]);
            let cv = (a.len() >= 2 && b.len() >= 2)
                .then(|| {
                    let (n1, n2) = (a.len() as f64, b.len() as f64);
                    let pooled = ((n1 - 1.0) * np_var(a, 1.0) + (n2 - 1.0) * np_var(b, 1.0))
                        / (n1 + n2 - 2.0);
                    100.0 * pooled.sqrt() / np_mean(a)
                })
                .filter(|v| v.is_finite() && *v >= 0.0);
            let effect = cv.filter(|c| *c > 0.0).map(|c| opts.difference_pct / c);
            let exact = effect.and_then(|d| nct::solve_nobs1(d, alpha, opts.power));
            pairs.push(PlanPair {
                a: la.to_owned(),
                b: lb.to_owned(),
                runs_now: a.len().min(b.len()),
                cv_pct: cv,
                effect_size: effect,
                runs_to_detect_exact: exact,
                runs_to_detect: exact.map(|n| (n - 1e-9).ceil().max(2.0) as u64),
                runs_for_half_width: cv
                    .and_then(|c| runs_for_half_width(c, opts.half_width_pct, alpha)),
            });
        }
    }
    Plan {
        options: opts,
        alpha,
        pairs,
    }
}

impl Plan {
    /// The plan in words, one line per pair, then the runs for all pairs at once.
    pub fn lines(&self) -> Vec<String> {
        let o = &self.options;
        let mut out = Vec::new();
        for p in &self.pairs {
            let mut s = format!("{} vs {}: ", p.b, p.a);
            match (p.runs_to_detect, p.cv_pct) {
                (Some(n), Some(cv)) => {
                    let _ = write!(
                        s,
                        "to tell {} % apart you need {n} runs per interpreter ({:.0} % power at α = {}, spread {cv:.2} %)",
                        o.difference_pct,
                        100.0 * o.power,
                        fmt_alpha(self.alpha)
                    );
                }
                (None, Some(_)) => {
                    s.push_str("no spread in these runs: any number of runs tells them apart")
                }
                _ => s.push_str("needs at least 2 runs per group to plan"),
            }
            if let Some(h) = p.runs_for_half_width {
                let _ = write!(s, "; for an interval of ±{} %, {h}", o.half_width_pct);
            }
            let _ = write!(s, " (now {})", p.runs_now);
            out.push(s);
        }
        let most = self.pairs.iter().filter_map(|p| p.runs_to_detect).max();
        if let (Some(n), true) = (most, self.pairs.len() > 1) {
            out.push(format!(
                "all pairs: to tell {} % apart you need {n} runs per interpreter",
                o.difference_pct
            ));
        }
        out
    }
}

fn fmt_alpha(a: f64) -> String {
    let s = format!("{a:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_noisier_pair_needs_more_runs() {
        let a = [100.0, 101.0, 99.0, 100.5, 99.5];
        let quiet: Vec<f64> = a.iter().map(|v| v * 1.02).collect();
        let noisy: Vec<f64> = a.iter().map(|v| 102.0 + (v - 100.0) * 3.0).collect();
        let p = plan(&[("a", &a), ("b", &quiet)], PlanOptions::default());
        let q = plan(&[("a", &a), ("b", &noisy)], PlanOptions::default());
        let (n1, n2) = (
            p.pairs[0].runs_to_detect.unwrap(),
            q.pairs[0].runs_to_detect.unwrap(),
        );
        assert!(n1 < n2, "{n1} {n2}");
        assert!(p.lines()[0].contains(&format!(
            "to tell 2 % apart you need {n1} runs per interpreter"
        )));
        assert!((p.alpha - 0.05).abs() < 1e-15);
    }

    fn level(pairs: usize) -> Level {
        Level {
            alpha: ALPHA,
            pairs,
        }
    }

    #[test]
    fn two_stage_runs_is_steins_formula() {
        // n0 = 5, cv 5 % each, equal means, one pair, ±2 %: t(4, 0.975) = 2.7764451051977987,
        // t² · 50 / 4 = 96.35… → 97.
        let t = two_stage_t(5, level(1));
        assert!((t - 2.776_445_105_197_799).abs() < 1e-12, "{t}");
        let n = two_stage_runs(5, &[5.0, 5.0], &[100.0, 100.0], level(1), 2.0);
        assert_eq!(n, Some(97));
        let p = two_stage_pairs(5, &[5.0, 5.0], &[100.0, 100.0], level(1), 2.0);
        assert_eq!(p.len(), 1);
        assert!((p[0].half_width_one_run_pct - t * 50f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn two_stage_runs_never_below_the_first_stage() {
        assert_eq!(
            two_stage_runs(10, &[0.1, 0.1], &[100.0, 100.0], level(1), 5.0),
            Some(10)
        );
        assert_eq!(
            two_stage_runs(3, &[0.0, 0.0], &[1.0, 1.0], level(1), 1.0),
            Some(3)
        );
        // One group: nothing to compare, the first stage is all.
        assert_eq!(two_stage_runs(4, &[9.0], &[1.0], level(0), 1.0), Some(4));
    }

    #[test]
    fn two_stage_runs_takes_the_widest_pair_and_the_bonferroni_level() {
        let cvs = [2.0, 2.0, 6.0];
        let means = [100.0, 100.0, 100.0];
        let p = two_stage_pairs(5, &cvs, &means, level(3), 1.0);
        let widest = p.iter().filter_map(|p| p.runs_needed).max();
        assert_eq!(two_stage_runs(5, &cvs, &means, level(3), 1.0), widest);
        assert_eq!(p.len(), 3);
        assert!(p[0].runs_needed < p[1].runs_needed);
        // Three pairs at α/3 need more runs than the same pair alone at α.
        let alone = two_stage_runs(5, &cvs[..2], &means[..2], level(1), 1.0).unwrap();
        assert!(p[0].runs_needed.unwrap() > alone);
    }

    #[test]
    fn two_stage_runs_is_the_same_whichever_group_is_the_reference() {
        let ab = two_stage_runs(5, &[3.0, 4.0], &[100.0, 110.0], level(1), 1.0);
        let ba = two_stage_runs(5, &[4.0, 3.0], &[110.0, 100.0], level(1), 1.0);
        assert_eq!(ab, ba);
        let same_means = two_stage_runs(5, &[3.0, 4.0], &[100.0, 100.0], level(1), 1.0);
        assert!(ab > same_means, "{ab:?} {same_means:?}");
    }

    #[test]
    fn two_stage_runs_cannot_plan_a_mean_of_zero_or_a_nan() {
        assert_eq!(
            two_stage_runs(5, &[1.0, 1.0], &[0.0, 100.0], level(1), 1.0),
            None
        );
        assert_eq!(
            two_stage_runs(5, &[f64::NAN, 1.0], &[1.0, 1.0], level(1), 1.0),
            None
        );
        assert_eq!(
            two_stage_runs(5, &[1.0, 1.0], &[-1.0, -2.0], level(1), 1.0),
            None
        );
    }

    #[test]
    fn two_stage_runs_from_energies_as_the_experiment_decides() {
        // The first stage as experiment's stopping rule reads it: cv and mean of each
        // interpreter's energies (NumPy's mean and n − 1 variance).
        let first: [&[f64]; 2] = [
            &[180.1, 178.4, 182.0, 179.3, 181.2],
            &[171.0, 174.9, 169.8, 172.5, 173.1],
        ];
        let means: Vec<f64> = first.iter().map(|e| np_mean(e)).collect();
        let cvs: Vec<f64> = first
            .iter()
            .zip(&means)
            .map(|(e, m)| 100.0 * np_var(e, 1.0).sqrt() / m)
            .collect();
        let n = two_stage_runs(5, &cvs, &means, level(1), 1.0).unwrap();
        let t = two_stage_t(5, level(1));
        let widest = means[0] / means[1];
        let need = (t * widest * (cvs[0].powi(2) + cvs[1].powi(2)).sqrt() / 1.0).powi(2);
        assert_eq!(n, (need - 1e-9).ceil() as u64);
        assert!(n > 5);
    }

    #[test]
    fn half_width_runs_reach_the_target() {
        let n = runs_for_half_width(5.0, 2.0, 0.05).unwrap();
        let h = |n: f64| t_ppf(2.0 * n - 2.0, 0.975) * 5.0 * (2.0 / n).sqrt();
        assert!(h(n as f64) <= 2.0 && h((n - 1) as f64) > 2.0, "{n}");
    }
}
