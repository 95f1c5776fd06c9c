//! Beyond the study: pairwise comparisons with multiplicity control, effect sizes and
//! bootstrap confidence intervals, and a verdict in plain words per pair.
//!
//! Per pair (a, b) of groups, in group order: Tukey's HSD over all groups; Welch's t and
//! Mann–Whitney U with Holm's step-down correction over all pairs; Hedges' g and Cliff's δ; the difference of means of b
//! relative to a in percent with a percentile bootstrap CI (independent resampling of each
//! group, a fixed seed so reports are reproducible).

use crate::hypothesis::{mannwhitneyu, welch};
use crate::numeric::{finite, np_mean, np_var, quantile_sorted, sorted};

/// Bootstrap resamples per pair.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// One pairwise comparison of energy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pair {
    /// Reference group (the earlier label).
    pub a: String,
    /// Compared group.
    pub b: String,
    /// `100 · (mean_b − mean_a) / mean_a`.
    pub mean_diff_pct: Option<f64>,
    /// Lower end of the 95 % bootstrap CI of `mean_diff_pct`.
    pub ci_low_pct: Option<f64>,
    /// Upper end of the 95 % bootstrap CI of `mean_diff_pct`.
    pub ci_high_pct: Option<f64>,
    /// `100 · (median_b − median_a) / median_a`.
    pub median_diff_pct: Option<f64>,
    /// Welch's t statistic (a − b).
    pub welch_t: Option<f64>,
    /// Welch's two-sided p-value, unadjusted.
    pub welch_p: Option<f64>,
    /// Welch's p after Holm's correction over all pairs.
    pub welch_p_holm: Option<f64>,
    /// Tukey's HSD p-value of the pair (all groups, equal variances), as SciPy's `tukey_hsd`.
    pub tukey_p: Option<f64>,
    /// Mann–Whitney U of a.
    pub mwu_u: Option<f64>,
    /// Mann–Whitney two-sided p-value, unadjusted.
    pub mwu_p: Option<f64>,
    /// Mann–Whitney p after Holm's correction over all pairs.
    pub mwu_p_holm: Option<f64>,
    /// Hedges' g of b − a (pooled SD, small-sample corrected).
    pub hedges_g: Option<f64>,
    /// 95 % bootstrap CI of Hedges' g, low end.
    pub hedges_g_ci_low: Option<f64>,
    /// 95 % bootstrap CI of Hedges' g, high end.
    pub hedges_g_ci_high: Option<f64>,
    /// Cliff's δ of b versus a: P(b > a) − P(b < a).
    pub cliffs_delta: Option<f64>,
    /// Whether the Holm-adjusted Welch p is below 0.05.
    pub significant: bool,
    /// The comparison in plain words.
    pub verdict: String,
}

/// A small, fast, reproducible generator (SplitMix64) for the bootstrap.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn index(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

fn hedges_g(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let pooled =
        (((n1 - 1.0) * np_var(a, 1.0) + (n2 - 1.0) * np_var(b, 1.0)) / (n1 + n2 - 2.0)).sqrt();
    let d = (np_mean(b) - np_mean(a)) / pooled;
    let j = 1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0);
    d * j
}

fn cliffs_delta(a: &[f64], b: &[f64]) -> f64 {
    let mut gt = 0i64;
    let mut lt = 0i64;
    for &y in b {
        for &x in a {
            if y > x {
                gt += 1;
            } else if y < x {
                lt += 1;
            }
        }
    }
    (gt - lt) as f64 / (a.len() * b.len()) as f64
}

/// Holm's step-down adjustment; `None` entries stay `None` and do not count.
pub fn holm(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some()).collect();
    idx.sort_by(|&i, &j| p[i].unwrap_or(1.0).total_cmp(&p[j].unwrap_or(1.0)));
    let m = idx.len();
    let mut out = vec![None; p.len()];
    let mut running = 0.0f64;
    for (rank, &i) in idx.iter().enumerate() {
        let adj = ((m - rank) as f64 * p[i].unwrap_or(1.0)).min(1.0);
        running = running.max(adj);
        out[i] = Some(running);
    }
    out
}

