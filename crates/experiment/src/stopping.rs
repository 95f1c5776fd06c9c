//! The stopping rule of `run --target-ci`: Stein's two-stage procedure. After the first stage
//! (the plan's `--runs`, n₀ ≥ 3 per interpreter), N is decided once, from the first stage's
//! spread alone, and never revised by looking at later runs or at an interval.
//!
//! For a pair (a, b) the report's interval of the % difference of mean energy has a half-width
//! of about `t · √V / √N` with `V = ρ² · (cv_a² + cv_b²)` per run (ρ = x̄b/x̄a, the delta method
//! of Fieller's interval; the larger of ρ and 1/ρ, so either interpreter may be the reference).
//! Stein's rule takes `t = t(1 − α/2m, n₀ − 1)`, the quantile of the first stage's degrees of
//! freedom at the report's level (α = 0.05, Bonferroni over the m pairs), and
//! `N = max(n₀, ⌈t² · V̂ / target²⌉)` for the widest pair, capped by `--max-runs`. The heavier
//! tail of t(n₀ − 1) pays for the uncertainty of the first stage's spread, so the interval
//! reaches the target with high probability (and Stein's own interval, of the first stage's
//! spread, always); N depends on the spread only, never on the difference, so the final
//! interval keeps its level (measured: `crates/energy-stats/tests/stopping.rs`).
//!
//! The rule itself is the `stats` crate's, the one energy-stats' report uses
//! ([`stats::plan::two_stage_pairs`]); this module
//! keeps what the plan file records of it and the progress lines. A pair the rule cannot plan
//! for (a mean ≤ 0 or a non-finite energy) needs the cap: the experiment runs to `--max-runs`.

use serde::{Deserialize, Serialize};
use stats::intervals::Level;
use stats::intervals::ALPHA;
use stats::numeric::{np_mean, np_var};
use stats::plan::{two_stage_pairs, two_stage_t};

/// The `rule` tag of a plan's stopping rule.
pub const STEIN: &str = "stein-two-stage";

/// What `--target-ci PCT --max-runs N` asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The half-width wanted of every pair's interval of the % difference (percentage points).
    pub ci_pct: f64,
    /// Runs per interpreter at most, first stage included.
    pub max_runs: u32,
}

/// The stopping rule a plan records: what was asked, and once the first stage is complete,
/// what was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoppingRule {
    /// Always [`STEIN`]: Stein's two-stage procedure.
    pub rule: String,
    /// The half-width wanted of every pair's interval of the % difference (percentage points).
    pub target_ci_pct: f64,
    /// Runs per interpreter of the first stage, n₀ (the plan's `runs`).
    pub first_stage_runs: u32,
    /// Runs per interpreter at most, first stage included.
    pub max_runs: u32,
    /// Decided when the first stage was complete; absent before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

/// The first stage's spread of one interpreter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Interpreter label.
    pub label: String,
    /// Runs of the first stage.
    pub runs: u32,
    /// Mean energy per run in joules.
    pub mean_energy_j: f64,
    /// Standard deviation of energy per run in joules (n − 1).
    pub sd_energy_j: f64,
    /// The standard deviation in % of the mean (coefficient of variation).
    pub cv_pct: f64,
}

/// The runs one pair needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairNeed {
    /// One interpreter.
    pub a: String,
    /// The other.
    pub b: String,
    /// The first stage's half-width per run, `t · √V` (percentage points at one run).
    pub half_width_one_run_pct: f64,
    /// Runs per interpreter for this pair's interval to reach the target; the cap
    /// (`max_runs`, at least n₀) when the pair cannot be planned for (a mean ≤ 0, a
    /// non-finite energy).
    pub runs_needed: u64,
}

/// What Stein's rule decided from the first stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Family-wise α of the report (0.05).
    pub alpha: f64,
    /// Pairs compared, m.
    pub pairs: usize,
    /// α of each pair's interval, α/m (Bonferroni), the report's level.
    pub per_pair_alpha: f64,
    /// Degrees of freedom of the first stage's spread, n₀ − 1.
    pub df: u32,
    /// `t(1 − α/2m, n₀ − 1)`.
    pub t_quantile: f64,
    /// Per interpreter, in the plan's order.
    pub spread: Vec<Spread>,
    /// Per pair.
    pub pair_needs: Vec<PairNeed>,
    /// Runs per interpreter the widest pair needs (at least n₀).
    pub runs_needed: u64,
    /// Runs per interpreter decided, N: `runs_needed`, capped by `max_runs`.
    pub runs: u32,
    /// Rounds added after the first stage, N − n₀.
    pub rounds_added: u32,
    /// Whether the cap cut N short (the target may then not be reached).
    pub capped: bool,
}

