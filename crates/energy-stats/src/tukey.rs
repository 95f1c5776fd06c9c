//! Tukey's HSD, as `scipy.stats.tukey_hsd` (equal variances): the studentized range
//! distribution by adaptive Gauss–Kronrod quadrature of SciPy's own double integral.
//!
//! `cdf(q; k, ν) = ∫₀^∞ ∫ C s^{ν−1} e^{−νs²/2} φ(z) [Φ(z+qs) − Φ(z)]^{k−1} dz ds` with
//! `ln C = ln k + (ν/2) ln ν − lnΓ(ν/2) − (ν/2 − 1) ln 2`; for ν ≥ 100 000 SciPy's asymptotic
//! single integral `k ∫ φ(z) [Φ(z+q) − Φ(z)]^{k−1} dz`. SciPy's p-value is `1 − cdf` (its
//! distribution defines no survival function), so p-values below about 1e-7 carry an absolute
//! error near 1e-14 in SciPy and here alike.

use crate::hypothesis::NotComputable;
use crate::numeric::{np_mean, np_var};

/// Abscissae and weights of the 15-point Kronrod rule and its embedded 7-point Gauss rule.
const XGK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
const WGK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_2,
    0.140_653_259_715_525_9,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_8,
];
const WG: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

fn gk15(f: &mut impl FnMut(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
    let c = 0.5 * (a + b);
    let h = 0.5 * (b - a);
    let fc = f(c);
    let mut k = fc * WGK[7];
    let mut g = fc * WG[3];
    for j in 0..7 {
        let x = h * XGK[j];
        let s = f(c - x) + f(c + x);
        k += WGK[j] * s;
        if j % 2 == 1 {
            g += WG[j / 2] * s;
        }
    }
    (k * h, ((k - g) * h).abs())
}

/// Adaptive Gauss–Kronrod: bisect the interval with the largest error until the total error
/// estimate is below `tol` (absolute).
fn integrate(mut f: impl FnMut(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
    let (v, e) = gk15(&mut f, a, b);
    let mut parts = vec![(a, b, v, e)];
    for _ in 0..2000 {
        let total_err: f64 = parts.iter().map(|p| p.3).sum();
        if total_err <= tol {
            break;
        }
        let Some((worst, _)) = parts
            .iter()
            .enumerate()
            .max_by(|x, y| x.1 .3.total_cmp(&y.1 .3))
        else {
            break;
        };
        let (a, b, _, _) = parts.swap_remove(worst);
        let m = 0.5 * (a + b);
        let (v1, e1) = gk15(&mut f, a, m);
        let (v2, e2) = gk15(&mut f, m, b);
        parts.push((a, m, v1, e1));
        parts.push((m, b, v2, e2));
    }
    // Summed smallest first, so tiny tail pieces are not lost against the bulk.
    let mut vals: Vec<f64> = parts.iter().map(|p| p.2).collect();
    vals.sort_by(|x, y| x.abs().total_cmp(&y.abs()));
    vals.iter().sum()
}

fn phi_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z * std::f64::consts::FRAC_1_SQRT_2)
}

