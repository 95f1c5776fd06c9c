//! End to end: the experiment drives the real tools (MiniTwit under real gunicorn, otii-sim,
//! otii-capture, minitwit-load) and leaves data energy-stats reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use procs::{signal_process, Signal};
use records::{read_jsonl, RequestRecord, RunRecord, Status};

mod common;
use common::{alive, assert_trace_in_study_layout, files_ending, pypy_venv, runs};

struct Env {
    dir: tempfile::TempDir,
    seed: PathBuf,
}

fn env() -> Env {
    Env {
        dir: tempfile::tempdir().unwrap(),
        seed: testkit::seed_sql(),
    }
}

fn experiment(e: &Env, extra: &[&str]) -> Command {
    common::experiment(e.dir.path(), &e.seed, extra)
}

#[test]
fn a_shortened_demo_records_two_interpreters_that_energy_stats_reads() {
    let e = env();
    let cpython = format!("3.11={}", testkit::venv().display());
    let pypy = format!("pypy3.9={}", pypy_venv().display());
    let out = experiment(
        &e,
        &[
            "--interpreter",
            &cpython,
            "--interpreter",
            &pypy,
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "1",
            "--order",
            "interleaved",
            "--users",
            "3",
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "experiment failed:\n{stderr}");
    assert!(
        stderr.contains("[2/2]"),
        "a progress line per run:\n{stderr}"
    );
    assert!(stderr.contains("ETA"), "{stderr}");

    let outdir = e.dir.path().join("out");
    for folder in ["minitwit311", "pypy3.9"] {
        let group = outdir.join(folder);
        let recs = runs(&group);
        assert_eq!(recs.len(), 1, "{folder}");
        let r = &recs[0];
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.run, 1);
        assert_eq!(
            r.meter,
            records::Meter::OtiiSim,
            "the demo's power is modelled"
        );
        assert_eq!(r.power_model.as_deref(), Some("cpu"));
        let probe = r
            .speed_probe
            .as_ref()
            .expect("a local server's run carries speed_probe");
        assert!(probe.samples >= 1, "{r:?}");
        // The default workload: Python's, in the interpreter named on PATH as python3.
        assert!(
            probe
                .workload
                .as_deref()
                .is_some_and(|w| w.starts_with("python-dict-20000 CPython 3.")),
            "{probe:?}"
        );
        let load = r.load.as_ref().expect("load summary");
        assert_eq!(load.requests, 492, "{folder}: the study's 3 × 164 requests");
        assert_eq!(load.errors, 0);
        assert_eq!(load.by_status["404"], 120);
        assert!(
            r.duration_s > 0.0 && r.recording_s >= r.duration_s * 0.9,
            "{r:?}"
        );
        assert!((r.energy_j - r.power_avg_w * r.duration_s).abs() < 1e-9 * r.energy_j);
        let t = files_ending(&group, ".csv.xz");
        assert_eq!(
            t.len(),
            1,
            "{folder}: one trace per run, nothing else: {t:?}"
        );
        assert_eq!(r.trace.as_deref(), Some(t[0].as_str()));
        assert_trace_in_study_layout(&group.join(&t[0]), r.samples);
        let reqs: Vec<RequestRecord> = read_jsonl(
            BufReader::new(fs::File::open(group.join("requests/run-001.jsonl")).unwrap()),
            "requests",
        )
        .collect::<Result<_, _>>()
        .unwrap();
        assert_eq!(reqs.len(), 492);
        let baseline = fs::read_to_string(group.join("baseline.jsonl")).unwrap();
        assert_eq!(
            baseline.lines().count(),
            1,
            "one idle baseline per server start"
        );
    }
    // Nothing left running: the last gunicorn master is gone.
    let pid: i32 = fs::read_to_string(e.dir.path().join("work/gunicorn.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid as u32), "gunicorn {pid} still runs");

    // The data is what energy-stats reads: one run per interpreter, and a report.
    let groups = [outdir.join("minitwit311"), outdir.join("pypy3.9")];
    let st = energy_stats(
        ["runs".as_ref()]
            .into_iter()
            .chain(groups.iter().map(|g| g.as_os_str())),
    );
    let lines = String::from_utf8_lossy(&st);
    // `runs` lists the idle baselines after the runs (status "baseline"), one per server start.
    let status = |s: &str| {
        lines
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["status"] == s)
            .count()
    };
    assert_eq!(status("ok"), 2, "{lines}");
    assert_eq!(status("baseline"), 2, "{lines}");
    assert_eq!(lines.lines().count(), 4, "nothing else: {lines}");
    let rep = energy_stats(
        ["report".as_ref()]
            .into_iter()
            .chain(groups.iter().map(|g| g.as_os_str()))
            .chain(["--format".as_ref(), "markdown".as_ref()]),
    );
    let md = String::from_utf8_lossy(&rep);
    assert!(md.contains("3.11") && md.contains("pypy3.9"), "{md}");
}

#[test]
fn an_interrupted_experiment_resumes_without_duplicate_runs() {
    let e = env();
    let cpython = format!("3.11={}", testkit::venv().display());
    let args = [
        "--interpreter",
        &cpython,
        "--runs",
        "3",
        "--warmup",
        "0",
        "--baseline",
        "0",
        "--order",
        "blocked",
        "--users",
        "1",
    ];
    let mut child = experiment(&e, &args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n")
    });
    let first = e.dir.path().join("out/minitwit311/runs/run-001.json");
    let deadline = Instant::now() + Duration::from_secs(180);
    while !first.exists() {
        assert!(Instant::now() < deadline, "run 1 was never filed");
        assert!(
            child.try_wait().unwrap().is_none(),
            "experiment ended early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Half-way through run 2: interrupt like Ctrl-C does.
    std::thread::sleep(Duration::from_millis(1500));
    signal_process(child.id(), Signal::Interrupt).unwrap();
    let status = child.wait().unwrap();
    let log = log.join().unwrap();
    assert_eq!(status.code(), Some(130), "exit 130 on interruption:\n{log}");
    let pid: i32 = fs::read_to_string(e.dir.path().join("work/gunicorn.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !alive(pid as u32),
        "gunicorn {pid} left running after the interruption"
    );
    let group = e.dir.path().join("out/minitwit311");
    let before = runs(&group);
    assert!(
        !before.is_empty() && before.len() < 3,
        "interrupted mid-plan: {}",
        before.len()
    );
    assert_eq!(
        files_ending(&group, ".csv.xz").len(),
        before.len(),
        "no partial trace in the data"
    );

    let out = experiment(&e, &args).output().unwrap();
    let log2 = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "resume failed:\n{log2}");
    assert!(log2.contains("already recorded ok"), "{log2}");
    let after = runs(&group);
    let numbers: Vec<u32> = after.iter().map(|r| r.run).collect();
    assert_eq!(numbers, [1, 2, 3], "every planned run once");
    assert_eq!(after[0], before[0], "a finished run is never redone");
    assert_eq!(files_ending(&group, ".csv.xz").len(), 3);
    let ids: std::collections::BTreeSet<_> = after.iter().map(|r| r.trace.clone()).collect();
    assert_eq!(ids.len(), 3, "three distinct traces");
}

#[test]
fn a_changed_plan_is_refused_not_mixed_into_the_data() {
    let e = env();
    let cpython = format!("3.11={}", testkit::venv().display());
    let plan = experiment::Plan::new(&["3.11".to_owned()], 5, experiment::Order::Blocked, 1);
    plan.save(&e.dir.path().join("plan.json")).unwrap();
    let out = experiment(
        &e,
        &[
            "--interpreter",
            &cpython,
            "--runs",
            "2",
            "--order",
            "blocked",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("other parameters"), "{err}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = Command::new(testkit::bin("experiment"))
        .args([
            "run", "--plan", "p.json", "--out", "o", "--order", "sideways",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("blocked, interleaved or shuffled"), "{err}");
}

#[test]
fn a_warm_up_length_for_client_agents_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let out = Command::new(testkit::bin("experiment"))
        .arg("run")
        .arg("--plan")
        .arg(&plan)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args([
            "--trigger",
            "http://127.0.0.1:9/",
            "--python",
            "3.11",
            "--warmup-repeat",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "experiment: --warmup-repeat 1 is for the local load; client agents run the scenario as they were started"
    );
    assert!(!plan.exists(), "nothing written");
}

#[test]
fn a_warm_up_runs_the_scenario_warmup_repeat_times_and_a_run_repeat_times() {
    let e = env();
    // The workspace's tools, with minitwit-load behind a script that logs its arguments.
    let bins = e.dir.path().join("bin");
    fs::create_dir_all(&bins).unwrap();
    for tool in ["otii-sim", "otii-capture"] {
        std::os::unix::fs::symlink(testkit::bin(tool), bins.join(tool)).unwrap();
    }
    let log = e.dir.path().join("load-argv.log");
    let script = bins.join("minitwit-load");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            testkit::bin("minitwit-load").display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cpython = format!("3.11={}", testkit::venv().display());
    let out = common::experiment_with_bins(
        e.dir.path(),
        &e.seed,
        &bins,
        &[
            "--interpreter",
            &cpython,
            "--runs",
            "1",
            "--warmup",
            "1",
            "--baseline",
            "0",
            "--repeat",
            "2",
            "--warmup-repeat",
            "1",
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let argv = fs::read_to_string(&log).unwrap();
    // The loads (minitwit-load run); each follows a database reset (minitwit-load reset).
    let lines: Vec<&str> = argv.lines().filter(|l| l.starts_with("run ")).collect();
    assert_eq!(lines.len(), 2, "one warm-up and one run:\n{argv}");
    assert_eq!(
        argv.lines().filter(|l| l.starts_with("reset ")).count(),
        2,
        "{argv}"
    );
    assert!(
        lines[0].contains("--run-id warmup-3.11-1") && !lines[0].contains("--repeat"),
        "the warm-up: the scenario once per user\n{argv}"
    );
    assert!(
        lines[1].contains("--run-id 3.11-1") && lines[1].contains("--repeat 2"),
        "the run: twice per user\n{argv}"
    );
    let recs = runs(&e.dir.path().join("out").join("minitwit311"));
    assert_eq!(recs.len(), 1);
    assert_eq!(
        recs[0].load.as_ref().map(|l| l.requests),
        Some(2 * 492),
        "{:?}",
        recs[0]
    );
}

#[test]
fn a_speed_probe_interpreter_that_cannot_run_stops_the_experiment_before_it_starts() {
    let e = env();
    let cpython = format!("3.11={}", testkit::venv().display());
    let out = experiment(
        &e,
        &[
            "--interpreter",
            &cpython,
            "--runs",
            "1",
            "--probe-python",
            "/nonexistent/python3",
        ],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains("--probe-python /nonexistent/python3")
            && last.contains("--speed-probe builtin or off"),
        "{err}"
    );
    assert!(
        !e.dir.path().join("out").join("minitwit311").exists(),
        "nothing recorded"
    );
}

#[test]
fn a_failing_run_is_kept_apart_requeued_once_and_reported() {
    let e = env();
    // Registering as a seed user fails the scenario's first check ("The username is already
    // taken"), on every attempt.
    let seed = fs::read_to_string(&e.seed).unwrap();
    let taken = seed
        .lines()
        .find_map(|l| {
            l.strip_prefix("INSERT INTO user (user_id, username, email, pw_hash) VALUES (1, '")
        })
        .and_then(|rest| rest.split('\'').next())
        .expect("a first seed user")
        .to_owned();
    let cpython = format!("3.11={}", testkit::venv().display());
    let out = experiment(
        &e,
        &[
            "--interpreter",
            &cpython,
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--users",
            "1",
            "--load-arg",
            "--user",
            "--load-arg",
            &taken,
        ],
    )
    .output()
    .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "runs that failed every attempt fail the experiment:\n{log}"
    );
    assert!(
        log.contains("failed (attempt 1)") && log.contains("re-queued"),
        "{log}"
    );
    assert!(
        log.contains("failed (attempt 2, giving up)"),
        "re-queued once only:\n{log}"
    );
    let group = e.dir.path().join("out/minitwit311");
    assert!(
        runs(&group).is_empty(),
        "a failed run never enters runs.jsonl"
    );
    assert!(
        files_ending(&group, ".csv.xz").is_empty(),
        "nor its trace the group folder"
    );
    let failed = group.join("failed");
    let mut attempts: Vec<String> = fs::read_dir(&failed)
        .unwrap()
        .flatten()
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .collect();
    attempts.sort();
    assert_eq!(attempts, ["run-001-attempt-1", "run-001-attempt-2"]);
    for a in &attempts {
        let rec: RunRecord =
            serde_json::from_str(&fs::read_to_string(failed.join(a).join("run.json")).unwrap())
                .unwrap();
        assert_eq!(rec.status, Status::Failed);
        assert!(rec.reason.is_some(), "{a}: a failed run says why");
        let kept: Vec<_> = fs::read_dir(failed.join(a)).unwrap().flatten().collect();
        assert!(
            kept.iter()
                .any(|d| d.file_name().to_string_lossy().ends_with(".csv.xz")),
            "{a}: the trace is kept for diagnosis"
        );
    }
}

/// The load follows the users of the seed the local server was loaded with, whatever seed that
/// is (the study's dump.sql, the generated one, or this hand-written one with other names).
#[test]
fn the_load_follows_the_users_of_the_servers_own_seed() {
    let mut e = env();
    let names: Vec<String> = (1..=21).map(|i| format!("Seedling Number{i}")).collect();
    let mut sql = String::new();
    for (i, n) in names.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO user VALUES({},'{n}','s{}@example.org','h');\n",
            i + 1,
            i + 1
        ));
        sql.push_str(&format!(
            "INSERT INTO message VALUES({},{},'Note {} from a hand-written seed',1233065594,0);\n",
            i + 1,
            i + 1,
            i + 1
        ));
    }
    let seed = e.dir.path().join("other-seed.sql");
    fs::write(&seed, sql).unwrap();
    e.seed = seed;
    let cpython = format!("3.11={}", testkit::venv().display());
    let out = experiment(
        &e,
        &[
            "--interpreter",
            &cpython,
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--users",
            "1",
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "experiment failed:\n{stderr}");
    let group = e.dir.path().join("out/minitwit311");
    let recs = runs(&group);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].status, Status::Ok, "{:?}", recs[0]);
    let reqs: Vec<RequestRecord> = read_jsonl(
        BufReader::new(fs::File::open(group.join("requests/run-001.jsonl")).unwrap()),
        "requests",
    )
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(reqs.len(), 164, "the study's 164 requests of one user");
    let follows: Vec<&str> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/follow"))
        .map(|r| r.path.as_str())
        .collect();
    let wanted: Vec<String> = names[..20]
        .iter()
        .map(|n| format!("/{}/follow", n.replace(' ', "%20")))
        .collect();
    assert_eq!(
        follows, wanted,
        "the first 20 users of the server's seed, by id"
    );
}

/// The scheduling policy and real-time priority of `pid` (fields 41 and 40 of its stat).
fn policy(pid: u32) -> Option<(u32, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((rest.get(38)?.parse().ok()?, rest.get(37)?.parse().ok()?))
}

/// energy-stats with `args`; its stdout, once it succeeded (its stderr in the failure).
fn energy_stats<'a>(args: impl IntoIterator<Item = &'a OsStr>) -> Vec<u8> {
    let out = Command::new(testkit::bin("energy-stats"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The parent of `pid` (field 4 of its stat).
fn parent(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn realtime_priority_and_repeat_run_the_server_and_load_under_sched_fifo_and_check_n_times_the_counts(
) {
    if let Err(why) = procs::Priority::Realtime.check() {
        // Not root here: the experiment refuses with the same one-line reason, exit 2.
        let e = env();
        let cpython = format!("3.11={}", testkit::venv().display());
        let out = experiment(&e, &["--interpreter", &cpython, "--priority", "realtime"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{why}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("realtime priority"));
        return;
    }
    let e = env();
    let cpython = format!("3.11={}", testkit::venv().display());
    let mut child = experiment(
        &e,
        &[
            "--interpreter",
            &cpython,
            "--runs",
            "2",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--repeat",
            "2",
            "--priority",
            "realtime",
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // While it runs: the gunicorn master (its PID file) and a minitwit-load process are seen
    // under SCHED_FIFO 10.
    let pid_file = e.dir.path().join("work").join("gunicorn.pid");
    let experiment_pid = child.id();
    let want = (1, u32::from(procs::REALTIME_PRIORITY));
    let (mut server_seen, mut load_seen, mut probe_seen) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(120);
    while (server_seen.is_none() || load_seen.is_none() || probe_seen.is_none())
        && Instant::now() < deadline
    {
        if let Some(pid) = fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            server_seen = server_seen.or(policy(pid));
        }
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            let mut argv = cmdline.split('\0');
            // This experiment's load: minitwit-load run, a grandchild (through otii-capture).
            // Its argv[0] must be minitwit-load itself: before `chrt` has set the policy and
            // exec'd, the same process is `chrt --fifo 10 minitwit-load run …` under the
            // default policy, and reading it then is a race, not the load's policy.
            let is_load = argv
                .next()
                .is_some_and(|a| Path::new(a).file_name() == Some("minitwit-load".as_ref()))
                && argv.next() == Some("run");
            if is_load && parent(pid).and_then(parent) == Some(experiment_pid) {
                load_seen = load_seen.or(policy(pid));
            }
            // The speed probe: a Python child of the experiment, at the ordinary policy, so it
            // only takes what the server and load leave.
            if cmdline.contains("speed probe") && parent(pid) == Some(experiment_pid) {
                probe_seen = probe_seen.or(policy(pid));
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "experiment failed:\n{stderr}");
    assert!(stderr.contains("realtime priority"), "{stderr}");
    assert_eq!(server_seen, Some(want), "gunicorn's policy\n{stderr}");
    assert_eq!(load_seen, Some(want), "minitwit-load's policy\n{stderr}");
    assert_eq!(
        probe_seen,
        Some((0, 0)),
        "the speed probe's policy\n{stderr}"
    );
    let recs = runs(&e.dir.path().join("out").join("minitwit311"));
    assert_eq!(recs.len(), 2);
    for r in &recs {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let load = r.load.as_ref().expect("load summary");
        assert_eq!(
            load.requests,
            2 * 492,
            "each of 3 users ran the scenario twice"
        );
        assert_eq!(load.by_status["404"], 2 * 120);
        // The machine's speed, timed beside the run of a local server.
        let probe = r
            .speed_probe
            .as_ref()
            .expect("a local server's run carries speed_probe");
        assert!(
            probe.samples >= 10,
            "a 5 s run, a timing every 20 ms: {probe:?}"
        );
        assert!(
            probe.median_ms > 0.0 && probe.median_ms < 1000.0,
            "{probe:?}"
        );
    }
    // energy-stats adjusts the runs by it: β fitted, both runs reported.
    let group = e.dir.path().join("out").join("minitwit311");
    let rep = energy_stats(
        ["report", "--speed-adjust", "--format", "json"]
            .map(OsStr::new)
            .into_iter()
            .chain([group.as_os_str()]),
    );
    let v: serde_json::Value = serde_json::from_slice(&rep).unwrap();
    assert_eq!(v["speed"]["runs"], 2, "{}", v["speed"]);
    assert!(v["speed"]["beta"].as_f64().unwrap().is_finite());
    assert_eq!(v["speed"]["groups"][0]["label"], "3.11");
}
