//! Confidence intervals that hold at the sizes energy studies use (3 to 30 runs per group),
//! all at one simultaneous level: every pair's interval at `1 − α/m` for `m` pairs
//! (Bonferroni), so the verdict read off an interval agrees with it by construction.
//!
//! # Layout
//! - `mod.rs`: [`ALPHA`], [`Level`], Student's t cdf and quantile, and a bracketing root finder.
//! - `nct.rs`: the noncentral t distribution ([`nct::cdf`]) and the power of Welch/Student
//!   tests, equal to SciPy's `nct` and statsmodels' `TTestIndPower`.
//! - `ratio.rs`: the % difference of means (Fieller's interval with Welch's degrees of freedom)
//!   and of medians (Hodges–Lehmann on the log scale, exact Mann–Whitney inversion).
//! - `effect.rs`: the exact interval of the standardised difference δ that Hedges' g
//!   estimates, by inverting the noncentral t.

pub mod effect;
pub mod nct;
pub mod ratio;

use statrs::function::beta::beta_reg;

/// The family-wise α of a report's comparisons: 95 % simultaneous intervals.
pub const ALPHA: f64 = 0.05;

/// The family-wise level of a report's intervals and verdicts.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Level {
    /// Family-wise error rate α (0.05: 95 % simultaneous intervals).
    pub alpha: f64,
    /// Pairs compared at once, `m`.
    pub pairs: usize,
}

impl Level {
    /// α for one pair's two-sided interval: `α/m` (Bonferroni), so that all `m` intervals hold
    /// together with probability at least `1 − α`.
    pub fn per_pair_alpha(self) -> f64 {
        self.alpha / self.pairs.max(1) as f64
    }
    /// The confidence of one pair's interval, `1 − α/m`.
    pub fn per_pair_confidence(self) -> f64 {
        1.0 - self.per_pair_alpha()
    }
}

/// Student's t cdf, `stdtr(df, t)`, through the regularised incomplete beta function.
pub fn t_cdf(df: f64, t: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let x = df / (df + t * t);
    let tail = 0.5 * beta_reg(df / 2.0, 0.5, x.clamp(0.0, 1.0));
    if t < 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// Student's t quantile, `t.ppf(p, df)`, for 0 < p < 1.
pub fn t_ppf(df: f64, p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    // The quantile of the smaller tail, found where its tail probability is known best.
    let (q, sign) = if p < 0.5 { (p, -1.0) } else { (1.0 - p, 1.0) };
    let tail = |t: f64| t_cdf(df, -t) - q;
    let root = brent(tail, 0.0, 1.0, 1e-15).unwrap_or(f64::NAN);
    sign * root
}

/// A root of `f` (which changes sign once) near `[lo, hi]`: the bracket is widened outwards
/// until `f` changes sign, then closed by Brent's method to `tol` (relative). `None` when no
/// sign change is found within 2⁶⁰ times the first width.
pub fn brent<F: FnMut(f64) -> f64>(mut f: F, lo: f64, hi: f64, tol: f64) -> Option<f64> {
    let (mut a, mut b) = (lo, hi);
    let (mut fa, mut fb) = (f(a), f(b));
    let mut width = (b - a).abs().max(1e-300);
    let mut tries = 0;
    while fa.signum() == fb.signum() && fa != 0.0 && fb != 0.0 {
        tries += 1;
        if tries > 60 || !fa.is_finite() || !fb.is_finite() {
            return None;
        }
        width *= 2.0;
        if fa.abs() < fb.abs() {
            a -= width;
            fa = f(a);
        } else {
            b += width;
            fb = f(b);
        }
    }
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    // Brent's method (bisection, secant and inverse quadratic interpolation).
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..200 {
        if fb.signum() == fc.signum() {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol1 = 2.0 * f64::EPSILON * b.abs() + 0.5 * tol * b.abs().max(1e-300);
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol1 || fb == 0.0 {
            return Some(b);
        }
        if e.abs() >= tol1 && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * xm * s;
                q = 1.0 - s;
            } else {
                let qa = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * xm * qa * (qa - r) - (b - a) * (r - 1.0));
                q = (qa - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            }
            p = p.abs();
            let min1 = 3.0 * xm * q - (tol1 * q).abs();
            let min2 = (e * q).abs();
            if 2.0 * p < min1.min(min2) {
                e = d;
                d = p / q;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol1 { d } else { tol1.copysign(xm) };
        fb = f(b);
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        // t.ppf(0.975, df) from SciPy.
        for (df, want) in [
            (1.0, 12.706_204_736_174_698),
            (2.0, 4.302_652_729_749_464),
            (4.0, 2.776_445_105_197_793),
            (10.0, 2.228_138_851_986_273_5),
            (58.0, 2.001_717_483_548_307),
        ] {
            let got = t_ppf(df, 0.975);
            assert!((got - want).abs() < 1e-9 * want, "{df}: {got} vs {want}");
            assert!((t_ppf(df, 0.025) + want).abs() < 1e-9 * want);
            assert!((t_cdf(df, want) - 0.975).abs() < 1e-10, "{df}");
        }
    }

    #[test]
    fn brent_widens_the_bracket() {
        let r = brent(|x| x * x * x - 1000.0, 0.0, 1.0, 1e-14).unwrap_or(f64::NAN);
        assert!((r - 10.0).abs() < 1e-12, "{r}");
        assert!(brent(|x| x * x + 1.0, 0.0, 1.0, 1e-12).is_none());
    }

    #[test]
    fn bonferroni_level() {
        let l = Level {
            alpha: 0.05,
            pairs: 3,
        };
        assert!((l.per_pair_confidence() - (1.0 - 0.05 / 3.0)).abs() < 1e-15);
    }
}
