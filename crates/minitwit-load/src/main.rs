//! The `minitwit-load` command line: parse, build a config, call the library, map to an exit code.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use records::{AtomicFile, JsonLinesWriter};

use minitwit_load::agent::{self, AgentConfig};
use minitwit_load::control;
use minitwit_load::http::Timeouts;
use minitwit_load::report::{self, Progress};
use minitwit_load::runner::{self, LoadConfig};
use minitwit_load::scenario::{Mode, STUDY_CYCLES};
use minitwit_load::seed;
use minitwit_load::url::HttpUrl;

const AFTER_HELP: &str = "\
Exit codes: 0 ok, 1 failure (a user failed a check, the server is unreachable, a file cannot \
be written), 2 usage error, 130 interrupted (Ctrl-C; the records so far are flushed).

Typical use:
  minitwit-load seed > seed.sql                          # the data MiniTwit's /cleardb loads
  minitwit-load reset --server http://127.0.0.1:5000     # GET /cleardb before each run
  minitwit-load run --server http://127.0.0.1:5000 --users 3 > requests.jsonl
  minitwit-load agent --listen 0.0.0.0:5001 --server http://pi:5000 --log requests.jsonl
  minitwit-load trigger http://client1:5001/trigger http://client2:5001/trigger

See docs/minitwit-load.md for the scenario, the record format and the summary line.";

