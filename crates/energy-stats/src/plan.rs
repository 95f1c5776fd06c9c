//! How many runs: from a pilot or a finished experiment, per pair of groups, the runs per group
//! needed to tell a given difference apart (the two-sample t-test's power, equal to
//! statsmodels' `TTestIndPower().solve_power`) and to bring the interval of the % difference
//! down to a given half-width.
//!
//! Both use the pair's pooled standard deviation as the truth, and the report's level (α/m for
//! m pairs, Bonferroni), so the runs planned here are the runs the report's verdicts need.

use std::fmt::Write as _;

use crate::intervals::{nct, t_ppf};
use crate::numeric::{np_mean, np_var};
use crate::posthoc::ALPHA;

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

    #[test]
    fn half_width_runs_reach_the_target() {
        let n = runs_for_half_width(5.0, 2.0, 0.05).unwrap();
        let h = |n: f64| t_ppf(2.0 * n - 2.0, 0.975) * 5.0 * (2.0 / n).sqrt();
        assert!(h(n as f64) <= 2.0 && h((n - 1) as f64) > 2.0, "{n}");
    }
}
