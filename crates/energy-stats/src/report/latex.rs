//! The report's LaTeX table: pandas' `describe().to_latex()` of one variable.

use std::fmt::Write as _;

use super::{describe_columns, Report};

/// pandas' `describe().to_latex()` of one variable, columns `<prefix><label>`.
pub fn latex(r: &Report, variable: &str, prefix: &str) -> String {
    let cols = describe_columns(r, variable);
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

/// The study's table beside this machine's (`--variable study`): per CPython version the
/// study's mean energy and this machine's, each as % of the base version, then τ in a comment.
/// A second table, so that the describe table above stays pandas' byte for byte.
pub fn latex_study(r: &Report) -> String {
    let c = &r.study;
    let base = c.base.unwrap_or("3.8");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "% The study's table beside this machine's; study: {}",
        c.source
    );
    let _ = writeln!(
        s,
        "% study: {}; this machine: {}",
        c.study_data, c.this_data
    );
    if let Some(n) = &r.note {
        let _ = writeln!(s, "% {n}");
    }
    let _ = writeln!(s, "\\begin{{tabular}}{{lrrrr}}");
    let _ = writeln!(s, "\\toprule");
    let _ = writeln!(
        s,
        " & \\multicolumn{{2}}{{c}}{{study (measured)}} & \\multicolumn{{2}}{{c}}{{this machine ({})}} \\\\",
        c.this_data
    );
    let _ = writeln!(
        s,
        "CPython & mean (J) & \\% of {base} & mean (J) & \\% of {base} \\\\"
    );
    let _ = writeln!(s, "\\midrule");
    let f = |v: Option<f64>, d: usize| v.map_or("--".to_string(), |v| format!("{v:.d$}"));
    for row in &c.rows {
        let _ = writeln!(
            s,
            "{} & {:.2} & {} & {} & {} \\\\",
            row.version,
            row.study_mean_j,
            f(row.study_pct, 1),
            f(row.mean_j, 4),
            f(row.pct, 1)
        );
    }
    let _ = writeln!(s, "\\bottomrule");
    let _ = writeln!(s, "\\end{{tabular}}");
    let _ = writeln!(s, "% {}", c.base_note);
    let _ = writeln!(s, "% {}", c.verdict);
    if !c.other_groups.is_empty() {
        let _ = writeln!(
            s,
            "% Not in this table: {} ({})",
            c.other_groups.join(", "),
            c.other_groups_note
        );
    }
    s
}
