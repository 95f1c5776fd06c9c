//! The command line of `experiment` (clap), validated into an [`experiment::Task`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use experiment::{
    Config, ListFormat, ListSetup, Load, LocalSetup, Order, ProbeKind, Rerun, RunSetup, Scenario,
    ServerSetup, Target, Task,
};

/// Runs the CPython energy experiment unattended: a reproducible plan of (interpreter, run)
/// pairs, MiniTwit restarted only when the interpreter changes, discarded warm-up runs, an idle
/// baseline, every run recorded with otii-capture around the load and validated, failed runs
/// re-queued once. Run the same command again after a crash or Ctrl-C: it continues with the
/// runs not yet recorded ok, never duplicating one. With --target-ci, runs are added until the
/// intervals are that narrow, by a rule decided once after the first stage.
///
/// The meter, the server or the network going away is not a run's failure: the experiment
/// waits (--patience), restarts what it owns and repeats the run. Past its patience it stops
/// with a paragraph saying what was away and the command that continues.
///
/// Per-version reruns: --only LABEL records one interpreter's missing runs; --only LABEL --redo
/// records it again in a new session (its old folder moves to OUT/archive/, kept); --add LABEL
/// adds an interpreter in a new session, interleaved with runs of a reference already measured,
/// whose drift between the sessions energy-stats reports. The plan file keeps every session
/// (date, interpreters, runs, order, seed, tool versions).
///
/// Exit status: 0 all runs ok, 1 failure (runs that failed every attempt, or something away
/// past --patience), 2 usage error, 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "experiment", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Print the run plan (JSON) for the given interpreters and order, without running it.
    Plan(PlanArgs),
    /// List the local interpreters: every CPython and PyPy on PATH (python3.X, pypy3), under
    /// pyenv's root (versions/*/bin) and from `uv python list --only-installed`, with their
    /// labels; the ones skipped (too old for MiniTwit's pins, shims, duplicates) with why.
    ///
    /// Labels: one build per version gets the plain label (3.11, pypy3.9); other builds of that
    /// version are named by where they live (3.11-debian, 3.11-uv), a second from the same place
    /// by full version (3.11.7-pyenv).
    Interpreters(ListArgs),
    /// Run (or resume) the experiment.
    Run(Box<RunArgs>),
    /// The morning summary of a plan: the runs recorded, the infrastructure faults met (when,
    /// how long, the cause), the runs repeated because of them and the time lost.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// The plan file of the experiment (its summary is `<plan>.summary.json` beside it).
    plan: PathBuf,
    /// The output directory (default: the one the summary names, else the plan's folder).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the summary as JSON (the summary file's format) instead of text.
    #[arg(long, conflicts_with = "labels")]
    json: bool,
    /// Print only the experiment's interpreters, one label per line (what the Makefile's
    /// per-version targets and reruns measure when INTERPRETERS is not given).
    #[arg(long)]
    labels: bool,
}

