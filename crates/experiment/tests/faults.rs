//! Issue 15, unattended overnight: on the local setup (real MiniTwit under gunicorn, otii-sim,
//! otii-capture, minitwit-load; one user, short scenarios, a 1 kHz meter) the meter and the
//! server going away are waited out and the interrupted run repeated, never counted as failed;
//! past a short `--patience` the experiment stops with its paragraph and a second start
//! completes the plan; the morning summary lists the faults; a full disk stops it with nothing
//! half-filed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use experiment::{Away, Summary};
use procs::{signal_process, Signal};
use records::{RunRecord, Status};
use testkit::SmallDisk;

mod common;
use common::{files_ending, runs};

/// The shortened local experiment: one interpreter, blocked, no warm-up or baseline, one user
/// and the scenario without its cycles, short waits between tries.
fn args(runs: u32, patience: &str, extra: &[&str]) -> Vec<String> {
    let venv = testkit::venv();
    let mut v: Vec<String> = [
        "--interpreter",
        &format!("3.11={}", venv.display()),
        "--runs",
        &runs.to_string(),
        "--order",
        "blocked",
        "--warmup",
        "0",
        "--baseline",
        "0",
        "--users",
        "1",
        "--patience",
        patience,
        "--max-backoff",
        "1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

fn short_scenario() -> [&'static str; 4] {
    ["--load-arg", "--cycles", "--load-arg", "0"]
}

fn experiment(dir: &Path, args: &[String]) -> Command {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    common::experiment(dir, &testkit::seed_sql(), &argv)
}

/// An experiment running in the background, its stderr collected as it comes.
struct Running {
    child: Child,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("| {line}");
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        Running {
            child,
            log,
            reader: Some(reader),
        }
    }

    fn wait_for_file(&mut self, path: &Path) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "{} never came:\n{}",
                path.display(),
                self.log.lock().unwrap()
            );
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "experiment ended early:\n{}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(180);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = signal_process(self.child.id(), Signal::Interrupt);
                panic!("experiment did not end:\n{}", self.log.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        let log = self.log.lock().unwrap().clone();
        (status.code(), log)
    }
}

