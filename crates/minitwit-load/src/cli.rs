//! The command line of `minitwit-load` (clap), turned into the library's validated
//! [`Config`]. Binary-only: the library never sees clap.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use minitwit_load::agent::AgentConfig;
use minitwit_load::app::{self, Config, ScenarioOptions};
use minitwit_load::scenario::{Mode, STUDY_CYCLES};
use minitwit_load::seed;
use minitwit_load::url::HttpUrl;

const AFTER_HELP: &str = "\
Exit codes: 0 ok, 1 failure (a user failed a check, a file cannot be written), 2 usage error, \
75 the server (or an agent) unreachable: not one HTTP answer, nothing was run, retry (the \
load line is still printed), 130 interrupted (Ctrl-C; the records so far are flushed).

Typical use:
  minitwit-load seed > seed.sql                          # the data MiniTwit's /cleardb loads
  minitwit-load reset --server http://127.0.0.1:5000     # GET /cleardb before each run
  minitwit-load run --server http://127.0.0.1:5000 --users 3 > requests.jsonl
  minitwit-load run --server http://127.0.0.1:5000 --seed-sql dump.sql   # a server loaded with dump.sql
  minitwit-load agent --listen 0.0.0.0:5001 --server http://pi:5000 --log requests.jsonl
  minitwit-load trigger http://client1:5001/trigger http://client2:5001/trigger

See docs/minitwit-load.md for the scenario, the record format and the load line.";

