//! The study's table beside this machine's: the published mean energy per CPython version,
//! each version as % of 3.8 in both columns, and whether this machine orders the versions as
//! the study did (Kendall's τ-b and its p-value, SciPy's `kendalltau`).
//!
//! Groups match the study's versions by label alone: `3.8` … `3.13` (the build that gets the
//! plain label, `docs/hardware.md`); `3.11-debian`, `3.11.7-pyenv`, `pypy3.9` and any other
//! label are other builds or interpreters, listed as such and left out of the comparison.

use serde::Serialize;

use super::{GroupReport, Outcome};
use crate::hypothesis::kendalltau;

/// The study's CPython versions, oldest first.
pub const STUDY_VERSIONS: [&str; 6] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"];
/// The study's published mean energy per scenario run (J), ten runs per version, in
/// [`STUDY_VERSIONS`] order. They equal the means of the study's own logs
/// (`data/out/minitwit38/log.txt` …) to 0.01 J.
pub const STUDY_MEAN_J: [f64; 6] = [179.12, 180.84, 181.35, 169.58, 166.10, 171.21];
/// Where the figures come from.
pub const STUDY_SOURCE: &str = "the paper \"On the Energy Consumption of CPython\"; its data and code: https://github.com/HelgeCPH/cpython_energy";
/// What the study's figures are.
pub const STUDY_DATA: &str =
    "measured: a Raspberry Pi Model B+ (FreeBSD) serving MiniTwit, powered and recorded by an Otii Arc";
/// How labels that are not a study version are treated.
pub const OTHER_BUILDS_NOTE: &str = "only groups labelled exactly 3.8 … 3.13 are set beside the study; other builds of a version (3.11-debian, 3.11.7-pyenv) and other interpreters (pypy3.9) are left out of this table and its τ";

/// One study version with this machine's figure beside it.
#[derive(Debug, Clone, Serialize)]
pub struct StudyRow {
    /// The CPython version (`3.8` … `3.13`).
    pub version: &'static str,
    /// The study's mean energy (J), measured.
    pub study_mean_j: f64,
    /// The study's mean as % of the base version's, when the base ran here too.
    pub study_pct: Option<f64>,
    /// This machine's mean energy (J), when a group of this label has runs.
    pub mean_j: Option<f64>,
    /// This machine's mean as % of its base version's.
    pub pct: Option<f64>,
    /// Runs behind this machine's mean.
    pub runs: usize,
}

/// The study's table beside this machine's.
#[derive(Debug, Clone, Serialize)]
pub struct StudyComparison {
    /// [`STUDY_SOURCE`].
    pub source: &'static str,
    /// [`STUDY_DATA`].
    pub study_data: &'static str,
    /// `modelled` or `measured`: this machine's figures.
    pub this_data: &'static str,
    /// The version both % columns are relative to: `3.8`, else the oldest study version run here.
    pub base: Option<&'static str>,
    /// Why that base, in words.
    pub base_note: String,
    /// One row per study version, oldest first.
    pub rows: Vec<StudyRow>,
    /// The versions run here (with runs) that enter τ.
    pub matched: Vec<&'static str>,
    /// Kendall's τ-b between the study's means and this machine's over `matched`, two-sided p.
    pub kendall_tau: Outcome,
    /// The ordering, in words.
    pub verdict: String,
    /// Labels of this report that are not a study version, left out of this table.
    pub other_groups: Vec<String>,
    /// [`OTHER_BUILDS_NOTE`].
    pub other_groups_note: &'static str,
}

/// Fewest versions at which Kendall's exact test can reach p < 0.05 (its smallest two-sided p
/// is 2/n!: 0.083 for 4, 0.017 for 5).
pub const KENDALL_MIN_VERSIONS: usize = 5;

/// Set the groups of a report beside the study's table.
pub fn compare(groups: &[GroupReport], modelled: bool) -> StudyComparison {
    let mine = |v: &str| {
        groups
            .iter()
            .find(|g| g.label == v && g.runs_used > 0)
            .and_then(|g| g.energy_j.mean.map(|m| (m, g.runs_used)))
    };
    let matched: Vec<&'static str> = STUDY_VERSIONS
        .into_iter()
        .filter(|v| mine(v).is_some())
        .collect();
    let base = matched.first().copied();
    let base_note = match base {
        Some("3.8") => "both % columns are % of CPython 3.8, as in the study".to_string(),
        Some(b) => format!(
            "CPython 3.8 was not run here: both % columns are % of CPython {b}, the oldest study version that was"
        ),
        None => "none of the study's versions (3.8 … 3.13) was run here: only the study's column, as % of 3.8".to_string(),
    };
    let study_base = STUDY_MEAN_J[STUDY_VERSIONS
        .iter()
        .position(|v| Some(*v) == base)
        .unwrap_or(0)];
    let my_base = base.and_then(mine).map(|(m, _)| m);
    let rows = STUDY_VERSIONS
        .iter()
        .zip(STUDY_MEAN_J)
        .map(|(&version, study_mean_j)| {
            let here = mine(version);
            StudyRow {
                version,
                study_mean_j,
                study_pct: Some(study_mean_j / study_base * 100.0),
                mean_j: here.map(|(m, _)| m),
                pct: here.zip(my_base).map(|((m, _), b)| m / b * 100.0),
                runs: here.map_or(0, |(_, n)| n),
            }
        })
        .collect::<Vec<_>>();
    let (xs, ys): (Vec<f64>, Vec<f64>) = rows
        .iter()
        .filter_map(|r| r.mean_j.map(|m| (r.study_mean_j, m)))
        .unzip();
    let kendall_tau = Outcome {
        result: kendalltau(&xs, &ys),
        warning: (matched.len() < KENDALL_MIN_VERSIONS && matched.len() >= 2).then(|| {
            format!(
                "with {} versions no ordering can reach p < 0.05 (the smallest p is 2/{}!)",
                matched.len(),
                matched.len()
            )
        }),
    };
    let this_data = if modelled { "modelled" } else { "measured" };
    let verdict = verdict(&matched, &kendall_tau, &rows, this_data);
    StudyComparison {
        source: STUDY_SOURCE,
        study_data: STUDY_DATA,
        this_data,
        base,
        base_note,
        rows,
        matched,
        kendall_tau,
        verdict,
        other_groups: groups
            .iter()
            .filter(|g| !STUDY_VERSIONS.contains(&g.label.as_str()))
            .map(|g| g.label.clone())
            .collect(),
        other_groups_note: OTHER_BUILDS_NOTE,
    }
}