impl StoppingRule {
    /// The rule of `target` with a first stage of `first_stage_runs`, not yet decided.
    pub fn new(target: Target, first_stage_runs: u32) -> StoppingRule {
        StoppingRule {
            rule: STEIN.into(),
            target_ci_pct: target.ci_pct,
            first_stage_runs,
            max_runs: target.max_runs,
            decision: None,
        }
    }

    /// Whether `other` asks the same (resuming with it is safe).
    pub fn same_parameters(&self, other: &StoppingRule) -> bool {
        self.rule == other.rule
            && self.target_ci_pct == other.target_ci_pct
            && self.first_stage_runs == other.first_stage_runs
            && self.max_runs == other.max_runs
    }

    /// Decides N from the first stage's energies per interpreter (label, energies in joules),
    /// by the `stats` crate's Stein rule ([`two_stage_pairs`]). A pair it cannot plan for (a mean
    /// ≤ 0, a non-finite energy: `None` there) needs the cap: the experiment runs to
    /// `--max-runs`.
    pub fn decide(&self, first_stage: &[(String, Vec<f64>)]) -> Decision {
        let n0 = self.first_stage_runs;
        let k = first_stage.len();
        let level = Level {
            alpha: ALPHA,
            pairs: k * k.saturating_sub(1) / 2,
        };
        let spread: Vec<Spread> = first_stage
            .iter()
            .map(|(label, e)| {
                let (mean, sd) = (np_mean(e), np_var(e, 1.0).sqrt());
                Spread {
                    label: label.clone(),
                    runs: e.len() as u32,
                    mean_energy_j: mean,
                    sd_energy_j: sd,
                    cv_pct: 100.0 * sd / mean,
                }
            })
            .collect();
        let cvs: Vec<f64> = spread.iter().map(|s| s.cv_pct).collect();
        let means: Vec<f64> = spread.iter().map(|s| s.mean_energy_j).collect();
        let cap = self.max_runs.max(n0);
        let pair_needs: Vec<PairNeed> =
            two_stage_pairs(n0, &cvs, &means, level, self.target_ci_pct)
                .into_iter()
                .map(|p| PairNeed {
                    a: spread[p.a].label.clone(),
                    b: spread[p.b].label.clone(),
                    half_width_one_run_pct: p.half_width_one_run_pct,
                    runs_needed: p.runs_needed.unwrap_or(u64::from(cap)),
                })
                .collect();
        let runs_needed = pair_needs
            .iter()
            .map(|p| p.runs_needed)
            .max()
            .unwrap_or(u64::from(n0))
            .max(u64::from(n0));
        let runs = runs_needed.min(u64::from(cap)) as u32;
        Decision {
            alpha: level.alpha,
            pairs: level.pairs,
            per_pair_alpha: level.per_pair_alpha(),
            df: n0.saturating_sub(1).max(1),
            t_quantile: two_stage_t(n0, level),
            spread,
            pair_needs,
            runs_needed,
            runs,
            rounds_added: runs - n0,
            capped: runs_needed > u64::from(cap),
        }
    }
}

impl Decision {
    /// The progress line: "first stage done: to reach ±1.0 % need 7 runs per interpreter
    /// (cap 20); adding 4 rounds".
    pub fn progress_line(&self, rule: &StoppingRule) -> String {
        let mut s = format!(
            "first stage done: to reach ±{} % need {} runs per interpreter (cap {}",
            fmt_pct(rule.target_ci_pct),
            self.runs_needed,
            rule.max_runs
        );
        s.push_str(if self.capped { ": capped)" } else { ")" });
        match self.rounds_added {
            0 => s.push_str(&format!(
                "; the first stage's {} are enough, no rounds added",
                rule.first_stage_runs
            )),
            1 => s.push_str("; adding 1 round"),
            r => s.push_str(&format!("; adding {r} rounds")),
        }
        if self.capped {
            s.push_str(&format!(
                " (the intervals may stay wider than ±{} %)",
                fmt_pct(rule.target_ci_pct)
            ));
        }
        s
    }

    /// The spread line: each interpreter's coefficient of variation and the t quantile used.
    pub fn spread_line(&self) -> String {
        let cvs: Vec<String> = self
            .spread
            .iter()
            .map(|s| format!("{} {:.2} %", s.label, s.cv_pct))
            .collect();
        format!(
            "first stage spread (cv): {}; Stein's rule with t({}) = {:.3} at {:.2} % per pair ({} pair{}, Bonferroni)",
            cvs.join(", "),
            self.df,
            self.t_quantile,
            100.0 * (1.0 - self.per_pair_alpha),
            self.pairs,
            if self.pairs == 1 { "" } else { "s" }
        )
    }
}

