//! Parity with SciPy 1.17.1 / pandas 3.1.1 / NumPy 2.4.6 against the committed golden values
//! (`fixtures/golden.json`, made by `fixtures/gen_golden.py`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use crate::describe::Describe;
use crate::hypothesis::{
    anderson, bartlett, f_oneway, kruskal, levene, mannwhitneyu, shapiro, welch, AndersonTable,
    NotComputable, TestResult,
};
use crate::numeric::{np_mean, np_sum};
use crate::special::{chi2_sf, f_sf, log_ndtr, ndtr};

const RTOL: f64 = 1e-9;

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => panic!("bad number {other}"),
        },
        other => panic!("bad number {other}"),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn groups_of(case: &Value) -> Vec<Vec<f64>> {
    case["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(nums)
        .collect()
}

#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    if want.is_nan() {
        assert!(got.is_nan(), "{what}: got {got}, SciPy gave NaN");
        return;
    }
    if want.is_infinite() || want == 0.0 {
        assert_eq!(got, want, "{what}");
        return;
    }
    let rel = ((got - want) / want).abs();
    assert!(
        rel <= RTOL,
        "{what}: got {got:e}, want {want:e} (relative error {rel:e})"
    );
}

/// A SciPy answer of NaN (or an exception) must be NotComputable here; anything else must match.
#[track_caller]
fn check_test(what: &str, got: Result<TestResult, NotComputable>, want: &Value) {
    let scipy_nan = want.get("error").is_some() || num(&want["pvalue"]).is_nan();
    match got {
        Err(e) => assert!(scipy_nan, "{what}: we said {e}, SciPy gave {want}"),
        Ok(r) => {
            assert!(!scipy_nan, "{what}: we gave {r:?}, SciPy gave {want}");
            close(
                &format!("{what} statistic"),
                r.statistic,
                num(&want["statistic"]),
            );
            close(&format!("{what} pvalue"), r.pvalue, num(&want["pvalue"]));
        }
    }
}

#[test]
fn pairwise_sum_is_bit_exact_with_numpy() {
    for case in golden()["samples"].as_array().unwrap() {
        let x = nums(&case["x"]);
        let name = case["name"].as_str().unwrap();
        assert_eq!(
            np_sum(&x).to_bits(),
            num(&case["np_sum"]).to_bits(),
            "{name}"
        );
        assert_eq!(
            np_mean(&x).to_bits(),
            num(&case["np_mean"]).to_bits(),
            "{name}"
        );
    }
}

#[test]
fn describe_matches_pandas() {
    for case in golden()["samples"].as_array().unwrap() {
        let x = nums(&case["x"]);
        let name = case["name"].as_str().unwrap();
        let d = Describe::of(&x);
        let want = &case["describe"];
        assert_eq!(d.count as u64, want["count"].as_u64().unwrap());
        for (field, got) in [
            ("mean", d.mean),
            ("std", d.std),
            ("min", d.min),
            ("q25", d.q25),
            ("median", d.median),
            ("q75", d.q75),
            ("max", d.max),
        ] {
            close(
                &format!("{name} {field}"),
                got.unwrap_or(f64::NAN),
                num(&want[field]),
            );
        }
    }
}

#[test]
fn shapiro_matches_scipy_1_17() {
    for case in golden()["samples"].as_array().unwrap() {
        let x = nums(&case["x"]);
        let name = case["name"].as_str().unwrap();
        check_test(&format!("shapiro {name}"), shapiro(&x), &case["shapiro"]);
    }
}

#[test]
fn anderson_matches_scipy_with_both_tables() {
    for case in golden()["samples"].as_array().unwrap() {
        let x = nums(&case["x"]);
        let name = case["name"].as_str().unwrap();
        for (table, key) in [
            (AndersonTable::Classical, "anderson_classical"),
            (AndersonTable::DAgostino, "anderson_dagostino"),
        ] {
            let want = &case[key];
            let stat = num(&want["statistic"]);
            match anderson(&x, table) {
                Err(e) => assert!(stat.is_nan(), "{name}: we said {e}, SciPy gave {stat}"),
                Ok(a) => {
                    close(&format!("anderson {name}"), a.statistic, stat);
                    assert_eq!(
                        a.critical_values.to_vec(),
                        nums(&want["critical_values"]),
                        "{name} {key}"
                    );
                }
            }
        }
    }
}

