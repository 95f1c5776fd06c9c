//! Normality per group: Shapiro–Wilk (AS R94, as SciPy's swilk) and Anderson–Darling.

use super::{check_values, nc, NotComputable, TestResult};
use crate::numeric::{np_mean, np_std, np_sum, sorted};
use crate::special::log_ndtr;

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
pub(super) fn poly(c: &[f64], x: f64) -> f64 {
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
