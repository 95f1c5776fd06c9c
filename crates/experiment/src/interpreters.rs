//! The local interpreters the experiment can measure: every one found (see `discover.rs`),
//! those too old for MiniTwit's pins set aside with their reason, and a unique label for each.
//!
//! Labels: one interpreter per version gets the plain label, `3.11` or `pypy3.9` (its group
//! folder is the study's `minitwit311`): the first by where it lives (pyenv, uv, `/usr/local`,
//! elsewhere on PATH, the OS's `/usr/bin`, then interpreters only the user named), newest patch
//! first. Every other build of that version is named by where it lives, `3.11-debian`,
//! `3.11-uv`; a second one from the same place by its full version, `3.11.7-pyenv`; and if
//! that is taken too, `-2`, `-3` … is appended. An interpreter's label depends only on those
//! found before it in this order, so naming an extra one never renames a found one.

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::discover::{
    candidates, dedup, find_on_path, probe, real, Candidate, FoundBy, Places, Skipped,
};

/// The oldest Python MiniTwit's pins install on: Flask 3.0.1, Werkzeug 3.0.1,
/// importlib_metadata 7.0.1 and zipp 3.17.0 (`minitwit/requirements.txt`) all require 3.8.
pub const MIN_PYTHON: (u32, u32) = (3, 8);

/// One usable interpreter.
#[derive(Debug, Clone, Serialize)]
pub struct Interpreter {
    /// Unique label (see the module doc): `3.11`, `3.11-debian`, `pypy3.9`.
    pub label: String,
    /// `CPython` or `PyPy`.
    pub implementation: String,
    /// The Python language version, `3.11.7` (PyPy's too).
    pub version: String,
    /// The executable, symlinks and shims resolved.
    pub path: PathBuf,
    /// Where it lives, as used in labels: `pyenv`, `uv`, `local` (`/usr/local`), `path`
    /// (elsewhere on PATH), the OS's name for `/usr/bin` (`debian`), or `user`.
    pub origin: String,
    /// How it was found.
    pub found_by: FoundBy,
    #[serde(skip)]
    numbers: (u32, u32, u32),
}

impl Interpreter {
    /// `3.11` for CPython 3.11, `pypy3.9` for PyPy.
    pub fn plain_label(&self) -> String {
        let (major, minor, _) = self.numbers;
        match self.implementation.as_str() {
            "PyPy" => format!("pypy{major}.{minor}"),
            _ => format!("{major}.{minor}"),
        }
    }

    fn is_cpython(&self) -> bool {
        self.implementation == "CPython"
    }
}

/// A name the user gave that cannot be measured.
#[derive(Debug, Error)]
pub enum InterpreterError {
    /// Not a path, not a label of a found interpreter and not on PATH.
    #[error("--python {0}: no such file, no found interpreter with that label and not on PATH (see `experiment interpreters`)")]
    NotFound(String),
    /// It ran but is not a usable Python.
    #[error("--python {name}: {why}")]
    Unusable {
        /// As the user wrote it.
        name: String,
        /// Why, in words.
        why: String,
    },
}

/// Every interpreter found and every candidate set aside.
#[derive(Debug, Default)]
pub struct Found {
    /// Usable interpreters, in label order (see the module doc).
    pub interpreters: Vec<Interpreter>,
    /// Candidates set aside, with why.
    pub skipped: Vec<Skipped>,
    /// The executables of the interpreters the user named, in the order named.
    pub chosen: Vec<PathBuf>,
}

impl Found {
    /// The user's interpreters if any were named, else every one found.
    pub fn selection(&self) -> Vec<&Interpreter> {
        if self.chosen.is_empty() {
            self.interpreters.iter().collect()
        } else {
            self.chosen
                .iter()
                .filter_map(|p| self.interpreters.iter().find(|i| i.path == *p))
                .collect()
        }
    }

