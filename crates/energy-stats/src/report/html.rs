//! The report as one self-contained HTML page for people: the modelled/measured banner, the
//! verdicts in words, the study's table beside this machine's, every figure inline as SVG, the
//! tables and tests of the Markdown report, and its notes (runs left out, small samples). No
//! script, no stylesheet or image from elsewhere: the file opens anywhere, offline.

use std::fmt::Write as _;

use super::markdown::{capitalise, cell, outcome_md, pval};
use super::{describe_columns, headline::pretty_label, Report, VARIABLES};

const STYLE: &str = "
:root { color-scheme: light; }
body { font: 16px/1.5 'DejaVu Sans', system-ui, sans-serif; color: #1d2125; background: #f6f7f9; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
h1 { font-size: 1.9rem; margin: 0.6rem 0 0.2rem; }
h2 { font-size: 1.35rem; margin: 2.2rem 0 0.6rem; padding-bottom: 0.25rem; border-bottom: 2px solid #d8dde3; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
.banner { padding: 0.8rem 2rem; font-weight: 600; text-align: center; }
.banner.modelled { background: #fff1d6; color: #6b4400; border-bottom: 3px solid #e0a030; }
.banner.measured { background: #e3f4e6; color: #1f5b2b; border-bottom: 3px solid #4caf64; }
.sub { color: #5a6570; margin: 0 0 1rem; }
.verdicts { background: #fff; border: 1px solid #d8dde3; border-radius: 8px; padding: 0.8rem 1.4rem; }
.verdicts li { margin: 0.35rem 0; }
.verdicts li.main { font-size: 1.1rem; font-weight: 600; }\nsummary { cursor: pointer; color: #2a5d8f; margin: 0.4rem 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; background: #fff; font-size: 0.92rem; }
th, td { border: 1px solid #d8dde3; padding: 0.3rem 0.6rem; }
th { background: #eef1f4; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
.note { background: #fff; border-left: 4px solid #8aa4bf; padding: 0.5rem 1rem; margin: 0.6rem 0; }
.warn { border-left-color: #e0a030; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1.2rem; }
figure { margin: 0; background: #fff; border: 1px solid #d8dde3; border-radius: 8px; padding: 0.6rem; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: #5a6570; font-size: 0.85rem; text-align: center; margin-top: 0.3rem; }
figure.wide { max-width: 900px; margin: 0 auto 1.2rem; }
footer { color: #5a6570; font-size: 0.85rem; margin-top: 2.5rem; }
";

/// Escape text for HTML.
fn esc(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// A table: a header row, then rows of cells; a cell starting with `#` is a number (right-aligned).
fn table(s: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let _ = write!(s, "<div class=\"scroll\"><table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    let _ = write!(s, "</tr></thead><tbody>");
    for row in rows {
        s.push_str("<tr>");
        for c in row {
            match c.strip_prefix('#') {
                Some(n) => {
                    let _ = write!(s, "<td class=\"n\">{}</td>", esc(n));
                }
                None => {
                    let _ = write!(s, "<td>{}</td>", esc(c));
                }
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>\n");
}

fn num(t: String) -> String {
    format!("#{t}")
}

/// One figure, inline.
fn figure(s: &mut String, name: &str, svg: &str, wide: bool) {
    let svg = svg.trim_start();
    let svg = svg.strip_prefix("<svg").unwrap_or(svg);
    let _ = writeln!(
        s,
        "<figure id=\"fig-{n}\"{w}><svg role=\"img\" aria-label=\"{n}\"{svg}<figcaption>{n}</figcaption></figure>",
        n = esc(name),
        w = if wide { " class=\"wide\"" } else { "" },
    );
}

/// The whole page. `figures` are (name, SVG) pairs, as [`crate::figures::figures`] gives them.
pub fn html(r: &Report, figures: &[(String, String)]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Energy report{}</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>{STYLE}</style>\n</head>\n<body>\n",
        if r.modelled { " (modelled)" } else { "" }
    );
    match &r.note {
        Some(n) => {
            let _ = writeln!(
                s,
                "<div class=\"banner modelled\" id=\"banner\">{}</div>",
                esc(n)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "<div class=\"banner measured\" id=\"banner\">MEASURED DATA: the power in these runs was recorded by a meter, not modelled.</div>"
            );
        }
    }
    s.push_str("<main>\n<h1>Energy report</h1>\n");
    let labels: Vec<String> = r.groups.iter().map(|g| pretty_label(&g.label)).collect();
    let runs: usize = r.groups.iter().map(|g| g.runs_used).sum();
    let _ = writeln!(
        s,
        "<p class=\"sub\">{} interpreter{}: {}; {runs} runs in the statistics.</p>",
        labels.len(),
        if labels.len() == 1 { "" } else { "s" },
        esc(&labels.join(", "))
    );
    speed(&mut s, r);
    verdicts(&mut s, r);
    study(&mut s, r, figures);
    sessions(&mut s, r);
    // The figures across interpreters full width, then one small figure per interpreter.
    let per_group = |n: &str| {
        ["hist_", "trace_", "mean_trace_"]
            .iter()
            .any(|p| n.starts_with(p))
    };
    let _ = writeln!(s, "<h2 id=\"figures\">Figures</h2>");
    for (name, svg) in figures
        .iter()
        .filter(|(n, _)| n != "study_comparison" && !per_group(n))
    {
        figure(&mut s, name, svg, true);
    }
    let _ = writeln!(s, "<h3>Per interpreter</h3>\n<div class=\"figures\">");
    for (name, svg) in figures.iter().filter(|(n, _)| per_group(n)) {
        figure(&mut s, name, svg, false);
    }
    s.push_str("</div>\n");
    tables(&mut s, r);
    notes(&mut s, r);
    let _ = writeln!(
        s,
        "<footer>Made by energy-stats {}; the same figures as report.md and report.json.</footer>\n</main>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

fn verdicts(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "<h2 id=\"verdicts\">The verdicts</h2>\n<div class=\"verdicts\"><ul>"
    );
    if let Ok(lines) = super::headlines(r) {
        for l in lines {
            let _ = writeln!(s, "<li class=\"main\">{}</li>", esc(&l));
        }
    }
    s.push_str("</ul>\n");
    let reference = r.groups.first().map(|g| g.label.as_str());
    let others: Vec<&str> = r
        .pairwise
        .iter()
        .filter(|p| Some(p.a.as_str()) != reference)
        .map(|p| p.verdict.as_str())
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>The other {} pairs</summary><ul>",
            others.len()
        );
        for v in others {
            let _ = writeln!(s, "<li>{}</li>", esc(v));
        }
        s.push_str("</ul></details>\n");
    }
    let _ = writeln!(
        s,
        "<p class=\"sub\">{}</p></div>",
        esc(&r.comparisons.describe())
    );
}

fn study(s: &mut String, r: &Report, figures: &[(String, String)]) {
    let c = &r.study;
    let base = c.base.unwrap_or("3.8");
    let _ = writeln!(s, "<h2 id=\"study\">Beside the study's table</h2>");
    let _ = writeln!(
        s,
        "<p>The study's mean energy per run ({}) beside this machine's (<strong>{}</strong>). Source: {}. {}.</p>",
        esc(c.study_data),
        esc(c.this_data),
        esc(c.source),
        esc(&capitalise(&c.base_note))
    );
    let rows: Vec<Vec<String>> = c
        .rows
        .iter()
        .map(|row| {
            vec![
                pretty_label(row.version),
                num(format!("{:.2}", row.study_mean_j)),
                num(cell(row.study_pct, 1)),
                num(cell(row.mean_j, 4)),
                num(cell(row.pct, 1)),
                num(row.runs.to_string()),
            ]
        })
        .collect();
    let h2 = format!("study: % of {base}");
    let h3 = format!("this machine: mean (J), {}", c.this_data);
    let h4 = format!("this machine: % of {base}");
    table(
        s,
        &[
            "version",
            "study: mean (J), measured",
            &h2,
            &h3,
            &h4,
            "runs",
        ],
        &rows,
    );
    let _ = writeln!(
        s,
        "<p class=\"note\" id=\"study-verdict\">{}</p>",
        esc(&c.verdict)
    );
    if let Some(w) = &c.kendall_tau.warning {
        let _ = writeln!(s, "<p class=\"note warn\">{}.</p>", esc(&capitalise(w)));
    }
    if !c.other_groups.is_empty() {
        let _ = writeln!(
            s,
            "<p class=\"note\">Not in this table: {}. {}.</p>",
            esc(&c.other_groups.join(", ")),
            esc(&capitalise(c.other_groups_note))
        );
    }
    if let Some((name, svg)) = figures.iter().find(|(n, _)| n == "study_comparison") {
        figure(s, name, svg, true);
    }
}

fn tables(s: &mut String, r: &Report) {
    let _ = writeln!(s, "<h2 id=\"tables\">Tables</h2>");
    for (var, title) in VARIABLES {
        let cols = describe_columns(r, var);
        if cols.is_empty() {
            continue;
        }
        let _ = writeln!(s, "<h3>{}</h3>", esc(title));
        let mut head = vec![""];
        head.extend(cols.iter().map(|(l, _)| l.as_str()));
        let rows: Vec<Vec<String>> = (0..8)
            .map(|row| {
                let mut out = vec![cols[0].1.rows()[row].0.to_string()];
                out.extend(
                    cols.iter()
                        .map(|(_, d)| num(cell(d.rows()[row].1, if row == 0 { 0 } else { 4 }))),
                );
                out
            })
            .collect();
        table(s, &head, &rows);
    }
    let _ = writeln!(s, "<h2>Tests on energy across groups</h2>");
    let rows: Vec<Vec<String>> = [
        ("One-way ANOVA (F)", &r.tests.anova),
        ("Kruskal–Wallis (H)", &r.tests.kruskal),
        ("Bartlett (T)", &r.tests.bartlett),
        ("Levene, median (W)", &r.tests.levene),
    ]
    .into_iter()
    .map(|(name, o)| {
        let (a, b) = outcome_md(o);
        vec![name.to_string(), num(a), num(b)]
    })
    .collect();
    table(s, &["test", "statistic", "p-value"], &rows);
    let _ = writeln!(s, "<h2>Normality of energy per group</h2>");
    let rows: Vec<Vec<String>> = r
        .tests
        .shapiro
        .0
        .iter()
        .zip(&r.tests.anderson.0)
        .map(|((l, sw), (_, ad))| {
            let (w, p) = outcome_md(sw);
            let a2 = match &ad.0 {
                Ok(a) => format!("{:.4}", a.statistic),
                Err(e) => e.0.clone(),
            };
            vec![l.clone(), num(w), num(p), num(a2)]
        })
        .collect();
    table(
        s,
        &["group", "Shapiro–Wilk W", "p", "Anderson–Darling A²"],
        &rows,
    );
    let _ = writeln!(
        s,
        "<h2>Pairwise comparisons of energy</h2>\n<p>{}</p>",
        esc(&r.comparisons.describe())
    );
    let rows: Vec<Vec<String>> = r
        .pairwise
        .iter()
        .map(|p| {
            let ci = match (p.ci_low_pct, p.ci_high_pct) {
                (Some(a), Some(b)) => format!("[{a:.2}, {b:.2}]"),
                _ => p.ci_note.clone().unwrap_or_else(|| "n/a".into()),
            };
            vec![
                p.a.clone(),
                p.b.clone(),
                num(cell(p.mean_diff_pct, 2)),
                num(ci),
                num(p.welch_p_holm.map_or("n/a".into(), pval)),
                num(p.mwu_p_holm.map_or("n/a".into(), pval)),
                num(cell(p.hedges_g, 2)),
                if p.significant { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    table(
        s,
        &[
            "a",
            "b",
            "Δ mean %",
            "interval",
            "Welch p (Holm)",
            "MWU p (Holm)",
            "Hedges' g",
            "significant",
        ],
        &rows,
    );
    let _ = writeln!(s, "<h2>Run order</h2>");
    let rows: Vec<Vec<String>> = r
        .run_order
        .iter()
        .map(|o| {
            let seq: Vec<String> = o
                .runs
                .iter()
                .map(|p| format!("{:.1}", p.energy_j))
                .collect();
            vec![
                o.label.clone(),
                seq.join(" "),
                num(o
                    .first_run_excess_pct
                    .map_or("n/a".into(), |v| format!("{v:+.2} %"))),
                num(cell(o.spearman_rho_energy, 2)),
            ]
        })
        .collect();
    table(
        s,
        &[
            "group",
            "energy by run (J)",
            "first run vs median of others",
            "Spearman ρ (run, energy)",
        ],
        &rows,
    );
    if !r.plan.pairs.is_empty() {
        let _ = writeln!(s, "<h2>How many runs</h2>\n<ul>");
        for line in r.plan.lines() {
            let _ = writeln!(s, "<li>{}</li>", esc(&line));
        }
        s.push_str("</ul>\n");
    }
}

/// What `--speed-adjust` did (nothing without it).
fn speed(s: &mut String, r: &Report) {
    let Some(a) = &r.speed else {
        return;
    };
    let _ = writeln!(
        s,
        "<h2 id=\"speed\">Machine speed</h2>\n<p class=\"note\">{}.</p>",
        esc(&super::markdown::capitalise(&a.sentence()))
    );
    let rows: Vec<Vec<String>> = a
        .rows()
        .into_iter()
        .map(|[l, n, p, b, c, m]| vec![l, num(n), num(p), num(b), num(c), num(m)])
        .collect();
    table(s, &crate::speed::HEADINGS, &rows);
}

/// The recording sessions and the reference's drift between them (nothing when no run says
/// its session).
fn sessions(s: &mut String, r: &Report) {
    if r.sessions.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "<h2 id=\"sessions\">Sessions</h2>\n<p>Each recording session (date, interpreters, order, seed and tool versions: the plan file) and its groups; an interpreter's runs of a later session than its first are a group of their own, <code>label@session</code>.</p>"
    );
    let rows: Vec<Vec<String>> = r
        .sessions
        .iter()
        .map(|row| {
            let groups: Vec<String> = row
                .groups
                .iter()
                .map(|g| format!("{} ({})", g.group, g.runs))
                .collect();
            vec![row.session.clone(), groups.join(", ")]
        })
        .collect();
    table(s, &["session", "groups (runs)"], &rows);
    for note in r.sessions.iter().filter_map(|row| row.note.as_ref()) {
        let _ = writeln!(s, "<p>{}.</p>", esc(&super::markdown::capitalise(note)));
    }
    if r.drift.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "<h2 id=\"drift\">Drift of the reference between sessions</h2>"
    );
    let rows: Vec<Vec<String>> = r
        .drift
        .iter()
        .map(|d| {
            vec![
                d.reference.clone(),
                format!("{} → {}", d.before_session, d.after_session),
                num(format!("{} → {}", d.runs[0], d.runs[1])),
                num(format!("{:.2} → {:.2}", d.mean_j[0], d.mean_j[1])),
                num(format!("{:+.2} %", d.difference_pct)),
                d.interval_pct
                    .map_or("n/a".into(), |[a, b]| format!("[{a:+.2}, {b:+.2}]")),
                d.verdict.words().into(),
            ]
        })
        .collect();
    table(
        s,
        &[
            "reference",
            "sessions",
            "runs",
            "mean (J)",
            "difference",
            "95 % interval",
            "verdict",
        ],
        &rows,
    );
    s.push_str("<ul>");
    for d in &r.drift {
        let _ = write!(s, "<li>{}</li>", esc(&d.sentence));
    }
    s.push_str("</ul>\n");
}

fn notes(s: &mut String, r: &Report) {
    let _ = writeln!(s, "<h2 id=\"left-out\">Runs left out</h2>");
    if r.left_out.is_empty() {
        let _ = writeln!(s, "<p>None: every run read entered the statistics.</p>");
    } else {
        s.push_str("<ul>\n");
        for f in &r.left_out {
            let _ = writeln!(
                s,
                "<li>{} run {} ({}, {}): {}</li>",
                esc(&f.label),
                f.run,
                f.kind,
                esc(&f.origin),
                esc(&f.reason)
            );
        }
        s.push_str("</ul>\n");
    }
    if !r.small_samples.is_empty() {
        let _ = writeln!(s, "<h2 id=\"small-samples\">Small samples</h2>\n<ul>");
        for n in &r.small_samples {
            let _ = writeln!(s, "<li>{}.</li>", esc(&n.note));
        }
        s.push_str("</ul>\n");
    }
    if let Some(b) = &r.baseline_power_w {
        let _ = writeln!(
            s,
            "<p>Idle baseline: {} runs, mean power {} W.</p>",
            b.count,
            cell(b.mean, 4)
        );
    }
}
