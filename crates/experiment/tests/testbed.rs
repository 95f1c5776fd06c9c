//! End to end on the network-namespace testbed: `make experiment` against a server host with a
//! real sshd, provisioned and deployed by pi-provision, MiniTwit under real gunicorn started
//! and stopped over SSH per interpreter, otii-sim in the controller namespace standing in for
//! the Otii, and the load from the controller (`minitwit-load run --users 3`, the inventory
//! has no client hosts). The experiment is interrupted half-way (Ctrl-C to the whole process
//! group of make) and the same command resumes it to a complete plan with no duplicate run,
//! then `experiment-report` writes the report.
//!
//! Kept short for CI: one host, one interpreter (CPython 3.11 of `CPE_VENV`), two runs,
//! 1 kHz power channels, about 35 s. Needs root and the environment `make test` exports
//! (CPE_ROOT, CPE_VENV, CPE_BIN_DIR, and CPE_WHEELHOUSE: the wheels make downloaded once, which
//! `pi-provision wheelhouse` here builds its wheelhouse from, so no test step uses the network).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use procs::{signal_group, Signal};
use records::Status;
use testkit::netns::CTL_ADDR;
use testkit::Testbed;

mod common;
use common::{alive, assert_trace_in_study_layout, files_ending, runs};

/// The wheels make builds for the tests (`make provision-wheelhouse`): `CPE_WHEELHOUSE`, which
/// `make test` exports, or else where make puts them, `$CPE_ROOT/.deps/wheelhouse`.
fn wheel_source() -> PathBuf {
    let dir = match std::env::var_os("CPE_WHEELHOUSE") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => testkit::root().join(".deps/wheelhouse"),
    };
    assert!(
        dir.join(".stamp").is_file(),
        "no test wheelhouse in {} (CPE_WHEELHOUSE): run it through `make test` (it builds the \
         wheelhouse the testbed installs from, offline)",
        dir.display()
    );
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `pi-provision --inventory INV ARGS…` in the controller namespace; must succeed.
fn provision(tb: &Testbed, inv: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(testkit::bin("pi-provision"));
    cmd.arg("--inventory")
        .arg(inv)
        .args(args)
        .env("PI_PROVISION_SHELL_DIR", testkit::root().join("shell"));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = tb.run_in_ctl(cmd);
    eprintln!(
        "--- pi-provision {args:?}: {}\n{}",
        out.status,
        text(&out.stderr)
    );
    assert!(out.status.success(), "pi-provision {args:?} failed");
    out
}

/// The inventory: the server host only (debian profile, root over SSH with the testbed's key),
/// CPython 3.11 already installed, the Otii at the otii-sim in the controller namespace.
fn inventory(tb: &Testbed, known_hosts: &Path, python: &Path, otii_port: u16) -> PathBuf {
    let root = testkit::root();
    let server = tb.host("server");
    let inv = format!(
        "[testbed]\nknown_hosts = \"{}\"\nidentity = \"{}\"\nconnect_timeout_s = 5\nkeepalive_s = 1\n\n\
         [otii]\naddress = \"{CTL_ADDR}\"\nport = {otii_port}\n\n\
         [minitwit]\nport = 5000\nsource = \"{}\"\nseed_sql = \"{}\"\nwheelhouse = \"{}\"\n\n\
         [[interpreter]]\nversion = \"3.11\"\ninstall = \"system\"\ncommand = \"{}\"\n\n\
         [[host]]\nname = \"server\"\naddress = \"{}\"\nuser = \"root\"\nrole = \"server\"\n\
         os = \"debian\"\nbase = \"{}\"\n",
        known_hosts.display(),
        tb.identity().display(),
        root.join("minitwit").display(),
        root.join("data/minitwit/seed.sql").display(),
        tb.path("wheelhouse").display(),
        python.display(),
        server.addr,
        server.base().display(),
    );
    let p = tb.path("testbed.toml");
    fs::write(&p, inv).unwrap();
    p
}

