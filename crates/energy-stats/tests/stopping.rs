//! The stopping rule of `experiment run --target-ci` (Stein's two-stage procedure) keeps the
//! report's level: simulated experiments with a known difference, normal and skewed, first
//! stages of n₀ = 3, 5 and 10 runs, a fixed seed. After the first stage N is decided once from
//! its spread — `N = max(n₀, ⌈t(1 − α/2, n₀ − 1)² · ρ̂² (cv̂a² + cv̂b²) / target²⌉)`, capped —
//! the second stage adds N − n₀ runs per group, and the report's Fieller–Welch interval of all
//! N runs must cover the true difference in 92 to 98 % of the experiments, its verdict agree
//! with it, and its half-width reach the target in most of them.
//!
//! The rule is this crate's [`energy_stats::plan::two_stage_runs`], the one
//! `crates/experiment/src/stopping.rs` decides with.
#![allow(clippy::unwrap_used)]

use energy_stats::hypothesis::welch;
use energy_stats::intervals::ratio::{fieller_welch, UNBOUNDED};
use energy_stats::intervals::Level;
use energy_stats::numeric::{np_mean, np_var};
use energy_stats::plan::two_stage_runs;
use energy_stats::posthoc::{pairwise, ALPHA};
use energy_stats::simulate::{Rng, Shape};

/// Stein's N for two groups: from the first stage only, at per-pair level `alpha`, capped; a
/// first stage the rule cannot plan for runs to the cap.
fn stein_runs(a: &[f64], b: &[f64], target: f64, alpha: f64, cap: usize) -> usize {
    let n0 = a.len() as u32;
    let cv = |x: &[f64]| 100.0 * np_var(x, 1.0).sqrt() / np_mean(x);
    let level = Level { alpha, pairs: 1 };
    let cvs = [cv(a), cv(b)];
    let means = [np_mean(a), np_mean(b)];
    two_stage_runs(n0, &cvs, &means, level, target).map_or(cap, |n| (n as usize).min(cap))
}

/// Experiments per case: with 400, a true coverage of 0.95 lands in [0.92, 0.98] with
/// probability above 0.99 (±2.75 standard errors); the seed is fixed anyway.
const EXPERIMENTS: usize = 400;
/// The cap (`--max-runs`): high enough that it rarely binds, so the rule itself is measured.
const CAP: usize = 200;

#[test]
fn the_two_stage_rule_keeps_the_level_and_reaches_the_target() {
    let ratio = 1.05;
    let truth = 100.0 * (ratio - 1.0);
    let mut failures = Vec::new();
    let mut reached_all = (0, 0);
    println!(
        "shape, n0, target: coverage, verdicts checked (Welch + report), target reached, capped, mean N"
    );
    // Targets that make the second stage a real one (N well above n₀ on average).
    for (shape, target) in [(Shape::Normal(0.05), 4.0), (Shape::LogNormal(0.25), 20.0)] {
        for n0 in [3usize, 5, 10] {
            let mut rng = Rng::new(20_261_205 + n0 as u64);
            let (mut cover, mut reached, mut capped, mut total_n, mut verdicts) = (0, 0, 0, 0, 0);
            for i in 0..EXPERIMENTS {
                let mut a: Vec<f64> = (0..n0).map(|_| shape.draw(&mut rng, 1.0)).collect();
                let mut b: Vec<f64> = (0..n0).map(|_| shape.draw(&mut rng, ratio)).collect();
                let n = stein_runs(&a, &b, target, ALPHA, CAP);
                capped += usize::from(n == CAP);
                total_n += n;
                // The second stage: one more run of each group per round.
                for _ in n0..n {
                    a.push(shape.draw(&mut rng, 1.0));
                    b.push(shape.draw(&mut rng, ratio));
                }
                let (lo, hi) = match fieller_welch(&a, &b, ALPHA) {
                    Ok(ci) => (ci.low, ci.high),
                    Err(e) if e.to_string() == UNBOUNDED => (f64::NEG_INFINITY, f64::INFINITY),
                    Err(e) => {
                        failures.push(format!("{shape:?} n0={n0}: no interval: {e}"));
                        continue;
                    }
                };
                cover += usize::from(lo <= truth && truth <= hi);
                reached += usize::from((hi - lo) / 2.0 <= target);
                // The verdict is read off the interval at the same level: Welch's test of
                // all N runs rejects exactly when the interval leaves out 0 %.
                let excludes = lo > 0.0 || hi < 0.0;
                let (w, _) = welch(&a, &b).unwrap();
                if (w.pvalue < ALPHA) != excludes && (w.pvalue - ALPHA).abs() > 1e-9 {
                    failures.push(format!(
                        "{shape:?} n0={n0}: Welch p {} vs [{lo}, {hi}]",
                        w.pvalue
                    ));
                }
                // And the report's own pair (slow: every 10th experiment) is that interval,
                // with the verdict in words that says so.
                if i % 10 == 0 {
                    let p = &pairwise(&[("a", &a), ("b", &b)], "energy")[0];
                    let same = match (p.ci_low_pct, p.ci_high_pct) {
                        (Some(l), Some(h)) => (l - lo).abs() < 1e-9 && (h - hi).abs() < 1e-9,
                        _ => lo.is_infinite(),
                    };
                    if !same
                        || excludes != p.significant
                        || p.verdict.contains("no significant") == excludes
                    {
                        failures.push(format!(
                            "{shape:?} n0={n0}: verdict {:?} vs [{lo}, {hi}]",
                            p.verdict
                        ));
                    }
                    verdicts += 1;
                }
            }
            let rate = cover as f64 / EXPERIMENTS as f64;
            println!(
                "{shape:?}, {n0}, ±{target} %: {rate:.3}, {EXPERIMENTS} + {verdicts}, {:.3}, {capped}, {:.1}",
                reached as f64 / EXPERIMENTS as f64,
                total_n as f64 / EXPERIMENTS as f64
            );
            if !(0.92..=0.98).contains(&rate) {
                failures.push(format!("{shape:?} n0={n0}: covers {rate:.3}"));
            }
            // Stein's t(n₀ − 1) pays for the first stage's uncertain spread: the final
            // interval reaches the target in at least 90 % of the experiments of every case.
            if (reached as f64) < 0.9 * EXPERIMENTS as f64 {
                failures.push(format!(
                    "{shape:?} n0={n0}: target reached in only {reached} of {EXPERIMENTS}"
                ));
            }
            reached_all.0 += reached;
            reached_all.1 += EXPERIMENTS;
        }
    }
    println!(
        "target reached overall: {} of {} experiments",
        reached_all.0, reached_all.1
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
