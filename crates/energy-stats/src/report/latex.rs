//! The report's LaTeX table: pandas' `describe().to_latex()` of one variable.

use std::fmt::Write as _;

use super::{describe_of, Report};
use crate::describe::Describe;

/// pandas' `describe().to_latex()` of one variable, columns `<prefix><label>`.
pub fn latex(r: &Report, variable: &str, prefix: &str) -> String {
    let cols: Vec<(String, Describe)> = r
        .groups
        .iter()
        .filter_map(|g| describe_of(g, variable).map(|d| (g.label.clone(), d)))
        .collect();
    let mut s = String::new();
    if let Some(n) = &r.note {
        let _ = writeln!(s, "% {n}");
    }
    let _ = writeln!(s, "\\begin{{tabular}}{{l{}}}", "r".repeat(cols.len()));
    let _ = writeln!(s, "\\toprule");
    let header: Vec<String> = cols.iter().map(|(l, _)| format!("{prefix}{l}")).collect();
    let _ = writeln!(s, " & {} \\\\", header.join(" & "));
    let _ = writeln!(s, "\\midrule");
    let mut missing = false;
    for row in 0..8 {
        let name = [
            "count", "mean", "std", "min", "25\\%", "50\\%", "75\\%", "max",
        ][row];
        let cells: Vec<String> = cols
            .iter()
            .map(|(_, d)| match d.rows()[row].1 {
                Some(v) => format!("{v:.6}"),
                None => {
                    missing = true;
                    "--".into()
                }
            })
            .collect();
        let _ = writeln!(s, "{name} & {} \\\\", cells.join(" & "));
    }
    let _ = writeln!(s, "\\bottomrule");
    let _ = writeln!(s, "\\end{{tabular}}");
    if !r.left_out.is_empty() {
        let _ = writeln!(s, "% Runs left out of the statistics:");
        for l in &r.left_out {
            let _ = writeln!(
                s,
                "%   {} run {} ({}): {}",
                l.label, l.run, l.kind, l.reason
            );
        }
    }
    if missing {
        let _ = writeln!(
            s,
            "% --: not computable (std needs at least 2 runs; an empty group has no statistics)"
        );
    }
    s
}
