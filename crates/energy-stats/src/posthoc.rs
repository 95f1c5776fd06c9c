//! Beyond the study: pairwise comparisons with their intervals, effect sizes and a verdict in
//! plain words per pair, every interval and verdict at one simultaneous level.
//!
//! Per pair (a, b) of groups, in group order: the % difference of mean energy with Fieller's
//! interval (Welch's degrees of freedom), the % difference of medians with the Hodges–Lehmann
//! interval (log scale, exact Mann–Whitney), Hedges' g with the exact noncentral-t interval of
//! δ, Cliff's δ; all intervals at `1 − α/m` for `m` pairs (Bonferroni), so they hold together
//! at `1 − α`. The verdict is read off the mean interval: "uses X % more/less" exactly when the
//! interval leaves out 0 %, which is Welch's test at `α/m` (Bonferroni-adjusted p < α). Welch's
//! and Mann–Whitney's p with Holm's correction and Tukey's HSD stay in the table as the study
//! reported them.

use crate::hypothesis::{mannwhitneyu, welch};
use crate::intervals::effect::{cohen_hedges, delta_interval};
use crate::intervals::ratio::{fieller_welch, hodges_lehmann, PctInterval, UNBOUNDED};
use crate::intervals::Level;
use crate::numeric::{finite, np_mean, quantile_sorted, sorted};

/// The family-wise α of the comparisons: 95 % simultaneous intervals (defined in `stats`).
pub use crate::intervals::ALPHA;

/// How the comparisons were made: written once in the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Method {
    /// Family-wise confidence of all intervals together (0.95).
    pub level: f64,
    /// The multiplicity correction: `bonferroni`.
    pub correction: &'static str,
    /// Pairs compared, `m`.
    pub pairs: usize,
    /// Confidence of each pair's interval, `1 − α/m`.
    pub per_pair_level: f64,
    /// The interval of the % difference of means: `fieller-welch`.
    pub mean_interval: &'static str,
    /// The interval of the % difference of medians: `hodges-lehmann-log-exact`.
    pub median_interval: &'static str,
    /// The interval of the effect size: `noncentral-t` (of δ, which Hedges' g estimates).
    pub effect_interval: &'static str,
    /// Where the verdict comes from.
    pub verdict: &'static str,
}

impl Method {
    /// The method of a report comparing `pairs` pairs.
    pub fn for_pairs(pairs: usize) -> Method {
        let level = Level {
            alpha: ALPHA,
            pairs,
        };
        Method {
            level: 1.0 - ALPHA,
            correction: "bonferroni",
            pairs,
            per_pair_level: level.per_pair_confidence(),
            mean_interval: "fieller-welch",
            median_interval: "hodges-lehmann-log-exact",
            effect_interval: "noncentral-t",
            verdict: "mean interval excludes 0 % (Welch at alpha/m)",
        }
    }
    /// The method in words, for the human formats.
    pub fn describe(&self) -> String {
        let each = if self.pairs > 1 {
            format!(
                ", each pair at {:.2} % (Bonferroni over {} pairs)",
                100.0 * self.per_pair_level,
                self.pairs
            )
        } else {
            String::new()
        };
        format!(
            "{:.0} % simultaneous intervals{each}: % difference of means by Fieller's method with \
             Welch's degrees of freedom, of medians by Hodges–Lehmann (log scale, exact \
             Mann–Whitney), Hedges' g with the exact noncentral-t interval of δ. A pair is called \
             different exactly when its mean interval leaves out 0 % (Welch's test at the same \
             level).",
            100.0 * self.level
        )
    }
}

