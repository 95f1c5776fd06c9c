//! `wheelhouse`: builds, on the controller, the directory of wheels that `deploy` copies to the
//! server so the venvs install offline (`pip install --no-index --find-links`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Building the wheelhouse failed.
#[derive(Debug, thiserror::Error)]
pub enum WheelhouseError {
    /// The output directory could not be made or read.
    #[error("wheelhouse directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// pip could not be started.
    #[error("cannot run {python}: {source} (give an interpreter with pip via --python)")]
    Spawn {
        /// The interpreter.
        python: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// pip failed.
    #[error("`{python} -m pip {what}` failed with {status} (its output is above)")]
    Pip {
        /// The interpreter.
        python: PathBuf,
        /// `wheel …` or `download …`.
        what: String,
        /// Exit status.
        status: std::process::ExitStatus,
    },
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Wheelhouse {
    /// Interpreters (with pip) to build wheels with, one per target Python version.
    pub pythons: Vec<PathBuf>,
    /// MiniTwit's `requirements.txt`.
    pub requirements: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Also fetch source distributions and build backends, for targets with no binary wheels
    /// on the index (FreeBSD on ARM): pip then builds those on the target, still offline.
    pub sdists: bool,
}

fn pip(python: &Path, args: &[&str]) -> Result<(), WheelhouseError> {
    // pip's progress goes to our stderr; stdout stays for the list of files.
    let status = Command::new(python)
        .args(["-m", "pip", "--disable-pip-version-check"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|source| WheelhouseError::Spawn {
            python: python.into(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(WheelhouseError::Pip {
            python: python.into(),
            what: args.first().copied().unwrap_or_default().to_string(),
            status,
        })
    }
}

/// Builds the wheelhouse and returns the file names in it, sorted.
pub fn build(w: &Wheelhouse) -> Result<Vec<String>, WheelhouseError> {
    std::fs::create_dir_all(&w.out).map_err(|source| WheelhouseError::Dir {
        path: w.out.clone(),
        source,
    })?;
    let req = w.requirements.to_string_lossy();
    let out = w.out.to_string_lossy();
    for python in &w.pythons {
        // PEP 517 builds in an isolated environment, so sdists (MarkupSafe on PyPy) build even
        // where the interpreter lacks the `wheel` package.
        pip(
            python,
            &["wheel", "-q", "--use-pep517", "-r", &req, "-w", &out],
        )?;
        if w.sdists {
            pip(
                python,
                &[
                    "download",
                    "-q",
                    "--no-binary",
                    ":all:",
                    "--no-deps",
                    "-r",
                    &req,
                    "-d",
                    &out,
                ],
            )?;
            pip(
                python,
                &[
                    "download",
                    "-q",
                    "setuptools",
                    "wheel",
                    "flit_core",
                    "-d",
                    &out,
                ],
            )?;
        }
    }
    list(&w.out)
}

/// The distribution files in a wheelhouse directory, sorted.
pub fn list(dir: &Path) -> Result<Vec<String>, WheelhouseError> {
    let entries = std::fs::read_dir(dir).map_err(|source| WheelhouseError::Dir {
        path: dir.into(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".whl") || n.ends_with(".tar.gz") || n.ends_with(".zip"))
        .collect();
    names.sort();
    Ok(names)
}
