//! The `energy-stats` binary on real files: the study's folder layout, run records, tables,
//! bad input, the cache, the figures; and property tests of the log and trace readers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use proptest::prelude::*;
use serde_json::Value;

fn bin() -> Command {
    Command::cargo_bin("energy-stats").unwrap()
}

fn log_block(duration: &str, p: f64) -> String {
    format!(
        "Clearing DB on remote server...\nStarting scenario on three clients...\n\
         [<Response [200 OK]>, <Response [200 OK]>, <Response [200 OK]>]\n\
         Scenario took {duration}\nDone with scenario...\n\
         MAIN_CURRENT: 0.2266, 0.3400, {}, 0.0501\nMAIN_VOLTAGE: 4.9981, 5.0016, 5.0000\n\
         MAIN_POWER: 1.1333, 1.7003, {p}\n",
        p / 5.0
    )
}

/// A study folder `minitwit<ver>` with a log of `powers.len()` runs (durations 140 + i s).
fn study_group(root: &Path, ver: &str, powers: &[f64]) -> PathBuf {
    let dir = root.join(format!("minitwit{ver}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut log = String::from("$ time poetry run python main.py\n");
    for (i, p) in powers.iter().enumerate() {
        log += &log_block(&format!("0:02:{:02}.500000", 20 + i), *p);
    }
    log += "real\t33m13.885s\nuser\t0m2.575s\n";
    std::fs::write(dir.join("log.txt"), log).unwrap();
    dir
}

fn write_xz_trace(path: &Path, powers: &[f64]) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = xz2::write::XzEncoder::new(f, 1);
    writeln!(enc, ",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER").unwrap();
    for (i, p) in powers.iter().enumerate() {
        writeln!(enc, "{i},{},{},{p}", p / 5.0, 5.0).unwrap();
    }
    enc.finish().unwrap();
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap()
}

fn study(root: &Path) -> Vec<PathBuf> {
    vec![
        study_group(root, "312", &[1.30, 1.31, 1.29, 1.30, 1.32]),
        study_group(root, "38", &[1.40, 1.41, 1.42, 1.39, 1.40]),
        study_group(root, "310", &[1.35, 1.36, 1.34, 1.35, 1.37]),
    ]
}

#[test]
fn study_folders_holding_only_log_txt_are_a_complete_input() {
    let t = tempfile::tempdir().unwrap();
    let dirs = study(t.path());
    let out = bin()
        .arg("report")
        .args(&dirs)
        .args(["--format", "json", "--no-cache"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r = json(&out);
    let labels: Vec<&str> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["3.8", "3.10", "3.12"],
        "version order, not text order"
    );
    let g = &r["groups"][0];
    assert_eq!(g["energy_j"]["count"], 5);
    // E = P × t for the first run of 3.8: 1.40 W × 140.5 s.
    let min = g["power_w"]["min"].as_f64().unwrap();
    assert_eq!(min, 1.39);
    let mean_t = g["duration_s"]["mean"].as_f64().unwrap();
    assert!((mean_t - 142.5).abs() < 1e-9);
    for key in ["count", "mean", "std", "min", "q25", "median", "q75", "max"] {
        assert!(g["energy_j"].get(key).is_some(), "{key}");
    }
    for key in ["anova", "kruskal", "bartlett", "levene"] {
        assert!(r["tests"][key]["statistic"].is_number(), "{key}");
        assert!(r["tests"][key]["pvalue"].is_number(), "{key}");
    }
    assert!(r["tests"]["shapiro"]["3.8"]["pvalue"].is_number());
    let keys: Vec<&String> = r["tests"]["shapiro"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3);
    let ad = &r["tests"]["anderson"]["3.10"];
    assert_eq!(
        ad["significance_levels"],
        serde_json::json!([15.0, 10.0, 5.0, 2.5, 1.0])
    );
    assert_eq!(ad["critical_values"].as_array().unwrap().len(), 5);
    assert_eq!(r["pairwise"].as_array().unwrap().len(), 3);
    let p = &r["pairwise"][2];
    assert_eq!(
        (p["a"].as_str(), p["b"].as_str()),
        (Some("3.10"), Some("3.12"))
    );
    let verdict = p["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("3.12 uses ") && verdict.contains("less energy than 3.10"),
        "{verdict}"
    );
    assert_eq!(r["modelled"], false);
}

#[test]
fn latex_is_the_study_table() {
    let t = tempfile::tempdir().unwrap();
    let dirs = study(t.path());
    let out = bin()
        .arg("report")
        .args(&dirs)
        .args(["--format", "latex", "--no-cache"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "\\begin{tabular}{lrrr}");
    assert_eq!(
        lines[2],
        " & CPython 3.8 & CPython 3.10 & CPython 3.12 \\\\"
    );
    assert_eq!(lines[4], "count & 5.000000 & 5.000000 & 5.000000 \\\\");
    assert!(lines[8].starts_with("25\\% & "));
    assert_eq!(lines[lines.len() - 1], "\\end{tabular}");
    let out = bin()
        .arg("report")
        .args(&dirs)
        .args([
            "--format",
            "latex",
            "--column-prefix",
            "",
            "--variable",
            "power",
            "--no-cache",
        ])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains(" & 3.8 & 3.10 & 3.12 \\\\"));
    assert!(
        text.contains("min & 1.390000 & 1.340000 & 1.290000 \\\\"),
        "{text}"
    );
}

/// pandas' own `describe().to_latex()` (from the golden fixtures), byte for byte — except that
/// `25%` is written `25\%`: pandas leaves the `%` bare, which LaTeX reads as a comment.
#[test]
fn latex_equals_pandas_to_latex() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/golden.json");
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = &golden["latex"];
    let out = bin()
        .args(["report", "-", "--format", "latex"])
        .write_stdin(case["table_csv"].as_str().unwrap())
        .assert()
        .success();
    let got = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let want = case["expected"].as_str().unwrap().replace("% &", "\\% &");
    assert_eq!(got, want);
}

#[test]
fn markdown_and_csv_reports_render() {
    let t = tempfile::tempdir().unwrap();
    let dirs = study(t.path());
    bin()
        .arg("report")
        .args(&dirs)
        .arg("--no-cache")
        .assert()
        .success()
        .stdout(predicate::str::contains("| count | 5 | 5 | 5 |"))
        .stdout(predicate::str::contains("less energy than 3.10"));
    bin()
        .arg("report")
        .args(&dirs)
        .args(["--format", "csv", "--no-cache"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "section,group,variable,name,value,note\n",
        ))
        .stdout(predicate::str::contains("test,,energy_j,anova.pvalue,"));
}

#[test]
fn traces_give_trace_energy_and_the_cache_gives_the_same_answer() {
    let t = tempfile::tempdir().unwrap();
    let dir = study_group(t.path(), "311", &[1.5, 2.0]);
    write_xz_trace(
        &dir.join("2024-02-21 14:13:00.csv.xz"),
        &[1.0, 2.0, 3.0, 2.0],
    );
    write_xz_trace(&dir.join("2024-02-21 14:16:00.csv.xz"), &[2.0; 10]);
    let cache = t.path().join("cache");
    let run = || {
        let out = bin()
            .arg("runs")
            .arg(&dir)
            .arg("--cache-dir")
            .arg(&cache)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let cold = run();
    assert!(
        std::fs::read_dir(&cache).unwrap().count() == 2,
        "one cache entry per trace"
    );
    let warm = run();
    assert_eq!(cold, warm);
    let rows: Vec<Value> = cold
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["label"], "3.11");
    assert_eq!(rows[0]["trace_power_avg_w"], 2.0);
    assert_eq!(rows[0]["samples"], 4);
    assert_eq!(rows[0]["trace_energy_j"], 8.0 / 10_000.0);
    assert_eq!(rows[1]["samples"], 10);
    // Changing a trace invalidates its entry.
    write_xz_trace(&dir.join("2024-02-21 14:16:00.csv.xz"), &[4.0; 3]);
    let changed: Vec<Value> = run()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(changed[1]["samples"], 3);
    assert_eq!(changed[1]["trace_power_avg_w"], 4.0);
}

#[test]
fn traces_alone_make_a_group() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("pypy3.9");
    std::fs::create_dir_all(&dir).unwrap();
    write_xz_trace(&dir.join("a.csv.xz"), &[1.0; 20_000]);
    std::fs::write(dir.join("b.csv"), ",MAIN_POWER\n0,3\n1,3\n").unwrap();
    let out = bin()
        .args(["runs", "--no-cache", "--format", "csv"])
        .arg(&dir)
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("pypy3.9,1,ok,1,2,2,1,2,20000,,,trace,"),
        "{}",
        lines[1]
    );
}

