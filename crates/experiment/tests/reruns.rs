//! Per-version reruns on the demo's local setup (real gunicorn + MiniTwit, real otii-sim, real
//! load, tiny runs): an experiment of two interpreters, one added later with a reference run
//! beside it, one recorded again; the plan's sessions, the folders, the archive, nothing lost
//! or duplicated, energy-stats' session and drift sections, and the Makefile's per-version
//! targets (`make -n` does nothing for a complete group).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use records::RunRecord;
use serde_json::Value;

mod common;
use common::{files_ending, pypy_venv, runs};

/// `experiment run` with two runs per interpreter of a shortened scenario, no warm-up or
/// baseline, the interpreters `interp` (LABEL=VENV) and `extra` flags.
fn run(dir: &Path, interp: &[String], extra: &[&str]) -> Output {
    let mut args: Vec<String> = Vec::new();
    for i in interp {
        args.push("--interpreter".into());
        args.push(i.clone());
    }
    args.extend(
        [
            "--runs",
            "2",
            "--order",
            "shuffled",
            "--seed",
            "3",
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
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    common::experiment(dir, &testkit::seed_sql(), &refs)
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{what} failed:\n{err}");
    err
}

fn plan(dir: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap()
}

/// `make -n` of a target with the Makefile's variable `var` set to `value`: what it would do.
fn make_n(var: &str, value: &Path, target: &Path) -> String {
    let out = Command::new("make")
        .arg("-n")
        .arg("-C")
        .arg(testkit::root())
        .arg(format!("{var}={}", value.display()))
        .arg(target)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "make -n {}:\n{text}",
        target.display()
    );
    text
}

/// Every run record filed under `dir` (current and archived), with the folder it is in.
fn all_records(out: &Path) -> Vec<(String, RunRecord)> {
    let mut v = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    if let Ok(a) = fs::read_dir(out.join("archive")) {
        dirs.extend(a.flatten().map(|e| e.path()));
    }
    for d in dirs.iter().filter(|d| d.join("runs.jsonl").exists()) {
        let name = d.strip_prefix(out).unwrap().display().to_string();
        for r in runs(d) {
            v.push((name.clone(), r));
        }
    }
    v
}

fn sessions_of(recs: &[RunRecord]) -> Vec<&str> {
    recs.iter()
        .map(|r| r.session.as_deref().unwrap_or("none"))
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn an_added_version_with_its_reference_and_a_redo_keep_every_run_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = dir.join("out");
    let cpython = format!("3.11={}", testkit::venv().display());
    let pypy = format!("pypy3.9={}", pypy_venv().display());
    // A second label on the same CPython venv: the mechanics (sessions, interleaving, the
    // archive) do not depend on which interpreter a label runs.
    let copy = format!("3.11-copy={}", testkit::venv().display());

    // 1. The experiment of two interpreters: session s1.
    ok(
        &run(dir, &[cpython.clone(), pypy.clone()], &[]),
        "the first session",
    );
    let p = plan(dir);
    assert_eq!(p["schema"], "plan/2");
    let s1 = &p["sessions"][0];
    assert_eq!(s1["id"], "s1");
    assert_eq!(s1["kind"], "first");
    assert_eq!(s1["labels"], serde_json::json!(["3.11", "pypy3.9"]));
    assert_eq!(
        (s1["runs"].as_u64(), s1["seed"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(s1["order"], "shuffled");
    assert!(s1["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(s1["finished_at"].as_str().is_some(), "{s1}");
    assert!(s1["tool_version"]
        .as_str()
        .unwrap()
        .starts_with("experiment "));
    for g in ["minitwit311", "pypy3.9"] {
        let recs = runs(&out.join(g));
        assert_eq!(sessions_of(&recs), ["s1", "s1"], "{g}");
        assert!(out.join(g).join("complete.json").exists(), "{g}");
    }
    let first_311 = runs(&out.join("minitwit311"));
    let first_pypy = runs(&out.join("pypy3.9"));

    // A complete group is up to date for make: `make -n` does nothing, for the experiment's
    // and the demo's per-version targets; a group not recorded would be (--only).
    let n = make_n("OUT", &out, &out.join("minitwit311"));
    assert!(n.contains("is up to date"), "{n}");
    assert!(!n.contains("experiment run"), "{n}");
    let n = make_n("DEMO", dir, &out.join("minitwit311"));
    assert!(
        n.contains("is up to date") && !n.contains("experiment run"),
        "{n}"
    );
    let n = make_n("DEMO", dir, &out.join("minitwit313"));
    assert!(
        n.contains("experiment run --plan") && n.contains("--only 3.13"),
        "a missing group is recorded with --only: {n}"
    );
    assert!(
        n.contains("--python 3.11 --python pypy3.9"),
        "the plan's interpreters: {n}"
    );

    // 2. Add a version: session s2, interleaved with the reference (default: the newest
    // CPython, 3.11), whose runs continue its numbering.
    let err = ok(
        &run(
            dir,
            &[cpython.clone(), pypy.clone(), copy.clone()],
            &["--add", "3.11-copy"],
        ),
        "--add",
    );
    assert!(err.contains("session s2: 3.11-copy added"), "{err}");
    let p = plan(dir);
    let s2 = &p["sessions"][1];
    assert_eq!(
        (s2["id"].as_str(), s2["kind"].as_str()),
        (Some("s2"), Some("add"))
    );
    assert_eq!(s2["reference"], "3.11");
    assert_eq!(s2["reference_runs"], 2);
    assert_eq!(s2["order"], "interleaved");
    let s2_entries: Vec<(String, u64)> = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["session"] == "s2")
        .map(|e| {
            (
                e["label"].as_str().unwrap().to_owned(),
                e["run"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        s2_entries,
        [
            ("3.11-copy".into(), 1),
            ("3.11".into(), 3),
            ("3.11-copy".into(), 2),
            ("3.11".into(), 4)
        ]
    );
    let r311 = runs(&out.join("minitwit311"));
    assert_eq!(r311.iter().map(|r| r.run).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(sessions_of(&r311), ["s1", "s1", "s2", "s2"]);
    assert_eq!(
        r311[..2],
        first_311[..],
        "the first session's runs untouched"
    );
    let rcopy = runs(&out.join("3.11-copy"));
    assert_eq!(sessions_of(&rcopy), ["s2", "s2"]);
    // Interleaved in time: new, reference, new, reference.
    let mut s2_runs: Vec<&RunRecord> = rcopy
        .iter()
        .chain(r311.iter().filter(|r| r.session.as_deref() == Some("s2")))
        .collect();
    s2_runs.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    let order: Vec<&str> = s2_runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(order, ["3.11-copy", "3.11", "3.11-copy", "3.11"]);
    assert!(out.join("minitwit311/complete.json").exists());
    assert!(out.join("3.11-copy/complete.json").exists());

    // 3. Redo pypy3.9: its set and plan entries go to the archive, session s3 records it anew.
    let err = ok(
        &run(
            dir,
            &[cpython.clone(), pypy.clone(), copy.clone()],
            &["--only", "pypy3.9", "--redo"],
        ),
        "--only --redo",
    );
    assert!(err.contains("moved to"), "{err}");
    let archived = out.join("archive/pypy3.9-s1");
    assert_eq!(runs(&archived), first_pypy, "the old set kept whole");
    assert_eq!(files_ending(&archived, ".csv.xz").len(), 2);
    assert_eq!(files_ending(&archived.join("requests"), ".jsonl").len(), 2);
    let redone = runs(&out.join("pypy3.9"));
    assert_eq!(sessions_of(&redone), ["s3", "s3"]);
    assert_eq!(redone.iter().map(|r| r.run).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(files_ending(&out.join("pypy3.9"), ".csv.xz").len(), 2);
    let p = plan(dir);
    let a = &p["archived"][0];
    assert_eq!(a["label"], "pypy3.9");
    assert_eq!(a["folder"], "archive/pypy3.9-s1");
    assert_eq!(a["replaced_by"], "s3");
    assert_eq!(a["entries"].as_array().unwrap().len(), 2);
    assert_eq!(p["sessions"][2]["kind"], "redo");
    assert_eq!(p["sessions"].as_array().unwrap().len(), 3);
    // Nothing lost or duplicated: 10 runs filed, each (folder, run) once, every trace distinct.
    let all = all_records(&out);
    assert_eq!(
        all.len(),
        2 + 2 + 4 + 2,
        "{:?}",
        all.iter().map(|(f, r)| (f, r.run)).collect::<Vec<_>>()
    );
    let keys: BTreeSet<(String, u32)> = all.iter().map(|(f, r)| (f.clone(), r.run)).collect();
    assert_eq!(keys.len(), all.len());
    let traces: BTreeSet<String> = all
        .iter()
        .map(|(f, r)| format!("{f}/{}", r.trace.clone().unwrap()))
        .collect();
    assert_eq!(traces.len(), all.len());
    for t in &traces {
        assert!(out.join(t).exists(), "{t}");
    }
    // The plan's current entries are exactly the current folders' runs.
    let entries = p["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2 + 4 + 2);

    // 4. The report: sessions, the drift of 3.11 between s1 and s2, the archive left out.
    let stats = |extra: &[&str]| -> String {
        let mut cmd = Command::new(testkit::bin("energy-stats"));
        cmd.arg("report");
        for g in ["minitwit311", "3.11-copy", "pypy3.9", "archive"] {
            cmd.arg(out.join(g));
        }
        let o = cmd.args(extra).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let json: Value = serde_json::from_str(&stats(&["--format", "json"])).unwrap();
    let groups: Vec<&str> = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["label"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["3.11", "3.11-copy", "3.11@s2", "pypy3.9"]);
    let ids: Vec<&str> = json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s1", "s2", "s3"]);
    assert!(json["sessions"][2]["note"]
        .as_str()
        .unwrap()
        .contains("unchecked"));
    let drift = &json["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1);
    let d = &drift[0];
    assert_eq!(
        (d["before"].as_str(), d["after"].as_str()),
        (Some("3.11"), Some("3.11@s2"))
    );
    assert_eq!(d["added"], serde_json::json!(["3.11-copy"]));
    let e = |s: &str| -> Vec<f64> {
        r311.iter()
            .filter(|r| r.session.as_deref() == Some(s))
            .map(|r| r.energy_j)
            .collect()
    };
    let want = 100.0 * (mean(&e("s2")) / mean(&e("s1")) - 1.0);
    let got = d["difference_pct"].as_f64().unwrap();
    assert!(
        (got - want).abs() < 1e-9 * want.abs().max(1.0),
        "{got} vs {want}"
    );
    let ci = d["interval_pct"].as_array().unwrap();
    let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
    assert!(lo < got && got < hi, "{lo} {got} {hi}");
    let verdict = d["verdict"].as_str().unwrap();
    assert_eq!(verdict == "drift", lo > 0.0 || hi < 0.0, "{d}");
    let md = stats(&["--format", "markdown"]);
    assert!(
        md.contains("## Sessions") && md.contains("| s2 | 3.11-copy (2), 3.11@s2 (2) |"),
        "{md}"
    );
    assert!(
        md.contains("## Drift of the reference between sessions"),
        "{md}"
    );
    assert!(md.contains("The reference 3.11 used"), "{md}");
    let html = stats(&["--format", "html"]);
    assert!(
        html.contains("id=\"sessions\"") && html.contains("id=\"drift\""),
        "the page has both sections"
    );
    let by: Value = serde_json::from_str(&stats(&["--format", "json", "--by-session"])).unwrap();
    let g: Vec<&str> = by["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["label"].as_str().unwrap())
        .collect();
    assert_eq!(g, ["3.11@s1", "3.11-copy@s2", "3.11@s2", "pypy3.9@s3"]);
    // Archived sets only on request, as groups of their own.
    let with = stats(&["--format", "json", "--include-archived"]);
    assert!(with.contains("\"pypy3.9@s1-archived\""), "{with}");
    let s3: Value = serde_json::from_str(&stats(&["--format", "json", "--session", "s2"])).unwrap();
    let g: Vec<&str> = s3["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["label"].as_str().unwrap())
        .collect();
    assert_eq!(g, ["3.11", "3.11-copy"], "session s2 alone");

    // Every group complete: make has nothing to do.
    for g in ["minitwit311", "3.11-copy", "pypy3.9"] {
        let n = make_n("OUT", &out, &out.join(g));
        assert!(
            n.contains("is up to date") && !n.contains("experiment run"),
            "{g}: {n}"
        );
    }
}

#[test]
fn only_records_one_interpreter_at_a_time_within_one_session() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = dir.join("out");
    let cpython = format!("3.11={}", testkit::venv().display());
    let pypy = format!("pypy3.9={}", pypy_venv().display());
    let both = [cpython, pypy];
    let err = ok(&run(dir, &both, &["--only", "3.11"]), "--only 3.11");
    assert!(
        err.contains("only 3.11 now (2 of the plan's 4 runs)"),
        "{err}"
    );
    assert_eq!(runs(&out.join("minitwit311")).len(), 2);
    assert!(!out.join("pypy3.9").exists());
    let p = plan(dir);
    assert!(
        p["sessions"][0].get("finished_at").is_none(),
        "s1 unfinished"
    );
    // The make target of the missing group would record it; the complete one is up to date.
    let n = make_n("DEMO", dir, &out.join("pypy3.9"));
    assert!(n.contains("--only pypy3.9"), "{n}");
    let n = make_n("DEMO", dir, &out.join("minitwit311"));
    assert!(!n.contains("experiment run"), "{n}");
    // No new session while one is unfinished.
    let refused = run(dir, &both, &["--only", "3.11", "--redo"]);
    assert_eq!(refused.status.code(), Some(2));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("session s1 is unfinished (2 runs to go)"),
        "{why}"
    );
    // An interpreter not in the experiment is named, with how to add it.
    let unknown = run(dir, &both, &["--only", "3.13"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--add 3.13"));
    // The rest of the same session.
    ok(&run(dir, &both, &["--only", "pypy3.9"]), "--only pypy3.9");
    let p = plan(dir);
    assert_eq!(p["sessions"].as_array().unwrap().len(), 1);
    assert!(p["sessions"][0]["finished_at"].as_str().is_some());
    for g in ["minitwit311", "pypy3.9"] {
        assert_eq!(sessions_of(&runs(&out.join(g))), ["s1", "s1"], "{g}");
    }
    // Resuming the finished experiment records nothing.
    let err = ok(&run(dir, &both, &[]), "resume");
    assert!(
        err.contains("4 of 4 runs already recorded ok; 0 to go"),
        "{err}"
    );
    // The morning summary names the session.
    let status = Command::new(testkit::bin("experiment"))
        .arg("status")
        .arg(dir.join("plan.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("session s1: first 3.11, pypy3.9, started 20")
            && text.contains("4 of 4 runs recorded"),
        "{text}"
    );
    let labels = Command::new(testkit::bin("experiment"))
        .args(["status", "--labels"])
        .arg(dir.join("plan.json"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&labels.stdout), "3.11\npypy3.9\n");
}
