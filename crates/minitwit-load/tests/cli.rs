#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Drives the `minitwit-load` binary against real MiniTwit servers (real gunicorn on
//! loopback, one server and database per test, from `testkit`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use minitwit_load::seed::{user_names, DEFAULT_SEED};
use predicates::prelude::*;
use records::{read_jsonl, RequestRecord};
use serde_json::Value;

fn load() -> Command {
    Command::cargo_bin("minitwit-load").unwrap()
}

/// The output of a command that must have succeeded (its stderr is the failure message).
fn succeeded(out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes the default seed SQL into `dir` with the binary and returns its path.
fn seed_file(dir: &Path) -> PathBuf {
    let out = succeeded(load().arg("seed").output().unwrap());
    let path = dir.join("seed.sql");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

fn sqlite_count(db: &Path, query: &str) -> i64 {
    let py = testkit::venv().join("bin/python");
    let out = StdCommand::new(py)
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
        ])
        .arg(db)
        .arg(query)
        .output()
        .unwrap();
    let out = succeeded(out);
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn seed_sql_loads_through_cleardb_with_the_study_counts() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_file(dir.path());
    let server = testkit::MiniTwit::builder().seed(&seed).start();
    let (status, _) = testkit::http_get(&format!("{}/cleardb", server.base_url())).unwrap();
    assert_eq!(status, 302, "{}", server.log());
    let db = server.db_path();
    assert_eq!(sqlite_count(&db, "select count(*) from user"), 200);
    assert_eq!(sqlite_count(&db, "select count(*) from message"), 11306);
    assert_eq!(sqlite_count(&db, "select count(*) from follower"), 6265);
    assert_eq!(
        sqlite_count(
            &db,
            "select count(*) from (select distinct who_id, whom_id from follower)"
        ),
        6265
    );
    assert_eq!(
        sqlite_count(&db, "select count(distinct who_id) from follower"),
        197
    );
    let names = user_names(DEFAULT_SEED);
    let (status, body) = testkit::http_get(&format!(
        "{}/{}",
        server.base_url(),
        names[0].replace(' ', "%20")
    ))
    .unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(&names[0]),
        "the first seed user's page names them"
    );
}

