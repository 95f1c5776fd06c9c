//! Child processes the experiment owns: started in their own process group, ended by PID
//! (group) only, always, even when the experiment fails or is interrupted.

use std::io;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;

/// A long-running child (gunicorn, otii-sim) in its own process group. Dropping the guard
/// sends SIGTERM to the group, waits up to a grace period, then SIGKILLs it.
pub struct OwnedChild {
    name: String,
    child: Option<Child>,
}

impl OwnedChild {
    /// Starts `cmd` in a new process group. SIGINT from the terminal then reaches only the
    /// experiment, which stops its children itself, in order.
    pub fn spawn(name: impl Into<String>, mut cmd: Command) -> io::Result<OwnedChild> {
        cmd.process_group(0);
        let child = cmd.spawn()?;
        Ok(OwnedChild {
            name: name.into(),
            child: Some(child),
        })
    }

    /// The child's PID (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Whether the child has exited; its exit status if so.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Stops the child's process group: SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = Pid::from_raw(child.id() as i32);
        if child.try_wait().ok().flatten().is_none() {
            let _ = killpg(pgid, Signal::SIGTERM);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        // Workers may outlive their master for a moment; the group goes in any case.
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = child.wait();
        eprintln!("experiment: stopped {} (pid {})", self.name, pgid);
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}
