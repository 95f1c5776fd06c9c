//! The study's table beside this machine's, through the binary: every report format carries
//! it, marked modelled or measured; labels match by version only; a missing 3.8 rebases both
//! % columns; the headline's τ line comes from 5 versions on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use serde_json::Value;

/// A run table: `runs` runs per label with energy = power × 1 s, power from `mean` (J).
fn table(groups: &[(&str, f64)], runs: usize) -> String {
    let mut t = String::from("label,power_w,duration_s\n");
    for (label, mean) in groups {
        for i in 0..runs {
            let wobble = [-0.004, 0.0, 0.004, -0.002, 0.002][i % 5];
            t += &format!("{label},{},1\n", mean * (1.0 + wobble));
        }
    }
    t
}

fn report(input: &str, args: &[&str]) -> String {
    let out = Command::cargo_bin("energy-stats")
        .unwrap()
        .args(["report", "-"])
        .args(args)
        .write_stdin(input)
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

const SIX: [(&str, f64); 6] = [
    ("3.8", 4.00),
    ("3.9", 4.05),
    ("3.10", 4.06),
    ("3.11", 3.80),
    ("3.12", 3.70),
    ("3.13", 3.83),
];

#[test]
fn every_format_sets_the_study_beside_this_machine() {
    let mut groups = SIX.to_vec();
    groups.push(("3.11-debian", 3.9));
    let t = table(&groups, 5);
    let json: Value =
        serde_json::from_str(&report(&t, &["--format", "json", "--modelled"])).unwrap();
    let s = &json["study"];
    assert_eq!(s["this_data"], "modelled");
    assert_eq!(s["base"], "3.8");
    assert_eq!(s["rows"][4]["study_mean_j"], 166.10);
    assert_eq!(s["rows"][0]["pct"], 100.0);
    assert_eq!(s["matched"].as_array().unwrap().len(), 6);
    assert_eq!(s["other_groups"][0], "3.11-debian");
    // Same order as the study: τ = 1, p = 2/6!.
    let tau = s["kendall_tau"]["statistic"].as_f64().unwrap();
    let p = s["kendall_tau"]["pvalue"].as_f64().unwrap();
    assert!(
        (tau - 1.0).abs() < 1e-12 && (p - 2.0 / 720.0).abs() < 1e-15,
        "{tau} {p}"
    );
    assert!(s["source"]
        .as_str()
        .unwrap()
        .contains("HelgeCPH/cpython_energy"));

    let md = report(&t, &["--modelled"]);
    assert!(md.contains("## Beside the study's table"), "{md}");
    assert!(md.contains("| CPython 3.12 | 166.10 | 92.7 |"), "{md}");
    assert!(md.contains("this machine: mean (J), modelled"));
    assert!(md.contains("Not in this table: 3.11-debian"));
    assert!(md.contains("in the same order as the study"));

    let csv = report(&t, &["--format", "csv"]);
    assert!(
        csv.contains("study,3.12,energy_j,study_mean,166.1,"),
        "{csv}"
    );
    assert!(csv.contains("study,,energy_j,kendall_tau.pvalue,0.002777777777777778,"));

    let tex = report(&t, &["--format", "latex", "--variable", "study"]);
    assert!(
        tex.contains("\\multicolumn{2}{c}{this machine (measured)}"),
        "{tex}"
    );
    assert!(tex.contains("3.12 & 166.10 & 92.7 & "), "{tex}");

    let head = report(&t, &["--format", "headline", "--modelled"]);
    let last = head.lines().last().unwrap();
    assert!(
        last.starts_with("This machine (modelled) puts CPython 3.8–3.13 in the same order as the study: Kendall's τ = 1.00 (p = 0.003")
            && last.ends_with(" — modelled"),
        "{head}"
    );

    let html = report(&t, &["--format", "html"]);
    assert!(html.contains("id=\"study-verdict\""));
    assert!(html.contains("id=\"fig-study_comparison\""));
}

#[test]
fn without_3_8_the_percentages_are_of_the_oldest_version_run_and_few_versions_say_so() {
    let t = table(&SIX[1..4], 3);
    let json: Value = serde_json::from_str(&report(&t, &["--format", "json"])).unwrap();
    let s = &json["study"];
    assert_eq!(s["base"], "3.9");
    assert!(s["base_note"]
        .as_str()
        .unwrap()
        .contains("3.8 was not run here"));
    assert_eq!(s["rows"][0]["pct"], Value::Null);
    assert_eq!(s["rows"][1]["study_pct"], 100.0);
    assert!(s["kendall_tau"]["warning"]
        .as_str()
        .unwrap()
        .contains("with 3 versions no ordering can reach p < 0.05"));
    // Three versions: no τ line in the headline, one line per interpreter.
    let head = report(&t, &["--format", "headline"]);
    assert_eq!(head.lines().count(), 2, "{head}");
    let md = report(&t, &[]);
    assert!(md.contains("| study: % of 3.9 |"), "{md}");
}
