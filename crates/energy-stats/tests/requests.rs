//! `energy-stats requests` and `export --parquet` through the binary: a synthetic results folder
//! with a known energy per endpoint (pulses of known power during known requests, overlapping
//! ones included), the Parquet dataset read back by pyarrow, and conservation on a real demo
//! run (experiment: MiniTwit under gunicorn, otii-sim, minitwit-load).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const RATE: f64 = 10_000.0;
const IDLE: f64 = 2.0;
const LOAD_START: f64 = 0.25;
/// SciPy: stats.t.ppf(0.975, 1).
const T_975_1: f64 = 12.706_204_736_174_698;

fn bin() -> Command {
    Command::new(testkit::bin("energy-stats"))
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One request of a synthetic run: its endpoint's method and path, status, start and end
/// sample on the recording's timeline, and the power its pulse adds.
struct Pulse {
    method: &'static str,
    path: &'static str,
    status: u16,
    from: usize,
    to: usize,
    watts: f64,
}

const fn p(
    method: &'static str,
    path: &'static str,
    status: u16,
    from: usize,
    to: usize,
    watts: f64,
) -> Pulse {
    Pulse {
        method,
        path,
        status,
        from,
        to,
        watts,
    }
}

/// The pulses of run `k` (1 or 2): run 2's are `scale` times run 1's. Overlapping requests
/// carry equal pulses, so the equal shares are each request's own pulse.
fn pulses(scale: f64) -> Vec<Pulse> {
    vec![
        p("GET", "/", 302, 3_000, 3_500, 3.0 * scale),
        p("GET", "/public", 200, 3_500, 4_000, 1.0 * scale),
        // Three in flight at once, of three endpoints.
        p("POST", "/add_message", 302, 5_000, 6_000, 0.5 * scale),
        p("GET", "/User%200", 200, 5_200, 5_800, 0.5 * scale),
        p("GET", "/User%201/follow", 302, 5_400, 5_600, 0.5 * scale),
        // Two of one endpoint overlapping.
        p("POST", "/add_message", 302, 7_000, 7_400, 1.5 * scale),
        p("POST", "/add_message", 302, 7_200, 7_600, 1.5 * scale),
        p(
            "GET",
            "/%3Crequests.sessions.Session%20object%3E",
            404,
            9_000,
            9_050,
            6.0 * scale,
        ),
        p("POST", "/login", 302, 11_000, 11_300, 2.0 * scale),
        p("GET", "/login", 200, 11_300, 11_400, 0.25 * scale),
        p("POST", "/register", 302, 12_000, 12_100, 4.0 * scale),
    ]
}

fn endpoint_of(q: &Pulse) -> &'static str {
    match (q.method, q.status) {
        (_, 404) => "404",
        ("POST", _) if q.path == "/add_message" => "POST /add_message",
        ("POST", _) if q.path == "/login" => "POST /login",
        ("POST", _) => "POST /register",
        _ if q.path == "/" => "GET /",
        _ if q.path == "/public" => "GET /public",
        _ if q.path == "/login" => "GET /login",
        _ if q.path.ends_with("/follow") => "GET /<user>/follow",
        _ => "GET /<user>",
    }
}

/// Known energy per endpoint of one run: (requests, joules).
fn truth(ps: &[Pulse]) -> BTreeMap<&'static str, (usize, f64)> {
    let mut m = BTreeMap::new();
    for q in ps {
        let e: &mut (usize, f64) = m.entry(endpoint_of(q)).or_default();
        e.0 += 1;
        e.1 += q.watts * (q.to - q.from) as f64 / RATE;
    }
    m
}