/// What makes a plan besides the interpreters: shared by `plan` and `run`.
#[derive(Debug, Args)]
struct OrderArgs {
    /// Measured runs per interpreter.
    #[arg(long, default_value_t = 10)]
    runs: u32,
    /// Run order: blocked (the study's), interleaved (round-robin) or shuffled (seeded).
    #[arg(long, default_value = "shuffled")]
    order: Order,
    /// Seed of the shuffled order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// Interpreter labels, comma-separated (e.g. 3.8,3.9,3.10).
    #[arg(long, value_delimiter = ',', required = true)]
    labels: Vec<String>,
    #[command(flatten)]
    order: OrderArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// An interpreter to choose (repeat): a path, a label this command shows, or a command on
    /// PATH. Without any, every interpreter found is chosen.
    #[arg(long = "python", value_name = "EXE|LABEL")]
    pythons: Vec<String>,
    /// Choose only the short demo's two: the oldest and the newest CPython of the choice.
    #[arg(long)]
    quick: bool,
    /// Output on stdout: table, json (JSON Lines, one line per interpreter or skipped
    /// candidate) or labels (the chosen labels, one per line).
    #[arg(long, default_value = "table", value_parser = ["table", "json", "labels"])]
    format: String,
    /// Also make each chosen interpreter's venv with MiniTwit's pins (as `run` does).
    #[arg(long)]
    install: bool,
    /// With --install: where the per-interpreter venvs live.
    #[arg(long, default_value = ".venv-minitwit", value_name = "DIR")]
    venv_dir: PathBuf,
    /// With --install: the MiniTwit folder (its requirements.txt).
    #[arg(long, default_value = "minitwit", value_name = "DIR")]
    minitwit: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Plan file: written before the first run, read when resuming.
    #[arg(long, value_name = "FILE")]
    plan: PathBuf,
    /// Output directory: one folder per interpreter (minitwit312/ …) with runs.jsonl, traces
    /// and request logs.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    order: OrderArgs,
    /// Discarded warm-up runs after every server start.
    #[arg(long, default_value_t = 1)]
    warmup: u32,
    /// Seconds to pause after every recorded run.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    cooldown: f64,
    /// Seconds of idle-baseline recording after every server start (0: none).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    baseline: f64,
    /// Scenario: paper (what the study sent) or fixed (what it meant).
    #[arg(long, default_value = "paper", value_parser = ["paper", "fixed"])]
    scenario: String,
    /// Concurrent virtual users of `minitwit-load run` (when no --trigger is given).
    #[arg(long, default_value_t = 3)]
    users: u32,
    /// Each local user runs the scenario N times in a row per run (`minitwit-load run
    /// --repeat`): a longer run of the same requests. 1 is the study's run; the validity check
    /// then expects N × the study's request counts.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Each local user runs the scenario N times in a warm-up run (default: --repeat, a
    /// warm-up as long as a run). One pass already sends every request of the scenario once;
    /// a shorter warm-up leaves more time for runs (the demo's choice, docs/method.md).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    warmup_repeat: Option<u32>,
    /// How the local server (gunicorn and its workers) and the local load are scheduled:
    /// `default`, the ordinary scheduler, as the study ran them; or `realtime`, SCHED_FIFO
    /// priority 10 through `chrt`, so other programs on this machine do not interrupt them
    /// (needs root or CAP_SYS_NICE; the demo's choice, docs/method.md). Not for a remote
    /// server or client agents, which run on machines of their own.
    #[arg(long, default_value = "default", value_name = "POLICY", value_parser = ["default", "realtime"])]
    priority: String,
    /// How the machine's speed is timed beside every run of a local server (the run record's
    /// `speed_probe`, for `energy-stats --speed-adjust`; docs/method.md, "The machine's
    /// speed"): `python`, a dict of 20,000 ints filled and summed by --probe-python every
    /// 20 ms, the kind of work the server does (it followed a shared machine's slowdowns best);
    /// `builtin`, the same in Rust on a thread of this tool (no Python needed); `off`. It only
    /// measures: no energy changes unless the analysis asks. Not for a remote server.
    #[arg(long, default_value = "python", value_name = "WORKLOAD", value_parser = ["python", "builtin", "off"])]
    speed_probe: String,
    /// The interpreter that runs `--speed-probe python`, one for the whole experiment (each
    /// run record names it); a path or a name on PATH.
    #[arg(long, default_value = "python3", value_name = "PYTHON")]
    probe_python: PathBuf,
    /// Trigger URL of a client agent (repeat per client); the load then comes from the agents.
    #[arg(long = "trigger", value_name = "URL")]
    triggers: Vec<String>,
    /// Extra argument for `minitwit-load run` (repeatable), e.g. to shorten the scenario in
    /// tests. With any, runs are checked for errors only, not for the study's request counts.
    #[arg(long = "load-arg", value_name = "ARG", allow_hyphen_values = true)]
    load_args: Vec<String>,
    /// Otii 3 TCP server address. Without it, a local otii-sim with the `cpu` power model is
    /// started, following the gunicorn master (power modelled, not measured).
    #[arg(long, value_name = "ADDR")]
    otii: Option<String>,
    /// Sample rate of the power channels (Hz).
    #[arg(long, default_value_t = 10_000)]
    rate: u32,
    /// How often a failed run is re-queued.
    #[arg(long, default_value_t = 1)]
    retries: u32,
    /// How long to wait for the meter or the server when it is away (an infrastructure fault:
    /// the run is repeated, never counted as failed), from when it went away: SECONDS, or with
    /// a unit: 90s, 30m, 2h. Past it the experiment stops (exit 1) and says how to continue.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    patience: String,
    /// The longest wait between two tries while waiting (SECONDS or 30s, 1m); the waits
    /// double from 1 s up to it.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    max_backoff: String,
    /// Run until every pair's interval of the % difference of mean energy (the report's, at
    /// its level) is at most ±PCT percentage points: --runs (at least 3) is a first stage, from
    /// whose spread Stein's two-stage rule decides once how many runs per interpreter are
    /// needed, then adds those rounds in the plan's order. Never decided by watching the
    /// interval, so the report's intervals keep their level (docs/method.md).
    #[arg(long, value_name = "PCT")]
    target_ci: Option<f64>,
    /// With --target-ci: runs per interpreter at most, first stage included.
    #[arg(long, value_name = "N", default_value_t = 30, requires = "target_ci")]
    max_runs: u32,
    /// Directory of the workspace binaries (default: this binary's directory).
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,

