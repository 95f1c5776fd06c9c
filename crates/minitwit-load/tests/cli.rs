#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Drives the `minitwit-load` binary against real MiniTwit servers (real gunicorn on
//! loopback, one server and database per test, from `testkit`).

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use predicates::prelude::*;

fn load() -> Command {
    Command::cargo_bin("minitwit-load").unwrap()
}

/// Writes the default seed SQL into `dir` with the binary and returns its path.
fn seed_file(dir: &Path) -> PathBuf {
    let out = load().arg("seed").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let names = minitwit_load::seed::user_names(minitwit_load::seed::DEFAULT_SEED);
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
