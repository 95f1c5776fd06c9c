//! The users a seed SQL file gives MiniTwit, read from its `INSERT`s: where `run --seed-sql`
//! and `agent --seed-sql` take the users to follow, so the scenario runs on any seed (the
//! study's `dump.sql`, `minitwit-load seed`'s output, a hand-written file).
//!
//! The reader knows as much SQL as seed files use: statements end at `;` outside literals;
//! `--` and `/* */` comments; `'…'` strings with `''` escapes; `"…"`, `` `…` `` and `[…]`
//! identifiers; `INSERT [OR …] INTO user [(columns)] VALUES (…)[, (…)]…`. Without a column list
//! the columns are the table's own order (`schema.sql`'s, or the file's `CREATE TABLE user`).
//! Other statements are checked for balanced quotes only. Errors name `FILE:LINE`.

use std::path::{Path, PathBuf};

/// How many users the study's scenario follows: the first 20 by `user_id`.
pub const FOLLOWED: usize = 20;

/// Why the users to follow could not be read from a seed file.
#[derive(Debug, thiserror::Error)]
pub enum SeedSqlError {
    /// The file cannot be read.
    #[error("--seed-sql {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The file is not SQL this reader understands.
    #[error("--seed-sql {}:{line}: {what}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What was expected.
        what: String,
    },
    /// The file has fewer users than the scenario follows.
    #[error("--seed-sql {}: {found} user(s) in its INSERT INTO user statements, the scenario follows the first {FOLLOWED} by user_id", path.display())]
    TooFew {
        /// The file.
        path: PathBuf,
        /// Users found.
        found: usize,
    },
}

/// One `user` row of a seed: its id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedUserRow {
    /// `user_id` (an autoincrement id when the row gives none).
    pub id: i64,
    /// `username`.
    pub username: String,
    /// Line of the row in the file.
    pub line: usize,
}

/// The first [`FOLLOWED`] users of the seed file at `path`, by `user_id`: the users the study's
/// client follows, in its order.
pub fn followed_users(path: &Path) -> Result<Vec<String>, SeedSqlError> {
    let bytes = std::fs::read(path).map_err(|source| SeedSqlError::Read {
        path: path.to_owned(),
        source,
    })?;
    // Not UTF-8 is a syntax error at its line, not an I/O error without one.
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        SeedSqlError::Syntax {
            path: path.to_owned(),
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            what: "not UTF-8 text (SQLite dumps are UTF-8)".into(),
        }
    })?;
    let users = users(text).map_err(|(line, what)| SeedSqlError::Syntax {
        path: path.to_owned(),
        line,
        what,
    })?;
    if users.len() < FOLLOWED {
        return Err(SeedSqlError::TooFew {
            path: path.to_owned(),
            found: users.len(),
        });
    }
    Ok(users
        .into_iter()
        .take(FOLLOWED)
        .map(|u| u.username)
        .collect())
}