#[test]
fn truncated_xz_is_one_error_naming_the_file_or_a_failed_run_with_keep_going() {
    let t = tempfile::tempdir().unwrap();
    let dir = study_group(t.path(), "39", &[1.5, 1.6, 1.7]);
    write_xz_trace(&dir.join("1.csv.xz"), &[1.5; 1000]);
    write_xz_trace(&dir.join("2.csv.xz"), &[1.6; 1000]);
    let good = std::fs::read(dir.join("2.csv.xz")).unwrap();
    std::fs::write(dir.join("3.csv.xz"), &good[..good.len() / 2]).unwrap();
    bin()
        .args(["report", "--no-cache"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("3.csv.xz"))
        .stderr(predicate::str::contains("panicked").not());
    let out = bin()
        .args(["report", "--no-cache", "--keep-going", "--format", "json"])
        .arg(&dir)
        .assert()
        .success();
    let r = json(&out.get_output().stdout);
    assert_eq!(r["groups"][0]["runs_used"], 2);
    assert_eq!(r["groups"][0]["runs_failed"], 1);
    assert!(r["failed_runs"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("3.csv.xz"));
}

#[test]
fn csv_trace_without_main_power_or_with_text_names_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("g");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.csv"), ",MAIN_CURRENT,MAIN_VOLTAGE\n0,1,2\n").unwrap();
    bin()
        .args(["runs", "--no-cache"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("a.csv:1: no MAIN_POWER column"));
    std::fs::write(dir.join("a.csv"), ",MAIN_POWER\n0,1.5\n1,oops\n").unwrap();
    bin()
        .args(["runs", "--no-cache"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "a.csv:3: MAIN_POWER cell \"oops\"",
        ));
}

#[test]
fn log_block_without_main_power_names_the_line() {
    let t = tempfile::tempdir().unwrap();
    let dir = study_group(t.path(), "313", &[1.5, 1.6]);
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    let broken = log.replacen("MAIN_POWER: 1.1333, 1.7003, 1.5\n", "", 1);
    std::fs::write(dir.join("log.txt"), broken).unwrap();
    bin()
        .args(["report", "--no-cache"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "log.txt:5: block of line 5 has no MAIN_POWER line",
        ));
    bin()
        .args(["runs", "--no-cache", "--keep-going"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"status\":\"failed\""));
}

#[test]
fn mismatched_trace_and_log_counts_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let dir = study_group(t.path(), "38", &[1.5, 1.6]);
    write_xz_trace(&dir.join("only.csv.xz"), &[1.5; 10]);
    bin()
        .args(["runs", "--no-cache"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "2 runs in the log but 1 trace files",
        ));
}

fn record(label: &str, run: u32, power: f64, duration: f64, status: &str, meter: &str) -> String {
    serde_json::json!({
        "schema": "run/1", "label": label, "run": run, "started_at": "2026-01-01T00:00:00Z",
        "duration_s": duration, "recording_s": duration + 2.0, "sample_rate_hz": 10000.0,
        "samples": 100, "power_min_w": power, "power_max_w": power, "power_avg_w": power,
        "current_avg_a": power / 5.0, "voltage_avg_v": 5.0, "energy_j": power * duration,
        "trace_energy_j": power * duration, "meter": meter, "status": status,
        "load": {"requests": 1000, "errors": 0, "by_status": {"200": 1000}},
    })
    .to_string()
}

#[test]
fn run_records_modelled_failed_and_warmup_runs() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo-3.12");
    std::fs::create_dir_all(&dir).unwrap();
    let mut lines = vec![record("3.12", 0, 9.0, 100.0, "ok", "otii-sim")];
    for i in 1..=4 {
        lines.push(record(
            "3.12",
            i,
            1.0 + f64::from(i) * 0.01,
            100.0,
            "ok",
            "otii-sim",
        ));
    }
    lines.push(record("3.12", 5, 1.0, 100.0, "failed", "otii-sim"));
    std::fs::write(dir.join("runs.jsonl"), lines.join("\n") + "\n").unwrap();
    let base = [
        record("idle", 1, 0.5, 60.0, "ok", "otii-sim"),
        record("idle", 2, 0.7, 60.0, "ok", "otii-sim"),
    ];
    std::fs::write(dir.join("baseline.jsonl"), base.join("\n") + "\n").unwrap();
    let out = bin()
        .args(["report", "--format", "json", "--no-cache"])
        .arg(&dir)
        .assert()
        .success()
        .stderr(predicate::str::contains("MODELLED"));
    let r = json(&out.get_output().stdout);
    assert_eq!(r["modelled"], true);
    assert!(r["note"].as_str().unwrap().contains("not measured"));
    assert_eq!(r["groups"][0]["runs_used"], 4);
    assert_eq!(r["groups"][0]["runs_warmup"], 1);
    assert_eq!(r["groups"][0]["runs_failed"], 1);
    assert_eq!(r["failed_runs"][0]["run"], 5);
    // The idle baseline (mean 0.6 W) is reported and subtracted, never a group of its own.
    assert_eq!(r["groups"].as_array().unwrap().len(), 1);
    assert_eq!(r["baseline_power_w"]["count"], 2);
    let above = r["groups"][0]["energy_above_baseline_j"]["min"]
        .as_f64()
        .unwrap();
    assert!((above - (1.01 - 0.6) * 100.0).abs() < 1e-9, "{above}");
    let per_request = r["groups"][0]["energy_per_request_j"]["max"]
        .as_f64()
        .unwrap();
    assert!(
        (per_request - 1.04 * 100.0 / 1000.0).abs() < 1e-12,
        "{per_request}"
    );
    // One group: the across-group tests are not computable, said so, never NaN.
    assert_eq!(r["tests"]["anova"]["pvalue"], Value::Null);
    assert!(r["tests"]["anova"]["not_computable"]
        .as_str()
        .unwrap()
        .contains("at least 2 groups"));
    bin()
        .args(["report", "--no-cache"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("MODELLED DATA"))
        .stdout(predicate::str::contains("NaN").not());
}

#[test]
fn speed_adjust_fits_the_slope_adjusts_every_format_and_names_a_run_without_a_probe() {
    let t = tempfile::tempdir().unwrap();
    // Energy = c · probe^0.5 exactly (power × 100 s): β = 0.5, and every adjusted run of an
    // interpreter is c · p̃^0.5, p̃ the geometric mean of all six probes.
    let probes = [[1.0, 1.2, 0.9], [1.1, 0.95, 1.3]];
    let mut dirs = Vec::new();
    for ((label, c), ps) in [("3.8", 10.0), ("3.12", 12.0)].iter().zip(probes) {
        let dir = t.path().join(label);
        std::fs::create_dir_all(&dir).unwrap();
        let lines: Vec<String> = ps
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut v: Value = serde_json::from_str(&record(
                    label,
                    i as u32 + 1,
                    c * f64::sqrt(*p) / 100.0,
                    100.0,
                    "ok",
                    "otii-sim",
                ))
                .unwrap();
                v["speed_probe"] = serde_json::json!({"median_ms": p, "samples": 200});
                v.to_string()
            })
            .collect();
        std::fs::write(dir.join("runs.jsonl"), lines.join("\n") + "\n").unwrap();
        dirs.push(dir);
    }
    let out = bin()
        .args(["report", "--speed-adjust", "--format", "json", "--no-cache"])
        .args(&dirs)
        .assert()
        .success();
    let r = json(&out.get_output().stdout);
    assert!(
        (r["speed"]["beta"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{}",
        r["speed"]
    );
    assert_eq!(r["speed"]["runs"], 6);
    let gm = (probes.iter().flatten().map(|p: &f64| p.ln()).sum::<f64>() / 6.0).exp();
    for g in r["groups"].as_array().unwrap() {
        let c = if g["label"] == "3.8" { 10.0 } else { 12.0 };
        let want = c * gm.sqrt();
        for k in ["min", "max", "mean"] {
            let v = g["energy_j"][k].as_f64().unwrap();
            assert!(
                (v - want).abs() < 1e-9 * want,
                "{} {k}: {v} vs {want}",
                g["label"]
            );
        }
        assert!(g["energy_j"]["std"].as_f64().unwrap() < 1e-9);
    }
    let cvs = &r["speed"]["groups"];
    assert!(cvs[0]["cv_before_pct"].as_f64().unwrap() > 1.0);
    assert!(cvs[0]["cv_after_pct"].as_f64().unwrap() < 1e-6);
    // The Markdown and HTML reports say what was done; without the flag nothing is adjusted.
    for (format, heading) in [("markdown", "## Machine speed"), ("html", "id=\"speed\"")] {
        bin()
            .args(["report", "--speed-adjust", "--no-cache", "--format", format])
            .args(&dirs)
            .assert()
            .success()
            .stdout(predicate::str::contains(heading))
            .stdout(predicate::str::contains("β = 0.50"));
    }
    let raw = bin()
        .args(["report", "--format", "json", "--no-cache"])
        .args(&dirs)
        .assert()
        .success();
    let raw = json(&raw.get_output().stdout);
    assert_eq!(raw.get("speed"), None);
    assert!(raw["groups"][0]["energy_j"]["std"].as_f64().unwrap() > 0.1);
    // A run without a probe (a remote server's) is named, in one line, exit 1.
    let plain = t.path().join("3.13");
    std::fs::create_dir_all(&plain).unwrap();
    let lines = [1, 2].map(|i| record("3.13", i, 0.1, 100.0, "ok", "otii-sim"));
    std::fs::write(plain.join("runs.jsonl"), lines.join("\n") + "\n").unwrap();
    let out = bin()
        .args(["report", "--speed-adjust", "--no-cache"])
        .args(&dirs)
        .arg(&plain)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("3.13/runs.jsonl:1") && last.contains("no speed_probe"),
        "{err}"
    );
}

