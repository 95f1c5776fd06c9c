//! Copying from the controller to a host: single files and whole folders (relative paths and
//! executable bits kept), written under a temporary name by the transport; a failed write
//! reports the free space left on the host.

use std::fs;
use std::path::{Path, PathBuf};

use procs::Interrupt;

use super::{probe, Env, Log, OpError};
use crate::inventory::Host;
use crate::ssh::{sh_quote, SshError, Transport};

/// Uploads every regular file under `local` to `remote`, keeping relative paths and
/// executable bits; skips `__pycache__`, dot-files and files whose size already matches when
/// `skip_same_size`.
pub(super) fn upload_tree(
    interrupt: &Interrupt,
    t: &mut dyn Transport,
    local: &Path,
    remote: &str,
    skip_same_size: bool,
) -> Result<usize, OpError> {
    let mut files = Vec::new();
    collect_files(local, Path::new(""), &mut files)?;
    t.mkdir_p(remote)?;
    let mut made = std::collections::BTreeSet::new();
    let mut sent = 0;
    for rel in files {
        if interrupt.is_set() {
            return Err(OpError::Interrupted);
        }
        let src = local.join(&rel);
        let dest = format!("{remote}/{}", rel.to_string_lossy());
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            if made.insert(parent.to_path_buf()) {
                t.mkdir_p(&format!("{remote}/{}", parent.to_string_lossy()))?;
            }
        }
        let meta = fs::metadata(&src).map_err(|source| OpError::Local {
            path: src.clone(),
            source,
        })?;
        if skip_same_size && t.size(&dest) == Some(meta.len()) {
            continue;
        }
        upload_file(t, &src, &dest)?;
        sent += 1;
    }
    Ok(sent)
}

pub(super) fn upload_file(t: &mut dyn Transport, src: &Path, dest: &str) -> Result<(), OpError> {
    use std::os::unix::fs::PermissionsExt;
    let mut f = fs::File::open(src).map_err(|source| OpError::Local {
        path: src.into(),
        source,
    })?;
    let mode = f
        .metadata()
        .map(|m| {
            if m.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            }
        })
        .unwrap_or(0o644);
    if let Err(source) = t.put(dest, &mut f, mode) {
        if matches!(
            source,
            SshError::Connect { .. } | SshError::Handshake { .. }
        ) {
            return Err(source.into());
        }
        let dir = dest.rsplit_once('/').map_or(".", |(d, _)| d);
        let free_kib = probe(t, &format!("df -Pk {}", sh_quote(dir)))
            .ok()
            .filter(|(status, _)| *status == 0)
            .and_then(|(_, lines)| {
                lines
                    .get(1)
                    .and_then(|l| l.split_whitespace().nth(3))
                    .map(str::to_string)
            });
        return Err(OpError::Upload {
            dest: dest.into(),
            source: Box::new(source),
            free_kib,
        });
    }
    Ok(())
}

fn collect_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), OpError> {
    let dir = root.join(rel);
    let entries = fs::read_dir(&dir).map_err(|source| OpError::Local {
        path: dir.clone(),
        source,
    })?;
    let mut names: Vec<_> = entries.filter_map(Result::ok).collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let name = e.file_name();
        let s = name.to_string_lossy();
        if s.starts_with('.') || s == "__pycache__" || s.ends_with(".pyc") {
            continue;
        }
        let path = rel.join(&name);
        let ft = e.file_type().map_err(|source| OpError::Local {
            path: dir.join(&name),
            source,
        })?;
        if ft.is_dir() {
            collect_files(root, &path, out)?;
        } else if ft.is_file() || ft.is_symlink() {
            out.push(path);
        }
    }
    Ok(())
}

/// Uploads `shell/` to `BASE/shell` (the scripts every other step runs).
pub(super) fn upload_scripts(
    env: &Env,
    t: &mut dyn Transport,
    log: &Log,
    host: &Host,
) -> Result<(), OpError> {
    log.line(
        &host.name,
        &format!("==> upload scripts to {}/shell", host.base),
    );
    let Some(dir) = &env.shell_dir else {
        return Err(OpError::Local {
            path: PathBuf::from("shell/"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the scripts' folder was not given (--shell-dir)",
            ),
        });
    };
    let n = upload_tree(
        &env.interrupt,
        t,
        dir,
        &format!("{}/shell", host.base),
        false,
    )?;
    log.line(&host.name, &format!("uploaded {n} file(s)"));
    Ok(())
}