fn log_norm_pdf(z: f64) -> f64 {
    -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// The inner integral `∫ φ(z) [Φ(z+a) − Φ(z)]^{k−1} dz` for a = q·s.
fn inner(a: f64, k: f64, tol: f64) -> f64 {
    let f = |z: f64| {
        let d = phi_cdf(z + a) - phi_cdf(z);
        if d <= 0.0 {
            return 0.0;
        }
        (log_norm_pdf(z)).exp() * d.powf(k - 1.0)
    };
    // The mass sits around z = −a/2; φ(z) is below 1e-30 beyond |z| = 12.
    let mid = (-a / 2.0).clamp(-12.0, 12.0);
    integrate(f, -12.0 - a, mid, tol / 2.0) + integrate(f, mid, 12.0, tol / 2.0)
}

/// cdf of the studentized range with k groups and ν degrees of freedom.
pub fn studentized_range_cdf(q: f64, k: f64, df: f64) -> f64 {
    if q <= 0.0 {
        return 0.0;
    }
    if q.is_infinite() {
        return 1.0;
    }
    const TOL: f64 = 1e-15;
    let res = if df >= 100_000.0 {
        k * inner(q, k, TOL)
    } else {
        let log_const = k.ln() + (df / 2.0) * df.ln()
            - (libm::lgamma(df / 2.0) + (df / 2.0 - 1.0) * std::f64::consts::LN_2);
        let weight = |s: f64| (log_const + (df - 1.0) * s.ln() - df * s * s / 2.0).exp();
        let outer = |s: f64| {
            if s <= 0.0 {
                return 0.0;
            }
            let w = weight(s);
            if w < 1e-300 {
                return 0.0;
            }
            w * inner(q * s, k, TOL)
        };
        // The weight peaks at s* = √((ν−1)/ν) with width ~1/√(2ν); beyond ±40 widths it is
        // below e^-800 (and for small ν the right tail is cut where the log-weight is −745).
        let peak = ((df - 1.0) / df).max(0.0).sqrt();
        let width = 1.0 / (2.0 * df).sqrt();
        let mut hi = peak + 40.0 * width;
        while (log_const + (df - 1.0) * hi.ln() - df * hi * hi / 2.0) > -745.0 {
            hi *= 1.5;
        }
        let lo = (peak - 40.0 * width).max(0.0);
        let mut pts = vec![lo];
        for m in [-4.0, -1.0, 0.0, 1.0, 4.0] {
            let p = peak + m * width;
            if p > lo && p < hi {
                pts.push(p);
            }
        }
        pts.push(hi);
        pts.windows(2)
            .map(|w| integrate(outer, w[0], w[1], TOL))
            .sum()
    };
    res.min(1.0)
}

/// SciPy's studentized-range survival function: `1 − cdf`.
pub fn studentized_range_sf(q: f64, k: f64, df: f64) -> f64 {
    if q <= 0.0 {
        return 1.0;
    }
    1.0 - studentized_range_cdf(q, k, df)
}

/// Tukey's HSD of every pair: `statistic[i][j] = mean_i − mean_j`, `pvalue[i][j]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TukeyHsd {
    /// Differences of means, row minus column.
    pub statistic: Vec<Vec<f64>>,
    /// p-values (1 on the diagonal).
    pub pvalue: Vec<Vec<f64>>,
}

/// `scipy.stats.tukey_hsd(*groups)` with equal variances.
pub fn tukey_hsd(groups: &[&[f64]]) -> Result<TukeyHsd, NotComputable> {
    if groups.len() < 2 {
        return Err(NotComputable("Tukey's HSD needs at least 2 groups".into()));
    }
    if groups.iter().any(|g| g.len() <= 1) {
        return Err(NotComputable(
            "Tukey's HSD needs more than one value per group".into(),
        ));
    }
    if groups.iter().any(|g| g.iter().any(|v| !v.is_finite())) {
        return Err(NotComputable("non-finite value in the data".into()));
    }
    let k = groups.len();
    let means: Vec<f64> = groups.iter().map(|g| np_mean(g)).collect();
    let nobs: Vec<f64> = groups.iter().map(|g| g.len() as f64).collect();
    let vars: Vec<f64> = groups.iter().map(|g| np_var(g, 1.0)).collect();
    let total: f64 = nobs.iter().sum();
    let weighted: Vec<f64> = vars.iter().zip(&nobs).map(|(v, n)| v * (n - 1.0)).collect();
    let mse = crate::numeric::np_sum(&weighted) / (total - k as f64);
    if mse == 0.0 {
        // SciPy divides by a zero standard error here and answers NaN.
        return Err(NotComputable(
            "Tukey's HSD is undefined when every group is constant".into(),
        ));
    }
    let equal = nobs.iter().all(|&n| n == nobs[0]);
    let mut statistic = vec![vec![0.0; k]; k];
    let mut pvalue = vec![vec![1.0; k]; k];
    for i in 0..k {
        for j in 0..k {
            statistic[i][j] = means[i] - means[j];
        }
    }
    for i in 0..k {
        for j in i + 1..k {
            let normalize = if equal {
                2.0 / nobs[0]
            } else {
                1.0 / nobs[j] + 1.0 / nobs[i]
            };
            let se = (normalize * mse / 2.0).sqrt();
            let t = statistic[i][j].abs() / se;
            let p = if t.is_nan() {
                f64::NAN
            } else {
                studentized_range_sf(t, k as f64, total - k as f64)
            };
            pvalue[i][j] = p;
            pvalue[j][i] = p;
        }
    }
    Ok(TukeyHsd { statistic, pvalue })
}
