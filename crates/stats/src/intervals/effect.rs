//! The exact interval of the standardised difference δ = (μb − μa)/σ that Hedges' g
//! estimates: `d·√(na·nb/(na+nb))` follows the noncentral t with `na + nb − 2` degrees of
//! freedom and noncentrality `δ·√(na·nb/(na+nb))` (equal variances, normal data), so the
//! interval inverts that distribution's cdf (Steiger and Fouladi 1997; Hedges and Olkin 1985).
//! Exact at every n under those assumptions, where a bootstrap of g is not.

use super::{brent, nct};
use crate::numeric::{np_mean, np_var};

/// Cohen's d of b − a with the pooled SD, and Hedges' g (d with the small-sample correction).
pub fn cohen_hedges(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let pooled =
        (((n1 - 1.0) * np_var(a, 1.0) + (n2 - 1.0) * np_var(b, 1.0)) / (n1 + n2 - 2.0)).sqrt();
    let d = (np_mean(b) - np_mean(a)) / pooled;
    let j = 1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0);
    (d.is_finite()).then_some((d, d * j))
}

/// The interval of δ at confidence `1 − alpha` from Cohen's `d` of groups of `n1` and `n2`.
pub fn delta_interval(d: f64, n1: usize, n2: usize, alpha: f64) -> Option<(f64, f64)> {
    if n1 < 2 || n2 < 2 || !d.is_finite() {
        return None;
    }
    let (n1, n2) = (n1 as f64, n2 as f64);
    let scale = (n1 * n2 / (n1 + n2)).sqrt();
    let df = n1 + n2 - 2.0;
    let t = d * scale;
    // F(t; ν, λ) falls from 1 to 0 as λ grows: the ends are where it is 1 − α/2 and α/2.
    let at = |target: f64| brent(|nc| nct::cdf(t, df, nc) - target, t - 1.0, t + 1.0, 1e-13);
    let lo = at(1.0 - alpha / 2.0)?;
    let hi = at(alpha / 2.0)?;
    Some((lo / scale, hi / scale))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn interval_is_around_d_and_narrows_with_runs() {
        let (lo3, hi3) = delta_interval(1.0, 3, 3, 0.05).unwrap();
        let (lo30, hi30) = delta_interval(1.0, 30, 30, 0.05).unwrap();
        assert!(lo3 < 1.0 && 1.0 < hi3);
        assert!(lo30 < 1.0 && 1.0 < hi30);
        assert!(hi30 - lo30 < hi3 - lo3);
        // d = 0: symmetric about 0.
        let (lo, hi) = delta_interval(0.0, 5, 5, 0.05).unwrap();
        assert!((lo + hi).abs() < 1e-9, "{lo} {hi}");
    }
}