/// A results folder `root/folder` with two runs (plain CSV traces of 1.5 s at 10 kHz), their
/// request logs and, with `baseline`, an idle-baseline record of `IDLE` W.
fn group(root: &Path, folder: &str, label: &str, baseline: bool) -> PathBuf {
    let dir = root.join(folder);
    std::fs::create_dir_all(dir.join("requests")).unwrap();
    let mut runs = String::new();
    for (k, scale) in [(1u32, 1.0), (2, 1.4)] {
        let n = 15_000;
        let mut power = vec![IDLE; n];
        let ps = pulses(scale);
        for q in &ps {
            for v in &mut power[q.from..q.to] {
                *v += q.watts;
            }
        }
        // Work between requests: 0.5 W for 0.1 s.
        for v in &mut power[13_000..14_000] {
            *v += 0.5;
        }
        let mut csv = String::from(",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER\n");
        for (i, w) in power.iter().enumerate() {
            writeln!(csv, "{i},{},5.0,{w}", w / 5.0).unwrap();
        }
        let trace = format!("run{k}.csv");
        std::fs::write(dir.join(&trace), csv).unwrap();
        let mean = power.iter().sum::<f64>() / n as f64;
        writeln!(
            runs,
            r#"{{"schema":"run/1","label":"{label}","run":{k},"run_id":"{label}-{k}","started_at":"2026-01-01T10:0{k}:00.000Z","duration_s":1.2,"recording_s":1.5,"sample_rate_hz":10000,"samples":{n},"power_min_w":2,"power_max_w":9,"power_avg_w":{mean},"current_avg_a":0.4,"voltage_avg_v":5,"energy_j":1,"trace_energy_j":1,"trace":"{trace}","meter":"otii","status":"ok","load_start_s":{LOAD_START},"load_end_s":1.45}}"#
        )
        .unwrap();
        let mut reqs = String::new();
        for (i, q) in ps.iter().enumerate() {
            // start_s counts from the load's start; on sample boundaries of the recording.
            let start = q.from as f64 / RATE - LOAD_START;
            let latency_ms = (q.to - q.from) as f64 / RATE * 1000.0;
            writeln!(
                reqs,
                r#"{{"schema":"request/1","run_id":"{label}-{k}","client":"c","user":"u{}","seq":{},"method":"{}","path":"{}","status":{},"start_s":{start},"latency_ms":{latency_ms}}}"#,
                i % 3,
                i + 1,
                q.method,
                q.path,
                q.status
            )
            .unwrap();
        }
        std::fs::write(dir.join(format!("requests/run-00{k}.jsonl")), reqs).unwrap();
    }
    std::fs::write(dir.join("runs.jsonl"), runs).unwrap();
    if baseline {
        std::fs::write(
            dir.join("baseline.jsonl"),
            format!(
                r#"{{"schema":"run/1","label":"{label}","run":0,"started_at":"2026-01-01T10:00:00.000Z","duration_s":1,"recording_s":1,"sample_rate_hz":10000,"samples":10000,"power_min_w":2,"power_max_w":2,"power_avg_w":{IDLE},"current_avg_a":0.4,"voltage_avg_v":5,"energy_j":2,"trace_energy_j":2,"meter":"otii","status":"ok"}}"#
            ) + "\n",
        )
        .unwrap();
    }
    dir
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn known_pulses_are_recovered_per_endpoint_to_1e_9() {
    let tmp = tempfile::tempdir().unwrap();
    // One group with a baseline recording, one without (the trace's 5th percentile: IDLE too,
    // since most of each trace is idle).
    let a = group(tmp.path(), "minitwit312", "3.12", true);
    let b = group(tmp.path(), "minitwit313", "3.13", false);
    let out = run_ok(
        bin()
            .args(["requests", "--format", "json", "--cache-dir"])
            .arg(tmp.path().join("cache"))
            .arg(&a)
            .arg(&b),
    );
    let doc = json_of(&out);
    assert_eq!(doc["schema"], "requests/1");
    let (t1, t2) = (truth(&pulses(1.0)), truth(&pulses(1.4)));
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    for (g, rule) in groups.iter().zip(["baseline-recording", "trace-p5"]) {
        assert_eq!(g["runs"], 2);
        assert_eq!(g["baseline"][rule], 2, "{g}");
        assert_eq!(g["time_base"]["controller"], 2, "{g}");
        assert!((g["baseline_w"].as_f64().unwrap() - IDLE).abs() < 1e-12);
        assert!(g["max_conservation_error_j"].as_f64().unwrap() < 1e-9);
        assert_eq!(g["requests_outside"], 0);
        // Between requests: the 0.5 W × 0.1 s of work with none in flight.
        assert!((g["between_requests_j"].as_f64().unwrap() - 0.05).abs() < 1e-9);
        let rows = g["endpoints"].as_array().unwrap();
        assert_eq!(rows.len(), t1.len(), "{rows:?}");
        for row in rows {
            let ep = row["endpoint"].as_str().unwrap();
            let ((n1, e1), (n2, e2)) = (t1[ep], t2[ep]);
            let (m1, m2) = (e1 / n1 as f64, e2 / n2 as f64);
            let mean = (m1 + m2) / 2.0;
            let got = row["energy_per_request_j"].as_f64().unwrap();
            assert!((got - mean).abs() < 1e-9, "{ep}: {got} vs {mean}");
            assert_eq!(row["requests"], n1 + n2, "{ep}");
            // Two runs: x̄ ± t(0.975, 1) · s/√2, s = |m1 − m2|/√2.
            let h = T_975_1 * (m1 - m2).abs() / 2.0;
            assert!(
                (row["ci95_low_j"].as_f64().unwrap() - (mean - h)).abs() < 1e-9,
                "{ep}"
            );
            assert!(
                (row["ci95_high_j"].as_f64().unwrap() - (mean + h)).abs() < 1e-9,
                "{ep}"
            );
            // Latency: the requests' own durations (both runs alike).
            let durations: Vec<f64> = pulses(1.0)
                .iter()
                .filter(|q| endpoint_of(q) == ep)
                .map(|q| (q.to - q.from) as f64 / RATE * 1000.0)
                .collect();
            let lat = durations.iter().sum::<f64>() / durations.len() as f64;
            assert!(
                (row["latency_ms"].as_f64().unwrap() - lat).abs() < 1e-9,
                "{ep}"
            );
            // Share: the endpoint's energy ÷ the run's trace energy, averaged over the runs.
            let trace = |s: f64| {
                let ps = pulses(s);
                IDLE * 1.5
                    + 0.05
                    + ps.iter()
                        .map(|q| q.watts * (q.to - q.from) as f64 / RATE)
                        .sum::<f64>()
            };
            let share = 50.0 * (e1 / trace(1.0) + e2 / trace(1.4));
            assert!(
                (row["share_pct"].as_f64().unwrap() - share).abs() < 1e-9,
                "{ep}"
            );
        }
    }
    // Markdown and CSV say the same, -o writes a file.
    let md = run_ok(bin().args(["requests", "--no-cache"]).arg(&a));
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.contains("| `POST /add_message` | 6 |"), "{md}");
    assert!(md.contains("between requests"));
    let csv_file = tmp.path().join("t.csv");
    run_ok(
        bin()
            .args(["requests", "--no-cache", "--format", "csv", "-o"])
            .arg(&csv_file)
            .arg(&a),
    );
    let csv = std::fs::read_to_string(&csv_file).unwrap();
    assert!(csv.starts_with("label,endpoint,requests,runs,energy_per_request_j,"));
    assert_eq!(csv.lines().count(), 1 + t1.len() + 2, "{csv}");
    assert!(csv.contains("3.12,404,2,2,"), "{csv}");
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, want, code) in [
        (vec!["requests", "-"], "- (stdin)", 2),
        (vec!["export", "--parquet", "x", "-"], "- (stdin)", 2),
        (
            vec!["requests", "/nonexistent/minitwit312"],
            "not a folder",
            1,
        ),
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{err}");
    }
    // A folder without runs.jsonl, and a request log with a bad line.
    let empty = tmp.path().join("minitwit311");
    std::fs::create_dir_all(&empty).unwrap();
    let out = bin().arg("requests").arg(&empty).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no runs.jsonl"));
    let g = group(tmp.path(), "minitwit312", "3.12", true);
    std::fs::write(
        g.join("requests/run-002.jsonl"),
        "{\"schema\":\"request/1\"}\n",
    )
    .unwrap();
    let out = bin()
        .args(["requests", "--no-cache"])
        .arg(&g)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("run-002.jsonl") && err.lines().count() == 1,
        "{err}"
    );
}