/// An otii-sim (synthetic power) on 127.0.0.1:`port`, standing in for a remote meter.
fn start_sim(port: u16, dir: &Path, faults: &[&str]) -> Child {
    let mut cmd = Command::new(testkit::bin("otii-sim"));
    cmd.args(["--listen", &format!("127.0.0.1:{port}")]).args([
        "--model",
        "synthetic",
        "--rate",
        "1000",
    ]);
    for f in faults {
        cmd.args(["--fault", f]);
    }
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("otii-sim.log"))
        .unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "otii-sim exited");
        assert!(Instant::now() < deadline, "otii-sim did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn summary(dir: &Path) -> Summary {
    let text = fs::read_to_string(dir.join("plan.summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The run records filed under `failed/`: each an interrupted attempt of an infrastructure
/// fault, never a run's failure.
fn failed_attempts(group: &Path) -> Vec<RunRecord> {
    let mut v = Vec::new();
    for d in fs::read_dir(group.join("failed"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = fs::read_to_string(d.path().join("run.json")).unwrap();
        v.push(serde_json::from_str(&text).unwrap());
    }
    v
}

fn assert_only_infrastructure_attempts(group: &Path) {
    for r in failed_attempts(group) {
        assert_eq!(r.status, Status::Failed);
        let reason = r.reason.unwrap_or_default();
        assert!(
            reason.starts_with("infrastructure fault, run repeated (not counted"),
            "{reason}"
        );
    }
}

fn run_numbers(group: &Path) -> Vec<u32> {
    runs(group).iter().map(|r| r.run).collect()
}

#[test]
fn the_meter_gone_after_run_1_and_back_later_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let otii = format!("127.0.0.1:{port}");
    let mut sim = start_sim(port, dir.path(), &[]);
    let mut extra = vec!["--otii", &otii];
    extra.extend(short_scenario());
    let mut exp = Running::start(experiment(dir.path(), &args(3, "2m", &extra)));
    let group = dir.path().join("out/minitwit311");
    exp.wait_for_file(&group.join("runs/run-001.json"));
    kill(&mut sim);
    // Longer than otii-capture's own 10 s of connection attempts: the run meets the fault.
    std::thread::sleep(Duration::from_secs(13));
    let mut sim = start_sim(port, dir.path(), &[]);
    let (code, log) = exp.finish();
    kill(&mut sim);
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(run_numbers(&group), [1, 2, 3], "every run once:\n{log}");
    assert!(log.contains("0 failed"), "{log}");
    assert!(
        log.contains("experiment: waiting for the meter at"),
        "a progress line:\n{log}"
    );
    assert!(log.contains("is back after"), "{log}");
    assert_only_infrastructure_attempts(&group);
    let s = summary(dir.path());
    assert_eq!(s.faults.len(), 1, "{s:?}");
    let f = &s.faults[0];
    assert_eq!((f.away, f.recovered), (Away::Meter, true));
    assert_eq!(f.target, otii);
    assert!(f.cause.contains("unreachable"), "{}", f.cause);
    assert_eq!(f.repeated, ["3.11 run 2"]);
    assert!(f.duration_s >= 1.0 && f.lost_s >= f.duration_s, "{f:?}");
    assert_eq!((s.planned, s.recorded, s.runs_repeated), (3, 3, 1));
    assert!(log.contains("experiment:   fault 1: the meter at"), "{log}");
    assert!(log.contains("1 fault, 1 run repeated"), "{log}");
}

/// The children of `pid` named `comm`.
fn children_named(pid: u32, comm: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map_or("", |(_, n)| n);
        let ppid = rest.split_whitespace().nth(1).and_then(|x| x.parse().ok());
        if name == comm && ppid == Some(pid) {
            v.push(p);
        }
    }
    v
}

#[test]
fn the_local_otii_sim_that_died_is_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = Running::start(experiment(dir.path(), &args(2, "1m", &short_scenario())));
    let group = dir.path().join("out/minitwit311");
    exp.wait_for_file(&group.join("runs/run-001.json"));
    let sims = children_named(exp.child.id(), "otii-sim");
    assert_eq!(sims.len(), 1, "the experiment's own otii-sim");
    signal_process(sims[0], Signal::Kill).unwrap();
    let (code, log) = exp.finish();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains(&format!("the local otii-sim (pid {}) is gone", sims[0])),
        "{log}"
    );
    assert_eq!(run_numbers(&group), [1, 2]);
    assert!(log.contains("0 failed"), "{log}");
    let s = summary(dir.path());
    assert_eq!(s.faults.len(), 1, "{s:?}");
    assert_eq!(
        (s.faults[0].away, s.faults[0].recovered),
        (Away::Meter, true)
    );
}

#[test]
fn a_download_the_meter_drops_is_repeated_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let otii = format!("127.0.0.1:{port}");
    let mut sim = start_sim(port, dir.path(), &["drop-once-after-chunks:1"]);
    let mut extra = vec!["--otii", &otii];
    extra.extend(short_scenario());
    let out = experiment(dir.path(), &args(1, "1m", &extra))
        .output()
        .unwrap();
    kill(&mut sim);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let group = dir.path().join("out/minitwit311");
    assert_eq!(run_numbers(&group), [1]);
    assert_eq!(
        files_ending(&group, ".csv.xz").len(),
        1,
        "only the repeat's trace"
    );
    let attempts = failed_attempts(&group);
    assert_eq!(attempts.len(), 1, "the dropped attempt kept for diagnosis");
    assert_only_infrastructure_attempts(&group);
    let s = summary(dir.path());
    assert_eq!(s.faults.len(), 1);
    assert_eq!(s.faults[0].away, Away::Meter);
    assert!(
        s.faults[0].cause.contains("closed"),
        "{}",
        s.faults[0].cause
    );
    assert!(s.failed.is_empty());
}

