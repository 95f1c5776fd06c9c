//! The noncentral t distribution and the power of the two-sample t-test.
//!
//! The cdf is the Poisson mixture of incomplete beta functions (Guenther 1978; the series of
//! Lenth's AS 243), summed outwards from the largest Poisson weight, so it stays accurate for
//! large noncentralities where AS 243's first weight `e^{−δ²/2}` underflows. Checked against
//! SciPy's `nct.cdf` in the golden fixtures; [`ttest_ind_power`] and [`solve_nobs1`] against
//! statsmodels' `TTestIndPower`.

use statrs::function::beta::beta_reg;
use statrs::function::gamma::ln_gamma;

use super::{brent, t_cdf, t_ppf};
use crate::special::ndtr;

/// `F(t; ν, δ)` for t ≥ 0.
fn cdf_nonneg(t: f64, df: f64, nc: f64) -> f64 {
    let x = t * t / (t * t + df);
    let mu = nc * nc / 2.0;
    let b = df / 2.0;
    let ln_mu = mu.ln();
    let ln_abs = nc.abs().ln() - 0.5 * std::f64::consts::LN_2;
    let term = |j: f64| -> f64 {
        let base = -mu + j * ln_mu;
        let p = (base - ln_gamma(j + 1.0)).exp();
        let q = (ln_abs + base - ln_gamma(j + 1.5)).exp().copysign(nc);
        let ib = |a: f64| if x <= 0.0 { 0.0 } else { beta_reg(a, b, x) };
        p * ib(j + 0.5) + q * ib(j + 1.0)
    };
    let weight = |j: f64| -> f64 {
        let base = -mu + j * ln_mu;
        (base - ln_gamma(j + 1.0)).exp() + (ln_abs + base - ln_gamma(j + 1.5)).exp()
    };
    let mode = mu.floor();
    let mut sum = 0.0;
    let mut j = mode;
    // Forwards from the mode, then backwards, until the weights no longer count.
    for _ in 0..100_000 {
        sum += term(j);
        if weight(j) < 1e-18 && j > mode {
            break;
        }
        j += 1.0;
    }
    j = mode - 1.0;
    for _ in 0..100_000 {
        if j < 0.0 {
            break;
        }
        sum += term(j);
        if weight(j) < 1e-18 {
            break;
        }
        j -= 1.0;
    }
    ndtr(-nc) + 0.5 * sum
}

/// Past this noncentrality the series needs more terms than it may take (its Poisson weights
/// spread over about `10·δ/√2` terms each side of the mode; at 10⁴ that is 70,000 of the
/// 100,000 allowed, and far beyond, `j + 1 = j` in floating point): [`cdf`] then uses the
/// normal approximation, Abramowitz and Stegun 26.7.10, whose error shrinks as δ grows.
const SERIES_MAX_NC: f64 = 1e4;

/// Abramowitz and Stegun 26.7.10: `Φ((t·(1 − 1/(4ν)) − δ) / √(1 + t²/(2ν)))`.
fn cdf_normal_approx(t: f64, df: f64, nc: f64) -> f64 {
    ndtr((t * (1.0 - 1.0 / (4.0 * df)) - nc) / (1.0 + t * t / (2.0 * df)).sqrt())
}