fn fmt_pct(v: f64) -> String {
    format!("{:.1}", v.abs())
}

/// Compare every pair of groups (label, energies), in the order given.
pub fn pairwise(groups: &[(&str, &[f64])], quantity: &str) -> Vec<Pair> {
    let mut pairs = Vec::new();
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            pairs.push(compare(groups[i], groups[j], (i * 1000 + j) as u64));
        }
    }
    let refs: Vec<&[f64]> = groups.iter().map(|g| g.1).collect();
    if let Ok(t) = crate::tukey::tukey_hsd(&refs) {
        let mut k = 0;
        for i in 0..groups.len() {
            for j in i + 1..groups.len() {
                pairs[k].tukey_p = Some(t.pvalue[i][j]).filter(|p| p.is_finite());
                k += 1;
            }
        }
    }
    let welch_holm = holm(&pairs.iter().map(|p| p.welch_p).collect::<Vec<_>>());
    let mwu_holm = holm(&pairs.iter().map(|p| p.mwu_p).collect::<Vec<_>>());
    for (k, p) in pairs.iter_mut().enumerate() {
        p.welch_p_holm = welch_holm[k];
        p.mwu_p_holm = mwu_holm[k];
        p.significant = p.welch_p_holm.is_some_and(|v| v < 0.05);
        p.verdict = verdict(p, quantity);
    }
    pairs
}

fn verdict(p: &Pair, quantity: &str) -> String {
    let (Some(d), Some(lo), Some(hi)) = (p.mean_diff_pct, p.ci_low_pct, p.ci_high_pct) else {
        return format!("{} vs {}: not computable (too few runs)", p.b, p.a);
    };
    let ci = if d >= 0.0 {
        format!("[{}, {}]", fmt_pct(lo), fmt_pct(hi))
    } else {
        format!("[{}, {}]", fmt_pct(hi), fmt_pct(lo))
    };
    let holm = p
        .welch_p_holm
        .map_or("n/a".to_string(), |v| format!("{v:.2e}"));
    if p.significant {
        let dir = if d < 0.0 { "less" } else { "more" };
        format!(
            "{} uses {} % {ci} {dir} {quantity} than {} (Welch, Holm-adjusted p = {holm})",
            p.b,
            fmt_pct(d),
            p.a
        )
    } else {
        format!(
            "{} vs {}: no significant difference in {quantity}, {:+.1} % [{:+.1}, {:+.1}] (Welch, Holm-adjusted p = {holm})",
            p.b, p.a, d, lo, hi
        )
    }
}

