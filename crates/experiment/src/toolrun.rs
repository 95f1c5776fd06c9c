//! A workspace tool run in the foreground, the way the experiment needs it: stdout collected,
//! stderr passed through line by line with its last line kept (the tools put the cause there,
//! first), and exactly one SIGINT forwarded on Ctrl-C.
//!
//! The tool runs in a process group of its own. Ctrl-C in a terminal (or a signal to make's
//! whole group) therefore reaches the experiment only, which forwards it once: a tool that got
//! the signal twice (directly and forwarded) would take the second as "stop at once" and exit
//! before cleaning up, and otii-capture would leave its recording running on the meter.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use procs::{signal_process, Interrupt, Signal};

/// The exit status of a tool that found the meter, the server or the network away
/// ([`procs::Exit::Unavailable`], sysexits' `EX_TEMPFAIL`).
pub(crate) const UNAVAILABLE: i32 = 75;

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
    /// Whether it exited 75: something outside the run was away.
    pub fn unavailable(&self) -> bool {
        self.status.code() == Some(UNAVAILABLE)
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
pub(crate) fn run_tool(mut cmd: Command, interrupt: &Interrupt) -> io::Result<ToolRun> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("starting {program}: {e}")))?;
    let (Some(mut out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io::Error::other(format!("{program}: no pipes")));
    };
    let stdout = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let stderr = thread::spawn(move || {
        let mut last = None;
        let mut echo = io::stderr();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = writeln!(echo, "{line}");
            if !line.trim().is_empty() {
                last = Some(line);
            }
        }
        last
    });
    let mut signalled = false;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if interrupt.is_set() && !signalled {
            let _ = signal_process(child.id(), Signal::Interrupt);
            signalled = true;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    let last_err = stderr.join().unwrap_or_default().map(|l| strip_prefix(&l));
    Ok(ToolRun {
        status,
        stdout,
        last_err,
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
