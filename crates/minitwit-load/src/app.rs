//! The commands behind the command line: a validated [`Config`] per subcommand, and [`run`],
//! which carries one out and says which documented exit it earned.

use std::io::{self, BufWriter, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use procs::{Exit, Interrupt, Unavailable};
use records::{AtomicFile, JsonLinesWriter, LoadLine};

use crate::agent::{self, AgentConfig};
use crate::control;
use crate::http::Timeouts;
use crate::report::{self, Progress};
use crate::runner::{self, FollowFrom, LoadConfig};
use crate::scenario::{Mode, STUDY_CYCLES};
use crate::seed;
use crate::url::HttpUrl;

/// A validated command.
#[derive(Debug)]
pub enum Config {
    /// `run`: the scenario now, from this machine.
    Run {
        /// The scenario, its users and run id.
        load: LoadConfig,
        /// Where the request records go; `None` is stdout.
        records: Option<PathBuf>,
    },
    /// `agent`: serve `GET /trigger` until interrupted.
    Agent {
        /// The address to listen on.
        listen: SocketAddr,
        /// The scenario each trigger runs, and the log file.
        agent: AgentConfig,
    },
    /// `trigger`: start the agents at once and time the scenario.
    Trigger {
        /// The agents' trigger URLs.
        urls: Vec<HttpUrl>,
        /// The run id handed to every agent.
        run_id: Option<String>,
        /// Connect timeout, and how long to wait for each agent's answer.
        timeouts: Timeouts,
    },
    /// `reset`: `GET /cleardb`.
    Reset {
        /// MiniTwit's base URL.
        server: HttpUrl,
        /// Connect and request timeouts.
        timeouts: Timeouts,
    },
    /// `seed`: the seed SQL on stdout.
    Seed {
        /// Random seed of the data.
        seed: u64,
    },
}

/// The scenario options `run` and `agent` share, as given on the command line.
#[derive(Debug, Clone)]
pub struct ScenarioOptions {
    /// MiniTwit's base URL (`--server`).
    pub server: String,
    /// The MiniTwit user to run as (`--user`; default: this machine's host name).
    pub user: Option<String>,
    /// Paper or fixed "private timeline" requests (`--scenario`).
    pub mode: Mode,
    /// Cycles of step 5 (`--cycles`).
    pub cycles: u32,
    /// Seed of MiniTwit's generated seed data (`--seed`); ignored with `seed_sql`.
    pub seed: u64,
    /// The seed SQL file MiniTwit was loaded with (`--seed-sql`): the users to follow are its
    /// first 20 by `user_id`. Without it, the generated seed of `seed`.
    pub seed_sql: Option<PathBuf>,
    /// Seconds allowed to open a TCP connection (`--connect-timeout`).
    pub connect_timeout_s: f64,
    /// Seconds allowed for one request's complete answer (`--timeout`).
    pub timeout_s: f64,
}

/// A timeout given in seconds on the command line: positive and finite. `flag` names the
/// option in the error.
pub fn seconds(flag: &str, v: f64) -> anyhow::Result<Duration> {
    if !(v.is_finite() && v > 0.0 && v < 1e7) {
        bail!("{flag} must be a positive number of seconds, got {v}");
    }
    Ok(Duration::from_secs_f64(v))
}

/// `--connect-timeout` and `--timeout`, validated.
pub fn timeouts(connect_s: f64, request_s: f64) -> anyhow::Result<Timeouts> {
    Ok(Timeouts {
        connect: seconds("--connect-timeout", connect_s)?,
        request: seconds("--timeout", request_s)?,
    })
}

/// The scenario run by `users` concurrent users (named `NAME-1` … `NAME-N` when more than one),
/// tagged `run_id` (default: `<host>-<unix time>`).
pub fn load_config(
    s: &ScenarioOptions,
    users: u32,
    run_id: Option<String>,
) -> anyhow::Result<LoadConfig> {
    load_config_repeated(s, users, 1, run_id)
}

/// [`load_config`] with every user running the whole scenario `repeat` times in a row
/// (`run --repeat`): as `NAME`, then `NAME-r2` … `NAME-rN`.
pub fn load_config_repeated(
    s: &ScenarioOptions,
    users: u32,
    repeat: u32,
    run_id: Option<String>,
) -> anyhow::Result<LoadConfig> {
    if !(1..=1000).contains(&repeat) {
        bail!("--repeat must be 1 to 1000, got {repeat}");
    }
    let server = HttpUrl::parse(&s.server, false).context("--server")?;
    if s.cycles > STUDY_CYCLES {
        bail!("--cycles must be 0 to {STUDY_CYCLES} (the study has {STUDY_CYCLES}; there are 20 users to follow)");
    }
    if !(1..=1000).contains(&users) {
        bail!("--users must be 1 to 1000, got {users}");
    }
    let client = crate::host_name();
    let name = s.user.clone().unwrap_or_else(|| client.clone());
    if name.trim().is_empty() || name.contains('/') {
        bail!("--user {name:?}: a MiniTwit user name must be non-empty and contain no '/'");
    }
    let users = if users == 1 {
        vec![name]
    } else {
        (1..=users).map(|i| format!("{name}-{i}")).collect()
    };
    let run_id = run_id.unwrap_or_else(|| crate::default_run_id(&client, None));
    let follow_from = match &s.seed_sql {
        Some(path) => FollowFrom::SeedSql(path.clone()),
        None => FollowFrom::Generated(s.seed),
    };
    let follow = follow_from.users()?;
    Ok(LoadConfig {
        server,
        users,
        mode: s.mode,
        cycles: s.cycles,
        repeat,
        follow,
        follow_from,
        timeouts: timeouts(s.connect_timeout_s, s.timeout_s)?,
        run_id,
        client,
    })
}

/// `--listen ADDRESS:PORT`.
pub fn listen_address(text: &str) -> anyhow::Result<SocketAddr> {
    text.parse()
        .with_context(|| format!("--listen {text:?}: expected ADDRESS:PORT, e.g. 0.0.0.0:5001"))
}

/// Carries out one command. Data goes to stdout, what people read to stderr; `interrupt` is
/// polled between requests and answers, and makes the exit 130.
pub fn run(config: Config, interrupt: &Interrupt) -> anyhow::Result<Exit> {
    let stop = interrupt.flag();
    match config {
        Config::Seed { seed } => {
            let data = seed::generate(seed);
            let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            seed::write_sql(&data, &mut out).context("writing the seed SQL to stdout")?;
            out.flush().context("writing the seed SQL to stdout")?;
            Ok(Exit::Success)
        }
        Config::Run { load, records } => run_load(&load, records.as_deref(), interrupt),
        Config::Reset { server, timeouts } => {
            let chain = control::reset(&server, timeouts, stop).map_err(|e| match &e {
                control::ResetError::Http { source, .. } if source.is_unreachable() => {
                    anyhow::Error::new(Unavailable::new(e))
                }
                _ => anyhow::Error::new(e),
            })?;
            let hops: Vec<String> = chain.iter().map(u16::to_string).collect();
            eprintln!(
                "minitwit-load: {server}: database reset (GET /cleardb: {})",
                hops.join(" → ")
            );
            Ok(Exit::Success)
        }
        Config::Trigger {
            urls,
            run_id,
            timeouts,
        } => {
            let line = control::trigger(&urls, run_id.as_deref(), timeouts, stop);
            for a in line.agents.iter().filter(|a| !a.ok) {
                eprintln!(
                    "minitwit-load: {}: {}",
                    a.url,
                    a.error.as_deref().unwrap_or("failed")
                );
            }
            eprintln!(
                "minitwit-load: {} client(s), scenario took {:.3} s, {} requests, {} errors",
                line.clients, line.duration_s, line.requests, line.errors
            );
            print_load_line(&line)?;
            if let Some(cause) = away(&line) {
                return Err(Unavailable::new(cause).into());
            }
            Ok(Exit::from_ok(line.ok, interrupt))
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
            Ok(Exit::Interrupted)
        }
    }
}

/// The load line on stdout, the last thing a load command prints.
fn print_load_line(line: &LoadLine) -> anyhow::Result<()> {
    JsonLinesWriter::new(io::stdout().lock())
        .write(line)
        .context("writing the load line to stdout")
}

/// Where `run` writes its records.
enum Sink {
    Stdout(JsonLinesWriter<io::Stdout>),
    /// A file, written atomically (a device or pipe such as /dev/null: in place, by
    /// `AtomicFile` itself).
    Atomic(JsonLinesWriter<AtomicFile>),
}

/// `run`: the request records to stdout, or to `records` with the load line on stdout.
fn run_load(
    load: &LoadConfig,
    records: Option<&Path>,
    interrupt: &Interrupt,
) -> anyhow::Result<Exit> {
    let mut sink = match records {
        None => Sink::Stdout(JsonLinesWriter::new(io::stdout())),
        Some(p) => Sink::Atomic(JsonLinesWriter::new(
            AtomicFile::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
    };
    let mut progress = Progress::stderr();
    let result = runner::run_scenario(
        load,
        interrupt.flag(),
        |r| match &mut sink {
            Sink::Stdout(w) => w.write(r),
            Sink::Atomic(w) => w.write(r),
        },
        |done, total| progress.update(done, total),
    );
    progress.finish();
    let name = records.map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    let line = result.with_context(|| format!("run {} ({name})", load.run_id))?;
    match sink {
        Sink::Stdout(_) => {}
        Sink::Atomic(w) => {
            let file = w.into_inner();
            if line.interrupted {
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
    eprintln!("minitwit-load: {}", report::describe(&line));
    if records.is_some() {
        print_load_line(&line)?;
    }
    if let Some(cause) = away(&line) {
        return Err(Unavailable::new(cause).into());
    }
    Ok(Exit::from_ok(line.ok, interrupt))
}

/// The cause, cause first, when a failed load never reached its server: not one HTTP answer
/// (refused, reset, unresolved, silent), so nothing was run. An infrastructure fault (exit
/// 75: retry), not a failed scenario. For `trigger`, an agent that did not answer, or whose
/// own load never reached the server.
fn away(line: &LoadLine) -> Option<String> {
    if line.ok || line.interrupted {
        return None;
    }
    if line.agents.is_empty() {
        if !line.by_status.is_empty() {
            return None;
        }
        let server = line.server.as_deref().unwrap_or("the server");
        let cause = line.users.iter().find_map(|u| u.error.as_deref());
        return Some(format!(
            "server {server} unreachable: {}",
            cause.unwrap_or("no HTTP answer")
        ));
    }
    line.agents
        .iter()
        .filter(|a| !a.ok)
        .find_map(|a| match (a.status, &a.summary) {
            (None, _) => Some(format!(
                "agent {} unreachable: {}",
                a.url,
                a.error.as_deref().unwrap_or("no answer")
            )),
            (Some(_), Some(own)) => away(own).map(|c| format!("agent {}: {c}", a.url)),
            (Some(_), None) => None,
        })
}