#[test]
fn seed_is_deterministic_and_depends_on_the_seed() {
    let a = load()
        .args(["seed", "--seed", "7"])
        .output()
        .unwrap()
        .stdout;
    let b = load()
        .args(["seed", "--seed", "7"])
        .output()
        .unwrap()
        .stdout;
    let c = load()
        .args(["seed", "--seed", "8"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(String::from_utf8_lossy(&a).contains("pbkdf2:sha256:50000$"));
}

#[test]
fn seed_rejects_a_bad_seed_with_usage_exit_2() {
    load()
        .args(["seed", "--seed", "many"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--seed"));
}

#[test]
fn seed_users_can_log_in_with_the_documented_password() {
    use minitwit_load::http::{Client, Session, Timeouts};
    use minitwit_load::url::{encode_form, HttpUrl};
    let server = testkit::MiniTwit::builder()
        .seed(testkit::seed_sql())
        .start();
    testkit::http_get(&format!("{}/cleardb", server.base_url())).unwrap();
    let url = HttpUrl::parse(&server.base_url(), false).unwrap();
    let t = Timeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_secs(60),
    };
    let client = Client::new(&url, t).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let name = &user_names(DEFAULT_SEED)[7];
    for (password, status) in [("wrong", 200), ("minitwit", 302)] {
        let form = encode_form(&[("username", name), ("password", password)]);
        let r = client
            .send(&mut Session::new(), "POST", "/login", Some(&form), &stop)
            .unwrap();
        assert_eq!(r.status, status, "login as {name:?} with {password:?}");
    }
}

// ---- the scenario against real MiniTwit ---------------------------------------------------

const SESSION_REPR: &str = "<session repr>";

/// The study's sequence for one user, written out from the scenario spec (independently of
/// the library's plan): (step, method, path, status).
fn expected_sequence(
    user: &str,
    fixed: bool,
    cycles: usize,
) -> Vec<(&'static str, &'static str, String, u16)> {
    let follow = user_names(DEFAULT_SEED);
    let mut v = Vec::new();
    let private = |step| {
        if fixed {
            (step, "GET", "/".to_owned(), 200)
        } else {
            (step, "GET", SESSION_REPR.to_owned(), 404)
        }
    };
    for _ in 0..10 {
        v.push(("1", "GET", "/".to_owned(), 302));
        v.push(("1", "GET", "/public".to_owned(), 200));
    }
    v.push(("2", "POST", "/register".to_owned(), 302));
    v.push(("2", "GET", "/login".to_owned(), 200));
    v.push(("3", "POST", "/login".to_owned(), 302));
    v.push(("3", "GET", "/".to_owned(), 200));
    let tweets = |v: &mut Vec<_>, step| {
        for _ in 0..10 {
            v.push((step, "POST", "/add_message".to_owned(), 302));
            v.push((step, "GET", "/".to_owned(), 200));
        }
    };
    tweets(&mut v, "4");
    for c in 0..cycles {
        for name in &follow[10 * c..10 * c + 10] {
            let enc = name.replace(' ', "%20");
            v.push(("5a", "GET", format!("/{enc}/follow"), 302));
            v.push(("5a", "GET", format!("/{enc}"), 200));
            v.push(private("5a"));
        }
        for _ in 0..10 {
            v.push(private("5b"));
        }
        tweets(&mut v, "5c");
    }
    let _ = user;
    v
}

fn parse_records(raw: &[u8]) -> Vec<RequestRecord> {
    read_jsonl(raw, "stdout")
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn assert_sequence(records: &[RequestRecord], user: &str, fixed: bool, cycles: usize) {
    let mine: Vec<&RequestRecord> = records.iter().filter(|r| r.user == user).collect();
    let want = expected_sequence(user, fixed, cycles);
    assert_eq!(mine.len(), want.len(), "requests of {user}");
    for (i, (r, (step, method, path, status))) in mine.iter().zip(&want).enumerate() {
        let ctx = format!("{user} request {}: {r:?}", i + 1);
        assert_eq!(r.seq as usize, i + 1, "{ctx}");
        assert_eq!(r.step.as_deref(), Some(*step), "{ctx}");
        assert_eq!(r.method, *method, "{ctx}");
        assert_eq!(r.status, Some(*status), "{ctx}");
        assert_eq!(r.error, None, "{ctx}");
        if path == SESSION_REPR {
            assert!(
                r.path
                    .starts_with("/%3Crequests.sessions.Session%20object%20at%200x7f")
                    && r.path.ends_with("%3E")
                    && r.path.len()
                        == "/%3Crequests.sessions.Session%20object%20at%200x7f3a2c1d5e50%3E".len(),
                "{ctx}"
            );
        } else {
            assert_eq!(&r.path, path, "{ctx}");
        }
    }
}

fn fresh_server() -> testkit::MiniTwit {
    let server = testkit::MiniTwit::builder()
        .seed(testkit::seed_sql())
        .start();
    let (status, _) = testkit::http_get(&format!("{}/cleardb", server.base_url())).unwrap();
    assert_eq!(status, 302, "{}", server.log());
    server
}

/// `minitwit-load run --server <server> <args>`, which must succeed; returns its output.
fn run_ok(server: &testkit::MiniTwit, args: &[&str]) -> std::process::Output {
    let out = load()
        .args(["run", "--server", &server.base_url()])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    out
}

#[test]
fn run_paper_mode_sends_the_study_sequence_and_records_every_hop() {
    let server = fresh_server();
    let out = run_ok(&server, &["--user", "paper-user", "--run-id", "r-paper"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let recs = parse_records(&out.stdout);
    assert_eq!(recs.len(), 164);
    assert!(recs
        .iter()
        .all(|r| r.run_id == "r-paper" && r.bytes.is_some()));
    assert_sequence(&recs, "paper-user", false, 2);
    assert!(
        stderr.contains("164 requests (200: 62, 302: 62, 404: 40), 0 errors"),
        "{stderr}"
    );
    assert!(stderr.contains("latency p50"), "{stderr}");
}

#[test]
fn run_fixed_mode_sends_session_timelines_instead_of_404s() {
    let server = fresh_server();
    let out = run_ok(&server, &["--user", "fixed-user", "--scenario", "fixed"]);
    let recs = parse_records(&out.stdout);
    assert_sequence(&recs, "fixed-user", true, 2);
    assert!(recs.iter().all(|r| r.status != Some(404)));
}

#[test]
fn run_three_users_with_records_file_prints_one_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = fresh_server();
    let file = dir.path().join("requests.jsonl");
    let file_arg = file.to_string_lossy().into_owned();
    let out = run_ok(
        &server,
        &[
            "--users",
            "3",
            "--user",
            "vu",
            "--run-id",
            "r3",
            "--records",
            &file_arg,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["requests"], 492);
    assert_eq!(summary["errors"], 0);
    assert_eq!(summary["by_status"]["404"], 120);
    assert_eq!(summary["by_status"]["302"], 186);
    assert_eq!(summary["by_status"]["200"], 186);
    assert_eq!(summary["clients"], 3);
    assert_eq!(summary["schema"], "load/1");
    assert_eq!(summary["ok"], true);
    assert!(summary["duration_s"].as_f64().unwrap() > 0.0);
    let recs = parse_records(&std::fs::read(&file).unwrap());
    assert_eq!(recs.len(), 492);
    for u in ["vu-1", "vu-2", "vu-3"] {
        assert_sequence(&recs, u, false, 2);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `--repeat N`: each user runs the study's whole scenario N times in a row, as NAME, then
/// NAME-r2 … NAME-rN (each a new registration), every repetition request for request the study's.
#[test]
fn repeat_runs_the_whole_scenario_again_as_new_users() {
    let dir = tempfile::tempdir().unwrap();
    let server = fresh_server();
    let file = dir.path().join("requests.jsonl");
    let file_arg = file.to_string_lossy().into_owned();
    let out = run_ok(
        &server,
        &[
            "--users",
            "2",
            "--user",
            "rp",
            "--repeat",
            "3",
            "--records",
            &file_arg,
        ],
    );
    let summary: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(summary["requests"], 6 * 164);
    assert_eq!(summary["errors"], 0);
    assert_eq!(summary["by_status"]["404"], 6 * 40);
    assert_eq!(summary["by_status"]["302"], 6 * 62);
    assert_eq!(summary["by_status"]["200"], 6 * 62);
    assert_eq!(summary["clients"], 2);
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["users"][0]["user"], "rp-1");
    assert_eq!(summary["users"][0]["requests"], 3 * 164);
    let recs = parse_records(&std::fs::read(&file).unwrap());
    assert_eq!(recs.len(), 6 * 164);
    for u in ["rp-1", "rp-1-r2", "rp-1-r3", "rp-2", "rp-2-r2", "rp-2-r3"] {
        assert_sequence(&recs, u, false, 2);
    }
    // One thread per client: its repetitions follow each other, never overlap.
    let last_of_first = recs
        .iter()
        .filter(|r| r.user == "rp-1")
        .map(|r| r.start_s)
        .fold(f64::MIN, f64::max);
    let first_of_second = recs
        .iter()
        .filter(|r| r.user == "rp-1-r2")
        .map(|r| r.start_s)
        .fold(f64::MAX, f64::min);
    assert!(last_of_first < first_of_second);
    for bad in ["0", "1001", "x"] {
        load()
            .args(["run", "--server", "http://127.0.0.1:5000", "--repeat", bad])
            .assert()
            .code(2);
    }
}

#[test]
fn a_failed_check_stops_the_user_naming_step_and_request() {
    let server = fresh_server();
    let args = [
        "run",
        "--server",
        &server.base_url(),
        "--user",
        "twice",
        "--cycles",
        "0",
    ];
    load().args(args).assert().success();
    // Without /cleardb the user exists: register answers 200 ("already taken"), not 302.
    let out = load().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("step 2, request 21 (POST /register): expected HTTP 302, got 200"),
        "{stderr}"
    );
    let recs = parse_records(&out.stdout);
    assert_eq!(recs.len(), 21, "the user stops at the failed request");
    assert!(recs[20].error.is_some());
}

/// A loopback proxy in front of `upstream` that keeps the bytes clients send, one entry per
/// connection in the order accepted. Returns its base URL and the captured requests.
fn capturing_proxy(upstream: u16) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    use std::sync::{Arc, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let seen2 = Arc::clone(&seen);
    std::thread::spawn(move || {
        for mut down in listener.incoming().flatten() {
            let Ok(mut up) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                return;
            };
            let index = {
                let mut s = seen2.lock().unwrap();
                s.push(Vec::new());
                s.len() - 1
            };
            let (mut down2, mut up2) = (down.try_clone().unwrap(), up.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut up2, &mut down2);
                let _ = down2.shutdown(std::net::Shutdown::Both);
            });
            let seen3 = Arc::clone(&seen2);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = down.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    // Kept before it is forwarded: once the server can answer, the bytes are
                    // in `seen`, so a test that reads it after the client ended sees them all.
                    seen3.lock().unwrap()[index].extend_from_slice(&buf[..n]);
                    if up.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = up.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[test]
fn cookies_go_only_on_session_requests_like_python_requests() {
    let server = fresh_server();
    let (url, seen) = capturing_proxy(server.port());
    let out = load()
        .args(["run", "--server", &url, "--user", "wire", "--run-id", "w"])
        .output()
        .unwrap();
    let out = succeeded(out);
    let recs = parse_records(&out.stdout);
    // gunicorn's sync workers close every connection: one request per connection, in order.
    let heads: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).into_owned())
        .collect();
    assert_eq!(heads.len(), 164, "one connection per request");
    for (rec, head) in recs.iter().zip(&heads) {
        let first = head.lines().next().unwrap();
        assert_eq!(
            first,
            format!("{} {} HTTP/1.1", rec.method, rec.path),
            "seq {}",
            rec.seq
        );
        let has_cookie = head.contains("\r\nCookie: session=");
        let step = rec.step.as_deref().unwrap();
        let want_cookie = match (step, rec.method.as_str(), rec.path.as_str()) {
            ("1", ..) => false,
            ("2", "POST", _) => false,
            // The flash cookie of the register answer travels on its own redirect hop.
            ("2", "GET", "/login") => true,
            ("3", "POST", _) => false,
            (_, "GET", p) if p.starts_with("/%3Crequests.sessions.Session") => false,
            _ => true,
        };
        assert_eq!(has_cookie, want_cookie, "seq {} {first}:\n{head}", rec.seq);
        if rec.method == "POST" {
            assert!(
                head.contains("Content-Type: application/x-www-form-urlencoded\r\n"),
                "{head}"
            );
        }
    }
    let register = &heads[20];
    assert!(
        register.ends_with("username=wire&password=1234567&password2=1234567&email=wire%40itu.dk"),
        "{register}"
    );
}

/// What a client sent, connection by connection: request line, whether a session cookie was
/// sent, and the body; the session object's address (random in Python) is masked.
fn wire_view(seen: &[Vec<u8>]) -> Vec<(String, bool, String)> {
    seen.iter()
        .map(|raw| {
            let text = String::from_utf8_lossy(raw);
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            let mut line = head.lines().next().unwrap_or("").to_owned();
            if let Some(i) = line.find("%20at%200x") {
                let end = line[i..].find("%3E").map_or(line.len(), |j| i + j);
                line.replace_range(i + "%20at%200x".len()..end, "ADDR");
            }
            (line, head.contains("\r\nCookie: session="), body.to_owned())
        })
        .collect()
}

#[test]
fn the_wire_matches_the_python_requests_client_request_for_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = fresh_server();
    let follow = dir.path().join("follow.txt");
    std::fs::write(&follow, user_names(DEFAULT_SEED)[..20].join("\n")).unwrap();
    let peer = testkit::root().join("crates/minitwit-load/bench/peer_scenario.py");
    let python = testkit::venv().join("bin/python");
    let mut views = Vec::new();
    for client in ["python", "rust"] {
        testkit::http_get(&format!("{}/cleardb", server.base_url())).unwrap();
        let (url, seen) = capturing_proxy(server.port());
        let out = if client == "python" {
            StdCommand::new(&python)
                .arg(&peer)
                .args(["--server", &url, "--user", "same"])
                .arg("--follow")
                .arg(&follow)
                .output()
                .unwrap()
        } else {
            load()
                .args(["run", "--server", &url, "--user", "same"])
                .output()
                .unwrap()
        };
        succeeded(out);
        views.push(wire_view(&seen.lock().unwrap()));
    }
    let (python, rust) = (&views[0], &views[1]);
    assert_eq!(python.len(), 164);
    for (i, (p, r)) in python.iter().zip(rust).enumerate() {
        assert_eq!(
            p,
            r,
            "request {} differs (python, then minitwit-load)",
            i + 1
        );
    }
    assert_eq!(python.len(), rust.len());
}

#[test]
fn another_seed_fails_at_the_first_follow_with_a_hint() {
    let server = fresh_server();
    let out = load()
        .args([
            "run",
            "--server",
            &server.base_url(),
            "--user",
            "s",
            "--seed",
            "99",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("step 5a, request 45") && stderr.contains("minitwit-load seed --seed 99"),
        "{stderr}"
    );
}

#[test]
fn shortened_scenario_has_documented_counts() {
    let server = fresh_server();
    let out = run_ok(&server, &["--user", "short", "--cycles", "1"]);
    assert_sequence(&parse_records(&out.stdout), "short", false, 1);
}

#[test]
fn reset_ends_on_200_and_agent_trigger_run_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let server = testkit::MiniTwit::builder()
        .seed(testkit::seed_sql())
        .start();
    load()
        .args(["reset", "--server", &server.base_url()])
        .assert()
        .success();
    let port = testkit::free_port();
    let log = dir.path().join("agent.jsonl");
    let mut agent = StdCommand::new(assert_cmd::cargo::cargo_bin("minitwit-load"))
        .args([
            "agent",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--server",
            &server.base_url(),
        ])
        .args(["--user", "client1", "--log"])
        .arg(&log)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut agent_err = BufReader::new(agent.stderr.take().unwrap());
    let mut line = String::new();
    agent_err.read_line(&mut line).unwrap();
    assert!(line.contains("listening on"), "{line}");
    let trigger_url = format!("http://127.0.0.1:{port}/trigger");

    // Trigger in the background, and a second trigger while it runs: 409, not queued.
    let first = StdCommand::new(assert_cmd::cargo::cargo_bin("minitwit-load"))
        .args(["trigger", &trigger_url, "--run-id", "run-7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the agent wrote no records");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, body) = testkit::http_get(&trigger_url).unwrap();
    assert_eq!(status, 409, "{body}");
    let out = first.wait_with_output().unwrap();
    let out = succeeded(out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1);
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["requests"], 164);
    assert_eq!(summary["errors"], 0);
    assert_eq!(summary["by_status"]["404"], 40);
    // One load line: `clients` counts the agents, their own lines are under `agents`.
    assert_eq!(summary["schema"], "load/1");
    assert_eq!(summary["clients"], 1);
    assert_eq!(summary["run_id"], "run-7");
    assert_eq!(summary["agents"][0]["status"], 200);
    assert_eq!(summary["agents"][0]["summary"]["run_id"], "run-7");
    let d = summary["duration_s"].as_f64().unwrap();
    assert!(
        d >= summary["agents"][0]["summary"]["duration_s"]
            .as_f64()
            .unwrap()
    );
    let recs = parse_records(&std::fs::read(&log).unwrap());
    assert_eq!(recs.len(), 164);
    assert!(recs.iter().all(|r| r.run_id == "run-7"));
    assert_sequence(&recs, "client1", false, 2);

    // Without a reset the user exists: the agent answers 500 and trigger exits 1.
    let out = load().args(["trigger", &trigger_url]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["agents"][0]["status"], 500);
    assert!(
        summary["agents"][0]["error"]
            .as_str()
            .unwrap()
            .contains("step 2"),
        "{summary}"
    );

    // The agent's answer is its run's load line, with every field an older controller (whose
    // `RunSummary` had no schema tag) requires, so old and new controllers both read it.
    let (status, body) = testkit::http_get(&trigger_url).unwrap();
    assert_eq!(status, 500, "{body}");
    let answer = records::LoadLine::from_line(&body).unwrap();
    assert_eq!(answer.schema, "load/1");
    assert_eq!(
        (answer.clients, answer.ok, answer.interrupted),
        (1, false, false)
    );
    assert!(
        answer.run_id.is_some()
            && answer.client.is_some()
            && answer.server.is_some()
            && answer.scenario.is_some()
            && answer.cycles.is_some()
            && answer.latency_ms.is_some()
            && answer.users.len() == 1,
        "an older controller needs the run's context, latency and users: {body}"
    );
    assert!(body.contains("\"interrupted\":false"), "{body}");

    StdCommand::new("kill")
        .args(["-INT", &agent.id().to_string()])
        .status()
        .unwrap();
    let status = agent.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}

// ---- faults ---------------------------------------------------------------------------

/// A server on 127.0.0.1 that answers every request with `answer` (or, when `None`, accepts
/// and never answers). Returns its base URL.
fn canned_server(answer: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            match answer {
                Some(a) => {
                    let _ = s.write_all(a.as_bytes());
                }
                None => held.push(s),
            }
        }
    });
    format!("http://{addr}")
}

