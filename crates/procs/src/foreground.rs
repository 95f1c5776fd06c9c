//! A short-lived tool run in the foreground: its stdout collected, its stderr passed through,
//! Ctrl-C forwarded to it so it can stop cleanly.

use std::io::{self, Read};
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
}

/// Runs `cmd` to its end with stdin from `/dev/null`, stdout collected and stderr passed
/// through. When `interrupt` is set while it runs, it gets one SIGINT and is waited for: it
/// stays in the tool's process group, so Ctrl-C in a terminal reaches it directly, but a
/// signal sent to the tool alone (`kill PID`, a supervisor) would not.
pub fn run_foreground(mut cmd: Command, interrupt: &Interrupt) -> io::Result<Finished> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
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
    Ok(Finished { status, stdout })
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
}
