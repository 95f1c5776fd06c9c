//! Where local Python interpreters are looked for (PATH, pyenv, uv, the user's names) and what
//! each one says it is when asked.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

/// How an interpreter came to be considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FoundBy {
    /// Under pyenv's root: `versions/*/bin/`.
    Pyenv,
    /// Listed by `uv python list --only-installed`.
    Uv,
    /// A `python3.X`, `python3`, `python`, `pypy3.X` or `pypy3` on PATH.
    Path,
    /// Named by the user (`--python`).
    User,
}

/// Where to look: the environment, captured once (tests hand in their own).
#[derive(Debug, Clone)]
pub struct Places {
    /// The PATH searched for interpreters and for `uv`.
    pub path: Option<OsString>,
    /// pyenv's root (`$PYENV_ROOT`, else `pyenv root`, else `~/.pyenv` if it exists).
    pub pyenv_root: Option<PathBuf>,
    /// The name of interpreters under `/usr/bin` and `/bin` in labels: the OS's `ID`
    /// (`debian`) from `/etc/os-release`, else `system`.
    pub system_name: String,
}

impl Places {
    /// This process's environment.
    pub fn from_env() -> Places {
        let path = std::env::var_os("PATH");
        let pyenv_root = match std::env::var_os("PYENV_ROOT").filter(|r| !r.is_empty()) {
            Some(root) => Some(PathBuf::from(root)),
            None => find_on_path(path.as_deref(), "pyenv")
                .and_then(|pyenv| command_line(Command::new(pyenv).arg("root")))
                .map(PathBuf::from)
                .or_else(|| {
                    let home = PathBuf::from(std::env::var_os("HOME")?).join(".pyenv");
                    home.is_dir().then_some(home)
                }),
        };
        let system_name = fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    let id = l.strip_prefix("ID=")?.trim().trim_matches('"');
                    (!id.is_empty()).then(|| id.to_owned())
                })
            })
            .unwrap_or_else(|| "system".to_owned());
        Places {
            path,
            pyenv_root,
            system_name,
        }
    }

    /// The PATH's directories, in order.
    fn dirs(&self) -> Vec<PathBuf> {
        self.path
            .as_deref()
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default()
    }
}

/// An executable worth asking, before it was asked.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// The path as found (a symlink, a shim or the executable itself).
    pub path: PathBuf,
    /// How it was found.
    pub found_by: FoundBy,
}

/// A candidate left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The path as found.
    pub path: PathBuf,
    /// How it was found.
    pub found_by: FoundBy,
    /// Why it is not used, in words.
    pub reason: String,
}

/// The first line a command prints, if it succeeds.
fn command_line(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout);
    let line = s.lines().next()?.trim();
    (out.status.success() && !line.is_empty()).then(|| line.to_owned())
}

/// `name` in the PATH's directories, as `sh` would find it.
pub(crate) fn find_on_path(path: Option<&std::ffi::OsStr>, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether a file name is one of the interpreter names looked for on PATH: `python`,
/// `python3`, `python3.X`, `pypy`, `pypy3`, `pypy3.X` (not `python3-config`, `python3.6m`).
fn is_interpreter_name(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("python")
        .or_else(|| name.strip_prefix("pypy"))
    else {
        return false;
    };
    match rest.strip_prefix('3') {
        None => rest.is_empty(),
        Some("") => true,
        Some(minor) => minor
            .strip_prefix('.')
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
    }
}

/// Version managers' shims (pyenv, pyenv-virtualenv, asdf) forward to the version that happens
/// to be active; the versions behind them are found where they are installed.
fn is_shim_dir(dir: &Path) -> bool {
    dir.components().any(|c| c.as_os_str() == "shims")
}

/// Every candidate, in the order pyenv, PATH, uv; shim directories are reported as skipped.
pub(crate) fn candidates(places: &Places) -> (Vec<Candidate>, Vec<Skipped>) {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    if let Some(root) = &places.pyenv_root {
        found.extend(pyenv_candidates(root));
    }
    for dir in places.dirs() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| is_interpreter_name(n))
            .collect();
        if names.is_empty() {
            continue;
        }
        names.sort_by_key(|n| name_order(n));
        if is_shim_dir(&dir) {
            skipped.push(Skipped {
                path: dir,
                found_by: FoundBy::Path,
                reason: format!(
                    "shims ({}): they run whichever version is active; the versions themselves are \
                     found where they are installed",
                    names.join(", ")
                ),
            });
            continue;
        }
        for n in names {
            let path = dir.join(n);
            if is_executable(&path) {
                found.push(Candidate {
                    path,
                    found_by: FoundBy::Path,
                });
            }
        }
    }
    // After PATH: uv also lists the interpreters on PATH, which keep being found there.
    if let Some(uv) = find_on_path(places.path.as_deref(), "uv") {
        match uv_candidates(&uv) {
            Ok(c) => found.extend(c),
            Err(reason) => skipped.push(Skipped {
                path: uv,
                found_by: FoundBy::Uv,
                reason,
            }),
        }
    }
    (found, skipped)
}

