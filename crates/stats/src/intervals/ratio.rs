//! Intervals of `b` relative to `a` in percent: of the means by Fieller's method with Welch's
//! degrees of freedom, of the medians by Hodges–Lehmann on the log scale.
//!
//! Fieller's set `{ρ : |x̄b − ρ·x̄a| ≤ t(ν(ρ)) · √(s²b/nb + ρ²·s²a/na)}` is the set of ratios
//! `ρ = μb/μa` that Welch's test of `b − ρ·a` does not reject; it contains ρ = 1 exactly when
//! Welch's test of a and b does not reject, so a verdict read off the interval is Welch's
//! verdict at the same level. It holds its level at any n for normal data (up to Welch's
//! approximation of the degrees of freedom) and needs no resampling.
//!
//! The median interval inverts the exact Mann–Whitney test on `ln b − ln a` (Hodges and
//! Lehmann; Bauer 1972): distribution-free when the groups differ by a factor, at least its
//! level at every n, and not available when no interval reaches the level (3 runs against 3
//! at 95 %).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::brent;
use crate::numeric::{np_mean, np_var, sorted};
use crate::special::t_two_sided;

/// An interval of the % difference, `100·(ratio − 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PctInterval {
    /// Lower end (%).
    pub low: f64,
    /// Upper end (%).
    pub high: f64,
}

impl PctInterval {
    fn of_ratios(lo: f64, hi: f64) -> PctInterval {
        PctInterval {
            low: 100.0 * (lo - 1.0),
            high: 100.0 * (hi - 1.0),
        }
    }
    /// Whether the interval leaves out 0 % (no difference).
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
    /// Half the width (%).
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// What an interval without an end says of itself: it holds every ratio (or all but a
/// stretch), so it tells nothing apart.
pub const UNBOUNDED: &str = "unbounded at this level";

/// Why an interval is missing.
#[derive(Debug, Clone, PartialEq)]
pub enum NoInterval {
    /// Too few runs for the level; the text says how many are needed.
    TooFewRuns(String),
    /// The interval has no upper or lower end at this level (a's mean is not distinguishable
    /// from zero).
    Unbounded,
    /// The data do not allow it (a mean or value ≤ 0).
    NotComputable(String),
}

impl std::fmt::Display for NoInterval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoInterval::TooFewRuns(s) | NoInterval::NotComputable(s) => f.write_str(s),
            NoInterval::Unbounded => f.write_str(UNBOUNDED),
        }
    }
}

