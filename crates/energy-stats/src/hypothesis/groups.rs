//! Tests across groups: Bartlett and Levene (equal variances), one-way ANOVA, Kruskal–Wallis.

use super::{check_values, finite_or, nc, NotComputable, TestResult};
use crate::numeric::{average_ranks, median_sorted, np_mean, np_sum, np_var, sorted};
use crate::special::{chi2_sf, f_sf};

// ---------------------------------------------------------------------------------------------
// Tests across groups.

fn check_groups(groups: &[&[f64]], test: &str) -> Result<(), NotComputable> {
    if groups.len() < 2 {
        return nc(format!(
            "{test} needs at least 2 groups, got {}",
            groups.len()
        ));
    }
    for g in groups {
        check_values(g)?;
        if g.is_empty() {
            return nc(format!("{test}: a group is empty"));
        }
    }
    Ok(())
}

/// Bartlett's test for equal variances, `scipy.stats.bartlett`.
pub fn bartlett(groups: &[&[f64]]) -> Result<TestResult, NotComputable> {
    check_groups(groups, "Bartlett")?;
    if groups.iter().any(|g| g.len() < 2) {
        return nc("Bartlett needs at least 2 values in every group");
    }
    let k = groups.len() as f64;
    let ni: Vec<f64> = groups.iter().map(|g| g.len() as f64).collect();
    let ssq: Vec<f64> = groups.iter().map(|g| np_var(g, 1.0)).collect();
    let ntot = np_sum(&ni);
    let weighted: Vec<f64> = ni.iter().zip(&ssq).map(|(n, s)| (n - 1.0) * s).collect();
    let spsq = np_sum(&weighted) / (ntot - k);
    let logs: Vec<f64> = ni
        .iter()
        .zip(&ssq)
        .map(|(n, s)| (n - 1.0) * s.ln())
        .collect();
    let numer = (ntot - k) * spsq.ln() - np_sum(&logs);
    let inv: Vec<f64> = ni.iter().map(|n| 1.0 / (n - 1.0)).collect();
    let denom = 1.0 + 1.0 / (3.0 * (k - 1.0)) * (np_sum(&inv) - 1.0 / (ntot - k));
    let t = numer / denom;
    let p = chi2_sf(k - 1.0, t);
    // SciPy 1.17 takes p first and then clips T at 0.
    finite_or(
        TestResult {
            statistic: t.max(0.0),
            pvalue: p,
        },
        "Bartlett is undefined when every group is constant",
    )
}

/// Levene's test with `center="median"` (Brown–Forsythe), `scipy.stats.levene`.
pub fn levene(groups: &[&[f64]]) -> Result<TestResult, NotComputable> {
    check_groups(groups, "Levene")?;
    let k = groups.len();
    let ni: Vec<f64> = groups.iter().map(|g| g.len() as f64).collect();
    let yci: Vec<f64> = groups.iter().map(|g| median_sorted(&sorted(g))).collect();
    let ntot = np_sum(&ni);
    let zij: Vec<Vec<f64>> = groups
        .iter()
        .zip(&yci)
        .map(|(g, c)| g.iter().map(|v| (v - c).abs()).collect())
        .collect();
    let zbari: Vec<f64> = zij.iter().map(|z| np_mean(z)).collect();
    let mut zbar = 0.0;
    for i in 0..k {
        zbar += zbari[i] * ni[i];
    }
    zbar /= ntot;
    let spread: Vec<f64> = (0..k)
        .map(|i| {
            let d = zbari[i] - zbar;
            ni[i] * (d * d)
        })
        .collect();
    let numer = (ntot - k as f64) * np_sum(&spread);
    let mut dvar = 0.0;
    for i in 0..k {
        let sq: Vec<f64> = zij[i]
            .iter()
            .map(|z| {
                let d = z - zbari[i];
                d * d
            })
            .collect();
        dvar += np_sum(&sq);
    }
    let denom = (k as f64 - 1.0) * dvar;
    let w = numer / denom;
    let p = f_sf(k as f64 - 1.0, ntot - k as f64, w);
    finite_or(
        TestResult {
            statistic: w,
            pvalue: p,
        },
        "Levene is undefined when no value deviates from its group's median",
    )
}

/// One-way ANOVA, `scipy.stats.f_oneway`, with SciPy's offset sum-of-squares decomposition and
/// the F survival function (exact down to p ≈ 1e-300).
pub fn f_oneway(groups: &[&[f64]]) -> Result<TestResult, NotComputable> {
    check_groups(groups, "ANOVA")?;
    if groups.iter().all(|g| g.len() == 1) {
        return nc("ANOVA needs a group with at least 2 values");
    }
    let all: Vec<f64> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    let bign = all.len() as f64;
    let k = groups.len() as f64;
    let is_const: Vec<bool> = groups
        .iter()
        .map(|g| g.iter().all(|&v| v == g[0]))
        .collect();
    if is_const.iter().all(|&c| c) {
        if all.iter().all(|&v| v == all[0]) {
            return nc("ANOVA is undefined when all values are identical");
        }
        // Every group constant, not all equal: F = inf, p = 0 (SciPy warns).
        return Ok(TestResult {
            statistic: f64::INFINITY,
            pvalue: 0.0,
        });
    }
    let offset = np_mean(&all);
    let centred: Vec<f64> = all.iter().map(|v| v - offset).collect();
    let s = np_sum(&centred);
    let normalized_ss = s * s / bign;
    let squares: Vec<f64> = centred.iter().map(|v| v * v).collect();
    let sstot = np_sum(&squares) - normalized_ss;
    let mut ssbn = 0.0;
    for g in groups {
        let c: Vec<f64> = g.iter().map(|v| v - offset).collect();
        let sg = np_sum(&c);
        ssbn += sg * sg / g.len() as f64;
    }
    ssbn -= normalized_ss;
    let sswn = sstot - ssbn;
    let dfbn = k - 1.0;
    let dfwn = bign - k;
    let f = (ssbn / dfbn) / (sswn / dfwn);
    let p = f_sf(dfbn, dfwn, f);
    finite_or(
        TestResult {
            statistic: f,
            pvalue: p,
        },
        "ANOVA is undefined on this data",
    )
}

/// Kruskal–Wallis H with tie correction, `scipy.stats.kruskal`.
pub fn kruskal(groups: &[&[f64]]) -> Result<TestResult, NotComputable> {
    check_groups(groups, "Kruskal–Wallis")?;
    let all: Vec<f64> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    let (ranked, ties) = average_ranks(&all);
    let size = all.len() as f64;
    let tie_terms: Vec<f64> = ties
        .iter()
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .collect();
    let tiecorr = if all.len() < 2 {
        1.0
    } else {
        1.0 - np_sum(&tie_terms) / (size * size * size - size)
    };
    if tiecorr == 0.0 {
        return nc("Kruskal–Wallis is undefined when all values are identical");
    }
    let mut ssbn = 0.0;
    let mut start = 0;
    for g in groups {
        let s = np_sum(&ranked[start..start + g.len()]);
        ssbn += s * s / g.len() as f64;
        start += g.len();
    }
    let totaln = size;
    let mut h = 12.0 / (totaln * (totaln + 1.0)) * ssbn - 3.0 * (totaln + 1.0);
    h /= tiecorr;
    let p = chi2_sf(groups.len() as f64 - 1.0, h);
    finite_or(
        TestResult {
            statistic: h,
            pvalue: p,
        },
        "Kruskal–Wallis is undefined on this data",
    )
}