/// One pairwise comparison of energy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pair {
    /// Reference group (the earlier label).
    pub a: String,
    /// Compared group.
    pub b: String,
    /// `100 · (mean_b − mean_a) / mean_a`.
    pub mean_diff_pct: Option<f64>,
    /// Lower end of the interval of `mean_diff_pct` (Fieller–Welch, at `ci_level`).
    pub ci_low_pct: Option<f64>,
    /// Upper end of the interval of `mean_diff_pct`.
    pub ci_high_pct: Option<f64>,
    /// Half the width of that interval, in percentage points.
    pub half_width_pct: Option<f64>,
    /// Confidence of this pair's intervals, `1 − α/m` (Bonferroni).
    pub ci_level: f64,
    /// The method of the mean interval: `fieller-welch`.
    pub ci_method: &'static str,
    /// Why the mean interval is missing, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_note: Option<String>,
    /// `100 · (median_b − median_a) / median_a`.
    pub median_diff_pct: Option<f64>,
    /// Hodges–Lehmann estimate of the ratio of medians, in % (log scale).
    pub median_hl_pct: Option<f64>,
    /// Lower end of the Hodges–Lehmann interval (%), at `ci_level`.
    pub median_ci_low_pct: Option<f64>,
    /// Upper end of the Hodges–Lehmann interval (%).
    pub median_ci_high_pct: Option<f64>,
    /// Why the median interval is missing, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_ci_note: Option<String>,
    /// Welch's t statistic (a − b).
    pub welch_t: Option<f64>,
    /// Welch's two-sided p-value, unadjusted.
    pub welch_p: Option<f64>,
    /// Welch's p after Holm's correction over all pairs.
    pub welch_p_holm: Option<f64>,
    /// Welch's p after Bonferroni's correction (`m·p`, at most 1): below α exactly when the
    /// mean interval leaves out 0 %.
    pub welch_p_bonferroni: Option<f64>,
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
    /// Lower end of the exact (noncentral t) interval of δ, the standardised difference g
    /// estimates, at `ci_level`.
    pub hedges_g_ci_low: Option<f64>,
    /// Upper end of that interval.
    pub hedges_g_ci_high: Option<f64>,
    /// Cliff's δ of b versus a: P(b > a) − P(b < a).
    pub cliffs_delta: Option<f64>,
    /// Whether the mean interval leaves out 0 %.
    pub significant: bool,
    /// The comparison in plain words.
    pub verdict: String,
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

/// Compare every pair of groups (label, energies), in the order given, at 95 % simultaneous.
pub fn pairwise(groups: &[(&str, &[f64])], quantity: &str) -> Vec<Pair> {
    pairwise_with(groups, quantity, true)
}

/// [`pairwise`] without Tukey's HSD (the slow part, which no verdict uses): for simulations.
#[cfg(test)]
pub(crate) fn pairwise_without_tukey(groups: &[(&str, &[f64])], quantity: &str) -> Vec<Pair> {
    pairwise_with(groups, quantity, false)
}

fn pairwise_with(groups: &[(&str, &[f64])], quantity: &str, tukey: bool) -> Vec<Pair> {
    let m = groups.len() * groups.len().saturating_sub(1) / 2;
    let level = Level {
        alpha: ALPHA,
        pairs: m,
    };
    let mut pairs = Vec::new();
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            pairs.push(compare(groups[i], groups[j], level));
        }
    }
    let refs: Vec<&[f64]> = groups.iter().map(|g| g.1).collect();
    if let Some(Ok(t)) = tukey.then(|| crate::tukey::tukey_hsd(&refs)) {
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
        p.welch_p_bonferroni = p.welch_p.map(|v| (v * m as f64).min(1.0));
        p.verdict = verdict(p, quantity, m);
    }
    pairs
}

