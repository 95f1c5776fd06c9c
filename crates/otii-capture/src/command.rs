//! The scenario command a run records: started, its stdout kept or echoed and read for the load
//! line, killed on Ctrl-C.

use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use procs::Interrupt;
use records::{AtomicFile, LoadLine, LoadReading};

/// How the command ended.
#[derive(Debug)]
pub struct CommandOutcome {
    /// Wall time from just before spawning to its exit.
    pub wall: Duration,
    /// Just before it was spawned.
    pub started: Instant,
    /// When its exit was seen (within [`EXIT_POLL`] of it).
    pub ended: Instant,
    /// Its exit status.
    pub status: ExitStatus,
    /// The last load line it printed, if any ([`LoadLine::parse_line`]: a JSON object with a
    /// numeric `duration_s`, `clients` a number or a list).
    pub load: Option<LoadReading>,
    /// When that load line was read from its stdout.
    pub load_seen: Option<Instant>,
}

impl CommandOutcome {
    /// The load's start and end on the controller's clock. With a load line, the load's own:
    /// its end is when the line was read and its start `duration_s` before (the zero of its
    /// request records' `start_s`, which a load's start-up, e.g. `minitwit-load --seed-sql`
    /// parsing its seed, puts well after the spawn); without one, the spawn and the exit.
    pub fn load_window(&self) -> (Instant, Instant) {
        let own = self
            .load
            .as_ref()
            .zip(self.load_seen)
            .and_then(|(l, seen)| {
                // The line was written before the exit: a reader thread scheduled late is
                // corrected by the exit seen.
                let seen = seen.min(self.ended);
                let d = Duration::try_from_secs_f64(l.duration_s).ok()?;
                Some((seen.checked_sub(d)?, seen))
            });
        own.unwrap_or((self.started, self.ended))
    }
}

/// How often the command is checked for its exit (and for Ctrl-C): the precision of
/// [`CommandOutcome::ended`], the load's end on the recording's timeline.
pub const EXIT_POLL: Duration = Duration::from_millis(1);

/// Runs `argv`, passing its stdout to `stdout_file` (kept even when the command fails) or to
/// our stderr, and watching it for a load line. Once `interrupt` is set the command is killed.
pub fn run_command(
    argv: &[String],
    stdout_file: Option<&Path>,
    interrupt: &Interrupt,
) -> io::Result<CommandOutcome> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command given"))?;
    let keep = match stdout_file {
        Some(p) => Some(AtomicFile::create(p)?),
        None => None,
    };
    let start = Instant::now();
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {prog:?}: {e}")))?;
    let out = child.stdout.take();
    let reader = std::thread::spawn(move || pass_stdout(out, keep));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if interrupt.is_set() {
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(EXIT_POLL);
    };
    let ended = Instant::now();
    let wall = ended.duration_since(start);
    let (load, load_seen) = reader
        .join()
        .map_err(|_| io::Error::other("the thread reading the command's stdout panicked"))??
        .unzip();
    Ok(CommandOutcome {
        wall,
        started: start,
        ended,
        status,
        load,
        load_seen,
    })
}

/// Copies the command's stdout line by line and returns the last load line seen, with when it
/// was read.
fn pass_stdout(
    out: Option<std::process::ChildStdout>,
    mut keep: Option<AtomicFile>,
) -> io::Result<Option<(LoadReading, Instant)>> {
    let mut load = None;
    if let Some(out) = out {
        let mut reader = BufReader::new(out);
        let mut line = String::new();
        let mut echo = io::stderr();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            let seen = Instant::now();
            if let Some(t) = LoadLine::parse_line(&line) {
                load = Some((t, seen));
            }
            match keep.as_mut() {
                Some(f) => f.write_all(line.as_bytes())?,
                None => echo.write_all(line.as_bytes())?,
            }
        }
    }
    if let Some(f) = keep {
        f.commit()?;
    }
    Ok(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_stdout_goes_to_file_and_summary_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("req.jsonl");
        let argv: Vec<String> = [
            "sh",
            "-c",
            r#"echo '{"schema":"request/1"}'; echo '{"duration_s":0.5,"requests":3,"errors":0,"by_status":{"200":3}}'"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = run_command(&argv, Some(&f), &Interrupt::new()).unwrap();
        assert!(o.status.success());
        let (start, end) = o.load_window();
        assert_eq!(end, o.load_seen.unwrap().min(o.ended));
        assert!(end <= o.ended && start >= o.started - Duration::from_secs(1));
        assert_eq!(end - start, Duration::from_secs_f64(0.5));
        assert_eq!(o.load.unwrap().duration_s, 0.5);
        assert_eq!(std::fs::read_to_string(&f).unwrap().lines().count(), 2);
    }

    #[test]
    fn an_interrupt_kills_the_command() {
        let argv: Vec<String> = ["sleep", "30"].iter().map(|s| s.to_string()).collect();
        let interrupt = Interrupt::new();
        interrupt.trigger();
        let o = run_command(&argv, None, &interrupt).unwrap();
        assert!(!o.status.success());
        assert!(o.wall < Duration::from_secs(10));
    }
}