fn compare(a: (&str, &[f64]), b: (&str, &[f64]), seed: u64) -> Pair {
    let (la, xa) = a;
    let (lb, xb) = b;
    let w = welch(xa, xb).ok();
    let u = mannwhitneyu(xa, xb).ok();
    let enough = xa.len() >= 2 && xb.len() >= 2;
    let pct = |ma: f64, mb: f64| 100.0 * (mb - ma) / ma;
    let mean_diff = enough
        .then(|| pct(np_mean(xa), np_mean(xb)))
        .and_then(finite);
    let median_diff = (!xa.is_empty() && !xb.is_empty())
        .then(|| {
            pct(
                quantile_sorted(&sorted(xa), 0.5),
                quantile_sorted(&sorted(xb), 0.5),
            )
        })
        .and_then(finite);
    let g = enough.then(|| hedges_g(xa, xb)).and_then(finite);
    let (mut ci_lo, mut ci_hi, mut g_lo, mut g_hi) = (None, None, None, None);
    if enough {
        let mut rng = SplitMix(0x5EED_0000 ^ seed);
        let mut diffs = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
        let mut gs = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
        let mut ra = vec![0.0; xa.len()];
        let mut rb = vec![0.0; xb.len()];
        for _ in 0..BOOTSTRAP_RESAMPLES {
            for v in ra.iter_mut() {
                *v = xa[rng.index(xa.len())];
            }
            for v in rb.iter_mut() {
                *v = xb[rng.index(xb.len())];
            }
            let d = pct(np_mean(&ra), np_mean(&rb));
            if d.is_finite() {
                diffs.push(d);
            }
            let gg = hedges_g(&ra, &rb);
            if gg.is_finite() {
                gs.push(gg);
            }
        }
        if diffs.len() > BOOTSTRAP_RESAMPLES / 2 {
            let s = sorted(&diffs);
            ci_lo = Some(quantile_sorted(&s, 0.025));
            ci_hi = Some(quantile_sorted(&s, 0.975));
        }
        if gs.len() > BOOTSTRAP_RESAMPLES / 2 {
            let s = sorted(&gs);
            g_lo = Some(quantile_sorted(&s, 0.025));
            g_hi = Some(quantile_sorted(&s, 0.975));
        }
    }
    Pair {
        a: la.to_string(),
        b: lb.to_string(),
        mean_diff_pct: mean_diff,
        ci_low_pct: ci_lo,
        ci_high_pct: ci_hi,
        median_diff_pct: median_diff,
        welch_t: w.map(|(r, _)| r.statistic),
        welch_p: w.map(|(r, _)| r.pvalue),
        welch_p_holm: None,
        tukey_p: None,
        mwu_u: u.map(|r| r.statistic),
        mwu_p: u.map(|r| r.pvalue),
        mwu_p_holm: None,
        hedges_g: g,
        hedges_g_ci_low: g_lo,
        hedges_g_ci_high: g_hi,
        cliffs_delta: (!xa.is_empty() && !xb.is_empty()).then(|| cliffs_delta(xa, xb)),
        significant: false,
        verdict: String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn holm_is_monotone_and_capped() {
        let adj = holm(&[Some(0.01), Some(0.04), None, Some(0.03)]);
        assert_eq!(adj[0], Some(0.03));
        assert_eq!(adj[3], Some(0.06));
        assert_eq!(adj[1], Some(0.06));
        assert_eq!(adj[2], None);
    }

    #[test]
    fn clear_difference_gets_a_verdict_with_ci() {
        let a: Vec<f64> = (0..10).map(|i| 200.0 + (i as f64 * 0.7).sin()).collect();
        let b: Vec<f64> = (0..10).map(|i| 183.0 + (i as f64 * 1.3).cos()).collect();
        let p = pairwise(&[("3.10", &a), ("3.12", &b)], "energy");
        let v = &p[0];
        assert!(v.significant);
        assert!(v.verdict.starts_with("3.12 uses 8."), "{}", v.verdict);
        assert!(v.verdict.contains("less energy than 3.10"), "{}", v.verdict);
        let (lo, hi) = (v.ci_low_pct.unwrap(), v.ci_high_pct.unwrap());
        let d = v.mean_diff_pct.unwrap();
        assert!(lo < d && d < hi, "{lo} {d} {hi}");
        assert_eq!(v.cliffs_delta, Some(-1.0));
    }

    #[test]
    fn overlapping_groups_are_not_called_different() {
        let a = [10.0, 11.0, 9.0, 10.5, 9.5];
        let b = [10.2, 10.8, 9.1, 10.4, 9.9];
        let p = pairwise(&[("3.9", &a), ("3.11", &b)], "energy");
        assert!(!p[0].significant);
        assert!(
            p[0].verdict
                .starts_with("3.11 vs 3.9: no significant difference in energy, +"),
            "{}",
            p[0].verdict
        );
        assert!(p[0].tukey_p.is_some_and(|t| t > 0.5));
    }

    #[test]
    fn too_few_runs_is_said_so() {
        let p = pairwise(&[("a", &[1.0][..]), ("b", &[2.0][..])], "energy");
        assert!(p[0].verdict.contains("not computable"));
    }
}
