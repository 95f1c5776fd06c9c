//! A workspace tool run in the foreground, the way the experiment needs it: stdout collected,
//! stderr passed through line by line with its last line kept (the tools put the cause there,
//! first), and exactly one SIGINT forwarded on Ctrl-C.
//!
//! The tool runs in a process group of its own, so Ctrl-C reaches the experiment only, which
//! forwards it once (why: [`procs::ForegroundOptions::own_group`]). The running is
//! [`procs::run_foreground_with`]'s; this module reads what the tool left.

use std::io;
use std::process::{Command, ExitStatus};

use procs::{run_foreground_with, Exit, ForegroundOptions, Interrupt};

/// What a tool run left.
#[derive(Debug)]
pub(crate) struct ToolRun {
    /// How it exited.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Its last non-empty stderr line, without the tool's `name: error: ` prefix.
    pub last_err: Option<String>,
}

impl ToolRun {
    /// Whether it exited 75 ([`Exit::Unavailable`], sysexits' `EX_TEMPFAIL`): the meter, the
    /// server or the network was away.
    pub fn unavailable(&self) -> bool {
        self.status.code() == Some(i32::from(Exit::Unavailable.code()))
    }

    /// The cause to quote: its last stderr line, else its exit status.
    pub fn cause(&self) -> String {
        match &self.last_err {
            Some(l) => l.clone(),
            None => format!("{}", self.status),
        }
    }
}

/// Runs `cmd` to its end (stdin `/dev/null`) in its own process group; forwards one SIGINT
/// once `interrupt` is set.
pub(crate) fn run_tool(cmd: Command, interrupt: &Interrupt) -> io::Result<ToolRun> {
    let options = ForegroundOptions {
        own_group: true,
        keep_last_stderr: true,
    };
    let done = run_foreground_with(cmd, interrupt, options)?;
    Ok(ToolRun {
        status: done.status,
        stdout: done.stdout,
        last_err: done.last_stderr.map(|l| strip_prefix(&l)),
    })
}

/// `otii-capture: error: meter … unreachable` → `meter … unreachable`.
fn strip_prefix(line: &str) -> String {
    match line.split_once(": error: ") {
        Some((tool, rest)) if !tool.contains(' ') => rest.to_owned(),
        _ => line.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_last_stderr_line_is_the_cause() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(
            "echo data; echo 'x: note' >&2; echo 'otii-capture: error: meter away' >&2; exit 75",
        );
        let r = run_tool(cmd, &Interrupt::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.unavailable());
        assert_eq!(r.stdout, b"data\n");
        assert_eq!(r.cause(), "meter away");
    }

    #[test]
    fn a_tool_gets_one_sigint_and_cleans_up() {
        let stopped = Interrupt::new();
        let flag = stopped.clone();
        let later = thread::spawn(move || {
            thread::sleep(Duration::from_millis(500));
            flag.trigger();
        });
        // A second SIGINT would end it with 9 instead of 5.
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(
            "n=0; trap 'n=$((n+1)); [ $n -gt 1 ] && exit 9' INT; sleep 1 & wait; sleep 1 & wait; \
             [ $n -eq 1 ] && exit 5; exit 1",
        );
        let r = run_tool(cmd, &stopped).unwrap_or_else(|e| panic!("{e}"));
        let _ = later.join();
        assert_eq!(r.status.code(), Some(5));
    }
}
