//! The one-line conclusions printed at the end of a demo or an experiment.

use anyhow::{Context, Result};
use serde_json::Value;

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

/// One line per pair of the report that involves its first group (the reference), from the
/// `pairwise` section of an energy-stats JSON report (`docs/energy-stats.md`).
pub fn headlines(report: &Value) -> Result<Vec<String>> {
    let modelled = report
        .get("modelled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let suffix = if modelled { " — modelled" } else { "" };
    let groups = report
        .get("groups")
        .and_then(Value::as_array)
        .context("no groups")?;
    let reference = groups
        .first()
        .and_then(|g| g.get("label"))
        .and_then(Value::as_str)
        .context("no group label")?;
    let mut lines = Vec::new();
    let pairs = report
        .get("pairwise")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for p in &pairs {
        let (Some(a), Some(b)) = (
            p.get("a").and_then(Value::as_str),
            p.get("b").and_then(Value::as_str),
        ) else {
            continue;
        };
        if a != reference {
            continue;
        }
        let num = |k: &str| p.get(k).and_then(Value::as_f64);
        let (Some(d), Some(lo), Some(hi)) =
            (num("mean_diff_pct"), num("ci_low_pct"), num("ci_high_pct"))
        else {
            continue;
        };
        let significant = p
            .get("significant")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (b, a) = (pretty_label(b), pretty_label(a));
        lines.push(if significant {
            let (word, m, l, h) =
                if d < 0.0 { ("less", -d, -hi, -lo) } else { ("more", d, lo, hi) };
            format!("{b} used {m:.0} % [{l:.0}, {h:.0}] {word} energy per scenario than {a}{suffix}")
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
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_read_like_the_paper() {
        assert_eq!(pretty_label("3.11"), "CPython 3.11");
        assert_eq!(pretty_label("pypy3.9"), "PyPy 3.9");
        assert_eq!(pretty_label("graal"), "graal");
    }

    #[test]
    fn a_significant_saving_reads_as_less_with_a_positive_interval() {
        let r = json!({"modelled": true, "groups": [{"label": "3.11"}, {"label": "pypy3.9"}],
            "pairwise": [{"a": "3.11", "b": "pypy3.9", "mean_diff_pct": -41.2,
                          "ci_low_pct": -47.1, "ci_high_pct": -35.3, "significant": true}]});
        assert_eq!(
            headlines(&r).unwrap(),
            ["PyPy 3.9 used 41 % [35, 47] less energy per scenario than CPython 3.11 — modelled"]
        );
    }

    #[test]
    fn no_difference_is_said_plainly_and_measured_data_has_no_suffix() {
        let r = json!({"modelled": false, "groups": [{"label": "3.10"}, {"label": "3.12"}, {"label": "3.13"}],
            "pairwise": [
                {"a": "3.10", "b": "3.12", "mean_diff_pct": 8.44, "ci_low_pct": 7.9, "ci_high_pct": 8.9, "significant": true},
                {"a": "3.10", "b": "3.13", "mean_diff_pct": 1.0, "ci_low_pct": -2.0, "ci_high_pct": 4.0, "significant": false},
                {"a": "3.12", "b": "3.13", "mean_diff_pct": 1.0, "ci_low_pct": -2.0, "ci_high_pct": 4.0, "significant": false}]});
        let h = headlines(&r).unwrap();
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
        let r = json!({"groups": [{"label": "3.11"}], "pairwise": []});
        assert!(headlines(&r).unwrap()[0].contains("only one interpreter"));
        assert!(headlines(&json!({})).is_err());
    }
}