/// Fieller's interval of `100·(μb/μa − 1)` with Welch's degrees of freedom, at confidence
/// `1 − alpha`.
pub fn fieller_welch(a: &[f64], b: &[f64], alpha: f64) -> Result<PctInterval, NoInterval> {
    if a.len() < 2 || b.len() < 2 {
        return Err(NoInterval::TooFewRuns(
            "needs at least 2 runs per group".into(),
        ));
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (ma, mb) = (np_mean(a), np_mean(b));
    let (va, vb) = (np_var(a, 1.0) / na, np_var(b, 1.0) / nb);
    if !(ma > 0.0 && mb.is_finite() && va.is_finite() && vb.is_finite()) {
        return Err(NoInterval::NotComputable(
            "needs a positive mean of the reference".into(),
        ));
    }
    let est = mb / ma;
    if va == 0.0 && vb == 0.0 {
        return Ok(PctInterval::of_ratios(est, est));
    }
    // Welch's two-sided p of H0: μb = ρ·μa.
    let p = |rho: f64| -> f64 {
        let v = vb + rho * rho * va;
        let t = (mb - rho * ma) / v.sqrt();
        let den = vb * vb / (nb - 1.0) + (rho * rho * va).powi(2) / (na - 1.0);
        let df = if den > 0.0 { v * v / den } else { 1.0 };
        t_two_sided(df, t) - alpha
    };
    // Far from the estimate the statistic tends to x̄a/√va with na − 1 df: no end beyond that.
    if va > 0.0 && t_two_sided(na - 1.0, ma / va.sqrt()) >= alpha {
        return Err(NoInterval::Unbounded);
    }
    let step = 3.0 * (vb + est * est * va).sqrt() / ma + f64::EPSILON * est.abs();
    let end = |dir: f64| -> Option<f64> {
        let mut inner = est;
        let mut w = step;
        for _ in 0..80 {
            let outer = est + dir * w;
            if p(outer) < 0.0 {
                return brent(&p, inner.min(outer), inner.max(outer), 1e-14);
            }
            inner = outer;
            w *= 2.0;
        }
        None
    };
    match (end(-1.0), end(1.0)) {
        (Some(lo), Some(hi)) => Ok(PctInterval::of_ratios(lo, hi)),
        _ => Err(NoInterval::Unbounded),
    }
}

/// The null distributions of U built so far, by group sizes.
type UCdfs = HashMap<(usize, usize), Arc<Vec<f64>>>;

/// Mann–Whitney's U under H0 for group sizes m and n: `P(U ≤ k)` for k = 0…mn.
fn u_cdf(m: usize, n: usize) -> Vec<f64> {
    // counts[j][k]: arrangements of i a-values and j b-values with U = k, built up over i.
    let mut prev: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
    for i in 1..=m {
        let mut cur: Vec<Vec<f64>> = vec![vec![1.0]];
        for j in 1..=n {
            let mut c = vec![0.0; i * j + 1];
            // The last value is an a (U gains j) or a b (U unchanged).
            for (k, v) in prev[j].iter().enumerate() {
                c[k + j] += v;
            }
            for (k, v) in cur[j - 1].iter().enumerate() {
                c[k] += v;
            }
            cur.push(c);
        }
        prev = cur;
    }
    let counts = &prev[n];
    let total: f64 = counts.iter().sum();
    let mut acc = 0.0;
    counts
        .iter()
        .map(|c| {
            acc += c;
            acc / total
        })
        .collect()
}

/// How many of the smallest and largest pairwise differences the interval leaves out on each
/// side (`k − 1`), for confidence `1 − alpha`; `None` when even the full range does not reach it.
fn hl_depth(m: usize, n: usize, alpha: f64) -> Option<usize> {
    if m * n <= 2500 {
        // The distribution depends on the sizes only: built once per pair of sizes.
        static CDFS: OnceLock<Mutex<UCdfs>> = OnceLock::new();
        let cdfs = CDFS.get_or_init(Mutex::default);
        let cdf = {
            let mut map = cdfs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(map.entry((m, n)).or_insert_with(|| Arc::new(u_cdf(m, n))))
        };
        // The largest k with P(U ≤ k − 1) ≤ α/2.
        let k = cdf
            .iter()
            .take_while(|&&p| p <= alpha / 2.0 + 1e-12)
            .count();
        return (k >= 1).then_some(k - 1);
    }
    // Large groups: the normal approximation of U.
    let (mf, nf) = (m as f64, n as f64);
    let sd = (mf * nf * (mf + nf + 1.0) / 12.0).sqrt();
    let z = -super::t_ppf(1e9, alpha / 2.0);
    Some((mf * nf / 2.0 - z * sd).floor().max(0.0) as usize)
}

/// The Hodges–Lehmann estimate of the ratio of medians in percent, and its interval at
/// confidence `1 − alpha` from the exact Mann–Whitney distribution, on `ln b − ln a`.
pub fn hodges_lehmann(
    a: &[f64],
    b: &[f64],
    alpha: f64,
) -> (Option<f64>, Result<PctInterval, NoInterval>) {
    if a.is_empty() || b.is_empty() {
        return (
            None,
            Err(NoInterval::TooFewRuns("needs runs in both groups".into())),
        );
    }
    if a.iter().chain(b).any(|v| !(*v > 0.0 && v.is_finite())) {
        let why = NoInterval::NotComputable("needs positive values".into());
        return (None, Err(why));
    }
    let mut d = Vec::with_capacity(a.len() * b.len());
    for y in b {
        for x in a {
            d.push(y.ln() - x.ln());
        }
    }
    let d = sorted(&d);
    let mid = d.len() / 2;
    let hl = if d.len() % 2 == 1 {
        d[mid]
    } else {
        (d[mid - 1] + d[mid]) / 2.0
    };
    let est = Some(100.0 * hl.exp_m1());
    match hl_depth(a.len(), b.len(), alpha) {
        Some(k) if k < d.len() - k => {
            let lo = d[k].exp();
            let hi = d[d.len() - 1 - k].exp();
            (est, Ok(PctInterval::of_ratios(lo, hi)))
        }
        _ => (
            est,
            Err(NoInterval::TooFewRuns(format!(
                "{} against {} runs cannot reach {:.1} % (the exact test's smallest p is {:.3})",
                a.len(),
                b.len(),
                100.0 * (1.0 - alpha),
                2.0 / binom(a.len() + b.len(), a.len())
            ))),
        ),
    }
}

fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn u_distribution_of_small_groups() {
        // 4 against 4: 70 arrangements, U = 0 and U = 16 once each.
        let c = u_cdf(4, 4);
        assert_eq!(c.len(), 17);
        assert!((c[0] - 1.0 / 70.0).abs() < 1e-15);
        assert!((c[1] - 2.0 / 70.0).abs() < 1e-15);
        assert!((c[16] - 1.0).abs() < 1e-15);
        assert_eq!(hl_depth(4, 4, 0.05), Some(0));
        assert_eq!(hl_depth(3, 3, 0.05), None);
        assert_eq!(hl_depth(5, 5, 0.05), Some(2));
    }

    #[test]
    fn a_reference_indistinguishable_from_zero_has_no_interval() {
        let a = [0.1, 5.0, -3.0];
        let b = [1.0, 2.0, 3.0];
        assert!(fieller_welch(&a, &b, 0.05).is_err());
    }

    #[test]
    fn hodges_lehmann_of_a_scaled_copy() {
        let a = [100.0, 104.0, 97.0, 101.0, 99.0];
        let b: Vec<f64> = a.iter().map(|v| v * 1.1).collect();
        let (est, ci) = hodges_lehmann(&a, &b, 0.05);
        assert!((est.unwrap() - 10.0).abs() < 1e-9);
        let ci = ci.unwrap();
        assert!(ci.low < 10.0 && 10.0 < ci.high, "{ci:?}");
        assert!(hodges_lehmann(&a[..3], &b[..3], 0.05).1.is_err());
    }
}
