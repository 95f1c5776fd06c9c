//! A short-lived tool run in the foreground: its stdout collected, its stderr passed through,
//! Ctrl-C forwarded to it (one SIGINT, once) so it can stop cleanly. [`ForegroundOptions`]
//! choose whether it gets a process group of its own and whether its last stderr line is kept.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use crate::{signal_process, Interrupt, Signal};

/// What a foreground run left.
#[derive(Debug)]
pub struct Finished {
    /// How it exited.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Its last non-empty stderr line, when [`ForegroundOptions::keep_last_stderr`] asked for
    /// it (tools put the cause of a failure there); else `None`.
    pub last_stderr: Option<String>,
}

/// How [`run_foreground_with`] runs a tool; the default is [`run_foreground`]'s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForegroundOptions {
    /// Run it in a process group of its own. Ctrl-C in a terminal (or a signal to make's whole
    /// group) then reaches the caller only, which forwards exactly one SIGINT: a tool that got
    /// the signal twice (directly and forwarded) would take the second as "stop at once" and
    /// exit before cleaning up (otii-capture would leave its recording running on the meter).
    pub own_group: bool,
    /// Pass its stderr through line by line and keep the last non-empty line
    /// ([`Finished::last_stderr`]); else stderr is inherited as is.
    pub keep_last_stderr: bool,
}

/// Runs `cmd` to its end with stdin from `/dev/null`, stdout collected and stderr passed
/// through. When `interrupt` is set while it runs, it gets one SIGINT and is waited for: it
/// stays in the tool's process group, so Ctrl-C in a terminal reaches it directly, but a
/// signal sent to the tool alone (`kill PID`, a supervisor) would not.
pub fn run_foreground(cmd: Command, interrupt: &Interrupt) -> io::Result<Finished> {
    run_foreground_with(cmd, interrupt, ForegroundOptions::default())
}

/// [`run_foreground`] with `options`: a process group of its own, its last stderr line kept.
pub fn run_foreground_with(
    mut cmd: Command,
    interrupt: &Interrupt,
    options: ForegroundOptions,
) -> io::Result<Finished> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    cmd.stderr(if options.keep_last_stderr {
        Stdio::piped()
    } else {
        Stdio::inherit()
    });
    if options.own_group {
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("starting {program}: {e}")))?;
    let mut pipe = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other(format!("{program}: no stdout pipe")))?;
    let reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    });
    let stderr = child.stderr.take().map(|err| {
        thread::spawn(move || {
            let mut last = None;
            let mut echo = io::stderr();
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = writeln!(echo, "{line}");
                if !line.trim().is_empty() {
                    last = Some(line);
                }
            }
            last
        })
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
    let stdout = reader.join().unwrap_or_default();
    let last_stderr = stderr.and_then(|h| h.join().unwrap_or_default());
    Ok(Finished {
        status,
        stdout,
        last_stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdout_is_collected_and_an_interrupt_is_forwarded() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo one; echo two");
        let done = run_foreground(cmd, &Interrupt::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(done.status.success());
        assert_eq!(done.stdout, b"one\ntwo\n");

        let stopped = Interrupt::new();
        let flag = stopped.clone();
        // Set once the shell has installed its trap, as Ctrl-C would come mid-run.
        let later = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            flag.trigger();
        });
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("trap 'echo caught; exit 5' INT; echo waiting; sleep 30 >/dev/null & wait");
        let t0 = std::time::Instant::now();
        let done = run_foreground(cmd, &stopped).unwrap_or_else(|e| panic!("{e}"));
        assert!(t0.elapsed() < Duration::from_secs(20), "SIGINT reached it");
        later.join().unwrap_or_else(|_| panic!("trigger thread"));
        assert_eq!(done.status.code(), Some(5));
        assert!(String::from_utf8_lossy(&done.stdout).contains("caught"));
    }

    #[test]
    fn own_group_and_last_stderr_line_options() {
        // The default keeps no stderr line and leaves the child in the caller's group.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("echo oops >&2; cut -d' ' -f5 /proc/$$/stat");
        let done = run_foreground(cmd, &Interrupt::new()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(done.last_stderr, None);
        let ours = rustix::process::getpgrp().as_raw_nonzero().get();
        let pgid = |out: &[u8]| String::from_utf8_lossy(out).trim().parse::<i32>().ok();
        assert_eq!(pgid(&done.stdout), Some(ours));

        // With both options: a group of its own (its pid), the last non-empty line kept.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("echo first >&2; echo last >&2; echo >&2; echo $$; cut -d' ' -f5 /proc/$$/stat");
        let options = ForegroundOptions {
            own_group: true,
            keep_last_stderr: true,
        };
        let done =
            run_foreground_with(cmd, &Interrupt::new(), options).unwrap_or_else(|e| panic!("{e}"));
        assert!(done.status.success());
        assert_eq!(done.last_stderr.as_deref(), Some("last"));
        let out = String::from_utf8_lossy(&done.stdout).into_owned();
        let mut lines = out.lines().map(|l| l.trim().parse::<i32>().ok());
        let (pid, group) = (lines.next().flatten(), lines.next().flatten());
        assert!(pid.is_some(), "{out}");
        assert_eq!(group, pid, "{out}");
        assert_ne!(group, Some(ours));
    }
}
