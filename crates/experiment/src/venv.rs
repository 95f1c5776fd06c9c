//! One virtualenv per local interpreter, with MiniTwit's pinned requirements.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Makes sure `dir/<label>` is a venv of `python` with `requirements` installed. Idempotent:
/// a stamp holding the interpreter's path and the requirements' text marks a finished venv; a
/// changed file or an interrupted install makes the next call install again, and a venv made
/// by another interpreter (another build that had this label) is made afresh.
pub fn ensure_venv(python: &Path, label: &str, dir: &Path, requirements: &Path) -> Result<PathBuf> {
    let venv = dir.join(label);
    let stamp = venv.join(".cpe-requirements");
    let pins = fs::read_to_string(requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let head = format!("# python: {}\n", python.display());
    let wanted = format!("{head}{pins}");
    let have = fs::read_to_string(&stamp).unwrap_or_default();
    if have == wanted && venv.join("bin").join("gunicorn").exists() {
        return Ok(venv);
    }
    let py = python.display();
    eprintln!(
        "experiment: making the venv {} ({py}) with MiniTwit's pins",
        venv.display()
    );
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // A stamp of another interpreter (or none after an earlier one) means the venv may hold
    // another build's python: start again rather than mix.
    let fresh = !venv.join("bin").join("python").exists() || !have.starts_with(&head);
    if fresh {
        let st = Command::new(python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("running {py} -m venv"))?;
        if !st.success() {
            bail!("{py} -m venv {} failed ({st})", venv.display());
        }
    }
    let st = Command::new(venv.join("bin").join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(requirements)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .context("running pip install")?;
    if !st.success() {
        bail!(
            "installing {} into {} failed ({st})",
            requirements.display(),
            venv.display()
        );
    }
    fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(venv)
}