/// A percentage as given, with at least one decimal (1 → "1.0", 0.25 → "0.25").
pub(crate) fn fmt_pct(x: f64) -> String {
    if (x * 10.0).fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rule(ci: f64, n0: u32, cap: u32) -> StoppingRule {
        StoppingRule::new(
            Target {
                ci_pct: ci,
                max_runs: cap,
            },
            n0,
        )
    }

    fn stage(groups: &[(&str, &[f64])]) -> Vec<(String, Vec<f64>)> {
        groups
            .iter()
            .map(|(l, e)| ((*l).to_owned(), e.to_vec()))
            .collect()
    }

    #[test]
    fn n_follows_steins_formula_with_the_first_stages_t() {
        // Two groups, cv 1 % each (sd 1 of mean 100), equal means: V = 2, t(2, 0.975) = 4.3027.
        let a = [99.0, 100.0, 101.0];
        let d = rule(1.0, 3, 100).decide(&stage(&[("a", &a), ("b", &a)]));
        let t = 4.302_652_729_749_464;
        assert!((d.t_quantile - t).abs() < 1e-9);
        assert_eq!(d.df, 2);
        assert_eq!(d.pairs, 1);
        let want = (t * t * 2.0_f64).ceil() as u64; // 37.02… → 38
        assert_eq!(d.runs_needed, want);
        assert_eq!((d.runs, d.rounds_added, d.capped), (38, 35, false));
        assert!((d.spread[0].cv_pct - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_cap_and_the_first_stage_bound_n() {
        let a = [99.0, 100.0, 101.0];
        let d = rule(1.0, 3, 20).decide(&stage(&[("a", &a), ("b", &a)]));
        assert_eq!((d.runs, d.rounds_added, d.capped), (20, 17, true));
        assert!(d
            .progress_line(&rule(1.0, 3, 20))
            .starts_with("first stage done: to reach ±1.0 % need 38 runs per interpreter (cap 20: capped); adding 17 rounds"));
        let d = rule(50.0, 3, 20).decide(&stage(&[("a", &a), ("b", &a)]));
        assert_eq!((d.runs_needed, d.runs, d.rounds_added), (3, 3, 0));
        assert!(d
            .progress_line(&rule(50.0, 3, 20))
            .contains("no rounds added"));
    }

    #[test]
    fn the_widest_pair_and_the_bonferroni_level_decide() {
        let quiet = [99.0, 100.0, 101.0];
        let noisy = [96.0, 100.0, 104.0];
        let r = rule(2.0, 3, 1000);
        let two = r.decide(&stage(&[("a", &quiet), ("b", &quiet)]));
        let three = r.decide(&stage(&[("a", &quiet), ("b", &quiet), ("c", &noisy)]));
        assert_eq!(three.pairs, 3);
        assert!((three.per_pair_alpha - 0.05 / 3.0).abs() < 1e-15);
        assert!(three.t_quantile > two.t_quantile);
        let widest = three.pair_needs.iter().map(|p| p.runs_needed).max();
        assert_eq!(Some(three.runs_needed), widest);
        assert!(three.runs_needed > two.runs_needed);
    }

    #[test]
    fn a_pair_that_cannot_be_planned_runs_to_the_cap() {
        // Two negative means: the `stats` rule answers None, and the experiment runs to
        // the cap rather than planning from a meaningless ratio.
        let neg = [-99.0, -100.0, -101.0];
        let d = rule(1.0, 3, 20).decide(&stage(&[("a", &neg), ("b", &neg)]));
        assert_eq!(d.pair_needs[0].runs_needed, 20);
        assert_eq!((d.runs_needed, d.runs, d.rounds_added), (20, 20, 17));
        let zero = [0.0, 0.0, 0.0];
        let a = [99.0, 100.0, 101.0];
        let d = rule(1.0, 3, 20).decide(&stage(&[("a", &zero), ("b", &a)]));
        assert_eq!(d.runs, 20);
    }

    #[test]
    fn a_changed_target_or_cap_is_another_rule() {
        let r = rule(1.0, 3, 20);
        assert!(r.same_parameters(&rule(1.0, 3, 20)));
        assert!(!r.same_parameters(&rule(0.5, 3, 20)));
        assert!(!r.same_parameters(&rule(1.0, 3, 30)));
        assert!(!r.same_parameters(&rule(1.0, 5, 20)));
    }
}