#[test]
fn http_500_is_recorded_and_stops_the_user() {
    let url = canned_server(Some(
        "HTTP/1.1 500 INTERNAL SERVER ERROR\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!",
    ));
    let out = load()
        .args(["run", "--server", &url, "--user", "u"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let recs = parse_records(&out.stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].status, Some(500));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("step 1, request 1 (GET /): expected HTTP 302, got 500"));
}

#[test]
fn slow_server_hits_the_request_timeout() {
    let url = canned_server(None);
    let started = Instant::now();
    let out = load()
        .args(["run", "--server", &url, "--user", "u", "--timeout", "0.5"])
        .output()
        .unwrap();
    // Issue 15: no answer at all before the timeout is the server away, exit 75 (was 1).
    assert_eq!(out.status.code(), Some(75));
    let recs = parse_records(&out.stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].status, None);
    assert!(
        recs[0].error.as_deref().unwrap().contains("--timeout"),
        "{:?}",
        recs[0]
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn unreachable_server_fails_with_a_clear_error() {
    let port = testkit::free_port();
    load()
        .args([
            "run",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--connect-timeout",
            "2",
        ])
        .assert()
        // Issue 15: the server away is an infrastructure fault, exit 75 (was 1), cause first.
        .code(75)
        .stderr(predicate::str::contains(format!(
            "cannot connect to 127.0.0.1:{port}"
        )))
        .stderr(predicate::str::contains(format!(
            "minitwit-load: error: server http://127.0.0.1:{port} unreachable: "
        )));
    load()
        .args(["reset", "--server", &format!("http://127.0.0.1:{port}")])
        .assert()
        .code(75)
        .stderr(predicate::str::contains("/cleardb"));
}

#[test]
fn reset_fails_unless_it_ends_on_200() {
    let url = canned_server(Some(
        "HTTP/1.1 500 INTERNAL SERVER ERROR\r\nContent-Length: 31\r\nConnection: close\r\n\r\ncleardb failed, database locked",
    ));
    load()
        .args(["reset", "--server", &url])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("HTTP 500").and(predicate::str::contains("database locked")),
        );
}