/// Most specific first (`python3.11` before `python3` before `python`), so a generic name that
/// links to a specific one is reported as the same executable as the specific one.
fn name_order(name: &str) -> (usize, String) {
    (usize::MAX - name.len(), name.to_owned())
}

/// One executable per `versions/<name>/bin/`: `python3`, else `pypy3`, else `python` (2.7).
fn pyenv_candidates(root: &Path) -> Vec<Candidate> {
    let Ok(entries) = fs::read_dir(root.join("versions")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    dirs.sort();
    dirs.iter()
        .filter_map(|d| {
            ["python3", "pypy3", "python"]
                .iter()
                .map(|n| d.join("bin").join(n))
                .find(|p| is_executable(p))
        })
        .map(|path| Candidate {
            path,
            found_by: FoundBy::Pyenv,
        })
        .collect()
}

/// The paths `uv python list --only-installed` prints: one `KEY  PATH[ -> TARGET]` per line.
fn uv_candidates(uv: &Path) -> Result<Vec<Candidate>, String> {
    let out = Command::new(uv)
        .args(["python", "list", "--only-installed"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running uv python list: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "uv python list --only-installed failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse_uv_list(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .map(|path| Candidate {
            path,
            found_by: FoundBy::Uv,
        })
        .collect())
}

/// The paths of `uv python list`'s text output; rows without a path (`<download available>`)
/// are left out.
pub(crate) fn parse_uv_list(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let (_key, rest) = line.trim().split_once(char::is_whitespace)?;
            let rest = rest.trim();
            let path = rest.split(" -> ").next()?.trim();
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// What an interpreter says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    /// `CPython`, `PyPy`, …
    pub implementation: String,
    /// The language version, `(3, 11, 7)`; PyPy's too (PyPy 7.3 for Python 3.9 says 3.9.x).
    pub version: (u32, u32, u32),
    /// `sys.executable`: for a shim, the executable behind it.
    pub executable: String,
}

/// Asked of every candidate; runs on Python 2 as well, so old versions can be named.
pub(crate) const PROBE: &str = "import sys, platform; v = sys.version_info; \
    print('cpe-probe %s %d.%d.%d %s' % (platform.python_implementation(), v[0], v[1], v[2], sys.executable))";

/// Runs [`PROBE`] under `exe`; an error says, in words, why it is not a usable Python.
pub(crate) fn probe(exe: &Path) -> Result<Probe, String> {
    let out = Command::new(exe)
        .args(["-c", PROBE])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let said = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let said: String = said.chars().take(120).collect();
        let shim = exe.parent().is_some_and(is_shim_dir);
        return Err(format!(
            "not a Python interpreter: `{} -c <version probe>` failed ({}){}{}",
            exe.display(),
            out.status,
            if said.is_empty() {
                String::new()
            } else {
                format!("; it said: {said}")
            },
            if shim {
                " (a version manager's shim for a version that is not active: name the \
                 interpreter by its label or path, see `experiment interpreters`)"
            } else {
                ""
            }
        ));
    }
    stdout.lines().find_map(parse_probe).ok_or_else(|| {
        let first = stdout.lines().next().unwrap_or("").trim();
        format!(
            "not a Python interpreter: `{} -c <version probe>` did not print its version \
                 (printed {first:?})",
            exe.display()
        )
    })
}

