//! The subcommands that work over SSH, one module each. Every host runs in its own thread; its
//! output lines are prefixed with its name; one host failing does not stop the others, and
//! every host's result is reported. Each remote step first looks at the [`Interrupt`] flag:
//! after Ctrl-C no new step starts, and the hosts report `interrupted`.
//!
//! - `check.rs`: `check`, what each host runs and which interpreters it has.
//! - `provision.rs`: `provision`, the root and user parts of `shell/<os>/`.
//! - `deploy.rs`: `deploy`, MiniTwit, the seed, the wheelhouse and the venvs; the load agent.
//! - `server.rs`: `server start|stop|status`, gunicorn through `shell/daemon.sh`.
//! - `clients.rs`: `clients start|stop`, the load agent on the client hosts.
//! - `trust.rs`: `trust`, a host key into known_hosts when its fingerprint matches.
//! - `upload.rs`: copying files and folders from the controller to a host.

mod check;
mod clients;
mod deploy;
mod provision;
mod server;
mod trust;
mod upload;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use procs::Interrupt;

use crate::inventory::{Host, Inventory, Role};
use crate::ssh::{sh_quote, RunOpts, SshConfig, SshError, SshTransport, Transport};

pub use check::{check, CheckReport};
pub use clients::clients;
pub use deploy::deploy;
pub use provision::provision;
pub use server::{server_start, server_status, server_stop, ServerStatus};
pub use trust::trust;

/// A failure on one host.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Connecting, verifying or talking SSH failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// A remote step exited non-zero.
    #[error("step `{step}` failed with exit status {status}; last lines of its output:\n{last}")]
    Step {
        /// The step.
        step: String,
        /// Its exit status.
        status: i32,
        /// Its last output lines, indented.
        last: String,
    },
    /// A controller-side file could not be read.
    #[error("reading {path} on the controller: {source}")]
    Local {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An upload failed (a full disk shows up here, with the free space found).
    #[error("writing {dest}: {source}{}", .free_kib.as_ref().map(|f| format!(" ({f} KiB free in its directory on the host)")).unwrap_or_default())]
    Upload {
        /// The remote file.
        dest: String,
        /// What failed.
        source: Box<SshError>,
        /// Free space in the file's directory, when `df` could tell.
        free_kib: Option<String>,
    },
    /// Ctrl-C: the step was not started, or its output was no longer awaited.
    #[error("interrupted (a step already running goes on on the host; rerunning is safe)")]
    Interrupted,
    /// Anything else, with a message that says what to do.
    #[error("{0}")]
    Other(String),
}

/// Each host's result, in inventory order.
pub type HostResults<T> = Vec<(String, Result<T, OpError>)>;

/// Settings shared by every subcommand.
#[derive(Debug, Clone)]
pub struct Env {
    /// The validated inventory.
    pub inventory: Inventory,
    /// Where the `shell/` scripts are on the controller (needed by `provision` and `deploy`
    /// only, which upload them).
    pub shell_dir: Option<PathBuf>,
    /// Root password for `become = "su"`, from the environment or a prompt; never logged.
    pub root_password: Option<String>,
    /// Set by Ctrl-C: no new remote step starts once it is.
    pub interrupt: Interrupt,
}

impl Env {
    fn ssh_config(&self) -> SshConfig {
        SshConfig {
            known_hosts: self.inventory.known_hosts.clone(),
            identity: self.inventory.identity.clone(),
            connect_timeout: Duration::from_secs(u64::from(self.inventory.connect_timeout_s)),
            keepalive_s: self.inventory.keepalive_s,
        }
    }

    pub(super) fn connect(&self, host: &Host) -> Result<SshTransport, SshError> {
        SshTransport::connect(&host.address, host.ssh_port, &host.user, &self.ssh_config())
    }

    /// The hosts with `role`, or all.
    pub fn hosts(&self, role: Option<Role>) -> Vec<&Host> {
        self.inventory
            .hosts
            .iter()
            .filter(|h| role.is_none_or(|r| h.role == r))
            .collect()
    }

