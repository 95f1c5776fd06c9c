//! Children in a process group of their own, signalled by group and stopped on drop.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, kill_process_group, Pid};

/// How long [`OwnedChild`] waits after SIGTERM before SIGKILL when it is dropped.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// The signals the tools send to processes they started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: what Ctrl-C sends; the tools stop cleanly on it.
    Interrupt,
    /// SIGTERM: stop (gunicorn stops its workers and exits).
    Terminate,
    /// SIGKILL: end at once.
    Kill,
}

impl Signal {
    fn raw(self) -> rustix::process::Signal {
        match self {
            Signal::Interrupt => rustix::process::Signal::INT,
            Signal::Terminate => rustix::process::Signal::TERM,
            Signal::Kill => rustix::process::Signal::KILL,
        }
    }
}

fn pid_of(id: u32) -> io::Result<Pid> {
    i32::try_from(id)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("no such PID: {id}")))
}

/// Sends `sig` to the one process `pid` (a child this tool started).
pub fn signal_process(pid: u32, sig: Signal) -> io::Result<()> {
    Ok(kill_process(pid_of(pid)?, sig.raw())?)
}

/// Sends `sig` to every process of the group `pgid` (a child started by [`OwnedChild::spawn`]
/// leads its own group, whose ID is its PID).
pub fn signal_group(pgid: u32, sig: Signal) -> io::Result<()> {
    Ok(kill_process_group(pid_of(pgid)?, sig.raw())?)
}

/// A long-running child (gunicorn, otii-sim) in its own process group. [`OwnedChild::stop`], or
/// dropping the guard, sends SIGTERM to the group, waits up to a grace period, then SIGKILLs
/// the group, so no worker outlives its master. Only the group it started is ever signalled.
///
/// Because the child has its own group, Ctrl-C in a terminal reaches only the tool, which
/// stops its children itself, in order: it polls its [`crate::Interrupt`] and drops the guard.
#[derive(Debug)]
pub struct OwnedChild {
    name: String,
    child: Option<Child>,
    log: Option<PathBuf>,
    /// How it ended, once [`OwnedChild::stop`] has reaped it.
    ended: Option<ExitStatus>,
}

impl OwnedChild {
    /// Starts `cmd` in a new process group; `name` (e.g. `gunicorn (3.11)`) is used in
    /// messages.
    pub fn spawn(name: impl Into<String>, mut cmd: Command) -> io::Result<OwnedChild> {
        let child = cmd.process_group(0).spawn()?;
        Ok(OwnedChild {
            name: name.into(),
            child: Some(child),
            log: None,
            ended: None,
        })
    }

    /// Like [`OwnedChild::spawn`], with stdin from `/dev/null` and stdout and stderr into a new
    /// file `log` (truncated), which readiness errors then quote.
    pub fn spawn_logged(
        name: impl Into<String>,
        mut cmd: Command,
        log: &Path,
    ) -> io::Result<OwnedChild> {
        let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", log.display()));
        let out = File::create(log).map_err(with_path)?;
        let err = out.try_clone().map_err(with_path)?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let mut child = OwnedChild::spawn(name, cmd)?;
        child.log = Some(log.to_path_buf());
        Ok(child)
    }

    /// The name given at the start.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The child's PID (also its process group ID); 0 once stopped.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The read end of the child's standard output, when it was started with
    /// `Stdio::piped()` for it (once: later calls give `None`).
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.as_mut()?.stdout.take()
    }

    /// The file its output goes to, when started by [`OwnedChild::spawn_logged`].
    pub fn log(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// Its exit status if it has exited (or was stopped), else `None`.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        match self.child.as_mut() {
            Some(c) => c.try_wait().ok().flatten(),
            None => self.ended,
        }
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.exited().is_none()
    }

    /// Stops the child's process group: SIGTERM, up to `grace` for the child to exit, then
    /// SIGKILL to whatever is left of the group (workers may outlive their master for a
    /// moment). Returns the child's exit status; `None` if it was stopped before.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let pgid = child.id();
        if matches!(child.try_wait(), Ok(None)) {
            let _ = signal_group(pgid, Signal::Terminate);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = signal_group(pgid, Signal::Kill);
        self.ended = child.wait().ok();
        self.ended
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        self.stop(STOP_GRACE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a process runs (a zombie does not).
    fn alive(pid: u32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    }

    fn wait_gone(pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
        true
    }

    #[test]
    fn dropping_the_guard_kills_the_whole_group_even_a_child_that_ignores_sigterm() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pids = dir.path().join("pids");
        // The shell ignores SIGTERM; its sleep grandchild is in the same group.
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!(
            "trap '' TERM; sleep 300 & echo $$ $! > {}; wait",
            pids.display()
        ));
        let child = OwnedChild::spawn_logged("sh", cmd, &dir.path().join("sh.log"))
            .unwrap_or_else(|e| panic!("{e}"));
        let deadline = Instant::now() + Duration::from_secs(5);
        let text = loop {
            match std::fs::read_to_string(&pids) {
                Ok(t) if t.ends_with('\n') => break t,
                _ => assert!(Instant::now() < deadline, "the shell never wrote its PIDs"),
            }
            thread::sleep(Duration::from_millis(20));
        };
        let ids: Vec<u32> = text
            .split_whitespace()
            .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
            .collect();
        assert_eq!(ids[0], child.pid(), "the shell is the child itself");
        assert!(ids.iter().all(|&p| alive(p)));
        let started = Instant::now();
        let mut child = child;
        assert!(child.stop(Duration::from_millis(300)).is_some());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "SIGKILL after the grace"
        );
        assert!(ids.iter().all(|&p| wait_gone(p)), "left over: {ids:?}");
        assert_eq!(
            child.stop(Duration::ZERO),
            None,
            "stopping twice is harmless"
        );
        assert!(!child.is_running());
    }

    #[test]
    fn a_sleep_group_ends_when_the_guard_is_dropped() {
        let mut cmd = Command::new("sleep");
        cmd.arg("300");
        let mut child = OwnedChild::spawn("sleep", cmd).unwrap_or_else(|e| panic!("{e}"));
        let pid = child.pid();
        assert!(child.is_running() && alive(pid));
        assert_eq!(child.name(), "sleep");
        assert_eq!(child.log(), None);
        drop(child);
        assert!(wait_gone(pid), "sleep {pid} outlived its guard");
    }

    #[test]
    fn signals_reach_one_process_or_its_group() {
        let mut cmd = Command::new("sleep");
        cmd.arg("300");
        let mut child = OwnedChild::spawn("sleep", cmd).unwrap_or_else(|e| panic!("{e}"));
        signal_process(child.pid(), Signal::Interrupt).unwrap_or_else(|e| panic!("{e}"));
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(s) = child.exited() {
                break s;
            }
            assert!(Instant::now() < deadline, "SIGINT did not end sleep");
            thread::sleep(Duration::from_millis(20));
        };
        assert!(!status.success());
        assert!(signal_group(0, Signal::Kill).is_err(), "PID 0 is refused");
    }
}
