use std::fmt;
use std::process::ExitCode;

use crate::Interrupt;

/// The exit codes every tool documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Success,
    /// 1: the work failed (a run invalid, a host unreachable, a file unreadable).
    Failure,
    /// 2: the command line or the configuration is wrong; nothing was done.
    Usage,
    /// 75 (`EX_TEMPFAIL` of sysexits.h): nothing was measured, because something outside the
    /// run was away: the meter, the server or the network (refused, reset, closed, timed out).
    /// The same command may succeed later: retry it, it is not the run's fault.
    Unavailable,
    /// 130: stopped by Ctrl-C or SIGTERM, cleanly.
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Unavailable => 75,
            Exit::Interrupted => 130,
        }
    }

    /// [`Exit::Success`] when `ok`, else [`Exit::Failure`]; [`Exit::Interrupted`] whenever the
    /// flag is set, whatever the work said.
    pub fn from_ok(ok: bool, interrupt: &Interrupt) -> Exit {
        match (interrupt.is_set(), ok) {
            (true, _) => Exit::Interrupted,
            (false, true) => Exit::Success,
            (false, false) => Exit::Failure,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// A usage error found after parsing (an inventory field, a flag combination clap cannot
/// express): anywhere in an error's chain, it makes [`main`] exit 2 instead of 1.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// An infrastructure fault: the meter, the server or the network was away, so nothing was
/// measured. Anywhere in an error's chain, it makes [`main`] exit 75 ([`Exit::Unavailable`])
/// instead of 1, so a caller can retry instead of counting a failed run.
///
/// It displays as the error it wraps and stands in for it in the chain (its `source` is the
/// wrapped error's), so the one error line reads exactly as without it.
#[derive(Debug)]
pub struct Unavailable(pub Box<dyn std::error::Error + Send + Sync + 'static>);

impl Unavailable {
    /// Marks `e` as an infrastructure fault.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self(e.into())
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Unavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The tail of every tool's `main`: `config` is the result of validating the parsed command
/// line (an error there prints `tool: message` and exits 2); `body` runs the library with the
/// [`Interrupt`] flag, installed for SIGINT and SIGTERM, and says which exit it earned. An
/// error from `body` prints one line, `tool: error: cause: …`, each cause once, and exits 1, or
/// 2 when a [`UsageError`] is in its chain, or 75 when an [`Unavailable`] is (and no
/// [`UsageError`]), or 130 when the flag was set; a closed stdout
/// (`tool | head`) is success and prints nothing.
pub fn main<C, E>(
    tool: &str,
    config: Result<C, E>,
    body: impl FnOnce(C, &Interrupt) -> anyhow::Result<Exit>,
) -> ExitCode
where
    E: Into<anyhow::Error>,
{
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            let e: anyhow::Error = e.into();
            eprintln!("{tool}: {}", records::error_chain(e.as_ref()));
            return Exit::Usage.into();
        }
    };
    let interrupt = Interrupt::new();
    if let Err(e) = interrupt.install() {
        eprintln!("{tool}: {e}");
        return Exit::Failure.into();
    }
    outcome(tool, body(config, &interrupt), &interrupt).into()
}

/// The exit for a body's result, printing the error line if there is one.
fn outcome(tool: &str, result: anyhow::Result<Exit>, interrupt: &Interrupt) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(e) if records::is_broken_pipe(e.as_ref()) => Exit::Success,
        Err(e) => {
            eprintln!("{tool}: error: {}", records::error_chain(e.as_ref()));
            if interrupt.is_set() {
                Exit::Interrupted
            } else if e.chain().any(|c| c.is::<UsageError>()) {
                Exit::Usage
            } else if e.chain().any(|c| c.is::<Unavailable>()) {
                Exit::Unavailable
            } else {
                Exit::Failure
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn results_map_to_the_documented_codes() {
        let calm = Interrupt::new();
        assert_eq!(outcome("t", Ok(Exit::Success), &calm), Exit::Success);
        assert_eq!(outcome("t", Ok(Exit::Failure), &calm), Exit::Failure);
        assert_eq!(
            outcome("t", Err(anyhow::anyhow!("boom")), &calm),
            Exit::Failure
        );
        let usage = Err(anyhow::Error::new(UsageError("bad field".into())).context("inventory"));
        assert_eq!(outcome("t", usage, &calm), Exit::Usage);
        let pipe = Err(anyhow::Error::new(std::io::Error::from(
            std::io::ErrorKind::BrokenPipe,
        )))
        .context("writing the table");
        assert_eq!(outcome("t", pipe, &calm), Exit::Success);
        let stopped = Interrupt::new();
        stopped.trigger();
        assert_eq!(
            outcome("t", Err(anyhow::anyhow!("cut")), &stopped),
            Exit::Interrupted
        );
        assert_eq!(Exit::from_ok(true, &stopped), Exit::Interrupted);
        assert_eq!(Exit::from_ok(false, &calm), Exit::Failure);
        assert_eq!(Exit::Interrupted.code(), 130);
    }

    #[test]
    fn an_infrastructure_fault_anywhere_in_the_chain_exits_75_and_reads_as_its_cause() {
        let calm = Interrupt::new();
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = anyhow::Error::new(Unavailable::new(refused)).context("recording run 3");
        assert_eq!(
            records::error_chain(e.as_ref()),
            "recording run 3: connection refused"
        );
        assert_eq!(outcome("t", Err(e), &calm), Exit::Unavailable);
        assert_eq!(Exit::Unavailable.code(), 75);
        // An interrupt wins: the fault may be the Ctrl-C's own doing.
        let stopped = Interrupt::new();
        stopped.trigger();
        let cut = Err(anyhow::Error::new(Unavailable::new("meter away")));
        assert_eq!(outcome("t", cut, &stopped), Exit::Interrupted);
    }
}