/// otii-sim (synthetic power) on the controller's bridge address; returns its port.
fn start_otii_sim(tb: &Testbed) -> (std::process::Child, u16) {
    let port_file = tb.path("otii.port");
    let mut sim = Command::new(testkit::bin("otii-sim"));
    sim.args(["--listen", &format!("{CTL_ADDR}:0"), "--port-file"])
        .arg(&port_file)
        .args(["--model", "synthetic", "--rate", "1000"]);
    let mut child = tb
        .ctl_command(&sim)
        .stdout(Stdio::null())
        .stderr(fs::File::create(tb.path("otii-sim.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(p) = fs::read_to_string(&port_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return (child, p);
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "otii-sim exited: {}",
            fs::read_to_string(tb.path("otii-sim.log")).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "otii-sim did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `make -C $CPE_ROOT experiment …` with the test's parameters, as a command for the
/// controller namespace. The release binaries are the ones `make test` built (BIN), and
/// CARGO=true keeps the target's `build` step from running cargo on the target directory the
/// running `cargo test` holds; MAKEFLAGS of an outer make are not passed on.
fn make_experiment(tb: &Testbed, inv: &Path) -> Command {
    let mut cmd = Command::new("make");
    cmd.arg("-C")
        .arg(testkit::root())
        .arg("experiment")
        .arg(format!("INVENTORY={}", inv.display()))
        .arg(format!("OUT={}", tb.path("out").display()))
        .arg(format!("REPORT={}", tb.path("report").display()))
        .arg(format!("BIN={}", testkit::bin_dir().display()))
        .args([
            "RUNS=2",
            "WARMUP=0",
            "BASELINE=1",
            "COOLDOWN=0",
            "RATE=1000",
            "ORDER=blocked",
            "SEED=1",
            "CARGO=true",
        ])
        .env("PI_PROVISION_SHELL_DIR", testkit::root().join("shell"))
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    cmd
}

/// The gunicorn processes in the server's namespace.
fn gunicorn_on_server(tb: &Testbed) -> Vec<u32> {
    tb.pids_in("server")
        .into_iter()
        .filter(|p| {
            fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| text(&c).contains("gunicorn"))
                .unwrap_or(false)
        })
        .collect()
}

/// The server's status as `pi-provision server status` reports it.
fn server_running(tb: &Testbed, inv: &Path) -> bool {
    let out = provision(tb, inv, &["server", "status"], &[]);
    let st: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    st["running"].as_bool().unwrap()
}

#[test]
fn make_experiment_on_the_testbed_resumes_an_interruption_without_duplicates() {
    let root = testkit::root();
    let python = testkit::venv().join("bin/python");
    let wheels = wheel_source();
    assert!(
        root.join("data/minitwit/seed.sql").is_file(),
        "data/minitwit/seed.sql is missing: run it through `make test` (it makes the seed)"
    );
    let tb = Testbed::new(&[("server", 4)]);
    let kh = tb.known_hosts("known_hosts", &["server"]);
    let (mut sim, otii_port) = start_otii_sim(&tb);
    let inv = inventory(&tb, &kh, &python, otii_port);

    // The testbed as the guide sets it up: check, provision, wheelhouse, deploy.
    let out = provision(&tb, &inv, &["check"], &[]);
    assert!(text(&out.stdout).contains("\"host\":\"server\""));
    provision(&tb, &inv, &["provision"], &[]);
    // pip offline: the wheels come from the wheelhouse make built for the tests.
    provision(
        &tb,
        &inv,
        &["wheelhouse", "--python", python.to_str().unwrap()],
        &[
            ("PIP_NO_INDEX", Path::new("1")),
            ("PIP_FIND_LINKS", &wheels),
        ],
    );
    provision(&tb, &inv, &["deploy"], &[]);
    assert!(tb
        .host("server")
        .base()
        .join("minitwit311/bin/gunicorn")
        .is_file());

    // First invocation, interrupted during run 2 with a Ctrl-C to make's whole process group.
    let mut child = tb
        .ctl_command(&make_experiment(&tb, &inv))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pgid = child.id();
    let collect = |r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                eprintln!("| {line}");
                all.push_str(&line);
                all.push('\n');
            }
            all
        })
    };
    let out_log = collect(Box::new(child.stdout.take().unwrap()));
    let err_log = collect(Box::new(child.stderr.take().unwrap()));
    let group = tb.path("out/minitwit311");
    let first = group.join("runs/run-001.json");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !first.exists() {
        assert!(Instant::now() < deadline, "run 1 was never filed");
        assert!(
            child.try_wait().unwrap().is_none(),
            "make experiment ended before run 1 was filed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // MiniTwit serves run 2 from the server's namespace: gunicorn's master and workers.
    let serving = gunicorn_on_server(&tb);
    assert!(serving.len() >= 3, "gunicorn on the server: {serving:?}");
    std::thread::sleep(Duration::from_millis(300));
    signal_group(pgid, Signal::Interrupt).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "make experiment did not end after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = format!("{}{}", out_log.join().unwrap(), err_log.join().unwrap());
    assert!(!status.success(), "make succeeded despite the interruption");
    assert!(
        log.contains("experiment: error: interrupted; run the same command again"),
        "{log}"
    );
    assert!(
        log.contains("experiment] Error 130"),
        "experiment's exit status: {log}"
    );
    assert!(
        !log.contains("experiment: report in"),
        "no report after Ctrl-C: {log}"
    );
    // What the experiment started is stopped: MiniTwit on the server.
    assert!(
        !server_running(&tb, &inv),
        "MiniTwit still runs after Ctrl-C"
    );
    assert_eq!(gunicorn_on_server(&tb), Vec::<u32>::new());
    for pid in &serving {
        assert!(!alive(*pid), "gunicorn {pid} survived");
    }
    // Only complete runs in the data.
    let before = runs(&group);
    assert_eq!(before.len(), 1, "interrupted during run 2: {before:?}");
    assert_eq!(before[0].run, 1);
    assert_eq!(files_ending(&group, ".csv.xz").len(), before.len());
    assert_eq!(files_ending(&group.join("runs"), ".json").len(), 1);
    assert_eq!(files_ending(&group.join("requests"), ".jsonl").len(), 1);
    assert!(
        !group.join("failed").exists(),
        "an interruption is not a failed run"
    );
    let groups: Vec<String> = fs::read_dir(tb.path("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "plan.json")
        .collect();
    assert_eq!(groups, ["minitwit311"], "what energy-stats reads (OUT/*/)");

    // Second invocation: the same command completes the plan.
    let out = tb.run_in_ctl(make_experiment(&tb, &inv));
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    eprintln!("--- resumed make experiment: {}\n{log}", out.status);
    assert!(out.status.success(), "resume failed:\n{log}");
    assert!(log.contains("1 of 2 runs already recorded ok"), "{log}");
    let after = runs(&group);
    assert_eq!(
        after.iter().map(|r| r.run).collect::<Vec<_>>(),
        [1, 2],
        "every planned run once"
    );
    assert_eq!(after[0], before[0], "a finished run is never redone");
    let traces = files_ending(&group, ".csv.xz");
    assert_eq!(traces.len(), 2, "{traces:?}");
    for r in &after {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.label, "3.11");
        assert_eq!(r.meter, records::Meter::OtiiSim);
        assert_eq!(r.power_model.as_deref(), Some("synthetic"));
        let load = r.load.as_ref().expect("load summary");
        assert_eq!(load.requests, 492, "the study's 3 × 164 requests");
        assert_eq!(load.errors, 0);
        assert_eq!(load.by_status["404"], 120);
        assert!((r.energy_j - r.power_avg_w * r.duration_s).abs() < 1e-9 * r.energy_j.abs());
        let trace = r.trace.as_deref().expect("a trace");
        assert!(traces.iter().any(|t| t == trace), "{trace} not filed");
        assert!(r.samples > 0);
        assert_trace_in_study_layout(&group.join(trace), r.samples);
        let reqs =
            fs::read_to_string(group.join(format!("requests/run-{:03}.jsonl", r.run))).unwrap();
        assert_eq!(reqs.lines().count(), 492);
    }
    assert_ne!(after[0].trace, after[1].trace);
    let baselines = fs::read_to_string(group.join("baseline.jsonl")).unwrap();
    assert_eq!(
        baselines.lines().count(),
        2,
        "one idle baseline per server start (one per invocation)"
    );
    assert!(!server_running(&tb, &inv), "MiniTwit left running");
    assert_eq!(gunicorn_on_server(&tb), Vec::<u32>::new());

    // experiment-report ran on the data: both runs of the one group, and its figures.
    let report = tb.path("report");
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    let g = &json["groups"][0];
    assert_eq!(g["label"], "3.11", "{json}");
    assert_eq!(g["runs_used"], 2, "{json}");
    let mean = (after[0].energy_j + after[1].energy_j) / 2.0;
    let reported = g["energy_j"]["mean"].as_f64().unwrap();
    assert!(
        (reported - mean).abs() < 1e-9 * mean,
        "{reported} vs {mean}"
    );
    assert_eq!(json["modelled"], true, "otii-sim's power is modelled");
    let tex = fs::read_to_string(report.join("table.tex")).unwrap();
    assert!(tex.contains("\\begin{tabular}"), "{tex}");
    assert!(
        tex.contains("CPython 3.11") && tex.contains("count & 2.000000"),
        "{tex}"
    );
    let md = fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("3.11"), "{md}");
    assert!(!files_ending(&report.join("figures"), ".svg").is_empty());

    let _ = sim.kill();
    let _ = sim.wait();
}

/// Issue 15: the server host's link down for 20 s between two runs (a switch rebooting, a cable
/// pulled). The next run's database reset finds the server away (exit 75), the experiment waits
/// with back-off, restarts MiniTwit over SSH when the host is back, and completes the plan:
/// 0 failed, one fault (the server) in the summary.
#[test]
fn make_experiment_on_the_testbed_waits_out_the_servers_link_down() {
    let root = testkit::root();
    let python = testkit::venv().join("bin/python");
    let wheels = wheel_source();
    assert!(root.join("data/minitwit/seed.sql").is_file());
    let tb = Testbed::new(&[("server", 5)]);
    let kh = tb.known_hosts("known_hosts", &["server"]);
    let (mut sim, otii_port) = start_otii_sim(&tb);
    let inv = inventory(&tb, &kh, &python, otii_port);
    provision(&tb, &inv, &["provision"], &[]);
    provision(
        &tb,
        &inv,
        &["wheelhouse", "--python", python.to_str().unwrap()],
        &[
            ("PIP_NO_INDEX", Path::new("1")),
            ("PIP_FIND_LINKS", &wheels),
        ],
    );
    provision(&tb, &inv, &["deploy"], &[]);

    // A pause after run 1, in which the link goes down: run 2's reset meets it.
    let mut make = make_experiment(&tb, &inv);
    make.args(["BASELINE=0", "COOLDOWN=4", "PATIENCE=3m"]);
    let mut child = tb
        .ctl_command(&make)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let collect = |r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                eprintln!("| {line}");
                all.push_str(&line);
                all.push('\n');
            }
            all
        })
    };
    let out_log = collect(Box::new(child.stdout.take().unwrap()));
    let err_log = collect(Box::new(child.stderr.take().unwrap()));
    let group = tb.path("out/minitwit311");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !group.join("runs/run-001.json").exists() {
        assert!(Instant::now() < deadline, "run 1 was never filed");
        assert!(child.try_wait().unwrap().is_none(), "make ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    tb.set_link("server", false);
    std::thread::sleep(Duration::from_secs(20));
    tb.set_link("server", true);
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "make experiment did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = format!("{}{}", out_log.join().unwrap(), err_log.join().unwrap());
    assert!(status.success(), "{log}");
    assert!(log.contains("0 failed"), "{log}");
    assert!(
        log.contains("experiment: waiting for the server at"),
        "{log}"
    );
    assert_eq!(
        runs(&group).iter().map(|r| r.run).collect::<Vec<_>>(),
        [1, 2]
    );
    let summary: experiment::Summary =
        serde_json::from_str(&fs::read_to_string(tb.path("out/plan.summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary.faults.len(), 1, "{summary:?}");
    assert_eq!(summary.faults[0].away, experiment::Away::Server);
    assert!(summary.faults[0].recovered);
    assert!(
        summary.faults[0].duration_s >= 5.0,
        "{:?}",
        summary.faults[0]
    );
    assert!(!server_running(&tb, &inv), "MiniTwit left running");
    let _ = sim.kill();
    let _ = sim.wait();
}