    /// Record only this interpreter's missing runs now (repeat, or comma-separated); the rest
    /// of the plan waits for a later run. The interpreters given must still be the
    /// experiment's (`make OUT/minitwit312` runs this).
    #[arg(long, value_name = "LABEL", value_delimiter = ',')]
    only: Vec<String>,
    /// With --only: record those interpreters again, in a new session, as many runs as their
    /// sets had; their current folders and plan entries move to OUT/archive/<folder>-<session>/
    /// (kept, never deleted, not analysed by default).
    #[arg(long)]
    redo: bool,
    /// Add this interpreter to a finished experiment (repeat, or comma-separated), in a new
    /// session interleaved with runs of a reference already in it; give the experiment's
    /// interpreters and the new one. The report's drift section compares the reference's
    /// sessions.
    #[arg(long, value_name = "LABEL", value_delimiter = ',')]
    add: Vec<String>,
    /// With --add: the reference run again in the new session (default: the newest CPython of
    /// the experiment, e.g. 3.12).
    #[arg(long, value_name = "LABEL")]
    reference: Option<String>,
    /// With --add: runs of the reference (default: as many as each added interpreter gets,
    /// the experiment's runs per interpreter; fewer widen the drift interval).
    #[arg(long, value_name = "N")]
    ref_runs: Option<u32>,

    /// Local server: LABEL=VENV, an interpreter and its venv with MiniTwit's pins (repeat).
    #[arg(long = "interpreter", value_name = "LABEL=VENV")]
    interpreters: Vec<String>,
    /// Local server: an interpreter (repeat): a path, a command on PATH (python3.11, pypy3) or
    /// a label `experiment interpreters` shows (3.8, 3.11-debian, pypy3.9). Its label is the
    /// one that command shows, and a venv with MiniTwit's pins is made in --venv-dir if missing.
    #[arg(long = "python", value_name = "EXE|LABEL")]
    pythons: Vec<String>,
    /// Local server: where the per-interpreter venvs live.
    #[arg(long, default_value = ".venv-minitwit", value_name = "DIR")]
    venv_dir: PathBuf,
    /// Local server: the MiniTwit folder.
    #[arg(long, default_value = "minitwit", value_name = "DIR")]
    minitwit: PathBuf,
    /// Local server: the seed SQL /cleardb loads; the local load follows its first 20 users
    /// (`minitwit-load run --seed-sql`), so any seed works, the study's dump.sql included.
    #[arg(long, default_value = "data/minitwit/seed.sql", value_name = "FILE")]
    seed_sql: PathBuf,
    /// Local server: where databases, logs and PID files go.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Local server: port (0: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Remote server: interpreter labels to measure, comma-separated.
    #[arg(long, value_delimiter = ',')]
    labels: Vec<String>,
    /// Remote server: command that starts MiniTwit under {label} (a shell-free argv, words
    /// separated by spaces), e.g. "pi-provision --inventory testbed.toml server start --python {label}".
    #[arg(long, value_name = "CMD")]
    server_start: Option<String>,
    /// Remote server: command that stops it.
    #[arg(long, value_name = "CMD")]
    server_stop: Option<String>,
    /// Remote server: MiniTwit's base URL as seen from here.
    #[arg(long, value_name = "URL")]
    server_url: Option<String>,
}