    /// A short demo's pair from [`Found::selection`]: its oldest and newest CPython, else its
    /// first two.
    pub fn quick(&self) -> Vec<&Interpreter> {
        let all = self.selection();
        let mut cpython: Vec<&Interpreter> =
            all.iter().copied().filter(|i| i.is_cpython()).collect();
        cpython.sort_by_key(|i| i.numbers);
        match (cpython.first(), cpython.last()) {
            (Some(a), Some(b)) if a.numbers != b.numbers => vec![*a, *b],
            _ => all.into_iter().take(2).collect(),
        }
    }
}

/// Finds every interpreter in `places`, then resolves each of `wanted` (a path, a label of a
/// found interpreter, or a command on PATH) into [`Found::chosen`].
pub fn find(places: &Places, wanted: &[String]) -> Result<Found, InterpreterError> {
    let (cands, mut skipped) = candidates(places);
    let cands = dedup(cands, &mut skipped);
    let mut found = Found::default();
    for (c, real_path) in cands {
        match usable(&c, &real_path, places, &found.interpreters) {
            Ok(Usable::New(i)) => found.interpreters.push(i),
            Ok(Usable::Known(_)) => {}
            Err(reason) => skipped.push(Skipped {
                path: c.path,
                found_by: c.found_by,
                reason,
            }),
        }
    }
    found.skipped = skipped;
    label(&mut found.interpreters);
    for name in wanted {
        let exe = choose(places, name, &mut found)?;
        if !found.chosen.contains(&exe) {
            found.chosen.push(exe);
        }
    }
    Ok(found)
}

/// The executable of the interpreter `name` stands for, added to `found` if it was not found
/// before.
fn choose(places: &Places, name: &str, found: &mut Found) -> Result<PathBuf, InterpreterError> {
    if !name.contains('/') {
        if let Some(i) = found.interpreters.iter().find(|i| i.label == name) {
            return Ok(i.path.clone());
        }
    }
    let path = if name.contains('/') {
        Some(PathBuf::from(name)).filter(|p| p.exists())
    } else {
        find_on_path(places.path.as_deref(), name)
    };
    let path = path.ok_or_else(|| InterpreterError::NotFound(name.to_owned()))?;
    let c = Candidate {
        path: path.clone(),
        found_by: FoundBy::User,
    };
    let usable = usable(&c, &real(&path), places, &found.interpreters).map_err(|why| {
        InterpreterError::Unusable {
            name: name.to_owned(),
            why,
        }
    })?;
    Ok(match usable {
        Usable::Known(exe) => exe,
        Usable::New(i) => {
            let exe = i.path.clone();
            found.interpreters.push(i);
            label(&mut found.interpreters);
            exe
        }
    })
}

/// A candidate that runs MiniTwit.
enum Usable {
    /// Not found before.
    New(Interpreter),
    /// The executable of an interpreter found before (a symlink or shim to it).
    Known(PathBuf),
}

/// Asks `c` what it is; an error is the reason it is not a Python MiniTwit can run on.
fn usable(
    c: &Candidate,
    real_path: &Path,
    places: &Places,
    known: &[Interpreter],
) -> Result<Usable, String> {
    let p = probe(&c.path)?;
    // A shim's sys.executable is the interpreter behind it; a plain executable's is itself.
    let exe = Some(Path::new(&p.executable))
        .filter(|e| e.is_absolute() && e.exists())
        .map(real)
        .unwrap_or_else(|| real_path.to_path_buf());
    if known.iter().any(|i| i.path == exe) {
        return Ok(Usable::Known(exe));
    }
    let (major, minor, micro) = p.version;
    let version = format!("{major}.{minor}.{micro}");
    if p.implementation != "CPython" && p.implementation != "PyPy" {
        return Err(format!(
            "{} {version}: only CPython and PyPy are measured",
            p.implementation
        ));
    }
    if (major, minor) < MIN_PYTHON {
        return Err(format!(
            "{} {version} is too old for MiniTwit's pins (Flask 3.0.1 needs Python {}.{} or newer)",
            p.implementation, MIN_PYTHON.0, MIN_PYTHON.1
        ));
    }
    Ok(Usable::New(Interpreter {
        label: String::new(),
        implementation: p.implementation,
        version,
        origin: origin(&exe, c.found_by, places),
        path: exe,
        found_by: c.found_by,
        numbers: p.version,
    }))
}