/// Every `user` row of a seed script, sorted by `user_id`. An error is `(line, what)`.
pub fn users(sql: &str) -> Result<Vec<SeedUserRow>, (usize, String)> {
    // schema.sql's order, unless the file creates the table itself.
    let mut columns: Vec<String> = ["user_id", "username", "email", "pw_hash"]
        .map(String::from)
        .to_vec();
    let mut rows: Vec<SeedUserRow> = Vec::new();
    let mut next_id = 1;
    for statement in statements(sql)? {
        let mut p = Parser {
            toks: &statement,
            i: 0,
        };
        if p.keyword("create") {
            p.keyword("temp");
            p.keyword("temporary");
            if p.keyword("table") {
                if p.keyword("if") {
                    p.expect_keyword("not")?;
                    p.expect_keyword("exists")?;
                }
                if p.table_is_user()? {
                    columns = p.column_defs()?;
                }
            }
            continue;
        }
        if !p.keyword("insert") && !p.keyword("replace") {
            continue;
        }
        if p.keyword("or") {
            p.ident()?;
        }
        p.expect_keyword("into")?;
        if !p.table_is_user()? {
            continue;
        }
        let listed = if p.punct('(') {
            let mut names = vec![p.ident()?];
            while p.punct(',') {
                names.push(p.ident()?);
            }
            p.expect_punct(')')?;
            names
        } else {
            columns.clone()
        };
        let find = |name: &str| listed.iter().position(|c| c.eq_ignore_ascii_case(name));
        let Some(name_at) = find("username") else {
            return Err((
                p.line(),
                "INSERT INTO user without a username column".into(),
            ));
        };
        let id_at = find("user_id");
        p.expect_keyword("values")?;
        loop {
            let line = p.line();
            p.expect_punct('(')?;
            let mut values = vec![p.value()?];
            while p.punct(',') {
                values.push(p.value()?);
            }
            p.expect_punct(')')?;
            if values.len() != listed.len() {
                return Err((
                    line,
                    format!(
                        "a user row with {} values for {} columns",
                        values.len(),
                        listed.len()
                    ),
                ));
            }
            let id = match id_at.map(|i| &values[i]) {
                None | Some(Value::Null) => next_id,
                Some(Value::Int(n)) => *n,
                Some(v) => return Err((line, format!("user_id {v:?} is not an integer"))),
            };
            let Value::Text(username) = &values[name_at] else {
                return Err((line, "username is not a string".into()));
            };
            if let Some(dup) = rows.iter().find(|r| r.id == id) {
                return Err((
                    line,
                    format!("user_id {id} again (first on line {})", dup.line),
                ));
            }
            next_id = next_id.max(id + 1);
            rows.push(SeedUserRow {
                id,
                username: username.clone(),
                line,
            });
            if !p.punct(',') {
                break;
            }
        }
        if let Some(t) = p.toks.get(p.i) {
            return Err((t.line, format!("unexpected {:?} after the values", t.kind)));
        }
    }
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// A bare word or a quoted identifier (lower-cased when bare).
    Word(String, bool),
    Str(String),
    Num(String),
    Punct(char),
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    line: usize,
}

#[derive(Debug, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Other(String),
    Text(String),
}

