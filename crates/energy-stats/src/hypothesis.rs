//! The study's hypothesis tests, each reproducing SciPy 1.17.1 with its default arguments.
//!
//! Every function follows SciPy's order of operations (see
//! `shared/reference/scipy-parity-notes.md`): which mean is pairwise-summed, where a two-pass
//! variance is taken, which survival function gives the p-value. Where SciPy answers NaN (too
//! few values, all values identical) these functions answer [`NotComputable`] with the reason,
//! so no table ever shows a silent NaN.

use crate::numeric::{average_ranks, median_sorted, np_mean, np_std, np_sum, np_var, sorted};
use crate::special::{chi2_sf, f_sf, log_ndtr, ndtr, t_two_sided};

/// A test statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// The statistic (W, A², T, W, F, H, U or t depending on the test).
    pub statistic: f64,
    /// The p-value.
    pub pvalue: f64,
}

/// Why a test could not be computed on the data given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not computable: {0}")]
pub struct NotComputable(pub String);

fn nc<T>(why: impl Into<String>) -> Result<T, NotComputable> {
    Err(NotComputable(why.into()))
}

fn finite_or(r: TestResult, why: &str) -> Result<TestResult, NotComputable> {
    if r.statistic.is_nan() || r.pvalue.is_nan() {
        nc(why)
    } else {
        Ok(r)
    }
}

