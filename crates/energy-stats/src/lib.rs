//! energy-stats: the analysis of the CPython energy study without a notebook.
//!
//! Reads the study's group directories (`data/out/minitwit312/` with `log.txt` and
//! `*.csv.xz` traces, or `runs.jsonl`), run-record JSON Lines or CSV tables of runs (its own
//! `runs` output included, so its commands pipe into each other), and computes what the study's
//! notebook did — pandas `describe()` tables, Shapiro–Wilk, Anderson–Darling, Bartlett,
//! Levene, ANOVA and Kruskal–Wallis, equal to SciPy 1.17.1 to 1e-9 — plus pairwise comparisons
//! with intervals that hold at 3 to 30 runs (and verdicts read off them, Bonferroni over the
//! pairs), how many runs a difference needs, run-order diagnostics and the study's figures.
//!
//! # Layout
//! - `numeric`, `special`, `intervals`, `plan`: re-exported from the `stats` crate (NumPy-order
//!   moments, tail functions, intervals at one level, run planning and Stein's rule), which
//!   `experiment` uses without this crate's dependencies.
//! - `hypothesis/`: the tests, reproducing SciPy 1.17.1 (normality, across groups, two-sample).
//! - `describe.rs`: pandas' `describe()`.
//! - `tukey.rs`: Tukey's HSD p-values (the studentized range distribution).
//! - `hypothesis/kendall.rs` gives Kendall's τ for the study's ordering.
//! - `posthoc.rs`: pairwise comparisons: intervals at one simultaneous level, effect sizes,
//!   Welch/Mann–Whitney with Holm, verdicts read off the intervals.
//! - `dataset.rs`: the runs, groups and dataset the analysis works on.
//! - `input.rs`: the inputs (group folders through [`records::GroupDir`], files, stdin) → groups.
//! - `table.rs`: run tables as JSON Lines (run records, `runs` rows) or CSV (`csv` crate).
//! - `logtxt.rs`, `trace.rs`: the study's controller log and power traces.
//! - `loader.rs`, `cache.rs`: traces read on every core, and the cache of decoded traces.
//! - `store.rs`: the columnar store (polars, Parquet): decoded power columns kept in the cache.
//! - `requests/`: energy per request and per endpoint: request logs joined to the traces.
//! - `export.rs`: `export --parquet`, the study as a hive-partitioned Parquet dataset.
//! - `report/`: the report model and its JSON, Markdown, HTML, LaTeX, CSV and headline
//!   renderings, with the study's published table beside this machine's.
//! - `speed.rs`: `--speed-adjust`, the energies adjusted by the machine's speed measured beside
//!   each run (the demo on a shared machine), every interpreter's mean kept.
//! - `runs.rs`: the per-run table of [`records::RunRow`]s (JSON Lines, CSV), which reads back as an input.
//! - `app.rs`: the validated [`app::Config`] and the command it runs (`main.rs` is clap only).
//! - `figures.rs`: the figures a dataset gives, as named SVG documents.
//! - `plot.rs`: the drawing (plotters' SVG) and the figure files (SVG, PNG).
//! - `golden.rs` (tests only): the SciPy-parity fixtures, to 1e-9.
//! - `simulate.rs`: [`simulate::Rng`], [`simulate::Shape`]: simulated energies with a known
//!   answer, for the coverage tests (here and in `tests/stopping.rs`).
//! - `coverage.rs` (tests only): simulated tables; every interval's coverage, every verdict.
//!
//! `main.rs` parses with clap (`cli.rs`) and ends in [`procs::main`].

pub use stats::{covariate, intervals, numeric, plan, special};

pub mod app;
pub mod cache;
pub mod dataset;
pub mod describe;
pub mod export;
pub mod figures;
pub mod hypothesis;
pub mod input;
pub mod loader;
pub mod logtxt;
pub mod plot;
pub mod posthoc;
pub mod report;
pub mod requests;
pub mod runs;
pub mod simulate;
pub mod speed;
pub mod store;
pub mod table;
pub mod trace;
pub mod tukey;

#[cfg(test)]
mod coverage;
#[cfg(test)]
mod golden;
