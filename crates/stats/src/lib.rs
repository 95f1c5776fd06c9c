//! stats: the pure statistics of the energy study, shared by `energy-stats` (the analysis) and
//! `experiment` (Stein's two-stage stopping rule), with no I/O and no dataframe engine, so the
//! experiment runner builds without the analysis' heavy dependencies.
//!
//! `energy-stats` re-exports every module under its own name (`energy_stats::numeric`, …).
//!
//! # Layout
//! - `numeric.rs`: NumPy-order sums, variances, quantiles and ranks.
//! - `special.rs`: normal, F, χ² and t tail functions that stay exact in the far tail.
//! - `intervals/`: [`intervals::ALPHA`] and [`intervals::Level`], Fieller–Welch,
//!   Hodges–Lehmann and noncentral-t intervals, the noncentral t and the t-test's power.
//! - `covariate.rs`: runs adjusted by a covariate measured beside them (the machine's speed),
//!   one slope fitted within the groups; every group's mean stays.
//! - `plan.rs`: how many runs per group a difference or an interval width needs, and Stein's
//!   two-stage rule ([`plan::two_stage_runs`]).

pub mod covariate;
pub mod intervals;
pub mod numeric;
pub mod plan;
pub mod special;
