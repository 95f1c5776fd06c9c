#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `--seed-sql` and the generated seed's shape, against real MiniTwit (gunicorn on loopback,
//! one server and database per test, from `testkit`): the scenario follows the first 20 users
//! by id of whatever seed MiniTwit was loaded with, and the generated seed has the study data's
//! shape where it shapes the work.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use minitwit_load::seed::{user_names, DEFAULT_SEED};
use minitwit_load::url::encode_form;
use records::{read_jsonl, RequestRecord};

fn load() -> Command {
    Command::cargo_bin("minitwit-load").unwrap()
}

/// 24 users that are not the generated seed's, written the ways seed files write them: both
/// INSERT forms, a multi-row INSERT, escaped quotes, non-ASCII, ids out of file order, a
/// comment, messages and follower rows. `user_id` order: "Wren Ashby" (1) … "Xavier Quell" (20).
const HAND_SEED: &str = "\
-- A hand-written seed: 24 users; the scenario follows ids 1 to 20.
BEGIN TRANSACTION;
INSERT INTO user VALUES(3,'Dana O''Hara','dana@example.org','pbkdf2:sha256:50000$x$y');
INSERT INTO user VALUES(1,'Wren Ashby','wren@example.org','pbkdf2:sha256:50000$x$y');
INSERT INTO user VALUES(2,'Zoë Ångström','zoe@example.org','pbkdf2:sha256:50000$x$y');
INSERT INTO user (user_id, username, email, pw_hash) VALUES
  (4, 'Ike Tamm', 'ike@example.org', 'h'),
  (5, 'Ola Berg; Jr', 'ola@example.org', 'h'),
  (6, 'Pia Lind', 'pia@example.org', 'h');
INSERT INTO user VALUES(7,'Quin Hale','q@example.org','h');
INSERT INTO user VALUES(8,'Rue Vance','r@example.org','h');
INSERT INTO user VALUES(9,'Sol Marsh','s@example.org','h');
INSERT INTO user VALUES(10,'Tam Bright','t@example.org','h');
INSERT INTO user VALUES(11,'Uma Frost','u@example.org','h');
INSERT INTO user VALUES(12,'Vic Stone','v@example.org','h');
INSERT INTO user VALUES(13,'Wes Crane','w@example.org','h');
INSERT INTO user VALUES(14,'Yara Penn','y@example.org','h');
INSERT INTO user VALUES(15,'Zed Quill','z@example.org','h');
INSERT INTO user VALUES(16,'Abe North','a@example.org','h');
INSERT INTO user VALUES(17,'Bea South','b@example.org','h');
INSERT INTO user VALUES(18,'Cy East','c@example.org','h');
INSERT INTO user VALUES(19,'Di West','d@example.org','h');
INSERT INTO user VALUES(20,'Xavier Quell','x@example.org','h');
INSERT INTO user VALUES(24,'Not Followed','n@example.org','h');
INSERT INTO user VALUES(21,'Also Not','n@example.org','h');
INSERT INTO user VALUES(22,'Nor This','n@example.org','h');
INSERT INTO user VALUES(23,'Nor That','n@example.org','h');
INSERT INTO follower VALUES(1,2);
INSERT INTO follower VALUES(2,3);
INSERT INTO message VALUES(1,1,'It''s a message; with a semicolon',1233065594,0);
INSERT INTO message VALUES(2,3,'“Quoted”, said Dana.',1233065595,0);
COMMIT;
";

/// The followed users in the order the scenario must follow them.
const HAND_FOLLOWED: [&str; 20] = [
    "Wren Ashby",
    "Zoë Ångström",
    "Dana O'Hara",
    "Ike Tamm",
    "Ola Berg; Jr",
    "Pia Lind",
    "Quin Hale",
    "Rue Vance",
    "Sol Marsh",
    "Tam Bright",
    "Uma Frost",
    "Vic Stone",
    "Wes Crane",
    "Yara Penn",
    "Zed Quill",
    "Abe North",
    "Bea South",
    "Cy East",
    "Di West",
    "Xavier Quell",
];

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn server_with(seed: &Path) -> testkit::MiniTwit {
    let server = testkit::MiniTwit::builder().seed(seed).start();
    let (status, _) = testkit::http_get(&format!("{}/cleardb", server.base_url())).unwrap();
    assert_eq!(status, 302, "{}", server.log());
    server
}

