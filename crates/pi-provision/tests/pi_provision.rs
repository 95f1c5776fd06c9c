#![allow(clippy::unwrap_used, clippy::expect_used)]
//! pi-provision against a real testbed built on this machine ([`testkit::Testbed`]): network
//! namespaces joined by veth pairs on a bridge (a small LAN like the study's, on
//! 10.213.0.0/24, which exists only inside these namespaces), a real OpenSSH sshd in each host
//! namespace (key auth only), and the tool running in the controller namespace. Each host's
//! "disk" is a directory under a temporary dir (the hosts share this machine's file system;
//! each has its own `base`). Everything is torn down by `Drop`, also when an assertion fails.
//!
//! Needs root, `ip`, `/usr/sbin/sshd`, `ssh-keygen`, and for deploy the environment `make
//! test` sets (CPE_ROOT, CPE_VENV, CPE_WHEELHOUSE).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use testkit::Testbed;

const BIN: &str = env!("CARGO_BIN_EXE_pi-provision");

fn env_path(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => panic!(
            "{var} is not set: run it through `make test` (needs CPE_ROOT, CPE_VENV and \
             CPE_WHEELHOUSE; make builds the venv, the seed SQL and the wheelhouse first)"
        ),
    }
}

fn sh(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What these tests run in the testbed's controller namespace, on top of
/// [`Testbed::run_in_ctl`] (no controlling terminal, stdin closed).
trait InController {
    /// Runs pi-provision with `--inventory`; returns exit code, stdout and stderr.
    fn run(&self, inventory: &Path, args: &[&str]) -> (i32, String, String);
    /// Like [`InController::run`], with extra environment variables.
    fn run_env(
        &self,
        inventory: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> (i32, String, String);
    /// Runs a Python snippet (an independent HTTP client).
    fn python_in_ctl(&self, code: &str) -> Output;
}

impl InController for Testbed {
    fn run(&self, inventory: &Path, args: &[&str]) -> (i32, String, String) {
        self.run_env(inventory, args, &[])
    }

    fn run_env(
        &self,
        inventory: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> (i32, String, String) {
        let root = env_path("CPE_ROOT");
        // No controlling terminal, so the tool can never stop to prompt for a password.
        let mut cmd = Command::new(BIN);
        cmd.arg("--inventory")
            .arg(inventory)
            .args(args)
            .envs(envs.iter().copied())
            .env("PI_PROVISION_SHELL_DIR", root.join("shell"));
        let out = self.run_in_ctl(cmd);
        let r = (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        eprintln!("--- pi-provision {args:?} → {}\n{}", r.0, r.2);
        r
    }

    fn python_in_ctl(&self, code: &str) -> Output {
        let mut py = Command::new(env_path("CPE_VENV").join("bin/python"));
        py.args(["-c", code]);
        self.run_in_ctl(py)
    }
}

/// The repository root, after checking that make made what deploy needs (seed, wheelhouse).
fn needs_make_outputs() -> PathBuf {
    let root = env_path("CPE_ROOT");
    assert!(
        env_path("CPE_WHEELHOUSE").is_dir(),
        "CPE_WHEELHOUSE is not a directory: run it through `make test` (it builds the wheelhouse)"
    );
    assert!(
        root.join("data/minitwit/seed.sql").is_file(),
        "data/minitwit/seed.sql is missing: run it through `make test` (it makes the seed)"
    );
    root
}

/// Runs pi-provision in the testbed, expects success and each of `needles` in its stderr;
/// returns stdout and stderr.
fn expect_success(tb: &Testbed, inv: &Path, args: &[&str], needles: &[&str]) -> (String, String) {
    let (code, out, err) = tb.run(inv, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected {n:?} in: {err}");
    }
    (out, err)
}

/// Runs pi-provision in the testbed, expects exit status 1 and each of `needles` in its stderr.
fn expect_failure(tb: &Testbed, inv: &Path, args: &[&str], needles: &[&str]) -> String {
    let (code, _, err) = tb.run(inv, args);
    assert_eq!(code, 1, "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected {n:?} in: {err}");
    }
    err
}

struct InvHost<'a> {
    name: &'a str,
    addr: String,
    role: &'a str,
    base: PathBuf,
}

fn inventory(
    tb: &Testbed,
    file: &str,
    known_hosts: &Path,
    identity: &Path,
    interpreters: &[(&str, &str)],
    hosts: &[InvHost<'_>],
    agent: (&str, &[&str]),
) -> PathBuf {
    let root = env_path("CPE_ROOT");
    let mut t = format!(
        "[testbed]\nknown_hosts = \"{}\"\nidentity = \"{}\"\nconnect_timeout_s = 3\n\
         # Shorter than the quiet phases of pip: silence must never be taken for a dead host.\n\
         keepalive_s = 1\n\n\
         [otii]\naddress = \"10.213.0.1\"\n\n\
         [minitwit]\nport = 5000\nsource = \"{}\"\nseed_sql = \"{}\"\nwheelhouse = \"{}\"\n\n\
         [clients]\nagent = \"{}\"\nagent_args = [{}]\n",
        known_hosts.display(),
        identity.display(),
        root.join("minitwit").display(),
        root.join("data/minitwit/seed.sql").display(),
        std::env::var("CPE_WHEELHOUSE").unwrap_or_default(),
        agent.0,
        agent
            .1
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (version, command) in interpreters {
        t.push_str(&format!(
            "\n[[interpreter]]\nversion = \"{version}\"\ninstall = \"system\"\ncommand = \"{command}\"\n"
        ));
    }
    for h in hosts {
        t.push_str(&format!(
            "\n[[host]]\nname = \"{}\"\naddress = \"{}\"\nuser = \"root\"\nrole = \"{}\"\nos = \"debian\"\nbase = \"{}\"\n",
            h.name,
            h.addr,
            h.role,
            h.base.display()
        ));
    }
    let p = tb.path(file);
    fs::write(&p, t).unwrap();
    p
}

fn http_get_in_ctl(tb: &Testbed, url: &str) -> (i32, String) {
    let out = tb.python_in_ctl(&format!(
        "import sys, urllib.request\n\
         try:\n    r = urllib.request.urlopen({url:?}, timeout=10); sys.stdout.write(str(r.status) + '\\n' + r.read().decode())\n\
         except Exception as e:\n    sys.stdout.write('0\\n' + repr(e))\n"
    ));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (code, body) = text.split_once('\n').unwrap_or(("0", ""));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

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

/// Host keys, authentication, unreachable hosts, a script failing half-way and a full disk:
/// each a clear error naming the host and the step, exit 1, other hosts still reported.
#[test]
fn testbed_refuses_bad_keys_and_reports_failures_per_host() {
    needs_make_outputs();
    let tb = Testbed::with_tmpfs(&[("server", 4), ("client1", 2)], &[("tiny", "192k")]);
    let id = tb.identity();
    let both = |tb: &Testbed,
                file: &str,
                kh: &Path,
                identity: &Path,
                interps: &[(&str, &str)],
                server_base: PathBuf,
                extra: Option<(&str, &str)>| {
        let mut hosts = vec![
            InvHost {
                name: "server",
                addr: tb.host("server").addr.clone(),
                role: "server",
                base: server_base,
            },
            InvHost {
                name: "client1",
                addr: tb.host("client1").addr.clone(),
                role: "client",
                base: tb.host("client1").base(),
            },
        ];
        if let Some((name, addr)) = extra {
            hosts.push(InvHost {
                name,
                addr: addr.into(),
                role: "client",
                base: tb.path("ghost"),
            });
        }
        inventory(tb, file, kh, identity, interps, &hosts, ("/bin/true", &[]))
    };
    let py = [("3.11", "/usr/bin/python3.11")];

    // Unknown key: refused with the fingerprint; the other host still checked.
    let kh_client_only = tb.known_hosts("kh_client_only", &["client1"]);
    let inv = both(
        &tb,
        "unknown.toml",
        &kh_client_only,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    let (code, out, err) = tb.run(&inv, &["check"]);
    assert_eq!(code, 1, "{err}");
    let fp = String::from_utf8_lossy(
        &sh(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(tb.host("server").dir.join("ssh_host_ed25519_key.pub")))
        .stdout,
    )
    .split_whitespace()
    .nth(1)
    .unwrap()
    .to_string();
    assert!(
        err.contains("server: check: FAILED: host key of 10.213.0.4:22 is not in"),
        "{err}"
    );
    assert!(err.contains(&fp), "fingerprint {fp} missing: {err}");
    assert!(err.contains("client1: check: ok"), "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");

    // trust: a wrong fingerprint is refused, the right one recorded; then check passes.
    let (code, _, err) = tb.run(
        &inv,
        &[
            "trust",
            "--host",
            "server",
            "--fingerprint",
            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("not trusting it"), "{err}");
    expect_success(
        &tb,
        &inv,
        &["trust", "--host", "server", "--fingerprint", &fp],
        &[],
    );
    expect_success(&tb, &inv, &["check"], &[]);

    // Changed key: refused loudly.
    let other = tb.path("other_key");
    sh(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other));
    let other_pub = fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut parts = other_pub.split_whitespace();
    let kh_changed = tb.path("kh_changed");
    fs::write(
        &kh_changed,
        format!(
            "10.213.0.4 {} {}\n{}",
            parts.next().unwrap(),
            parts.next().unwrap(),
            fs::read_to_string(tb.known_hosts("kh_c1", &["client1"])).unwrap()
        ),
    )
    .unwrap();
    let inv = both(
        &tb,
        "changed.toml",
        &kh_changed,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    expect_failure(
        &tb,
        &inv,
        &["check"],
        &[
            "HOST KEY OF 10.213.0.4:22 HAS CHANGED",
            "client1: check: ok",
        ],
    );

    // Authentication failure (a key the hosts do not know) and an unreachable host.
    let kh = tb.known_hosts("known_hosts", &["server", "client1"]);
    let inv = both(
        &tb,
        "badkey.toml",
        &kh,
        &other,
        &py,
        tb.host("server").base(),
        Some(("ghost", "10.213.0.9")),
    );
    expect_failure(
        &tb,
        &inv,
        &["check"],
        &[
            "server: check: FAILED: authentication as root@10.213.0.4:22 failed",
            "ghost: check: FAILED: cannot connect to 10.213.0.9:22",
        ],
    );

    // A script failing half-way: the user part stops at the missing interpreter, with its
    // exit status and last lines; the client (no interpreters needed) still provisions.
    let missing = [("3.99", "/nonexistent/python3.99")];
    let inv = both(
        &tb,
        "missing.toml",
        &kh,
        &id,
        &missing,
        tb.host("server").base(),
        None,
    );
    expect_failure(&tb, &inv, &["provision"], &["server: provision: FAILED: step `user part (shell/debian/user.sh)` failed with exit status 1", "interpreter 3.99 (/nonexistent/python3.99) is missing", "client1: provision: ok"]);

    // become = "su": the root part runs through su over a pty, which asks for the password.
    // A stand-in su first on the server's PATH behaves like the real one (prompt on the
    // terminal, no echo, "su: Sorry" on a wrong password) and then runs the command.
    let su = tb.host("server").dir.join("bin/su");
    fs::write(
        &su,
        "#!/bin/sh\nprintf 'Password:'\nstty -echo\nread -r pw\nstty echo\nprintf '\\n'\n\
         if [ \"$pw\" != 'c0rrect-h0rse' ]; then echo 'su: Sorry'; exit 1; fi\n\
         [ \"$1 $2 $3\" = '-l root -c' ] || { echo \"su: unexpected arguments: $*\"; exit 2; }\n\
         exec sh -c \"$4\"\n",
    )
    .unwrap();
    sh(Command::new("chmod").arg("755").arg(&su));
    let inv = both(
        &tb,
        "su.toml",
        &kh,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    let text = fs::read_to_string(&inv).unwrap().replace(
        "name = \"server\"\n",
        "name = \"server\"\nbecome = \"su\"\n",
    );
    fs::write(&inv, text).unwrap();
    let (code, _, err) = tb.run_env(
        &inv,
        &["provision", "--role", "server"],
        &[("PI_PROVISION_ROOT_PASSWORD", "c0rrect-h0rse")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("server | ==> root part (shell/debian/root.sh)"),
        "{err}"
    );
    assert!(
        err.contains("==> Debian packages"),
        "the root part did not run: {err}"
    );
    assert!(!err.contains("c0rrect-h0rse"), "the password leaked: {err}");
    let (code, _, err) = tb.run_env(
        &inv,
        &["provision", "--role", "server"],
        &[("PI_PROVISION_ROOT_PASSWORD", "wr0ng-pa55")],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("server: provision: FAILED: step `root part (shell/debian/root.sh)` failed with exit status 1"), "{err}");
    assert!(err.contains("su: Sorry"), "{err}");
    assert!(!err.contains("wr0ng-pa55"), "the password leaked: {err}");
    // Without a password and without a terminal: refused before connecting.
    let (code, _, err) = tb.run(&inv, &["provision", "--role", "server"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("set PI_PROVISION_ROOT_PASSWORD"), "{err}");

    // An OS profile that does not match the host is caught by check.
    let inv = both(
        &tb,
        "wrongos.toml",
        &kh,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    let text = fs::read_to_string(&inv)
        .unwrap()
        .replacen("os = \"debian\"", "os = \"freebsd\"", 1);
    fs::write(&inv, text).unwrap();
    expect_failure(
        &tb,
        &inv,
        &["check"],
        &[
            "server: check: FAILED: the host runs Linux",
            "but the inventory says os = \"freebsd\"",
            "client1: check: ok",
        ],
    );

    // Starting the server before deploy says what to do, and an unknown interpreter is named.
    let inv = both(
        &tb,
        "nodeploy.toml",
        &kh,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    expect_failure(
        &tb,
        &inv,
        &["server", "start", "--python", "3.11"],
        &["with `pi-provision deploy` first"],
    );
    expect_failure(
        &tb,
        &inv,
        &["server", "start", "--python", "3.7"],
        &["no interpreter 3.7 in the inventory (known: 3.11)"],
    );

    // A full disk on upload: the server's base is a 192 KiB tmpfs, the wheelhouse is larger.
    let inv = both(&tb, "tiny.toml", &kh, &id, &py, tb.path("tiny/base"), None);
    expect_failure(
        &tb,
        &inv,
        &["deploy"],
        &["server: deploy: FAILED: writing", "KiB free"],
    );
    // No half-written file is left looking complete.
    let left: Vec<_> = fs::read_dir(tb.path("tiny/base/wheelhouse"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.iter().all(|n| !n.ends_with(".partial")), "{left:?}");
}

/// Only `provision` and `deploy` upload the scripts: the other subcommands work from a copy of
/// the binary outside any checkout, with no `shell/` folder to be found.
#[test]
fn only_uploading_commands_need_the_shell_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("pi-provision");
    fs::copy(BIN, &bin).unwrap();
    for f in ["known_hosts", "id"] {
        fs::write(dir.path().join(f), "").unwrap();
    }
    let port = testkit::free_port();
    fs::write(
        dir.path().join("testbed.toml"),
        format!(
            "[testbed]\nknown_hosts = \"known_hosts\"\nidentity = \"id\"\nconnect_timeout_s = 2\n\n\
             [otii]\naddress = \"127.0.0.1\"\n\n[[interpreter]]\nversion = \"3.11\"\n\
             install = \"system\"\ncommand = \"python3\"\n\n[[host]]\nname = \"server\"\n\
             address = \"127.0.0.1\"\nssh_port = {port}\nuser = \"root\"\nrole = \"server\"\n\
             os = \"debian\"\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&bin)
            .args(args)
            .current_dir(dir.path())
            .env_remove("PI_PROVISION_SHELL_DIR")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["server", "status"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "server: server status: FAILED: cannot connect to 127.0.0.1:{port}"
        )),
        "{err}"
    );
    let (code, err) = run(&["provision"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot find the shell/ scripts"), "{err}");
}

/// Inventory problems are usage errors (exit 2), all listed with their lines; `get` answers.
#[test]
fn inventory_validation_and_get() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    fs::write(
        &bad,
        "[otii]\naddress = \"10.0.0.1\"\ncolour = 1\n\n[[interpreter]]\nversion = \"3.12\"\ninstall = \"pkg\"\n\
         package = \"python312\"\ncommand = \"python3.12\"\n\n[[host]]\nname = \"server\"\naddress = \"10.0.0.4\"\n\
         user = \"freebsd\"\nrole = \"server\"\nos = \"freebsd\"\n\n[[host]]\nname = \"server\"\naddress = \"10.0.0.300\"\n\
         user = \"freebsd\"\nrole = \"client\"\nos = \"plan9\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--inventory"])
        .arg(&bad)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3: unknown key `colour` in [otii]"),
        "{err}"
    );
    assert!(
        err.contains("line 19: host \"server\" is listed twice (first on line 12)"),
        "{err}"
    );
    assert!(
        err.contains("line 20: host address \"10.0.0.300\""),
        "{err}"
    );
    assert!(
        err.contains("line 23: `os` in [[host]] is \"plan9\""),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = root.join("data/testbed.example.toml");
    let get = |key: &str| {
        let out = Command::new(BIN)
            .arg("-i")
            .arg(&example)
            .args(["inventory", "get", key])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(get("server.address"), "10.0.0.4");
    assert_eq!(get("client_hosts.address"), "10.0.0.2 10.0.0.3 10.0.0.5");
    assert_eq!(
        get("interpreters.venv"),
        "minitwit38 minitwit39 minitwit310 minitwit311 minitwit312 minitwit313"
    );
    assert_eq!(get("minitwit.port"), "5000");
    let out = Command::new(BIN)
        .arg("-i")
        .arg(&example)
        .args(["inventory", "get", "server.nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json = Command::new(BIN)
        .arg("-i")
        .arg(&example)
        .args(["inventory", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["hosts"].as_array().unwrap().len(), 4);
    assert_eq!(v["hosts"][0]["become"], "su");
}

/// How the scripted console behaves.
#[derive(Clone, Copy, PartialEq)]
enum Console {
    /// Like a FreeBSD Raspberry Pi image at first boot (root / root).
    FreeBsd,
    /// Nothing ever arrives (wrong port, no power).
    Silent,
    /// Asks to change the expired password after login.
    ExpiredPassword,
    /// `service netif restart` fails.
    NetifFails,
    /// A root shell is already open (someone logged in by hand).
    LoggedIn,
}

/// A scripted serial console on the master side of a pty: getty's banner and login prompt,
/// the password prompt (no echo), a root shell prompt, command echo, and answers to the few
/// commands whose output matters. Returns the shell lines it received.
fn scripted_console(
    mut master: serialport::TTYPort,
    kind: Console,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let mut received = Vec::new();
        let say = |m: &mut serialport::TTYPort, s: &str| {
            m.write_all(s.as_bytes()).unwrap();
            m.flush().unwrap();
        };
        if kind == Console::Silent {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return received;
        }
        let prompt = "root@generic:~ # ";
        if kind == Console::LoggedIn {
            say(&mut master, prompt);
        } else {
            say(
                &mut master,
                "\r\nFreeBSD/arm (generic) (ttyu0)\r\n\r\nlogin: ",
            );
        }
        #[derive(PartialEq)]
        enum State {
            Login,
            Password,
            Shell,
        }
        let mut state = if kind == Console::LoggedIn {
            State::Shell
        } else {
            State::Login
        };
        let mut line = Vec::new();
        let mut buf = [0u8; 256];
        while !stop.load(Ordering::SeqCst) {
            let n = match master.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(_) => break,
            };
            for &b in &buf[..n] {
                if b != b'\r' && b != b'\n' {
                    line.push(b);
                    continue;
                }
                let text = String::from_utf8_lossy(&line).into_owned();
                line.clear();
                match state {
                    State::Login if text.is_empty() => say(&mut master, "\r\nlogin: "),
                    State::Login => {
                        say(&mut master, &format!("{text}\r\nPassword:"));
                        state = State::Password;
                    }
                    State::Password => {
                        if text != "root" {
                            say(&mut master, "\r\nLogin incorrect\r\nlogin: ");
                            state = State::Login;
                        } else if kind == Console::ExpiredPassword {
                            say(&mut master, "\r\nPassword expired. Changing local password for root\r\nOld Password: ");
                            state = State::Login;
                        } else {
                            say(
                                &mut master,
                                "\r\nFreeBSD 14.1-RELEASE (GENERIC) releng/14.1\r\n\r\n",
                            );
                            say(&mut master, prompt);
                            state = State::Shell;
                        }
                    }
                    State::Shell if text.is_empty() => say(&mut master, &format!("\r\n{prompt}")),
                    State::Shell => {
                        say(&mut master, &format!("{text}\r\n"));
                        if text == "exit" {
                            received.push(text);
                            return received;
                        }
                        let mut rc = 0;
                        if text.contains("sysrc hostname=") {
                            say(&mut master, "hostname: generic -> server\r\n");
                        }
                        if text.contains("ssh-keygen -lf") {
                            say(&mut master, "256 SHA256:Zm9ZZmFrZWZpbmdlcnByaW50Zm9ydGVzdHM root@generic (ED25519)\r\n");
                        }
                        if kind == Console::NetifFails && text.contains("service netif restart") {
                            say(
                                &mut master,
                                "ifconfig: SIOCAIFADDR: Device not configured\r\n",
                            );
                            rc = 1;
                        }
                        if text.contains("__CPE_RC=$?") {
                            say(&mut master, &format!("__CPE_RC={rc}\r\n"));
                        }
                        received.push(text);
                        say(&mut master, prompt);
                    }
                }
            }
        }
        received
    })
}

fn run_console(kind: Console, password: Option<&str>) -> (i32, String, String, Vec<String>) {
    let (master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let slave_path = serialport::SerialPort::name(&slave).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let console = scripted_console(master, kind, stop.clone());
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id.pub");
    fs::write(
        &key,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest controller\n",
    )
    .unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/testbed.example.toml");
    let mut cmd = Command::new(BIN);
    cmd.arg("-i")
        .arg(&example)
        .args([
            "console",
            "--port",
            &slave_path,
            "--host",
            "server",
            "--timeout",
            "3",
            "--public-key",
        ])
        .arg(&key)
        .env_remove("PI_PROVISION_CONSOLE_PASSWORD");
    if let Some(p) = password {
        cmd.env("PI_PROVISION_CONSOLE_PASSWORD", p);
    }
    let out = cmd.output().unwrap();
    stop.store(true, Ordering::SeqCst);
    let received = console.join().unwrap();
    drop(slave);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("--- console → {:?}\n{err}", out.status.code());
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
        received,
    )
}

/// First boot over a pty that behaves like FreeBSD's console: logs in with the image's
/// default account, configures the host from the inventory, reports the host key fingerprint.
#[test]
fn console_first_boot_over_a_pty() {
    let (code, out, err, received) = run_console(Console::FreeBsd, None);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["hostname"], "server");
    assert_eq!(report["address"], "10.0.0.4/24");
    assert_eq!(
        report["host_key_fingerprints"][0],
        "256 SHA256:Zm9ZZmFrZWZpbmdlcnByaW50Zm9ydGVzdHM root@generic (ED25519)"
    );
    let all = received.join("\n");
    assert!(
        all.contains("sysrc hostname=server && hostname server"),
        "{all}"
    );
    assert!(
        all.contains("sysrc ifconfig_ue0=\"inet 10.0.0.4/24\""),
        "{all}"
    );
    assert!(all.contains("sysrc sshd_enable=YES"), "{all}");
    assert!(
        all.contains("AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest controller"),
        "{all}"
    );
    assert!(
        all.contains("~freebsd"),
        "the key must go to the SSH user: {all}"
    );
    assert_eq!(received.last().map(String::as_str), Some("exit"));
    assert!(err.contains("server | ==> enable sshd"), "{err}");
}

/// A shell that is already open is used as it is, without logging in again.
#[test]
fn console_uses_an_open_shell() {
    let (code, out, err, received) = run_console(Console::LoggedIn, None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"hostname\":\"server\""), "{out}");
    assert!(!err.contains("logging in as"), "{err}");
    assert!(
        received.iter().any(|l| l.contains("sysrc hostname=server")),
        "{received:?}"
    );
}

/// A refused login, an unexpected prompt, silence and a failing command are clear errors.
#[test]
fn console_failures_are_clear_errors() {
    let (code, _, err, _) = run_console(Console::FreeBsd, Some("wrong"));
    assert_eq!(code, 1);
    assert!(err.contains("login as root was refused"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password leaked into the log: {err}"
    );

    let (code, _, err, _) = run_console(Console::ExpiredPassword, None);
    assert_eq!(code, 1);
    assert!(
        err.contains("unexpected prompt while logging in: \"Old Password: \""),
        "{err}"
    );

    let (code, _, err, _) = run_console(Console::Silent, None);
    assert_eq!(code, 1);
    assert!(
        err.contains("timed out after 3s waiting for the login prompt"),
        "{err}"
    );

    let (code, _, err, received) = run_console(Console::NetifFails, None);
    assert_eq!(code, 1);
    assert!(
        err.contains("console step `set a static address` failed with exit status 1"),
        "{err}"
    );
    assert!(err.contains("SIOCAIFADDR"), "{err}");
    assert!(
        !received.iter().any(|l| l.contains("sshd_enable")),
        "went on after a failure: {received:?}"
    );
}

/// Starts `cmd` (stdin and stdout closed), sends it SIGINT after `after`, and returns its exit
/// code, its stderr and how long it took to end after the signal.
fn interrupt_after(mut cmd: Command, after: Duration) -> (Option<i32>, String, Duration) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let t0 = std::time::Instant::now();
    sh(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        t0.elapsed(),
    )
}

/// Ctrl-C (SIGINT) ends the tool with exit status 130, here while it waits on a silent console.
#[test]
fn interrupt_exits_130() {
    let (_master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let slave_path = serialport::SerialPort::name(&slave).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id.pub");
    fs::write(
        &key,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest controller\n",
    )
    .unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/testbed.example.toml");
    let mut cmd = Command::new(BIN);
    cmd.arg("-i")
        .arg(&example)
        .args([
            "console",
            "--port",
            &slave_path,
            "--host",
            "server",
            "--timeout",
            "30",
            "--public-key",
        ])
        .arg(&key);
    let (code, err, _) = interrupt_after(cmd, Duration::from_millis(700));
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("pi-provision: interrupted"), "{err}");
}
