//! `experiment`: runs the whole energy experiment unattended (see `experiment run --help`).

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use experiment::{
    Config, Load, LocalServer, Order, OwnedChild, Plan, ProvisionedServer, Scenario, Server,
};

/// Runs the CPython energy experiment unattended: a reproducible plan of (interpreter, run)
/// pairs, MiniTwit restarted only when the interpreter changes, discarded warm-up runs, an idle
/// baseline, every run recorded with otii-capture around the load and validated, failed runs
/// re-queued once. Run the same command again after a crash or Ctrl-C: it continues with the
/// runs not yet recorded ok, never duplicating one.
///
/// Exit status: 0 all runs ok, 1 failure (or runs that failed every attempt), 2 usage error,
/// 130 interrupted.
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
    /// Run (or resume) the experiment.
    Run(Box<RunArgs>),
    /// Print the headline of an energy-stats JSON report: one line per interpreter compared
    /// with the first, e.g. "PyPy 3.9 used 41 % [35, 47] less energy per scenario than
    /// CPython 3.11 — modelled".
    Headline {
        /// The report (`energy-stats report --format json`).
        report: PathBuf,
    },
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
    /// Directory of the workspace binaries (default: this binary's directory).
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,

    /// Local server: LABEL=VENV, an interpreter and its venv with MiniTwit's pins (repeat).
    #[arg(long = "interpreter", value_name = "LABEL=VENV")]
    interpreters: Vec<String>,
    /// Local server: an interpreter executable (repeat), e.g. python3.11 or pypy3. Its label
    /// (3.11, pypy3.9) is asked from it, and a venv with MiniTwit's pins is made in --venv-dir
    /// if missing.
    #[arg(long = "python", value_name = "EXE")]
    pythons: Vec<String>,
    /// Local server: where the per-interpreter venvs live.
    #[arg(long, default_value = ".venv-minitwit", value_name = "DIR")]
    venv_dir: PathBuf,
    /// Local server: the MiniTwit folder.
    #[arg(long, default_value = "minitwit", value_name = "DIR")]
    minitwit: PathBuf,
    /// Local server: the seed SQL /cleardb loads.
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = ctrlc::set_handler(experiment::interrupt) {
        eprintln!("experiment: cannot install the Ctrl-C handler: {e}");
        return ExitCode::from(1);
    }
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            if records::is_broken_pipe(e.as_ref()) {
                return ExitCode::SUCCESS;
            }
            eprintln!("experiment: error: {}", records::error_chain(e.as_ref()));
            if experiment::interrupted() {
                ExitCode::from(130)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Plan(a) => {
            let plan = Plan::new(&a.labels, a.order.runs, a.order.order, a.order.seed);
            println!("{}", serde_json::to_string_pretty(&plan)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run(a) => run(*a),
        Cmd::Headline { report } => {
            let text = std::fs::read_to_string(&report)
                .with_context(|| format!("reading {}", report.display()))?;
            let doc: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", report.display()))?;
            for line in experiment::headlines(&doc)
                .with_context(|| format!("{}: not an energy-stats report", report.display()))?
            {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_interpreter(s: &str) -> Result<(String, PathBuf)> {
    match s.split_once('=') {
        Some((l, v)) if !l.is_empty() && !v.is_empty() => Ok((l.to_owned(), PathBuf::from(v))),
        _ => bail!("--interpreter {s:?}: expected LABEL=VENV, e.g. 3.11=.venv-minitwit/3.11"),
    }
}

fn run(a: RunArgs) -> Result<ExitCode> {
    let bin_dir = match a.bin_dir.clone() {
        Some(d) => d,
        None => std::env::current_exe()?
            .parent()
            .context("binary has no directory")?
            .to_path_buf(),
    };
    let remote = a.server_url.is_some() || a.server_start.is_some() || a.server_stop.is_some();
    if remote && !(a.interpreters.is_empty() && a.pythons.is_empty()) {
        bail!("give either --python/--interpreter (local server) or --server-url/--server-start/--server-stop (remote), not both");
    }
    let work_dir = a.work_dir.clone().unwrap_or_else(|| a.out.join(".work"));
    let mut interpreters: Vec<(String, PathBuf)> = a
        .interpreters
        .iter()
        .map(|s| parse_interpreter(s))
        .collect::<Result<_>>()?;
    for py in &a.pythons {
        let label = experiment::interpreter_label(py)?;
        if interpreters.iter().any(|(l, _)| *l == label) {
            eprintln!("experiment: {py} is {label} again; skipped");
            continue;
        }
        let req = a.minitwit.join("requirements.txt");
        let venv = experiment::ensure_venv(py, &label, &a.venv_dir, &req)?;
        interpreters.push((label, venv));
    }
    let labels: Vec<String> = if remote {
        a.labels.clone()
    } else {
        interpreters.iter().map(|(l, _)| l.clone()).collect()
    };
    if labels.is_empty() {
        bail!("no interpreters: give --python EXE or --interpreter LABEL=VENV (local), or --labels (remote)");
    }
    if a.order.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let load = if a.triggers.is_empty() {
        Load::Local { users: a.users }
    } else {
        Load::Agents {
            triggers: a.triggers.clone(),
        }
    };
    let scenario = if a.scenario == "fixed" {
        Scenario::Fixed
    } else {
        Scenario::Paper
    };

    let pid_file = work_dir.join("gunicorn.pid");
    let mut server: Box<dyn Server> = if remote {
        let (Some(start), Some(stop), Some(url)) = (
            a.server_start.as_ref(),
            a.server_stop.as_ref(),
            a.server_url.as_ref(),
        ) else {
            bail!("a remote server needs all of --server-start, --server-stop and --server-url");
        };
        Box::new(ProvisionedServer::new(
            words(start),
            words(stop),
            url.clone(),
        )?)
    } else {
        Box::new(LocalServer::new(
            interpreters,
            a.minitwit.clone(),
            a.seed_sql.clone(),
            work_dir.clone(),
            a.port,
            Some(pid_file.clone()),
        )?)
    };

    // The embedded default meter: otii-sim following the gunicorn master's CPU use.
    let mut _sim: Option<OwnedChild> = None;
    let otii = match a.otii.clone() {
        Some(addr) => addr,
        None if remote => bail!("a remote server needs --otii ADDR (the Otii 3 TCP server)"),
        None => {
            let (child, addr) = start_sim(&bin_dir, &work_dir, &pid_file, a.rate)?;
            _sim = Some(child);
            addr
        }
    };

    let cfg = Config {
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
        bin_dir,
        otii,
        rate_hz: a.rate,
        retries: a.retries,
    };
    let result = experiment::run(&cfg, server.as_mut());
    let _ = server.stop();
    let outcome = result?;
    eprintln!(
        "experiment: done: {} runs planned, {} recorded now, {} recorded before, {} failed",
        outcome.planned,
        outcome.recorded,
        outcome.resumed,
        outcome.failed.len()
    );
    if outcome.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for (l, r, why) in &outcome.failed {
            eprintln!("experiment: {l} run {r} failed: {why}");
        }
        Ok(ExitCode::from(1))
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn start_sim(
    bin_dir: &std::path::Path,
    work_dir: &std::path::Path,
    pid_file: &std::path::Path,
    rate: u32,
) -> Result<(OwnedChild, String)> {
    std::fs::create_dir_all(work_dir)?;
    let port_file = work_dir.join("otii-sim.port");
    let _ = std::fs::remove_file(&port_file);
    let log_path = work_dir.join("otii-sim.log");
    let log = std::fs::File::create(&log_path)?;
    let mut cmd = Command::new(bin_dir.join("otii-sim"));
    // Port 0: the simulator binds a free port and writes it to --port-file (no race).
    cmd.args(["--listen", "127.0.0.1:0", "--port-file"])
        .arg(&port_file)
        .args(["--model", "cpu", "--pid-file"])
        .arg(pid_file)
        .arg("--rate")
        .arg(rate.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let mut child = OwnedChild::spawn("otii-sim", cmd).context("starting otii-sim")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let port: u16 = loop {
        if let Some(p) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break p;
        }
        if let Some(st) = child.exited() {
            bail!("otii-sim exited ({st}); see {}", log_path.display());
        }
        if Instant::now() > deadline {
            bail!(
                "otii-sim did not start within 20 s; see {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("otii-sim does not answer on {addr}"))?;
    eprintln!("experiment: otii-sim (cpu power model: modelled, not measured) on {addr}");
    Ok((child, addr.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