fn verdict(p: &Pair, quantity: &str, m: usize) -> String {
    let (Some(d), Some(lo), Some(hi)) = (p.mean_diff_pct, p.ci_low_pct, p.ci_high_pct) else {
        let why = p.ci_note.as_deref().unwrap_or("too few runs");
        if let (Some(d), true) = (p.mean_diff_pct, p.ci_note.as_deref() == Some(UNBOUNDED)) {
            return format!(
                "{} vs {}: no significant difference in {quantity}, {d:+.1} % (the interval has no end at this level: too few runs for this spread)",
                p.b, p.a
            );
        }
        return format!("{} vs {}: not computable ({why})", p.b, p.a);
    };
    let how = if m > 1 {
        format!(
            "{:.0} % simultaneous interval, Bonferroni over {m} pairs",
            100.0 * (1.0 - ALPHA)
        )
    } else {
        format!("{:.0} % interval", 100.0 * (1.0 - ALPHA))
    };
    let welch = p
        .welch_p_bonferroni
        .map_or("n/a".to_string(), |v| format!("{v:.2e}"));
    let adj = if m > 1 { "Bonferroni-adjusted " } else { "" };
    if p.significant {
        let (dir, l, h) = if d < 0.0 {
            ("less", -hi, -lo)
        } else {
            ("more", lo, hi)
        };
        format!(
            "{} uses {} % [{}, {}] {dir} {quantity} than {} ({how}, Fieller–Welch; Welch {adj}p = {welch})",
            p.b,
            fmt_pct(d),
            fmt_pct(l),
            fmt_pct(h),
            p.a
        )
    } else {
        format!(
            "{} vs {}: no significant difference in {quantity}, {:+.1} % [{:+.1}, {:+.1}] ({how}, Fieller–Welch; Welch {adj}p = {welch})",
            p.b, p.a, d, lo, hi
        )
    }
}

fn compare(a: (&str, &[f64]), b: (&str, &[f64]), level: Level) -> Pair {
    let (la, xa) = a;
    let (lb, xb) = b;
    let alpha = level.per_pair_alpha();
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
    let ci = fieller_welch(xa, xb, alpha);
    let (hl, median_ci) = hodges_lehmann(xa, xb, alpha);
    let effect = cohen_hedges(xa, xb);
    let g_ci = effect.and_then(|(d, _)| delta_interval(d, xa.len(), xb.len(), alpha));
    let ends = |c: &Result<PctInterval, _>| match c {
        Ok(c) => (Some(c.low), Some(c.high), Some(c.half_width())),
        Err(_) => (None, None, None),
    };
    let note = |c: &Result<PctInterval, crate::intervals::ratio::NoInterval>| {
        c.as_ref().err().map(ToString::to_string)
    };
    let (lo, hi, half) = ends(&ci);
    let (mlo, mhi, _) = ends(&median_ci);
    Pair {
        a: la.to_string(),
        b: lb.to_string(),
        mean_diff_pct: mean_diff,
        ci_low_pct: lo,
        ci_high_pct: hi,
        half_width_pct: half,
        ci_level: level.per_pair_confidence(),
        ci_method: "fieller-welch",
        ci_note: note(&ci),
        median_diff_pct: median_diff,
        median_hl_pct: hl.and_then(finite),
        median_ci_low_pct: mlo,
        median_ci_high_pct: mhi,
        median_ci_note: note(&median_ci),
        welch_t: w.map(|(r, _)| r.statistic),
        welch_p: w.map(|(r, _)| r.pvalue),
        welch_p_holm: None,
        welch_p_bonferroni: None,
        tukey_p: None,
        mwu_u: u.map(|r| r.statistic),
        mwu_p: u.map(|r| r.pvalue),
        mwu_p_holm: None,
        hedges_g: effect.map(|(_, g)| g).and_then(finite),
        hedges_g_ci_low: g_ci.map(|c| c.0),
        hedges_g_ci_high: g_ci.map(|c| c.1),
        cliffs_delta: (!xa.is_empty() && !xb.is_empty()).then(|| cliffs_delta(xa, xb)),
        significant: ci.as_ref().is_ok_and(PctInterval::excludes_zero),
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

    // Fieller's interval (crate `stats`) against Welch's test (here): one level, one verdict.
    #[test]
    fn fieller_contains_one_exactly_when_welch_does_not_reject() {
        let a = [100.0, 103.0, 98.0, 101.0];
        for shift in [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0] {
            let b: Vec<f64> = a.iter().map(|v| v + shift + (v - 100.0) * 0.3).collect();
            let ci = fieller_welch(&a, &b, 0.05).unwrap();
            let (w, _) = welch(&a, &b).unwrap();
            assert_eq!(
                ci.excludes_zero(),
                w.pvalue < 0.05,
                "{shift}: {ci:?} p={}",
                w.pvalue
            );
            let est = 100.0 * (np_mean(&b) / np_mean(&a) - 1.0);
            assert!(ci.low < est && est < ci.high);
        }
    }
}