#[test]
fn trace_paths_in_a_run_record_file_are_relative_to_that_file() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo-3.12");
    let elsewhere = t.path().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut lines = Vec::new();
    for (run, p) in [(1, 1.0), (2, 3.0)] {
        let mut r: Value =
            serde_json::from_str(&record("3.12", run, p, 100.0, "ok", "otii")).unwrap();
        r["trace"] = format!("run{run}.csv.xz").into();
        lines.push(r.to_string());
        write_xz_trace(&dir.join(format!("run{run}.csv.xz")), &[p; 5]);
    }
    std::fs::write(dir.join("runs.jsonl"), lines.join("\n") + "\n").unwrap();
    // The same records as a group directory and as a file, both read from another directory.
    for input in [dir.clone(), dir.join("runs.jsonl")] {
        let out = bin()
            .current_dir(&elsewhere)
            .args(["runs", "--no-cache"])
            .arg(&input)
            .assert()
            .success();
        let rows: Vec<Value> = String::from_utf8(out.get_output().stdout.clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 2, "{}", input.display());
        assert_eq!(rows[0]["samples"], 5, "{}", input.display());
        assert_eq!(rows[1]["trace_power_avg_w"], 3.0, "{}", input.display());
    }
    // A trace that is gone: the run still counts, from its record, and a warning names it.
    std::fs::remove_file(dir.join("run2.csv.xz")).unwrap();
    let out = bin()
        .args(["runs", "--no-cache"])
        .arg(dir.join("runs.jsonl"))
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "warning: {}:2: trace {} not found",
            dir.join("runs.jsonl").display(),
            dir.join("run2.csv.xz").display()
        )));
    let rows: Vec<Value> = String::from_utf8(out.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["energy_j"], 300.0);
    assert!(rows[1]["trace_power_avg_w"].is_null(), "{}", rows[1]);
    assert!(rows[1]["samples"].is_null(), "{}", rows[1]);
}

