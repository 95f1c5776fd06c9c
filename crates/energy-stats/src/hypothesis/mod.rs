//! The study's hypothesis tests, each reproducing SciPy 1.17.1 with its default arguments.
//!
//! Every function follows SciPy's order of operations (see
//! `shared/reference/scipy-parity-notes.md`): which mean is pairwise-summed, where a two-pass
//! variance is taken, which survival function gives the p-value. Where SciPy answers NaN (too
//! few values, all values identical) these functions answer [`NotComputable`] with the reason,
//! so no table ever shows a silent NaN.
//!
//! # Layout
//! - `mod.rs`: [`TestResult`], [`NotComputable`] and the checks every test makes.
//! - `normality.rs`: Shapiro–Wilk and Anderson–Darling, per group.
//! - `groups.rs`: Bartlett, Levene, one-way ANOVA and Kruskal–Wallis, across groups.
//! - `two_sample.rs`: Welch's t and Mann–Whitney U, for the pairwise comparisons.
//! - `kendall.rs`: Kendall's τ-b, whether two orderings agree (the study's table beside ours).

mod groups;
mod kendall;
mod normality;
mod two_sample;

pub use groups::{bartlett, f_oneway, kruskal, levene};
pub use kendall::kendalltau;
pub use normality::{
    anderson, shapiro, shapiro_is_degenerate, Anderson, AndersonTable, ANDERSON_LEVELS,
};
pub use two_sample::{mannwhitneyu, welch};

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

pub(crate) fn nc<T>(why: impl Into<String>) -> Result<T, NotComputable> {
    Err(NotComputable(why.into()))
}

pub(crate) fn finite_or(r: TestResult, why: &str) -> Result<TestResult, NotComputable> {
    if r.statistic.is_nan() || r.pvalue.is_nan() {
        nc(why)
    } else {
        Ok(r)
    }
}

pub(crate) fn check_values(x: &[f64]) -> Result<(), NotComputable> {
    if x.iter().any(|v| !v.is_finite()) {
        return nc("non-finite value in the data");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use normality::poly;

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
