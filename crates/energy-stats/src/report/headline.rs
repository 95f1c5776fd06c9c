//! The headline: one sentence per comparison of the reference group (the first) with another,
//! built from the report's own pairwise verdicts. `report --format headline` prints it, and
//! `make demo` shows it at the end; there is no other verdict text.

use super::{Report, KENDALL_MIN_VERSIONS};
use crate::posthoc::Pair;

/// A report with no group has no reference to compare with.
#[derive(Debug, thiserror::Error)]
#[error("no groups in the report: nothing to compare")]
pub struct NoGroups;

/// A reader-friendly interpreter name: `3.11` → `CPython 3.11`, `pypy3.9` → `PyPy 3.9`.
pub fn pretty_label(label: &str) -> String {
    if let Some(v) = label.strip_prefix("pypy") {
        format!("PyPy {v}")
    } else if label.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        format!("CPython {label}")
    } else {
        label.to_owned()
    }
}

/// The headline of a report: one line per pair that involves its first group; then, when at
/// least [`KENDALL_MIN_VERSIONS`] of the study's versions ran (fewer cannot show an ordering
/// at p < 0.05), whether they come in the study's order; then, when runs were left out of the
/// statistics, a line that counts them; then, with `--speed-adjust`, a line that says so.
pub fn headlines(report: &Report) -> Result<Vec<String>, NoGroups> {
    let reference = report.groups.first().ok_or(NoGroups)?;
    let mut lines = headline_lines(&reference.label, &report.pairwise, report.modelled);
    let study = &report.study;
    if study.matched.len() >= KENDALL_MIN_VERSIONS && study.kendall_tau.result.is_ok() {
        let suffix = if report.modelled { " — modelled" } else { "" };
        lines.push(format!("{}{suffix}", study.verdict.trim_end_matches('.')));
    }
    lines.extend(super::left_out_summary(&report.left_out));
    if let Some(a) = &report.speed {
        let highest = |f: fn(&crate::speed::SpeedGroup) -> Option<f64>| {
            a.groups.iter().filter_map(f).fold(0.0_f64, f64::max)
        };
        lines.push(format!(
            "Energies adjusted by this machine's speed (β = {:.2}): per-run CV at most {:.1} % (raw {:.1} %); the report's Machine speed section says how",
            a.beta,
            highest(|g| g.cv_after_pct),
            highest(|g| g.cv_before_pct)
        ));
    }
    Ok(lines)
}

/// One line per pair whose reference (`a`) is `reference`, in the order of `pairs`; pairs
/// without a difference and its interval are left out, and when no line is left, one saying
/// why. Modelled data get `— modelled` on every line.
pub fn headline_lines(reference: &str, pairs: &[Pair], modelled: bool) -> Vec<String> {
    let suffix = if modelled { " — modelled" } else { "" };
    let mut lines = Vec::new();
    for p in pairs.iter().filter(|p| p.a == reference) {
        let (Some(d), Some(lo), Some(hi)) = (p.mean_diff_pct, p.ci_low_pct, p.ci_high_pct) else {
            continue;
        };
        let (b, a) = (pretty_label(&p.b), pretty_label(&p.a));
        lines.push(if p.significant {
            let (word, m, l, h) = if d < 0.0 {
                ("less", -d, -hi, -lo)
            } else {
                ("more", d, lo, hi)
            };
            format!(
                "{b} used {m:.0} % [{l:.0}, {h:.0}] {word} energy per scenario than {a}{suffix}"
            )
        } else {
            format!(
                "{b} and {a}: no significant difference in energy per scenario ({d:+.1} % [{lo:+.1}, {hi:+.1}]){suffix}"
            )
        });
    }
    if lines.is_empty() {
        lines.push(format!(
            "only one interpreter ({}), or too few runs to compare{suffix}",
            pretty_label(reference)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str, d: f64, lo: f64, hi: f64, significant: bool) -> Pair {
        Pair {
            a: a.into(),
            b: b.into(),
            mean_diff_pct: Some(d),
            ci_low_pct: Some(lo),
            ci_high_pct: Some(hi),
            half_width_pct: Some((hi - lo) / 2.0),
            ci_level: 0.95,
            ci_method: "fieller-welch",
            ci_note: None,
            median_diff_pct: None,
            median_hl_pct: None,
            median_ci_low_pct: None,
            median_ci_high_pct: None,
            median_ci_note: None,
            welch_t: None,
            welch_p: None,
            welch_p_holm: None,
            welch_p_bonferroni: None,
            tukey_p: None,
            mwu_u: None,
            mwu_p: None,
            mwu_p_holm: None,
            hedges_g: None,
            hedges_g_ci_low: None,
            hedges_g_ci_high: None,
            cliffs_delta: None,
            significant,
            verdict: String::new(),
        }
    }

    #[test]
    fn labels_read_like_the_paper() {
        assert_eq!(pretty_label("3.11"), "CPython 3.11");
        assert_eq!(pretty_label("pypy3.9"), "PyPy 3.9");
        assert_eq!(pretty_label("graal"), "graal");
    }

    #[test]
    fn a_significant_saving_reads_as_less_with_a_positive_interval() {
        let pairs = [pair("3.11", "pypy3.9", -41.2, -47.1, -35.3, true)];
        assert_eq!(
            headline_lines("3.11", &pairs, true),
            ["PyPy 3.9 used 41 % [35, 47] less energy per scenario than CPython 3.11 — modelled"]
        );
    }

    #[test]
    fn no_difference_is_said_plainly_and_measured_data_has_no_suffix() {
        let pairs = [
            pair("3.10", "3.12", 8.44, 7.9, 8.9, true),
            pair("3.10", "3.13", 1.0, -2.0, 4.0, false),
            pair("3.12", "3.13", 1.0, -2.0, 4.0, false),
        ];
        let h = headline_lines("3.10", &pairs, false);
        assert_eq!(h.len(), 2, "only pairs with the reference: {h:?}");
        assert_eq!(
            h[0],
            "CPython 3.12 used 8 % [8, 9] more energy per scenario than CPython 3.10"
        );
        assert!(
            h[1].contains("no significant difference") && h[1].contains("+1.0 %"),
            "{}",
            h[1]
        );
    }

    #[test]
    fn a_report_without_pairs_says_why() {
        assert!(headline_lines("3.11", &[], false)[0].contains("only one interpreter"));
        let empty = crate::report::build(
            &crate::input::Dataset::default(),
            &crate::report::ReportOptions::default(),
        );
        assert!(headlines(&empty).is_err());
    }
}