/// Drives MiniTwit exactly as the study's client machines did, and makes its seed data.
///
/// The scenario (164 HTTP requests per user: browse, register, log in, tweet, follow the first
/// 20 seed users, look at the "private timeline") is sent request for request, redirect hops
/// included, and every request is recorded as one JSON line.
#[derive(Debug, Parser)]
#[command(name = "minitwit-load", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the scenario now, as one user or several concurrent users.
    ///
    /// Writes one request record (JSON) per HTTP request on stdout as they happen, and a
    /// one-paragraph summary on stderr. With --records FILE the records go to FILE and stdout
    /// gets the load line (JSON with duration_s, requests, errors, by_status, clients, ok).
    Run(RunArgs),
    /// Serve GET /trigger on a client machine: each trigger runs the scenario once and is
    /// answered when it is done (200 and the run's JSON load line; 500 if a check failed; 409
    /// while a scenario is already running). Runs until Ctrl-C.
    Agent(AgentArgs),
    /// The controller's side: GET all trigger URLs at once, wait for every answer, print one
    /// JSON load line with the scenario time (duration_s), the summed counts, the number of
    /// clients and each agent's result (agents).
    Trigger(TriggerArgs),
    /// GET /cleardb on MiniTwit (resets the database to the seed data); fails unless it ends
    /// with 200 after the redirect.
    Reset(ResetArgs),
    /// Write MiniTwit's seed data (200 users, 11,306 messages, 6,265 follower rows) as SQL to
    /// stdout, shaped like the study's data where it shapes the work (the followed users'
    /// message counts and name lengths, message lengths). The same --seed always gives the same
    /// bytes. Every seed user's password is "minitwit".
    Seed {
        /// Random seed; `run`/`agent` must use the same one to follow the right users.
        #[arg(long, default_value_t = seed::DEFAULT_SEED)]
        seed: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScenarioArg {
    /// What the study's client sent: 40 cookie-less GETs of a "/<Session object …>" path (404).
    Paper,
    /// What it meant: those 40 requests become logged-in GET / (200).
    Fixed,
}

#[derive(Debug, Args)]
struct TimeoutArgs {
    /// Seconds allowed to open a TCP connection.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    connect_timeout: f64,
    /// Seconds allowed for one request's complete answer (the study's Pi took seconds for
    /// some; the default is generous).
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    timeout: f64,
}

#[derive(Debug, Args)]
struct ScenarioArgs {
    /// MiniTwit's base URL, e.g. http://127.0.0.1:5000.
    #[arg(long, value_name = "URL")]
    server: String,
    /// The MiniTwit user to register and run as (default: this machine's host name). It must
    /// not exist yet: reset the database (`reset`) before each run.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// Which "private timeline" requests to send.
    #[arg(long, value_enum, default_value_t = ScenarioArg::Paper)]
    scenario: ScenarioArg,
    /// Cycles of step 5 (follow, timelines, tweets). The study's scenario has 2; 0 or 1
    /// shorten it for quick tests and are NOT the study's scenario.
    #[arg(long, value_name = "N", default_value_t = STUDY_CYCLES)]
    cycles: u32,
    /// Seed of MiniTwit's generated seed data (see `seed`): decides which 20 users are
    /// followed, unless --seed-sql is given.
    #[arg(long, default_value_t = seed::DEFAULT_SEED)]
    seed: u64,
    /// The seed SQL MiniTwit was loaded with (its MINITWIT_SEED: the study's dump.sql, the
    /// output of `seed`, any file of INSERTs): the scenario follows its first 20 users by
    /// user_id, as the study's client did. Fewer than 20 users, or SQL this reader does not
    /// understand, is an error naming the file (and line). Default: the generated seed of --seed.
    #[arg(long, value_name = "FILE", conflicts_with = "seed")]
    seed_sql: Option<PathBuf>,
    #[command(flatten)]
    timeouts: TimeoutArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Concurrent virtual users, each running the whole scenario (the study: 3 clients);
    /// with N > 1 they are named NAME-1 … NAME-N.
    #[arg(long, value_name = "N", default_value_t = 1)]
    users: u32,
    /// Times each user runs the whole scenario in a row, registering anew each time as
    /// NAME-r2 … NAME-rN (1, the study's: one scenario per user). A longer run of the same
    /// work, e.g. for the local demo, whose runs of one scenario last about a second; the
    /// expected request counts are then N times the study's.
    #[arg(long, value_name = "N", default_value_t = 1)]
    repeat: u32,
    /// The run_id written into every record (default: <host>-<unix time>).
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Write the records to FILE (complete files only: written under a temporary name and
    /// renamed at the end; left as FILE.partial when interrupted) and print the JSON load line
    /// on stdout instead. `-` means stdout (the default).
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct AgentArgs {
    /// Address to listen on, e.g. 0.0.0.0:5001 (the study's controller calls port 5001).
    #[arg(long, value_name = "ADDR")]
    listen: String,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Append each run's request records to FILE (JSON Lines, tagged with the run id given
    /// as /trigger?run_id=ID, or <host>-<unix time>-<n>).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TriggerArgs {
    /// Trigger URLs of the agents, e.g. http://10.0.0.3:5001/trigger.
    #[arg(required = true, value_name = "URL")]
    urls: Vec<String>,
    /// Passed to every agent as ?run_id=ID, so their logs can be joined to the power trace.
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Seconds allowed to open each TCP connection.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    connect_timeout: f64,
    /// Seconds to wait for each agent to finish its scenario.
    #[arg(long, value_name = "SECS", default_value_t = 3600.0)]
    timeout: f64,
}

#[derive(Debug, Args)]
struct ResetArgs {
    /// MiniTwit's base URL, e.g. http://127.0.0.1:5000.
    #[arg(long, value_name = "URL")]
    server: String,
    #[command(flatten)]
    timeouts: TimeoutArgs,
}

impl From<ScenarioArg> for Mode {
    fn from(a: ScenarioArg) -> Mode {
        match a {
            ScenarioArg::Paper => Mode::Paper,
            ScenarioArg::Fixed => Mode::Fixed,
        }
    }
}

impl From<&ScenarioArgs> for ScenarioOptions {
    fn from(s: &ScenarioArgs) -> ScenarioOptions {
        ScenarioOptions {
            server: s.server.clone(),
            user: s.user.clone(),
            mode: s.scenario.into(),
            cycles: s.cycles,
            seed: s.seed,
            seed_sql: s.seed_sql.clone(),
            connect_timeout_s: s.timeouts.connect_timeout,
            timeout_s: s.timeouts.timeout,
        }
    }
}

impl TryFrom<Cli> for Config {
    type Error = anyhow::Error;
    fn try_from(cli: Cli) -> anyhow::Result<Self> {
        Ok(match cli.command {
            Command::Run(a) => Config::Run {
                load: app::load_config_repeated(
                    &(&a.scenario).into(),
                    a.users,
                    a.repeat,
                    a.run_id,
                )?,
                // `-` is stdout, which is also where records go without --records.
                records: a.records.filter(|p| p.as_os_str() != "-"),
            },
            Command::Agent(a) => Config::Agent {
                listen: app::listen_address(&a.listen)?,
                agent: AgentConfig {
                    load: app::load_config(&(&a.scenario).into(), 1, None)?,
                    log: a.log,
                },
            },
            Command::Trigger(a) => Config::Trigger {
                urls: a
                    .urls
                    .iter()
                    .map(|u| HttpUrl::parse(u, true))
                    .collect::<Result<_, _>>()
                    .context("trigger URL")?,
                run_id: a.run_id,
                timeouts: app::timeouts(a.connect_timeout, a.timeout)?,
            },
            Command::Reset(a) => Config::Reset {
                server: HttpUrl::parse(&a.server, false).context("--server")?,
                timeouts: app::timeouts(a.timeouts.connect_timeout, a.timeouts.timeout)?,
            },
            Command::Seed { seed } => Config::Seed { seed },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn config(args: &[&str]) -> anyhow::Result<Config> {
        let cli =
            Cli::try_parse_from(std::iter::once("minitwit-load").chain(args.iter().copied()))?;
        Config::try_from(cli)
    }

    #[test]
    fn run_names_users_and_validates() {
        let Ok(Config::Run { load, .. }) = config(&[
            "run",
            "--server",
            "http://127.0.0.1:5000/",
            "--user",
            "ann",
            "--users",
            "3",
        ]) else {
            panic!("valid run arguments refused")
        };
        assert_eq!(load.users, ["ann-1", "ann-2", "ann-3"]);
        assert_eq!(load.server.to_string(), "http://127.0.0.1:5000");
        let Ok(Config::Run { records, .. }) =
            config(&["run", "--server", "http://h", "--records", "-"])
        else {
            panic!("--records - refused")
        };
        assert_eq!(records, None, "--records - is stdout");
        for bad in [
            &["run", "--server", "ftp://x"][..],
            &["run", "--server", "http://h", "--cycles", "3"],
            &["run", "--server", "http://h", "--users", "0"],
            &["run", "--server", "http://h", "--timeout", "0"],
            &["run", "--server", "http://h", "--user", "a/b"],
            &["agent", "--listen", "nowhere", "--server", "http://h"],
            &["trigger", "https://h/trigger"],
        ] {
            assert!(config(bad).is_err(), "{bad:?} accepted");
        }
    }
}
