//! How the measured processes are scheduled: as the study ran them, or at a real-time priority
//! that keeps the rest of the machine from interrupting them.
//!
//! The study's server had a Raspberry Pi to itself. On one machine, the server shares its CPUs
//! with the load, the meter's simulator and whatever else runs; each time it is interrupted its
//! caches are refilled, and the same requests cost more CPU time. Run under `SCHED_FIFO`
//! ([`Priority::Realtime`]) the server and the load are not preempted by ordinary processes.
//! The kernel's real-time throttling (by default 95 % of each second) keeps the machine
//! responsive even if a measured process spins.
//!
//! The policy is set by `chrt` (util-linux, on every Debian) in front of the command, so it is
//! the measured process itself, not a wrapper, that gets it, and its children inherit it
//! (gunicorn's workers are forked from its master).

use std::ffi::OsString;
use std::fmt;
use std::process::{Command, Stdio};
use std::str::FromStr;

/// The `SCHED_FIFO` priority of [`Priority::Realtime`]: low among real-time priorities (1–99),
/// above every ordinary process.
pub const REALTIME_PRIORITY: u8 = 10;

/// How a measured process is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// As the study ran it: the ordinary scheduler, no change.
    #[default]
    Default,
    /// `SCHED_FIFO` at [`REALTIME_PRIORITY`]: not preempted by ordinary processes. Needs root
    /// or `CAP_SYS_NICE`.
    Realtime,
}

impl Priority {
    /// Every value with its name, for `--help` and errors.
    pub const NAMES: [&'static str; 2] = ["default", "realtime"];

    /// `argv` run under this priority: unchanged for [`Priority::Default`], behind
    /// `chrt --fifo 10` for [`Priority::Realtime`].
    pub fn wrap(self, argv: Vec<OsString>) -> Vec<OsString> {
        match self {
            Priority::Default => argv,
            Priority::Realtime => {
                let mut out: Vec<OsString> = vec![
                    "chrt".into(),
                    "--fifo".into(),
                    REALTIME_PRIORITY.to_string().into(),
                ];
                out.extend(argv);
                out
            }
        }
    }

    /// Whether this machine lets this user run a process at this priority: `Ok` for
    /// [`Priority::Default`]; for [`Priority::Realtime`], `chrt --fifo 10 true` is run once and
    /// its refusal (no `chrt`, no permission) is returned as one line that says what to do.
    pub fn check(self) -> Result<(), String> {
        if self == Priority::Default {
            return Ok(());
        }
        let argv = self.wrap(vec!["true".into()]);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output();
        let hint = "run as root (or with CAP_SYS_NICE), or choose the default priority";
        match out {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => {
                let why = String::from_utf8_lossy(&o.stderr);
                let why = why.lines().next().unwrap_or("").trim();
                Err(format!(
                    "the realtime priority is refused here (chrt: {why}): {hint}"
                ))
            }
            Err(e) => Err(format!(
                "the realtime priority needs `chrt` (util-linux), which did not run: {e}; {hint}"
            )),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::Default => "default",
            Priority::Realtime => "realtime",
        })
    }
}

impl FromStr for Priority {
    type Err = String;

    fn from_str(s: &str) -> Result<Priority, String> {
        match s {
            "default" => Ok(Priority::Default),
            "realtime" => Ok(Priority::Realtime),
            other => Err(format!(
                "unknown priority {other:?}: expected one of {}",
                Priority::NAMES.join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_leaves_the_command_alone_and_realtime_puts_chrt_in_front() {
        let argv: Vec<OsString> = vec!["gunicorn".into(), "-c".into(), "x.py".into()];
        assert_eq!(Priority::Default.wrap(argv.clone()), argv);
        let rt = Priority::Realtime.wrap(argv);
        let rt: Vec<&str> = rt.iter().map(|s| s.to_str().unwrap()).collect();
        assert_eq!(rt, ["chrt", "--fifo", "10", "gunicorn", "-c", "x.py"]);
    }

    #[test]
    fn names_parse_both_ways_and_a_bad_one_is_named() {
        for name in Priority::NAMES {
            assert_eq!(name.parse::<Priority>().unwrap().to_string(), name);
        }
        let e = "fast".parse::<Priority>().unwrap_err();
        assert!(
            e.contains("\"fast\"") && e.contains("default, realtime"),
            "{e}"
        );
    }

    #[test]
    fn a_realtime_child_runs_under_sched_fifo_or_the_refusal_says_why() {
        match Priority::Realtime.check() {
            Ok(()) => {
                // The child reads its own policy: field 41 of /proc/self/stat is the policy
                // (1 = SCHED_FIFO), field 40 the real-time priority.
                let argv = Priority::Realtime.wrap(vec![
                    "sh".into(),
                    "-c".into(),
                    "cut -d' ' -f40,41 /proc/self/stat".into(),
                ]);
                let out = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
                assert!(out.status.success());
                assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "10 1");
            }
            Err(e) => assert!(e.contains("realtime priority"), "{e}"),
        }
        assert_eq!(Priority::Default.check(), Ok(()));
    }
}
