//! The workspace's tools as the experiment runs them: the command lines of `otii-capture
//! record` and `minitwit-load run`/`trigger`/`reset`, and the run record read back (run by
//! [`crate::toolrun`]).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use records::RunRecord;

use crate::runner::Config;
use crate::server::Server;

/// Which scenario the load runs (see `minitwit-load run --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// What the study sent, including its 40 look-alike 404s per user.
    Paper,
    /// What the study meant: session `GET /` instead of the 404s.
    Fixed,
}

impl Scenario {
    pub(crate) fn as_arg(self) -> &'static str {
        match self {
            Scenario::Paper => "paper",
            Scenario::Fixed => "fixed",
        }
    }
}

/// Who generates the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    /// `minitwit-load run --users N` from this machine.
    Local {
        /// Concurrent virtual users (the study: 3).
        users: u32,
    },
    /// `minitwit-load trigger` of agents on client machines (the study's three clients).
    Agents {
        /// `http://client:5001/trigger` URLs.
        triggers: Vec<String>,
    },
}

impl Load {
    pub(crate) fn users(&self) -> u32 {
        match self {
            Load::Local { users } => *users,
            Load::Agents { triggers } => triggers.len() as u32,
        }
    }
}

/// `minitwit-load reset`: MiniTwit's database back to the seed before every run.
pub(crate) fn reset_command(cfg: &Config, server: &dyn Server) -> Command {
    let mut cmd = Command::new(cfg.bin_dir.join("minitwit-load"));
    cmd.args(["reset", "--server"]).arg(server.url());
    cmd
}

/// `otii-capture record` of one run (or baseline) into `out`; the caller appends `-- COMMAND`.
pub(crate) fn capture_command(
    cfg: &Config,
    label: &str,
    run: u32,
    out: &Path,
    run_id: &str,
) -> Command {
    let mut cmd = Command::new(cfg.bin_dir.join("otii-capture"));
    cmd.arg("--otii")
        .arg(cfg.otii.as_deref().unwrap_or_default())
        .arg("record")
        .arg("--label")
        .arg(label)
        .arg("--run")
        .arg(run.to_string())
        .arg("--run-id")
        .arg(run_id)
        .arg("--rate")
        .arg(cfg.rate_hz.to_string())
        .arg("--out")
        .arg(out);
    cmd
}

/// The load of one run: `minitwit-load run` here (each user running the scenario `repeat`
/// times), or `trigger` of the client agents.
pub(crate) fn load_command(
    cfg: &Config,
    server: &dyn Server,
    records: Option<&Path>,
    run_id: &str,
    repeat: u32,
) -> Command {
    let argv = cfg
        .priority
        .wrap(vec![cfg.bin_dir.join("minitwit-load").into()]);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    match &cfg.load {
        Load::Local { users } => {
            cmd.args(["run", "--server"])
                .arg(server.url())
                .arg("--users")
                .arg(users.to_string())
                .arg("--scenario")
                .arg(cfg.scenario.as_arg())
                .arg("--run-id")
                .arg(run_id);
            match records {
                Some(p) => cmd.arg("--records").arg(p),
                None => cmd.arg("--records").arg("/dev/null"),
            };
            if let Some(seed) = &cfg.load_seed_sql {
                cmd.arg("--seed-sql").arg(seed);
            }
            if repeat > 1 {
                cmd.arg("--repeat").arg(repeat.to_string());
            }
            cmd.args(&cfg.load_args);
        }
        Load::Agents { triggers } => {
            cmd.arg("trigger")
                .args(triggers)
                .arg("--run-id")
                .arg(run_id);
        }
    }
    cmd
}

/// The run record otii-capture printed: its last JSON line on stdout.
pub(crate) fn parse_run_record(stdout: &[u8]) -> Result<RunRecord> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("no JSON line on stdout")?;
    serde_json::from_str(line).context("not a run record")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_record_is_the_last_json_line() {
        let out = b"otii-capture: note\n{\"schema\":\"nope\"}\n";
        assert!(parse_run_record(out).is_err(), "not a run record");
        assert!(parse_run_record(b"no json here\n")
            .err()
            .is_some_and(|e| e.to_string().contains("no JSON line")));
    }
}