#[test]
fn csv_run_table_on_stdin_with_group_selection() {
    let table = "label,power_w,duration_s\n3.9,1.5,100\n3.9,1.6,101\n3.9,1.55,99\n\
                 3.11,1.4,90\n3.11,1.45,91\n3.11,1.42,92\n3.8,2,1\n";
    let out = bin()
        .args(["report", "-", "--format", "json", "--groups", "3.11,3.9"])
        .write_stdin(table)
        .assert()
        .success();
    let r = json(&out.get_output().stdout);
    assert_eq!(r["groups"].as_array().unwrap().len(), 2);
    assert_eq!(r["groups"][0]["label"], "3.11");
    assert_eq!(
        r["groups"][1]["energy_j"]["max"].as_f64(),
        Some(1.6 * 101.0)
    );
    bin()
        .args(["report", "-", "--groups", "3.7"])
        .write_stdin(table)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no group \"3.7\""));
}

#[test]
fn modelled_flag_marks_measured_runs_in_every_output() {
    let table = "label,power_w,duration_s\n3.9,1.5,100\n3.9,1.6,101\n3.11,1.4,90\n3.11,1.45,91\n";
    for (format, says) in [
        ("json", "\"modelled\": true"),
        ("markdown", "> **MODELLED DATA"),
        ("latex", "% MODELLED DATA"),
        ("csv", "note,,,modelled,,\"MODELLED DATA"),
    ] {
        bin()
            .args(["report", "-", "--modelled", "--format", format])
            .write_stdin(table)
            .assert()
            .success()
            .stderr(predicate::str::contains("MODELLED"))
            .stdout(predicate::str::contains(says));
    }
    bin()
        .args(["runs", "-", "--modelled", "--format", "csv"])
        .write_stdin(table)
        .assert()
        .success()
        .stdout(predicate::str::contains(",false,").not())
        .stdout(predicate::str::contains(
            "3.11,1,ok,1.4,90,125.99999999999999,,,,,,table,-:4,true,",
        ));
}