/// A Python script run with the project's venv (pyarrow pinned in requirements-dev.txt).
fn python(script: &str, args: &[&Path]) -> String {
    let py = testkit::venv().join("bin/python");
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const READ_BACK: &str = r#"
import json, sys
import pyarrow as pa, pyarrow.dataset as ds
part = ds.partitioning(pa.schema([("label", pa.string()), ("run", pa.int64())]), flavor="hive")
out = {}
for table in ("samples", "runs", "requests"):
    t = ds.dataset(sys.argv[1] + "/" + table, format="parquet", partitioning=part).to_table()
    order = {"samples": "time_s", "requests": "seq", "runs": "run"}[table]
    out[table] = sorted(t.to_pylist(), key=lambda r: (r["label"], r["run"], r[order]))
json.dump(out, sys.stdout)
"#;

#[test]
fn the_parquet_dataset_reads_back_in_pyarrow_with_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let g = group(tmp.path(), "minitwit312", "3.12", true);
    let ds = tmp.path().join("dataset");
    let out = run_ok(
        bin()
            .args(["export", "--cache-dir"])
            .arg(tmp.path().join("cache"))
            .arg("--parquet")
            .arg(&ds)
            .arg(&g),
    );
    let files = String::from_utf8(out.stdout).unwrap();
    assert_eq!(files.lines().count(), 6, "{files}");
    assert!(
        files.contains("samples/label=3.12/run=1/part-0.parquet"),
        "{files}"
    );
    let back: Value = serde_json::from_str(&python(READ_BACK, &[&ds])).unwrap();
    // Samples: every sample of both traces, in order, with its label and run.
    let samples = back["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 30_000);
    for (k, scale) in [(1, 1.0), (2, 1.4)] {
        let rows: Vec<&Value> = samples.iter().filter(|r| r["run"] == k).collect();
        assert_eq!(rows.len(), 15_000);
        assert!(rows.iter().all(|r| r["label"] == "3.12"));
        let csv = std::fs::read_to_string(g.join(format!("run{k}.csv"))).unwrap();
        for (r, line) in rows.iter().zip(csv.lines().skip(1)) {
            let w: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
            assert_eq!(r["power_w"].as_f64().unwrap(), w);
        }
        assert_eq!(rows[10_000]["time_s"].as_f64().unwrap(), 1.0);
        // Requests: the request log's rows, each with its known energy.
        let reqs: Vec<&Value> = back["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["run"] == k)
            .collect();
        let log = std::fs::read_to_string(g.join(format!("requests/run-00{k}.jsonl"))).unwrap();
        assert_eq!(reqs.len(), log.lines().count());
        for ((r, line), q) in reqs.iter().zip(log.lines()).zip(pulses(scale)) {
            let rec: Value = serde_json::from_str(line).unwrap();
            for f in [
                "run_id",
                "user",
                "seq",
                "method",
                "path",
                "status",
                "start_s",
                "latency_ms",
            ] {
                if rec[f].is_number() {
                    assert_eq!(r[f].as_f64(), rec[f].as_f64(), "{f}");
                } else {
                    assert_eq!(r[f], rec[f], "{f}");
                }
            }
            assert_eq!(r["endpoint"], endpoint_of(&q));
            let want = q.watts * (q.to - q.from) as f64 / RATE;
            assert!((r["energy_j"].as_f64().unwrap() - want).abs() < 1e-9);
        }
    }
    // Runs: one row each, the attribution's parts adding up to the trace energy.
    let runs = back["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        let sum = r["attributed_j"].as_f64().unwrap()
            + r["between_requests_j"].as_f64().unwrap()
            + r["baseline_j"].as_f64().unwrap();
        assert!(
            (sum - r["trace_energy_j"].as_f64().unwrap()).abs() < 1e-9,
            "{r}"
        );
        assert_eq!(r["samples"], 15_000);
        assert_eq!(r["requests"], 11);
        assert_eq!(r["time_base"], "controller");
        assert_eq!(r["baseline_rule"], "baseline-recording");
    }
}

#[test]
fn a_real_demo_run_conserves_its_energy() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = format!("3.11={}", testkit::venv().display());
    let out = Command::new(testkit::bin("experiment"))
        .arg("run")
        .arg("--plan")
        .arg(tmp.path().join("plan.json"))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .arg("--work-dir")
        .arg(tmp.path().join("work"))
        .arg("--seed-sql")
        .arg(testkit::seed_sql())
        .arg("--minitwit")
        .arg(testkit::root().join("minitwit"))
        .arg("--bin-dir")
        .arg(testkit::bin_dir())
        .args(["--cooldown", "0", "--rate", "1000", "--interpreter", &venv])
        .args([
            "--runs",
            "2",
            "--warmup",
            "0",
            "--baseline",
            "1",
            "--users",
            "3",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "experiment failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let group = tmp.path().join("out/minitwit311");
    let cache = tmp.path().join("cache");
    let doc = json_of(&run_ok(
        bin()
            .args(["requests", "--format", "json", "--cache-dir"])
            .arg(&cache)
            .arg(&group),
    ));
    let g = &doc["groups"][0];
    assert_eq!(g["label"], "3.11");
    assert_eq!(g["runs"], 2);
    assert_eq!(g["modelled"], true);
    assert_eq!(
        g["baseline"]["baseline-recording"], 2,
        "the demo records a baseline"
    );
    let err = g["max_conservation_error_j"].as_f64().unwrap();
    assert!(err < 1e-9, "conservation error {err} J");
    let rows = g["endpoints"].as_array().unwrap();
    let count: u64 = rows.iter().map(|r| r["requests"].as_u64().unwrap()).sum();
    assert_eq!(count, 2 * 492, "every request of both runs");
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["endpoint"].as_str().unwrap())
        .collect();
    for ep in [
        "GET /",
        "GET /public",
        "POST /register",
        "GET /login",
        "POST /login",
        "POST /add_message",
        "GET /<user>/follow",
        "GET /<user>",
        "404",
    ] {
        assert!(names.contains(&ep), "{ep} missing from {names:?}");
    }
    let four04 = rows.iter().find(|r| r["endpoint"] == "404").unwrap();
    assert_eq!(four04["requests"], 2 * 120);
    // The shares add up to the whole run.
    let shares: f64 = rows
        .iter()
        .map(|r| r["share_pct"].as_f64().unwrap())
        .sum::<f64>()
        + g["between_requests_pct"].as_f64().unwrap()
        + g["baseline_pct"].as_f64().unwrap();
    assert!((shares - 100.0).abs() < 1e-9, "{shares}");
    // Under load the server's work is the requests': most energy is attributed.
    let attributed: f64 = rows.iter().map(|r| r["share_pct"].as_f64().unwrap()).sum();
    assert!(attributed > 50.0, "{attributed} % attributed");
    // Warm, from the Parquet store: the same table.
    let again = json_of(&run_ok(
        bin()
            .args(["requests", "--format", "json", "--cache-dir"])
            .arg(&cache)
            .arg(&group),
    ));
    assert_eq!(again, doc);
    assert!(std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .any(|e| e.path().extension().is_some_and(|x| x == "parquet")));
    // The figure is in the plots when request logs exist.
    let figs = tmp.path().join("figs");
    let out = run_ok(
        bin()
            .arg("plot")
            .arg(&group)
            .arg("--out")
            .arg(&figs)
            .env("ENERGY_STATS_CACHE", &cache),
    );
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(listed.contains("requests_energy.svg"), "{listed}");
    let svg = std::fs::read_to_string(figs.join("requests_energy.svg")).unwrap();
    assert!(
        svg.contains("POST /add_message") && svg.contains("3.11"),
        "labels in the figure"
    );
}