/// The statements of a script as tokens, split at `;`.
fn statements(sql: &str) -> Result<Vec<Vec<Tok>>, (usize, String)> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let start = line;
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                loop {
                    match chars.get(i) {
                        None => return Err((start, "a /* comment that never ends".into())),
                        Some('*') if chars.get(i + 1) == Some(&'/') => break,
                        Some('\n') => line += 1,
                        Some(_) => {}
                    }
                    i += 1;
                }
                i += 2;
            }
            ';' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                i += 1;
            }
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err((start, format!("a {c}…{close} literal that never ends")))
                        }
                        Some(&q) if q == close => {
                            if close != ']' && chars.get(i + 1) == Some(&close) {
                                text.push(q);
                                i += 2;
                                continue;
                            }
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                let kind = if c == '\'' {
                    Kind::Str(text)
                } else {
                    Kind::Word(text, true)
                };
                cur.push(Tok { kind, line: start });
            }
            c if c.is_ascii_digit()
                || c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit) =>
            {
                let from = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || chars[i] == '.'
                        || (matches!(chars[i], '+' | '-') && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let kind = Kind::Num(chars[from..i].iter().collect());
                cur.push(Tok { kind, line: start });
            }
            c if c.is_alphabetic() || c == '_' => {
                let from = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$'))
                {
                    i += 1;
                }
                let word: String = chars[from..i].iter().collect();
                let kind = Kind::Word(word.to_lowercase(), false);
                cur.push(Tok { kind, line: start });
            }
            c => {
                cur.push(Tok {
                    kind: Kind::Punct(c),
                    line: start,
                });
                i += 1;
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

struct Parser<'a> {
    toks: &'a [Tok],
    i: usize,
}

impl Parser<'_> {
    fn line(&self) -> usize {
        self.toks
            .get(self.i)
            .or(self.toks.last())
            .map_or(0, |t| t.line)
    }

    fn found(&self) -> String {
        self.toks.get(self.i).map_or_else(
            || "the end of the statement".into(),
            |t| format!("{:?}", t.kind),
        )
    }

    fn keyword(&mut self, kw: &str) -> bool {
        let hit = matches!(self.toks.get(self.i), Some(Tok { kind: Kind::Word(w, false), .. }) if w == kw);
        self.i += usize::from(hit);
        hit
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), (usize, String)> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err((
                self.line(),
                format!("expected {}, found {}", kw.to_uppercase(), self.found()),
            ))
        }
    }

    fn punct(&mut self, c: char) -> bool {
        let hit =
            matches!(self.toks.get(self.i), Some(Tok { kind: Kind::Punct(p), .. }) if *p == c);
        self.i += usize::from(hit);
        hit
    }

    fn expect_punct(&mut self, c: char) -> Result<(), (usize, String)> {
        if self.punct(c) {
            Ok(())
        } else {
            Err((
                self.line(),
                format!("expected {c:?}, found {}", self.found()),
            ))
        }
    }

    fn ident(&mut self) -> Result<String, (usize, String)> {
        match self.toks.get(self.i) {
            Some(Tok {
                kind: Kind::Word(w, _),
                ..
            }) => {
                self.i += 1;
                Ok(w.clone())
            }
            _ => Err((
                self.line(),
                format!("expected a name, found {}", self.found()),
            )),
        }
    }

    /// A table name, `schema.`-qualified or not: is it `user`?
    fn table_is_user(&mut self) -> Result<bool, (usize, String)> {
        let mut name = self.ident()?;
        if self.punct('.') {
            name = self.ident()?;
        }
        Ok(name.eq_ignore_ascii_case("user"))
    }

    /// `(col type …, col …, CONSTRAINT …)`: the column names.
    fn column_defs(&mut self) -> Result<Vec<String>, (usize, String)> {
        self.expect_punct('(')?;
        let mut names = Vec::new();
        loop {
            let name = self.ident()?;
            let constraint =
                ["primary", "unique", "check", "foreign", "constraint"].contains(&name.as_str());
            if !constraint {
                names.push(name);
            }
            let mut depth = 0usize;
            loop {
                match self.toks.get(self.i).map(|t| &t.kind) {
                    None => return Err((self.line(), "a CREATE TABLE that never ends".into())),
                    Some(Kind::Punct('(')) => depth += 1,
                    Some(Kind::Punct(')')) if depth == 0 => {
                        self.i += 1;
                        return Ok(names);
                    }
                    Some(Kind::Punct(')')) => depth -= 1,
                    Some(Kind::Punct(',')) if depth == 0 => {
                        self.i += 1;
                        break;
                    }
                    Some(_) => {}
                }
                self.i += 1;
            }
        }
    }

    fn value(&mut self) -> Result<Value, (usize, String)> {
        let neg = self.punct('-');
        if !neg {
            self.punct('+');
        }
        let Some(t) = self.toks.get(self.i) else {
            return Err((
                self.line(),
                "expected a value, found the end of the statement".into(),
            ));
        };
        let v = match &t.kind {
            Kind::Num(n) => match n.parse::<i64>() {
                Ok(v) => Value::Int(if neg { -v } else { v }),
                Err(_) => Value::Other(n.clone()),
            },
            Kind::Str(s) if !neg => Value::Text(s.clone()),
            Kind::Word(w, false) if w == "null" && !neg => Value::Null,
            // X'…' blobs and the like: a word glued to a string.
            Kind::Word(w, false) if w.eq_ignore_ascii_case("x") => {
                self.i += 1;
                match self.toks.get(self.i).map(|t| &t.kind) {
                    Some(Kind::Str(s)) => Value::Other(s.clone()),
                    _ => return Err((t.line, "expected a value".into())),
                }
            }
            Kind::Word(w, false) if ["true", "false"].contains(&w.as_str()) => {
                Value::Int(i64::from(w == "true"))
            }
            k => return Err((t.line, format!("expected a value, found {k:?}"))),
        };
        self.i += 1;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<(i64, String)> {
        users(sql)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect()
    }

    #[test]
    fn reads_both_insert_forms_sorted_by_id() {
        let sql = "-- a comment; with a semicolon\n\
            BEGIN TRANSACTION;\n\
            INSERT INTO user VALUES(2,'Bo O''Neil','b@x','h');\n\
            INSERT INTO \"user\" (user_id, username, email, pw_hash) VALUES (1, 'Al;Ray', 'a@x', 'h');\n\
            INSERT INTO message VALUES(1,1,'it''s ( not ) a user',1,0);\n\
            insert into user(username, email, pw_hash) values ('Cy', 'c@x', 'h'), ('Di\nLine', 'd@x', 'h');\n\
            /* INSERT INTO user VALUES(9,'No','n','h'); */\n\
            COMMIT;";
        assert_eq!(
            names(sql),
            [
                (1, "Al;Ray".into()),
                (2, "Bo O'Neil".into()),
                (3, "Cy".into()),
                (4, "Di\nLine".into())
            ]
        );
    }

    #[test]
    fn a_create_table_sets_the_column_order() {
        let sql = "CREATE TABLE IF NOT EXISTS user (username text not null, user_id integer primary key autoincrement, email text, pw_hash text, UNIQUE(username, email));\n\
            INSERT INTO user VALUES('Ed', 7, 'e', 'h');";
        assert_eq!(names(sql), [(7, "Ed".into())]);
    }

    #[test]
    fn malformed_files_name_the_line() {
        for (sql, line, what) in [
            ("INSERT INTO user VALUES(1,'a','b','c');\nINSERT INTO user VALUES(2,'x,'y','z');", 2, "never ends"),
            ("INSERT INTO user VALUES(1,'a','b','c');\n\nINSERT INTO user VALUES(2 'x','y','z');", 3, "expected ')'"),
            ("\n\nINSERT INTO user VALUES(1,'never ends);", 3, "never ends"),
            ("INSERT INTO user VALUES(1,'a','b');", 1, "3 values for 4 columns"),
            ("INSERT INTO user VALUES(1,'a','b','c');\n\nINSERT INTO user VALUES(1,'d','e','f');", 3, "user_id 1 again (first on line 1)"),
            ("INSERT INTO user VALUES(1, 2, 'b', 'c');", 1, "username is not a string"),
            ("INSERT INTO user (email) VALUES('x');", 1, "without a username"),
            ("INSERT INTO user VALUES(1,'a','b','c') junk;", 1, "after the values"),
        ] {
            let (l, w) = users(sql).expect_err(sql);
            assert_eq!(l, line, "{sql}: {w}");
            assert!(w.contains(what), "{sql}: {w}");
        }
    }

    #[test]
    fn followed_users_needs_twenty_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("few.sql");
        let rows: String = (1..=19)
            .map(|i| format!("INSERT INTO user VALUES({i},'U {i}','e','h');\n"))
            .collect();
        std::fs::write(&path, &rows).unwrap_or_else(|e| panic!("{e}"));
        let e = followed_users(&path).expect_err("19 users").to_string();
        assert!(e.contains("few.sql") && e.contains("19 user(s)"), "{e}");
        std::fs::write(&path, format!("{rows}INSERT INTO user VALUES(0,'Zero','e','h');\nINSERT INTO user VALUES(30,'U 30','e','h');"))
            .unwrap_or_else(|e| panic!("{e}"));
        let f = followed_users(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.len(), FOLLOWED);
        assert_eq!(
            (f[0].as_str(), f[1].as_str(), f[19].as_str()),
            ("Zero", "U 1", "U 19")
        );
        let missing = followed_users(&dir.path().join("none.sql")).expect_err("missing");
        assert!(missing.to_string().contains("none.sql"), "{missing}");
    }
}