fn records(out: &[u8]) -> Vec<RequestRecord> {
    read_jsonl(out, "stdout")
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// The paths of the `/<name>/follow` requests, in order.
fn follow_paths(recs: &[RequestRecord]) -> Vec<String> {
    recs.iter()
        .filter(|r| r.path.ends_with("/follow"))
        .map(|r| r.path.clone())
        .collect()
}

/// A path as Python `requests` puts it on the wire (what minitwit-load records).
fn wire_path(name: &str) -> String {
    let mut out = String::from("/");
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out + "/follow"
}

fn sqlite(db: &Path, query: &str) -> String {
    let out = StdCommand::new(testkit::venv().join("bin/python"))
        .args([
            "-c",
            "import sqlite3, sys; print(','.join(str(r[0]) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))",
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
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn seed_sql_follows_the_first_twenty_users_of_a_hand_written_seed() {
    let dir = tempfile::tempdir().unwrap();
    let seed = write(dir.path(), "hand.sql", HAND_SEED);
    let server = server_with(&seed);
    let out = load()
        .args(["run", "--server", &server.base_url(), "--user", "hand"])
        .arg("--seed-sql")
        .arg(&seed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let recs = records(&out.stdout);
    let want: Vec<String> = HAND_FOLLOWED.iter().map(|n| wire_path(n)).collect();
    assert_eq!(follow_paths(&recs), want);
    let count = |s: u16| recs.iter().filter(|r| r.status == Some(s)).count();
    assert_eq!(
        (recs.len(), count(200), count(302), count(404)),
        (164, 62, 62, 40)
    );
    assert!(recs.iter().all(|r| r.error.is_none()));
}

#[test]
fn seed_sql_with_too_few_users_is_a_usage_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // The hand seed without its users 17 to 24: 16 users.
    let few: String = HAND_SEED
        .lines()
        .filter(|l| !(17..=24).any(|id| l.contains(&format!("user VALUES({id},"))))
        .map(|l| format!("{l}\n"))
        .collect();
    let seed = write(dir.path(), "few-users.sql", &few);
    for args in [
        &["run", "--server", "http://127.0.0.1:9"][..],
        &[
            "agent",
            "--listen",
            "127.0.0.1:0",
            "--server",
            "http://127.0.0.1:9",
        ],
    ] {
        let out = load()
            .args(args)
            .arg("--seed-sql")
            .arg(&seed)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("few-users.sql")
                && stderr.contains("16 user(s)")
                && stderr.contains("the first 20"),
            "{stderr}"
        );
    }
    let bad = write(
        dir.path(),
        "broken.sql",
        "INSERT INTO user VALUES(1,'a','b','c');\n\nINSERT INTO user VALUES(2,'x','y' 'z');\n",
    );
    let out = load()
        .args(["run", "--server", "http://127.0.0.1:9", "--seed-sql"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.sql:3:"), "{stderr}");
}

#[test]
fn a_seed_sql_user_the_server_does_not_know_fails_naming_file_and_user() {
    let dir = tempfile::tempdir().unwrap();
    let seed = write(dir.path(), "other.sql", HAND_SEED);
    // MiniTwit runs the generated seed, the load follows the hand seed's users.
    let server = server_with(&testkit::seed_sql());
    let out = load()
        .args(["run", "--server", &server.base_url(), "--user", "lost"])
        .arg("--seed-sql")
        .arg(&seed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<&str> = stderr.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failed.len(), 1, "{stderr}");
    assert!(
        failed[0].contains("step 5a, request 45")
            && failed[0].contains("\"Wren Ashby\"")
            && failed[0].contains("other.sql"),
        "{stderr}"
    );
}

#[test]
fn generated_seed_has_the_study_shape_and_the_tweets_its_body_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let out = load().arg("seed").output().unwrap();
    assert!(out.status.success());
    let seed = dir.path().join("seed.sql");
    std::fs::write(&seed, &out.stdout).unwrap();
    let server = server_with(&seed);
    let db = server.db_path();
    assert_eq!(sqlite(&db, "select count(*) from user"), "200");
    assert_eq!(sqlite(&db, "select count(*) from message"), "11306");
    assert_eq!(sqlite(&db, "select count(*) from follower"), "6265");
    // The study's figures (its dump.sql): messages of users 1 to 20, and message lengths.
    assert_eq!(
        sqlite(
            &db,
            "select count(message_id) from user left join message on author_id = user_id \
             where user_id <= 20 group by user_id order by user_id"
        ),
        "60,31,43,22,78,7,25,15,15,359,91,79,6,9,24,61,99,91,37,64"
    );
    assert_eq!(
        sqlite(
            &db,
            "select min(length(text)) || ',' || max(length(text)) from message"
        ),
        "13,140"
    );
    let mean: f64 = sqlite(&db, "select avg(length(text)) from message")
        .parse()
        .unwrap();
    assert!((67.5..=69.5).contains(&mean), "mean message length {mean}");
    // --seed-sql on the generated file follows what --seed follows, and the whole scenario runs.
    let run = load()
        .args(["run", "--server", &server.base_url(), "--user", "shape"])
        .arg("--seed-sql")
        .arg(&seed)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let want: Vec<String> = user_names(DEFAULT_SEED)[..20]
        .iter()
        .map(|n| wire_path(n))
        .collect();
    assert_eq!(follow_paths(&records(&run.stdout)), want);
    // What the server stored from the first ten tweets, as form bodies: the study's lengths.
    let texts = StdCommand::new(testkit::venv().join("bin/python"))
        .args([
            "-c",
            "import sqlite3, sys, json; print(json.dumps([r[0] for r in sqlite3.connect(sys.argv[1]).execute(\"select text from message, user where author_id = user_id and username = 'shape' order by message_id limit 10\")]))",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let texts: Vec<String> = serde_json::from_slice(&texts.stdout).unwrap();
    let bodies: Vec<usize> = texts
        .iter()
        .map(|t| encode_form(&[("text", t)]).len())
        .collect();
    assert_eq!(bodies, [130, 64, 89, 98, 33, 32, 99, 49, 113, 122]);
}