/// A meter that answers every probe but drops every download: each repeat meets the fault
/// again. It is one fault, its patience counted from when it was first met, and the experiment
/// stops past it instead of repeating the run for ever.
#[test]
fn a_fault_met_again_at_every_repeat_is_one_fault_bounded_by_patience() {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let otii = format!("127.0.0.1:{port}");
    let mut sim = start_sim(port, dir.path(), &["drop-after-chunks:1"]);
    let mut extra = vec!["--otii", &otii];
    extra.extend(short_scenario());
    let t0 = Instant::now();
    let out = experiment(dir.path(), &args(1, "4s", &extra))
        .output()
        .unwrap();
    kill(&mut sim);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        t0.elapsed() < Duration::from_secs(90),
        "bounded by its patience"
    );
    assert!(log.contains("experiment: stopped: the meter at"), "{log}");
    assert!(log.contains("0 failed"), "{log}");
    assert!(
        log.matches("not measured, the meter at").count() >= 2,
        "repeated at least once:\n{log}"
    );
    let s = summary(dir.path());
    assert_eq!(s.faults.len(), 1, "one fault, however often met: {s:?}");
    assert!(!s.faults[0].recovered);
    assert!(s.faults[0].duration_s >= 4.0, "{:?}", s.faults[0]);
    assert_only_infrastructure_attempts(&dir.path().join("out/minitwit311"));
}

#[test]
fn gunicorn_killed_mid_run_is_restarted_under_the_same_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    // The full scenario of one user: long enough to kill gunicorn in its middle.
    let mut exp = Running::start(experiment(dir.path(), &args(3, "1m", &[])));
    let group = dir.path().join("out/minitwit311");
    exp.wait_for_file(&group.join("runs/run-001.json"));
    std::thread::sleep(Duration::from_millis(400));
    let pid_file = dir.path().join("work/gunicorn.pid");
    let pid: u32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    signal_process(pid, Signal::Kill).unwrap();
    let (code, log) = exp.finish();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(run_numbers(&group), [1, 2, 3]);
    assert!(log.contains("0 failed"), "{log}");
    assert_eq!(
        log.matches("experiment: MiniTwit runs under 3.11").count(),
        2,
        "restarted once, under the same interpreter:\n{log}"
    );
    let new_pid: u32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(new_pid, pid);
    assert_only_infrastructure_attempts(&group);
    let s = summary(dir.path());
    assert_eq!(s.faults.len(), 1, "{s:?}");
    assert_eq!(s.faults[0].away, Away::Server);
    // Killed during run 2, or (on a fast machine) just before run 3.
    assert_eq!(s.faults[0].repeated.len(), 1, "{s:?}");
    for r in runs(&group) {
        assert_eq!(r.load.as_ref().unwrap().errors, 0, "the repeat is whole");
    }
}

