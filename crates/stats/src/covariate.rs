//! Covariate adjustment of run-to-run noise: each run's value scaled by a covariate measured
//! during the run (the machine's speed), with one slope shared by every group and fitted within
//! the groups (analysis of covariance on logarithms).
//!
//! Model: `ln yᵢ = a_g + β · ln xᵢ + εᵢ` for run `i` of group `g`. β is the pooled
//! within-group least-squares slope, `Σ (ln x − m_gx)(ln y − m_gy) / Σ (ln x − m_gx)²`, so only
//! each group's own deviations from its mean covariate enter it; a group whose covariate mean
//! differs (an interpreter that slows the probe down) does not move β. The adjusted value is
//! `yᵢ · exp(−β (ln xᵢ − m))`, `m` the mean of `ln x` over all runs: every run brought to one
//! common covariate value, the adjusted means of analysis of covariance. A group's mean moves
//! by `exp(−β (m_gx − m))` ([`Adjustment::shift`]): the machine's speed its own runs happened
//! to meet, or, if a group changes the covariate itself, a bias that [`Adjustment::shift`]
//! bounds.

/// An adjustment of grouped values by a covariate.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment {
    /// The pooled within-group slope of ln y on ln x.
    pub beta: f64,
    /// Its standard error, from the residual variance on `n − groups − 1` degrees of freedom
    /// (`None` when there are no degrees of freedom left).
    pub beta_se: Option<f64>,
    /// Residual degrees of freedom, `n − groups − 1`.
    pub df: usize,
    /// The adjusted values, group by group, in the input's order.
    pub values: Vec<Vec<f64>>,
    /// Per group, the factor its values were scaled by on average, `exp(−β (m_gx − m))`
    /// (1 for an empty group).
    pub shift: Vec<f64>,
}

/// Fits β on `groups` (each a list of `(y, x)`, both positive and finite) and adjusts every y.
/// `None` when a value is not positive and finite, or when no group's covariate varies (β is
/// then undefined).
pub fn adjust(groups: &[Vec<(f64, f64)>]) -> Option<Adjustment> {
    let ok = |v: f64| v.is_finite() && v > 0.0;
    if groups.iter().flatten().any(|&(y, x)| !ok(y) || !ok(x)) {
        return None;
    }
    let logs: Vec<Vec<(f64, f64)>> = groups
        .iter()
        .map(|g| g.iter().map(|&(y, x)| (y.ln(), x.ln())).collect())
        .collect();
    let mean = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        v.iter().map(pick).sum::<f64>() / v.len() as f64
    };
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for g in logs.iter().filter(|g| !g.is_empty()) {
        let (my, mx) = (mean(g, |p| p.0), mean(g, |p| p.1));
        for &(ly, lx) in g {
            sxy += (lx - mx) * (ly - my);
            sxx += (lx - mx) * (lx - mx);
        }
    }
    if sxx <= 0.0 || !sxx.is_finite() {
        return None;
    }
    let beta = sxy / sxx;
    let n: usize = groups.iter().map(Vec::len).sum();
    let m_all = logs.iter().flatten().map(|p| p.1).sum::<f64>() / n as f64;
    let mut rss = 0.0;
    let mut values = Vec::with_capacity(groups.len());
    let mut shift = Vec::with_capacity(groups.len());
    for (g, lg) in groups.iter().zip(&logs) {
        if g.is_empty() {
            values.push(Vec::new());
            shift.push(1.0);
            continue;
        }
        let (my, mx) = (mean(lg, |p| p.0), mean(lg, |p| p.1));
        for &(ly, lx) in lg {
            let r = (ly - my) - beta * (lx - mx);
            rss += r * r;
        }
        values.push(
            g.iter()
                .zip(lg)
                .map(|(&(y, _), &(_, lx))| y * (-beta * (lx - m_all)).exp())
                .collect(),
        );
        shift.push((-beta * (mx - m_all)).exp());
    }
    let used = groups.iter().filter(|g| !g.is_empty()).count();
    let df = n.saturating_sub(used + 1);
    let beta_se = (df > 0).then(|| (rss / df as f64 / sxx).sqrt());
    Some(Adjustment {
        beta,
        beta_se,
        df,
        values,
        shift,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_exact_power_law_is_recovered_and_adjusted_away() {
        // y = c_g · x^0.6 exactly: β = 0.6, every adjusted value is c_g · x̃^0.6, x̃ the
        // geometric mean of every run's x.
        let g = |c: f64, xs: &[f64]| xs.iter().map(|&x| (c * x.powf(0.6), x)).collect();
        let groups: Vec<Vec<(f64, f64)>> =
            vec![g(10.0, &[1.0, 1.1, 0.9, 1.05]), g(20.0, &[1.3, 1.2, 1.25])];
        let a = adjust(&groups).unwrap();
        assert!((a.beta - 0.6).abs() < 1e-12, "{}", a.beta);
        assert!(a.beta_se.unwrap() < 1e-6);
        assert_eq!(a.df, 7 - 2 - 1);
        let xs: Vec<f64> = groups.iter().flatten().map(|p| p.1).collect();
        let gm = (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp();
        for (c, adj) in [10.0, 20.0].iter().zip(&a.values) {
            for v in adj {
                let want = c * gm.powf(0.6);
                assert!((v - want).abs() < 1e-9 * want, "{v} vs {want}");
            }
        }
    }

    #[test]
    fn a_between_group_covariate_does_not_move_beta_and_its_shift_is_reported() {
        // Group 2's covariate is 3× group 1's throughout; within each group y does not follow x.
        let groups = vec![
            vec![(10.0, 1.0), (11.0, 1.0), (10.5, 2.0), (10.5, 2.0)],
            vec![(30.0, 3.0), (33.0, 3.0), (31.5, 6.0), (31.5, 6.0)],
        ];
        let a = adjust(&groups).unwrap();
        assert!(a.beta.abs() < 0.02, "{}", a.beta);
        for ((raw, adj), shift) in groups.iter().zip(&a.values).zip(&a.shift) {
            let gm = |v: &mut dyn Iterator<Item = f64>| {
                let v: Vec<f64> = v.collect();
                (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
            };
            let (before, after) = (
                gm(&mut raw.iter().map(|p| p.0)),
                gm(&mut adj.iter().copied()),
            );
            assert!(
                (after / before - shift).abs() < 1e-12,
                "{after} {before} {shift}"
            );
            assert!((shift - 1.0).abs() < 0.03, "{shift}");
        }
    }

    #[test]
    fn no_covariate_spread_or_a_bad_value_gives_none() {
        assert_eq!(adjust(&[vec![(1.0, 2.0), (1.1, 2.0)]]), None);
        assert_eq!(adjust(&[vec![(1.0, 2.0), (-1.0, 3.0)]]), None);
        assert_eq!(adjust(&[vec![(1.0, f64::NAN), (1.0, 3.0)]]), None);
        assert_eq!(adjust(&[]), None);
    }
}