/// Where an executable lives, for its label.
fn origin(exe: &Path, found_by: FoundBy, places: &Places) -> String {
    let under_pyenv = places
        .pyenv_root
        .as_deref()
        .is_some_and(|r| exe.starts_with(real(r)));
    if under_pyenv {
        "pyenv".into()
    } else if exe.starts_with("/usr/bin") || exe.starts_with("/bin") {
        places.system_name.clone()
    } else if found_by == FoundBy::Uv || exe.to_string_lossy().contains("/uv/python/") {
        "uv".into()
    } else if exe.starts_with("/usr/local") {
        "local".into()
    } else if found_by == FoundBy::User {
        "user".into()
    } else {
        "path".into()
    }
}

/// Which build keeps the plain label: lower first.
fn origin_rank(i: &Interpreter) -> u8 {
    if i.found_by == FoundBy::User {
        return 5;
    }
    match i.origin.as_str() {
        "pyenv" => 0,
        "uv" => 1,
        "local" => 2,
        "path" => 3,
        _ => 4,
    }
}

/// Sorts `list` (discovered before user-named, by version, then origin, newest patch first)
/// and gives every interpreter its label (module doc).
fn label(list: &mut [Interpreter]) {
    list.sort_by(|a, b| {
        let key = |i: &Interpreter| {
            (
                i.found_by == FoundBy::User,
                !i.is_cpython(),
                i.numbers.0,
                i.numbers.1,
                origin_rank(i),
                std::cmp::Reverse(i.numbers.2),
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.path.cmp(&b.path))
    });
    let mut taken: Vec<String> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new(); // (plain, origin) already labelled
    for i in list.iter_mut() {
        let plain = i.plain_label();
        let same_place = seen.iter().any(|(p, o)| *p == plain && *o == i.origin);
        let mut label = if !taken.contains(&plain) {
            plain.clone()
        } else if !same_place {
            format!("{plain}-{}", i.origin)
        } else {
            let full = match i.implementation.as_str() {
                "PyPy" => format!("pypy{}", i.version),
                _ => i.version.clone(),
            };
            format!("{full}-{}", i.origin)
        };
        let base = label.clone();
        let mut n = 2;
        while taken.contains(&label) {
            label = format!("{base}-{n}");
            n += 1;
        }
        seen.push((plain, i.origin.clone()));
        taken.push(label.clone());
        i.label = label;
    }
}

/// The table `experiment interpreters` prints: the usable ones, then the ones set aside.
pub fn table(found: &Found) -> String {
    let mut s = String::new();
    let python = |i: &Interpreter| format!("{} {}", i.implementation, i.version);
    let width = |f: &dyn Fn(&Interpreter) -> usize, min: usize| {
        found.interpreters.iter().map(f).max().unwrap_or(0).max(min)
    };
    let (wl, wp, wo) = (
        width(&|i| i.label.len(), 5),
        width(&|i| python(i).len(), 6),
        width(&|i| i.origin.len(), 4),
    );
    s.push_str(&format!(
        "{:<wl$}  {:<wp$}  {:<wo$}  {:<5}  PATH\n",
        "LABEL", "PYTHON", "FROM", "FOUND"
    ));
    for i in &found.interpreters {
        let mark = if found.chosen.contains(&i.path) {
            "  (chosen)"
        } else {
            ""
        };
        s.push_str(&format!(
            "{:<wl$}  {:<wp$}  {:<wo$}  {:<5}  {}{mark}\n",
            i.label,
            python(i),
            i.origin,
            found_by_word(i.found_by),
            i.path.display()
        ));
    }
    if !found.skipped.is_empty() {
        s.push_str("\nskipped:\n");
        for k in &found.skipped {
            s.push_str(&format!("  {}: {}\n", k.path.display(), k.reason));
        }
    }
    s
}

fn found_by_word(f: FoundBy) -> &'static str {
    match f {
        FoundBy::Pyenv => "pyenv",
        FoundBy::Uv => "uv",
        FoundBy::Path => "PATH",
        FoundBy::User => "named",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interp(
        implementation: &str,
        v: (u32, u32, u32),
        origin: &str,
        found_by: FoundBy,
    ) -> Interpreter {
        Interpreter {
            label: String::new(),
            implementation: implementation.into(),
            version: format!("{}.{}.{}", v.0, v.1, v.2),
            path: PathBuf::from(format!("/{origin}/{}.{}.{}", v.0, v.1, v.2)),
            origin: origin.into(),
            found_by,
            numbers: v,
        }
    }

    fn labels(list: &[Interpreter]) -> Vec<(&str, &str)> {
        list.iter()
            .map(|i| (i.label.as_str(), i.version.as_str()))
            .collect()
    }

    #[test]
    fn duplicate_versions_get_distinct_labels_that_say_where_they_live() {
        let mut list = vec![
            interp("CPython", (3, 11, 2), "debian", FoundBy::Path),
            interp("PyPy", (3, 9, 16), "debian", FoundBy::Path),
            interp("CPython", (3, 11, 7), "pyenv", FoundBy::Pyenv),
            interp("CPython", (3, 11, 9), "pyenv", FoundBy::Pyenv),
            interp("CPython", (3, 8, 18), "pyenv", FoundBy::Pyenv),
            interp("CPython", (3, 11, 7), "uv", FoundBy::Uv),
            interp("CPython", (3, 11, 7), "user", FoundBy::User),
        ];
        label(&mut list);
        assert_eq!(
            labels(&list),
            [
                ("3.8", "3.8.18"),
                ("3.11", "3.11.9"),
                ("3.11.7-pyenv", "3.11.7"),
                ("3.11-uv", "3.11.7"),
                ("3.11-debian", "3.11.2"),
                ("pypy3.9", "3.9.16"),
                ("3.11-user", "3.11.7"),
            ]
        );
    }

    #[test]
    fn the_same_version_from_the_same_place_twice_is_numbered() {
        let mut a = interp("CPython", (3, 12, 1), "path", FoundBy::Path);
        let mut b = a.clone();
        let mut c = a.clone();
        a.path = "/a/python3.12".into();
        b.path = "/b/python3.12".into();
        c.path = "/c/python3.12".into();
        let mut list = vec![c, b, a];
        label(&mut list);
        let l: Vec<&str> = list.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(l, ["3.12", "3.12.1-path", "3.12.1-path-2"]);
        let mut d = list[0].clone();
        d.path = "/d/python3.12".into();
        list.push(d);
        label(&mut list);
        assert_eq!(list[3].label, "3.12.1-path-3");
    }

    #[test]
    fn quick_is_the_oldest_and_newest_cpython() {
        let mut list = vec![
            interp("CPython", (3, 11, 7), "pyenv", FoundBy::Pyenv),
            interp("PyPy", (3, 9, 16), "debian", FoundBy::Path),
            interp("CPython", (3, 13, 0), "pyenv", FoundBy::Pyenv),
            interp("CPython", (3, 8, 18), "pyenv", FoundBy::Pyenv),
        ];
        label(&mut list);
        let found = Found {
            interpreters: list,
            ..Found::default()
        };
        let q: Vec<&str> = found.quick().iter().map(|i| i.label.as_str()).collect();
        assert_eq!(q, ["3.8", "3.13"]);
    }
}
