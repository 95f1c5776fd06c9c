//! One virtualenv per local interpreter, with MiniTwit's pinned requirements.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The label of an interpreter executable: `3.11` for CPython 3.11, `pypy3.9` for PyPy.
pub fn interpreter_label(python: &str) -> Result<String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, platform; v = sys.version_info; \
             print(('pypy' if platform.python_implementation() == 'PyPy' else '') + '%d.%d' % (v[0], v[1]))",
        ])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {python} (is it installed and on PATH?)"))?;
    if !out.status.success() {
        bail!(
            "{python} -c …: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let label = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if label.is_empty() {
        bail!("{python} printed no version");
    }
    Ok(label)
}

/// Makes sure `dir/<label>` is a venv of `python` with `requirements` installed. Idempotent:
/// a stamp holding the requirements' text marks a finished venv; a changed file or an
/// interrupted install makes the next call install again.
pub fn ensure_venv(python: &str, label: &str, dir: &Path, requirements: &Path) -> Result<PathBuf> {
    let venv = dir.join(label);
    let stamp = venv.join(".cpe-requirements");
    let wanted = fs::read_to_string(requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    if fs::read_to_string(&stamp).is_ok_and(|s| s == wanted)
        && venv.join("bin").join("gunicorn").exists()
    {
        return Ok(venv);
    }
    eprintln!(
        "experiment: creating the venv {} ({python}) with MiniTwit's pins",
        venv.display()
    );
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if !venv.join("bin").join("python").exists() {
        let st = Command::new(python)
            .args(["-m", "venv"])
            .arg(&venv)
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("running {python} -m venv"))?;
        if !st.success() {
            bail!("{python} -m venv {} failed ({st})", venv.display());
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
