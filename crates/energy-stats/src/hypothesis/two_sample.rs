//! Two-sample tests for the pairwise comparisons: Welch's t and Mann–Whitney U.

use super::{check_values, finite_or, nc, NotComputable, TestResult};
use crate::numeric::{average_ranks, np_mean, np_sum, np_var};
use crate::special::{ndtr, t_two_sided};

// ---------------------------------------------------------------------------------------------
// Two-sample tests for the post-hoc comparisons.

/// Welch's t-test, `scipy.stats.ttest_ind(a, b, equal_var=False)`: (t, two-sided p) and df.
pub fn welch(a: &[f64], b: &[f64]) -> Result<(TestResult, f64), NotComputable> {
    check_values(a)?;
    check_values(b)?;
    if a.len() < 2 || b.len() < 2 {
        return nc("Welch's t-test needs at least 2 values per group");
    }
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    // SciPy's _var: mean of squared deviations times n/(n−1).
    let var = |x: &[f64], n: f64| np_var(x, 0.0) * n / (n - 1.0);
    let vn1 = var(a, n1) / n1;
    let vn2 = var(b, n2) / n2;
    let mut df = (vn1 + vn2) * (vn1 + vn2) / (vn1 * vn1 / (n1 - 1.0) + vn2 * vn2 / (n2 - 1.0));
    if df.is_nan() {
        df = 1.0;
    }
    let denom = (vn1 + vn2).sqrt();
    let t = (np_mean(a) - np_mean(b)) / denom;
    let p = t_two_sided(df, t);
    let r = finite_or(
        TestResult {
            statistic: t,
            pvalue: p,
        },
        "Welch's t-test is undefined when both groups are constant and equal",
    )?;
    Ok((r, df))
}

/// Mann–Whitney U, `scipy.stats.mannwhitneyu(a, b)` (two-sided, continuity correction, automatic
/// choice of the exact or asymptotic method). The statistic is U of `a`.
pub fn mannwhitneyu(a: &[f64], b: &[f64]) -> Result<TestResult, NotComputable> {
    check_values(a)?;
    check_values(b)?;
    if a.is_empty() || b.is_empty() {
        return nc("Mann–Whitney U needs at least 1 value per group");
    }
    let (n1, n2) = (a.len(), b.len());
    let all: Vec<f64> = a.iter().chain(b).copied().collect();
    let (ranks, ties) = average_ranks(&all);
    let r1 = np_sum(&ranks[..n1]);
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u1 = r1 - n1f * (n1f + 1.0) / 2.0;
    let u2 = n1f * n2f - u1;
    let u = u1.max(u2);
    let has_ties = ties.iter().any(|&t| t > 1);
    let exact = !(has_ties || (n1 > 8 && n2 > 8));
    let p = if exact {
        2.0 * mwu_exact_sf(n1, n2, u)
    } else {
        let n = n1f + n2f;
        let tie_term: f64 = np_sum(
            &ties
                .iter()
                .map(|&t| {
                    let t = t as f64;
                    t * t * t - t
                })
                .collect::<Vec<_>>(),
        );
        let s = (n1f * n2f / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
        let z = (u - n1f * n2f / 2.0 - 0.5) / s;
        2.0 * ndtr(-z)
    };
    finite_or(
        TestResult {
            statistic: u1,
            pvalue: p.clamp(0.0, 1.0),
        },
        "Mann–Whitney U is undefined when all values are identical",
    )
}

/// P(U ≥ u) under H0 without ties (Löffler's recurrence for the count of each U).
fn mwu_exact_sf(n1: usize, n2: usize, u: f64) -> f64 {
    let (m, n) = if n1 <= n2 { (n1, n2) } else { (n2, n1) };
    let max_u = m * n;
    // sigma(a) = Σ_{d|a, d≤m} d − Σ_{d|a, n<d≤m+n} d
    let sigma: Vec<f64> = (0..=max_u)
        .map(|a| {
            if a == 0 {
                return 0.0;
            }
            let mut s = 0.0;
            for d in 1..=a.min(m + n) {
                if a % d == 0 {
                    if d <= m {
                        s += d as f64;
                    }
                    if d > n && d <= m + n {
                        s -= d as f64;
                    }
                }
            }
            s
        })
        .collect();
    let mut c = vec![0.0f64; max_u + 1];
    c[0] = 1.0;
    for k in 1..=max_u {
        let mut acc = 0.0;
        for i in 0..k {
            acc += c[i] * sigma[k - i];
        }
        c[k] = acc / k as f64;
    }
    let total: f64 = c.iter().sum();
    let pmf: Vec<f64> = c.iter().map(|v| v / total).collect();
    let k = u.round() as usize;
    let cdf = |j: usize| -> f64 { pmf[..=j.min(max_u)].iter().sum() };
    if (k as f64) < max_u as f64 - k as f64 {
        1.0 - cdf(k) + pmf[k.min(max_u)]
    } else {
        cdf(max_u.saturating_sub(k))
    }
}