/// The cdf `F(t; ν, δ)` of the noncentral t with `df` degrees of freedom and noncentrality
/// `nc`, as SciPy's `nct.cdf(t, df, nc)`.
pub fn cdf(t: f64, df: f64, nc: f64) -> f64 {
    if t.is_nan() || df.is_nan() || nc.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if nc == 0.0 {
        return t_cdf(df, t);
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    if nc.abs() > SERIES_MAX_NC {
        return cdf_normal_approx(t, df, nc).clamp(0.0, 1.0);
    }
    let v = if t >= 0.0 {
        cdf_nonneg(t, df, nc)
    } else {
        1.0 - cdf_nonneg(-t, df, -nc)
    };
    v.clamp(0.0, 1.0)
}

/// The power of the two-sided two-sample t-test with `nobs1` runs per group (equal groups) for
/// the standardised difference `effect` at level `alpha`: statsmodels'
/// `TTestIndPower().power(effect, nobs1, alpha, ratio=1, alternative="two-sided")`.
pub fn ttest_ind_power(effect: f64, nobs1: f64, alpha: f64) -> f64 {
    let df = 2.0 * nobs1 - 2.0;
    let nobs = nobs1 / 2.0;
    let crit = t_ppf(df, 1.0 - alpha / 2.0);
    let nc = effect * nobs.sqrt();
    (1.0 - cdf(crit, df, nc)) + cdf(-crit, df, nc)
}

/// Runs per group (a real number, as statsmodels answers it) that give the two-sided
/// two-sample t-test `power` for the standardised difference `effect` at level `alpha`:
/// `TTestIndPower().solve_power(effect, None, alpha, power, ratio=1)`. `None` for no
/// difference (no number of runs is enough) or an answer above ten million.
pub fn solve_nobs1(effect: f64, alpha: f64, power: f64) -> Option<f64> {
    let effect = effect.abs();
    if !(effect > 0.0 && effect.is_finite()) {
        return None;
    }
    let f = |n: f64| ttest_ind_power(effect, n, alpha) - power;
    let lo = 1.5;
    if f(lo) >= 0.0 {
        return Some(lo);
    }
    let mut hi = 4.0;
    while f(hi) < 0.0 {
        hi *= 2.0;
        if hi > 1e7 {
            return None;
        }
    }
    brent(f, lo.max(hi / 2.0), hi, 1e-13)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_case_is_students_t() {
        assert!((cdf(1.3, 7.0, 0.0) - t_cdf(7.0, 1.3)).abs() < 1e-15);
        // Symmetry: F(t; ν, δ) = 1 − F(−t; ν, −δ).
        let (a, b) = (cdf(0.7, 5.0, 1.2), cdf(-0.7, 5.0, -1.2));
        assert!((a + b - 1.0).abs() < 1e-14);
    }

    #[test]
    fn large_noncentrality_does_not_underflow() {
        // δ = 45: AS 243's first weight e^{−δ²/2} is 0 in double precision.
        let mid = cdf(45.0, 30.0, 45.0);
        assert!(mid > 0.3 && mid < 0.7, "{mid}");
        assert!(cdf(10.0, 30.0, 45.0) < 1e-10);
    }

    #[test]
    fn past_the_series_the_normal_approximation_takes_over_and_ends() {
        // Both sides of the switch agree to 2 % at 8 degrees of freedom (the approximation's
        // error at small ν; δ is then thousands of standard deviations, where no verdict turns
        // on it), 1 % at 60.
        for (df, tol) in [(8.0, 0.02), (60.0, 0.01)] {
            for t in [9_500.0, 10_000.0, 10_500.0] {
                let series = cdf(t, df, SERIES_MAX_NC * 0.9999);
                let approx = cdf(t, df, SERIES_MAX_NC * 1.0001);
                assert!(
                    (series - approx).abs() < tol,
                    "ν {df}, t {t}: {series} vs {approx}"
                );
            }
        }
        // A group with (almost) no spread gives δ near 10^15: the cdf still ends (the series
        // would loop for ever there), rising with t.
        let (low, mid, high) = (
            cdf(1e13, 4.0, 2e15),
            cdf(2e15, 4.0, 2e15),
            cdf(1e17, 4.0, 2e15),
        );
        assert!(
            low < 1e-10 && low < mid && mid < high && high <= 1.0,
            "{low} {mid} {high}"
        );
        assert_eq!(cdf(0.0, 4.0, 1e15), 0.0);
    }

    #[test]
    fn power_grows_with_runs() {
        let p5 = ttest_ind_power(1.0, 5.0, 0.05);
        let p20 = ttest_ind_power(1.0, 20.0, 0.05);
        assert!(p5 < p20 && p20 < 1.0, "{p5} {p20}");
        let n = solve_nobs1(1.0, 0.05, 0.8).unwrap_or(f64::NAN);
        assert!((ttest_ind_power(1.0, n, 0.05) - 0.8).abs() < 1e-10, "{n}");
        assert_eq!(solve_nobs1(0.0, 0.05, 0.8), None);
    }
}
