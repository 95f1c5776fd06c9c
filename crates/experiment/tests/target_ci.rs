//! `run --target-ci`: Stein's two-stage rule on the local setup (real MiniTwit under gunicorn,
//! otii-sim, otii-capture, minitwit-load; one user, a shortened scenario). A target forces a
//! second stage, the plan file records the rule, and an interrupted first and second stage
//! resume: N is decided once, when the first stage completes, and no run is made twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use procs::{signal_process, Signal};

mod common;
use common::{files_ending, runs};

fn experiment(dir: &Path, extra: &[&str]) -> Command {
    common::experiment(dir, &testkit::seed_sql(), extra)
}

/// Two labels on the one CPython venv (a pair to compare, without a second interpreter's
/// start-up time), blocked, 3 runs of first stage, a target no spread reaches: capped at 5.
fn args(venv: &str, target: &str) -> Vec<String> {
    [
        "--interpreter",
        &format!("3.11={venv}"),
        "--interpreter",
        &format!("3.11-again={venv}"),
        "--runs",
        "3",
        "--target-ci",
        target,
        "--max-runs",
        "5",
        "--order",
        "blocked",
        "--warmup",
        "0",
        "--baseline",
        "0",
        "--users",
        "1",
        "--load-arg",
        "--cycles",
        "--load-arg",
        "0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Starts the experiment, waits until `ready(stderr so far)` and then interrupts it like
/// Ctrl-C; returns its stderr.
fn interrupt_when(dir: &Path, args: &[String], ready: impl Fn(&str) -> bool) -> String {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = experiment(dir, &argv)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let reader = {
        let log = Arc::clone(&log);
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = log.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(240);
    while !ready(&log.lock().unwrap()) {
        assert!(
            Instant::now() < deadline,
            "never ready:\n{}",
            log.lock().unwrap()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "experiment ended early:\n{}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_process(child.id(), Signal::Interrupt).unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let log = log.lock().unwrap().clone();
    assert_eq!(status.code(), Some(130), "exit 130 on interruption:\n{log}");
    log
}

fn plan_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap()
}

fn filed(dir: &Path, folder: &str, run: u32) -> bool {
    dir.join(format!("out/{folder}/runs/run-{run:03}.json"))
        .exists()
}

#[test]
fn a_target_adds_a_second_stage_recorded_in_the_plan_and_both_stages_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let venv = testkit::venv().display().to_string();
    let args = args(&venv, "0.01");

    // 1. Interrupted in the first stage: the plan holds the rule, nothing decided yet.
    let log1 = interrupt_when(dir, &args, |_| filed(dir, "3.11-again", 1));
    assert!(!log1.contains("first stage done"), "{log1}");
    let p = plan_json(dir);
    let rule = &p["stopping"];
    assert_eq!(rule["rule"], "stein-two-stage", "{p}");
    assert_eq!(rule["target_ci_pct"], 0.01);
    assert_eq!(rule["first_stage_runs"], 3);
    assert_eq!(rule["max_runs"], 5);
    assert!(rule.get("decision").is_none(), "decided too early: {p}");
    assert_eq!(p["entries"].as_array().unwrap().len(), 6);

    // 2. Resumed: the first stage completes, N is decided once (capped: no spread reaches
    //    ±0.01 %), two rounds are added; interrupted again inside the second stage.
    let log2 = interrupt_when(dir, &args, |log| {
        log.contains("first stage done") && filed(dir, "minitwit311", 4)
    });
    assert!(log2.contains("resuming the plan"), "{log2}");
    let line = log2
        .lines()
        .find(|l| l.contains("first stage done"))
        .unwrap();
    assert!(
        line.contains("to reach ±0.01 % need") && line.contains("(cap 5: capped); adding 2 rounds"),
        "{line}"
    );
    assert!(log2.contains("Stein's rule with t(2)"), "{log2}");
    let p = plan_json(dir);
    let d = &p["stopping"]["decision"];
    assert_eq!(d["runs"], 5, "{p}");
    assert_eq!(d["rounds_added"], 2);
    assert_eq!(d["capped"], true);
    assert_eq!(d["df"], 2);
    assert_eq!(d["pairs"], 1);
    assert_eq!(d["per_pair_alpha"], 0.05);
    assert!(d["runs_needed"].as_u64().unwrap() > 5);
    let spread = d["spread"].as_array().unwrap();
    assert_eq!(spread.len(), 2);
    for s in spread {
        assert_eq!(s["runs"], 3, "{s}");
        assert!(s["mean_energy_j"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["cv_pct"].as_f64().unwrap() >= 0.0, "{s}");
    }
    let entries: Vec<(String, u64)> = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["label"].as_str().unwrap().to_owned(),
                e["run"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(entries.len(), 10);
    assert_eq!(
        entries[6..],
        [
            ("3.11".to_owned(), 4),
            ("3.11".to_owned(), 5),
            ("3.11-again".to_owned(), 4),
            ("3.11-again".to_owned(), 5)
        ],
        "the added rounds in the plan's order rule (blocked)"
    );
    assert!(
        !filed(dir, "3.11-again", 5),
        "interrupted inside the second stage"
    );

    // 3. Resumed to the end: not decided again, every run once.
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = experiment(dir, &argv).output().unwrap();
    let log3 = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "resume failed:\n{log3}");
    assert!(log3.contains("already recorded ok"), "{log3}");
    assert!(!log3.contains("first stage done"), "decided once:\n{log3}");
    assert_eq!(
        plan_json(dir)["stopping"],
        p["stopping"],
        "the decision kept"
    );
    for folder in ["minitwit311", "3.11-again"] {
        let group: PathBuf = dir.join("out").join(folder);
        let numbers: Vec<u32> = runs(&group).iter().map(|r| r.run).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5], "{folder}: every run once");
        let traces = files_ending(&group, ".csv.xz");
        assert_eq!(traces.len(), 5, "{folder}: {traces:?}");
        let distinct: BTreeSet<_> = runs(&group).iter().map(|r| r.trace.clone()).collect();
        assert_eq!(distinct.len(), 5);
    }

    // 4. Another target is another experiment: refused, not mixed into this one.
    let changed = args
        .iter()
        .map(|a| if a == "0.01" { "0.02" } else { a.as_str() })
        .collect::<Vec<_>>();
    let out = experiment(dir, &changed).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("other parameters") && err.contains("--target-ci 0.01 --max-runs 5"),
        "{err}"
    );
}

#[test]
fn a_target_needs_a_first_stage_of_three_and_a_cap_above_it() {
    let tmp = tempfile::tempdir().unwrap();
    for (extra, want) in [
        (
            vec!["--runs", "2", "--target-ci", "1"],
            "at least 3 runs per interpreter",
        ),
        (
            vec!["--runs", "5", "--target-ci", "1", "--max-runs", "4"],
            "--max-runs 4 is below --runs 5",
        ),
        (vec!["--target-ci", "0"], "give a half-width above 0"),
        (vec!["--max-runs", "9"], "--target-ci"),
    ] {
        let mut a = vec!["--interpreter", "3.11=/nonexistent"];
        a.extend(extra);
        let out = experiment(tmp.path(), &a).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(want), "{a:?}: {err}");
    }
}