fn parse_probe(line: &str) -> Option<Probe> {
    let mut it = line.trim().splitn(4, ' ');
    if it.next()? != "cpe-probe" {
        return None;
    }
    let implementation = it.next()?.to_owned();
    let mut v = it.next()?.split('.').map(|p| p.parse::<u32>().ok());
    let version = (v.next()??, v.next()??, v.next()??);
    let executable = it.next().unwrap_or("").to_owned();
    Some(Probe {
        implementation,
        version,
        executable,
    })
}

/// The real file behind a path (symlinks resolved), or the path itself.
pub(crate) fn real(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Drops candidates whose real file was seen before, reporting them as the same executable.
pub(crate) fn dedup(
    cands: Vec<Candidate>,
    skipped: &mut Vec<Skipped>,
) -> Vec<(Candidate, PathBuf)> {
    let mut seen: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut keys = HashSet::new();
    let mut out = Vec::new();
    for c in cands {
        let r = real(&c.path);
        if keys.insert(r.clone()) {
            seen.push((r.clone(), c.path.clone()));
            out.push((c, r));
        } else if let Some((_, first)) = seen.iter().find(|(k, _)| *k == r) {
            skipped.push(Skipped {
                reason: format!("the same executable as {}", first.display()),
                path: c.path,
                found_by: c.found_by,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_names_on_path() {
        for n in [
            "python",
            "python3",
            "python3.11",
            "pypy3",
            "pypy3.9",
            "pypy",
        ] {
            assert!(is_interpreter_name(n), "{n}");
        }
        for n in [
            "python3-config",
            "python3.6m",
            "python3.11-config",
            "python2",
            "python3.",
            "pythonw",
            "pypy3clean",
        ] {
            assert!(!is_interpreter_name(n), "{n}");
        }
    }

    #[test]
    fn uv_list_rows_give_their_paths() {
        let text = "cpython-3.12.1-linux-x86_64-gnu    /home/u/.local/share/uv/python/cpython-3.12.1-linux-x86_64-gnu/bin/python3.12\n\
                    cpython-3.11.2-linux-x86_64-gnu    /usr/bin/python3.11 -> python3.11\n\
                    cpython-3.13.0-linux-x86_64-gnu    <download available>\n";
        assert_eq!(
            parse_uv_list(text),
            vec![
                PathBuf::from(
                    "/home/u/.local/share/uv/python/cpython-3.12.1-linux-x86_64-gnu/bin/python3.12"
                ),
                PathBuf::from("/usr/bin/python3.11"),
            ]
        );
    }

    #[test]
    fn probe_lines_parse_and_other_output_does_not() {
        assert_eq!(
            parse_probe("cpe-probe PyPy 3.9.16 /usr/bin/pypy3"),
            Some(Probe {
                implementation: "PyPy".into(),
                version: (3, 9, 16),
                executable: "/usr/bin/pypy3".into(),
            })
        );
        assert_eq!(
            parse_probe("cpe-probe CPython 3.11.7 /a dir/bin/python3").map(|p| p.executable),
            Some("/a dir/bin/python3".into())
        );
        assert_eq!(parse_probe("Python 3.11.7"), None);
        assert_eq!(parse_probe("cpe-probe CPython 3.x.7 /p"), None);
    }

    #[test]
    fn specific_names_come_first() {
        let mut n = vec!["python", "python3", "python3.11", "pypy3", "pypy3.9"];
        n.sort_by_key(|n| name_order(n));
        assert_eq!(n, ["python3.11", "pypy3.9", "python3", "python", "pypy3"]);
    }
}