    pub(super) fn server(&self) -> Result<&Host, OpError> {
        self.inventory.server().ok_or_else(|| {
            OpError::Other("the inventory has no host with role = \"server\"".into())
        })
    }
}

/// Serialises progress lines from all host threads onto stderr, prefixed with the host name.
pub struct Log {
    out: Mutex<Box<dyn Write + Send>>,
    width: usize,
}

impl Log {
    /// A log on stderr, padding host names to `width`.
    pub fn stderr(width: usize) -> Self {
        Self::new(Box::new(std::io::stderr()), width)
    }

    /// A log on any writer (tests).
    pub fn new(out: Box<dyn Write + Send>, width: usize) -> Self {
        Self {
            out: Mutex::new(out),
            width,
        }
    }

    /// Writes one line for `host`.
    pub fn line(&self, host: &str, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            // Progress is best effort: a closed stderr must not fail the provisioning.
            let _ = writeln!(out, "{host:>w$} | {text}", w = self.width);
        }
    }
}

/// Runs `f` for every host in parallel and collects each host's result in order.
pub fn for_hosts<T: Send>(
    hosts: &[&Host],
    f: impl Fn(&Host) -> Result<T, OpError> + Sync,
) -> HostResults<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|h| {
                let f = &f;
                (h.name.clone(), s.spawn(move || f(h)))
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, handle)| {
                let r = handle.join().unwrap_or_else(|_| {
                    Err(OpError::Other(
                        "internal error: the host's worker panicked".into(),
                    ))
                });
                (name, r)
            })
            .collect()
    })
}

/// Runs one remote step, streaming its output to the log; a non-zero exit becomes
/// [`OpError::Step`] with the last lines.
pub(super) fn step(
    env: &Env,
    t: &mut dyn Transport,
    log: &Log,
    host: &Host,
    name: &str,
    cmd: &str,
    password: Option<&str>,
) -> Result<Vec<String>, OpError> {
    if env.interrupt.is_set() {
        return Err(OpError::Interrupted);
    }
    log.line(&host.name, &format!("==> {name}"));
    let mut lines: Vec<String> = Vec::new();
    let status = t.run(
        cmd,
        &RunOpts {
            password,
            stop: Some(&env.interrupt),
        },
        &mut |l| {
            log.line(&host.name, l);
            lines.push(l.to_string());
        },
    )?;
    if status != 0 {
        let start = lines.len().saturating_sub(15);
        let last = lines[start..]
            .iter()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(OpError::Step {
            step: name.into(),
            status,
            last,
        });
    }
    Ok(lines)
}

/// Runs a command quietly and returns its output lines (for probes).
pub(super) fn probe(t: &mut dyn Transport, cmd: &str) -> Result<(i32, Vec<String>), OpError> {
    let mut lines = Vec::new();
    let status = t.run(cmd, &RunOpts::default(), &mut |l| lines.push(l.to_string()))?;
    Ok((status, lines))
}

/// The shell word for an interpreter command on the host: `~/x` becomes `"$HOME"/x`.
pub(super) fn remote_command(cmd: &str) -> String {
    match cmd.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", sh_quote(rest)),
        None => sh_quote(cmd),
    }
}

pub(super) fn daemon_cmd(host: &Host, args: &[String]) -> String {
    let mut cmd = format!(
        "env CPE_BASE={} sh {}/shell/daemon.sh",
        sh_quote(&host.base),
        sh_quote(&host.base)
    );
    for a in args {
        cmd.push(' ');
        cmd.push_str(&sh_quote(a));
    }
    cmd
}
pub(super) fn home_of(t: &mut dyn Transport) -> Result<String, OpError> {
    let (_, out) = probe(t, "printf '%s\\n' \"$HOME\"")?;
    out.into_iter()
        .next()
        .filter(|h| h.starts_with('/'))
        .ok_or_else(|| OpError::Other("cannot find the remote user's home directory".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_commands_expand_home_and_quote() {
        assert_eq!(
            remote_command("~/.pyenv/versions/3.8.20/bin/python"),
            "\"$HOME\"/'.pyenv/versions/3.8.20/bin/python'"
        );
        assert_eq!(remote_command("python3.11"), "'python3.11'");
    }
}