#[test]
fn edge_cases_are_not_computable_entries_not_panics() {
    // Constant energies, a single run, two runs.
    let table = "label,power_w,duration_s\na,1,100\na,1,100\na,1,100\nb,2,50\nc,1,1\nc,1,2\n";
    let out = bin()
        .args(["report", "-", "--format", "json"])
        .write_stdin(table)
        .assert()
        .success();
    let r = json(&out.get_output().stdout);
    assert!(r["tests"]["shapiro"]["b"]["not_computable"].is_string());
    assert!(r["tests"]["shapiro"]["a"]["warning"]
        .as_str()
        .unwrap()
        .contains("range zero"));
    assert!(r["tests"]["anderson"]["a"]["not_computable"].is_string());
    assert_eq!(r["groups"][1]["energy_j"]["std"], Value::Null);
    bin()
        .args(["report", "-"])
        .write_stdin(table)
        .assert()
        .success();
    bin()
        .args(["report", "-", "--format", "latex"])
        .write_stdin(table)
        .assert()
        .success();
}

#[test]
fn a_group_whose_runs_all_failed_is_reported_empty_not_dropped() {
    let t = tempfile::tempdir().unwrap();
    let table = t.path().join("runs.jsonl");
    let mut lines: Vec<String> = (1..=3)
        .map(|i| record("3.9", i, 1.0 + f64::from(i) / 100.0, 90.0, "ok", "otii"))
        .collect();
    lines.push(record("3.11", 1, 1.0, 90.0, "failed", "otii"));
    std::fs::write(&table, lines.join("\n") + "\n").unwrap();
    let out = bin()
        .args(["report", "--format", "json"])
        .arg(&table)
        .assert()
        .success()
        .stderr(predicate::str::contains("no usable runs in group(s) 3.11"));
    let r = json(&out.get_output().stdout);
    assert_eq!(r["groups"][1]["energy_j"]["count"], 0);
    assert_eq!(r["groups"][1]["energy_j"]["mean"], Value::Null);
    assert!(r["tests"]["anova"]["not_computable"]
        .as_str()
        .unwrap()
        .contains("empty"));
    bin()
        .args(["report", "--format", "latex"])
        .arg(&table)
        .assert()
        .success()
        .stdout(predicate::str::contains("count & 3.000000 & 0.000000"));
}

#[test]
fn bad_usage_exits_2() {
    bin().args(["report"]).assert().code(2);
    bin()
        .args(["report", "x", "--variable", "nonsense"])
        .assert()
        .code(2);
    bin()
        .args(["report", "/nonexistent/dir/runs.csv"])
        .assert()
        .code(1);
}

