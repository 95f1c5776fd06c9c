//! energy-stats: the analysis of the CPython energy study without a notebook.
//!
//! Reads the study's group directories (`data/out/minitwit312/` with `log.txt` and
//! `*.csv.xz` traces), run-record JSON Lines or CSV tables of runs, and computes what the study's
//! notebook did — pandas `describe()` tables, Shapiro–Wilk, Anderson–Darling, Bartlett,
//! Levene, ANOVA and Kruskal–Wallis, equal to SciPy 1.17.1 to 1e-9 — plus pairwise comparisons
//! with bootstrap CIs, run-order diagnostics and the study's figures.
//!
//! # Layout
//! - `numeric.rs`: NumPy-order sums, variances, quantiles and ranks.
//! - `special.rs`: normal, F, χ² and t tail functions that stay exact in the far tail.
//! - `hypothesis.rs`: the tests, reproducing SciPy 1.17.1.
//! - `describe.rs`: pandas' `describe()`.
//! - `posthoc.rs`: pairwise Welch/Mann–Whitney with Holm, effect sizes, bootstrap, verdicts.
//! - `logtxt.rs`, `trace.rs`, `input.rs`: the readers (controller log, traces, inputs → groups).
//! - `loader.rs`, `cache.rs`: traces read on every core, and the cache of decoded traces.
//! - `report.rs`: the report model and its JSON, Markdown, LaTeX and CSV renderings.
//! - `runs.rs`: the per-run table.
//! - `plot.rs`: the figures (SVG, PNG).

pub mod app;
pub mod cache;
pub mod describe;
pub mod hypothesis;
pub mod input;
pub mod loader;
pub mod logtxt;
pub mod numeric;
pub mod plot;
pub mod posthoc;
pub mod report;
pub mod runs;
pub mod special;
pub mod trace;
pub mod tukey;

#[cfg(test)]
mod golden;
