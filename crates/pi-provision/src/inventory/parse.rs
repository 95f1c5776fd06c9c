//! The line-keeping TOML reader under the inventory: typed values from a table, each read
//! noting its line, and every missing, mistyped or unknown key collected as a [`Problem`]
//! instead of stopping at the first.

use std::path::{Path, PathBuf};

use toml_edit::{Item, TableLike, Value};

use super::Problem;

/// Reads one inventory document, collecting every problem.
pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    dir: &'a Path,
    pub(super) problems: Vec<Problem>,
}

/// One table being read: reports missing, mistyped and unknown keys.
pub(super) struct Tbl<'t> {
    pub(super) t: &'t dyn TableLike,
    pub(super) what: String,
    pub(super) line: usize,
}

/// The 1-based line of byte `offset` in `src`.
pub(super) fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl<'a> Parser<'a> {
    /// A reader of `src`, resolving relative paths against `dir`.
    pub(super) fn new(src: &'a str, dir: &'a Path) -> Self {
        Parser {
            src,
            dir,
            problems: Vec::new(),
        }
    }

    pub(super) fn problem(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            line,
            message: message.into(),
        });
    }

    pub(super) fn item_line(&self, item: &Item) -> Option<usize> {
        item.span().map(|s| line_of(self.src, s.start))
    }

    pub(super) fn key_line(&self, t: &Tbl<'_>, key: &str) -> usize {
        t.t.get_key_value(key)
            .and_then(|(k, v)| {
                k.span()
                    .map(|s| line_of(self.src, s.start))
                    .or_else(|| self.item_line(v))
            })
            .unwrap_or(t.line)
    }

    pub(super) fn table<'t>(
        &mut self,
        parent: &'t dyn TableLike,
        key: &str,
        line: usize,
    ) -> Option<Tbl<'t>> {
        let item = parent.get(key)?;
        let line = self.item_line(item).unwrap_or(line);
        match item.as_table_like() {
            Some(t) => Some(Tbl {
                t,
                what: format!("[{key}]"),
                line,
            }),
            None => {
                self.problem(line, format!("`{key}` must be a table ([{key}])"));
                None
            }
        }
    }

    pub(super) fn unknown_keys(&mut self, t: &Tbl<'_>, allowed: &[&str]) {
        for (k, _) in t.t.iter() {
            if !allowed.contains(&k) {
                let line = self.key_line(t, k);
                self.problem(
                    line,
                    format!(
                        "unknown key `{k}` in {} (allowed: {})",
                        t.what,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    pub(super) fn value<'t>(
        &mut self,
        t: &Tbl<'t>,
        key: &str,
        required: bool,
    ) -> Option<(&'t Value, usize)> {
        match t.t.get(key) {
            None => {
                if required {
                    self.problem(t.line, format!("{} is missing the key `{key}`", t.what));
                }
                None
            }
            Some(item) => {
                let line = self.key_line(t, key);
                match item.as_value() {
                    Some(v) => Some((v, line)),
                    None => {
                        self.problem(line, format!("`{key}` in {} must be a value", t.what));
                        None
                    }
                }
            }
        }
    }

    pub(super) fn string(
        &mut self,
        t: &Tbl<'_>,
        key: &str,
        required: bool,
    ) -> Option<(String, usize)> {
        let (v, line) = self.value(t, key, required)?;
        match v.as_str() {
            Some(s) => Some((s.to_string(), line)),
            None => {
                self.problem(
                    line,
                    format!("`{key}` in {} must be a string (in quotes)", t.what),
                );
                None
            }
        }
    }

    pub(super) fn int(
        &mut self,
        t: &Tbl<'_>,
        key: &str,
        min: i64,
        max: i64,
    ) -> Option<Option<i64>> {
        let Some((v, line)) = self.value(t, key, false) else {
            return Some(None);
        };
        match v.as_integer() {
            Some(n) if (min..=max).contains(&n) => Some(Some(n)),
            _ => {
                self.problem(
                    line,
                    format!(
                        "`{key}` in {} must be a whole number from {min} to {max}",
                        t.what
                    ),
                );
                None
            }
        }
    }

    pub(super) fn port(&mut self, t: &Tbl<'_>, key: &str, default: u16) -> u16 {
        self.int(t, key, 1, 65535)
            .flatten()
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(default)
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        t: &Tbl<'_>,
        key: &str,
        options: &[(&str, T)],
        required: bool,
    ) -> Option<T> {
        let (s, line) = self.string(t, key, required)?;
        match options.iter().find(|(name, _)| *name == s) {
            Some((_, v)) => Some(*v),
            None => {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.problem(
                    line,
                    format!(
                        "`{key}` in {} is \"{s}\"; expected one of: {}",
                        t.what,
                        names.join(", ")
                    ),
                );
                None
            }
        }
    }

    pub(super) fn path(&self, s: &str) -> PathBuf {
        if let Some(rest) = s.strip_prefix("~/") {
            if let Some(home) = std::env::var_os("HOME") {
                return PathBuf::from(home).join(rest);
            }
        }
        let p = PathBuf::from(s);
        if p.is_absolute() {
            p
        } else {
            self.dir.join(p)
        }
    }

    pub(super) fn array_of_tables<'t>(
        &mut self,
        root: &'t dyn TableLike,
        key: &str,
    ) -> Vec<Tbl<'t>> {
        let Some(item) = root.get(key) else {
            return Vec::new();
        };
        match item.as_array_of_tables() {
            Some(aot) => aot
                .iter()
                .map(|t| Tbl {
                    t,
                    what: format!("[[{key}]]"),
                    line: t.span().map_or(1, |s| line_of(self.src, s.start)),
                })
                .collect(),
            None => {
                let line = self.item_line(item).unwrap_or(1);
                self.problem(line, format!("`{key}` must be written as [[{key}]] tables"));
                Vec::new()
            }
        }
    }
}
