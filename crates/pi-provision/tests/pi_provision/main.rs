#![allow(clippy::unwrap_used, clippy::expect_used)]
//! pi-provision against a real testbed built on this machine ([`testkit::Testbed`]): network
//! namespaces joined by veth pairs on a bridge (a small LAN like the study's, on
//! 10.213.0.0/24, which exists only inside these namespaces), a real OpenSSH sshd in each host
//! namespace (key auth only), and the tool running in the controller namespace. Each host's
//! "disk" is a directory under a temporary dir (the hosts share this machine's file system;
//! each has its own `base`). Everything is torn down by `Drop`, also when an assertion fails.
//!
//! Needs root, `ip`, `/usr/sbin/sshd`, `ssh-keygen`, and for deploy the environment `make
//! test` sets (CPE_ROOT, CPE_VENV, CPE_WHEELHOUSE).//!
//! One test binary, by subject: `testbed.rs` (the happy path on two hosts), `failures.rs` (keys,
//! authentication, failing steps, a full disk, no scripts), `inventory.rs` (validation and
//! `get`), `console.rs` (first boot over a pty, Ctrl-C).

mod console;
mod failures;
mod inventory;
mod testbed;

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
