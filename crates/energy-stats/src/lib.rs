//! energy-stats: the analysis of the CPython energy study without a notebook.
//!
//! # Layout
//! - `numeric.rs`: NumPy-order sums, variances, quantiles and ranks.
//! - `special.rs`: normal, F, χ² and t tail functions that stay exact in the far tail.
//! - `hypothesis.rs`: Shapiro–Wilk, Anderson–Darling, Bartlett, Levene, ANOVA, Kruskal–Wallis,
//!   Welch t and Mann–Whitney U, reproducing SciPy 1.17.1.
//! - `describe.rs`: pandas' `describe()`.

pub mod describe;
pub mod hypothesis;
pub mod numeric;
pub mod special;

#[cfg(test)]
mod golden;
