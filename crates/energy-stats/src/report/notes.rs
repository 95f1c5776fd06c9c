//! What the numbers leave out and where they do not apply: the runs left out of the statistics
//! ([`LeftOut`], every format lists them) and the tests a group is too small for
//! ([`SmallSample`]: the human formats say so in words; the JSON keeps SciPy's numbers).

use serde::Serialize;

use crate::dataset::{Dataset, Run};

/// Fewest runs for which Anderson–Darling's critical values (Stephens' table, SciPy's) mean
/// something: they are fitted for n ≥ 8 or so, and turn negative at n = 3.
pub const ANDERSON_MIN_RUNS: usize = 8;
/// Fewest runs Shapiro–Wilk is defined for.
pub const SHAPIRO_MIN_RUNS: usize = 3;

/// A run left out of the statistics.
#[derive(Debug, Clone, Serialize)]
pub struct LeftOut {
    /// The group.
    pub label: String,
    /// Run index, as the input numbered it.
    pub run: u32,
    /// `failed` (its record, the log or the trace says so; a broken trace with
    /// `--keep-going`) or `warmup` (its record or row says so).
    pub kind: &'static str,
    /// Where it was read from.
    pub origin: String,
    /// Why it was left out.
    pub reason: String,
}

/// Every run of `data`'s groups that does not enter the statistics, in group and run order.
pub fn left_out(data: &Dataset, include_warmup: bool) -> Vec<LeftOut> {
    let entry = |r: &Run, kind, reason: String| LeftOut {
        label: r.label.clone(),
        run: r.run,
        kind,
        origin: r.origin.clone(),
        reason,
    };
    let mut out = Vec::new();
    for r in data.groups.iter().flat_map(|g| &g.runs) {
        if let Some(why) = &r.failed {
            out.push(entry(r, "failed", why.clone()));
        } else if r.is_warmup() && !include_warmup {
            out.push(entry(
                r,
                "warmup",
                "a warm-up run (its record says so); --include-warmup keeps it".into(),
            ));
        }
    }
    out
}

/// The one-line count for stderr, when any run was left out.
pub fn left_out_summary(left: &[LeftOut]) -> Option<String> {
    if left.is_empty() {
        return None;
    }
    let failed = left.iter().filter(|l| l.kind == "failed").count();
    let warmup = left.len() - failed;
    let s = if left.len() == 1 { "" } else { "s" };
    Some(format!(
        "{} run{s} left out of the statistics ({failed} failed, {warmup} warm-up); the report lists them under \"Runs left out\"",
        left.len()
    ))
}

/// A test or table that is not valid for a group's size.
#[derive(Debug, Clone, Serialize)]
pub struct SmallSample {
    /// The test: `anderson`, `shapiro`, `anova`, `kruskal`, `bartlett`, `levene`, `pairwise`.
    pub test: &'static str,
    /// The group (empty for a test across groups that one group spoils).
    pub group: String,
    /// Runs in that group.
    pub runs: usize,
    /// What it means, in words.
    pub note: String,
}

/// The tests of `groups` (label, runs used) that are not valid at their sizes.
pub fn small_samples(groups: &[(String, usize)]) -> Vec<SmallSample> {
    let mut out = Vec::new();
    for (label, n) in groups {
        let n = *n;
        if n < ANDERSON_MIN_RUNS {
            out.push(SmallSample {
                test: "anderson",
                group: label.clone(),
                runs: n,
                note: format!(
                    "Anderson–Darling with {n} runs: its critical values are valid from about {ANDERSON_MIN_RUNS} runs; do not read them here"
                ),
            });
        }
        if n < SHAPIRO_MIN_RUNS {
            out.push(SmallSample {
                test: "shapiro",
                group: label.clone(),
                runs: n,
                note: format!(
                    "Shapiro–Wilk needs at least {SHAPIRO_MIN_RUNS} runs; {label} has {n}"
                ),
            });
        }
        if n < 2 && groups.len() > 1 {
            out.push(SmallSample {
                test: "anova",
                group: label.clone(),
                runs: n,
                note: format!(
                    "{label} has {n} run{}: ANOVA, Kruskal–Wallis, Bartlett and Levene have no spread to measure in it, and its pairs have no interval; run it at least twice",
                    if n == 1 { "" } else { "s" }
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_runs_name_anderson_and_one_run_names_anova() {
        let notes = small_samples(&[("3.11".into(), 3), ("3.12".into(), 1), ("3.13".into(), 10)]);
        let tests: Vec<(&str, &str)> = notes.iter().map(|n| (n.test, n.group.as_str())).collect();
        assert_eq!(
            tests,
            [
                ("anderson", "3.11"),
                ("anderson", "3.12"),
                ("shapiro", "3.12"),
                ("anova", "3.12")
            ]
        );
        assert!(notes[0].note.contains("3 runs"));
    }
}