#[test]
fn group_tests_match_scipy() {
    for case in golden()["group_sets"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let groups = groups_of(case);
        let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
        check_test(&format!("anova {name}"), f_oneway(&refs), &case["anova"]);
        check_test(&format!("kruskal {name}"), kruskal(&refs), &case["kruskal"]);
        check_test(
            &format!("bartlett {name}"),
            bartlett(&refs),
            &case["bartlett"],
        );
        check_test(&format!("levene {name}"), levene(&refs), &case["levene"]);
        for pair in case["pairs"].as_array().unwrap() {
            let (i, j) = (
                pair["a"].as_u64().unwrap() as usize,
                pair["b"].as_u64().unwrap() as usize,
            );
            let what = format!("{name} {i}-{j}");
            check_test(
                &format!("mwu {what}"),
                mannwhitneyu(&groups[i], &groups[j]),
                &pair["mannwhitneyu"],
            );
            let w = welch(&groups[i], &groups[j]);
            check_test(
                &format!("welch {what}"),
                w.clone().map(|r| r.0),
                &pair["welch"],
            );
            if let Ok((_, df)) = w {
                close(&format!("welch df {what}"), df, num(&pair["welch"]["df"]));
            }
        }
    }
}

#[test]
fn anova_p_near_1e_36_is_exact() {
    let g = golden();
    let case = g["group_sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "anova-p-1e-36")
        .unwrap();
    let groups = groups_of(case);
    let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
    let r = f_oneway(&refs).unwrap();
    let want = num(&case["anova"]["pvalue"]);
    assert!(want < 1e-35 && want > 1e-37);
    close("anova p 1e-36", r.pvalue, want);
}

#[test]
fn special_functions_match_scipy() {
    let g = golden();
    let s = &g["special"];
    for row in s["f_sf"].as_array().unwrap() {
        let r = nums(row);
        close(&format!("fdtrc {r:?}"), f_sf(r[0], r[1], r[2]), r[3]);
    }
    for row in s["chi2_sf"].as_array().unwrap() {
        let r = nums(row);
        close(&format!("chdtrc {r:?}"), chi2_sf(r[0], r[1]), r[2]);
    }
    for row in s["ndtr"].as_array().unwrap() {
        let r = nums(row);
        close(&format!("ndtr {r:?}"), ndtr(r[0]), r[1]);
    }
    for row in s["log_ndtr"].as_array().unwrap() {
        let r = nums(row);
        close(&format!("log_ndtr {r:?}"), log_ndtr(r[0]), r[1]);
    }
}

/// SciPy's Tukey p-values are `1 − cdf` of a 2-D quadrature (nquad, epsabs 1e-11), so they are
/// quantised to ulps of 1 (~2e-16) and their own error is ~1e-16 absolute
/// (`scipy-parity-notes.md` §0.5): relative 1e-9, or 1e-14 absolute where that is larger
/// (p below 1e-5).
#[track_caller]
fn close_tukey(what: &str, got: f64, want: f64) {
    if want.is_nan() {
        assert!(got.is_nan(), "{what}: got {got}, SciPy gave NaN");
        return;
    }
    let tol = (1e-9 * want.abs()).max(1e-14);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e}"
    );
}

#[test]
fn studentized_range_matches_scipy() {
    let g = golden();
    for row in g["special"]["studentized_range_sf"].as_array().unwrap() {
        let r = nums(row);
        close_tukey(
            &format!("studentized_range.sf {r:?}"),
            crate::tukey::studentized_range_sf(r[0], r[1], r[2]),
            r[3],
        );
    }
}