#[test]
fn plots_are_written_as_svg_and_png() {
    let t = tempfile::tempdir().unwrap();
    let dir = study_group(t.path(), "312", &[1.5, 1.6, 1.55]);
    for (i, p) in [1.5, 1.6, 1.55].iter().enumerate() {
        let samples: Vec<f64> = (0..25_000)
            .map(|k| p + 0.1 * ((k / 2000) % 2) as f64)
            .collect();
        write_xz_trace(&dir.join(format!("{i}.csv.xz")), &samples);
    }
    let out_dir = t.path().join("fig");
    bin()
        .args(["plot", "--no-cache", "--out"])
        .arg(&out_dir)
        .arg(&dir)
        .assert()
        .success();
    for name in [
        "box_energy.svg",
        "box_power.svg",
        "box_duration.svg",
        "run_order.svg",
        "hist_3.12.svg",
        "trace_3.12_run1.svg",
        "mean_trace_3.12.svg",
        "mean_traces.svg",
    ] {
        let text = std::fs::read_to_string(out_dir.join(name)).unwrap();
        assert!(text.starts_with("<svg"), "{name}");
    }
    let svg = std::fs::read_to_string(out_dir.join("box_power.svg")).unwrap();
    assert!(svg.contains("mean power (W)"));
    let png_dir = t.path().join("png");
    bin()
        .args(["plot", "--no-cache", "--format", "png", "--out"])
        .arg(&png_dir)
        .arg(&dir)
        .assert()
        .success();
    let png = std::fs::read(png_dir.join("box_energy.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn log_parser_never_panics(text in "(Scenario took [0-9:.]{0,12}\n|MAIN_POWER: [0-9., a-z-]{0,20}\n|MAIN_CURRENT: [0-9., ]{0,12}\n|[ -~]{0,20}\n){0,12}") {
        let blocks = energy_stats::logtxt::parse_log(&text);
        for b in blocks {
            if let Ok(r) = b.result {
                prop_assert!(r.power_avg_w.is_finite() && r.duration_s.is_finite());
            }
        }
    }

    #[test]
    fn log_blocks_round_trip(runs in prop::collection::vec((0u32..3, 0u32..60, 0u32..60, 0u32..1_000_000, 0.5f64..3.0), 1..8)) {
        let mut text = String::from("$ time poetry run python main.py\n");
        for &(h, m, sec, micros, p) in &runs {
            text += &log_block(&format!("{h}:{m:02}:{sec:02}.{micros:06}"), p);
        }
        text += "real\t1m0.000s\n";
        let blocks = energy_stats::logtxt::parse_log(&text);
        prop_assert_eq!(blocks.len(), runs.len());
        for (b, &(h, m, sec, micros, p)) in blocks.iter().zip(&runs) {
            let r = b.result.as_ref().unwrap();
            prop_assert_eq!(r.power_avg_w, p);
            let want = f64::from(h) * 3600.0 + f64::from(m) * 60.0 + f64::from(sec) + f64::from(micros) / 1e6;
            prop_assert!((r.duration_s - want).abs() < 1e-9, "{} vs {}", r.duration_s, want);
        }
    }

    #[test]
    fn trace_values_round_trip(values in prop::collection::vec(-1e3f64..1e3, 1..200)) {
        let mut text = String::from(",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER\n");
        for (i, v) in values.iter().enumerate() {
            text += &format!("{i},0.1,5.0,{v:?}\n");
        }
        let s = energy_stats::trace::parse_trace(text.as_bytes(), Path::new("p.csv")).unwrap();
        prop_assert_eq!(s.samples, values.len() as u64);
        prop_assert_eq!(s.sum_w.to_bits(), energy_stats::numeric::np_sum(&values).to_bits());
        prop_assert_eq!(s.min_w, values.iter().copied().fold(f64::INFINITY, f64::min));
    }

    #[test]
    fn trace_parser_never_panics(body in "([0-9]{0,3},[-0-9.eE]{0,8}(,[0-9.]{0,4})?\r?\n){0,20}", header in prop::sample::select(vec![",MAIN_POWER\n", ",MAIN_CURRENT,MAIN_POWER\n", "x\n", ""])) {
        let text = format!("{header}{body}");
        if let Ok(s) = energy_stats::trace::parse_trace(text.as_bytes(), Path::new("p.csv")) {
            prop_assert!(s.samples > 0 && s.sum_w.is_finite());
        }
    }

    #[test]
    fn table_reader_never_panics(text in "(label,power_w,duration_s\n)?([a-z0-9.]{0,4},[-0-9.x]{0,5},[0-9.]{0,5}\n){0,10}") {
        let _ = energy_stats::input::read_csv_table(&text, "t.csv", &energy_stats::input::ReadOptions::default());
    }
}

/// A study with every kind of run the report distinguishes: run records with traces, a failed
/// and a warm-up run, an idle baseline, a label with a comma and a quote, a group from a log
/// with its traces, and a group of traces alone.
fn mixed_study(root: &Path) -> Vec<PathBuf> {
    let recorded = root.join("recorded 3.11");
    std::fs::create_dir_all(recorded.join("baseline")).unwrap();
    let mut lines = Vec::new();
    for (run, p, status) in [
        (0, 2.0, "ok"),
        (1, 1.21, "ok"),
        (2, 1.23, "ok"),
        (3, 1.22, "failed"),
        (4, 1.2, "ok"),
        (5, 1.24, "ok"),
    ] {
        let mut r: Value = serde_json::from_str(&record(
            "3.11",
            run,
            p,
            100.0 + f64::from(run),
            status,
            "otii",
        ))
        .unwrap();
        r["trace"] = format!("run {run}.csv.xz").into();
        if status == "failed" {
            r["reason"] = "the load reported 3 failed requests".into();
        }
        lines.push(r.to_string());
        write_xz_trace(&recorded.join(format!("run {run}.csv.xz")), &[p; 7]);
    }
    for run in 1..=3 {
        let odd = record(
            "pypy \"3,9\"",
            run,
            0.9 + f64::from(run) / 100.0,
            80.0,
            "ok",
            "otii",
        );
        lines.push(odd);
    }
    std::fs::write(recorded.join("runs.jsonl"), lines.join("\n") + "\n").unwrap();
    let mut idle: Value =
        serde_json::from_str(&record("3.11", 0, 0.5, 60.0, "ok", "otii")).unwrap();
    idle["trace"] = "baseline/idle.csv.xz".into();
    write_xz_trace(&recorded.join("baseline/idle.csv.xz"), &[0.5; 3]);
    let idle2 = record("3.11", 0, 0.7, 60.0, "ok", "otii");
    std::fs::write(
        recorded.join("baseline.jsonl"),
        format!("{idle}\n{idle2}\n"),
    )
    .unwrap();
    let logged = study_group(root, "312", &[1.30, 1.31, 1.29, 1.33]);
    for i in 0..4 {
        write_xz_trace(
            &logged.join(format!("{i}.csv.xz")),
            &[1.3 + f64::from(i) / 50.0; 9],
        );
    }
    let traced = root.join("3.13");
    std::fs::create_dir_all(&traced).unwrap();
    for i in 0..3 {
        write_xz_trace(
            &traced.join(format!("t{i}.csv.xz")),
            &[1.1 + f64::from(i) / 40.0; 20_000],
        );
    }
    vec![recorded, logged, traced]
}

/// `energy-stats ARGS` with its stdout piped into `energy-stats report - --format json`, both
/// real processes, the second in another directory.
fn piped_report(first: &[&str], inputs: &[PathBuf], elsewhere: &Path) -> Vec<u8> {
    let bin = assert_cmd::cargo::cargo_bin("energy-stats");
    let mut producer = std::process::Command::new(&bin)
        .args(first)
        .args(inputs)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let consumer = std::process::Command::new(&bin)
        .current_dir(elsewhere)
        .args(["report", "-", "--format", "json", "--no-cache"])
        .stdin(producer.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(producer.wait().unwrap().success());
    assert!(
        consumer.status.success(),
        "{}",
        String::from_utf8_lossy(&consumer.stderr)
    );
    consumer.stdout
}

#[test]
fn runs_piped_into_report_gives_every_figure_of_the_folders_in_both_formats() {
    let t = tempfile::tempdir().unwrap();
    let inputs = mixed_study(t.path());
    let elsewhere = t.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let direct = bin()
        .args(["report", "--format", "json", "--no-cache"])
        .args(&inputs)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let want = json(&direct);
    // The study is what it should be: every kind of run is in it.
    assert_eq!(want["groups"].as_array().unwrap().len(), 4);
    assert_eq!(want["groups"][0]["label"], "3.11");
    assert_eq!(want["groups"][0]["runs_warmup"], 1);
    assert_eq!(want["groups"][0]["runs_failed"], 1);
    assert_eq!(want["baseline_power_w"]["count"], 2);
    assert!(want["groups"][0]["trace_energy_j"].is_object());
    assert!(want["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["label"] == "pypy \"3,9\""));
    for format in ["jsonl", "csv"] {
        let piped = piped_report(
            &["runs", "--no-cache", "--format", format],
            &inputs,
            &elsewhere,
        );
        assert_eq!(json(&piped), want, "runs --format {format} | report -");
        assert_eq!(
            piped, direct,
            "runs --format {format} | report -: the same bytes"
        );
    }
}

#[test]
fn runs_read_back_into_runs_and_plot_unchanged() {
    let t = tempfile::tempdir().unwrap();
    let inputs = mixed_study(t.path());
    for format in ["jsonl", "csv"] {
        let table = bin()
            .args(["runs", "--no-cache", "--format", format])
            .args(&inputs)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        bin()
            .args(["runs", "-", "--no-cache", "--format", format])
            .write_stdin(table.clone())
            .assert()
            .success()
            .stdout(table.clone());
        let (from_dirs, from_pipe) = (
            t.path().join(format!("fig-{format}")),
            t.path().join(format!("pipe-{format}")),
        );
        bin()
            .args(["plot", "--no-cache", "--out"])
            .arg(&from_dirs)
            .args(&inputs)
            .assert()
            .success();
        bin()
            .args(["plot", "-", "--no-cache", "--out"])
            .arg(&from_pipe)
            .write_stdin(table)
            .assert()
            .success();
        let mut names: Vec<_> = std::fs::read_dir(&from_dirs)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert!(names.len() > 8, "{names:?}");
        for n in names {
            assert_eq!(
                std::fs::read(from_dirs.join(&n)).unwrap(),
                std::fs::read(from_pipe.join(&n)).unwrap(),
                "{n:?} ({format})"
            );
        }
    }
}

#[test]
fn a_label_with_a_comma_and_a_quote_is_quoted_in_csv_and_reads_back() {
    let t = tempfile::tempdir().unwrap();
    let inputs = mixed_study(t.path());
    let out = bin()
        .args(["runs", "--no-cache", "--format", "csv"])
        .arg(&inputs[0])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("\n\"pypy \"\"3,9\"\"\",1,ok,0.91,80,"),
        "{text}"
    );
    let back = bin()
        .args(["runs", "-", "--no-cache"])
        .write_stdin(text)
        .assert()
        .success();
    let rows: Vec<Value> = String::from_utf8(back.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["label"] != "3.11" || r["status"] == "baseline")
        .collect();
    assert_eq!(rows.len(), 3 + 2, "3 runs and the 2 baseline rows");
    assert_eq!(rows[0]["label"], "pypy \"3,9\"");
    assert_eq!(rows[0]["schema"], "energy-stats-run/1");
    assert_eq!(rows[3]["status"], "baseline");
}

#[test]
fn headline_is_one_sentence_per_interpreter_compared_with_the_first() {
    let t = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["report", "--format", "headline"])
        .args(study(t.path()))
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("CPython 3.10 used ")
            && lines[0].ends_with(" less energy per scenario than CPython 3.8"),
        "{text}"
    );
    assert!(lines[1].starts_with("CPython 3.12 used "), "{text}");
    let one = bin()
        .args(["report", "-", "--format", "headline", "--modelled"])
        .write_stdin("label,power_w,duration_s\n3.9,1.5,100\n3.9,1.6,101\n")
        .assert()
        .success();
    assert_eq!(
        String::from_utf8(one.get_output().stdout.clone()).unwrap(),
        "only one interpreter (CPython 3.9), or too few runs to compare — modelled\n"
    );
}

