//! The happy path on a two-host testbed: check, provision, deploy, server, clients.

use super::*;

/// The happy path on two hosts: check, provision twice (idempotent), deploy with the local
/// interpreters, server start/status/stop answering real HTTP, clients start/stop.
#[test]
fn testbed_check_provision_deploy_serve_and_control_clients() {
    let root = needs_make_outputs();
    let tb = Testbed::new(&[("server", 4), ("client1", 2)]);
    let kh = tb.known_hosts("known_hosts", &["server", "client1"]);
    let mut interps: Vec<(&str, &str)> = vec![("3.11", "/usr/bin/python3.11")];
    if Path::new("/usr/bin/pypy3").exists() {
        interps.push(("pypy3.9", "/usr/bin/pypy3"));
    }
    let load = env_path("CPE_BIN_DIR").join("minitwit-load");
    assert!(
        load.is_file(),
        "{} is missing: run it through `make test` (it builds every tool)",
        load.display()
    );
    let load = load.to_string_lossy().into_owned();
    let inv = inventory(
        &tb,
        "testbed.toml",
        &kh,
        &tb.identity(),
        &interps,
        &[
            InvHost {
                name: "server",
                addr: tb.host("server").addr.clone(),
                role: "server",
                base: tb.host("server").base(),
            },
            InvHost {
                name: "client1",
                addr: tb.host("client1").addr.clone(),
                role: "client",
                base: tb.host("client1").base(),
            },
        ],
        // The real load agent, with a short scenario (no follow/timeline cycles).
        (
            "bin/minitwit-load",
            &[
                "agent",
                "--listen",
                "0.0.0.0:5001",
                "--server",
                "http://{server}:{port}",
                "--user",
                "{host}",
                "--cycles",
                "0",
                "--log",
                "{base}/log/requests.jsonl",
            ],
        ),
    );

    // check: both hosts, JSON lines on stdout, interpreters found.
    let (code, out, err) = tb.run(&inv, &["check"]);
    assert_eq!(code, 0, "{err}");
    let reports: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 2, "{out}");
    assert_eq!(reports[0]["host"], "server");
    assert!(
        reports[0]["os"].as_str().unwrap().starts_with("Linux"),
        "{out}"
    );
    assert!(
        reports[0]["interpreters"]["3.11"]
            .as_str()
            .unwrap()
            .starts_with("Python 3.11"),
        "{out}"
    );
    assert!(
        err.contains("server | reachable, host key verified"),
        "{err}"
    );
    assert!(err.contains("client1 | reachable"), "{err}");

    // provision, twice: the second run changes nothing and succeeds.
    expect_success(
        &tb,
        &inv,
        &["provision"],
        &[
            "server | ==> root part (shell/debian/root.sh)",
            "==> interpreter 3.11 (system)",
            "run created",
        ],
    );
    assert!(tb
        .host("server")
        .base()
        .join("shell/debian/root.sh")
        .is_file());
    assert!(tb.host("client1").base().join("log").is_dir());
    let (_, err) = expect_success(&tb, &inv, &["provision"], &[]);
    assert!(
        !err.contains(" created"),
        "second provision changed something: {err}"
    );
    assert!(err.contains("run exists"), "{err}");
    let (_, err) = expect_success(&tb, &inv, &["provision", "--role", "client"], &[]);
    assert!(
        !err.contains("server |"),
        "--role client touched the server: {err}"
    );

    // deploy: MiniTwit, seed, wheelhouse, one venv per interpreter, offline.
    // --agent: the load agent goes to each client's base/bin (the inventory's relative path).
    let (_, err) = expect_success(
        &tb,
        &inv,
        &["deploy", "--agent", &load],
        &["client1 | uploaded"],
    );
    let agent = tb.host("client1").base().join("bin/minitwit-load");
    assert_eq!(fs::read(&agent).unwrap(), fs::read(&load).unwrap());
    assert!(
        !tb.host("server").base().join("bin/minitwit-load").exists(),
        "the agent went to the server"
    );
    let sbase = tb.host("server").base();
    assert!(sbase.join("minitwit/wsgi.py").is_file());
    // The one gunicorn configuration goes with MiniTwit.
    assert_eq!(
        fs::read(sbase.join("minitwit/gunicorn.conf.py")).unwrap(),
        fs::read(root.join("minitwit/gunicorn.conf.py")).unwrap()
    );
    assert_eq!(
        fs::read(sbase.join("minitwit/seed.sql")).unwrap(),
        fs::read(root.join("data/minitwit/seed.sql")).unwrap()
    );
    assert!(sbase.join("minitwit311/bin/gunicorn").is_file(), "{err}");
    assert!(err.contains("flask 3.0.1 gunicorn 21.2.0"), "{err}");
    // Deploying again keeps the venvs and uploads no wheel twice.
    expect_success(
        &tb,
        &inv,
        &["deploy"],
        &["uploaded 0 new wheel(s)", "exists (Python 3.11)"],
    );

    // server start: gunicorn in the 3.11 venv, answering HTTP from the LAN.
    let (code, out, err) = tb.run(&inv, &["server", "start", "--python", "3.11"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("server | new database: loading the schema and seed via /cleardb"),
        "{err}"
    );
    let st: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(st["running"], true);
    assert_eq!(st["venv"], "minitwit311");
    assert!(
        st["interpreter"]
            .as_str()
            .unwrap()
            .starts_with("CPython 3.11"),
        "{out}"
    );
    let pid = st["pid"].as_u64().unwrap();
    let (status, body) = http_get_in_ctl(&tb, "http://10.213.0.4:5000/cleardb");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Public Timeline"), "{body}");
    assert!(
        body.matches("<li><img").count() >= 30,
        "the seed was not loaded: {body}"
    );

    // status, and a second interpreter refused while the first runs.
    let (code, out, _) = tb.run(&inv, &["server", "status"]);
    assert_eq!(code, 0);
    let st: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(st["pid"].as_u64(), Some(pid));
    assert!(st["uptime_s"].as_u64().is_some());
    if interps.len() > 1 {
        expect_failure(
            &tb,
            &inv,
            &["server", "start", "--python", "pypy3.9"],
            &["already running another program"],
        );
    }

    // clients: the agent starts on the client host only, answers, and stops by PID.
    let (_, err) = expect_success(&tb, &inv, &["clients", "start"], &[]);
    assert!(err.contains("client1 | agent started (pid"), "{err}");
    // One trigger: the agent on client1 runs the scenario against MiniTwit on the server,
    // across the testbed's LAN.
    let (status, body) =
        http_get_in_ctl(&tb, "http://10.213.0.2:5001/trigger?run_id=provision-test");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("provision-test"), "{body}");
    let requests =
        fs::read_to_string(tb.host("client1").base().join("log/requests.jsonl")).unwrap();
    assert!(requests.lines().count() > 10, "{requests}");
    expect_success(
        &tb,
        &inv,
        &["clients", "stop"],
        &["client1 | agent stopped"],
    );
    let (status, _) = http_get_in_ctl(&tb, "http://10.213.0.2:5001/trigger");
    assert_eq!(status, 0, "the agent still answers after stop");

    // stop by PID: the port closes, status says not running.
    let (_, err) = expect_success(&tb, &inv, &["server", "stop"], &[]);
    assert!(
        err.contains(&format!("stopping minitwit (pid {pid})")),
        "{err}"
    );
    let (status, _) = http_get_in_ctl(&tb, "http://10.213.0.4:5000/public");
    assert_eq!(status, 0, "MiniTwit still answers after stop");
    let (code, out, _) = tb.run(&inv, &["server", "status"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"running\":false"), "{out}");
    let (code, _, err) = tb.run(&inv, &["server", "stop"]);
    assert_eq!(code, 0, "stopping twice must be harmless: {err}");

    if interps.len() > 1 {
        let (code, out, err) = tb.run(&inv, &["server", "start", "--python", "pypy3.9"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("\"interpreter\":\"PyPy 3.9"), "{out}");
        let (status, body) = http_get_in_ctl(&tb, "http://10.213.0.4:5000/public");
        assert_eq!(status, 200, "{body}");
        expect_success(&tb, &inv, &["server", "stop"], &[]);
    }

    // gunicorn runs with the deployed gunicorn.conf.py and no flags of its own; the inventory's
    // workers and timeout reach the file through the variables it reads.
    let tuned = tb.path("tuned.toml");
    fs::write(
        &tuned,
        fs::read_to_string(&inv).unwrap().replace(
            "[minitwit]\nport = 5000\n",
            "[minitwit]\nport = 5000\nworkers = 3\ntimeout_s = 30\n",
        ),
    )
    .unwrap();
    let (code, out, err) = tb.run(&tuned, &["server", "start", "--python", "3.11"]);
    assert_eq!(code, 0, "{err}");
    let st: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let pid = st["pid"].as_u64().unwrap();
    let argv: Vec<String> = fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap()
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let conf = sbase.join("minitwit/gunicorn.conf.py");
    assert!(
        argv.windows(2)
            .any(|w| w[0] == "-c" && w[1] == conf.to_string_lossy()),
        "{argv:?}"
    );
    assert!(
        !argv
            .iter()
            .any(|a| a.starts_with("--workers") || a.starts_with("--timeout") || a == "wsgi:app"),
        "{argv:?}"
    );
    let environ =
        String::from_utf8_lossy(&fs::read(format!("/proc/{pid}/environ")).unwrap()).into_owned();
    assert!(environ.contains("MINITWIT_WORKERS=3\0"), "{environ:?}");
    assert!(environ.contains("MINITWIT_TIMEOUT=30\0"), "{environ:?}");
    let workers = || {
        fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|e| fs::read_to_string(e.path().join("stat")).ok())
            .filter(|stat| {
                // pid (comm) state ppid …: the comm may hold spaces, the fields after it not.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<u64>().ok())
                    == Some(pid)
            })
            .count()
    };
    let t0 = std::time::Instant::now();
    while workers() < 3 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        workers(),
        3,
        "gunicorn {pid} did not fork the inventory's 3 workers"
    );
    expect_success(&tb, &tuned, &["server", "stop"], &[]);

    // An existing database that makes MiniTwit fail is reported, never reset behind the
    // user's back.
    let db = sbase.join("run/minitwit.db");
    fs::write(&db, "not a database, and nobody's to wipe").unwrap();
    let (code, _, err) = tb.run(
        &inv,
        &["server", "start", "--python", "3.11", "--wait", "3"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("did not answer 200"), "{err}");
    assert!(!err.contains("/cleardb"), "{err}");
    assert_eq!(
        fs::read_to_string(&db).unwrap(),
        "not a database, and nobody's to wipe"
    );
    expect_success(&tb, &inv, &["server", "stop"], &[]);

    // Ctrl-C while waiting for MiniTwit: the wait stops at once, exit 130, the host reports
    // the interruption; gunicorn, already started, is stopped as usual.
    let mut cmd = Command::new(BIN);
    cmd.arg("--inventory")
        .arg(&inv)
        .args(["server", "start", "--python", "3.11", "--wait", "60"])
        .env("PI_PROVISION_SHELL_DIR", root.join("shell"));
    let (code, err, took) = interrupt_after(tb.ctl_command(&cmd), Duration::from_secs(4));
    assert_eq!(code, Some(130), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        err.contains("server: server start: FAILED: interrupted"),
        "{err}"
    );
    assert!(err.contains("pi-provision: interrupted"), "{err}");
    expect_success(&tb, &inv, &["server", "stop"], &[]);
}
