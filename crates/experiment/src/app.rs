//! What the `experiment` command does, from a validated [`Task`]: print a plan, or run the
//! experiment (interpreter venvs, the server, the meter, then [`crate::run`]).

use std::path::PathBuf;

use anyhow::Result;
use procs::{Exit, Interrupt, OwnedChild};

use crate::runner::{run, Config};
use crate::server::{LocalServer, ProvisionedServer, Server};
use crate::sim::start_sim;
use crate::venv::{ensure_venv, interpreter_label};
use crate::{Order, Plan};

/// One validated invocation.
#[derive(Debug)]
pub enum Task {
    /// Print the run plan as JSON.
    Plan {
        /// Interpreter labels.
        labels: Vec<String>,
        /// Measured runs per interpreter.
        runs: u32,
        /// Run order.
        order: Order,
        /// Seed of the shuffled order.
        seed: u64,
    },
    /// Run or resume the experiment.
    Run(Box<RunSetup>),
}

/// An experiment to run: the runner's configuration and where MiniTwit runs.
#[derive(Debug)]
pub struct RunSetup {
    /// The runner's configuration; a local server adds its interpreters' labels, and a local
    /// `otii-sim` its address when `otii` is `None`.
    pub config: Config,
    /// Where MiniTwit runs.
    pub server: ServerSetup,
}

/// Where MiniTwit runs.
#[derive(Debug)]
pub enum ServerSetup {
    /// On this machine, under gunicorn, one venv per interpreter.
    Local(LocalSetup),
    /// On the testbed's server, started and stopped by commands.
    Remote {
        /// Command that starts MiniTwit under `{label}`.
        start: Vec<String>,
        /// Command that stops it.
        stop: Vec<String>,
        /// MiniTwit's base URL as seen from here.
        url: String,
    },
}

/// A local server's interpreters and files.
#[derive(Debug)]
pub struct LocalSetup {
    /// Interpreters given with their venvs: label → venv.
    pub interpreters: Vec<(String, PathBuf)>,
    /// Interpreter executables whose label is asked from them and whose venv is made if missing.
    pub pythons: Vec<String>,
    /// Where the per-interpreter venvs live.
    pub venv_dir: PathBuf,
    /// The MiniTwit folder.
    pub minitwit: PathBuf,
    /// The seed SQL `/cleardb` loads.
    pub seed_sql: PathBuf,
    /// Where databases, logs and PID files go.
    pub work_dir: PathBuf,
    /// Port (0: a free one).
    pub port: u16,
}

/// Does `task`; the exit says whether every planned run was recorded.
pub fn execute(task: Task, interrupt: &Interrupt) -> Result<Exit> {
    match task {
        Task::Plan {
            labels,
            runs,
            order,
            seed,
        } => {
            let plan = Plan::new(&labels, runs, order, seed);
            println!("{}", serde_json::to_string_pretty(&plan)?);
            Ok(Exit::Success)
        }
        Task::Run(setup) => run_experiment(*setup, interrupt),
    }
}

fn run_experiment(setup: RunSetup, interrupt: &Interrupt) -> Result<Exit> {
    let RunSetup { mut config, server } = setup;
    // Declared before the server, so the meter outlives MiniTwit and is stopped last.
    let mut _sim: Option<OwnedChild> = None;
    let mut server: Box<dyn Server> = match server {
        ServerSetup::Remote { start, stop, url } => {
            Box::new(ProvisionedServer::new(start, stop, url)?)
        }
        ServerSetup::Local(local) => {
            let interpreters = local_interpreters(&local)?;
            config
                .labels
                .extend(interpreters.iter().map(|(l, _)| l.clone()));
            if config.labels.is_empty() {
                return Err(procs::UsageError(
                    "no interpreters: give --python EXE or --interpreter LABEL=VENV".into(),
                )
                .into());
            }
            let pid_file = local.work_dir.join("gunicorn.pid");
            let server = LocalServer::new(
                interpreters,
                local.minitwit,
                local.seed_sql,
                local.work_dir.clone(),
                local.port,
                Some(pid_file.clone()),
                interrupt,
            )?;
            if config.otii.is_none() {
                let (child, addr) = start_sim(
                    &config.bin_dir,
                    &local.work_dir,
                    &pid_file,
                    config.rate_hz,
                    interrupt,
                )?;
                _sim = Some(child);
                config.otii = Some(addr);
            }
            Box::new(server)
        }
    };
    let result = run(&config, server.as_mut(), interrupt);
    let _ = server.stop();
    let outcome = result?;
    eprintln!(
        "experiment: done: {} runs planned, {} recorded now, {} recorded before, {} failed",
        outcome.planned,
        outcome.recorded,
        outcome.resumed,
        outcome.failed.len()
    );
    for (l, r, why) in &outcome.failed {
        eprintln!("experiment: {l} run {r} failed: {why}");
    }
    Ok(Exit::from_ok(outcome.failed.is_empty(), interrupt))
}

/// The interpreters given with a venv, then those given as executables (their venv made if
/// missing), each label once.
fn local_interpreters(local: &LocalSetup) -> Result<Vec<(String, PathBuf)>> {
    let mut interpreters = local.interpreters.clone();
    for py in &local.pythons {
        let label = interpreter_label(py)?;
        if interpreters.iter().any(|(l, _)| *l == label) {
            eprintln!("experiment: {py} is {label} again; skipped");
            continue;
        }
        let req = local.minitwit.join("requirements.txt");
        let venv = ensure_venv(py, &label, &local.venv_dir, &req)?;
        interpreters.push((label, venv));
    }
    Ok(interpreters)
}
