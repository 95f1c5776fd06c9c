//! The report in Markdown, for people: the describe tables, the tests, the verdicts, the run
//! order, how many runs a difference needs, and the runs left out. Where a test is not valid
//! for a group's size, it says so in words instead of printing the number as if it meant
//! something.

use std::fmt::Write as _;

use super::{describe_columns, Outcome, Report, VARIABLES};
use crate::report::headline::pretty_label;

pub(super) fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".to_string(), |v| format!("{v:.digits$}"))
}

pub(super) fn pval(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 1e-4 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

pub(super) fn outcome_md(o: &Outcome) -> (String, String) {
    match &o.result {
        Ok(r) => (format!("{:.6}", r.statistic), pval(r.pvalue)),
        Err(e) => ("not computable".into(), e.0.clone()),
    }
}

/// Markdown for people.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Energy report\n");
    if let Some(n) = &r.note {
        let _ = writeln!(s, "> **{n}**\n");
    }
    speed_section(&mut s, r);
    for (var, title) in VARIABLES {
        let cols = describe_columns(r, var);
        if cols.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {title}\n");
        let _ = write!(s, "| |");
        for (l, _) in &cols {
            let _ = write!(s, " {l} |");
        }
        let _ = write!(s, "\n|---|");
        for _ in &cols {
            let _ = write!(s, "---:|");
        }
        s.push('\n');
        for row in 0..8 {
            let name = cols[0].1.rows()[row].0;
            let _ = write!(s, "| {name} |");
            for (_, d) in &cols {
                let v = d.rows()[row].1;
                let txt = if row == 0 { cell(v, 0) } else { cell(v, 4) };
                let _ = write!(s, " {txt} |");
            }
            s.push('\n');
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Tests on energy across groups\n");
    let _ = writeln!(s, "| test | statistic | p-value |\n|---|---:|---:|");
    for (name, o) in [
        ("One-way ANOVA (F)", &r.tests.anova),
        ("Kruskal–Wallis (H)", &r.tests.kruskal),
        ("Bartlett (T)", &r.tests.bartlett),
        ("Levene, median (W)", &r.tests.levene),
    ] {
        let (a, b) = outcome_md(o);
        let _ = writeln!(s, "| {name} | {a} | {b} |");
    }
    for n in r.small_samples.iter().filter(|n| n.test == "anova") {
        let _ = writeln!(s, "\n{}.", n.note);
    }
    let _ = writeln!(s, "\n## Normality of energy per group\n");
    let _ = writeln!(
        s,
        "| group | Shapiro–Wilk W | p | Anderson–Darling A² | critical values (15, 10, 5, 2.5, 1 %) |\n|---|---:|---:|---:|---|"
    );
    for ((l, sw), (_, ad)) in r.tests.shapiro.0.iter().zip(&r.tests.anderson.0) {
        let (w, p) = outcome_md(sw);
        let runs = r
            .groups
            .iter()
            .find(|g| &g.label == l)
            .map_or(0, |g| g.runs_used);
        let (a2, crit) = match &ad.0 {
            Ok(a) if runs < super::notes::ANDERSON_MIN_RUNS => (
                format!("{:.4}", a.statistic),
                format!(
                    "not valid with {runs} runs (the table needs about {})",
                    super::notes::ANDERSON_MIN_RUNS
                ),
            ),
            Ok(a) => (
                format!("{:.4}", a.statistic),
                a.critical_values.map(|c| format!("{c:.3}")).join(", "),
            ),
            Err(e) => ("not computable".into(), e.0.clone()),
        };
        let warn = sw
            .warning
            .as_deref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        let _ = writeln!(s, "| {l} | {w}{warn} | {p} | {a2} | {crit} |");
    }
    let _ = writeln!(s, "\n## Pairwise comparisons of energy\n");
    let _ = writeln!(s, "{}\n", r.comparisons.describe());
    let _ = writeln!(
        s,
        "The table also gives Welch's and Mann–Whitney's p with Holm's correction and Tukey's HSD, as the study did.\n"
    );
    if r.pairwise.is_empty() {
        let _ = writeln!(s, "(needs at least 2 groups)");
    }
    for p in &r.pairwise {
        let _ = writeln!(s, "- {}", p.verdict);
    }
    let _ = writeln!(
        s,
        "\n| a | b | Δ mean % | interval | Δ median % | median interval (HL) | Welch p (Holm) | MWU p (Holm) | Tukey HSD p | Hedges' g [δ interval] | Cliff's δ |\n|---|---|---:|---|---:|---|---:|---:|---:|---|---:|"
    );
    for p in &r.pairwise {
        let ci = match (p.ci_low_pct, p.ci_high_pct) {
            (Some(a), Some(b)) => format!("[{a:.2}, {b:.2}]"),
            _ => p.ci_note.clone().unwrap_or_else(|| "n/a".into()),
        };
        let mci = match (p.median_hl_pct, p.median_ci_low_pct, p.median_ci_high_pct) {
            (Some(h), Some(a), Some(b)) => format!("{h:.2} [{a:.2}, {b:.2}]"),
            _ => p.median_ci_note.clone().unwrap_or_else(|| "n/a".into()),
        };
        let g = match (p.hedges_g, p.hedges_g_ci_low, p.hedges_g_ci_high) {
            (Some(g), Some(a), Some(b)) => format!("{g:.2} [{a:.2}, {b:.2}]"),
            (Some(g), _, _) => format!("{g:.2}"),
            _ => "n/a".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {ci} | {} | {mci} | {} | {} | {} | {g} | {} |",
            p.a,
            p.b,
            cell(p.mean_diff_pct, 2),
            cell(p.median_diff_pct, 2),
            p.welch_p_holm.map_or("n/a".into(), pval),
            p.mwu_p_holm.map_or("n/a".into(), pval),
            p.tukey_p.map_or("n/a".into(), pval),
            cell(p.cliffs_delta, 2),
        );
    }
    study_section(&mut s, r);
    sessions_section(&mut s, r);
    let _ = writeln!(s, "\n## Run order\n");
    let _ = writeln!(
        s,
        "| group | energy by run (J) | first run vs median of others | Spearman ρ (run, energy) | Spearman ρ (run, time) |\n|---|---|---:|---:|---:|"
    );
    for o in &r.run_order {
        let seq: Vec<String> = o
            .runs
            .iter()
            .map(|p| format!("{:.1}", p.energy_j))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            o.label,
            seq.join(" "),
            o.first_run_excess_pct
                .map_or("n/a".into(), |v| format!("{v:+.2} %")),
            cell(o.spearman_rho_energy, 2),
            cell(o.spearman_rho_duration, 2)
        );
    }
    if !r.plan.pairs.is_empty() {
        let _ = writeln!(s, "\n## How many runs\n");
        for line in r.plan.lines() {
            let _ = writeln!(s, "- {line}");
        }
        let _ = writeln!(
            s,
            "\nFrom the spread of these runs: runs per interpreter for the two-sample t-test's power, and for the interval's half-width (`energy-stats plan` asks for other differences and widths)."
        );
    }
    let _ = writeln!(s, "\n## Runs left out\n");
    if r.left_out.is_empty() {
        let _ = writeln!(s, "None: every run read entered the statistics.");
    }
    for f in &r.left_out {
        let _ = writeln!(
            s,
            "- {} run {} ({}, {}): {}",
            f.label, f.run, f.kind, f.origin, f.reason
        );
    }
    if let Some(b) = &r.baseline_power_w {
        let _ = writeln!(
            s,
            "\nIdle baseline: {} runs, mean power {} W.",
            b.count,
            cell(b.mean, 4)
        );
    }
    if let Some(n) = &r.note {
        let _ = writeln!(s, "\n> **{n}**");
    }
    s
}

/// What `--speed-adjust` did (nothing without it).
fn speed_section(s: &mut String, r: &Report) {
    let Some(a) = &r.speed else {
        return;
    };
    let _ = writeln!(s, "## Machine speed\n\n{}.\n", capitalise(&a.sentence()));
    let _ = writeln!(
        s,
        "| {} |\n|---|---:|---:|---:|---:|---:|",
        crate::speed::HEADINGS.join(" | ")
    );
    for row in a.rows() {
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
    s.push('\n');
}

/// The recording sessions and the reference's drift between them (nothing when no run says
/// its session).
fn sessions_section(s: &mut String, r: &Report) {
    if r.sessions.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Sessions\n");
    let _ = writeln!(
        s,
        "Each recording session (its date, interpreters, order, seed and tool versions are in the plan file) and the groups it recorded. An interpreter's runs of a later session than its first (a reference run beside an added version) are a group of their own, `label@session`; sets a redo moved aside are `label@session-archived` (read with `--include-archived`).\n"
    );
    let _ = writeln!(s, "| session | groups (runs) |\n|---|---|");
    for row in &r.sessions {
        let groups: Vec<String> = row
            .groups
            .iter()
            .map(|g| format!("{} ({})", g.group, g.runs))
            .collect();
        let _ = writeln!(s, "| {} | {} |", row.session, groups.join(", "));
    }
    for note in r.sessions.iter().filter_map(|row| row.note.as_ref()) {
        let _ = writeln!(s, "\n{}.", super::markdown::capitalise(note));
    }
    if r.drift.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Drift of the reference between sessions\n");
    let _ = writeln!(
        s,
        "| reference | sessions | runs | mean (J) | difference | {:.0} % interval | verdict |\n|---|---|---:|---:|---:|---|---|",
        100.0 * r.drift[0].level
    );
    for d in &r.drift {
        let _ = writeln!(
            s,
            "| {} | {} → {} | {} → {} | {:.2} → {:.2} | {:+.2} % | {} | {} |",
            d.reference,
            d.before_session,
            d.after_session,
            d.runs[0],
            d.runs[1],
            d.mean_j[0],
            d.mean_j[1],
            d.difference_pct,
            d.interval_pct
                .map_or("n/a".into(), |[a, b]| format!("[{a:+.2}, {b:+.2}]")),
            d.verdict.words()
        );
    }
    s.push('\n');
    for d in &r.drift {
        let _ = writeln!(s, "- {}", d.sentence);
    }
    let _ = writeln!(
        s,
        "\nThe rule: the reference's % difference between the sessions gets a Fieller–Welch interval at the report's level; 0 % inside it is \"no drift detected\" (the added versions compare with the earlier ones directly, but not below the interval's reach), 0 % outside is \"drift\" (they compare only through the reference, run in the same session). With no true drift the check says \"drift\" 5 % of the time (docs/method.md)."
    );
}

/// The study's table beside this machine's: both means, both % columns, τ and the verdict.
fn study_section(s: &mut String, r: &Report) {
    let c = &r.study;
    let base = c.base.unwrap_or("3.8");
    let _ = writeln!(s, "\n## Beside the study's table\n");
    let _ = writeln!(
        s,
        "The study's mean energy per run ({}; {}) beside this machine's ({}). {}.\n",
        c.study_data,
        c.source,
        c.this_data,
        capitalise(&c.base_note)
    );
    let _ = writeln!(
        s,
        "| version | study: mean (J), measured | study: % of {base} | this machine: mean (J), {t} | this machine: % of {base} | runs |\n|---|---:|---:|---:|---:|---:|",
        t = c.this_data
    );
    for row in &c.rows {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {} | {} | {} | {} |",
            pretty_label(row.version),
            row.study_mean_j,
            cell(row.study_pct, 1),
            cell(row.mean_j, 4),
            cell(row.pct, 1),
            row.runs
        );
    }
    let _ = writeln!(s, "\n{}", c.verdict);
    if let Some(w) = &c.kendall_tau.warning {
        let _ = writeln!(s, "\nNote: {w}.");
    }
    if !c.other_groups.is_empty() {
        let _ = writeln!(
            s,
            "\nNot in this table: {}. {}.",
            c.other_groups.join(", "),
            capitalise(c.other_groups_note)
        );
    }
}

pub(super) fn capitalise(t: &str) -> String {
    let mut c = t.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