impl TryFrom<Cli> for Task {
    type Error = anyhow::Error;

    fn try_from(cli: Cli) -> Result<Task> {
        Ok(match cli.command {
            Cmd::Plan(a) => Task::Plan {
                labels: a.labels,
                runs: a.order.runs,
                order: a.order.order,
                seed: a.order.seed,
            },
            Cmd::Interpreters(a) => Task::Interpreters(ListSetup {
                wanted: a.pythons,
                quick: a.quick,
                format: match a.format.as_str() {
                    "json" => ListFormat::Json,
                    "labels" => ListFormat::Labels,
                    _ => ListFormat::Table,
                },
                install: a.install.then_some((a.venv_dir, a.minitwit)),
            }),
            Cmd::Run(a) => Task::Run(Box::new(run_setup(*a)?)),
            Cmd::Status(a) => Task::Status {
                plan: a.plan,
                out: a.out,
                json: a.json,
                labels: a.labels,
            },
        })
    }
}

fn parse_interpreter(s: &str) -> Result<(String, PathBuf)> {
    match s.split_once('=') {
        Some((l, v)) if !l.is_empty() && !v.is_empty() => Ok((l.to_owned(), PathBuf::from(v))),
        _ => bail!("--interpreter {s:?}: expected LABEL=VENV, e.g. 3.11=.venv-minitwit/3.11"),
    }
}

/// `90`, `90s`, `30m`, `2h` → a duration; anything else is a usage error naming `flag`.
fn duration(flag: &str, s: &str) -> Result<Duration> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v >= 0.0 && scale.is_finite() && (v * scale).is_finite() => {
            Ok(Duration::from_secs_f64(v * scale))
        }
        _ => bail!("{flag} {s:?}: give a duration such as 90, 90s, 30m or 2h"),
    }
}

