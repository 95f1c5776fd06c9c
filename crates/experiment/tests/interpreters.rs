//! `experiment interpreters` on a machine made up in a temp dir: a pyenv tree, a PATH with a
//! shim folder, a system-like folder and a `uv` that lists its own Python. Every "Python" is a
//! small shell script that answers the version question the way Python does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Writes an executable script.
fn script(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A fake interpreter: `-c CODE` prints what the probe asks (implementation, version,
/// sys.executable); anything else is an error, as with Python.
fn python(path: &Path, implementation: &str, version: &str) {
    script(
        path,
        &format!(
            "[ \"$1\" = -c ] || {{ echo \"unknown option $1\" >&2; exit 2; }}\n\
             echo \"cpe-probe {implementation} {version} $0\""
        ),
    );
}

struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    /// pyenv: 2.7.18 (only `python`), 3.7.16, 3.8.18, 3.11.7, and its shims on PATH; PATH/bin:
    /// python3.11 (3.11.2) with python3 linking to it, pypy3 (PyPy for 3.9), uv; uv lists its
    /// own 3.12.1 and bin/python3.11 again.
    fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let pyenv = r.join("pyenv/versions");
        python(&pyenv.join("2.7.18/bin/python"), "CPython", "2.7.18");
        for v in ["3.7.16", "3.8.18", "3.11.7"] {
            python(&pyenv.join(v).join("bin/python3"), "CPython", v);
        }
        // A shim that forwards to a version that is not active, as pyenv's do.
        script(
            &r.join("pyenv/shims/python3.8"),
            "echo \"pyenv: python3.8: command not found\" >&2; exit 127",
        );
        python(&r.join("bin/python3.11"), "CPython", "3.11.2");
        symlink("python3.11", r.join("bin/python3")).unwrap();
        python(&r.join("bin/pypy3"), "PyPy", "3.9.16");
        let uv_python = r.join("uv/python/cpython-3.12.1-linux-x86_64-gnu/bin/python3.12");
        python(&uv_python, "CPython", "3.12.1");
        script(
            &r.join("bin/uv"),
            &format!(
                "[ \"$*\" = \"python list --only-installed\" ] || exit 2\n\
                 echo 'cpython-3.12.1-linux-x86_64-gnu    {}'\n\
                 echo 'cpython-3.11.2-linux-x86_64-gnu    {} -> python3.11'\n\
                 echo 'cpython-3.13.0-linux-x86_64-gnu    <download available>'",
                uv_python.display(),
                r.join("bin/python3.11").display()
            ),
        );
        // Named by the user only: another 3.11.7, and something that is not a Python.
        python(&r.join("opt/python3.11"), "CPython", "3.11.7");
        script(
            &r.join("opt/notpython"),
            "echo \"notpython: unknown option $1\" >&2; exit 2",
        );
        Machine { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.path("pyenv/shims").display(),
            self.path("bin").display()
        );
        Command::new(env!("CARGO_BIN_EXE_experiment"))
            .arg("interpreters")
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("PYENV_ROOT", self.path("pyenv"))
            .env("HOME", self.root())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        let out = self.run(&[&["--format", "json"], args].concat());
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn labels(&self, args: &[&str]) -> Vec<String> {
        let out = self.run(&[&["--format", "labels"], args].concat());
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn real(p: PathBuf) -> String {
    fs::canonicalize(p).unwrap().display().to_string()
}

#[test]
fn pyenv_path_and_uv_interpreters_are_found_with_unique_labels() {
    let m = Machine::new();
    let lines = m.json(&[]);
    let found: Vec<(&str, &str, &str, &str, &str)> = lines
        .iter()
        .filter(|l| l["type"] == "interpreter")
        .map(|l| {
            (
                l["label"].as_str().unwrap(),
                l["implementation"].as_str().unwrap(),
                l["version"].as_str().unwrap(),
                l["origin"].as_str().unwrap(),
                l["found_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("3.8", "CPython", "3.8.18", "pyenv", "pyenv"),
            ("3.11", "CPython", "3.11.7", "pyenv", "pyenv"),
            ("3.11-path", "CPython", "3.11.2", "path", "path"),
            ("3.12", "CPython", "3.12.1", "uv", "uv"),
            ("pypy3.9", "PyPy", "3.9.16", "path", "path"),
        ]
    );
    let path_of = |label: &str| {
        lines
            .iter()
            .find(|l| l["label"] == label)
            .map(|l| l["path"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(
        path_of("3.11"),
        real(m.path("pyenv/versions/3.11.7/bin/python3"))
    );
    assert_eq!(path_of("3.11-path"), real(m.path("bin/python3.11")));
    assert!(lines
        .iter()
        .filter(|l| l["type"] == "interpreter")
        .all(|l| l["chosen"] == true));
    // Every found interpreter is the default choice, labels one per line for the Makefile.
    assert_eq!(
        m.labels(&[]),
        ["3.8", "3.11", "3.11-path", "3.12", "pypy3.9"]
    );
}

#[test]
fn too_old_versions_shims_and_duplicates_are_skipped_with_their_reason() {
    let m = Machine::new();
    let lines = m.json(&[]);
    let reason = |rel: &str| {
        let p = m.path(rel).display().to_string();
        lines
            .iter()
            .find(|l| l["type"] == "skipped" && l["path"] == p.as_str())
            .unwrap_or_else(|| panic!("{p} not skipped: {lines:#?}"))["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (rel, version) in [
        ("pyenv/versions/2.7.18/bin/python", "2.7.18"),
        ("pyenv/versions/3.7.16/bin/python3", "3.7.16"),
    ] {
        let why = reason(rel);
        assert!(why.contains(version) && why.contains("too old"), "{why}");
        assert!(why.contains("3.8 or newer"), "{why}");
    }
    assert!(reason("pyenv/shims").contains("shims"));
    assert!(reason("bin/python3").contains("the same executable as"));
    let uv_again = lines
        .iter()
        .filter(|l| l["type"] == "skipped" && l["found_by"] == "uv")
        .count();
    assert_eq!(uv_again, 1, "uv's listing of bin/python3.11 is a duplicate");

    let table = m.run(&[]);
    assert!(table.status.success());
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("LABEL"), "{table}");
    assert!(table.contains("\nskipped:\n"), "{table}");
    assert!(table.contains("CPython 2.7.18 is too old"), "{table}");
}

#[test]
fn named_interpreters_keep_the_labels_of_the_found_ones() {
    let m = Machine::new();
    let opt = m.path("opt/python3.11").display().to_string();
    let bin3 = m.path("bin/python3").display().to_string();
    assert_eq!(
        m.labels(&[
            "--python",
            "3.11-path",
            "--python",
            "pypy3",
            "--python",
            &opt
        ]),
        ["3.11-path", "pypy3.9", "3.11-user"]
    );
    // A symlink to a found interpreter is that interpreter.
    assert_eq!(m.labels(&["--python", &bin3]), ["3.11-path"]);
    // Naming an extra one renames none of the others.
    let all = m.json(&["--python", &opt]);
    let labels: Vec<&str> = all
        .iter()
        .filter(|l| l["type"] == "interpreter")
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["3.8", "3.11", "3.11-path", "3.12", "pypy3.9", "3.11-user"]
    );
}

#[test]
fn quick_chooses_the_oldest_and_newest_cpython() {
    let m = Machine::new();
    assert_eq!(m.labels(&["--quick"]), ["3.8", "3.12"]);
}

#[test]
fn a_named_path_that_is_not_a_usable_python_is_a_clear_usage_error() {
    let m = Machine::new();
    let not_python = m.path("opt/notpython").display().to_string();
    let old = m
        .path("pyenv/versions/2.7.18/bin/python")
        .display()
        .to_string();
    for (name, says) in [
        (not_python.as_str(), "not a Python interpreter"),
        (
            old.as_str(),
            "CPython 2.7.18 is too old for MiniTwit's pins",
        ),
        ("/no/such/python3", "no such file"),
        ("python3.99", "not on PATH"),
        ("python3.8", "shim for a version that is not active"),
    ] {
        let out = m.run(&["--python", name]);
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("--python {name}")), "{err}");
        assert!(err.contains(says), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn run_refuses_a_named_path_that_is_not_a_python_before_starting_anything() {
    let m = Machine::new();
    let out = Command::new(env!("CARGO_BIN_EXE_experiment"))
        .arg("run")
        .arg("--plan")
        .arg(m.path("plan.json"))
        .arg("--out")
        .arg(m.path("out"))
        .arg("--python")
        .arg(m.path("opt/notpython"))
        .env("PATH", m.path("bin"))
        .env("PYENV_ROOT", m.path("pyenv"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Python interpreter"), "{err}");
    assert!(!m.path("out").exists() && !m.path("plan.json").exists());
}
