//! Helpers shared by the experiment's integration tests: reading what an experiment filed.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use records::{read_jsonl, RunRecord};

/// `experiment run` on the local setup in `dir` (plan, results, work folder there), serving the
/// seed `seed`, with the workspace's MiniTwit and binaries, no cool-down and a 1 kHz meter;
/// `extra` adds the interpreters and the rest.
pub fn experiment(dir: &Path, seed: &Path, extra: &[&str]) -> Command {
    experiment_with_bins(dir, seed, &testkit::bin_dir(), extra)
}

/// [`experiment`] with the tools (otii-sim, otii-capture, minitwit-load) from `bin_dir`.
pub fn experiment_with_bins(dir: &Path, seed: &Path, bin_dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(testkit::bin("experiment"));
    cmd.arg("run")
        .arg("--plan")
        .arg(dir.join("plan.json"))
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--work-dir")
        .arg(dir.join("work"))
        .arg("--seed-sql")
        .arg(seed)
        .arg("--minitwit")
        .arg(testkit::root().join("minitwit"))
        .arg("--bin-dir")
        .arg(bin_dir)
        .args(["--cooldown", "0", "--rate", "1000"])
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

/// The PyPy venv with MiniTwit's pins (`CPE_PYPY_VENV`, made by `make test`).
pub fn pypy_venv() -> std::path::PathBuf {
    let v = std::env::var_os("CPE_PYPY_VENV").map(std::path::PathBuf::from).expect(
        "CPE_PYPY_VENV is not set: run it through `make test` (the PyPy venv with MiniTwit's pins)",
    );
    assert!(
        v.join("bin/gunicorn").exists(),
        "{}: no gunicorn; run `make test`",
        v.display()
    );
    v
}

/// The run records of a group folder's `runs.jsonl`.
pub fn runs(group: &Path) -> Vec<RunRecord> {
    let f = fs::File::open(group.join("runs.jsonl")).unwrap();
    read_jsonl(BufReader::new(f), "runs.jsonl")
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Names of the files in `dir` ending with `suffix`, sorted; none if `dir` does not exist.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A trace as the study stored it: xz-compressed CSV with the Otii's channel header and an
/// integer index, P = I × V, one line per sample, named after the recording's start time.
pub fn assert_trace_in_study_layout(path: &Path, samples: u64) {
    let mut text = String::new();
    xz2::read::XzDecoder::new(fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER"),
        "{}",
        path.display()
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[0], "0");
    let (i, v, p): (f64, f64, f64) = (
        first[1].parse().unwrap(),
        first[2].parse().unwrap(),
        first[3].parse().unwrap(),
    );
    assert!(
        (i * v - p).abs() < 1e-6 * p.abs().max(1.0),
        "P = I × V in {}",
        path.display()
    );
    assert_eq!(
        text.lines().count() as u64,
        samples + 1,
        "{}",
        path.display()
    );
    let name = path.file_name().unwrap().to_string_lossy();
    // The Otii names a recording after its start time: "YYYY-MM-DD HH:MM:SS".
    let stem = name.trim_end_matches(".csv.xz");
    assert!(
        stem.len() == 19 && &stem[10..11] == " ",
        "not YYYY-MM-DD HH:MM:SS: {name}"
    );
}

/// Whether a process runs. A zombie does not: dead, only not yet reaped by its parent (a
/// daemonized gunicorn's is PID 1, which may reap late).
pub fn alive(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // "pid (comm) state …": the state follows the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}