/// This invocation's command line, quoted for a shell: what continues the experiment.
fn this_command() -> String {
    std::env::args()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn run_setup(a: RunArgs) -> Result<RunSetup> {
    let bin_dir = match a.bin_dir {
        Some(d) => d,
        None => match std::env::current_exe()?.parent() {
            Some(d) => d.to_path_buf(),
            None => bail!("the experiment binary has no directory: give --bin-dir"),
        },
    };
    let remote = a.server_url.is_some() || a.server_start.is_some() || a.server_stop.is_some();
    if remote && !(a.interpreters.is_empty() && a.pythons.is_empty()) {
        bail!("give either --python/--interpreter (local server) or --server-url/--server-start/--server-stop (remote), not both");
    }
    if a.order.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let target = match a.target_ci {
        None => None,
        Some(pct) => {
            if !(pct.is_finite() && pct > 0.0) {
                bail!("--target-ci {pct}: give a half-width above 0 (in %), e.g. 1.0");
            }
            if a.order.runs < 3 {
                bail!(
                    "--target-ci needs a first stage of at least 3 runs per interpreter: give --runs 3 or more"
                );
            }
            if a.max_runs < a.order.runs {
                bail!(
                    "--max-runs {} is below --runs {}: the cap counts the first stage too",
                    a.max_runs,
                    a.order.runs
                );
            }
            Some(Target {
                ci_pct: pct,
                max_runs: a.max_runs,
            })
        }
    };
    if a.redo && a.only.is_empty() {
        bail!("--redo needs --only LABEL: the interpreter(s) to record again");
    }
    if !a.add.is_empty() && !a.only.is_empty() {
        bail!("give --add or --only, not both: an added interpreter opens a session of its own");
    }
    if (a.reference.is_some() || a.ref_runs.is_some()) && a.add.is_empty() {
        bail!("--reference and --ref-runs go with --add");
    }
    let rerun = Rerun {
        only: a.only,
        redo: a.redo,
        add: a.add,
        reference: a.reference,
        ref_runs: a.ref_runs,
    };
    let (server, labels) = if remote {
        let (Some(start), Some(stop), Some(url)) = (a.server_start, a.server_stop, a.server_url)
        else {
            bail!("a remote server needs all of --server-start, --server-stop and --server-url");
        };
        if a.labels.is_empty() {
            bail!("no interpreters: give --labels with a remote server");
        }
        if a.otii.is_none() {
            bail!("a remote server needs --otii ADDR (the Otii 3 TCP server)");
        }
        let (start, stop) = (words(&start), words(&stop));
        if start.is_empty() || stop.is_empty() {
            bail!("--server-start and --server-stop must not be empty");
        }
        (ServerSetup::Remote { start, stop, url }, a.labels)
    } else {
        if a.interpreters.is_empty() && a.pythons.is_empty() {
            bail!("no interpreters: give --python EXE or --interpreter LABEL=VENV (local), or --labels (remote)");
        }
        let interpreters = a
            .interpreters
            .iter()
            .map(|s| parse_interpreter(s))
            .collect::<Result<_>>()?;
        let work_dir = a.work_dir.unwrap_or_else(|| a.out.join(".work"));
        let local = LocalSetup {
            interpreters,
            pythons: a.pythons,
            venv_dir: a.venv_dir,
            minitwit: a.minitwit,
            seed_sql: a.seed_sql,
            work_dir,
            port: a.port,
        };
        (ServerSetup::Local(local), Vec::new())
    };
    // The load follows the users of the seed the local server is loaded with (issue: the
    // scenario runs on any seed, the study's dump.sql included). A remote server's seed is the
    // Pi's; the load there keeps minitwit-load's default.
    let load_seed_sql = match &server {
        ServerSetup::Local(local) => Some(local.seed_sql.clone()),
        ServerSetup::Remote { .. } => None,
    };
    let priority: procs::Priority = a.priority.parse().map_err(anyhow::Error::msg)?;
    if priority != procs::Priority::Default {
        if remote || !a.triggers.is_empty() {
            bail!("--priority {priority} schedules the local server and load; a remote server or client agents run on machines of their own");
        }
        priority.check().map_err(anyhow::Error::msg)?;
    }
    let speed_probe = match a.speed_probe.as_str() {
        _ if remote => ProbeKind::Off,
        "python" => ProbeKind::python(&a.probe_python).map_err(|why| {
            anyhow::anyhow!(
                "--probe-python {}: {why} (name another with --probe-python, or use --speed-probe builtin or off)",
                a.probe_python.display()
            )
        })?,
        "builtin" => ProbeKind::Builtin,
        _ => ProbeKind::Off,
    };
    if a.repeat > 1 && !a.triggers.is_empty() {
        bail!("--repeat {} is for the local load; client agents run the scenario as they were started", a.repeat);
    }
    if let Some(n) = a.warmup_repeat.filter(|_| !a.triggers.is_empty()) {
        bail!("--warmup-repeat {n} is for the local load; client agents run the scenario as they were started");
    }
    let load = if a.triggers.is_empty() {
        Load::Local { users: a.users }
    } else {
        Load::Agents {
            triggers: a.triggers,
        }
    };
    let scenario = if a.scenario == "fixed" {
        Scenario::Fixed
    } else {
        Scenario::Paper
    };
    let config = Config {
        plan: a.plan,
        out: a.out,
        labels,
        runs: a.order.runs,
        order: a.order.order,
        seed: a.order.seed,
        warmup: a.warmup,
        cooldown: Duration::from_secs_f64(a.cooldown.max(0.0)),
        baseline: Duration::from_secs_f64(a.baseline.max(0.0)),
        load,
        scenario,
        load_args: a.load_args,
        repeat: a.repeat,
        warmup_repeat: a.warmup_repeat.unwrap_or(a.repeat),
        priority,
        speed_probe,
        load_seed_sql,
        bin_dir,
        otii: a.otii,
        rate_hz: a.rate,
        retries: a.retries,
        patience: duration("--patience", &a.patience)?,
        max_backoff: duration("--max-backoff", &a.max_backoff)?.max(Duration::from_millis(100)),
        resume_command: Some(this_command()),
        target,
        rerun,
    };
    Ok(RunSetup { config, server })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(
            duration("--patience", "90").ok(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            duration("--patience", "30m").ok(),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            duration("--patience", "2h").ok(),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(
            duration("--patience", "0.5s").ok(),
            Some(Duration::from_millis(500))
        );
        assert!(duration("--patience", "soon").is_err());
        assert!(duration("--patience", "-3").is_err());
        assert!(duration("--patience", "3d").is_err());
    }
}
