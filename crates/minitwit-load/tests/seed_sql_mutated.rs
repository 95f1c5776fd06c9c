//! The seed SQL reader meets anything (issue 15): a valid seed with bytes flipped, cut short
//! or inserted, or arbitrary bytes, never panics; every error is one line naming the file and
//! its line; the valid seed still reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use minitwit_load::seedsql::{followed_users, users, SeedSqlError};
use proptest::prelude::*;
use testkit::mutate::{apply, edits};

/// A seed in the forms the reader knows: a CREATE TABLE, a multi-row INSERT with quoted
/// names and `''` escapes, single-row INSERTs with and without a column list, comments.
fn valid_seed() -> String {
    let mut s = String::from(
        "-- a seed\nCREATE TABLE \"user\" (\n  user_id integer primary key autoincrement,\n  username string not null,\n  email string not null,\n  pw_hash string not null\n);\n/* the users */\nINSERT INTO user VALUES\n",
    );
    for i in 1..=12 {
        let sep = if i == 12 { ";" } else { "," };
        writeln!(s, "  ({i}, 'User O''{i}', 'u{i}@example.org', 'x'){sep}").unwrap();
    }
    for i in 13..=22 {
        writeln!(
            s,
            "INSERT INTO \"user\"(user_id, username, email, pw_hash) VALUES({i}, 'Name {i}', 'n{i}@x', 'h');"
        )
        .unwrap();
    }
    s.push_str("INSERT INTO message VALUES(1, 2, 'hi; there', 1700000000, 0);\n");
    s
}

/// Insertions likely to confuse the parser of the seed SQL (see [`testkit::mutate`]).
const TOKENS: &[&[u8]] = &[
    b"'",
    b"\n",
    b";",
    b"(",
    b"--",
    b"/*",
    b"\"",
    b"\xff",
    b"INSERT INTO user VALUES(",
];

/// Reads `bytes` as text and as a file; each error must be one line with a line in range.
fn check(bytes: &[u8], dir: &std::path::Path) -> Result<(), TestCaseError> {
    let lines = bytes.split(|&c| c == b'\n').count();
    if let Err((line, what)) = users(&String::from_utf8_lossy(bytes)) {
        prop_assert!(
            (1..=lines).contains(&line),
            "line {line} of {lines}: {what}"
        );
        prop_assert!(!what.contains('\n'), "{what:?}");
    }
    let path = dir.join("seed.sql");
    std::fs::write(&path, bytes).unwrap();
    match followed_users(&path) {
        Ok(u) => prop_assert_eq!(u.len(), 20),
        Err(e) => {
            let text = e.to_string();
            prop_assert!(!text.contains('\n'), "{text:?}");
            let named = format!("--seed-sql {}", path.display());
            prop_assert!(text.starts_with(&named), "{text}");
            if let SeedSqlError::Syntax { line, .. } = e {
                prop_assert!(
                    (1..=lines).contains(&line),
                    "line {line} of {lines}: {text}"
                );
                prop_assert!(text.starts_with(&format!("{named}:{line}: ")), "{text}");
            }
        }
    }
    Ok(())
}

#[test]
fn the_valid_seed_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.sql");
    std::fs::write(&path, valid_seed()).unwrap();
    let u = followed_users(&path).unwrap();
    assert_eq!(u.len(), 20);
    assert_eq!((u[0].as_str(), u[19].as_str()), ("User O'1", "Name 20"));
}

#[test]
fn a_seed_that_is_not_utf8_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.sql");
    std::fs::write(&path, b"-- ok\n-- ok\nINSERT \xff\n").unwrap();
    let e = followed_users(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "--seed-sql {}:3: not UTF-8 text (SQLite dumps are UTF-8)",
            path.display()
        )
    );
}

proptest! {
    #[test]
    fn a_mutated_seed_never_panics_and_errors_name_file_and_line(
        edits in edits(TOKENS)
    ) {
        let dir = tempfile::tempdir().unwrap();
        check(&apply(valid_seed().as_bytes(), &edits), dir.path())?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_name_file_and_line(
        bytes in proptest::collection::vec(any::<u8>(), 0..300)
    ) {
        let dir = tempfile::tempdir().unwrap();
        check(&bytes, dir.path())?;
    }
}