fn check_values(x: &[f64]) -> Result<(), NotComputable> {
    if x.iter().any(|v| !v.is_finite()) {
        return nc("non-finite value in the data");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Shapiro–Wilk: AS R94 in double precision, as SciPy 1.12–1.17 (`_ansari_swilk_statistics`).

/// AS 111 normal quantile (about 7 digits), which SciPy's swilk uses instead of the exact one.
fn ppnd(p: f64) -> f64 {
    const A: [f64; 4] = [
        2.50662823884,
        -18.61500062529,
        41.39119773534,
        -25.44106049637,
    ];
    const B: [f64; 4] = [
        -8.47351093090,
        23.08336743743,
        -21.06224101826,
        3.13082909833,
    ];
    const C: [f64; 4] = [-2.78718931138, -2.29796479134, 4.85014127135, 2.32121276858];
    const D: [f64; 2] = [3.54388924762, 1.63706781897];
    let q = p - 0.5;
    if q.abs() <= 0.42 {
        let r = q * q;
        let num = q * (((A[3] * r + A[2]) * r + A[1]) * r + A[0]);
        return num / ((((B[3] * r + B[2]) * r + B[1]) * r + B[0]) * r + 1.0);
    }
    let r = if q > 0.0 { 1.0 - p } else { p };
    if r <= 0.0 {
        return 0.0;
    }
    let r = (-r.ln()).sqrt();
    let v = (((C[3] * r + C[2]) * r + C[1]) * r + C[0]) / ((D[1] * r + D[0]) * r + 1.0);
    if q < 0.0 {
        -v
    } else {
        v
    }
}

/// Ascending polynomial c0 + c1·x + …, in AS 181's evaluation order.
fn poly(c: &[f64], x: f64) -> f64 {
    let nord = c.len();
    let res = c[0];
    if nord == 1 {
        return res;
    }
    let mut p = x * c[nord - 1];
    if nord == 2 {
        return res + p;
    }
    for &ci in c[1..nord - 1].iter().rev() {
        p = (p + ci) * x;
    }
    res + p
}

/// AS 66 upper normal tail (Hill 1973), which swilk uses instead of an exact Φ.
fn alnorm_upper(x: f64) -> f64 {
    const LTONE: f64 = 7.0;
    const UTZERO: f64 = 38.0;
    const CON: f64 = 1.28;
    let (mut upper, mut z) = (true, x);
    if z.is_nan() || z <= 0.0 {
        upper = false;
        z = -z;
    }
    if !(z <= LTONE || (upper && z <= UTZERO)) {
        return if upper { 0.0 } else { 1.0 };
    }
    let y = 0.5 * z * z;
    let temp = if z <= CON {
        0.5 - z
            * (0.398942280444
                - 0.399903438504 * y
                    / (y + 5.75885480458
                        - 29.8213557808
                            / (y + 2.62433121679 + 48.6959930692 / (y + 5.92885724438))))
    } else {
        0.398942280385 * (-y).exp()
            / (z - 3.8052e-8
                + 1.00000615302
                    / (z + 3.98064794e-4
                        + 1.98615381364
                            / (z - 0.151679116635
                                + 5.29330324926
                                    / (z + 4.8385912808
                                        - 15.1508972451
                                            / (z + 0.742380924027
                                                + 30.789933034 / (z + 3.99019417011))))))
    };
    if upper {
        temp
    } else {
        1.0 - temp
    }
}

/// Shapiro–Wilk W and p, as `scipy.stats.shapiro` 1.12–1.17.
///
/// Constant data gives (1, 1) like SciPy (which also warns "range zero"); see
/// [`shapiro_is_degenerate`]. N > 5000 is computed (SciPy warns the p may be inaccurate).
pub fn shapiro(x: &[f64]) -> Result<TestResult, NotComputable> {
    check_values(x)?;
    let n = x.len();
    if n < 3 {
        return nc(format!("Shapiro–Wilk needs at least 3 values, got {n}"));
    }
    // SciPy shifts by the *unsorted* middle element (gh-15777); W is shift-invariant, but the
    // last bits are not.
    let shift = x[n / 2];
    let y: Vec<f64> = sorted(x).into_iter().map(|v| v - shift).collect();
    let (w, pw) = swilk(&y);
    Ok(TestResult {
        statistic: w,
        pvalue: pw,
    })
}

/// Whether SciPy would flag this Shapiro–Wilk input as having zero range.
pub fn shapiro_is_degenerate(x: &[f64]) -> bool {
    let s = sorted(x);
    s.len() >= 3 && (s[s.len() - 1] - s[0]) < 1e-19
}

fn swilk(x: &[f64]) -> (f64, f64) {
    const C1: [f64; 6] = [0.0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056];
    const C2: [f64; 6] = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
    const C3: [f64; 4] = [0.5440, -0.39978, 0.025054, -0.0006714];
    const C4: [f64; 4] = [1.3822, -0.77857, 0.062767, -0.0020322];
    const C5: [f64; 4] = [-1.5861, -0.31082, -0.083751, 0.0038915];
    const C6: [f64; 3] = [-0.4803, -0.082676, 0.0030302];
    const G: [f64; 2] = [-2.273, 0.459];
    const SMALL: f64 = 1e-19;

    let n = x.len();
    let nn2 = n / 2;
    let an = n as f64;
    let mut a = vec![0.0f64; nn2];
    if n == 3 {
        a[0] = std::f64::consts::SQRT_2 / 2.0;
    } else {
        let an25 = an + 0.25;
        let mut summ2 = 0.0;
        for (i, ai) in a.iter_mut().enumerate() {
            let m = ppnd((i as f64 + 1.0 - 0.375) / an25);
            *ai = m;
            summ2 += m * m;
        }
        summ2 *= 2.0;
        let ssumm2 = summ2.sqrt();
        let rsn = 1.0 / an.sqrt();
        let a1 = poly(&C1, rsn) - a[0] / ssumm2;
        let (i1, fac) = if n > 5 {
            let a2 = -a[1] / ssumm2 + poly(&C2, rsn);
            let fac = ((summ2 - 2.0 * a[0] * a[0] - 2.0 * a[1] * a[1])
                / (1.0 - 2.0 * a1 * a1 - 2.0 * a2 * a2))
                .sqrt();
            a[1] = a2;
            (2, fac)
        } else {
            let fac = ((summ2 - 2.0 * a[0] * a[0]) / (1.0 - 2.0 * a1 * a1)).sqrt();
            (1, fac)
        };
        a[0] = a1;
        let scale = -1.0 / fac;
        for ai in a.iter_mut().skip(i1) {
            *ai *= scale;
        }
    }

    let range = x[n - 1] - x[0];
    if range < SMALL {
        return (1.0, 1.0);
    }
    // The full antisymmetric coefficient vector, −a[i] on the low half, +a[n−1−i] on the high.
    let coef = |i: usize| -> f64 {
        let j = n - 1 - i;
        match i.cmp(&j) {
            std::cmp::Ordering::Less => -a[i],
            std::cmp::Ordering::Greater => a[j],
            std::cmp::Ordering::Equal => 0.0,
        }
    };
    let mut sx = x[0] / range;
    let mut sa = -a[0];
    for (i, &xi) in x.iter().enumerate().skip(1) {
        sx += xi / range;
        // AS R94 accumulates the coefficients with index n−2−… offsets; the middle one is 0.
        let j = n - 1 - i;
        if i != j {
            sa += coef(i);
        }
    }
    sa /= an;
    sx /= an;
    let (mut ssa, mut ssx, mut sax) = (0.0, 0.0, 0.0);
    for (i, &xi) in x.iter().enumerate() {
        let j = n - 1 - i;
        let asa = if i != j { coef(i) - sa } else { -sa };
        let xsx = xi / range - sx;
        ssa += asa * asa;
        ssx += xsx * xsx;
        sax += asa * xsx;
    }
    let ssassx = (ssa * ssx).sqrt();
    let w1 = (ssassx - sax) * (ssassx + sax) / (ssa * ssx);
    let w = 1.0 - w1;

    if n == 3 {
        if w < 0.75 {
            return (0.75, 0.0);
        }
        let pw = 1.0 - 6.0 / std::f64::consts::PI * w.sqrt().acos();
        return (w, pw);
    }
    let mut y = w1.ln();
    let xx = an.ln();
    let (m, s) = if n <= 11 {
        let gamma = poly(&G, an);
        if y >= gamma {
            return (w, SMALL);
        }
        y = -(gamma - y).ln();
        (poly(&C3, an), poly(&C4, an).exp())
    } else {
        (poly(&C5, xx), poly(&C6, xx).exp())
    };
    (w, alnorm_upper((y - m) / s))
}

// ---------------------------------------------------------------------------------------------
// Anderson–Darling for normality.

/// Which table of critical values to print with the Anderson–Darling statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AndersonTable {
    /// Stephens (1974), `[0.576, 0.656, 0.787, 0.918, 1.092] / (1 + 4/n − 25/n²)`: SciPy ≤ 1.16,
    /// the table the study printed.
    #[default]
    Classical,
    /// D'Agostino (1986), `[0.561, 0.631, 0.752, 0.873, 1.035] / (1 + 0.75/n + 2.25/n²)`:
    /// SciPy ≥ 1.17.
    DAgostino,
}

/// The significance levels (percent) of the Anderson–Darling critical values.
pub const ANDERSON_LEVELS: [f64; 5] = [15.0, 10.0, 5.0, 2.5, 1.0];

/// An Anderson–Darling result: A² and the critical values at [`ANDERSON_LEVELS`].
#[derive(Debug, Clone, PartialEq)]
pub struct Anderson {
    /// The A² statistic.
    pub statistic: f64,
    /// Critical values at 15, 10, 5, 2.5 and 1 %.
    pub critical_values: [f64; 5],
}

/// `scipy.stats.anderson(x, dist="norm")`.
pub fn anderson(x: &[f64], table: AndersonTable) -> Result<Anderson, NotComputable> {
    check_values(x)?;
    let n = x.len();
    if n < 2 {
        return nc(format!("Anderson–Darling needs at least 2 values, got {n}"));
    }
    let y = sorted(x);
    let xbar = np_mean(x);
    let s = np_std(x, 1.0);
    if s == 0.0 || !s.is_finite() {
        return nc("Anderson–Darling is undefined for constant data");
    }
    let nf = n as f64;
    let w: Vec<f64> = y.iter().map(|&v| (v - xbar) / s).collect();
    let terms: Vec<f64> = (0..n)
        .map(|i| {
            let logcdf = log_ndtr(w[i]);
            let logsf_rev = log_ndtr(-w[n - 1 - i]);
            (2.0 * (i + 1) as f64 - 1.0) / nf * (logcdf + logsf_rev)
        })
        .collect();
    let a2 = -nf - np_sum(&terms);
    let (avals, den) = match table {
        AndersonTable::Classical => (
            [0.576, 0.656, 0.787, 0.918, 1.092],
            1.0 + 4.0 / nf - 25.0 / nf / nf,
        ),
        AndersonTable::DAgostino => (
            [0.561, 0.631, 0.752, 0.873, 1.035],
            1.0 + 0.75 / nf + 2.25 / nf / nf,
        ),
    };
    let critical_values = avals.map(|a: f64| ((a / den) * 1000.0).round_ties_even() / 1000.0);
    if a2.is_nan() {
        return nc("Anderson–Darling statistic is undefined");
    }
    Ok(Anderson {
        statistic: a2,
        critical_values,
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anova_of_six_separated_groups_gives_a_tiny_but_nonzero_p() {
        let groups: Vec<Vec<f64>> = (0..6)
            .map(|g| {
                (0..10)
                    .map(|i| g as f64 * 10.0 + (i as f64 * 0.37).sin())
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
        let r = f_oneway(&refs).unwrap();
        assert!(r.pvalue > 0.0 && r.pvalue < 1e-30, "{r:?}");
    }

    #[test]
    fn shapiro_of_too_few_values_is_not_computable() {
        assert!(shapiro(&[1.0, 2.0]).is_err());
        assert!(shapiro(&[1.0, 2.0, f64::NAN]).is_err());
    }

    #[test]
    fn kruskal_of_identical_values_is_not_computable() {
        let a = [1.0, 1.0];
        assert!(kruskal(&[&a, &a]).is_err());
    }

    #[test]
    fn poly_is_ascending() {
        assert_eq!(poly(&[1.0, 2.0, 3.0], 2.0), 1.0 + 4.0 + 12.0);
        assert_eq!(poly(&[1.0, 2.0], 2.0), 5.0);
    }
}