#[test]
fn reset_refuses_a_redirect_to_another_server() {
    let url = canned_server(Some(
        "HTTP/1.1 302 FOUND\r\nLocation: http://192.0.2.1:5000/public\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ));
    load()
        .args(["reset", "--server", &url])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("HTTP 302")
                .and(predicate::str::contains("redirect to another server")),
        );
}

#[test]
fn trigger_of_an_unreachable_agent_exits_75_with_a_json_line() {
    let port = testkit::free_port();
    let out = load()
        .args(["trigger", &format!("http://127.0.0.1:{port}/trigger")])
        .output()
        .unwrap();
    // Issue 15: an agent away is an infrastructure fault, exit 75 (was 1).
    assert_eq!(out.status.code(), Some(75));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["ok"], false);
    assert!(summary["agents"][0]["error"]
        .as_str()
        .unwrap()
        .contains("cannot connect"));
}

#[test]
fn sigint_stops_a_waiting_trigger_with_exit_130() {
    let agent = canned_server(None);
    let child = StdCommand::new(assert_cmd::cargo::cargo_bin("minitwit-load"))
        .args(["trigger", &format!("{agent}/trigger")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["agents"][0]["error"], "interrupted");
}

#[test]
fn sigint_keeps_the_records_so_far_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let server = fresh_server();
    let file = dir.path().join("requests.jsonl");
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("minitwit-load"))
        .args([
            "run",
            "--server",
            &server.base_url(),
            "--users",
            "2",
            "--records",
        ])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some records are written (the temporary file grows), then interrupt.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let written: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .contains("requests.jsonl.partial-")
            })
            .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
            .sum();
        if written > 2000 {
            break;
        }
        assert!(Instant::now() < deadline, "no records written");
        std::thread::sleep(Duration::from_millis(10));
    }
    StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!file.exists(), "an interrupted run must not look complete");
    let partial = dir.path().join("requests.jsonl.partial");
    let recs = parse_records(&std::fs::read(&partial).unwrap());
    assert!(
        !recs.is_empty() && recs.len() < 328,
        "{} records",
        recs.len()
    );
    assert!(stderr.contains("Interrupted"), "{stderr}");
}

#[test]
fn closed_stdout_is_not_an_error() {
    let server = fresh_server();
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("minitwit-load"))
        .args(["run", "--server", &server.base_url(), "--user", "head"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: like `minitwit-load run … | head -1`.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(first.contains("\"seq\":1"), "{first}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &["run"][..],
        &["run", "--server", "https://127.0.0.1:5000"],
        &[
            "run",
            "--server",
            "http://127.0.0.1:5000",
            "--scenario",
            "odd",
        ],
        &["run", "--server", "http://127.0.0.1:5000", "--cycles", "5"],
        &[
            "run",
            "--server",
            "http://127.0.0.1:5000",
            "--timeout",
            "-1",
        ],
        &[
            "agent",
            "--listen",
            "5001",
            "--server",
            "http://127.0.0.1:5000",
        ],
        &["trigger"],
        &["trigger", "127.0.0.1:5001/trigger"],
        &["reset", "--server", "http://:5000"],
        &["fly"],
    ] {
        load().args(args).assert().code(2);
    }
    load()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
}