/// A pandas table numbers its runs from 0: every run is read, none is taken for a warm-up.
#[test]
fn a_table_numbered_from_zero_is_read_whole_and_left_out_runs_are_counted() {
    let table = "label,run,power_w,duration_s\n3.11,0,1.50,100\n3.11,1,1.52,100\n3.11,2,1.49,101\n\
                 3.12,0,1.40,100\n3.12,1,1.41,99\n3.12,2,1.39,100\n";
    let out = bin()
        .args(["report", "-", "--format", "json"])
        .write_stdin(table)
        .assert()
        .success()
        .stderr(predicate::str::contains("left out").not());
    let r = json(&out.get_output().stdout);
    for g in r["groups"].as_array().unwrap() {
        assert_eq!(g["runs_used"], 3, "{g}");
        assert_eq!(g["runs_warmup"], 0);
    }
    assert_eq!(r["left_out"].as_array().unwrap().len(), 0);
    // Only a status says warm-up; it is then counted on stderr and listed in every format.
    let marked = "label,run,status,power_w,duration_s\n3.11,0,warmup,2.0,100\n3.11,1,ok,1.5,100\n\
                  3.11,2,ok,1.52,100\n3.11,3,failed,1.5,100\n3.12,1,ok,1.4,100\n3.12,2,ok,1.41,100\n";
    for format in ["markdown", "json", "csv", "latex", "headline"] {
        let out = bin()
            .args(["report", "-", "--format", format])
            .write_stdin(marked)
            .assert()
            .success()
            .stderr(predicate::str::contains(
                "2 runs left out of the statistics (1 failed, 1 warm-up)",
            ));
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(
            text.contains("left out") || text.contains("left_out"),
            "{format}: {text}"
        );
    }
    let md = bin()
        .args(["report", "-"])
        .write_stdin(marked)
        .assert()
        .success();
    let md = String::from_utf8(md.get_output().stdout.clone()).unwrap();
    assert!(
        md.contains("## Runs left out\n\n- 3.11 run 0 (warmup"),
        "{md}"
    );
    assert!(md.contains("- 3.11 run 3 (failed"), "{md}");
    // Two runs per group: the Anderson–Darling table is named as not valid, in words.
    assert!(md.contains("not valid with 2 runs"), "{md}");
}

#[test]
fn plan_says_how_many_runs_tell_two_percent_apart() {
    let table = "label,power_w,duration_s\n3.11,1.50,100\n3.11,1.53,100\n3.11,1.47,100\n\
                 3.12,1.40,100\n3.12,1.43,100\n3.12,1.38,100\n";
    let out = bin()
        .args(["plan", "-"])
        .write_stdin(table)
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.starts_with("3.12 vs 3.11: to tell 2 % apart you need ")
            && text.contains(" runs per interpreter"),
        "{text}"
    );
    let json_out = bin()
        .args(["plan", "-", "--format", "json", "--difference", "5"])
        .write_stdin(table)
        .assert()
        .success();
    let p = json(&json_out.get_output().stdout);
    assert!(p["pairs"][0]["runs_to_detect"].as_u64().unwrap() >= 2);
    bin()
        .args(["plan", "-", "--power", "1.5"])
        .write_stdin(table)
        .assert()
        .code(2);
}