#[test]
fn tukey_hsd_matches_scipy() {
    for case in golden()["group_sets"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let groups = groups_of(case);
        let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
        let want = &case["tukey_hsd"];
        match crate::tukey::tukey_hsd(&refs) {
            Err(e) => assert!(
                want.get("error").is_some()
                    || want["pvalue"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(nums)
                        .any(f64::is_nan),
                "{name}: we said {e}, SciPy gave {want}"
            ),
            Ok(t) => {
                let ws: Vec<Vec<f64>> = want["statistic"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(nums)
                    .collect();
                let wp: Vec<Vec<f64>> = want["pvalue"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(nums)
                    .collect();
                for i in 0..groups.len() {
                    for j in 0..groups.len() {
                        if ws[i][j] != 0.0 {
                            close(
                                &format!("tukey {name} stat {i},{j}"),
                                t.statistic[i][j],
                                ws[i][j],
                            );
                        }
                        close_tukey(&format!("tukey {name} p {i},{j}"), t.pvalue[i][j], wp[i][j]);
                    }
                }
            }
        }
    }
}

#[test]
fn noncentral_t_matches_scipy() {
    let g = golden();
    let cases = g["intervals"]["nct"].as_array().unwrap();
    assert!(cases.len() >= 200);
    for c in cases {
        let (t, df, nc) = (num(&c["t"]), num(&c["df"]), num(&c["nc"]));
        let want = num(&c["cdf"]);
        if want.is_nan() {
            continue;
        }
        let got = crate::intervals::nct::cdf(t, df, nc);
        // SciPy (Boost) and the Poisson series agree to ~1e-12 absolute; relative 1e-9 where
        // the value is not deep in a tail.
        let tol = (1e-9 * want.abs()).max(1e-12);
        assert!(
            (got - want).abs() <= tol,
            "nct.cdf({t}, {df}, {nc}): {got} vs {want}"
        );
    }
}

#[test]
fn delta_interval_matches_scipy_nct_inversion() {
    let g = golden();
    for c in g["intervals"]["delta"].as_array().unwrap() {
        let d = num(&c["d"]);
        let (n1, n2) = (c["n1"].as_u64().unwrap(), c["n2"].as_u64().unwrap());
        let alpha = num(&c["alpha"]);
        let (lo, hi) =
            crate::intervals::effect::delta_interval(d, n1 as usize, n2 as usize, alpha).unwrap();
        for (what, got, want) in [("low", lo, num(&c["low"])), ("high", hi, num(&c["high"]))] {
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                "δ interval {what} of d={d} n={n1},{n2} α={alpha}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn plan_matches_statsmodels_ttest_ind_power() {
    let g = golden();
    for c in g["intervals"]["ttest_ind_power"].as_array().unwrap() {
        let (effect, alpha, power) = (num(&c["effect"]), num(&c["alpha"]), num(&c["power"]));
        let p10 = crate::intervals::nct::ttest_ind_power(effect, 10.0, alpha);
        // SciPy's nct is NaN far in its tails (power ≈ 1), where statsmodels passes it on.
        if !num(&c["power_at_10"]).is_nan() {
            close("power at 10", p10, num(&c["power_at_10"]));
        }
        let want = num(&c["nobs1"]);
        let got = crate::intervals::nct::solve_nobs1(effect, alpha, power).unwrap();
        // statsmodels' root finder stops at its own tolerance: equal to 1e-6 relative, and the
        // same whole number of runs.
        assert!(
            ((got - want) / want).abs() < 1e-6,
            "solve_power({effect}, {alpha}, {power}): {got} vs {want}"
        );
        assert_eq!((got - 1e-9).ceil(), (want - 1e-9).ceil());
    }
}

#[test]
fn kendalltau_matches_scipy() {
    let g = golden();
    let cases = g["kendalltau"].as_array().unwrap();
    assert!(cases.len() > 800);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let got = crate::hypothesis::kendalltau(&nums(&case["x"]), &nums(&case["y"]));
        check_test(&format!("kendalltau {name}"), got, &case["kendalltau"]);
    }
}

/// The study's table as the report shows it: % of 3.8 (and of 3.9 when 3.8 did not run) in
/// both columns, and τ of the study's order against itself, as NumPy and SciPy give them.
#[test]
fn the_study_table_matches_numpy_and_scipy() {
    use crate::report::{compare_with_study, GroupReport, STUDY_MEAN_J, STUDY_VERSIONS};
    let g = golden();
    let case = &g["study"];
    assert_eq!(nums(&case["mean_j"]), STUDY_MEAN_J);
    let versions: Vec<&str> = case["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(versions, STUDY_VERSIONS);
    let group = |label: &str, mean: f64| crate::report::test_group(label, &[mean]);
    // This machine's means equal to the study's: both columns are the golden %.
    let all: Vec<GroupReport> = STUDY_VERSIONS
        .iter()
        .zip(STUDY_MEAN_J)
        .map(|(v, m)| group(v, m))
        .collect();
    let c = compare_with_study(&all, false);
    let want = nums(&case["pct_of_3_8"]);
    for (row, want) in c.rows.iter().zip(&want) {
        close(
            &format!("study % {}", row.version),
            row.study_pct.unwrap(),
            *want,
        );
        close(&format!("this % {}", row.version), row.pct.unwrap(), *want);
    }
    check_test(
        "study τ",
        c.kendall_tau.result.clone(),
        &case["kendalltau_self"],
    );
    // Without 3.8, both columns are % of 3.9.
    let c = compare_with_study(&all[1..], false);
    assert_eq!(c.base, Some("3.9"));
    let want = nums(&case["pct_of_3_9"]);
    for (row, want) in c.rows[1..].iter().zip(&want) {
        close(
            &format!("study % of 3.9 {}", row.version),
            row.study_pct.unwrap(),
            *want,
        );
        close(
            &format!("this % of 3.9 {}", row.version),
            row.pct.unwrap(),
            *want,
        );
    }
    assert_eq!(c.rows[0].pct, None);
}