#[test]
fn the_meter_gone_past_patience_stops_cleanly_and_a_second_start_completes() {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let otii = format!("127.0.0.1:{port}");
    let mut sim = start_sim(port, dir.path(), &[]);
    let mut extra = vec!["--otii", &otii];
    extra.extend(short_scenario());
    let argv = args(2, "3s", &extra);
    let mut exp = Running::start(experiment(dir.path(), &argv));
    let group = dir.path().join("out/minitwit311");
    exp.wait_for_file(&group.join("runs/run-001.json"));
    kill(&mut sim);
    let (code, log) = exp.finish();
    assert_eq!(code, Some(1), "{log}");
    let paragraph = log
        .lines()
        .find(|l| l.starts_with("experiment: stopped: "))
        .unwrap_or_else(|| panic!("no paragraph:\n{log}"));
    assert!(
        paragraph.contains(&format!("the meter at {otii} has been unreachable since "))
            && paragraph.contains("1 of 2 runs are recorded")
            && paragraph.contains("continue with: ")
            && paragraph.contains("--patience 3s"),
        "{paragraph}"
    );
    assert!(log.contains("0 failed"), "{log}");
    assert_eq!(run_numbers(&group), [1]);
    assert_only_infrastructure_attempts(&group);
    let s = summary(dir.path());
    assert_eq!(s.faults.len(), 1);
    assert!(!s.faults[0].recovered && s.faults[0].until.is_none());
    // `experiment status` says the same.
    let out = Command::new(testkit::bin("experiment"))
        .args(["status", "--json"])
        .arg(dir.path().join("plan.json"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let status: Summary = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((status.recorded, status.faults.len()), (1, 1));

    // The meter is back; the same command completes the plan.
    let mut sim = start_sim(port, dir.path(), &[]);
    let out = experiment(dir.path(), &argv).output().unwrap();
    kill(&mut sim);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("1 of 2 runs already recorded ok"), "{log}");
    assert_eq!(run_numbers(&group), [1, 2], "no duplicates");
    assert_eq!(files_ending(&group, ".csv.xz").len(), 2);
    let s = summary(dir.path());
    assert_eq!(
        (s.recorded, s.faults.len()),
        (2, 1),
        "the earlier fault kept"
    );
    let out = Command::new(testkit::bin("experiment"))
        .arg("status")
        .arg(dir.path().join("plan.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 of 2 runs recorded"), "{text}");
    assert!(text.contains("fault 1: the meter at"), "{text}");
}

/// What a group folder holds that looks like data: traces, run records, request logs.
fn data_files(group: &Path) -> Vec<String> {
    let mut v = files_ending(group, ".csv.xz");
    v.extend(files_ending(&group.join("runs"), ".json"));
    v.extend(files_ending(&group.join("requests"), ".jsonl"));
    v
}

#[test]
fn a_full_disk_stops_the_experiment_with_the_run_not_recorded() {
    let Some(disk) = SmallDisk::mount("4m") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out_dir = disk.path().join("out");
    // The full scenario of one user: the disk fills while run 2 records.
    let argv = args(3, "1m", &[]);
    // The results on the small disk, the plan and the work folder not.
    fs::create_dir(&out_dir).unwrap();
    std::os::unix::fs::symlink(&out_dir, dir.path().join("out")).unwrap();
    let mut exp = Running::start(experiment(dir.path(), &argv));
    let group = out_dir.join("minitwit311");
    exp.wait_for_file(&group.join("runs/run-001.json"));
    // Run 1 filed whole (its runs.jsonl rewritten), then the disk full.
    while fs::read_to_string(group.join("runs.jsonl")).map_or(true, |t| t.lines().count() < 1) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = data_files(&group);
    disk.fill();
    let (code, log) = exp.finish();
    assert_eq!(code, Some(1), "{log}");
    let line = log
        .lines()
        .find(|l| l.starts_with("experiment: error: no space left on device"))
        .unwrap_or_else(|| panic!("no clear line:\n{log}"));
    assert!(
        line.contains("run 2") && line.contains("not recorded"),
        "{line}"
    );
    assert_eq!(run_numbers(&group), [1]);
    assert_eq!(
        data_files(&group),
        before,
        "nothing of run 2 looks complete"
    );
    assert!(
        !log.contains("failed (attempt"),
        "a full disk is not a run's failure:\n{log}"
    );
}

/// Filing itself meeting a full disk (the trace moved in, its record not writable): what was
/// placed is removed again, and the error says so.
#[test]
fn a_full_disk_while_filing_leaves_nothing_that_looks_complete() {
    let Some(disk) = SmallDisk::mount("256k") else {
        return;
    };
    let store = experiment::Store::open(disk.path()).unwrap();
    let staging = store.staging().unwrap();
    let trace = staging.join("2026-01-01 00:00:00.csv.xz");
    fs::write(&trace, vec![1u8; 4096]).unwrap();
    let requests = staging.join("requests.jsonl");
    fs::write(&requests, b"{}\n").unwrap();
    let rec: RunRecord = serde_json::from_value(sample_record()).unwrap();
    disk.fill();
    let err = store
        .file_ok(rec.clone(), Some(&trace), Some(&requests))
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.starts_with("no space left on device filing ") && msg.contains("not recorded"),
        "{msg}"
    );
    let group = store.group(&rec.label);
    assert!(
        data_files(group.path()).is_empty(),
        "{:?}",
        data_files(group.path())
    );
    assert!(store.done(&rec.label, rec.run).is_none());
}

fn sample_record() -> serde_json::Value {
    serde_json::json!({
        "schema": records::RUN_SCHEMA,
        "label": "3.11",
        "run": 4,
        "status": "ok",
        "started_at": "2026-01-01T00:00:00Z",
        "duration_s": 1.0,
        "recording_s": 1.0,
        "samples": 1000,
        "sample_rate_hz": 1000.0,
        "power_avg_w": 1.2,
        "power_min_w": 1.1,
        "power_max_w": 1.3,
        "current_avg_a": 0.24,
        "voltage_avg_v": 5.0,
        "energy_j": 1.2,
        "trace_energy_j": 1.2,
        "meter": "otii-sim"
    })
}