/// Drives MiniTwit exactly as the study's client machines did, and makes its seed data.
///
/// The scenario (164 HTTP requests per user: browse, register, log in, tweet, follow the first
/// 20 seed users, look at the "private timeline") is sent request for request, redirect hops
/// included, and every request is recorded as one JSON line.
#[derive(Debug, Parser)]
#[command(name = "minitwit-load", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the scenario now, as one user or several concurrent users.
    ///
    /// Writes one request record (JSON) per HTTP request on stdout as they happen, and a
    /// one-paragraph summary on stderr. With --records FILE the records go to FILE and stdout
    /// gets one summary line (JSON with duration_s, requests, errors, by_status).
    Run(RunArgs),
    /// Serve GET /trigger on a client machine: each trigger runs the scenario once and is
    /// answered when it is done (200 and a one-line JSON summary; 500 if a check failed; 409
    /// while a scenario is already running). Runs until Ctrl-C.
    Agent(AgentArgs),
    /// The controller's side: GET all trigger URLs at once, wait for every answer, print one
    /// JSON line with the scenario time (duration_s) and each client's result.
    Trigger(TriggerArgs),
    /// GET /cleardb on MiniTwit (resets the database to the seed data); fails unless it ends
    /// with 200 after the redirect.
    Reset(ResetArgs),
    /// Write MiniTwit's seed data (200 users, 11,306 messages, 6,265 follower rows) as SQL to
    /// stdout. The same --seed always gives the same bytes. Every seed user's password is
    /// "minitwit".
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
    /// Seed of MiniTwit's seed data (see `seed`): decides which 20 users are followed.
    #[arg(long, default_value_t = seed::DEFAULT_SEED)]
    seed: u64,
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
    /// The run_id written into every record (default: <host>-<unix time>).
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Write the records to FILE (complete files only: written under a temporary name and
    /// renamed at the end; left as FILE.partial when interrupted) and print one JSON summary
    /// line on stdout instead. `-` means stdout (the default).
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

/// A validated command.
#[derive(Debug)]
enum Config {
    Run {
        load: LoadConfig,
        records: Option<PathBuf>,
    },
    Agent {
        listen: SocketAddr,
        agent: AgentConfig,
    },
    Trigger {
        urls: Vec<HttpUrl>,
        run_id: Option<String>,
        timeouts: Timeouts,
    },
    Reset {
        server: HttpUrl,
        timeouts: Timeouts,
    },
    Seed {
        seed: u64,
    },
}

fn seconds(name: &str, v: f64) -> anyhow::Result<Duration> {
    if !(v.is_finite() && v > 0.0 && v < 1e7) {
        bail!("{name} must be a positive number of seconds, got {v}");
    }
    Ok(Duration::from_secs_f64(v))
}

impl TryFrom<&TimeoutArgs> for Timeouts {
    type Error = anyhow::Error;
    fn try_from(t: &TimeoutArgs) -> anyhow::Result<Self> {
        Ok(Timeouts {
            connect: seconds("--connect-timeout", t.connect_timeout)?,
            request: seconds("--timeout", t.timeout)?,
        })
    }
}

fn load_config(s: &ScenarioArgs, users: u32, run_id: Option<String>) -> anyhow::Result<LoadConfig> {
    let server = HttpUrl::parse(&s.server, false).context("--server")?;
    if s.cycles > STUDY_CYCLES {
        bail!("--cycles must be 0 to {STUDY_CYCLES} (the study has {STUDY_CYCLES}; there are 20 users to follow)");
    }
    if !(1..=1000).contains(&users) {
        bail!("--users must be 1 to 1000, got {users}");
    }
    let client = minitwit_load::host_name();
    let name = s.user.clone().unwrap_or_else(|| client.clone());
    if name.trim().is_empty() || name.contains('/') {
        bail!("--user {name:?}: a MiniTwit user name must be non-empty and contain no '/'");
    }
    let users = if users == 1 {
        vec![name]
    } else {
        (1..=users).map(|i| format!("{name}-{i}")).collect()
    };
    let run_id = run_id.unwrap_or_else(|| minitwit_load::default_run_id(&client, None));
    Ok(LoadConfig {
        server,
        users,
        mode: match s.scenario {
            ScenarioArg::Paper => Mode::Paper,
            ScenarioArg::Fixed => Mode::Fixed,
        },
        cycles: s.cycles,
        seed: s.seed,
        timeouts: Timeouts::try_from(&s.timeouts)?,
        run_id,
        client,
    })
}

impl TryFrom<Cli> for Config {
    type Error = anyhow::Error;
    fn try_from(cli: Cli) -> anyhow::Result<Self> {
        Ok(match cli.command {
            Command::Run(a) => Config::Run {
                load: load_config(&a.scenario, a.users, a.run_id)?,
                // `-` is stdout, which is also where records go without --records.
                records: a.records.filter(|p| p.as_os_str() != "-"),
            },
            Command::Agent(a) => Config::Agent {
                listen: a.listen.parse().with_context(|| {
                    format!(
                        "--listen {:?}: expected ADDRESS:PORT, e.g. 0.0.0.0:5001",
                        a.listen
                    )
                })?,
                agent: AgentConfig {
                    load: load_config(&a.scenario, 1, None)?,
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
                timeouts: Timeouts {
                    connect: seconds("--connect-timeout", a.connect_timeout)?,
                    request: seconds("--timeout", a.timeout)?,
                },
            },
            Command::Reset(a) => Config::Reset {
                server: HttpUrl::parse(&a.server, false).context("--server")?,
                timeouts: Timeouts::try_from(&a.timeouts)?,
            },
            Command::Seed { seed } => Config::Seed { seed },
        })
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let config = match Config::try_from(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("minitwit-load: {}", records::error_chain(e.as_ref()));
            return ExitCode::from(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    // First Ctrl-C: stop cleanly (flush records, exit 130). A second one: leave now.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    match execute(config, &stop) {
        Ok(code) => code,
        Err(e) if records::is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minitwit-load: {}", records::error_chain(e.as_ref()));
            if stop.load(Ordering::SeqCst) {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn execute(config: Config, stop: &AtomicBool) -> anyhow::Result<ExitCode> {
    match config {
        Config::Seed { seed } => {
            let data = seed::generate(seed);
            let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            seed::write_sql(&data, &mut out).context("writing the seed SQL to stdout")?;
            out.flush().context("writing the seed SQL to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Config::Run { load, records } => run(&load, records.as_deref(), stop),
        Config::Reset { server, timeouts } => {
            let chain = control::reset(&server, timeouts, stop)?;
            let hops: Vec<String> = chain.iter().map(u16::to_string).collect();
            eprintln!(
                "minitwit-load: {server}: database reset (GET /cleardb: {})",
                hops.join(" → ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Config::Trigger {
            urls,
            run_id,
            timeouts,
        } => {
            let summary = control::trigger(&urls, run_id.as_deref(), timeouts, stop);
            for c in summary.clients.iter().filter(|c| !c.ok) {
                eprintln!(
                    "minitwit-load: {}: {}",
                    c.url,
                    c.error.as_deref().unwrap_or("failed")
                );
            }
            eprintln!(
                "minitwit-load: {} client(s), scenario took {:.3} s, {} requests, {} errors",
                summary.clients.len(),
                summary.duration_s,
                summary.requests,
                summary.errors
            );
            let mut out = io::stdout().lock();
            serde_json::to_writer(&mut out, &summary).context("writing the summary")?;
            writeln!(out)
                .and_then(|()| out.flush())
                .context("writing the summary")?;
            Ok(exit_for(summary.ok, stop))
        }
        Config::Agent { listen, agent } => {
            let listener =
                TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
            let local = listener
                .local_addr()
                .with_context(|| format!("cannot listen on {listen}"))?;
            eprintln!(
                "minitwit-load agent: listening on http://{local}/trigger, scenario against {} as {:?}",
                agent.load.server, agent.load.users[0]
            );
            agent::serve(&listener, agent, stop)?;
            eprintln!("minitwit-load agent: interrupted, stopped");
            Ok(ExitCode::from(130))
        }
    }
}

fn exit_for(ok: bool, stop: &AtomicBool) -> ExitCode {
    if stop.load(Ordering::SeqCst) {
        ExitCode::from(130)
    } else if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Where `run` writes its records.
enum Sink {
    Stdout(JsonLinesWriter<io::Stdout>),
    Atomic(JsonLinesWriter<AtomicFile>),
    /// A device or pipe (e.g. /dev/null), written in place: renaming over it would be wrong.
    Plain(JsonLinesWriter<BufWriter<File>>),
}

fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

fn run(load: &LoadConfig, records: Option<&Path>, stop: &AtomicBool) -> anyhow::Result<ExitCode> {
    let mut sink = match records {
        None => Sink::Stdout(JsonLinesWriter::new(io::stdout())),
        Some(p) if is_special(p) => Sink::Plain(JsonLinesWriter::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot open {}", p.display()))?,
        ))),
        Some(p) => Sink::Atomic(JsonLinesWriter::new(
            AtomicFile::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
    };
    let mut progress = Progress::stderr();
    let result = runner::run_scenario(
        load,
        stop,
        |r| match &mut sink {
            Sink::Stdout(w) => w.write(r),
            Sink::Atomic(w) => w.write(r),
            Sink::Plain(w) => w.write(r),
        },
        |done, total| progress.update(done, total),
    );
    progress.finish();
    let name = records.map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    let summary = result.with_context(|| format!("run {} ({name})", load.run_id))?;
    match sink {
        Sink::Stdout(_) => {}
        Sink::Plain(w) => {
            w.into_inner()
                .flush()
                .with_context(|| format!("writing {name}"))?;
        }
        Sink::Atomic(w) => {
            let file = w.into_inner();
            if summary.interrupted {
                // Keep what was recorded, under a name that says it is not a complete run.
                let mut partial = file.dest().as_os_str().to_owned();
                partial.push(".partial");
                let partial = file
                    .commit_as(partial)
                    .with_context(|| format!("keeping the records of {name}"))?;
                eprintln!(
                    "minitwit-load: interrupted; records so far kept in {}",
                    partial.display()
                );
            } else {
                file.commit().with_context(|| format!("writing {name}"))?;
            }
        }
    }
    eprintln!("minitwit-load: {}", report::describe(&summary));
    if records.is_some() {
        let mut out = io::stdout().lock();
        serde_json::to_writer(&mut out, &summary).context("writing the summary to stdout")?;
        writeln!(out)
            .and_then(|()| out.flush())
            .context("writing the summary to stdout")?;
    }
    Ok(exit_for(summary.ok, stop))
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
