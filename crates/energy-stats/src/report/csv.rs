//! The report as long-format CSV, one value per line, written through the `csv` crate.

use super::{describe_of, Outcome, Report, VARIABLES};
use crate::hypothesis::ANDERSON_LEVELS;
use crate::runs::csv_num;

/// Long-format CSV: `section,group,variable,name,value,note`.
pub fn csv(r: &Report) -> String {
    // Writing into memory cannot fail: the results of the writes are ignored.
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["section", "group", "variable", "name", "value", "note"]);
    let mut row = |sec: &str, g: &str, var: &str, name: &str, v: Option<f64>, note: &str| {
        let _ = w.write_record([sec, g, var, name, &csv_num(v), note]);
    };
    if let Some(n) = &r.note {
        row("note", "", "", "modelled", None, n);
    }
    for g in &r.groups {
        for (var, _) in VARIABLES {
            if let Some(d) = describe_of(g, var) {
                for (name, v) in d.rows() {
                    row("describe", &g.label, var, name, v, "");
                }
            }
        }
    }
    let mut test = |name: &str, group: &str, o: &Outcome| match &o.result {
        Ok(t) => {
            row(
                "test",
                group,
                "energy_j",
                &format!("{name}.statistic"),
                Some(t.statistic),
                "",
            );
            row(
                "test",
                group,
                "energy_j",
                &format!("{name}.pvalue"),
                Some(t.pvalue),
                "",
            );
        }
        Err(e) => row("test", group, "energy_j", name, None, &e.0),
    };
    test("anova", "", &r.tests.anova);
    test("kruskal", "", &r.tests.kruskal);
    test("bartlett", "", &r.tests.bartlett);
    test("levene", "", &r.tests.levene);
    for (l, o) in &r.tests.shapiro.0 {
        test("shapiro", l, o);
    }
    for (l, a) in &r.tests.anderson.0 {
        match &a.0 {
            Ok(a) => {
                row(
                    "test",
                    l,
                    "energy_j",
                    "anderson.statistic",
                    Some(a.statistic),
                    "",
                );
                for (c, lvl) in a.critical_values.iter().zip(ANDERSON_LEVELS) {
                    row(
                        "test",
                        l,
                        "energy_j",
                        &format!("anderson.critical_{lvl}"),
                        Some(*c),
                        "",
                    );
                }
            }
            Err(e) => row("test", l, "energy_j", "anderson", None, &e.0),
        }
    }
    for p in &r.pairwise {
        let g = format!("{}|{}", p.a, p.b);
        row(
            "pairwise",
            &g,
            "energy_j",
            "mean_diff_pct",
            p.mean_diff_pct,
            &p.verdict,
        );
        row("pairwise", &g, "energy_j", "ci_low_pct", p.ci_low_pct, "");
        row("pairwise", &g, "energy_j", "ci_high_pct", p.ci_high_pct, "");
        row(
            "pairwise",
            &g,
            "energy_j",
            "welch_p_holm",
            p.welch_p_holm,
            "",
        );
        row("pairwise", &g, "energy_j", "mwu_p_holm", p.mwu_p_holm, "");
        row("pairwise", &g, "energy_j", "tukey_p", p.tukey_p, "");
        row("pairwise", &g, "energy_j", "hedges_g", p.hedges_g, "");
        row(
            "pairwise",
            &g,
            "energy_j",
            "cliffs_delta",
            p.cliffs_delta,
            "",
        );
        let more = [
            ("half_width_pct", p.half_width_pct, p.ci_method),
            ("ci_level", Some(p.ci_level), ""),
            ("median_hl_pct", p.median_hl_pct, ""),
            (
                "median_ci_low_pct",
                p.median_ci_low_pct,
                "hodges-lehmann-log-exact",
            ),
            ("median_ci_high_pct", p.median_ci_high_pct, ""),
            ("welch_p_bonferroni", p.welch_p_bonferroni, ""),
            (
                "hedges_g_ci_low",
                p.hedges_g_ci_low,
                "noncentral-t, of delta",
            ),
            ("hedges_g_ci_high", p.hedges_g_ci_high, ""),
        ];
        for (name, v, note) in more {
            row("pairwise", &g, "energy_j", name, v, note);
        }
    }
    for p in &r.plan.pairs {
        let g = format!("{}|{}", p.a, p.b);
        let runs = |v: Option<u64>| v.map(|n| n as f64);
        row(
            "plan",
            &g,
            "energy_j",
            "runs_to_detect",
            runs(p.runs_to_detect),
            "",
        );
        row(
            "plan",
            &g,
            "energy_j",
            "runs_for_half_width",
            runs(p.runs_for_half_width),
            "",
        );
    }
    for n in &r.small_samples {
        row(
            "small_sample",
            &n.group,
            "energy_j",
            n.test,
            Some(n.runs as f64),
            &n.note,
        );
    }
    for l in &r.left_out {
        row(
            "left_out",
            &l.label,
            "",
            l.kind,
            Some(f64::from(l.run)),
            &format!("{}: {}", l.origin, l.reason),
        );
    }
    let c = &r.study;
    let base = c.base.unwrap_or("3.8");
    for s in &c.rows {
        let v = s.version;
        row(
            "study",
            v,
            "energy_j",
            "study_mean",
            Some(s.study_mean_j),
            c.study_data,
        );
        row(
            "study",
            v,
            "energy_j",
            "study_pct",
            s.study_pct,
            &format!("% of {base}"),
        );
        row("study", v, "energy_j", "mean", s.mean_j, c.this_data);
        row(
            "study",
            v,
            "energy_j",
            "pct",
            s.pct,
            &format!("% of {base}"),
        );
    }
    match &c.kendall_tau.result {
        Ok(t) => {
            row(
                "study",
                "",
                "energy_j",
                "kendall_tau",
                Some(t.statistic),
                &c.verdict,
            );
            row(
                "study",
                "",
                "energy_j",
                "kendall_tau.pvalue",
                Some(t.pvalue),
                "",
            );
        }
        Err(e) => row("study", "", "energy_j", "kendall_tau", None, &e.0),
    }
    row("study", "", "", "source", None, c.source);

    let _ = w.flush();
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