fn lowest(rows: &[StudyRow], pick: fn(&StudyRow) -> Option<f64>) -> Option<&'static str> {
    rows.iter()
        .filter(|r| r.mean_j.is_some())
        .filter_map(|r| pick(r).map(|v| (r.version, v)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(v, _)| v)
}

fn verdict(matched: &[&str], tau: &Outcome, rows: &[StudyRow], this_data: &str) -> String {
    let range = match (matched.first(), matched.last()) {
        (Some(a), Some(b)) => format!("CPython {a}–{b}"),
        _ => String::new(),
    };
    let Ok(t) = &tau.result else {
        return match matched.len() {
            0 => {
                "None of the study's CPython versions ran here, so there is no ordering to compare."
                    .into()
            }
            1 => format!(
                "Only CPython {} of the study's versions ran here: an ordering needs at least two.",
                matched[0]
            ),
            _ => format!(
                "The ordering of {range} cannot be compared: {}.",
                tau.result.as_ref().err().map_or("", |e| e.0.as_str())
            ),
        };
    };
    let n = matched.len();
    let agree = if t.statistic >= 1.0 - 1e-12 {
        "in the same order as the study".to_string()
    } else if t.statistic <= -1.0 + 1e-12 {
        "in the reverse of the study's order".to_string()
    } else if t.statistic > 0.0 {
        "mostly in the study's order".to_string()
    } else if t.statistic < 0.0 {
        "mostly against the study's order".to_string()
    } else {
        "in an order unrelated to the study's".to_string()
    };
    let evidence = if n < KENDALL_MIN_VERSIONS {
        format!("with {n} versions no ordering could be significant")
    } else if t.pvalue < 0.05 {
        "an agreement unlikely by chance".to_string()
    } else {
        "an agreement that chance alone could give".to_string()
    };
    let lows = match (
        lowest(rows, |r| r.study_pct.or(Some(r.study_mean_j))),
        lowest(rows, |r| r.mean_j),
    ) {
        (Some(a), Some(b)) if a == b => format!("; CPython {a} used the least in both"),
        (Some(a), Some(b)) => {
            format!("; the least: CPython {a} in the study, CPython {b} here")
        }
        _ => String::new(),
    };
    format!(
        "This machine ({this_data}) puts {range} {agree}: Kendall's τ = {:.2} (p = {:.3}, {n} versions; {evidence}){lows}.",
        t.statistic, t.pvalue
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_group as group;

    #[test]
    fn without_3_8_both_columns_are_based_on_the_oldest_version_run() {
        let g = [
            group("3.11-debian", &[3.0, 3.1]),
            group("3.10", &[4.0, 4.0]),
            group("3.12", &[2.0, 2.0]),
        ];
        let c = compare(&g, true);
        assert_eq!(c.base, Some("3.10"));
        assert!(
            c.base_note.contains("3.8 was not run here"),
            "{}",
            c.base_note
        );
        assert_eq!(c.matched, ["3.10", "3.12"]);
        assert_eq!(c.other_groups, ["3.11-debian"]);
        let r12 = &c.rows[4];
        assert_eq!(r12.pct, Some(50.0));
        assert!((r12.study_pct.unwrap() - 166.10 / 181.35 * 100.0).abs() < 1e-12);
        assert_eq!(c.rows[0].pct, None);
        assert_eq!(c.this_data, "modelled");
        assert!(
            c.verdict.contains("CPython 3.12 used the least in both"),
            "{}",
            c.verdict
        );
    }

    #[test]
    fn no_study_version_says_so() {
        let c = compare(&[group("pypy3.9", &[1.0, 2.0])], false);
        assert_eq!(c.base, None);
        assert!(c.kendall_tau.result.is_err());
        assert!(
            c.verdict.starts_with("None of the study's"),
            "{}",
            c.verdict
        );
        assert_eq!(c.rows[0].study_pct, Some(100.0));
    }
}
